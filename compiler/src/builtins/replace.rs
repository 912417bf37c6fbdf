//! `replace(text: String, from: String, to: String) -> String`: the text with every occurrence of `from` replaced by `to`.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `replace`.
pub const BUILTIN: Builtin = Builtin {
    name: "replace",
    signature: "replace(text: String, from: String, to: String) -> String",
    summary: "The text with every occurrence of `from` replaced by `to`.",
    docs: "Plain text, not a pattern. An empty `from` leaves the text unchanged.",
    examples: &[
        Example {
            expr: "replace(\"DE 123 456\", \" \", \"\")",
            ty: "String",
            value: "\"DE123456\"",
        },
    ],
    arity: (3, 3),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        t.text(0)?;
        t.text(1)?;
        t.text(2)?;
        Ok(Some(string()))
    },
};
