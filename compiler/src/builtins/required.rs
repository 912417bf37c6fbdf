//! `required(value: T?, message: String) -> T`: the value when present; when absent, the record fails with the message.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `required`.
pub const BUILTIN: Builtin = Builtin {
    name: "required",
    signature: "required(value: T?, message: String) -> T",
    summary: "The value when present; when absent, the record fails with the message.",
    docs: "The way to say that an optional source value must be there for this target (rule 2): the failure is a `MappingError` with the message and both paths, and the event goes to the dead-letter queue, never silently dropped.",
    examples: &[
        Example {
            expr: "required(first([1]), \"no line\")",
            ty: "Int",
            value: "1",
        },
    ],
    arity: (2, 2),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        let inner = match t.args.first() {
            Some(super::ArgTy::Value(Some(Ty::Optional(inner)), _)) => Some((**inner).clone()),
            Some(super::ArgTy::Value(Some(other), _)) => {
                return Err(t.error(0, format!("is never absent (`{}`), so `required` is not needed", (t.show)(other))));
            }
            _ => None,
        };
        t.text(1)?;
        Ok(inner)
    },
};
