//! Schema-directed JSON decoding of canonical events.
//!
//! The input is read by serde_json straight into [`Value`]s of the input
//! record's [`Shapes`]: no generic JSON tree is built. Every visitor accepts
//! any JSON value; a value of the wrong kind is recorded as a
//! [`MappingError`] with its 0-based JSON path and read past, so all the
//! problems of a record are reported at once. Unknown fields are ignored
//! unless [`DecodeOptions::strict`] is set.
//!
//! Numbers arrive as written (serde_json's `arbitrary_precision`), so
//! decimals are exact. A decimal may also be given as a JSON string
//! (`"12.50"`), as many APIs send amounts.
//!
//! Only what the mapping reads is built ([`decode_reading`], with the
//! [`Demand`] computed from the MIR by `mir::demand`): every other field is
//! read and checked exactly as before, so a bad value is the same error
//! whether the mapping uses it or not, but no text or list is made for it
//! and it stays absent in the record. A well-formed record is read by the
//! fast path (the `fast` module), a reader of its own that borrows strings and
//! matches keys in place; at anything it does not plainly accept it
//! defers to the serde_json-driven reader here, which reports what is
//! wrong.

mod fast;

use super::shape::{RecordShape, Shape, Shapes};
use super::{MappingError, Node};
use crate::helpers::{date, number, text};
use crate::interp::recycle;
use crate::interp::value::Value;
use crate::mir::demand::Demand;
use rust_decimal::Decimal;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;

/// How strictly input is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Reject fields the schema does not declare (else they are ignored).
    pub strict: bool,
}

/// Whether a buffer with room for `room` is to be reused for `need`: big
/// enough, and not so big that it holds much more than it is used for.
pub(crate) fn fits(room: usize, need: usize) -> bool {
    room >= need && room <= (4 * need).max(4096)
}

/// Whether `text` is a code of `length` capital letters (ISO 4217
/// currencies, ISO 3166-1 countries).
fn is_code(text: &str, length: usize) -> bool {
    text.len() == length && text.bytes().all(|b| b.is_ascii_uppercase())
}

/// The key serde_json uses to hand over a number's text.
pub(crate) const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Decodes one JSON document of the root record of `shapes`. Either the
/// record, or every problem found in it.
pub fn decode(shapes: &Shapes, bytes: &[u8], options: DecodeOptions) -> Result<Value, Vec<MappingError>> {
    decode_reading(shapes, Demand::whole_ref(), bytes, options)
}

/// As [`decode`], building only what `demand` says is read: a field
/// outside it is read past and validated exactly as by [`decode`] (so
/// the same errors are reported), but left absent in the record, with no
/// text or list made for it.
pub fn decode_reading(
    shapes: &Shapes,
    demand: &Demand,
    bytes: &[u8],
    options: DecodeOptions,
) -> Result<Value, Vec<MappingError>> {
    let mut value = Value::Absent;
    decode_with(shapes, demand, bytes, options, true, &mut value)?;
    Ok(value)
}

/// As [`decode_reading`], into `into`, reusing the buffers of the value
/// there (a previous record's: its texts, records and lists are written
/// over, and whatever the new record lacks is reset, so nothing of it
/// remains). On failure `into` holds some value of no meaning, still
/// fit to be reused.
pub fn decode_reading_into(
    shapes: &Shapes,
    demand: &Demand,
    bytes: &[u8],
    options: DecodeOptions,
    into: &mut Value,
) -> Result<(), Vec<MappingError>> {
    decode_with(shapes, demand, bytes, options, true, into)
}

/// As [`decode_reading`], without the fast path: the reference the fast
/// path is tested against (`tests/differential.rs`, the fuzz targets).
pub fn decode_reading_slowly(
    shapes: &Shapes,
    demand: &Demand,
    bytes: &[u8],
    options: DecodeOptions,
) -> Result<Value, Vec<MappingError>> {
    let mut value = Value::Absent;
    decode_with(shapes, demand, bytes, options, false, &mut value)?;
    Ok(value)
}

fn decode_with(
    shapes: &Shapes,
    demand: &Demand,
    bytes: &[u8],
    options: DecodeOptions,
    fast: bool,
    into: &mut Value,
) -> Result<(), Vec<MappingError>> {
    let ctx = Ctx {
        shapes,
        options,
        errors: RefCell::new(Vec::new()),
        syntax_path: RefCell::new(None),
    };
    let root = Shape::Record(shapes.root);
    let seed = Seed {
        ctx: &ctx,
        shape: &root,
        optional: false,
        read: Some(demand),
        path: &Node::Root,
    };
    // Valid UTF-8 (nearly every event) is checked once, in one fast pass,
    // and read as text, which spares serde_json checking every string
    // again; other bytes are read as bytes, so serde_json reports where
    // the bad byte is, exactly as before.
    let result = match std::str::from_utf8(bytes) {
        Ok(text) => {
            // A record with nothing wrong in it is read by the fast path;
            // anything else is read again here, which reports it.
            if fast && fast::decode_into(&ctx, demand, text, into).is_some() {
                return Ok(());
            }
            ctx.errors.borrow_mut().clear();
            read_all(seed, serde_json::Deserializer::from_str(text))
        }
        Err(_) => read_all(seed, serde_json::Deserializer::from_slice(bytes)),
    };
    let mut errors = ctx.errors.into_inner();
    match result {
        Ok(value) if errors.is_empty() => {
            recycle::recycle(std::mem::replace(into, value));
            Ok(())
        }
        Ok(_) => Err(errors),
        Err(error) => {
            // A syntax error ends the record; what was found before it
            // stays reported.
            let path = ctx.syntax_path.into_inner().unwrap_or_else(|| "$".to_owned());
            errors.push(MappingError::input(path, syntax_message(&error)));
            Err(errors)
        }
    }
}

/// Decodes one value with `seed` and checks nothing follows it.
fn read_all<'de, R: serde_json::de::Read<'de>>(
    seed: Seed<'_, '_, '_>,
    mut deserializer: serde_json::Deserializer<R>,
) -> Result<Value, serde_json::Error> {
    let value = seed.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

fn syntax_message(error: &serde_json::Error) -> String {
    let what = match error.classify() {
        serde_json::error::Category::Eof => "the JSON ends too early",
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Io => "the input could not be read",
        serde_json::error::Category::Data => "bad JSON",
    };
    // serde_json's message carries its own "at line L column C"; the
    // column is what helps in a one-line record.
    let detail = error.to_string();
    let detail = detail.split(" at line ").next().unwrap_or(&detail);
    // serde_json's words for a lone UTF-16 surrogate do not say what is
    // wrong with the data.
    let detail = if detail.contains("hex escape") || detail.contains("surrogate") {
        format!("{detail} (a \\u escape that is not a valid character, such as half of a surrogate pair)")
    } else {
        detail.to_owned()
    };
    if error.line() > 1 {
        format!("{what} at line {}, column {}: {detail}", error.line(), error.column())
    } else {
        format!("{what} at column {}: {detail}", error.column())
    }
}

struct Ctx<'s> {
    shapes: &'s Shapes,
    options: DecodeOptions,
    errors: RefCell<Vec<MappingError>>,
    /// Where a syntax error happened: the innermost value being read.
    syntax_path: RefCell<Option<String>>,
}

impl Ctx<'_> {
    fn error(&self, path: &Node<'_>, message: impl Into<String>) {
        self.errors.borrow_mut().push(MappingError::input(path.text(), message));
    }
}

/// Reads one value of `shape` at `path`.
struct Seed<'c, 's, 'p> {
    ctx: &'c Ctx<'s>,
    shape: &'c Shape,
    optional: bool,
    /// What the mapping reads of this value; `None`: nothing, so it is
    /// validated and dropped (left absent) rather than built.
    read: Option<&'c Demand>,
    path: &'p Node<'p>,
}

impl Seed<'_, '_, '_> {
    fn describe(&self) -> String {
        match self.shape {
            Shape::Text { max_len: Some(n) } => format!("text of at most {n} characters"),
            Shape::Text { max_len: None } => "text".to_owned(),
            Shape::Currency => "a currency code such as \"EUR\"".to_owned(),
            Shape::Country => "a country code such as \"DE\"".to_owned(),
            Shape::Int => "a whole number".to_owned(),
            Shape::Decimal { .. } => "a decimal number".to_owned(),
            Shape::Bool => "true or false".to_owned(),
            Shape::Date => "a date such as \"2025-03-01\"".to_owned(),
            Shape::DateTime => "a date-time such as \"2025-03-01T10:00:00Z\"".to_owned(),
            Shape::Enum(index) => match self.ctx.shapes.enums.get(*index) {
                Some(def) => format!("one of {}", quoted_list(&def.variants)),
                None => "an enum variant".to_owned(),
            },
            Shape::Record(index) => match self.ctx.shapes.records.get(*index) {
                Some(record) => format!("an object ({})", record.name),
                None => "an object".to_owned(),
            },
            Shape::List(_) => "an array".to_owned(),
            Shape::Optional(inner) => Seed {
                ctx: self.ctx,
                shape: inner,
                optional: true,
                read: self.read,
                path: self.path,
            }
            .describe(),
        }
    }

    /// Records that a `found` JSON value is not what the shape wants.
    fn mismatch(&self, found: &str) -> Value {
        self.ctx
            .error(self.path, format!("expected {}, found {found}", self.describe()));
        Value::Absent
    }

    fn number(&self, text: &str) -> Value {
        match self.shape {
            Shape::Int => match text.parse::<i64>() {
                Ok(n) => Value::Int(n),
                Err(_) if text.contains(['.', 'e', 'E']) => self.mismatch(&format!("the number {text}")),
                Err(_) => {
                    self.ctx.error(
                        self.path,
                        format!("{text} is beyond the range of a 64-bit whole number"),
                    );
                    Value::Absent
                }
            },
            Shape::Decimal { .. } => {
                let parsed = if text.contains(['e', 'E']) {
                    Decimal::from_scientific(text).map_err(|_| "beyond the decimal range (28 significant digits)")
                } else {
                    number::parse(text, '.').map_err(|_| "beyond the decimal range (28 significant digits)")
                };
                match parsed {
                    Ok(value) => self.decimal(value, text),
                    Err(reason) => {
                        self.ctx.error(self.path, format!("{text} is {reason}"));
                        Value::Absent
                    }
                }
            }
            Shape::Optional(inner) => Seed {
                ctx: self.ctx,
                shape: inner,
                optional: true,
                read: self.read,
                path: self.path,
            }
            .number(text),
            _ => self.mismatch(&format!("the number {text}")),
        }
    }

    fn decimal(&self, value: Decimal, text: &str) -> Value {
        if let Shape::Decimal { precision, scale } = self.shape {
            if let Some(scale) = scale
                && !number::fits_scale(value, *scale)
            {
                self.ctx.error(
                    self.path,
                    format!(
                        "{text} has {} decimal places; the field takes {scale}",
                        value.normalize().scale()
                    ),
                );
                return Value::Absent;
            }
            if let Some(precision) = precision
                && number::check_precision(value, *precision, scale.unwrap_or(0)).is_err()
            {
                self.ctx.error(
                    self.path,
                    format!(
                        "{text} has more than {precision} digits; the field is Decimal({precision}, {})",
                        scale.unwrap_or(0)
                    ),
                );
                return Value::Absent;
            }
        }
        Value::Decimal(value)
    }

    fn text(&self, text: &str) -> Value {
        self.text_in(text, &mut None)
    }

    /// As [`Seed::text`], into `slot`: a text read where the previous
    /// record had a text whose buffer fits is written into that buffer in
    /// place, after the very checks [`Seed::text_in`] makes; anything
    /// else (another shape, a check that fails, no buffer) goes through
    /// [`Seed::text_in`], which takes the buffer when it can.
    fn text_into(&self, text: &str, slot: &mut Value) {
        if self.read.is_none() {
            // Read by nothing: a text that passes its checks leaves the
            // slot absent, as it was.
            if matches!(slot, Value::Absent) && self.plain_text(text) {
                return;
            }
        } else {
            match slot {
                Value::Text(buffer) if fits(buffer.capacity(), text.len()) && self.plain_text(text) => {
                    buffer.clear();
                    buffer.push_str(text);
                    return;
                }
                // A text where the previous record had none: a kept buffer.
                Value::Absent if self.plain_text(text) => {
                    *slot = Value::Text(recycle::text(text));
                    return;
                }
                // An enum's variant over the previous record's, its name
                // written into the old name's buffer.
                Value::Enum(variant, name) if fits(name.capacity(), text.len()) => {
                    if let Some(found) = self.variant(text) {
                        *variant = found;
                        name.clear();
                        name.push_str(text);
                        return;
                    }
                }
                _ => {}
            }
        }
        let mut reuse = match std::mem::take(slot) {
            Value::Text(buffer) => Some(buffer),
            other => {
                recycle::recycle(other);
                None
            }
        };
        *slot = self.text_in(text, &mut reuse);
        if let Some(unused) = reuse {
            recycle::recycle_text(unused);
        }
    }

    /// The variant `text` names, when this is an enum's shape and it
    /// names one.
    fn variant(&self, text: &str) -> Option<u32> {
        let mut shape = self.shape;
        while let Shape::Optional(inner) = shape {
            shape = inner;
        }
        match shape {
            Shape::Enum(index) => self.ctx.shapes.enums.get(*index)?.variant_named(text),
            _ => None,
        }
    }

    /// Whether `text` is kept as a text of this shape as it is: a text
    /// within its length, a currency or country code.
    fn plain_text(&self, text: &str) -> bool {
        let mut shape = self.shape;
        while let Shape::Optional(inner) = shape {
            shape = inner;
        }
        match shape {
            Shape::Text { max_len: None } => true,
            Shape::Text { max_len: Some(max) } => text::check_length(text, *max).is_ok(),
            Shape::Currency => is_code(text, 3),
            Shape::Country => is_code(text, 2),
            _ => false,
        }
    }

    /// As [`Seed::text`]; kept text goes into `reuse` when it holds a
    /// buffer (the previous record's text at this place), which is then
    /// taken.
    fn text_in(&self, text: &str, reuse: &mut Option<String>) -> Value {
        match self.shape {
            Shape::Text { max_len } => {
                if let Some(max) = max_len
                    && let Err(error) = text::check_length(text, *max)
                {
                    self.ctx
                        .error(self.path, error.to_string().replace("the target", "the field"));
                    return Value::Absent;
                }
                self.keep_text(text, reuse)
            }
            Shape::Currency | Shape::Country => {
                let (length, what) = if matches!(self.shape, Shape::Currency) {
                    (3, "an ISO 4217 currency code (three capital letters)")
                } else {
                    (2, "an ISO 3166-1 country code (two capital letters)")
                };
                if is_code(text, length) {
                    self.keep_text(text, reuse)
                } else {
                    self.ctx.error(self.path, format!("{} is not {what}", quote(text)));
                    Value::Absent
                }
            }
            Shape::Decimal { .. } => match number::parse(text, '.') {
                Ok(value) => self.decimal(value, text),
                Err(error) => {
                    self.ctx.error(self.path, error.to_string());
                    Value::Absent
                }
            },
            Shape::Date => match date::parse_date(text, None) {
                Ok(value) => Value::Date(value),
                Err(error) => {
                    self.ctx.error(self.path, error.to_string());
                    Value::Absent
                }
            },
            Shape::DateTime => match date::parse_datetime(text, None, None) {
                Ok(value) => Value::DateTime(value),
                Err(error) => {
                    self.ctx.error(self.path, error.to_string());
                    Value::Absent
                }
            },
            Shape::Enum(index) => {
                let Some(def) = self.ctx.shapes.enums.get(*index) else {
                    return self.mismatch("text");
                };
                match def.variant_named(text) {
                    Some(_) if self.read.is_none() => Value::Absent,
                    Some(variant) => Value::Enum(variant, recycle::text(text)),
                    None => {
                        let mut message = format!(
                            "{} is not a {}: expected one of {}",
                            quote(text),
                            def.name,
                            quoted_list(&def.variants)
                        );
                        if let Some(best) =
                            crate::resolve::suggest::closest(text, def.variants.iter().map(String::as_str))
                        {
                            message.push_str(&format!(" (did you mean \"{best}\"?)"));
                        }
                        self.ctx.error(self.path, message);
                        Value::Absent
                    }
                }
            }
            Shape::Optional(inner) => Seed {
                ctx: self.ctx,
                shape: inner,
                optional: true,
                read: self.read,
                path: self.path,
            }
            .text_in(text, reuse),
            _ => self.mismatch("text"),
        }
    }

    /// The record shape an object is read as (through `?`), if any.
    fn record_shape(&self) -> Option<&RecordShape> {
        match self.shape {
            Shape::Record(index) => self.ctx.shapes.records.get(*index),
            Shape::Optional(inner) => match inner.as_ref() {
                Shape::Record(index) => self.ctx.shapes.records.get(*index),
                _ => None,
            },
            _ => None,
        }
    }

    /// A record's slots, all absent; none when nothing reads the record
    /// (it is only validated).
    fn new_slots(&self, record: &RecordShape) -> Vec<Value> {
        match self.read {
            Some(_) => recycle::record(record.fields.len()),
            None => Vec::new(),
        }
    }

    /// Text that passed its checks, copied only when it is read (into
    /// `reuse`'s buffer when there is one).
    fn keep_text(&self, text: &str, reuse: &mut Option<String>) -> Value {
        match (self.read, reuse.take()) {
            (Some(_), Some(mut buffer)) if fits(buffer.capacity(), text.len()) => {
                buffer.clear();
                buffer.push_str(text);
                Value::Text(buffer)
            }
            // Too small: a kept buffer that fits, rather than growing this
            // one (which would allocate whenever a long text follows a
            // short one here). Far too big (a huge text's): given back,
            // so it is not held for the rest of the run.
            (Some(_), Some(buffer)) => {
                recycle::recycle_text(buffer);
                Value::Text(recycle::text(text))
            }
            (Some(_), None) => Value::Text(recycle::text(text)),
            (None, buffer) => {
                if let Some(buffer) = buffer {
                    recycle::recycle_text(buffer);
                }
                Value::Absent
            }
        }
    }

    fn record<'de, A: MapAccess<'de>>(
        &self,
        record: &RecordShape,
        first: Option<Key>,
        mut map: A,
    ) -> Result<Value, A::Error> {
        let mut slots = self.new_slots(record);
        let mut seen = Seen::new(record.fields.len());
        let mut key = first;
        let mut hint = 1;
        loop {
            let current = match key.take() {
                Some(current) => current,
                None => match map.next_key_seed(KeySeed {
                    record: Some(record),
                    hint,
                    strict: self.ctx.options.strict,
                })? {
                    Some(next) => next,
                    None => break,
                },
            };
            match current {
                Key::Field(index) => {
                    hint = index + 1;
                    let Some(field) = record.fields.get(index) else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    let node = Node::Key(self.path, &field.key);
                    if seen.get(index) {
                        self.ctx.error(&node, "the field appears twice");
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    seen.set(index);
                    let value = map
                        .next_value_seed(Seed {
                            ctx: self.ctx,
                            shape: &field.shape,
                            optional: field.optional,
                            read: self.read.and_then(|read| read.field(index as u32)),
                            path: &node,
                        })
                        .inspect_err(|_| self.note_syntax(&node))?;
                    if let Some(slot) = slots.get_mut(index) {
                        *slot = value;
                    }
                }
                Key::Unknown(name) | Key::Number(name) => {
                    if self.ctx.options.strict {
                        let node = Node::Key(self.path, &name);
                        let mut message = format!("{} has no field `{name}`", record.name);
                        if let Some(best) =
                            crate::resolve::suggest::closest(&name, record.fields.iter().map(|f| f.key.as_str()))
                        {
                            message.push_str(&format!(" (did you mean `{best}`?)"));
                        }
                        self.ctx.error(&node, message);
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for (index, field) in record.fields.iter().enumerate() {
            if !seen.get(index) && !field.optional {
                self.ctx.error(
                    &Node::Key(self.path, &field.key),
                    format!("missing required field `{}`", field.key),
                );
            }
        }
        Ok(match self.read {
            Some(_) => Value::Record(slots),
            None => Value::Absent,
        })
    }

    fn note_syntax(&self, node: &Node<'_>) {
        let mut slot = self.ctx.syntax_path.borrow_mut();
        if slot.is_none() {
            *slot = Some(node.text());
        }
    }
}

/// Which fields of a record were read: a bit mask for records of up to
/// 64 fields (every canonical record), so reading one allocates nothing
/// for it; a vector beyond.
enum Seen {
    Few(u64),
    Many(Vec<bool>),
}

impl Seen {
    fn new(fields: usize) -> Seen {
        if fields <= 64 {
            Seen::Few(0)
        } else {
            Seen::Many(vec![false; fields])
        }
    }

    fn get(&self, index: usize) -> bool {
        match self {
            Seen::Few(bits) => index < 64 && bits & (1 << index) != 0,
            Seen::Many(flags) => flags.get(index).copied().unwrap_or(false),
        }
    }

    fn set(&mut self, index: usize) {
        match self {
            Seen::Few(bits) => {
                if index < 64 {
                    *bits |= 1 << index;
                }
            }
            Seen::Many(flags) => {
                if let Some(flag) = flags.get_mut(index) {
                    *flag = true;
                }
            }
        }
    }
}

fn quote(text: &str) -> String {
    let shown: String = text.chars().take(60).collect();
    let ellipsis = if shown.len() < text.len() { "…" } else { "" };
    format!("{}{ellipsis}", serde_json::Value::String(shown))
}

fn quoted_list(items: &[String]) -> String {
    items.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, '_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        if self.optional || matches!(self.shape, Shape::Optional(_)) {
            Ok(Value::Absent)
        } else {
            self.ctx
                .error(self.path, format!("null where {} is required", self.describe()));
            Ok(Value::Absent)
        }
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(match self.shape {
            Shape::Bool => Value::Bool(value),
            Shape::Optional(inner) if matches!(inner.as_ref(), Shape::Bool) => Value::Bool(value),
            _ => self.mismatch(if value { "true" } else { "false" }),
        })
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(self.number(&value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(self.number(&value.to_string()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        // Not reached with arbitrary_precision; kept exact-or-error anyway.
        Ok(self.number(&value.to_string()))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(self.text(value))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let record = self.record_shape();
        let first = map.next_key_seed(KeySeed {
            record,
            hint: 0,
            strict: self.ctx.options.strict,
        })?;
        if let Some(Key::Number(token)) = &first
            && token == NUMBER_TOKEN
        {
            let text: String = map.next_value()?;
            return Ok(self.number(&text));
        }
        match record {
            Some(record) => self.record(record, first, map),
            None => {
                if first.is_some() {
                    map.next_value::<IgnoredAny>()?;
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                }
                Ok(self.mismatch("an object"))
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let element = match self.shape {
            Shape::List(element) => element.as_ref(),
            _ => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                return Ok(self.mismatch("an array"));
            }
        };
        // Elements are read as their list is (a list and its elements
        // share a demand); a list nothing reads is only validated.
        let keep = self.read.is_some();
        let mut items = if keep {
            recycle::list(seq.size_hint().unwrap_or(0).min(1024))
        } else {
            Vec::new()
        };
        let mut count = 0;
        loop {
            let node = Node::Index(self.path, count);
            let seed = Seed {
                ctx: self.ctx,
                shape: element,
                optional: matches!(element, Shape::Optional(_)),
                read: self.read,
                path: &node,
            };
            match seq.next_element_seed(seed).inspect_err(|_| {
                let mut slot = self.ctx.syntax_path.borrow_mut();
                if slot.is_none() {
                    *slot = Some(node.text());
                }
            })? {
                Some(value) => {
                    count += 1;
                    if keep {
                        items.push(value);
                    }
                }
                None => break,
            }
        }
        Ok(if keep { Value::List(items) } else { Value::Absent })
    }
}

/// An object key: a field of the record being read, serde_json's number
/// token, or a key the record does not have.
enum Key {
    Field(usize),
    Number(String),
    Unknown(String),
}

struct KeySeed<'r> {
    record: Option<&'r RecordShape>,
    /// The field the key most likely names (the one after the last read).
    hint: usize,
    /// Unknown keys are reported (so their names are kept).
    strict: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        if let Some(index) = self.record.and_then(|r| r.field_index_near(key, self.hint)) {
            return Ok(Key::Field(index));
        }
        if key == NUMBER_TOKEN {
            return Ok(Key::Number(key.to_owned()));
        }
        // Only strict mode reports an unknown key: otherwise its name is
        // not needed, and not copied.
        Ok(Key::Unknown(if self.strict { key.to_owned() } else { String::new() }))
    }
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn fields_read_are_remembered_in_small_and_large_records() {
        for fields in [1, 63, 64, 65, 200] {
            let mut seen = Seen::new(fields);
            assert!(matches!(seen, Seen::Few(_)) == (fields <= 64), "{fields} fields");
            for index in 0..fields {
                assert!(!seen.get(index), "{fields} fields: #{index} read before it was");
            }
            seen.set(0);
            seen.set(fields - 1);
            assert!(seen.get(0) && seen.get(fields - 1), "{fields} fields");
            let untouched = (1..fields - 1).filter(|i| seen.get(*i)).count();
            assert_eq!(untouched, 0, "{fields} fields: only the two set are read");
        }
    }
}
