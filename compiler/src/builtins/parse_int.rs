//! `parse_int(text: String) -> Int`: a whole number read from text.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `parse_int`.
pub const BUILTIN: Builtin = Builtin {
    name: "parse_int",
    signature: "parse_int(text: String) -> Int",
    summary: "A whole number read from text.",
    docs: "An optional sign and digits only; anything else, or a number beyond 64 bits, fails the record with a `MappingError`.",
    examples: &[
        Example {
            expr: "parse_int(\"0042\")",
            ty: "Int",
            value: "42",
        },
    ],
    arity: (1, 1),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        t.text(0)?;
        Ok(Some(Ty::Int))
    },
};
