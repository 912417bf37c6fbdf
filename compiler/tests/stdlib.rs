//! The standard library: every module checks clean under its own name, and
//! is documented — canonical schemas field by field, every record of every
//! schema, and every module with a doc comment on its `schema` line.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};
use mapwright_compiler::syntax::ast::ItemKind;

#[test]
fn every_module_checks_clean_and_is_documented() {
    let mut workspace = Workspace::new(EmbeddedStdlib);
    let mut problems = Vec::new();
    for (module, file, text) in mapwright_stdlib::MODULES {
        let result = workspace.check(&format!("<stdlib>/{file}"), text.as_bytes().to_vec(), Some(module));
        if !result.diagnostics.is_empty() {
            problems.push(format!(
                "{module}:\n{}",
                mapwright_compiler::diagnostics::render::to_plain_text(&workspace.sources, &result.diagnostics)
            ));
        }
        let parsed = mapwright_compiler::syntax::parse(result.file, text);
        for item in &parsed.module.items {
            match &item.kind {
                ItemKind::Schema(_) if item.doc.is_none() => {
                    problems.push(format!("{module}: the `schema` line has no doc comment"))
                }
                ItemKind::Record(record) => {
                    if item.doc.is_none() {
                        problems.push(format!("{module}.{}: record without a doc comment", record.name.name));
                    }
                    if module.starts_with("canonical.") {
                        for field in record.fields.iter().filter(|f| f.doc.is_none()) {
                            problems.push(format!(
                                "{module}.{}.{}: field without a doc comment",
                                record.name.name, field.name.name
                            ));
                        }
                    }
                }
                ItemKind::Enum(decl) if item.doc.is_none() => {
                    problems.push(format!("{module}.{}: enum without a doc comment", decl.name.name));
                }
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_stdlib_covers_the_business_objects_and_targets() {
    let modules: Vec<&str> = mapwright_stdlib::module_paths().collect();
    for expected in [
        "canonical.customer",
        "canonical.supplier",
        "canonical.item",
        "canonical.sales_order",
        "canonical.purchase_order",
        "canonical.invoice",
        "canonical.credit_note",
        "canonical.payment",
        "canonical.journal_entry",
        "canonical.inventory_adjustment",
        "sap.s4.sales_order",
        "sap.s4.supplier_invoice",
        "sap.s4.purchase_order",
        "netsuite.sales_order",
        "netsuite.purchase_order",
        "ubl.invoice",
        "ubl.credit_note",
        "erpnext.sales_invoice",
        "erpnext.sales_order",
        "business_central.sales_invoice",
        "business_central.sales_order",
        "legacy.po_staging",
    ] {
        assert!(modules.contains(&expected), "the stdlib lacks {expected}");
    }
}
