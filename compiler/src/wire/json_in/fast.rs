//! The decoder's fast path: a schema-directed JSON reader for the common
//! case, a well-formed record with nothing wrong in it.
//!
//! It scans the text itself rather than through serde_json's visitor
//! protocol: keys are matched against the record's fields where they lie
//! in the input, strings without escapes are borrowed, fields the mapping
//! does not read are checked and skipped without being built. Leaves are
//! turned into values by the very functions the full decoder uses
//! ([`Seed::text`], [`Seed::number`], the visitor's `null` and booleans),
//! so every value and every limit is the same.
//!
//! It gives up, returning `None`, at the first thing that is not plainly
//! right: malformed JSON, a value of the wrong kind, a field twice, a
//! missing required field, an unknown field in strict mode, a lone
//! surrogate, nesting deeper than [`MAX_DEPTH`]. The full decoder then
//! reads the record again and reports every problem with its path,
//! exactly as it always has. So the fast path decides nothing on its own:
//! it either builds the value the full decoder would build, or defers.
//! `tests/differential.rs` and the `engines_agree` fuzz target hold it to
//! that.

use super::{Ctx, NUMBER_TOKEN, Node, Seed, Seen};
use crate::interp::recycle;
use crate::interp::value::Value;
use crate::mir::demand::Demand;
use crate::wire::json_special;
use crate::wire::shape::Shape;
use serde::de::Visitor;
use std::borrow::Cow;

/// Nesting beyond this is left to the full decoder (serde_json's own
/// limit is 128).
const MAX_DEPTH: u32 = 100;

/// The record of `text`, read into `into` (reusing the buffers of the
/// value there, the previous record's; see [`Reader::value`]), or `None`
/// when the full decoder must read it (`into` then holds some value, of no
/// meaning).
pub(super) fn decode_into(ctx: &Ctx<'_>, demand: &Demand, text: &str, into: &mut Value) -> Option<()> {
    let root = Shape::Record(ctx.shapes.root);
    let seed = Seed {
        ctx,
        shape: &root,
        optional: false,
        read: Some(demand),
        path: &Node::Root,
    };
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    reader.value(seed, into)?;
    reader.whitespace();
    if reader.pos != reader.bytes.len() || !ctx.errors.borrow().is_empty() {
        return None;
    }
    Some(())
}

/// Writes `value` to `slot`, giving the old value's buffers back.
fn set(slot: &mut Value, value: Value) {
    recycle::recycle(std::mem::replace(slot, value));
}

/// The values of the record or list a read puts at `slot`: those of the
/// one there when it `fits` (the previous record's), else of a new one
/// `make` gives; none, and `slot` reset, when nothing reads it (it is only
/// validated).
fn items_of(slot: &mut Value, read: bool, fits: bool, make: impl FnOnce() -> Value) -> Option<&mut Vec<Value>> {
    if !read {
        set(slot, Value::Absent);
        return None;
    }
    if !fits {
        set(slot, make());
    }
    match slot {
        Value::Record(items) | Value::List(items) => Some(items),
        _ => None,
    }
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The next byte after whitespace, consumed. Inlined: it is called
    /// three times per field.
    #[inline(always)]
    fn next_token(&mut self) -> Option<u8> {
        self.whitespace();
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(word.len())?;
        if self.bytes.get(self.pos..end)? == word {
            self.pos = end;
            Some(())
        } else {
            None
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// One value of `seed`'s shape, read into `slot`. Whatever `slot`
    /// held is overwritten or reset, never left: a text is copied into the
    /// old text's buffer, a record into the old record's slots (every field
    /// the new record lacks set absent), a list into the old list's
    /// elements (the extra ones given back); anything else replaces it.
    fn value(&mut self, seed: Seed<'_, '_, '_>, slot: &mut Value) -> Option<()> {
        self.whitespace();
        match self.peek()? {
            b'n' => {
                self.literal(b"null")?;
                set(slot, Visitor::visit_unit::<serde_json::Error>(seed).ok()?);
            }
            b't' => {
                self.literal(b"true")?;
                set(slot, Visitor::visit_bool::<serde_json::Error>(seed, true).ok()?);
            }
            b'f' => {
                self.literal(b"false")?;
                set(slot, Visitor::visit_bool::<serde_json::Error>(seed, false).ok()?);
            }
            b'"' => {
                let text = self.string()?;
                seed.text_into(&text, slot);
                give_back(text);
            }
            b'-' | b'0'..=b'9' => {
                let number = self.number()?;
                set(slot, seed.number(&number));
                give_back(number);
            }
            b'{' => self.object(seed, slot)?,
            b'[' => self.array(seed, slot)?,
            _ => return None,
        }
        Some(())
    }

    /// A string, at its opening quote: borrowed when it has no escapes.
    /// Inlined: returned through memory, the `Cow` was read back wider
    /// than it was written, which stalled every string on
    /// store-to-load forwarding (seen with `perf annotate`).
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.pos += 1;
        let start = self.pos;
        let at = start + json_special(self.bytes.get(start..)?)?;
        match self.bytes.get(at)? {
            b'"' => {
                self.pos = at + 1;
                // Quotes are ASCII: both ends are character boundaries.
                // (`split_at_checked` is inlined; `get` with a range was
                // an out-of-line call per string.)
                let (before, _) = self.text.split_at_checked(at)?;
                let (_, text) = before.split_at_checked(start)?;
                Some(Cow::Borrowed(text))
            }
            b'\\' => {
                // Of unknown length: the biggest kept buffer.
                let mut owned = recycle::string();
                owned.push_str(self.text.get(start..at)?);
                self.pos = at;
                self.escaped(&mut owned)?;
                Some(Cow::Owned(owned))
            }
            // A raw control character: malformed.
            _ => None,
        }
    }

    /// The rest of a string from its first escape, appended to `out`.
    fn escaped(&mut self, out: &mut String) -> Option<()> {
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(());
                }
                b'\\' => {
                    self.pos += 1;
                    let escape = self.peek()?;
                    self.pos += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            let scalar = match unit {
                                0xD800..=0xDBFF => {
                                    // A pair, or the full decoder's error.
                                    self.literal(b"\\u")?;
                                    let low = self.hex4()?;
                                    if !(0xDC00..=0xDFFF).contains(&low) {
                                        return None;
                                    }
                                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                                }
                                0xDC00..=0xDFFF => return None,
                                unit => unit,
                            };
                            out.push(char::from_u32(scalar)?);
                        }
                        _ => return None,
                    }
                }
                _ => {
                    let start = self.pos;
                    let run = json_special(self.bytes.get(start..)?)?;
                    if !matches!(self.bytes.get(start + run)?, b'"' | b'\\') {
                        return None;
                    }
                    out.push_str(self.text.get(start..start + run)?);
                    self.pos = start + run;
                }
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4)?;
        let mut value = 0;
        for digit in digits {
            value = value * 16 + char::from(*digit).to_digit(16)?;
        }
        self.pos += 4;
        Some(value)
    }

    /// A number's text as serde_json hands it over with
    /// `arbitrary_precision`: as written, but for an exponent, which is
    /// given as `e`, a sign (`+` when none is written) and its digits.
    fn number(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => {
                self.pos += 1;
                if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    return None;
                }
            }
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let before = self.pos;
            self.digits();
            if self.pos == before {
                return None;
            }
        }
        if !matches!(self.peek(), Some(b'e' | b'E')) {
            return self.text.get(start..self.pos).map(Cow::Borrowed);
        }
        let mut text = recycle::text(self.text.get(start..self.pos)?);
        self.pos += 1;
        text.push('e');
        match self.peek()? {
            b'-' => {
                self.pos += 1;
                text.push('-');
            }
            b'+' => {
                self.pos += 1;
                text.push('+');
            }
            _ => text.push('+'),
        }
        let before = self.pos;
        self.digits();
        if self.pos == before {
            return None;
        }
        text.push_str(self.text.get(before..self.pos)?);
        Some(Cow::Owned(text))
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// An object of `seed`'s record shape, at its `{`, into `slot`.
    fn object(&mut self, seed: Seed<'_, '_, '_>, slot: &mut Value) -> Option<()> {
        let ctx = seed.ctx;
        let record = seed.record_shape()?;
        self.enter()?;
        self.pos += 1;
        let read = seed.read;
        // The previous record's slots when it has as many, else new ones;
        // none when nothing reads the record (it is only validated).
        let fits = matches!(slot, Value::Record(slots) if slots.len() == record.fields.len());
        let mut slots = items_of(slot, read.is_some(), fits, || {
            Value::Record(recycle::record(record.fields.len()))
        });
        let mut unread = Value::Absent;
        let mut seen = Seen::new(record.fields.len());
        let mut hint = 0;
        self.whitespace();
        if self.peek()? == b'}' {
            self.pos += 1;
        } else {
            loop {
                if self.next_token()? != b'"' {
                    return None;
                }
                // A key written plainly is matched where it lies; any
                // other is read as a string and looked up.
                let (found, key) = match record.key_at(self.bytes.get(self.pos..)?, hint) {
                    Some((index, length)) => {
                        self.pos += length;
                        (Some(index), None)
                    }
                    None => {
                        self.pos -= 1;
                        let key = self.string()?;
                        if key == NUMBER_TOKEN {
                            return None;
                        }
                        (record.field_index_near(&key, hint), Some(key))
                    }
                };
                if self.next_token()? != b':' {
                    return None;
                }
                match found {
                    Some(index) => {
                        hint = index + 1;
                        if seen.get(index) {
                            return None;
                        }
                        seen.set(index);
                        let field = record.fields.get(index)?;
                        let target = match slots.as_deref_mut() {
                            Some(slots) => slots.get_mut(index)?,
                            None => &mut unread,
                        };
                        self.value(
                            Seed {
                                ctx,
                                shape: &field.shape,
                                optional: field.optional,
                                read: read.and_then(|read| read.field(index as u32)),
                                path: &Node::Root,
                            },
                            target,
                        )?;
                    }
                    None if ctx.options.strict => return None,
                    None => self.skip()?,
                }
                if let Some(key) = key {
                    give_back(key);
                }
                match self.next_token()? {
                    b',' => {}
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        let complete = record
            .fields
            .iter()
            .enumerate()
            .all(|(index, field)| field.optional || seen.get(index));
        if !complete {
            return None;
        }
        // The fields this record lacks lose the previous record's values.
        if let Some(slots) = slots {
            for (index, value) in slots.iter_mut().enumerate() {
                if !seen.get(index) {
                    set(value, Value::Absent);
                }
            }
        }
        recycle::recycle(unread);
        self.depth -= 1;
        Some(())
    }

    /// An array of `seed`'s list shape, at its `[`, into `slot`.
    fn array(&mut self, seed: Seed<'_, '_, '_>, slot: &mut Value) -> Option<()> {
        let Shape::List(element) = seed.shape else {
            return None;
        };
        self.enter()?;
        self.pos += 1;
        // The previous list's elements are read into; none when nothing
        // reads the list (it is only validated).
        let fits = matches!(slot, Value::List(_));
        let mut items = items_of(slot, seed.read.is_some(), fits, || Value::List(recycle::list(0)));
        let mut unread = Value::Absent;
        let mut count = 0;
        self.whitespace();
        if self.peek()? == b']' {
            self.pos += 1;
        } else {
            loop {
                let target = match items.as_deref_mut() {
                    Some(items) => {
                        if count == items.len() {
                            if items.len() == items.capacity() {
                                // Full: a kept buffer twice the size rather
                                // than growing this one.
                                let mut bigger = recycle::list((2 * items.len()).max(4));
                                bigger.append(items);
                                recycle::recycle_list(std::mem::replace(items, bigger));
                            }
                            items.push(Value::Absent);
                        }
                        items.get_mut(count)?
                    }
                    None => &mut unread,
                };
                self.value(
                    Seed {
                        ctx: seed.ctx,
                        shape: element,
                        optional: matches!(element.as_ref(), Shape::Optional(_)),
                        read: seed.read,
                        path: &Node::Root,
                    },
                    target,
                )?;
                count += 1;
                match self.next_token()? {
                    b',' => {}
                    b']' => break,
                    _ => return None,
                }
            }
        }
        // Elements beyond this list's length are the previous list's; a
        // buffer far bigger than this list (a huge list's) is swapped for
        // one that fits.
        if let Some(items) = items {
            if count < items.len() {
                for extra in items.drain(count..) {
                    recycle::recycle(extra);
                }
            }
            if !super::fits(items.capacity(), count) {
                let mut fitting = recycle::list(count);
                fitting.append(items);
                recycle::recycle_list(std::mem::replace(items, fitting));
            }
        }
        recycle::recycle(unread);
        self.depth -= 1;
        Some(())
    }

    /// Reads past any well-formed value.
    fn skip(&mut self) -> Option<()> {
        self.whitespace();
        match self.peek()? {
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'"' => self.string().map(give_back),
            b'-' | b'0'..=b'9' => self.number().map(give_back),
            open @ (b'{' | b'[') => {
                self.enter()?;
                self.pos += 1;
                let close = if open == b'{' { b'}' } else { b']' };
                self.whitespace();
                if self.peek()? == close {
                    self.pos += 1;
                } else {
                    loop {
                        if open == b'{' {
                            if self.next_token()? != b'"' {
                                return None;
                            }
                            self.pos -= 1;
                            give_back(self.string()?);
                            if self.next_token()? != b':' {
                                return None;
                            }
                        }
                        self.skip()?;
                        match self.next_token()? {
                            b',' => {}
                            byte if byte == close => break,
                            _ => return None,
                        }
                    }
                }
                self.depth -= 1;
                Some(())
            }
            _ => None,
        }
    }
}

/// A text the reader had to build (escapes, exponents) goes back to the
/// kept buffers once it is read.
fn give_back(text: Cow<'_, str>) {
    if let Cow::Owned(text) = text {
        recycle::recycle_text(text);
    }
}
