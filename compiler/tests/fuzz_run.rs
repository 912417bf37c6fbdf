//! Fuzzing the running of mappings: the examples' golden inputs, mutated
//! byte by byte and value by value, through decode → interpret → encode of
//! every example mapping. No input may panic; the same input must give the
//! same bytes or the same errors; whatever maps must be well-formed (JSON,
//! XML or CSV); every error must carry a path.
//!
//! Runs for `MAPWRIGHT_FUZZ_RUN_SECONDS` seconds (default 5; `.ci/run`
//! gives it 15). Longer runs by hand are recorded in BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use mapwright_compiler::program::Framing;
use mapwright_compiler::resolve::annotations::WireFormat;
use mapwright_compiler::wire::json_in::DecodeOptions;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use std::time::{Duration, Instant};

/// Replacement values for JSON-aware mutations.
const VALUES: &[&str] = &[
    "null",
    "true",
    "0",
    "-0",
    "1e400",
    "123456789012345678901234567890.5",
    "\"\"",
    "\"2026-02-30\"",
    "\"2025-03-01T10:00:00\"",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "[]",
    "{}",
    "[[[[[[[[[[[[]]]]]]]]]]]]",
    "\"standard\"",
    "9223372036854775808",
    "-12.345",
];

fn mutate(seed: &[u8], edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for (at, kind, byte) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at.index(bytes.len());
        match kind % 5 {
            0 => bytes[at] = *byte,
            1 => {
                bytes.remove(at);
            }
            2 => bytes.insert(at, *byte),
            3 => {
                let end = (at + usize::from(byte % 40)).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {
                // Replace the value after a `:` with another kind of value.
                if let Some(colon) = bytes[at..].iter().position(|b| *b == b':') {
                    let start = at + colon + 1;
                    let end = bytes[start..]
                        .iter()
                        .position(|b| matches!(b, b',' | b'}' | b']'))
                        .map_or(bytes.len(), |p| start + p);
                    let value = VALUES[usize::from(*byte) % VALUES.len()].as_bytes();
                    bytes.splice(start..end, value.iter().copied());
                }
            }
        }
    }
    bytes
}

/// Output of each format must be well-formed: JSON parses, XML reads to
/// its end, CSV is text with whole lines.
fn well_formed(format: WireFormat, bytes: &[u8]) {
    let shown = || String::from_utf8_lossy(bytes).into_owned();
    match format {
        WireFormat::Json => {
            let _: serde_json::Value =
                serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("invalid JSON out ({e}): {}", shown()));
        }
        WireFormat::Xml => {
            let text = std::str::from_utf8(bytes).unwrap_or_else(|_| panic!("XML out is not UTF-8: {}", shown()));
            let mut reader = quick_xml::Reader::from_str(text);
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(_) => {}
                    Err(e) => panic!("malformed XML out ({e}): {}", shown()),
                }
            }
        }
        WireFormat::Csv => assert!(
            bytes.is_empty() || bytes.ends_with(b"\n"),
            "CSV out cut short: {}",
            shown()
        ),
    }
}

#[test]
fn running_mappings_never_panics() {
    let seconds = std::env::var("MAPWRIGHT_FUZZ_RUN_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5u64);
    let cases = common::example_cases();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut runner = TestRunner::new(Config::default());
    let edits = proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u8>()), 1..8);
    let (mut runs, mut mapped) = (0u64, 0u64);
    while Instant::now() < deadline {
        let choice = (0usize..cases.len(), any::<prop::sample::Index>(), edits.clone())
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let case = &cases[choice.0];
        let seed = &case.seeds[choice.1.index(case.seeds.len())];
        let input = mutate(seed, &choice.2);
        let interpreter = mapwright_compiler::program::Evaluator::from(
            case.program.interpreter(&case.params, case.tables.clone()).unwrap(),
        );
        for strict in [false, true] {
            let run = |out: &mut Vec<u8>| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    case.program
                        .run_event(
                            &interpreter,
                            &input,
                            DecodeOptions { strict },
                            Framing::Stream { first: true },
                            out,
                        )
                        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())
                }))
                .unwrap_or_else(|_| panic!("panic on input: {}", String::from_utf8_lossy(&input)))
            };
            let (mut first, mut second) = (Vec::new(), Vec::new());
            let a = run(&mut first);
            let b = run(&mut second);
            assert_eq!(a, b, "not deterministic on {}", String::from_utf8_lossy(&input));
            assert_eq!(first, second);
            match a {
                Ok(()) => {
                    well_formed(case.program.output_format(), &first);
                    mapped += 1;
                }
                Err(errors) => {
                    assert!(!errors.is_empty());
                    for error in errors {
                        assert!(error.starts_with('$') || error.starts_with('→'), "no path: {error}");
                    }
                }
            }
            runs += 1;
        }
    }
    eprintln!("fuzz_run: {runs} runs ({mapped} mapped) in {seconds} s without a panic");
    assert!(runs > 0);
}
