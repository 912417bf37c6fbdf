//! File-driven diagnostic snapshot tests: every file under `tests/ui/` is
//! checked, and its snapshot shows the source, then the diagnostics as a
//! terminal shows them, then as JSON lines. A file's first line says which
//! codes it must yield (`// expect: E0101 E0102` or `// expect: clean`); a
//! file that cannot hold a comment names them in `NAME.expect` beside it.
//! Every registered code must be expected by some file. See
//! `tests/ui/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use mapwright_compiler::diagnostics::{Code, render};
use mapwright_compiler::resolve::{EmbeddedStdlib, LoadOutcome, LoadedModule, ModuleLoader, Workspace};
use mapwright_compiler::source::Origin;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The UI folder as a project root, over the embedded standard library.
struct UiLoader {
    root: PathBuf,
}

impl ModuleLoader for UiLoader {
    fn load(&self, path: &str) -> LoadOutcome {
        let file = self.root.join(path.replace('.', "/")).with_extension("schema");
        match std::fs::read(&file) {
            Ok(bytes) => LoadOutcome::Found(LoadedModule {
                name: display_name(&self.root, &file),
                bytes,
                origin: Origin::User,
            }),
            Err(_) => EmbeddedStdlib.load(path),
        }
    }

    fn module_paths(&self) -> Vec<String> {
        EmbeddedStdlib.module_paths()
    }
}

fn ui_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui")
}

fn display_name(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
        .replace('\\', "/")
}

fn expected_codes(path: &Path, text: &str) -> BTreeSet<String> {
    let sidecar = path.with_extension("expect");
    let header = if sidecar.exists() {
        std::fs::read_to_string(&sidecar).unwrap()
    } else {
        let first = text.trim_start_matches('\u{feff}').lines().next().unwrap_or("");
        first
            .strip_prefix("// expect:")
            .unwrap_or_else(|| {
                panic!(
                    "{}: the first line must be `// expect: CODES` or `// expect: clean`",
                    path.display()
                )
            })
            .to_owned()
    };
    header
        .split_whitespace()
        .filter(|word| *word != "clean")
        .map(str::to_owned)
        .collect()
}

/// Checks one UI case and returns its snapshot text and the codes it yielded.
fn run_case(name: &str, bytes: Vec<u8>, source_shown: &str) -> (String, BTreeSet<String>) {
    let root = ui_root();
    let module_path = name.strip_suffix(".schema").map(|stem| stem.replace('/', "."));
    let mut workspace = Workspace::new(UiLoader { root });
    let result = workspace.check(name, bytes, module_path.as_deref());
    let codes = result.diagnostics.iter().map(|d| d.code.as_str().to_owned()).collect();
    let human = render::to_plain_text(&workspace.sources, &result.diagnostics);
    let json = render::to_json_lines(&workspace.sources, &result.diagnostics);
    let snapshot = format!("--- source\n{source_shown}\n--- diagnostics\n{human}\n--- json\n{json}");
    (snapshot, codes)
}

static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

#[test]
fn ui_files() {
    let root = ui_root();
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    let failures = Mutex::new(Vec::new());
    settings.bind(|| {
        insta::glob!("ui/**/*.{map,schema}", |path| {
            let bytes = std::fs::read(path).unwrap();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let expected = expected_codes(path, &text);
            let name = display_name(&root, path);
            let (snapshot, codes) = run_case(&name, bytes, &text);
            if codes != expected {
                failures
                    .lock()
                    .unwrap()
                    .push(format!("{name}: expected {expected:?}, yielded {codes:?}\n{snapshot}"));
            }
            SEEN.lock().unwrap().extend(codes);
            insta::assert_snapshot!(snapshot);
        });
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A file over the size limit cannot live in the repository; it is made
/// here and snapshotted like the others.
#[test]
fn ui_generated_file_too_large() {
    let mut bytes = b"param x: String = \"".to_vec();
    bytes.resize(4 * 1024 * 1024 + 10, b'a');
    bytes.extend_from_slice(b"\"\n");
    let shown = format!("<generated: param x: String = \"aaa…\" — {} bytes>", bytes.len());
    let (snapshot, codes) = run_case("generated/file_too_large.map", bytes, &shown);
    assert_eq!(codes, BTreeSet::from(["E0008".to_owned()]));
    SEEN.lock().unwrap().extend(codes);
    insta::assert_snapshot!("generated__file_too_large", snapshot);
}

#[test]
fn every_code_has_a_ui_test() {
    let root = ui_root();
    let mut expected = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("map" | "schema")) {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                expected.extend(expected_codes(&path, &text));
            }
        }
    }
    expected.insert("E0008".to_owned()); // ui_generated_file_too_large
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|code| code.as_str())
        .filter(|code| !expected.contains(*code))
        .collect();
    assert!(missing.is_empty(), "codes without a UI test: {missing:?}");
}
