//! The source database: every file the compiler has read, by [`FileId`].
//!
//! Files come in as bytes. Bytes that are not UTF-8 are kept as a lossy copy
//! (so that positions can still be shown) and reported by the parser. The
//! database implements codespan-reporting's `Files` so diagnostics render
//! against it directly.

use crate::span::{LineCol, LineIndex, Span};
use std::ops::Range;

/// Identifies one file in a [`SourceDb`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(u32);

impl FileId {
    /// The raw index, for tables keyed by file.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a file came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk or in an editor buffer, named by path or URI.
    User,
    /// A module of the standard library embedded in the compiler.
    EmbeddedStdlib,
}

/// One source file.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics (a path, or `<stdlib>/…`).
    pub name: String,
    /// The text; a lossy copy when the bytes were not UTF-8.
    pub text: String,
    /// Offset of the first byte that was not UTF-8, if any.
    pub invalid_utf8_at: Option<usize>,
    /// Where it came from.
    pub origin: Origin,
    /// Line starts, for positions.
    pub lines: LineIndex,
}

impl SourceFile {
    /// 1-based line and column of `offset`.
    pub fn line_col(&self, offset: usize) -> LineCol {
        self.lines.line_col(&self.text, offset)
    }

    /// The text a span covers (empty when the span is out of range).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }
}

/// Every file read so far.
#[derive(Clone, Debug, Default)]
pub struct SourceDb {
    files: Vec<SourceFile>,
}

impl SourceDb {
    /// An empty database.
    pub fn new() -> SourceDb {
        SourceDb::default()
    }

    /// Adds a file from its bytes.
    pub fn add_bytes(&mut self, name: impl Into<String>, bytes: Vec<u8>, origin: Origin) -> FileId {
        let (text, invalid_utf8_at) = match String::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(error) => {
                let at = error.utf8_error().valid_up_to();
                (String::from_utf8_lossy(error.as_bytes()).into_owned(), Some(at))
            }
        };
        self.push(name.into(), text, invalid_utf8_at, origin)
    }

    /// Adds a file from text.
    pub fn add_text(&mut self, name: impl Into<String>, text: impl Into<String>, origin: Origin) -> FileId {
        self.push(name.into(), text.into(), None, origin)
    }

    fn push(&mut self, name: String, text: String, invalid_utf8_at: Option<usize>, origin: Origin) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        let lines = LineIndex::new(&text);
        self.files.push(SourceFile {
            name,
            text,
            invalid_utf8_at,
            origin,
            lines,
        });
        id
    }

    /// Replaces a file's text (an editor buffer changed).
    pub fn set_text(&mut self, file: FileId, text: String) {
        if let Some(entry) = self.files.get_mut(file.index()) {
            entry.lines = LineIndex::new(&text);
            entry.text = text;
            entry.invalid_utf8_at = None;
        }
    }

    /// The file behind an id. Ids come only from this database, so the
    /// lookup cannot fail for a caller that did not mix databases; such a
    /// caller gets an empty placeholder rather than a panic.
    pub fn get(&self, file: FileId) -> &SourceFile {
        static EMPTY: std::sync::OnceLock<SourceFile> = std::sync::OnceLock::new();
        self.files.get(file.index()).unwrap_or_else(|| {
            EMPTY.get_or_init(|| SourceFile {
                name: "<unknown file>".to_owned(),
                text: String::new(),
                invalid_utf8_at: None,
                origin: Origin::User,
                lines: LineIndex::default(),
            })
        })
    }

    /// Every file id, in the order they were added.
    pub fn ids(&self) -> impl Iterator<Item = FileId> + '_ {
        (0..self.files.len()).map(|index| FileId(index as u32))
    }
}

impl<'a> codespan_reporting::files::Files<'a> for SourceDb {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(&self.get(id).name)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(&self.get(id).text)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, codespan_reporting::files::Error> {
        Ok(self.get(id).lines.line_of(byte_index))
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, codespan_reporting::files::Error> {
        let file = self.get(id);
        let starts = file.lines.line_starts();
        if line_index > starts.len() {
            return Err(codespan_reporting::files::Error::LineTooLarge {
                given: line_index,
                max: starts.len(),
            });
        }
        let start = starts.get(line_index).map(|s| *s as usize).unwrap_or(file.text.len());
        let end = starts
            .get(line_index + 1)
            .map(|s| *s as usize)
            .unwrap_or(file.text.len());
        Ok(start..end)
    }
}
