//! `split(text: String, separator: String) -> [String]`: the pieces of a text between separators.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `split`.
pub const BUILTIN: Builtin = Builtin {
    name: "split",
    signature: "split(text: String, separator: String) -> [String]",
    summary: "The pieces of a text between separators.",
    docs: "An empty text gives one empty piece; an empty separator fails the record with a `MappingError`.",
    examples: &[
        Example {
            expr: "split(\"a;b;c\", \";\")",
            ty: "[String]",
            value: "[\"a\", \"b\", \"c\"]",
        },
    ],
    arity: (2, 2),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        t.text(0)?;
        t.text(1)?;
        Ok(Some(Ty::List(Box::new(string()))))
    },
};
