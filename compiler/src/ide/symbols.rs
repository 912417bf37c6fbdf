//! Document and workspace symbols: the outline of a file (items with their
//! fields and variants) and a search over every item the workspace knows.

use super::FileView;
use crate::resolve::{Location, ModuleLoader, Workspace};
use crate::span::Span;
use crate::syntax::ast::{FieldDecl, ItemKind};

/// What kind of item a symbol is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    /// `schema`
    Module,
    /// `record`
    Record,
    /// `enum`
    Enum,
    /// A record field.
    Field,
    /// An enum variant.
    Variant,
    /// `param`
    Param,
    /// `table`
    Table,
    /// `mapping`
    Mapping,
    /// `fn`
    Function,
}

/// One entry of an outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutlineSymbol {
    /// Its name.
    pub name: String,
    /// One line about it (a type or signature).
    pub detail: Option<String>,
    /// What it is.
    pub kind: SymbolKind,
    /// The whole item.
    pub span: Span,
    /// Its name.
    pub name_span: Span,
    /// Nested symbols.
    pub children: Vec<OutlineSymbol>,
}

/// The outline of the view's file.
pub fn document_symbols<L: ModuleLoader>(view: &FileView<'_, L>) -> Vec<OutlineSymbol> {
    let text = view.text();
    let slice = |span: Span| text.get(span.range()).unwrap_or("").to_owned();
    let fields = |fields: &[FieldDecl]| -> Vec<OutlineSymbol> {
        fields
            .iter()
            .map(|f| OutlineSymbol {
                name: f.name.name.clone(),
                detail: Some(slice(f.ty.span)),
                kind: SymbolKind::Field,
                span: f.span,
                name_span: f.name.span,
                children: Vec::new(),
            })
            .collect()
    };
    let mut out = Vec::new();
    for item in &view.module.ast.items {
        let symbol = match &item.kind {
            ItemKind::Schema(path) => OutlineSymbol {
                name: path.dotted(),
                detail: None,
                kind: SymbolKind::Module,
                span: item.span,
                name_span: path.span,
                children: Vec::new(),
            },
            ItemKind::Record(record) => OutlineSymbol {
                name: record.name.name.clone(),
                detail: None,
                kind: SymbolKind::Record,
                span: item.span,
                name_span: record.name.span,
                children: fields(&record.fields),
            },
            ItemKind::Extend(extend) => OutlineSymbol {
                name: format!("extend {}", extend.target.dotted()),
                detail: None,
                kind: SymbolKind::Record,
                span: item.span,
                name_span: extend.target.span,
                children: fields(&extend.fields),
            },
            ItemKind::Enum(decl) => OutlineSymbol {
                name: decl.name.name.clone(),
                detail: None,
                kind: SymbolKind::Enum,
                span: item.span,
                name_span: decl.name.span,
                children: decl
                    .variants
                    .iter()
                    .map(|v| OutlineSymbol {
                        name: v.name.name.clone(),
                        detail: None,
                        kind: SymbolKind::Variant,
                        span: v.span,
                        name_span: v.name.span,
                        children: Vec::new(),
                    })
                    .collect(),
            },
            ItemKind::Param(param) => OutlineSymbol {
                name: param.name.name.clone(),
                detail: Some(slice(param.ty.span)),
                kind: SymbolKind::Param,
                span: item.span,
                name_span: param.name.span,
                children: Vec::new(),
            },
            ItemKind::Table(table) => OutlineSymbol {
                name: table.name.name.clone(),
                detail: Some(format!("{} -> {}", slice(table.key.span), slice(table.value.span))),
                kind: SymbolKind::Table,
                span: item.span,
                name_span: table.name.span,
                children: Vec::new(),
            },
            ItemKind::Mapping(function) | ItemKind::Function(function) => {
                let params: Vec<String> = function
                    .params
                    .iter()
                    .map(|p| format!("{}: {}", p.name.name, slice(p.ty.span)))
                    .collect();
                OutlineSymbol {
                    name: function.name.name.clone(),
                    detail: Some(format!("({}) -> {}", params.join(", "), slice(function.result.span))),
                    kind: if matches!(item.kind, ItemKind::Mapping(_)) {
                        SymbolKind::Mapping
                    } else {
                        SymbolKind::Function
                    },
                    span: item.span,
                    name_span: function.name.span,
                    children: Vec::new(),
                }
            }
            ItemKind::Format(_) | ItemKind::Use(_) | ItemKind::Error => continue,
        };
        out.push(symbol);
    }
    out
}

/// One result of a workspace symbol search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundSymbol {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// Where its name is written.
    pub location: Location,
    /// The module or file it is in.
    pub container: String,
}

/// Items of every file in the workspace whose name contains `query`
/// (ignoring case), at most `limit`, shortest names first.
pub fn workspace_symbols<L: ModuleLoader>(ws: &Workspace<L>, query: &str, limit: usize) -> Vec<FoundSymbol> {
    let query = query.to_lowercase();
    let mut found = Vec::new();
    for (index, module) in ws.modules.iter().enumerate() {
        let Some(view) = FileView::new(ws, crate::types::ModuleId(index as u32)) else {
            continue;
        };
        let container = module.path.clone().unwrap_or_else(|| {
            let name = &ws.sources.get(module.file).name;
            name.rsplit(['/', '\\']).next().unwrap_or(name).to_owned()
        });
        for symbol in document_symbols(&view) {
            if symbol.kind == SymbolKind::Module {
                continue;
            }
            if symbol.name.to_lowercase().contains(&query) {
                found.push(FoundSymbol {
                    name: symbol.name.clone(),
                    kind: symbol.kind,
                    location: Location {
                        file: module.file,
                        span: symbol.name_span,
                    },
                    container: container.clone(),
                });
            }
        }
    }
    found.sort_by(|a, b| (a.name.len(), &a.name, &a.container).cmp(&(b.name.len(), &b.name, &b.container)));
    found.dedup_by(|a, b| a.location == b.location);
    found.truncate(limit);
    found
}
