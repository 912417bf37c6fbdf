//! `count(values: [T], condition: (T => Bool)?) -> Int`: how many elements (for which the condition holds).

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `count`.
pub const BUILTIN: Builtin = Builtin {
    name: "count",
    signature: "count(values: [T], condition: (T => Bool)?) -> Int",
    summary: "How many elements (for which the condition holds).",
    docs: "",
    examples: &[
        Example {
            expr: "count([1, 2, 3])",
            ty: "Int",
            value: "3",
        },
        Example {
            expr: "count([1, 2, 3], x => x > 1)",
            ty: "Int",
            value: "2",
        },
    ],
    arity: (1, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::element_lambda,
    typing: |t| {
        t.list(0)?;
        if t.count() == 2 {
            t.predicate(1)?;
        }
        Ok(Some(Ty::Int))
    },
};
