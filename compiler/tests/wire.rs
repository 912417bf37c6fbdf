//! Schema-directed JSON decoding and encoding through [`Program`]: wire
//! forms byte for byte, omitted versus `null`, `@json(name)`, strict mode,
//! every input problem of a record with its path, and escaping that always
//! gives valid JSON (a property test over arbitrary text).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use mapwright_compiler::program::{Framing, Program};
use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};
use mapwright_compiler::wire::json_in::DecodeOptions;
use proptest::prelude::*;
use std::collections::HashMap;

const SOURCE_SCHEMA: &str = r#"schema src
enum Kind { goods, service }
record Line {
  sku: String(8)
  qty: Decimal(3)
  kind: Kind
  note: String?
}
record Event {
  id: String
  count: Int
  amount: Decimal(2)
  ratio: Decimal(9, 4)?
  day: Date
  at: DateTime
  flag: Bool?
  tags: [String]?
  lines: [Line]
  memo: String?
}
"#;

const TARGET_SCHEMA: &str = r#"schema dst
format json { nulls "write" }
record Item {
  Sku: String(8)
  Qty: Decimal(3) @wire(string)
  Kind: String
  Note: String?
}
record Out {
  Id: String @json(name = "ID")
  Count: Int @wire(string)
  Amount: Decimal(2)
  AmountText: Decimal(2) @wire(string)
  Ratio: Decimal(9, 4)?
  Day: Date @wire(odata_v2_date)
  DayPlain: Date
  DayCompact: Date @wire(yyyymmdd)
  At: DateTime @wire(odata_v2_datetime_offset)
  AtPlain: DateTime
  AtMillis: DateTime @wire(epoch_millis)
  Flag: Bool?
  Memo: String? @json(absent = "null")
  Tags: [String]?
  Items: [Item] @wire(odata_v2_results)
  Plain: [Item]
}
"#;

const OMIT_SCHEMA: &str = r#"schema omit
record Out {
  Id: String
  Memo: String?
  Forced: String? @json(absent = "null")
}
"#;

const MAPPING: &str = r#"use src.{Event, Kind}
use dst.Out
use omit.Out as Small

mapping full(e: Event) -> Out {
  Id = e.id
  Count = e.count
  Amount = e.amount
  AmountText = e.amount
  Ratio = e.ratio
  Day = e.day
  DayPlain = e.day
  DayCompact = e.day
  At = e.at
  AtPlain = e.at
  AtMillis = e.at
  Flag = e.flag
  Memo = e.memo
  Tags = e.tags
  Items = for l in e.lines {
    Sku = l.sku
    Qty = l.qty
    Kind = text(l.kind)
    Note = l.note
  }
  Plain = for l in e.lines where l.kind == Kind.service {
    Sku = l.sku
    Qty = l.qty
    Kind = text(l.kind)
  }
}

mapping small(e: Event) -> Small {
  Id = e.id
  Memo = e.memo
}
"#;

fn program(mapping: &str) -> Program {
    let mut workspace = Workspace::new(EmbeddedStdlib);
    for (name, text, path) in [
        ("src.schema", SOURCE_SCHEMA, "src"),
        ("dst.schema", TARGET_SCHEMA, "dst"),
        ("omit.schema", OMIT_SCHEMA, "omit"),
    ] {
        let result = workspace.check(name, text.as_bytes().to_vec(), Some(path));
        assert!(result.diagnostics.is_empty(), "{name}: {:?}", result.diagnostics);
    }
    let result = workspace.check("m.map", MAPPING.as_bytes().to_vec(), Some("m"));
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    Program::new(&workspace, result.module.unwrap(), mapping).unwrap()
}

fn run(program: &Program, input: &str, strict: bool) -> Result<String, Vec<String>> {
    let interpreter =
        mapwright_compiler::program::Evaluator::from(program.interpreter(&HashMap::new(), HashMap::new()).unwrap());
    let mut out = Vec::new();
    program
        .run_event(
            &interpreter,
            input.as_bytes(),
            DecodeOptions { strict },
            Framing::Stream { first: true },
            &mut out,
        )
        .map(|()| String::from_utf8(out).unwrap())
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

const EVENT: &str = r#"{
  "id": "E-1", "count": 42, "amount": 12.5, "ratio": "0.1250",
  "day": "2025-02-18", "at": "2025-02-18T09:30:00+01:00",
  "lines": [
    {"sku": "A-1", "qty": 2, "kind": "goods"},
    {"sku": "B-2", "qty": "0.125", "kind": "service", "note": "tab\tquote\" é 😀"}
  ]
}"#;

#[test]
fn every_wire_form_is_written_byte_for_byte() {
    let out = run(&program("full"), EVENT, false).unwrap();
    let expected = concat!(
        r#"{"ID":"E-1","Count":"42","Amount":12.50,"AmountText":"12.50","Ratio":0.1250,"#,
        r#""Day":"/Date(1739836800000)/","DayPlain":"2025-02-18","DayCompact":"20250218","#,
        r#""At":"/Date(1739867400000+0000)/","AtPlain":"2025-02-18T09:30:00+01:00","AtMillis":1739867400000,"#,
        r#""Flag":null,"Memo":null,"Tags":null,"#,
        r#""Items":{"results":[{"Sku":"A-1","Qty":"2.000","Kind":"goods","Note":null},"#,
        r#"{"Sku":"B-2","Qty":"0.125","Kind":"service","Note":"tab\tquote\" é 😀"}]},"#,
        r#""Plain":[{"Sku":"B-2","Qty":"0.125","Kind":"service","Note":null}]}"#
    );
    assert_eq!(out, expected);
    // Deterministic: the same input gives the same bytes.
    assert_eq!(run(&program("full"), EVENT, false).unwrap(), expected);
}

#[test]
fn absent_optionals_are_omitted_unless_the_schema_says_null() {
    let out = run(&program("small"), EVENT, false).unwrap();
    assert_eq!(out, r#"{"Id":"E-1","Forced":null}"#);
    let with_memo = EVENT.replace(r#""id": "E-1","#, r#""id": "E-1", "memo": "hello","#);
    assert_eq!(
        run(&program("small"), &with_memo, false).unwrap(),
        r#"{"Id":"E-1","Memo":"hello","Forced":null}"#
    );
}

#[test]
fn all_problems_of_a_record_are_reported_with_paths() {
    let bad = r#"{
      "id": 7, "count": 9223372036854775808, "amount": "1.005", "ratio": 123456.5,
      "day": "2025-13-01", "at": "2025-02-18T09:30:00", "flag": "yes", "tags": "x",
      "lines": [
        {"sku": "TOO-LONG-SKU", "qty": 1e2, "kind": "good"},
        null,
        {"qty": 1, "kind": "goods", "sku": "A", "sku": "B"}
      ],
      "memo": null
    }"#;
    let errors = run(&program("full"), bad, false).unwrap_err();
    let expected = [
        "$.id: expected text, found the number 7",
        "$.count: 9223372036854775808 is beyond the range of a 64-bit whole number",
        "$.amount: 1.005 has 3 decimal places; the field takes 2",
        "$.ratio: 123456.5 has more than 9 digits; the field is Decimal(9, 4)",
        "$.day: \"2025-13-01\" is not a valid date",
        "$.at: \"2025-02-18T09:30:00\" is not a valid date-time",
        "$.flag: expected true or false, found text",
        "$.tags: expected an array, found text",
        "$.lines[0].sku: the text has 12 characters; the field takes at most 8",
        "$.lines[0].kind: \"good\" is not a Kind: expected one of \"goods\", \"service\" (did you mean \"goods\"?)",
        "$.lines[1]: null where an object (Line) is required",
        "$.lines[2].sku: the field appears twice",
    ];
    for want in expected {
        assert!(
            errors.iter().any(|e| e.starts_with(want)),
            "missing `{want}` in:\n{}",
            errors.join("\n")
        );
    }
    assert_eq!(errors.len(), expected.len(), "{}", errors.join("\n"));
    // 1e2 is read exactly as 100.
    assert!(!errors.iter().any(|e| e.contains("qty")));
}

#[test]
fn strict_mode_rejects_unknown_fields_with_a_suggestion() {
    let event = EVENT.replace(
        r#""id": "E-1","#,
        r#""id": "E-1", "amuont": 1, "extra": {"deep": [1, 2]},"#,
    );
    assert!(run(&program("full"), &event, false).is_ok());
    let errors = run(&program("full"), &event, true).unwrap_err();
    assert_eq!(
        errors,
        vec![
            "$.amuont: Event has no field `amuont` (did you mean `amount`?)".to_owned(),
            "$.extra: Event has no field `extra`".to_owned(),
        ]
    );
}

#[test]
fn odd_keys_get_quoted_paths() {
    let event = EVENT.replace(r#""id": "E-1","#, r#""id": "E-1", "we ird": 1,"#);
    let errors = run(&program("full"), &event, true).unwrap_err();
    assert_eq!(errors, vec!["$[\"we ird\"]: Event has no field `we ird`".to_owned()]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever text a record carries, the output is valid JSON that gives
    /// the same text back.
    #[test]
    fn any_text_round_trips_through_the_encoder(memo in "\\PC*", control in proptest::collection::vec(0u32..0x20, 0..4)) {
        let mut memo = memo;
        for c in control {
            memo.push(char::from_u32(c).unwrap());
        }
        let mut event: serde_json::Value = serde_json::from_str(EVENT).unwrap();
        event["memo"] = serde_json::Value::String(memo.clone());
        let out = run(&program("small"), &event.to_string(), false).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        prop_assert_eq!(parsed["Memo"].as_str().unwrap(), memo.as_str());
    }
}

/// A large inline table (looked up through its hash index) gives the same
/// answers as a small one (searched in order), first entry winning.
#[test]
fn large_inline_tables_find_the_same_entries() {
    let mut workspace = Workspace::new(EmbeddedStdlib);
    for (name, text, path) in [
        ("src.schema", SOURCE_SCHEMA, "src"),
        ("omit.schema", OMIT_SCHEMA, "omit"),
    ] {
        assert!(
            workspace
                .check(name, text.as_bytes().to_vec(), Some(path))
                .diagnostics
                .is_empty()
        );
    }
    let entries: String = (0..40).map(|i| format!("  \"E-{i}\" => \"entry {i}\"\n")).collect();
    let source = format!(
        "use src.Event\nuse omit.Out\n\ntable names: String -> String {{\n{entries}  \"E-1\" => \"shadowed\"\n  _ => \"unknown\"\n}}\n\nmapping m(e: Event) -> Out {{\n  Id = e.id\n  Memo = names[e.id]\n}}\n"
    );
    let result = workspace.check("t.map", source.into_bytes(), Some("t"));
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    let program = Program::new(&workspace, result.module.unwrap(), "m").unwrap();
    for (id, memo) in [("E-1", "entry 1"), ("E-39", "entry 39"), ("E-40", "unknown")] {
        let event = EVENT.replace("\"E-1\"", &format!("\"{id}\""));
        let out = run(&program, &event, false).unwrap();
        assert_eq!(out, format!(r#"{{"Id":"{id}","Memo":"{memo}","Forced":null}}"#));
    }
}

const XML_SCHEMA: &str = r#"schema xdoc
format xml {
  root Doc
  ns default "urn:example:doc"
  ns x "urn:example:x"
}
record Doc {
  kind: String @xml(attr, fixed = "note")
  label: String? @xml(attr)
  Body: String @xml(x)
}
"#;

fn xml_program() -> Program {
    let mut workspace = Workspace::new(EmbeddedStdlib);
    for (name, text, path) in [
        ("src.schema", SOURCE_SCHEMA, "src"),
        ("xdoc.schema", XML_SCHEMA, "xdoc"),
    ] {
        let result = workspace.check(name, text.as_bytes().to_vec(), Some(path));
        assert!(result.diagnostics.is_empty(), "{name}: {:?}", result.diagnostics);
    }
    let source =
        "use src.Event\nuse xdoc.Doc\n\nmapping m(e: Event) -> Doc {\n  label = e.memo\n  Body = e.memo ?? \"\"\n}\n";
    let result = workspace.check("x.map", source.as_bytes().to_vec(), Some("x"));
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    Program::new(&workspace, result.module.unwrap(), "m").unwrap()
}

/// Reads back the `label` attribute and the `Body` text of a document.
fn read_back(xml: &str) -> (String, String) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut label, mut body, mut in_body) = (String::new(), String::new(), false);
    loop {
        match reader.read_event().expect("well-formed") {
            Event::Start(e) | Event::Empty(e) => {
                if e.local_name().as_ref() == "Doc" {
                    for attr in e.attributes() {
                        let attr = attr.unwrap();
                        if attr.key.as_ref() == "label" {
                            label = attr
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned();
                        }
                    }
                }
                in_body = e.local_name().as_ref() == "Body";
            }
            Event::Text(t) if in_body => body.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0)),
            Event::GeneralRef(r) if in_body => {
                let name = r.xml_content(quick_xml::XmlVersion::Implicit1_0);
                let code = name.trim_start_matches("#x").trim_start_matches('#');
                let value = if name.starts_with("#x") {
                    u32::from_str_radix(code, 16).ok()
                } else if name.starts_with('#') {
                    code.parse().ok()
                } else {
                    None
                };
                match (value.and_then(char::from_u32), name.as_ref()) {
                    (Some(c), _) => body.push(c),
                    (None, "amp") => body.push('&'),
                    (None, "lt") => body.push('<'),
                    (None, "gt") => body.push('>'),
                    (None, "quot") => body.push('"'),
                    (None, "apos") => body.push('\''),
                    (None, other) => panic!("unknown reference {other}"),
                }
            }
            Event::End(_) => in_body = false,
            Event::Eof => break,
            _ => {}
        }
    }
    (label, body)
}

#[test]
fn xml_is_written_with_namespaces_fixed_values_and_escaping() {
    let program = xml_program();
    let event = EVENT.replace(r#""id": "E-1","#, r#""id": "E-1", "memo": "a<b & \"c\"","#);
    let out = run(&program, &event, false).unwrap();
    assert_eq!(
        out,
        r#"<Doc xmlns="urn:example:doc" xmlns:x="urn:example:x" kind="note" label="a&lt;b &amp; &quot;c&quot;"><x:Body>a&lt;b &amp; "c"</x:Body></Doc>"#
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any text either comes back unchanged from a well-formed document
    /// (in an attribute and in an element) or is refused because XML 1.0
    /// cannot carry it.
    #[test]
    fn any_text_round_trips_through_xml_or_is_refused(memo in "\\PC*", extra in proptest::collection::vec(0u32..0x20, 0..3)) {
        let mut memo = memo;
        for c in extra {
            memo.push(char::from_u32(c).unwrap());
        }
        let mut event: serde_json::Value = serde_json::from_str(EVENT).unwrap();
        event["memo"] = serde_json::Value::String(memo.clone());
        let carriable = memo.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r') || u32::from(c) >= 0x7f)
            && !memo.contains(['\u{FFFE}', '\u{FFFF}']);
        match run(&xml_program(), &event.to_string(), false) {
            Ok(out) => {
                prop_assert!(carriable, "{memo:?} was written: {out}");
                let (label, body) = read_back(&out);
                prop_assert_eq!(&label, &memo);
                prop_assert_eq!(&body, &memo);
            }
            Err(errors) => {
                prop_assert!(!carriable, "{memo:?} refused: {errors:?}");
                prop_assert!(errors.iter().all(|e| e.contains("which XML 1.0 cannot carry")), "{errors:?}");
            }
        }
    }
}

#[test]
fn unpaired_surrogates_in_json_escapes_are_input_errors() {
    let event = EVENT.replace(r#""id": "E-1","#, r#""id": "E-1", "memo": "half \ud800 a pair","#);
    let errors = run(&program("small"), &event, false).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("$.memo: malformed JSON at line 2"), "{errors:?}");
    assert!(errors[0].contains("half of a surrogate pair"), "{errors:?}");
}

#[test]
fn a_required_xml_list_must_not_be_empty() {
    let mut workspace = Workspace::new(EmbeddedStdlib);
    let schema = "schema ydoc\nformat xml { root Doc }\nrecord Doc {\n  Line: [String] @required\n}\n";
    for (name, text, path) in [("src.schema", SOURCE_SCHEMA, "src"), ("ydoc.schema", schema, "ydoc")] {
        let result = workspace.check(name, text.as_bytes().to_vec(), Some(path));
        assert!(result.diagnostics.is_empty(), "{name}: {:?}", result.diagnostics);
    }
    let source = "use src.Event\nuse ydoc.Doc\n\nmapping m(e: Event) -> Doc {\n  Line = for l in e.lines where l.qty > 100 { l.sku }\n}\n";
    let result = workspace.check("y.map", source.as_bytes().to_vec(), Some("y"));
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    let program = Program::new(&workspace, result.module.unwrap(), "m").unwrap();
    let errors = run(&program, EVENT, false).unwrap_err();
    assert_eq!(
        errors,
        vec!["→ $.Line: `Line` needs at least one element, and the list is empty".to_owned()]
    );
}

#[test]
fn ten_megabyte_values_go_through_xml() {
    let big = format!("&<{}&<", "üx".repeat(10 * 1024 * 1024 / 3));
    let mut event: serde_json::Value = serde_json::from_str(EVENT).unwrap();
    event["memo"] = serde_json::Value::String(big.clone());
    let out = run(&xml_program(), &event.to_string(), false).unwrap();
    let (label, body) = read_back(&out);
    assert_eq!(label.len(), big.len());
    assert!(body == big);
}

/// Keys the decoder matches where they lie in the input (a word compare
/// against each field's key) are the keys a lookup of the read string
/// finds: keys that are prefixes of others, of 8, 9 to 16 and more bytes,
/// with escapes in the schema or in the input, unknown keys like known
/// ones, keys near the end of the text, in any order.
#[test]
fn keys_matched_in_place_are_the_keys_a_lookup_finds() {
    use mapwright_compiler::interp::value::Value;
    use mapwright_compiler::mir::demand::Demand;
    use mapwright_compiler::wire::json_in;

    let schema = r#"schema keys
record Keys {
  a: String? @json(name = "id")
  b: String? @json(name = "id_x")
  c: String? @json(name = "exactly8")
  d: String? @json(name = "fifteen_chars_x")
  e: String? @json(name = "a_key_of_twenty_chars")
  f: String? @json(name = "quo\"te")
  g: String? @json(name = "größe")
  h: String? @json(name = "x")
}
record Out {
  A: String?
}
"#;
    let mut workspace = Workspace::new(EmbeddedStdlib);
    let result = workspace.check("keys.schema", schema.as_bytes().to_vec(), Some("keys"));
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    let source = "use keys.{Keys, Out}\nmapping m(k: Keys) -> Out {\n  A = k.a\n}\n";
    let result = workspace.check("m.map", source.as_bytes().to_vec(), Some("m"));
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    let program = Program::new(&workspace, result.module.unwrap(), "m").unwrap();

    let fields = [
        ("id", "A"),
        ("id_x", "B"),
        ("exactly8", "C"),
        ("fifteen_chars_x", "D"),
        ("a_key_of_twenty_chars", "E"),
        ("quo\\\"te", "F"),
        ("größe", "G"),
        ("x", "H"),
    ];
    let object = |order: &[usize], key: &dyn Fn(&str) -> String| {
        let members: Vec<String> = order
            .iter()
            .map(|i| format!("\"{}\":\"{}\"", key(fields[*i].0), fields[*i].1))
            .collect();
        format!("{{{}}}", members.join(","))
    };
    let plain = |k: &str| k.to_owned();
    let escaped = |k: &str| k.replacen('i', "\\u0069", 1).replacen('x', "\\u0078", 1);
    let forward: Vec<usize> = (0..fields.len()).collect();
    let backward: Vec<usize> = (0..fields.len()).rev().collect();
    let mut inputs = vec![
        object(&forward, &plain),
        object(&backward, &plain),
        object(&forward, &escaped),
        object(&[1, 0, 3, 2, 5, 4, 7, 6], &plain),
        object(&[7], &plain),
        object(&[0], &plain),
        // A key twice.
        r#"{"id":"A","id":"B"}"#.to_owned(),
        r#"{"x" : "H" , "id":"A"}"#.to_owned(),
    ];
    // Pretty-printed, as producers also write.
    inputs.push(inputs[0].replace(",", ",\n  ").replace(":", ": "));
    // Unknown keys like known ones (a prefix, one byte more or less, the
    // same length and first word), each alone with known keys around it.
    for unknown in [
        "i",
        "idd",
        "id_",
        "id_y",
        "id_xx",
        "exactly",
        "exactly9",
        "exactly88",
        "fifteen_chars_",
        "fifteen_chars_y",
        "fifteen_chars_xy",
        "a_key_of_twenty_charz",
        "a_key_of_twenty_chars_",
    ] {
        inputs.push(format!(r#"{{"id":"A","{unknown}":"1","x":"H"}}"#));
        inputs.push(format!(r#"{{"{unknown}":"1","id":"A"}}"#));
    }
    let expected = |input: &str| -> Vec<Value> {
        // What each field should hold, from the plain keys the input names.
        fields
            .iter()
            .map(|(key, value)| {
                let escaped_key = escaped(key);
                let named = [
                    format!("\"{key}\":"),
                    format!("\"{key}\": "),
                    format!("\"{escaped_key}\":"),
                ];
                if named.iter().any(|n| input.contains(n.as_str())) || input.contains(&format!("\"{key}\" :")) {
                    Value::Text((*value).to_owned())
                } else {
                    Value::Absent
                }
            })
            .collect()
    };
    for input in &inputs {
        for strict in [false, true] {
            let options = DecodeOptions { strict };
            let fast = json_in::decode_reading(&program.input, Demand::whole_ref(), input.as_bytes(), options);
            let slow = json_in::decode_reading_slowly(&program.input, Demand::whole_ref(), input.as_bytes(), options);
            assert_eq!(fast, slow, "the fast path disagrees on {input}");
            if input.contains("\"id\":\"A\",\"id\"") {
                assert!(fast.is_err(), "a key twice is an error: {input}");
            } else if !strict || !input.contains("\":\"1\"") {
                assert_eq!(fast, Ok(Value::Record(expected(input))), "{input}");
            } else {
                assert!(fast.is_err(), "strict mode rejects an unknown key: {input}");
            }
        }
    }
}
