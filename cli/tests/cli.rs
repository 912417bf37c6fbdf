//! The `mapc` binary end to end: exit codes (0 clean, 1 errors, 2 usage),
//! both output formats, `explain`, and the bad inputs the foundation must
//! survive: non-UTF-8, empty, 10 MB, 10,000-deep nesting, unterminated
//! strings and comments, a BOM, CRLF line ends. Never a panic, never a
//! stack overflow.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mapc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mapc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("mapc runs")
}

fn temp_project(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapc-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Mapwright.toml"), "[project]\nname = \"test\"\n").unwrap();
    dir
}

fn json_codes(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
            value["code"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[test]
fn the_examples_are_clean() {
    let output = mapc(&["check", "."], &examples());
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("0 errors"));
}

#[test]
fn the_embedded_stdlib_checks_clean_from_its_folder() {
    let stdlib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stdlib");
    let output = mapc(&["check", "--stdlib", ".", "."], &stdlib);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = temp_project("usage");
    assert_eq!(mapc(&["check"], &dir).status.code(), Some(2));
    assert_eq!(mapc(&["check", "missing.map"], &dir).status.code(), Some(2));
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    assert_eq!(mapc(&["check", "notes.txt"], &dir).status.code(), Some(2));
    assert_eq!(mapc(&["explain", "E9999"], &dir).status.code(), Some(2));
    assert_eq!(mapc(&["frobnicate"], &dir).status.code(), Some(2));
}

#[test]
fn explain_prints_the_long_description() {
    let output = mapc(&["explain", "e0101"], Path::new("."));
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("E0101: unknown module"));
    assert!(text.contains("Wrong:") && text.contains("Right:"));
    let list = mapc(&["explain", "--list"], Path::new("."));
    assert!(String::from_utf8_lossy(&list.stdout).lines().count() >= 30);
}

#[test]
fn json_lines_carry_positions_in_scalar_values() {
    let dir = temp_project("json");
    // "Ü" and "😀" before the error: columns count characters, not bytes.
    std::fs::write(dir.join("a.map"), "param a: String = \"Ü😀{nme}\"\n").unwrap();
    let output = mapc(&["check", "--format", "json", "a.map"], &dir);
    assert_eq!(output.status.code(), Some(1));
    let line = String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["code"], "E0104");
    assert_eq!(value["severity"], "error");
    assert_eq!(value["file"], "a.map");
    assert_eq!((value["line"].as_u64(), value["column"].as_u64()), (Some(1), Some(23)));
    assert_eq!(
        (value["end_line"].as_u64(), value["end_column"].as_u64()),
        (Some(1), Some(26))
    );
    assert!(value["labels"].as_array().is_some_and(|labels| !labels.is_empty()));
}

#[test]
fn human_output_names_file_line_and_column() {
    let dir = temp_project("human");
    std::fs::write(dir.join("a.map"), "param a: Strin\n").unwrap();
    let output = mapc(&["check", "a.map"], &dir);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("error[E0102]: unknown type `Strin`"), "{text}");
    assert!(text.contains("a.map:1:10"), "{text}");
    assert!(text.contains("did you mean `String`?"), "{text}");
    assert!(!text.contains('\u{1b}'), "NO_COLOR must turn colours off");
}

/// Each bad input: the file's bytes and the code its diagnostics must hold.
#[test]
fn bad_input_gets_a_diagnostic_and_a_nonzero_exit() {
    let dir = temp_project("bad");
    let huge = {
        let mut bytes = b"param x: String = \"".to_vec();
        bytes.resize(10 * 1024 * 1024, b'a');
        bytes.extend_from_slice(b"\"\n");
        bytes
    };
    let deep = format!("param x: Int = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
    let deep_braces = format!("mapping m(x: A) -> B {}\n", "{".repeat(10_000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("latin1.map", b"param city: String = \"M\xfcnchen\"\n".to_vec(), "E0005"),
        ("empty.map", Vec::new(), "E0009"),
        ("huge.map", huge, "E0008"),
        ("deep.map", deep.into_bytes(), "E0004"),
        ("deep_braces.map", deep_braces.into_bytes(), "E0004"),
        ("string.map", b"param x: String = \"never closed\n".to_vec(), "E0002"),
        ("comment.map", b"/* never closed\nparam x: Int\n".to_vec(), "E0003"),
        ("bom.map", b"\xef\xbb\xbfparam x: Int = y\n".to_vec(), "W0001"),
        (
            "crlf.map",
            b"param x: Int = 1\r\nparam y: Int = \r\nparam z: Int = 3\r\n".to_vec(),
            "E0001",
        ),
        ("garbage.map", (0u8..=255).cycle().take(5000).collect(), "E0005"),
    ];
    for (name, bytes, code) in cases {
        std::fs::write(dir.join(name), &bytes).unwrap();
        let output = mapc(&["check", "--format", "json", name], &dir);
        let codes = json_codes(&output);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{name}: {codes:?} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(codes.iter().any(|c| c == code), "{name}: expected {code} in {codes:?}");
    }
}

#[test]
fn crlf_positions_are_right() {
    let dir = temp_project("crlf");
    std::fs::write(dir.join("a.map"), "param x: Int = 1\r\nparam y: Int = nope\r\n").unwrap();
    let output = mapc(&["check", "--format", "json", "a.map"], &dir);
    let line = String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!((value["line"].as_u64(), value["column"].as_u64()), (Some(2), Some(16)));
}

#[test]
fn a_bom_alone_is_a_warning_and_deny_warnings_fails() {
    let dir = temp_project("bom");
    std::fs::write(dir.join("a.map"), b"\xef\xbb\xbfparam x: Int = 1\n").unwrap();
    assert_eq!(mapc(&["check", "a.map"], &dir).status.code(), Some(0));
    assert_eq!(
        mapc(&["check", "--deny-warnings", "a.map"], &dir).status.code(),
        Some(1)
    );
}

#[test]
fn project_root_modules_and_schema_names() {
    let dir = temp_project("project");
    std::fs::create_dir_all(dir.join("tenant/acme")).unwrap();
    std::fs::write(
        dir.join("tenant/acme/fields.schema"),
        "schema tenant.acme.fields\n\nrecord Extra { code: String(4) @required }\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("maps")).unwrap();
    std::fs::write(
        dir.join("maps/m.map"),
        "use tenant.acme.fields.Extra\n\nmapping m(e: Extra) -> Extra {\n  code = e.code\n}\n",
    )
    .unwrap();
    let output = mapc(&["check", "."], &dir);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A schema whose declared name does not match its path.
    std::fs::write(
        dir.join("tenant/acme/fields.schema"),
        "schema tenant.fields\n\nrecord Extra { code: String }\n",
    )
    .unwrap();
    let output = mapc(&["check", "--format", "json", "."], &dir);
    assert!(json_codes(&output).contains(&"E0112".to_owned()));
    // A broken Mapwright.toml is reported.
    std::fs::write(dir.join("Mapwright.toml"), "[project]\nnmae = 1\n").unwrap();
    let output = mapc(&["check", "maps/m.map"], &dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Mapwright.toml"));
}
