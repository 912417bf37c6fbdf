//! `mapc run` and `mapc test` end to end: the sample events, per-record
//! errors with paths while the run goes on (malformed and truncated JSON,
//! invalid UTF-8, a 10 MB string, 10,000-deep nesting, numbers beyond the
//! decimal range, impossible dates, over-long lines), `--errors-json`,
//! params and tables checked against the mapping, and golden cases: the
//! examples' pass, a wrong expectation fails with a diff by path, `--bless`
//! writes new expectations.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn mapc(args: &[&str], dir: &Path, stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mapc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mapc runs");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.map(<[u8]>::to_vec).unwrap_or_default();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SAP: &[&str] = &[
    "run",
    "invoice_to_sap/invoice_to_sap.map",
    "--params",
    "invoice_to_sap/tenant_acme/params.toml",
    "--tables",
    "invoice_to_sap/tenant_acme/tables.toml",
];

fn good_invoice() -> serde_json::Value {
    let path = examples().join("invoice_to_sap/invoice_to_sap.tests/de_supplier_invoice/input.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn mapc_run_maps_the_sample_events() {
    let mut args = SAP.to_vec();
    args.extend(["--input", "invoice_to_sap/sample_events.jsonl"]);
    let output = mapc(&args, &examples(), None);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3);
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let golden: serde_json::Value = serde_json::from_slice(
        &std::fs::read(examples().join("invoice_to_sap/invoice_to_sap.tests/de_supplier_invoice/expected.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first, golden);
    // Byte-exact: decimals with their scale, OData dates, field order.
    assert!(lines[0].starts_with(r#"{"CompanyCode":"1010","DocumentDate":"/Date(1739836800000)/","#));
    assert!(lines[0].contains(r#""SupplierInvoiceItemAmount":"-20.00""#));
    assert!(text(&output.stderr).contains("mapped 3 records, 0 failed"));
}

#[test]
fn every_bad_record_gets_its_error_and_the_run_goes_on() {
    let good = good_invoice().to_string();
    let mut impossible_date = good_invoice();
    impossible_date["issued_on"] = "2026-02-30".into();
    let mut huge = good_invoice();
    huge["notes"] = "x".repeat(10 * 1024 * 1024).into();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let mut deep_field = good_invoice();
    deep_field["platform_metadata"] = serde_json::Value::Null;
    let deep_field = deep_field
        .to_string()
        .replace("\"platform_metadata\":null", &format!("\"platform_metadata\":{deep}"));
    let beyond = good.replace(
        "\"net_amount\":\"249.00\"",
        "\"net_amount\":123456789012345678901234567890.5",
    );
    let mut input = Vec::new();
    for line in [
        good.as_bytes(),                                             // 1 ok
        b"{\"id\": \"broken\", ",                                    // 2 malformed
        b"",                                                         // 3 blank: skipped
        &[b'"', 0xff, 0xfe, b'"'],                                   // 4 invalid UTF-8
        serde_json::to_string(&impossible_date).unwrap().as_bytes(), // 5
        serde_json::to_string(&huge).unwrap().as_bytes(),            // 6 10 MB
        deep.as_bytes(),                                             // 7 10,000 deep
        deep_field.as_bytes(),                                       // 8 deep unknown field: ignored
        beyond.as_bytes(),                                           // 9 beyond decimal range
        good.as_bytes(),                                             // 10 ok
    ] {
        input.extend_from_slice(line);
        input.push(b'\n');
    }
    input.extend_from_slice(&good.as_bytes()[..200]); // 11 truncated, no newline
    let output = mapc(SAP, &examples(), Some(&input));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Lines 1, 8 (its unknown field is skipped without recursion) and 10.
    assert_eq!(text(&output.stdout).lines().count(), 3, "{stderr}");
    for expected in [
        "line 2: $: the JSON ends too early at column 17",
        "line 4: $: malformed JSON at column 2: invalid unicode code point",
        "line 5: $.issued_on: \"2026-02-30\" is not a valid date",
        "line 6: $.notes → $.DocumentHeaderText: the text has 10485760 characters; the target takes at most 25",
        "line 7: $: expected an object (Invoice), found an array",
        "line 9: $.lines[0].net_amount: 123456789012345678901234567890.5 is beyond the decimal range",
        "line 11: $.supplier: the JSON ends too early at column 200",
        "mapped 3 records, 7 failed",
    ] {
        assert!(
            stderr.contains(expected),
            "missing `{expected}` in:\n{}",
            &stderr[..stderr.len().min(4000)]
        );
    }
    for mapped in ["line 1:", "line 3:", "line 8:", "line 10:"] {
        assert!(!stderr.contains(mapped), "{mapped} {stderr}");
    }
}

#[test]
fn errors_json_gives_one_object_per_problem() {
    let mut bad = good_invoice();
    bad["supplier"]["id"] = "SUP-NEW".into();
    let mut wrong = good_invoice();
    wrong["currency"] = "euro".into();
    wrong["lines"][0]["quantity"] = true.into();
    let input = format!("{bad}\n{wrong}\n");
    let mut args = SAP.to_vec();
    args.push("--errors-json");
    let output = mapc(&args, &examples(), Some(input.as_bytes()));
    assert_eq!(output.status.code(), Some(1));
    let errors: Vec<serde_json::Value> = text(&output.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each stderr line is JSON"))
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(errors[0]["line"], 1);
    assert_eq!(errors[0]["stage"], "mapping");
    assert_eq!(errors[0]["source"], "$.supplier.id");
    assert_eq!(errors[0]["target"], "$.InvoicingParty");
    assert_eq!(errors[0]["message"], "supplier not yet in SAP");
    assert_eq!(errors[1]["line"], 2);
    assert_eq!(errors[1]["stage"], "input");
    assert_eq!(errors[1]["source"], "$.currency");
    assert_eq!(errors[2]["source"], "$.lines[0].quantity");
    assert!(errors[2]["target"].is_null());
}

#[test]
fn an_over_long_record_is_skipped_with_an_error() {
    let good = good_invoice().to_string();
    let long = format!("{{\"id\": \"{}\"}}", "y".repeat(5000));
    let input = format!("{long}\n{good}\n");
    let mut args = SAP.to_vec();
    args.extend(["--max-record-bytes", "4096"]);
    let output = mapc(&args, &examples(), Some(input.as_bytes()));
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("line 1: $: the record is longer than 4096 bytes"));
    assert_eq!(text(&output.stdout).lines().count(), 1);
}

#[test]
fn params_and_tables_are_checked_against_the_mapping() {
    let dir = std::env::temp_dir().join(format!("mapc-run-params-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let params = dir.join("params.toml");
    std::fs::write(&params, "company_cod = \"1010\"\nexpense_account = \"0000400000000\"\n").unwrap();
    let tables = dir.join("tables.toml");
    std::fs::write(
        &tables,
        "[supplier_numbers]\n\"A\" = \"1\"\n[tax_code]\nstandard = \"V1\"\n",
    )
    .unwrap();
    let output = mapc(
        &[
            "run",
            "invoice_to_sap/invoice_to_sap.map",
            "--params",
            params.to_str().unwrap(),
        ],
        &examples(),
        Some(b""),
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    for expected in [
        "`company_cod`: the mapping has no param of that name (did you mean `company_code`?)",
        "`expense_account`: the text has 13 characters; the param takes at most 10",
        "`company_code`: the param has no default, so it must be given",
    ] {
        assert!(stderr.contains(expected), "missing `{expected}` in:\n{stderr}");
    }
    let output = mapc(
        &[
            "run",
            "invoice_to_sap/invoice_to_sap.map",
            "--params",
            "invoice_to_sap/tenant_acme/params.toml",
            "--tables",
            tables.to_str().unwrap(),
        ],
        &examples(),
        Some(b""),
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("(did you mean `supplier_number`?)"), "{stderr}");
    assert!(
        stderr.contains("`tax_code`: the table is written in the mapping"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_examples_golden_cases_pass() {
    let output = mapc(&["test", "."], &examples(), None);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", text(&output.stderr));
    let summary = stdout.lines().last().unwrap();
    assert!(summary.ends_with(" passed, 0 failed"), "{summary}");
    let count: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(count >= 20, "{summary}");
}

#[test]
fn a_wrong_expectation_fails_with_a_diff_by_path_and_bless_fixes_it() {
    let dir = std::env::temp_dir().join(format!("mapc-golden-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("m.tests/ok")).unwrap();
    std::fs::create_dir_all(dir.join("m.tests/fails")).unwrap();
    std::fs::write(dir.join("Mapwright.toml"), "[project]\nname = \"t\"\n").unwrap();
    std::fs::write(
        dir.join("m.map"),
        r#"use canonical.customer.Customer
use erpnext.sales_invoice.SalesInvoice

mapping m(c: Customer) -> SalesInvoice {
  customer = c.name
  company = "ACME"
  posting_date = parse_date("2025-01-31")
  due_date = add_months(parse_date("2025-01-31"), 1)
  currency = "EUR"
  items = [{ item_code = c.id  qty = 1.5 }]
}
"#,
    )
    .unwrap();
    let customer = r#"{"id": "C1", "name": "Acme", "country": "DE"}"#;
    std::fs::write(dir.join("m.tests/ok/input.json"), customer).unwrap();
    std::fs::write(
        dir.join("m.tests/ok/expected.json"),
        r#"{"customer": "Acme", "company": "ACME", "posting_date": "2025-01-31", "due_date": "2025-03-01",
            "currency": "EUR", "items": [{"item_code": "C1", "qty": 1.5}], "extra": 1}"#,
    )
    .unwrap();
    std::fs::write(dir.join("m.tests/fails/input.json"), r#"{"name": "Acme"}"#).unwrap();
    std::fs::write(dir.join("m.tests/fails/expected-error.txt"), "$.id: something else\n").unwrap();
    let check = mapc(&["check", "."], &dir, None);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));

    let output = mapc(&["test"], &dir, None);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for expected in [
        "FAIL    m.tests/ok",
        "$.due_date: expected \"2025-03-01\", found \"2025-02-28\"",
        "$.items[0].qty: expected 1.5, found 1.5000",
        "$.extra: missing (expected 1)",
        "FAIL    m.tests/fails",
        "- $.id: something else",
        "+ $.id: missing required field `id`",
        "+ $.id: missing required field `id`",
        "2 cases: 0 passed, 2 failed",
    ] {
        assert!(stdout.contains(expected), "missing `{expected}` in:\n{stdout}");
    }

    let blessed = mapc(&["test", "--bless"], &dir, None);
    assert_eq!(blessed.status.code(), Some(0), "{}", text(&blessed.stdout));
    let again = mapc(&["test"], &dir, None);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    let written = std::fs::read_to_string(dir.join("m.tests/ok/expected.json")).unwrap();
    assert!(written.contains("\"qty\": 1.5000"), "{written}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn test_without_cases_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("mapc-golden-none-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = mapc(&["test", "."], &dir, None);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no golden cases found"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_procurement_scenario_runs_for_three_tenants() {
    let out = std::env::temp_dir().join(format!("mapc-procurement-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new("bash")
        .arg(examples().join("procurement/run.sh"))
        .arg(&out)
        .env("MAPC", env!("CARGO_BIN_EXE_mapc"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let sap: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("acme_sap/req_9931.json")).unwrap()).unwrap();
    assert_eq!(sap["Supplier"], "17300002");
    assert_eq!(sap["to_PurchaseOrderItem"]["results"][1]["PurchaseOrderItem"], "20");
    let soap = std::fs::read_to_string(out.join("globex_netsuite/req_9931.xml")).unwrap();
    assert!(soap.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope"));
    assert!(soap.contains("<record xsi:type=\"tranPurch:PurchaseOrder\" externalId=\"req_9931\">"));
    // Well-formed: quick-xml reads it to the end.
    let mut reader = quick_xml::Reader::from_str(&soap);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(error) => panic!("not well-formed: {error}"),
        }
    }
    let csv = std::fs::read(out.join("initech_legacy/PO_PR-2025-0311.csv")).unwrap();
    assert!(csv.starts_with(b"PO_NUMBER;PO_LINE;ORDER_DATE;"));
    assert!(csv.windows(2).any(|w| w == b"\r\n"));
    assert!(csv.windows(12).any(|w| w == b";01.04.2025;"), "{}", text(&csv));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn csv_on_a_stream_has_one_header_and_file_names_must_be_unique() {
    let dir = examples();
    let input = std::fs::read(dir.join("procurement/requisitions.jsonl")).unwrap();
    let args = [
        "run",
        "requisition_to_csv/requisition_to_csv.map",
        "--tables",
        "procurement/tenants/initech_legacy/tables.toml",
    ];
    let output = mapc(&args, &dir, Some(&input));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.matches("PO_NUMBER;").count(), 1, "{stdout}");
    assert_eq!(stdout.lines().count(), 1 + 2 + 1, "{stdout}");

    let out = std::env::temp_dir().join(format!("mapc-names-{}", std::process::id()));
    let out_text = out.to_string_lossy().into_owned();
    let mut args = args.to_vec();
    args.extend(["--output-dir", &out_text, "--name-template", "{event.currency}.csv"]);
    let output = mapc(&args, &dir, Some(&input));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("line 2: → $: the file name \"EUR.csv\" was already used by line 1"),
        "{}",
        text(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn soap_envelopes_are_for_xml_targets_only() {
    let mut args = SAP.to_vec();
    args.extend(["--soap-envelope", "1.2"]);
    let output = mapc(&args, &examples(), Some(b""));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--soap-envelope applies to XML targets only"));
}

#[test]
fn the_engine_and_the_number_of_jobs_change_nothing_that_is_written() {
    let dir = examples();
    // Good and bad records mixed, across several batches (256 records
    // per thread and batch).
    let good = good_invoice().to_string();
    let mut bad = good_invoice();
    bad["issued_on"] = "2026-02-30".into();
    let bad = bad.to_string();
    let mut sap_input = String::new();
    for index in 0..1_300 {
        sap_input.push_str(match index % 7 {
            0 => &bad,
            3 => "{\"id\": 1}",
            _ => &good,
        });
        sap_input.push('\n');
    }
    // The CSV stream's header must come before the first row written, even
    // when the first records fail.
    let requisitions = std::fs::read_to_string(dir.join("procurement/requisitions.jsonl")).unwrap();
    let mut csv_input = String::from("{\"broken\": \n");
    for _ in 0..300 {
        csv_input.push_str(&requisitions);
    }
    let csv = [
        "run",
        "requisition_to_csv/requisition_to_csv.map",
        "--tables",
        "procurement/tenants/initech_legacy/tables.toml",
    ];
    for (args, input) in [(SAP, sap_input.as_bytes()), (&csv[..], csv_input.as_bytes())] {
        let run = |extra: &[&str]| {
            let mut all = args.to_vec();
            all.extend_from_slice(extra);
            let output = mapc(&all, &dir, Some(input));
            (output.status.code(), text(&output.stdout), text(&output.stderr))
        };
        let reference = run(&["--engine", "interp"]);
        assert_eq!(reference.0, Some(1), "{}", &reference.2[..reference.2.len().min(2000)]);
        assert!(reference.1.lines().count() > 100);
        for extra in [
            &["--engine", "jit"][..],
            &["--jobs", "3"],
            &["--engine", "interp", "--jobs", "2"],
        ] {
            assert!(run(extra) == reference, "{args:?} {extra:?} writes something else");
        }
    }
}

#[test]
fn reads_lists_the_input_fields_a_mapping_uses() {
    let dir = examples().join("invoice_to_sap");
    let output = mapc(&["reads", "invoice_to_sap.map"], &dir, None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listed = text(&output.stdout);
    let paths: Vec<&str> = listed.lines().collect();
    assert!(paths.contains(&"$.supplier.id"), "{listed}");
    assert!(paths.contains(&"$.lines[*].tax.rate"), "{listed}");
    // The customer and the supplier's address are never used.
    assert!(!listed.contains("customer") && !listed.contains("address"), "{listed}");

    let missing = mapc(&["reads", "no_such.map"], &dir, None);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("no_such.map"),
        "{}",
        text(&missing.stderr)
    );
}
