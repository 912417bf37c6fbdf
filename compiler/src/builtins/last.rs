//! `last(values: [T], condition: (T => Bool)?) -> T?`: the last element (for which the condition holds), if there is one.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `last`.
pub const BUILTIN: Builtin = Builtin {
    name: "last",
    signature: "last(values: [T], condition: (T => Bool)?) -> T?",
    summary: "The last element (for which the condition holds), if there is one.",
    docs: "Optional: the list may be empty.",
    examples: &[
        Example {
            expr: "last([1, 2, 3]) ?? 0",
            ty: "Int",
            value: "3",
        },
    ],
    arity: (1, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::element_lambda,
    typing: super::typing::first_last,
};
