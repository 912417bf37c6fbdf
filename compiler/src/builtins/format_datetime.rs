//! `format_datetime(value: DateTime, pattern: String, zone: String?) -> String`: a date-time written with a pattern, in a time zone (UTC unless given).

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `format_datetime`.
pub const BUILTIN: Builtin = Builtin {
    name: "format_datetime",
    signature: "format_datetime(value: DateTime, pattern: String, zone: String?) -> String",
    summary: "A date-time written with a pattern, in a time zone (UTC unless given).",
    docs: "Zones are IANA names; an unknown zone fails the record with a `MappingError`.",
    examples: &[
        Example {
            expr: "format_datetime(parse_datetime(\"2025-03-01T10:00:00Z\"), \"HH:mm\", \"Europe/Berlin\")",
            ty: "String",
            value: "\"11:00\"",
        },
    ],
    arity: (2, 3),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        t.datetime(0)?;
        t.text(1)?;
        if t.count() > 2 {
            t.text(2)?;
        }
        Ok(Some(string()))
    },
};
