//! Editor features over a checked file: hover, go to definition, references,
//! rename, symbols, semantic tokens, completion, signature help and code
//! actions.
//!
//! Everything here is pure and speaks byte offsets and [`Span`]s of the
//! files in a [`Workspace`]; the language server converts to the protocol's
//! UTF-16 positions at its edge. Each feature reads what the checker left in
//! [`ModuleInfo`]: expression types, the name index
//! ([`crate::resolve::index`]), record blocks and the completion probe.

pub mod actions;
pub mod completion;
pub mod hover;
pub mod navigate;
pub mod signature;
pub mod symbols;
pub mod tokens;

use crate::resolve::index::{Occurrence, Symbol};
use crate::resolve::{Location, ModuleInfo, ModuleLoader, Workspace};
use crate::span::Span;
use crate::syntax::ast::{Doc, ItemKind};
use crate::types::ModuleId;

/// One checked file and the workspace it was checked in.
pub struct FileView<'a, L: ModuleLoader> {
    /// The workspace.
    pub ws: &'a Workspace<L>,
    /// The file's module.
    pub module: &'a ModuleInfo,
    /// Its id.
    pub id: ModuleId,
}

impl<'a, L: ModuleLoader> FileView<'a, L> {
    /// The view of module `id`, when it exists.
    pub fn new(ws: &'a Workspace<L>, id: ModuleId) -> Option<Self> {
        Some(FileView {
            ws,
            module: ws.module(id)?,
            id,
        })
    }

    /// The file's text.
    pub fn text(&self) -> &'a str {
        &self.ws.sources.get(self.module.file).text
    }

    /// The name written around byte `offset` (a cursor just after a name
    /// counts as on it).
    pub fn occurrence_at(&self, offset: usize) -> Option<&'a Occurrence> {
        let offset = offset as u32;
        self.module
            .occurrences
            .iter()
            .filter(|o| o.span.start <= offset && offset <= o.span.end)
            .min_by_key(|o| (o.span.len(), o.span.start))
    }

    /// Every occurrence of `symbol` in this file, in source order.
    pub fn occurrences_of(&self, symbol: &Symbol) -> Vec<&'a Occurrence> {
        let mut found: Vec<&Occurrence> = self.module.occurrences.iter().filter(|o| &o.symbol == symbol).collect();
        found.sort_by_key(|o| o.span.start);
        found.dedup_by_key(|o| o.span);
        found
    }
}

/// Where a symbol is defined, when it is written somewhere.
pub fn definition<L: ModuleLoader>(ws: &Workspace<L>, symbol: &Symbol) -> Option<Location> {
    match symbol {
        Symbol::Module(path) => {
            let module = ws.modules.iter().find(|m| m.path.as_deref() == Some(path.as_str()))?;
            let span = module
                .ast
                .items
                .iter()
                .find_map(|item| match &item.kind {
                    ItemKind::Schema(path) => Some(path.span),
                    _ => None,
                })
                .unwrap_or(Span::at(0));
            Some(Location {
                file: module.file,
                span,
            })
        }
        Symbol::Record(id) => ws.types.record(*id).map(|r| Location {
            file: r.file,
            span: r.span,
        }),
        Symbol::Enum(id) => ws.types.enumeration(*id).map(|e| Location {
            file: e.file,
            span: e.span,
        }),
        Symbol::Field(id, name) => ws.types.record(*id)?.field(name).map(|f| Location {
            file: f.file,
            span: f.span,
        }),
        Symbol::Variant(id, name) => {
            let def = ws.types.enumeration(*id)?;
            def.variants.iter().find(|v| &v.name == name).map(|v| Location {
                file: def.file,
                span: v.span,
            })
        }
        Symbol::Param(location)
        | Symbol::Table(location)
        | Symbol::Function(location)
        | Symbol::Mapping(location)
        | Symbol::Local(location) => Some(*location),
        Symbol::Builtin(_) => None,
    }
}

/// The doc comment of the top-level item whose name is at `location`.
pub fn item_doc<L: ModuleLoader>(ws: &Workspace<L>, location: Location) -> Option<&Doc> {
    let module = ws.modules.iter().find(|m| m.file == location.file)?;
    module.ast.items.iter().find_map(|item| {
        let name = match &item.kind {
            ItemKind::Param(p) => &p.name,
            ItemKind::Table(t) => &t.name,
            ItemKind::Mapping(f) | ItemKind::Function(f) => &f.name,
            ItemKind::Record(r) => &r.name,
            ItemKind::Enum(e) => &e.name,
            _ => return None,
        };
        (name.span == location.span).then_some(item.doc.as_ref()).flatten()
    })
}

/// Whether `name` may be written as a name: an identifier that is not a
/// keyword.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !KEYWORDS.contains(&name)
}

/// The language's keywords.
pub const KEYWORDS: &[&str] = &[
    "and", "as", "else", "enum", "extend", "external", "false", "fn", "for", "format", "if", "in", "let", "mapping",
    "match", "none", "not", "or", "param", "record", "schema", "table", "true", "use", "where",
];
