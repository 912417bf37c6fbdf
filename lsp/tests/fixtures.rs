//! Fixture-driven protocol tests: each `tests/fixtures/*.map` file is
//! opened in a real server (in process, real JSON-RPC), the requests it
//! marks are sent, and the responses are snapshotted in a readable drawing:
//! the source line, `↑` at the cursor, `▔` under a range.
//!
//! A fixture marks a cursor with `$request` (or `$rename(new_name)`) where
//! the request is asked; the marks are removed before the file is sent.
//! Whole-file requests are listed in a first-line comment:
//! `// lsp: diagnostics symbols tokens format workspace_symbols(Query)`.
//! To add a case, add a file and run `cargo insta test -p mapwright-lsp`,
//! then review the new snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::{Client, uri};
use serde_json::{Value, json};
use std::path::Path;

struct Mark {
    offset: usize,
    request: String,
    argument: Option<String>,
}

fn strip_marks(source: &str) -> (String, Vec<Mark>) {
    let mut text = String::with_capacity(source.len());
    let mut marks = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        const REQUESTS: &[&str] = &[
            "prepare_rename",
            "references",
            "definition",
            "signature",
            "complete",
            "actions",
            "rename",
            "hover",
        ];
        let name_len = REQUESTS.iter().find(|r| after.starts_with(*r)).map_or(0, |r| r.len());
        if name_len == 0 {
            text.push_str(&rest[..=at]);
            rest = after;
            continue;
        }
        text.push_str(&rest[..at]);
        let request = after[..name_len].to_owned();
        let mut consumed = name_len;
        let mut argument = None;
        if request == "rename"
            && after[name_len..].starts_with('(')
            && let Some(close) = after[name_len..].find(')')
        {
            argument = Some(after[name_len + 1..name_len + close].to_owned());
            consumed = name_len + close + 1;
        }
        marks.push(Mark {
            offset: text.len(),
            request,
            argument,
        });
        rest = &after[consumed..];
    }
    text.push_str(rest);
    (text, marks)
}

/// 0-based line and UTF-16 column of a byte offset.
fn lsp_position(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column: usize = text[line_start..offset].chars().map(char::len_utf16).sum();
    (line, column as u32)
}

fn line_text(text: &str, line: usize) -> &str {
    text.split('\n').nth(line).unwrap_or("").trim_end_matches('\r')
}

/// The character (not UTF-16) column of a UTF-16 column in a line.
fn char_column(line: &str, utf16: u64) -> usize {
    let mut units = 0u64;
    for (index, c) in line.chars().enumerate() {
        if units >= utf16 {
            return index;
        }
        units += c.len_utf16() as u64;
    }
    line.chars().count()
}

/// Draws a range of a text: its first line, `▔` under it.
fn draw_range(text: &str, range: &Value) -> String {
    let (sl, sc) = (
        range["start"]["line"].as_u64().unwrap_or(0),
        range["start"]["character"].as_u64().unwrap_or(0),
    );
    let (el, ec) = (
        range["end"]["line"].as_u64().unwrap_or(0),
        range["end"]["character"].as_u64().unwrap_or(0),
    );
    let line = line_text(text, sl as usize);
    let start = char_column(line, sc);
    let end = if el == sl {
        char_column(line, ec)
    } else {
        line.chars().count()
    };
    let more = if el > sl {
        format!(" (to line {})", el + 1)
    } else {
        String::new()
    };
    format!(
        "{:>4} | {line}\n     | {}{}{more}  [{}:{}–{}:{} UTF-16]",
        sl + 1,
        " ".repeat(start),
        "▔".repeat(end.saturating_sub(start).max(1)),
        sl + 1,
        sc + 1,
        el + 1,
        ec + 1
    )
}

fn draw_cursor(text: &str, offset: usize) -> String {
    let (line, _) = lsp_position(text, offset);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count();
    format!(
        "{:>4} | {}\n     | {}↑",
        line + 1,
        line_text(text, line as usize),
        " ".repeat(column)
    )
}

/// A location as `file:line:col` (fixture files by name, the standard
/// library by its cache path) with its line drawn.
fn draw_location(client: &Client, own: (&str, &str), location: &Value) -> String {
    let target = location["uri"].as_str().unwrap_or("");
    let (name, text) = if target == own.0 {
        (
            Path::new(own.0)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            own.1.to_owned(),
        )
    } else {
        let path = target.trim_start_matches("file://");
        let shown = match path.strip_prefix(&format!("{}/", client.cache.display())) {
            Some(rest) => format!("<cache>/{rest}"),
            None => path.rsplit('/').next().unwrap_or(path).to_owned(),
        };
        (shown, std::fs::read_to_string(path).unwrap_or_default())
    };
    let range = &location["range"];
    format!(
        "{name}:{}:{}\n{}",
        range["start"]["line"].as_u64().unwrap_or(0) + 1,
        range["start"]["character"].as_u64().unwrap_or(0) + 1,
        draw_range(&text, range)
    )
}

/// Applies LSP text edits to `text`.
fn apply(text: &str, edits: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            let offset = |p: &Value| {
                let line = p["line"].as_u64().unwrap_or(0) as usize;
                let mut start = 0usize;
                for _ in 0..line {
                    start += text[start..].find('\n').map_or(text.len() - start, |i| i + 1);
                }
                let line_str = line_text(text, line);
                let chars = char_column(line_str, p["character"].as_u64().unwrap_or(0));
                start + line_str.chars().take(chars).map(char::len_utf8).sum::<usize>()
            };
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_owned();
    for (start, end, new) in spans {
        out.replace_range(start..end, &new);
    }
    out
}

/// The lines that differ between two texts.
fn changed_lines(before: &str, after: &str) -> String {
    let diff = similar_lines(before, after);
    if diff.is_empty() {
        "(no change)".to_owned()
    } else {
        diff
    }
}

fn similar_lines(before: &str, after: &str) -> String {
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    if old.len() == new.len() {
        let mut out = String::new();
        for (index, (a, b)) in old.iter().zip(&new).enumerate() {
            if a != b {
                out.push_str(&format!("{:>4} - {a}\n{:>4} + {b}\n", index + 1, index + 1));
            }
        }
        return out;
    }
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = String::new();
    for line in &old[prefix..old.len() - suffix] {
        out.push_str(&format!("- {line}\n"));
    }
    for line in &new[prefix..new.len() - suffix] {
        out.push_str(&format!("+ {line}\n"));
    }
    out
}

async fn run_fixture(path: &Path) -> String {
    let source = std::fs::read_to_string(path).expect("fixture");
    let (text, marks) = strip_marks(&source);
    let document = uri(path);
    let mut client = Client::start().await;
    client.open(&document, &text).await;
    let diagnostics = client.diagnostics(&document).await;
    let mut out = String::new();
    let header = text.lines().next().unwrap_or("");
    let whole: Vec<&str> = header
        .strip_prefix("// lsp:")
        .map(|r| r.split_whitespace().collect())
        .unwrap_or_default();
    let doc = json!({"uri": document});
    for request in whole {
        let (name, argument) = match request.split_once('(') {
            Some((name, rest)) => (name, Some(rest.trim_end_matches(')'))),
            None => (request, None),
        };
        out.push_str(&format!("── {request} ──\n"));
        match name {
            "diagnostics" => {
                for d in diagnostics["diagnostics"].as_array().into_iter().flatten() {
                    let href = d["codeDescription"]["href"].as_str().unwrap_or("");
                    let linked = href.ends_with(&format!("explain/{}.md", d["code"].as_str().unwrap_or("?")));
                    out.push_str(&format!(
                        "{} {}{}\n{}\n{}\n",
                        d["code"].as_str().unwrap_or("?"),
                        if d["severity"] == 1 { "error" } else { "warning" },
                        if linked { " (explained)" } else { " (NO LINK)" },
                        draw_range(&text, &d["range"]),
                        d["message"].as_str().unwrap_or("")
                    ));
                    for related in d["relatedInformation"].as_array().into_iter().flatten() {
                        out.push_str(&format!(
                            "  related: {} — {}\n",
                            draw_location(&client, (&document, &text), &related["location"])
                                .lines()
                                .next()
                                .unwrap_or(""),
                            related["message"].as_str().unwrap_or("")
                        ));
                    }
                }
            }
            "symbols" => {
                let response = client
                    .request("textDocument/documentSymbol", json!({"textDocument": doc}))
                    .await;
                fn walk(out: &mut String, symbols: &Value, depth: usize) {
                    for s in symbols.as_array().into_iter().flatten() {
                        out.push_str(&format!(
                            "{}{} (kind {}) {}\n",
                            "  ".repeat(depth),
                            s["name"].as_str().unwrap_or(""),
                            s["kind"],
                            s["detail"].as_str().unwrap_or("")
                        ));
                        walk(out, &s["children"], depth + 1);
                    }
                }
                walk(&mut out, &response["result"], 0);
            }
            "tokens" => {
                let response = client
                    .request("textDocument/semanticTokens/full", json!({"textDocument": doc}))
                    .await;
                let data: Vec<u64> = response["result"]["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect();
                let types = mapwright_compiler::ide::tokens::TOKEN_TYPES;
                let (mut line, mut column) = (0u64, 0u64);
                for chunk in data.chunks(5) {
                    if chunk[0] > 0 {
                        line += chunk[0];
                        column = chunk[1];
                    } else {
                        column += chunk[1];
                    }
                    let line_str = line_text(&text, line as usize);
                    let start = char_column(line_str, column);
                    let end = char_column(line_str, column + chunk[2]);
                    let word: String = line_str.chars().skip(start).take(end - start).collect();
                    out.push_str(&format!(
                        "{}:{} {} {}{}\n",
                        line + 1,
                        column + 1,
                        types.get(chunk[3] as usize).unwrap_or(&"?"),
                        word,
                        if chunk[4] != 0 {
                            format!(" +{}", chunk[4])
                        } else {
                            String::new()
                        }
                    ));
                }
            }
            "format" => {
                let response = client
                    .request(
                        "textDocument/formatting",
                        json!({"textDocument": doc, "options": {"tabSize": 2, "insertSpaces": true}}),
                    )
                    .await;
                match response["result"].as_array() {
                    Some(edits) => out.push_str(&changed_lines(&text, &apply(&text, edits))),
                    None => out.push_str(&format!("error: {}\n", response["error"]["message"])),
                }
            }
            "workspace_symbols" => {
                let response = client
                    .request("workspace/symbol", json!({"query": argument.unwrap_or("")}))
                    .await;
                for s in response["result"].as_array().into_iter().flatten().take(15) {
                    out.push_str(&format!(
                        "{} (kind {}) in {}\n",
                        s["name"].as_str().unwrap_or(""),
                        s["kind"],
                        s["containerName"].as_str().unwrap_or("")
                    ));
                }
            }
            other => panic!("unknown whole-file request `{other}`"),
        }
        out.push('\n');
    }
    for mark in &marks {
        let (line, character) = lsp_position(&text, mark.offset);
        let at = json!({"textDocument": doc, "position": {"line": line, "character": character}});
        out.push_str(&format!(
            "── {}{} at {}:{} ──\n{}\n",
            mark.request,
            mark.argument.as_ref().map(|a| format!("({a})")).unwrap_or_default(),
            line + 1,
            character + 1,
            draw_cursor(&text, mark.offset)
        ));
        match mark.request.as_str() {
            "hover" => {
                let response = client.request("textDocument/hover", at).await;
                let result = &response["result"];
                if result.is_null() {
                    out.push_str("(nothing)\n");
                } else {
                    out.push_str(&format!(
                        "{}\n{}\n",
                        draw_range(&text, &result["range"]),
                        result["contents"]["value"].as_str().unwrap_or("")
                    ));
                }
            }
            "complete" => {
                let response = client.request("textDocument/completion", at).await;
                let mut items: Vec<&Value> = response["result"].as_array().into_iter().flatten().collect();
                items.sort_by_key(|i| i["sortText"].as_str().unwrap_or("").to_owned());
                let total = items.len();
                for item in items.iter().take(25) {
                    let insert = item["insertText"].as_str().unwrap_or("");
                    out.push_str(&format!(
                        "{} — {}{}\n",
                        item["label"].as_str().unwrap_or(""),
                        item["detail"].as_str().unwrap_or(""),
                        if insert != item["label"].as_str().unwrap_or("") {
                            format!(" ⇒ {}", insert.replace('\n', "⏎"))
                        } else {
                            String::new()
                        }
                    ));
                }
                if total > 25 {
                    out.push_str(&format!("… {} more\n", total - 25));
                }
            }
            "definition" => {
                let response = client.request("textDocument/definition", at).await;
                if response["result"].is_null() {
                    out.push_str("(nothing)\n");
                } else {
                    out.push_str(&format!(
                        "{}\n",
                        draw_location(&client, (&document, &text), &response["result"])
                    ));
                }
            }
            "references" => {
                let mut params = at.clone();
                params["context"] = json!({"includeDeclaration": true});
                let response = client.request("textDocument/references", params).await;
                for location in response["result"].as_array().into_iter().flatten() {
                    out.push_str(&format!("{}\n", draw_location(&client, (&document, &text), location)));
                }
            }
            "prepare_rename" => {
                let response = client.request("textDocument/prepareRename", at).await;
                match response.get("error") {
                    Some(error) => out.push_str(&format!("refused: {}\n", error["message"].as_str().unwrap_or(""))),
                    None => out.push_str(&format!("{}\n", draw_range(&text, &response["result"]["range"]))),
                }
            }
            "rename" => {
                let mut params = at.clone();
                params["newName"] = json!(mark.argument.clone().unwrap_or_default());
                let response = client.request("textDocument/rename", params).await;
                match response.get("error") {
                    Some(error) => out.push_str(&format!("refused: {}\n", error["message"].as_str().unwrap_or(""))),
                    None => {
                        let edits = response["result"]["changes"][&document]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        out.push_str(&changed_lines(&text, &apply(&text, &edits)));
                    }
                }
            }
            "signature" => {
                let response = client.request("textDocument/signatureHelp", at).await;
                let result = &response["result"];
                if result.is_null() {
                    out.push_str("(nothing)\n");
                } else {
                    let active = result["activeSignature"].as_u64().unwrap_or(0) as usize;
                    for (index, s) in result["signatures"].as_array().into_iter().flatten().enumerate() {
                        out.push_str(&format!(
                            "{} {}\n",
                            if index == active { "▶" } else { " " },
                            s["label"].as_str().unwrap_or("")
                        ));
                    }
                    out.push_str(&format!("active parameter: {}\n", result["activeParameter"]));
                }
            }
            "actions" => {
                let mut params = json!({"textDocument": doc, "range": {"start": at["position"], "end": at["position"]}, "context": {"diagnostics": []}});
                params["context"]["diagnostics"] = json!([]);
                let response = client.request("textDocument/codeAction", params).await;
                for action in response["result"].as_array().into_iter().flatten() {
                    let edits = action["edit"]["changes"][&document]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    out.push_str(&format!(
                        "{}{}\n{}",
                        action["title"].as_str().unwrap_or(""),
                        if action["isPreferred"] == true {
                            " (preferred)"
                        } else {
                            ""
                        },
                        changed_lines(&text, &apply(&text, &edits))
                    ));
                }
            }
            other => panic!("unknown request mark `${other}`"),
        }
        out.push('\n');
    }
    out
}

#[test]
fn every_fixture() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    insta::glob!("fixtures/*.map", |path| {
        let out = runtime.block_on(run_fixture(path));
        insta::assert_snapshot!(out);
    });
}
