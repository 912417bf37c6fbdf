//! `sum(values: [number]) -> number | sum(values: [T], amount: T => number) -> number`: the sum of the numbers, or of what the lambda gives for each element.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `sum`.
pub const BUILTIN: Builtin = Builtin {
    name: "sum",
    signature: "sum(values: [number]) -> number | sum(values: [T], amount: T => number) -> number",
    summary: "The sum of the numbers, or of what the lambda gives for each element.",
    docs: "Exact; the scale is the largest scale of the summands (rule 4), so the sum of `Decimal(2)` amounts is a `Decimal(2)`. An empty list sums to 0. Overflow fails the record with a `MappingError`.",
    examples: &[
        Example {
            expr: "sum([1.50, 2.25])",
            ty: "Decimal(2)",
            value: "3.75",
        },
        Example {
            expr: "sum([1, 2, 3], x => x * 2)",
            ty: "Int",
            value: "12",
        },
    ],
    arity: (1, 2),
    can_fail: true,
    modes: &[],
    lambda_params: super::element_lambda,
    typing: |t| {
        let element = t.list(0)?;
        let amount = if t.count() == 2 { t.lambda(1)? } else { element };
        match amount {
            Some(ty @ (Ty::Int | Ty::Decimal { .. })) => Ok(Some(numeric_result(ty))),
            Some(other) => Err(t.error(
                t.count() - 1,
                format!("expects numbers to sum, found `{}`", (t.show)(other)),
            )),
            None => Ok(None),
        }
    },
};
