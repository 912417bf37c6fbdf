//! `any(values: [T], condition: T => Bool) -> Bool`: whether the condition holds for at least one element.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `any`.
pub const BUILTIN: Builtin = Builtin {
    name: "any",
    signature: "any(values: [T], condition: T => Bool) -> Bool",
    summary: "Whether the condition holds for at least one element.",
    docs: "False for an empty list.",
    examples: &[
        Example {
            expr: "any([1, 2, 3], x => x > 2)",
            ty: "Bool",
            value: "true",
        },
    ],
    arity: (2, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::element_lambda,
    typing: super::typing::list_predicate,
};
