//! Completion: target fields not yet assigned (required first), fields after
//! `.`, enum variants, locals, params, tables, functions, builtins with
//! snippet placeholders, and module paths and types in `use`.
//!
//! The caller checks the text with [`COMPLETION_MARKER`] written at the
//! cursor ([`with_marker`]); the checker's [`Probe`](crate::resolve::index::Probe)
//! then says what kind of place the cursor is in and what is in scope there,
//! even when the text around it is half-typed.

use super::FileView;
use super::signature::{overloads, split_parameters};
use crate::builtins;
use crate::resolve::index::{COMPLETION_MARKER, ProbePlace};
use crate::resolve::{DefKind, ModuleLoader};
use crate::types::{RecordId, SCALAR_NAMES, Ty};

/// What a completion item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    /// A record field.
    Field,
    /// An enum variant.
    Variant,
    /// A local value.
    Variable,
    /// A `param`.
    Param,
    /// A `table`.
    Table,
    /// A helper `fn`.
    Function,
    /// A builtin function.
    Builtin,
    /// A module path segment.
    Module,
    /// A record or enum type.
    Type,
    /// A keyword or literal.
    Keyword,
}

/// One completion item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletionItem {
    /// What the list shows.
    pub label: String,
    /// What it is.
    pub kind: CompletionKind,
    /// One line: its type or signature.
    pub detail: Option<String>,
    /// Markdown docs.
    pub documentation: Option<String>,
    /// The text inserted (a snippet when `snippet`).
    pub insert_text: String,
    /// Whether `insert_text` has `${1:…}` placeholders.
    pub snippet: bool,
    /// Sorts the list (required fields and fitting values first).
    pub sort_text: String,
}

/// `text` with the completion marker written at `offset`.
pub fn with_marker(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let mut offset = offset;
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let mut out = String::with_capacity(text.len() + COMPLETION_MARKER.len());
    out.push_str(&text[..offset]);
    out.push_str(COMPLETION_MARKER);
    out.push_str(&text[offset..]);
    out
}

/// The completions at byte `offset` of the original text, from a view of
/// the text checked with the marker at `offset`.
pub fn complete<L: ModuleLoader>(view: &FileView<'_, L>, offset: usize) -> Vec<CompletionItem> {
    let text = view.text();
    let line_start = text[..offset.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let before = text.get(line_start..offset).unwrap_or("");
    if let Some(rest) = before.trim_start().strip_prefix("use ") {
        return use_paths(view, rest.trim());
    }
    let Some(probe) = view.module.probe.as_ref() else {
        return type_names(view, before);
    };
    match &probe.place {
        ProbePlace::Target(record) => target_fields(view, *record, probe.span.start as usize),
        ProbePlace::Field(Some(ty)) => fields_of(view, ty),
        ProbePlace::Field(None) => Vec::new(),
        ProbePlace::Variant(id) => variants(view, *id, false),
        ProbePlace::Value(expected) => values(view, expected.as_ref(), &probe.locals),
    }
}

fn show<L: ModuleLoader>(view: &FileView<'_, L>, ty: &Option<Ty>) -> String {
    ty.as_ref()
        .map(|t| view.ws.types.display(t).to_string())
        .unwrap_or_else(|| "?".to_owned())
}

fn item(label: &str, kind: CompletionKind, detail: Option<String>, sort: &str) -> CompletionItem {
    CompletionItem {
        label: label.to_owned(),
        kind,
        detail,
        documentation: None,
        insert_text: label.to_owned(),
        snippet: false,
        sort_text: format!("{sort}_{label}"),
    }
}

fn target_fields<L: ModuleLoader>(view: &FileView<'_, L>, record: RecordId, at: usize) -> Vec<CompletionItem> {
    let Some(def) = view.ws.types.record(record) else {
        return Vec::new();
    };
    let assigned: Vec<&String> = view
        .module
        .record_blocks
        .iter()
        .filter(|b| b.record == record && b.span.contains(at))
        .min_by_key(|b| b.span.len())
        .map(|b| b.assigned.iter().collect())
        .unwrap_or_default();
    let visible = view.ws.reachable(view.id);
    let mut out = Vec::new();
    for field in &def.fields {
        if assigned.contains(&&field.name) || field.extension.is_some_and(|m| !visible.contains(&m)) {
            continue;
        }
        let is_record = field
            .ty
            .as_ref()
            .is_some_and(|t| matches!(t.strip_optional(), Ty::Record(_)));
        let (insert_text, snippet) = if is_record {
            (format!("{} {{\n\t$0\n}}", field.name), true)
        } else {
            (format!("{} = $0", field.name), true)
        };
        let required = if field.required { "required" } else { "optional" };
        out.push(CompletionItem {
            label: field.name.clone(),
            kind: CompletionKind::Field,
            detail: Some(format!("{} ({required})", show(view, &field.ty))),
            documentation: field.doc.as_ref().map(|d| d.text.clone()),
            insert_text,
            snippet,
            sort_text: format!("{}_{}", if field.required { 0 } else { 1 }, field.name),
        });
    }
    for keyword in ["let", "if", "match"] {
        out.push(item(keyword, CompletionKind::Keyword, None, "9"));
    }
    out
}

fn fields_of<L: ModuleLoader>(view: &FileView<'_, L>, ty: &Ty) -> Vec<CompletionItem> {
    match ty.strip_optional() {
        Ty::Group(key, items) => vec![
            item(
                "key",
                CompletionKind::Field,
                Some(show(view, &Some((**key).clone()))),
                "0",
            ),
            item(
                "items",
                CompletionKind::Field,
                Some(show(view, &Some(Ty::List(items.clone())))),
                "0",
            ),
        ],
        Ty::Record(id) => {
            let Some(def) = view.ws.types.record(*id) else {
                return Vec::new();
            };
            let visible = view.ws.reachable(view.id);
            def.fields
                .iter()
                .filter(|f| f.extension.is_none_or(|m| visible.contains(&m)))
                .map(|f| CompletionItem {
                    documentation: f.doc.as_ref().map(|d| d.text.clone()),
                    ..item(&f.name, CompletionKind::Field, Some(show(view, &f.ty)), "0")
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn variants<L: ModuleLoader>(view: &FileView<'_, L>, id: crate::types::EnumId, qualified: bool) -> Vec<CompletionItem> {
    let Some(def) = view.ws.types.enumeration(id) else {
        return Vec::new();
    };
    def.variants
        .iter()
        .map(|v| {
            let label = if qualified {
                format!("{}.{}", def.name, v.name)
            } else {
                v.name.clone()
            };
            CompletionItem {
                documentation: v.doc.as_ref().map(|d| d.text.clone()),
                ..item(&label, CompletionKind::Variant, Some(def.name.clone()), "0")
            }
        })
        .collect()
}

/// Whether a value of type `ty` fits where `expected` is wanted (for
/// sorting only: the checker decides).
fn fits(ty: &Option<Ty>, expected: Option<&Ty>) -> bool {
    match (ty, expected) {
        (Some(ty), Some(expected)) => {
            let (a, b) = (ty.strip_optional(), expected.strip_optional());
            std::mem::discriminant(a) == std::mem::discriminant(b)
        }
        _ => false,
    }
}

fn values<L: ModuleLoader>(
    view: &FileView<'_, L>,
    expected: Option<&Ty>,
    locals: &[(String, Option<Ty>, Option<crate::resolve::Location>)],
) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    if let Some(Ty::Enum(id)) = expected.map(Ty::strip_optional) {
        out.extend(variants(view, *id, true));
    }
    let mut seen = std::collections::HashSet::new();
    for (name, ty, _) in locals.iter().rev() {
        if name.contains(COMPLETION_MARKER) || !seen.insert(name.clone()) {
            continue;
        }
        let sort = if fits(ty, expected) { "1" } else { "2" };
        out.push(item(name, CompletionKind::Variable, Some(show(view, ty)), sort));
    }
    let mut scope: Vec<_> = view.module.scope.iter().collect();
    scope.sort_by_key(|(name, _)| name.as_str());
    for (name, def) in scope {
        if seen.contains(name) {
            continue;
        }
        match &def.kind {
            DefKind::Param(ty) => {
                let sort = if fits(ty, expected) { "1" } else { "3" };
                out.push(item(
                    name,
                    CompletionKind::Param,
                    Some(format!("param {}", show(view, ty))),
                    sort,
                ));
            }
            DefKind::Table(key, value, _) => out.push(CompletionItem {
                insert_text: format!("{name}[$1]"),
                snippet: true,
                ..item(
                    name,
                    CompletionKind::Table,
                    Some(format!("table {} -> {}", show(view, key), show(view, value))),
                    "3",
                )
            }),
            DefKind::Function(params, result) => {
                let placeholders: Vec<String> = (0..params.len()).map(|i| format!("${{{}}}", i + 1)).collect();
                out.push(CompletionItem {
                    insert_text: format!("{name}({})", placeholders.join(", ")),
                    snippet: true,
                    ..item(
                        name,
                        CompletionKind::Function,
                        Some(format!(
                            "fn({}) -> {}",
                            params.iter().map(|p| show(view, p)).collect::<Vec<_>>().join(", "),
                            show(view, result)
                        )),
                        "3",
                    )
                });
            }
            DefKind::Enum(_) => out.push(item(name, CompletionKind::Type, Some("enum".to_owned()), "4")),
            _ => {}
        }
    }
    for builtin in builtins::all() {
        let first = overloads(builtin.signature, builtin.name)
            .into_iter()
            .next()
            .unwrap_or_default();
        let placeholders: Vec<String> = split_parameters(&first)
            .iter()
            .filter(|p| !p.ends_with('?'))
            .enumerate()
            .map(|(i, p)| {
                let name = p.split(':').next().unwrap_or(p).trim_end_matches("...").trim();
                format!("${{{}:{}}}", i + 1, name)
            })
            .collect();
        out.push(CompletionItem {
            label: builtin.name.to_owned(),
            kind: CompletionKind::Builtin,
            detail: Some(builtin.signature.to_owned()),
            documentation: Some(format!("{}\n\n{}", builtin.summary, builtin.docs)),
            insert_text: format!("{}({})", builtin.name, placeholders.join(", ")),
            snippet: true,
            sort_text: format!("5_{}", builtin.name),
        });
    }
    for keyword in ["if", "match", "for", "true", "false", "none"] {
        out.push(item(keyword, CompletionKind::Keyword, None, "6"));
    }
    out
}

/// Module paths and types after `use`.
fn use_paths<L: ModuleLoader>(view: &FileView<'_, L>, written: &str) -> Vec<CompletionItem> {
    let written = written.trim_end_matches(COMPLETION_MARKER);
    // `use a.b.{X, Y` or `use a.b.X`: the module is what precedes the last dot.
    let (module, _partial) = match written.find('{') {
        Some(brace) => (written[..brace].trim_end_matches('.'), ""),
        None => match written.rfind('.') {
            Some(dot) => (&written[..dot], &written[dot + 1..]),
            None => ("", written),
        },
    };
    let mut out = Vec::new();
    let mut segments = std::collections::BTreeSet::new();
    let prefix = if module.is_empty() {
        String::new()
    } else {
        format!("{module}.")
    };
    let mut paths = view.ws.loader().module_paths();
    paths.sort();
    for path in &paths {
        if let Some(rest) = path.strip_prefix(&prefix) {
            let segment = rest.split('.').next().unwrap_or(rest);
            if !segment.is_empty() {
                segments.insert((segment.to_owned(), rest.contains('.')));
            }
        }
    }
    for (segment, deeper) in segments {
        let detail = if deeper {
            "folder".to_owned()
        } else {
            format!("schema {prefix}{segment}")
        };
        out.push(item(&segment, CompletionKind::Module, Some(detail), "1"));
    }
    // The types of the module named so far.
    if let Some(info) = view.ws.modules.iter().find(|m| m.path.as_deref() == Some(module)) {
        let mut names: Vec<_> = info
            .scope
            .iter()
            .filter(|(_, d)| matches!(d.kind, DefKind::Record(_) | DefKind::Enum(_)))
            .map(|(n, d)| (n.clone(), matches!(d.kind, DefKind::Record(_))))
            .collect();
        names.sort();
        for (name, is_record) in names {
            let detail = if is_record { "record" } else { "enum" };
            out.push(item(&name, CompletionKind::Type, Some(detail.to_owned()), "0"));
        }
    }
    out
}

/// Types where a type is written (`: `, `->`), when the checker did not
/// reach the cursor.
fn type_names<L: ModuleLoader>(view: &FileView<'_, L>, before: &str) -> Vec<CompletionItem> {
    let trimmed = before.trim_end_matches(COMPLETION_MARKER).trim_end();
    let wants_type = trimmed.ends_with(':') || trimmed.ends_with("->") || trimmed.ends_with('[');
    if !wants_type {
        return Vec::new();
    }
    let mut out: Vec<CompletionItem> = SCALAR_NAMES
        .iter()
        .map(|name| item(name, CompletionKind::Type, Some("built-in type".to_owned()), "1"))
        .collect();
    let mut names: Vec<_> = view
        .module
        .scope
        .iter()
        .filter(|(_, d)| matches!(d.kind, DefKind::Record(_) | DefKind::Enum(_)))
        .map(|(n, _)| n.clone())
        .collect();
    names.sort();
    for name in names {
        out.push(item(&name, CompletionKind::Type, Some("imported".to_owned()), "0"));
    }
    out
}
