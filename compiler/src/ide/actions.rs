//! Code actions: the fixes the checker's diagnostics carry, as editor
//! actions ("add the missing required fields", "did you mean", "wrap in
//! `?? default`", …).
//!
//! Every diagnostic whose help has an edit becomes one action; the edit for
//! missing fields is re-indented to the block it goes into.

use crate::diagnostics::{Code, Diagnostic};
use crate::span::Span;

/// One quick fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeAction {
    /// What the editor's menu shows.
    pub title: String,
    /// The span replaced, in the diagnostic's file.
    pub span: Span,
    /// The new text.
    pub replacement: String,
    /// The diagnostic it fixes (an index into the list given).
    pub diagnostic: usize,
    /// Whether it is the obvious fix (editors apply it on "fix all").
    pub preferred: bool,
}

/// The fixes of those `diagnostics` of file text `text` whose primary span
/// or edit touches `range`.
pub fn code_actions(text: &str, diagnostics: &[Diagnostic], range: Span) -> Vec<CodeAction> {
    let mut out = Vec::new();
    for (index, diagnostic) in diagnostics.iter().enumerate() {
        let Some(help) = &diagnostic.help else { continue };
        let Some(edit) = &help.edit else { continue };
        // Offered where the diagnostic points and where its edit goes (the
        // missing fields go before the block's `}`).
        let touches = |span: Span| span.start <= range.end && range.start <= span.end;
        if !touches(diagnostic.primary.span) && !touches(edit.span) {
            continue;
        }
        if edit.file != diagnostic.primary.file {
            continue;
        }
        let (title, replacement, preferred) = match diagnostic.code {
            Code::MissingRequired => (
                "Add the missing required fields".to_owned(),
                reindent(text, edit.span.start as usize, &edit.replacement),
                true,
            ),
            Code::OptionalIntoRequired => (
                format!("Wrap in `?? default`: `{}`", edit.replacement),
                edit.replacement.clone(),
                false,
            ),
            _ => {
                let mut title = help.message.clone();
                if let Some(first) = title.get(..1) {
                    title = format!("{}{}", first.to_uppercase(), &title[1..]);
                }
                (
                    title,
                    edit.replacement.clone(),
                    help.message.starts_with("did you mean"),
                )
            }
        };
        out.push(CodeAction {
            title,
            span: edit.span,
            replacement,
            diagnostic: index,
            preferred,
        });
    }
    out
}

/// Lines inserted before the `}` at `at`: indented one level (two spaces)
/// deeper than the line of that `}`, which keeps its own indentation.
fn reindent(text: &str, at: usize, insertion: &str) -> String {
    let line_start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..at.min(text.len())];
    let indent: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
    let brace_alone = line.trim().is_empty();
    let mut out = String::new();
    if !brace_alone {
        out.push('\n');
    }
    for (index, field) in insertion.lines().enumerate() {
        if index > 0 || !brace_alone {
            out.push_str(&indent);
        } else {
            // The `}` line's own indentation is already there.
        }
        out.push_str("  ");
        out.push_str(field.trim_start());
        out.push('\n');
    }
    out.push_str(&indent);
    out
}
