//! `first(values: [T], condition: (T => Bool)?) -> T?`: the first element (for which the condition holds), if there is one.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `first`.
pub const BUILTIN: Builtin = Builtin {
    name: "first",
    signature: "first(values: [T], condition: (T => Bool)?) -> T?",
    summary: "The first element (for which the condition holds), if there is one.",
    docs: "Optional: the list may be empty.",
    examples: &[
        Example {
            expr: "first([1, 2, 3]) ?? 0",
            ty: "Int",
            value: "1",
        },
        Example {
            expr: "first([1, 2, 3], x => x > 1) ?? 0",
            ty: "Int",
            value: "2",
        },
    ],
    arity: (1, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::element_lambda,
    typing: super::typing::first_last,
};
