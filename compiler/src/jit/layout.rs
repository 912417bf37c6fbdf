//! The in-memory layout of [`Value`] that compiled code reads and writes
//! directly: the tag byte, where an `Int` and a `Bool` sit, the size of a
//! value (the stride of a frame's slots and of a record's fields), and
//! where a record's or a list's `Vec` keeps its buffer pointer and length
//! (so a field is read at a fixed offset, without a call).
//!
//! `Value` is `repr(C, u8)`, so Rust guarantees the tag at offset 0 and the
//! variant's fields after it; the exact payload offsets are measured here
//! from real values rather than assumed, and [`Layout::measure`] refuses to
//! hand out a layout that does not match what the generated code expects.

use crate::interp::value::Value;

/// Tag of [`Value::Absent`].
pub const TAG_ABSENT: u8 = 0;
/// Tag of [`Value::Int`].
pub const TAG_INT: u8 = 1;
/// Tag of [`Value::Bool`].
pub const TAG_BOOL: u8 = 3;
/// Tag of [`Value::Record`].
pub const TAG_RECORD: u8 = 8;
/// Tag of [`Value::List`].
pub const TAG_LIST: u8 = 9;

/// Offsets compiled code uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `size_of::<Value>()`: the distance between two slots of a frame.
    pub size: u32,
    /// Where an `Int`'s `i64` lives.
    pub int_offset: u32,
    /// Where a `Bool`'s byte lives.
    pub bool_offset: u32,
    /// Where a `Record`'s or a `List`'s `Vec` keeps the address of its
    /// first element.
    pub vec_ptr_offset: u32,
    /// Where that `Vec` keeps its length.
    pub vec_len_offset: u32,
}

/// The byte at `offset` of `value`.
fn byte_at(value: &Value, offset: usize) -> Option<u8> {
    if offset >= std::mem::size_of::<Value>() {
        return None;
    }
    // SAFETY: `offset` is inside the value, and callers only ask for bytes
    // the layout rules make initialised (the tag, a `Bool`'s byte).
    #[allow(unsafe_code)]
    Some(unsafe { (value as *const Value as *const u8).add(offset).read() })
}

/// The `i64` at `offset` of `value`.
fn i64_at(value: &Value, offset: usize) -> Option<i64> {
    if offset + 8 > std::mem::size_of::<Value>() || !offset.is_multiple_of(8) {
        return None;
    }
    // SAFETY: in bounds and 8-aligned (values are at least 8-aligned, as
    // they hold an `i64`), and only called where an `Int` keeps its `i64`
    // or where a `Record` or `List` keeps its `Vec`, whose three words (an
    // address, a capacity, a length) are all initialised integers.
    #[allow(unsafe_code)]
    Some(unsafe { (value as *const Value as *const u8).add(offset).cast::<i64>().read() })
}

impl Layout {
    /// The layout of [`Value`] on this build, from the `repr(C, u8)` rules
    /// (tag byte at 0; every variant's fields in a `repr(C)` union placed at
    /// the union's alignment, which is the value's alignment), checked on
    /// real values.
    pub fn measure() -> Result<Layout, String> {
        let payload = std::mem::align_of::<Value>();
        let expected = [
            (Value::Absent, TAG_ABSENT),
            (Value::Int(7), TAG_INT),
            (Value::Bool(true), TAG_BOOL),
        ];
        for (value, want) in &expected {
            if byte_at(value, 0) != Some(*want) {
                return Err(format!("the tag of {value:?} is {:?}, not {want}", byte_at(value, 0)));
            }
        }
        let x = 0x0102_0304_0506_0708_i64;
        if i64_at(&Value::Int(x), payload) != Some(x) || i64_at(&Value::Int(-1), payload) != Some(-1) {
            return Err(format!("an Int's value is not at offset {payload}"));
        }
        if byte_at(&Value::Bool(true), payload) != Some(1) || byte_at(&Value::Bool(false), payload) != Some(0) {
            return Err(format!("a Bool's value is not at offset {payload}"));
        }
        let (vec_ptr_offset, vec_len_offset) = Self::measure_vec(payload)?;
        Ok(Layout {
            size: std::mem::size_of::<Value>() as u32,
            int_offset: payload as u32,
            bool_offset: payload as u32,
            vec_ptr_offset,
            vec_len_offset,
        })
    }

    /// Where the `Vec` of a record and of a list keeps its buffer and its
    /// length. Rust does not fix the order of a `Vec`'s words, so they are
    /// found on real values: the one word holding the buffer's address and
    /// the one holding the length (the capacity is made larger than the
    /// length, so the two cannot be confused), the same in a record and in
    /// a list, and the same again for a second pair of values.
    fn measure_vec(payload: usize) -> Result<(u32, u32), String> {
        let words = std::mem::size_of::<Vec<Value>>() / 8;
        let find = |value: &Value, items: &[Value], want_ptr: bool| -> Vec<usize> {
            let target = if want_ptr {
                items.as_ptr() as usize as i64
            } else {
                items.len() as i64
            };
            (0..words)
                .map(|word| payload + word * 8)
                .filter(|offset| i64_at(value, *offset) == Some(target))
                .collect()
        };
        let mut found = None;
        for length in [3usize, 5] {
            let items = || {
                let mut items = Vec::with_capacity(length * 4 + 1);
                items.extend((0..length).map(|n| Value::Int(n as i64)));
                items
            };
            let (record, list) = (Value::Record(items()), Value::List(items()));
            for value in [&record, &list] {
                let (Value::Record(items) | Value::List(items)) = value else {
                    return Err("a record or list is not itself".to_owned());
                };
                if items.capacity() == items.len() {
                    return Err("a Vec's capacity could not be told from its length".to_owned());
                }
                let (ptr, len) = (find(value, items, true), find(value, items, false));
                let (&[ptr], &[len]) = (ptr.as_slice(), len.as_slice()) else {
                    return Err(format!(
                        "a Vec's address and length are not each in one word (address at {ptr:?}, length at {len:?})"
                    ));
                };
                if *found.get_or_insert((ptr, len)) != (ptr, len) {
                    return Err("a Vec's words are not in the same places in every value".to_owned());
                }
            }
        }
        let (ptr, len) = found.ok_or("no Vec was measured")?;
        Ok((ptr as u32, len as u32))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic
    use super::*;

    #[test]
    fn the_layout_is_the_one_compiled_code_expects() {
        let layout = Layout::measure().unwrap();
        // repr(C, u8): the tag byte, then the payload at its alignment.
        assert_eq!(layout.int_offset, 8);
        assert_eq!(layout.bool_offset, 8);
        assert_eq!(layout.size as usize, std::mem::size_of::<Value>());
        // The Vec's words lie inside the value, after the tag, apart.
        for offset in [layout.vec_ptr_offset, layout.vec_len_offset] {
            assert!(
                offset >= 8 && offset as usize + 8 <= std::mem::size_of::<Value>(),
                "{layout:?}"
            );
        }
        assert_ne!(layout.vec_ptr_offset, layout.vec_len_offset);
    }

    #[test]
    fn a_field_is_where_the_layout_says() {
        let layout = Layout::measure().unwrap();
        let record = Value::Record(vec![Value::Int(10), Value::Int(11), Value::Int(12)]);
        let base = &record as *const Value as usize;
        let buffer = i64_at(&record, layout.vec_ptr_offset as usize).unwrap() as usize;
        let len = i64_at(&record, layout.vec_len_offset as usize).unwrap();
        assert_eq!(len, 3);
        let Value::Record(slots) = &record else { unreachable!() };
        assert_eq!(buffer, slots.as_ptr() as usize);
        assert_eq!(buffer + 2 * layout.size as usize, &slots[2] as *const Value as usize);
        assert_ne!(buffer, base);
    }
}
