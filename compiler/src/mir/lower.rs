//! Lowering a checked `.map` module to MIR.
//!
//! Lowering reads the syntax tree with the types the checker recorded for
//! every expression, so it picks each operation by type and each field by
//! slot. It runs only on modules that checked clean; what it cannot lower is
//! a [`LowerError`], never a guess.

use super::{Arm, Body, Check, Expr, FieldRef, Fold, Function, LocalId, Loop, Module, Op, Param, Stmt, Table};
use crate::helpers::number;
use crate::interp::value::Value;
use crate::resolve::{DefKind, ModuleLoader, Workspace};
use crate::span::Span;
use crate::syntax::ast::{self, ExprKind, ItemKind, StmtKind};
use crate::types::{ModuleId, RecordId, Ty};
use std::collections::HashMap;

/// Why a module could not be lowered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    /// The module has errors; lowering needs a clean check.
    #[error("the module does not check clean")]
    NotChecked,
    /// Something the checker accepted that lowering does not handle: a bug.
    #[error("cannot lower {what} at bytes {}..{}", span.start, span.end)]
    Unsupported {
        /// What it was.
        what: String,
        /// Where.
        span: Span,
    },
}

type Result<T> = std::result::Result<T, LowerError>;

fn unsupported(what: impl Into<String>, span: Span) -> LowerError {
    LowerError::Unsupported {
        what: what.into(),
        span,
    }
}

/// Lowers module `module` of `workspace` (a checked `.map` file).
pub fn lower<L: ModuleLoader>(workspace: &Workspace<L>, module: ModuleId) -> Result<Module> {
    let info = workspace.module(module).ok_or(LowerError::NotChecked)?;
    let mut names = Names::default();
    for item in &info.ast.items {
        match &item.kind {
            ItemKind::Param(param) => {
                names.params.insert(param.name.name.clone(), names.params.len() as u32);
            }
            ItemKind::Table(table) => {
                names.tables.insert(table.name.name.clone(), names.tables.len() as u32);
            }
            ItemKind::Mapping(function) | ItemKind::Function(function) => {
                names
                    .functions
                    .insert(function.name.name.clone(), names.functions.len() as u32);
            }
            _ => {}
        }
    }
    let mut out = Module::default();
    for item in &info.ast.items {
        match &item.kind {
            ItemKind::Param(param) => {
                let default = match &param.default {
                    Some(expr) => {
                        let ty = def_ty(workspace, module, &param.name.name);
                        Some(Lowerer::new(workspace, module, &names).body(|l| l.expr(expr, ty.as_ref()))?)
                    }
                    None => None,
                };
                out.params.push(Param {
                    name: param.name.name.clone(),
                    default,
                });
            }
            ItemKind::Table(table) => out.tables.push(lower_table(workspace, module, &names, table)?),
            ItemKind::Mapping(function) | ItemKind::Function(function) => {
                let is_mapping = matches!(item.kind, ItemKind::Mapping(_));
                let result = match info.scope.get(&function.name.name).map(|d| &d.kind) {
                    Some(DefKind::Mapping(_, result) | DefKind::Function(_, result)) => result.clone(),
                    _ => None,
                };
                let mut lowerer = Lowerer::new(workspace, module, &names);
                for param in &function.params {
                    lowerer.bind(&param.name.name);
                }
                let expr = match &result {
                    Some(Ty::Record(id)) if is_mapping => lowerer.record_block(&function.body, *id)?,
                    other => lowerer.value_block(&function.body, other.as_ref())?,
                };
                out.functions.push(Function {
                    name: function.name.name.clone(),
                    is_mapping,
                    arity: function.params.len() as u32,
                    body: Body {
                        locals: lowerer.locals,
                        expr,
                    },
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

fn def_ty<L: ModuleLoader>(workspace: &Workspace<L>, module: ModuleId, name: &str) -> Option<Ty> {
    match workspace.module(module)?.scope.get(name).map(|d| &d.kind) {
        Some(DefKind::Param(ty)) => ty.clone(),
        _ => None,
    }
}

fn lower_table<L: ModuleLoader>(
    workspace: &Workspace<L>,
    module: ModuleId,
    names: &Names,
    table: &ast::TableDecl,
) -> Result<Table> {
    let (key, value) = match workspace
        .module(module)
        .and_then(|m| m.scope.get(&table.name.name))
        .map(|d| &d.kind)
    {
        Some(DefKind::Table(key, value, _)) => (key.clone(), value.clone()),
        _ => (None, None),
    };
    let Some(entries) = &table.entries else {
        return Ok(Table {
            name: table.name.name.clone(),
            entries: None,
            fallback: None,
        });
    };
    let mut lowered = Vec::new();
    let mut fallback = None;
    for entry in entries {
        let body = Lowerer::new(workspace, module, names).body(|l| l.expr(&entry.value, value.as_ref()))?;
        let mut keys = Vec::new();
        let mut wildcard = false;
        for pattern in &entry.patterns {
            match pattern {
                ast::Pattern::Wildcard(_) => wildcard = true,
                other => keys.push(Lowerer::new(workspace, module, names).pattern(other, key.as_ref())?),
            }
        }
        if wildcard {
            fallback = Some(body.clone());
        }
        if !keys.is_empty() {
            lowered.push((keys, body));
        }
    }
    Ok(Table {
        name: table.name.name.clone(),
        entries: Some(lowered),
        fallback,
    })
}

#[derive(Default)]
struct Names {
    params: HashMap<String, u32>,
    tables: HashMap<String, u32>,
    functions: HashMap<String, u32>,
}

struct Lowerer<'a, L: ModuleLoader> {
    workspace: &'a Workspace<L>,
    names: &'a Names,
    types: &'a HashMap<Span, Ty>,
    locals: Vec<String>,
    scope: Vec<(String, LocalId)>,
}

impl<'a, L: ModuleLoader> Lowerer<'a, L> {
    fn new(workspace: &'a Workspace<L>, module: ModuleId, names: &'a Names) -> Self {
        static EMPTY: std::sync::OnceLock<HashMap<Span, Ty>> = std::sync::OnceLock::new();
        let types = workspace
            .module(module)
            .map(|m| &m.expr_types)
            .unwrap_or_else(|| EMPTY.get_or_init(HashMap::new));
        Lowerer {
            workspace,
            names,
            types,
            locals: Vec::new(),
            scope: Vec::new(),
        }
    }

    fn body(mut self, build: impl FnOnce(&mut Self) -> Result<Expr>) -> Result<Body> {
        let expr = build(&mut self)?;
        Ok(Body {
            locals: self.locals,
            expr,
        })
    }

    fn bind(&mut self, name: &str) -> LocalId {
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(name.to_owned());
        self.scope.push((name.to_owned(), id));
        id
    }

    fn fresh(&mut self, name: &str) -> LocalId {
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(name.to_owned());
        id
    }

    fn ty(&self, expr: &ast::Expr) -> Option<&'a Ty> {
        self.types.get(&expr.span)
    }

    fn is_decimal(&self, expr: &ast::Expr) -> bool {
        matches!(self.ty(expr).map(Ty::strip_optional), Some(Ty::Decimal { .. }))
    }

    // ------------------------------------------------------------ blocks

    fn record_block(&mut self, block: &ast::Block, record: RecordId) -> Result<Expr> {
        let slots = self.workspace.types.record(record).map_or(0, |r| r.fields.len()) as u32;
        let mark = self.scope.len();
        let local = self.fresh("record");
        let mut stmts = vec![Stmt::Let(local, Expr::NewRecord(record, slots))];
        self.record_stmts(block, record, local, &mut stmts)?;
        self.scope.truncate(mark);
        Ok(Expr::Block(stmts, Box::new(Expr::Local(local))))
    }

    fn record_stmts(
        &mut self,
        block: &ast::Block,
        record: RecordId,
        local: LocalId,
        out: &mut Vec<Stmt>,
    ) -> Result<()> {
        let mark = self.scope.len();
        for stmt in &block.stmts {
            match &stmt.kind {
                StmtKind::Let { name, value, .. } => {
                    let value = self.expr(value, None)?;
                    let id = self.bind(&name.name);
                    out.push(Stmt::Let(id, value));
                }
                StmtKind::Assign { field, value } => {
                    let (slot, ty) = self.slot(record, field)?;
                    let value = self.expr(value, ty.as_ref())?;
                    out.push(Stmt::SetSlot {
                        record: local,
                        field: FieldRef {
                            slot,
                            name: field.name.clone(),
                        },
                        // A literal's length and places were checked when
                        // the file was (E0203, E0204).
                        check: if matches!(value, Expr::Const(_)) {
                            None
                        } else {
                            ty.as_ref().and_then(|ty| Check::for_type(ty, self.is_xml(record)))
                        },
                        value,
                    });
                }
                StmtKind::Nested { field, block: inner } => {
                    let (slot, ty) = self.slot(record, field)?;
                    let nested = ty
                        .as_ref()
                        .and_then(Ty::as_record)
                        .ok_or_else(|| unsupported("a nested block on a non-record field", field.span))?;
                    let value = self.record_block(inner, nested)?;
                    out.push(Stmt::SetSlot {
                        record: local,
                        field: FieldRef {
                            slot,
                            name: field.name.clone(),
                        },
                        value,
                        check: None,
                    });
                }
                StmtKind::Expr(expr) => match &expr.kind {
                    ExprKind::If { cond, then, otherwise } => {
                        out.push(self.if_stmt(cond, then, otherwise.as_deref(), record, local)?);
                    }
                    ExprKind::Match { scrutinee, arms, .. } => {
                        let scrutinee_ty = self.ty(scrutinee).cloned();
                        let scrutinee = self.expr(scrutinee, None)?;
                        let mut lowered = Vec::new();
                        for arm in arms {
                            let (patterns, guard) = self.arm_head(arm, scrutinee_ty.as_ref())?;
                            let mut body = Vec::new();
                            match &arm.value.kind {
                                ExprKind::Block(inner) => self.record_stmts(inner, record, local, &mut body)?,
                                _ => return Err(unsupported("a value in a record block", arm.value.span)),
                            }
                            lowered.push(Arm { patterns, guard, body });
                        }
                        out.push(Stmt::Match {
                            scrutinee,
                            arms: lowered,
                        });
                    }
                    _ => return Err(unsupported("a value in a record block", expr.span)),
                },
                StmtKind::Error => return Err(LowerError::NotChecked),
            }
        }
        self.scope.truncate(mark);
        Ok(())
    }

    fn if_stmt(
        &mut self,
        cond: &ast::Expr,
        then: &ast::Block,
        otherwise: Option<&ast::Expr>,
        record: RecordId,
        local: LocalId,
    ) -> Result<Stmt> {
        let cond = self.expr(cond, None)?;
        let mut then_stmts = Vec::new();
        self.record_stmts(then, record, local, &mut then_stmts)?;
        let mut else_stmts = Vec::new();
        match otherwise.map(|e| &e.kind) {
            None => {}
            Some(ExprKind::Block(block)) => self.record_stmts(block, record, local, &mut else_stmts)?,
            Some(ExprKind::If { cond, then, otherwise }) => {
                else_stmts.push(self.if_stmt(cond, then, otherwise.as_deref(), record, local)?);
            }
            Some(_) => return Err(unsupported("an `else` that is not a block", then.span)),
        }
        Ok(Stmt::If {
            cond,
            then: then_stmts,
            otherwise: else_stmts,
        })
    }

    /// Whether `record` is written to an XML document (its schema's format).
    fn is_xml(&self, record: RecordId) -> bool {
        self.workspace
            .types
            .record(record)
            .and_then(|r| self.workspace.module(r.module))
            .is_some_and(|m| m.format.format == crate::resolve::annotations::WireFormat::Xml)
    }

    fn slot(&self, record: RecordId, field: &ast::Ident) -> Result<(u32, Option<Ty>)> {
        let def = self
            .workspace
            .types
            .record(record)
            .ok_or_else(|| unsupported("an unknown record", field.span))?;
        let index = *def
            .field_index
            .get(&field.name)
            .ok_or_else(|| unsupported(format!("an unknown field `{}`", field.name), field.span))?;
        Ok((index as u32, def.fields.get(index).and_then(|f| f.ty.clone())))
    }

    fn value_block(&mut self, block: &ast::Block, expected: Option<&Ty>) -> Result<Expr> {
        if let Some(Ty::Record(id)) = expected.map(Ty::strip_optional)
            && block
                .stmts
                .iter()
                .any(|s| matches!(s.kind, StmtKind::Assign { .. } | StmtKind::Nested { .. }))
        {
            return self.record_block(block, *id);
        }
        let mark = self.scope.len();
        let mut stmts = Vec::new();
        let mut result = Expr::Const(Value::Absent);
        let count = block.stmts.len();
        for (index, stmt) in block.stmts.iter().enumerate() {
            match &stmt.kind {
                StmtKind::Let { name, value, .. } => {
                    let value = self.expr(value, None)?;
                    let id = self.bind(&name.name);
                    stmts.push(Stmt::Let(id, value));
                }
                StmtKind::Expr(expr) if index + 1 == count => result = self.expr(expr, expected)?,
                _ => return Err(unsupported("a statement in a value block", stmt.span)),
            }
        }
        self.scope.truncate(mark);
        Ok(if stmts.is_empty() {
            result
        } else {
            Expr::Block(stmts, Box::new(result))
        })
    }

    // ------------------------------------------------------------ expressions

    fn expr(&mut self, expr: &ast::Expr, expected: Option<&Ty>) -> Result<Expr> {
        Ok(match &expr.kind {
            ExprKind::Str(parts) => {
                let mut pieces = Vec::new();
                for part in parts {
                    match part {
                        ast::StrPart::Text(text) => pieces.push(Expr::Const(Value::Text(text.clone()))),
                        ast::StrPart::Interpolation(inner) => pieces.push(self.expr(inner, None)?),
                    }
                }
                match pieces.len() {
                    1 if matches!(pieces[0], Expr::Const(_)) => pieces.remove(0),
                    _ => Expr::Call(Op::Concat, pieces),
                }
            }
            ExprKind::Number(text) => Expr::Const(if text.contains('.') {
                Value::Decimal(number::parse(text, '.').map_err(|_| unsupported("a number literal", expr.span))?)
            } else {
                match text.parse() {
                    Ok(n) => Value::Int(n),
                    // A whole number where a decimal is expected may be
                    // beyond 64 bits (up to 28 digits).
                    Err(_) if self.is_decimal(expr) => Value::Decimal(
                        number::parse(text, '.').map_err(|_| unsupported("a number literal", expr.span))?,
                    ),
                    Err(_) => return Err(unsupported("an integer beyond 64 bits", expr.span)),
                }
            }),
            ExprKind::Bool(value) => Expr::Const(Value::Bool(*value)),
            ExprKind::None => Expr::Const(Value::Absent),
            ExprKind::Name(name) => self.name(name)?,
            ExprKind::Field { base, name } => {
                if let ExprKind::Name(type_name) = &base.kind
                    && !self.is_local(&type_name.name)
                    && let Some(Ty::Enum(id)) = self.ty(expr)
                {
                    return self.variant(*id, &name.name, name.span);
                }
                let base_ty = self.ty(base).map(Ty::strip_optional).cloned();
                let lowered = self.expr(base, None)?;
                match base_ty {
                    Some(Ty::Record(id)) => {
                        let (slot, _) = self.slot(id, name)?;
                        Expr::Field(
                            Box::new(lowered),
                            FieldRef {
                                slot,
                                name: name.name.clone(),
                            },
                        )
                    }
                    Some(Ty::Group(..)) => Expr::Field(
                        Box::new(lowered),
                        FieldRef {
                            slot: if name.name == "key" { 0 } else { 1 },
                            name: name.name.clone(),
                        },
                    ),
                    _ => return Err(unsupported("a field of a value that is not a record", name.span)),
                }
            }
            ExprKind::Index { base, index } => {
                if let ExprKind::Name(name) = &base.kind
                    && !self.is_local(&name.name)
                    && let Some(table) = self.names.tables.get(&name.name)
                {
                    let key = self.expr(index, None)?;
                    Expr::Lookup(*table, Box::new(key))
                } else {
                    Expr::Index(Box::new(self.expr(base, None)?), Box::new(self.expr(index, None)?))
                }
            }
            ExprKind::Call { callee, args } => self.call(expr, callee, args)?,
            ExprKind::Unary { op, operand } => {
                let decimal = self.is_decimal(operand);
                let value = self.expr(operand, None)?;
                match op {
                    ast::UnaryOp::Not => Expr::Call(Op::Not, vec![value]),
                    ast::UnaryOp::Neg => Expr::Call(if decimal { Op::DecNeg } else { Op::IntNeg }, vec![value]),
                }
            }
            ExprKind::Binary { op, lhs, rhs, .. } => self.binary(*op, lhs, rhs, expected)?,
            ExprKind::If { cond, then, otherwise } => {
                let cond = self.expr(cond, None)?;
                let then = self.value_block(then, expected)?;
                let otherwise = match otherwise {
                    Some(otherwise) => match &otherwise.kind {
                        ExprKind::Block(block) => self.value_block(block, expected)?,
                        _ => self.expr(otherwise, expected)?,
                    },
                    None => Expr::Const(Value::Absent),
                };
                Expr::If(Box::new(cond), Box::new(then), Box::new(otherwise))
            }
            ExprKind::Match { scrutinee, arms, .. } => {
                let scrutinee_ty = self.ty(scrutinee).cloned();
                let value = self.expr(scrutinee, None)?;
                let mut lowered = Vec::new();
                for arm in arms {
                    let (patterns, guard) = self.arm_head(arm, scrutinee_ty.as_ref())?;
                    let body = match &arm.value.kind {
                        ExprKind::Block(block) => self.value_block(block, expected)?,
                        _ => self.expr(&arm.value, expected)?,
                    };
                    lowered.push(Arm { patterns, guard, body });
                }
                Expr::Match(Box::new(value), lowered)
            }
            ExprKind::For {
                item,
                index,
                source,
                filter,
                body,
            } => {
                let source = self.expr(source, None)?;
                let mark = self.scope.len();
                let item = self.bind(&item.name);
                let index = index.as_ref().map(|i| self.bind(&i.name));
                let filter = match filter {
                    Some(filter) => Some(self.expr(filter, None)?),
                    None => None,
                };
                let element = expected.and_then(Ty::element).cloned();
                let body = match element.as_ref().map(Ty::strip_optional) {
                    Some(Ty::Record(id)) => self.record_block(body, *id)?,
                    _ => self.value_block(body, element.as_ref())?,
                };
                self.scope.truncate(mark);
                Expr::Loop(Box::new(Loop {
                    source,
                    item,
                    index,
                    filter,
                    body,
                    fold: Fold::Collect,
                }))
            }
            ExprKind::List(items) => {
                let element = expected.and_then(Ty::element).cloned();
                let mut lowered = Vec::with_capacity(items.len());
                for item in items {
                    lowered.push(self.expr(item, element.as_ref())?);
                }
                Expr::List(lowered)
            }
            ExprKind::Block(block) => match expected.map(Ty::strip_optional) {
                Some(Ty::Record(id)) => self.record_block(block, *id)?,
                _ => self.value_block(block, expected)?,
            },
            ExprKind::Error => return Err(LowerError::NotChecked),
        })
    }

    fn is_local(&self, name: &str) -> bool {
        self.scope.iter().any(|(n, _)| n == name)
    }

    fn name(&mut self, name: &ast::Ident) -> Result<Expr> {
        if let Some((_, id)) = self.scope.iter().rev().find(|(n, _)| *n == name.name) {
            return Ok(Expr::Local(*id));
        }
        if let Some(index) = self.names.params.get(&name.name) {
            return Ok(Expr::Param(*index));
        }
        Err(unsupported(format!("the name `{}`", name.name), name.span))
    }

    fn variant(&self, id: crate::types::EnumId, name: &str, span: Span) -> Result<Expr> {
        let def = self
            .workspace
            .types
            .enumeration(id)
            .ok_or_else(|| unsupported("an unknown enum", span))?;
        let index = def
            .variants
            .iter()
            .position(|v| v.name == name)
            .ok_or_else(|| unsupported("an unknown variant", span))?;
        Ok(Expr::Const(Value::Enum(index as u32, name.to_owned())))
    }

    fn pattern(&mut self, pattern: &ast::Pattern, scrutinee: Option<&Ty>) -> Result<Value> {
        match pattern {
            ast::Pattern::Wildcard(span) => Err(unsupported("a wildcard among patterns", *span)),
            ast::Pattern::Literal(expr) => match self.expr(expr, None)? {
                Expr::Const(value) => Ok(value),
                Expr::Call(Op::IntNeg, args) => match args.as_slice() {
                    [Expr::Const(Value::Int(n))] => Ok(Value::Int(-n)),
                    _ => Err(unsupported("a pattern", expr.span)),
                },
                Expr::Call(Op::DecNeg, args) => match args.as_slice() {
                    [Expr::Const(Value::Decimal(d))] => Ok(Value::Decimal(-*d)),
                    _ => Err(unsupported("a pattern", expr.span)),
                },
                _ => Err(unsupported("a pattern", expr.span)),
            },
            ast::Pattern::Path(path) => match scrutinee.map(Ty::strip_optional) {
                Some(Ty::Enum(id)) => {
                    let variant = path
                        .segments
                        .last()
                        .ok_or_else(|| unsupported("an empty pattern", path.span))?;
                    match self.variant(*id, &variant.name, path.span)? {
                        Expr::Const(value) => Ok(value),
                        _ => Err(unsupported("a pattern", path.span)),
                    }
                }
                _ => Err(unsupported("a variant pattern on a non-enum", path.span)),
            },
        }
    }

    fn arm_head(&mut self, arm: &ast::MatchArm, scrutinee: Option<&Ty>) -> Result<(Vec<Value>, Option<Expr>)> {
        let mut patterns = Vec::new();
        let mut wildcard = false;
        for pattern in &arm.patterns {
            match pattern {
                ast::Pattern::Wildcard(_) => wildcard = true,
                other => patterns.push(self.pattern(other, scrutinee)?),
            }
        }
        if wildcard {
            patterns.clear();
        }
        let guard = match &arm.guard {
            Some(guard) => Some(self.expr(guard, None)?),
            None => None,
        };
        Ok((patterns, guard))
    }

    /// A number operand as a decimal (an `Int` converted).
    fn as_decimal(&mut self, expr: &ast::Expr) -> Result<Expr> {
        let decimal = self.is_decimal(expr);
        let value = self.expr(expr, None)?;
        Ok(if decimal {
            value
        } else {
            Expr::Call(Op::IntToDec, vec![value])
        })
    }

    fn binary(&mut self, op: ast::BinaryOp, lhs: &ast::Expr, rhs: &ast::Expr, expected: Option<&Ty>) -> Result<Expr> {
        use ast::BinaryOp as B;
        Ok(match op {
            B::Where => {
                let source = self.expr(lhs, expected)?;
                let mark = self.scope.len();
                let item = self.bind("it");
                let filter = self.expr(rhs, None)?;
                self.scope.truncate(mark);
                Expr::Loop(Box::new(Loop {
                    source,
                    item,
                    index: None,
                    filter: Some(filter),
                    body: Expr::Local(item),
                    fold: Fold::Filter,
                }))
            }
            B::And => Expr::And(Box::new(self.expr(lhs, None)?), Box::new(self.expr(rhs, None)?)),
            B::Or => Expr::Or(Box::new(self.expr(lhs, None)?), Box::new(self.expr(rhs, None)?)),
            B::Coalesce => Expr::Coalesce(Box::new(self.expr(lhs, None)?), Box::new(self.expr(rhs, expected)?)),
            B::Eq | B::Ne | B::Lt | B::Le | B::Gt | B::Ge => {
                let mixed = self.is_decimal(lhs) != self.is_decimal(rhs)
                    && self.ty(lhs).is_some_and(|t| t.strip_optional().is_number())
                    && self.ty(rhs).is_some_and(|t| t.strip_optional().is_number());
                let (a, b) = if mixed {
                    (self.as_decimal(lhs)?, self.as_decimal(rhs)?)
                } else {
                    (self.expr(lhs, None)?, self.expr(rhs, None)?)
                };
                let op = match op {
                    B::Eq => Op::Eq,
                    B::Ne => Op::Ne,
                    B::Lt => Op::Lt,
                    B::Le => Op::Le,
                    B::Gt => Op::Gt,
                    _ => Op::Ge,
                };
                Expr::Call(op, vec![a, b])
            }
            B::Add | B::Sub | B::Mul | B::Div | B::Rem => {
                let decimal = op == B::Div || self.is_decimal(lhs) || self.is_decimal(rhs);
                if decimal {
                    let (a, b) = (self.as_decimal(lhs)?, self.as_decimal(rhs)?);
                    let op = match op {
                        B::Add => Op::DecAdd,
                        B::Sub => Op::DecSub,
                        B::Mul => Op::DecMul,
                        B::Div => Op::DecDiv,
                        _ => Op::DecRem,
                    };
                    Expr::Call(op, vec![a, b])
                } else {
                    let (a, b) = (self.expr(lhs, None)?, self.expr(rhs, None)?);
                    let op = match op {
                        B::Add => Op::IntAdd,
                        B::Sub => Op::IntSub,
                        B::Mul => Op::IntMul,
                        _ => Op::IntRem,
                    };
                    Expr::Call(op, vec![a, b])
                }
            }
        })
    }

    fn call(&mut self, expr: &ast::Expr, callee: &ast::Ident, args: &[ast::Arg]) -> Result<Expr> {
        if let Some(index) = self.names.functions.get(&callee.name) {
            let mut lowered = Vec::with_capacity(args.len());
            for arg in args {
                match arg {
                    ast::Arg::Expr(value) => lowered.push(self.expr(value, None)?),
                    ast::Arg::Lambda(lambda) => return Err(unsupported("a lambda given to a `fn`", lambda.span)),
                }
            }
            return Ok(Expr::CallFn(*index, lowered));
        }
        let name = crate::builtins::get(&callee.name)
            .map(|b| b.name)
            .ok_or_else(|| unsupported(format!("the function `{}`", callee.name), callee.span))?;
        // The list builtins become loops: the lambda (or the element
        // itself) is the loop's body.
        let fold = match (name, args.len()) {
            ("sum", _) => Some(Fold::Sum {
                decimal: matches!(self.ty(expr), Some(Ty::Decimal { .. })),
            }),
            ("count", _) => Some(Fold::Count),
            ("any", _) => Some(Fold::Any),
            ("all", _) => Some(Fold::All),
            ("first", _) => Some(Fold::First),
            ("last", _) => Some(Fold::Last),
            ("min", 1) => Some(Fold::Min),
            ("max", 1) => Some(Fold::Max),
            ("sort_by", _) => Some(Fold::SortBy),
            ("distinct", _) => Some(Fold::DistinctBy),
            ("group_by", _) => Some(Fold::GroupBy),
            ("min", 2) | ("max", 2) if matches!(args.get(1), Some(ast::Arg::Lambda(_))) => {
                Some(if name == "min" { Fold::Min } else { Fold::Max })
            }
            _ => None,
        };
        if let Some(fold) = fold {
            return self.list_call(fold, args, expr.span);
        }
        if name == "required" {
            let (Some(ast::Arg::Expr(value)), Some(ast::Arg::Expr(message))) = (args.first(), args.get(1)) else {
                return Err(unsupported("`required` without a value and a message", expr.span));
            };
            let value = self.expr(value, None)?;
            let message = self.expr(message, None)?;
            return Ok(Expr::Coalesce(Box::new(value), Box::new(Expr::Fail(Box::new(message)))));
        }
        let builtin = crate::builtins::get(name);
        let mut lowered = Vec::with_capacity(args.len());
        for arg in args {
            match arg {
                ast::Arg::Expr(value) => {
                    if let ExprKind::Name(word) = &value.kind
                        && builtin.is_some_and(|b| b.modes.contains(&word.name.as_str()))
                        && !self.is_local(&word.name)
                        && !self.names.params.contains_key(&word.name)
                    {
                        lowered.push(Expr::Const(Value::Text(word.name.clone())));
                        continue;
                    }
                    let decimal_arg = matches!(name, "round" | "abs") && lowered.is_empty();
                    lowered.push(if decimal_arg && !self.is_decimal(value) && name == "round" {
                        self.as_decimal(value)?
                    } else {
                        self.expr(value, None)?
                    });
                }
                ast::Arg::Lambda(lambda) => {
                    return Err(unsupported(format!("a lambda given to `{name}`"), lambda.span));
                }
            }
        }
        Ok(Expr::Call(Op::Builtin(name), lowered))
    }

    /// `f(xs)` or `f(xs, x => body)` as a loop over `xs`.
    fn list_call(&mut self, fold: Fold, args: &[ast::Arg], span: Span) -> Result<Expr> {
        let Some(ast::Arg::Expr(source)) = args.first() else {
            return Err(unsupported("a list builtin without a list", span));
        };
        let source = self.expr(source, None)?;
        let mark = self.scope.len();
        let (item, body) = match args.get(1) {
            Some(ast::Arg::Lambda(lambda)) => {
                let param = lambda.params.first().map_or("it", |p| p.name.as_str());
                let item = self.bind(param);
                let body = self.expr(&lambda.body, None)?;
                (item, body)
            }
            Some(ast::Arg::Expr(value)) => return Err(unsupported("a list builtin's second argument", value.span)),
            None => {
                let item = self.fresh("it");
                // Without a lambda the element itself is the value; the
                // conditional folds count (or pick) every element.
                let body = match fold {
                    Fold::Count | Fold::First | Fold::Last | Fold::Any | Fold::All => Expr::Const(Value::Bool(true)),
                    _ => Expr::Local(item),
                };
                (item, body)
            }
        };
        self.scope.truncate(mark);
        Ok(Expr::Loop(Box::new(Loop {
            source,
            item,
            index: None,
            filter: None,
            body,
            fold,
        })))
    }
}
