//! Preparing a `.map` file to run: check it in its project (printing the
//! diagnostics when it does not check clean), pick the mapping, read the
//! tenant's params and tables. Shared by `mapc run` and `mapc test`.

use crate::ColorWhen;
use crate::check::{color_choice, emit_human};
use crate::loader::{FsLoader, find_root, module_path_of};
use mapwright_compiler::interp::value::Value;
use mapwright_compiler::program::{Program, ProgramError, mapping_names};
use mapwright_compiler::resolve::Workspace;
use std::collections::HashMap;
use std::path::Path;

/// Why a file could not be prepared; the message is ready to print.
pub struct Unprepared(pub String);

impl Unprepared {
    /// Prints the message and gives exit code 2 (the run could not start).
    pub fn exit(self) -> std::process::ExitCode {
        eprintln!("error: {}", self.0);
        std::process::ExitCode::from(2)
    }
}

/// Checks `file` and prepares mapping `mapping` (or the file's only
/// mapping). Diagnostics are printed to stderr when the file has errors.
pub fn program(
    file: &Path,
    mapping: Option<&str>,
    stdlib: Option<&Path>,
    color: ColorWhen,
) -> Result<Program, Unprepared> {
    let bytes = std::fs::read(file).map_err(|error| Unprepared(format!("cannot read {}: {error}", file.display())))?;
    let absolute = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    let root = absolute.parent().and_then(find_root);
    let stdlib = stdlib.map(|dir| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()));
    let module_path = root.as_ref().and_then(|root| module_path_of(&absolute, root));
    let mut workspace = Workspace::new(FsLoader::new(root, stdlib));
    let result = workspace.check(&file.display().to_string(), bytes, module_path.as_deref());
    let errors = result.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        emit_human(&workspace, &result.diagnostics, color_choice(color));
        return Err(Unprepared(format!(
            "{} does not check clean ({errors} error{}); fix it before running it",
            file.display(),
            if errors == 1 { "" } else { "s" }
        )));
    }
    let module = result
        .module
        .ok_or_else(|| Unprepared(format!("{}: not a mapping file", file.display())))?;
    let name = match mapping {
        Some(name) => name.to_owned(),
        None => {
            let names = mapping_names(&workspace, module);
            match names.as_slice() {
                [only] => only.clone(),
                [] => return Err(Unprepared(format!("{} has no mapping", file.display()))),
                many => {
                    return Err(Unprepared(format!(
                        "{} has {} mappings ({}); say which with --mapping NAME",
                        file.display(),
                        many.len(),
                        many.join(", ")
                    )));
                }
            }
        }
    };
    Program::new(&workspace, module, &name)
        .map_err(|error: ProgramError| Unprepared(format!("{}: {error}", file.display())))
}

/// Reads a TOML file into a table; `what` names it in messages.
fn toml_table(path: &Path) -> Result<toml::Table, Unprepared> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Unprepared(format!("cannot read {}: {error}", path.display())))?;
    text.parse::<toml::Table>()
        .map_err(|error| Unprepared(format!("{}: {}", path.display(), error.to_string().trim_end())))
}

fn problems(path: &Path, problems: Vec<String>) -> Unprepared {
    let mut message = String::new();
    for (index, problem) in problems.iter().enumerate() {
        if index > 0 {
            message.push('\n');
        }
        message.push_str(&format!("{}: {problem}", path.display()));
    }
    Unprepared(message)
}

/// The tenant's params: from `path` when given (else none), checked
/// against the mapping's params.
pub fn params(program: &Program, path: Option<&Path>) -> Result<HashMap<String, Value>, Unprepared> {
    let table = match path {
        Some(path) => toml_table(path)?,
        None => toml::Table::new(),
    };
    program
        .params_from_toml(&table)
        .map_err(|list| problems(path.unwrap_or(Path::new("(no --params file)")), list))
}

/// The tenant's external tables: from `path` when given.
pub fn tables(program: &Program, path: Option<&Path>) -> Result<HashMap<String, HashMap<String, Value>>, Unprepared> {
    let Some(path) = path else {
        return Ok(HashMap::new());
    };
    let table = toml_table(path)?;
    program.tables_from_toml(&table).map_err(|list| problems(path, list))
}
