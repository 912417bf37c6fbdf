//! `max(a: number, b: number) -> number | max(values: [T]) -> T? | max(values: [T], key: T => number) -> number?`: the larger of two numbers, or the largest element of a list.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `max`.
pub const BUILTIN: Builtin = Builtin {
    name: "max",
    signature: "max(a: number, b: number) -> number | max(values: [T]) -> T? | max(values: [T], key: T => number) -> number?",
    summary: "The larger of two numbers, or the largest element of a list.",
    docs: "Like `min`.",
    examples: &[
        Example {
            expr: "max(3, 1.5)",
            ty: "Decimal(1)",
            value: "3",
        },
        Example {
            expr: "max([3, 1, 2]) ?? 0",
            ty: "Int",
            value: "3",
        },
    ],
    arity: (1, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::element_lambda,
    typing: |t| {
        if t.count() == 1 {
            return Ok(t.list(0)?.map(|element| Ty::Optional(Box::new(element.clone()))));
        }
        if let Some(super::ArgTy::Lambda(_)) = t.args.get(1) {
            t.list(0)?;
            return Ok(t.lambda(1)?.map(|ty| Ty::Optional(Box::new(ty.clone()))));
        }
        match (t.number(0)?, t.number(1)?) {
            (Some(a), Some(b)) => Ok(Some(wider_number(a, b))),
            _ => Ok(None),
        }
    },
};
