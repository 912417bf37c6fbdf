//! `join(texts: [String], separator: String) -> String`: the texts joined with a separator between them.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `join`.
pub const BUILTIN: Builtin = Builtin {
    name: "join",
    signature: "join(texts: [String], separator: String) -> String",
    summary: "The texts joined with a separator between them.",
    docs: "An empty list gives an empty text.",
    examples: &[
        Example {
            expr: "join([\"a\", \"b\"], \", \")",
            ty: "String",
            value: "\"a, b\"",
        },
    ],
    arity: (2, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        match t.list(0)? {
            Some(Ty::String { .. } | Ty::Currency | Ty::Country) | None => {}
            Some(other) => return Err(t.error(0, format!("expects a list of text, found a list of `{}`", (t.show)(other)))),
        }
        t.text(1)?;
        Ok(Some(string()))
    },
};
