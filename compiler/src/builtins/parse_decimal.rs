//! `parse_decimal(text: String, decimal_separator: String?) -> Decimal`: a decimal read from text.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `parse_decimal`.
pub const BUILTIN: Builtin = Builtin {
    name: "parse_decimal",
    signature: "parse_decimal(text: String, decimal_separator: String?) -> Decimal",
    summary: "A decimal read from text.",
    docs: "Accepts an optional sign, digits and one decimal separator (`.` unless given, e.g. `\",\"` for German exports); no thousands separators, no exponent. Anything else fails the record with a `MappingError` naming the text: the checker knows this can fail (rule 7). The scale is unknown, so round before assigning to a `Decimal(s)` field.",
    examples: &[
        Example {
            expr: "parse_decimal(\"12.50\")",
            ty: "Decimal",
            value: "12.50",
        },
        Example {
            expr: "parse_decimal(\"1234,5\", \",\")",
            ty: "Decimal",
            value: "1234.5",
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
        Ok(Some(decimal(None)))
    },
};
