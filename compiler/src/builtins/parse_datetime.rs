//! `parse_datetime(text: String, pattern: String?, zone: String?) -> DateTime`: a date and time read from text, RFC 3339 unless a pattern is given.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};
use crate::types::Ty;

/// The builtin `parse_datetime`.
pub const BUILTIN: Builtin = Builtin {
    name: "parse_datetime",
    signature: "parse_datetime(text: String, pattern: String?, zone: String?) -> DateTime",
    summary: "A date and time read from text, RFC 3339 unless a pattern is given.",
    docs: "With a pattern and no offset in the text, `zone` (an IANA name such as `\"Europe/Berlin\"`) says which local time it is. Text that does not match fails the record with a `MappingError`.",
    examples: &[
        Example {
            expr: "parse_datetime(\"2025-03-01T10:00:00Z\")",
            ty: "DateTime",
            value: "2025-03-01T10:00:00Z",
        },
    ],
    arity: (1, 3),
    can_fail: true,
    modes: &[],
    lambda_params: super::no_lambda,
    typing: |t| {
        for index in 0..t.count() {
            t.text(index)?;
        }
        Ok(Some(Ty::DateTime))
    },
};
