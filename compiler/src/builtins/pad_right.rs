//! `pad_right(text: String, length: Int, fill: String) -> String`: the text padded on the right with `fill` to `length` characters.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `pad_right`.
pub const BUILTIN: Builtin = Builtin {
    name: "pad_right",
    signature: "pad_right(text: String, length: Int, fill: String) -> String",
    summary: "The text padded on the right with `fill` to `length` characters.",
    docs: "Like `pad_left`, on the other side. Useful for fixed-width legacy formats.",
    examples: &[
        Example {
            expr: "pad_right(\"AB\", 4, \" \")",
            ty: "String",
            value: "\"AB  \"",
        },
    ],
    arity: (3, 3),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: super::typing::pad,
};
