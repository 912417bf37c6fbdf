//! Mapwright projects on the file system, shared by `mapc` and the runtime:
//! finding modules (the project root holding `Mapwright.toml`, the standard
//! library), checking a `.map` file in its project, and preparing one of
//! its mappings to run. The compiler library stays free of IO; this crate
//! is where files are read.

pub mod loader;
pub mod naming;

pub use loader::{FsLoader, PROJECT_FILE, collect_modules, find_root, module_path_of};

use mapwright_compiler::diagnostics::Diagnostic;
use mapwright_compiler::program::{Program, mapping_names};
use mapwright_compiler::resolve::Workspace;
use mapwright_compiler::types::ModuleId;
use std::path::Path;

/// A `.map` file checked in its project.
pub struct Checked {
    /// The workspace holding it (for rendering its diagnostics).
    pub workspace: Workspace<FsLoader>,
    /// The checked module, when the file is a module.
    pub module: Option<ModuleId>,
    /// Its diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// How many of the diagnostics are errors.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// The diagnostics as plain text (file:line:col, no colour).
    pub fn plain_text(&self) -> String {
        mapwright_compiler::diagnostics::render::to_plain_text(&self.workspace.sources, &self.diagnostics)
    }
}

/// Reads and checks `file` in its project (the nearest `Mapwright.toml`
/// above it), with the standard library from `stdlib` or embedded.
pub fn check_file(file: &Path, stdlib: Option<&Path>) -> Result<Checked, String> {
    let bytes = std::fs::read(file).map_err(|error| format!("cannot read {}: {error}", file.display()))?;
    let absolute = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    let root = absolute.parent().and_then(find_root);
    let stdlib = stdlib.map(|dir| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()));
    let module_path = root.as_ref().and_then(|root| module_path_of(&absolute, root));
    let mut workspace = Workspace::new(FsLoader::new(root, stdlib));
    let result = workspace.check(&file.display().to_string(), bytes, module_path.as_deref());
    Ok(Checked {
        workspace,
        module: result.module,
        diagnostics: result.diagnostics,
    })
}

/// Prepares mapping `mapping` (or the file's only mapping) of a file that
/// checked clean.
pub fn program(checked: &Checked, file: &Path, mapping: Option<&str>) -> Result<Program, String> {
    let errors = checked.errors();
    if errors > 0 {
        return Err(format!(
            "{} does not check clean ({errors} error{}); fix it before running it",
            file.display(),
            if errors == 1 { "" } else { "s" }
        ));
    }
    let module = checked
        .module
        .ok_or_else(|| format!("{}: not a mapping file", file.display()))?;
    let name = match mapping {
        Some(name) => name.to_owned(),
        None => match mapping_names(&checked.workspace, module).as_slice() {
            [only] => only.clone(),
            [] => return Err(format!("{} has no mapping", file.display())),
            many => {
                return Err(format!(
                    "{} has {} mappings ({}); say which",
                    file.display(),
                    many.len(),
                    many.join(", ")
                ));
            }
        },
    };
    Program::new(&checked.workspace, module, &name).map_err(|error| format!("{}: {error}", file.display()))
}
