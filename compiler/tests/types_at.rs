//! The checker records the type of every expression: what a hover shows
//! and what lowering reads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};

fn type_at(source: &str, marker: &str) -> String {
    let mut workspace = Workspace::new(EmbeddedStdlib);
    let result = workspace.check("hover.map", source.as_bytes().to_vec(), None);
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    let offset = source
        .find(marker)
        .unwrap_or_else(|| panic!("no `{marker}` in the source"));
    let (span, ty) = workspace.type_at(result.module.unwrap(), offset).expect("a type");
    let shown = workspace.types.display(ty).to_string();
    format!("{} : {shown}", &source[span.range()])
}

const SOURCE: &str = r#"use canonical.invoice.Invoice
use sap.s4.supplier_invoice.SupplierInvoice

mapping m(inv: Invoice) -> SupplierInvoice {
  let kept = inv.lines where it.quantity != 0
  CompanyCode = "1000"
  DocumentDate = inv.issued_on
  PostingDate = inv.due_on ?? inv.issued_on
  InvoicingParty = "1"
  DocumentCurrency = inv.currency
  InvoiceGrossAmount = round(sum(kept, l => l.net_amount * (1 + l.tax.rate / 100)), 2)
  to_SupplierInvoiceItemGLAcct = for l, i in kept {
    SupplierInvoiceItem = pad_left(text(i + 1), 4, "0")
    GLAccount = "0000400000"
    SupplierInvoiceItemAmount = l.net_amount
    DocumentCurrency = inv.currency
    DebitCreditCode = "S"
  }
}
"#;

#[test]
fn every_expression_has_its_type() {
    assert_eq!(type_at(SOURCE, "lines where"), "inv.lines : [InvoiceLine]");
    assert_eq!(type_at(SOURCE, "quantity != 0"), "it.quantity : Decimal(4)");
    assert_eq!(type_at(SOURCE, "due_on ??"), "inv.due_on : Date?");
    assert_eq!(
        type_at(SOURCE, "?? inv.issued_on"),
        "inv.due_on ?? inv.issued_on : Date"
    );
    assert_eq!(type_at(SOURCE, "rate / 100"), "l.tax.rate : Decimal(2)");
    assert_eq!(type_at(SOURCE, "/ 100"), "l.tax.rate / 100 : Decimal");
    assert_eq!(
        type_at(SOURCE, "* (1"),
        "l.net_amount * (1 + l.tax.rate / 100) : Decimal"
    );
    assert_eq!(
        type_at(SOURCE, "round("),
        "round(sum(kept, l => l.net_amount * (1 + l.tax.rate / 100)), 2) : Decimal(2)"
    );
    assert_eq!(type_at(SOURCE, "i + 1"), "i : Int");
    assert_eq!(type_at(SOURCE, "pad_left"), "pad_left(text(i + 1), 4, \"0\") : String");
}
