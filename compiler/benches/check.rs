//! Parse + resolve of a generated 5,000-line mapping file (target: < 30 ms),
//! and the language server's work on a 2,000-line file (`editor/…`): the
//! check after a change (target < 50 ms), completion (< 20 ms), hover and
//! semantic tokens.
//!
//! Run with `cargo bench -p mapwright-compiler --bench check`; results are
//! recorded in BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use criterion::{Criterion, criterion_group, criterion_main};
use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};
use std::fmt::Write as _;
use std::hint::black_box;

/// A realistic mapping file of about `lines` lines: params, value tables and
/// invoice mappings with loops, lookups, lambdas and interpolation.
fn generate(lines: usize) -> String {
    let mut out =
        String::from("use canonical.invoice.{Invoice, TaxCategory}\nuse sap.s4.supplier_invoice.SupplierInvoice\n\n");
    let mut index = 0;
    while out.lines().count() < lines {
        let _ = write!(
            out,
            r#"/// Company code for variant {index}.
param company_code_{index}: String(4) = "C{index:03}"
param cost_center_{index}: String = "CC{index}"

table tax_code_{index}: TaxCategory -> String {{
  standard => "V1"
  reduced => "V2"
  zero => "V0"
  exempt => "V0"
  reverse_charge => "R1"
  export => "V0"
  intra_community => "V0"
  not_subject => "V0"
}}

table supplier_{index}: String -> String external

mapping invoice_{index}(inv: Invoice) -> SupplierInvoice {{
  let kept = inv.lines where it.quantity != 0 and it.net_amount > 0
  CompanyCode = company_code_{index}
  DocumentDate = inv.issued_on
  PostingDate = inv.due_on ?? inv.issued_on
  InvoicingParty = required(supplier_{index}[inv.supplier.id], "supplier {{inv.supplier.id}} not yet in SAP")
  SupplierInvoiceIDByInvcgParty = inv.number
  DocumentCurrency = inv.currency
  InvoiceGrossAmount = round(sum(kept, l => l.net_amount * (1 + l.tax.rate / 100)), 2)
  DocumentHeaderText = if inv.notes == none {{ "none" }} else {{ inv.notes ?? "" }}
  to_SupplierInvoiceItemGLAcct = for l, i in kept where l.tax.category != TaxCategory.exempt {{
    SupplierInvoiceItem = pad_left(text(i + 1), 4, "0")
    CompanyCode = company_code_{index}
    GLAccount = "0000400000"
    SupplierInvoiceItemAmount = l.net_amount
    DocumentCurrency = inv.currency
    TaxCode = tax_code_{index}[l.tax.category]
    AssignmentReference = l.po_number
    DebitCreditCode = if l.net_amount < 0 {{ "H" }} else {{ "S" }}
    CostCenter = l.cost_center ?? cost_center_{index}
    SupplierInvoiceItemText = "{{l.sku}}: {{l.description}}"
  }}
}}

"#
        );
        index += 1;
    }
    out
}

/// About `lines` lines holding many small mappings (10 lines each): the
/// checker's per-mapping work, rather than long bodies, dominates.
fn generate_many_mappings(lines: usize) -> String {
    let mut out = String::from("use canonical.customer.Customer\nuse canonical.invoice.{Invoice, TaxCategory}\n\n");
    let mut index = 0;
    while out.lines().count() < lines {
        let _ = write!(
            out,
            r#"mapping customer_{index}(c: Customer) -> Customer {{
  id = "{{c.id}}-{index}"
  name = if length(c.name) > 40 {{ substring(c.name, 0, 40) }} else {{ c.name }}
  vat_id = c.vat_id
  email = c.email ?? "none@example.com"
  country = c.country
  currency = c.currency
  credit_limit = round((c.credit_limit ?? 0) * 1.1, 2)
}}

"#
        );
        index += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let source = generate(5_000);
    let lines = source.lines().count();
    let mut group = c.benchmark_group("check");
    group.bench_function(format!("parse_resolve_{lines}_lines"), |b| {
        b.iter(|| {
            let mut workspace = Workspace::new(EmbeddedStdlib);
            let result = workspace.check("generated.map", black_box(source.as_bytes().to_vec()), None);
            assert!(
                result.diagnostics.is_empty(),
                "the generated file must be clean: {:?}",
                result.diagnostics.first().map(|d| &d.message)
            );
            black_box(result);
        });
    });
    group.bench_function(format!("parse_only_{lines}_lines"), |b| {
        b.iter(|| {
            let mut db = mapwright_compiler::source::SourceDb::new();
            let file = db.add_text(
                "generated.map",
                source.clone(),
                mapwright_compiler::source::Origin::User,
            );
            black_box(mapwright_compiler::syntax::parse(file, black_box(&source)));
        });
    });
    let many = generate_many_mappings(5_000);
    let count = many.matches("\nmapping ").count() + usize::from(many.starts_with("mapping "));
    group.bench_function(format!("check_{}_lines_{count}_mappings", many.lines().count()), |b| {
        b.iter(|| {
            let mut workspace = Workspace::new(EmbeddedStdlib);
            let result = workspace.check("many.map", black_box(many.as_bytes().to_vec()), None);
            assert!(
                result.diagnostics.is_empty(),
                "the generated file must be clean: {:?}",
                result.diagnostics.first()
            );
            black_box(result);
        });
    });
    group.finish();
}

/// What `mapc-lsp` computes per request, on a 2,000-line file. The server
/// adds a thread hand-off and JSON (well under a millisecond) around these.
fn editor(c: &mut Criterion) {
    use mapwright_compiler::ide::{FileView, completion, hover, tokens};
    let source = generate(2_000);
    let lines = source.lines().count();
    let check = |text: &str| {
        let mut workspace = Workspace::new(EmbeddedStdlib);
        let result = workspace.check("generated.map", text.as_bytes().to_vec(), None);
        (workspace, result)
    };
    let mut group = c.benchmark_group("editor");
    // One keystroke changes a literal in the last mapping; the whole file is
    // checked again (the server re-checks, after a 40 ms debounce).
    let edited = {
        let at = source.rfind("\"0000400000\"").expect("a literal to edit");
        let mut text = source.clone();
        text.replace_range(at + 1..at + 2, "1");
        text
    };
    group.bench_function(format!("analysis_after_change_{lines}_lines"), |b| {
        b.iter(|| {
            let (_, result) = check(black_box(&edited));
            assert!(result.diagnostics.is_empty());
            black_box(result);
        });
    });
    // Completion after `inv.` in the last mapping: a check of the text with
    // the marker, then the items.
    let cursor = source.rfind("inv.issued_on").expect("a field read") + "inv.".len();
    group.bench_function(format!("completion_{lines}_lines"), |b| {
        b.iter(|| {
            let marked = completion::with_marker(black_box(&source), cursor);
            let (workspace, result) = check(&marked);
            let view = FileView::new(&workspace, result.module.expect("a module")).expect("a view");
            let items = completion::complete(&view, cursor);
            assert!(items.iter().any(|i| i.label == "issued_on"));
            black_box(items);
        });
    });
    let (workspace, result) = check(&source);
    let view = FileView::new(&workspace, result.module.expect("a module")).expect("a view");
    let hover_at = source.rfind("l.net_amount").expect("a field read") + 3;
    group.bench_function(format!("hover_{lines}_lines"), |b| {
        b.iter(|| black_box(hover::hover(&view, black_box(hover_at)).expect("a hover")));
    });
    group.bench_function(format!("semantic_tokens_{lines}_lines"), |b| {
        b.iter(|| black_box(tokens::semantic_tokens(&view)));
    });
    group.finish();
}

criterion_group!(benches, bench, editor);
criterion_main!(benches);
