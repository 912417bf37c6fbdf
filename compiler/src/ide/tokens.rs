//! Semantic tokens: what each word of a file is, for highlighting that
//! knows a field from a variant and a param from a local.
//!
//! The scanner's coarse tokens give keywords, strings, numbers, comments and
//! operators; the checker's index says what each name stands for.

use super::{FileView, KEYWORDS};
use crate::resolve::ModuleLoader;
use crate::resolve::index::Symbol;
use crate::span::Span;
use crate::syntax::scan::{self, CommentKind, TokenKind};
use crate::types::SCALAR_NAMES;

/// The token types, in the order of the legend the server announces.
pub const TOKEN_TYPES: &[&str] = &[
    "namespace",
    "type",
    "enum",
    "enumMember",
    "property",
    "parameter",
    "variable",
    "function",
    "keyword",
    "comment",
    "string",
    "number",
    "operator",
    "decorator",
];

/// The token modifiers, as bits in this order.
pub const TOKEN_MODIFIERS: &[&str] = &["declaration", "readonly", "defaultLibrary", "documentation"];

/// A modifier bit.
pub mod modifier {
    /// Where the name is defined.
    pub const DECLARATION: u32 = 1;
    /// A `param` or `table`: set per tenant, read-only in a mapping.
    pub const READONLY: u32 = 2;
    /// A builtin function or scalar type.
    pub const DEFAULT_LIBRARY: u32 = 4;
    /// A `///` comment.
    pub const DOCUMENTATION: u32 = 8;
}

/// One highlighted piece of text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemanticToken {
    /// Its bytes (may span lines for block comments; the server splits them).
    pub span: Span,
    /// An index into [`TOKEN_TYPES`].
    pub kind: u32,
    /// Bits of [`modifier`].
    pub modifiers: u32,
}

fn kind(name: &str) -> u32 {
    TOKEN_TYPES.iter().position(|t| *t == name).unwrap_or(0) as u32
}

/// The tokens of the view's file, in order, never overlapping.
pub fn semantic_tokens<L: ModuleLoader>(view: &FileView<'_, L>) -> Vec<SemanticToken> {
    let text = view.text();
    let scanned = scan::scan(view.module.file, text);
    let mut occurrences: Vec<_> = view.module.occurrences.iter().collect();
    occurrences.sort_by_key(|o| (o.span.start, o.definition));
    // Occurrences starting in `start..end`, by binary search (a file has
    // thousands of tokens and occurrences).
    let starting_in = |start: u32, end: u32| {
        let first = occurrences.partition_point(|o| o.span.start < start);
        let last = occurrences.partition_point(|o| o.span.start < end);
        &occurrences[first..last]
    };
    // Module paths span several words (`sap.s4.x`); few per file.
    let paths: Vec<_> = occurrences
        .iter()
        .filter(|o| matches!(o.symbol, Symbol::Module(_)))
        .copied()
        .collect();
    let symbol_token = |span: Span, symbol: &Symbol, definition: bool| -> SemanticToken {
        let declaration = if definition { modifier::DECLARATION } else { 0 };
        let (name, modifiers) = match symbol {
            Symbol::Module(_) => ("namespace", 0),
            Symbol::Record(_) => ("type", 0),
            Symbol::Enum(_) => ("enum", 0),
            Symbol::Variant(..) => ("enumMember", 0),
            Symbol::Field(..) => ("property", 0),
            Symbol::Param(_) => ("parameter", modifier::READONLY),
            Symbol::Table(_) => ("variable", modifier::READONLY),
            Symbol::Local(_) => ("variable", 0),
            Symbol::Function(_) | Symbol::Mapping(_) => ("function", 0),
            Symbol::Builtin(_) => ("function", modifier::DEFAULT_LIBRARY),
        };
        SemanticToken {
            span,
            kind: kind(name),
            modifiers: modifiers | declaration,
        }
    };
    let mut out: Vec<SemanticToken> = Vec::new();
    for comment in &scanned.comments {
        out.push(SemanticToken {
            span: comment.span,
            kind: kind("comment"),
            modifiers: if comment.kind == CommentKind::Doc {
                modifier::DOCUMENTATION
            } else {
                0
            },
        });
    }
    let bytes = text.as_bytes();
    for token in &scanned.tokens {
        let word = text.get(token.span.range()).unwrap_or("");
        match token.kind {
            TokenKind::Word => {
                let start = token.span.start as usize;
                let after_at = start > 0 && bytes.get(start - 1) == Some(&b'@');
                let found = starting_in(token.span.start, token.span.start + 1)
                    .iter()
                    .find(|o| o.span == token.span);
                if let Some(o) = found {
                    out.push(symbol_token(token.span, &o.symbol, o.definition));
                } else if after_at {
                    out.push(SemanticToken {
                        span: Span::new(start - 1, token.span.end as usize),
                        kind: kind("decorator"),
                        modifiers: 0,
                    });
                } else if KEYWORDS.contains(&word) {
                    out.push(SemanticToken {
                        span: token.span,
                        kind: kind("keyword"),
                        modifiers: 0,
                    });
                } else if SCALAR_NAMES.contains(&word) {
                    out.push(SemanticToken {
                        span: token.span,
                        kind: kind("type"),
                        modifiers: modifier::DEFAULT_LIBRARY,
                    });
                } else {
                    // A dotted path's segments (`sap.s4.Invoice`) share one
                    // occurrence; a word inside one takes its kind.
                    if let Some(o) = paths
                        .iter()
                        .find(|o| o.span.start <= token.span.start && token.span.end <= o.span.end)
                    {
                        out.push(symbol_token(token.span, &o.symbol, o.definition));
                    }
                }
            }
            TokenKind::Number => out.push(SemanticToken {
                span: token.span,
                kind: kind("number"),
                modifiers: 0,
            }),
            TokenKind::Str => {
                // Names inside interpolations are highlighted as names; the
                // rest of the literal as a string.
                let mut at = token.span.start as usize;
                for o in starting_in(token.span.start, token.span.end)
                    .iter()
                    .filter(|o| o.span.end <= token.span.end)
                {
                    if (o.span.start as usize) < at {
                        continue;
                    }
                    if (o.span.start as usize) > at {
                        out.push(SemanticToken {
                            span: Span::new(at, o.span.start as usize),
                            kind: kind("string"),
                            modifiers: 0,
                        });
                    }
                    out.push(symbol_token(o.span, &o.symbol, o.definition));
                    at = o.span.end as usize;
                }
                if at < token.span.end as usize {
                    out.push(SemanticToken {
                        span: Span::new(at, token.span.end as usize),
                        kind: kind("string"),
                        modifiers: 0,
                    });
                }
            }
            TokenKind::Punct => {
                if matches!(
                    word,
                    "??" | "==" | "!=" | "<=" | ">=" | "<" | ">" | "+" | "-" | "*" | "/" | "%" | "=>" | "->" | "="
                ) {
                    out.push(SemanticToken {
                        span: token.span,
                        kind: kind("operator"),
                        modifiers: 0,
                    });
                }
            }
            TokenKind::Open | TokenKind::Close | TokenKind::Newline => {}
        }
    }
    out.sort_by_key(|t| (t.span.start, t.span.end));
    // Never overlapping: a later token starting inside an earlier one goes.
    let mut kept: Vec<SemanticToken> = Vec::with_capacity(out.len());
    for token in out {
        if kept.last().is_some_and(|last| token.span.start < last.span.end) {
            continue;
        }
        kept.push(token);
    }
    kept
}
