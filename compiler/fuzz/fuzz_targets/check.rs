//! Coverage-guided fuzzing of parse + resolve + rendering with libFuzzer,
//! for long runs by hand (the bounded CI run is the proptest in
//! `tests/fuzz.rs`). Run from `compiler/`:
//!
//! ```sh
//! RUSTC_BOOTSTRAP=1 cargo fuzz run check -- -max_total_time=600
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapwright_compiler::diagnostics::render;
use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};

fuzz_target!(|data: &[u8]| {
    for name in ["fuzz.map", "fuzz.schema"] {
        let mut workspace = Workspace::new(EmbeddedStdlib);
        let result = workspace.check(name, data.to_vec(), Some("fuzz"));
        let _ = render::to_plain_text(&workspace.sources, &result.diagnostics);
        let _ = render::to_json_lines(&workspace.sources, &result.diagnostics);
    }
});
