//! What a mapping reads of its input (`mir::demand`), and that decoding
//! only that changes nothing a mapping can see: for every example, on its
//! golden inputs and on inputs generated from its schema, the same output
//! and the same errors as decoding everything.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use mapwright_compiler::mir::demand::Demand;
use mapwright_compiler::program::{Engine, Program};
use mapwright_compiler::wire::MappingError;
use mapwright_compiler::wire::json_in::{self, DecodeOptions};

fn invoice_to_sap() -> common::ExampleCase {
    common::example_cases()
        .into_iter()
        .find(|case| case.name.contains("invoice_to_sap.map"))
        .expect("the invoice_to_sap example")
}

#[test]
fn the_invoice_mapping_reads_what_it_names_and_no_more() {
    let case = invoice_to_sap();
    let paths = case.program.input.demanded_paths(&case.program.reads);
    // Not read: id, due_on, customer, the supplier's name and address,
    // the lines' line_id, uom and unit_price, platform fields.
    assert_eq!(
        paths,
        [
            "$.number",
            "$.issued_on",
            "$.currency",
            "$.supplier.id",
            "$.lines[*].sku",
            "$.lines[*].description",
            "$.lines[*].quantity",
            "$.lines[*].net_amount",
            "$.lines[*].tax.category",
            "$.lines[*].tax.rate",
            "$.lines[*].po_number",
            "$.lines[*].cost_center",
            "$.notes",
        ]
    );
}

/// Maps `input` after decoding all of it, as before projection.
fn map_fully(
    program: &Program,
    evaluator: &mapwright_compiler::program::Evaluator<'_>,
    input: &[u8],
) -> Result<String, Vec<MappingError>> {
    let event = json_in::decode_reading(&program.input, Demand::whole_ref(), input, DecodeOptions::default())?;
    evaluator
        .run(&program.mapping, vec![event])
        .map(|value| value.to_string())
        .map_err(|failure| vec![MappingError::from(failure)])
}

#[test]
fn reading_only_what_is_read_changes_no_result() {
    let mut compared = 0;
    let mut projected = 0;
    for case in common::example_cases() {
        let evaluator = case
            .program
            .evaluator(Engine::Interp, &case.params, case.tables.clone())
            .unwrap();
        if !case.program.reads.whole {
            projected += 1;
        }
        for input in &case.seeds {
            let full = map_fully(&case.program, &evaluator, input);
            let partial = case
                .program
                .map_value(&evaluator, input, DecodeOptions::default())
                .map(|value| value.to_string());
            assert_eq!(partial, full, "{}: {}", case.name, String::from_utf8_lossy(input));
            compared += 1;
        }
    }
    assert!(compared > 20, "only {compared} golden inputs were compared");
    assert!(projected > 5, "only {projected} examples read less than everything");
}

#[test]
fn a_field_not_read_is_still_checked() {
    let case = invoice_to_sap();
    let seed = case
        .seeds
        .iter()
        .find(|seed| json_in::decode(&case.program.input, seed, DecodeOptions::default()).is_ok())
        .expect("a golden input that decodes");
    let mut event: serde_json::Value = serde_json::from_slice(seed).unwrap();
    // `due_on` and the customer are not read by this mapping.
    event["due_on"] = serde_json::Value::from("2025-02-30");
    event["customer"] = serde_json::Value::from(17);
    let input = serde_json::to_vec(&event).unwrap();
    let errors = json_in::decode_reading(
        &case.program.input,
        &case.program.reads,
        &input,
        DecodeOptions::default(),
    )
    .expect_err("bad unread fields are still errors");
    let mut paths: Vec<&str> = errors.iter().filter_map(|e| e.source.as_deref()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["$.customer", "$.due_on"], "{errors:?}");
    let full = json_in::decode(&case.program.input, &input, DecodeOptions::default()).unwrap_err();
    assert_eq!(errors, full);
}

/// A mapping over a small schema, its demanded paths, and the check that
/// decoding only those gives the same result on one input.
fn demanded(body: &str) -> Vec<String> {
    use common::Memory;
    use mapwright_compiler::resolve::Workspace;
    use std::collections::HashMap;
    let input = "schema t.input\n\n\
        record Address {\n  street: String\n  city: String\n}\n\
        record Party {\n  name: String\n  address: Address\n}\n\
        record Tax {\n  rate: Decimal\n  code: String\n}\n\
        record Line {\n  sku: String\n  qty: Int\n  tax: Tax\n}\n\
        record Doc {\n  id: String\n  party: Party\n  other: Party?\n  lines: [Line]\n}\n";
    let output = "schema t.output\nformat json\n\n\
        record Out {\n  a: String?\n  b: String?\n  n: Int?\n  party: t.input.Party?\n  lines: [t.input.Line]?\n}\n";
    let schemas = HashMap::from([
        ("t.input".to_owned(), input.to_owned()),
        ("t.output".to_owned(), output.to_owned()),
    ]);
    let source = format!(
        "use t.input.{{Doc, Party, Line}}\nuse t.output.Out\n\n\
         fn name_of(p: Party) -> String {{\n  p.name\n}}\n\n\
         mapping m(d: Doc) -> Out {{\n{body}\n}}\n"
    );
    let mut workspace = Workspace::new(Memory(schemas));
    let result = workspace.check("m.map", source.clone().into_bytes(), Some("m"));
    assert!(
        result.diagnostics.is_empty(),
        "{source}\n{:?}",
        result.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
    let program = Program::new(&workspace, result.module.unwrap(), "m").unwrap();
    let evaluator = program
        .evaluator(Engine::Interp, &HashMap::new(), HashMap::new())
        .unwrap();
    let event = br#"{"id":"D1","party":{"name":"P","address":{"street":"S","city":"C"}},
        "other":{"name":"O","address":{"street":"S2","city":"C2"}},
        "lines":[{"sku":"A","qty":2,"tax":{"rate":"19","code":"V1"}},
                 {"sku":"B","qty":0,"tax":{"rate":"7","code":"V2"}}]}"#;
    let full = map_fully(&program, &evaluator, event);
    let partial = program
        .map_value(&evaluator, event, DecodeOptions::default())
        .map(|value| value.to_string());
    assert!(full.is_ok(), "{body}: {full:?}");
    assert_eq!(partial, full, "{body}");
    program.input.demanded_paths(&program.reads)
}

#[test]
fn each_construct_demands_what_it_uses() {
    // A field read; a record copied whole; a record passed to a `fn`.
    assert_eq!(demanded("  a = d.party.name"), ["$.party.name"]);
    assert_eq!(demanded("  party = d.party"), ["$.party.*"]);
    assert_eq!(
        demanded("  a = name_of(d.other ?? d.party)"),
        ["$.party.*", "$.other.*"]
    );
    // Locals and loops follow the path; `where` reads only its filter.
    assert_eq!(
        demanded("  let kept = d.lines where it.qty > 0\n  a = for l in kept { l.sku }[0]"),
        ["$.lines[*].sku", "$.lines[*].qty"]
    );
    // A list copied whole, or its elements kept by a fold, read whole.
    assert_eq!(demanded("  lines = d.lines where it.qty > 0"), ["$.lines[*].*"]);
    assert_eq!(
        demanded("  lines = sort_by(d.lines, l => l.tax.rate)"),
        ["$.lines[*].*"]
    );
    // Folds to a value read only what their lambda does.
    assert_eq!(demanded("  n = count(d.lines, l => l.qty > 1)"), ["$.lines[*].qty"]);
    assert_eq!(
        demanded("  b = first(d.lines, l => l.qty > 1).tax.code"),
        ["$.lines[*].qty", "$.lines[*].tax.code"]
    );
    // Groups hold their elements: read whole.
    assert_eq!(
        demanded("  n = count(group_by(d.lines, l => l.tax.code))"),
        ["$.lines[*].*"]
    );
    // Nothing read: only the record itself.
    assert_eq!(demanded("  a = \"x\""), ["$"]);
}
