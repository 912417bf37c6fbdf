//! The editor grammar (`grammar/mapwright.tmLanguage.json`, used by the VS
//! Code extension and other TextMate editors) names exactly the language's
//! keywords, so it never colours a name as a keyword or misses one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn the_textmate_grammar_knows_every_keyword_and_no_other() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../grammar/mapwright.tmLanguage.json");
    let grammar: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(grammar["scopeName"], "source.mapwright");
    let mut in_grammar = BTreeSet::new();
    for pattern in grammar["repository"]["keywords"]["patterns"].as_array().unwrap() {
        let regex = pattern["match"].as_str().unwrap();
        let inner = regex
            .strip_prefix("\\b(")
            .and_then(|r| r.strip_suffix(")\\b"))
            .unwrap_or_else(|| panic!("a keyword pattern is not `\\b(a|b)\\b`: {regex}"));
        in_grammar.extend(inner.split('|').map(str::to_owned));
    }
    let in_language: BTreeSet<String> = mapwright_compiler::ide::KEYWORDS
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    assert_eq!(in_grammar, in_language);
}
