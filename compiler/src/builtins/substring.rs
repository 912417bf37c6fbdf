//! `substring(text: String, start: Int, length: Int?) -> String`: part of a text: `length` characters from position `start` (0-based).

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `substring`.
pub const BUILTIN: Builtin = Builtin {
    name: "substring",
    signature: "substring(text: String, start: Int, length: Int?) -> String",
    summary: "Part of a text: `length` characters from position `start` (0-based).",
    docs: "Positions count Unicode scalar values, never bytes, so a cut never splits a character. A range past the end is clamped (no error); a negative start or length fails the record with a `MappingError`. Without `length`, the rest of the text.",
    examples: &[
        Example {
            expr: "substring(\"Müller GmbH\", 0, 6)",
            ty: "String",
            value: "\"Müller\"",
        },
        Example {
            expr: "substring(\"ABC\", 1)",
            ty: "String",
            value: "\"BC\"",
        },
    ],
    arity: (2, 3),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        t.text(0)?;
        t.int(1)?;
        if t.count() > 2 {
            t.int(2)?;
        }
        Ok(Some(string()))
    },
};
