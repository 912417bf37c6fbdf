//! `mapc test`: run the golden cases that live beside each mapping.
//!
//! Layout: `X.map` + `X.tests/<case>/{input.json, params.toml?,
//! tables.toml?, case.toml?, expected.json | expected.xml | expected.csv |
//! expected-error.txt}`.
//! `params.toml` and `tables.toml` directly in `X.tests/` apply to every
//! case that has none of its own. `case.toml` may say `mapping = "name"`
//! (for a file with several mappings) and `strict = true` (reject unknown
//! input fields). `expected.json` is compared by structure, numbers as
//! written; `expected.xml` and `expected.csv` byte for byte (the XML
//! indented, the CSV as the file would be written, encoding included), with
//! a line diff; `expected-error.txt` holds the record's errors, one per line,
//! as `mapc run` prints them without the line number.

use crate::ColorWhen;
use crate::prepare;
use mapwright_compiler::program::{Engine, Framing, Program};
use mapwright_compiler::resolve::annotations::WireFormat;
use mapwright_compiler::wire::json_in::DecodeOptions;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What a case's optional `case.toml` says.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    mapping: Option<String>,
    #[serde(default)]
    strict: bool,
}

/// Runs `mapc test`.
pub fn run(paths: &[PathBuf], bless: bool, engine: Engine, stdlib: Option<&Path>, color: ColorWhen) -> ExitCode {
    let mut suites = Vec::new();
    for path in paths {
        if let Err(message) = find_suites(path, &mut suites) {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    }
    suites.sort();
    suites.dedup();
    if suites.is_empty() {
        eprintln!(
            "error: no golden cases found: a mapping `X.map` keeps its cases in a folder `X.tests/<case>/` beside it"
        );
        return ExitCode::from(2);
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for (map_file, suite) in suites {
        let mut cases: Vec<PathBuf> = match std::fs::read_dir(&suite) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect(),
            Err(error) => {
                eprintln!("error: {}: {error}", suite.display());
                failed += 1;
                continue;
            }
        };
        cases.sort();
        // Programs are prepared once per mapping name.
        let mut programs: Vec<(Option<String>, Result<Program, String>)> = Vec::new();
        for case in cases {
            let name = format!(
                "{}/{}",
                suite
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                case.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
            let settings = Settings {
                bless,
                engine,
                stdlib,
                color,
            };
            let outcome = run_case(&map_file, &suite, &case, &settings, &mut programs);
            match outcome {
                Ok(Verdict::Pass) => {
                    passed += 1;
                    println!("ok      {name}");
                }
                Ok(Verdict::Blessed(what)) => {
                    passed += 1;
                    println!("blessed {name} ({what})");
                }
                Err(report) => {
                    failed += 1;
                    println!("FAIL    {name}");
                    for line in report.lines() {
                        println!("        {line}");
                    }
                }
            }
        }
    }
    println!(
        "{} case{}: {passed} passed, {failed} failed",
        passed + failed,
        if passed + failed == 1 { "" } else { "s" }
    );
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

enum Verdict {
    Pass,
    Blessed(&'static str),
}

/// Finds `(X.map, X.tests)` pairs under `path`.
fn find_suites(path: &Path, out: &mut Vec<(PathBuf, PathBuf)>) -> Result<(), String> {
    let metadata = std::fs::metadata(path).map_err(|error| format!("{}: {error}", path.display()))?;
    if metadata.is_file() {
        let suite = path.with_extension("tests");
        if path.extension().is_some_and(|e| e == "map") {
            if suite.is_dir() {
                out.push((path.to_path_buf(), suite));
            }
            return Ok(());
        }
        return Err(format!("{}: not a `.map` file", path.display()));
    }
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
        if entry.is_dir() {
            if !name.ends_with(".tests") {
                find_suites(&entry, out)?;
            }
        } else if name.ends_with(".map") {
            find_suites(&entry, out)?;
        }
    }
    Ok(())
}

fn first_existing(case: &Path, suite: &Path, name: &str) -> Option<PathBuf> {
    [case.join(name), suite.join(name)].into_iter().find(|p| p.is_file())
}

/// How `mapc test` runs every case.
struct Settings<'a> {
    /// Write results as expectations.
    bless: bool,
    /// The engine.
    engine: Engine,
    /// An alternative standard library.
    stdlib: Option<&'a Path>,
    /// Colours of diagnostics.
    color: ColorWhen,
}

fn run_case(
    map_file: &Path,
    suite: &Path,
    case: &Path,
    settings: &Settings<'_>,
    programs: &mut Vec<(Option<String>, Result<Program, String>)>,
) -> Result<Verdict, String> {
    let case_file: CaseFile = match std::fs::read_to_string(case.join("case.toml")) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("case.toml: {}", e.to_string().trim_end()))?,
        Err(_) => CaseFile::default(),
    };
    let input = std::fs::read(case.join("input.json")).map_err(|e| format!("input.json: {e}"))?;
    let index = match programs.iter().position(|(name, _)| *name == case_file.mapping) {
        Some(index) => index,
        None => {
            let prepared = prepare::program(map_file, case_file.mapping.as_deref(), settings.stdlib, settings.color)
                .map_err(|u| u.0);
            programs.push((case_file.mapping.clone(), prepared));
            programs.len() - 1
        }
    };
    let program = match programs.get(index).map(|(_, p)| p) {
        Some(Ok(program)) => program,
        Some(Err(message)) => return Err(message.clone()),
        None => return Err("internal error: no program".to_owned()),
    };
    let params = prepare::params(program, first_existing(case, suite, "params.toml").as_deref()).map_err(|u| u.0)?;
    let tables = prepare::tables(program, first_existing(case, suite, "tables.toml").as_deref()).map_err(|u| u.0)?;
    let evaluator = program
        .evaluator(settings.engine, &params, tables)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let outcome = program.run_event(
        &evaluator,
        &input,
        DecodeOptions {
            strict: case_file.strict,
        },
        Framing::File,
        &mut out,
    );
    let format = program.output_format();
    let expected_name = match format {
        WireFormat::Json => "expected.json",
        WireFormat::Xml => "expected.xml",
        WireFormat::Csv => "expected.csv",
    };
    let expected_output = case.join(expected_name);
    let expected_error = case.join("expected-error.txt");
    match outcome {
        Ok(()) => {
            if settings.bless {
                let written = if format == WireFormat::Json {
                    let actual: Json = serde_json::from_slice(&out)
                        .map_err(|e| format!("internal error: the output is not JSON: {e}"))?;
                    let mut pretty = serde_json::to_string_pretty(&actual).map_err(|e| e.to_string())?;
                    pretty.push('\n');
                    pretty.into_bytes()
                } else {
                    out.clone()
                };
                std::fs::write(&expected_output, written).map_err(|e| format!("{expected_name}: {e}"))?;
                let _ = std::fs::remove_file(&expected_error);
                return Ok(Verdict::Blessed(expected_name));
            }
            if expected_error.is_file() {
                let wanted = std::fs::read_to_string(&expected_error).unwrap_or_default();
                return Err(format!(
                    "expected the record to fail with:\n{}\nbut it mapped to:\n{}",
                    indent(wanted.trim_end()),
                    indent(&String::from_utf8_lossy(&out))
                ));
            }
            let wanted = std::fs::read(&expected_output).map_err(|_| {
                format!("no {expected_name} or expected-error.txt: run `mapc test --bless` to write one")
            })?;
            if format != WireFormat::Json {
                // XML and CSV are compared byte for byte; the diff is by line.
                return if wanted == out {
                    Ok(Verdict::Pass)
                } else {
                    Err(format!(
                        "the output differs from {expected_name}:\n{}",
                        line_diff(&wanted, &out)
                    ))
                };
            }
            let actual: Json =
                serde_json::from_slice(&out).map_err(|e| format!("internal error: the output is not JSON: {e}"))?;
            let wanted: Json = serde_json::from_slice(&wanted).map_err(|e| format!("expected.json: {e}"))?;
            let mut differences = Vec::new();
            diff(&wanted, &actual, &mut String::from("$"), &mut differences);
            if differences.is_empty() {
                Ok(Verdict::Pass)
            } else {
                Err(format!(
                    "the output differs from expected.json:\n{}",
                    differences.join("\n")
                ))
            }
        }
        Err(errors) => {
            let mut actual = String::new();
            for error in &errors {
                actual.push_str(&error.to_string());
                actual.push('\n');
            }
            if settings.bless {
                std::fs::write(&expected_error, &actual).map_err(|e| format!("expected-error.txt: {e}"))?;
                let _ = std::fs::remove_file(&expected_output);
                return Ok(Verdict::Blessed("expected-error.txt"));
            }
            if expected_output.is_file() {
                return Err(format!(
                    "expected output, but the record failed:\n{}",
                    indent(actual.trim_end())
                ));
            }
            let wanted = std::fs::read_to_string(&expected_error).map_err(|_| {
                format!(
                    "the record failed and there is no expected-error.txt:\n{}",
                    indent(actual.trim_end())
                )
            })?;
            let wanted_lines: Vec<&str> = wanted.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
            let actual_lines: Vec<&str> = actual.lines().collect();
            if wanted_lines == actual_lines {
                Ok(Verdict::Pass)
            } else {
                let mut report = String::from("the errors differ from expected-error.txt:\n");
                for line in &wanted_lines {
                    if !actual_lines.contains(line) {
                        report.push_str(&format!("- {line}\n"));
                    }
                }
                for line in &actual_lines {
                    if !wanted_lines.contains(line) {
                        report.push_str(&format!("+ {line}\n"));
                    }
                }
                if wanted_lines.len() == actual_lines.len() && report.lines().count() == 1 {
                    report.push_str("  (the same errors in another order)\n");
                }
                Err(report.trim_end().to_owned())
            }
        }
    }
}

/// A unified diff by line (`-` expected, `+` actual), with a little
/// context; line ends shown so CRLF and LF differences are visible.
fn line_diff(wanted: &[u8], actual: &[u8]) -> String {
    let wanted = String::from_utf8_lossy(wanted).replace('\r', "␍");
    let actual = String::from_utf8_lossy(actual).replace('\r', "␍");
    similar::TextDiff::from_lines(&wanted, &actual)
        .unified_diff()
        .context_radius(2)
        .header("expected", "actual")
        .to_string()
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

fn show(value: &Json) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

/// Differences between `expected` and `actual` by JSON path.
fn diff(expected: &Json, actual: &Json, path: &mut String, out: &mut Vec<String>) {
    match (expected, actual) {
        (Json::Object(want), Json::Object(got)) => {
            for (key, want_value) in want {
                let mark = path.len();
                mapwright_compiler::wire::push_key(path, key);
                match got.get(key) {
                    Some(got_value) => diff(want_value, got_value, path, out),
                    None => out.push(format!("{path}: missing (expected {})", show(want_value))),
                }
                path.truncate(mark);
            }
            for (key, got_value) in got {
                if !want.contains_key(key) {
                    let mark = path.len();
                    mapwright_compiler::wire::push_key(path, key);
                    out.push(format!("{path}: unexpected (found {})", show(got_value)));
                    path.truncate(mark);
                }
            }
        }
        (Json::Array(want), Json::Array(got)) => {
            for (index, (w, g)) in want.iter().zip(got).enumerate() {
                let mark = path.len();
                path.push_str(&format!("[{index}]"));
                diff(w, g, path, out);
                path.truncate(mark);
            }
            if want.len() != got.len() {
                out.push(format!(
                    "{path}: expected {} element{}, found {}",
                    want.len(),
                    if want.len() == 1 { "" } else { "s" },
                    got.len()
                ));
            }
        }
        (want, got) if want == got => {}
        (want, got) => out.push(format!("{path}: expected {}, found {}", show(want), show(got))),
    }
}
