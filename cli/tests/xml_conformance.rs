//! The XML examples' outputs against the real validators.
//!
//! - Every UBL payload of the examples' golden cases (run through `mapc
//!   run`) validates with `xmllint` against the OASIS UBL 2.1 XSD and has no
//!   failed assertion, fatal or warning, under the CEN EN 16931 and the
//!   Peppol BIS Billing 3 Schematron (compiled XSLT, run by SaxonC-HE
//!   through `tests/validators/schematron.py`).
//! - The Schematron harness itself is checked on the official unit tests
//!   shipped beside the rules: it must report what their authors expect.
//! - Every NetSuite payload validates against the SuiteTalk 2023_2 XSDs.
//!
//! The data is found like the JSON conformance tests' (`MAPWRIGHT_SHARED_DATA`
//! or `../shared/data/erp`); without it, or without `xmllint` or the
//! `saxonche` Python package, the tests say so loudly and pass, unless
//! `MAPWRIGHT_REQUIRE_CONFORMANCE=1` (set by `.ci/run`, which installs
//! both), when they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

#[path = "../../compiler/tests/common/mod.rs"]
mod common;

use common::{examples, shared_data_for};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The XML examples and what validates them.
const XML_EXAMPLES: &[(&str, Validation)] = &[
    ("peppol", Validation::Ubl),
    ("sales_order_to_netsuite", Validation::NetSuite),
    ("requisition_to_netsuite", Validation::NetSuite),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Validation {
    Ubl,
    NetSuite,
}

fn skip(message: &str) {
    let message = format!("SKIPPED: {message}");
    assert!(
        std::env::var("MAPWRIGHT_REQUIRE_CONFORMANCE").as_deref() != Ok("1"),
        "{message}"
    );
    eprintln!("\n{message}\n");
}

/// The data folder and the tools, or `None` after saying what is missing.
fn setup() -> Option<PathBuf> {
    let data = shared_data_for("MAPWRIGHT_REQUIRE_CONFORMANCE")?;
    if Command::new("xmllint").arg("--version").output().is_err() {
        skip("xmllint is not installed (Debian: libxml2-utils)");
        return None;
    }
    let saxon = Command::new("python3").args(["-c", "import saxonche"]).output();
    if !saxon.is_ok_and(|o| o.status.success()) {
        skip("the Python package saxonche is not installed (pip install saxonche)");
        return None;
    }
    Some(data)
}

fn schematron_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validators/schematron.py")
}

/// Runs every golden case of `example` through `mapc run`; the payloads of
/// those that map, with their case names.
fn payloads(example: &str) -> Vec<(String, String)> {
    let dir = examples().join(example);
    let map = dir.join(format!("{example}.map"));
    let suite = dir.join(format!("{example}.tests"));
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&suite)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let mut out = Vec::new();
    for case in cases {
        let input: serde_json::Value =
            serde_json::from_slice(&std::fs::read(case.join("input.json")).unwrap()).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_mapc"));
        command.arg("run").arg(&map).arg("--color=never");
        for (flag, name) in [("--params", "params.toml"), ("--tables", "tables.toml")] {
            if let Some(file) = [case.join(name), suite.join(name)].into_iter().find(|p| p.is_file()) {
                command.arg(flag).arg(file);
            }
        }
        if let Ok(text) = std::fs::read_to_string(case.join("case.toml")) {
            let table: toml::Table = text.parse().unwrap();
            if let Some(mapping) = table.get("mapping").and_then(|m| m.as_str()) {
                command.args(["--mapping", mapping]);
            }
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            writeln!(child.stdin.take().unwrap(), "{input}").unwrap();
        }
        let output = child.wait_with_output().unwrap();
        let name = format!("{example}/{}", case.file_name().unwrap().to_string_lossy());
        match output.status.code() {
            Some(0) => out.push((name, String::from_utf8(output.stdout).unwrap())),
            Some(1) => {}
            other => panic!(
                "{name}: mapc run exited {other:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
    out
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapwright-xml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name.replace('/', "__"));
    std::fs::write(&path, text).unwrap();
    path
}

fn xmllint(schema: &Path, file: &Path) -> Result<(), String> {
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .arg(file)
        .output()
        .unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn schematron(xslt: &Path, file: &Path) -> Vec<String> {
    let output = Command::new("python3")
        .arg(schematron_script())
        .arg("check")
        .arg(xslt)
        .arg(file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} ({}): {}", f["id"], f["flag"], f["text"]))
        .collect()
}

#[test]
fn every_xml_example_is_validated() {
    for (example, _) in XML_EXAMPLES {
        let dir = examples().join(example);
        assert!(
            dir.join(format!("{example}.map")).is_file(),
            "{example} is listed but has no mapping"
        );
    }
}

#[test]
fn ubl_outputs_pass_the_xsd_and_both_schematrons() {
    let Some(data) = setup() else { return };
    let xslt = data.join("peppol-billing-compiled-xslt/xslt");
    let mut problems = Vec::new();
    let mut checked = 0;
    for (example, validation) in XML_EXAMPLES {
        if *validation != Validation::Ubl {
            continue;
        }
        for (name, xml) in payloads(example) {
            let root = if xml.contains("<CreditNote") {
                "CreditNote"
            } else {
                "Invoice"
            };
            let file = temp_file(&format!("{name}.xml"), &xml);
            let xsd = data.join(format!("oasis-ubl-2.1/xsd/maindoc/UBL-{root}-2.1.xsd"));
            if let Err(message) = xmllint(&xsd, &file) {
                problems.push(format!("{name}: XSD: {message}"));
            }
            for rules in ["CEN-EN16931-UBL.xslt", "PEPPOL-EN16931-UBL.xslt"] {
                for failed in schematron(&xslt.join(rules), &file) {
                    problems.push(format!("{name}: {rules}: {failed}"));
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} UBL payloads");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{checked} UBL payloads pass the UBL 2.1 XSD, EN 16931 and Peppol BIS 3 rules");
}

/// The harness reports what the rules' own unit tests expect.
#[test]
fn the_schematron_harness_passes_the_official_unit_tests() {
    let Some(data) = setup() else { return };
    let xslt = data.join("peppol-billing-compiled-xslt/xslt");
    for (rules, tests, at_least) in [
        ("CEN-EN16931-UBL.xslt", "cen-en16931-ubl/test/Invoice-unit-UBL", 900),
        ("CEN-EN16931-UBL.xslt", "cen-en16931-ubl/test/CreditNote-unit-UBL", 200),
        (
            "PEPPOL-EN16931-UBL.xslt",
            "peppol-bis-billing-3/rules/unit-UBL-PEPPOL",
            200,
        ),
    ] {
        let output = Command::new("python3")
            .arg(schematron_script())
            .arg("unit-tests")
            .arg(xslt.join(rules))
            .arg(data.join(tests))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let total = summary["tests"].as_u64().unwrap();
        let passed = summary["passed"].as_u64().unwrap();
        assert!(total >= at_least, "{tests}: only {total} unit tests found");
        assert_eq!(passed, total, "{tests}: {}", summary["failures"]);
        eprintln!("{tests}: {passed}/{total} as the rule authors expect");
    }
}

/// The harness can fail: a UBL invoice with wrong totals is caught by the
/// CEN rules.
#[test]
fn the_schematron_check_catches_a_bad_invoice() {
    let Some(data) = setup() else { return };
    let good = std::fs::read_to_string(examples().join("peppol/peppol.tests/domestic_invoice/expected.xml")).unwrap();
    let bad = good.replacen(">436.57</cbc:PayableAmount>", ">999.99</cbc:PayableAmount>", 1);
    assert_ne!(good, bad);
    let file = temp_file("bad_totals.xml", &bad);
    let failed = schematron(
        &data.join("peppol-billing-compiled-xslt/xslt/CEN-EN16931-UBL.xslt"),
        &file,
    );
    assert!(failed.iter().any(|f| f.contains("BR-CO-16")), "{failed:?}");
}

#[test]
fn netsuite_outputs_pass_the_suitetalk_xsds() {
    let Some(data) = setup() else { return };
    let xsd = data.join("netsuite-suitetalk/xsd");
    // platform.messages.xsd does not import the record schemas that
    // xsi:type names; a wrapper brings them in.
    let mut wrapper = String::from("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n");
    for (namespace, file) in [
        (
            "urn:messages_2023_2.platform.webservices.netsuite.com",
            "platform.messages.xsd",
        ),
        (
            "urn:sales_2023_2.transactions.webservices.netsuite.com",
            "transactions.sales.xsd",
        ),
        (
            "urn:purchases_2023_2.transactions.webservices.netsuite.com",
            "transactions.purchases.xsd",
        ),
    ] {
        wrapper.push_str(&format!(
            "  <xs:import namespace=\"{namespace}\" schemaLocation=\"{}\"/>\n",
            xsd.join(file).display()
        ));
    }
    wrapper.push_str("</xs:schema>\n");
    let schema = temp_file("netsuite-wrapper.xsd", &wrapper);
    let mut problems = Vec::new();
    let mut checked = 0;
    for (example, validation) in XML_EXAMPLES {
        if *validation != Validation::NetSuite {
            continue;
        }
        for (name, xml) in payloads(example) {
            let file = temp_file(&format!("{name}.xml"), &xml);
            if let Err(message) = xmllint(&schema, &file) {
                problems.push(format!("{name}: {message}"));
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "only {checked} NetSuite payloads");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // And the check can fail: an element out of the XSD's order.
    let (_, first) = payloads(XML_EXAMPLES[1].0).into_iter().next().unwrap();
    let broken = first.replacen("<tranSales:entity", "<tranSales:bogus/><tranSales:entity", 1);
    let file = temp_file("broken-netsuite.xml", &broken);
    assert!(xmllint(&schema, &file).is_err(), "an unknown element passed the XSD");
    eprintln!("{checked} NetSuite payloads pass the SuiteTalk 2023_2 XSDs");
}
