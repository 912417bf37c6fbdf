//! The parser: pest for the grammar, with recovery around it.
//!
//! pest has no error recovery, so the parser never hands it the whole file.
//! The scanner ([`super::scan`]) splits the file into top-level items; each
//! is parsed on its own. When an item fails, the interiors of its `{…}`
//! groups are blanked out (same length, so spans stay true) and the item is
//! parsed again: if that works the mistake is inside a body, and each body is
//! split into statements (by the scanner's tokens) and parsed statement by
//! statement, recursively. A statement that still fails becomes one error
//! node with one diagnostic; the rest of the file is kept.

use super::ast::*;
use super::expected;
use super::scan::{self, Comment, CommentKind, Scanned, Token, TokenKind};
use crate::diagnostics::{Code, Diagnostic, Edit};
use crate::source::FileId;
use crate::span::Span;
use pest::Parser as _;
use pest::iterators::Pair;
use std::collections::HashMap;

mod grammar {
    //! The pest parser generated from `grammar/mapping.pest`.
    #![allow(missing_docs)]

    #[derive(pest_derive::Parser)]
    #[grammar = "../../grammar/mapping.pest"]
    pub struct Grammar;
}

pub(crate) use grammar::Rule as GrammarRule;
use grammar::{Grammar, Rule};

/// Files larger than this are refused (E0008).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// How deep one expression may be, counting every operation.
pub const MAX_EXPR_DEPTH: usize = 1024;

/// After this many syntax errors in one file the parser stops reporting more.
pub const MAX_SYNTAX_ERRORS: usize = 100;

/// What parsing a file gives: the tree, the comments and the diagnostics.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// The syntax tree.
    pub module: Module,
    /// Every comment, for the formatter and hovers.
    pub comments: Vec<Comment>,
    /// Everything wrong with the file's syntax.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a file. Never fails and never panics: problems become diagnostics
/// and error nodes.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    if text.len() > MAX_FILE_BYTES {
        parsed.diagnostics.push(
            Diagnostic::new(
                Code::FileTooLarge,
                file,
                Span::at(0),
                format!(
                    "this file is {} bytes, more than the {} MiB a mapping or schema file may have",
                    text.len(),
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            )
            .with_help("split it into several modules joined with `use`"),
        );
        return parsed;
    }
    let scanned = scan::scan(file, text);
    if text.starts_with('\u{FEFF}') {
        parsed.diagnostics.push(
            Diagnostic::new(
                Code::ByteOrderMark,
                file,
                Span::new(0, 3),
                "the file starts with a byte-order mark",
            )
            .with_label("ignored")
            .with_fix("save the file as UTF-8 without a byte-order mark", ""),
        );
    }
    let mut diagnostics = scanned.diagnostics.clone();
    if scanned.items.is_empty() && diagnostics.is_empty() {
        diagnostics.push(
            Diagnostic::new(Code::EmptyFile, file, Span::at(0), "this file holds nothing to check").with_help(
                "a `.schema` file starts with `schema NAME`; a `.map` file holds `param`s, `table`s and `mapping`s",
            ),
        );
    }
    // The text pest sees: stray closers (already reported) become spaces.
    let patched;
    let pest_text: &str = if scanned.stray_closers.is_empty() {
        text
    } else {
        let mut bytes = text.as_bytes().to_vec();
        for at in &scanned.stray_closers {
            if let Some(byte) = bytes.get_mut(*at) {
                *byte = b' ';
            }
        }
        patched = String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned());
        &patched
    };
    let mut parser = Parser {
        file,
        text: pest_text,
        scanned: &scanned,
        docs: collect_docs(text, &scanned),
        diagnostics,
        syntax_errors: 0,
        depth: 0,
    };
    for chunk in &scanned.items {
        let item = parser.parse_item(chunk.span, &chunk.missing_closers);
        parsed.module.items.push(item);
    }
    parsed.diagnostics.extend(parser.diagnostics);
    parsed.comments = scanned.comments;
    parsed
}

/// Doc comments by the offset of the first token after them.
fn collect_docs(text: &str, scanned: &Scanned) -> HashMap<usize, Doc> {
    let mut docs = HashMap::new();
    let comments = &scanned.comments;
    let mut index = 0;
    while index < comments.len() {
        if comments[index].kind != CommentKind::Doc {
            index += 1;
            continue;
        }
        let first = index;
        let mut lines = Vec::new();
        let mut end = comments[index].span.end as usize;
        while index < comments.len()
            && comments[index].kind == CommentKind::Doc
            && text
                .get(end.min(comments[index].span.start as usize)..comments[index].span.start as usize)
                .is_some_and(|gap| gap.trim().is_empty())
        {
            let line = text.get(comments[index].span.range()).unwrap_or("");
            let body = line.strip_prefix("///").unwrap_or(line);
            lines.push(body.strip_prefix(' ').unwrap_or(body).trim_end().to_owned());
            end = comments[index].span.end as usize;
            index += 1;
        }
        let next = scanned
            .tokens
            .partition_point(|token| (token.span.start as usize) < end);
        if let Some(token) = scanned.tokens[next..]
            .iter()
            .find(|token| token.kind != TokenKind::Newline)
        {
            docs.insert(
                token.span.start as usize,
                Doc {
                    text: lines.join("\n"),
                    span: Span::new(comments[first].span.start as usize, end),
                },
            );
        }
    }
    docs
}

/// Which chunk rule parses the inside of a recovered `{…}` body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyKind {
    Fields,
    Variants,
    Entries,
    Arms,
    Settings,
}

impl BodyKind {
    fn rule(self) -> Rule {
        match self {
            BodyKind::Fields => Rule::fields_chunk,
            BodyKind::Variants => Rule::variants_chunk,
            BodyKind::Entries => Rule::entries_chunk,
            BodyKind::Arms => Rule::arms_chunk,
            BodyKind::Settings => Rule::settings_chunk,
        }
    }
}

struct Parser<'a> {
    file: FileId,
    text: &'a str,
    scanned: &'a Scanned,
    docs: HashMap<usize, Doc>,
    diagnostics: Vec<Diagnostic>,
    syntax_errors: usize,
    /// Expression nesting while building, against [`MAX_EXPR_DEPTH`].
    depth: usize,
}

/// The outcome of building one recovered body.
struct Body<T> {
    items: Vec<T>,
    broken: Vec<Span>,
}

impl<'a> Parser<'a> {
    fn tokens_in(&self, span: Span) -> &'a [Token] {
        let tokens = &self.scanned.tokens;
        let first = tokens.partition_point(|token| token.span.start < span.start);
        let last = tokens.partition_point(|token| token.span.start < span.end);
        &tokens[first..last]
    }

    fn poisoned(&self, span: Span) -> bool {
        self.scanned
            .poisoned
            .iter()
            .any(|bad| bad.start < span.end.max(span.start + 1) && span.start < bad.end)
    }

    /// Parses `span` (plus `suffix`) with `rule`, blanking `{…}` interiors
    /// when the plain parse fails, and hands the chunk pair to `build`.
    /// Reports the error when both parses fail.
    fn with_chunk<R>(
        &mut self,
        rule: Rule,
        span: Span,
        suffix: &str,
        build: impl FnOnce(&mut Self, Pair<'_, Rule>, &ChunkCtx) -> R,
    ) -> Option<R> {
        let source = self.text.get(span.range())?;
        let mut failed = false;
        if !self.poisoned(span) {
            let text = format!("{source}{suffix}");
            match Grammar::parse(rule, &text) {
                Ok(mut pairs) => {
                    let ctx = ChunkCtx {
                        base: span.start as usize,
                        limit: span.end as usize,
                        blanked: Vec::new(),
                    };
                    return pairs.next().map(|pair| build(self, pair, &ctx));
                }
                Err(_) => failed = true,
            }
        }
        // Blank the interiors of the chunk's own top-level `{…}` groups.
        let tokens = self.tokens_in(span);
        let base_depth = tokens.first().map_or(0, |token| token.depth);
        let mut groups = Vec::new();
        let mut open_at: Option<usize> = None;
        for token in tokens {
            if token.depth != base_depth {
                continue;
            }
            let byte = self.text.as_bytes().get(token.span.start as usize).copied();
            match (token.kind, byte) {
                (TokenKind::Open, Some(b'{')) if open_at.is_none() => open_at = Some(token.span.start as usize),
                (TokenKind::Close, Some(b'}')) => {
                    if let Some(open) = open_at.take() {
                        groups.push((open, token.span.start as usize));
                    }
                }
                _ => {}
            }
        }
        if let Some(open) = open_at {
            groups.push((open, span.end as usize));
        }
        let outside_poisoned = self.scanned.poisoned.iter().any(|bad| {
            bad.start < span.end
                && span.start < bad.end
                && !groups
                    .iter()
                    .any(|(open, close)| *open < bad.start as usize && bad.end as usize <= *close)
        });
        if !groups.is_empty() && !outside_poisoned {
            let mut bytes = source.as_bytes().to_vec();
            for (open, close) in &groups {
                for at in open + 1..*close {
                    if let Some(byte) = bytes.get_mut(at - span.start as usize)
                        && *byte != b'\n'
                    {
                        *byte = b' ';
                    }
                }
            }
            // Closers for the groups left open at this level only: the
            // blanked interiors need none.
            let level: Vec<Token> = tokens
                .iter()
                .copied()
                .filter(|token| token.depth == base_depth)
                .collect();
            let suffix = scan::missing_closers(&level, self.text);
            let text = format!("{}{suffix}", String::from_utf8_lossy(&bytes));
            match Grammar::parse(rule, &text) {
                Ok(mut pairs) => {
                    let ctx = ChunkCtx {
                        base: span.start as usize,
                        limit: span.end as usize,
                        blanked: groups,
                    };
                    return pairs.next().map(|pair| build(self, pair, &ctx));
                }
                Err(_) => {
                    self.report_parse_error(rule, &text, span);
                    return None;
                }
            }
        }
        if failed && !self.poisoned(span) {
            self.report_parse_error(rule, &format!("{source}{suffix}"), span);
        }
        None
    }

    /// Parses `text` again with pest's error detail on (it slows parsing, so
    /// it is on only for the failing chunk) and reports the error.
    fn report_parse_error(&mut self, rule: Rule, text: &str, span: Span) {
        pest::set_error_detail(true);
        let result = Grammar::parse(rule, text);
        pest::set_error_detail(false);
        if let Err(error) = result {
            self.report_pest_error(&error, span);
        }
    }

    fn report_pest_error(&mut self, error: &pest::error::Error<Rule>, span: Span) {
        self.syntax_errors += 1;
        if self.syntax_errors > MAX_SYNTAX_ERRORS {
            return;
        }
        let (offset, _) = match error.location {
            pest::error::InputLocation::Pos(pos) => (pos, pos),
            pest::error::InputLocation::Span((start, end)) => (start, end),
        };
        let at = (span.start as usize + offset).min(span.end as usize);
        let expected = expected::describe_expected(error);
        let found = expected::describe_found(self.text, at, span.end as usize);
        let at = expected::found_offset(self.text, at, span.end as usize);
        let width = expected::found_width(self.text, at);
        let message = match &expected {
            Some(expected) => format!("expected {expected}, found {found}"),
            None => format!("unexpected {found}"),
        };
        let mut diagnostic = Diagnostic::new(Code::Syntax, self.file, Span::new(at, at + width), message);
        if let Some(expected) = expected {
            diagnostic = diagnostic.with_label(format!("expected {expected}"));
        }
        // Logical operators are words here; say so to whoever wrote C's.
        let rest = self.text.get(at..).unwrap_or("");
        let word = if rest.starts_with("&&") {
            Some(("&&", "and"))
        } else if rest.starts_with("||") {
            Some(("||", "or"))
        } else if rest.starts_with('!') && !rest.starts_with("!=") {
            // `!(x)` becomes `not(x)`, `!x` becomes `not x`.
            let spaced = rest[1..].starts_with(|c: char| c.is_whitespace() || c == '(');
            Some(("!", if spaced { "not" } else { "not " }))
        } else {
            None
        };
        if let Some((symbol, replacement)) = word {
            diagnostic = diagnostic.with_edit(
                format!(
                    "the logical operators are words: write `{}` for `{symbol}`",
                    replacement.trim()
                ),
                Edit {
                    file: self.file,
                    span: Span::new(at, at + symbol.len()),
                    replacement: replacement.to_owned(),
                },
            );
        }
        if self.syntax_errors == MAX_SYNTAX_ERRORS {
            diagnostic = diagnostic.with_note(format!(
                "this is the {MAX_SYNTAX_ERRORS}th syntax error in this file; further ones are not reported"
            ));
        }
        self.diagnostics.push(diagnostic);
    }

    fn error(&mut self, code: Code, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::new(code, self.file, span, message));
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    // ------------------------------------------------------------ items

    fn parse_item(&mut self, span: Span, suffix: &str) -> Item {
        let doc = self.docs.remove(&(span.start as usize));
        let kind = self
            .with_chunk(
                Rule::item_chunk,
                span,
                suffix,
                |parser, chunk_pair, ctx| match chunk_pair.into_inner().find(|pair| pair.as_rule() != Rule::EOI) {
                    Some(item) => parser.item(ctx, item),
                    None => ItemKind::Error,
                },
            )
            .unwrap_or(ItemKind::Error);
        Item { kind, span, doc }
    }

    fn item(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> ItemKind {
        match pair.as_rule() {
            Rule::schema_decl => {
                let path = pair.into_inner().find(|p| p.as_rule() == Rule::path);
                path.map_or(ItemKind::Error, |p| ItemKind::Schema(self.path(c, p)))
            }
            Rule::format_decl => ItemKind::Format(self.format_decl(c, pair)),
            Rule::use_decl => self.use_decl(c, pair),
            Rule::enum_decl => ItemKind::Enum(self.enum_decl(c, pair)),
            Rule::record_decl => ItemKind::Record(self.record_decl(c, pair)),
            Rule::extend_decl => ItemKind::Extend(self.extend_decl(c, pair)),
            Rule::param_decl => ItemKind::Param(self.param_decl(c, pair)),
            Rule::table_decl => ItemKind::Table(self.table_decl(c, pair)),
            Rule::mapping_decl => ItemKind::Mapping(self.function_decl(c, pair)),
            Rule::fn_decl => ItemKind::Function(self.function_decl(c, pair)),
            _ => ItemKind::Error,
        }
    }

    fn ident(&self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Ident {
        let text = pair.as_str();
        let name = text
            .strip_prefix('`')
            .and_then(|inner| inner.strip_suffix('`'))
            .unwrap_or(text)
            .to_owned();
        Ident {
            name,
            span: c.span(&pair),
        }
    }

    /// A `field_name` pair (quoted or plain) or a bare word.
    fn name_of(&self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Ident {
        if pair.as_rule() == Rule::field_name {
            let span = c.span(&pair);
            match pair.into_inner().next() {
                Some(inner) => self.ident(c, inner),
                None => Ident {
                    name: String::new(),
                    span,
                },
            }
        } else {
            self.ident(c, pair)
        }
    }

    fn path(&self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Path {
        let span = c.span(&pair);
        let mut segments = Vec::new();
        let mut offset = span.start as usize;
        for part in pair.as_str().split('.') {
            segments.push(Ident {
                name: part.to_owned(),
                span: Span::new(offset, offset + part.len()),
            });
            offset += part.len() + 1;
        }
        Path { segments, span }
    }

    fn format_decl(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> FormatDecl {
        let mut kind = Ident {
            name: String::new(),
            span: c.span(&pair),
        };
        let mut body = Body {
            items: Vec::new(),
            broken: Vec::new(),
        };
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::word => kind = self.ident(c, inner),
                Rule::format_block => {
                    body = self.body(c, inner, BodyKind::Settings, Rule::format_setting, |p, c, pair| {
                        Some(p.format_setting(c, pair))
                    })
                }
                _ => {}
            }
        }
        FormatDecl {
            kind,
            settings: body.items,
            broken: body.broken,
        }
    }

    fn format_setting(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> FormatSetting {
        let span = c.span(&pair);
        let mut key = None;
        let mut qualifier = None;
        let mut value = Literal::Word(String::new());
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::word => key = Some(self.ident(c, inner)),
                Rule::setting_qualifier => {
                    if let Some(word) = inner.into_inner().next() {
                        qualifier = Some(self.ident(c, word));
                    }
                }
                Rule::setting_literal | Rule::setting_value => {
                    if let Some(lit) = inner.into_inner().next() {
                        value = self.literal(c, lit);
                    }
                }
                _ => {}
            }
        }
        FormatSetting {
            key: key.unwrap_or(Ident {
                name: String::new(),
                span,
            }),
            qualifier,
            value,
            span,
        }
    }

    /// A literal in a format setting or annotation.
    fn literal(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Literal {
        match pair.as_rule() {
            Rule::string_lit => {
                let expr = self.string(c, pair);
                match expr.kind {
                    ExprKind::Str(parts) => {
                        let mut text = String::new();
                        for part in parts {
                            match part {
                                StrPart::Text(piece) => text.push_str(&piece),
                                StrPart::Interpolation(inner) => {
                                    self.error(
                                        Code::Syntax,
                                        inner.span,
                                        "expected a plain string, found an interpolation",
                                    )
                                    .help = Some(crate::diagnostics::Help {
                                        message: "settings and annotations take constant text: write `\\{` for a brace"
                                            .to_owned(),
                                        edit: None,
                                    });
                                }
                            }
                        }
                        Literal::Str(text)
                    }
                    _ => Literal::Str(String::new()),
                }
            }
            Rule::number_lit => Literal::Number(pair.as_str().replace('_', "")),
            Rule::true_lit => Literal::Bool(true),
            Rule::false_lit => Literal::Bool(false),
            _ => Literal::Word(pair.as_str().to_owned()),
        }
    }

    fn use_decl(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> ItemKind {
        let span = c.span(&pair);
        let mut path: Option<Pair<'_, Rule>> = None;
        let mut group: Option<Pair<'_, Rule>> = None;
        let mut alias: Option<Ident> = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::use_path => path = Some(inner),
                Rule::use_group => group = Some(inner),
                Rule::use_alias => {
                    alias = inner
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::ident)
                        .map(|p| self.ident(c, p))
                }
                _ => {}
            }
        }
        let Some(path_pair) = path else {
            return ItemKind::Error;
        };
        let path_span = c.span(&path_pair);
        let written = path_pair.as_str();
        let trailing_dot = written.ends_with('.');
        let trimmed = written.trim_end_matches('.');
        let mut segments = Vec::new();
        let mut offset = path_span.start as usize;
        for part in trimmed.split('.') {
            segments.push(Ident {
                name: part.to_owned(),
                span: Span::new(offset, offset + part.len()),
            });
            offset += part.len() + 1;
        }
        let module_span = Span::new(path_span.start as usize, path_span.start as usize + trimmed.len());
        match group {
            Some(group) => {
                let group_span = c.span(&group);
                if !trailing_dot {
                    self.error(Code::MalformedUse, group_span, "expected `.` before `{`")
                        .with_label_mut("write `.{` after the module path");
                }
                let mut names = Vec::new();
                for use_name in group.into_inner().filter(|p| p.as_rule() == Rule::use_name) {
                    let mut inner = use_name.into_inner();
                    let Some(name) = inner.next() else { continue };
                    let name = self.ident(c, name);
                    let alias = inner
                        .next()
                        .and_then(|a| a.into_inner().find(|p| p.as_rule() == Rule::ident))
                        .map(|p| self.ident(c, p));
                    names.push(UseName { name, alias });
                }
                if names.is_empty() {
                    self.error(Code::MalformedUse, group_span, "this `use` imports nothing")
                        .with_label_mut("name the items to import inside the braces");
                }
                ItemKind::Use(UseDecl {
                    module: Path {
                        segments,
                        span: module_span,
                    },
                    names,
                })
            }
            None => {
                if trailing_dot {
                    self.error(Code::MalformedUse, path_span, "this `use` ends with `.`")
                        .with_label_mut("expected `{` and the names to import after the `.`");
                    return ItemKind::Error;
                }
                if segments.len() < 2 {
                    self.error(Code::MalformedUse, path_span, "a `use` needs a module path and an item")
                        .with_label_mut("write `use module.path.Item` or `use module.path.{A, B}`");
                    return ItemKind::Error;
                }
                let name = segments.pop().unwrap_or(Ident {
                    name: String::new(),
                    span,
                });
                let module_span = match segments.last() {
                    Some(last) => Span::new(path_span.start as usize, last.span.end as usize),
                    None => module_span,
                };
                ItemKind::Use(UseDecl {
                    module: Path {
                        segments,
                        span: module_span,
                    },
                    names: vec![UseName { name, alias }],
                })
            }
        }
    }

    fn annotations(&mut self, c: &ChunkCtx, pairs: Vec<Pair<'_, Rule>>) -> Vec<Annotation> {
        pairs.into_iter().map(|pair| self.annotation(c, pair)).collect()
    }

    fn annotation(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Annotation {
        let span = c.span(&pair);
        let mut name = Ident {
            name: String::new(),
            span,
        };
        let mut args = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::annotation_name => {
                    let ident_span = c.span(&inner);
                    name = Ident {
                        name: inner.as_str().trim_start_matches('@').to_owned(),
                        span: Span::new(ident_span.start as usize + 1, ident_span.end as usize),
                    };
                }
                Rule::annotation_args => {
                    for arg in inner.into_inner().filter(|p| p.as_rule() == Rule::annotation_arg) {
                        let arg_span = c.span(&arg);
                        let mut key = None;
                        let mut value = Literal::Word(String::new());
                        for part in arg.into_inner() {
                            match part.as_rule() {
                                Rule::word => key = Some(self.ident(c, part)),
                                Rule::annotation_value => {
                                    if let Some(lit) = part.into_inner().next() {
                                        value = self.literal(c, lit);
                                    }
                                }
                                _ => {}
                            }
                        }
                        args.push(AnnotationArg {
                            key,
                            value,
                            span: arg_span,
                        });
                    }
                }
                _ => {}
            }
        }
        Annotation { name, args, span }
    }

    fn enum_decl(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> EnumDecl {
        let mut name = None;
        let mut annotations = Vec::new();
        let mut body = Body {
            items: Vec::new(),
            broken: Vec::new(),
        };
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::ident => name = Some(self.ident(c, inner)),
                Rule::annotation => annotations.push(inner),
                Rule::enum_body => {
                    body = self.body(c, inner, BodyKind::Variants, Rule::variant, |p, c, pair| {
                        Some(p.variant(c, pair))
                    })
                }
                _ => {}
            }
        }
        let annotations = self.annotations(c, annotations);
        EnumDecl {
            name: name.unwrap_or_else(|| missing_ident(c)),
            annotations,
            variants: body.items,
            broken: body.broken,
        }
    }

    fn variant(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Variant {
        let span = c.span(&pair);
        let doc = self.docs.remove(&(span.start as usize));
        let mut name = None;
        let mut annotations = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::field_name => name = Some(self.name_of(c, inner)),
                Rule::annotation => annotations.push(inner),
                _ => {}
            }
        }
        let annotations = self.annotations(c, annotations);
        Variant {
            name: name.unwrap_or_else(|| missing_ident(c)),
            annotations,
            doc,
            span,
        }
    }

    fn record_decl(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> RecordDecl {
        let mut name = None;
        let mut annotations = Vec::new();
        let mut body = Body {
            items: Vec::new(),
            broken: Vec::new(),
        };
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::ident => name = Some(self.ident(c, inner)),
                Rule::annotation => annotations.push(inner),
                Rule::record_body => body = self.fields(c, inner),
                _ => {}
            }
        }
        let annotations = self.annotations(c, annotations);
        RecordDecl {
            name: name.unwrap_or_else(|| missing_ident(c)),
            annotations,
            fields: body.items,
            broken: body.broken,
        }
    }

    fn fields(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Body<FieldDecl> {
        self.body(c, pair, BodyKind::Fields, Rule::field_decl, |p, c, pair| {
            Some(p.field_decl(c, pair))
        })
    }

    fn extend_decl(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> ExtendDecl {
        let mut target = None;
        let mut body = Body {
            items: Vec::new(),
            broken: Vec::new(),
        };
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::path => target = Some(self.path(c, inner)),
                Rule::record_body => body = self.fields(c, inner),
                _ => {}
            }
        }
        ExtendDecl {
            target: target.unwrap_or(Path {
                segments: Vec::new(),
                span: Span::at(c.base),
            }),
            fields: body.items,
            broken: body.broken,
        }
    }

    fn field_decl(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> FieldDecl {
        let span = c.span(&pair);
        let doc = self.docs.remove(&(span.start as usize));
        let mut name = None;
        let mut ty = None;
        let mut annotations = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::field_name => name = Some(self.name_of(c, inner)),
                Rule::type_ref => ty = Some(self.type_ref(c, inner)),
                Rule::annotation => annotations.push(inner),
                _ => {}
            }
        }
        let annotations = self.annotations(c, annotations);
        FieldDecl {
            name: name.unwrap_or_else(|| missing_ident(c)),
            ty: ty.unwrap_or_else(|| missing_type(span)),
            annotations,
            doc,
            span,
        }
    }

    fn type_ref(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> TypeRef {
        let span = c.span(&pair);
        let mut base = None;
        let mut optional = false;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::list_type => {
                    let inner_span = c.span(&inner);
                    let element = inner
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::type_ref)
                        .map(|p| self.type_ref(c, p))
                        .unwrap_or_else(|| missing_type(inner_span));
                    base = Some(TypeRef {
                        kind: TypeRefKind::List(Box::new(element)),
                        span: inner_span,
                    });
                }
                Rule::named_type => {
                    let inner_span = c.span(&inner);
                    let mut path = None;
                    let mut args = Vec::new();
                    for part in inner.into_inner() {
                        match part.as_rule() {
                            Rule::path => path = Some(self.path(c, part)),
                            Rule::type_args => {
                                for number in part.into_inner() {
                                    args.push((number.as_str().replace('_', ""), c.span(&number)));
                                }
                            }
                            _ => {}
                        }
                    }
                    base = Some(TypeRef {
                        kind: TypeRefKind::Named {
                            path: path.unwrap_or(Path {
                                segments: Vec::new(),
                                span: inner_span,
                            }),
                            args,
                        },
                        span: inner_span,
                    });
                }
                Rule::optional_mark => optional = true,
                _ => {}
            }
        }
        let base = base.unwrap_or_else(|| missing_type(span));
        if optional {
            TypeRef {
                kind: TypeRefKind::Optional(Box::new(base)),
                span,
            }
        } else {
            base
        }
    }

    fn param_decl(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> ParamDecl {
        let span = c.span(&pair);
        let mut name = None;
        let mut ty = None;
        let mut default = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::ident => name = Some(self.ident(c, inner)),
                Rule::type_ref => ty = Some(self.type_ref(c, inner)),
                Rule::expr => default = Some(self.expr(c, inner)),
                _ => {}
            }
        }
        ParamDecl {
            name: name.unwrap_or_else(|| missing_ident(c)),
            ty: ty.unwrap_or_else(|| missing_type(span)),
            default,
        }
    }

    fn table_decl(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> TableDecl {
        let span = c.span(&pair);
        let mut name = None;
        let mut types = Vec::new();
        let mut entries = None;
        let mut broken = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::ident => name = Some(self.ident(c, inner)),
                Rule::type_ref => types.push(self.type_ref(c, inner)),
                Rule::table_body => {
                    let body = self.body(c, inner, BodyKind::Entries, Rule::table_entry, |p, c, pair| {
                        Some(p.table_entry(c, pair))
                    });
                    entries = Some(body.items);
                    broken = body.broken;
                }
                _ => {}
            }
        }
        let mut types = types.into_iter();
        TableDecl {
            name: name.unwrap_or_else(|| missing_ident(c)),
            key: types.next().unwrap_or_else(|| missing_type(span)),
            value: types.next().unwrap_or_else(|| missing_type(span)),
            entries,
            broken,
        }
    }

    fn table_entry(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> TableEntry {
        let span = c.span(&pair);
        let mut patterns = Vec::new();
        let mut value = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::patterns => patterns = self.patterns(c, inner),
                Rule::expr => value = Some(self.expr(c, inner)),
                _ => {}
            }
        }
        TableEntry {
            patterns,
            value: value.unwrap_or(Expr::error(span)),
            span,
        }
    }

    fn patterns(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Vec<Pattern> {
        let mut out = Vec::new();
        for pattern in pair.into_inner().filter(|p| p.as_rule() == Rule::pattern) {
            let Some(inner) = pattern.into_inner().next() else {
                continue;
            };
            out.push(match inner.as_rule() {
                Rule::wildcard => Pattern::Wildcard(c.span(&inner)),
                Rule::path => Pattern::Path(self.path(c, inner)),
                _ => {
                    // literal_pattern: optional minus, then a literal.
                    let span = c.span(&inner);
                    let negative = inner.as_str().trim_start().starts_with('-');
                    let literal = inner.into_inner().next();
                    let mut expr = literal.map_or(Expr::error(span), |lit| self.primary(c, lit));
                    if negative {
                        expr = Expr {
                            kind: ExprKind::Unary {
                                op: UnaryOp::Neg,
                                operand: Box::new(expr),
                            },
                            span,
                        };
                    }
                    Pattern::Literal(expr)
                }
            });
        }
        out
    }

    fn function_decl(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> FunctionDecl {
        let span = c.span(&pair);
        let mut name = None;
        let mut params = Vec::new();
        let mut result = None;
        let mut body = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::ident => name = Some(self.ident(c, inner)),
                Rule::param_list => {
                    for param in inner.into_inner().filter(|p| p.as_rule() == Rule::typed_param) {
                        let param_span = c.span(&param);
                        let mut parts = param.into_inner();
                        let name = parts
                            .next()
                            .map(|p| self.ident(c, p))
                            .unwrap_or_else(|| missing_ident(c));
                        let ty = parts
                            .next()
                            .map(|p| self.type_ref(c, p))
                            .unwrap_or_else(|| missing_type(param_span));
                        params.push(TypedParam { name, ty });
                    }
                }
                Rule::type_ref => result = Some(self.type_ref(c, inner)),
                Rule::block => body = Some(self.block(c, inner)),
                _ => {}
            }
        }
        FunctionDecl {
            name: name.unwrap_or_else(|| missing_ident(c)),
            params,
            result: result.unwrap_or_else(|| missing_type(span)),
            body: body.unwrap_or(Block {
                stmts: Vec::new(),
                span,
            }),
        }
    }

    // ------------------------------------------------------------ bodies

    /// Builds the members of a `{…}` body pair: directly when it parsed, or
    /// by recovering its interior chunk by chunk when it was blanked.
    fn body<T>(
        &mut self,
        c: &ChunkCtx,
        pair: Pair<'_, Rule>,
        kind: BodyKind,
        member_rule: Rule,
        mut build: impl FnMut(&mut Self, &ChunkCtx, Pair<'_, Rule>) -> Option<T>,
    ) -> Body<T> {
        let span = c.span(&pair);
        if let Some(close) = c.blanked_close(span.start as usize) {
            return self.recover_body(span.start as usize, close, kind, member_rule, &mut build);
        }
        let mut items = Vec::new();
        for inner in pair.into_inner() {
            if inner.as_rule() == member_rule
                && let Some(item) = build(self, c, inner)
            {
                items.push(item);
            }
        }
        Body {
            items,
            broken: Vec::new(),
        }
    }

    fn recover_body<T>(
        &mut self,
        open: usize,
        close: usize,
        kind: BodyKind,
        member_rule: Rule,
        build: &mut impl FnMut(&mut Self, &ChunkCtx, Pair<'_, Rule>) -> Option<T>,
    ) -> Body<T> {
        let mut out = Body {
            items: Vec::new(),
            broken: Vec::new(),
        };
        let interior = Span::new(open + 1, close);
        for chunk_span in self.split_body(interior) {
            let chunk_tokens = self.tokens_in(chunk_span);
            let suffix = scan::missing_closers(chunk_tokens, self.text);
            let built = self.with_chunk(kind.rule(), chunk_span, &suffix, |parser, chunk_pair, ctx| {
                let mut items = Vec::new();
                for member in chunk_pair.into_inner() {
                    if member.as_rule() == member_rule
                        && let Some(item) = build(parser, ctx, member)
                    {
                        items.push(item);
                    }
                }
                items
            });
            match built {
                Some(items) => out.items.extend(items),
                None => out.broken.push(chunk_span),
            }
        }
        out
    }

    /// Splits a body's interior into statement chunks at line ends where
    /// one statement ends and the next begins.
    fn split_body(&self, interior: Span) -> Vec<Span> {
        let tokens = self.tokens_in(interior);
        let Some(first) = tokens.iter().find(|t| t.kind != TokenKind::Newline) else {
            return Vec::new();
        };
        let level = first.depth;
        let mut chunks = Vec::new();
        let mut start: Option<usize> = None;
        let mut end = 0usize;
        let mut previous: Option<Token> = None;
        let mut pending_newline = false;
        for (index, token) in tokens.iter().enumerate() {
            if token.kind == TokenKind::Newline {
                if token.depth == level {
                    pending_newline = true;
                }
                continue;
            }
            let text = self.text.get(token.span.range()).unwrap_or("");
            let split = match start {
                None => false,
                Some(_) => {
                    token.depth == level
                        && ((pending_newline
                            && previous.is_some_and(|prev| !continues(prev, self.text))
                            && begins(*token, text))
                            || (pending_newline
                                && previous.is_some_and(|prev| dangles(prev, self.text))
                                && self.assigns(*token, &tokens[index + 1..]))
                            || previous.is_some_and(|prev| {
                                prev.depth == level && self.text.get(prev.span.range()) == Some(";")
                            }))
                }
            };
            if split {
                if let Some(s) = start {
                    chunks.push(Span::new(s, end));
                }
                start = None;
            }
            if start.is_none() {
                start = Some(token.span.start as usize);
            }
            end = token.span.end as usize;
            previous = Some(*token);
            pending_newline = false;
        }
        if let Some(s) = start {
            chunks.push(Span::new(s, end));
        }
        chunks
    }

    /// Whether `token`, first on its line, starts `let …` or `Field = …`
    /// (`rest` follows it). After a line left dangling (`inv.`, `X =`) such
    /// a line is a new statement: the one above is half-typed.
    fn assigns(&self, token: Token, rest: &[Token]) -> bool {
        let word = self.text.get(token.span.range()).unwrap_or("");
        let next = rest.iter().find(|t| t.kind != TokenKind::Newline);
        token.kind == TokenKind::Word
            && (word == "let" || next.is_some_and(|n| self.text.get(n.span.range()) == Some("=")))
    }

    // ------------------------------------------------------------ statements

    fn block(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Block {
        let span = c.span(&pair);
        let stmt_rules = [Rule::let_stmt, Rule::assign_stmt, Rule::nested_stmt, Rule::expr_stmt];
        if let Some(close) = c.blanked_close(span.start as usize) {
            return Block {
                stmts: self.recover_stmts(span.start as usize, close),
                span,
            };
        }
        let mut stmts = Vec::new();
        for inner in pair.into_inner() {
            if stmt_rules.contains(&inner.as_rule()) {
                stmts.push(self.stmt(c, inner));
            }
        }
        Block { stmts, span }
    }

    fn recover_stmts(&mut self, open: usize, close: usize) -> Vec<Stmt> {
        let mut stmts = Vec::new();
        let interior = Span::new(open + 1, close);
        for chunk_span in self.split_body(interior) {
            let chunk_tokens = self.tokens_in(chunk_span);
            let suffix = scan::missing_closers(chunk_tokens, self.text);
            let built = self.with_chunk(Rule::stmts_chunk, chunk_span, &suffix, |parser, chunk_pair, ctx| {
                chunk_pair
                    .into_inner()
                    .filter(|member| member.as_rule() != Rule::EOI)
                    .map(|member| parser.stmt(ctx, member))
                    .collect::<Vec<_>>()
            });
            match built {
                Some(built) => stmts.extend(built),
                None => stmts.push(Stmt {
                    kind: StmtKind::Error,
                    span: chunk_span,
                }),
            }
        }
        stmts
    }

    fn stmt(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Stmt {
        let span = c.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::let_stmt => {
                let mut name = None;
                let mut ty = None;
                let mut value = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::ident => name = Some(self.ident(c, part)),
                        Rule::type_ref => ty = Some(self.type_ref(c, part)),
                        Rule::expr => value = Some(self.expr(c, part)),
                        _ => {}
                    }
                }
                StmtKind::Let {
                    name: name.unwrap_or_else(|| missing_ident(c)),
                    ty,
                    value: value.unwrap_or(Expr::error(span)),
                }
            }
            Rule::assign_stmt => {
                let field = inner
                    .next()
                    .map(|p| self.name_of(c, p))
                    .unwrap_or_else(|| missing_ident(c));
                let value = inner
                    .find(|p| p.as_rule() == Rule::expr)
                    .map(|p| self.expr(c, p))
                    .unwrap_or(Expr::error(span));
                StmtKind::Assign { field, value }
            }
            Rule::nested_stmt => {
                let field = inner
                    .next()
                    .map(|p| self.name_of(c, p))
                    .unwrap_or_else(|| missing_ident(c));
                let block = inner.next().map(|p| self.block(c, p)).unwrap_or(Block {
                    stmts: Vec::new(),
                    span,
                });
                StmtKind::Nested { field, block }
            }
            Rule::expr_stmt => match inner.next() {
                Some(expr) => StmtKind::Expr(self.expr(c, expr)),
                None => StmtKind::Error,
            },
            _ => StmtKind::Error,
        };
        Stmt { kind, span }
    }

    // ------------------------------------------------------------ expressions

    fn too_deep(&mut self, span: Span) -> Expr {
        self.error(
            Code::TooDeep,
            span,
            format!("this expression is more than {MAX_EXPR_DEPTH} operations deep"),
        )
        .with_help_mut("split it into `let`s or helper functions");
        Expr::error(span)
    }

    /// `expr` or `source_expr`: operands joined by operators, folded by
    /// precedence without recursion.
    fn expr(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Expr {
        let span = c.span(&pair);
        let mut operands = Vec::new();
        let mut operators = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::operand => operands.push(inner),
                Rule::infix_op | Rule::source_infix => operators.push(inner),
                _ => {}
            }
        }
        if self.depth + operators.len() > MAX_EXPR_DEPTH {
            return self.too_deep(span);
        }
        self.depth += operators.len();
        let mut built = Vec::with_capacity(operands.len());
        for operand in operands {
            built.push(self.operand(c, operand));
        }
        let ops: Vec<(BinaryOp, Span)> = operators
            .into_iter()
            .map(|op| (binary_op(op.as_str().trim()), c.span(&op)))
            .collect();
        self.depth -= ops.len();
        // Chained comparisons: two comparisons with nothing weaker between.
        let mut last_comparison: Option<Span> = None;
        let mut chained = false;
        for (op, op_span) in &ops {
            if op.is_comparison() {
                if let Some(first) = last_comparison {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::ChainedComparison,
                            self.file,
                            *op_span,
                            "comparison operators cannot be chained",
                        )
                        .with_label("second comparison")
                        .with_secondary(self.file, first, "first comparison")
                        .with_help("join the two comparisons with `and`"),
                    );
                    chained = true;
                }
                last_comparison = Some(*op_span);
            } else if op.precedence() < 3 {
                last_comparison = None;
            }
        }
        if chained {
            // Reported; typing `(a < b) < c` would only add a confusing error.
            return Expr::error(span);
        }
        fold(built, ops).unwrap_or(Expr::error(span))
    }

    fn operand(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Expr {
        let span = c.span(&pair);
        let mut prefixes = Vec::new();
        let mut primary = None;
        let mut postfixes = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::prefix_op => prefixes.push(inner),
                Rule::member | Rule::index => postfixes.push(inner),
                _ => primary = Some(inner),
            }
        }
        let extra = prefixes.len() + postfixes.len() + 1;
        if self.depth + extra > MAX_EXPR_DEPTH {
            return self.too_deep(span);
        }
        self.depth += extra;
        let mut expr = match primary {
            Some(primary) => self.primary(c, primary),
            None => Expr::error(span),
        };
        for postfix in postfixes {
            let postfix_span = c.span(&postfix);
            let whole = expr.span.to(postfix_span);
            expr = match postfix.as_rule() {
                Rule::member => {
                    let name = postfix
                        .into_inner()
                        .next()
                        .map(|p| self.name_of(c, p))
                        .unwrap_or_else(|| missing_ident(c));
                    Expr {
                        kind: ExprKind::Field {
                            base: Box::new(expr),
                            name,
                        },
                        span: whole,
                    }
                }
                _ => {
                    let index = postfix
                        .into_inner()
                        .next()
                        .map(|p| self.expr(c, p))
                        .unwrap_or(Expr::error(postfix_span));
                    Expr {
                        kind: ExprKind::Index {
                            base: Box::new(expr),
                            index: Box::new(index),
                        },
                        span: whole,
                    }
                }
            };
        }
        for prefix in prefixes.into_iter().rev() {
            let op = if prefix.as_str().trim() == "-" {
                UnaryOp::Neg
            } else {
                UnaryOp::Not
            };
            let whole = c.span(&prefix).to(expr.span);
            expr = Expr {
                kind: ExprKind::Unary {
                    op,
                    operand: Box::new(expr),
                },
                span: whole,
            };
        }
        self.depth -= extra;
        expr
    }

    fn primary(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Expr {
        let span = c.span(&pair);
        let kind = match pair.as_rule() {
            Rule::string_lit => return self.string(c, pair),
            Rule::number_lit => ExprKind::Number(pair.as_str().replace('_', "")),
            Rule::true_lit => ExprKind::Bool(true),
            Rule::false_lit => ExprKind::Bool(false),
            Rule::none_lit => ExprKind::None,
            Rule::name => match pair.into_inner().next() {
                Some(ident) => ExprKind::Name(self.ident(c, ident)),
                None => ExprKind::Error,
            },
            Rule::paren_expr => {
                return match pair.into_inner().next() {
                    Some(inner) => {
                        let mut expr = self.expr(c, inner);
                        expr.span = span;
                        expr
                    }
                    None => Expr::error(span),
                };
            }
            Rule::list_lit => ExprKind::List(pair.into_inner().map(|p| self.expr(c, p)).collect()),
            Rule::block => ExprKind::Block(self.block(c, pair)),
            Rule::call => {
                let mut inner = pair.into_inner();
                let callee = inner
                    .next()
                    .map(|p| self.ident(c, p))
                    .unwrap_or_else(|| missing_ident(c));
                let mut args = Vec::new();
                if let Some(call_args) = inner.next() {
                    for arg in call_args.into_inner() {
                        match arg.as_rule() {
                            Rule::lambda => args.push(Arg::Lambda(self.lambda(c, arg))),
                            _ => args.push(Arg::Expr(self.expr(c, arg))),
                        }
                    }
                }
                ExprKind::Call { callee, args }
            }
            Rule::if_expr => return self.if_expr(c, pair),
            Rule::match_expr => {
                let mut scrutinee = None;
                let mut arms = Body {
                    items: Vec::new(),
                    broken: Vec::new(),
                };
                for inner in pair.into_inner() {
                    match inner.as_rule() {
                        Rule::expr => scrutinee = Some(self.expr(c, inner)),
                        Rule::match_arms => {
                            arms = self.body(c, inner, BodyKind::Arms, Rule::match_arm, |p, c, pair| {
                                Some(p.match_arm(c, pair))
                            })
                        }
                        _ => {}
                    }
                }
                ExprKind::Match {
                    scrutinee: Box::new(scrutinee.unwrap_or(Expr::error(span))),
                    arms: arms.items,
                    broken: arms.broken,
                }
            }
            Rule::for_expr => {
                let mut idents = Vec::new();
                let mut source = None;
                let mut filter = None;
                let mut body = None;
                for inner in pair.into_inner() {
                    match inner.as_rule() {
                        Rule::ident => idents.push(self.ident(c, inner)),
                        Rule::source_expr => source = Some(self.expr(c, inner)),
                        Rule::expr => filter = Some(Box::new(self.expr(c, inner))),
                        Rule::block => body = Some(self.block(c, inner)),
                        _ => {}
                    }
                }
                let mut idents = idents.into_iter();
                ExprKind::For {
                    item: idents.next().unwrap_or_else(|| missing_ident(c)),
                    index: idents.next(),
                    source: Box::new(source.unwrap_or(Expr::error(span))),
                    filter,
                    body: body.unwrap_or(Block {
                        stmts: Vec::new(),
                        span,
                    }),
                }
            }
            _ => ExprKind::Error,
        };
        Expr { kind, span }
    }

    fn lambda(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Lambda {
        let span = c.span(&pair);
        let mut params = Vec::new();
        let mut body = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::lambda_params => {
                    params = inner
                        .into_inner()
                        .filter(|p| p.as_rule() == Rule::ident)
                        .map(|p| self.ident(c, p))
                        .collect();
                }
                Rule::expr => body = Some(self.expr(c, inner)),
                _ => {}
            }
        }
        Lambda {
            params,
            body: Box::new(body.unwrap_or(Expr::error(span))),
            span,
        }
    }

    fn if_expr(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Expr {
        let span = c.span(&pair);
        let mut cond = None;
        let mut then = None;
        let mut otherwise = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::expr => cond = Some(self.expr(c, inner)),
                Rule::block if then.is_none() => then = Some(self.block(c, inner)),
                Rule::block => {
                    let block = self.block(c, inner);
                    otherwise = Some(Box::new(Expr {
                        span: block.span,
                        kind: ExprKind::Block(block),
                    }));
                }
                Rule::if_expr => otherwise = Some(Box::new(self.if_expr(c, inner))),
                _ => {}
            }
        }
        Expr {
            kind: ExprKind::If {
                cond: Box::new(cond.unwrap_or(Expr::error(span))),
                then: then.unwrap_or(Block {
                    stmts: Vec::new(),
                    span,
                }),
                otherwise,
            },
            span,
        }
    }

    fn match_arm(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> MatchArm {
        let span = c.span(&pair);
        let mut patterns = Vec::new();
        let mut exprs = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::patterns => patterns = self.patterns(c, inner),
                Rule::expr => exprs.push(self.expr(c, inner)),
                _ => {}
            }
        }
        let value = exprs.pop().unwrap_or(Expr::error(span));
        MatchArm {
            patterns,
            guard: exprs.pop(),
            value,
            span,
        }
    }

    fn string(&mut self, c: &ChunkCtx, pair: Pair<'_, Rule>) -> Expr {
        let span = c.span(&pair);
        let mut parts: Vec<StrPart> = Vec::new();
        let mut text = String::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::string_text => text.push_str(inner.as_str()),
                Rule::string_escape => {
                    let escape_span = c.span(&inner);
                    match unescape(inner.as_str()) {
                        Ok(ch) => text.push(ch),
                        Err(reason) => {
                            self.error(Code::InvalidEscape, escape_span, format!("invalid escape `{}`", inner.as_str()))
                                .with_label_mut(reason)
                                .with_help_mut(
                                    "valid escapes are \\\" \\\\ \\n \\r \\t \\0 \\{ \\} and \\u{…}; write \\\\ for a backslash",
                                );
                        }
                    }
                }
                Rule::interpolation => {
                    if !text.is_empty() {
                        parts.push(StrPart::Text(std::mem::take(&mut text)));
                    }
                    let inner_span = c.span(&inner);
                    let expr = inner
                        .into_inner()
                        .next()
                        .map(|p| self.expr(c, p))
                        .unwrap_or(Expr::error(inner_span));
                    parts.push(StrPart::Interpolation(expr));
                }
                _ => {}
            }
        }
        if !text.is_empty() || parts.is_empty() {
            parts.push(StrPart::Text(text));
        }
        Expr {
            kind: ExprKind::Str(parts),
            span,
        }
    }
}

/// Where a chunk sits in the file, and what was blanked in it.
struct ChunkCtx {
    base: usize,
    limit: usize,
    blanked: Vec<(usize, usize)>,
}

impl ChunkCtx {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        let start = (self.base + span.start()).min(self.limit);
        let end = (self.base + span.end()).min(self.limit);
        Span::new(start, end)
    }

    fn blanked_close(&self, open: usize) -> Option<usize> {
        self.blanked.iter().find(|(o, _)| *o == open).map(|(_, close)| *close)
    }
}

fn missing_ident(c: &ChunkCtx) -> Ident {
    Ident {
        name: String::new(),
        span: Span::at(c.base),
    }
}

fn missing_type(span: Span) -> TypeRef {
    TypeRef {
        kind: TypeRefKind::Named {
            path: Path {
                segments: Vec::new(),
                span,
            },
            args: Vec::new(),
        },
        span,
    }
}

fn binary_op(text: &str) -> BinaryOp {
    match text {
        "where" => BinaryOp::Where,
        "or" => BinaryOp::Or,
        "and" => BinaryOp::And,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        ">=" => BinaryOp::Ge,
        "??" => BinaryOp::Coalesce,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        _ => BinaryOp::Rem,
    }
}

/// Folds operands and operators by precedence (shunting-yard, no recursion).
fn fold(operands: Vec<Expr>, operators: Vec<(BinaryOp, Span)>) -> Option<Expr> {
    let mut values: Vec<Expr> = Vec::with_capacity(operands.len());
    let mut pending: Vec<(BinaryOp, Span)> = Vec::new();
    let mut operands = operands.into_iter();
    values.push(operands.next()?);
    fn reduce(values: &mut Vec<Expr>, pending: &mut Vec<(BinaryOp, Span)>) -> Option<()> {
        let (op, op_span) = pending.pop()?;
        let rhs = values.pop()?;
        let lhs = values.pop()?;
        let span = lhs.span.to(rhs.span);
        values.push(Expr {
            kind: ExprKind::Binary {
                op,
                op_span,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        });
        Some(())
    }
    for (op, op_span) in operators {
        while let Some((top, _)) = pending.last() {
            let stronger =
                top.precedence() > op.precedence() || (top.precedence() == op.precedence() && !op.right_associative());
            if !stronger {
                break;
            }
            reduce(&mut values, &mut pending)?;
        }
        pending.push((op, op_span));
        values.push(operands.next()?);
    }
    while !pending.is_empty() {
        reduce(&mut values, &mut pending)?;
    }
    values.pop()
}

/// Resolves one escape sequence (`\n`, `\u{1F600}`, …).
fn unescape(escape: &str) -> Result<char, String> {
    let body = escape.strip_prefix('\\').unwrap_or(escape);
    match body {
        "\"" => Ok('"'),
        "\\" => Ok('\\'),
        "n" => Ok('\n'),
        "r" => Ok('\r'),
        "t" => Ok('\t'),
        "0" => Ok('\0'),
        "{" => Ok('{'),
        "}" => Ok('}'),
        _ => {
            if let Some(hex) = body.strip_prefix("u{").and_then(|rest| rest.strip_suffix('}')) {
                if hex.is_empty() || hex.len() > 6 || !hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
                    return Err("`\\u{…}` takes one to six hex digits".to_owned());
                }
                let value = u32::from_str_radix(hex, 16).map_err(|error| error.to_string())?;
                return char::from_u32(value).ok_or_else(|| format!("U+{value:04X} is not a Unicode scalar value"));
            }
            Err("unknown escape".to_owned())
        }
    }
}

/// Whether a token at the end of a line means the statement goes on.
fn continues(token: Token, text: &str) -> bool {
    let word = text.get(token.span.range()).unwrap_or("");
    match token.kind {
        TokenKind::Punct => !matches!(word, "?" | ";"),
        TokenKind::Open => true,
        TokenKind::Word => matches!(
            word,
            "and" | "or" | "not" | "where" | "in" | "else" | "if" | "match" | "for" | "let" | "as"
        ),
        _ => false,
    }
}

/// Whether a line ending with this token is unfinished in a way no
/// statement continues on the next line with an assignment: a member access
/// or an assignment with nothing after it.
fn dangles(token: Token, text: &str) -> bool {
    token.kind == TokenKind::Punct && matches!(text.get(token.span.range()), Some("." | "="))
}

/// Whether a token at the start of a line can begin a new statement.
fn begins(token: Token, word: &str) -> bool {
    match token.kind {
        TokenKind::Word => !matches!(word, "and" | "or" | "where" | "in" | "else" | "as"),
        TokenKind::Str | TokenKind::Number => true,
        _ => false,
    }
}

trait DiagnosticExt {
    fn with_label_mut(&mut self, message: impl Into<String>) -> &mut Self;
    fn with_help_mut(&mut self, message: impl Into<String>) -> &mut Self;
}

impl DiagnosticExt for Diagnostic {
    fn with_label_mut(&mut self, message: impl Into<String>) -> &mut Self {
        self.primary.message = message.into();
        self
    }

    fn with_help_mut(&mut self, message: impl Into<String>) -> &mut Self {
        self.help = Some(crate::diagnostics::Help {
            message: message.into(),
            edit: None,
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Origin, SourceDb};

    pub(crate) fn parse_text(text: &str) -> (SourceDb, Parsed) {
        let mut db = SourceDb::new();
        let file = db.add_text("test.map", text, Origin::User);
        let parsed = parse(file, text);
        (db, parsed)
    }

    #[test]
    fn every_item_parses_alone_after_a_broken_one() {
        let (_, parsed) = parse_text("param : String\nparam ok: String = \"x\"\n");
        assert_eq!(parsed.diagnostics.len(), 1);
        assert!(matches!(parsed.module.items[1].kind, ItemKind::Param(_)));
    }

    #[test]
    fn a_broken_statement_keeps_its_neighbours() {
        let (_, parsed) = parse_text("mapping m(a: A) -> B {\n  X = 1\n  Y = = 2\n  Z { W = 3 }\n}\n");
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        let ItemKind::Mapping(mapping) = &parsed.module.items[0].kind else {
            panic!("expected a mapping")
        };
        let kinds: Vec<&str> = mapping
            .body
            .stmts
            .iter()
            .map(|s| match s.kind {
                StmtKind::Assign { .. } => "assign",
                StmtKind::Nested { .. } => "nested",
                StmtKind::Error => "error",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["assign", "error", "nested"]);
    }

    #[test]
    fn precedence_and_associativity() {
        let (_, parsed) = parse_text("param x: Int = a ?? b ?? c + d * e - f where g or h and i == j\n");
        let ItemKind::Param(param) = &parsed.module.items[0].kind else {
            panic!()
        };
        assert_eq!(
            crate::syntax::dump::expr(param.default.as_ref().unwrap()),
            "(where (?? a (?? b (- (+ c (* d e)) f))) (or g (and h (== i j))))"
        );
    }
}
