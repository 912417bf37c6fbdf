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
    let mut text = String::new();
    let mut errors = Vec::new();
    if header {
        push_header(&mut text, row_shape, settings);
    }
    for (index, row) in rows.iter().enumerate() {
        let path = format!("$.{field_name}[{index}]");
        match row_cells(row_shape, row, &path, shapes) {
            Ok(cells) => push_line(&mut text, &cells, settings),
            Err(mut problems) => errors.append(&mut problems),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let bytes = if settings.windows_1252 {
        encode_1252(&text, field_name)?
    } else {
        let mut bytes = Vec::with_capacity(text.len() + 3);
        if bom && settings.bom {
            bytes.extend_from_slice(b"\xEF\xBB\xBF");
        }
        bytes.extend_from_slice(text.as_bytes());
        bytes
    };
    out.extend_from_slice(&bytes);
    Ok(())
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
        let names: Vec<String> = row.fields.iter().map(|f| quote(&f.csv_column, settings)).collect();
        push_line(text, &names, settings);
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
    if settings.windows_1252 {
        return encode_1252(&text, field_name);
    }
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if settings.bom {
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
    }
    bytes.extend_from_slice(text.as_bytes());
    Ok(bytes)
}

fn row_cells(record: &RecordShape, row: &Value, path: &str, shapes: &Shapes) -> Result<Vec<String>, Vec<MappingError>> {
    let settings = &shapes.format.csv;
    let Value::Record(slots) = row else {
        return Err(vec![MappingError::output(
            path,
            format!("expected a {} record", record.name),
        )]);
    };
    let mut cells = Vec::with_capacity(record.fields.len());
    let mut errors = Vec::new();
    for (field, slot) in record.fields.iter().zip(slots) {
        let mut here = path.to_owned();
        super::push_key(&mut here, &field.name);
        if !slot.is_present() {
            if field.required {
                errors.push(MappingError::output(
                    here,
                    format!("the required column `{}` has no value", field.csv_column),
                ));
            }
            cells.push(String::new());
            continue;
        }
        match super::scalar_text(
            &field.shape,
            field.wire,
            slot,
            field.csv_format.as_deref(),
            settings.decimal_separator,
        ) {
            Ok(text) => match text.chars().find(|c| settings.windows_1252 && !fits_1252(*c)) {
                Some(c) => errors.push(MappingError::output(
                    here,
                    format!(
                        "{c:?} (U+{:04X}) cannot be written in Windows-1252, the file's encoding",
                        u32::from(c)
                    ),
                )),
                None => cells.push(quote(&text, settings)),
            },
            Err(message) => errors.push(MappingError::output(here, message)),
        }
    }
    if errors.is_empty() { Ok(cells) } else { Err(errors) }
}

/// RFC 4180: quoted when it holds the delimiter, the quote or a line break.
fn quote(value: &str, settings: &crate::resolve::annotations::CsvSettings) -> String {
    let needs = value
        .chars()
        .any(|c| c == settings.delimiter || c == settings.quote || c == '\n' || c == '\r');
    if !needs {
        return value.to_owned();
    }
    let doubled = value.replace(settings.quote, &format!("{0}{0}", settings.quote));
    format!("{0}{doubled}{0}", settings.quote)
}

fn push_line(text: &mut String, cells: &[String], settings: &crate::resolve::annotations::CsvSettings) {
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            text.push(settings.delimiter);
        }
        text.push_str(cell);
    }
    text.push_str(if settings.crlf { "\r\n" } else { "\n" });
}

/// Whether Windows-1252 has `c`.
fn fits_1252(c: char) -> bool {
    if c.is_ascii() {
        return true;
    }
    let mut buffer = [0u8; 4];
    let (_, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buffer));
    !unmappable
}

/// The text in Windows-1252 (every cell was checked to fit).
fn encode_1252(text: &str, field_name: &str) -> Result<Vec<u8>, Vec<MappingError>> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    if unmappable {
        return Err(vec![MappingError::output(
            format!("$.{field_name}"),
            "a header cannot be written in Windows-1252, the file's encoding",
        )]);
    }
    Ok(bytes.into_owned())
}
