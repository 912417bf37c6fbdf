//! The buffers of finished values, kept per thread for the next record, so
//! that mapping a stream of records allocates nothing once it has run for
//! a while (the steady state).
//!
//! A record's values are built from here (the decoder's texts, records and
//! lists; the compiled code's copies, output records and loops; the text
//! builtins' results) and go back here when the record is done
//! ([`recycle`]): texts are emptied and kept with their capacity, records
//! and lists are emptied (their values recycled first) and kept likewise.
//! What is handed out is always empty, so nothing of one record can show
//! in the next.
//!
//! Each thread keeps at most [`TEXT_BUDGET`] bytes of text buffers and
//! [`LIST_BUDGET`] values' room of record and list buffers; a buffer beyond
//! the budget, or bigger than a single budget share, is freed as usual, so
//! one huge record does not pin its memory for the rest of the run. A
//! buffer taken here that turns out too small grows as any `String` or
//! `Vec` does; each such growth makes the buffer bigger for good, so a
//! stream of records of bounded size stops growing buffers after a while.
//!
//! Nothing here is needed for correctness: a value dropped instead of
//! recycled, or built without this module, only costs an allocation.
//! `MAPWRIGHT_RECYCLE=0` turns the keeping off (every buffer is allocated
//! and freed as usual): the memcheck runs in `.ci/run` use it, so that a
//! pointer compiled code kept into a value that was given back is a
//! use-after-free valgrind reports, not a quiet read of another record's
//! value.

use super::value::Value;
use std::cell::RefCell;

/// Bytes of text buffers a thread keeps.
pub const TEXT_BUDGET: usize = 1 << 20;
/// Values' room of record and list buffers a thread keeps.
pub const LIST_BUDGET: usize = 1 << 15;
/// The room a text buffer made here starts with (and the room of the
/// smallest size class): most field values fit.
const TEXT_START: usize = 32;
/// No single kept buffer may hold more than this share of its budget.
const LARGEST_SHARE: usize = 16;
/// Size classes: class `k` holds buffers with room for at least
/// `unit * 2^k` (the last class, anything larger).
const CLASSES: usize = 8;

/// Kept buffers of one kind, by size class, so a request takes a buffer
/// big enough for it whenever one is kept (a buffer that had to grow once
/// serves the big values from then on, instead of growing again).
struct Classes<T> {
    by_room: [Vec<T>; CLASSES],
    /// The room of the smallest class, as a power of two (shifts, not
    /// divisions, on the hot path).
    unit_shift: u32,
    /// The room kept, and the most that may be.
    room: usize,
    budget: usize,
}

/// How much room a kept buffer has, and how it is emptied.
trait Buffer {
    fn room(&self) -> usize;
}

impl Buffer for String {
    fn room(&self) -> usize {
        self.capacity()
    }
}

impl Buffer for Vec<Value> {
    fn room(&self) -> usize {
        self.capacity()
    }
}

impl<T: Buffer> Classes<T> {
    /// Classes from `unit` (a power of two) up, keeping at most `budget`.
    const fn new(unit: usize, budget: usize) -> Classes<T> {
        Classes {
            by_room: [const { Vec::new() }; CLASSES],
            unit_shift: unit.trailing_zeros(),
            room: 0,
            budget,
        }
    }

    /// The class a buffer with `room` goes to.
    fn class_of(&self, room: usize) -> usize {
        (room >> self.unit_shift)
            .checked_ilog2()
            .map_or(0, |class| (class as usize).min(CLASSES - 1))
    }

    /// Keeps an emptied buffer, unless it is too big or the budget is spent.
    fn keep(&mut self, buffer: T) {
        let room = buffer.room();
        if room == 0 || room > self.budget / LARGEST_SHARE || self.room + room > self.budget {
            return;
        }
        let class = self.class_of(room);
        self.room += room;
        self.by_room[class].push(buffer);
    }

    /// The smallest class all of whose buffers have room for `need` (the
    /// last class when none has: its buffers are checked one by one).
    fn class_for(&self, need: usize) -> usize {
        let units = (need >> self.unit_shift) + usize::from(need & ((1 << self.unit_shift) - 1) != 0);
        (units.next_power_of_two().trailing_zeros() as usize).min(CLASSES - 1)
    }

    /// The room a new buffer for `need` gets: its class's, so that it can
    /// serve any later request of that class.
    fn room_for(&self, need: usize) -> usize {
        let class = self.class_for(need);
        if class + 1 < CLASSES {
            1 << (self.unit_shift as usize + class)
        } else {
            need
        }
    }

    /// A kept buffer with room for `need`, if there is one: the newest of
    /// the smallest class that surely fits, else of a bigger class. (A
    /// buffer made here has its class's room, so a class below never
    /// fits.)
    fn take(&mut self, need: usize) -> Option<T> {
        let first = self.class_for(need);
        let bin = self.by_room[first..]
            .iter_mut()
            .find(|bin| bin.last().is_some_and(|buffer| buffer.room() >= need))?;
        let buffer = bin.pop()?;
        self.room -= buffer.room();
        Some(buffer)
    }

    /// The biggest kept buffer (for a value of unknown size, which will
    /// grow: taking the biggest makes growing rare).
    fn take_biggest(&mut self) -> Option<T> {
        let buffer = self.by_room.iter_mut().rev().find_map(Vec::pop)?;
        self.room -= buffer.room();
        Some(buffer)
    }

    fn len(&self) -> usize {
        self.by_room.iter().map(Vec::len).sum()
    }
}

/// One thread's kept buffers.
struct Bins {
    texts: Classes<String>,
    lists: Classes<Vec<Value>>,
}

thread_local! {
    static BINS: RefCell<Bins> = const {
        RefCell::new(Bins {
            texts: Classes::new(TEXT_START, TEXT_BUDGET),
            lists: Classes::new(1, LIST_BUDGET),
        })
    };
}

impl Bins {
    fn keep_text(&mut self, mut text: String) {
        text.clear();
        self.texts.keep(text);
    }

    fn keep_list(&mut self, mut items: Vec<Value>) {
        for item in items.drain(..) {
            self.keep(item);
        }
        self.lists.keep(items);
    }

    fn keep(&mut self, value: Value) {
        match value {
            Value::Text(text) | Value::Enum(_, text) => self.keep_text(text),
            Value::Record(items) | Value::List(items) => self.keep_list(items),
            Value::Absent
            | Value::Int(_)
            | Value::Decimal(_)
            | Value::Bool(_)
            | Value::Date(_)
            | Value::DateTime(_) => {}
        }
    }
}

/// Whether buffers are kept: unless `MAPWRIGHT_RECYCLE` is `0` (read once).
pub fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("MAPWRIGHT_RECYCLE").is_none_or(|value| value != "0"))
}

/// Runs `f` on this thread's bins, unless keeping is off, or they are in
/// use or gone (while the thread ends): then `None`.
fn with_bins<T>(f: impl FnOnce(&mut Bins) -> T) -> Option<T> {
    if !enabled() {
        return None;
    }
    BINS.try_with(|bins| bins.try_borrow_mut().ok().map(|mut bins| f(&mut bins)))
        .ok()
        .flatten()
}

/// An empty text buffer with room for at least `room` bytes.
pub fn string_with_room(room: usize) -> String {
    with_bins(|bins| bins.texts.take(room).ok_or_else(|| bins.texts.room_for(room)))
        .unwrap_or(Err(room))
        .unwrap_or_else(|room| String::with_capacity(room.max(TEXT_START)))
}

/// An empty text buffer, for text of a length not known beforehand: one
/// of the second class (which most such texts fit) or bigger, else the
/// biggest kept.
pub fn string() -> String {
    with_bins(|bins| bins.texts.take(2 * TEXT_START).or_else(|| bins.texts.take_biggest()))
        .flatten()
        .unwrap_or_else(|| String::with_capacity(2 * TEXT_START))
}

/// A copy of `text` in a kept buffer.
pub fn text(text: &str) -> String {
    let mut out = string_with_room(text.len());
    out.push_str(text);
    out
}

/// An empty record or list buffer with room for at least `room` values;
/// for a list of unknown length (`room` 0), the biggest kept.
pub fn list(room: usize) -> Vec<Value> {
    with_bins(|bins| {
        if room == 0 {
            bins.lists.take_biggest().ok_or(0)
        } else {
            bins.lists.take(room).ok_or_else(|| bins.lists.room_for(room))
        }
    })
    .unwrap_or(Err(room))
    .unwrap_or_else(Vec::with_capacity)
}

/// A record of `slots` absent fields.
pub fn record(slots: usize) -> Vec<Value> {
    let mut items = list(slots);
    items.resize_with(slots, Value::default);
    items
}

/// A deep copy of `value` built from kept buffers (`Clone`, without the
/// allocations).
pub fn copy(value: &Value) -> Value {
    match value {
        Value::Text(text) => Value::Text(self::text(text)),
        Value::Enum(index, name) => Value::Enum(*index, self::text(name)),
        Value::Record(items) => Value::Record(copy_all(items)),
        Value::List(items) => Value::List(copy_all(items)),
        Value::Absent => Value::Absent,
        Value::Int(n) => Value::Int(*n),
        Value::Decimal(d) => Value::Decimal(*d),
        Value::Bool(b) => Value::Bool(*b),
        Value::Date(date) => Value::Date(*date),
        Value::DateTime(at) => Value::DateTime(*at),
    }
}

fn copy_all(items: &[Value]) -> Vec<Value> {
    let mut out = list(items.len());
    out.extend(items.iter().map(copy));
    out
}

/// Gives `value`'s buffers back for later records (or frees them, beyond
/// the budget).
#[inline]
pub fn recycle(value: Value) {
    if matches!(
        value,
        Value::Text(_) | Value::Enum(..) | Value::Record(_) | Value::List(_)
    ) {
        with_bins(|bins| bins.keep(value));
    } else {
        // Owns no buffer: nothing to keep, and no drop glue to call (it is
        // an out-of-line call, and most values given back are these).
        std::mem::forget(value);
    }
}

/// Gives a buffer of values (and the values' own buffers) back.
pub fn recycle_list(items: Vec<Value>) {
    with_bins(|bins| bins.keep_list(items));
}

/// Gives a text buffer back.
pub fn recycle_text(text: String) {
    with_bins(|bins| bins.keep_text(text));
}

/// What this thread keeps: text buffers and their bytes, list buffers and
/// their room (for tests and diagnostics).
pub fn kept() -> (usize, usize, usize, usize) {
    with_bins(|bins| (bins.texts.len(), bins.texts.room, bins.lists.len(), bins.lists.room)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_keep_their_room() {
        let value = Value::Record(vec![
            Value::Text("a long enough text to need its own room".to_owned()),
            Value::List(vec![Value::Int(1), Value::Enum(0, "standard".to_owned())]),
        ]);
        let before = kept();
        recycle(value);
        let after = kept();
        assert_eq!(after.0, before.0 + 2, "two texts kept");
        assert_eq!(after.2, before.2 + 2, "a record and a list kept");
        let text = string();
        assert!(text.is_empty());
        assert!(text.capacity() >= 8);
        let items = list(0);
        assert!(items.is_empty());
        assert!(items.capacity() >= 2);
    }

    #[test]
    fn a_copy_equals_its_original() {
        let value = Value::List(vec![
            Value::Record(vec![Value::Text("x".to_owned()), Value::Absent, Value::Bool(true)]),
            Value::Decimal(rust_decimal::Decimal::new(12345, 2)),
        ]);
        recycle(Value::Text("left over from an earlier record".to_owned()));
        assert_eq!(copy(&value), value);
    }

    #[test]
    fn a_request_takes_a_buffer_big_enough_when_one_is_kept() {
        let big = String::with_capacity(1024);
        let big_address = big.as_ptr();
        recycle_text(big);
        for _ in 0..5 {
            recycle_text(String::with_capacity(40));
        }
        let text = text(&"x".repeat(900));
        assert_eq!(
            text.as_ptr(),
            big_address,
            "the 1000-byte buffer, not a 40-byte one grown"
        );
        let small = string_with_room(10);
        assert!(small.capacity() < 1000);
    }

    #[test]
    fn size_classes_are_the_powers_of_two_above_the_unit() {
        let texts: Classes<String> = Classes::new(32, TEXT_BUDGET);
        for room in [0, 1, 31, 32, 33, 63, 64, 65, 100, 4095, 4096, 4097, 1 << 20] {
            let class = texts.class_of(room);
            assert!(class == 0 || 32 << class <= room, "{room} in class {class}");
            assert!(
                class == CLASSES - 1 || 32 << (class + 1) > room,
                "{room} in class {class}"
            );
        }
        for need in [0, 1, 32, 33, 64, 65, 4096, 4097, 100_000] {
            let class = texts.class_for(need);
            assert!(
                class == CLASSES - 1 || 32 << class >= need,
                "{need} needs class {class}"
            );
            assert!(class == 0 || 32 << (class - 1) < need, "{need} needs class {class}");
            assert!(texts.room_for(need) >= need);
        }
    }

    #[test]
    fn the_budget_bounds_what_is_kept() {
        let huge = String::with_capacity(TEXT_BUDGET);
        let before = kept();
        recycle(Value::Text(huge));
        assert_eq!(kept(), before, "a buffer bigger than a share is freed");
        for _ in 0..(2 * TEXT_BUDGET / 1024) {
            recycle_text(String::with_capacity(1024));
        }
        assert!(kept().1 <= TEXT_BUDGET);
    }
}
