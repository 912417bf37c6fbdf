//! The formatter over every example, standard-library and UI-test file:
//! a file that parses is formatted to a fixed point (formatting the output
//! changes nothing) with the same syntax tree; a file with syntax errors is
//! refused, never mangled.

use mapwright_compiler::format::{FormatError, format};
use mapwright_compiler::source::FileId;
use mapwright_compiler::syntax::{dump::dump, parse};
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("cannot read {}", dir.display());
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "map" || e == "schema") {
            out.push(path);
        }
    }
}

#[test]
fn every_file_formats_to_a_fixed_point_with_the_same_tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["examples", "stdlib", "compiler/tests/ui"] {
        collect(&root.join(dir), &mut files);
    }
    assert!(files.len() > 100, "only {} files found", files.len());
    let (mut formatted, mut refused) = (0usize, 0usize);
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_default();
        let Ok(text) = String::from_utf8(bytes) else {
            continue; // The invalid-UTF-8 UI test: not text at all.
        };
        let parsed = parse(FileId::default(), &text);
        let has_errors = parsed.diagnostics.iter().any(|d| d.is_error());
        match format(&text) {
            Ok(out) => {
                assert!(!has_errors, "{}: formatted despite syntax errors", file.display());
                let again = format(&out).unwrap_or_else(|e| panic!("{}: output refused: {e}", file.display()));
                assert_eq!(again, out, "{}: formatting is not idempotent", file.display());
                let reparsed = parse(FileId::default(), &out);
                assert!(
                    reparsed.diagnostics.is_empty(),
                    "{}: the output has diagnostics",
                    file.display()
                );
                assert_eq!(
                    dump(&reparsed.module),
                    dump(&parsed.module),
                    "{}: the syntax tree changed",
                    file.display()
                );
                formatted += 1;
            }
            Err(FormatError::Syntax { .. }) => {
                assert!(has_errors, "{}: refused without a syntax error", file.display());
                refused += 1;
            }
            Err(error) => panic!("{}: {error}", file.display()),
        }
    }
    assert!(
        formatted > 50 && refused > 10,
        "{formatted} formatted, {refused} refused"
    );
}

#[test]
fn examples_and_stdlib_are_formatted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["examples", "stdlib"] {
        collect(&root.join(dir), &mut files);
    }
    let unformatted: Vec<String> = files
        .iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            format(&text).map_or(true, |out| out != text)
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(unformatted.is_empty(), "run `mapc fmt` on: {unformatted:?}");
}
