//! `upper(text: String) -> String`: the text in upper case.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `upper`.
pub const BUILTIN: Builtin = Builtin {
    name: "upper",
    signature: "upper(text: String) -> String",
    summary: "The text in upper case.",
    docs: "Unicode-aware: `ß` becomes `SS`, so the result may be longer than the input; a `String(n)` target checks the length when the mapping runs.",
    examples: &[
        Example {
            expr: "upper(\"acme gmbh\")",
            ty: "String",
            value: "\"ACME GMBH\"",
        },
        Example {
            expr: "upper(\"straße\")",
            ty: "String",
            value: "\"STRASSE\"",
        },
    ],
    arity: (1, 1),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: super::typing::text_to_text,
};
