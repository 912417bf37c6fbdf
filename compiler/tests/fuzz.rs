//! Fuzzing parse + resolve with random token streams (proptest): no input
//! may panic, overflow the stack, put a diagnostic outside its file, or
//! check differently twice.
//!
//! Runs for `MAPWRIGHT_FUZZ_SECONDS` seconds (default 5; `.ci/run` gives it
//! 50). Longer runs by hand are recorded in BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use std::time::{Duration, Instant};

const VOCABULARY: &[&str] = &[
    "schema",
    "format",
    "use",
    "enum",
    "record",
    "extend",
    "param",
    "table",
    "mapping",
    "fn",
    "let",
    "if",
    "else",
    "match",
    "for",
    "in",
    "where",
    "external",
    "true",
    "false",
    "none",
    "and",
    "or",
    "not",
    "as",
    "it",
    "json",
    "xml",
    "csv",
    "canonical",
    "invoice",
    "Invoice",
    "InvoiceLine",
    "TaxCategory",
    "sap",
    "s4",
    "supplier_invoice",
    "SupplierInvoice",
    "lines",
    "net_amount",
    "tax",
    "rate",
    "category",
    "standard",
    "String",
    "Decimal",
    "Int",
    "Bool",
    "Date",
    "x",
    "y",
    "_",
    "sum",
    "round",
    "required",
    "upper",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ".",
    ",",
    ":",
    ";",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "??",
    "?",
    "=>",
    "->",
    "|",
    "@",
    "@required",
    "@wire(string)",
    "@xml(cbc)",
    "\"text\"",
    "\"a{x}b\"",
    "\"\\q\"",
    "\"unterminated",
    "/* c */",
    "// line\n",
    "/// doc\n",
    "/*",
    "0",
    "12.50",
    "1_000",
    "`quoted name`",
    "\n",
    "\r\n",
    " ",
    "\t",
    "\u{feff}",
    "é",
    "😀",
    "\u{0}",
];

fn token_stream() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        8 => proptest::sample::select(VOCABULARY).prop_map(|t| t.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 1..4),
    ];
    proptest::collection::vec(token, 0..400).prop_map(|tokens| {
        let mut out = Vec::new();
        for token in tokens {
            out.extend_from_slice(&token);
            out.push(b' ');
        }
        out
    })
}

/// Seeds: valid files, so mutations near them explore deep paths.
const SEEDS: &[&str] = &[
    include_str!("../../examples/invoice_to_sap/invoice_to_sap.map"),
    include_str!("ui/clean/every_construct.map"),
    include_str!("ui/clean/every_construct.schema"),
];

fn mutated_seed() -> impl Strategy<Value = Vec<u8>> {
    (
        0..SEEDS.len(),
        proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..12),
    )
        .prop_map(|(seed, edits)| {
            let mut bytes = SEEDS[seed].as_bytes().to_vec();
            for (at, kind, byte) in edits {
                if bytes.is_empty() {
                    break;
                }
                let at = at.index(bytes.len());
                match kind {
                    0 => bytes[at] = byte,
                    1 => {
                        bytes.remove(at);
                    }
                    2 => bytes.insert(at, byte),
                    _ => {
                        let end = (at + usize::from(byte % 40)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                }
            }
            bytes
        })
}

fn check(bytes: &[u8]) -> Vec<String> {
    let mut workspace = Workspace::new(EmbeddedStdlib);
    let result = workspace.check("fuzz.map", bytes.to_vec(), None);
    let text_len = workspace.sources.get(result.file).text.len() as u32;
    for diagnostic in &result.diagnostics {
        if diagnostic.primary.file == result.file {
            assert!(
                diagnostic.primary.span.start <= diagnostic.primary.span.end && diagnostic.primary.span.end <= text_len,
                "diagnostic outside the file: {diagnostic:?}"
            );
        }
    }
    // Rendering must not fail or panic either.
    let _ = mapwright_compiler::diagnostics::render::to_plain_text(&workspace.sources, &result.diagnostics);
    let _ = mapwright_compiler::diagnostics::render::to_json_lines(&workspace.sources, &result.diagnostics);
    result
        .diagnostics
        .iter()
        .map(|d| format!("{} {:?} {}", d.code, d.primary.span, d.message))
        .collect()
}

#[test]
fn parse_and_resolve_never_panic() {
    let seconds = std::env::var("MAPWRIGHT_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5u64);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut runner = TestRunner::new(Config::default());
    let strategy = prop_oneof![token_stream(), mutated_seed()];
    let mut cases = 0u64;
    while Instant::now() < deadline {
        let input = strategy.new_tree(&mut runner).expect("generate").current();
        let first = std::panic::catch_unwind(|| check(&input));
        // (Random streams stay far below the nesting limits, so the
        // default test-thread stack is enough here.)
        match first {
            Ok(first) => assert_eq!(first, check(&input), "checking is not deterministic"),
            Err(_) => panic!("panic on input: {:?}", String::from_utf8_lossy(&input)),
        }
        cases += 1;
    }
    eprintln!("fuzz: {cases} inputs in {seconds} s without a panic");
    assert!(cases > 0);
}

/// The deepest nesting allowed, in every bracket kind, fits the stack the
/// library documents ([`mapwright_compiler::REQUIRED_STACK`]), even in a
/// debug build: the limits, not the stack, decide.
#[test]
fn nesting_at_the_limit_fits_the_stack() {
    std::thread::Builder::new()
        .stack_size(mapwright_compiler::REQUIRED_STACK)
        .spawn(nesting_at_the_limit)
        .unwrap()
        .join()
        .unwrap();
}

fn nesting_at_the_limit() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{", "}")] {
        let text = format!("param x: Int = {}1{}\n", open.repeat(255), close.repeat(255));
        check(text.as_bytes());
    }
    let interpolations = format!("param x: String = {}x{}\n", "\"{".repeat(120), "}\"".repeat(120));
    check(interpolations.as_bytes());
    let chain = format!("param x: Int = 1{}\n", " + 1".repeat(1000));
    check(chain.as_bytes());
    let unary = format!("param x: Int = {}1\n", "- ".repeat(1000));
    check(unary.as_bytes());
    let postfix = format!("param x: Int = a{}\n", ".b".repeat(1000));
    check(postfix.as_bytes());
}
