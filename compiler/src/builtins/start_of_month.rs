//! `start_of_month(value: Date) -> Date`: the first day of the date's month.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `start_of_month`.
pub const BUILTIN: Builtin = Builtin {
    name: "start_of_month",
    signature: "start_of_month(value: Date) -> Date",
    summary: "The first day of the date's month.",
    docs: "",
    examples: &[
        Example {
            expr: "start_of_month(parse_date(\"2025-02-14\"))",
            ty: "Date",
            value: "2025-02-01",
        },
    ],
    arity: (1, 1),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: super::typing::date_to_date,
};
