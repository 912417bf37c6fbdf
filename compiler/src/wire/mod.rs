//! The wire: reading canonical events and writing ERP payloads, directed by
//! the schemas, and the [`MappingError`]s a record can fail with.
//!
//! Decoding never builds a generic JSON tree: the input is read straight
//! into [`Value`](crate::interp::value::Value)s of the input record's
//! shape, collecting every problem of the record with its 0-based JSON
//! path. Encoding writes bytes directly, in field order, with each field's
//! wire form, so output is byte-exact and deterministic.

pub mod csv_out;
pub mod json_in;
pub mod json_out;
pub mod shape;
pub mod xml_out;

use std::fmt;

/// Which step of running a record failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The input line is not JSON or not the input record.
    Input,
    /// The mapping failed (a `required`, an overflow, a limit).
    Mapping,
    /// The output could not be written (a limit, a missing required field).
    Output,
}

/// Why one record could not be mapped: the input and output paths it
/// concerns (0-based JSON paths such as `$.lines[3].net_amount`) and the
/// reason.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MappingError {
    /// Which step failed.
    pub stage: Stage,
    /// The input path, when the problem comes from an input value.
    pub source: Option<String>,
    /// The output path, when the problem concerns an output field.
    pub target: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl MappingError {
    /// An input problem at `path`.
    pub fn input(path: impl Into<String>, message: impl Into<String>) -> MappingError {
        MappingError {
            stage: Stage::Input,
            source: Some(path.into()),
            target: None,
            message: message.into(),
        }
    }

    /// An output problem at `path`.
    pub fn output(path: impl Into<String>, message: impl Into<String>) -> MappingError {
        MappingError {
            stage: Stage::Output,
            source: None,
            target: Some(path.into()),
            message: message.into(),
        }
    }
}

impl From<crate::interp::Failure> for MappingError {
    fn from(failure: crate::interp::Failure) -> Self {
        MappingError {
            stage: Stage::Mapping,
            source: failure.source,
            target: failure.target,
            message: failure.error.to_string(),
        }
    }
}

/// `$.src → $.target: reason`; a missing end is left out (`→ $.target:
/// reason` when only the output side is known).
impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.source, &self.target) {
            (Some(source), Some(target)) => write!(f, "{source} → {target}: {}", self.message),
            (Some(source), None) => write!(f, "{source}: {}", self.message),
            (None, Some(target)) => write!(f, "→ {target}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// One step of an output path, kept while an encoder walks a value and
/// rendered only when a problem is reported.
#[derive(Clone, Copy, Debug)]
pub enum Step<'a> {
    /// A field, by its key.
    Key(&'a str),
    /// A list element, by position.
    Index(usize),
}

/// The position of the first byte of `bytes` that JSON text cannot hold
/// as it is: `"`, `\\` or a control character. Eight bytes are tested at a
/// time, as a little-endian word: the classic "has a zero byte" bit trick
/// on the word XORed with the byte looked for, and "has a byte below
/// 0x20". Both mark the first such byte exactly (a false mark can only
/// follow a true one, through the borrow), so the lowest mark is the
/// answer; the last few bytes are read as the text's last word, or padded
/// to a word with a plain byte when the text is shorter. The
/// encoder uses it to know text needs no escaping, the decoder to find
/// where a string ends.
pub fn json_special(bytes: &[u8]) -> Option<usize> {
    let mut offset = 0;
    while let Some(word) = word_at(bytes, offset) {
        let marks = special_marks(word);
        if marks != 0 {
            return Some(offset + (marks.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    // The last 1 to 7 bytes: as the last word of the text when it has
    // one (the bytes before them are plain, so the first mark is theirs),
    // else padded with a plain byte to a word.
    if offset == bytes.len() {
        return None;
    }
    let (word, start) = match bytes.last_chunk::<8>() {
        Some(last) => (*last, bytes.len() - 8),
        None => {
            let mut word = [b'a'; 8];
            for (to, from) in word.iter_mut().zip(bytes) {
                *to = *from;
            }
            (word, 0)
        }
    };
    let marks = special_marks(u64::from_le_bytes(word));
    (marks != 0).then(|| start + (marks.trailing_zeros() / 8) as usize)
}

/// The 8 bytes of `bytes` from `at` as a little-endian word, when it has
/// them.
#[inline(always)]
pub(crate) fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let chunk = bytes.get(at..)?.first_chunk::<8>()?;
    Some(u64::from_le_bytes(*chunk))
}

/// The high bit of each byte of `word` (little-endian) from the first
/// `"`, `\\` or control byte on (see [`json_special`]).
fn special_marks(word: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
    const SPACES: u64 = u64::from_le_bytes([0x20; 8]);
    let quote = (word ^ QUOTES).wrapping_sub(ONES) & !(word ^ QUOTES);
    let backslash = (word ^ BACKSLASHES).wrapping_sub(ONES) & !(word ^ BACKSLASHES);
    let control = word.wrapping_sub(SPACES) & !word;
    (quote | backslash | control) & HIGHS
}

/// A JSON path as a chain on the stack: each level links to its parent,
/// so entering a field or an element costs two stores, and the path is
/// rendered only when a problem is reported.
pub(crate) enum Node<'p> {
    /// `$`.
    Root,
    /// A field of the parent, by key.
    Key(&'p Node<'p>, &'p str),
    /// An element of the parent, by position.
    Index(&'p Node<'p>, usize),
}

impl Node<'_> {
    fn render(&self, out: &mut String) {
        match self {
            Node::Root => out.push('$'),
            Node::Key(parent, key) => {
                parent.render(out);
                push_key(out, key);
            }
            Node::Index(parent, index) => {
                parent.render(out);
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }

    /// The path as `$.a[2].b`, as [`render_path`] writes it.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        self.render(&mut out);
        out
    }
}

/// The JSON path (`$.a[2].b`) of `steps`.
pub fn render_path(steps: &[Step<'_>]) -> String {
    let mut path = String::from("$");
    for step in steps {
        match step {
            Step::Key(key) => push_key(&mut path, key),
            Step::Index(index) => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
    path
}

/// Appends `.key` to a JSON path, quoting keys that are not plain names
/// (`$["odd key"]`).
pub fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '@');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&serde_json::Value::String(key.to_owned()).to_string());
        path.push(']');
    }
}

/// A scalar as text for XML and CSV: dates ISO 8601 (or `pattern`, or
/// `@wire(yyyymmdd)`), date-times RFC 3339, decimals with exactly their
/// scale and `separator`, enums by name; text checked against `String(n)`.
pub fn scalar_text(
    shape: &shape::Shape,
    wire: shape::Wire,
    value: &crate::interp::value::Value,
    pattern: Option<&str>,
    separator: char,
) -> Result<String, String> {
    let mut out = String::new();
    push_scalar(shape, wire, value, pattern, separator, &mut out)?;
    Ok(out)
}

/// [`scalar_text`], appended to `out` (which holds part of it, or nothing
/// more, after an error).
pub fn push_scalar(
    shape: &shape::Shape,
    wire: shape::Wire,
    value: &crate::interp::value::Value,
    pattern: Option<&str>,
    separator: char,
    out: &mut String,
) -> Result<(), String> {
    use crate::helpers::{date, number, text};
    use crate::interp::value::Value;
    use shape::{Shape, Wire};
    use std::fmt::Write as _;
    // Writing to a `String` cannot fail.
    let _ = match (shape, value) {
        (Shape::Optional(inner), value) => return push_scalar(inner, wire, value, pattern, separator, out),
        (Shape::Text { max_len }, Value::Text(t)) => {
            if let Some(max) = max_len {
                text::check_length(t, *max).map_err(|e| e.to_string())?;
            }
            out.push_str(t);
            Ok(())
        }
        (Shape::Currency | Shape::Country, Value::Text(t)) => {
            out.push_str(t);
            Ok(())
        }
        (Shape::Enum(_), Value::Enum(_, name)) => {
            out.push_str(name);
            Ok(())
        }
        (Shape::Bool, Value::Bool(flag)) => write!(out, "{flag}"),
        (Shape::Int, Value::Int(n)) => {
            out.push_str(itoa::Buffer::new().format(*n));
            Ok(())
        }
        (Shape::Decimal { precision, scale }, Value::Decimal(_) | Value::Int(_)) => {
            let decimal = match value {
                Value::Int(n) => rust_decimal::Decimal::from(*n),
                Value::Decimal(d) => *d,
                _ => return Err("not a number".to_owned()),
            };
            let written = match scale {
                Some(scale) => number::with_scale(decimal, *scale).map_err(|e| e.to_string())?,
                None => decimal,
            };
            if let (Some(precision), Some(scale)) = (precision, scale) {
                number::check_precision(written, *precision, *scale).map_err(|e| e.to_string())?;
            }
            let start = out.len();
            out.push_str(number::decimal_text(written, &mut [0; number::DECIMAL_TEXT]));
            if separator != '.'
                && let Some(point) = out[start..].find('.')
            {
                let mut buffer = [0u8; 4];
                out.replace_range(start + point..start + point + 1, separator.encode_utf8(&mut buffer));
            }
            Ok(())
        }
        (Shape::Date, Value::Date(d)) => match (pattern, wire) {
            (Some(pattern), _) => {
                date::format_date(*d, pattern, out).map_err(|e| e.to_string())?;
                Ok(())
            }
            (None, Wire::Yyyymmdd) => write!(out, "{:04}{:02}{:02}", d.year(), d.month(), d.day()),
            _ => write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        },
        (Shape::DateTime, Value::DateTime(moment)) => match pattern {
            Some(pattern) => {
                date::format_datetime(*moment, pattern, None, out).map_err(|e| e.to_string())?;
                Ok(())
            }
            None => {
                moment.write_rfc3339(out);
                Ok(())
            }
        },
        (_, Value::Absent) => return Err("the value is absent".to_owned()),
        (_, other) => return Err(format!("cannot write {other} here: the field's type does not match")),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_special_finds_exactly_quotes_backslashes_and_control_bytes() {
        let plain = |b: u8| b != b'"' && b != b'\\' && b >= 0x20;
        // Every byte, at every position of texts of 1 to 20 bytes, so both
        // the eight-byte words and the remainder are exercised.
        for length in 1..=20 {
            for position in 0..length {
                for byte in 0..=255u8 {
                    let mut text = vec![b'a'; length];
                    text[position] = byte;
                    let expected = if plain(byte) { None } else { Some(position) };
                    assert_eq!(
                        json_special(&text),
                        expected,
                        "byte {byte:#04x} at {position} of {length}"
                    );
                }
            }
        }
        assert_eq!(json_special(b""), None);
        assert_eq!(json_special("Müller Bürobedarf 😀 GmbH ~~~~".as_bytes()), None);
        // The first of several, also when a later word holds another.
        assert_eq!(json_special(b"abcdefgh\\ijk\"lmnopqrs\n"), Some(8));
        assert_eq!(json_special(b"ab\"cdefgh\\"), Some(2));
        // A mark after a true one (the borrow) never hides the first.
        assert_eq!(json_special(b"ab\x00\x01\"\x21\\x"), Some(2));
        assert_eq!(json_special(b"abcdefg\x1f"), Some(7));
        // Random texts, several specials each, against the plain search.
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let pool = [
            b'a', b'"', b'\\', 0x00, 0x01, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xc3, 0xff,
        ];
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let length = (seed % 40) as usize;
            let text: Vec<u8> = (0..length)
                .map(|i| {
                    let pick = (seed >> (i % 60)) as usize;
                    if pick.is_multiple_of(5) {
                        pool[pick % pool.len()]
                    } else {
                        b'a'
                    }
                })
                .collect();
            let plain_search = text.iter().position(|&b| !plain(b));
            assert_eq!(json_special(&text), plain_search, "{text:?}");
        }
    }
}
