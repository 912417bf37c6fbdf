//! The formatter behind `mapc fmt` and the language server's formatting
//! request: one canonical layout for `.map` and `.schema` files.
//!
//! It works on the scanner's tokens and comments, never on the tree, so it
//! keeps every comment where it was written and cannot drop code. The
//! layout:
//! - indentation is two spaces per level; a level opens with a line whose
//!   brackets stay open (`{`, `(`, `[`, however many on that line) and
//!   closes with the line that closes them; a line that continues an
//!   expression (after a trailing operator, or starting with one or with
//!   `.`) is indented one level more;
//! - one space around binary operators, `=`, `->`, `=>` and `|`, after `,`
//!   and `:`, and inside `{ … }` on one line; none inside `( … )` and
//!   `[ … ]`, before `,`, `:`, `;`, `?` and `.`, after `.` and `@`, nor
//!   between a name and its `(` or `[`;
//! - line breaks stay where they were written; blank lines shrink to one,
//!   none right after `{` or before `}`, and one separates top-level items
//!   of which either spans several lines;
//! - a trailing comment keeps one space before it; trailing whitespace goes;
//!   the file ends with one line end (LF).
//!
//! A file with syntax errors is not formatted (the layout of broken code is
//! guesswork). The result is checked before it is returned: its tokens and
//! comments must be the input's, in the same order.

use crate::source::FileId;
use crate::span::Span;
use crate::syntax::scan::{self, CommentKind, TokenKind};

/// Why a file was not formatted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The file has syntax errors; the first is at this 1-based line and
    /// column.
    #[error("the file has {count} syntax error{plural} (the first at line {line}, column {column}); fix them first", plural = if *count == 1 { "" } else { "s" })]
    Syntax {
        /// How many.
        count: usize,
        /// Line of the first.
        line: u32,
        /// Column of the first.
        column: u32,
    },
    /// The formatter's own check failed: the output would not have the
    /// input's tokens. A bug; the file is left as it is.
    #[error(
        "the formatter would have changed the code's tokens near byte {0}; the file is left unchanged (a bug: please report it)"
    )]
    Changed(usize),
}

/// One piece of the file in order: a token or a comment.
#[derive(Clone, Copy, Debug)]
struct Piece {
    kind: PieceKind,
    span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PieceKind {
    Token(TokenKind),
    Comment(CommentKind),
}

const BINARY: &[&str] = &[
    "??", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "=", "=>", "->", "|",
];

/// Formats `text`. Returns the text in the canonical layout, or why not.
pub fn format(text: &str) -> Result<String, FormatError> {
    let file = FileId::default();
    let parsed = crate::syntax::parse(file, text);
    if let Some(first) = parsed
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .min_by_key(|d| d.primary.span.start)
    {
        let lines = crate::span::LineIndex::new(text);
        let at = lines.line_col(text, first.primary.span.start as usize);
        return Err(FormatError::Syntax {
            count: parsed.diagnostics.iter().filter(|d| d.is_error()).count(),
            line: at.line,
            column: at.column,
        });
    }
    let scanned = scan::scan(file, text);
    let mut pieces: Vec<Piece> = scanned
        .tokens
        .iter()
        .map(|t| Piece {
            kind: PieceKind::Token(t.kind),
            span: t.span,
        })
        .chain(scanned.comments.iter().map(|c| Piece {
            kind: PieceKind::Comment(c.kind),
            span: c.span,
        }))
        .collect();
    pieces.sort_by_key(|p| p.span.start);
    let item_starts: Vec<u32> = scanned.items.iter().map(|i| i.span.start).collect();
    let code: Vec<&Piece> = pieces
        .iter()
        .filter(|p| !matches!(p.kind, PieceKind::Comment(_)))
        .collect();
    let annotation_args = annotation_args(text, &code);
    let tight = tight_braces(text, &code);
    let output = layout(text, &pieces, &item_starts, &annotation_args, &tight);
    verify(text, &output)?;
    Ok(output)
}

/// One line of pieces.
struct Line {
    pieces: Vec<Piece>,
    /// Blank lines written before it.
    blank_before: usize,
}

fn split_lines(pieces: &[Piece]) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut current: Vec<Piece> = Vec::new();
    let mut newlines = 0usize;
    for piece in pieces {
        if piece.kind == PieceKind::Token(TokenKind::Newline) {
            if current.is_empty() {
                newlines += 1;
            } else {
                lines.push(Line {
                    pieces: std::mem::take(&mut current),
                    blank_before: newlines.saturating_sub(1),
                });
                newlines = 1;
            }
            continue;
        }
        // A block comment may hold line ends: they do not start a new line.
        current.push(*piece);
    }
    if !current.is_empty() {
        lines.push(Line {
            pieces: current,
            blank_before: newlines.saturating_sub(1),
        });
    }
    if let Some(first) = lines.first_mut() {
        first.blank_before = 0;
    }
    lines
}

/// The spans of annotation arguments (`@xml(…)`), where `prefix:name`
/// stays as written.
fn annotation_args(text: &str, code: &[&Piece]) -> Vec<Span> {
    let slice = |span: Span| text.get(span.range()).unwrap_or("");
    let mut out = Vec::new();
    for (index, piece) in code.iter().enumerate() {
        if slice(piece.span) != "@" {
            continue;
        }
        let Some(open) = code.get(index + 2).filter(|p| slice(p.span) == "(") else {
            continue;
        };
        let mut depth = 0usize;
        for later in &code[index + 2..] {
            match later.kind {
                PieceKind::Token(TokenKind::Open) => depth += 1,
                PieceKind::Token(TokenKind::Close) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        out.push(Span::new(open.span.start as usize, later.span.end as usize));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The start offsets of the `{` and `}` of `use a.b.{X, Y}` groups, which
/// take no inner spaces.
fn tight_braces(text: &str, code: &[&Piece]) -> Vec<u32> {
    let slice = |span: Span| text.get(span.range()).unwrap_or("");
    let mut out = Vec::new();
    for (index, piece) in code.iter().enumerate() {
        if slice(piece.span) != "{" || index == 0 || slice(code[index - 1].span) != "." {
            continue;
        }
        if let Some(close) = code[index..].iter().find(|p| slice(p.span) == "}") {
            out.push(piece.span.start);
            out.push(close.span.start);
        }
    }
    out
}

fn layout(text: &str, pieces: &[Piece], item_starts: &[u32], annotation_args: &[Span], tight: &[u32]) -> String {
    let slice = |span: Span| text.get(span.range()).unwrap_or("");
    let lines = split_lines(pieces);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    // Open bracket groups: how many brackets each line left open.
    let mut groups: Vec<usize> = Vec::new();
    let mut previous_continues = false;
    let mut previous_item: Option<(usize, bool)> = None; // (line index where the item began, multi-line)
    let mut item_of_line: Vec<Option<usize>> = Vec::with_capacity(lines.len());
    for line in &lines {
        let start = line.pieces.first().map_or(0, |p| p.span.start);
        item_of_line.push(item_starts.iter().position(|s| *s == start));
    }
    // An item's head: its first line, or the first of the comment lines
    // right above it (its docs stay attached; a blank line goes above them).
    let comment_only = |line: &Line| line.pieces.iter().all(|p| matches!(p.kind, PieceKind::Comment(_)));
    let mut head_of: Vec<Option<usize>> = vec![None; lines.len()];
    for (index, item) in item_of_line.iter().enumerate() {
        if item.is_none() {
            continue;
        }
        let mut head = index;
        while head > 0
            && lines[head].blank_before == 0
            && comment_only(&lines[head - 1])
            && item_of_line[head - 1].is_none()
        {
            head -= 1;
        }
        head_of[head] = Some(index);
    }
    for (index, line) in lines.iter().enumerate() {
        let first = line.pieces[0];
        let first_text = slice(first.span);
        // Leading closers close groups before this line is indented.
        let mut leading_closers = 0usize;
        for piece in &line.pieces {
            if piece.kind == PieceKind::Token(TokenKind::Close) {
                leading_closers += 1;
            } else {
                break;
            }
        }
        let mut level_groups = groups.clone();
        close_brackets(&mut level_groups, leading_closers);
        let starts_with_operator = first.kind == PieceKind::Token(TokenKind::Punct)
            && (BINARY.contains(&first_text) && first_text != "=" && first_text != "|" || first_text == ".");
        let starts_with_word_operator =
            first.kind == PieceKind::Token(TokenKind::Word) && matches!(first_text, "and" | "or" | "where");
        let continuation = previous_continues || starts_with_operator || starts_with_word_operator;
        let mut level = level_groups.len() + usize::from(continuation);
        // Blank lines.
        let mut blank = line.blank_before.min(1);
        let after_open = out.trim_end().ends_with(['{', '(', '[']);
        let is_close_line = first.kind == PieceKind::Token(TokenKind::Close);
        if after_open || is_close_line {
            blank = 0;
        }
        if let Some(item_line) = head_of[index] {
            let multi = item_is_multiline(&lines, item_line, &item_of_line);
            // `schema a.b` and the `format` under it belong together.
            if let Some((previous_line, previous_multi)) = previous_item
                && (multi || previous_multi)
                && lines[previous_line].pieces.first().map(|p| slice(p.span)) != Some("schema")
            {
                blank = 1;
            }
            previous_item = Some((item_line, multi));
            level = 0;
        }
        if item_of_line[index].is_some() {
            level = 0;
        }
        if index > 0 {
            for _ in 0..blank {
                out.push('\n');
            }
        }
        for _ in 0..level {
            out.push_str("  ");
        }
        // The line's pieces with canonical spacing.
        let mut last: Option<Piece> = None;
        for (position, piece) in line.pieces.iter().enumerate() {
            if let Some(previous) = last {
                let in_annotation = annotation_args.iter().any(|s| s.contains(piece.span.start as usize));
                let before_previous = position.checked_sub(2).and_then(|i| line.pieces.get(i)).copied();
                let tight_brace = tight.contains(&previous.span.start) && slice(previous.span) == "{"
                    || tight.contains(&piece.span.start) && slice(piece.span) == "}";
                if !tight_brace && space_between(text, previous, *piece, before_previous, in_annotation) {
                    out.push(' ');
                    // Two statements on one line (`{ value = x  currencyID = y }`)
                    // are set apart by two spaces.
                    if starts_statement(text, previous, *piece, line.pieces.get(position + 1).copied()) {
                        out.push(' ');
                    }
                }
            }
            let piece_text = slice(piece.span);
            match piece.kind {
                PieceKind::Comment(CommentKind::Block) => out.push_str(piece_text),
                PieceKind::Comment(_) => out.push_str(piece_text.trim_end()),
                _ => out.push_str(piece_text),
            }
            last = Some(*piece);
        }
        out.push('\n');
        // Brackets this line leaves open or closes after its start.
        let mut opened = 0usize;
        let mut closes_after_start = 0usize;
        for piece in line.pieces.iter().skip(leading_closers) {
            match piece.kind {
                PieceKind::Token(TokenKind::Open) => opened += 1,
                PieceKind::Token(TokenKind::Close) => {
                    if opened > 0 {
                        opened -= 1;
                    } else {
                        closes_after_start += 1;
                    }
                }
                _ => {}
            }
        }
        groups = level_groups;
        close_brackets(&mut groups, closes_after_start);
        if opened > 0 {
            groups.push(opened);
        }
        let last_code = line
            .pieces
            .iter()
            .rev()
            .find(|p| !matches!(p.kind, PieceKind::Comment(_)))
            .copied();
        previous_continues = last_code.is_some_and(|p| {
            let t = slice(p.span);
            (p.kind == PieceKind::Token(TokenKind::Punct) && BINARY.contains(&t) && t != "|")
                || (p.kind == PieceKind::Token(TokenKind::Word) && matches!(t, "and" | "or" | "where" | "in"))
        });
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out.is_empty() {
        return out;
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Closes `count` brackets from the innermost groups.
fn close_brackets(groups: &mut Vec<usize>, mut count: usize) {
    while count > 0 {
        let Some(top) = groups.last_mut() else { return };
        if *top > count {
            *top -= count;
            return;
        }
        count -= *top;
        groups.pop();
    }
}

/// Whether the item starting at line `index` spans more than that line.
fn item_is_multiline(lines: &[Line], index: usize, item_of_line: &[Option<usize>]) -> bool {
    let next = lines.get(index + 1);
    next.is_some() && item_of_line.get(index + 1).is_some_and(Option::is_none) && {
        // A following line that is not a new item belongs to this one,
        // unless it is a comment line before the next item.
        let mut i = index + 1;
        let mut continues = false;
        while i < lines.len() && item_of_line[i].is_none() {
            if lines[i].pieces.iter().any(|p| !matches!(p.kind, PieceKind::Comment(_))) {
                continues = true;
                break;
            }
            i += 1;
        }
        continues
    }
}

/// Whether `next` begins a second statement on a line: a field name (not a
/// keyword) followed by `=` or `{`, right after the end of an expression.
fn starts_statement(text: &str, previous: Piece, next: Piece, after: Option<Piece>) -> bool {
    let slice = |span: Span| text.get(span.range()).unwrap_or("");
    let previous_ends_value = match previous.kind {
        PieceKind::Token(TokenKind::Word) => {
            let word = slice(previous.span);
            !crate::ide::KEYWORDS.contains(&word) || matches!(word, "true" | "false" | "none")
        }
        PieceKind::Token(TokenKind::Str | TokenKind::Number | TokenKind::Close) => true,
        _ => false,
    };
    let name = slice(next.span);
    previous_ends_value
        && next.kind == PieceKind::Token(TokenKind::Word)
        && !crate::ide::KEYWORDS.contains(&name)
        && after.is_some_and(|a| matches!(slice(a.span), "=" | "{"))
}

/// Whether one space goes between two pieces on one line.
fn space_between(
    text: &str,
    previous: Piece,
    next: Piece,
    before_previous: Option<Piece>,
    in_annotation: bool,
) -> bool {
    let slice = |span: Span| text.get(span.range()).unwrap_or("");
    let (a, b) = (slice(previous.span), slice(next.span));
    if matches!(next.kind, PieceKind::Comment(_)) || matches!(previous.kind, PieceKind::Comment(_)) {
        return true;
    }
    let tight_in_source = previous.span.end == next.span.start;
    match (previous.kind, next.kind) {
        (_, PieceKind::Token(TokenKind::Punct)) if matches!(b, "," | ";" | "?" | ".") => false,
        (PieceKind::Token(TokenKind::Punct), _) if matches!(a, "." | "@") => false,
        // `xsi:type`, `tranSales:SalesOrder`: a prefixed name stays tight.
        (_, PieceKind::Token(TokenKind::Punct)) if b == ":" => false,
        (PieceKind::Token(TokenKind::Punct), _) if a == ":" => !(in_annotation && tight_in_source),
        (PieceKind::Token(TokenKind::Open), _) if a == "{" => true,
        (_, PieceKind::Token(TokenKind::Close)) if b == "}" => true,
        (PieceKind::Token(TokenKind::Open), _) => false,
        (_, PieceKind::Token(TokenKind::Close)) => false,
        (PieceKind::Token(TokenKind::Punct), _) if a == "," => true,
        (_, PieceKind::Token(TokenKind::Open)) if b == "(" || b == "[" => {
            // A call, an index or type arguments: tight after a name or a
            // closer; otherwise (after `=`, `,`, a keyword) spaced.
            match previous.kind {
                PieceKind::Token(TokenKind::Word) => {
                    crate::ide::KEYWORDS.contains(&a) && !matches!(a, "true" | "false" | "none")
                }
                PieceKind::Token(TokenKind::Close) => false,
                PieceKind::Token(TokenKind::Str) => false,
                _ => true,
            }
        }
        (PieceKind::Token(TokenKind::Punct), _) if a == "-" && is_unary(text, before_previous) => false,
        // Everything else is spaced: words, operators, `) ??`, `} else`.
        _ => true,
    }
}

/// Whether a `-` after `before` is a prefix minus (nothing before it on the
/// line, or an operator, opener, `,` or keyword).
fn is_unary(text: &str, before: Option<Piece>) -> bool {
    let Some(before) = before else { return true };
    let t = text.get(before.span.range()).unwrap_or("");
    match before.kind {
        PieceKind::Token(TokenKind::Punct) => t != "?",
        PieceKind::Token(TokenKind::Open) => true,
        PieceKind::Token(TokenKind::Word) => {
            crate::ide::KEYWORDS.contains(&t) && !matches!(t, "true" | "false" | "none")
        }
        _ => false,
    }
}

/// The formatted text must hold the same tokens and comments as the input.
fn verify(input: &str, output: &str) -> Result<(), FormatError> {
    let significant = |text: &str| -> Vec<(PieceKind, String, u32)> {
        let scanned = scan::scan(FileId::default(), text);
        #[allow(clippy::type_complexity)]
        let mut out: Vec<(PieceKind, String, u32)> = scanned
            .tokens
            .iter()
            .filter(|t| t.kind != TokenKind::Newline)
            .map(|t| (PieceKind::Token(t.kind), text[t.span.range()].to_owned(), t.span.start))
            .chain(scanned.comments.iter().map(|c| {
                (
                    PieceKind::Comment(c.kind),
                    text[c.span.range()].trim_end().to_owned(),
                    c.span.start,
                )
            }))
            .collect();
        out.sort_by_key(|(_, _, at)| *at);
        out
    };
    let before = significant(input);
    let after = significant(output);
    for (index, (b, a)) in before.iter().zip(after.iter()).enumerate() {
        if b.0 != a.0 || b.1 != a.1 {
            return Err(FormatError::Changed(before.get(index).map_or(0, |p| p.2 as usize)));
        }
    }
    if before.len() != after.len() {
        return Err(FormatError::Changed(input.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(text: &str) -> String {
        match format(text) {
            Ok(out) => out,
            Err(error) => panic!("not formatted: {error}"),
        }
    }

    #[test]
    fn spacing_and_indentation_become_canonical() {
        let input = "use canonical.invoice.{Invoice,Party}\nparam  company:String(4)=\"1000\"\nmapping m(inv:Invoice)->Party{\nName=upper( inv.number )\n    Amount = round(inv.total,2)??0\nlet x=-1\n}\n";
        insta::assert_snapshot!(formatted(input));
    }

    #[test]
    fn comments_stay_and_blank_lines_shrink() {
        let input =
            "// header\n\n\n/// Doc.\nparam a: Int = 1 // trailing   \n/* block\n   comment */\nparam b: Int = 2\n";
        insta::assert_snapshot!(formatted(input));
    }

    #[test]
    fn formatting_is_idempotent_on_its_own_output() {
        let input = "mapping m(x: A) -> B {\n  Lines = for l, i in x.lines where l.qty > 0 {\n      Qty = l.qty\n      Text = match l.kind { a | b => \"ab\", _ => \"other\" }\n  }\n  Value = if x.flag { 1 } else {\n  2 }\n}\n";
        let once = formatted(input);
        assert_eq!(formatted(&once), once);
        insta::assert_snapshot!(once);
    }

    #[test]
    fn broken_files_are_refused_with_the_first_error() {
        let error = format("mapping m(x: A) -> B {\n  Name = \n}\n").err();
        assert!(
            matches!(error, Some(FormatError::Syntax { line: 3, column: 1, .. })),
            "{error:?}"
        );
    }
}
