//! `trim(text: String) -> String`: the text without white space at either end.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `trim`.
pub const BUILTIN: Builtin = Builtin {
    name: "trim",
    signature: "trim(text: String) -> String",
    summary: "The text without white space at either end.",
    docs: "White space is every Unicode white-space character, including non-breaking spaces that ERP exports often carry.",
    examples: &[
        Example {
            expr: "trim(\"  INV-1 \")",
            ty: "String",
            value: "\"INV-1\"",
        },
    ],
    arity: (1, 1),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: super::typing::text_to_text,
};
