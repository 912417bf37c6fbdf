//! The one diagnostic type of the compiler, and its renderings.
//!
//! Every phase reports [`Diagnostic`]s: a stable [`Code`] from the registry in
//! [`codes`], a message, labelled spans (one primary), notes and an optional
//! help with a suggested edit. [`render`] turns them into text for people
//! (codespan-reporting) and into JSON lines for CI and the language server.

pub mod codes;
pub mod render;

pub use codes::Code;

use crate::source::FileId;
use crate::span::Span;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; never fails a check unless warnings are denied.
    Warning,
    /// The file is wrong; `mapc check` exits 1.
    Error,
}

impl Severity {
    /// The lower-case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A span in a file with a message, pointing at something the diagnostic is
/// about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The file the span is in.
    pub file: FileId,
    /// The bytes the label points at.
    pub span: Span,
    /// What to say there (may be empty).
    pub message: String,
}

/// An edit that fixes the problem: replace `span` with `replacement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// The file to edit.
    pub file: FileId,
    /// The bytes to replace (empty to insert).
    pub span: Span,
    /// The new text.
    pub replacement: String,
}

/// Advice on how to fix the problem, with the edit that does it when one is
/// known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Help {
    /// What to do, in words.
    pub message: String,
    /// The edit that does it.
    pub edit: Option<Edit>,
}

/// One problem found in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code from the registry.
    pub code: Code,
    /// Error or warning (fixed by the code).
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Where it is wrong.
    pub primary: Label,
    /// Other places that explain it ("first defined here").
    pub secondary: Vec<Label>,
    /// Further facts, one sentence each.
    pub notes: Vec<String>,
    /// How to fix it.
    pub help: Option<Help>,
}

impl Diagnostic {
    /// A diagnostic with `code` at `span` of `file`; the severity comes from
    /// the code's registry entry.
    pub fn new(code: Code, file: FileId, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary: Label {
                file,
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Sets the message under the primary span.
    pub fn with_label(mut self, message: impl Into<String>) -> Diagnostic {
        self.primary.message = message.into();
        self
    }

    /// Adds a secondary label.
    pub fn with_secondary(mut self, file: FileId, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            file,
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Sets the help, without an edit.
    pub fn with_help(mut self, message: impl Into<String>) -> Diagnostic {
        self.help = Some(Help {
            message: message.into(),
            edit: None,
        });
        self
    }

    /// Sets the help with the edit that replaces the primary span by
    /// `replacement`.
    pub fn with_fix(mut self, message: impl Into<String>, replacement: impl Into<String>) -> Diagnostic {
        self.help = Some(Help {
            message: message.into(),
            edit: Some(Edit {
                file: self.primary.file,
                span: self.primary.span,
                replacement: replacement.into(),
            }),
        });
        self
    }

    /// Sets the help with an edit somewhere else than the primary span.
    pub fn with_edit(mut self, message: impl Into<String>, edit: Edit) -> Diagnostic {
        self.help = Some(Help {
            message: message.into(),
            edit: Some(edit),
        });
        self
    }

    /// Whether this diagnostic fails a check.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics by file, then position, then code, so output is stable.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary.file, a.primary.span.start, a.primary.span.end, a.code).cmp(&(
            b.primary.file,
            b.primary.span.start,
            b.primary.span.end,
            b.code,
        ))
    });
}
