//! Go to definition, find references and rename.
//!
//! All three start from the name under the cursor ([`FileView::occurrence_at`])
//! and the checker's index. References are searched in every file the
//! workspace checked or loaded, so a schema field's references include the
//! mappings open beside it. Rename is offered for the names a mapping file
//! owns: `let`s and other locals, `param`s, `table`s and helper `fn`s.

use super::{FileView, KEYWORDS, definition, is_identifier};
use crate::resolve::index::Symbol;
use crate::resolve::{Location, ModuleLoader};
use crate::span::Span;

/// Where the name at `offset` is defined.
pub fn goto_definition<L: ModuleLoader>(view: &FileView<'_, L>, offset: usize) -> Option<Location> {
    let occurrence = view.occurrence_at(offset)?;
    definition(view.ws, &occurrence.symbol)
}

/// Every place the name at `offset` is written, its definition included
/// when `include_definition`; in file order, then source order.
pub fn references<L: ModuleLoader>(view: &FileView<'_, L>, offset: usize, include_definition: bool) -> Vec<Location> {
    let Some(occurrence) = view.occurrence_at(offset) else {
        return Vec::new();
    };
    let symbol = &occurrence.symbol;
    let mut found: Vec<Location> = Vec::new();
    for module in &view.ws.modules {
        for o in &module.occurrences {
            if &o.symbol == symbol && (include_definition || !o.definition) {
                found.push(Location {
                    file: module.file,
                    span: o.span,
                });
            }
        }
    }
    if include_definition
        && let Some(def) = definition(view.ws, symbol)
        && !matches!(symbol, Symbol::Module(_))
    {
        found.push(def);
    }
    found.sort_by_key(|l| (l.file, l.span.start));
    found.dedup();
    found
}

/// The span of the name at `offset` when it can be renamed.
pub fn prepare_rename<L: ModuleLoader>(view: &FileView<'_, L>, offset: usize) -> Result<Span, String> {
    let occurrence = view
        .occurrence_at(offset)
        .ok_or_else(|| "there is no name here to rename".to_owned())?;
    match &occurrence.symbol {
        Symbol::Local(location) | Symbol::Param(location) | Symbol::Table(location) | Symbol::Function(location)
            if location.file == view.module.file =>
        {
            Ok(occurrence.span)
        }
        Symbol::Mapping(_) => Err("a mapping is named by routes and tests: rename it by hand".to_owned()),
        Symbol::Builtin(name) => Err(format!("`{name}` is a builtin function")),
        Symbol::Field(..) | Symbol::Record(_) | Symbol::Enum(_) | Symbol::Variant(..) | Symbol::Module(_) => {
            Err("names from schemas follow the ERP's or the canonical model: they are not renamed here".to_owned())
        }
        _ => Err("this name is defined in another file".to_owned()),
    }
}

/// The edits that rename the name at `offset` to `new_name`: every span to
/// replace, in this file.
pub fn rename<L: ModuleLoader>(view: &FileView<'_, L>, offset: usize, new_name: &str) -> Result<Vec<Span>, String> {
    let span = prepare_rename(view, offset)?;
    // `prepare_rename` found it, so there is an occurrence here.
    let Some(occurrence) = view.occurrence_at(offset) else {
        return Err("there is no name here to rename".to_owned());
    };
    if KEYWORDS.contains(&new_name) {
        return Err(format!("`{new_name}` is a keyword"));
    }
    if !is_identifier(new_name) {
        return Err(format!(
            "`{new_name}` is not a name: use letters, digits and `_`, not starting with a digit"
        ));
    }
    let symbol = &occurrence.symbol;
    if !matches!(symbol, Symbol::Local(_)) && view.module.scope.contains_key(new_name) {
        return Err(format!("`{new_name}` is already defined in this file"));
    }
    if matches!(symbol, Symbol::Function(_)) && crate::builtins::get(new_name).is_some() {
        return Err(format!("`{new_name}` is a builtin function"));
    }
    let mut spans: Vec<Span> = view.occurrences_of(symbol).into_iter().map(|o| o.span).collect();
    if !spans.contains(&span) {
        spans.push(span);
    }
    spans.sort_by_key(|s| s.start);
    Ok(spans)
}
