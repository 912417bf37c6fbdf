//! Preparing a `.map` file to run: check it in its project (printing the
//! diagnostics when it does not check clean), pick the mapping, read the
//! tenant's params and tables. Shared by `mapc run` and `mapc test`.

use crate::ColorWhen;
use crate::check::{color_choice, emit_human};

use mapwright_compiler::interp::value::Value;
use mapwright_compiler::program::Program;
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
    let checked = mapwright_project::check_file(file, stdlib).map_err(Unprepared)?;
    if checked.errors() > 0 {
        emit_human(&checked.workspace, &checked.diagnostics, color_choice(color));
    }
    mapwright_project::program(&checked, file, mapping).map_err(Unprepared)
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
