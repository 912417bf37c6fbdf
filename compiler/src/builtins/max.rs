//! `max(a: number, b: number) -> number | max(values: [T]) -> T? | max(values: [T], key: T => number) -> number?`: the larger of two numbers, or the largest element of a list.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

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
    typing: super::typing::min_max,
};
