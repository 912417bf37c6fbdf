//! Byte-offset spans and the line index that turns offsets into lines and
//! columns.
//!
//! Everything inside the compiler speaks byte offsets (end exclusive). Lines
//! and columns exist only at the edges: 1-based, columns counted in Unicode
//! scalar values for people and CI, and in UTF-16 code units for the
//! language server (which converts at its own edge with [`LineIndex`]).

use serde::Serialize;

/// A range of bytes in one source file, `start..end`, end exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: clamp_u32(start),
            end: clamp_u32(end.max(start)),
        }
    }

    /// An empty span at `offset`.
    pub fn at(offset: usize) -> Span {
        Span::new(offset, offset)
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// This span moved right by `base` bytes.
    pub fn shifted(self, base: usize) -> Span {
        Span::new(self.start as usize + base, self.end as usize + base)
    }

    /// The span as a `Range<usize>`, for slicing and for codespan.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// Whether the span covers no byte.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// Whether `offset` lies inside the span (end inclusive, which is what a
    /// cursor placed right after a word expects).
    pub fn contains(self, offset: usize) -> bool {
        self.start as usize <= offset && offset <= self.end as usize
    }
}

fn clamp_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// A position for people: 1-based line and 1-based column in Unicode scalar
/// values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LineCol {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in Unicode scalar values.
    pub column: u32,
}

/// Start offsets of every line of a text, for offset → line/column
/// conversion. A line ends after `\n`; a `\r` before it belongs to the line
/// end, never to a column.
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    line_starts: Vec<u32>,
    len: u32,
}

impl LineIndex {
    /// Index the lines of `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        for (offset, byte) in text.bytes().enumerate() {
            if byte == b'\n' {
                line_starts.push(clamp_u32(offset + 1));
            }
        }
        LineIndex {
            line_starts,
            len: clamp_u32(text.len()),
        }
    }

    /// Byte offsets at which each line starts.
    pub fn line_starts(&self) -> &[u32] {
        &self.line_starts
    }

    /// The 0-based line holding `offset` (offsets past the end clamp to the
    /// last line).
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = clamp_u32(offset).min(self.len);
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next.saturating_sub(1),
        }
    }

    /// The byte range of the 0-based `line`, without its line end.
    pub fn line_range(&self, text: &str, line: usize) -> std::ops::Range<usize> {
        let start = self.line_starts.get(line).copied().unwrap_or(self.len) as usize;
        let mut end = self
            .line_starts
            .get(line + 1)
            .map(|next| *next as usize)
            .unwrap_or(text.len());
        let bytes = text.as_bytes();
        if end > start && bytes.get(end - 1) == Some(&b'\n') {
            end -= 1;
        }
        if end > start && bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        start..end
    }

    /// 1-based line and column (in Unicode scalar values) of `offset` in
    /// `text`. An offset inside a multi-byte character counts as that
    /// character.
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let start = self.line_starts[line] as usize;
        let column = text
            .get(start..)
            .map(|rest| {
                rest.char_indices()
                    .take_while(|(index, _)| start + index < offset)
                    .filter(|(_, ch)| *ch != '\r' && *ch != '\n')
                    .count()
            })
            .unwrap_or(0);
        LineCol {
            line: clamp_u32(line + 1),
            column: clamp_u32(column + 1),
        }
    }

    /// 0-based line and UTF-16 column of `offset`, for the language server.
    pub fn utf16_position(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let start = self.line_starts[line] as usize;
        let column: usize = text
            .get(start..)
            .map(|rest| {
                rest.char_indices()
                    .take_while(|(index, _)| start + index < offset)
                    .map(|(_, ch)| ch.len_utf16())
                    .sum()
            })
            .unwrap_or(0);
        (clamp_u32(line), clamp_u32(column))
    }

    /// The byte offset of a 0-based line and UTF-16 column, clamped to the
    /// line (a column past its end lands on the line end).
    pub fn offset_of_utf16(&self, text: &str, line: u32, column: u32) -> usize {
        let range = self.line_range(text, line as usize);
        let mut units = 0usize;
        for (index, ch) in text[range.clone()].char_indices() {
            if units >= column as usize {
                return range.start + index;
            }
            units += ch.len_utf16();
        }
        range.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_scalars_not_bytes() {
        let text = "ab\nÄö😀x\r\nlast";
        let index = LineIndex::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(index.line_col(text, x), LineCol { line: 2, column: 4 });
        assert_eq!(index.utf16_position(text, x), (1, 4));
        let last = text.find("last").unwrap();
        assert_eq!(index.line_col(text, last), LineCol { line: 3, column: 1 });
        assert_eq!(index.offset_of_utf16(text, 1, 4), x);
    }

    #[test]
    fn crlf_line_ends_are_not_columns() {
        let text = "a\r\nb";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 1), LineCol { line: 1, column: 2 });
        assert_eq!(index.line_col(text, 2), LineCol { line: 1, column: 2 });
        assert_eq!(index.line_range(text, 0), 0..1);
    }

    #[test]
    fn offsets_past_the_end_clamp() {
        let text = "abc";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 99), LineCol { line: 1, column: 4 });
    }
}
