//! Hover: what the thing under the cursor is, as Markdown.
//!
//! A name shows its definition: a target or source field its documentation,
//! type, length or scale, whether it is required and its wire form; a builtin
//! its signature and docs; a param, table, function or local its type. Any
//! other expression shows its type.

use super::{FileView, item_doc};
use crate::builtins;
use crate::resolve::annotations::WireFormat;
use crate::resolve::index::Symbol;
use crate::resolve::{DefKind, ModuleLoader};
use crate::span::Span;
use crate::syntax::ast::{Annotation, Literal};
use crate::types::Ty;
use std::fmt::Write;

/// A hover's text and the span it describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hover {
    /// What it describes.
    pub span: Span,
    /// Markdown.
    pub markdown: String,
}

/// The hover at byte `offset` of the view's file.
pub fn hover<L: ModuleLoader>(view: &FileView<'_, L>, offset: usize) -> Option<Hover> {
    if let Some(occurrence) = view.occurrence_at(offset)
        && let Some(markdown) = describe(view, &occurrence.symbol)
    {
        return Some(Hover {
            span: occurrence.span,
            markdown,
        });
    }
    let (span, ty) = view.ws.type_at(view.id, offset)?;
    Some(Hover {
        span,
        markdown: code(&view.ws.types.display(ty).to_string()),
    })
}

fn code(text: &str) -> String {
    format!("```mapwright\n{text}\n```")
}

/// The Markdown describing `symbol`.
pub fn describe<L: ModuleLoader>(view: &FileView<'_, L>, symbol: &Symbol) -> Option<String> {
    let ws = view.ws;
    let types = &ws.types;
    let mut out = String::new();
    match symbol {
        Symbol::Module(path) => {
            out.push_str(&code(&format!("schema {path}")));
            let module = ws.modules.iter().find(|m| m.path.as_deref() == Some(path.as_str()));
            if let Some(doc) = module.and_then(|m| m.ast.items.first()).and_then(|i| i.doc.as_ref()) {
                let _ = write!(out, "\n\n{}", doc.text);
            }
        }
        Symbol::Record(id) => {
            let record = types.record(*id)?;
            out.push_str(&code(&format!("record {}.{}", record.module_path, record.name)));
            if let Some(doc) = &record.doc {
                let _ = write!(out, "\n\n{}", doc.text);
            }
            let required = record.fields.iter().filter(|f| f.required).count();
            let _ = write!(
                out,
                "\n\n{} field{}, {required} required",
                record.fields.len(),
                if record.fields.len() == 1 { "" } else { "s" }
            );
        }
        Symbol::Enum(id) => {
            let def = types.enumeration(*id)?;
            out.push_str(&code(&format!("enum {}.{}", def.module_path, def.name)));
            if let Some(doc) = &def.doc {
                let _ = write!(out, "\n\n{}", doc.text);
            }
            let names: Vec<String> = def.variants.iter().map(|v| format!("`{}`", v.name)).collect();
            let _ = write!(out, "\n\nVariants: {}", names.join(", "));
        }
        Symbol::Variant(id, name) => {
            let def = types.enumeration(*id)?;
            let variant = def.variants.iter().find(|v| &v.name == name)?;
            out.push_str(&code(&format!("{}.{}", def.name, variant.name)));
            if let Some(doc) = &variant.doc {
                let _ = write!(out, "\n\n{}", doc.text);
            }
            let _ = write!(out, "\n\nA variant of `{}.{}`", def.module_path, def.name);
        }
        Symbol::Field(id, name) => {
            let record = types.record(*id)?;
            let field = record.field(name)?;
            let ty = field
                .ty
                .as_ref()
                .map(|t| types.display(t).to_string())
                .unwrap_or_else(|| "?".to_owned());
            out.push_str(&code(&format!("{}: {ty}", field.name)));
            let _ = write!(out, "\n\nField of `{}.{}`", record.module_path, record.name);
            if let Some(doc) = &field.doc {
                let _ = write!(out, "\n\n{}", doc.text);
            }
            let presence = if field.required {
                "required"
            } else if field.ty.as_ref().is_some_and(Ty::is_optional) {
                "may be absent"
            } else {
                "always present"
            };
            let mut facts = vec![presence.to_owned()];
            if let Some(t) = &field.ty {
                facts.extend(limits(t.strip_optional()));
            }
            let format = ws.module(record.module).map(|m| m.format.format);
            facts.push(wire_form(format, &field.name, &field.annotations));
            let _ = write!(out, "\n\n{}", facts.join(" · "));
        }
        Symbol::Param(location) | Symbol::Table(location) | Symbol::Function(location) | Symbol::Mapping(location) => {
            let signature = item_signature(view, *location)?;
            out.push_str(&code(&signature));
            if let Some(doc) = item_doc(ws, *location) {
                let _ = write!(out, "\n\n{}", doc.text);
            }
        }
        Symbol::Local(location) => {
            let module = ws.modules.iter().find(|m| m.file == location.file)?;
            let local = module.locals.get(&location.span)?;
            let ty = local
                .ty
                .as_ref()
                .map(|t| types.display(t).to_string())
                .unwrap_or_else(|| "?".to_owned());
            let keyword = match local.binder {
                "let" => "let ",
                _ => "",
            };
            out.push_str(&code(&format!("{keyword}{}: {ty}", local.name)));
            let _ = write!(
                out,
                "\n\n{}",
                match local.binder {
                    "let" => "A local value.",
                    "parameter" => "A parameter.",
                    "for" => "Bound by `for`.",
                    _ => "A lambda parameter.",
                }
            );
        }
        Symbol::Builtin(name) => {
            let builtin = builtins::get(name)?;
            out.push_str(&code(builtin.signature));
            let _ = write!(out, "\n\n{}\n\n{}", builtin.summary, builtin.docs);
            if builtin.can_fail {
                out.push_str("\n\nCan fail the record at run time (a `MappingError`).");
            }
            if let Some(example) = builtin.examples.first() {
                let _ = write!(out, "\n\nExample: `{}` = `{}`", example.expr, example.value);
            }
        }
    }
    Some(out)
}

/// The signature of the `param`, `table`, `fn` or `mapping` of the view's
/// file named at `location`, as written (`fn f(a: Int) -> String`).
pub fn item_signature<L: ModuleLoader>(view: &FileView<'_, L>, location: crate::resolve::Location) -> Option<String> {
    let types = &view.ws.types;
    let name = view.ws.sources.get(location.file).slice(location.span).to_owned();
    let def = view.module.scope.get(&name)?;
    let show = |ty: &Option<Ty>| {
        ty.as_ref()
            .map(|t| types.display(t).to_string())
            .unwrap_or_else(|| "?".to_owned())
    };
    Some(match &def.kind {
        DefKind::Param(ty) => format!("param {name}: {}", show(ty)),
        DefKind::Table(key, value, total) => format!(
            "table {name}: {} -> {}{}",
            show(key),
            show(value),
            if *total { "" } else { "  // a lookup may find nothing" }
        ),
        DefKind::Mapping(params, result) | DefKind::Function(params, result) => {
            let keyword = if matches!(def.kind, DefKind::Mapping(..)) {
                "mapping"
            } else {
                "fn"
            };
            let names = parameter_names(view, location);
            let shown: Vec<String> = params
                .iter()
                .enumerate()
                .map(|(i, ty)| format!("{}: {}", names.get(i).map(String::as_str).unwrap_or("_"), show(ty)))
                .collect();
            format!("{keyword} {name}({}) -> {}", shown.join(", "), show(result))
        }
        _ => return None,
    })
}

/// Length, scale and precision facts of a type.
fn limits(ty: &Ty) -> Vec<String> {
    match ty {
        Ty::String { max_len: Some(n) } => vec![format!("max length {n}")],
        Ty::Decimal { precision, scale } => {
            let mut out = Vec::new();
            if let Some(s) = scale {
                out.push(format!("scale {s}"));
            }
            if let Some(p) = precision {
                out.push(format!("precision {p}"));
            }
            out
        }
        Ty::List(inner) => limits(inner),
        _ => Vec::new(),
    }
}

/// How a field is written on the wire.
fn wire_form(format: Option<WireFormat>, name: &str, annotations: &[Annotation]) -> String {
    let kind = match format {
        Some(WireFormat::Json) => "JSON",
        Some(WireFormat::Xml) => "XML",
        Some(WireFormat::Csv) => "CSV",
        None => "JSON",
    };
    let shown: Vec<String> = annotations
        .iter()
        .filter(|a| a.name.name != "required")
        .map(|a| {
            let args: Vec<String> = a
                .args
                .iter()
                .map(|arg| {
                    let value = match &arg.value {
                        Literal::Str(s) => format!("\"{s}\""),
                        Literal::Number(n) => n.clone(),
                        Literal::Bool(b) => b.to_string(),
                        Literal::Word(w) => w.clone(),
                    };
                    match &arg.key {
                        Some(key) => format!("{} = {value}", key.name),
                        None => value,
                    }
                })
                .collect();
            if args.is_empty() {
                format!("@{}", a.name.name)
            } else {
                format!("@{}({})", a.name.name, args.join(", "))
            }
        })
        .collect();
    if shown.is_empty() {
        format!("wire: {kind} `{name}`")
    } else {
        format!("wire: {kind} `{name}` {}", shown.join(" "))
    }
}

/// The parameter names of the `fn` or `mapping` named at `location`.
fn parameter_names<L: ModuleLoader>(view: &FileView<'_, L>, location: crate::resolve::Location) -> Vec<String> {
    view.module
        .ast
        .items
        .iter()
        .find_map(|item| match &item.kind {
            crate::syntax::ast::ItemKind::Mapping(f) | crate::syntax::ast::ItemKind::Function(f)
                if f.name.span == location.span =>
            {
                Some(f.params.iter().map(|p| p.name.name.clone()).collect())
            }
            _ => None,
        })
        .unwrap_or_default()
}
