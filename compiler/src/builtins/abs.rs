//! `abs(value: Int | Decimal) -> Int | Decimal`: the absolute value.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `abs`.
pub const BUILTIN: Builtin = Builtin {
    name: "abs",
    signature: "abs(value: Int | Decimal) -> Int | Decimal",
    summary: "The absolute value.",
    docs: "Keeps the scale of a decimal. `abs` of the smallest `Int` overflows and fails the record with a `MappingError`.",
    examples: &[
        Example {
            expr: "abs(-12.50)",
            ty: "Decimal(2)",
            value: "12.50",
        },
        Example {
            expr: "abs(3)",
            ty: "Int",
            value: "3",
        },
    ],
    arity: (1, 1),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| Ok(t.number(0)?.map(numeric_result)),
};
