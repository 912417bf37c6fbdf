//! What the runtime's tests and bench share: the examples folder, the
//! output shape of a mapping (for simulated ERPs that check payloads), and
//! the German example invoice.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test uses a part

use mapwright_compiler::wire::shape::Shapes;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository's `examples/` folder.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// The output shape of the only mapping of `examples/<relative>`.
pub fn output_shapes(relative: &str) -> Shapes {
    let file = examples().join(relative);
    let checked = mapwright_project::check_file(&file, None).unwrap();
    mapwright_project::program(&checked, &file, None).unwrap().output
}

/// The shape SAP's supplier-invoice endpoint takes (the invoice_to_sap
/// example's output).
pub fn sap_invoice_shapes() -> Shapes {
    output_shapes("invoice_to_sap/invoice_to_sap.map")
}

/// The German example invoice (a canonical invoice event).
pub fn example_invoice() -> Value {
    serde_json::from_slice(
        &std::fs::read(examples().join("invoice_to_sap/invoice_to_sap.tests/de_supplier_invoice/input.json")).unwrap(),
    )
    .unwrap()
}
