//! The examples' outputs against the real ERP metadata.
//!
//! Every golden case of every example is run through `mapc run` (the real
//! command, on the case's compacted input with its params and tables); each
//! payload it writes is then checked against the metadata its target
//! schema cites with `@metadata(source, entity)`:
//!
//! - SAP (OData v2 EDMX): every property and navigation is declared by the
//!   entity type, no property is `sap:creatable="false"`, text respects
//!   `MaxLength`, decimals respect `Scale`, dates are `/Date(ms)/`, and
//!   navigations are `{"results": [...]}` of the navigation's entity. Tenant
//!   custom fields (`YY1_…`, SAP's key-user extensibility names) live in the
//!   tenant's own metadata and are accepted by name.
//! - ERPNext (DocType JSON): every field is a DocType field and not read-only;
//!   every `reqd` field that is not read-only and has no default is set,
//!   except those the server fills on insert (see [`ERPNEXT_SERVER_FILLED`]);
//!   child rows are checked against their child DocType; custom fields
//!   (`custom_…`, Frappe Custom Fields) are accepted by name.
//! - Business Central (API v2.0 reference pages): only documented properties
//!   and navigations, none read-only.
//!
//! Without the data the test says so loudly and passes, unless
//! `MAPWRIGHT_REQUIRE_CONFORMANCE=1` (set by `.ci/run`), when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

#[path = "../../compiler/tests/common/mod.rs"]
mod common;

use common::{Entity, bc_entity, doctype_entity, edmx_entity, metadata_of, shared_data_for};
use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};
use mapwright_compiler::types::{RecordDef, RecordId, Ty};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Each example and the target record its mapping produces.
const EXAMPLES: &[(&str, &str, &str)] = &[
    ("invoice_to_sap", "sap.s4.supplier_invoice", "SupplierInvoice"),
    ("invoice_to_erpnext", "erpnext.sales_invoice", "SalesInvoice"),
    (
        "invoice_to_business_central",
        "business_central.sales_invoice",
        "SalesInvoice",
    ),
    ("sales_order_to_sap", "sap.s4.sales_order", "SalesOrder"),
    ("requisition_to_sap_po", "sap.s4.purchase_order", "PurchaseOrder"),
];

/// Examples whose outputs are checked elsewhere: the XML ones by
/// `tests/xml_conformance.rs` (XSDs and Schematron); the CSV one targets a
/// tenant's own staging file, with no third-party definition to check
/// against, so its golden cases pin its bytes.
const CHECKED_ELSEWHERE: &[&str] = &[
    "peppol",
    "sales_order_to_netsuite",
    "requisition_to_netsuite",
    "requisition_to_csv",
];

/// ERPNext `reqd` fields that `POST /api/resource/…` fills itself when they
/// are missing (Frappe's naming series default; ERPNext's
/// `set_missing_values` takes exchange rates, the price list and the
/// receivable account from the company and customer, and the conversion
/// factor from the item's UOM). The stdlib schema documents the same.
const ERPNEXT_SERVER_FILLED: &[&str] = &[
    "naming_series",
    "conversion_rate",
    "plc_conversion_rate",
    "selling_price_list",
    "debit_to",
    "conversion_factor",
];

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn shared_data() -> Option<PathBuf> {
    shared_data_for("MAPWRIGHT_REQUIRE_CONFORMANCE")
}

/// The stdlib, checked, with the target record of each example.
fn stdlib() -> Workspace<EmbeddedStdlib> {
    let mut workspace = Workspace::new(EmbeddedStdlib);
    for (module, file, text) in mapwright_stdlib::MODULES {
        let result = workspace.check(&format!("<stdlib>/{file}"), text.as_bytes().to_vec(), Some(module));
        assert!(result.diagnostics.is_empty(), "{module} does not check clean");
    }
    workspace
}

fn record_id(workspace: &Workspace<EmbeddedStdlib>, module: &str, name: &str) -> RecordId {
    let index = workspace
        .types
        .records
        .iter()
        .position(|r| r.module_path == module && r.name == name)
        .unwrap_or_else(|| panic!("no record {module}.{name}"));
    RecordId(index as u32)
}

/// Runs one golden case through `mapc run`; `Some(payload)` when it maps.
fn run_case(map_file: &Path, suite: &Path, case: &Path) -> Option<Json> {
    let input: Json = serde_json::from_slice(&std::fs::read(case.join("input.json")).ok()?).ok()?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_mapc"));
    command.arg("run").arg(map_file).arg("--color=never");
    for (flag, name) in [("--params", "params.toml"), ("--tables", "tables.toml")] {
        if let Some(file) = [case.join(name), suite.join(name)].into_iter().find(|p| p.is_file()) {
            command.arg(flag).arg(file);
        }
    }
    if std::fs::read_to_string(case.join("case.toml")).is_ok_and(|t| t.contains("strict = true")) {
        command.arg("--strict");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{input}").unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    match output.status.code() {
        Some(0) => Some(serde_json::from_str(stdout.trim_end()).unwrap()),
        Some(1) => {
            assert!(stdout.is_empty(), "a failed record wrote output: {stdout}");
            None
        }
        other => panic!(
            "mapc run on {} exited with {other:?}: {}",
            case.display(),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

struct Checker<'a> {
    workspace: &'a Workspace<EmbeddedStdlib>,
    data: &'a Path,
    entities: HashMap<(String, String), Entity>,
    problems: Vec<String>,
}

impl Checker<'_> {
    fn entity(&mut self, record: &RecordDef) -> Option<(String, Entity)> {
        let (source, entity) = metadata_of(record)?;
        let key = (source.clone(), entity.clone());
        if !self.entities.contains_key(&key) {
            let text = std::fs::read_to_string(self.data.join(&source)).unwrap();
            let parsed = if source.ends_with(".edmx") {
                edmx_entity(&text, &entity)
            } else if source.ends_with(".json") {
                doctype_entity(&text)
            } else if source.ends_with(".md") {
                bc_entity(&text)
            } else {
                None
            }
            .unwrap_or_else(|| panic!("{source}: no entity {entity}"));
            self.entities.insert(key.clone(), parsed);
        }
        Some((source, self.entities.get(&key)?.clone()))
    }

    fn check(&mut self, case: &str, path: &str, json: &Json, id: RecordId) {
        let record = self.workspace.types.record(id).unwrap().clone();
        let Some((source, entity)) = self.entity(&record) else {
            self.problems
                .push(format!("{case}: {path}: {} cites no metadata", record.name));
            return;
        };
        let Json::Object(fields) = json else {
            self.problems.push(format!("{case}: {path}: not an object"));
            return;
        };
        let sap = source.ends_with(".edmx");
        let erpnext = source.ends_with(".json");
        for (key, value) in fields {
            let here = format!("{path}.{key}");
            let Some(property) = entity.get(key) else {
                // Tenants' custom fields: SAP key-user extensibility
                // (`YY1_…`), Frappe Custom Fields (`custom_…`).
                if (sap && key.starts_with("YY1_")) || (erpnext && key.starts_with("custom_")) {
                    continue;
                }
                self.problems
                    .push(format!("{case}: {here}: {source} does not declare `{key}`"));
                continue;
            };
            if property.server_assigned {
                self.problems
                    .push(format!("{case}: {here}: the ERP assigns `{key}` itself"));
            }
            let field_ty = record.field(key).and_then(|f| f.ty.clone());
            if property.navigation {
                let items = match (sap, value) {
                    (true, Json::Object(wrapper)) => wrapper.get("results").and_then(Json::as_array),
                    (false, Json::Array(items)) => Some(items),
                    _ => None,
                };
                let Some(items) = items else {
                    let form = if sap { "{\"results\": [...]}" } else { "an array" };
                    self.problems
                        .push(format!("{case}: {here}: a navigation must be {form}"));
                    continue;
                };
                let element = field_ty.as_ref().and_then(Ty::element).and_then(Ty::as_record);
                match element {
                    Some(element) => {
                        for (index, item) in items.iter().enumerate() {
                            self.check(case, &format!("{here}[{index}]"), item, element);
                        }
                    }
                    None => self
                        .problems
                        .push(format!("{case}: {here}: the schema has no record for it")),
                }
                continue;
            }
            if let (Some(max), Some(text)) = (property.max_length, value.as_str())
                && text.chars().count() > max as usize
            {
                self.problems.push(format!(
                    "{case}: {here}: {} characters; MaxLength is {max}",
                    text.chars().count()
                ));
            }
            if sap {
                match property.kind.as_str() {
                    "Edm.Decimal" => {
                        let text = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
                        let places = text.split_once('.').map_or(0, |(_, f)| f.len()) as u32;
                        if property.scale.is_some_and(|s| places > s) {
                            self.problems
                                .push(format!("{case}: {here}: {text} has more places than Scale"));
                        }
                        if !value.is_string() {
                            self.problems
                                .push(format!("{case}: {here}: OData v2 JSON writes Edm.Decimal as a string"));
                        }
                    }
                    "Edm.DateTime" => {
                        let ok = value.as_str().is_some_and(|t| {
                            t.strip_prefix("/Date(")
                                .and_then(|t| t.strip_suffix(")/"))
                                .is_some_and(|ms| ms.parse::<i64>().is_ok())
                        });
                        if !ok {
                            self.problems
                                .push(format!("{case}: {here}: {value} is not an OData v2 /Date(ms)/"));
                        }
                    }
                    "Edm.String" if !value.is_string() => {
                        self.problems
                            .push(format!("{case}: {here}: Edm.String written as {value}"));
                    }
                    _ => {}
                }
            }
        }
        if erpnext {
            for (name, property) in &entity {
                if property.required
                    && !property.server_assigned
                    && !property.has_default
                    && !ERPNEXT_SERVER_FILLED.contains(&name.as_str())
                    && !fields.contains_key(name)
                {
                    self.problems.push(format!(
                        "{case}: {path}: the DocType requires `{name}`, and the output lacks it"
                    ));
                }
            }
        }
    }
}

fn cases(example: &str) -> Vec<PathBuf> {
    let suite = examples_dir().join(example).join(format!("{example}.tests"));
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&suite)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_example_is_covered_by_conformance() {
    let mut found: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.path()
                .join(format!("{}.map", e.file_name().to_string_lossy()))
                .is_file()
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut listed: Vec<String> = EXAMPLES
        .iter()
        .map(|(name, ..)| *name)
        .chain(CHECKED_ELSEWHERE.iter().copied())
        .map(str::to_owned)
        .collect();
    listed.sort();
    assert_eq!(found, listed, "add new examples to EXAMPLES in tests/conformance.rs");
}

#[test]
fn example_outputs_conform_to_the_erp_metadata() {
    let Some(data) = shared_data() else { return };
    let workspace = stdlib();
    let mut checker = Checker {
        workspace: &workspace,
        data: &data,
        entities: HashMap::new(),
        problems: Vec::new(),
    };
    let mut payloads = 0;
    for (example, module, record) in EXAMPLES {
        let id = record_id(&workspace, module, record);
        let map_file = examples_dir().join(example).join(format!("{example}.map"));
        let suite = examples_dir().join(example).join(format!("{example}.tests"));
        let mut mapped = 0;
        for case in cases(example) {
            let name = format!("{example}/{}", case.file_name().unwrap().to_string_lossy());
            if let Some(payload) = run_case(&map_file, &suite, &case) {
                checker.check(&name, "$", &payload, id);
                mapped += 1;
            }
        }
        assert!(
            mapped > 0,
            "{example}: no golden case maps successfully, so nothing was checked"
        );
        payloads += mapped;
    }
    assert!(
        checker.problems.is_empty(),
        "{} problems:\n{}",
        checker.problems.len(),
        checker.problems.join("\n")
    );
    eprintln!("{payloads} example payloads conform to the ERP metadata");
}

/// The checks can fail: a payload with an undeclared property, a
/// server-assigned one, a too-long text, a bad date and a plain array for
/// a navigation is caught, and so is an ERPNext row that lacks a required
/// field.
#[test]
fn the_conformance_check_catches_bad_payloads() {
    let Some(data) = shared_data() else { return };
    let workspace = stdlib();
    let mut checker = Checker {
        workspace: &workspace,
        data: &data,
        entities: HashMap::new(),
        problems: Vec::new(),
    };
    let sap: Json = serde_json::json!({
        "CompanyCode": "10100",
        "DocumentDate": "2025-02-18",
        "InvoiceGrossAmount": 12.5,
        "SupplierInvoice": "5100000001",
        "MadeUpField": "x",
        "to_SupplierInvoiceItemGLAcct": [{"SupplierInvoiceItem": "0001"}]
    });
    checker.check(
        "bad",
        "$",
        &sap,
        record_id(&workspace, "sap.s4.supplier_invoice", "SupplierInvoice"),
    );
    let erpnext: Json = serde_json::json!({
        "customer": "Acme",
        "company": "Acme GmbH",
        "currency": "EUR",
        "posting_date": "2025-02-18",
        "items": [{"item_code": "A", "qty": 1}],
        "grand_total": 10
    });
    checker.check(
        "bad",
        "$",
        &erpnext,
        record_id(&workspace, "erpnext.sales_invoice", "SalesInvoice"),
    );
    let joined = checker.problems.join("\n");
    for expected in [
        "$.CompanyCode: 5 characters; MaxLength is 4",
        "$.DocumentDate: \"2025-02-18\" is not an OData v2 /Date(ms)/",
        "$.InvoiceGrossAmount: OData v2 JSON writes Edm.Decimal as a string",
        "$.SupplierInvoice: the ERP assigns `SupplierInvoice` itself",
        "$.MadeUpField: sap-s4hana-odata-edmx/API_SUPPLIERINVOICE_PROCESS_SRV.edmx does not declare `MadeUpField`",
        "$.to_SupplierInvoiceItemGLAcct: a navigation must be {\"results\": [...]}",
        "$.grand_total: the ERP assigns `grand_total` itself",
        "$.items[0]: the DocType requires `item_name`, and the output lacks it",
        "$.items[0]: the DocType requires `rate`, and the output lacks it",
    ] {
        assert!(joined.contains(expected), "missing `{expected}` in:\n{joined}");
    }
}
