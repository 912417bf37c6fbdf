//! `to_timezone(value: DateTime, zone: String) -> DateTime`: the same instant, with the offset of a time zone.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `to_timezone`.
pub const BUILTIN: Builtin = Builtin {
    name: "to_timezone",
    signature: "to_timezone(value: DateTime, zone: String) -> DateTime",
    summary: "The same instant, with the offset of a time zone.",
    docs: "Zones are IANA names (`\"Europe/Berlin\"`), daylight saving included. An unknown zone fails the record with a `MappingError`.",
    examples: &[
        Example {
            expr: "to_timezone(parse_datetime(\"2025-07-01T10:00:00Z\"), \"Europe/Berlin\")",
            ty: "DateTime",
            value: "2025-07-01T12:00:00+02:00",
        },
    ],
    arity: (2, 2),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        t.datetime(0)?;
        t.text(1)?;
        Ok(Some(Ty::DateTime))
    },
};
