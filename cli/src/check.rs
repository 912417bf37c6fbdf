//! `mapc check`: find the files, group them by project root, check each
//! group in one workspace, print the diagnostics, choose the exit code.

use crate::{ColorWhen, OutputFormat};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use mapwright_compiler::diagnostics::{Diagnostic, render};
use mapwright_compiler::resolve::{FileKind, Workspace};
use mapwright_project::{FsLoader, PROJECT_FILE, find_root, module_path_of};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The contents of `Mapwright.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectFile {
    #[allow(dead_code)]
    project: Option<ProjectSection>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectSection {
    #[allow(dead_code)]
    name: Option<String>,
}

/// Runs `mapc check`.
pub fn run(
    paths: &[PathBuf],
    stdlib: Option<&Path>,
    format: OutputFormat,
    color: ColorWhen,
    deny_warnings: bool,
) -> ExitCode {
    let mut files = Vec::new();
    for path in paths {
        if let Err(message) = collect(path, true, &mut files) {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    }
    if let Some(dir) = stdlib
        && !dir.is_dir()
    {
        eprintln!("error: --stdlib {}: not a folder", dir.display());
        return ExitCode::from(2);
    }
    files.sort();
    files.dedup();
    let stdlib = stdlib.map(|dir| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()));

    // Group by project root: one workspace each.
    let mut groups: BTreeMap<Option<PathBuf>, Vec<PathBuf>> = BTreeMap::new();
    for file in files {
        let absolute = file.canonicalize().unwrap_or_else(|_| file.clone());
        let root = absolute.parent().and_then(find_root);
        groups.entry(root).or_default().push(file);
    }

    let stderr = StandardStream::stderr(color_choice(color));
    let stdout = std::io::stdout();
    let mut errors = 0usize;
    let mut warnings = 0usize;
    let mut checked = 0usize;

    for (root, files) in groups {
        if let Some(root) = &root
            && let Err(message) = check_project_file(root)
        {
            eprintln!("error: {message}");
            errors += 1;
        }
        let mut workspace = Workspace::new(FsLoader::new(root.clone(), stdlib.clone()));
        for file in files {
            let bytes = match std::fs::read(&file) {
                Ok(bytes) => bytes,
                Err(error) => {
                    eprintln!("error: cannot read {}: {error}", file.display());
                    errors += 1;
                    continue;
                }
            };
            let absolute = file.canonicalize().unwrap_or_else(|_| file.clone());
            let module_path = match (&stdlib, &root) {
                (Some(dir), _) if absolute.starts_with(dir) => module_path_of(&absolute, dir),
                (_, Some(root)) => module_path_of(&absolute, root),
                _ => None,
            };
            let name = file.display().to_string();
            let result = workspace.check(&name, bytes, module_path.as_deref());
            checked += 1;
            for diagnostic in &result.diagnostics {
                if diagnostic.is_error() {
                    errors += 1;
                } else {
                    warnings += 1;
                }
            }
            emit(&workspace, &result.diagnostics, format, &stderr, &stdout);
        }
    }
    let failed = errors > 0 || (deny_warnings && warnings > 0);
    if format == OutputFormat::Human {
        let summary = format!(
            "checked {checked} file{}: {errors} error{}, {warnings} warning{}",
            plural(checked),
            plural(errors),
            plural(warnings)
        );
        eprintln!("{summary}");
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// The colour choice for stderr: `auto` colours a terminal unless
/// NO_COLOR is set.
pub fn color_choice(color: ColorWhen) -> ColorChoice {
    match color {
        ColorWhen::Always => ColorChoice::Always,
        ColorWhen::Never => ColorChoice::Never,
        ColorWhen::Auto => {
            if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) {
                ColorChoice::Auto
            } else {
                ColorChoice::Never
            }
        }
    }
}

/// Prints diagnostics for people on stderr.
pub fn emit_human<L: mapwright_compiler::resolve::ModuleLoader>(
    workspace: &Workspace<L>,
    diagnostics: &[Diagnostic],
    choice: ColorChoice,
) {
    let stderr = StandardStream::stderr(choice);
    emit(workspace, diagnostics, OutputFormat::Human, &stderr, &std::io::stdout());
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn emit<L: mapwright_compiler::resolve::ModuleLoader>(
    workspace: &Workspace<L>,
    diagnostics: &[Diagnostic],
    format: OutputFormat,
    stderr: &StandardStream,
    stdout: &std::io::Stdout,
) {
    match format {
        OutputFormat::Json => {
            let text = render::to_json_lines(&workspace.sources, diagnostics);
            let mut out = stdout.lock();
            let _ = out.write_all(text.as_bytes());
        }
        OutputFormat::Human => {
            let config = render::term_config();
            let mut out = stderr.lock();
            for diagnostic in diagnostics {
                let rendered = render::to_codespan(diagnostic);
                if let Err(error) =
                    codespan_reporting::term::emit_to_write_style(&mut out, &config, &workspace.sources, &rendered)
                {
                    let _ = writeln!(
                        out,
                        "{}[{}]: {} ({error})",
                        diagnostic.severity.as_str(),
                        diagnostic.code,
                        diagnostic.message
                    );
                }
            }
        }
    }
}

/// Collects `.map` and `.schema` files under `path`. A path named
/// explicitly must exist and, if a file, be one of those kinds.
pub fn collect(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let metadata = std::fs::metadata(path).map_err(|error| format!("{}: {error}", path.display()))?;
    if metadata.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|error| format!("{}: {error}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            let name = entry
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            collect(&entry, false, out)?;
        }
        Ok(())
    } else if FileKind::from_name(&path.to_string_lossy()).is_some() {
        out.push(path.to_path_buf());
        Ok(())
    } else if explicit {
        Err(format!("{}: not a `.map` or `.schema` file", path.display()))
    } else {
        Ok(())
    }
}

fn check_project_file(root: &Path) -> Result<(), String> {
    let path = root.join(PROJECT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    toml::from_str::<ProjectFile>(&text)
        .map(|_| ())
        .map_err(|error| format!("{}: {error}", path.display()))
}
