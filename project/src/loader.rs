//! Module lookup on the file system: the project root (the folder holding the
//! nearest `Mapwright.toml`) and the standard library (embedded, or a folder
//! given with `--stdlib`).

use mapwright_compiler::resolve::{EmbeddedStdlib, LoadOutcome, LoadedModule, ModuleLoader};
use mapwright_compiler::source::Origin;
use std::cell::OnceCell;
use std::path::{Path, PathBuf};

/// The name of the file that marks a project root.
pub const PROJECT_FILE: &str = "Mapwright.toml";

/// Finds modules in a project root and the standard library.
pub struct FsLoader {
    root: Option<PathBuf>,
    stdlib: Option<PathBuf>,
    known: OnceCell<Vec<String>>,
}

impl FsLoader {
    /// A loader for a project at `root` (if any), with the stdlib from
    /// `stdlib` (a folder) or embedded.
    pub fn new(root: Option<PathBuf>, stdlib: Option<PathBuf>) -> FsLoader {
        FsLoader {
            root,
            stdlib,
            known: OnceCell::new(),
        }
    }

    fn file_in(dir: &Path, module: &str) -> PathBuf {
        let mut path = dir.to_path_buf();
        for segment in module.split('.') {
            path.push(segment);
        }
        path.set_extension("schema");
        path
    }

    fn read(path: &Path, origin: Origin) -> Option<Result<LoadedModule, String>> {
        if !path.is_file() {
            return None;
        }
        Some(
            std::fs::read(path)
                .map(|bytes| LoadedModule {
                    name: path.display().to_string(),
                    bytes,
                    origin,
                })
                .map_err(|error| format!("cannot read {}: {error}", path.display())),
        )
    }
}

/// Whether a module path is made of plain segments (no `..`, no slashes), so
/// it cannot name a file outside its root.
fn safe_module_path(module: &str) -> bool {
    !module.is_empty()
        && module
            .split('.')
            .all(|segment| !segment.is_empty() && segment.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
}

impl ModuleLoader for FsLoader {
    fn load(&self, module: &str) -> LoadOutcome {
        if !safe_module_path(module) {
            return LoadOutcome::NotFound;
        }
        let project = self
            .root
            .as_ref()
            .and_then(|root| Self::read(&Self::file_in(root, module), Origin::User));
        let stdlib = match &self.stdlib {
            Some(dir) => Self::read(&Self::file_in(dir, module), Origin::User),
            None => match EmbeddedStdlib.load(module) {
                LoadOutcome::Found(found) => Some(Ok(found)),
                _ => None,
            },
        };
        match (project, stdlib) {
            (Some(Ok(project)), Some(Ok(stdlib))) => LoadOutcome::Failed(format!(
                "it is defined twice: in the project ({}) and in the standard library ({}); rename the project's module",
                project.name, stdlib.name
            )),
            (Some(Err(error)), _) | (_, Some(Err(error))) => LoadOutcome::Failed(error),
            (Some(Ok(found)), None) | (None, Some(Ok(found))) => LoadOutcome::Found(found),
            (None, None) => LoadOutcome::NotFound,
        }
    }

    fn module_paths(&self) -> Vec<String> {
        self.known
            .get_or_init(|| {
                let mut paths = Vec::new();
                if let Some(root) = &self.root {
                    collect_modules(root, root, &mut paths);
                }
                match &self.stdlib {
                    Some(dir) => collect_modules(dir, dir, &mut paths),
                    None => paths.extend(EmbeddedStdlib.module_paths()),
                }
                paths.sort();
                paths.dedup();
                paths
            })
            .clone()
    }
}

/// Module paths of every `.schema` file below `dir`.
pub fn collect_modules(dir: &Path, root: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            collect_modules(&path, root, out);
        } else if let Some(module) = module_path_of(&path, root) {
            out.push(module);
        }
    }
}

/// The module path of a `.schema` file under `root`
/// (`root/sap/s4/x.schema` → `sap.s4.x`).
pub fn module_path_of(file: &Path, root: &Path) -> Option<String> {
    if file.extension().is_none_or(|ext| ext != "schema") {
        return None;
    }
    let relative = file.strip_prefix(root).ok()?.with_extension("");
    let segments: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segments.is_empty() {
        return None;
    }
    Some(segments.join("."))
}

/// The nearest folder at or above `start` holding `Mapwright.toml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(current) = dir {
        if current.join(PROJECT_FILE).is_file() {
            return Some(current.to_path_buf());
        }
        dir = current.parent();
    }
    None
}
