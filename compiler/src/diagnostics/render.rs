//! Renderings of diagnostics: codespan-reporting for people, JSON lines for
//! machines. Both are pure: they produce text, and the caller writes it.

use super::{Diagnostic, Label, Severity};
use crate::source::{FileId, SourceDb};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::term;
use serde::Serialize;

/// The codespan form of a diagnostic, for rendering to a terminal with
/// colours (the CLI does that) or to plain text.
pub fn to_codespan(diagnostic: &Diagnostic) -> cs::Diagnostic<FileId> {
    let severity = match diagnostic.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let mut labels = vec![
        cs::Label::primary(diagnostic.primary.file, diagnostic.primary.span.range())
            .with_message(diagnostic.primary.message.clone()),
    ];
    labels.extend(
        diagnostic
            .secondary
            .iter()
            .map(|label| cs::Label::secondary(label.file, label.span.range()).with_message(label.message.clone())),
    );
    let mut notes = diagnostic
        .notes
        .iter()
        .map(|note| format!("note: {note}"))
        .collect::<Vec<_>>();
    if let Some(help) = &diagnostic.help {
        match &help.edit {
            Some(edit) if edit.replacement.contains('\n') => {
                // Lines to insert: show them as a block under the help.
                let mut text = format!("help: {}:", help.message);
                for line in edit.replacement.lines() {
                    text.push_str("\n    ");
                    text.push_str(line.trim());
                }
                notes.push(text);
            }
            Some(edit) if !edit.replacement.is_empty() && !help.message.contains(&edit.replacement) => {
                notes.push(format!("help: {}: `{}`", help.message, edit.replacement));
            }
            _ => notes.push(format!("help: {}", help.message)),
        }
    }
    cs::Diagnostic::new(severity)
        .with_code(diagnostic.code.as_str())
        .with_message(diagnostic.message.clone())
        .with_labels(labels)
        .with_notes(notes)
}

/// The terminal configuration used everywhere, so snapshots and terminals
/// agree.
pub fn term_config() -> term::Config {
    term::Config::default()
}

/// Renders diagnostics as plain text (no colour), as a terminal would show
/// them.
pub fn to_plain_text(files: &SourceDb, diagnostics: &[Diagnostic]) -> String {
    let config = term_config();
    let mut out = String::new();
    for diagnostic in diagnostics {
        match term::emit_into_string(&config, files, &to_codespan(diagnostic)) {
            Ok(text) => out.push_str(&text),
            Err(error) => out.push_str(&format!(
                "{}[{}]: {} (could not render the source: {error})\n",
                diagnostic.severity.as_str(),
                diagnostic.code,
                diagnostic.message
            )),
        }
    }
    out
}

/// One label in JSON output.
#[derive(Serialize)]
pub struct JsonLabel {
    /// File name.
    pub file: String,
    /// 1-based start line.
    pub line: u32,
    /// 1-based start column, in Unicode scalar values.
    pub column: u32,
    /// 1-based end line.
    pub end_line: u32,
    /// 1-based end column (exclusive), in Unicode scalar values.
    pub end_column: u32,
    /// Whether this is the primary label.
    pub primary: bool,
    /// The label's message.
    pub message: String,
}

/// A suggested edit in JSON output.
#[derive(Serialize)]
pub struct JsonEdit {
    /// File name.
    pub file: String,
    /// 1-based start line.
    pub line: u32,
    /// 1-based start column.
    pub column: u32,
    /// 1-based end line.
    pub end_line: u32,
    /// 1-based end column (exclusive).
    pub end_column: u32,
    /// Byte offset where the replaced text starts.
    pub start_offset: u32,
    /// Byte offset where it ends.
    pub end_offset: u32,
    /// The new text.
    pub replacement: String,
}

/// One diagnostic as a JSON object (one line of `--format json`).
#[derive(Serialize)]
pub struct JsonDiagnostic {
    /// Stable code.
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// The message.
    pub message: String,
    /// File of the primary label.
    pub file: String,
    /// 1-based line of the primary label's start.
    pub line: u32,
    /// 1-based column (Unicode scalar values) of the primary label's start.
    pub column: u32,
    /// 1-based line of its end.
    pub end_line: u32,
    /// 1-based column of its end (exclusive).
    pub end_column: u32,
    /// Every label, the primary first.
    pub labels: Vec<JsonLabel>,
    /// Notes.
    pub notes: Vec<String>,
    /// Help text, if any.
    pub help: Option<String>,
    /// The edit the help suggests, if any.
    pub suggestion: Option<JsonEdit>,
}

fn json_label(files: &SourceDb, label: &Label, primary: bool) -> JsonLabel {
    let file = files.get(label.file);
    let start = file.line_col(label.span.start as usize);
    let end = file.line_col(label.span.end as usize);
    JsonLabel {
        file: file.name.clone(),
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        primary,
        message: label.message.clone(),
    }
}

/// The JSON form of one diagnostic.
pub fn to_json(files: &SourceDb, diagnostic: &Diagnostic) -> JsonDiagnostic {
    let primary = json_label(files, &diagnostic.primary, true);
    let mut labels = Vec::with_capacity(1 + diagnostic.secondary.len());
    let (file, line, column, end_line, end_column) = (
        primary.file.clone(),
        primary.line,
        primary.column,
        primary.end_line,
        primary.end_column,
    );
    labels.push(primary);
    labels.extend(diagnostic.secondary.iter().map(|label| json_label(files, label, false)));
    let suggestion = diagnostic
        .help
        .as_ref()
        .and_then(|help| help.edit.as_ref())
        .map(|edit| {
            let source = files.get(edit.file);
            let start = source.line_col(edit.span.start as usize);
            let end = source.line_col(edit.span.end as usize);
            JsonEdit {
                file: source.name.clone(),
                line: start.line,
                column: start.column,
                end_line: end.line,
                end_column: end.column,
                start_offset: edit.span.start,
                end_offset: edit.span.end,
                replacement: edit.replacement.clone(),
            }
        });
    JsonDiagnostic {
        code: diagnostic.code.as_str(),
        severity: diagnostic.severity.as_str(),
        message: diagnostic.message.clone(),
        file,
        line,
        column,
        end_line,
        end_column,
        labels,
        notes: diagnostic.notes.clone(),
        help: diagnostic.help.as_ref().map(|help| help.message.clone()),
        suggestion,
    }
}

/// Renders diagnostics as JSON lines, one object per line.
pub fn to_json_lines(files: &SourceDb, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        // Serialising plain strings and numbers cannot fail.
        if let Ok(line) = serde_json::to_string(&to_json(files, diagnostic)) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
