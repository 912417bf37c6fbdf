//! `text(value: Int | Decimal | Date | DateTime | Bool | enum | Currency | Country) -> String`: a value written as text.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `text`.
pub const BUILTIN: Builtin = Builtin {
    name: "text",
    signature: "text(value: Int | Decimal | Date | DateTime | Bool | enum | Currency | Country) -> String",
    summary: "A value written as text.",
    docs: "Numbers in plain notation with a `.` (decimals keep their places: `text(12.50)` is `\"12.50\"`), dates as `YYYY-MM-DD`, date-times in RFC 3339, enums by variant name. The explicit way to turn a value into text (rule 7).",
    examples: &[
        Example {
            expr: "text(42)",
            ty: "String",
            value: "\"42\"",
        },
        Example {
            expr: "text(12.50)",
            ty: "String",
            value: "\"12.50\"",
        },
    ],
    arity: (1, 1),
    can_fail: false,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| match t.args.first().and_then(super::ArgTy::ty) {
        Some(Ty::List(_) | Ty::Record(_) | Ty::Group(..)) => Err(t.error(0, "expects a single value, not a list or record")),
        Some(Ty::Optional(_)) => t.text(0).map(|_| Some(string())),
        _ => Ok(Some(string())),
    },
};
