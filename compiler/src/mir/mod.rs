//! MIR: the typed, explicit form of a checked module that both engines run.
//!
//! A MIR body is a tree of [`Expr`]s over numbered locals, with every
//! operation chosen by type (`DecAdd`, not `+`), every field read by slot,
//! every name resolved, and no closures: a lambda given to `sum`, `any`,
//! `sort_by`, … is inlined into a [`Expr::Loop`] whose body reads the loop
//! variable. Records are built by statements that set slots
//! ([`Stmt::SetSlot`]), so an `if` that assigns fields in its branches is an
//! `if` over statements.
//!
//! Value layout (what the interpreter holds and the JIT will lay out in
//! memory): `Int` is an `i64`; `Decimal` a 128-bit rust_decimal; `Bool`;
//! text is UTF-8; `Date` a civil date; `DateTime` an instant with its UTC
//! offset; an enum its variant index; a record one slot per field in
//! declaration order (extensions after), an absent optional is `Absent`;
//! lists are sequences. Semantics: arithmetic is checked (overflow, division
//! by zero and inexact decimals are errors, see `helpers`); reading a field
//! of an absent record gives absent; `Fail` ends the record with its message.

pub mod demand;
pub mod lower;

use crate::interp::value::Value;
use crate::types::RecordId;
use std::fmt;

/// A local variable's number within a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LocalId(pub u32);

/// A typed primitive operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `i64 + i64`.
    IntAdd,
    /// `i64 - i64`.
    IntSub,
    /// `i64 * i64`.
    IntMul,
    /// `i64 % i64`.
    IntRem,
    /// `-i64`.
    IntNeg,
    /// Decimal `+`.
    DecAdd,
    /// Decimal `-`.
    DecSub,
    /// Decimal `*`.
    DecMul,
    /// Decimal `/`.
    DecDiv,
    /// Decimal `%`.
    DecRem,
    /// Decimal `-x`.
    DecNeg,
    /// An `Int` as a decimal.
    IntToDec,
    /// `==` on values of one type (absent equals only absent).
    Eq,
    /// `!=`.
    Ne,
    /// `<` on numbers, text, dates.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `not`.
    Not,
    /// Text pieces joined (interpolation).
    Concat,
    /// A builtin called with values (the lambda forms are loops).
    Builtin(&'static str),
}

/// What a loop makes of the elements it keeps.
#[derive(Clone, Debug, PartialEq)]
pub enum Fold {
    /// The list of the body's values (`for`).
    Collect,
    /// The elements themselves (`where`).
    Filter,
    /// The sum of the body's values; `decimal` says which arithmetic.
    Sum {
        /// Decimal (else `Int`) arithmetic.
        decimal: bool,
    },
    /// How many elements the body holds for (the body is a condition).
    Count,
    /// Whether the body holds for some element.
    Any,
    /// Whether the body holds for every element.
    All,
    /// The first element the body holds for, or absent.
    First,
    /// The last element the body holds for, or absent.
    Last,
    /// The smallest body value, or absent.
    Min,
    /// The largest body value, or absent.
    Max,
    /// The elements ordered by the body's value (stable).
    SortBy,
    /// The elements whose body value was not seen before.
    DistinctBy,
    /// Groups of elements by the body's value, in order of first sight.
    GroupBy,
}

/// A field of a record: its slot, and its name for display and for the
/// JSON paths of errors.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldRef {
    /// Its slot.
    pub slot: u32,
    /// Its name.
    pub name: String,
}

/// A limit a target field's type puts on the values set into it, checked
/// at run time (the checker proves what it can; the rest is data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// `String(n)`: at most `n` Unicode scalar values.
    Length(u32),
    /// Text bound for an XML document: only characters XML 1.0 can carry,
    /// and at most `max` of them when the field is `String(n)`.
    XmlText {
        /// The `String(n)` limit.
        max: Option<u32>,
    },
    /// `Decimal(s)` or `Decimal(p, s)`: at most `scale` places (trailing
    /// zeros aside) and at most `precision - scale` digits before the point.
    Decimal {
        /// Total digits, when given.
        precision: Option<u32>,
        /// Places after the point.
        scale: u32,
    },
}

impl Check {
    /// The check a field of type `ty` needs, if any (looking through `?`);
    /// `xml` when the field is written to an XML document.
    pub fn for_type(ty: &crate::types::Ty, xml: bool) -> Option<Check> {
        match ty.strip_optional() {
            crate::types::Ty::String { max_len } if xml => Some(Check::XmlText { max: *max_len }),
            crate::types::Ty::String { max_len: Some(n) } => Some(Check::Length(*n)),
            crate::types::Ty::Decimal {
                precision,
                scale: Some(scale),
            } => Some(Check::Decimal {
                precision: *precision,
                scale: *scale,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Length(n) => write!(f, "len<={n}"),
            Check::XmlText { max: Some(n) } => write!(f, "xml len<={n}"),
            Check::XmlText { max: None } => f.write_str("xml"),
            Check::Decimal {
                precision: Some(p),
                scale,
            } => write!(f, "dec({p},{scale})"),
            Check::Decimal { precision: None, scale } => write!(f, "dec({scale})"),
        }
    }
}

/// A statement: building records and binding locals.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `local = value`.
    Let(LocalId, Expr),
    /// Sets slot `slot` of the record in `record`.
    SetSlot {
        /// The record being built.
        record: LocalId,
        /// The field.
        field: FieldRef,
        /// The value (absent values leave the field out).
        value: Expr,
        /// The limit the field's type puts on the value, checked when it
        /// is set.
        check: Option<Check>,
    },
    /// Statements in branches.
    If {
        /// The condition.
        cond: Expr,
        /// When it holds.
        then: Vec<Stmt>,
        /// Otherwise.
        otherwise: Vec<Stmt>,
    },
    /// Statements chosen by a match.
    Match {
        /// The value matched.
        scrutinee: Expr,
        /// The arms, in order.
        arms: Vec<Arm<Vec<Stmt>>>,
    },
}

/// One match arm: constants to compare with (none for `_`), a guard, and
/// what it gives.
#[derive(Clone, Debug, PartialEq)]
pub struct Arm<T> {
    /// Values it matches; empty means any value.
    pub patterns: Vec<Value>,
    /// An extra condition.
    pub guard: Option<Expr>,
    /// What the arm gives.
    pub body: T,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A constant.
    Const(Value),
    /// A local.
    Local(LocalId),
    /// A `param`, by position.
    Param(u32),
    /// A field of a record (absent when the record is).
    Field(Box<Expr>, FieldRef),
    /// Element of a list by position (absent when out of range).
    Index(Box<Expr>, Box<Expr>),
    /// A lookup in table `table` (absent when the key has no entry).
    Lookup(u32, Box<Expr>),
    /// A typed operation.
    Call(Op, Vec<Expr>),
    /// A `fn` of the module, by position.
    CallFn(u32, Vec<Expr>),
    /// Statements, then a value.
    Block(Vec<Stmt>, Box<Expr>),
    /// A new record with every slot absent.
    NewRecord(RecordId, u32),
    /// `if` as a value.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// Short-circuit `and`.
    And(Box<Expr>, Box<Expr>),
    /// Short-circuit `or`.
    Or(Box<Expr>, Box<Expr>),
    /// The value if present, else the default (evaluated only then).
    Coalesce(Box<Expr>, Box<Expr>),
    /// A list of values.
    List(Vec<Expr>),
    /// A loop over a list.
    Loop(Box<Loop>),
    /// A match as a value.
    Match(Box<Expr>, Vec<Arm<Expr>>),
    /// Ends the record with the text's value as the message.
    Fail(Box<Expr>),
}

/// A loop: `for item, index in source where filter { body }`, folded.
#[derive(Clone, Debug, PartialEq)]
pub struct Loop {
    /// The list.
    pub source: Expr,
    /// The element's local.
    pub item: LocalId,
    /// The position's local.
    pub index: Option<LocalId>,
    /// Elements kept.
    pub filter: Option<Expr>,
    /// What each kept element gives.
    pub body: Expr,
    /// How the results combine.
    pub fold: Fold,
}

/// A body with its locals: a function, a param default, a table entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    /// Local names, by number (for display and errors).
    pub locals: Vec<String>,
    /// The expression.
    pub expr: Expr,
}

/// A lowered `param`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Its default.
    pub default: Option<Body>,
}

/// A lowered `table`.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Inline entries (`None` for an external table): keys, value.
    pub entries: Option<Vec<(Vec<Value>, Body)>>,
    /// The `_ => …` entry.
    pub fallback: Option<Body>,
}

/// A lowered `mapping` or `fn`.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// Whether it is a `mapping`.
    pub is_mapping: bool,
    /// How many parameters (locals 0..n).
    pub arity: u32,
    /// The body; parameters are its first locals.
    pub body: Body,
}

/// A lowered `.map` file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Module {
    /// Params, in source order.
    pub params: Vec<Param>,
    /// Tables, in source order.
    pub tables: Vec<Table>,
    /// Mappings and functions, in source order.
    pub functions: Vec<Function>,
}

// ---------------------------------------------------------------- display

/// A local as shown: its name and number (`kept%3`).
fn local_name(locals: &[String], id: LocalId) -> String {
    locals
        .get(id.0 as usize)
        .map_or_else(|| format!("%{}", id.0), |name| format!("{name}%{}", id.0))
}

struct Indent(usize);

impl fmt::Display for Indent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..self.0 {
            f.write_str("  ")?;
        }
        Ok(())
    }
}

fn write_expr(f: &mut fmt::Formatter<'_>, expr: &Expr, locals: &[String], depth: usize) -> fmt::Result {
    let local = |id: &LocalId| local_name(locals, *id);
    match expr {
        Expr::Const(value) => write!(f, "{value}"),
        Expr::Local(id) => f.write_str(&local(id)),
        Expr::Param(index) => write!(f, "param#{index}"),
        Expr::Field(base, field) => {
            write_expr(f, base, locals, depth)?;
            write!(f, ".{}#{}", field.name, field.slot)
        }
        Expr::Index(base, index) => {
            write_expr(f, base, locals, depth)?;
            f.write_str("[")?;
            write_expr(f, index, locals, depth)?;
            f.write_str("]")
        }
        Expr::Lookup(table, key) => {
            write!(f, "table#{table}[")?;
            write_expr(f, key, locals, depth)?;
            f.write_str("]")
        }
        Expr::Call(_, args) | Expr::CallFn(_, args) => {
            match expr {
                Expr::Call(Op::Builtin(name), _) => write!(f, "({name}")?,
                Expr::Call(op, _) => write!(f, "({op:?}")?,
                Expr::CallFn(index, _) => write!(f, "(fn#{index}")?,
                _ => {}
            }
            for arg in args {
                f.write_str(" ")?;
                write_expr(f, arg, locals, depth)?;
            }
            f.write_str(")")
        }
        Expr::Block(stmts, result) => {
            f.write_str("{\n")?;
            for stmt in stmts {
                write_stmt(f, stmt, locals, depth + 1)?;
            }
            write!(f, "{}", Indent(depth + 1))?;
            write_expr(f, result, locals, depth + 1)?;
            write!(f, "\n{}}}", Indent(depth))
        }
        Expr::NewRecord(id, slots) => write!(f, "(record#{} {slots} slots)", id.0),
        Expr::If(cond, then, otherwise) => {
            f.write_str("(if ")?;
            write_expr(f, cond, locals, depth)?;
            f.write_str(" ")?;
            write_expr(f, then, locals, depth)?;
            f.write_str(" ")?;
            write_expr(f, otherwise, locals, depth)?;
            f.write_str(")")
        }
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Coalesce(a, b) => {
            let name = match expr {
                Expr::And(..) => "and",
                Expr::Or(..) => "or",
                _ => "??",
            };
            write!(f, "({name} ")?;
            write_expr(f, a, locals, depth)?;
            f.write_str(" ")?;
            write_expr(f, b, locals, depth)?;
            f.write_str(")")
        }
        Expr::List(items) => {
            f.write_str("[")?;
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                write_expr(f, item, locals, depth)?;
            }
            f.write_str("]")
        }
        Expr::Loop(lp) => {
            write!(f, "(loop {:?} {}", lp.fold, local(&lp.item))?;
            if let Some(index) = &lp.index {
                write!(f, ", {}", local(index))?;
            }
            f.write_str(" in ")?;
            write_expr(f, &lp.source, locals, depth)?;
            if let Some(filter) = &lp.filter {
                f.write_str(" where ")?;
                write_expr(f, filter, locals, depth)?;
            }
            f.write_str(" => ")?;
            write_expr(f, &lp.body, locals, depth)?;
            f.write_str(")")
        }
        Expr::Match(scrutinee, arms) => {
            f.write_str("(match ")?;
            write_expr(f, scrutinee, locals, depth)?;
            for arm in arms {
                f.write_str(" [")?;
                write_patterns(f, &arm.patterns)?;
                if let Some(guard) = &arm.guard {
                    f.write_str(" if ")?;
                    write_expr(f, guard, locals, depth)?;
                }
                f.write_str(" => ")?;
                write_expr(f, &arm.body, locals, depth)?;
                f.write_str("]")?;
            }
            f.write_str(")")
        }
        Expr::Fail(message) => {
            f.write_str("(fail ")?;
            write_expr(f, message, locals, depth)?;
            f.write_str(")")
        }
    }
}

fn write_patterns(f: &mut fmt::Formatter<'_>, patterns: &[Value]) -> fmt::Result {
    if patterns.is_empty() {
        return f.write_str("_");
    }
    for (index, pattern) in patterns.iter().enumerate() {
        if index > 0 {
            f.write_str(" | ")?;
        }
        write!(f, "{pattern}")?;
    }
    Ok(())
}

fn write_stmt(f: &mut fmt::Formatter<'_>, stmt: &Stmt, locals: &[String], depth: usize) -> fmt::Result {
    let local = |id: &LocalId| local_name(locals, *id);
    write!(f, "{}", Indent(depth))?;
    match stmt {
        Stmt::Let(id, value) => {
            write!(f, "let {} = ", local(id))?;
            write_expr(f, value, locals, depth)?;
            f.write_str("\n")
        }
        Stmt::SetSlot {
            record,
            field,
            value,
            check,
        } => {
            write!(f, "{}.{}#{} := ", local(record), field.name, field.slot)?;
            write_expr(f, value, locals, depth)?;
            if let Some(check) = check {
                write!(f, "  check {check}")?;
            }
            f.write_str("\n")
        }
        Stmt::If { cond, then, otherwise } => {
            f.write_str("if ")?;
            write_expr(f, cond, locals, depth)?;
            f.write_str(" {\n")?;
            for stmt in then {
                write_stmt(f, stmt, locals, depth + 1)?;
            }
            writeln!(f, "{}}} else {{", Indent(depth))?;
            for stmt in otherwise {
                write_stmt(f, stmt, locals, depth + 1)?;
            }
            writeln!(f, "{}}}", Indent(depth))
        }
        Stmt::Match { scrutinee, arms } => {
            f.write_str("match ")?;
            write_expr(f, scrutinee, locals, depth)?;
            f.write_str(" {\n")?;
            for arm in arms {
                write!(f, "{}", Indent(depth + 1))?;
                write_patterns(f, &arm.patterns)?;
                if let Some(guard) = &arm.guard {
                    f.write_str(" if ")?;
                    write_expr(f, guard, locals, depth + 1)?;
                }
                f.write_str(" => {\n")?;
                for stmt in &arm.body {
                    write_stmt(f, stmt, locals, depth + 2)?;
                }
                writeln!(f, "{}}}", Indent(depth + 1))?;
            }
            writeln!(f, "{}}}", Indent(depth))
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, param) in self.params.iter().enumerate() {
            write!(f, "param#{index} {}", param.name)?;
            if let Some(default) = &param.default {
                f.write_str(" = ")?;
                write_expr(f, &default.expr, &default.locals, 0)?;
            }
            f.write_str("\n")?;
        }
        for (index, table) in self.tables.iter().enumerate() {
            write!(f, "table#{index} {}", table.name)?;
            match &table.entries {
                None => f.write_str(" external\n")?,
                Some(entries) => {
                    f.write_str("\n")?;
                    for (keys, value) in entries {
                        f.write_str("  ")?;
                        write_patterns(f, keys)?;
                        f.write_str(" => ")?;
                        write_expr(f, &value.expr, &value.locals, 1)?;
                        f.write_str("\n")?;
                    }
                    if let Some(fallback) = &table.fallback {
                        f.write_str("  _ => ")?;
                        write_expr(f, &fallback.expr, &fallback.locals, 1)?;
                        f.write_str("\n")?;
                    }
                }
            }
        }
        for (index, function) in self.functions.iter().enumerate() {
            let kind = if function.is_mapping { "mapping" } else { "fn" };
            write!(f, "{kind}#{index} {}(", function.name)?;
            for param in 0..function.arity {
                if param > 0 {
                    f.write_str(", ")?;
                }
                let name = function
                    .body
                    .locals
                    .get(param as usize)
                    .map(String::as_str)
                    .unwrap_or("?");
                write!(f, "{name}%{param}")?;
            }
            f.write_str(") = ")?;
            write_expr(f, &function.body.expr, &function.body.locals, 0)?;
            f.write_str("\n")?;
        }
        Ok(())
    }
}
