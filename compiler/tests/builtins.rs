//! Every builtin's documented examples run as tests: each example must
//! type-check to the type its documentation states. (Their values are
//! checked too once the interpreter exists.) Also: one file per builtin,
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
