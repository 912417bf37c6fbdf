//! The scanner that runs before pest: one linear pass over the file.
//!
//! It finds what pest cannot recover from and what pest should never see:
//! unterminated strings and block comments, unbalanced delimiters, nesting
//! deeper than [`MAX_DEPTH`]. It collects comments (for doc comments, the
//! formatter and hovers), emits a coarse token stream (words, strings,
//! numbers, punctuation, delimiters and newlines, with their nesting depth)
//! and splits the file into top-level items. The parser later uses the same
//! tokens to split a broken item into statements.
//!
//! It never recurses, so no input can overflow the stack here.

use crate::diagnostics::{Code, Diagnostic};
use crate::source::FileId;
use crate::span::Span;

/// How deep brackets, braces, parentheses and interpolations may nest.
pub const MAX_DEPTH: usize = 256;

/// Keywords that begin a top-level item.
pub const ITEM_KEYWORDS: &[&str] = &[
    "schema", "format", "use", "enum", "record", "extend", "param", "table", "mapping", "fn",
];

/// What kind of coarse token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// An identifier, keyword or back-quoted name.
    Word,
    /// A whole string literal, interpolations included.
    Str,
    /// A number literal.
    Number,
    /// An operator or other punctuation (`=`, `=>`, `.`, `@`, …).
    Punct,
    /// `(`, `[` or `{`.
    Open,
    /// `)`, `]` or `}`.
    Close,
    /// A line end.
    Newline,
}

/// A coarse token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Its kind.
    pub kind: TokenKind,
    /// Its bytes.
    pub span: Span,
    /// How many delimiters enclose it (an opener or closer counts as outside
    /// its own group).
    pub depth: u32,
}

/// What kind of comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentKind {
    /// `// …`
    Line,
    /// `/// …`, documentation for the item or field that follows.
    Doc,
    /// `/* … */`
    Block,
}

/// One comment, as the scanner found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Its kind.
    pub kind: CommentKind,
    /// Its bytes, from `//` or `/*` to the end of the line or `*/`.
    pub span: Span,
}

/// One top-level item's bytes, as split by the scanner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemChunk {
    /// From the item's first token to the end of its last.
    pub span: Span,
    /// Closing delimiters to append so that pest sees the groups the file
    /// left open closed (they were already reported).
    pub missing_closers: String,
}

/// Everything the scanner found.
#[derive(Clone, Debug, Default)]
pub struct Scanned {
    /// The coarse tokens, in order.
    pub tokens: Vec<Token>,
    /// Every comment, in order.
    pub comments: Vec<Comment>,
    /// The top-level items, in order.
    pub items: Vec<ItemChunk>,
    /// Spans whose chunks must not reach pest: the scanner already reported
    /// what is wrong there.
    pub poisoned: Vec<Span>,
    /// Byte offsets of stray closers; the parser sees a space there.
    pub stray_closers: Vec<usize>,
    /// What the scanner reported.
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameKind {
    Group(u8),
    /// An interpolation `{…}` inside the string that starts at `string_start`.
    Interpolation {
        string_start: usize,
    },
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    kind: FrameKind,
    open: usize,
}

struct Scanner<'a> {
    file: FileId,
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Frame>,
    /// Openers past [`MAX_DEPTH`] not yet closed; they are not pushed.
    overflow: usize,
    overflow_start: usize,
    /// Number of interpolation frames on the stack.
    interpolations: usize,
    /// Inside a string body (not inside one of its interpolations)?
    string_mode: bool,
    /// Start of the string being scanned.
    current_string: usize,
    /// Start of the outermost string while inside one.
    outer_string: usize,
    out: Scanned,
    item_starts: Vec<usize>,
    last_significant: Option<Token>,
}

/// Scans a whole file.
pub fn scan(file: FileId, text: &str) -> Scanned {
    let mut scanner = Scanner {
        file,
        text,
        bytes: text.as_bytes(),
        pos: 0,
        stack: Vec::new(),
        overflow: 0,
        overflow_start: 0,
        interpolations: 0,
        string_mode: false,
        current_string: 0,
        outer_string: 0,
        out: Scanned::default(),
        item_starts: Vec::new(),
        last_significant: None,
    };
    if text.starts_with('\u{FEFF}') {
        scanner.pos = '\u{FEFF}'.len_utf8();
    }
    while scanner.pos < scanner.bytes.len() {
        if scanner.string_mode {
            scanner.scan_string_body();
        } else {
            scanner.scan_code();
        }
    }
    if scanner.string_mode {
        scanner.unterminated_string();
    }
    scanner.finish()
}

fn closer_of(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

fn opener_of(close: u8) -> u8 {
    match close {
        b')' => b'(',
        b']' => b'[',
        _ => b'{',
    }
}

const OPERATORS: &[&str] = &["=>", "->", "==", "!=", "<=", ">=", "??"];

impl Scanner<'_> {
    fn depth(&self) -> u32 {
        u32::try_from(self.stack.len() + self.overflow).unwrap_or(u32::MAX)
    }

    fn emit(&mut self, kind: TokenKind, start: usize, end: usize) {
        if self.interpolations > 0 || self.overflow > 0 {
            return;
        }
        let mut token = Token {
            kind,
            span: Span::new(start, end),
            depth: self.depth(),
        };
        if kind == TokenKind::Word && token.depth > 0 && self.starts_line(start) && self.is_item_keyword(token.span) {
            // A top-level keyword at the very start of a line inside an open
            // group: the group was never closed. Close everything here so one
            // missing `}` does not swallow the rest of the file.
            self.close_all_at(start);
            token.depth = 0;
        }
        if token.kind == TokenKind::Word
            && token.depth == 0
            && self.is_item_keyword(token.span)
            && (self
                .out
                .tokens
                .last()
                .is_none_or(|last| last.kind == TokenKind::Newline)
                || !self.last_significant.is_some_and(|prev| {
                    let word = self.text.get(prev.span.range()).unwrap_or("");
                    // `a.record` is a field; `schema schema.x` and `extend
                    // record` name, not start, an item.
                    (prev.kind == TokenKind::Punct && word == ".")
                        || (prev.kind == TokenKind::Word && ITEM_KEYWORDS.contains(&word))
                }))
        {
            self.item_starts.push(start);
        }
        if token.kind != TokenKind::Newline {
            self.last_significant = Some(token);
        }
        self.out.tokens.push(token);
    }

    fn is_item_keyword(&self, span: Span) -> bool {
        self.text
            .get(span.range())
            .is_some_and(|word| ITEM_KEYWORDS.contains(&word))
    }

    fn starts_line(&self, offset: usize) -> bool {
        offset == 0 || self.bytes.get(offset - 1) == Some(&b'\n')
    }

    fn close_all_at(&mut self, offset: usize) {
        while let Some(frame) = self.stack.pop() {
            if let FrameKind::Group(open) = frame.kind {
                self.report_unclosed(frame.open, open, Some(offset));
            }
        }
    }

    fn report_unclosed(&mut self, at: usize, open: u8, closed_by: Option<usize>) {
        let close = closer_of(open) as char;
        let mut diagnostic = Diagnostic::new(
            Code::UnbalancedDelimiter,
            self.file,
            Span::new(at, at + 1),
            format!("this `{}` is never closed", open as char),
        )
        .with_label(format!("expected a matching `{close}` after this"));
        if let Some(end) = closed_by {
            diagnostic = diagnostic.with_secondary(self.file, Span::new(end, end), "the next item starts here");
        }
        self.out
            .diagnostics
            .push(diagnostic.with_help(format!("add `{close}` where the group ends")));
    }

    fn scan_code(&mut self) {
        let start = self.pos;
        let byte = self.bytes[start];
        match byte {
            b' ' | b'\t' | b'\r' => self.pos += 1,
            b'\n' => {
                self.emit(TokenKind::Newline, start, start + 1);
                self.pos += 1;
            }
            b'/' if self.bytes.get(start + 1) == Some(&b'/') => {
                let end = self.text[start..].find('\n').map_or(self.text.len(), |n| start + n);
                let is_doc = self.text[start..end].starts_with("///") && !self.text[start..end].starts_with("////");
                self.out.comments.push(Comment {
                    kind: if is_doc { CommentKind::Doc } else { CommentKind::Line },
                    span: Span::new(start, end),
                });
                self.pos = end;
            }
            b'/' if self.bytes.get(start + 1) == Some(&b'*') => match self.text[start + 2..].find("*/") {
                Some(n) => {
                    let end = start + 2 + n + 2;
                    self.out.comments.push(Comment {
                        kind: CommentKind::Block,
                        span: Span::new(start, end),
                    });
                    self.pos = end;
                }
                None => {
                    let end = self.text.len();
                    self.out.diagnostics.push(
                        Diagnostic::new(
                            Code::UnterminatedComment,
                            self.file,
                            Span::new(start, start + 2),
                            "this block comment is never closed",
                        )
                        .with_label("the comment starts here and runs to the end of the file")
                        .with_help("end the comment with `*/`"),
                    );
                    self.out.comments.push(Comment {
                        kind: CommentKind::Block,
                        span: Span::new(start, end),
                    });
                    self.out.poisoned.push(Span::new(start, end));
                    self.pos = end;
                }
            },
            b'"' => {
                if self.interpolations == 0 {
                    self.outer_string = start;
                }
                self.current_string = start;
                self.string_mode = true;
                self.pos += 1;
            }
            b'`' => {
                let line_end = self.text[start + 1..]
                    .find('\n')
                    .map_or(self.text.len(), |n| start + 1 + n);
                match self.text[start + 1..line_end].find('`') {
                    Some(n) => {
                        let end = start + 1 + n + 1;
                        self.emit(TokenKind::Word, start, end);
                        self.pos = end;
                    }
                    None => {
                        self.emit(TokenKind::Punct, start, start + 1);
                        self.pos += 1;
                    }
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let end = self.take_while(start, |b| b.is_ascii_alphanumeric() || b == b'_');
                self.emit(TokenKind::Word, start, end);
                self.pos = end;
            }
            b'0'..=b'9' => {
                let mut end = self.take_while(start, |b| b.is_ascii_digit() || b == b'_');
                if self.bytes.get(end) == Some(&b'.') && self.bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
                    end = self.take_while(end + 1, |b| b.is_ascii_digit() || b == b'_');
                }
                self.emit(TokenKind::Number, start, end);
                self.pos = end;
            }
            b'(' | b'[' | b'{' => {
                if self.stack.len() + self.overflow >= MAX_DEPTH {
                    if self.overflow == 0 {
                        self.overflow_start = start;
                        self.out.diagnostics.push(
                            Diagnostic::new(
                                Code::TooDeep,
                                self.file,
                                Span::new(start, start + 1),
                                format!("nesting deeper than {MAX_DEPTH} levels"),
                            )
                            .with_label(format!("level {} opens here", MAX_DEPTH + 1))
                            .with_help("split the expression into `let`s or helper functions"),
                        );
                    }
                    self.overflow += 1;
                } else {
                    self.emit(TokenKind::Open, start, start + 1);
                    self.stack.push(Frame {
                        kind: FrameKind::Group(byte),
                        open: start,
                    });
                }
                self.pos += 1;
            }
            b')' | b']' | b'}' => {
                self.close(byte, start);
                self.pos += 1;
            }
            _ if byte.is_ascii() => {
                let rest = &self.text[start..];
                let len = OPERATORS
                    .iter()
                    .find(|op| rest.starts_with(**op))
                    .map_or(1, |op| op.len());
                self.emit(TokenKind::Punct, start, start + len);
                self.pos += len;
            }
            _ => {
                let len = self.text[start..].chars().next().map_or(1, char::len_utf8);
                self.emit(TokenKind::Punct, start, start + len);
                self.pos += len;
            }
        }
    }

    fn take_while(&self, from: usize, keep: impl Fn(u8) -> bool) -> usize {
        let mut end = from;
        while end < self.bytes.len() && keep(self.bytes[end]) {
            end += 1;
        }
        end
    }

    fn close(&mut self, byte: u8, at: usize) {
        if self.overflow > 0 {
            self.overflow -= 1;
            if self.overflow == 0 {
                self.out.poisoned.push(Span::new(self.overflow_start, at + 1));
            }
            return;
        }
        match self.stack.last().copied() {
            Some(Frame {
                kind: FrameKind::Interpolation { string_start },
                ..
            }) if byte == b'}' => {
                self.stack.pop();
                self.interpolations -= 1;
                self.string_mode = true;
                self.current_string = string_start;
            }
            Some(Frame {
                kind: FrameKind::Group(open),
                ..
            }) if closer_of(open) == byte => {
                self.stack.pop();
                self.emit(TokenKind::Close, at, at + 1);
            }
            _ => {
                let wanted = opener_of(byte);
                let found = self
                    .stack
                    .iter()
                    .rposition(|frame| {
                        matches!(frame.kind, FrameKind::Interpolation { .. }) || frame.kind == FrameKind::Group(wanted)
                    })
                    .filter(|index| self.stack[*index].kind == FrameKind::Group(wanted));
                match found {
                    Some(index) => {
                        while self.stack.len() > index + 1 {
                            if let Some(frame) = self.stack.pop()
                                && let FrameKind::Group(open) = frame.kind
                            {
                                self.report_unclosed(frame.open, open, None);
                                self.out.poisoned.push(Span::new(frame.open, frame.open + 1));
                            }
                        }
                        self.stack.pop();
                        self.emit(TokenKind::Close, at, at + 1);
                    }
                    None => {
                        self.out.diagnostics.push(
                            Diagnostic::new(
                                Code::UnbalancedDelimiter,
                                self.file,
                                Span::new(at, at + 1),
                                format!("unexpected `{}`", byte as char),
                            )
                            .with_label(format!("there is no `{}` open here to close", wanted as char))
                            .with_help("remove it, or add the opening delimiter it belongs to"),
                        );
                        self.out.stray_closers.push(at);
                    }
                }
            }
        }
    }

    fn scan_string_body(&mut self) {
        let start = self.pos;
        match self.bytes[start] {
            b'"' => {
                self.string_mode = false;
                self.pos += 1;
                if self.interpolations == 0 {
                    let outer = self.outer_string;
                    self.emit(TokenKind::Str, outer, self.pos);
                }
            }
            b'\\' => {
                // Skip the escaped character (whole, if it is multi-byte);
                // a backslash at a line end leaves the newline to end the
                // string as unterminated.
                let next = self.text[start + 1..].chars().next();
                self.pos += 1 + match next {
                    Some('\n') | None => 0,
                    Some(ch) => ch.len_utf8(),
                };
            }
            b'\n' => self.unterminated_string(),
            b'{' => {
                if self.stack.len() + self.overflow >= MAX_DEPTH {
                    // Too deep: report once and treat the rest of the string
                    // as text until its end.
                    self.out.diagnostics.push(
                        Diagnostic::new(
                            Code::TooDeep,
                            self.file,
                            Span::new(start, start + 1),
                            format!("nesting deeper than {MAX_DEPTH} levels"),
                        )
                        .with_label("this interpolation is too deep"),
                    );
                    self.out.poisoned.push(Span::new(self.current_string, start + 1));
                    self.pos += 1;
                    return;
                }
                self.stack.push(Frame {
                    kind: FrameKind::Interpolation {
                        string_start: self.current_string,
                    },
                    open: start,
                });
                self.interpolations += 1;
                self.string_mode = false;
                self.pos += 1;
            }
            _ => {
                let len = self.text[start..].chars().next().map_or(1, char::len_utf8);
                self.pos += len;
            }
        }
    }

    fn unterminated_string(&mut self) {
        let start = self.current_string;
        let end = self.pos;
        self.out.diagnostics.push(
            Diagnostic::new(
                Code::UnterminatedString,
                self.file,
                Span::new(start, end),
                "this string is never closed",
            )
            .with_label("the string starts here and runs to the end of the line")
            .with_help("end the string with `\"` on the same line (write `\\n` for a line break)"),
        );
        // Unwind interpolations of the outermost string: the string ends here.
        while let Some(frame) = self.stack.last().copied() {
            if self.interpolations == 0 {
                break;
            }
            self.stack.pop();
            if matches!(frame.kind, FrameKind::Interpolation { .. }) {
                self.interpolations -= 1;
            }
        }
        self.string_mode = false;
        let outer = self.outer_string;
        self.out.poisoned.push(Span::new(outer, end));
        self.emit(TokenKind::Str, outer, end);
    }

    fn finish(mut self) -> Scanned {
        while let Some(frame) = self.stack.pop() {
            if let FrameKind::Group(open) = frame.kind {
                self.report_unclosed(frame.open, open, None);
            }
        }
        let text_len = self.text.len();
        let tokens = &self.out.tokens;
        let first_significant = tokens
            .iter()
            .find(|token| token.kind != TokenKind::Newline)
            .map(|token| token.span.start as usize);
        let mut starts = std::mem::take(&mut self.item_starts);
        if let Some(first) = first_significant
            && starts.first() != Some(&first)
        {
            starts.insert(0, first);
        }
        let mut items = Vec::with_capacity(starts.len());
        for (index, start) in starts.iter().enumerate() {
            let limit = starts.get(index + 1).copied().unwrap_or(text_len);
            let first = tokens.partition_point(|token| (token.span.start as usize) < *start);
            let last = tokens.partition_point(|token| (token.span.start as usize) < limit);
            let chunk = &tokens[first..last];
            let end = chunk
                .iter()
                .rev()
                .find(|token| token.kind != TokenKind::Newline)
                .map_or(*start, |token| token.span.end as usize);
            items.push(ItemChunk {
                span: Span::new(*start, end),
                missing_closers: missing_closers(chunk, self.text),
            });
        }
        self.out.items = items;
        self.out
    }
}

/// The closing delimiters that the groups left open in `tokens` need, innermost
/// first.
pub fn missing_closers(tokens: &[Token], text: &str) -> String {
    let mut open: Vec<u8> = Vec::new();
    for token in tokens {
        let byte = text.as_bytes().get(token.span.start as usize).copied().unwrap_or(b' ');
        match token.kind {
            TokenKind::Open => open.push(byte),
            TokenKind::Close => {
                let wanted = opener_of(byte);
                if let Some(index) = open.iter().rposition(|b| *b == wanted) {
                    open.truncate(index);
                }
            }
            _ => {}
        }
    }
    open.iter().rev().map(|b| closer_of(*b) as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceDb;

    fn scan_text(text: &str) -> Scanned {
        let mut db = SourceDb::new();
        let file = db.add_text("t.map", text, crate::source::Origin::User);
        scan(file, text)
    }

    fn codes(scanned: &Scanned) -> Vec<&'static str> {
        scanned.diagnostics.iter().map(|d| d.code.as_str()).collect()
    }

    #[test]
    fn splits_items_at_top_level_keywords() {
        let scanned = scan_text("use a.B\nparam x: Int = 1\nmapping m(a: B) -> B {\n  record = 1\n}\n");
        assert_eq!(scanned.items.len(), 3);
        assert!(scanned.diagnostics.is_empty());
    }

    #[test]
    fn a_keyword_after_a_dot_is_a_field() {
        let scanned = scan_text("param x: Int = a.record\n");
        assert_eq!(scanned.items.len(), 1);
        let scanned = scan_text("schema schema.x\nextend record a.B {}\n");
        assert_eq!(scanned.items.len(), 2);
        // At the start of a line a keyword starts an item even after a `.`.
        let scanned = scan_text("use a.\nuse b.C\n");
        assert_eq!(scanned.items.len(), 2);
    }

    #[test]
    fn strings_with_interpolations_hide_their_braces() {
        let scanned = scan_text("param x: String = \"a {f(\"}\")} b\"\nparam y: Int = 1\n");
        assert!(scanned.diagnostics.is_empty(), "{:?}", scanned.diagnostics);
        assert_eq!(scanned.items.len(), 2);
        assert_eq!(scanned.tokens.iter().filter(|t| t.kind == TokenKind::Str).count(), 1);
    }

    #[test]
    fn unterminated_string_ends_at_the_line() {
        let scanned = scan_text("param x: String = \"abc\nparam y: Int = 1\n");
        assert_eq!(codes(&scanned), ["E0002"]);
        assert_eq!(scanned.items.len(), 2);
    }

    #[test]
    fn unterminated_comment_runs_to_the_end() {
        let scanned = scan_text("param x: Int = 1 /* oops\nparam y: Int = 1\n");
        assert_eq!(codes(&scanned), ["E0003"]);
        assert_eq!(scanned.items.len(), 1);
    }

    #[test]
    fn deep_nesting_is_reported_once_without_recursion() {
        let text = format!("param x: Int = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
        let scanned = scan_text(&text);
        assert_eq!(codes(&scanned), ["E0004"]);
        assert_eq!(scanned.poisoned.len(), 1);
    }

    #[test]
    fn an_item_keyword_at_column_zero_closes_open_groups() {
        let scanned = scan_text("mapping m(a: B) -> B {\n  x = 1\nmapping n(a: B) -> B {\n  x = 1\n}\n");
        assert_eq!(codes(&scanned), ["E0006"]);
        assert_eq!(scanned.items.len(), 2);
        assert_eq!(scanned.items[0].missing_closers, "}");
        assert_eq!(scanned.items[1].missing_closers, "");
    }

    #[test]
    fn stray_closers_are_reported_and_recorded() {
        let scanned = scan_text("param x: Int = 1)\n");
        assert_eq!(codes(&scanned), ["E0006"]);
        assert_eq!(scanned.stray_closers.len(), 1);
    }

    #[test]
    fn doc_comments_are_told_apart() {
        let scanned = scan_text("/// doc\n//// not doc\n// plain\nparam x: Int\n");
        let kinds: Vec<_> = scanned.comments.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [CommentKind::Doc, CommentKind::Line, CommentKind::Line]);
    }
}
