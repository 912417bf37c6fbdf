//! Schema-directed XML encoding (UBL, NetSuite SuiteTalk, other SOAP and
//! XML targets).
//!
//! The root record becomes the root element, named by the schema's `root`
//! (or `@xml(name = "…")`), with every namespace the document uses declared
//! on it (the default namespace of the root's schema, each prefix used by
//! an `@xml(prefix)` field, and `xsi` when a record carries
//! `@xml(xsi_type = "…")`). Fields are written in declaration order, which
//! is the XSD sequence: a record field is a child element, a list repeats
//! its element, `@xml(attr)` fields are attributes and the `@xml(text)`
//! field is the element's text. Text is escaped with quick-xml (and line
//! breaks and tabs in attributes as character references, so they survive
//! attribute normalisation). Characters XML 1.0 cannot carry are a
//! [`MappingError`] with the field's path, never a malformed document.

use super::shape::{FieldShape, Shape, Shapes, XmlRole};
use super::{MappingError, Step};
use crate::interp::recycle;
use crate::interp::value::Value;
use smallvec::SmallVec;

/// The XML Schema instance namespace, for `xsi:type`.
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// How the document is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One line, no declaration: one document per line on a stream.
    Line,
    /// Indented by two spaces, with the XML declaration (unless the schema
    /// says `declaration false`): for files and golden cases.
    Indented,
}

/// Writes the root record `value` of `shapes` as an XML document to `out`;
/// on failure `out` is left as it was and every problem is returned.
pub fn encode(shapes: &Shapes, value: &Value, layout: Layout, out: &mut Vec<u8>) -> Result<(), Vec<MappingError>> {
    let start = out.len();
    let mut encoder = Encoder {
        shapes,
        out,
        errors: Vec::new(),
        path: SmallVec::new(),
        layout,
    };
    if layout == Layout::Indented && shapes.format.declaration {
        encoder
            .out
            .extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    }
    let root = shapes.records.get(shapes.root);
    match root {
        Some(record) => encoder.element(&record.xml_name, shapes.root, value, 0, true),
        None => encoder.error("unknown root record"),
    }
    if layout == Layout::Indented {
        encoder.out.push(b'\n');
    }
    if encoder.errors.is_empty() {
        Ok(())
    } else {
        let errors = std::mem::take(&mut encoder.errors);
        drop(encoder);
        out.truncate(start);
        Err(errors)
    }
}

struct Encoder<'a> {
    shapes: &'a Shapes,
    out: &'a mut Vec<u8>,
    errors: Vec<MappingError>,
    /// Where the encoder is (on the stack: paths are seldom deeper).
    path: SmallVec<[Step<'a>; 16]>,
    layout: Layout,
}

impl<'a> Encoder<'a> {
    fn error(&mut self, message: impl Into<String>) {
        self.errors
            .push(MappingError::output(super::render_path(&self.path), message));
    }

    fn indent(&mut self, depth: usize) {
        if self.layout == Layout::Indented {
            if depth > 0 || !self.out.is_empty() && self.out.last() != Some(&b'\n') {
                self.out.push(b'\n');
            }
            for _ in 0..depth {
                self.out.extend_from_slice(b"  ");
            }
        }
    }

    /// Checks that XML can carry `text`.
    fn carriable(&mut self, text: &str) -> bool {
        match crate::helpers::text::check_xml_chars(text) {
            Ok(()) => true,
            Err(error) => {
                self.error(error.to_string());
                false
            }
        }
    }

    fn text(&mut self, text: &str) {
        if self.carriable(text) {
            push_escaped(self.out, text, false);
        }
    }

    /// Writes ` name="value"`, the name given in pieces (`xmlns`, `:`,
    /// prefix) so none has to be put together first.
    fn attribute(&mut self, name: &[&str], value: &str) {
        if self.carriable(value) {
            self.out.push(b' ');
            for piece in name {
                self.out.extend_from_slice(piece.as_bytes());
            }
            self.out.extend_from_slice(b"=\"");
            push_escaped(self.out, value, true);
            self.out.push(b'"');
        }
    }

    /// Writes record `index` as element `name`.
    fn element(&mut self, name: &str, index: usize, value: &Value, depth: usize, root: bool) {
        let shapes = self.shapes;
        let Some(record) = shapes.records.get(index) else {
            self.error("unknown record shape");
            return;
        };
        let Value::Record(slots) = value else {
            self.error(format!("expected a {} record, found {value}", record.name));
            return;
        };
        self.indent(depth);
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        if root {
            for (prefix, uri) in &shapes.namespaces {
                if prefix.is_empty() {
                    self.attribute(&["xmlns"], uri);
                } else {
                    self.attribute(&["xmlns:", prefix], uri);
                }
            }
            if shapes.uses_xsi {
                self.attribute(&["xmlns:xsi"], XSI);
            }
        }
        if let Some(xsi_type) = &record.xsi_type {
            self.attribute(&["xsi:type"], xsi_type);
        }
        // Attributes first, then text or child elements.
        let mut text = None;
        let mut children = false;
        for (field, slot) in record.fields.iter().zip(slots) {
            match field.xml_role {
                XmlRole::Attribute => {
                    self.path.push(Step::Key(&field.name));
                    let written = self.scalar_of(field, slot);
                    if let Some(written) = written {
                        self.attribute(&[&field.xml_name], &written);
                        recycle::recycle_text(written);
                    }
                    self.path.pop();
                }
                XmlRole::Text => text = Some((field, slot)),
                XmlRole::Element => children |= slot.is_present() || field.fixed.is_some(),
            }
        }
        if text.is_none() && !children {
            // Still report required children that are missing.
            self.missing_children(record.fields.as_slice(), slots);
            self.out.extend_from_slice(b"/>");
            return;
        }
        self.out.push(b'>');
        if let Some((field, slot)) = text {
            self.path.push(Step::Key(&field.name));
            if let Some(written) = self.scalar_of(field, slot) {
                self.text(&written);
                recycle::recycle_text(written);
            }
            self.path.pop();
        }
        let mut nested = false;
        for (field, slot) in record.fields.iter().zip(slots) {
            if field.xml_role != XmlRole::Element {
                continue;
            }
            self.path.push(Step::Key(&field.name));
            nested |= self.child(field, slot, depth + 1);
            self.path.pop();
        }
        if nested {
            self.indent(depth);
        }
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
    }

    fn missing_children(&mut self, fields: &'a [FieldShape], slots: &[Value]) {
        for (field, slot) in fields.iter().zip(slots) {
            if field.xml_role == XmlRole::Element && field.required && !slot.is_present() && field.fixed.is_none() {
                self.path.push(Step::Key(&field.name));
                self.error(format!("the required element `{}` has no value", field.xml_name));
                self.path.pop();
            }
        }
    }

    /// Writes one element field (a list repeats it); says whether it wrote
    /// anything.
    fn child(&mut self, field: &'a FieldShape, value: &Value, depth: usize) -> bool {
        match (&field.shape, value) {
            (_, Value::Absent) => match &field.fixed {
                Some(fixed) => {
                    self.simple_element(&field.xml_name, fixed, depth);
                    true
                }
                None => {
                    if field.required {
                        self.error(format!("the required element `{}` has no value", field.xml_name));
                    }
                    false
                }
            },
            (Shape::List(element), Value::List(items)) => {
                if field.required && items.is_empty() {
                    self.error(format!(
                        "`{}` needs at least one element, and the list is empty",
                        field.xml_name
                    ));
                }
                for (index, item) in items.iter().enumerate() {
                    self.path.push(Step::Index(index));
                    self.one(field, element, item, depth);
                    self.path.pop();
                }
                !items.is_empty()
            }
            (shape, value) => {
                self.one(field, shape, value, depth);
                true
            }
        }
    }

    fn one(&mut self, field: &FieldShape, shape: &Shape, value: &Value, depth: usize) {
        match (shape, value) {
            (Shape::Optional(_), Value::Absent) => {}
            (Shape::Optional(inner), value) => self.one(field, inner, value, depth),
            (Shape::Record(index), value) => self.element(&field.xml_name, *index, value, depth, false),
            (shape, value) => {
                if let Some(written) = self.scalar(field, shape, value) {
                    self.simple_element(&field.xml_name, &written, depth);
                    recycle::recycle_text(written);
                }
            }
        }
    }

    fn simple_element(&mut self, name: &str, text: &str, depth: usize) {
        self.indent(depth);
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
        self.text(text);
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
    }

    /// The text of an attribute or text field (absent: its fixed value, or
    /// nothing), in a kept buffer (see [`recycle`]) the caller gives back.
    fn scalar_of(&mut self, field: &FieldShape, value: &Value) -> Option<String> {
        if !value.is_present() {
            if field.required && field.fixed.is_none() {
                self.error(format!("the required `{}` has no value", field.xml_name));
            }
            return field.fixed.as_deref().map(recycle::text);
        }
        let written = self.scalar(field, &field.shape, value)?;
        if let Some(fixed) = &field.fixed
            && *fixed != written
        {
            self.error(format!(
                "the value must be {fixed:?} (fixed by the schema), not {written:?}"
            ));
            recycle::recycle_text(written);
            return None;
        }
        Some(written)
    }

    /// A scalar's text, in a kept buffer the caller gives back.
    fn scalar(&mut self, field: &FieldShape, shape: &Shape, value: &Value) -> Option<String> {
        let mut text = recycle::string();
        match super::push_scalar(shape, field.wire, value, None, '.', &mut text) {
            Ok(()) => Some(text),
            Err(message) => {
                recycle::recycle_text(text);
                self.error(message);
                None
            }
        }
    }
}

/// Appends `text` escaped for XML: `<`, `>`, `&` and carriage returns in
/// text; also quotes, apostrophes, tabs and line feeds in attribute values
/// (which XML would otherwise normalise to spaces).
fn push_escaped(out: &mut Vec<u8>, text: &str, attribute: bool) {
    let bytes = text.as_bytes();
    let mut from = 0;
    for (at, byte) in bytes.iter().enumerate() {
        let entity: &[u8] = match byte {
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'&' => b"&amp;",
            b'\r' => b"&#13;",
            b'"' if attribute => b"&quot;",
            b'\'' if attribute => b"&apos;",
            b'\t' if attribute => b"&#9;",
            b'\n' if attribute => b"&#10;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..at]);
        out.extend_from_slice(entity);
        from = at + 1;
    }
    out.extend_from_slice(&bytes[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escaping quick-xml does (and this encoder did through it),
    /// with the attribute whitespace added.
    fn reference(text: &str, attribute: bool) -> String {
        if attribute {
            quick_xml::escape::escape(text)
                .replace('\t', "&#9;")
                .replace('\n', "&#10;")
                .replace('\r', "&#13;")
        } else {
            quick_xml::escape::partial_escape(text).replace('\r', "&#13;")
        }
    }

    #[test]
    fn escaping_agrees_with_quick_xml() {
        let mut texts: Vec<String> = (0u8..128).map(|b| format!("a{}b", b as char)).collect();
        texts.extend(
            [
                "",
                "plain",
                "<&>\"'",
                "Müller & Söhne <GmbH>",
                "\r\n\t",
                "&amp;",
                "😀<😀",
            ]
            .iter()
            .map(|t| (*t).to_owned()),
        );
        for text in &texts {
            for attribute in [false, true] {
                let mut out = Vec::new();
                push_escaped(&mut out, text, attribute);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    reference(text, attribute),
                    "{text:?} attribute={attribute}"
                );
            }
        }
    }
}
