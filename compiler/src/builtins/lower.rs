//! `lower(text: String) -> String`: the text in lower case.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `lower`.
pub const BUILTIN: Builtin = Builtin {
    name: "lower",
    signature: "lower(text: String) -> String",
    summary: "The text in lower case.",
    docs: "Unicode-aware, like `upper`.",
    examples: &[
        Example {
            expr: "lower(\"ACME\")",
            ty: "String",
            value: "\"acme\"",
        },
    ],
    arity: (1, 1),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: super::typing::text_to_text,
};
