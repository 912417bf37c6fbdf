//! `pad_left(text: String, length: Int, fill: String) -> String`: the text padded on the left with `fill` to `length` characters.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `pad_left`.
pub const BUILTIN: Builtin = Builtin {
    name: "pad_left",
    signature: "pad_left(text: String, length: Int, fill: String) -> String",
    summary: "The text padded on the left with `fill` to `length` characters.",
    docs: "Lengths count Unicode scalar values. A text already as long or longer is returned unchanged (never cut). `fill` must be exactly one character, else the record fails with a `MappingError`.",
    examples: &[
        Example {
            expr: "pad_left(\"10\", 6, \"0\")",
            ty: "String",
            value: "\"000010\"",
        },
        Example {
            expr: "pad_left(\"1234567\", 6, \"0\")",
            ty: "String",
            value: "\"1234567\"",
        },
    ],
    arity: (3, 3),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: super::typing::pad,
};
