//! Dates and date-times: reading and writing them with patterns, calendar
//! arithmetic, time zones from the bundled IANA database (no file IO).
//!
//! Patterns use `yyyy`, `MM`, `dd`, `HH`, `mm`, `ss` and literal text;
//! text in single quotes is literal too (`yyyy-MM-dd'T'HH:mm:ss`).

use super::{HelperError, Result};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};

/// A date-time: an instant and the offset it is shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTimeValue {
    /// The instant.
    pub instant: Timestamp,
    /// The UTC offset it is written with.
    pub offset: Offset,
}

impl DateTimeValue {
    /// The local date and time at the offset.
    pub fn local(&self) -> DateTime {
        self.offset.to_datetime(self.instant)
    }

    /// RFC 3339 text (`2025-03-01T10:00:00+01:00`, `Z` for UTC).
    pub fn to_rfc3339(&self) -> String {
        let mut out = String::with_capacity(25);
        self.write_rfc3339(&mut out);
        out
    }

    /// RFC 3339 text, appended to `out`.
    pub fn write_rfc3339(&self, out: &mut String) {
        use std::fmt::Write as _;
        let local = self.local();
        // Writing to a `String` cannot fail.
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            local.second()
        );
        // Fractions of a second are kept (without trailing zeros), so a
        // value read from the input is written back as precisely.
        let nanos = local.subsec_nanosecond();
        if nanos != 0 {
            let mut digits: usize = 9;
            let mut fraction = nanos;
            while fraction % 10 == 0 {
                fraction /= 10;
                digits -= 1;
            }
            let _ = write!(out, ".{fraction:0digits$}");
        }
        let seconds = self.offset.seconds();
        if seconds == 0 {
            out.push('Z');
        } else {
            let sign = if seconds < 0 { '-' } else { '+' };
            let abs = seconds.unsigned_abs();
            let _ = write!(out, "{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece<'a> {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Literal(&'a str),
}

/// The pieces of a date pattern, read as they are needed (nothing is
/// allocated); the first error ends them.
#[derive(Clone)]
struct Pieces<'a> {
    text: &'a str,
    rest: &'a str,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Result<Piece<'a>>;

    fn next(&mut self) -> Option<Result<Piece<'a>>> {
        let rest = self.rest;
        let ch = rest.chars().next()?;
        let (piece, len) = if rest.starts_with("yyyy") {
            (Piece::Year, 4)
        } else if rest.starts_with("MM") {
            (Piece::Month, 2)
        } else if rest.starts_with("dd") {
            (Piece::Day, 2)
        } else if rest.starts_with("HH") {
            (Piece::Hour, 2)
        } else if rest.starts_with("mm") {
            (Piece::Minute, 2)
        } else if rest.starts_with("ss") {
            (Piece::Second, 2)
        } else if let Some(quoted) = rest.strip_prefix('\'') {
            let Some(end) = quoted.find('\'') else {
                self.rest = "";
                return Some(Err(HelperError::BadArgument {
                    function: "date pattern",
                    message: format!("unclosed quote in {:?}", self.text),
                }));
            };
            (Piece::Literal(&quoted[..end]), end + 2)
        } else {
            if ch.is_ascii_alphabetic() {
                self.rest = "";
                return Some(Err(HelperError::BadArgument {
                    function: "date pattern",
                    message: format!(
                        "unknown pattern letter {ch:?} in {:?}; use yyyy, MM, dd, HH, mm, ss, or quote literal text",
                        self.text
                    ),
                }));
            }
            (Piece::Literal(&rest[..ch.len_utf8()]), ch.len_utf8())
        };
        self.rest = &rest[len..];
        Some(Ok(piece))
    }
}

/// The pattern `text`, checked whole first: its first error, if any, else
/// its pieces.
fn pattern(text: &str) -> Result<Pieces<'_>> {
    let pieces = Pieces { text, rest: text };
    for piece in pieces.clone() {
        piece?;
    }
    Ok(pieces)
}

struct Fields {
    year: i16,
    month: i8,
    day: i8,
    hour: i8,
    minute: i8,
    second: i8,
}

fn read(text: &str, pattern_text: &str, what: &str) -> Result<Fields> {
    let pieces = pattern(pattern_text)?;
    let fail = |reason: &str| HelperError::NotADate {
        text: text.to_owned(),
        what: format!("{what} ({pattern_text})"),
        reason: reason.to_owned(),
    };
    let mut fields = Fields {
        year: 0,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
    };
    let mut rest = text;
    for piece in pieces {
        let piece = piece?;
        let digits = match piece {
            Piece::Year => 4,
            Piece::Literal(literal) => {
                rest = rest
                    .strip_prefix(literal)
                    .ok_or_else(|| fail(&format!("expected {literal:?}")))?;
                continue;
            }
            _ => 2,
        };
        let chunk = rest
            .get(..digits)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| fail("expected digits"))?;
        let value: i16 = chunk.parse().map_err(|_| fail("expected digits"))?;
        rest = &rest[digits..];
        let small = i8::try_from(value).unwrap_or(i8::MAX);
        match piece {
            Piece::Year => fields.year = value,
            Piece::Month => fields.month = small,
            Piece::Day => fields.day = small,
            Piece::Hour => fields.hour = small,
            Piece::Minute => fields.minute = small,
            Piece::Second => fields.second = small,
            Piece::Literal(_) => {}
        }
    }
    if !rest.is_empty() {
        return Err(fail("unexpected text at the end"));
    }
    Ok(fields)
}

/// Reads a date: `YYYY-MM-DD`, or the given pattern. Impossible dates such
/// as 2026-02-30 are errors.
pub fn parse_date(text: &str, pattern_text: Option<&str>) -> Result<Date> {
    // The common case, `yyyy-MM-dd` written in full and valid, without
    // reading the pattern; anything else (and every error) takes the
    // general path below.
    if pattern_text.is_none()
        && let Some(date) = iso_date(text)
    {
        return Ok(date);
    }
    let pattern_text = pattern_text.unwrap_or("yyyy-MM-dd");
    let fields = read(text, pattern_text, "date")?;
    Date::new(fields.year, fields.month, fields.day).map_err(|error| HelperError::NotADate {
        text: text.to_owned(),
        what: format!("date ({pattern_text})"),
        reason: error.to_string(),
    })
}

/// `yyyy-MM-dd` with every digit present, when it is a real date.
fn iso_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        bytes[range]
            .iter()
            .try_fold(0i16, |n, b| b.is_ascii_digit().then(|| n * 10 + i16::from(b - b'0')))
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// Reads a date-time: RFC 3339 (`2025-03-01T10:00:00Z`,
/// `…+01:00`), or a pattern read as local time in `zone` (UTC when none).
pub fn parse_datetime(text: &str, pattern_text: Option<&str>, zone: Option<&str>) -> Result<DateTimeValue> {
    let not_a_date = |reason: String| HelperError::NotADate {
        text: text.to_owned(),
        what: "date-time".to_owned(),
        reason,
    };
    match pattern_text {
        None => {
            let instant: Timestamp = text
                .parse()
                .map_err(|error: jiff::Error| not_a_date(error.to_string()))?;
            // Keep the offset the text was written with.
            let offset =
                rfc3339_offset(text).ok_or_else(|| not_a_date("expected an offset such as Z or +01:00".to_owned()))?;
            Ok(DateTimeValue { instant, offset })
        }
        Some(pattern_text) => {
            let fields = read(text, pattern_text, "date-time")?;
            let local = DateTime::new(
                fields.year,
                fields.month,
                fields.day,
                fields.hour,
                fields.minute,
                fields.second,
                0,
            )
            .map_err(|error| not_a_date(error.to_string()))?;
            let tz = match zone {
                Some(name) => time_zone(name)?,
                None => TimeZone::UTC,
            };
            // A local time skipped or repeated by a daylight-saving change
            // resolves as most systems do ("compatible").
            let instant = tz.to_timestamp(local).map_err(|error| not_a_date(error.to_string()))?;
            Ok(DateTimeValue {
                instant,
                offset: tz.to_offset(instant),
            })
        }
    }
}

fn rfc3339_offset(text: &str) -> Option<Offset> {
    if text.ends_with('Z') || text.ends_with('z') {
        return Some(Offset::UTC);
    }
    let tail = text.get(text.len().checked_sub(6)?..)?;
    let sign = match tail.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours: i32 = tail.get(1..3)?.parse().ok()?;
    let minutes: i32 = tail.get(4..6)?.parse().ok()?;
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

fn write(pieces: Pieces<'_>, date: Date, time: Option<(i8, i8, i8)>, out: &mut String) -> Result<()> {
    use std::fmt::Write as _;
    for piece in pieces {
        // Writing to a `String` cannot fail.
        let _ = match piece? {
            Piece::Year => write!(out, "{:04}", date.year()),
            Piece::Month => write!(out, "{:02}", date.month()),
            Piece::Day => write!(out, "{:02}", date.day()),
            piece @ (Piece::Hour | Piece::Minute | Piece::Second) => {
                let (hour, minute, second) = time.ok_or_else(|| HelperError::BadArgument {
                    function: "format_date",
                    message: "a date has no time: use HH, mm and ss with a date-time".to_owned(),
                })?;
                let value = match piece {
                    Piece::Hour => hour,
                    Piece::Minute => minute,
                    _ => second,
                };
                write!(out, "{value:02}")
            }
            Piece::Literal(text) => {
                out.push_str(text);
                Ok(())
            }
        };
    }
    Ok(())
}

/// A date written with a pattern, appended to `out`.
pub fn format_date(date: Date, pattern_text: &str, out: &mut String) -> Result<()> {
    write(pattern(pattern_text)?, date, None, out)
}

/// A date-time written with a pattern, in `zone` (its own offset when
/// none), appended to `out`.
pub fn format_datetime(value: DateTimeValue, pattern_text: &str, zone: Option<&str>, out: &mut String) -> Result<()> {
    let local = match zone {
        Some(name) => time_zone(name)?.to_datetime(value.instant),
        None => value.local(),
    };
    write(
        pattern(pattern_text)?,
        local.date(),
        Some((local.hour(), local.minute(), local.second())),
        out,
    )
}

/// The time zone `name` from the bundled IANA database.
pub fn time_zone(name: &str) -> Result<TimeZone> {
    jiff::tz::db()
        .get(name)
        .map_err(|_| HelperError::UnknownTimeZone(name.to_owned()))
}

/// The same instant, with the offset of `zone` at that instant.
pub fn to_timezone(value: DateTimeValue, zone: &str) -> Result<DateTimeValue> {
    let tz = time_zone(zone)?;
    Ok(DateTimeValue {
        instant: value.instant,
        offset: tz.to_offset(value.instant),
    })
}

/// A date moved by `days`.
pub fn add_days(date: Date, days: i64) -> Result<Date> {
    let range = || HelperError::DateRange {
        operation: format!("add_days({date}, {days})"),
    };
    let span = jiff::Span::new().try_days(days).map_err(|_| range())?;
    date.checked_add(span).map_err(|_| range())
}

/// A date-time moved by `days` calendar days at its own offset.
pub fn add_days_datetime(value: DateTimeValue, days: i64) -> Result<DateTimeValue> {
    let range = || HelperError::DateRange {
        operation: format!("add_days({}, {days})", value.to_rfc3339()),
    };
    let seconds = days.checked_mul(86_400).ok_or_else(range)?;
    let instant = value
        .instant
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .map_err(|_| range())?;
    Ok(DateTimeValue {
        instant,
        offset: value.offset,
    })
}

/// A date moved by `months`, clamped to the end of a shorter month
/// (2025-01-31 plus one month is 2025-02-28).
pub fn add_months(date: Date, months: i64) -> Result<Date> {
    let range = || HelperError::DateRange {
        operation: format!("add_months({date}, {months})"),
    };
    let total = i64::from(date.year()) * 12 + i64::from(date.month()) - 1;
    let moved = total.checked_add(months).ok_or_else(range)?;
    let year = i16::try_from(moved.div_euclid(12)).map_err(|_| range())?;
    let month = (moved.rem_euclid(12) + 1) as i8;
    let first = Date::new(year, month, 1).map_err(|_| range())?;
    let day = date.day().min(first.days_in_month());
    Date::new(year, month, day).map_err(|_| range())
}

/// The first day of the date's month.
pub fn start_of_month(date: Date) -> Date {
    date.first_of_month()
}

/// The last day of the date's month.
pub fn end_of_month(date: Date) -> Date {
    date.last_of_month()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shortcut for `yyyy-MM-dd` gives what the general reader
        /// gives, errors included.
        #[test]
        fn the_iso_shortcut_agrees_with_the_pattern_reader(text in "[0-9]{0,5}-?[0-9]{1,2}-?[0-9x]{1,3}") {
            prop_assert_eq!(parse_date(&text, None), parse_date(&text, Some("yyyy-MM-dd")));
        }

        #[test]
        fn real_and_impossible_dates_agree(y in 0i32..10_000, m in 0u32..14, d in 0u32..33) {
            let text = format!("{y:04}-{m:02}-{d:02}");
            prop_assert_eq!(parse_date(&text, None), parse_date(&text, Some("yyyy-MM-dd")));
        }
    }

    #[test]
    fn rfc3339_keeps_fractions_and_offsets() {
        for text in [
            "2025-03-01T10:00:00Z",
            "2025-03-01T10:00:00.123Z",
            "2025-03-01T10:00:00.000000001+01:00",
            "2025-03-01T23:59:59.5-05:30",
        ] {
            assert_eq!(parse_datetime(text, None, None).unwrap().to_rfc3339(), text);
        }
    }

    fn date(text: &str) -> Date {
        parse_date(text, None).unwrap()
    }

    #[test]
    fn impossible_dates_are_errors() {
        assert!(parse_date("2026-02-30", None).is_err());
        assert!(parse_date("2024-02-29", None).is_ok());
        assert!(parse_date("2025-2-01", None).is_err());
        assert!(parse_date("2025-02-01x", None).is_err());
        assert_eq!(
            parse_date("01.03.2025", Some("dd.MM.yyyy")).unwrap(),
            date("2025-03-01")
        );
        assert_eq!(parse_date("20250301", Some("yyyyMMdd")).unwrap(), date("2025-03-01"));
        assert!(parse_date("2025", Some("yyyy-QQ")).is_err());
    }

    #[test]
    fn month_arithmetic_clamps() {
        assert_eq!(add_months(date("2025-01-31"), 1).unwrap(), date("2025-02-28"));
        assert_eq!(add_months(date("2024-01-31"), 1).unwrap(), date("2024-02-29"));
        assert_eq!(add_months(date("2025-03-15"), -15).unwrap(), date("2023-12-15"));
        assert_eq!(add_days(date("2025-02-27"), 2).unwrap(), date("2025-03-01"));
        assert!(add_days(date("9999-12-31"), 1).is_err());
        assert_eq!(end_of_month(date("2024-02-14")), date("2024-02-29"));
        assert_eq!(start_of_month(date("2024-02-14")), date("2024-02-01"));
    }

    #[test]
    fn formats() {
        let format = |date: Date, pattern: &str| {
            let mut out = String::new();
            format_date(date, pattern, &mut out).map(|()| out)
        };
        assert_eq!(format(date("2025-03-01"), "yyyyMMdd").unwrap(), "20250301");
        assert_eq!(format(date("2025-03-01"), "dd.MM.yyyy").unwrap(), "01.03.2025");
        assert_eq!(format(date("2025-03-01"), "'day' dd 'of' MM").unwrap(), "day 01 of 03");
        assert!(format(date("2025-03-01"), "HH").is_err());
        // The whole pattern is checked before anything is written.
        assert!(
            format(date("2025-03-01"), "HH Q").is_err_and(|error| error.to_string().contains("unknown pattern letter"))
        );
    }

    #[test]
    fn time_zones_from_the_bundled_database() {
        let value = parse_datetime("2025-07-01T10:00:00Z", None, None).unwrap();
        let berlin = to_timezone(value, "Europe/Berlin").unwrap();
        assert_eq!(berlin.to_rfc3339(), "2025-07-01T12:00:00+02:00");
        let winter = to_timezone(
            parse_datetime("2025-01-01T10:00:00Z", None, None).unwrap(),
            "Europe/Berlin",
        )
        .unwrap();
        assert_eq!(winter.to_rfc3339(), "2025-01-01T11:00:00+01:00");
        let mut out = String::new();
        format_datetime(value, "HH:mm", Some("Europe/Berlin"), &mut out).unwrap();
        assert_eq!(out, "12:00");
        assert!(matches!(
            to_timezone(value, "Mars/Olympus"),
            Err(HelperError::UnknownTimeZone(_))
        ));
        let local = parse_datetime("01.03.2025 10:30", Some("dd.MM.yyyy HH:mm"), Some("Europe/Berlin")).unwrap();
        assert_eq!(local.to_rfc3339(), "2025-03-01T10:30:00+01:00");
        assert_eq!(
            parse_datetime("2025-03-01T10:00:00+01:00", None, None)
                .unwrap()
                .to_rfc3339(),
            "2025-03-01T10:00:00+01:00"
        );
        assert!(parse_datetime("2025-03-01 10:00", None, None).is_err());
    }
}
