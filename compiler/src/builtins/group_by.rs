//! `group_by(values: [T], key: T => K) -> [Group(K, T)]`: the elements grouped by a key, in order of first appearance; each group has `key` and `items`.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `group_by`.
pub const BUILTIN: Builtin = Builtin {
    name: "group_by",
    signature: "group_by(values: [T], key: T => K) -> [Group(K, T)]",
    summary: "The elements grouped by a key, in order of first appearance; each group has `key` and `items`.",
    docs: "Made for breakdowns such as VAT per category: `for g in group_by(lines, l => l.tax.category) { TaxableAmount = sum(g.items, l => l.net_amount) }`.",
    examples: &[
        Example {
            expr: "length(group_by([1, 2, 1], x => x))",
            ty: "Int",
            value: "2",
        },
    ],
    arity: (2, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::element_lambda,
    typing: |t| {
        let element = t.list(0)?.cloned();
        let key = t.lambda(1)?.cloned();
        Ok(match (key, element) {
            (Some(key), Some(element)) => Some(Ty::List(Box::new(Ty::Group(Box::new(key), Box::new(element))))),
            _ => None,
        })
    },
};
