//! `round(value: Decimal, places: Int, mode?) -> Decimal(places)`: a number rounded to `places` decimal places.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The rounding modes `round` takes as its third argument.
pub const MODES: &[&str] = &["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"];

/// The builtin `round`.
pub const BUILTIN: Builtin = Builtin {
    name: "round",
    signature: "round(value: Decimal, places: Int, mode?) -> Decimal(places)",
    summary: "A number rounded to `places` decimal places.",
    docs: "Half-up (commercial rounding) unless a mode is given: `half_up`, `half_even` (banker's), `half_down`, `up` (away from zero), `down` (towards zero), `ceiling`, `floor`. With a literal `places` the result's scale is known, which is what a `Decimal(s)` target needs (rule 4).",
    examples: &[
        Example {
            expr: "round(2.345, 2)",
            ty: "Decimal(2)",
            value: "2.35",
        },
        Example {
            expr: "round(2.345, 2, half_even)",
            ty: "Decimal(2)",
            value: "2.34",
        },
        Example {
            expr: "round(-2.5, 0)",
            ty: "Decimal(0)",
            value: "-3",
        },
    ],
    arity: (2, 3),
    can_fail: false,
    modes: super::round::MODES,
    lambda_params: super::no_lambda,
    typing: |t| {
        t.number(0)?;
        t.int(1)?;
        let places = t.int_literal(1);
        if let Some(places) = places
            && !(0..=28).contains(&places)
        {
            return Err(t.error(1, "must be between 0 and 28"));
        }
        if t.count() == 3 && t.mode(2).is_none() {
            return Err(t.error(2, "expects a rounding mode: half_up, half_even, half_down, up, down, ceiling or floor"));
        }
        Ok(Some(decimal(places.and_then(|p| u32::try_from(p).ok()))))
    },
};
