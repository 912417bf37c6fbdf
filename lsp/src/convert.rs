//! The protocol's edge: byte offsets to UTF-16 positions and back, files to
//! URIs (the embedded standard library is written to a cache folder so an
//! editor can open it), and the compiler's diagnostics to LSP diagnostics
//! with related information and a link to each code's explanation.

use mapwright_compiler::diagnostics::{Code, Diagnostic, Severity};
use mapwright_compiler::resolve::{Location, ModuleLoader, Workspace};
use mapwright_compiler::source::{FileId, Origin};
use mapwright_compiler::span::{LineIndex, Span};
use std::path::{Path, PathBuf};
use tower_lsp_server::ls_types::{self as lsp, Uri};

/// The LSP position of byte `offset` in `text`.
pub fn position(lines: &LineIndex, text: &str, offset: usize) -> lsp::Position {
    let (line, character) = lines.utf16_position(text, offset);
    lsp::Position { line, character }
}

/// The LSP range of `span` in `text`.
pub fn range(lines: &LineIndex, text: &str, span: Span) -> lsp::Range {
    lsp::Range {
        start: position(lines, text, span.start as usize),
        end: position(lines, text, span.end as usize),
    }
}

/// The byte offset of an LSP position in `text` (clamped to its line).
pub fn offset(lines: &LineIndex, text: &str, position: lsp::Position) -> usize {
    if position.line as usize >= lines.line_starts().len() {
        return text.len();
    }
    lines.offset_of_utf16(text, position.line, position.character)
}

/// The byte span of an LSP range in `text`.
pub fn span(lines: &LineIndex, text: &str, range: lsp::Range) -> Span {
    let start = offset(lines, text, range.start);
    let end = offset(lines, text, range.end).max(start);
    Span::new(start, end)
}

/// Where this server writes what an editor may open: the standard library's
/// schemas and the explanations of diagnostic codes.
#[derive(Clone, Debug)]
pub struct Cache {
    /// The folder (`…/mapwright/<version>`).
    pub dir: PathBuf,
}

impl Cache {
    /// The cache folder: `$MAPWRIGHT_CACHE_DIR`, else `$XDG_CACHE_HOME/mapwright`,
    /// else `~/.cache/mapwright`, else the system's temporary folder; one
    /// subfolder per server version.
    pub fn locate() -> Cache {
        let base = std::env::var_os("MAPWRIGHT_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("mapwright")))
            .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache").join("mapwright")))
            .unwrap_or_else(|| std::env::temp_dir().join("mapwright"));
        Cache {
            dir: base.join(env!("CARGO_PKG_VERSION")),
        }
    }

    /// Writes the standard library and the code explanations, leaving files
    /// that already hold the same text alone.
    pub fn fill(&self) -> std::io::Result<()> {
        for module in mapwright_stdlib::module_paths() {
            if let (Some(text), Some(file)) = (mapwright_stdlib::module(module), mapwright_stdlib::file_path(module)) {
                write_if_changed(&self.dir.join("stdlib").join(file), text)?;
            }
        }
        for code in Code::ALL {
            let text = format!("# {} — {}\n\n{}\n", code.as_str(), code.title(), code.explanation());
            write_if_changed(&self.explanation_path(*code), &text)?;
        }
        Ok(())
    }

    /// The file explaining `code`.
    pub fn explanation_path(&self, code: Code) -> PathBuf {
        self.dir.join("explain").join(format!("{}.md", code.as_str()))
    }

    /// The file a standard-library schema (`<stdlib>/a/b.schema`) is written to.
    pub fn stdlib_path(&self, name: &str) -> PathBuf {
        self.dir.join("stdlib").join(name.trim_start_matches("<stdlib>/"))
    }
}

fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

/// The URI of a path (absolute paths only; others give `None`).
pub fn uri_of_path(path: &Path) -> Option<Uri> {
    Uri::from_file_path(path)
}

/// The path of a `file:` URI.
pub fn path_of_uri(uri: &Uri) -> Option<PathBuf> {
    if uri.scheme().as_str() != "file" {
        return None;
    }
    uri.to_file_path().map(|p| p.into_owned())
}

/// The URI of a file of a workspace (the cache copy for the embedded
/// standard library).
pub fn uri_of_file<L: ModuleLoader>(workspace: &Workspace<L>, cache: &Cache, file: FileId) -> Option<Uri> {
    let source = workspace.sources.get(file);
    match source.origin {
        Origin::EmbeddedStdlib => uri_of_path(&cache.stdlib_path(&source.name)),
        _ => uri_of_path(Path::new(&source.name)),
    }
}

/// An LSP location for a location in a workspace.
pub fn location<L: ModuleLoader>(workspace: &Workspace<L>, cache: &Cache, at: Location) -> Option<lsp::Location> {
    let source = workspace.sources.get(at.file);
    Some(lsp::Location {
        uri: uri_of_file(workspace, cache, at.file)?,
        range: range(&source.lines, &source.text, at.span),
    })
}

/// The LSP diagnostics of `file` among `diagnostics`: secondary labels as
/// related information, notes and help in the message, each code linked to
/// its explanation.
pub fn diagnostics<L: ModuleLoader>(
    workspace: &Workspace<L>,
    cache: &Cache,
    file: FileId,
    diagnostics: &[Diagnostic],
) -> Vec<lsp::Diagnostic> {
    let source = workspace.sources.get(file);
    let mut out = Vec::new();
    for diagnostic in diagnostics {
        let primary_here = diagnostic.primary.file == file;
        // A diagnostic of a module loaded for this file (a broken schema it
        // uses) is shown at the top of this file, so it is not lost.
        let span = if primary_here {
            diagnostic.primary.span
        } else {
            Span::at(0)
        };
        let mut message = diagnostic.message.clone();
        if !primary_here {
            let other = workspace.sources.get(diagnostic.primary.file);
            let at = other.line_col(diagnostic.primary.span.start as usize);
            message = format!("in {}:{}:{}: {message}", other.name, at.line, at.column);
        }
        if !diagnostic.primary.message.is_empty() && primary_here {
            message.push_str(&format!("\n{}", diagnostic.primary.message));
        }
        for note in &diagnostic.notes {
            message.push_str(&format!("\nnote: {note}"));
        }
        if let Some(help) = &diagnostic.help {
            message.push_str(&format!("\nhelp: {}", help.message));
        }
        let related: Vec<lsp::DiagnosticRelatedInformation> = diagnostic
            .secondary
            .iter()
            .filter_map(|label| {
                Some(lsp::DiagnosticRelatedInformation {
                    location: location(
                        workspace,
                        cache,
                        Location {
                            file: label.file,
                            span: label.span,
                        },
                    )?,
                    message: label.message.clone(),
                })
            })
            .collect();
        out.push(lsp::Diagnostic {
            range: range(&source.lines, &source.text, span),
            severity: Some(match diagnostic.severity {
                Severity::Error => lsp::DiagnosticSeverity::ERROR,
                Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            }),
            code: Some(lsp::NumberOrString::String(diagnostic.code.as_str().to_owned())),
            code_description: uri_of_path(&cache.explanation_path(diagnostic.code))
                .map(|href| lsp::CodeDescription { href }),
            source: Some("mapc".to_owned()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            tags: None,
            data: None,
        });
    }
    out
}
