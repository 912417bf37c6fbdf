//! Both engines end to end (JSON bytes in, JSON bytes out, one core) on the
//! invoice → SAP supplier invoice example over 100,000 generated invoices,
//! next to a hand-written serde version of the same mapping (the practical
//! limit) and `serde_json::Value` parse + serialize with no mapping (a
//! floor). All mappers must write identical bytes (checked before timing).
//! Also: the transform alone (decoded events to encoded output) on each
//! engine, over the 100,000 events decoded beforehand and over 1,000 at a
//! time copied just before (in the cache), the JIT on two threads, and
//! JIT-compiling the example. Every row runs on mimalloc, the allocator
//! the binaries ship with.
//!
//! Run with `cargo bench -p mapwright-compiler --bench run`; results are
//! recorded in BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing bench may panic

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mapwright_compiler::interp::value::Value;
use mapwright_compiler::program::{Engine, Evaluator, Framing, Program};
use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};
use mapwright_compiler::wire::json_in::DecodeOptions;
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::str::FromStr;

/// The allocator `mapc` and `mapwright` ship with, for every row alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RECORDS: usize = 100_000;
/// The events of the in-cache transform rows.
const HOT: usize = 1_000;
const CATEGORIES: &[(&str, &str)] = &[("standard", "19.00"), ("reduced", "7.00"), ("reverse_charge", "0.00")];

/// `count` invoices as JSON Lines: 1 to 6 lines each, some with zero
/// quantity (dropped by the mapping), some credits, cost centres and PO
/// numbers on some lines, unknown platform fields to skip.
fn generate(count: usize) -> Vec<u8> {
    let mut out = String::new();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for index in 0..count {
        let _ = write!(
            out,
            r#"{{"id":"inv_{index:08}","number":"RE-2025-{index:06}","issued_on":"2025-0{}-1{}","due_on":"2025-06-30","currency":"EUR","supplier":{{"id":"SUP-{:03}","name":"Supplier {index} GmbH","vat_id":"DE{index:09}","country":"DE","address":{{"street":"Hauptstraße {}","city":"München","postal_code":"80331","country":"DE"}}}},"customer":{{"id":"CUST-1","name":"Acme Europe B.V.","country":"NL"}},"platform":{{"source":"stripe","object":"invoice","livemode":false}},"lines":["#,
            1 + next() % 9,
            next() % 9,
            next() % 50,
            next() % 200,
        );
        let lines = 1 + next() % 6;
        for line in 0..lines {
            let (category, rate) = CATEGORIES[(next() % 3) as usize];
            let quantity = if next() % 10 == 0 { 0 } else { 1 + next() % 20 };
            let cents = (next() % 100_000) as i64 * if next() % 15 == 0 { -1 } else { 1 };
            let amount = Decimal::new(cents * quantity as i64, 2);
            if line > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                r#"{{"line_id":"{line}","sku":"SKU-{}","description":"Item {line} of invoice {index}","quantity":"{quantity}","uom":"EA","net_amount":"{amount}","tax":{{"category":"{category}","rate":"{rate}"}}"#,
                next() % 1000
            );
            if next() % 3 == 0 {
                let _ = write!(out, r#","cost_center":"CC-{}""#, next() % 100);
            }
            if next() % 4 == 0 {
                let _ = write!(out, r#","po_number":"45000{:05}""#, next() % 100_000);
            }
            out.push('}');
        }
        out.push_str("]}\n");
    }
    out.into_bytes()
}

fn program() -> Program {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/invoice_to_sap/invoice_to_sap.map"
    );
    let source = std::fs::read(path).unwrap();
    let mut workspace = Workspace::new(EmbeddedStdlib);
    let result = workspace.check("invoice_to_sap.map", source, Some("invoice_to_sap.invoice_to_sap"));
    assert!(result.diagnostics.is_empty());
    Program::new(&workspace, result.module.unwrap(), "invoice_to_sap").unwrap()
}

fn tables() -> HashMap<String, HashMap<String, Value>> {
    let suppliers = (0..50)
        .map(|i| (format!("SUP-{i:03}"), Value::Text(format!("{:08}", 17_300_000 + i))))
        .collect();
    HashMap::from([("supplier_number".to_owned(), suppliers)])
}

fn evaluator(program: &Program, engine: Engine) -> Evaluator<'_> {
    let params = HashMap::from([("company_code".to_owned(), Value::Text("1010".to_owned()))]);
    program.evaluator(engine, &params, tables()).unwrap()
}

/// Maps every line of `input` with `evaluator`, appending to `out`; how
/// many records failed.
fn mapped(program: &Program, evaluator: &Evaluator<'_>, input: &[u8], out: &mut Vec<u8>) -> usize {
    let mut failed = 0;
    for line in input.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        match program.run_event(
            evaluator,
            line,
            DecodeOptions::default(),
            Framing::Stream { first: true },
            out,
        ) {
            Ok(()) => out.push(b'\n'),
            Err(_) => failed += 1,
        }
    }
    failed
}

/// The input split on `jobs` threads at line boundaries, mapped, the
/// outputs joined in order.
fn mapped_parallel(program: &Program, evaluator: &Evaluator<'_>, input: &[u8], jobs: usize) -> Vec<u8> {
    let mut shares = Vec::new();
    let mut start = 0;
    for job in 1..=jobs {
        let mut end = (input.len() * job / jobs).max(start);
        while end < input.len() && input[end - 1] != b'\n' {
            end += 1;
        }
        shares.push(&input[start..end]);
        start = end;
    }
    let outputs: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .map(|share| {
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(share.len() * 11 / 10);
                    mapped(program, evaluator, share, &mut out);
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    outputs.concat()
}

/// `serde_json::Value` parse + serialize of every line: no mapping at all.
fn value_floor(input: &[u8], out: &mut Vec<u8>) {
    for line in input.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let value: serde_json::Value = serde_json::from_slice(line).unwrap();
        serde_json::to_writer(&mut *out, &value).unwrap();
        out.push(b'\n');
    }
}

/// The same mapping written by hand with serde: what a careful engineer
/// would write without Mapwright.
mod by_hand {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Deserialize)]
    struct Party<'a> {
        #[serde(borrow)]
        id: &'a str,
    }

    #[derive(Deserialize)]
    struct Tax<'a> {
        #[serde(borrow)]
        category: &'a str,
        #[serde(borrow)]
        rate: &'a str,
    }

    #[derive(Deserialize)]
    struct Line<'a> {
        #[serde(borrow)]
        sku: &'a str,
        #[serde(borrow)]
        description: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        quantity: &'a str,
        #[serde(borrow)]
        net_amount: &'a str,
        #[serde(borrow)]
        tax: Tax<'a>,
        #[serde(borrow)]
        po_number: Option<&'a str>,
        #[serde(borrow)]
        cost_center: Option<&'a str>,
    }

    #[derive(Deserialize)]
    struct Invoice<'a> {
        #[serde(borrow)]
        number: &'a str,
        #[serde(borrow)]
        issued_on: &'a str,
        #[serde(borrow)]
        currency: &'a str,
        #[serde(borrow)]
        supplier: Party<'a>,
        #[serde(borrow)]
        lines: Vec<Line<'a>>,
        #[serde(borrow)]
        notes: Option<std::borrow::Cow<'a, str>>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Item<'a> {
        supplier_invoice_item: String,
        company_code: &'a str,
        #[serde(rename = "GLAccount")]
        gl_account: &'a str,
        supplier_invoice_item_amount: String,
        document_currency: &'a str,
        debit_credit_code: &'a str,
        tax_code: &'a str,
        cost_center: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        assignment_reference: Option<&'a str>,
        supplier_invoice_item_text: String,
    }

    #[derive(Serialize)]
    struct Results<'a> {
        results: Vec<Item<'a>>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct SupplierInvoice<'a> {
        company_code: &'a str,
        document_date: String,
        posting_date: String,
        invoicing_party: &'a str,
        #[serde(rename = "SupplierInvoiceIDByInvcgParty")]
        supplier_invoice_id_by_invcg_party: &'a str,
        document_currency: &'a str,
        invoice_gross_amount: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        document_header_text: Option<&'a str>,
        #[serde(rename = "to_SupplierInvoiceItemGLAcct")]
        items: Results<'a>,
    }

    fn odata_date(text: &str) -> Option<String> {
        let date: jiff::civil::Date = text.parse().ok()?;
        let ms = jiff::tz::TimeZone::UTC
            .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .ok()?
            .as_millisecond();
        Some(format!("/Date({ms})/"))
    }

    fn tax_code(category: &str) -> &'static str {
        match category {
            "standard" => "V1",
            "reduced" => "V2",
            "reverse_charge" => "R1",
            _ => "V0",
        }
    }

    pub fn run(input: &[u8], suppliers: &HashMap<String, String>, out: &mut Vec<u8>) -> usize {
        let mut failed = 0;
        for line in input.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            if map(line, suppliers, out).is_none() {
                failed += 1;
            }
        }
        failed
    }

    fn map(line: &[u8], suppliers: &HashMap<String, String>, out: &mut Vec<u8>) -> Option<()> {
        let inv: Invoice<'_> = serde_json::from_slice(line).ok()?;
        let party = suppliers.get(inv.supplier.id)?;
        let date = odata_date(inv.issued_on)?;
        let hundred = Decimal::from(100);
        let mut gross = Decimal::ZERO;
        let mut items = Vec::new();
        for l in &inv.lines {
            let quantity = Decimal::from_str(l.quantity).ok()?;
            if quantity.is_zero() {
                continue;
            }
            let amount = Decimal::from_str(l.net_amount).ok()?;
            let rate = Decimal::from_str(l.tax.rate).ok()?;
            gross += amount.checked_mul(Decimal::ONE + rate / hundred)?;
            let text: String = format!("{}: {}", l.sku, l.description).chars().take(50).collect();
            if l.cost_center.is_some_and(|c| c.chars().count() > 10)
                || l.po_number.is_some_and(|p| p.chars().count() > 18)
            {
                return None;
            }
            let mut written = amount;
            written.rescale(2);
            items.push(Item {
                supplier_invoice_item: format!("{:04}", items.len() + 1),
                company_code: "1010",
                gl_account: "0000400000",
                supplier_invoice_item_amount: written.to_string(),
                document_currency: inv.currency,
                debit_credit_code: if amount < Decimal::ZERO { "H" } else { "S" },
                tax_code: tax_code(l.tax.category),
                cost_center: l.cost_center.unwrap_or("DEFAULT"),
                assignment_reference: l.po_number,
                supplier_invoice_item_text: text,
            });
        }
        let mut gross = gross.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        gross.rescale(2);
        if inv.number.chars().count() > 16 {
            return None;
        }
        let notes = inv.notes.as_deref();
        if notes.is_some_and(|n| n.chars().count() > 25) {
            return None;
        }
        let record = SupplierInvoice {
            company_code: "1010",
            document_date: date.clone(),
            posting_date: date,
            invoicing_party: party,
            supplier_invoice_id_by_invcg_party: inv.number,
            document_currency: inv.currency,
            invoice_gross_amount: gross.to_string(),
            document_header_text: notes,
            items: Results { results: items },
        };
        serde_json::to_writer(&mut *out, &record).ok()?;
        out.push(b'\n');
        Some(())
    }
}

fn bench(c: &mut Criterion) {
    let input = generate(RECORDS);
    let program = program();
    let suppliers: HashMap<String, String> = (0..50)
        .map(|i| (format!("SUP-{i:03}"), format!("{:08}", 17_300_000 + i)))
        .collect();

    // Same bytes out, or the comparison means nothing.
    let interp = evaluator(&program, Engine::Interp);
    let jit = evaluator(&program, Engine::Jit);
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut j = Vec::new();
    let failed_a = mapped(&program, &interp, &input, &mut a);
    let failed_b = by_hand::run(&input, &suppliers, &mut b);
    let failed_j = mapped(&program, &jit, &input, &mut j);
    assert_eq!(failed_a, failed_b);
    assert_eq!(failed_a, failed_j);
    assert!(a == b, "the interpreter and the hand-written mapping disagree");
    assert!(a == j, "the interpreter and the JIT disagree");
    assert!(
        mapped_parallel(&program, &jit, &input, 2) == j,
        "two threads change the output"
    );
    eprintln!(
        "{RECORDS} invoices, {:.1} MB in, {:.1} MB out, {failed_a} rejected by all",
        input.len() as f64 / 1e6,
        a.len() as f64 / 1e6
    );

    let mut group = c.benchmark_group("invoice_to_sap_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(RECORDS as u64));
    // Every row writes into one output buffer, emptied before each
    // iteration: a fresh 110 MB buffer would be faulted in page by page
    // each time, the same cost for every row, which is no part of mapping.
    let mut out = Vec::with_capacity(input.len() * 11 / 10);
    group.bench_function("jit", |bench| {
        bench.iter(|| {
            out.clear();
            black_box(mapped(&program, &jit, black_box(&input), &mut out));
        })
    });
    group.bench_function("interpreter", |bench| {
        bench.iter(|| {
            out.clear();
            black_box(mapped(&program, &interp, black_box(&input), &mut out));
        })
    });
    group.bench_function("serde_by_hand", |bench| {
        bench.iter(|| {
            out.clear();
            black_box(by_hand::run(black_box(&input), &suppliers, &mut out));
        })
    });
    group.bench_function("serde_json_value_floor", |bench| {
        bench.iter(|| {
            out.clear();
            value_floor(black_box(&input), &mut out);
            black_box(&out);
        })
    });
    group.bench_function("jit_jobs_2", |bench| {
        bench.iter(|| black_box(mapped_parallel(&program, &jit, black_box(&input), 2)))
    });
    group.finish();

    // The transform alone: decoded events in, encoded payloads out (the
    // decoding is done once, outside the timing; each iteration takes a
    // fresh copy of the events, made outside the timing too), through
    // `Program::transform`, as `Program::run_event` maps and writes after
    // decoding: the interpreter builds the output value and the encoder
    // writes it; the JIT writes the JSON directly from compiled code.
    let events: Vec<Value> = input
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| mapwright_compiler::wire::json_in::decode(&program.input, line, DecodeOptions::default()).unwrap())
        .collect();
    let transform = |evaluator: &Evaluator<'_>, events: Vec<Value>, out: &mut Vec<u8>| {
        out.clear();
        for event in events {
            if program
                .transform(evaluator, event, Framing::Stream { first: true }, out)
                .is_ok()
            {
                out.push(b'\n');
            }
        }
    };
    let mut other = Vec::new();
    transform(&jit, events.clone(), &mut out);
    transform(&interp, events.clone(), &mut other);
    assert!(out == other, "the engines' transforms differ");
    // The same, 1,000 events at a time, each copy made just before it is
    // mapped: the events are in the cache, as in a pipeline that maps an
    // event as soon as it is decoded. Over the 100,000, every event was
    // decoded long before and is read from memory (300 MB of decoded
    // events), a wait both engines share.
    let hot: Vec<Value> = events.iter().take(HOT).cloned().collect();
    for (name, events, samples) in [
        ("invoice_to_sap_100k_transform", &events, 10),
        ("invoice_to_sap_1k_transform_in_cache", &hot, 100),
    ] {
        let mut group = c.benchmark_group(name);
        group.sample_size(samples);
        group.throughput(Throughput::Elements(events.len() as u64));
        for (engine, evaluator) in [("jit", &jit), ("interpreter", &interp)] {
            group.bench_function(engine, |bench| {
                bench.iter_batched(
                    || events.clone(),
                    |events| transform(evaluator, events, &mut out),
                    BatchSize::PerIteration,
                )
            });
        }
        group.finish();
    }

    let mut group = c.benchmark_group("jit_compile");
    group.bench_function("invoice_to_sap", |bench| {
        // What `Program::compiled` compiles: every body, and the mapping's
        // body that writes its JSON directly.
        bench.iter(|| {
            black_box(
                mapwright_compiler::jit::compile_with(black_box(&program.mir), |f| f.name == program.mapping).unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
