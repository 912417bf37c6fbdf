//! No allocation per record in the steady state: every example mapping,
//! run through the JIT (decode, map, encode: `Program::run_event`) on its
//! golden inputs over and over, stops allocating after a warm-up.
//!
//! The test binary counts allocations (and reallocations) of the thread
//! that maps, with a counting global allocator over the system's. Golden
//! inputs that fail are left out: a failure builds its error messages.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic
#![allow(unsafe_code)] // a global allocator is unsafe to implement

mod common;

use mapwright_compiler::program::{Engine, Framing};
use mapwright_compiler::wire::json_in::DecodeOptions;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting this thread's allocations.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread that is ending may still allocate.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every call is passed on to `System` unchanged; counting touches
// only a const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Rounds over the inputs before counting, and rounds counted.
const WARM_UP: usize = 50;
const COUNTED: usize = 20;

#[test]
fn the_counting_allocator_counts() {
    let before = allocations();
    let boxed = std::hint::black_box(Box::new(7u64));
    assert!(allocations() > before, "a Box allocates; the counter must see it");
    drop(boxed);
}

#[test]
fn every_example_maps_without_allocating_once_warm() {
    assert!(
        mapwright_compiler::interp::recycle::enabled(),
        "MAPWRIGHT_RECYCLE=0 turns the kept buffers off; this test needs them on"
    );
    let options = DecodeOptions::default();
    let framing = Framing::Stream { first: false };
    let mut allocating = Vec::new();
    let mut checked = 0;
    for case in common::example_cases() {
        let jit = case
            .program
            .evaluator(Engine::Jit, &case.params, case.tables.clone())
            .unwrap();
        let mut out = Vec::new();
        let inputs: Vec<&Vec<u8>> = case
            .seeds
            .iter()
            .filter(|input| {
                out.clear();
                case.program.run_event(&jit, input, options, framing, &mut out).is_ok()
            })
            .collect();
        if inputs.is_empty() {
            continue;
        }
        let mut round = || {
            for input in &inputs {
                out.clear();
                let mapped = case.program.run_event(&jit, input, options, framing, &mut out);
                assert!(mapped.is_ok(), "{}: {mapped:?}", case.name);
            }
        };
        for _ in 0..WARM_UP {
            round();
        }
        let before = allocations();
        for _ in 0..COUNTED {
            round();
        }
        let made = allocations() - before;
        let records = (COUNTED * inputs.len()) as u64;
        eprintln!("{}: {made} allocations over {records} records", case.name);
        if made > 0 {
            allocating.push(format!("{}: {made} allocations over {records} records", case.name));
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} examples had inputs that map");
    assert!(
        allocating.is_empty(),
        "mapping allocates in the steady state:\n{}",
        allocating.join("\n")
    );
}
