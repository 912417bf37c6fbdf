//! MIR: every example mapping lowers, and its MIR is snapshotted (reviewed
//! by hand, so a change in lowering shows up as a diff). The interpreter
//! runs a mapping end to end on a hand-built event.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::{Examples, examples};

use mapwright_compiler::interp::Interpreter;
use mapwright_compiler::interp::value::Value;
use mapwright_compiler::resolve::Workspace;
use mapwright_compiler::types::TypeStore;
use std::collections::HashMap;

fn check(relative: &str) -> (Workspace<Examples>, mapwright_compiler::types::ModuleId) {
    let mut workspace = Workspace::new(Examples(examples()));
    let bytes = std::fs::read(examples().join(relative)).unwrap();
    let result = workspace.check(relative, bytes, None);
    assert!(result.diagnostics.is_empty(), "{relative} does not check clean");
    (workspace, result.module.unwrap())
}

#[test]
fn every_example_mapping_lowers_and_its_mir_is_snapshotted() {
    let mut maps: Vec<String> = std::fs::read_dir(examples())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .flat_map(|entry| {
            std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok())
        })
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "map"))
        .map(|path| {
            path.strip_prefix(examples())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    maps.sort();
    assert!(maps.len() >= 5, "{maps:?}");
    for relative in &maps {
        let relative = relative.as_str();
        let (workspace, module) = check(relative);
        let mir = mapwright_compiler::mir::lower::lower(&workspace, module).unwrap();
        insta::assert_snapshot!(relative.replace('/', "__"), mir.to_string());
    }
}

/// A record value from field names, in the record's slot order.
fn record(store: &TypeStore, name: &str, fields: &[(&str, Value)]) -> Value {
    let def = store.records.iter().find(|r| r.name == name).unwrap();
    let mut slots = vec![Value::Absent; def.fields.len()];
    for (field, value) in fields {
        slots[*def.field_index.get(*field).unwrap_or_else(|| panic!("{name}.{field}"))] = value.clone();
    }
    Value::Record(slots)
}

fn dec(text: &str) -> Value {
    Value::Decimal(text.parse().unwrap())
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

fn slot(store: &TypeStore, record: &str, value: &Value, field: &str) -> Value {
    let def = store.records.iter().find(|r| r.name == record).unwrap();
    match value {
        Value::Record(slots) => slots[*def.field_index.get(field).unwrap()].clone(),
        other => panic!("not a record: {other}"),
    }
}

#[test]
fn the_interpreter_runs_invoice_to_sap() {
    let (workspace, module) = check("invoice_to_sap/invoice_to_sap.map");
    let mir = mapwright_compiler::mir::lower::lower(&workspace, module).unwrap();
    let store = &workspace.types;
    let tax = |category: &str, index: u32, rate: &str| {
        record(
            store,
            "Tax",
            &[
                ("category", Value::Enum(index, category.to_owned())),
                ("rate", dec(rate)),
            ],
        )
    };
    let line = |sku: &str, quantity: &str, amount: &str, tax: Value, cost_center: Option<&str>| {
        record(
            store,
            "InvoiceLine",
            &[
                ("sku", text(sku)),
                ("description", text("Consulting")),
                ("quantity", dec(quantity)),
                ("uom", text("HUR")),
                ("net_amount", dec(amount)),
                ("tax", tax),
                ("cost_center", cost_center.map_or(Value::Absent, text)),
            ],
        )
    };
    let supplier = record(
        store,
        "Party",
        &[("id", text("sup-1")), ("name", text("Acme")), ("country", text("DE"))],
    );
    let invoice = record(
        store,
        "Invoice",
        &[
            ("id", text("inv-1")),
            ("number", text("2025-0001")),
            ("issued_on", Value::Date(jiff::civil::date(2025, 3, 1))),
            ("currency", text("EUR")),
            ("supplier", supplier),
            (
                "lines",
                Value::List(vec![
                    line("A", "2", "100.00", tax("standard", 0, "19"), Some("CC-7")),
                    line("B", "0", "50.00", tax("reduced", 1, "7"), None),
                    line("C", "1", "10.00", tax("reduced", 1, "7"), None),
                ]),
            ),
        ],
    );
    let params = HashMap::from([("company_code".to_owned(), text("1000"))]);
    let tables = HashMap::from([(
        "supplier_number".to_owned(),
        HashMap::from([("sup-1".to_owned(), text("0000100042"))]),
    )]);
    let interpreter = Interpreter::new(&mir, &params, tables).unwrap();
    let out = interpreter.call("invoice_to_sap", vec![invoice.clone()]).unwrap();
    let header = |field: &str| slot(store, "SupplierInvoice", &out, field).to_string();
    assert_eq!(header("CompanyCode"), "\"1000\"");
    assert_eq!(header("InvoicingParty"), "\"0000100042\"");
    assert_eq!(header("DocumentDate"), "2025-03-01");
    // Line B has quantity 0 and is dropped: 100.00 × 1.19 + 10.00 × 1.07.
    assert_eq!(header("InvoiceGrossAmount"), "129.70");
    assert_eq!(header("DocumentHeaderText"), "none");
    let Value::List(items) = slot(store, "SupplierInvoice", &out, "to_SupplierInvoiceItemGLAcct") else {
        panic!("items")
    };
    assert_eq!(items.len(), 2);
    let item = |index: usize, field: &str| slot(store, "GLAcctItem", &items[index], field).to_string();
    assert_eq!(item(0, "SupplierInvoiceItem"), "\"0001\"");
    assert_eq!(item(1, "SupplierInvoiceItem"), "\"0002\"");
    assert_eq!(item(0, "TaxCode"), "\"V1\"");
    assert_eq!(item(1, "TaxCode"), "\"V2\"");
    assert_eq!(item(0, "CostCenter"), "\"CC-7\"");
    assert_eq!(item(1, "CostCenter"), "\"DEFAULT\"");
    assert_eq!(item(0, "SupplierInvoiceItemText"), "\"A: Consulting\"");
    assert_eq!(item(0, "DebitCreditCode"), "\"S\"");

    // An unknown supplier fails the record with the mapping's own message.
    let interpreter = Interpreter::new(&mir, &params, HashMap::new()).unwrap();
    let error = interpreter.call("invoice_to_sap", vec![invoice]).unwrap_err();
    assert_eq!(error.to_string(), "supplier not yet in SAP");
    // A param without a default must be given.
    assert!(Interpreter::new(&mir, &HashMap::new(), HashMap::new()).is_err());
}
