//! Schema-directed CSV encoding for legacy file drops and staging tables.
//!
//! A CSV target's root record holds one list of row records (`rows:
//! [Row]`): one event gives many rows. The schema's `format csv { … }`
//! block decides the delimiter, quote, header row, encoding (UTF-8 or
//! Windows-1252), decimal separator, line ending and byte-order mark; a
//! field's `@csv(column = "…", format = "dd.MM.yyyy")` its header and date
//! pattern. Quoting follows RFC 4180: a value holding the delimiter, the
//! quote or a line break is quoted, with quotes doubled. A character that
//! Windows-1252 cannot hold is a [`MappingError`] with the field's path.

use super::MappingError;
use super::shape::{RecordShape, Shape, Shapes};
use crate::interp::recycle;
use crate::interp::value::Value;

/// Writes the rows of the root record `value` of `shapes` to `out`, after
/// the header row when `header` is set (and the schema wants one) and the
/// byte-order mark when `bom` is set (and the schema wants one). On
/// failure `out` is left as it was and every problem is returned.
pub fn encode(
    shapes: &Shapes,
    value: &Value,
    header: bool,
    bom: bool,
    out: &mut Vec<u8>,
) -> Result<(), Vec<MappingError>> {
    let settings = &shapes.format.csv;
    let fail = |message: String| vec![MappingError::output("$", message)];
    let RowsShape {
        root,
        slot: list_field,
        row: row_shape,
    } = rows_shape(shapes).map_err(fail)?;
    let Value::Record(slots) = value else {
        return Err(fail(format!("expected a {} record", root.name)));
    };
    let field_name = root.fields.get(list_field).map_or("rows", |f| f.name.as_str());
    let rows = match slots.get(list_field) {
        Some(Value::List(rows)) => rows.as_slice(),
        _ => &[],
    };
    // The lines and one cell at a time, in kept buffers (see `recycle`).
    let mut text = recycle::string();
    let mut cell = recycle::string();
    let mut errors = Vec::new();
    if header {
        push_header(&mut text, row_shape, settings);
    }
    for (index, row) in rows.iter().enumerate() {
        let path = Row { field_name, index };
        push_row(&mut text, &mut cell, row_shape, row, &path, shapes, &mut errors);
    }
    let written = if !errors.is_empty() {
        Err(errors)
    } else if settings.windows_1252 {
        encode_1252(&text, field_name, out)
    } else {
        if bom && settings.bom {
            out.extend_from_slice(b"\xEF\xBB\xBF");
        }
        out.extend_from_slice(text.as_bytes());
        Ok(())
    };
    recycle::recycle_text(text);
    recycle::recycle_text(cell);
    written
}

/// Where a CSV target keeps its rows: the root record, the slot of its
/// list of rows, and the row record (whose fields are the columns).
pub struct RowsShape<'a> {
    /// The root record.
    pub root: &'a RecordShape,
    /// The root's field holding the rows.
    pub slot: usize,
    /// The row record.
    pub row: &'a RecordShape,
}

/// The rows of a CSV-shaped output: its root's first list of records.
pub fn rows_shape(shapes: &Shapes) -> Result<RowsShape<'_>, String> {
    let root = shapes.records.get(shapes.root).ok_or("unknown root record")?;
    let (slot, row) = root
        .fields
        .iter()
        .enumerate()
        .find_map(|(i, f)| match &f.shape {
            Shape::List(element) => match element.as_ref() {
                Shape::Record(row) => Some((i, *row)),
                _ => None,
            },
            _ => None,
        })
        .ok_or_else(|| format!("{} has no list of row records to write as CSV", root.name))?;
    let row = shapes.records.get(row).ok_or("unknown row record")?;
    Ok(RowsShape { root, slot, row })
}

/// The header line, when the format has one.
fn push_header(text: &mut String, row: &RecordShape, settings: &crate::resolve::annotations::CsvSettings) {
    if settings.header {
        for (index, field) in row.fields.iter().enumerate() {
            if index > 0 {
                text.push(settings.delimiter);
            }
            push_quoted(text, &field.csv_column, settings);
        }
        end_line(text, settings);
    }
}

/// The start of a CSV file without rows: the byte-order mark and the
/// header line, as the format asks (for files that gather the rows of many
/// events, such as batched drops).
pub fn header(shapes: &Shapes) -> Result<Vec<u8>, Vec<MappingError>> {
    let settings = &shapes.format.csv;
    let RowsShape { root, slot, row } = rows_shape(shapes).map_err(|m| vec![MappingError::output("$", m)])?;
    let field_name = root.fields.get(slot).map_or("rows", |f| f.name.as_str());
    let mut text = String::new();
    push_header(&mut text, row, settings);
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if settings.windows_1252 {
        encode_1252(&text, field_name, &mut bytes)?;
        return Ok(bytes);
    }
    if settings.bom {
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
    }
    bytes.extend_from_slice(text.as_bytes());
    Ok(bytes)
}

/// Where a row is, written out only for an error (`$.rows[3]`).
struct Row<'a> {
    field_name: &'a str,
    index: usize,
}

impl Row<'_> {
    /// The row's path.
    fn path(&self) -> String {
        format!("$.{}[{}]", self.field_name, self.index)
    }

    /// The path of column `key` of the row.
    fn at(&self, key: &str) -> String {
        let mut path = self.path();
        super::push_key(&mut path, key);
        path
    }
}

/// Appends one row's line to `text`, or nothing when a cell has a problem
/// (every problem of the row goes to `errors`). `cell` is scratch room.
fn push_row(
    text: &mut String,
    cell: &mut String,
    record: &RecordShape,
    row: &Value,
    path: &Row<'_>,
    shapes: &Shapes,
    errors: &mut Vec<MappingError>,
) {
    let settings = &shapes.format.csv;
    let Value::Record(slots) = row else {
        errors.push(MappingError::output(
            path.path(),
            format!("expected a {} record", record.name),
        ));
        return;
    };
    let start = text.len();
    let before = errors.len();
    for (index, (field, slot)) in record.fields.iter().zip(slots).enumerate() {
        if index > 0 {
            text.push(settings.delimiter);
        }
        if !slot.is_present() {
            if field.required {
                errors.push(MappingError::output(
                    path.at(&field.name),
                    format!("the required column `{}` has no value", field.csv_column),
                ));
            }
            continue;
        }
        cell.clear();
        match super::push_scalar(
            &field.shape,
            field.wire,
            slot,
            field.csv_format.as_deref(),
            settings.decimal_separator,
            cell,
        ) {
            Ok(()) => match cell.chars().find(|c| settings.windows_1252 && !fits_1252(*c)) {
                Some(c) => errors.push(MappingError::output(
                    path.at(&field.name),
                    format!(
                        "{c:?} (U+{:04X}) cannot be written in Windows-1252, the file's encoding",
                        u32::from(c)
                    ),
                )),
                None => push_quoted(text, cell, settings),
            },
            Err(message) => errors.push(MappingError::output(path.at(&field.name), message)),
        }
    }
    if errors.len() > before {
        text.truncate(start);
    } else {
        end_line(text, settings);
    }
}

/// RFC 4180: quoted when it holds the delimiter, the quote or a line
/// break, with quotes doubled.
fn push_quoted(text: &mut String, value: &str, settings: &crate::resolve::annotations::CsvSettings) {
    let needs = value
        .chars()
        .any(|c| c == settings.delimiter || c == settings.quote || c == '\n' || c == '\r');
    if !needs {
        text.push_str(value);
        return;
    }
    text.push(settings.quote);
    for c in value.chars() {
        if c == settings.quote {
            text.push(c);
        }
        text.push(c);
    }
    text.push(settings.quote);
}

fn end_line(text: &mut String, settings: &crate::resolve::annotations::CsvSettings) {
    text.push_str(if settings.crlf { "\r\n" } else { "\n" });
}

/// Whether Windows-1252 has `c`.
fn fits_1252(c: char) -> bool {
    if c.is_ascii() {
        return true;
    }
    let (mut text, mut byte) = ([0u8; 4], [0u8; 4]);
    let mut encoder = encoding_rs::WINDOWS_1252.new_encoder();
    let (result, _, _) = encoder.encode_from_utf8_without_replacement(c.encode_utf8(&mut text), &mut byte, true);
    result == encoding_rs::EncoderResult::InputEmpty
}

/// The text in Windows-1252, appended to `out` (every cell was checked to
/// fit; the header may not).
fn encode_1252(text: &str, field_name: &str, out: &mut Vec<u8>) -> Result<(), Vec<MappingError>> {
    let start = out.len();
    // Every character Windows-1252 holds is one byte, and no shorter in
    // UTF-8: the text's length is room enough.
    out.reserve(text.len());
    let mut encoder = encoding_rs::WINDOWS_1252.new_encoder();
    let (result, _) = encoder.encode_from_utf8_to_vec_without_replacement(text, out, true);
    match result {
        encoding_rs::EncoderResult::InputEmpty => Ok(()),
        _ => {
            out.truncate(start);
            Err(vec![MappingError::output(
                format!("$.{field_name}"),
                "a header cannot be written in Windows-1252, the file's encoding",
            )])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_fits_windows_1252_agrees_with_encoding_rs() {
        for c in (0u32..0x3000)
            .chain([0x20AC, 0x2122, 0xFFFD, 0x1F600])
            .filter_map(char::from_u32)
        {
            let mut buffer = [0u8; 4];
            let (_, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buffer));
            assert_eq!(fits_1252(c), !unmappable, "{c:?}");
        }
    }
}
