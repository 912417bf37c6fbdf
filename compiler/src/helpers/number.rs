//! Exact arithmetic on `Int` (64-bit) and `Decimal` (rust_decimal: 96-bit
//! mantissa, up to 28 decimal places), with DESIGN.md's scale rules.
//!
//! Nothing wraps and nothing is rounded silently: an `Int` overflow, a
//! decimal beyond range, or a product that would need more than 28 places
//! is a [`HelperError`]. `a + b` keeps the larger scale, `a * b` the sum of
//! the scales; `a / b` is rounded to 28 significant digits, which is why the
//! checker demands an explicit `round` before a scaled target.

use super::{HelperError, Result};
use rust_decimal::{Decimal, RoundingStrategy};

/// Largest scale a decimal can carry.
pub const MAX_SCALE: u32 = 28;

/// `round`'s modes, by their names in the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundingMode {
    /// Half away from zero: commercial rounding, the default.
    HalfUp,
    /// Half to even: banker's rounding.
    HalfEven,
    /// Half towards zero.
    HalfDown,
    /// Away from zero.
    Up,
    /// Towards zero.
    Down,
    /// Towards positive infinity.
    Ceiling,
    /// Towards negative infinity.
    Floor,
}

impl RoundingMode {
    /// The mode named `word` in a `round(x, n, word)` call.
    pub fn from_name(word: &str) -> Option<RoundingMode> {
        Some(match word {
            "half_up" => RoundingMode::HalfUp,
            "half_even" => RoundingMode::HalfEven,
            "half_down" => RoundingMode::HalfDown,
            "up" => RoundingMode::Up,
            "down" => RoundingMode::Down,
            "ceiling" => RoundingMode::Ceiling,
            "floor" => RoundingMode::Floor,
            _ => return None,
        })
    }

    fn strategy(self) -> RoundingStrategy {
        match self {
            RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
            RoundingMode::HalfDown => RoundingStrategy::MidpointTowardZero,
            RoundingMode::Up => RoundingStrategy::AwayFromZero,
            RoundingMode::Down => RoundingStrategy::ToZero,
            RoundingMode::Ceiling => RoundingStrategy::ToPositiveInfinity,
            RoundingMode::Floor => RoundingStrategy::ToNegativeInfinity,
        }
    }
}

fn overflow(operation: String) -> HelperError {
    HelperError::Overflow { operation }
}

/// `a + b` on `Int`.
pub fn int_add(a: i64, b: i64) -> Result<i64> {
    a.checked_add(b).ok_or_else(|| overflow(format!("{a} + {b}")))
}

/// `a - b` on `Int`.
pub fn int_sub(a: i64, b: i64) -> Result<i64> {
    a.checked_sub(b).ok_or_else(|| overflow(format!("{a} - {b}")))
}

/// `a * b` on `Int`.
pub fn int_mul(a: i64, b: i64) -> Result<i64> {
    a.checked_mul(b).ok_or_else(|| overflow(format!("{a} * {b}")))
}

/// `a % b` on `Int` (the sign follows `a`).
pub fn int_rem(a: i64, b: i64) -> Result<i64> {
    if b == 0 {
        return Err(HelperError::DivisionByZero);
    }
    a.checked_rem(b).ok_or_else(|| overflow(format!("{a} % {b}")))
}

/// `-a` on `Int`.
pub fn int_neg(a: i64) -> Result<i64> {
    a.checked_neg().ok_or_else(|| overflow(format!("-{a}")))
}

/// `abs(a)` on `Int`.
pub fn int_abs(a: i64) -> Result<i64> {
    a.checked_abs().ok_or_else(|| overflow(format!("abs({a})")))
}

/// A result must keep the scale its operands promise; a smaller scale means
/// rust_decimal rounded to fit its mantissa, which would be silent loss.
fn exact(result: Decimal, scale: u32, operation: impl FnOnce() -> String) -> Result<Decimal> {
    if result.scale() < scale && !result.is_zero() {
        return Err(HelperError::Inexact { operation: operation() });
    }
    Ok(result)
}

/// `a + b` on decimals: scale max(sa, sb).
pub fn add(a: Decimal, b: Decimal) -> Result<Decimal> {
    let result = a.checked_add(b).ok_or_else(|| overflow(format!("{a} + {b}")))?;
    exact(result, a.scale().max(b.scale()), || format!("{a} + {b}"))
}

/// `a - b` on decimals: scale max(sa, sb).
pub fn sub(a: Decimal, b: Decimal) -> Result<Decimal> {
    let result = a.checked_sub(b).ok_or_else(|| overflow(format!("{a} - {b}")))?;
    exact(result, a.scale().max(b.scale()), || format!("{a} - {b}"))
}

/// `a * b` on decimals: scale sa + sb, at most 28.
pub fn mul(a: Decimal, b: Decimal) -> Result<Decimal> {
    let scale = a.scale() + b.scale();
    if scale > MAX_SCALE {
        return Err(HelperError::Inexact {
            operation: format!("{a} * {b}"),
        });
    }
    let result = a.checked_mul(b).ok_or_else(|| overflow(format!("{a} * {b}")))?;
    exact(result, scale, || format!("{a} * {b}"))
}

/// `a / b` on decimals: 28 significant digits at most (the checker makes
/// the mapping round it before a scaled target).
pub fn div(a: Decimal, b: Decimal) -> Result<Decimal> {
    if b.is_zero() {
        return Err(HelperError::DivisionByZero);
    }
    a.checked_div(b).ok_or_else(|| overflow(format!("{a} / {b}")))
}

/// `a % b` on decimals.
pub fn rem(a: Decimal, b: Decimal) -> Result<Decimal> {
    if b.is_zero() {
        return Err(HelperError::DivisionByZero);
    }
    a.checked_rem(b).ok_or_else(|| overflow(format!("{a} % {b}")))
}

/// `round(value, places, mode)`: exactly `places` decimal places.
pub fn round(value: Decimal, places: i64, mode: RoundingMode) -> Result<Decimal> {
    let places = u32::try_from(places)
        .ok()
        .filter(|p| *p <= MAX_SCALE)
        .ok_or_else(|| HelperError::BadArgument {
            function: "round",
            message: format!("places must be between 0 and {MAX_SCALE}, not {places}"),
        })?;
    let mut rounded = value.round_dp_with_strategy(places, mode.strategy());
    // Always carry exactly `places`: round(2.5, 2) is 2.50.
    if rounded.scale() < places {
        rounded.rescale(places);
    }
    Ok(rounded)
}

/// An `Int` as a decimal of scale 0.
pub fn from_int(value: i64) -> Decimal {
    Decimal::from(value)
}

/// The decimal `bytes` write when they are plainly one of at most 19
/// digits (nearly every amount): an optional sign, digits, and a
/// `separator` followed by digits. `None` for anything else, which
/// [`parse`] then reads digit by digit, finding what is wrong. The digits
/// are gathered in a `u64` without checks (19 digits fit) and the count
/// checked at the end.
#[inline]
fn parse_plain(bytes: &[u8], separator: u8) -> Option<Decimal> {
    let (negative, start) = match bytes.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let mut at = start;
    let mut digits: u64 = 0;
    let mut gather = |at: &mut usize| {
        let from = *at;
        while let Some(digit) = bytes.get(*at).map(|b| b.wrapping_sub(b'0')).filter(|d| *d <= 9) {
            digits = digits.wrapping_mul(10).wrapping_add(u64::from(digit));
            *at += 1;
        }
        *at - from
    };
    let whole = gather(&mut at);
    if whole == 0 {
        return None;
    }
    let places = match bytes.get(at) {
        None => 0,
        Some(byte) if *byte == separator => {
            at += 1;
            let places = gather(&mut at);
            if places == 0 || at != bytes.len() {
                return None;
            }
            places
        }
        Some(_) => return None,
    };
    if whole + places > 19 {
        return None;
    }
    // As `try_from_i128_with_scale` makes it: zero is never negative.
    Some(Decimal::from_parts(
        digits as u32,
        (digits >> 32) as u32,
        0,
        negative && digits != 0,
        places as u32,
    ))
}

/// Reads a decimal from text: an optional sign, digits, and at most one
/// `separator` followed by digits. No exponent, no thousands separators, at
/// most 28 places; the scale is the places written.
pub fn parse(text: &str, separator: char) -> Result<Decimal> {
    if !separator.is_ascii() {
        return parse_split(text, separator);
    }
    if !separator.is_ascii_digit()
        && let Some(plain) = parse_plain(text.as_bytes(), separator as u8)
    {
        return Ok(plain);
    }
    let not_a_number = |reason: &str| HelperError::NotANumber {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    // One pass over the bytes: the sign, the whole digits, the separator,
    // the fraction's digits, each problem found where `parse_split` finds
    // it (tested against it).
    let bytes = text.as_bytes();
    let separator = separator as u8;
    let (negative, start) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let digits_from = |from: usize| {
        bytes
            .get(from..)
            .map_or(0, |rest| rest.iter().take_while(|b| b.is_ascii_digit()).count())
            + from
    };
    let whole_end = digits_from(start);
    if whole_end == start || (whole_end < bytes.len() && bytes.get(whole_end) != Some(&separator)) {
        return Err(not_a_number("expected digits before the decimal separator"));
    }
    let (fraction_start, end) = if whole_end == bytes.len() {
        (whole_end, whole_end)
    } else {
        let from = whole_end + 1;
        let end = digits_from(from);
        if end == from || end != bytes.len() {
            return Err(not_a_number("expected digits after the decimal separator"));
        }
        (from, end)
    };
    let places = end - fraction_start;
    if places > MAX_SCALE as usize {
        return Err(not_a_number("more than 28 decimal places"));
    }
    // The digits before and after the separator as one number, leading
    // zeros aside; at most 29 significant digits (an i128 holds 38).
    // Up to 19 significant digits (nearly every amount) fit a `u64`.
    let digits = bytes
        .get(start..whole_end)
        .into_iter()
        .chain(bytes.get(fraction_start..end))
        .flatten();
    let mut small: u64 = 0;
    let mut mantissa: i128 = 0;
    let mut significant = 0usize;
    for &b in digits {
        if significant == 0 && b == b'0' {
            continue;
        }
        significant += 1;
        let digit = b - b'0';
        match significant {
            1..=19 => small = small * 10 + u64::from(digit),
            20..=29 => {
                if significant == 20 {
                    mantissa = i128::from(small);
                }
                mantissa = mantissa * 10 + i128::from(digit);
            }
            _ => return Err(not_a_number("beyond the decimal range (28 significant digits)")),
        }
    }
    if significant <= 19 {
        // As `try_from_i128_with_scale` makes it: zero is never negative.
        let negative = negative && small != 0;
        return Ok(Decimal::from_parts(
            small as u32,
            (small >> 32) as u32,
            0,
            negative,
            places as u32,
        ));
    }
    let mantissa = if negative { -mantissa } else { mantissa };
    Decimal::try_from_i128_with_scale(mantissa, places as u32).map_err(|_| not_a_number("beyond the decimal range"))
}

/// [`parse`] for any separator, by splitting the text: the reference the
/// one-pass reading is tested against, and the reading for a separator
/// beyond ASCII.
fn parse_split(text: &str, separator: char) -> Result<Decimal> {
    let not_a_number = |reason: &str| HelperError::NotANumber {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let negative = text.starts_with('-');
    let (whole, fraction) = match body.split_once(separator) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (body, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_number("expected digits before the decimal separator"));
    }
    if let Some(fraction) = fraction
        && (fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(not_a_number("expected digits after the decimal separator"));
    }
    let places = fraction.map_or(0, str::len);
    if places > MAX_SCALE as usize {
        return Err(not_a_number("more than 28 decimal places"));
    }
    // The digits before and after the separator as one number, leading
    // zeros aside; at most 29 significant digits (an i128 holds 38).
    let mut mantissa: i128 = 0;
    let mut significant = 0usize;
    for b in whole.bytes().chain(fraction.unwrap_or("").bytes()) {
        if significant == 0 && b == b'0' {
            continue;
        }
        significant += 1;
        if significant > 29 {
            return Err(not_a_number("beyond the decimal range (28 significant digits)"));
        }
        mantissa = mantissa * 10 + i128::from(b - b'0');
    }
    let mantissa = if negative { -mantissa } else { mantissa };
    Decimal::try_from_i128_with_scale(mantissa, places as u32).map_err(|_| not_a_number("beyond the decimal range"))
}

/// Reads an `Int` from text: an optional sign and digits.
pub fn parse_int(text: &str) -> Result<i64> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HelperError::NotANumber {
            text: text.to_owned(),
            reason: "expected an optional sign and digits".to_owned(),
        });
    }
    text.parse().map_err(|_| HelperError::NotANumber {
        text: text.to_owned(),
        reason: "beyond the range of a 64-bit whole number".to_owned(),
    })
}

/// Whether [`with_scale`] takes `value` to `scale` places (no non-zero
/// place beyond them), without making the rescaled value: what the checks
/// of a field need.
pub fn fits_scale(value: Decimal, scale: u32) -> bool {
    value.scale() <= scale || value.normalize().scale() <= scale
}

/// `value` written with exactly `scale` places, as the encoders write a
/// `Decimal(s)` field; a value with more (non-zero) places is an error, not
/// a rounding.
pub fn with_scale(value: Decimal, scale: u32) -> Result<Decimal> {
    if value.scale() == scale {
        // Already so: the common case (a field copied to a field of the
        // same scale), without `rescale`'s arithmetic.
        return Ok(value);
    }
    let mut out = value;
    if out.scale() > scale {
        let trimmed = out.normalize();
        if trimmed.scale() > scale {
            return Err(HelperError::TooManyPlaces {
                value: value.to_string(),
                places: trimmed.scale(),
                scale,
            });
        }
        out = trimmed;
    }
    out.rescale(scale);
    Ok(out)
}

/// Room for the text of any decimal: a sign, 29 digits, a point, and
/// the zeros before the first digit of a value below one (`-0.000…01`
/// with 28 places).
pub const DECIMAL_TEXT: usize = 40;

/// The text of `value` exactly as its `Display` writes it (a sign for a
/// negative value, negative zero included; every place its scale
/// carries), built in `buffer` without `core::fmt`: the encoders write
/// one per decimal field of every record.
pub fn decimal_text(value: Decimal, buffer: &mut [u8; DECIMAL_TEXT]) -> &str {
    let mut digits = itoa::Buffer::new();
    let mantissa = value.mantissa().unsigned_abs();
    // Nearly every amount fits a `u64`, whose digits come without 128-bit
    // division.
    let digits = match u64::try_from(mantissa) {
        Ok(small) => digits.format(small),
        Err(_) => digits.format(mantissa),
    }
    .as_bytes();
    let scale = value.scale() as usize;
    let mut len = 0;
    let mut push = |bytes: &[u8]| {
        buffer[len..len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len();
    };
    if value.is_sign_negative() {
        push(b"-");
    }
    if scale == 0 {
        push(digits);
    } else if digits.len() > scale {
        let (whole, places) = digits.split_at(digits.len() - scale);
        push(whole);
        push(b".");
        push(places);
    } else {
        push(b"0.");
        for _ in digits.len()..scale {
            push(b"0");
        }
        push(digits);
    }
    // Only ASCII digits, a sign and a point were written.
    std::str::from_utf8(&buffer[..len]).unwrap_or_default()
}

/// Checks `Decimal(precision, scale)`: at most `precision - scale` digits
/// before the point.
pub fn check_precision(value: Decimal, precision: u32, scale: u32) -> Result<()> {
    // More than `allowed` digits before the point is a whole part of at
    // least 10^allowed; beyond 28 digits no decimal has that many.
    let allowed = precision.saturating_sub(scale);
    let too_many = allowed <= MAX_SCALE && value.trunc().abs() >= Decimal::from_i128_with_scale(10i128.pow(allowed), 0);
    if too_many {
        return Err(HelperError::TooManyDigits {
            value: value.to_string(),
            precision,
            scale,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    /// `check_precision` as it was first written: the whole part's
    /// digits counted in its text.
    fn precision_by_text(value: Decimal, precision: u32, scale: u32) -> bool {
        let digits = value
            .trunc()
            .abs()
            .normalize()
            .to_string()
            .trim_start_matches('0')
            .len() as u32;
        digits <= precision.saturating_sub(scale)
    }

    proptest! {
        #[test]
        fn check_precision_counts_the_whole_digits(lo: u32, mid: u32, hi: u32, negative: bool, scale in 0u32..=28, precision in 0u32..=40, places in 0u32..=30) {
            let value = Decimal::from_parts(lo, mid, hi, negative, scale);
            prop_assert_eq!(check_precision(value, precision, places).is_ok(), precision_by_text(value, precision, places));
            // Small values too, where the limit is near.
            let small = Decimal::from_parts(lo % 100_000, 0, 0, negative, scale.min(4));
            prop_assert_eq!(check_precision(small, precision % 8, places % 4).is_ok(), precision_by_text(small, precision % 8, places % 4));
        }
    }

    proptest! {
        #[test]
        fn fits_scale_is_with_scale_succeeding(lo: u32, mid: u32, hi: u32, negative: bool, scale in 0u32..=28, places in 0u32..=28) {
            let value = Decimal::from_parts(lo, mid, hi % 4, negative, scale);
            prop_assert_eq!(fits_scale(value, places), with_scale(value, places).is_ok());
            let value = Decimal::from_parts(lo, mid, hi, negative, scale);
            prop_assert_eq!(fits_scale(value, places), with_scale(value, places).is_ok());
        }
    }

    #[test]
    fn decimal_text_is_display() {
        let mut buffer = [0u8; DECIMAL_TEXT];
        let edges = [
            Decimal::ZERO,
            Decimal::MAX,
            Decimal::MIN,
            Decimal::from_parts(0, 0, 0, true, 2),
            Decimal::from_parts(1, 0, 0, true, 28),
            Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, false, 28),
            Decimal::new(5, 1),
            Decimal::new(-123, 5),
            Decimal::new(100, 2),
        ];
        for value in edges {
            assert_eq!(decimal_text(value, &mut buffer), value.to_string(), "{value:?}");
        }
    }

    proptest! {
        #[test]
        fn decimal_text_is_display_everywhere(lo: u32, mid: u32, hi: u32, negative: bool, scale in 0u32..=28) {
            let value = Decimal::from_parts(lo, mid, hi, negative, scale);
            let mut buffer = [0u8; DECIMAL_TEXT];
            prop_assert_eq!(decimal_text(value, &mut buffer), value.to_string());
        }
    }

    /// The way `parse` read digits before it stopped allocating: the
    /// digits joined into a string, leading zeros trimmed, parsed.
    fn parse_by_string(text: &str, separator: char) -> Result<Decimal> {
        let not_a_number = |reason: &str| HelperError::NotANumber {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let body = text.strip_prefix(['-', '+']).unwrap_or(text);
        let negative = text.starts_with('-');
        let (whole, fraction) = match body.split_once(separator) {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (body, None),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_number("expected digits before the decimal separator"));
        }
        if let Some(fraction) = fraction
            && (fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(not_a_number("expected digits after the decimal separator"));
        }
        let places = fraction.map_or(0, str::len);
        if places > MAX_SCALE as usize {
            return Err(not_a_number("more than 28 decimal places"));
        }
        let digits = format!("{whole}{}", fraction.unwrap_or(""));
        let digits = digits.trim_start_matches('0');
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            if digits.len() > 29 {
                return Err(not_a_number("beyond the decimal range (28 significant digits)"));
            }
            digits.parse().map_err(|_| not_a_number("beyond the decimal range"))?
        };
        let mantissa = if negative { -mantissa } else { mantissa };
        Decimal::try_from_i128_with_scale(mantissa, places as u32).map_err(|_| not_a_number("beyond the decimal range"))
    }

    proptest! {
        #[test]
        fn parse_reads_digits_as_the_string_version_did(text in "[-+]?0{0,3}[0-9]{0,32}([.,][0-9]{0,30})?") {
            prop_assert_eq!(parse(&text, '.'), parse_by_string(&text, '.'));
            prop_assert_eq!(parse(&text, ','), parse_by_string(&text, ','));
        }

        #[test]
        fn one_pass_parse_is_the_split_parse(text in "[-+]?[-+0-9.,a ]{0,40}|[-+]?[0-9]{0,35}([.,][0-9]{0,32})?([.,][0-9]{0,3})?|[0-9]{1,3}[.]?é?") {
            // The same bits (scale and sign too), or the same error.
            let bits = |parsed: Result<Decimal>| parsed.map(|d| d.serialize());
            prop_assert_eq!(bits(parse(&text, '.')), bits(parse_split(&text, '.')));
            prop_assert_eq!(bits(parse(&text, ',')), bits(parse_split(&text, ',')));
        }
    }

    /// The plain path's edges read as the digit-by-digit path reads them:
    /// 19 digits and 20, with leading zeros, signs, zero, a separator
    /// with nothing after it, and what it leaves to the other path.
    #[test]
    fn plain_decimals_are_read_as_digit_by_digit() {
        let bits = |parsed: Result<Decimal>| parsed.map(|d| d.serialize());
        for text in [
            "9999999999999999999",
            "18446744073709551615",
            "99999999999999999999",
            "1844674407370955161.5",
            "0000000000000000001",
            "00000000000000000001",
            "-0",
            "-0.00",
            "+12.50",
            "-12.5",
            "0.0000000000000000001",
            "12.",
            ".5",
            "1.2.3",
            "1e5",
            "",
            "-",
            "1,5",
        ] {
            assert_eq!(bits(parse(text, '.')), bits(parse_split(text, '.')), "{text}");
            assert_eq!(
                bits(parse(text, ',')),
                bits(parse_split(text, ',')),
                "{text} with a comma"
            );
            if let Some(plain) = parse_plain(text.as_bytes(), b'.') {
                assert_eq!(Ok(plain.serialize()), bits(parse_split(text, '.')), "{text}");
            }
        }
        assert!(
            parse_plain(b"00000000000000000001", b'.').is_none(),
            "20 digits go digit by digit"
        );
        assert_eq!(
            parse_plain(b"-0.00", b'.').map(|d| d.to_string()),
            Some("0.00".to_owned())
        );
    }

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn scales_follow_the_design_table() {
        assert_eq!(add(d("1.5"), d("2.25")).unwrap().to_string(), "3.75");
        assert_eq!(add(d("1.50"), d("2")).unwrap().scale(), 2);
        assert_eq!(mul(d("1.5"), d("2.25")).unwrap().scale(), 3);
        assert_eq!(mul(d("1.50"), d("2.00")).unwrap().to_string(), "3.0000");
        assert_eq!(
            div(d("1"), d("3")).unwrap().to_string(),
            "0.3333333333333333333333333333"
        );
    }

    #[test]
    fn nothing_wraps_or_rounds_silently() {
        assert!(matches!(int_add(i64::MAX, 1), Err(HelperError::Overflow { .. })));
        assert!(matches!(int_neg(i64::MIN), Err(HelperError::Overflow { .. })));
        assert!(matches!(int_rem(1, 0), Err(HelperError::DivisionByZero)));
        assert!(matches!(div(d("1"), d("0")), Err(HelperError::DivisionByZero)));
        assert!(matches!(add(Decimal::MAX, d("1")), Err(HelperError::Overflow { .. })));
        // 15 + 15 places: more than 28.
        let small = d("0.000000000000001");
        assert!(matches!(mul(small, small), Err(HelperError::Inexact { .. })));
        // A sum that would need more digits than the mantissa holds.
        assert!(matches!(
            add(d("79228162514264337593543950335"), d("0.5")),
            Err(HelperError::Inexact { .. }) | Err(HelperError::Overflow { .. })
        ));
    }

    #[test]
    fn rounding_modes() {
        let cases = [
            ("2.345", 2, RoundingMode::HalfUp, "2.35"),
            ("2.345", 2, RoundingMode::HalfEven, "2.34"),
            ("2.355", 2, RoundingMode::HalfEven, "2.36"),
            ("-2.5", 0, RoundingMode::HalfUp, "-3"),
            ("-2.5", 0, RoundingMode::HalfDown, "-2"),
            ("2.01", 1, RoundingMode::Up, "2.1"),
            ("2.09", 1, RoundingMode::Down, "2.0"),
            ("-2.01", 1, RoundingMode::Ceiling, "-2.0"),
            ("-2.01", 1, RoundingMode::Floor, "-2.1"),
            ("2.5", 2, RoundingMode::HalfUp, "2.50"),
        ];
        for (value, places, mode, expected) in cases {
            assert_eq!(
                round(d(value), places, mode).unwrap().to_string(),
                expected,
                "{value} {places} {mode:?}"
            );
        }
        assert!(round(d("1"), 29, RoundingMode::HalfUp).is_err());
        assert!(round(d("1"), -1, RoundingMode::HalfUp).is_err());
    }

    #[test]
    fn parsing_is_strict() {
        assert_eq!(parse("12.50", '.').unwrap().to_string(), "12.50");
        assert_eq!(parse("-0,5", ',').unwrap().to_string(), "-0.5");
        assert_eq!(parse("007", '.').unwrap().to_string(), "7");
        for bad in ["", "1.", ".5", "1e5", "1,000.00", "abc", "1.2.3", " 1"] {
            assert!(parse(bad, '.').is_err(), "{bad:?}");
        }
        assert!(parse("123456789012345678901234567890", '.').is_err());
        assert!(parse(&format!("0.{}", "1".repeat(29)), '.').is_err());
        assert_eq!(parse_int("-42").unwrap(), -42);
        assert!(parse_int("9223372036854775808").is_err());
        assert!(parse_int("4.2").is_err());
    }

    #[test]
    fn wire_scale_and_precision() {
        assert_eq!(with_scale(d("12.5"), 2).unwrap().to_string(), "12.50");
        assert_eq!(with_scale(d("12.500"), 2).unwrap().to_string(), "12.50");
        assert!(matches!(
            with_scale(d("12.345"), 2),
            Err(HelperError::TooManyPlaces { places: 3, .. })
        ));
        assert!(check_precision(d("12345.67"), 7, 2).is_ok());
        assert!(check_precision(d("123456.7"), 7, 2).is_err());
        assert!(check_precision(d("-0.5"), 2, 2).is_ok());
    }
}
