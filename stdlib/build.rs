//! Generates the table of embedded `.schema` files: every `*.schema` below
//! this folder, by module path (`sap/s4/supplier_invoice.schema` →
//! `sap.s4.supplier_invoice`), so a new schema file needs no code change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name == "src" || name == "target" || name.starts_with('.') {
                continue;
            }
            collect(&path, root, out)?;
        } else if let Some(stem) = name.strip_suffix(".schema") {
            let relative = path
                .parent()
                .and_then(|p| p.strip_prefix(root).ok())
                .map(PathBuf::from)
                .unwrap_or_default();
            let mut module: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            module.push(stem.to_owned());
            out.push((module.join("."), path.clone()));
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let mut modules = Vec::new();
    collect(&root, &root, &mut modules)?;
    println!("cargo::rerun-if-changed={}", root.display());
    let mut code = String::from(
        "/// Every embedded module: (module path, path relative to the stdlib root, text).\npub static MODULES: &[(&str, &str, &str)] = &[\n",
    );
    for (module, path) in &modules {
        println!("cargo::rerun-if-changed={}", path.display());
        let relative = path.strip_prefix(&root)?.to_string_lossy().replace('\\', "/");
        writeln!(
            code,
            "    ({module:?}, {relative:?}, include_str!({:?})),",
            path.display().to_string()
        )?;
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("modules.rs");
    std::fs::write(out, code)?;
    Ok(())
}
