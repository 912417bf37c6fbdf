//! `parse_date(text: String, pattern: String?) -> Date`: a date read from text, `YYYY-MM-DD` unless a pattern is given.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `parse_date`.
pub const BUILTIN: Builtin = Builtin {
    name: "parse_date",
    signature: "parse_date(text: String, pattern: String?) -> Date",
    summary: "A date read from text, `YYYY-MM-DD` unless a pattern is given.",
    docs: "Patterns use `yyyy`, `MM`, `dd` (e.g. `\"dd.MM.yyyy\"`, `\"yyyyMMdd\"`). A text that does not match, or an impossible date such as 2025-02-30, fails the record with a `MappingError`.",
    examples: &[
        Example {
            expr: "parse_date(\"2025-03-01\")",
            ty: "Date",
            value: "2025-03-01",
        },
        Example {
            expr: "parse_date(\"01.03.2025\", \"dd.MM.yyyy\")",
            ty: "Date",
            value: "2025-03-01",
        },
    ],
    arity: (1, 2),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        t.text(0)?;
        if t.count() > 1 {
            t.text(1)?;
        }
        Ok(Some(Ty::Date))
    },
};
