//! Schema-directed JSON encoding of ERP payloads.
//!
//! Fields are written in declaration order, each in its wire form:
//! decimals with exactly the target scale (as numbers, or as strings with
//! `@wire(string)`), OData v2 dates (`"/Date(ms)/"`,
//! `"/Date(ms+0000)/"`), deep-insert lists as `{"results": [...]}`. An
//! absent optional is left out, or written as `null` when the schema says
//! so (`format json { nulls "write" }` or `@json(absent = "null")`). The
//! output is compact, deterministic and valid UTF-8 with every string
//! escaped by serde_json. Limits are checked again here, so whatever engine
//! built the value, a too-long text or an unwritable decimal is a
//! [`MappingError`] with its output path, never a malformed document.

use super::shape::{FieldShape, Shape, Shapes, Wire};
use super::{MappingError, Node};
use crate::helpers::date::DateTimeValue;
use crate::helpers::{number, text};
use crate::interp::value::Value;
use std::io::Write;

/// Writes the root record `value` of `shapes` as one line of JSON (without
/// the newline) to `out`; on failure `out` is left as it was and every
/// problem is returned.
pub fn encode(shapes: &Shapes, value: &Value, out: &mut Vec<u8>) -> Result<(), Vec<MappingError>> {
    encoding(shapes, out, |encoder| encoder.record(shapes.root, value, &Node::Root))
}

/// Runs `write` on an encoder writing to `out`; on failure truncates `out`
/// back to where it was and returns every problem.
fn encoding(shapes: &Shapes, out: &mut Vec<u8>, write: impl FnOnce(&mut Encoder<'_>)) -> Result<(), Vec<MappingError>> {
    let start = out.len();
    let mut encoder = Encoder {
        shapes,
        out,
        errors: Vec::new(),
    };
    write(&mut encoder);
    if encoder.errors.is_empty() {
        Ok(())
    } else {
        let errors = std::mem::take(&mut encoder.errors);
        drop(encoder);
        out.truncate(start);
        Err(errors)
    }
}

/// A field of a record written by [`encode_fields`].
#[derive(Clone, Copy, Debug)]
pub enum Field<'v> {
    /// The field's value, written as [`encode`] writes it.
    Value(&'v Value),
    /// A list field whose element records are written already: their
    /// JSON, separated by commas (compiled code writing its output
    /// directly, see [`crate::jit`]).
    Elements(&'v [u8]),
}

/// Writes a record of shape `index` whose field `slot` is `field(slot)`
/// (the fields end at the first `None`), exactly as [`encode`] writes a
/// record value with those fields; on failure `out` is left as it was.
pub fn encode_fields<'v>(
    shapes: &Shapes,
    index: usize,
    field: impl Fn(usize) -> Option<Field<'v>>,
    out: &mut Vec<u8>,
) -> Result<(), Vec<MappingError>> {
    encoding(shapes, out, |encoder| encoder.fields(index, field, &Node::Root))
}

struct Encoder<'a> {
    shapes: &'a Shapes,
    out: &'a mut Vec<u8>,
    errors: Vec<MappingError>,
}

impl<'a> Encoder<'a> {
    fn error(&mut self, path: &Node<'_>, message: impl Into<String>) {
        self.errors.push(MappingError::output(path.text(), message));
    }

    #[inline(always)]
    fn string(&mut self, text: &str, path: &Node<'_>) {
        // Most text needs no escaping: written as it is. Otherwise
        // serde_json escapes quotes, backslashes and control characters
        // (the same bytes either way; a Rust string is always valid UTF-8).
        if super::json_special(text.as_bytes()).is_none() {
            self.out.reserve(text.len() + 2);
            self.out.push(b'"');
            self.out.extend_from_slice(text.as_bytes());
            self.out.push(b'"');
        } else if serde_json::to_writer(&mut *self.out, text).is_err() {
            self.error(path, "the text could not be written");
        }
    }

    fn record(&mut self, index: usize, value: &Value, path: &Node<'_>) {
        let Some(record) = self.shapes.records.get(index) else {
            self.error(path, "unknown record shape");
            return;
        };
        let Value::Record(slots) = value else {
            self.error(path, format!("expected a {} record, found {value}", record.name));
            return;
        };
        self.fields(index, |slot| slots.get(slot).map(Field::Value), path);
    }

    /// Writes record shape `index` whose field `slot` is `field(slot)`
    /// (the fields end at the first `None`).
    fn fields<'v>(&mut self, index: usize, field: impl Fn(usize) -> Option<Field<'v>>, path: &Node<'_>) {
        let shapes = self.shapes;
        let Some(record) = shapes.records.get(index) else {
            self.error(path, "unknown record shape");
            return;
        };
        self.out.push(b'{');
        let mut first = true;
        for (at, shape) in record.fields.iter().enumerate() {
            let Some(slot) = field(at) else { break };
            let path = &Node::Key(path, &shape.key);
            match slot {
                Field::Value(slot) if !slot.is_present() => {
                    if shape.required {
                        self.error(path, format!("the required field `{}` has no value", shape.key));
                    } else if shape.null_when_absent {
                        self.key(&mut first, shape);
                        self.out.extend_from_slice(b"null");
                    }
                }
                Field::Value(slot) => {
                    self.key(&mut first, shape);
                    self.field(shape, slot, path);
                }
                Field::Elements(elements) => {
                    self.key(&mut first, shape);
                    self.elements(shape, elements, path);
                }
            }
        }
        self.out.push(b'}');
    }

    /// Writes a list field whose elements (records) are written already,
    /// separated by commas, in `elements`.
    fn elements(&mut self, field: &FieldShape, elements: &[u8], path: &Node<'_>) {
        let Shape::List(element) = &field.shape else {
            self.error(path, "written elements for a field that is no list");
            return;
        };
        let (Shape::Record(_) | Shape::Optional(_)) = element.as_ref() else {
            self.error(path, "written records for a list of something else");
            return;
        };
        if field.wire == Wire::ODataResults {
            self.out.extend_from_slice(b"{\"results\":[");
            self.out.extend_from_slice(elements);
            self.out.extend_from_slice(b"]}");
        } else {
            self.out.push(b'[');
            self.out.extend_from_slice(elements);
            self.out.push(b']');
        }
    }

    /// Writes a field's key, escaped once when the shapes were built.
    #[inline(always)]
    fn key(&mut self, first: &mut bool, field: &FieldShape) {
        if !*first {
            self.out.push(b',');
        }
        *first = false;
        self.out.extend_from_slice(field.json_key.as_bytes());
    }

    #[inline(always)]
    fn field(&mut self, field: &FieldShape, value: &Value, path: &Node<'_>) {
        match (&field.shape, field.wire) {
            (Shape::List(element), Wire::ODataResults) => {
                self.out.extend_from_slice(b"{\"results\":");
                self.list(element, Wire::Natural, value, path);
                self.out.push(b'}');
            }
            (Shape::List(element), wire) => self.list(element, wire, value, path),
            (shape, wire) => self.value(shape, wire, value, path),
        }
    }

    fn list(&mut self, element: &Shape, wire: Wire, value: &Value, path: &Node<'_>) {
        let Value::List(items) = value else {
            self.error(path, format!("expected a list, found {value}"));
            return;
        };
        self.out.push(b'[');
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                self.out.push(b',');
            }
            let path = &Node::Index(path, index);
            match (element, item) {
                (Shape::Optional(_), Value::Absent) => self.out.extend_from_slice(b"null"),
                (Shape::Optional(inner), item) => self.value(inner, wire, item, path),
                (_, Value::Absent) => {
                    self.error(path, "a list element has no value");
                }
                (shape, item) => self.value(shape, wire, item, path),
            }
        }
        self.out.push(b']');
    }

    fn value(&mut self, shape: &Shape, wire: Wire, value: &Value, path: &Node<'_>) {
        match (shape, value) {
            (Shape::Text { max_len }, Value::Text(text)) => {
                if let Some(max) = max_len
                    && let Err(error) = text::check_length(text, *max)
                {
                    self.error(path, error.to_string());
                    return;
                }
                self.string(text, path);
            }
            (Shape::Currency | Shape::Country, Value::Text(text)) => self.string(text, path),
            (Shape::Enum(_), Value::Enum(_, name)) => self.string(name, path),
            (Shape::Bool, Value::Bool(flag)) => self.out.extend_from_slice(if *flag { b"true" } else { b"false" }),
            (Shape::Int, Value::Int(n)) => self.number(itoa::Buffer::new().format(*n), wire),
            (Shape::Decimal { precision, scale }, Value::Decimal(_) | Value::Int(_)) => {
                let decimal = match value {
                    Value::Int(n) => rust_decimal::Decimal::from(*n),
                    Value::Decimal(d) => *d,
                    _ => return,
                };
                let written = match scale {
                    Some(scale) => match number::with_scale(decimal, *scale) {
                        Ok(written) => written,
                        Err(error) => {
                            self.error(path, error.to_string());
                            return;
                        }
                    },
                    None => decimal,
                };
                if let (Some(precision), Some(scale)) = (precision, scale)
                    && let Err(error) = number::check_precision(written, *precision, *scale)
                {
                    self.error(path, error.to_string());
                    return;
                }
                self.number(number::decimal_text(written, &mut [0; number::DECIMAL_TEXT]), wire);
            }
            (Shape::Date, Value::Date(date)) => match wire {
                Wire::ODataDate => self.wrapped(b"\"/Date(", date_millis(*date), b")/\""),
                Wire::EpochMillis => self.wrapped(b"", date_millis(*date), b""),
                Wire::Yyyymmdd => {
                    self.out.push(b'"');
                    push_date(self.out, *date, false);
                    self.out.push(b'"');
                }
                _ => {
                    self.out.push(b'"');
                    push_date(self.out, *date, true);
                    self.out.push(b'"');
                }
            },
            (Shape::DateTime, Value::DateTime(moment)) => match wire {
                Wire::ODataDate => self.wrapped(b"\"/Date(", instant_millis(moment), b")/\""),
                // Written in UTC: the same instant, the offset SAP stores.
                Wire::ODataDateTimeOffset => self.wrapped(b"\"/Date(", instant_millis(moment), b"+0000)/\""),
                Wire::EpochMillis => self.wrapped(b"", instant_millis(moment), b""),
                _ => {
                    let text = moment.to_rfc3339();
                    self.string(&text, path);
                }
            },
            (Shape::Record(index), Value::Record(_)) => self.record(*index, value, path),
            (Shape::List(element), Value::List(_)) => self.list(element, Wire::Natural, value, path),
            (Shape::Optional(inner), value) => self.value(inner, wire, value, path),
            (_, Value::Absent) => self.error(path, "the value is absent"),
            (_, other) => self.error(
                path,
                format!("cannot write {other} here: the field's type does not match"),
            ),
        }
    }

    /// Writes a number's digits straight into the output, quoted for
    /// `@wire(string)`.
    fn number(&mut self, digits: &str, wire: Wire) {
        if wire == Wire::String {
            self.wrapped_text(b"\"", digits, b"\"");
        } else {
            self.out.extend_from_slice(digits.as_bytes());
        }
    }

    /// Writes `before`, the digits of `n`, `after`.
    fn wrapped(&mut self, before: &[u8], n: i64, after: &[u8]) {
        self.wrapped_text(before, itoa::Buffer::new().format(n), after);
    }

    fn wrapped_text(&mut self, before: &[u8], text: &str, after: &[u8]) {
        self.out.extend_from_slice(before);
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(after);
    }
}

/// Writes `date` as `YYYY-MM-DD` (`dashes`) or `YYYYMMDD`, as `{:04}`,
/// `{:02}` would (a year outside 0..=9999 through `core::fmt`).
pub(crate) fn push_date(out: &mut Vec<u8>, date: jiff::civil::Date, dashes: bool) {
    let (year, month, day) = (date.year(), date.month(), date.day());
    if !(0..=9999).contains(&year) {
        // Writing to a `Vec` cannot fail.
        let _ = if dashes {
            write!(out, "{year:04}-{month:02}-{day:02}")
        } else {
            write!(out, "{year:04}{month:02}{day:02}")
        };
        return;
    }
    let digit = |n: i16, unit: i16| b'0' + ((n / unit) % 10) as u8;
    out.extend_from_slice(&[digit(year, 1000), digit(year, 100), digit(year, 10), digit(year, 1)]);
    if dashes {
        out.push(b'-');
    }
    out.extend_from_slice(&[digit(i16::from(month), 10), digit(i16::from(month), 1)]);
    if dashes {
        out.push(b'-');
    }
    out.extend_from_slice(&[digit(i16::from(day), 10), digit(i16::from(day), 1)]);
}

/// Milliseconds from 1970-01-01T00:00:00Z to midnight UTC of `date`.
fn date_millis(date: jiff::civil::Date) -> i64 {
    days_from_civil(i64::from(date.year()), i64::from(date.month()), i64::from(date.day())) * 86_400_000
}

/// Days from 1970-01-01 to a proleptic Gregorian date (the well-known
/// era-based computation: 400-year eras of 146,097 days).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn instant_millis(moment: &DateTimeValue) -> i64 {
    moment.instant.as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_fmt_would() {
        for (year, month, day) in [
            (2025, 2, 18),
            (1, 1, 1),
            (999, 12, 31),
            (9999, 12, 31),
            (-5, 3, 4),
            (0, 1, 9),
        ] {
            let date = jiff::civil::Date::new(year, month, day).unwrap();
            for dashes in [true, false] {
                let mut out = Vec::new();
                push_date(&mut out, date, dashes);
                let want = if dashes {
                    format!("{year:04}-{month:02}-{day:02}")
                } else {
                    format!("{year:04}{month:02}{day:02}")
                };
                assert_eq!(String::from_utf8(out).unwrap(), want);
            }
        }
    }

    #[test]
    fn odata_dates_are_utc_midnight_milliseconds() {
        // The DESIGN example: 2025-02-18 is /Date(1739836800000)/.
        assert_eq!(date_millis(jiff::civil::date(2025, 2, 18)), 1_739_836_800_000);
        assert_eq!(date_millis(jiff::civil::date(1970, 1, 1)), 0);
        assert_eq!(date_millis(jiff::civil::date(1969, 12, 31)), -86_400_000);
        assert_eq!(date_millis(jiff::civil::date(2000, 3, 1)), 951_868_800_000);
        for (y, m, d) in [(1, 1, 1), (1600, 2, 29), (2024, 2, 29), (9999, 6, 1)] {
            let date = jiff::civil::date(y, m, d);
            let expected = jiff::tz::TimeZone::UTC
                .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
                .unwrap()
                .as_millisecond();
            assert_eq!(date_millis(date), expected, "{date}");
        }
    }
}
