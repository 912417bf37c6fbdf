//! The checker for bodies: names, fields and types inside mappings,
//! functions, param defaults and tables, against the language's rules.
//!
//! One walk over each body with its scope (locals, loop and lambda
//! variables, `it`, params, tables, functions, enum types) gives every
//! expression its type and checks:
//! - names, fields, target fields and variants (with the closest spelling);
//! - rule 1: required target fields assigned on every path;
//! - rule 2: an optional value never flows into a field that needs one;
//! - rule 4: decimal scales (see DESIGN.md's table) fit the target;
//! - rule 5: text literals fit `String(n)`;
//! - rule 6: enum tables and `match` are exhaustive;
//! - rule 7: no hidden coercions: every operator and call is typed;
//! - rule 8: no impure function.
//!
//! A type that is unknown (`None`) follows an error already reported;
//! nothing is reported about it again, so one mistake never cascades.

use super::index::{COMPLETION_MARKER, LocalInfo, Occurrence, Probe, ProbePlace, RecordBlock, Symbol};
use super::{Def, DefKind, Location, ModuleLoader, Workspace};
use crate::builtins::{self, ArgTy, Typing};
use crate::diagnostics::{Code, Diagnostic, Edit};
use crate::resolve::suggest::closest;
use crate::source::FileId;
use crate::span::Span;
use crate::syntax::ast::*;
use crate::types::{EnumId, ModuleId, RecordId, Ty};
use std::collections::{HashMap, HashSet};

/// A local variable.
struct Local {
    name: String,
    ty: Option<Ty>,
    /// Where it is bound (`it` is bound by `where`, not written).
    def: Option<Span>,
}

/// What has been assigned in the record block being checked.
#[derive(Clone, Default)]
struct Assigned {
    /// Assigned on some path: where first.
    any: HashMap<String, Span>,
    /// Assigned on every path.
    definite: HashSet<String>,
    /// Assigned on some paths only: the `if`/`match` that leaves it out.
    partial: HashMap<String, Span>,
    /// An assignment named a field the record does not have: a missing
    /// required field is then most likely that typo, already reported.
    unknown_target: bool,
}

impl Assigned {
    /// Merges the branches of an `if`/`match` at `site`; `complete` says
    /// whether the branches cover every case (an `if` with `else`).
    fn merge(&mut self, branches: Vec<Assigned>, complete: bool, site: Span) {
        let mut definite: Option<HashSet<String>> = None;
        for branch in &branches {
            definite = Some(match definite {
                None => branch.definite.clone(),
                Some(so_far) => so_far.intersection(&branch.definite).cloned().collect(),
            });
        }
        let definite = if complete {
            definite.unwrap_or_default()
        } else {
            HashSet::new()
        };
        for branch in branches {
            for (name, span) in branch.any {
                self.any.entry(name.clone()).or_insert(span);
                if !definite.contains(&name) && !self.definite.contains(&name) {
                    self.partial.entry(name).or_insert(site);
                }
            }
            for (name, span) in branch.partial {
                self.partial.entry(name).or_insert(span);
            }
            self.unknown_target |= branch.unknown_target;
        }
        self.definite.extend(definite);
    }
}

pub(super) struct BodyChecker<'w, L: ModuleLoader> {
    ws: &'w Workspace<L>,
    module: ModuleId,
    file: FileId,
    visible: &'w HashSet<ModuleId>,
    locals: Vec<Local>,
    diagnostics: Vec<Diagnostic>,
    /// Set when a pattern names an unknown variant, until the enclosing
    /// `match` has been checked for exhaustiveness.
    unknown_pattern: bool,
    /// The type of every expression whose type is known.
    expr_types: HashMap<Span, Ty>,
    /// Names resolved, for editors.
    occurrences: Vec<Occurrence>,
    /// Locals bound, by their name's span.
    local_infos: HashMap<Span, LocalInfo>,
    /// Blocks that build records.
    record_blocks: Vec<RecordBlock>,
    /// What was in scope at the completion marker.
    probe: Option<Probe>,
}

/// What checking the bodies of a module found.
pub(super) struct Finished {
    /// Its diagnostics.
    pub(super) diagnostics: Vec<Diagnostic>,
    /// The type of every expression whose type is known.
    pub(super) expr_types: HashMap<Span, Ty>,
    /// Names resolved.
    pub(super) occurrences: Vec<Occurrence>,
    /// Locals bound.
    pub(super) locals: HashMap<Span, LocalInfo>,
    /// Blocks that build records.
    pub(super) record_blocks: Vec<RecordBlock>,
    /// What was in scope at the completion marker.
    pub(super) probe: Option<Probe>,
}

/// What a name or expression stands for.
enum Value {
    /// A value of this type (or of unknown type).
    Typed(Option<Ty>),
    /// A table: key and value types, and whether every lookup finds an
    /// entry.
    Table(Option<Ty>, Option<Ty>, bool),
    /// An enum type name (for `Type.variant`).
    EnumType(EnumId),
}

impl Value {
    fn ty(self) -> Option<Ty> {
        match self {
            Value::Typed(ty) => ty,
            _ => None,
        }
    }
}

impl<'w, L: ModuleLoader> BodyChecker<'w, L> {
    pub(super) fn new(ws: &'w Workspace<L>, module: ModuleId, file: FileId, visible: &'w HashSet<ModuleId>) -> Self {
        BodyChecker {
            ws,
            module,
            file,
            visible,
            locals: Vec::new(),
            diagnostics: Vec::new(),
            unknown_pattern: false,
            expr_types: HashMap::new(),
            occurrences: Vec::new(),
            local_infos: HashMap::new(),
            record_blocks: Vec::new(),
            probe: None,
        }
    }

    /// What the walk found.
    pub(super) fn finish(self) -> Finished {
        Finished {
            diagnostics: self.diagnostics,
            expr_types: self.expr_types,
            occurrences: self.occurrences,
            locals: self.local_infos,
            record_blocks: self.record_blocks,
            probe: self.probe,
        }
    }

    fn location(&self, span: Span) -> Location {
        Location { file: self.file, span }
    }

    fn occurs(&mut self, span: Span, symbol: Symbol, definition: bool) {
        self.occurrences.push(Occurrence {
            span,
            symbol,
            definition,
        });
    }

    /// Binds a local written at `name`.
    fn bind(&mut self, name: &Ident, ty: Option<Ty>, binder: &'static str) {
        let location = self.location(name.span);
        self.occurs(name.span, Symbol::Local(location), true);
        self.local_infos.insert(
            name.span,
            LocalInfo {
                name: name.name.clone(),
                ty: ty.clone(),
                binder,
            },
        );
        self.locals.push(Local {
            name: name.name.clone(),
            ty,
            def: Some(name.span),
        });
    }

    /// Keeps what is in scope at the completion marker.
    fn probe(&mut self, span: Span, place: ProbePlace) {
        let locals = self
            .locals
            .iter()
            .map(|l| (l.name.clone(), l.ty.clone(), l.def.map(|d| self.location(d))))
            .collect();
        self.probe = Some(Probe { span, place, locals });
    }

    fn scope(&self) -> &HashMap<String, Def> {
        static EMPTY: std::sync::OnceLock<HashMap<String, Def>> = std::sync::OnceLock::new();
        self.ws
            .module(self.module)
            .map(|m| &m.scope)
            .unwrap_or_else(|| EMPTY.get_or_init(HashMap::new))
    }

    /// Names in the module's scope whose definition `keep` accepts, for
    /// "did you mean".
    fn scope_names(&self, keep: impl Fn(&DefKind) -> bool) -> impl Iterator<Item = &str> {
        self.scope()
            .iter()
            .filter(move |(_, d)| keep(&d.kind))
            .map(|(n, _)| n.as_str())
    }

    fn is_visible(&self, module: ModuleId) -> bool {
        self.visible.contains(&module)
    }

    fn show(&self, ty: &Ty) -> String {
        self.ws.types.display(ty).to_string()
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub(super) fn check_module(&mut self, ast: &Module) {
        for item in &ast.items {
            match &item.kind {
                ItemKind::Param(param) => {
                    if let Some(default) = &param.default {
                        let expected = self.def_ty(&param.name.name);
                        let ty = self.expr(default, expected.as_ref());
                        if let Some(target) = &expected {
                            self.assign_check(default, ty.as_ref(), target, &param.name.name);
                        }
                    }
                }
                ItemKind::Table(table) => self.table(table, item.span),
                ItemKind::Mapping(function) | ItemKind::Function(function) => self.function(function),
                _ => {}
            }
        }
    }

    fn def_ty(&self, name: &str) -> Option<Ty> {
        match self.scope().get(name).map(|d| &d.kind) {
            Some(DefKind::Param(ty)) => ty.clone(),
            _ => None,
        }
    }

    // ------------------------------------------------------------ tables

    fn table(&mut self, table: &TableDecl, item_span: Span) {
        let (key, value) = match self.scope().get(&table.name.name).map(|d| &d.kind) {
            Some(DefKind::Table(key, value, _)) => (key.clone(), value.clone()),
            _ => (None, None),
        };
        let Some(entries) = &table.entries else { return };
        self.unknown_pattern = false;
        let mut covered = Vec::new();
        let mut wildcard = false;
        let before = self.count(Code::UnknownVariant);
        for entry in entries {
            for pattern in &entry.patterns {
                if matches!(pattern, Pattern::Wildcard(_)) {
                    wildcard = true;
                }
                if let Some(variant) = self.pattern(pattern, key.as_ref()) {
                    covered.push(variant);
                }
            }
            let ty = self.expr(&entry.value, value.as_ref());
            if let Some(target) = &value {
                self.assign_check(&entry.value, ty.as_ref(), target, &table.name.name);
            }
        }
        if let Some(Ty::Enum(id)) = key.as_ref()
            && !wildcard
            && table.broken.is_empty()
            && self.count(Code::UnknownVariant) == before
        {
            let missing = self.missing_variants(*id, &covered);
            if !missing.is_empty() {
                let def_name = self
                    .ws
                    .types
                    .enumeration(*id)
                    .map(|d| d.name.clone())
                    .unwrap_or_default();
                let value_placeholder = value
                    .as_ref()
                    .map(|v| self.placeholder(v))
                    .unwrap_or_else(|| "\"\"".to_owned());
                let insertion: String = missing
                    .iter()
                    .map(|v| format!("  {v} => {value_placeholder}\n"))
                    .collect();
                // The item ends with the table's closing `}`.
                let close = Span::at((item_span.end as usize).saturating_sub(1));
                self.push(
                    Diagnostic::new(
                        Code::NonExhaustiveTable,
                        self.file,
                        table.name.span,
                        format!("table `{}` does not cover every `{def_name}`", table.name.name),
                    )
                    .with_label(format!("missing: {}", missing.join(", ")))
                    .with_note("a lookup of a missing key would fail at run time; every variant needs an entry")
                    .with_edit(
                        "add the missing entries (or a `_ => …` entry)",
                        Edit {
                            file: self.file,
                            span: close,
                            replacement: insertion,
                        },
                    ),
                );
            }
        }
    }

    fn count(&self, code: Code) -> usize {
        self.diagnostics.iter().filter(|d| d.code == code).count()
    }

    fn missing_variants(&self, id: EnumId, covered: &[String]) -> Vec<String> {
        self.ws
            .types
            .enumeration(id)
            .map(|def| {
                if def.incomplete {
                    return Vec::new();
                }
                def.variants
                    .iter()
                    .filter(|v| !covered.contains(&v.name))
                    .map(|v| v.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    // ------------------------------------------------------------ functions

    fn function(&mut self, function: &FunctionDecl) {
        let (params, result, is_mapping) = match self.scope().get(&function.name.name).map(|d| &d.kind) {
            Some(DefKind::Mapping(params, result)) => (params.clone(), result.clone(), true),
            Some(DefKind::Function(params, result)) => (params.clone(), result.clone(), false),
            _ => (Vec::new(), None, false),
        };
        let mark = self.locals.len();
        for (index, param) in function.params.iter().enumerate() {
            self.bind(&param.name, params.get(index).cloned().flatten(), "parameter");
        }
        let site = function.name.span;
        // A mapping whose result is not a record was reported (E0118); its
        // body is checked for names only.
        let result = if is_mapping && !matches!(result, Some(Ty::Record(_))) {
            None
        } else {
            result
        };
        match &result {
            Some(ty @ Ty::Record(_)) if is_mapping => {
                self.record_block(&function.body, ty, site, &mut Assigned::default());
            }
            Some(ty) => {
                let body_ty = self.block_value(&function.body, Some(ty));
                if let Some(last) = function.body.stmts.last()
                    && let StmtKind::Expr(expr) = &last.kind
                {
                    self.assign_check(expr, body_ty.as_ref(), ty, &function.name.name);
                }
            }
            // The result type did not resolve (reported): check names only.
            None if is_mapping => self.unknown_record_block(&function.body),
            None => {
                self.block_value(&function.body, None);
            }
        }
        self.locals.truncate(mark);
    }

    /// A block building a record whose type is unknown after an earlier
    /// error: names and expressions are checked, fields cannot be.
    fn unknown_record_block(&mut self, block: &Block) {
        let mark = self.locals.len();
        let mut bound = HashSet::new();
        for stmt in &block.stmts {
            match &stmt.kind {
                StmtKind::Let { name, ty, value } => self.let_stmt(name, ty.as_ref(), value, &mut bound),
                StmtKind::Assign { value, .. } => match &value.kind {
                    ExprKind::Block(inner) => self.unknown_record_block(inner),
                    ExprKind::For {
                        source,
                        filter,
                        body,
                        item,
                        index,
                    } => {
                        let source_ty = self.expr(source, None);
                        let inner_mark = self.locals.len();
                        self.bind(item, source_ty.as_ref().and_then(Ty::element).cloned(), "for");
                        if let Some(index) = index {
                            self.bind(index, Some(Ty::Int), "for");
                        }
                        if let Some(filter) = filter {
                            self.condition(filter);
                        }
                        self.unknown_record_block(body);
                        self.locals.truncate(inner_mark);
                    }
                    _ => {
                        self.expr(value, None);
                    }
                },
                StmtKind::Nested { block: inner, .. } => self.unknown_record_block(inner),
                StmtKind::Expr(expr) => match &expr.kind {
                    ExprKind::If { cond, then, otherwise } => {
                        self.condition(cond);
                        self.unknown_record_block(then);
                        if let Some(otherwise) = otherwise {
                            match &otherwise.kind {
                                ExprKind::Block(inner) => self.unknown_record_block(inner),
                                _ => {
                                    self.expr(otherwise, None);
                                }
                            }
                        }
                    }
                    _ => {
                        self.expr(expr, None);
                    }
                },
                StmtKind::Error => {}
            }
        }
        self.locals.truncate(mark);
    }

    // ------------------------------------------------------------ blocks

    /// Checks a block that builds the record `target`. `site` is where to
    /// report missing required fields.
    fn record_block(&mut self, block: &Block, target: &Ty, site: Span, assigned: &mut Assigned) {
        let Some(record_id) = target.as_record() else {
            self.block_value(block, Some(target));
            return;
        };
        let mark = self.locals.len();
        self.record_stmts(block, record_id, assigned);
        self.locals.truncate(mark);
        self.record_blocks.push(RecordBlock {
            span: block.span,
            record: record_id,
            assigned: assigned.any.keys().cloned().collect(),
        });
        let has_errors = block.stmts.iter().any(|s| matches!(s.kind, StmtKind::Error));
        if !has_errors && !assigned.unknown_target {
            self.required_check(record_id, site, block, assigned);
        }
    }

    fn record_stmts(&mut self, block: &Block, record_id: RecordId, assigned: &mut Assigned) {
        let mut bound = HashSet::new();
        for stmt in &block.stmts {
            match &stmt.kind {
                StmtKind::Let { name, ty, value } => self.let_stmt(name, ty.as_ref(), value, &mut bound),
                StmtKind::Assign { field, value } => {
                    let field_ty = self.target_field(record_id, field, assigned);
                    let ty = self.expr(value, field_ty.as_ref());
                    if let Some(target) = &field_ty {
                        self.assign_check(value, ty.as_ref(), target, &field.name);
                    }
                    self.empty_required_list(record_id, field, value);
                }
                StmtKind::Nested { field, block: inner } => {
                    let field_ty = self.target_field(record_id, field, assigned);
                    match &field_ty {
                        Some(ty) if ty.as_record().is_some() => {
                            self.record_block(inner, ty, field.span, &mut Assigned::default());
                        }
                        Some(ty) => {
                            let shown = self.show(ty);
                            self.push(
                                Diagnostic::new(
                                    Code::NotARecordField,
                                    self.file,
                                    field.span,
                                    format!("`{}` is a `{shown}`, not a record", field.name),
                                )
                                .with_label("a block `{ … }` builds a record")
                                .with_help(format!("assign a value instead: `{} = …`", field.name)),
                            );
                        }
                        None => {
                            self.block_value(inner, None);
                        }
                    }
                }
                StmtKind::Expr(expr) => match &expr.kind {
                    ExprKind::If { cond, then, otherwise } => {
                        self.condition(cond);
                        let mut branches = Vec::new();
                        let mut then_assigned = assigned.clone();
                        self.record_branch(then, record_id, &mut then_assigned);
                        branches.push(then_assigned);
                        let complete = self.else_branches(otherwise.as_deref(), record_id, assigned, &mut branches);
                        assigned.merge(branches, complete, expr.span);
                    }
                    ExprKind::Match {
                        scrutinee,
                        arms,
                        broken,
                    } => {
                        let scrutinee_ty = self.expr(scrutinee, None);
                        let mut branches = Vec::new();
                        let mut covered = Vec::new();
                        let mut wildcard = false;
                        for arm in arms {
                            self.arm_patterns(arm, scrutinee_ty.as_ref(), &mut covered, &mut wildcard);
                            let mut arm_assigned = assigned.clone();
                            match &arm.value.kind {
                                ExprKind::Block(inner) => self.record_branch(inner, record_id, &mut arm_assigned),
                                _ => self.value_in_record_block(&arm.value),
                            }
                            branches.push(arm_assigned);
                        }
                        let complete = self.match_exhaustive(
                            expr.span,
                            scrutinee_ty.as_ref(),
                            &covered,
                            wildcard,
                            broken.is_empty(),
                        );
                        assigned.merge(branches, complete, expr.span);
                    }
                    ExprKind::Name(name) if name.name.contains(COMPLETION_MARKER) => {
                        self.probe(name.span, ProbePlace::Target(record_id));
                    }
                    _ => self.value_in_record_block(expr),
                },
                StmtKind::Error => {}
            }
        }
    }

    /// One branch of an `if`/`match` statement in a record block: its own
    /// scope, the same record.
    fn record_branch(&mut self, block: &Block, record_id: RecordId, assigned: &mut Assigned) {
        let mark = self.locals.len();
        self.record_stmts(block, record_id, assigned);
        self.locals.truncate(mark);
        self.record_blocks.push(RecordBlock {
            span: block.span,
            record: record_id,
            assigned: assigned.any.keys().cloned().collect(),
        });
    }

    /// The `else` part of an `if` statement; returns whether the branches
    /// cover every case.
    fn else_branches(
        &mut self,
        otherwise: Option<&Expr>,
        record_id: RecordId,
        assigned: &Assigned,
        branches: &mut Vec<Assigned>,
    ) -> bool {
        let Some(otherwise) = otherwise else {
            return false;
        };
        match &otherwise.kind {
            ExprKind::Block(block) => {
                let mut branch = assigned.clone();
                self.record_branch(block, record_id, &mut branch);
                branches.push(branch);
                true
            }
            ExprKind::If { cond, then, otherwise } => {
                self.condition(cond);
                let mut branch = assigned.clone();
                self.record_branch(then, record_id, &mut branch);
                branches.push(branch);
                self.else_branches(otherwise.as_deref(), record_id, assigned, branches)
            }
            _ => {
                self.expr(otherwise, None);
                false
            }
        }
    }

    fn value_in_record_block(&mut self, expr: &Expr) {
        self.expr(expr, None);
        self.push(
            Diagnostic::new(
                Code::BlockShape,
                self.file,
                expr.span,
                "a value where a field assignment was expected",
            )
            .with_label("this block builds a record: its statements assign fields")
            .with_help("assign it to a field: `Field = …`"),
        );
    }

    /// `let name: Type = value`; `bound` holds the names the enclosing
    /// block has bound so far (a name may be bound once per block).
    fn let_stmt(&mut self, name: &Ident, declared: Option<&TypeRef>, value: &Expr, bound: &mut HashSet<String>) {
        if !bound.insert(name.name.clone()) {
            self.push(
                Diagnostic::new(
                    Code::Duplicate,
                    self.file,
                    name.span,
                    format!("`{}` is already defined in this block", name.name),
                )
                .with_label("defined again here")
                .with_help("give the second value its own name"),
            );
        }
        let declared_ty = declared.and_then(|ty| self.local_type(ty));
        let ty = self.expr(value, declared_ty.as_ref());
        let ty = match declared_ty {
            Some(declared_ty) => {
                self.assign_check(value, ty.as_ref(), &declared_ty, &name.name);
                Some(declared_ty)
            }
            None => ty,
        };
        self.bind(name, ty, "let");
    }

    /// A type written in a body (`let x: Decimal(2) = …`): scalars, and
    /// records and enums in scope. Unknown names are reported.
    fn local_type(&mut self, ty: &TypeRef) -> Option<Ty> {
        match &ty.kind {
            TypeRefKind::List(inner) => self.local_type(inner).map(|t| Ty::List(Box::new(t))),
            TypeRefKind::Optional(inner) => self.local_type(inner).map(Ty::optional),
            TypeRefKind::Named { path, args } => {
                let name = path.dotted();
                let numbers: Vec<u32> = args.iter().filter_map(|(n, _)| n.parse().ok()).collect();
                let scalar = match (name.as_str(), numbers.as_slice()) {
                    ("String", []) => Some(Ty::String { max_len: None }),
                    ("String", [n]) => Some(Ty::String { max_len: Some(*n) }),
                    ("Decimal", []) => Some(Ty::Decimal {
                        precision: None,
                        scale: None,
                    }),
                    ("Decimal", [s]) => Some(Ty::Decimal {
                        precision: None,
                        scale: Some(*s),
                    }),
                    ("Decimal", [p, s]) => Some(Ty::Decimal {
                        precision: Some(*p),
                        scale: Some(*s),
                    }),
                    ("Int", []) => Some(Ty::Int),
                    ("Bool", []) => Some(Ty::Bool),
                    ("Date", []) => Some(Ty::Date),
                    ("DateTime", []) => Some(Ty::DateTime),
                    ("Currency", []) => Some(Ty::Currency),
                    ("Country", []) => Some(Ty::Country),
                    _ => None,
                };
                if scalar.is_some() {
                    return scalar;
                }
                match self.scope().get(&name).map(|d| d.kind.clone()) {
                    Some(DefKind::Record(id)) => Some(Ty::Record(id)),
                    Some(DefKind::Enum(id)) => Some(Ty::Enum(id)),
                    Some(DefKind::Unresolved) => None,
                    _ => {
                        self.push(
                            Diagnostic::new(
                                Code::UnknownType,
                                self.file,
                                ty.span,
                                format!("unknown type `{}`", crate::syntax::dump::type_ref(ty)),
                            )
                            .with_label("not a built-in type, nor declared or imported here"),
                        );
                        None
                    }
                }
            }
        }
    }

    /// Reports required fields of `record_id` not assigned on every path.
    fn required_check(&mut self, record_id: RecordId, site: Span, block: &Block, assigned: &Assigned) {
        let Some(record) = self.ws.types.record(record_id) else {
            return;
        };
        if record.incomplete {
            return;
        }
        let visible = |m: ModuleId| self.is_visible(m);
        let missing: Vec<&crate::types::FieldDef> = record
            .fields
            .iter()
            .filter(|f| f.required && f.extension.is_none_or(visible) && !assigned.definite.contains(&f.name))
            .collect();
        if missing.is_empty() {
            return;
        }
        let names: Vec<&str> = missing.iter().map(|f| f.name.as_str()).collect();
        let mut diagnostic = Diagnostic::new(
            Code::MissingRequired,
            self.file,
            site,
            format!(
                "{} of `{}` {} not assigned on every path: {}",
                if missing.len() == 1 {
                    "a required field"
                } else {
                    "required fields"
                },
                record.name,
                if missing.len() == 1 { "is" } else { "are" },
                names.join(", ")
            ),
        )
        .with_label(format!("`{}` is built here", record.name));
        for field in &missing {
            if let Some(branch) = assigned.partial.get(&field.name) {
                diagnostic = diagnostic.with_secondary(
                    self.file,
                    *branch,
                    format!("`{}` is assigned on some paths of this branch only", field.name),
                );
            }
            diagnostic =
                diagnostic.with_secondary(field.file, field.span, format!("`{}` is required here", field.name));
        }
        let indent = "  ";
        let insertion: String = missing
            .iter()
            .filter(|f| !assigned.partial.contains_key(&f.name))
            .map(|f| {
                let placeholder =
                    f.ty.as_ref()
                        .map(|t| self.placeholder(t))
                        .unwrap_or_else(|| "\"\"".to_owned());
                format!("{indent}{} = {placeholder}\n", f.name)
            })
            .collect();
        if !insertion.is_empty() {
            diagnostic = diagnostic.with_edit(
                "assign the missing fields",
                Edit {
                    file: self.file,
                    span: Span::at((block.span.end as usize).saturating_sub(1)),
                    replacement: insertion,
                },
            );
        } else {
            diagnostic = diagnostic.with_help("assign them in every branch, or once before the branches");
        }
        self.push(diagnostic);
    }

    /// A value an analyst can start from for a field of type `ty`.
    fn placeholder(&self, ty: &Ty) -> String {
        match ty {
            Ty::String { .. } => "\"\"".to_owned(),
            Ty::Int => "0".to_owned(),
            Ty::Decimal { scale: Some(s), .. } if *s > 0 => format!("0.{}", "0".repeat(*s as usize)),
            Ty::Decimal { .. } => "0".to_owned(),
            Ty::Bool => "false".to_owned(),
            Ty::Date => "parse_date(\"2000-01-01\")".to_owned(),
            Ty::DateTime => "parse_datetime(\"2000-01-01T00:00:00Z\")".to_owned(),
            Ty::Currency => "\"EUR\"".to_owned(),
            Ty::Country => "\"DE\"".to_owned(),
            Ty::Enum(id) => self
                .ws
                .types
                .enumeration(*id)
                .and_then(|d| d.variants.first().map(|v| format!("{}.{}", d.name, v.name)))
                .unwrap_or_else(|| "\"\"".to_owned()),
            Ty::Record(_) | Ty::Group(..) => "{ }".to_owned(),
            Ty::List(_) => "[]".to_owned(),
            Ty::Optional(_) | Ty::None => "none".to_owned(),
        }
    }

    /// Checks a block used as a value: `let`s then one expression.
    fn block_value(&mut self, block: &Block, expected: Option<&Ty>) -> Option<Ty> {
        if let Some(ty) = expected
            && ty.as_record().is_some()
            && block
                .stmts
                .iter()
                .any(|s| matches!(s.kind, StmtKind::Assign { .. } | StmtKind::Nested { .. }))
        {
            let mut assigned = Assigned::default();
            self.record_block(
                block,
                ty,
                Span::new(block.span.start as usize, block.span.start as usize + 1),
                &mut assigned,
            );
            return Some(ty.strip_optional().clone());
        }
        let mut bound = HashSet::new();
        let mark = self.locals.len();
        let mut result = None;
        let count = block.stmts.len();
        for (index, stmt) in block.stmts.iter().enumerate() {
            match &stmt.kind {
                StmtKind::Let { name, ty, value } => {
                    self.let_stmt(name, ty.as_ref(), value, &mut bound);
                    if index + 1 == count {
                        self.push(
                            Diagnostic::new(
                                Code::BlockShape,
                                self.file,
                                stmt.span,
                                "this block ends without a value",
                            )
                            .with_label("a `let` cannot be the last statement of a value block")
                            .with_help("end the block with the value it yields"),
                        );
                    }
                }
                StmtKind::Expr(expr) => {
                    let ty = self.expr(expr, expected);
                    if index + 1 == count {
                        result = ty;
                    } else {
                        self.push(
                            Diagnostic::new(
                                Code::BlockShape,
                                self.file,
                                expr.span,
                                "a value in the middle of a block",
                            )
                            .with_label("only the last statement of a block gives its value")
                            .with_help("bind it with `let` or remove it"),
                        );
                    }
                }
                StmtKind::Assign { field, .. } | StmtKind::Nested { field, .. } => {
                    let what = match expected {
                        Some(ty) => format!("a `{}`, not a record", self.show(ty)),
                        None => "not a known record".to_owned(),
                    };
                    self.push(
                        Diagnostic::new(Code::BlockShape, self.file, field.span, format!("field assignment in a block that yields {what}"))
                            .with_label("nothing here has a field of that name to assign")
                            .with_help("assign fields only where a record is built (a mapping body, `Field { … }`, a `for` building a list of records)"),
                    );
                    if let StmtKind::Assign { value, .. } = &stmt.kind {
                        self.expr(value, None);
                    }
                }
                StmtKind::Error => {}
            }
        }
        if count == 0 && expected.is_some() {
            self.push(
                Diagnostic::new(Code::BlockShape, self.file, block.span, "an empty block has no value")
                    .with_label("expected a value here"),
            );
        }
        self.locals.truncate(mark);
        result
    }

    /// Looks up an assigned field on the record being built.
    /// A `@required` list (an XSD element with at least one occurrence)
    /// given the empty list `[]` can never be written.
    fn empty_required_list(&mut self, record_id: RecordId, field: &Ident, value: &Expr) {
        if !matches!(&value.kind, ExprKind::List(items) if items.is_empty()) {
            return;
        }
        let visible = |m: ModuleId| self.is_visible(m);
        let Some(def) = self.ws.types.field(record_id, &field.name, &visible) else {
            return;
        };
        if def.required && def.ty.as_ref().is_some_and(|t| t.element().is_some()) {
            let (file, span) = (def.file, def.span);
            self.push(
                Diagnostic::new(
                    Code::MissingRequired,
                    self.file,
                    value.span,
                    format!("`{}` is a required list, so it needs at least one element", field.name),
                )
                .with_label("this list is always empty")
                .with_secondary(file, span, "`@required` here"),
            );
        }
    }

    fn target_field(&mut self, record_id: RecordId, field: &Ident, assigned: &mut Assigned) -> Option<Ty> {
        if field.name.contains(COMPLETION_MARKER) {
            self.probe(field.span, ProbePlace::Target(record_id));
            assigned.unknown_target = true;
            return None;
        }
        let ws = self.ws;
        let record = ws.types.record(record_id)?;
        let found = ws.types.field(record_id, &field.name, &|m| self.is_visible(m));
        if found.is_some() {
            self.occurs(field.span, Symbol::Field(record_id, field.name.clone()), false);
        }
        let Some(def) = found else {
            let visible = |m: ModuleId| self.is_visible(m);
            assigned.unknown_target = true;
            if !record.incomplete {
                let names = self.ws.types.field_names(record_id, &visible);
                let mut diagnostic = Diagnostic::new(
                    Code::UnknownTargetField,
                    self.file,
                    field.span,
                    format!("`{}` is not a field of `{}`", field.name, record.name),
                )
                .with_label(format!("not in `{}.{}`", record.module_path, record.name))
                .with_secondary(record.file, record.span, "the record is declared here");
                if let Some(best) = closest(&field.name, names.iter().copied()) {
                    diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
                } else {
                    diagnostic =
                        diagnostic.with_help("a tenant's custom field must first be declared with `extend record`");
                }
                self.push(diagnostic);
            }
            return None;
        };
        if let Some(first) = assigned.any.get(&field.name) {
            let first = *first;
            self.push(
                Diagnostic::new(
                    Code::AssignedTwice,
                    self.file,
                    field.span,
                    format!("`{}` is assigned twice", field.name),
                )
                .with_label("assigned again here")
                .with_secondary(self.file, first, "first assigned here")
                .with_help("keep one assignment; use `if` or `??` to choose between values"),
            );
        } else {
            assigned.any.insert(field.name.clone(), field.span);
            assigned.definite.insert(field.name.clone());
        }
        def.ty.clone()
    }

    // ------------------------------------------------------------ assignment

    /// Checks that `value` (of type `ty`) may be stored in a `target`
    /// (a field, param or table value named `what`).
    fn assign_check(&mut self, value: &Expr, ty: Option<&Ty>, target: &Ty, what: &str) {
        let Some(ty) = ty else { return };
        if let Some(problem) = self.assignable(value, ty, target) {
            self.report_assign(value, ty, target, what, problem);
        }
    }

    fn assignable(&self, value: &Expr, ty: &Ty, target: &Ty) -> Option<Mismatch> {
        match (ty, target) {
            (Ty::None, Ty::Optional(_)) => None,
            (Ty::None, _) | (Ty::Optional(_), _) if !target.is_optional() => Some(Mismatch::Optional),
            (Ty::Optional(inner), Ty::Optional(target_inner)) => self.assignable(value, inner, target_inner),
            (_, Ty::Optional(target_inner)) => self.assignable(value, ty, target_inner),
            (Ty::String { .. }, Ty::String { max_len }) => match (literal_text(value), max_len) {
                (Some(text), Some(max)) if text.chars().count() > *max as usize => {
                    Some(Mismatch::TooLong(text.chars().count(), *max))
                }
                _ => None,
            },
            (Ty::Currency | Ty::Country, Ty::String { .. }) => None,
            (Ty::String { .. }, Ty::Currency | Ty::Country) => match literal_text(value) {
                Some(text) if valid_code(target, &text) => None,
                Some(_) => Some(Mismatch::BadCode),
                None => Some(Mismatch::Types),
            },
            // An Int is a decimal of scale 0; a `Decimal(p, s)` precision is
            // checked when the mapping runs.
            (Ty::Int, Ty::Decimal { .. }) => None,
            (
                Ty::Decimal { scale, .. },
                Ty::Decimal {
                    scale: Some(target_scale),
                    ..
                },
            ) => match scale {
                Some(s) if s <= target_scale => None,
                _ => Some(Mismatch::Scale(*scale, *target_scale)),
            },
            (Ty::Decimal { .. }, Ty::Decimal { scale: None, .. }) => None,
            (Ty::List(a), Ty::List(b)) => self.assignable(value, a, b).map(|_| Mismatch::Types),
            (a, b) if same_kind(a, b) => None,
            _ => Some(Mismatch::Types),
        }
    }

    fn report_assign(&mut self, value: &Expr, ty: &Ty, target: &Ty, what: &str, problem: Mismatch) {
        let shown = self.show(ty);
        let target_shown = self.show(target);
        let diagnostic = match problem {
            Mismatch::Optional => {
                let placeholder = self.placeholder(target.strip_optional());
                let source = self.ws.sources.get(self.file).slice(value.span).to_owned();
                Diagnostic::new(
                    Code::OptionalIntoRequired,
                    self.file,
                    value.span,
                    format!("`{what}` needs a value, but this may be absent (`{shown}`)"),
                )
                .with_label("may be absent")
                .with_note(format!(
                    "say what happens when it is absent: `?? default`, `if`, `match`, or `required({source}, \"reason\")` to fail the record"
                ))
                .with_fix("use a default when it is absent", format!("{source} ?? {placeholder}"))
            }
            Mismatch::Scale(scale, target_scale) => {
                let source = self.ws.sources.get(self.file).slice(value.span).to_owned();
                let places = match scale {
                    Some(s) => format!("up to {s} decimal places"),
                    None => "any number of decimal places (division, parsing)".to_owned(),
                };
                Diagnostic::new(
                    Code::ScaleMismatch,
                    self.file,
                    value.span,
                    format!("`{what}` takes {target_scale} decimal places, but this value may have {places}"),
                )
                .with_label(format!("may have more than {target_scale} places"))
                .with_note("decimals are never rounded silently: say how with `round`")
                .with_fix(
                    format!("round to {target_scale} places"),
                    format!("round({source}, {target_scale})"),
                )
            }
            Mismatch::TooLong(length, max) => {
                let diagnostic = Diagnostic::new(
                    Code::LiteralTooLong,
                    self.file,
                    value.span,
                    format!("this text has {length} characters; `{what}` takes at most {max}"),
                )
                .with_label(format!("longer than `String({max})`"));
                match literal_text(value) {
                    Some(text) => {
                        let cut: String = text.chars().take(max as usize).collect();
                        diagnostic.with_fix(format!("shorten it to {max} characters"), quote(&cut))
                    }
                    None => diagnostic.with_help(format!("shorten it to {max} characters")),
                }
            }
            Mismatch::BadCode => {
                let kind = if matches!(target, Ty::Currency) {
                    "an ISO 4217 currency code"
                } else {
                    "an ISO 3166-1 alpha-2 country code"
                };
                let diagnostic = Diagnostic::new(Code::BadCode, self.file, value.span, format!("this is not {kind}"))
                    .with_label(format!("`{what}` takes {kind}"));
                // A code in the wrong case is the common slip.
                match literal_text(value).map(|text| text.to_ascii_uppercase()) {
                    Some(upper) if valid_code(target, &upper) => {
                        diagnostic.with_fix("codes are written in upper case", quote(&upper))
                    }
                    _ => diagnostic,
                }
            }
            Mismatch::Types => {
                let mut diagnostic = Diagnostic::new(
                    Code::TypeMismatch,
                    self.file,
                    value.span,
                    format!("`{what}` is of type `{target_shown}`, but this value is of type `{shown}`"),
                )
                .with_label(format!("expected `{target_shown}`"));
                if let Some(help) = conversion_help(ty, target) {
                    diagnostic = diagnostic.with_help(help);
                }
                diagnostic
            }
        };
        self.push(diagnostic);
    }

    // ------------------------------------------------------------ expressions

    fn expr(&mut self, expr: &Expr, expected: Option<&Ty>) -> Option<Ty> {
        self.value(expr, expected).ty()
    }

    fn condition(&mut self, expr: &Expr) {
        let ty = self.expr(expr, Some(&Ty::Bool));
        self.expect(expr, ty.as_ref(), "a condition", |t| matches!(t, Ty::Bool), "`Bool`");
    }

    /// Reports when `ty` does not satisfy `ok`.
    fn expect(&mut self, expr: &Expr, ty: Option<&Ty>, role: &str, ok: impl Fn(&Ty) -> bool, wanted: &str) -> bool {
        let Some(ty) = ty else { return false };
        if ok(ty) {
            return true;
        }
        let shown = self.show(ty);
        let code = if ty.is_optional() && ok(ty.strip_optional()) {
            Code::OptionalIntoRequired
        } else {
            Code::TypeMismatch
        };
        let mut diagnostic = Diagnostic::new(
            code,
            self.file,
            expr.span,
            format!("{role} must be {wanted}, but this is `{shown}`"),
        )
        .with_label(format!("expected {wanted}"));
        if code == Code::OptionalIntoRequired {
            diagnostic = diagnostic.with_help("it may be absent: say what to use then with `??`");
        }
        self.push(diagnostic);
        false
    }

    /// The value of an expression; its type, when known, is recorded for
    /// hovers and for lowering.
    fn value(&mut self, expr: &Expr, expected: Option<&Ty>) -> Value {
        let value = self.value_of(expr, expected);
        if let Value::Typed(Some(ty)) = &value {
            self.expr_types.insert(expr.span, ty.clone());
        }
        value
    }

    fn value_of(&mut self, expr: &Expr, expected: Option<&Ty>) -> Value {
        match &expr.kind {
            ExprKind::Str(parts) => {
                for part in parts {
                    if let StrPart::Interpolation(inner) = part {
                        let ty = self.expr(inner, None);
                        if let Some(ty) = &ty
                            && !ty.is_text()
                        {
                            let shown = self.show(ty);
                            let (code, help) = if ty.is_optional() && ty.strip_optional().is_text() {
                                (
                                    Code::OptionalIntoRequired,
                                    "it may be absent: write `{x ?? \"\"}`".to_owned(),
                                )
                            } else {
                                (
                                    Code::TypeMismatch,
                                    conversion_help(ty, &Ty::String { max_len: None }).unwrap_or_default(),
                                )
                            };
                            self.push(
                                Diagnostic::new(
                                    code,
                                    self.file,
                                    inner.span,
                                    format!("only text can be interpolated, and this is `{shown}`"),
                                )
                                .with_label("not text")
                                .with_help(help),
                            );
                        }
                    }
                }
                Value::Typed(Some(Ty::String { max_len: None }))
            }
            ExprKind::Number(text) => Value::Typed(Some(if let Some((_, places)) = text.split_once('.') {
                Ty::Decimal {
                    precision: None,
                    scale: Some(places.len() as u32),
                }
            } else if text.parse::<i64>().is_err() {
                // A whole number beyond 64 bits is a decimal (exact up to
                // 28 digits).
                Ty::Decimal {
                    precision: None,
                    scale: Some(0),
                }
            } else {
                Ty::Int
            })),
            ExprKind::Bool(_) => Value::Typed(Some(Ty::Bool)),
            ExprKind::None => Value::Typed(Some(Ty::None)),
            ExprKind::Name(name) => self.name(name, expected),
            ExprKind::Field { base, name } => {
                let base_value = self.value(base, None);
                self.field(base_value, name)
            }
            ExprKind::Index { base, index } => {
                let base_value = self.value(base, None);
                match base_value {
                    Value::Table(key, value, total) => {
                        let index_ty = self.expr(index, key.as_ref());
                        if let (Some(key), Some(index_ty)) = (&key, &index_ty)
                            && self.assignable(index, index_ty, key).is_some()
                        {
                            let (key_shown, index_shown) = (self.show(key), self.show(index_ty));
                            self.push(
                                Diagnostic::new(
                                    if index_ty.is_optional() {
                                        Code::OptionalIntoRequired
                                    } else {
                                        Code::TypeMismatch
                                    },
                                    self.file,
                                    index.span,
                                    format!("this table's keys are `{key_shown}`, but this is `{index_shown}`"),
                                )
                                .with_label(format!("expected `{key_shown}`")),
                            );
                        }
                        // A lookup in a total table always finds an entry; in
                        // any other it may not, so its result is optional.
                        Value::Typed(if total { value } else { value.map(Ty::optional) })
                    }
                    Value::Typed(ty) => {
                        let index_ty = self.expr(index, Some(&Ty::Int));
                        self.expect(
                            index,
                            index_ty.as_ref(),
                            "a list position",
                            |t| matches!(t, Ty::Int),
                            "`Int`",
                        );
                        match &ty {
                            Some(t) if t.element().is_none() => {
                                let shown = self.show(t);
                                self.push(
                                    Diagnostic::new(
                                        Code::TypeMismatch,
                                        self.file,
                                        base.span,
                                        format!("only lists and tables can be indexed, and this is `{shown}`"),
                                    )
                                    .with_label("not a list or table"),
                                );
                                Value::Typed(None)
                            }
                            _ => Value::Typed(ty.as_ref().and_then(Ty::element).cloned().map(Ty::optional)),
                        }
                    }
                    Value::EnumType(_) => {
                        self.expr(index, None);
                        Value::Typed(None)
                    }
                }
            }
            ExprKind::Call { callee, args } => self.call(callee, args, expr.span),
            ExprKind::Unary { op, operand } => {
                let ty = self.expr(operand, None);
                match op {
                    UnaryOp::Not => {
                        self.expect(
                            operand,
                            ty.as_ref(),
                            "the operand of `not`",
                            |t| matches!(t, Ty::Bool),
                            "`Bool`",
                        );
                        Value::Typed(Some(Ty::Bool))
                    }
                    UnaryOp::Neg => {
                        if self.expect(operand, ty.as_ref(), "the operand of `-`", Ty::is_number, "a number") {
                            Value::Typed(ty.map(|t| builtins::typing::numeric_result(&t)))
                        } else {
                            Value::Typed(None)
                        }
                    }
                }
            }
            ExprKind::Binary { op, op_span, lhs, rhs } => self.binary(*op, *op_span, lhs, rhs, expected),
            ExprKind::If { cond, then, otherwise } => {
                self.condition(cond);
                let then_ty = self.block_value(then, expected);
                match otherwise {
                    Some(otherwise) => {
                        let else_ty = self.expr(otherwise, expected);
                        Value::Typed(self.join(then_ty, else_ty, expr.span, "the branches of this `if`"))
                    }
                    None => Value::Typed(then_ty.map(Ty::optional)),
                }
            }
            ExprKind::Match {
                scrutinee,
                arms,
                broken,
            } => {
                let scrutinee_ty = self.expr(scrutinee, None);
                let mut covered = Vec::new();
                let mut wildcard = false;
                let mut result: Option<Option<Ty>> = None;
                for arm in arms {
                    self.arm_patterns(arm, scrutinee_ty.as_ref(), &mut covered, &mut wildcard);
                    let ty = match &arm.value.kind {
                        ExprKind::Block(block) => self.block_value(block, expected),
                        _ => self.expr(&arm.value, expected),
                    };
                    result = Some(match result {
                        None => ty,
                        Some(so_far) => self.join(so_far, ty, arm.value.span, "the arms of this `match`"),
                    });
                }
                self.match_exhaustive(expr.span, scrutinee_ty.as_ref(), &covered, wildcard, broken.is_empty());
                Value::Typed(result.flatten())
            }
            ExprKind::For {
                item,
                index,
                source,
                filter,
                body,
            } => {
                let source_ty = self.expr(source, None);
                let element = match &source_ty {
                    Some(ty) if ty.element().is_some() && !ty.is_optional() => ty.element().cloned(),
                    Some(ty) => {
                        self.expect(
                            source,
                            Some(ty),
                            "what `for` goes through",
                            |t| matches!(t, Ty::List(_)),
                            "a list",
                        );
                        None
                    }
                    None => None,
                };
                let mark = self.locals.len();
                self.bind(item, element, "for");
                if let Some(index) = index {
                    self.bind(index, Some(Ty::Int), "for");
                }
                if let Some(filter) = filter {
                    self.condition(filter);
                }
                let body_expected = expected.and_then(Ty::element).cloned();
                let body_ty = match &body_expected {
                    Some(ty) if ty.as_record().is_some() => {
                        self.record_block(
                            body,
                            ty,
                            Span::new(expr.span.start as usize, expr.span.start as usize + 3),
                            &mut Assigned::default(),
                        );
                        Some(ty.clone())
                    }
                    _ => self.block_value(body, body_expected.as_ref()),
                };
                self.locals.truncate(mark);
                Value::Typed(body_ty.map(|t| Ty::List(Box::new(t))))
            }
            ExprKind::List(items) => {
                let element_expected = expected.and_then(Ty::element).cloned();
                let mut element: Option<Option<Ty>> = None;
                for item in items {
                    let ty = self.expr(item, element_expected.as_ref());
                    element = Some(match element {
                        None => ty,
                        Some(so_far) => self.join(so_far, ty, item.span, "the elements of this list"),
                    });
                }
                match element {
                    None => Value::Typed(
                        element_expected
                            .or(expected.and_then(Ty::element).cloned())
                            .map(|t| Ty::List(Box::new(t))),
                    ),
                    Some(ty) => Value::Typed(ty.map(|t| Ty::List(Box::new(t)))),
                }
            }
            ExprKind::Block(block) => match expected {
                Some(ty) if ty.as_record().is_some() => {
                    self.record_block(
                        block,
                        ty,
                        Span::new(block.span.start as usize, block.span.start as usize + 1),
                        &mut Assigned::default(),
                    );
                    Value::Typed(Some(ty.strip_optional().clone()))
                }
                _ => Value::Typed(self.block_value(block, expected)),
            },
            ExprKind::Error => Value::Typed(None),
        }
    }

    /// The common type of two branches (or reports that there is none).
    fn join(&mut self, a: Option<Ty>, b: Option<Ty>, span: Span, what: &str) -> Option<Ty> {
        let (a, b) = (a?, b?);
        if let Some(joined) = join_types(&a, &b) {
            return Some(joined);
        }
        let (a_shown, b_shown) = (self.show(&a), self.show(&b));
        self.push(
            Diagnostic::new(
                Code::TypeMismatch,
                self.file,
                span,
                format!("{what} have different types: `{a_shown}` and `{b_shown}`"),
            )
            .with_label(format!("this is `{b_shown}`"))
            .with_help("make every branch give the same type"),
        );
        None
    }

    fn binary(&mut self, op: BinaryOp, op_span: Span, lhs: &Expr, rhs: &Expr, expected: Option<&Ty>) -> Value {
        match op {
            BinaryOp::Where => {
                let source = self.expr(lhs, expected);
                let element = match &source {
                    Some(ty) if matches!(ty, Ty::List(_)) => ty.element().cloned(),
                    Some(ty) => {
                        self.expect(
                            lhs,
                            Some(ty),
                            "the left side of `where`",
                            |t| matches!(t, Ty::List(_)),
                            "a list",
                        );
                        None
                    }
                    None => None,
                };
                let mark = self.locals.len();
                self.locals.push(Local {
                    name: "it".to_owned(),
                    ty: element,
                    def: None,
                });
                self.condition(rhs);
                self.locals.truncate(mark);
                Value::Typed(source.filter(|t| matches!(t, Ty::List(_))))
            }
            BinaryOp::Coalesce => {
                let left = self.expr(lhs, None);
                let right = self.expr(rhs, expected.or(left.as_ref().map(Ty::strip_optional)));
                if let Some(left) = &left
                    && !left.is_optional()
                {
                    let shown = self.show(left);
                    self.push(
                        Diagnostic::new(
                            Code::NeverAbsent,
                            self.file,
                            op_span,
                            format!("the left side of `??` is never absent (`{shown}`)"),
                        )
                        .with_label("the default is never used")
                        .with_secondary(self.file, lhs.span, "always has a value")
                        .with_help("remove `?? …`"),
                    );
                    return Value::Typed(Some(left.clone()));
                }
                match (left, right) {
                    (Some(Ty::None), right) => Value::Typed(right),
                    (Some(left), Some(right)) => {
                        let inner = left.strip_optional().clone();
                        let joined = self.join(Some(inner), Some(right.clone()), rhs.span, "the two sides of `??`");
                        Value::Typed(joined.map(|t| if right.is_optional() { t.optional() } else { t }))
                    }
                    _ => Value::Typed(None),
                }
            }
            BinaryOp::And | BinaryOp::Or => {
                for side in [lhs, rhs] {
                    let ty = self.expr(side, Some(&Ty::Bool));
                    self.expect(
                        side,
                        ty.as_ref(),
                        &format!("each side of `{}`", op.as_str()),
                        |t| matches!(t, Ty::Bool),
                        "`Bool`",
                    );
                }
                Value::Typed(Some(Ty::Bool))
            }
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let left = self.expr(lhs, None);
                let right = self.expr(rhs, left.as_ref().map(Ty::strip_optional));
                if let (Some(l), Some(r)) = (&left, &right) {
                    let ordering = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
                    let presence = matches!(l, Ty::None) || matches!(r, Ty::None);
                    let comparable = if presence {
                        // `x == none`: whether an optional value is absent.
                        !ordering && l.is_optional() && r.is_optional()
                    } else if ordering {
                        !l.is_optional() && !r.is_optional() && orderable(l) && join_types(l, r).is_some()
                    } else {
                        join_types(l, r).is_some()
                            && !matches!(l.strip_optional(), Ty::List(_) | Ty::Record(_) | Ty::Group(..))
                    };
                    if !comparable {
                        let (ls, rs) = (self.show(l), self.show(r));
                        let code = if ordering && (l.is_optional() || r.is_optional()) {
                            Code::OptionalIntoRequired
                        } else {
                            Code::TypeMismatch
                        };
                        self.push(
                            Diagnostic::new(
                                code,
                                self.file,
                                op_span,
                                format!("`{}` cannot compare `{ls}` with `{rs}`", op.as_str()),
                            )
                            .with_label("not comparable")
                            .with_secondary(self.file, lhs.span, format!("`{ls}`"))
                            .with_secondary(self.file, rhs.span, format!("`{rs}`")),
                        );
                    }
                }
                Value::Typed(Some(Ty::Bool))
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                let left = self.expr(lhs, None);
                let right = self.expr(rhs, None);
                // An unknown side was reported already: say nothing more.
                let (Some(l), Some(r)) = (left, right) else {
                    return Value::Typed(None);
                };
                if op == BinaryOp::Add && l.is_text() && r.is_text() {
                    self.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            self.file,
                            op_span,
                            "`+` adds numbers; it does not join text",
                        )
                        .with_label("both sides are text")
                        .with_help("join text with interpolation: \"{a}{b}\""),
                    );
                    return Value::Typed(None);
                }
                let role = format!("each side of `{}`", op.as_str());
                let left_ok = self.expect(lhs, Some(&l), &role, Ty::is_number, "a number");
                let right_ok = self.expect(rhs, Some(&r), &role, Ty::is_number, "a number");
                if !(left_ok && right_ok) {
                    return Value::Typed(None);
                }
                Value::Typed(Some(arithmetic(op, &l, &r)))
            }
        }
    }

    fn name(&mut self, name: &Ident, expected: Option<&Ty>) -> Value {
        if name.name.contains(COMPLETION_MARKER) {
            self.probe(name.span, ProbePlace::Value(expected.cloned()));
            return Value::Typed(None);
        }
        if let Some(local) = self.locals.iter().rev().find(|l| l.name == name.name) {
            let ty = local.ty.clone();
            if let Some(def) = local.def {
                let location = self.location(def);
                self.occurs(name.span, Symbol::Local(location), false);
            }
            return Value::Typed(ty);
        }
        let def = self.scope().get(&name.name).cloned();
        if let Some(symbol) = def.as_ref().and_then(|d| d.kind.symbol(d.location)) {
            self.occurs(name.span, symbol, false);
        }
        match def.map(|d| d.kind) {
            Some(DefKind::Param(ty)) => Value::Typed(ty),
            Some(DefKind::Table(key, value, total)) => Value::Table(key, value, total),
            Some(DefKind::Enum(id)) => Value::EnumType(id),
            Some(DefKind::Unresolved) => Value::Typed(None),
            Some(DefKind::Record(_)) => {
                self.push(
                    Diagnostic::new(
                        Code::UnknownName,
                        self.file,
                        name.span,
                        format!("`{}` is a record type, not a value", name.name),
                    )
                    .with_label("a type cannot be used as a value")
                    .with_help("build a record with `{ Field = … }`, or read a field of an input"),
                );
                Value::Typed(None)
            }
            Some(DefKind::Mapping(..) | DefKind::Function(..)) => {
                self.push(
                    Diagnostic::new(
                        Code::UnknownName,
                        self.file,
                        name.span,
                        format!("`{}` is a function; call it with `(…)`", name.name),
                    )
                    .with_label("not a value"),
                );
                Value::Typed(None)
            }
            None => {
                let mut candidates: Vec<&str> = self.locals.iter().map(|l| l.name.as_str()).collect();
                candidates.extend(
                    self.scope_names(|kind| matches!(kind, DefKind::Param(_) | DefKind::Table(..) | DefKind::Enum(_))),
                );
                let mut diagnostic = Diagnostic::new(
                    Code::UnknownName,
                    self.file,
                    name.span,
                    format!("unknown name `{}`", name.name),
                )
                .with_label("not defined here");
                if let Some(best) = closest(&name.name, candidates) {
                    diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
                } else if name.name == "it" {
                    diagnostic = diagnostic.with_note("`it` is defined only in the condition after `where`");
                }
                self.push(diagnostic);
                Value::Typed(None)
            }
        }
    }

    fn field(&mut self, base: Value, name: &Ident) -> Value {
        if name.name.contains(COMPLETION_MARKER) {
            let place = match &base {
                Value::EnumType(id) => ProbePlace::Variant(*id),
                Value::Typed(ty) => ProbePlace::Field(ty.clone()),
                Value::Table(..) => ProbePlace::Field(None),
            };
            self.probe(name.span, place);
            return Value::Typed(None);
        }
        match base {
            Value::EnumType(id) => {
                let Some(def) = self.ws.types.enumeration(id) else {
                    return Value::Typed(None);
                };
                let known = def.variants.iter().any(|v| v.name == name.name);
                let incomplete = def.incomplete;
                if known {
                    self.occurs(name.span, Symbol::Variant(id, name.name.clone()), false);
                }
                if known || incomplete {
                    return Value::Typed(Some(Ty::Enum(id)));
                }
                self.unknown_variant(id, name);
                Value::Typed(None)
            }
            Value::Table(..) => {
                self.push(
                    Diagnostic::new(Code::UnknownField, self.file, name.span, "a table has no fields")
                        .with_label("look a key up with `table[key]`"),
                );
                Value::Typed(None)
            }
            Value::Typed(Some(Ty::Group(key, item))) => match name.name.as_str() {
                "key" => Value::Typed(Some(*key)),
                "items" => Value::Typed(Some(Ty::List(item))),
                _ => {
                    self.push(
                        Diagnostic::new(
                            Code::UnknownField,
                            self.file,
                            name.span,
                            format!("a group has no field `{}`", name.name),
                        )
                        .with_label("a group from `group_by` has `key` and `items`"),
                    );
                    Value::Typed(None)
                }
            },
            Value::Typed(Some(ty)) => {
                let optional = ty.is_optional();
                let Some(record_id) = ty.as_record() else {
                    if !matches!(ty, Ty::None) {
                        let shown = self.show(&ty);
                        let help = if ty.element().is_some() {
                            "this is a list: go through it with `for`, or pick an element with `first(…)`"
                        } else {
                            "only records have fields"
                        };
                        self.push(
                            Diagnostic::new(
                                Code::UnknownField,
                                self.file,
                                name.span,
                                format!("`{shown}` has no field `{}`", name.name),
                            )
                            .with_label("not a record")
                            .with_help(help),
                        );
                    }
                    return Value::Typed(None);
                };
                let Some(record) = self.ws.types.record(record_id) else {
                    return Value::Typed(None);
                };
                let visible = |m: ModuleId| self.is_visible(m);
                match self.ws.types.field(record_id, &name.name, &visible) {
                    Some(field) => {
                        let ty = field.ty.clone().map(|t| if optional { t.optional() } else { t });
                        self.occurs(name.span, Symbol::Field(record_id, name.name.clone()), false);
                        Value::Typed(ty)
                    }
                    None => {
                        if !record.incomplete {
                            let names = self.ws.types.field_names(record_id, &visible);
                            let mut diagnostic = Diagnostic::new(
                                Code::UnknownField,
                                self.file,
                                name.span,
                                format!("`{}` has no field `{}`", record.name, name.name),
                            )
                            .with_label(format!("not a field of `{}.{}`", record.module_path, record.name))
                            .with_secondary(
                                record.file,
                                record.span,
                                "the record is declared here",
                            );
                            if let Some(best) = closest(&name.name, names.iter().copied()) {
                                diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
                            }
                            self.push(diagnostic);
                        }
                        Value::Typed(None)
                    }
                }
            }
            Value::Typed(None) => Value::Typed(None),
        }
    }

    fn unknown_variant(&mut self, id: EnumId, name: &Ident) {
        let Some(def) = self.ws.types.enumeration(id) else {
            return;
        };
        if def.incomplete {
            return;
        }
        let names: Vec<&str> = def.variants.iter().map(|v| v.name.as_str()).collect();
        let mut diagnostic = Diagnostic::new(
            Code::UnknownVariant,
            self.file,
            name.span,
            format!("`{}` has no variant `{}`", def.name, name.name),
        )
        .with_label(format!("not a variant of `{}.{}`", def.module_path, def.name))
        .with_note(format!("its variants are: {}", names.join(", ")))
        .with_secondary(def.file, def.span, "the enum is declared here");
        if let Some(best) = closest(&name.name, names.iter().copied()) {
            diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
        }
        self.push(diagnostic);
    }

    fn arm_patterns(&mut self, arm: &MatchArm, scrutinee: Option<&Ty>, covered: &mut Vec<String>, wildcard: &mut bool) {
        for pattern in &arm.patterns {
            let variant = self.pattern(pattern, scrutinee);
            if arm.guard.is_none() {
                match pattern {
                    Pattern::Wildcard(_) => *wildcard = true,
                    _ => covered.extend(variant),
                }
            }
        }
        if let Some(guard) = &arm.guard {
            self.condition(guard);
        }
    }

    /// Checks that a `match` covers every case; returns whether it does.
    fn match_exhaustive(
        &mut self,
        span: Span,
        scrutinee: Option<&Ty>,
        covered: &[String],
        wildcard: bool,
        complete_syntax: bool,
    ) -> bool {
        if wildcard {
            return true;
        }
        if self.unknown_pattern {
            // A pattern named an unknown variant (reported): the arms are
            // probably meant to cover it.
            self.unknown_pattern = false;
            return false;
        }
        if !complete_syntax {
            return false;
        }
        let head = Span::new(span.start as usize, span.start as usize + 5);
        match scrutinee.map(Ty::strip_optional) {
            Some(Ty::Enum(id)) => {
                let missing = self.missing_variants(*id, covered);
                if scrutinee.is_some_and(Ty::is_optional) {
                    self.push(
                        Diagnostic::new(
                            Code::NonExhaustiveMatch,
                            self.file,
                            head,
                            "this `match` does not cover an absent value",
                        )
                        .with_label("the value may be absent")
                        .with_help("add a `none => …` arm, or match on `x ?? default`"),
                    );
                    return false;
                }
                if missing.is_empty() {
                    return true;
                }
                self.push(
                    Diagnostic::new(
                        Code::NonExhaustiveMatch,
                        self.file,
                        head,
                        format!("this `match` does not cover {}", missing.join(", ")),
                    )
                    .with_label("not every variant has an arm")
                    .with_help(format!(
                        "add an arm for each ({}), or a `_ => …` arm",
                        missing.join(", ")
                    )),
                );
                false
            }
            Some(_) => {
                self.push(
                    Diagnostic::new(
                        Code::NonExhaustiveMatch,
                        self.file,
                        head,
                        "this `match` needs a `_ => …` arm",
                    )
                    .with_label("the patterns cannot cover every possible value")
                    .with_help("add `_ => …` for every other value"),
                );
                false
            }
            None => true,
        }
    }

    /// Checks one pattern against the scrutinee's type; returns the variant
    /// it names, if it names one.
    fn pattern(&mut self, pattern: &Pattern, scrutinee: Option<&Ty>) -> Option<String> {
        match pattern {
            Pattern::Wildcard(_) => None,
            Pattern::Literal(expr) => {
                let ty = self.expr(expr, scrutinee);
                if let (Some(ty), Some(scrutinee)) = (&ty, scrutinee)
                    && join_types(ty, scrutinee.strip_optional()).is_none()
                    && !matches!(ty, Ty::None)
                {
                    let (shown, scrutinee_shown) = (self.show(ty), self.show(scrutinee));
                    self.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            self.file,
                            expr.span,
                            format!("this pattern is `{shown}`, but the value is `{scrutinee_shown}`"),
                        )
                        .with_label(format!("expected `{scrutinee_shown}`")),
                    );
                }
                None
            }
            Pattern::Path(path) => {
                if let (Some(Ty::Enum(id)), Some(last)) = (scrutinee.map(Ty::strip_optional), path.segments.last())
                    && last.name.contains(COMPLETION_MARKER)
                {
                    self.probe(last.span, ProbePlace::Variant(*id));
                    return None;
                }
                let Some(Ty::Enum(id)) = scrutinee.map(Ty::strip_optional) else {
                    if let Some(scrutinee) = scrutinee {
                        let shown = self.show(scrutinee);
                        self.push(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                self.file,
                                path.span,
                                format!("`{}` names an enum variant, but the value is `{shown}`", path.dotted()),
                            )
                            .with_label("use a literal pattern here"),
                        );
                    }
                    return None;
                };
                let id = *id;
                let variant = match path.segments.as_slice() {
                    [variant] => variant,
                    [enum_name, variant] => {
                        let matches_enum = self.ws.types.enumeration(id).is_some_and(|d| d.name == enum_name.name);
                        if !matches_enum {
                            let shown = self
                                .ws
                                .types
                                .enumeration(id)
                                .map(|d| d.name.clone())
                                .unwrap_or_default();
                            self.push(
                                Diagnostic::new(
                                    Code::UnknownVariant,
                                    self.file,
                                    enum_name.span,
                                    format!("expected a variant of `{shown}`"),
                                )
                                .with_label(format!("`{}` is not `{shown}`", enum_name.name)),
                            );
                            return None;
                        }
                        variant
                    }
                    _ => return None,
                };
                let known = self
                    .ws
                    .types
                    .enumeration(id)
                    .is_some_and(|d| d.variants.iter().any(|v| v.name == variant.name));
                if known {
                    if let [enum_name, _] = path.segments.as_slice() {
                        self.occurs(enum_name.span, Symbol::Enum(id), false);
                    }
                    self.occurs(variant.span, Symbol::Variant(id, variant.name.clone()), false);
                    Some(variant.name.clone())
                } else {
                    self.unknown_variant(id, variant);
                    self.unknown_pattern = true;
                    None
                }
            }
        }
    }

    fn call(&mut self, callee: &Ident, args: &[Arg], span: Span) -> Value {
        let function = match self.scope().get(&callee.name).map(|d| d.kind.clone()) {
            Some(DefKind::Function(params, result)) => Some((params, result)),
            _ => None,
        };
        let builtin = if function.is_none() {
            builtins::get(&callee.name)
        } else {
            None
        };
        if function.is_some()
            && let Some(def) = self.scope().get(&callee.name)
        {
            let location = def.location;
            self.occurs(callee.span, Symbol::Function(location), false);
        } else if let Some(builtin) = builtin {
            self.occurs(callee.span, Symbol::Builtin(builtin.name), false);
        }
        if function.is_none() && builtin.is_none() {
            self.unknown_function(callee);
            for arg in args {
                match arg {
                    Arg::Expr(expr) => {
                        self.expr(expr, None);
                    }
                    Arg::Lambda(lambda) => self.lambda(lambda, Vec::new()),
                }
            }
            return Value::Typed(None);
        }
        if let Some((params, result)) = function {
            if args.len() != params.len() {
                self.push(
                    Diagnostic::new(
                        Code::WrongArgumentCount,
                        self.file,
                        callee.span,
                        format!(
                            "`{}` takes {} argument{}, but {} {} given",
                            callee.name,
                            params.len(),
                            if params.len() == 1 { "" } else { "s" },
                            args.len(),
                            if args.len() == 1 { "is" } else { "are" }
                        ),
                    )
                    .with_label("wrong number of arguments"),
                );
            }
            for (index, arg) in args.iter().enumerate() {
                let expected = params.get(index).cloned().flatten();
                match arg {
                    Arg::Expr(expr) => {
                        let ty = self.expr(expr, expected.as_ref());
                        if let Some(target) = &expected {
                            let what = format!("argument {} of `{}`", index + 1, callee.name);
                            self.assign_check(expr, ty.as_ref(), target, &what);
                        }
                    }
                    Arg::Lambda(lambda) => {
                        self.lambda(lambda, Vec::new());
                        self.push(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                self.file,
                                lambda.span,
                                "a `fn` takes values, not lambdas",
                            )
                            .with_label("not a value"),
                        );
                    }
                }
            }
            return Value::Typed(result);
        }
        let Some(builtin) = builtin else {
            return Value::Typed(None);
        };
        let (min, max) = builtin.arity;
        let arity_ok = args.len() >= min && args.len() <= max;
        if !arity_ok {
            let expected = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            self.push(
                Diagnostic::new(
                    Code::WrongArgumentCount,
                    self.file,
                    callee.span,
                    format!(
                        "`{}` takes {expected} arguments, but {} {} given",
                        builtin.name,
                        args.len(),
                        if args.len() == 1 { "is" } else { "are" }
                    ),
                )
                .with_label("wrong number of arguments")
                .with_note(format!("`{}`", builtin.signature)),
            );
        }
        let mut arg_types: Vec<ArgTy> = Vec::with_capacity(args.len());
        for (index, arg) in args.iter().enumerate() {
            match arg {
                Arg::Expr(expr) => {
                    if let ExprKind::Name(word) = &expr.kind
                        && builtin.modes.contains(&word.name.as_str())
                        && self.locals.iter().all(|l| l.name != word.name)
                        && !self.scope().contains_key(&word.name)
                    {
                        arg_types.push(ArgTy::Mode(word.name.clone()));
                        continue;
                    }
                    let ty = self.expr(expr, None);
                    let literal = match &expr.kind {
                        ExprKind::Number(text) if !text.contains('.') => text.parse::<i64>().ok(),
                        _ => None,
                    };
                    arg_types.push(ArgTy::Value(ty, literal));
                }
                Arg::Lambda(lambda) => {
                    let params = (builtin.lambda_params)(index, &arg_types);
                    let result = self.lambda_typed(lambda, params);
                    arg_types.push(ArgTy::Lambda(result));
                }
            }
        }
        if !arity_ok {
            return Value::Typed(None);
        }
        let store = &self.ws.types;
        let show = |ty: &Ty| store.display(ty).to_string();
        let typing = Typing {
            args: &arg_types,
            show: &show,
        };
        match (builtin.typing)(&typing) {
            Ok(ty) => Value::Typed(ty),
            Err(error) => {
                let at = args
                    .get(error.index)
                    .map(|arg| match arg {
                        Arg::Expr(expr) => expr.span,
                        Arg::Lambda(lambda) => lambda.span,
                    })
                    .unwrap_or(span);
                let absent = error.message.starts_with("may be absent");
                let code = if absent {
                    Code::OptionalIntoRequired
                } else {
                    Code::TypeMismatch
                };
                let subject = if error.index == usize::MAX {
                    format!("`{}`", builtin.name)
                } else {
                    format!("argument {} of `{}`", error.index + 1, builtin.name)
                };
                self.push(
                    Diagnostic::new(code, self.file, at, format!("{subject} {}", error.message))
                        .with_label(if absent { "may be absent" } else { "wrong type" })
                        .with_note(format!("`{}`", builtin.signature)),
                );
                Value::Typed(None)
            }
        }
    }

    fn unknown_function(&mut self, callee: &Ident) {
        if let Some((_, reason)) = builtins::IMPURE.iter().find(|(name, _)| *name == callee.name) {
            self.push(
                Diagnostic::new(Code::Impure, self.file, callee.span, format!("mappings are pure: `{}` is not available", callee.name))
                    .with_label("would give a different result for the same event")
                    .with_note(format!("{reason}: the same event, params and tables must always give the same payload, so retries and replays are safe")),
            );
            return;
        }
        let mut candidates: Vec<&str> = builtins::all().iter().map(|b| b.name).collect();
        candidates.extend(self.scope_names(|kind| matches!(kind, DefKind::Function(..))));
        let mut diagnostic = Diagnostic::new(
            Code::UnknownFunction,
            self.file,
            callee.span,
            format!("unknown function `{}`", callee.name),
        )
        .with_label("neither a builtin nor a `fn` of this file");
        if matches!(
            self.scope().get(&callee.name).map(|d| &d.kind),
            Some(DefKind::Table(..))
        ) {
            diagnostic = diagnostic.with_help(format!(
                "`{}` is a table: look a key up with `{}[key]`",
                callee.name, callee.name
            ));
        } else if let Some(best) = closest(&callee.name, candidates) {
            diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
        }
        self.push(diagnostic);
    }

    fn lambda(&mut self, lambda: &Lambda, params: Vec<Option<Ty>>) {
        self.lambda_typed(lambda, params);
    }

    fn lambda_typed(&mut self, lambda: &Lambda, params: Vec<Option<Ty>>) -> Option<Ty> {
        let mark = self.locals.len();
        for (index, param) in lambda.params.iter().enumerate() {
            self.bind(param, params.get(index).cloned().flatten(), "lambda");
        }
        let ty = self.expr(&lambda.body, None);
        self.locals.truncate(mark);
        ty
    }
}

/// Why a value cannot be stored in a target.
enum Mismatch {
    Optional,
    Scale(Option<u32>, u32),
    TooLong(usize, u32),
    BadCode,
    Types,
}

/// The text of a string literal without interpolations.
fn literal_text(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Str(parts) => {
            let mut text = String::new();
            for part in parts {
                match part {
                    StrPart::Text(piece) => text.push_str(piece),
                    StrPart::Interpolation(_) => return None,
                }
            }
            Some(text)
        }
        _ => None,
    }
}

/// A string literal for `text`, escaped as the grammar needs.
fn quote(text: &str) -> String {
    let mut out = String::from('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// Whether a literal is a valid code for `Currency` or `Country`: three or
/// two upper-case letters (the runtime checks against the ISO lists).
fn valid_code(target: &Ty, text: &str) -> bool {
    let length = if matches!(target, Ty::Currency) { 3 } else { 2 };
    text.len() == length && text.bytes().all(|b| b.is_ascii_uppercase())
}

/// Whether two types are the same kind for assignment purposes.
fn same_kind(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::String { .. }, Ty::String { .. }) => true,
        (Ty::Decimal { .. }, Ty::Decimal { .. }) => true,
        (Ty::List(x), Ty::List(y)) => same_kind(x, y),
        _ => a == b,
    }
}

/// Whether values of a type can be ordered with `<`.
fn orderable(ty: &Ty) -> bool {
    matches!(
        ty,
        Ty::Int | Ty::Decimal { .. } | Ty::String { .. } | Ty::Date | Ty::DateTime | Ty::Currency | Ty::Country
    )
}

/// The common type of two branch types, if any.
fn join_types(a: &Ty, b: &Ty) -> Option<Ty> {
    match (a, b) {
        (Ty::None, Ty::None) => Some(Ty::None),
        (Ty::None, other) | (other, Ty::None) => Some(other.clone().optional()),
        (Ty::Optional(x), Ty::Optional(y)) => join_types(x, y).map(Ty::optional),
        (Ty::Optional(x), y) | (y, Ty::Optional(x)) => join_types(x, y).map(Ty::optional),
        (Ty::String { max_len: x }, Ty::String { max_len: y }) => Some(Ty::String {
            max_len: match (x, y) {
                (Some(x), Some(y)) => Some(*x.max(y)),
                _ => None,
            },
        }),
        (Ty::String { .. }, Ty::Currency | Ty::Country) | (Ty::Currency | Ty::Country, Ty::String { .. }) => {
            Some(Ty::String { max_len: None })
        }
        (x, y) if x.is_number() && y.is_number() => Some(builtins::typing::wider_number(x, y)),
        (Ty::List(x), Ty::List(y)) => join_types(x, y).map(|t| Ty::List(Box::new(t))),
        (x, y) if x == y => Some(x.clone()),
        _ => None,
    }
}

/// The type of `l op r` on numbers, with DESIGN.md's scale rules.
fn arithmetic(op: BinaryOp, l: &Ty, r: &Ty) -> Ty {
    let scale = |t: &Ty| builtins::typing::scale_of(t);
    let decimal = |scale: Option<u32>| Ty::Decimal { precision: None, scale };
    match op {
        BinaryOp::Div => decimal(None),
        _ if matches!((l, r), (Ty::Int, Ty::Int)) => Ty::Int,
        BinaryOp::Mul => decimal(match (scale(l), scale(r)) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        }),
        _ => decimal(match (scale(l), scale(r)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        }),
    }
}

/// How to convert explicitly, for a type mismatch.
fn conversion_help(from: &Ty, to: &Ty) -> Option<String> {
    let to = to.strip_optional();
    Some(match (from.strip_optional(), to) {
        (Ty::Int | Ty::Decimal { .. } | Ty::Bool | Ty::Enum(_), Ty::String { .. }) => {
            "write it as text with `text(…)`".to_owned()
        }
        (Ty::Date | Ty::DateTime, Ty::String { .. }) => {
            "write it as text with `format_date(…, pattern)` or `text(…)`".to_owned()
        }
        (Ty::String { .. }, Ty::Int) => "read a number from text with `parse_int(…)` (it can fail)".to_owned(),
        (Ty::String { .. }, Ty::Decimal { .. }) => {
            "read a number from text with `parse_decimal(…)` (it can fail)".to_owned()
        }
        (Ty::String { .. }, Ty::Date) => "read a date from text with `parse_date(…)` (it can fail)".to_owned(),
        (Ty::String { .. }, Ty::DateTime) => {
            "read a date-time from text with `parse_datetime(…)` (it can fail)".to_owned()
        }
        (Ty::Decimal { .. }, Ty::Int) => "an `Int` field takes whole numbers: round the value first".to_owned(),
        (Ty::Enum(_), Ty::Enum(_)) => "map one enum to the other with a `table` or `match`".to_owned(),
        (Ty::List(_), _) => "this is a list: build it with `for`, or take one element with `first(…)`".to_owned(),
        _ => return None,
    })
}
