//! Parser tests for every construct of the grammar: each snippet must parse
//! without a diagnostic, and the tree it gives is snapshotted as a compact
//! dump (reviewed by hand) so a grammar change shows up as a diff.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use mapwright_compiler::source::{Origin, SourceDb};
use mapwright_compiler::syntax::{dump::dump, parse};

const CONSTRUCTS: &[(&str, &str)] = &[
    (
        "schema declaration with doc",
        "/// Canonical invoice.\n/// Second line.\nschema canonical.invoice\n",
    ),
    ("format json", "format json\n"),
    (
        "format xml block",
        "format xml {\n  root Invoice\n  ns default \"urn:a\"\n  ns cbc \"urn:b\"\n  declaration true\n}\n",
    ),
    (
        "format csv block",
        "format csv { delimiter \";\" header true encoding \"windows-1252\" decimal_separator \",\" line_ending \"crlf\" bom false }\n",
    ),
    (
        "enum with docs and annotations",
        "enum TaxCategory { /// Standard.\n standard @wire(\"S\"), reduced zero }\n",
    ),
    (
        "record with every type form",
        "record R {\n  a: String\n  b: String(4)\n  c: Decimal(2)\n  d: Decimal(15, 2)\n  e: Int?\n  f: [Line]\n  g: [Line?]?\n  h: canonical.invoice.Party\n  i: Bool  j: Date  k: DateTime\n}\n",
    ),
    (
        "annotations",
        "record R @xml(xsi_type = \"tranSales:SalesOrder\") {\n  a: String @required @wire(odata_v2_date)\n  b: String @xml(cbc) @xml(attr, name = \"currencyID\", ns = xsi, fixed = \"0088\")\n  c: String @csv(column = \"Cost Center\") @json(name = \"x\", absent = \"null\")\n  d: String @xml(xsi_type = xsi:type)\n}\n",
    ),
    (
        "quoted and keyword field names",
        "record R { `Cost Center`: String  record: String  format: Int }\n",
    ),
    (
        "extend record",
        "extend record sap.s4.sales_order.SalesOrder { YY1_Channel: String(10) }\n",
    ),
    ("use forms", "use a.b.C\nuse a.b.C as D\nuse a.b.{C, D as E,}\n"),
    (
        "param with and without default",
        "param a: String(4)\nparam b: String = \"DEFAULT\"\n",
    ),
    (
        "table with entries",
        "table t: TaxCategory -> String {\n  standard => \"V1\"\n  reduced | zero => \"V2\",\n  _ => \"V0\"\n}\n",
    ),
    (
        "table with literal keys",
        "table t: String -> Int { \"DE\" => 1, \"FR\" => -2 }\ntable u: Int -> String { 1 => \"a\", -1 => \"b\" }\n",
    ),
    ("external table", "table supplier_number: String -> String external\n"),
    (
        "mapping with every statement",
        "mapping m(inv: Invoice) -> Out {\n  let kept = inv.lines where it.quantity != 0\n  let typed: Int = 1;\n  A = kept\n  B { C = 1 D = 2 }\n  if x { E = 1 } else if y { E = 2 } else { E = 3 }\n  match k { a => { F = 1 } _ => { F = 2 } }\n}\n",
    ),
    (
        "helper function",
        "fn label(l: Line, n: Int) -> String {\n  let t = \"{l.sku}-{n}\"\n  upper(t)\n}\n",
    ),
    (
        "literals",
        "param a: Int = 1_000\nparam b: Decimal = 12.50\nparam c: Bool = true\nparam d: Bool = false\nparam e: String? = none\n",
    ),
    (
        "strings, escapes, interpolation",
        "param s: String = \"a\\\"b\\\\c\\n\\t\\u{1F600}\\{x\\} {upper(\"in{ner}\")} end\"\n",
    ),
    (
        "operators",
        "param x: Bool = not a and -b * c / d % e + f - g >= h or i <= j and k < l or m > n and o == p and q != r\n",
    ),
    (
        "coalesce and where",
        "param x: Int = a ?? b ?? c\nparam y: [Int] = xs where it > 0 where it < 10\n",
    ),
    ("postfix chains", "param x: String = a.b.c[d][0].e\n"),
    (
        "calls and lambdas",
        "param x: Int = sum(xs, l => l.a * 2) + f() + g(1, (a, b) => a + b, h(x),)\n",
    ),
    (
        "if expression",
        "param x: String = if a { \"x\" } else if b { \"y\" } else { \"z\" }\n",
    ),
    (
        "match expression with guards",
        "param x: String = match c { standard | reduced => \"V1\" TaxCategory.zero if y => \"V0\", \"lit\" => \"L\", -1 => \"N\" _ => \"other\" }\n",
    ),
    (
        "for with index and filter",
        "param x: [Int] = for l, i in xs where l.q != 0 { l.q * i }\n",
    ),
    (
        "list literals and record blocks",
        "param x: [Int] = [1, 2, 3,]\nparam y: R = { A = 1 B = [] }\n",
    ),
    (
        "comments everywhere",
        "/* block */ param /* inner */ x: Int // trailing\n  = 1 // after\n",
    ),
    ("parenthesised", "param x: Int = (a + b) * (c - (d))\n"),
];

#[test]
fn every_construct_parses_and_dumps() {
    let mut out = String::new();
    for (name, source) in CONSTRUCTS {
        let mut db = SourceDb::new();
        let file = db.add_text("construct.map", *source, Origin::User);
        let parsed = parse(file, source);
        assert!(
            parsed.diagnostics.is_empty(),
            "{name}: {}",
            mapwright_compiler::diagnostics::render::to_plain_text(&db, &parsed.diagnostics)
        );
        out.push_str(&format!("=== {name}\n{source}---\n{}\n", dump(&parsed.module)));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn crlf_line_ends_give_the_same_tree() {
    for (name, source) in CONSTRUCTS {
        let crlf = source.replace('\n', "\r\n");
        let mut db = SourceDb::new();
        let a = db.add_text("lf.map", *source, Origin::User);
        let b = db.add_text("crlf.map", crlf.clone(), Origin::User);
        let lf_tree = dump(&parse(a, source).module);
        let crlf_parsed = parse(b, &crlf);
        assert!(crlf_parsed.diagnostics.is_empty(), "{name}");
        // Strings may hold no raw line ends, so the dumps agree exactly.
        assert_eq!(lf_tree, dump(&crlf_parsed.module), "{name}");
    }
}
