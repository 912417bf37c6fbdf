//! `length(value: String | [T]) -> Int`: the number of characters of a text, or of elements of a list.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `length`.
pub const BUILTIN: Builtin = Builtin {
    name: "length",
    signature: "length(value: String | [T]) -> Int",
    summary: "The number of characters of a text, or of elements of a list.",
    docs: "Characters are Unicode scalar values, as `String(n)` counts them.",
    examples: &[
        Example {
            expr: "length(\"Müller\")",
            ty: "Int",
            value: "6",
        },
        Example {
            expr: "length([1, 2, 3])",
            ty: "Int",
            value: "3",
        },
    ],
    arity: (1, 1),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| match t.args.first().and_then(super::ArgTy::ty) {
        Some(Ty::List(_)) => Ok(Some(Ty::Int)),
        _ => {
            t.text(0)?;
            Ok(Some(Ty::Int))
        }
    },
};
