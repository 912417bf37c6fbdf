//! Shapes: what the JSON codecs need to know of a record type (fields in
//! order, JSON names, limits, wire forms, absent-as-null), computed once per
//! mapping from the type store so decoding and encoding never look names up
//! in the workspace.

use super::word_at;
use crate::resolve::annotations::FormatInfo;
use crate::syntax::ast::{Annotation, Literal};
use crate::types::{EnumId, ModuleId, RecordId, Ty, TypeStore};
use std::collections::HashMap;

/// How a value is written on the wire (`@wire(…)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// The type's natural JSON form: numbers as numbers, dates as ISO 8601.
    Natural,
    /// A number written as a JSON string (`"12.50"`).
    String,
    /// A number written as a JSON number.
    Number,
    /// OData v2 `Edm.DateTime`: `"/Date(1739836800000)/"` (UTC milliseconds).
    ODataDate,
    /// OData v2 `Edm.DateTimeOffset`: `"/Date(1739836800000+0000)/"`.
    ODataDateTimeOffset,
    /// A list wrapped for an OData v2 deep insert: `{"results": [...]}`.
    ODataResults,
    /// `"2025-03-01"`.
    IsoDate,
    /// `"2025-03-01T10:00:00Z"`.
    IsoDateTime,
    /// Milliseconds since 1970-01-01T00:00:00Z, as a JSON number.
    EpochMillis,
    /// `"20250301"`.
    Yyyymmdd,
}

impl Wire {
    fn from_name(name: &str) -> Option<Wire> {
        Some(match name {
            "string" => Wire::String,
            "number" => Wire::Number,
            "odata_v2_date" => Wire::ODataDate,
            "odata_v2_datetime_offset" => Wire::ODataDateTimeOffset,
            "odata_v2_results" => Wire::ODataResults,
            "iso_date" => Wire::IsoDate,
            "iso_datetime" => Wire::IsoDateTime,
            "epoch_millis" => Wire::EpochMillis,
            "yyyymmdd" => Wire::Yyyymmdd,
            _ => return None,
        })
    }

    /// Whether the form makes sense for a value of shape `shape`.
    fn fits(self, shape: &Shape) -> bool {
        match self {
            Wire::Natural => true,
            Wire::String | Wire::Number => matches!(shape, Shape::Int | Shape::Decimal { .. }),
            Wire::ODataDate | Wire::EpochMillis => matches!(shape, Shape::Date | Shape::DateTime),
            Wire::ODataDateTimeOffset | Wire::IsoDateTime => matches!(shape, Shape::DateTime),
            Wire::IsoDate | Wire::Yyyymmdd => matches!(shape, Shape::Date),
            Wire::ODataResults => matches!(shape, Shape::List(_)),
        }
    }
}

/// The shape of a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Text, at most `max_len` Unicode scalar values.
    Text {
        /// `String(n)`.
        max_len: Option<u32>,
    },
    /// An ISO 4217 code: three capital letters.
    Currency,
    /// An ISO 3166-1 alpha-2 code: two capital letters.
    Country,
    /// A 64-bit whole number.
    Int,
    /// An exact decimal.
    Decimal {
        /// Total digits.
        precision: Option<u32>,
        /// Places after the point.
        scale: Option<u32>,
    },
    /// `true` or `false`.
    Bool,
    /// A calendar date.
    Date,
    /// An instant with its offset.
    DateTime,
    /// An enum, by index into [`Shapes::enums`].
    Enum(usize),
    /// A record, by index into [`Shapes::records`].
    Record(usize),
    /// A list.
    List(Box<Shape>),
    /// A list element that may be absent (`[T?]`).
    Optional(Box<Shape>),
}

/// Where a field goes in an XML document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XmlRole {
    /// A child element (the default).
    Element,
    /// An attribute of the record's element (`@xml(attr)`).
    Attribute,
    /// The text content of the record's element (`@xml(text)`).
    Text,
}

/// One field of a record shape.
#[derive(Clone, Debug)]
pub struct FieldShape {
    /// Its name in the schema.
    pub name: String,
    /// Its JSON key (`@json(name = "…")`, else the name).
    pub key: String,
    /// The key as the encoder writes it: escaped, quoted, then `:`.
    pub json_key: String,
    /// Its value's shape.
    pub shape: Shape,
    /// `T?`: may be absent or `null`.
    pub optional: bool,
    /// `@required`: an output must carry it.
    pub required: bool,
    /// How it is written.
    pub wire: Wire,
    /// When absent, written as `null` instead of left out.
    pub null_when_absent: bool,
    /// XML: element, attribute or text.
    pub xml_role: XmlRole,
    /// XML: the qualified name (`cbc:ID`, `record`, `currencyID`).
    pub xml_name: String,
    /// XML: a value the field always has (`@xml(fixed = "…")`).
    pub fixed: Option<String>,
    /// CSV: the column's header (`@csv(column = "…")`, else the name).
    pub csv_column: String,
    /// CSV: the date pattern (`@csv(format = "dd.MM.yyyy")`).
    pub csv_format: Option<String>,
}

/// A record's fields, in declaration order (extensions after), as the
/// record value's slots are.
#[derive(Clone, Debug)]
pub struct RecordShape {
    /// The record's name, for messages.
    pub name: String,
    /// XML: the element name when the record is the root (`@xml(name)`,
    /// else its name).
    pub xml_name: String,
    /// XML: `xsi:type` written on its element (`@xml(xsi_type = "…")`).
    pub xsi_type: Option<String>,
    /// Its fields.
    pub fields: Vec<FieldShape>,
    /// Field positions by JSON key.
    pub by_key: HashMap<String, usize>,
    /// Each field's key as the decoder matches it in place (see
    /// [`RecordShape::key_at`]); empty when the record has two fields of
    /// one key.
    keys: Vec<KeyBytes>,
}

/// A field's key, quoted at its end, as it lies in a JSON text when it
/// is written without escapes: its first (up to) 8 bytes as a word with
/// a mask, its last 8 as a word (keys of 9 to 16 bytes), and its bytes
/// (longer keys). No bytes for a key that cannot be matched so (one
/// with bytes JSON must escape, or the token serde_json uses for
/// numbers).
#[derive(Clone, Debug, Default)]
struct KeyBytes {
    head: u64,
    mask: u64,
    tail: u64,
    quoted: Box<[u8]>,
}

impl KeyBytes {
    fn new(key: &str) -> KeyBytes {
        if super::json_special(key.as_bytes()).is_some() || key == super::json_in::NUMBER_TOKEN {
            return KeyBytes::default();
        }
        let mut quoted = key.as_bytes().to_vec();
        quoted.push(b'"');
        let mut head = [0; 8];
        let mut mask = [0; 8];
        for (at, byte) in quoted.iter().take(8).enumerate() {
            head[at] = *byte;
            mask[at] = 0xFF;
        }
        KeyBytes {
            head: u64::from_le_bytes(head),
            mask: u64::from_le_bytes(mask),
            tail: quoted
                .len()
                .checked_sub(8)
                .and_then(|at| word_at(&quoted, at))
                .unwrap_or(0),
            quoted: quoted.into_boxed_slice(),
        }
    }

    /// Whether `text`, whose first word is `word`, starts with the key.
    #[inline(always)]
    fn starts(&self, text: &[u8], word: u64) -> bool {
        let length = self.quoted.len();
        if length == 0 || word & self.mask != self.head {
            return false;
        }
        match length {
            0..=8 => true,
            // The last word, overlapping the first.
            9..=16 => word_at(text, length - 8) == Some(self.tail),
            _ => text.get(..length) == Some(&self.quoted[..]),
        }
    }
}

impl RecordShape {
    /// The position of the field whose JSON key is `key`. Records of up
    /// to 32 fields are scanned (length first, then bytes), which beats
    /// hashing every key of every event; larger ones use the index. As
    /// with the index, a key given to two fields names the later one.
    pub fn field_index(&self, key: &str) -> Option<usize> {
        if self.fields.len() <= 32 {
            self.fields
                .iter()
                .rposition(|field| field.key.len() == key.len() && field.key == key)
        } else {
            self.by_key.get(key).copied()
        }
    }

    /// The field whose key a JSON text starts with, where `text` follows
    /// a key's opening quote, and the length of the key with its closing
    /// quote; `None` when no key is there written plainly (then the key
    /// is to be read as a string and looked up). The fields are tried
    /// from `hint` on, round to it, a word compare each: producers write
    /// an object's keys in one order, so the first or second is nearly
    /// always it, whichever optional fields are left out.
    ///
    /// A key written without escapes and followed by its quote is that
    /// string and nothing else, since it has no quote or backslash of its
    /// own: the match is the field [`RecordShape::field_index`] finds.
    pub(crate) fn key_at(&self, text: &[u8], hint: usize) -> Option<(usize, usize)> {
        let word = word_at(text, 0)?;
        let count = self.keys.len();
        let mut at = hint;
        for _ in 0..count {
            if at >= count {
                at = 0;
            }
            let key = self.keys.get(at)?;
            if key.starts(text, word) {
                return Some((at, key.quoted.len()));
            }
            at += 1;
        }
        None
    }

    /// As [`RecordShape::field_index`], trying the field at `hint` first:
    /// producers write an object's keys in the same order every time, so
    /// the field after the last one read is nearly always the next key.
    pub fn field_index_near(&self, key: &str, hint: usize) -> Option<usize> {
        if let Some(field) = self.fields.get(hint)
            && same_key(field.key.as_bytes(), key.as_bytes())
            // With two fields of one key the later one is named: the
            // hint may not be it.
            && self.by_key.len() == self.fields.len()
        {
            return Some(hint);
        }
        self.field_index(key)
    }
}

/// Whether two keys are the same bytes: keys are short, so up to 16
/// bytes are compared byte by byte or as two (overlapping) words, with
/// no call.
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        0..8 => a.iter().zip(b).all(|(x, y)| x == y),
        8..=16 => {
            let last = a.len() - 8;
            word_at(a, 0) == word_at(b, 0) && word_at(a, last) == word_at(b, last)
        }
        _ => a == b,
    }
}

/// An enum's variants.
#[derive(Clone, Debug)]
pub struct EnumShape {
    /// The enum's name.
    pub name: String,
    /// Its variants, by index.
    pub variants: Vec<String>,
    /// Variant indexes by name.
    pub by_name: HashMap<String, u32>,
}

impl EnumShape {
    /// The index of the variant named `name`. Enums of up to 32 variants
    /// are scanned (length first, then bytes), which beats hashing the
    /// name of every value read; larger ones use the index.
    pub fn variant_named(&self, name: &str) -> Option<u32> {
        if self.variants.len() <= 32 {
            let position = self
                .variants
                .iter()
                .position(|variant| same_key(variant.as_bytes(), name.as_bytes()))?;
            u32::try_from(position).ok()
        } else {
            self.by_name.get(name).copied()
        }
    }
}

/// Every shape reachable from one root record.
#[derive(Clone, Debug)]
pub struct Shapes {
    /// Records; the root is [`Shapes::root`].
    pub records: Vec<RecordShape>,
    /// Enums.
    pub enums: Vec<EnumShape>,
    /// The root record's index.
    pub root: usize,
    /// The format of the root record's schema (JSON, XML, CSV, and their
    /// settings).
    pub format: FormatInfo,
    /// XML: every namespace the records use, `(prefix, uri)`, the default
    /// namespace as prefix `""`, sorted; declared on the root element.
    pub namespaces: Vec<(String, String)>,
    /// XML: some record carries `xsi:type`.
    pub uses_xsi: bool,
    /// Each record type and its index in [`Shapes::records`] (compiled
    /// code that writes its output directly names records by type; see
    /// [`Shapes::of_type`]).
    pub by_type: Vec<(RecordId, usize)>,
}

/// Why a record type has no JSON shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{record}.{field}: {reason}")]
pub struct ShapeError {
    /// The record.
    pub record: String,
    /// The field.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl Shapes {
    /// The JSON paths of the root record that `demand` reads, in field
    /// order: `$.lines[*].tax.rate` for a leaf, a trailing `.*` when a
    /// record is read whole, `$` alone when only the root record itself is.
    pub fn demanded_paths(&self, demand: &crate::mir::demand::Demand) -> Vec<String> {
        fn walk(
            shapes: &Shapes,
            shape: &Shape,
            demand: &crate::mir::demand::Demand,
            path: String,
            out: &mut Vec<String>,
        ) {
            let mut shape = shape;
            let mut path = path;
            loop {
                match shape {
                    Shape::Optional(inner) => shape = inner,
                    Shape::List(element) => {
                        path.push_str("[*]");
                        shape = element;
                    }
                    _ => break,
                }
            }
            let record = match shape {
                Shape::Record(index) => shapes.records.get(*index),
                _ => None,
            };
            match record {
                Some(_) if demand.whole => out.push(format!("{path}.*")),
                Some(record) if !demand.fields.is_empty() => {
                    for (slot, field) in record.fields.iter().enumerate() {
                        if let Some(child) = u32::try_from(slot).ok().and_then(|slot| demand.fields.get(slot)) {
                            let mut inner = path.clone();
                            super::push_key(&mut inner, &field.key);
                            walk(shapes, &field.shape, child, inner, out);
                        }
                    }
                }
                _ => out.push(path),
            }
        }
        let mut out = Vec::new();
        walk(self, &Shape::Record(self.root), demand, "$".to_owned(), &mut out);
        out
    }

    /// The shapes of record `root` and everything it contains. `format_of`
    /// gives each schema module's format declaration.
    pub fn build(
        store: &TypeStore,
        root: RecordId,
        format_of: &dyn Fn(ModuleId) -> Option<FormatInfo>,
    ) -> Result<Shapes, ShapeError> {
        let format = store
            .record(root)
            .and_then(|record| format_of(record.module))
            .unwrap_or_default();
        let mut builder = Builder {
            store,
            format_of,
            shapes: Shapes {
                records: Vec::new(),
                enums: Vec::new(),
                root: 0,
                format,
                namespaces: Vec::new(),
                uses_xsi: false,
                by_type: Vec::new(),
            },
            record_index: HashMap::new(),
            enum_index: HashMap::new(),
        };
        let root = builder.record(root)?;
        builder.shapes.root = root;
        builder.shapes.namespaces.sort();
        builder.shapes.namespaces.dedup();
        builder.shapes.by_type = builder.record_index.into_iter().collect();
        builder.shapes.by_type.sort_unstable();
        Ok(builder.shapes)
    }

    /// The index of record type `id`'s shape (a payload has a handful of
    /// record types: a scan beats hashing).
    pub fn of_type(&self, id: RecordId) -> Option<usize> {
        self.by_type
            .iter()
            .find_map(|&(known, index)| (known == id).then_some(index))
    }

    /// The root record's shape.
    pub fn root(&self) -> Option<&RecordShape> {
        self.records.get(self.root)
    }
}

struct Builder<'a> {
    store: &'a TypeStore,
    format_of: &'a dyn Fn(ModuleId) -> Option<FormatInfo>,
    shapes: Shapes,
    record_index: HashMap<RecordId, usize>,
    enum_index: HashMap<EnumId, usize>,
}

fn word_arg<'a>(annotation: &'a Annotation, key: Option<&str>) -> Option<&'a str> {
    annotation.args.iter().find_map(|arg| {
        if arg.key.as_ref().map(|k| k.name.as_str()) != key {
            return None;
        }
        match &arg.value {
            Literal::Word(word) | Literal::Str(word) => Some(word.as_str()),
            _ => None,
        }
    })
}

impl Builder<'_> {
    fn record(&mut self, id: RecordId) -> Result<usize, ShapeError> {
        if let Some(index) = self.record_index.get(&id) {
            return Ok(*index);
        }
        let def = self.store.record(id).ok_or_else(|| ShapeError {
            record: format!("record#{}", id.0),
            field: String::new(),
            reason: "unknown record".to_owned(),
        })?;
        let index = self.shapes.records.len();
        self.record_index.insert(id, index);
        let record_xml = def.annotations.iter().find(|a| a.name.name == "xml");
        let xsi_type = record_xml
            .and_then(|a| word_arg(a, Some("xsi_type")))
            .map(str::to_owned);
        if xsi_type.is_some() {
            self.shapes.uses_xsi = true;
        }
        let module_format = (self.format_of)(def.module).unwrap_or_default();
        if module_format.format == crate::resolve::annotations::WireFormat::Xml {
            // The root's default namespace is declared on the root element;
            // a record of another module may not bring a different one.
            let default = module_format.namespaces.iter().find(|(p, _)| p == "default");
            if let Some((_, uri)) = default {
                self.namespace("", uri).map_err(|reason| ShapeError {
                    record: def.name.clone(),
                    field: String::new(),
                    reason,
                })?;
            }
        }
        self.shapes.records.push(RecordShape {
            name: def.name.clone(),
            xml_name: record_xml
                .and_then(|a| word_arg(a, Some("name")))
                .unwrap_or(&def.name)
                .to_owned(),
            xsi_type,
            fields: Vec::new(),
            by_key: HashMap::new(),
            keys: Vec::new(),
        });
        let mut fields = Vec::with_capacity(def.fields.len());
        for field in &def.fields {
            let fail = |reason: String| ShapeError {
                record: def.name.clone(),
                field: field.name.clone(),
                reason,
            };
            let ty = field
                .ty
                .as_ref()
                .ok_or_else(|| fail("its type did not resolve".to_owned()))?;
            let shape = self.shape(ty.strip_optional()).map_err(fail)?;
            let field_format = (self.format_of)(field.extension.unwrap_or(def.module)).unwrap_or_default();
            let mut out = FieldShape {
                name: field.name.clone(),
                key: field.name.clone(),
                json_key: String::new(),
                shape,
                optional: ty.is_optional(),
                required: field.required,
                wire: Wire::Natural,
                null_when_absent: field_format.write_nulls,
                xml_role: XmlRole::Element,
                xml_name: field.name.clone(),
                fixed: None,
                csv_column: field.name.clone(),
                csv_format: None,
            };
            for annotation in &field.annotations {
                match annotation.name.name.as_str() {
                    "wire" => {
                        let form = word_arg(annotation, None).unwrap_or_default();
                        let wire = Wire::from_name(form).ok_or_else(|| fail(format!("unknown wire form `{form}`")))?;
                        if !wire.fits(&out.shape) {
                            return Err(fail(format!(
                                "`@wire({form})` does not apply to a {}",
                                self.store.display(ty)
                            )));
                        }
                        out.wire = wire;
                    }
                    "json" => {
                        if let Some(name) = word_arg(annotation, Some("name")) {
                            name.clone_into(&mut out.key);
                        }
                        if let Some(absent) = word_arg(annotation, Some("absent")) {
                            out.null_when_absent = absent == "null";
                        }
                    }
                    "xml" => self.xml_field(annotation, &field_format, &mut out).map_err(fail)?,
                    "csv" => {
                        if let Some(column) = word_arg(annotation, Some("column")) {
                            column.clone_into(&mut out.csv_column);
                        }
                        out.csv_format = word_arg(annotation, Some("format")).map(str::to_owned);
                    }
                    _ => {}
                }
            }
            out.json_key = format!("{}:", serde_json::Value::String(out.key.clone()));
            fields.push(out);
        }
        let by_key: HashMap<String, usize> = fields.iter().enumerate().map(|(i, f)| (f.key.clone(), i)).collect();
        // With two fields of one key the later one is named: matched by
        // lookup only.
        let keys = if by_key.len() == fields.len() {
            fields.iter().map(|field| KeyBytes::new(&field.key)).collect()
        } else {
            Vec::new()
        };
        if let Some(record) = self.shapes.records.get_mut(index) {
            record.fields = fields;
            record.by_key = by_key;
            record.keys = keys;
        }
        Ok(index)
    }

    /// Records a namespace the document uses; one prefix, one URI.
    fn namespace(&mut self, prefix: &str, uri: &str) -> Result<(), String> {
        match self.shapes.namespaces.iter().find(|(p, _)| p == prefix) {
            Some((_, known)) if known != uri => Err(format!(
                "the namespace prefix `{}` means both {known} and {uri}",
                if prefix.is_empty() { "default" } else { prefix }
            )),
            Some(_) => Ok(()),
            None => {
                self.shapes.namespaces.push((prefix.to_owned(), uri.to_owned()));
                Ok(())
            }
        }
    }

    /// Reads `@xml(…)`: role flags, `name`, a namespace prefix (bare or
    /// `ns = p`), `fixed`.
    fn xml_field(&mut self, annotation: &Annotation, format: &FormatInfo, out: &mut FieldShape) -> Result<(), String> {
        let mut prefix = None;
        for arg in &annotation.args {
            match (arg.key.as_ref().map(|k| k.name.as_str()), &arg.value) {
                (None, Literal::Word(word)) => match word.as_str() {
                    "attr" => out.xml_role = XmlRole::Attribute,
                    "text" => out.xml_role = XmlRole::Text,
                    "elem" => out.xml_role = XmlRole::Element,
                    other => prefix = Some(other.to_owned()),
                },
                (Some("ns"), Literal::Word(word) | Literal::Str(word)) => prefix = Some(word.clone()),
                (Some("name"), Literal::Str(name) | Literal::Word(name)) => name.clone_into(&mut out.xml_name),
                (Some("fixed"), Literal::Str(value)) => out.fixed = Some(value.clone()),
                _ => {}
            }
        }
        let local = out.xml_name.clone();
        match prefix {
            Some(prefix) => {
                let uri = format
                    .namespaces
                    .iter()
                    .find(|(p, _)| *p == prefix)
                    .map(|(_, uri)| uri.clone())
                    .ok_or_else(|| format!("the namespace prefix `{prefix}` is not declared"))?;
                if out.xml_role == XmlRole::Text {
                    return Err("text content has no namespace".to_owned());
                }
                self.namespace(&prefix, &uri)?;
                out.xml_name = format!("{prefix}:{local}");
            }
            None => out.xml_name = local,
        }
        Ok(())
    }

    fn shape(&mut self, ty: &Ty) -> Result<Shape, String> {
        Ok(match ty {
            Ty::String { max_len } => Shape::Text { max_len: *max_len },
            Ty::Int => Shape::Int,
            Ty::Decimal { precision, scale } => Shape::Decimal {
                precision: *precision,
                scale: *scale,
            },
            Ty::Bool => Shape::Bool,
            Ty::Date => Shape::Date,
            Ty::DateTime => Shape::DateTime,
            Ty::Currency => Shape::Currency,
            Ty::Country => Shape::Country,
            Ty::Record(id) => Shape::Record(self.record(*id).map_err(|e| e.to_string())?),
            Ty::Enum(id) => Shape::Enum(self.enumeration(*id)?),
            Ty::List(inner) => Shape::List(Box::new(match inner.as_ref() {
                Ty::Optional(element) => Shape::Optional(Box::new(self.shape(element)?)),
                element => self.shape(element)?,
            })),
            Ty::Optional(inner) => self.shape(inner)?,
            Ty::Group(..) | Ty::None => return Err("a group or `none` has no JSON form".to_owned()),
        })
    }

    fn enumeration(&mut self, id: EnumId) -> Result<usize, String> {
        if let Some(index) = self.enum_index.get(&id) {
            return Ok(*index);
        }
        let def = self.store.enumeration(id).ok_or("unknown enum")?;
        let variants: Vec<String> = def.variants.iter().map(|v| v.name.clone()).collect();
        let by_name = variants
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i as u32))
            .collect();
        self.shapes.enums.push(EnumShape {
            name: def.name.clone(),
            variants,
            by_name,
        });
        let index = self.shapes.enums.len() - 1;
        self.enum_index.insert(id, index);
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::same_key;

    #[test]
    fn same_key_is_byte_equality() {
        for length in 0..24 {
            let key: Vec<u8> = (0..length).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_key(&key, &key.clone()));
            for at in 0..length {
                let mut other = key.clone();
                other[at] ^= 0x20;
                assert!(!same_key(&key, &other), "{length} bytes, differing at {at}");
            }
            let mut longer = key.clone();
            longer.push(b'x');
            assert!(!same_key(&key, &longer));
        }
    }
}
