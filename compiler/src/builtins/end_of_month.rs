//! `end_of_month(value: Date) -> Date`: the last day of the date's month.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `end_of_month`.
pub const BUILTIN: Builtin = Builtin {
    name: "end_of_month",
    signature: "end_of_month(value: Date) -> Date",
    summary: "The last day of the date's month.",
    docs: "Leap years included.",
    examples: &[
        Example {
            expr: "end_of_month(parse_date(\"2024-02-14\"))",
            ty: "Date",
            value: "2024-02-29",
        },
    ],
    arity: (1, 1),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: super::typing::date_to_date,
};
