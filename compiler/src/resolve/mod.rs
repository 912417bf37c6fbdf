//! Name resolution: modules, `use`, items, types, annotations, and the
//! names and fields inside mapping bodies.
//!
//! A [`Workspace`] holds every file read for one project root. Checking a
//! file parses it, loads the modules it uses (through a [`ModuleLoader`], so
//! this library never touches the file system), declares its items, resolves
//! its types and checks its bodies. Every error in a file is collected; a
//! module's own diagnostics are reported once, by the check that loaded it.

pub mod annotations;
mod body;
pub mod index;
pub mod suggest;

use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, Origin, SourceDb};
use crate::span::Span;
use crate::syntax::ast::{self, ItemKind, TypeRef, TypeRefKind};
use crate::syntax::scan::Comment;
use crate::types::{EnumDef, FieldDef, ModuleId, RecordDef, RecordId, SCALAR_NAMES, Ty, TypeStore, VariantDef};
use annotations::FormatInfo;
use std::collections::{HashMap, HashSet};
use suggest::closest;

/// A module's source, as a loader found it.
#[derive(Clone, Debug)]
pub struct LoadedModule {
    /// The name shown in diagnostics (a path, or `<stdlib>/…`).
    pub name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Where it came from.
    pub origin: Origin,
}

/// What looking a module up gave.
#[derive(Clone, Debug)]
pub enum LoadOutcome {
    /// Found it.
    Found(LoadedModule),
    /// No such module.
    NotFound,
    /// It could not be read, or it is defined twice (project and stdlib);
    /// the message says which.
    Failed(String),
}

/// Finds module sources by dotted path. The CLI implements it over the file
/// system; tests and the language server over memory.
pub trait ModuleLoader {
    /// The source of module `path` (`sap.s4.supplier_invoice`).
    fn load(&self, path: &str) -> LoadOutcome;
    /// Every module path this loader knows, for "did you mean".
    fn module_paths(&self) -> Vec<String>;
}

/// The standard library embedded in the compiler.
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbeddedStdlib;

impl ModuleLoader for EmbeddedStdlib {
    fn load(&self, path: &str) -> LoadOutcome {
        match (mapwright_stdlib::module(path), mapwright_stdlib::file_path(path)) {
            (Some(text), Some(file)) => LoadOutcome::Found(LoadedModule {
                name: format!("<stdlib>/{file}"),
                bytes: text.as_bytes().to_vec(),
                origin: Origin::EmbeddedStdlib,
            }),
            _ => LoadOutcome::NotFound,
        }
    }

    fn module_paths(&self) -> Vec<String> {
        mapwright_stdlib::module_paths().map(str::to_owned).collect()
    }
}

/// Which kind of file: types or mappings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A `.schema` file.
    Schema,
    /// A `.map` file.
    Map,
}

impl FileKind {
    /// The kind a file name says (`None` for other extensions).
    pub fn from_name(name: &str) -> Option<FileKind> {
        if name.ends_with(".schema") {
            Some(FileKind::Schema)
        } else if name.ends_with(".map") {
            Some(FileKind::Map)
        } else {
            None
        }
    }
}

/// Where a definition is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file.
    pub file: FileId,
    /// The name's span.
    pub span: Span,
}

/// What a name in a module's scope stands for.
#[derive(Clone, Debug)]
pub enum DefKind {
    /// A record type.
    Record(RecordId),
    /// An enum type.
    Enum(crate::types::EnumId),
    /// A `param`.
    Param(Option<Ty>),
    /// A `table` with its key and value types, and whether every lookup
    /// finds an entry (inline, keyed by an enum or with a `_` entry).
    Table(Option<Ty>, Option<Ty>, bool),
    /// A `mapping`: parameter types and result.
    Mapping(Vec<Option<Ty>>, Option<Ty>),
    /// A `fn`: parameter types and result.
    Function(Vec<Option<Ty>>, Option<Ty>),
    /// A name whose import failed (already reported): uses of it are not
    /// reported again.
    Unresolved,
}

impl DefKind {
    /// The symbol of the editor index that a definition of this kind,
    /// written at `location`, stands for (none for a failed import).
    pub fn symbol(&self, location: Location) -> Option<index::Symbol> {
        Some(match self {
            DefKind::Record(id) => index::Symbol::Record(*id),
            DefKind::Enum(id) => index::Symbol::Enum(*id),
            DefKind::Param(_) => index::Symbol::Param(location),
            DefKind::Table(..) => index::Symbol::Table(location),
            DefKind::Mapping(..) => index::Symbol::Mapping(location),
            DefKind::Function(..) => index::Symbol::Function(location),
            DefKind::Unresolved => return None,
        })
    }
}

/// A name in a module's scope.
#[derive(Clone, Debug)]
pub struct Def {
    /// What it stands for.
    pub kind: DefKind,
    /// Where it is defined (for a `use`, the imported item's definition).
    pub location: Location,
    /// Where it entered this scope (the `use` name, or the definition).
    pub introduced: Location,
}

/// Everything known about one checked or loaded file.
#[derive(Clone, Debug)]
pub struct ModuleInfo {
    /// Its module path, when it is a module (`canonical.invoice`).
    pub path: Option<String>,
    /// Its file.
    pub file: FileId,
    /// Types or mappings.
    pub kind: FileKind,
    /// Its syntax tree.
    pub ast: ast::Module,
    /// Its comments.
    pub comments: Vec<Comment>,
    /// Names defined or imported here.
    pub scope: HashMap<String, Def>,
    /// Modules it uses directly.
    pub uses: Vec<ModuleId>,
    /// Its format (schemas).
    pub format: FormatInfo,
    /// The type of every expression of its bodies whose type is known, by
    /// the expression's span (for hovers, and for lowering).
    pub expr_types: HashMap<Span, Ty>,
    /// Every name resolved in it, in the order the checker met them.
    pub occurrences: Vec<index::Occurrence>,
    /// Its local values, by the span of the name that binds them.
    pub locals: HashMap<Span, index::LocalInfo>,
    /// Its blocks that build records.
    pub record_blocks: Vec<index::RecordBlock>,
    /// What was in scope at [`index::COMPLETION_MARKER`], when it is written.
    pub probe: Option<index::Probe>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Loading(ModuleId),
    Done(ModuleId),
    Missing,
}

/// The result of checking one file.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// The file checked.
    pub file: FileId,
    /// Its module, when it was checked (`None` when it had been checked
    /// already as a dependency and its diagnostics were reported then).
    pub module: Option<ModuleId>,
    /// Diagnostics of this file and of modules first loaded for it.
    pub diagnostics: Vec<Diagnostic>,
}

/// Every file of one project, checked against one loader.
pub struct Workspace<L: ModuleLoader> {
    /// The files read.
    pub sources: SourceDb,
    /// Records and enums.
    pub types: TypeStore,
    /// Modules and checked files, by id.
    pub modules: Vec<ModuleInfo>,
    loader: L,
    by_path: HashMap<String, Slot>,
    loading: Vec<(String, Location)>,
    pending: Vec<Diagnostic>,
}

impl<L: ModuleLoader> Workspace<L> {
    /// An empty workspace over `loader`.
    pub fn new(loader: L) -> Self {
        Workspace {
            sources: SourceDb::new(),
            types: TypeStore::default(),
            modules: Vec::new(),
            loader,
            by_path: HashMap::new(),
            loading: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// The loader.
    pub fn loader(&self) -> &L {
        &self.loader
    }

    /// A module by id.
    pub fn module(&self, id: ModuleId) -> Option<&ModuleInfo> {
        self.modules.get(id.0 as usize)
    }

    /// Checks one file given by name and bytes. `module_path` is the module a
    /// `.schema` file should declare, from its place under the project root.
    pub fn check(&mut self, name: &str, bytes: Vec<u8>, module_path: Option<&str>) -> CheckResult {
        let kind = FileKind::from_name(name).unwrap_or(FileKind::Map);
        if let Some(path) = module_path
            && let Some(Slot::Done(id)) = self.by_path.get(path).copied()
            && let Some(info) = self.module(id)
        {
            // Already checked as a dependency; its diagnostics went out then.
            return CheckResult {
                file: info.file,
                module: None,
                diagnostics: Vec::new(),
            };
        }
        let file = self.sources.add_bytes(name, bytes, Origin::User);
        if let Some(path) = module_path {
            self.by_path
                .insert(path.to_owned(), Slot::Loading(ModuleId(self.modules.len() as u32)));
        }
        let id = self.process(file, kind, module_path.map(str::to_owned));
        if let Some(path) = module_path {
            self.by_path.insert(path.to_owned(), Slot::Done(id));
        }
        let mut diagnostics = std::mem::take(&mut self.pending);
        crate::diagnostics::sort(&mut diagnostics);
        CheckResult {
            file,
            module: Some(id),
            diagnostics,
        }
    }

    /// Loads, parses and resolves one file, returning its module id.
    fn process(&mut self, file: FileId, kind: FileKind, path: Option<String>) -> ModuleId {
        let source = self.sources.get(file);
        let mut diagnostics = Vec::new();
        if let Some(at) = source.invalid_utf8_at {
            let position = source.line_col(at);
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidUtf8,
                    file,
                    Span::new(at, at + 1),
                    "this file is not valid UTF-8",
                )
                .with_label(format!(
                    "the first byte that is not UTF-8 is here (line {}, column {})",
                    position.line, position.column
                ))
                .with_help("save the file as UTF-8"),
            );
        }
        let parsed = crate::syntax::parse(file, &self.sources.get(file).text);
        diagnostics.extend(parsed.diagnostics);
        let id = ModuleId(self.modules.len() as u32);
        self.modules.push(ModuleInfo {
            path: path.clone(),
            file,
            kind,
            ast: parsed.module,
            comments: parsed.comments,
            scope: HashMap::new(),
            uses: Vec::new(),
            format: FormatInfo::default(),
            expr_types: HashMap::new(),
            occurrences: Vec::new(),
            locals: HashMap::new(),
            record_blocks: Vec::new(),
            probe: None,
        });
        let ast = std::mem::take(&mut self.modules[id.0 as usize].ast);
        let mut resolver = ItemResolver {
            ws: self,
            module: id,
            file,
            kind,
            diagnostics,
        };
        resolver.run(&ast, path.as_deref());
        let diagnostics = resolver.diagnostics;
        self.modules[id.0 as usize].ast = ast;
        self.pending.extend(diagnostics);
        id
    }

    /// Loads module `path` for a `use` at `from`; reports unknown modules and
    /// cycles there.
    fn load_module(&mut self, path: &str, from: Location, out: &mut Vec<Diagnostic>) -> Option<ModuleId> {
        match self.by_path.get(path).copied() {
            Some(Slot::Done(id)) => return Some(id),
            Some(Slot::Missing) => {
                out.push(self.unknown_module(path, from));
                return None;
            }
            Some(Slot::Loading(_)) => {
                let start = self.loading.iter().position(|(p, _)| p == path).unwrap_or(0);
                let mut chain: Vec<&str> = self.loading[start..].iter().map(|(p, _)| p.as_str()).collect();
                chain.push(path);
                let mut diagnostic = Diagnostic::new(
                    Code::CyclicUse,
                    from.file,
                    from.span,
                    format!("modules use each other in a circle: {}", chain.join(" → ")),
                )
                .with_label(format!("`{path}` is still being loaded"))
                .with_help("move the shared types into a module that both use");
                for (module, location) in self.loading[start + 1..].iter() {
                    diagnostic =
                        diagnostic.with_secondary(location.file, location.span, format!("`{module}` is used here"));
                }
                out.push(diagnostic);
                return None;
            }
            None => {}
        }
        match self.loader.load(path) {
            LoadOutcome::Found(found) => {
                let file = self.sources.add_bytes(found.name, found.bytes, found.origin);
                let id = ModuleId(self.modules.len() as u32);
                self.by_path.insert(path.to_owned(), Slot::Loading(id));
                self.loading.push((path.to_owned(), from));
                let id = self.process(file, FileKind::Schema, Some(path.to_owned()));
                self.loading.pop();
                self.by_path.insert(path.to_owned(), Slot::Done(id));
                Some(id)
            }
            LoadOutcome::NotFound => {
                self.by_path.insert(path.to_owned(), Slot::Missing);
                out.push(self.unknown_module(path, from));
                None
            }
            LoadOutcome::Failed(message) => {
                out.push(
                    Diagnostic::new(
                        Code::UnknownModule,
                        from.file,
                        from.span,
                        format!("module `{path}` cannot be used"),
                    )
                    .with_label(message),
                );
                None
            }
        }
    }

    fn unknown_module(&self, path: &str, from: Location) -> Diagnostic {
        let known = self.loader.module_paths();
        let mut diagnostic = Diagnostic::new(
            Code::UnknownModule,
            from.file,
            from.span,
            format!("unknown module `{path}`"),
        )
        .with_label(format!(
            "no file `{}.schema` in the project or the standard library",
            path.replace('.', "/")
        ));
        if let Some(best) = closest(path, known.iter().map(String::as_str)) {
            diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
        }
        diagnostic
    }

    /// The innermost expression of `module` around byte `offset` whose type
    /// is known, with its span: what a hover shows.
    pub fn type_at(&self, module: ModuleId, offset: usize) -> Option<(Span, &Ty)> {
        self.module(module)?
            .expr_types
            .iter()
            .filter(|(span, _)| span.contains(offset))
            .min_by_key(|(span, _)| (span.len(), span.start))
            .map(|(span, ty)| (*span, ty))
    }

    /// The modules reachable from `root` through `use` (itself included).
    pub fn reachable(&self, root: ModuleId) -> HashSet<ModuleId> {
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            if seen.insert(id)
                && let Some(info) = self.module(id)
            {
                stack.extend(info.uses.iter().copied());
            }
        }
        seen
    }
}

/// Resolves the items of one module.
struct ItemResolver<'w, L: ModuleLoader> {
    ws: &'w mut Workspace<L>,
    module: ModuleId,
    file: FileId,
    kind: FileKind,
    diagnostics: Vec<Diagnostic>,
}

const SCHEMA_ITEMS: &str = "`schema`, `format`, `use`, `enum`, `record` and `extend record`";
const MAP_ITEMS: &str = "`use`, `param`, `table`, `mapping`, `fn` and `extend record`";

impl<L: ModuleLoader> ItemResolver<'_, L> {
    fn info(&mut self) -> &mut ModuleInfo {
        &mut self.ws.modules[self.module.0 as usize]
    }

    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn occurs(&mut self, span: Span, symbol: index::Symbol, definition: bool) {
        let occurrences = &self.info().occurrences;
        if occurrences.last().is_some_and(|o| o.span == span && o.symbol == symbol) {
            return;
        }
        self.info().occurrences.push(index::Occurrence {
            span,
            symbol,
            definition,
        });
    }

    fn run(&mut self, ast: &ast::Module, path: Option<&str>) {
        self.check_item_kinds(ast, path);
        for item in &ast.items {
            if let ItemKind::Use(use_decl) = &item.kind {
                self.resolve_use(use_decl);
            }
        }
        self.declare_items(ast);
        self.resolve_records(ast);
        self.resolve_signatures(ast);
        if self.kind == FileKind::Map {
            let visible = self.ws.reachable(self.module);
            let mut checker = body::BodyChecker::new(self.ws, self.module, self.file, &visible);
            checker.check_module(ast);
            let finished = checker.finish();
            self.diagnostics.extend(finished.diagnostics);
            let info = self.info();
            info.expr_types = finished.expr_types;
            info.occurrences.extend(finished.occurrences);
            info.locals = finished.locals;
            info.record_blocks = finished.record_blocks;
            info.probe = finished.probe;
        }
    }

    fn check_item_kinds(&mut self, ast: &ast::Module, path: Option<&str>) {
        let mut seen_schema: Option<Span> = None;
        let mut seen_format: Option<Span> = None;
        let mut seen_other = false;
        for item in &ast.items {
            let allowed = match (&item.kind, self.kind) {
                (ItemKind::Error, _) => continue,
                (
                    ItemKind::Schema(_) | ItemKind::Format(_) | ItemKind::Enum(_) | ItemKind::Record(_),
                    FileKind::Schema,
                ) => true,
                (
                    ItemKind::Param(_) | ItemKind::Table(_) | ItemKind::Mapping(_) | ItemKind::Function(_),
                    FileKind::Map,
                ) => true,
                (ItemKind::Use(_) | ItemKind::Extend(_), _) => true,
                _ => false,
            };
            let keyword_span = keyword_span(&self.ws.sources.get(self.file).text, item.span);
            if !allowed {
                let (kind, allowed_list) = match self.kind {
                    FileKind::Schema => ("`.schema`", SCHEMA_ITEMS),
                    FileKind::Map => ("`.map`", MAP_ITEMS),
                };
                self.error(
                    Diagnostic::new(
                        Code::MisplacedItem,
                        self.file,
                        keyword_span,
                        format!("this item does not belong in a {kind} file"),
                    )
                    .with_label("not allowed here")
                    .with_note(format!("a {kind} file holds {allowed_list}")),
                );
                continue;
            }
            match &item.kind {
                ItemKind::Schema(schema_path) => {
                    if let Some(first) = seen_schema {
                        self.error(
                            Diagnostic::new(
                                Code::MisplacedItem,
                                self.file,
                                keyword_span,
                                "a second `schema` declaration",
                            )
                            .with_label("a schema file declares its module once")
                            .with_secondary(self.file, first, "first declared here"),
                        );
                    } else if seen_other || seen_format.is_some() {
                        self.error(
                            Diagnostic::new(Code::MisplacedItem, self.file, keyword_span, "`schema` must come first")
                                .with_label("move this declaration to the top of the file"),
                        );
                    }
                    seen_schema.get_or_insert(item.span);
                    let declared = schema_path.dotted();
                    if let Some(expected) = path
                        && declared != expected
                    {
                        self.error(
                            Diagnostic::new(
                                Code::SchemaName,
                                self.file,
                                schema_path.span,
                                format!("this file declares `schema {declared}`, but its path makes it `{expected}`"),
                            )
                            .with_label("does not match the file's path")
                            .with_fix(format!("write `{expected}`"), expected),
                        );
                    }
                }
                ItemKind::Format(format) => {
                    if let Some(first) = seen_format {
                        self.error(
                            Diagnostic::new(
                                Code::MisplacedItem,
                                self.file,
                                keyword_span,
                                "a second `format` declaration",
                            )
                            .with_label("a schema has one format")
                            .with_secondary(self.file, first, "first declared here"),
                        );
                    } else {
                        let mut found = Vec::new();
                        let info = annotations::check_format(self.file, format, &mut found);
                        self.diagnostics.extend(found);
                        self.info().format = info;
                    }
                    seen_format.get_or_insert(item.span);
                }
                _ => seen_other = true,
            }
        }
        if self.kind == FileKind::Schema && seen_schema.is_none() {
            let at = ast.items.first().map_or(Span::at(0), |item| {
                keyword_span(&self.ws.sources.get(self.file).text, item.span)
            });
            let mut diagnostic = Diagnostic::new(
                Code::MissingSchemaDecl,
                self.file,
                at,
                "this schema file does not say which module it is",
            )
            .with_label("expected `schema NAME` before the first item");
            if let Some(expected) = path {
                diagnostic = diagnostic.with_edit(
                    format!("start the file with `schema {expected}`"),
                    crate::diagnostics::Edit {
                        file: self.file,
                        span: Span::at(at.start as usize),
                        replacement: format!("schema {expected}\n\n"),
                    },
                );
            }
            self.error(diagnostic);
        }
    }

    fn define(&mut self, name: &ast::Ident, kind: DefKind, location: Location) {
        if name.name.is_empty() {
            return;
        }
        let introduced = Location {
            file: self.file,
            span: name.span,
        };
        if let Some(existing) = self.info().scope.get(&name.name).cloned() {
            self.error(
                Diagnostic::new(
                    Code::Duplicate,
                    self.file,
                    name.span,
                    format!("`{}` is defined twice", name.name),
                )
                .with_label("defined again here")
                .with_secondary(existing.introduced.file, existing.introduced.span, "first defined here")
                .with_help("rename one of them (a `use … as NEW_NAME` renames an import)"),
            );
            return;
        }
        if let Some(symbol) = kind.symbol(location) {
            let definition = location == introduced;
            self.occurs(name.span, symbol, definition);
        }
        self.info().scope.insert(
            name.name.clone(),
            Def {
                kind,
                location,
                introduced,
            },
        );
    }

    fn resolve_use(&mut self, use_decl: &ast::UseDecl) {
        let path = use_decl.module.dotted();
        let from = Location {
            file: self.file,
            span: use_decl.module.span,
        };
        let mut found = Vec::new();
        let loaded = self.ws.load_module(&path, from, &mut found);
        self.diagnostics.extend(found);
        if loaded.is_some() {
            self.occurs(use_decl.module.span, index::Symbol::Module(path.clone()), false);
        }
        let Some(target) = loaded else {
            for name in &use_decl.names {
                let location = Location {
                    file: self.file,
                    span: name.local().span,
                };
                self.define(name.local(), DefKind::Unresolved, location);
            }
            return;
        };
        if !self.info().uses.contains(&target) {
            self.info().uses.push(target);
        }
        for name in &use_decl.names {
            let def = self
                .ws
                .module(target)
                .and_then(|m| m.scope.get(&name.name.name))
                .cloned();
            match def {
                Some(def) if matches!(def.kind, DefKind::Record(_) | DefKind::Enum(_)) => {
                    if name.alias.is_some()
                        && let Some(symbol) = def.kind.symbol(def.location)
                    {
                        self.occurs(name.name.span, symbol, false);
                    }
                    self.define(name.local(), def.kind, def.location);
                }
                Some(Def {
                    kind: DefKind::Unresolved,
                    ..
                }) => {
                    let location = Location {
                        file: self.file,
                        span: name.local().span,
                    };
                    self.define(name.local(), DefKind::Unresolved, location);
                }
                _ => {
                    let location = Location {
                        file: self.file,
                        span: name.local().span,
                    };
                    self.define(name.local(), DefKind::Unresolved, location);
                    let candidates: Vec<String> = self
                        .ws
                        .module(target)
                        .map(|m| {
                            m.scope
                                .iter()
                                .filter(|(_, d)| matches!(d.kind, DefKind::Record(_) | DefKind::Enum(_)))
                                .map(|(n, _)| n.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    let mut diagnostic = Diagnostic::new(
                        Code::UnknownType,
                        self.file,
                        name.name.span,
                        format!("module `{path}` has no type `{}`", name.name.name),
                    )
                    .with_label("not found in that module");
                    if let Some(best) = closest(&name.name.name, candidates.iter().map(String::as_str)) {
                        diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
                    } else if !candidates.is_empty() {
                        let mut sorted = candidates;
                        sorted.sort();
                        diagnostic = diagnostic.with_note(format!("it declares: {}", sorted.join(", ")));
                    }
                    self.error(diagnostic);
                }
            }
        }
    }

    fn module_path_text(&self) -> String {
        self.ws.modules[self.module.0 as usize].path.clone().unwrap_or_default()
    }

    fn declare_items(&mut self, ast: &ast::Module) {
        let module_path = self.module_path_text();
        for item in &ast.items {
            match &item.kind {
                ItemKind::Record(record) => {
                    let id = self.ws.types.add_record(RecordDef {
                        name: record.name.name.clone(),
                        module: self.module,
                        module_path: module_path.clone(),
                        fields: Vec::new(),
                        annotations: record.annotations.clone(),
                        doc: item.doc.clone(),
                        file: self.file,
                        span: record.name.span,
                        incomplete: !record.broken.is_empty(),
                        field_index: Default::default(),
                    });
                    let location = Location {
                        file: self.file,
                        span: record.name.span,
                    };
                    self.define(&record.name, DefKind::Record(id), location);
                }
                ItemKind::Enum(decl) => {
                    let mut variants: Vec<VariantDef> = Vec::new();
                    for variant in &decl.variants {
                        if let Some(first) = variants.iter().find(|v| v.name == variant.name.name) {
                            self.error(
                                Diagnostic::new(
                                    Code::Duplicate,
                                    self.file,
                                    variant.name.span,
                                    format!("variant `{}` is declared twice", variant.name.name),
                                )
                                .with_label("declared again here")
                                .with_secondary(
                                    self.file,
                                    first.span,
                                    "first declared here",
                                ),
                            );
                            continue;
                        }
                        let enum_id = crate::types::EnumId(self.ws.types.enums.len() as u32);
                        self.occurs(
                            variant.name.span,
                            index::Symbol::Variant(enum_id, variant.name.name.clone()),
                            true,
                        );
                        variants.push(VariantDef {
                            name: variant.name.name.clone(),
                            doc: variant.doc.clone(),
                            span: variant.name.span,
                        });
                    }
                    let format = self.ws.modules[self.module.0 as usize].format.clone();
                    let mut found = Vec::new();
                    annotations::check_annotations(self.file, &decl.annotations, &format, &mut found);
                    for variant in &decl.variants {
                        annotations::check_annotations(self.file, &variant.annotations, &format, &mut found);
                    }
                    self.diagnostics.extend(found);
                    let id = self.ws.types.add_enum(EnumDef {
                        name: decl.name.name.clone(),
                        module: self.module,
                        module_path: module_path.clone(),
                        variants,
                        doc: item.doc.clone(),
                        file: self.file,
                        span: decl.name.span,
                        incomplete: !decl.broken.is_empty(),
                    });
                    let location = Location {
                        file: self.file,
                        span: decl.name.span,
                    };
                    self.define(&decl.name, DefKind::Enum(id), location);
                }
                _ => {}
            }
        }
    }

    fn resolve_records(&mut self, ast: &ast::Module) {
        let format = self.ws.modules[self.module.0 as usize].format.clone();
        for item in &ast.items {
            match &item.kind {
                ItemKind::Record(record) => {
                    let Some(DefKind::Record(id)) = self.info().scope.get(&record.name.name).map(|d| d.kind.clone())
                    else {
                        continue;
                    };
                    // Only the record this item declared (a duplicate name
                    // keeps the first).
                    if self.ws.types.record(id).is_none_or(|r| r.span != record.name.span) {
                        continue;
                    }
                    let mut found = Vec::new();
                    annotations::check_annotations(self.file, &record.annotations, &format, &mut found);
                    self.diagnostics.extend(found);
                    let fields = self.resolve_fields(id, &record.fields, &[], &format, None);
                    if let Some(def) = self.ws.types.records.get_mut(id.0 as usize) {
                        def.add_fields(fields);
                    }
                }
                ItemKind::Extend(extend) => self.resolve_extend(extend),
                _ => {}
            }
        }
    }

    fn resolve_fields(
        &mut self,
        record: RecordId,
        fields: &[ast::FieldDecl],
        existing: &[FieldDef],
        format: &FormatInfo,
        extension: Option<ModuleId>,
    ) -> Vec<FieldDef> {
        let mut out: Vec<FieldDef> = Vec::new();
        let mut seen: HashMap<String, (FileId, Span)> =
            existing.iter().map(|f| (f.name.clone(), (f.file, f.span))).collect();
        for field in fields {
            if let Some((first_file, first_span)) = seen.get(&field.name.name).copied() {
                self.error(
                    Diagnostic::new(
                        Code::Duplicate,
                        self.file,
                        field.name.span,
                        format!("field `{}` is declared twice", field.name.name),
                    )
                    .with_label("declared again here")
                    .with_secondary(first_file, first_span, "first declared here"),
                );
                continue;
            }
            seen.insert(field.name.name.clone(), (self.file, field.name.span));
            self.occurs(
                field.name.span,
                index::Symbol::Field(record, field.name.name.clone()),
                true,
            );
            let ty = self.resolve_type(&field.ty);
            let mut found = Vec::new();
            annotations::check_annotations(self.file, &field.annotations, format, &mut found);
            self.diagnostics.extend(found);
            out.push(FieldDef {
                name: field.name.name.clone(),
                ty,
                required: field.annotations.iter().any(|a| a.name.name == "required"),
                annotations: field.annotations.clone(),
                doc: field.doc.clone(),
                file: self.file,
                span: field.name.span,
                extension,
            });
        }
        out
    }

    fn resolve_extend(&mut self, extend: &ast::ExtendDecl) {
        let Some(target) = self.resolve_named(&extend.target, &[]) else {
            return;
        };
        let Ty::Record(id) = target else {
            self.error(
                Diagnostic::new(
                    Code::UnknownType,
                    self.file,
                    extend.target.span,
                    format!("`{}` is not a record", extend.target.dotted()),
                )
                .with_label("only records can be extended"),
            );
            return;
        };
        let existing = self.ws.types.record(id).map(|r| r.fields.clone()).unwrap_or_default();
        let module_of_record = self.ws.types.record(id).map(|r| r.module);
        let format = module_of_record
            .and_then(|m| self.ws.module(m))
            .map(|m| m.format.clone())
            .unwrap_or_default();
        let added = self.resolve_fields(id, &extend.fields, &existing, &format, Some(self.module));
        if let Some(def) = self.ws.types.records.get_mut(id.0 as usize) {
            def.add_fields(added);
        }
        // The extending module names the record too, so a mapping imports
        // it from here and thereby sees the added fields.
        if let Some(last) = extend.target.segments.last()
            && !self.info().scope.contains_key(&last.name)
        {
            let location = self
                .ws
                .types
                .record(id)
                .map(|r| Location {
                    file: r.file,
                    span: r.span,
                })
                .unwrap_or(Location {
                    file: self.file,
                    span: last.span,
                });
            self.define(last, DefKind::Record(id), location);
        }
    }

    fn resolve_signatures(&mut self, ast: &ast::Module) {
        for item in &ast.items {
            match &item.kind {
                ItemKind::Param(param) => {
                    let ty = self.resolve_type(&param.ty);
                    let location = Location {
                        file: self.file,
                        span: param.name.span,
                    };
                    self.define(&param.name, DefKind::Param(ty), location);
                }
                ItemKind::Table(table) => {
                    let key = self.resolve_type(&table.key);
                    let value = self.resolve_type(&table.value);
                    let location = Location {
                        file: self.file,
                        span: table.name.span,
                    };
                    let total = table.entries.as_ref().is_some_and(|entries| {
                        matches!(key, Some(Ty::Enum(_)))
                            || entries
                                .iter()
                                .any(|e| e.patterns.iter().any(|p| matches!(p, ast::Pattern::Wildcard(_))))
                    });
                    self.define(&table.name, DefKind::Table(key, value, total), location);
                }
                ItemKind::Mapping(function) | ItemKind::Function(function) => {
                    let is_mapping = matches!(item.kind, ItemKind::Mapping(_));
                    let mut params = Vec::new();
                    let mut seen: Vec<&ast::Ident> = Vec::new();
                    for param in &function.params {
                        if let Some(first) = seen.iter().find(|p| p.name == param.name.name) {
                            self.error(
                                Diagnostic::new(
                                    Code::Duplicate,
                                    self.file,
                                    param.name.span,
                                    format!("parameter `{}` is declared twice", param.name.name),
                                )
                                .with_label("declared again here")
                                .with_secondary(
                                    self.file,
                                    first.span,
                                    "first declared here",
                                ),
                            );
                        }
                        seen.push(&param.name);
                        let ty = self.resolve_type(&param.ty);
                        if is_mapping && ty.as_ref().is_some_and(|t| !matches!(t, Ty::Record(_))) {
                            self.not_a_record(&param.ty, "a mapping's input");
                        }
                        params.push(ty);
                    }
                    let result = self.resolve_type(&function.result);
                    if is_mapping && result.as_ref().is_some_and(|t| !matches!(t, Ty::Record(_))) {
                        self.not_a_record(&function.result, "a mapping's result");
                    }
                    let location = Location {
                        file: self.file,
                        span: function.name.span,
                    };
                    let kind = if is_mapping {
                        DefKind::Mapping(params, result)
                    } else {
                        DefKind::Function(params, result)
                    };
                    self.define(&function.name, kind, location);
                }
                _ => {}
            }
        }
    }

    fn not_a_record(&mut self, ty: &TypeRef, what: &str) {
        let written = crate::syntax::dump::type_ref(ty);
        self.error(
            Diagnostic::new(
                Code::NotARecordType,
                self.file,
                ty.span,
                format!("{what} must be a record, not `{written}`"),
            )
            .with_label("not a record type")
            .with_help("map from one record to another, e.g. `(inv: Invoice) -> SupplierInvoice`"),
        );
    }

    /// Resolves a written type; reports and returns `None` when it does not
    /// resolve.
    fn resolve_type(&mut self, ty: &TypeRef) -> Option<Ty> {
        match &ty.kind {
            TypeRefKind::List(inner) => self.resolve_type(inner).map(|t| Ty::List(Box::new(t))),
            TypeRefKind::Optional(inner) => self.resolve_type(inner).map(|t| match t {
                Ty::Optional(_) => t,
                other => Ty::Optional(Box::new(other)),
            }),
            TypeRefKind::Named { path, args } => {
                if path.segments.is_empty() {
                    return None;
                }
                self.resolve_named(path, args)
            }
        }
    }

    fn resolve_named(&mut self, path: &ast::Path, args: &[(String, Span)]) -> Option<Ty> {
        let name = path.dotted();
        let numbers = self.type_numbers(args)?;
        let scalar = match name.as_str() {
            "String" => Some(match numbers.as_slice() {
                [] => Ty::String { max_len: None },
                [n] => Ty::String { max_len: Some(*n) },
                _ => return self.bad_args(path, args, "`String` takes at most one argument: `String(n)`"),
            }),
            "Decimal" => Some(match numbers.as_slice() {
                [] => Ty::Decimal {
                    precision: None,
                    scale: None,
                },
                [s] if *s <= 28 => Ty::Decimal {
                    precision: None,
                    scale: Some(*s),
                },
                [p, s] if *s <= *p && *p <= 28 && *p > 0 => Ty::Decimal {
                    precision: Some(*p),
                    scale: Some(*s),
                },
                [_, _] => return self.bad_args(path, args, "`Decimal(p, s)` needs 0 < p ≤ 28 and s ≤ p"),
                [_] => return self.bad_args(path, args, "the scale of `Decimal(s)` is at most 28"),
                _ => return self.bad_args(path, args, "`Decimal` takes one or two arguments"),
            }),
            "Int" | "Bool" | "Date" | "DateTime" | "Currency" | "Country" => {
                if !args.is_empty() {
                    return self.bad_args(path, args, &format!("`{name}` takes no arguments"));
                }
                Some(match name.as_str() {
                    "Int" => Ty::Int,
                    "Bool" => Ty::Bool,
                    "Date" => Ty::Date,
                    "DateTime" => Ty::DateTime,
                    "Currency" => Ty::Currency,
                    _ => Ty::Country,
                })
            }
            _ => None,
        };
        if scalar.is_some() {
            return scalar;
        }
        let found = if path.segments.len() == 1 {
            self.info().scope.get(&name).map(|d| d.kind.clone())
        } else {
            // A full path: module path, then the item.
            let (item, module_segments) = path.segments.split_last()?;
            let module_path: Vec<&str> = module_segments.iter().map(|s| s.name.as_str()).collect();
            let module_path = module_path.join(".");
            let module_span = Span::new(
                path.span.start as usize,
                module_segments
                    .last()
                    .map_or(path.span.end as usize, |s| s.span.end as usize),
            );
            let mut found = Vec::new();
            let loaded = self.ws.load_module(
                &module_path,
                Location {
                    file: self.file,
                    span: module_span,
                },
                &mut found,
            );
            self.diagnostics.extend(found);
            let module = loaded?;
            if !self.info().uses.contains(&module) {
                self.info().uses.push(module);
            }
            self.occurs(module_span, index::Symbol::Module(module_path.clone()), false);
            self.ws
                .module(module)
                .and_then(|m| m.scope.get(&item.name))
                .map(|d| d.kind.clone())
        };
        if let Some(last) = path.segments.last() {
            match found {
                Some(DefKind::Record(id)) => self.occurs(last.span, index::Symbol::Record(id), false),
                Some(DefKind::Enum(id)) => self.occurs(last.span, index::Symbol::Enum(id), false),
                _ => {}
            }
        }
        match found {
            Some(DefKind::Record(id)) if args.is_empty() => Some(Ty::Record(id)),
            Some(DefKind::Enum(id)) if args.is_empty() => Some(Ty::Enum(id)),
            Some(DefKind::Record(_) | DefKind::Enum(_)) => {
                self.bad_args(path, args, &format!("`{name}` takes no arguments"))
            }
            Some(DefKind::Unresolved) => None,
            _ => {
                let mut candidates: Vec<String> = SCALAR_NAMES.iter().map(|s| (*s).to_owned()).collect();
                candidates.extend(
                    self.info()
                        .scope
                        .iter()
                        .filter(|(_, d)| matches!(d.kind, DefKind::Record(_) | DefKind::Enum(_)))
                        .map(|(n, _)| n.clone()),
                );
                let last = path.segments.last().map(|s| s.name.as_str()).unwrap_or("");
                let mut diagnostic = Diagnostic::new(
                    Code::UnknownType,
                    self.file,
                    path.span,
                    format!("unknown type `{name}`"),
                )
                .with_label("not a built-in type, nor declared or imported here");
                if let Some(best) = closest(last, candidates.iter().map(String::as_str)) {
                    diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
                } else {
                    diagnostic = diagnostic.with_help("import it with `use module.path.Type`");
                }
                self.error(diagnostic);
                None
            }
        }
    }

    fn type_numbers(&mut self, args: &[(String, Span)]) -> Option<Vec<u32>> {
        let mut numbers = Vec::with_capacity(args.len());
        for (text, span) in args {
            match text.parse::<u32>() {
                Ok(n) if n <= 1_000_000 => numbers.push(n),
                _ => {
                    self.error(
                        Diagnostic::new(
                            Code::NumberOutOfRange,
                            self.file,
                            *span,
                            format!("`{text}` is not a valid type argument"),
                        )
                        .with_label("expected a whole number from 0 to 1,000,000"),
                    );
                    return None;
                }
            }
        }
        Some(numbers)
    }

    fn bad_args(&mut self, path: &ast::Path, args: &[(String, Span)], message: &str) -> Option<Ty> {
        let span = args.iter().fold(path.span, |span, (_, arg)| span.to(*arg));
        self.error(
            Diagnostic::new(Code::BadTypeArguments, self.file, span, message.to_owned())
                .with_label("wrong arguments for this type")
                .with_note(
                    "`String(n)` takes a maximum length, `Decimal(s)` a scale, `Decimal(p, s)` precision and scale",
                ),
        );
        None
    }
}

/// The span of an item's leading keyword (for "this item" diagnostics).
fn keyword_span(text: &str, item: Span) -> Span {
    let rest = text.get(item.range()).unwrap_or("");
    let len = rest
        .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
        .unwrap_or(rest.len());
    Span::new(
        item.start as usize,
        item.start as usize + len.max(1).min(rest.len().max(1)),
    )
}
