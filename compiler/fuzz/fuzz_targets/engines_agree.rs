//! libFuzzer target: fuzzer bytes as an input event for one of the example
//! mappings (chosen by the first byte), run through the JIT and the
//! interpreter. They must give the same bytes or the same errors; neither
//! may crash. The decoder's fast path must also decode the bytes exactly
//! as the full decoder does (or defer to it), and decoding into the value
//! the previous input left must give what decoding afresh gives.
//!
//! Run from `compiler/`: `cargo fuzz run -s none engines_agree CORPUS`
//! (stable Rust, so no sanitizer; the JIT's memory safety is checked under
//! valgrind instead). `.ci/run` runs it for 60 s seeded with the golden
//! inputs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mapwright_compiler::program::{Engine, Evaluator, Framing, Program};
use mapwright_compiler::resolve::{EmbeddedStdlib, LoadOutcome, LoadedModule, ModuleLoader, Workspace};
use mapwright_compiler::interp::value::Value;
use mapwright_compiler::mir::demand::Demand;
use mapwright_compiler::wire::json_in::{self, DecodeOptions};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Schemas from the examples folder, then the embedded standard library.
struct Examples(PathBuf);

impl ModuleLoader for Examples {
    fn load(&self, path: &str) -> LoadOutcome {
        let file = self.0.join(path.replace('.', "/")).with_extension("schema");
        match std::fs::read(&file) {
            Ok(bytes) => LoadOutcome::Found(LoadedModule {
                name: file.display().to_string(),
                bytes,
                origin: mapwright_compiler::source::Origin::User,
            }),
            Err(_) => EmbeddedStdlib.load(path),
        }
    }

    fn module_paths(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A mapping with both engines set up on its suite's params and tables.
struct Case {
    program: &'static Program,
    interp: Evaluator<'static>,
    jit: Evaluator<'static>,
}

fn toml_file(path: &Path) -> toml::Table {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_default()
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut out = Vec::new();
        let mut maps: Vec<PathBuf> = std::fs::read_dir(&examples)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|dir| std::fs::read_dir(dir.path()).into_iter().flatten().flatten())
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "map"))
            .collect();
        maps.sort();
        for map in maps {
            let (Some(dir), Some(stem)) = (map.parent(), map.file_stem()) else {
                continue;
            };
            let stem = stem.to_string_lossy().into_owned();
            let suite = dir.join(format!("{stem}.tests"));
            let dir_name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut workspace = Workspace::new(Examples(examples.clone()));
            let Ok(source) = std::fs::read(&map) else { continue };
            let result = workspace.check(&stem, source, Some(&format!("{dir_name}.{stem}")));
            let Some(module) = result.module.filter(|_| result.diagnostics.is_empty()) else {
                continue;
            };
            for name in mapwright_compiler::program::mapping_names(&workspace, module) {
                let Ok(program) = Program::new(&workspace, module, &name) else {
                    continue;
                };
                let program: &'static Program = Box::leak(Box::new(program));
                let params = program
                    .params_from_toml(&toml_file(&suite.join("params.toml")))
                    .unwrap_or_default();
                let tables = program
                    .tables_from_toml(&toml_file(&suite.join("tables.toml")))
                    .unwrap_or_default();
                let (Ok(interp), Ok(jit)) = (
                    program.evaluator(Engine::Interp, &params, tables.clone()),
                    program.evaluator(Engine::Jit, &params, tables),
                ) else {
                    continue;
                };
                out.push(Case { program, interp, jit });
            }
        }
        assert!(
            !out.is_empty(),
            "no example mappings found under {}",
            examples.display()
        );
        out
    })
}

thread_local! {
    /// What the last decoding into a value left.
    static PREVIOUS: std::cell::RefCell<Value> = const { std::cell::RefCell::new(Value::Absent) };
}

fuzz_target!(|data: &[u8]| {
    let cases = cases();
    let Some((choice, input)) = data.split_first() else {
        return;
    };
    let case = &cases[usize::from(*choice) % cases.len()];
    for strict in [false, true] {
        let options = DecodeOptions { strict };
        for demand in [&case.program.reads, Demand::whole_ref()] {
            let fast = json_in::decode_reading(&case.program.input, demand, input, options);
            let slow = json_in::decode_reading_slowly(&case.program.input, demand, input, options);
            assert_eq!(
                fast,
                slow,
                "the decoder's fast path disagrees on {:?}",
                String::from_utf8_lossy(input)
            );
            // Decoding into what the last input left must give the same.
            let mut into = PREVIOUS.with(|previous| previous.take());
            let reused = json_in::decode_reading_into(&case.program.input, demand, input, options, &mut into)
                .map(|()| into.clone());
            assert_eq!(
                reused,
                fast,
                "decoding into an earlier record's value differs on {:?}",
                String::from_utf8_lossy(input)
            );
            PREVIOUS.with(|previous| previous.replace(into));
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let ra = case
            .program
            .run_event(&case.interp, input, options, Framing::Stream { first: true }, &mut a);
        let rb = case
            .program
            .run_event(&case.jit, input, options, Framing::Stream { first: true }, &mut b);
        assert_eq!(ra, rb, "the engines disagree on {:?}", String::from_utf8_lossy(input));
        assert!(
            a == b,
            "the engines wrote different bytes for {:?}",
            String::from_utf8_lossy(input)
        );
    }
});
