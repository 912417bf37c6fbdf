//! `concat(texts: String...) -> String`: the texts joined end to end.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `concat`.
pub const BUILTIN: Builtin = Builtin {
    name: "concat",
    signature: "concat(texts: String...) -> String",
    summary: "The texts joined end to end.",
    docs: "The same as interpolation: `concat(a, \"-\", b)` is `\"{a}-{b}\"`. Every argument must be text: write `text(x)` for numbers and dates (no hidden conversion).",
    examples: &[
        Example {
            expr: "concat(\"INV\", \"-\", \"1\")",
            ty: "String",
            value: "\"INV-1\"",
        },
    ],
    arity: (1, 64),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        for index in 0..t.count() {
            t.text(index)?;
        }
        Ok(Some(string()))
    },
};
