//! `mapc fmt`: writes `.map` and `.schema` files in the canonical layout
//! (the same formatter the language server uses), or with `--check` says
//! which files are not in it.
//!
//! Exit codes: 0 all formatted (or, with `--check`, all already formatted);
//! 1 a file is not formatted (`--check`) or could not be (syntax errors);
//! 2 a path is wrong.

use mapwright_compiler::format::format;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Formats the files under `paths` (stdin to stdout when `paths` is `-`).
pub fn run(paths: &[PathBuf], check: bool) -> ExitCode {
    if paths.len() == 1 && paths[0] == Path::new("-") {
        return stdin(check);
    }
    let mut files = Vec::new();
    for path in paths {
        if let Err(error) = crate::check::collect(path, true, &mut files) {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    }
    let (mut changed, mut failed) = (0usize, 0usize);
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("error: cannot read {}: {error}", file.display());
                failed += 1;
                continue;
            }
        };
        match format(&text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                changed += 1;
                if check {
                    println!("{}: not formatted", file.display());
                    print_first_difference(&text, &formatted);
                } else if let Err(error) = write_atomically(file, &formatted) {
                    eprintln!("error: cannot write {}: {error}", file.display());
                    failed += 1;
                } else {
                    println!("formatted {}", file.display());
                }
            }
            Err(error) => {
                eprintln!("error: {}: {error}", file.display());
                failed += 1;
            }
        }
    }
    let verb = if check { "would be reformatted" } else { "reformatted" };
    eprintln!(
        "{} file{} checked, {changed} {verb}, {failed} could not be formatted",
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    );
    if failed > 0 || (check && changed > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn stdin(check: bool) -> ExitCode {
    let mut text = String::new();
    if let Err(error) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
        eprintln!("error: cannot read stdin: {error}");
        return ExitCode::from(2);
    }
    match format(&text) {
        Ok(formatted) if check => {
            if formatted == text {
                ExitCode::SUCCESS
            } else {
                println!("<stdin>: not formatted");
                print_first_difference(&text, &formatted);
                ExitCode::from(1)
            }
        }
        Ok(formatted) => {
            print!("{formatted}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: <stdin>: {error}");
            ExitCode::from(1)
        }
    }
}

/// Shows the first line that changes, so `--check` in CI says where.
fn print_first_difference(before: &str, after: &str) {
    for (index, (old, new)) in before.lines().zip(after.lines()).enumerate() {
        if old != new {
            println!("  line {}:\n  - {old}\n  + {new}", index + 1);
            return;
        }
    }
    let (old, new) = (before.lines().count(), after.lines().count());
    println!("  the file has {old} lines; formatted it has {new}");
}

/// Writes beside the file and renames over it, so a crash never leaves half
/// a file.
fn write_atomically(file: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = file.as_os_str().to_owned();
    temporary.push(".mapc-fmt.tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, file)
}
