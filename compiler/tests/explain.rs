//! Every code's explanation (`mapc explain`) has a wrong and a right
//! example; the `map` and `schema` examples are checked: the wrong one must
//! yield exactly that code, the right one nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use mapwright_compiler::diagnostics::Code;
use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};
use std::collections::BTreeSet;

/// The fenced example after `label` ("Wrong:" or "Right:"): (language, text).
fn example(explanation: &str, label: &str) -> Option<(String, String)> {
    let after = &explanation[explanation.find(label)? + label.len()..];
    let fence = after.find("```")?;
    let rest = &after[fence + 3..];
    let language_end = rest.find('\n')?;
    let language = rest[..language_end].trim().to_owned();
    let body = &rest[language_end + 1..];
    let end = body.find("```")?;
    Some((language, body[..end].to_owned()))
}

fn codes_of(language: &str, text: &str) -> BTreeSet<&'static str> {
    let name = format!("example.{language}");
    let mut workspace = Workspace::new(EmbeddedStdlib);
    let result = workspace.check(&name, text.as_bytes().to_vec(), None);
    result.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

#[test]
fn every_explanation_has_checked_examples() {
    let mut problems = Vec::new();
    for code in Code::ALL {
        let text = code.explanation();
        let (Some(wrong), Some(right)) = (example(text, "Wrong:"), example(text, "Right:")) else {
            problems.push(format!("{code}: needs a `Wrong:` and a `Right:` example"));
            continue;
        };
        for (language, body, expected) in [
            (&wrong.0, &wrong.1, BTreeSet::from([code.as_str()])),
            (&right.0, &right.1, BTreeSet::new()),
        ] {
            match language.as_str() {
                "map" | "schema" => {
                    let got = codes_of(language, body);
                    if got != expected {
                        problems.push(format!(
                            "{code}: example\n{body}\nyields {got:?}, expected {expected:?}"
                        ));
                    }
                }
                "text" => {}
                other => problems.push(format!("{code}: unknown example language `{other}`")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
