//! `min(a: number, b: number) -> number | min(values: [T]) -> T? | min(values: [T], key: T => number) -> number?`: the smaller of two numbers, or the smallest element of a list.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `min`.
pub const BUILTIN: Builtin = Builtin {
    name: "min",
    signature: "min(a: number, b: number) -> number | min(values: [T]) -> T? | min(values: [T], key: T => number) -> number?",
    summary: "The smaller of two numbers, or the smallest element of a list.",
    docs: "On a list the result is optional: an empty list has no smallest element. With a lambda, the smallest of what it gives for each element.",
    examples: &[
        Example {
            expr: "min(3, 1.5)",
            ty: "Decimal(1)",
            value: "1.5",
        },
        Example {
            expr: "min([3, 1, 2]) ?? 0",
            ty: "Int",
            value: "1",
        },
    ],
    arity: (1, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::element_lambda,
    typing: super::typing::min_max,
};
