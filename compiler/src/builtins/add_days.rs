//! `add_days(value: Date | DateTime, days: Int) -> Date | DateTime`: a date or date-time moved by a number of days (negative: back).

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `add_days`.
pub const BUILTIN: Builtin = Builtin {
    name: "add_days",
    signature: "add_days(value: Date | DateTime, days: Int) -> Date | DateTime",
    summary: "A date or date-time moved by a number of days (negative: back).",
    docs: "Calendar days; a date-time keeps its offset.",
    examples: &[
        Example {
            expr: "add_days(parse_date(\"2025-02-27\"), 2)",
            ty: "Date",
            value: "2025-03-01",
        },
    ],
    arity: (2, 2),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        let ty = match t.args.first().and_then(super::ArgTy::ty) {
            Some(Ty::DateTime) => Ty::DateTime,
            _ => {
                t.date(0)?;
                Ty::Date
            }
        };
        t.int(1)?;
        Ok(Some(ty))
    },
};
