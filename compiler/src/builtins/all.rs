//! `all(values: [T], condition: T => Bool) -> Bool`: whether the condition holds for every element.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `all`.
pub const BUILTIN: Builtin = Builtin {
    name: "all",
    signature: "all(values: [T], condition: T => Bool) -> Bool",
    summary: "Whether the condition holds for every element.",
    docs: "True for an empty list.",
    examples: &[
        Example {
            expr: "all([1, 2, 3], x => x > 0)",
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
