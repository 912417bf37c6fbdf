//! `add_months(value: Date, months: Int) -> Date`: a date moved by months, clamped to the end of a shorter month.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `add_months`.
pub const BUILTIN: Builtin = Builtin {
    name: "add_months",
    signature: "add_months(value: Date, months: Int) -> Date",
    summary: "A date moved by months, clamped to the end of a shorter month.",
    docs: "`add_months(2025-01-31, 1)` is 2025-02-28: payment terms such as \"end of next month\" rely on it.",
    examples: &[
        Example {
            expr: "add_months(parse_date(\"2025-01-31\"), 1)",
            ty: "Date",
            value: "2025-02-28",
        },
    ],
    arity: (2, 2),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        t.date(0)?;
        t.int(1)?;
        Ok(Some(Ty::Date))
    },
};
