//! The in-memory layout of [`Value`] that compiled code reads and writes
//! directly: the tag byte, where an `Int` and a `Bool` sit, and the size of
//! a value (the stride of a frame's slots).
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

/// Offsets compiled code uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `size_of::<Value>()`: the distance between two slots of a frame.
    pub size: u32,
    /// Where an `Int`'s `i64` lives.
    pub int_offset: u32,
    /// Where a `Bool`'s byte lives.
    pub bool_offset: u32,
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
    // they hold an `i64`), and only called where an `Int` keeps its `i64`.
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
        Ok(Layout {
            size: std::mem::size_of::<Value>() as u32,
            int_offset: payload as u32,
            bool_offset: payload as u32,
        })
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
    }
}
