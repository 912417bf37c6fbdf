//! `sort_by(values: [T], key: T => Int | Decimal | String | Date | DateTime) -> [T]`: the elements ordered by a key, ascending; equal keys keep their order (stable).

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `sort_by`.
pub const BUILTIN: Builtin = Builtin {
    name: "sort_by",
    signature: "sort_by(values: [T], key: T => Int | Decimal | String | Date | DateTime) -> [T]",
    summary: "The elements ordered by a key, ascending; equal keys keep their order (stable).",
    docs: "Text compares by Unicode scalar values, not by a locale.",
    examples: &[
        Example {
            expr: "sort_by([3, 1, 2], x => x)",
            ty: "[Int]",
            value: "[1, 2, 3]",
        },
    ],
    arity: (2, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::element_lambda,
    typing: |t| {
        let list = t.args.first().and_then(super::ArgTy::ty).cloned();
        t.list(0)?;
        match t.lambda(1)? {
            Some(Ty::Int | Ty::Decimal { .. } | Ty::String { .. } | Ty::Date | Ty::DateTime | Ty::Currency | Ty::Country) | None => {}
            Some(other) => return Err(t.error(1, format!("expects a key that can be ordered, found `{}`", (t.show)(other)))),
        }
        Ok(list)
    },
};
