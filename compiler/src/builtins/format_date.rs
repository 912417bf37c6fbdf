//! `format_date(date: Date | DateTime, pattern: String) -> String`: a date written with a pattern.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `format_date`.
pub const BUILTIN: Builtin = Builtin {
    name: "format_date",
    signature: "format_date(date: Date | DateTime, pattern: String) -> String",
    summary: "A date written with a pattern.",
    docs: "Patterns use `yyyy`, `MM`, `dd` and, for date-times, `HH`, `mm`, `ss`. Most targets need no formatting: the schema's wire form (`@wire(odata_v2_date)`) writes dates right; use this only for text fields.",
    examples: &[
        Example {
            expr: "format_date(parse_date(\"2025-03-01\"), \"yyyyMMdd\")",
            ty: "String",
            value: "\"20250301\"",
        },
    ],
    arity: (2, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        match t.args.first().and_then(super::ArgTy::ty) {
            Some(Ty::DateTime) => {}
            _ => {
                t.date(0)?;
            }
        }
        t.text(1)?;
        Ok(Some(string()))
    },
};
