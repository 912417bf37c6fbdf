//! What compiled code calls: the run context ([`Rt`]), frames, the fold
//! states of loops, and the `extern "C"` helpers.
//!
//! Every helper takes and returns machine words only (pointers and
//! `usize`s), so one Cranelift signature per arity describes them all. A
//! helper that can fail returns a status ([`OK`], [`FAILED`]) or a null
//! pointer, after storing the [`EvalError`] in the context; compiled code
//! then jumps to its exit and returns [`FAILED`] itself. Helpers never
//! unwind into compiled code: each runs its body under `catch_unwind` and
//! turns a panic into an internal error.
//!
//! The arithmetic, text, date and comparison work is not here: helpers
//! unpack their arguments and call the very functions the interpreter uses
//! (`interp::apply`, `interp::check_value`, `interp::compare`, [`Tables`]),
//! so both engines agree at every limit.
#![allow(unsafe_code)]

use super::Compiled;
use crate::interp::recycle;
use crate::interp::value::Value;
use crate::interp::{
    Binary, BuiltinId, EvalError, KeyText, Tables, apply, builtin_by, check_value, compare, ops, sort_by_key,
};
use crate::mir::Op;
use crate::types::RecordId;
use crate::wire::json_out::{self, Field};
use crate::wire::shape::Shapes;
use rust_decimal::Decimal;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A helper or a compiled body succeeded.
pub const OK: usize = 0;
/// It failed; the error is in the context.
pub const FAILED: usize = 1;
/// A fold step says the loop is decided (`any`, `all`, `first`).
pub const STOP: usize = 2;

/// The entry of a compiled body: `(rt, slots, folds, out) -> status`.
pub type BodyFn = unsafe extern "C" fn(*const Rt<'_>, *mut Value, *mut FoldState, *mut Value) -> usize;

use crate::interp::MAX_CALL_DEPTH;

/// One run's context, shared by every body the run enters.
///
/// `repr(C)`: compiled code loads [`Rt::params`] from offset 0 and
/// [`Rt::params_len`] from offset 8.
#[repr(C)]
pub struct Rt<'a> {
    /// The instance's params, in the module's order (read by compiled code
    /// at `params + index * size_of::<Value>()`).
    pub params: *const Value,
    /// How many params have values: while defaults are evaluated, only the
    /// earlier ones. Compiled code checks every param read against it.
    pub params_len: usize,
    /// The compiled module.
    pub compiled: &'a Compiled,
    /// The tenant's tables.
    pub tables: &'a Tables,
    /// Why the run failed, set by the helper that failed.
    pub error: RefCell<Option<EvalError>>,
    /// How deep `fn` calls are nested.
    pub depth: Cell<u32>,
    /// Where a body compiled to write its output directly writes it
    /// (none for a run that builds the output value).
    pub sink: RefCell<Option<Sink<'a>>>,
}

/// The output of a run that writes JSON directly: the record shapes, the
/// caller's buffer (where the root record goes), and one buffer per list
/// being written (its elements go there, to be written into their record
/// when it ends).
pub struct Sink<'a> {
    shapes: &'a Shapes,
    out: &'a mut Vec<u8>,
    /// Lists being written, innermost last: the buffer and whether an
    /// element is in it already.
    open: Vec<(usize, bool)>,
    /// Element buffers; the first `used` belong to this run.
    buffers: Vec<Vec<u8>>,
    used: usize,
}

/// How many element buffers a thread keeps between runs.
pub const SINK_KEPT: usize = 64;
/// The most room a kept element buffer may have.
pub const SINK_ROOM: usize = 1 << 20;

/// A sink's buffers, kept per thread between runs (emptied, with their
/// room): the list stack and the element buffers.
type SinkBuffers = (Vec<(usize, bool)>, Vec<Vec<u8>>);

thread_local! {
    static SINK_BUFFERS: RefCell<SinkBuffers> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl<'a> Sink<'a> {
    /// A sink writing the root record to `out`, with this thread's kept
    /// buffers.
    pub fn new(shapes: &'a Shapes, out: &'a mut Vec<u8>) -> Sink<'a> {
        let (open, buffers) = SINK_BUFFERS
            .try_with(|kept| {
                kept.try_borrow_mut()
                    .map(|mut kept| std::mem::take(&mut *kept))
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        Sink {
            shapes,
            out,
            open,
            buffers,
            used: 0,
        }
    }

    /// Gives the buffers back to the thread, emptied: at most
    /// [`SINK_KEPT`] of them, none bigger than [`SINK_ROOM`], so one huge
    /// record does not pin its memory for the rest of the run.
    pub fn finish(self) {
        let (mut open, mut buffers) = (self.open, self.buffers);
        open.clear();
        buffers.truncate(SINK_KEPT);
        buffers.retain(|buffer| buffer.capacity() <= SINK_ROOM);
        for buffer in &mut buffers {
            buffer.clear();
        }
        let _ = SINK_BUFFERS.try_with(|kept| {
            if let Ok(mut kept) = kept.try_borrow_mut() {
                *kept = (open, buffers);
            }
        });
    }
}

impl Rt<'_> {
    fn fail(&self, error: EvalError) -> usize {
        *self.error.borrow_mut() = Some(error);
        FAILED
    }

    fn internal(&self, message: impl Into<String>) -> usize {
        self.fail(EvalError::Internal(message.into()))
    }
}

/// What a loop has gathered so far, one per loop of a body.
#[derive(Debug, Default)]
pub enum FoldState {
    /// Not in a loop.
    #[default]
    Idle,
    /// `for` and `where`: the values or elements kept.
    Collect(Vec<Value>),
    /// `sum`: the total so far (none before the first element).
    Sum(Option<Value>, bool),
    /// `count`.
    Count(i64),
    /// `any`, `all`, `first`: decided with this value.
    Decided(Value),
    /// `any`, `all`, `first`: still open.
    Open(u8),
    /// `last`: the last element that held.
    Last(Option<Value>),
    /// `min`/`max`: the best so far; `true` for `min`.
    Best(Option<Value>, bool),
    /// `sort_by`: key and element.
    Sort(Vec<(Value, Value)>),
    /// `distinct_by`: keys seen, elements kept.
    Distinct(HashSet<KeyText>, Vec<Value>),
    /// `group_by`: the groups in order of first sight (records of key and
    /// members, as the fold gives them) and each key's group.
    Group(Vec<Value>, HashMap<KeyText, usize>),
}

/// The tables and row buffers of `sort_by`, `distinct_by` and `group_by`
/// folds that ended, kept per thread (emptied, with their room) for the
/// next fold, as [`recycle`] keeps values' buffers.
struct Spares {
    rows: Vec<Vec<(Value, Value)>>,
    sets: Vec<HashSet<KeyText>>,
    maps: Vec<HashMap<KeyText, usize>>,
}

/// How many of each kind a thread keeps.
const SPARES: usize = 16;

thread_local! {
    static SPARE: RefCell<Spares> = const {
        RefCell::new(Spares {
            rows: Vec::new(),
            sets: Vec::new(),
            maps: Vec::new(),
        })
    };
}

impl Spares {
    /// Keeps `spare` (empty) in the list `kind` picks, unless it is full.
    fn keep<T>(&mut self, kind: impl FnOnce(&mut Spares) -> &mut Vec<T>, spare: T) {
        let kept = kind(self);
        if kept.len() < SPARES {
            kept.push(spare);
        }
    }
}

/// Runs `f` on this thread's spares, unless they are in use or gone.
fn with_spares<T>(f: impl FnOnce(&mut Spares) -> T) -> Option<T> {
    SPARE
        .try_with(|spares| spares.try_borrow_mut().ok().map(|mut spares| f(&mut spares)))
        .ok()
        .flatten()
}

/// Gives the texts of a fold's keys back.
fn give_keys(keys: impl Iterator<Item = KeyText>) {
    for key in keys {
        key.recycle();
    }
}

/// Fold codes compiled code passes to [`mw_fold_begin`].
pub mod fold {
    /// `for`.
    pub const COLLECT: usize = 0;
    /// `where`.
    pub const FILTER: usize = 1;
    /// `sum` over integers.
    pub const SUM_INT: usize = 2;
    /// `sum` over decimals.
    pub const SUM_DEC: usize = 3;
    /// `count`.
    pub const COUNT: usize = 4;
    /// `any`.
    pub const ANY: usize = 5;
    /// `all`.
    pub const ALL: usize = 6;
    /// `first`.
    pub const FIRST: usize = 7;
    /// `last`.
    pub const LAST: usize = 8;
    /// `min`.
    pub const MIN: usize = 9;
    /// `max`.
    pub const MAX: usize = 10;
    /// `sort_by`.
    pub const SORT_BY: usize = 11;
    /// `distinct_by`.
    pub const DISTINCT_BY: usize = 12;
    /// `group_by`.
    pub const GROUP_BY: usize = 13;
}

/// A body's slots and fold states, reused across calls on one thread.
#[derive(Default)]
struct Frame {
    slots: Vec<Value>,
    folds: Vec<FoldState>,
}

thread_local! {
    /// Frames not in use. A call takes one (its buffers keep their heap
    /// addresses while compiled code points into them) and gives it back
    /// emptied, so the steady state allocates no frames.
    static POOL: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

fn take_frame() -> Frame {
    POOL.with(|pool| pool.try_borrow_mut().ok().and_then(|mut pool| pool.pop()))
        .unwrap_or_default()
}

fn give_frame(mut frame: Frame) {
    // The slots' values are the record's temporaries: their buffers are
    // kept for the next record. The slots stay, absent, so the next call
    // of a body of as many finds them ready.
    for value in &mut frame.slots {
        recycle::recycle(std::mem::take(value));
    }
    frame.folds.clear();
    POOL.with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut()
            && pool.len() < 64
        {
            pool.push(frame);
        }
    });
}

/// Runs body `id` with `args` in its first slots; its value goes to `out`.
/// The arguments are handed back in `args` afterwards (taken, not copied,
/// so a failed record can be replayed by the interpreter).
pub fn call_body(rt: &Rt<'_>, id: usize, args: &mut [Value], out: &mut Value) -> usize {
    let Some(body) = rt.compiled.bodies.get(id) else {
        return rt.internal(format!("no compiled body #{id}"));
    };
    if rt.depth.get() >= MAX_CALL_DEPTH {
        return rt.fail(EvalError::TooDeep(MAX_CALL_DEPTH));
    }
    let mut frame = take_frame();
    frame.slots.resize(body.slots.max(args.len()), Value::Absent);
    frame.folds.resize_with(body.loops, FoldState::default);
    for (slot, arg) in frame.slots.iter_mut().zip(args.iter_mut()) {
        *slot = std::mem::take(arg);
    }
    rt.depth.set(rt.depth.get() + 1);
    // SAFETY: `body.entry` was compiled for exactly this body, whose slots
    // and fold states fit the buffers handed over (sized from the body's
    // own counts above); `rt` and `out` are valid for the call, and the
    // code memory lives as long as `rt.compiled`.
    let status = unsafe { (body.entry)(rt, frame.slots.as_mut_ptr(), frame.folds.as_mut_ptr(), out) };
    rt.depth.set(rt.depth.get() - 1);
    for (arg, slot) in args.iter_mut().zip(frame.slots.iter_mut()) {
        *arg = std::mem::take(slot);
    }
    give_frame(frame);
    status
}

/// Runs `f` unless it panics, which becomes an internal error.
fn guarded(rt: &Rt<'_>, f: impl FnOnce() -> usize) -> usize {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(status) => status,
        Err(_) => rt.internal("a helper of compiled code panicked"),
    }
}

/// Moves or copies `src` into `dst`.
///
/// # Safety
/// `dst` and `src` point to live values; when `owned` is set, `src` is a
/// slot of the running body that no one reads again before writing it.
unsafe fn put(dst: *mut Value, src: *const Value, owned: usize) {
    if std::ptr::eq(dst, src) {
        return;
    }
    // SAFETY: the caller's contract.
    unsafe { set(dst, get(src, owned)) }
}

/// Writes `value` to `dst`, recycling what `dst` held (a loop's slots are
/// written once per element).
///
/// # Safety
/// `dst` points to a live value that nothing borrows.
unsafe fn set(dst: *mut Value, value: Value) {
    // SAFETY: the caller's contract.
    recycle::recycle(std::mem::replace(unsafe { &mut *dst }, value));
}

/// The value of `src`, moved (from an owned slot) or copied.
///
/// # Safety
/// As for [`put`].
unsafe fn get(src: *const Value, owned: usize) -> Value {
    // SAFETY: the caller's contract.
    unsafe {
        if owned != 0 {
            std::mem::take(&mut *(src as *mut Value))
        } else {
            recycle::copy(&*src)
        }
    }
}

static ABSENT: Value = Value::Absent;

// ------------------------------------------------------------------ helpers
//
// SAFETY (for every helper below): compiled code passes `rt` as the live
// context of the running call, value pointers that point to live values
// (slots of a live frame, constants of the compiled module, params, or
// values inside them), `out` pointers to slots of the running body, and
// `argv` arrays of `argc` such pointers on its stack. Those are the
// contracts the helpers rely on; the code generator upholds them.

/// `base.field`: the slot's value, absent of absent, null on a non-record.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_field(rt: *const Rt<'_>, base: *const Value, slot: usize) -> *const Value {
    // SAFETY: see the helpers' contract above.
    let (rt, base) = unsafe { (&*rt, &*base) };
    match base {
        Value::Record(slots) => match slots.get(slot) {
            Some(value) => value,
            None => {
                rt.internal("no such slot");
                std::ptr::null()
            }
        },
        Value::Absent => &ABSENT,
        other => {
            rt.internal(format!("field of a non-record {other}"));
            std::ptr::null()
        }
    }
}

/// `list[index]`: the element, absent when out of range or of absent.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_index(rt: *const Rt<'_>, base: *const Value, index: *const Value) -> *const Value {
    // SAFETY: see the helpers' contract above.
    let (rt, base, index) = unsafe { (&*rt, &*base, &*index) };
    match (base, index) {
        (Value::List(items), Value::Int(i)) => usize::try_from(*i)
            .ok()
            .and_then(|i| items.get(i))
            .map_or(&ABSENT as *const Value, |v| v as *const Value),
        (Value::Absent, _) => &ABSENT,
        _ => {
            rt.internal("bad index");
            std::ptr::null()
        }
    }
}

/// `f` of the `argc` values at `argv`, written to `out`, or the run fails
/// with its error: the body of [`mw_apply`] and [`mw_builtin`].
///
/// # Safety
/// `argv` holds `argc` live value pointers and `out` is a slot of the
/// running body (the helpers' contract).
#[inline(always)]
unsafe fn applied(
    rt: &Rt<'_>,
    argv: *const *const Value,
    argc: usize,
    out: *mut Value,
    f: impl FnOnce(&[&Value]) -> Result<Value, EvalError>,
) -> usize {
    // SAFETY: the caller's contract.
    let args: &[*const Value] = unsafe { std::slice::from_raw_parts(argv, argc) };
    let result = match args {
        // The common arities without a heap-allocated argument list.
        [a] => f(&[unsafe { &**a }]),
        [a, b] => f(&[unsafe { &**a }, unsafe { &**b }]),
        [a, b, c] => f(&[unsafe { &**a }, unsafe { &**b }, unsafe { &**c }]),
        many => {
            let refs: Vec<&Value> = many.iter().map(|p| unsafe { &**p }).collect();
            f(&refs)
        }
    };
    match result {
        Ok(value) => {
            // SAFETY: the caller's contract.
            unsafe { set(out, value) };
            OK
        }
        Err(error) => rt.fail(error),
    }
}

/// A typed operation (`ops[op]`) on `argc` arguments, through the
/// interpreter's own [`apply`].
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_apply(
    rt: *const Rt<'_>,
    op: usize,
    argv: *const *const Value,
    argc: usize,
    out: *mut Value,
) -> usize {
    // SAFETY: see the helpers' contract above.
    let rt = unsafe { &*rt };
    guarded(rt, || {
        let Some(op) = rt.compiled.ops.get(op).copied() else {
            return rt.internal(format!("no operation #{op}"));
        };
        // SAFETY: see the helpers' contract above.
        unsafe { applied(rt, argv, argc, out, |args| apply(op, args)) }
    })
}

/// The value-level builtin number `id` ([`BuiltinId::ALL`]) of the
/// `argc` values at `argv`, written to `out`: the interpreter's own
/// [`builtin_by`], with the name matched once, when the mapping was
/// compiled.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_builtin(
    rt: *const Rt<'_>,
    id: usize,
    argv: *const *const Value,
    argc: usize,
    out: *mut Value,
) -> usize {
    // SAFETY: see the helpers' contract above.
    let rt = unsafe { &*rt };
    guarded(rt, || {
        let Some(&id) = BuiltinId::ALL.get(id) else {
            return rt.internal(format!("no builtin #{id}"));
        };
        // SAFETY: see the helpers' contract above.
        unsafe { applied(rt, argv, argc, out, |args| builtin_by(id, args)) }
    })
}

/// Writes `f(a, b)` to `out`, or fails with its error: the body of the
/// helpers for the operations of two values, each of which calls its
/// operation's function straight, with no dispatch.
///
/// # Safety
/// Called only by compiled code's helpers, under the contract above.
#[inline(always)]
unsafe fn binary_into(rt: *const Rt<'_>, a: *const Value, b: *const Value, out: *mut Value, f: Binary) -> usize {
    // SAFETY: see the helpers' contract above.
    let rt = unsafe { &*rt };
    guarded(rt, || match f(unsafe { &*a }, unsafe { &*b }) {
        Ok(value) => {
            // SAFETY: `out` is a slot of the running body.
            unsafe { set(out, value) };
            OK
        }
        Err(error) => rt.fail(error),
    })
}

macro_rules! binary_helpers {
    ($($name:ident => $variant:ident, $op:ident;)*) => {
        $(
            /// An operation of two values (see [`binary_helper`]).
            ///
            /// # Safety
            /// Called only by compiled code, under the contract above.
            pub unsafe extern "C" fn $name(rt: *const Rt<'_>, a: *const Value, b: *const Value, out: *mut Value) -> usize {
                // SAFETY: as the caller's.
                unsafe { binary_into(rt, a, b, out, ops::$op) }
            }
        )*

        /// The helper compiled code calls for `op` on two values, `(rt, a,
        /// b, out) -> status`: it calls `op`'s own function in
        /// [`crate::interp::ops`], the one the interpreter's
        /// [`crate::interp::binary`] gives, so the engines compute alike.
        pub fn binary_helper(op: Op) -> Option<usize> {
            Some(match op {
                $(Op::$variant => $name as *const () as usize,)*
                _ => return None,
            })
        }
    };
}

binary_helpers! {
    mw_int_add => IntAdd, int_add;
    mw_int_sub => IntSub, int_sub;
    mw_int_mul => IntMul, int_mul;
    mw_int_rem => IntRem, int_rem;
    mw_dec_add => DecAdd, dec_add;
    mw_dec_sub => DecSub, dec_sub;
    mw_dec_mul => DecMul, dec_mul;
    mw_dec_div => DecDiv, dec_div;
    mw_dec_rem => DecRem, dec_rem;
    mw_eq => Eq, eq;
    mw_ne => Ne, ne;
    mw_lt => Lt, lt;
    mw_le => Le, le;
    mw_gt => Gt, gt;
    mw_ge => Ge, ge;
}

/// Calls body `id` (a `fn` of the module) with copies of the arguments.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_call(
    rt: *const Rt<'_>,
    id: usize,
    argv: *const *const Value,
    argc: usize,
    out: *mut Value,
) -> usize {
    // SAFETY: see the helpers' contract above.
    let rt = unsafe { &*rt };
    guarded(rt, || {
        // SAFETY: `argv` holds `argc` live value pointers.
        let pointers: &[*const Value] = unsafe { std::slice::from_raw_parts(argv, argc) };
        let mut args = recycle::list(pointers.len());
        args.extend(pointers.iter().map(|p| recycle::copy(unsafe { &**p })));
        let mut value = Value::Absent;
        let status = call_body(rt, id, &mut args, &mut value);
        recycle::recycle_list(args);
        // SAFETY: `out` is a slot of the running body.
        unsafe { set(out, value) };
        status
    })
}

/// Looks `key` up in table `table`; an inline entry's body runs compiled.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_lookup(rt: *const Rt<'_>, table: usize, key: *const Value, out: *mut Value) -> usize {
    // SAFETY: see the helpers' contract above.
    let (rt, key) = unsafe { (&*rt, &*key) };
    guarded(rt, || {
        // SAFETY: `out` is a slot of the running body.
        let out = unsafe { &mut *out };
        let found = match rt.tables.find(&rt.compiled.module, table as u32, key) {
            Ok(found) => found,
            Err(error) => return rt.fail(error),
        };
        let bodies = rt.compiled.tables.get(table);
        // An entry that is a constant is copied, with no call.
        let constant = match found {
            crate::interp::Found::Entry(position) => bodies.and_then(|t| t.constants.get(position)),
            crate::interp::Found::Fallback => bodies.map(|t| &t.fallback_constant),
            _ => None,
        };
        if let Some(Some(value)) = constant {
            recycle::recycle(std::mem::replace(out, recycle::copy(value)));
            return OK;
        }
        let body = match found {
            crate::interp::Found::Value(value) => {
                recycle::recycle(std::mem::replace(out, recycle::copy(value)));
                return OK;
            }
            crate::interp::Found::Absent => {
                recycle::recycle(std::mem::take(out));
                return OK;
            }
            crate::interp::Found::Entry(position) => bodies.and_then(|t| t.entries.get(position)).copied(),
            crate::interp::Found::Fallback => bodies.and_then(|t| t.fallback),
        };
        match body {
            Some(id) => {
                let mut value = Value::Absent;
                let status = call_body(rt, id, &mut [], &mut value);
                recycle::recycle(std::mem::replace(out, value));
                status
            }
            None => rt.internal("unknown table entry"),
        }
    })
}

/// A new record of `slots` absent fields.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_new_record(out: *mut Value, slots: usize) -> usize {
    // SAFETY: `out` is a slot of the running body.
    unsafe { set(out, Value::Record(recycle::record(slots))) };
    OK
}

/// Sets field `slot` of the record at `record` (a record the running body
/// built), after the field's check (`checks[check - 1]`, 0 for none).
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_set_slot(
    rt: *const Rt<'_>,
    record: *mut Value,
    slot: usize,
    value: *const Value,
    owned: usize,
    check: usize,
) -> usize {
    // SAFETY: see the helpers' contract above.
    let rt = unsafe { &*rt };
    guarded(rt, || {
        if let Some(check) = check.checked_sub(1) {
            // SAFETY: `value` is live.
            let status = checked(rt, check, unsafe { &*value });
            if status != OK {
                return status;
            }
        }
        // SAFETY: `value` is live (and movable when `owned`). It is taken
        // before the record is borrowed mutably, so no reference into the
        // record is alive while it changes.
        let value = unsafe { get(value, owned) };
        // SAFETY: `record` is a slot of the running body holding a record
        // it built.
        match unsafe { &mut *record } {
            Value::Record(slots) => {
                if let Some(target) = slots.get_mut(slot) {
                    recycle::recycle(std::mem::replace(target, value));
                }
                OK
            }
            _ => rt.internal("set a slot of a non-record"),
        }
    })
}

/// Checks `value` against check number `check` (a field of a record
/// written directly, see [`mw_write_record`]: the checks the JSON encoder
/// does not repeat).
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_check(rt: *const Rt<'_>, value: *const Value, check: usize) -> usize {
    // SAFETY: see the helpers' contract above; `value` is live.
    checked(unsafe { &*rt }, check, unsafe { &*value })
}

/// Checks `value` against the module's check number `check`, as a field's
/// limit is checked when it is set (both ways of setting one).
fn checked(rt: &Rt<'_>, check: usize, value: &Value) -> usize {
    let Some(check) = rt.compiled.checks.get(check).copied() else {
        return rt.internal(format!("no check #{check}"));
    };
    match check_value(check, value) {
        Ok(()) => OK,
        Err(error) => rt.fail(error),
    }
}

/// Starts writing a list's elements (a `for` whose records are written
/// directly): they go to a buffer of their own until [`mw_sink_close`].
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_sink_open(rt: *const Rt<'_>) -> usize {
    // SAFETY: see the helpers' contract above.
    let rt = unsafe { &*rt };
    let mut sink = rt.sink.borrow_mut();
    let Some(sink) = sink.as_mut() else {
        return rt.internal("a list written directly outside a writing run");
    };
    if sink.used == sink.buffers.len() {
        sink.buffers.push(Vec::new());
    }
    sink.open.push((sink.used, false));
    sink.used += 1;
    OK
}

/// Ends the innermost list being written: `out` is set to the number of
/// its buffer (an `Int`), which the record that has the list as a field
/// reads when it is written ([`mw_write_record`]).
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_sink_close(rt: *const Rt<'_>, out: *mut Value) -> usize {
    // SAFETY: see the helpers' contract above.
    let rt = unsafe { &*rt };
    let mut sink = rt.sink.borrow_mut();
    let Some((buffer, _)) = sink.as_mut().and_then(|sink| sink.open.pop()) else {
        return rt.internal("no list is being written");
    };
    // SAFETY: `out` is a slot of the running body.
    unsafe { set(out, Value::Int(buffer as i64)) };
    OK
}

/// Writes a record of type `record` whose field `i` is the value at
/// `argv[i]` (`count` of them), to the innermost list being written, else
/// to the run's output. A field whose bit is set in `raw` is a list whose
/// elements are written already: its value is the number of their buffer
/// ([`mw_sink_close`]). Anything the encoder refuses fails the run (the
/// caller then runs the record the usual way, which reports the problem).
///
/// # Safety
/// Called only by compiled code, under the contract above; `argv` holds
/// `count` value pointers.
pub unsafe extern "C" fn mw_write_record(
    rt: *const Rt<'_>,
    record: usize,
    argv: *const *const Value,
    count: usize,
    raw: usize,
) -> usize {
    // SAFETY: see the helpers' contract above.
    let rt = unsafe { &*rt };
    // SAFETY: compiled code passes `count` live value pointers.
    let fields = unsafe { std::slice::from_raw_parts(argv, count) };
    guarded(rt, || write_record(rt, record, fields, raw))
}

fn write_record(rt: &Rt<'_>, record: usize, fields: &[*const Value], raw: usize) -> usize {
    let mut sink = rt.sink.borrow_mut();
    let Some(sink) = sink.as_mut() else {
        return rt.internal("a record written directly outside a writing run");
    };
    // A written list's field holds its buffer's number (it was set before
    // the record ends): anything else is a bug, not a field to leave out.
    for (at, pointer) in fields.iter().enumerate().take_while(|_| raw != 0) {
        // SAFETY: compiled code passes live value pointers.
        if raw >> at & 1 == 1
            && !matches!(unsafe { &**pointer }, Value::Int(buffer) if usize::try_from(*buffer).is_ok_and(|b| b < sink.used))
        {
            return rt.internal("a written list's field holds no list");
        }
    }
    let Some(index) = u32::try_from(record)
        .ok()
        .and_then(|id| sink.shapes.of_type(RecordId(id)))
    else {
        return rt.internal(format!("record type #{record} has no JSON shape"));
    };
    // The output record is the shapes' root, as the encoder takes it.
    if sink.open.is_empty() && index != sink.shapes.root {
        return rt.internal(format!("record type #{record} is not the output's root record"));
    }
    let mut target = match sink.open.last_mut() {
        Some((buffer, any)) => {
            let mut target = std::mem::take(&mut sink.buffers[*buffer]);
            if *any {
                target.push(b',');
            }
            *any = true;
            target
        }
        None => std::mem::take(sink.out),
    };
    let buffers = &sink.buffers;
    let field = |at: usize| {
        let pointer = *fields.get(at)?;
        // SAFETY: compiled code passes live value pointers.
        let value = unsafe { &*pointer };
        match value {
            Value::Int(buffer) if raw >> at & 1 == 1 => {
                let buffer = usize::try_from(*buffer).ok().and_then(|b| buffers.get(b));
                Some(Field::Elements(buffer.map_or(&[][..], Vec::as_slice)))
            }
            _ => Some(Field::Value(value)),
        }
    };
    let written = json_out::encode_fields(sink.shapes, index, field, &mut target);
    match sink.open.last() {
        Some(&(buffer, _)) => sink.buffers[buffer] = target,
        None => *sink.out = target,
    }
    match written {
        Ok(()) => OK,
        Err(_) => rt.internal("the encoder refused a record written directly"),
    }
}

/// Writes `src` (moved when `owned`) to `dst`.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_assign(dst: *mut Value, src: *const Value, owned: usize) -> usize {
    // SAFETY: see the helpers' contract above.
    unsafe { put(dst, src, owned) };
    OK
}

/// Writes `Int(n)` to `out`.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_set_int(out: *mut Value, n: usize) -> usize {
    // SAFETY: `out` is a slot of the running body.
    unsafe { set(out, Value::Int(n as i64)) };
    OK
}

/// A new empty list with room for `capacity` values.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_list_new(out: *mut Value, capacity: usize) -> usize {
    // SAFETY: `out` is a slot of the running body.
    unsafe { set(out, Value::List(recycle::list(capacity))) };
    OK
}

/// Appends `value` (moved when `owned`) to the list at `list`.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_list_push(rt: *const Rt<'_>, list: *mut Value, value: *const Value, owned: usize) -> usize {
    // SAFETY: see the helpers' contract above; `list` is a slot of the
    // running body holding the list it is building.
    let rt = unsafe { &*rt };
    // SAFETY: as in `mw_set_slot`: the value is taken before the list is
    // borrowed mutably.
    let value = unsafe { get(value, owned) };
    match unsafe { &mut *list } {
        Value::List(items) => {
            items.push(value);
            OK
        }
        _ => rt.internal("push to a non-list"),
    }
}

/// How many elements a loop runs over: 0 for absent, `usize::MAX` (after
/// recording the error) for a value that is not a list.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_loop_len(rt: *const Rt<'_>, list: *const Value) -> usize {
    // SAFETY: see the helpers' contract above.
    let (rt, list) = unsafe { (&*rt, &*list) };
    match list {
        Value::List(items) => items.len(),
        Value::Absent => 0,
        other => {
            rt.internal(format!("a loop over {other}"));
            usize::MAX
        }
    }
}

/// Element `index` of the list at `list` (in range: the loop checked).
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_list_get(list: *const Value, index: usize) -> *const Value {
    // SAFETY: see the helpers' contract above.
    match unsafe { &*list } {
        Value::List(items) => items.get(index).map_or(&ABSENT as *const Value, |v| v as *const Value),
        _ => &ABSENT,
    }
}

/// Whether `a` is the pattern `b` (the interpreter's `==` on arms).
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_same(a: *const Value, b: *const Value) -> usize {
    // SAFETY: see the helpers' contract above.
    usize::from(unsafe { *a == *b })
}

/// `fail(message)`: ends the record with the message.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_fail(rt: *const Rt<'_>, message: *const Value) -> usize {
    // SAFETY: see the helpers' contract above.
    let (rt, message) = unsafe { (&*rt, &*message) };
    match message {
        Value::Text(text) => rt.fail(EvalError::Failed(text.clone())),
        other => rt.fail(EvalError::Failed(other.to_string())),
    }
}

/// A condition gave something other than a `Bool`.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_not_bool(rt: *const Rt<'_>, value: *const Value) -> usize {
    // SAFETY: see the helpers' contract above.
    let (rt, value) = unsafe { (&*rt, &*value) };
    rt.internal(format!("a condition gave {value}"))
}

/// A param was read before it had a value (a default that uses a later
/// param): the interpreter's error for it.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_unknown_param(rt: *const Rt<'_>) -> usize {
    // SAFETY: see the helpers' contract above.
    let rt = unsafe { &*rt };
    rt.internal("unknown local or param")
}

/// No arm of a value `match` took the value.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_no_arm(rt: *const Rt<'_>, value: *const Value) -> usize {
    // SAFETY: see the helpers' contract above.
    let (rt, value) = unsafe { (&*rt, &*value) };
    rt.internal(format!("no match arm for {value}"))
}

/// Starts fold state `index` of the running body for fold `kind`.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_fold_begin(folds: *mut FoldState, index: usize, kind: usize) -> usize {
    // SAFETY: `folds` has a state for every loop of the running body, and
    // `index` is one of them (the code generator numbers them).
    let state = unsafe { &mut *folds.add(index) };
    *state = match kind {
        fold::COLLECT | fold::FILTER => FoldState::Collect(recycle::list(0)),
        fold::SUM_INT => FoldState::Sum(None, false),
        fold::SUM_DEC => FoldState::Sum(None, true),
        fold::COUNT => FoldState::Count(0),
        fold::ANY | fold::ALL | fold::FIRST => FoldState::Open(kind as u8),
        fold::LAST => FoldState::Last(None),
        fold::MIN => FoldState::Best(None, true),
        fold::MAX => FoldState::Best(None, false),
        fold::SORT_BY => FoldState::Sort(with_spares(|spares| spares.rows.pop()).flatten().unwrap_or_default()),
        fold::DISTINCT_BY => FoldState::Distinct(
            with_spares(|spares| spares.sets.pop()).flatten().unwrap_or_default(),
            recycle::list(0),
        ),
        _ => FoldState::Group(
            recycle::list(0),
            with_spares(|spares| spares.maps.pop()).flatten().unwrap_or_default(),
        ),
    };
    OK
}

/// One element a `where` keeps as a view (see `codegen`): its position
/// `position` in the source list, not a copy of it.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_fold_keep_position(
    rt: *const Rt<'_>,
    folds: *mut FoldState,
    index: usize,
    position: usize,
) -> usize {
    // SAFETY: see the helpers' contract above and `mw_fold_begin`.
    let (rt, state) = unsafe { (&*rt, &mut *folds.add(index)) };
    match state {
        FoldState::Collect(kept) => {
            kept.push(Value::Int(position as i64));
            OK
        }
        _ => rt.internal("a view kept a position in a fold that is no `where`"),
    }
}

/// One kept element: `body` is the body's value (moved when `owned`),
/// `item` the element. Returns [`OK`], [`STOP`] when the fold is decided,
/// or [`FAILED`].
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_fold_step(
    rt: *const Rt<'_>,
    folds: *mut FoldState,
    index: usize,
    body: *const Value,
    owned: usize,
    item: *const Value,
) -> usize {
    // SAFETY: see the helpers' contract above and `mw_fold_begin`.
    let (rt, state) = unsafe { (&*rt, &mut *folds.add(index)) };
    let is_true = || matches!(unsafe { &*body }, Value::Bool(true));
    guarded(rt, || {
        match state {
            FoldState::Collect(kept) => kept.push(unsafe { get(body, owned) }),
            FoldState::Sum(total, _) => {
                let value = unsafe { get(body, owned) };
                *total = Some(match total.take() {
                    None => value,
                    Some(so_far) => {
                        let add = if matches!(so_far, Value::Int(_)) {
                            ops::int_add
                        } else {
                            ops::dec_add
                        };
                        match add(&so_far, &value) {
                            Ok(sum) => sum,
                            Err(error) => return rt.fail(error),
                        }
                    }
                });
            }
            FoldState::Count(count) => {
                if is_true() {
                    *count += 1;
                }
            }
            FoldState::Open(kind) => {
                let kind = usize::from(*kind);
                let decided = match kind {
                    fold::ANY => is_true().then_some(Value::Bool(true)),
                    fold::ALL => (!is_true()).then_some(Value::Bool(false)),
                    _ => is_true().then(|| recycle::copy(unsafe { &*item })),
                };
                if let Some(value) = decided {
                    *state = FoldState::Decided(value);
                    return STOP;
                }
            }
            FoldState::Decided(_) | FoldState::Idle => return rt.internal("a fold stepped after it ended"),
            FoldState::Last(chosen) => {
                if is_true()
                    && let Some(before) = chosen.replace(recycle::copy(unsafe { &*item }))
                {
                    recycle::recycle(before);
                }
            }
            FoldState::Best(best, min) => {
                let value = unsafe { &*body };
                let better = match best {
                    None => true,
                    Some(so_far) => match compare(value, so_far) {
                        Ok(ordering) if *min => ordering.is_lt(),
                        Ok(ordering) => ordering.is_gt(),
                        Err(error) => return rt.fail(error),
                    },
                };
                if better && let Some(before) = best.replace(unsafe { get(body, owned) }) {
                    recycle::recycle(before);
                }
            }
            FoldState::Sort(rows) => rows.push((unsafe { get(body, owned) }, recycle::copy(unsafe { &*item }))),
            FoldState::Distinct(seen, kept) => {
                let key = KeyText::kept(unsafe { &*body });
                if seen.contains(&key) {
                    key.recycle();
                } else {
                    seen.insert(key);
                    kept.push(recycle::copy(unsafe { &*item }));
                }
            }
            FoldState::Group(groups, by_key) => {
                let key = KeyText::kept(unsafe { &*body });
                match by_key.get(&key) {
                    Some(&group) => {
                        key.recycle();
                        match groups.get_mut(group) {
                            Some(Value::Record(slots)) => match slots.get_mut(1) {
                                Some(Value::List(members)) => members.push(recycle::copy(unsafe { &*item })),
                                _ => return rt.internal("a group without members"),
                            },
                            _ => return rt.internal("a group that is not a record"),
                        }
                    }
                    None => {
                        by_key.insert(key, groups.len());
                        let mut members = recycle::list(1);
                        members.push(recycle::copy(unsafe { &*item }));
                        let mut group = recycle::list(2);
                        group.push(unsafe { get(body, owned) });
                        group.push(Value::List(members));
                        groups.push(Value::Record(group));
                    }
                }
            }
        }
        OK
    })
}

/// The fold's result, written to `out`.
///
/// # Safety
/// Called only by compiled code, under the contract above.
pub unsafe extern "C" fn mw_fold_end(rt: *const Rt<'_>, folds: *mut FoldState, index: usize, out: *mut Value) -> usize {
    // SAFETY: see the helpers' contract above and `mw_fold_begin`.
    let (rt, state, out) = unsafe { (&*rt, &mut *folds.add(index), &mut *out) };
    guarded(rt, || {
        let value = match std::mem::take(state) {
            FoldState::Collect(kept) => Value::List(kept),
            FoldState::Distinct(mut seen, kept) => {
                give_keys(seen.drain());
                with_spares(|spares| spares.keep(|spares| &mut spares.sets, seen));
                Value::List(kept)
            }
            FoldState::Sum(total, decimal) => total.unwrap_or(if decimal {
                Value::Decimal(Decimal::ZERO)
            } else {
                Value::Int(0)
            }),
            FoldState::Count(count) => Value::Int(count),
            FoldState::Decided(value) => value,
            FoldState::Open(kind) => match usize::from(kind) {
                fold::ANY => Value::Bool(false),
                fold::ALL => Value::Bool(true),
                _ => Value::Absent,
            },
            FoldState::Last(chosen) => chosen.unwrap_or(Value::Absent),
            FoldState::Best(best, _) => best.unwrap_or(Value::Absent),
            FoldState::Sort(mut rows) => {
                if let Err(error) = sort_by_key(&mut rows, |row| &row.0) {
                    return rt.fail(error);
                }
                let mut items = recycle::list(rows.len());
                for (key, item) in rows.drain(..) {
                    recycle::recycle(key);
                    items.push(item);
                }
                with_spares(|spares| spares.keep(|spares| &mut spares.rows, rows));
                Value::List(items)
            }
            FoldState::Group(groups, mut by_key) => {
                give_keys(by_key.drain().map(|(key, _)| key));
                with_spares(|spares| spares.keep(|spares| &mut spares.maps, by_key));
                Value::List(groups)
            }
            FoldState::Idle => return rt.internal("a fold ended before it began"),
        };
        recycle::recycle(std::mem::replace(out, value));
        OK
    })
}

/// The error a run stopped with.
pub fn take_error(rt: &Rt<'_>) -> EvalError {
    rt.error
        .borrow_mut()
        .take()
        .unwrap_or_else(|| EvalError::Internal("compiled code failed without saying why".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_known_by_number_and_name_alike() {
        for (number, id) in BuiltinId::ALL.iter().enumerate() {
            assert_eq!(BuiltinId::of(id.name()), Some(*id));
            assert_eq!(id.number(), number);
        }
        // Every builtin of the language has a value-level form, but for
        // the list forms, which are lowered to loops.
        let loops = [
            "sum", "count", "any", "all", "first", "last", "sort_by", "distinct", "group_by", "required",
        ];
        for builtin in crate::builtins::all() {
            assert!(
                BuiltinId::of(builtin.name).is_some() || loops.contains(&builtin.name),
                "{} has no number",
                builtin.name
            );
        }
    }

    #[test]
    fn every_operation_of_two_values_has_its_helper() {
        let every = [
            Op::IntAdd,
            Op::IntSub,
            Op::IntMul,
            Op::IntRem,
            Op::IntNeg,
            Op::DecAdd,
            Op::DecSub,
            Op::DecMul,
            Op::DecDiv,
            Op::DecRem,
            Op::DecNeg,
            Op::IntToDec,
            Op::Eq,
            Op::Ne,
            Op::Lt,
            Op::Le,
            Op::Gt,
            Op::Ge,
            Op::Not,
            Op::Concat,
            Op::Builtin("upper"),
        ];
        for op in every {
            assert_eq!(
                crate::interp::binary(op).is_some(),
                binary_helper(op).is_some(),
                "{op:?}"
            );
        }
    }
}
