//! Names and fields inside mapping, function, param and table bodies.
//!
//! Walks every expression with its scope (locals, loop and lambda
//! variables, `it`, params, tables, functions, enum types), infers just
//! enough of each expression's type to look fields up, and checks target
//! assignments against the record being built. Type errors beyond names and
//! fields are the checker's job; where a type is unknown here, nothing is
//! reported, so one mistake never cascades.

use super::{Def, DefKind, ModuleLoader, Workspace};
use crate::builtins::{self, Returns};
use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::suggest::closest;
use crate::source::FileId;
use crate::span::Span;
use crate::syntax::ast::*;
use crate::types::{ModuleId, RecordId, Ty};
use std::collections::{HashMap, HashSet};

/// A local variable.
struct Local {
    name: String,
    ty: Option<Ty>,
}

pub(super) struct BodyChecker<'w, L: ModuleLoader> {
    ws: &'w Workspace<L>,
    module: ModuleId,
    file: FileId,
    visible: &'w HashSet<ModuleId>,
    locals: Vec<Local>,
    diagnostics: Vec<Diagnostic>,
}

/// What the value of an expression is, as far as names go.
enum Value {
    /// A value of this type (or of unknown type).
    Typed(Option<Ty>),
    /// A table.
    Table(Option<Ty>, Option<Ty>),
    /// An enum type name (for `Type.variant`).
    EnumType(crate::types::EnumId),
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
        }
    }

    pub(super) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    fn scope(&self) -> &HashMap<String, Def> {
        static EMPTY: std::sync::OnceLock<HashMap<String, Def>> = std::sync::OnceLock::new();
        self.ws
            .module(self.module)
            .map(|m| &m.scope)
            .unwrap_or_else(|| EMPTY.get_or_init(HashMap::new))
    }

    fn is_visible(&self, module: ModuleId) -> bool {
        self.visible.contains(&module)
    }

    pub(super) fn check_module(&mut self, ast: &Module) {
        for item in &ast.items {
            match &item.kind {
                ItemKind::Param(param) => {
                    if let Some(default) = &param.default {
                        let expected = self.def_ty(&param.name.name);
                        self.expr(default, expected.as_ref());
                    }
                }
                ItemKind::Table(table) => self.table(table),
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

    fn table(&mut self, table: &TableDecl) {
        let (key, value) = match self.scope().get(&table.name.name).map(|d| &d.kind) {
            Some(DefKind::Table(key, value)) => (key.clone(), value.clone()),
            _ => (None, None),
        };
        let Some(entries) = &table.entries else { return };
        for entry in entries {
            for pattern in &entry.patterns {
                self.pattern(pattern, key.as_ref());
            }
            self.expr(&entry.value, value.as_ref());
        }
    }

    fn function(&mut self, function: &FunctionDecl) {
        let (params, result) = match self.scope().get(&function.name.name).map(|d| &d.kind) {
            Some(DefKind::Mapping(params, result) | DefKind::Function(params, result)) => {
                (params.clone(), result.clone())
            }
            _ => (Vec::new(), None),
        };
        let mark = self.locals.len();
        for (index, param) in function.params.iter().enumerate() {
            self.locals.push(Local {
                name: param.name.name.clone(),
                ty: params.get(index).cloned().flatten(),
            });
        }
        self.block(&function.body, result.as_ref(), &mut HashMap::new());
        self.locals.truncate(mark);
    }

    // ------------------------------------------------------------ blocks

    /// Checks a block. When `expected` is a record, the block builds it and
    /// its assignments are checked against it; `assigned` tracks the fields
    /// already assigned on this path.
    fn block(&mut self, block: &Block, expected: Option<&Ty>, assigned: &mut HashMap<String, Span>) {
        let target = expected.and_then(Ty::as_record);
        let mark = self.locals.len();
        for stmt in &block.stmts {
            match &stmt.kind {
                StmtKind::Let { name, value, .. } => {
                    if self.locals[mark..].iter().any(|l| l.name == name.name) {
                        self.diagnostics.push(
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
                    let ty = self.expr(value, None);
                    self.locals.push(Local {
                        name: name.name.clone(),
                        ty,
                    });
                }
                StmtKind::Assign { field, value } => {
                    let field_ty = self.target_field(target, field, assigned);
                    self.expr(value, field_ty.as_ref());
                }
                StmtKind::Nested { field, block: inner } => {
                    let field_ty = self.target_field(target, field, assigned);
                    match &field_ty {
                        Some(ty) if ty.as_record().is_none() => {
                            let shown = self.ws.types.display(ty).to_string();
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::NotARecordField,
                                    self.file,
                                    field.span,
                                    format!("`{}` is a `{shown}`, not a record", field.name),
                                )
                                .with_label("a block `{ … }` builds a record")
                                .with_help(format!("assign a value instead: `{} = …`", field.name)),
                            );
                            self.block(inner, None, &mut HashMap::new());
                        }
                        _ => self.block(inner, field_ty.as_ref(), &mut HashMap::new()),
                    }
                }
                StmtKind::Expr(expr) => {
                    // An `if` or `match` among assignments assigns the same
                    // record in each branch.
                    if target.is_some() && matches!(expr.kind, ExprKind::If { .. } | ExprKind::Match { .. }) {
                        self.conditional(expr, expected, assigned);
                    } else {
                        self.expr(expr, expected);
                    }
                }
                StmtKind::Error => {}
            }
        }
        self.locals.truncate(mark);
    }

    /// An `if`/`match` statement whose branches assign fields of the record
    /// being built.
    fn conditional(&mut self, expr: &Expr, expected: Option<&Ty>, assigned: &mut HashMap<String, Span>) {
        match &expr.kind {
            ExprKind::If { cond, then, otherwise } => {
                self.expr(cond, Some(&Ty::Bool));
                let mut union = assigned.clone();
                let mut branch = assigned.clone();
                self.block(then, expected, &mut branch);
                union.extend(branch);
                if let Some(otherwise) = otherwise {
                    let mut branch = assigned.clone();
                    match &otherwise.kind {
                        ExprKind::Block(block) => self.block(block, expected, &mut branch),
                        _ => self.conditional(otherwise, expected, &mut branch),
                    }
                    union.extend(branch);
                }
                *assigned = union;
            }
            ExprKind::Match { scrutinee, arms, .. } => {
                let scrutinee_ty = self.expr(scrutinee, None);
                let mut union = assigned.clone();
                for arm in arms {
                    for pattern in &arm.patterns {
                        self.pattern(pattern, scrutinee_ty.as_ref());
                    }
                    if let Some(guard) = &arm.guard {
                        self.expr(guard, Some(&Ty::Bool));
                    }
                    let mut branch = assigned.clone();
                    match &arm.value.kind {
                        ExprKind::Block(block) => self.block(block, expected, &mut branch),
                        _ => {
                            self.expr(&arm.value, expected);
                        }
                    }
                    union.extend(branch);
                }
                *assigned = union;
            }
            _ => {
                self.expr(expr, None);
            }
        }
    }

    /// Looks up an assigned field on the record being built.
    fn target_field(
        &mut self,
        target: Option<RecordId>,
        field: &Ident,
        assigned: &mut HashMap<String, Span>,
    ) -> Option<Ty> {
        let record_id = target?;
        let record = self.ws.types.record(record_id)?;
        let visible = |m: ModuleId| self.is_visible(m);
        let Some(def) = self.ws.types.field(record_id, &field.name, &visible) else {
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
                self.diagnostics.push(diagnostic);
            }
            return None;
        };
        if let Some(first) = assigned.get(&field.name) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::AssignedTwice,
                    self.file,
                    field.span,
                    format!("`{}` is assigned twice", field.name),
                )
                .with_label("assigned again here")
                .with_secondary(self.file, *first, "first assigned here")
                .with_help("keep one assignment; use `if` or `??` to choose between values"),
            );
        } else {
            assigned.insert(field.name.clone(), field.span);
        }
        def.ty.clone()
    }

    // ------------------------------------------------------------ expressions

    fn expr(&mut self, expr: &Expr, expected: Option<&Ty>) -> Option<Ty> {
        self.value(expr, expected).ty()
    }

    fn value(&mut self, expr: &Expr, expected: Option<&Ty>) -> Value {
        match &expr.kind {
            ExprKind::Str(parts) => {
                for part in parts {
                    if let StrPart::Interpolation(inner) = part {
                        self.expr(inner, None);
                    }
                }
                Value::Typed(Some(Ty::String { max_len: None }))
            }
            ExprKind::Number(text) => Value::Typed(Some(if text.contains('.') {
                let scale = text.split('.').nth(1).map_or(0, str::len) as u32;
                Ty::Decimal {
                    precision: None,
                    scale: Some(scale),
                }
            } else {
                Ty::Int
            })),
            ExprKind::Bool(_) => Value::Typed(Some(Ty::Bool)),
            ExprKind::None => Value::Typed(None),
            ExprKind::Name(name) => self.name(name),
            ExprKind::Field { base, name } => {
                let base_value = self.value(base, None);
                self.field(base_value, name)
            }
            ExprKind::Index { base, index } => {
                let base_value = self.value(base, None);
                match base_value {
                    Value::Table(key, value) => {
                        self.expr(index, key.as_ref());
                        Value::Typed(value.map(|v| Ty::Optional(Box::new(v))))
                    }
                    Value::Typed(ty) => {
                        self.expr(index, Some(&Ty::Int));
                        Value::Typed(
                            ty.as_ref()
                                .and_then(Ty::element)
                                .cloned()
                                .map(|t| Ty::Optional(Box::new(t))),
                        )
                    }
                    Value::EnumType(_) => {
                        self.expr(index, None);
                        Value::Typed(None)
                    }
                }
            }
            ExprKind::Call { callee, args } => self.call(callee, args),
            ExprKind::Unary { op, operand } => {
                let ty = self.expr(operand, None);
                Value::Typed(match op {
                    UnaryOp::Not => Some(Ty::Bool),
                    UnaryOp::Neg => ty,
                })
            }
            ExprKind::Binary { op, lhs, rhs, .. } => self.binary(*op, lhs, rhs, expected),
            ExprKind::If { cond, then, otherwise } => {
                self.expr(cond, Some(&Ty::Bool));
                self.block(then, expected, &mut HashMap::new());
                if let Some(otherwise) = otherwise {
                    self.expr(otherwise, expected);
                }
                Value::Typed(expected.cloned())
            }
            ExprKind::Match { scrutinee, arms, .. } => {
                let scrutinee_ty = self.expr(scrutinee, None);
                for arm in arms {
                    for pattern in &arm.patterns {
                        self.pattern(pattern, scrutinee_ty.as_ref());
                    }
                    if let Some(guard) = &arm.guard {
                        self.expr(guard, Some(&Ty::Bool));
                    }
                    self.expr(&arm.value, expected);
                }
                Value::Typed(expected.cloned())
            }
            ExprKind::For {
                item,
                index,
                source,
                filter,
                body,
            } => {
                let source_ty = self.expr(source, None);
                let element = source_ty.as_ref().and_then(Ty::element).cloned();
                let mark = self.locals.len();
                self.locals.push(Local {
                    name: item.name.clone(),
                    ty: element,
                });
                if let Some(index) = index {
                    self.locals.push(Local {
                        name: index.name.clone(),
                        ty: Some(Ty::Int),
                    });
                }
                if let Some(filter) = filter {
                    self.expr(filter, Some(&Ty::Bool));
                }
                let body_expected = expected.and_then(Ty::element).cloned();
                self.block(body, body_expected.as_ref(), &mut HashMap::new());
                self.locals.truncate(mark);
                Value::Typed(expected.cloned())
            }
            ExprKind::List(items) => {
                let element = expected.and_then(Ty::element).cloned();
                for item in items {
                    self.expr(item, element.as_ref());
                }
                Value::Typed(expected.cloned())
            }
            ExprKind::Block(block) => {
                self.block(block, expected, &mut HashMap::new());
                Value::Typed(expected.cloned())
            }
            ExprKind::Error => Value::Typed(None),
        }
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, expected: Option<&Ty>) -> Value {
        match op {
            BinaryOp::Where => {
                let source = self.expr(lhs, expected);
                let element = source.as_ref().and_then(Ty::element).cloned();
                let mark = self.locals.len();
                self.locals.push(Local {
                    name: "it".to_owned(),
                    ty: element,
                });
                self.expr(rhs, Some(&Ty::Bool));
                self.locals.truncate(mark);
                Value::Typed(source)
            }
            BinaryOp::Coalesce => {
                let left = self.expr(lhs, None);
                let right = self.expr(rhs, expected);
                Value::Typed(right.or_else(|| left.map(|l| l.strip_optional().clone())))
            }
            BinaryOp::And
            | BinaryOp::Or
            | BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => {
                let left = self.expr(lhs, None);
                self.expr(rhs, left.as_ref().map(|l| l.strip_optional()));
                Value::Typed(Some(Ty::Bool))
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                let left = self.expr(lhs, None);
                let right = self.expr(rhs, None);
                let any_decimal = [&left, &right]
                    .iter()
                    .any(|t| matches!(t.as_ref().map(|t| t.strip_optional()), Some(Ty::Decimal { .. })));
                Value::Typed(if any_decimal || op == BinaryOp::Div {
                    Some(Ty::Decimal {
                        precision: None,
                        scale: None,
                    })
                } else {
                    left
                })
            }
        }
    }

    fn name(&mut self, name: &Ident) -> Value {
        if let Some(local) = self.locals.iter().rev().find(|l| l.name == name.name) {
            return Value::Typed(local.ty.clone());
        }
        match self.scope().get(&name.name).map(|d| d.kind.clone()) {
            Some(DefKind::Param(ty)) => Value::Typed(ty),
            Some(DefKind::Table(key, value)) => Value::Table(key, value),
            Some(DefKind::Enum(id)) => Value::EnumType(id),
            Some(DefKind::Unresolved) => Value::Typed(None),
            Some(DefKind::Record(_)) => {
                self.diagnostics.push(
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
                self.diagnostics.push(
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
                    self.scope()
                        .iter()
                        .filter(|(_, d)| matches!(d.kind, DefKind::Param(_) | DefKind::Table(..) | DefKind::Enum(_)))
                        .map(|(n, _)| n.as_str()),
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
                self.diagnostics.push(diagnostic);
                Value::Typed(None)
            }
        }
    }

    fn field(&mut self, base: Value, name: &Ident) -> Value {
        match base {
            Value::EnumType(id) => {
                let Some(def) = self.ws.types.enumeration(id) else {
                    return Value::Typed(None);
                };
                if def.variants.iter().any(|v| v.name == name.name) || def.incomplete {
                    return Value::Typed(Some(Ty::Enum(id)));
                }
                self.unknown_variant(id, name);
                Value::Typed(None)
            }
            Value::Table(..) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::UnknownField, self.file, name.span, "a table has no fields")
                        .with_label("look a key up with `table[key]`"),
                );
                Value::Typed(None)
            }
            Value::Typed(Some(ty)) => {
                let optional = ty.is_optional();
                let Some(record_id) = ty.as_record() else {
                    return Value::Typed(None);
                };
                let Some(record) = self.ws.types.record(record_id) else {
                    return Value::Typed(None);
                };
                let visible = |m: ModuleId| self.is_visible(m);
                match self.ws.types.field(record_id, &name.name, &visible) {
                    Some(field) => Value::Typed(field.ty.clone().map(|t| {
                        if optional && !t.is_optional() {
                            Ty::Optional(Box::new(t))
                        } else {
                            t
                        }
                    })),
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
                            self.diagnostics.push(diagnostic);
                        }
                        Value::Typed(None)
                    }
                }
            }
            Value::Typed(None) => Value::Typed(None),
        }
    }

    fn unknown_variant(&mut self, id: crate::types::EnumId, name: &Ident) {
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
        self.diagnostics.push(diagnostic);
    }

    fn pattern(&mut self, pattern: &Pattern, scrutinee: Option<&Ty>) {
        match pattern {
            Pattern::Wildcard(_) => {}
            Pattern::Literal(expr) => {
                self.expr(expr, scrutinee);
            }
            Pattern::Path(path) => {
                let Some(Ty::Enum(id)) = scrutinee.map(Ty::strip_optional) else {
                    return;
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
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::UnknownVariant,
                                    self.file,
                                    enum_name.span,
                                    format!("expected a variant of `{shown}`"),
                                )
                                .with_label(format!("`{}` is not `{shown}`", enum_name.name)),
                            );
                            return;
                        }
                        variant
                    }
                    _ => return,
                };
                let known = self
                    .ws
                    .types
                    .enumeration(id)
                    .is_some_and(|d| d.variants.iter().any(|v| v.name == variant.name));
                if !known {
                    self.unknown_variant(id, variant);
                }
            }
        }
    }

    fn call(&mut self, callee: &Ident, args: &[Arg]) -> Value {
        let function = match self.scope().get(&callee.name).map(|d| d.kind.clone()) {
            Some(DefKind::Function(params, result)) => Some((params, result)),
            _ => None,
        };
        let builtin = builtins::get(&callee.name);
        if function.is_none() && builtin.is_none() {
            let mut candidates: Vec<&str> = builtins::all().iter().map(|b| b.name).collect();
            candidates.extend(
                self.scope()
                    .iter()
                    .filter(|(_, d)| matches!(d.kind, DefKind::Function(..)))
                    .map(|(n, _)| n.as_str()),
            );
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
            self.diagnostics.push(diagnostic);
        }
        // Arguments: lambdas see the element type of the first list argument.
        let mut arg_types: Vec<Option<Ty>> = Vec::with_capacity(args.len());
        for (index, arg) in args.iter().enumerate() {
            match arg {
                Arg::Expr(expr) => {
                    let expected = function
                        .as_ref()
                        .and_then(|(params, _)| params.get(index).cloned().flatten());
                    // Bare words such as `half_even` name modes of builtins.
                    if builtin.is_some()
                        && let ExprKind::Name(word) = &expr.kind
                        && ROUNDING_MODES.contains(&word.name.as_str())
                        && self.locals.iter().all(|l| l.name != word.name)
                        && !self.scope().contains_key(&word.name)
                    {
                        arg_types.push(None);
                        continue;
                    }
                    arg_types.push(self.expr(expr, expected.as_ref()));
                }
                Arg::Lambda(lambda) => {
                    let element = arg_types.first().cloned().flatten().and_then(|t| t.element().cloned());
                    let mark = self.locals.len();
                    for param in &lambda.params {
                        self.locals.push(Local {
                            name: param.name.clone(),
                            ty: element.clone(),
                        });
                    }
                    self.expr(&lambda.body, None);
                    self.locals.truncate(mark);
                    arg_types.push(None);
                }
            }
        }
        if let Some((_, result)) = function {
            return Value::Typed(result);
        }
        let Some(builtin) = builtin else {
            return Value::Typed(None);
        };
        Value::Typed(match &builtin.returns {
            Returns::Fixed(ty) => Some(ty.clone()),
            Returns::ArgType(n) => arg_types.get(*n).cloned().flatten(),
            Returns::ArgPresent(n) => arg_types.get(*n).cloned().flatten().map(|t| t.strip_optional().clone()),
            Returns::Element(n) => arg_types.get(*n).cloned().flatten().and_then(|t| t.element().cloned()),
            Returns::ElementOptional(n) => arg_types
                .get(*n)
                .cloned()
                .flatten()
                .and_then(|t| t.element().cloned())
                .map(|t| Ty::Optional(Box::new(t))),
            Returns::Unknown => None,
        })
    }
}

/// Rounding modes that `round(x, n, mode)` takes as bare words.
const ROUNDING_MODES: &[&str] = &["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"];
