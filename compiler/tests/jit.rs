//! The JIT on its own terms: every example compiles; compiled instances are
//! `Send + Sync` and agree across threads; limits (recursion depth, numbers
//! beyond 64 bits, adversarial inputs) behave exactly as in the
//! interpreter; a failed run leaves nothing behind that spoils the next.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::Memory;
use mapwright_compiler::interp::{EvalError, MAX_CALL_DEPTH};
use mapwright_compiler::jit::{self, Instance};
use mapwright_compiler::program::{Engine, Evaluator, Framing, Program};
use mapwright_compiler::resolve::Workspace;
use mapwright_compiler::wire::json_in::DecodeOptions;
use std::collections::HashMap;
use std::sync::Arc;

const OUT: &str = "schema fixture.out\nformat json\n\nrecord Out {\n  n: Int?\n  d: Decimal?\n  s: String?\n}\n";

/// A program from a mapping over `canonical.invoice.Invoice` into
/// `fixture.out.Out`.
fn program(source: &str) -> Program {
    let full = format!("use canonical.invoice.Invoice\nuse fixture.out.Out\n\n{source}");
    program_over("fixture.out", OUT, &full)
}

/// The program of mapping `m` in `source`, with the schema module
/// `module` (text `schema`) beside the standard library.
fn program_over(module: &str, schema: &str, source: &str) -> Program {
    let mut workspace = Workspace::new(Memory(HashMap::from([(module.to_owned(), schema.to_owned())])));
    let result = workspace.check("fixture.map", source.as_bytes().to_vec(), Some("fixture"));
    assert!(
        result.diagnostics.is_empty(),
        "{:?}",
        result.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
    Program::new(&workspace, result.module.unwrap(), "m").unwrap()
}

/// A canonical invoice event with `lines` lines.
fn invoice(lines: usize) -> Vec<u8> {
    let line = r#"{"sku":"A","description":"Consulting","quantity":1,"uom":"EA","unit_price":10,"net_amount":10,"tax":{"category":"standard","rate":19}}"#;
    let lines = vec![line; lines].join(",");
    format!(
        r#"{{"id":"inv-1","number":"2025-001","issued_on":"2025-03-01","currency":"EUR","supplier":{{"id":"SUP-1","name":"Acme","country":"DE"}},"customer":{{"id":"C-1","name":"Buyer","country":"DE"}},"lines":[{lines}],"totals":{{"line_net":10,"tax":1.9,"tax_exclusive":10,"tax_inclusive":11.9,"payable":11.9}}}}"#
    )
    .into_bytes()
}

/// Runs `input` on both engines: they must agree; the JIT's result.
fn both(program: &Program, input: &[u8]) -> Result<String, Vec<String>> {
    let mut results = Vec::new();
    for engine in [Engine::Interp, Engine::Jit] {
        let evaluator = program.evaluator(engine, &HashMap::new(), HashMap::new()).unwrap();
        let mut out = Vec::new();
        let result = program
            .run_event(&evaluator, input, DecodeOptions::default(), Framing::File, &mut out)
            .map(|()| String::from_utf8(out).unwrap())
            .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>());
        results.push(result);
    }
    assert_eq!(results[0], results[1], "the engines disagree");
    results.pop().unwrap()
}

#[test]
fn every_example_mapping_compiles() {
    for case in common::example_cases() {
        let compiled = case.program.compiled().unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert!(compiled.bodies.len() >= compiled.module.functions.len());
        let writes = case
            .program
            .mir
            .functions
            .iter()
            .position(|f| f.name == case.program.mapping);
        eprintln!(
            "{}: {} bodies compiled in {:?}; writes its output directly: {}",
            case.name,
            compiled.bodies.len(),
            compiled.compile_time,
            writes.and_then(|i| compiled.writing[i]).is_some()
        );
    }
}

#[test]
fn recursion_stops_at_the_same_depth_on_both_engines() {
    let program = program(
        "fn depth(n: Int) -> Int {\n  if n <= 0 { 0 } else { depth(n - 1) + 1 }\n}\n\n\
         mapping m(inv: Invoice) -> Out {\n  n = depth(length(inv.lines))\n}\n",
    );
    assert_eq!(both(&program, &invoice(3)).unwrap(), r#"{"n":3}"#);
    // The mapping is the first body; `depth(n)` runs n + 1 more.
    let deepest = MAX_CALL_DEPTH as usize - 2;
    assert_eq!(
        both(&program, &invoice(deepest)).unwrap(),
        format!(r#"{{"n":{deepest}}}"#)
    );
    let errors = both(&program, &invoice(deepest + 1)).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].ends_with(&EvalError::TooDeep(MAX_CALL_DEPTH).to_string()),
        "{errors:?}"
    );
    assert!(errors[0].starts_with("$.lines → $.n:"), "{errors:?}");
}

#[test]
fn a_whole_number_beyond_64_bits_is_an_exact_decimal() {
    let program = program(
        "param big: Decimal = 79228162514264337593543950335\n\n\
         mapping m(inv: Invoice) -> Out {\n  d = big - 79228162514264337593543950334\n  s = text(big)\n}\n",
    );
    assert_eq!(
        both(&program, &invoice(1)).unwrap(),
        r#"{"d":1,"s":"79228162514264337593543950335"}"#
    );
}

#[test]
fn decimal_limits_fail_alike() {
    let program = program(
        "mapping m(inv: Invoice) -> Out {\n  d = sum(inv.lines, l => l.net_amount) * 79228162514264337593543950335\n}\n",
    );
    let errors = both(&program, &invoice(2)).unwrap_err();
    assert!(errors[0].contains("overflows"), "{errors:?}");
    assert!(errors[0].contains("→ $.d"), "{errors:?}");
}

#[test]
fn compiled_instances_are_shared_by_threads_and_agree() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<jit::Compiled>();
    send_sync::<Instance>();
    send_sync::<Evaluator<'static>>();
    send_sync::<Program>();

    let program = program(
        "mapping m(inv: Invoice) -> Out {\n  n = count(inv.lines, l => l.quantity > 0)\n  \
         d = round(sum(inv.lines, l => l.net_amount * 1.19), 2)\n  s = join(for l in inv.lines { l.sku }, \"-\")\n}\n",
    );
    let compiled = program.compiled().unwrap();
    let instance = Arc::new(Instance::new(compiled, &HashMap::new(), HashMap::new()).unwrap());
    let evaluator = Evaluator::Jit(instance);
    let expected: Vec<Vec<u8>> = (0..40)
        .map(|lines| {
            let mut out = Vec::new();
            program
                .run_event(
                    &evaluator,
                    &invoice(lines),
                    DecodeOptions::default(),
                    Framing::File,
                    &mut out,
                )
                .unwrap();
            out
        })
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for (lines, want) in expected.iter().enumerate().rev() {
                    let mut out = Vec::new();
                    program
                        .run_event(
                            &evaluator,
                            &invoice(lines),
                            DecodeOptions::default(),
                            Framing::File,
                            &mut out,
                        )
                        .unwrap();
                    assert_eq!(&out, want);
                }
            });
        }
    });
}

#[test]
fn a_failed_run_leaves_the_next_one_clean() {
    let program = program(
        "mapping m(inv: Invoice) -> Out {\n  let total = sum(inv.lines, l => l.net_amount)\n  \
         s = if total > 25 { required(inv.notes, \"notes are needed above 25\") } else { \"fine\" }\n  d = total\n}\n",
    );
    for _ in 0..3 {
        let errors = both(&program, &invoice(3)).unwrap_err();
        assert_eq!(errors, vec!["$.notes → $.s: notes are needed above 25".to_owned()]);
        assert_eq!(both(&program, &invoice(2)).unwrap(), r#"{"d":20,"s":"fine"}"#);
    }
}

#[test]
fn adversarial_inputs_give_the_same_answers() {
    let program = program(
        "mapping m(inv: Invoice) -> Out {\n  s = upper(inv.number)\n  n = length(inv.lines)\n  \
         d = sum(inv.lines, l => l.net_amount)\n}\n",
    );
    let huge = "x".repeat(4 << 20);
    let cases: Vec<Vec<u8>> = vec![
        String::from_utf8(invoice(1))
            .unwrap()
            .replace("2025-001", &huge)
            .into_bytes(),
        invoice(2000),
        String::from_utf8(invoice(2))
            .unwrap()
            .replace("\"net_amount\":10", "\"net_amount\":79228162514264337593543950335")
            .into_bytes(),
        invoice(1)[..100].to_vec(),
        {
            let mut bytes = invoice(1);
            bytes[40] = 0xff;
            bytes
        },
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        Vec::new(),
    ];
    for input in cases {
        // Agreement is the assertion; the answers may be values or errors.
        let _ = both(&program, &input);
    }
}

#[test]
fn the_jit_reports_what_it_cannot_compile_instead_of_running_something_else() {
    // A MIR module that refers to a param that does not exist: a lowering
    // bug the JIT refuses loudly.
    let mut module = program("mapping m(inv: Invoice) -> Out {\n  n = 1\n}\n").mir.clone();
    module.functions[0].body.expr = mapwright_compiler::mir::Expr::Param(7);
    let error = jit::compile(&module).unwrap_err();
    assert!(error.to_string().contains("param #7 does not exist"), "{error}");
}

#[test]
fn a_default_that_reads_a_later_param_fails_alike_and_reads_nothing_out_of_bounds() {
    for source in [
        "param a: String = b\nparam b: String = \"x\"\n\nmapping m(inv: Invoice) -> Out {\n  s = a\n}\n",
        "param a: String = later()\nparam b: String = \"x\"\n\nfn later() -> String {\n  b\n}\n\n\
         mapping m(inv: Invoice) -> Out {\n  s = a\n}\n",
    ] {
        let program = program(source);
        let errors: Vec<String> = [Engine::Interp, Engine::Jit]
            .into_iter()
            .map(
                |engine| match program.evaluator(engine, &HashMap::new(), HashMap::new()) {
                    Ok(_) => panic!("{engine}: the default should fail"),
                    Err(error) => error.to_string(),
                },
            )
            .collect();
        assert_eq!(errors[0], errors[1]);
        assert_eq!(errors[0], "internal error: unknown local or param");
        // Given a value, the later param is not needed by the default.
        let params = HashMap::from([(
            "a".to_owned(),
            mapwright_compiler::interp::value::Value::Text("given".into()),
        )]);
        for engine in [Engine::Interp, Engine::Jit] {
            assert!(program.evaluator(engine, &params, HashMap::new()).is_ok());
        }
    }
}

#[test]
fn a_kept_list_is_read_in_place_and_agrees() {
    // `let kept = … where …` read only by loops is a view in the JIT (the
    // positions of the kept lines, not copies): every way of reading one,
    // and every list that may not be one, must give the interpreter's
    // answer.
    const VIEW_OUT: &str = "schema fixture.view\nformat json\n\n\
        record Item {\n  sku: String\n  i: Int\n  total: Decimal?\n}\n\n\
        record Out {\n  n: Int\n  d: Decimal\n  s: String?\n  kept: [Item]\n  sorted: [Item]\n  big: [Item]\n  copied: [Item]\n  nested: [Item]\n}\n";
    let source = "use canonical.invoice.Invoice\nuse fixture.view.Out\n\n\
        mapping m(inv: Invoice) -> Out {\n\
        \x20 let kept = inv.lines where it.quantity != 0\n\
        \x20 let big = kept where it.net_amount > 5\n\
        \x20 let nothing = inv.lines where it.sku == \"none\"\n\
        \x20 let copied = inv.lines where it.uom == \"EA\"\n\
        \x20 n = count(kept, l => l.net_amount > 0) + length(big) * 100 + count(nothing, l => true) * 1000 + length(copied) * 10000\n\
        \x20 d = sum(kept, l => l.net_amount) + sum(big, l => sum(kept, k => k.quantity))\n\
        \x20 s = (first(kept, l => l.net_amount < 0) ?? inv.lines[0]).sku\n\
        \x20 kept = for l, i in kept {\n    sku = l.sku\n    i = i\n    total = sum(kept, k => k.net_amount)\n  }\n\
        \x20 sorted = for l, i in sort_by(kept, l => l.sku) {\n    sku = l.sku\n    i = i\n  }\n\
        \x20 big = for l, i in big {\n    sku = l.sku\n    i = i\n  }\n\
        \x20 copied = for l, i in distinct(copied, l => l.uom) {\n    sku = l.sku\n    i = i\n  }\n\
        \x20 nested = for l, i in kept {\n    let same = inv.lines where it.uom == l.uom\n    sku = l.sku\n    i = count(same, k => true)\n  }\n\
        }\n";
    let program = program_over("fixture.view", VIEW_OUT, source);
    let line = |sku: &str, quantity: &str, amount: &str, uom: &str| {
        format!(
            r#"{{"sku":"{sku}","description":"d","quantity":{quantity},"uom":"{uom}","net_amount":{amount},"tax":{{"category":"standard","rate":19}}}}"#
        )
    };
    let event = |lines: &[String]| {
        format!(
            r#"{{"id":"inv-1","number":"2025-001","issued_on":"2025-03-01","currency":"EUR","supplier":{{"id":"SUP-1","name":"Acme","country":"DE"}},"customer":{{"id":"C-1","name":"Buyer","country":"DE"}},"lines":[{}]}}"#,
            lines.join(",")
        )
    };
    let lines = [
        line("C", "1", "10", "EA"),
        line("Z", "0", "99", "EA"),
        line("A", "2", "-3", "H87"),
        line("B", "1", "7.5", "EA"),
        line("Y", "0", "1", "H87"),
    ];
    let item = |sku: &str, i: i64| format!(r#"{{"sku":"{sku}","i":{i}}}"#);
    let totalled = |sku: &str, i: i64, total: &str| format!(r#"{{"sku":"{sku}","i":{i},"total":{total}}}"#);
    assert_eq!(
        both(&program, event(&lines).as_bytes()).unwrap(),
        format!(
            r#"{{"n":30202,"d":22.5,"s":"A","kept":[{}],"sorted":[{}],"big":[{}],"copied":[{}],"nested":[{}]}}"#,
            [
                totalled("C", 0, "14.5"),
                totalled("A", 1, "14.5"),
                totalled("B", 2, "14.5")
            ]
            .join(","),
            [item("A", 0), item("B", 1), item("C", 2)].join(","),
            [item("C", 0), item("B", 1)].join(","),
            [item("C", 0)].join(","),
            [item("C", 3), item("A", 2), item("B", 3)].join(","),
        )
    );
    // Again on the same thread with fewer lines: the second record reads
    // its own lines, not what the first one kept.
    let fewer = [lines[0].clone(), lines[1].clone(), lines[2].clone()];
    assert_eq!(
        both(&program, event(&fewer).as_bytes()).unwrap(),
        format!(
            r#"{{"n":20101,"d":10,"s":"A","kept":[{}],"sorted":[{}],"big":[{}],"copied":[{}],"nested":[{}]}}"#,
            [totalled("C", 0, "7"), totalled("A", 1, "7")].join(","),
            [item("A", 0), item("C", 1)].join(","),
            [item("C", 0)].join(","),
            [item("C", 0)].join(","),
            [item("C", 2), item("A", 1)].join(","),
        )
    );
}

#[test]
fn a_payload_written_directly_is_the_encoded_value_and_a_refused_one_falls_back() {
    // The JIT writes a JSON payload straight from compiled code when the
    // mapping's records are only filled in: fields set in branches, left
    // out, a list of records amid the fields and set before them, lists
    // inside list elements, records made elsewhere (by an `if`, by a
    // `fn`) as fields. The bytes must be the encoder's; a record whose
    // writing fails must not be written at all and must fail as the
    // interpreter fails.
    const DEEP_OUT: &str = "schema fixture.deep\nformat json\n\n\
        record Part {\n  p: String\n}\n\n\
        record Line {\n  no: Int\n  text: String(12)?\n  parts: [Part]\n  extra: Part?\n}\n\n\
        record Deep {\n  head: String?\n  lines: [Line]\n  first: Part?\n  count: Int\n  note: String?\n  tail: String?\n}\n";
    let source = "use canonical.invoice.Invoice\nuse fixture.deep.{Deep, Part}\n\n\
        fn part(s: String) -> Part {\n  p = s\n}\n\n\
        mapping m(inv: Invoice) -> Deep {\n\
        \x20 lines = for l, i in inv.lines where l.quantity != 0 {\n\
        \x20   no = i\n\
        \x20   if l.quantity > 1 {\n      text = l.sku\n    } else {\n      text = l.description\n    }\n\
        \x20   parts = for x in inv.lines where x.uom == l.uom {\n      p = \"{x.sku}/{l.sku}\"\n    }\n\
        \x20   extra = if i == 0 { p = upper(l.sku) } else { p = lower(l.sku) }\n\
        \x20 }\n\
        \x20 if inv.currency == \"EUR\" {\n    head = upper(inv.number)\n  } else {\n    head = inv.number\n  }\n\
        \x20 first = part(inv.number)\n\
        \x20 count = length(inv.lines)\n\
        \x20 if length(inv.lines) > 2 {\n    tail = inv.currency\n  }\n\
        }\n";
    let program = program_over("fixture.deep", DEEP_OUT, source);
    let compiled = program.compiled().unwrap();
    let index = compiled.module.functions.iter().position(|f| f.name == "m").unwrap();
    assert!(compiled.writing[index].is_some(), "the mapping is written directly");
    let line = |sku: &str, description: &str, quantity: &str, uom: &str| {
        format!(
            r#"{{"sku":"{sku}","description":"{description}","quantity":{quantity},"uom":"{uom}","net_amount":1,"tax":{{"category":"standard","rate":19}}}}"#
        )
    };
    let event = |lines: &[String]| {
        format!(
            r#"{{"id":"inv-1","number":"re-001","issued_on":"2025-03-01","currency":"EUR","supplier":{{"id":"SUP-1","name":"Acme","country":"DE"}},"customer":{{"id":"C-1","name":"Buyer","country":"DE"}},"lines":[{}]}}"#,
            lines.join(",")
        )
    };
    let good = event(&[
        line("Ab", "one", "2", "EA"),
        line("Cd", "skipped", "0", "EA"),
        line("Ef", "q\\\"uote", "1", "H87"),
        line("Gh", "three", "1", "EA"),
    ]);
    assert_eq!(
        both(&program, good.as_bytes()).unwrap(),
        concat!(
            r#"{"head":"RE-001","lines":["#,
            r#"{"no":0,"text":"Ab","parts":[{"p":"Ab/Ab"},{"p":"Cd/Ab"},{"p":"Gh/Ab"}],"extra":{"p":"AB"}},"#,
            r#"{"no":2,"text":"q\"uote","parts":[{"p":"Ef/Ef"}],"extra":{"p":"ef"}},"#,
            r#"{"no":3,"text":"three","parts":[{"p":"Ab/Gh"},{"p":"Cd/Gh"},{"p":"Gh/Gh"}],"extra":{"p":"gh"}}"#,
            r#"],"first":{"p":"re-001"},"count":4,"tail":"EUR"}"#
        )
    );
    // (`i` is the line's position in `inv.lines`, the skipped one
    // counted.) No lines kept: an empty list; two lines: no tail.
    assert_eq!(
        both(
            &program,
            event(&[line("Ab", "x", "0", "EA"), line("Cd", "y", "0", "EA")]).as_bytes()
        )
        .unwrap(),
        r#"{"head":"RE-001","lines":[],"first":{"p":"re-001"},"count":2}"#
    );
    // The second line's text is too long for `String(12)`: nothing is
    // written, and both engines report the same error.
    let bad = event(&[
        line("Ab", "one", "2", "EA"),
        line("Cd", "far too long a text", "1", "EA"),
    ]);
    let errors = both(&program, bad.as_bytes()).unwrap_err();
    assert!(errors.iter().any(|e| e.contains("lines[1].text")), "{errors:?}");

    // The direct path itself: written for the good event, nothing written
    // for the bad one (the caller then maps it the usual way).
    let Evaluator::Jit(instance) = program.evaluator(Engine::Jit, &HashMap::new(), HashMap::new()).unwrap() else {
        panic!("a JIT evaluator");
    };
    for (input, written) in [(&good, true), (&bad, false)] {
        let event =
            mapwright_compiler::wire::json_in::decode(&program.input, input.as_bytes(), DecodeOptions::default())
                .unwrap();
        let mut args = vec![event];
        let mut out = b"before|".to_vec();
        assert_eq!(instance.run_writing("m", &mut args, &program.output, &mut out), written);
        if written {
            let value = instance.run("m", args).unwrap();
            let mut encoded = b"before|".to_vec();
            mapwright_compiler::wire::json_out::encode(&program.output, &value, &mut encoded).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(encoded).unwrap());
        } else {
            assert_eq!(out, b"before|", "a failed record leaves nothing behind");
        }
    }
}

#[test]
fn limits_the_encoder_checks_again_fail_written_directly_as_in_the_interpreter() {
    // A body that writes JSON directly leaves a field's length, places
    // and digits to the encoder (which checks them as it writes), not to
    // a check when the field is set. A record the encoder refuses writes
    // nothing, and the event is mapped again the usual way: the error is
    // the interpreter's, the first one in the order fields are set, even
    // when a later field would fail too.
    const LIMITS: &str = "schema fixture.limits\nformat json\n\n\
        record Row {\n  code: String(3)\n  amount: Decimal(5, 2)\n  whole: Decimal(5, 4)?\n  tag: String\n}\n\n\
        record Out {\n  rows: [Row]\n  total: Decimal(4, 1)\n}\n";
    let source = "use canonical.invoice.Invoice\nuse fixture.limits.Out\n\n\
        mapping m(inv: Invoice) -> Out {\n\
        \x20 rows = for l in inv.lines {\n\
        \x20   code = l.uom\n\
        \x20   amount = l.net_amount\n\
        \x20   whole = l.quantity\n\
        \x20   tag = required(l.po_number, \"no PO\")\n\
        \x20 }\n\
        \x20 total = round(sum(inv.lines, l => l.net_amount), 1)\n\
        }\n";
    let program = program_over("fixture.limits", LIMITS, source);
    let compiled = program.compiled().unwrap();
    let index = compiled.module.functions.iter().position(|f| f.name == "m").unwrap();
    assert!(compiled.writing[index].is_some(), "the mapping is written directly");
    let line = |uom: &str, quantity: &str, net: &str, po: Option<&str>| {
        let po = po.map(|po| format!(r#","po_number":"{po}""#)).unwrap_or_default();
        format!(
            r#"{{"sku":"A","description":"d","quantity":{quantity},"uom":"{uom}","net_amount":{net},"tax":{{"category":"standard","rate":19}}{po}}}"#
        )
    };
    let event = |lines: &[String]| {
        format!(
            r#"{{"id":"inv-1","number":"re-001","issued_on":"2025-03-01","currency":"EUR","supplier":{{"id":"SUP-1","name":"Acme","country":"DE"}},"lines":[{}]}}"#,
            lines.join(",")
        )
    };
    let good = event(&[
        line("EA", "2", "12.5", Some("P1")),
        line("H87", "3.000", "-1", Some("P2")),
    ]);
    assert_eq!(
        both(&program, good.as_bytes()).unwrap(),
        concat!(
            r#"{"rows":[{"code":"EA","amount":12.50,"whole":2.0000,"tag":"P1"},"#,
            r#"{"code":"H87","amount":-1.00,"whole":3.0000,"tag":"P2"}],"total":11.5}"#
        )
    );
    // Each bad event, the error both engines give (its path and a word of
    // its message).
    let cases = [
        // Too long a code, and no PO after it: the code's error.
        (event(&[line("LONG", "1", "1", None)]), "rows[0].code", "at most 3"),
        // Too long a code alone.
        (event(&[line("LONG", "1", "1", Some("P"))]), "rows[0].code", "at most 3"),
        // Too many digits for `Decimal(5, 4)`.
        (event(&[line("EA", "12.5", "1", Some("P"))]), "rows[0].whole", "digits"),
        // Too many digits for `Decimal(5, 2)`, in the second line.
        (
            event(&[line("EA", "1", "1", Some("P")), line("EA", "1", "1234.5", Some("P"))]),
            "rows[1].amount",
            "digits",
        ),
        // Only the total fails: 999.9 is the most `Decimal(4, 1)` holds.
        (
            event(&[line("EA", "1", "500", Some("P")), line("EA", "1", "500", Some("P"))]),
            "total",
            "digits",
        ),
        // Only the PO is missing.
        (event(&[line("EA", "1", "1", None)]), "rows[0].tag", "no PO"),
    ];
    let Evaluator::Jit(instance) = program.evaluator(Engine::Jit, &HashMap::new(), HashMap::new()).unwrap() else {
        panic!("a JIT evaluator");
    };
    for (input, path, word) in &cases {
        let errors = both(&program, input.as_bytes()).unwrap_err();
        assert_eq!(errors.len(), 1, "{input}: {errors:?}");
        assert!(
            errors[0].contains(path) && errors[0].to_lowercase().contains(&word.to_lowercase()),
            "{input}: {errors:?}"
        );
        let event =
            mapwright_compiler::wire::json_in::decode(&program.input, input.as_bytes(), DecodeOptions::default())
                .unwrap();
        let mut out = Vec::new();
        assert!(
            !instance.run_writing("m", &mut [event], &program.output, &mut out),
            "{input}"
        );
        assert!(out.is_empty(), "{input}: a refused record writes nothing");
    }
}

#[test]
fn a_failure_no_single_value_explains_names_the_input_record() {
    // An overflow in an aggregate bound by `let`: no one input value and
    // no output field is to blame, so the error is the whole input
    // record's (`$`), on both engines (it had no path at all before).
    let program = program(
        "mapping m(inv: Invoice) -> Out {\n  let groups = group_by(inv.lines, l => l.uom)\n  let total = sum(groups, g => sum(g.items, l => l.net_amount) * 3950.00)\n  d = total\n}\n",
    );
    let input = String::from_utf8(invoice(2))
        .unwrap()
        .replace(r#""net_amount":10"#, r#""net_amount":123489012345678901234567890.5"#);
    let errors = both(&program, input.as_bytes()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("$: ") && errors[0].contains("overflows"),
        "{errors:?}"
    );
}
