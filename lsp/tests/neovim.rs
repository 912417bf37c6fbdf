//! A real editor as the client: Neovim, headless, opens an example mapping
//! with `mapc-lsp` attached (`tests/neovim/client.lua`) and the diagnostics,
//! a hover, a completion and the diagnostics after an edit are checked.
//!
//! Neovim 0.7 or later is needed (Debian's `neovim` package; `.ci/run`
//! installs it and sets `MAPWRIGHT_REQUIRE_NEOVIM=1`, so there a missing
//! Neovim fails the test instead of skipping it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn neovim_available() -> bool {
    Command::new("nvim")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn neovim_shows_diagnostics_hover_and_completion_from_mapc_lsp() {
    if !neovim_available() {
        if std::env::var("MAPWRIGHT_REQUIRE_NEOVIM").is_ok_and(|v| v == "1") {
            panic!("MAPWRIGHT_REQUIRE_NEOVIM=1 but `nvim` is not on PATH (apt-get install neovim)");
        }
        eprintln!(
            "\n*** SKIPPED: `nvim` is not installed; the Neovim client test did not run (apt-get install neovim) ***\n"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root
        .join("../examples/invoice_to_sap/invoice_to_sap.map")
        .canonicalize()
        .unwrap();
    let dir = common::TempDir::new("nvim");
    let out = dir.0.join("record.json");
    let mut child = Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!("luafile {}", root.join("tests/neovim/client.lua").display()))
        .env("MAPWRIGHT_NVIM_SERVER", env!("CARGO_BIN_EXE_mapc-lsp"))
        .env("MAPWRIGHT_NVIM_FILE", &example)
        .env("MAPWRIGHT_NVIM_OUT", &out)
        .env("MAPWRIGHT_CACHE_DIR", dir.0.join("cache"))
        .env("XDG_STATE_HOME", dir.0.join("state"))
        .env("XDG_DATA_HOME", dir.0.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nvim");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("nvim did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("nvim wrote no record ({e})"));
    let record: Value = serde_json::from_str(&text).unwrap();
    assert!(
        record.get("error").is_none(),
        "the client script failed: {}",
        record["error"]
    );
    let step = |name: &str| {
        record["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no step {name} in {record}"))
    };

    let opened = step("opened");
    assert_eq!(
        opened["diagnostics"].as_array().map(Vec::len),
        Some(0),
        "the example is clean: {opened}"
    );

    let hover = step("hover");
    let markdown = hover["result"]["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        markdown.contains("CompanyCode: String(4)")
            && markdown.contains("required")
            && markdown.contains("max length 4"),
        "hover: {hover}"
    );

    let completion = step("completion");
    let labels: Vec<&str> = completion["labels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["issued_on", "supplier", "lines", "currency"] {
        assert!(
            labels.contains(&field),
            "completion after `inv.` lacks {field}: {labels:?}"
        );
    }

    let edited = step("edited");
    let diagnostics = edited["diagnostics"].as_array().unwrap();
    assert!(
        diagnostics
            .iter()
            .any(|d| d["code"] == "E0103" && d["message"].as_str().unwrap_or("").contains("isued_on")),
        "after the edit: {edited}"
    );
}
