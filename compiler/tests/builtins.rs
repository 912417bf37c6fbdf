//! Every builtin's documented examples run as tests: each example must
//! type-check to the type its documentation states, and the reference
//! interpreter must give the documented value. Also: one file per builtin,
//! and every builtin documented.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use mapwright_compiler::builtins;
use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};

#[test]
fn every_example_type_checks_to_its_documented_type() {
    let mut problems = Vec::new();
    for builtin in builtins::all() {
        assert!(!builtin.examples.is_empty(), "`{}` has no example", builtin.name);
        for example in builtin.examples {
            // The example's value is assigned to a param of the documented
            // type: a mismatch, a scale or an optional would be reported.
            let source = format!("param example: {} = {}\n", example.ty, example.expr);
            let mut workspace = Workspace::new(EmbeddedStdlib);
            let result = workspace.check("example.map", source.as_bytes().to_vec(), None);
            if !result.diagnostics.is_empty() {
                problems.push(format!(
                    "{}: `{}` is not a `{}`:\n{}",
                    builtin.name,
                    example.expr,
                    example.ty,
                    mapwright_compiler::diagnostics::render::to_plain_text(&workspace.sources, &result.diagnostics)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_example_evaluates_to_its_documented_value() {
    let mut problems = Vec::new();
    for builtin in builtins::all() {
        for example in builtin.examples {
            let source = format!("param example: {} = {}\n", example.ty, example.expr);
            let mut workspace = Workspace::new(EmbeddedStdlib);
            let result = workspace.check("example.map", source.as_bytes().to_vec(), None);
            assert!(result.diagnostics.is_empty(), "{}: does not check", example.expr);
            let module = mapwright_compiler::mir::lower::lower(&workspace, result.module.unwrap())
                .unwrap_or_else(|error| panic!("{}: {error}", example.expr));
            let outcome =
                mapwright_compiler::interp::Interpreter::new(&module, &Default::default(), Default::default())
                    .map(|interpreter| interpreter.param("example").map(ToString::to_string));
            match outcome {
                Ok(Some(value)) if value == example.value => {}
                Ok(value) => problems.push(format!(
                    "{}: `{}` gives {value:?}, documented {}",
                    builtin.name, example.expr, example.value
                )),
                Err(error) => problems.push(format!("{}: `{}` fails: {error}", builtin.name, example.expr)),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_builtin_has_its_own_file_and_docs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/builtins");
    for builtin in builtins::all() {
        let file = dir.join(format!("{}.rs", builtin.name));
        assert!(file.is_file(), "`{}` has no file {}", builtin.name, file.display());
        assert!(
            builtin.signature.starts_with(&format!("{}(", builtin.name)),
            "{}",
            builtin.name
        );
        assert!(
            builtin.summary.ends_with('.'),
            "{}: the summary is a sentence",
            builtin.name
        );
    }
}
