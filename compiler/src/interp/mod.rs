//! The reference interpreter: evaluates MIR with exact semantics. Clarity
//! first; it is the oracle the JIT is tested against.
//!
//! Arithmetic, text and dates go through [`crate::helpers`], which the JIT
//! calls too. A failure is an [`EvalError`]; the caller adds the paths.

pub mod value;

use crate::helpers::number::{self, RoundingMode};
use crate::helpers::{HelperError, date, text};
use crate::mir::{Arm, Body, Expr, Fold, Loop, Module, Op, Stmt};
use rust_decimal::Decimal;
use std::collections::HashMap;
use value::Value;

/// Why evaluation stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// An operation failed (overflow, bad text, …).
    #[error(transparent)]
    Helper(#[from] HelperError),
    /// `required(…)` (or another `Fail`) ended the record.
    #[error("{0}")]
    Failed(String),
    /// A param has no value: neither given nor defaulted.
    #[error("param `{0}` has no value: give it in the tenant's params")]
    MissingParam(String),
    /// A value of an unexpected shape reached an operation: a bug in the
    /// checker or the lowering, reported rather than panicking.
    #[error("internal error: {0}")]
    Internal(String),
}

type Result<T> = std::result::Result<T, EvalError>;

fn internal(message: impl Into<String>) -> EvalError {
    EvalError::Internal(message.into())
}

/// A module ready to run: its params evaluated, its external tables filled.
pub struct Interpreter<'m> {
    module: &'m Module,
    params: Vec<Value>,
    external: HashMap<u32, HashMap<String, Value>>,
}

impl<'m> Interpreter<'m> {
    /// Prepares `module` with the tenant's `params` (by name; the others
    /// take their defaults) and external `tables` (by table name, then key
    /// as written by [`Value`]'s `Display`).
    pub fn new(
        module: &'m Module,
        params: &HashMap<String, Value>,
        tables: HashMap<String, HashMap<String, Value>>,
    ) -> Result<Interpreter<'m>> {
        let mut interpreter = Interpreter {
            module,
            params: Vec::with_capacity(module.params.len()),
            external: HashMap::new(),
        };
        for (index, table) in module.tables.iter().enumerate() {
            if let Some(entries) = tables.get(&table.name) {
                interpreter.external.insert(index as u32, entries.clone());
            }
        }
        // Defaults may use earlier params, so they are evaluated in order.
        for param in &module.params {
            let value = match (params.get(&param.name), &param.default) {
                (Some(value), _) => value.clone(),
                (None, Some(default)) => interpreter.eval_body(default, Vec::new())?,
                (None, None) => return Err(EvalError::MissingParam(param.name.clone())),
            };
            interpreter.params.push(value);
        }
        Ok(interpreter)
    }

    /// Runs the mapping or function named `name` on `args`.
    pub fn call(&self, name: &str, args: Vec<Value>) -> Result<Value> {
        let function = self
            .module
            .functions
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| internal(format!("no mapping or function `{name}`")))?;
        self.eval_body(&function.body, args)
    }

    /// The value of param `name`.
    pub fn param(&self, name: &str) -> Option<&Value> {
        let index = self.module.params.iter().position(|p| p.name == name)?;
        self.params.get(index)
    }

    fn eval_body(&self, body: &Body, args: Vec<Value>) -> Result<Value> {
        let mut frame = args;
        frame.resize(body.locals.len().max(frame.len()), Value::Absent);
        self.eval(&body.expr, &mut frame)
    }

    fn eval(&self, expr: &Expr, frame: &mut Vec<Value>) -> Result<Value> {
        Ok(match expr {
            Expr::Const(value) => value.clone(),
            Expr::Local(id) => frame
                .get(id.0 as usize)
                .cloned()
                .ok_or_else(|| internal("unknown local"))?,
            Expr::Param(index) => self
                .params
                .get(*index as usize)
                .cloned()
                .ok_or_else(|| internal("unknown param"))?,
            Expr::Field(base, slot) => match self.eval(base, frame)? {
                Value::Absent => Value::Absent,
                Value::Record(slots) => slots
                    .into_iter()
                    .nth(*slot as usize)
                    .ok_or_else(|| internal("no such slot"))?,
                other => return Err(internal(format!("field of a non-record {other}"))),
            },
            Expr::Index(base, index) => {
                let list = self.eval(base, frame)?;
                let position = self.eval(index, frame)?;
                match (list, position) {
                    (Value::List(items), Value::Int(i)) => usize::try_from(i)
                        .ok()
                        .and_then(|i| items.into_iter().nth(i))
                        .unwrap_or(Value::Absent),
                    (Value::Absent, _) => Value::Absent,
                    _ => return Err(internal("bad index")),
                }
            }
            Expr::Lookup(table, key) => {
                let key = self.eval(key, frame)?;
                self.lookup(*table, &key)?
            }
            Expr::Call(op, args) => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(arg, frame)?);
                }
                apply(*op, values)?
            }
            Expr::CallFn(index, args) => {
                let function = self
                    .module
                    .functions
                    .get(*index as usize)
                    .ok_or_else(|| internal("unknown fn"))?;
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(arg, frame)?);
                }
                self.eval_body(&function.body, values)?
            }
            Expr::Block(stmts, result) => {
                self.exec(stmts, frame)?;
                self.eval(result, frame)?
            }
            Expr::NewRecord(_, slots) => Value::Record(vec![Value::Absent; *slots as usize]),
            Expr::If(cond, then, otherwise) => {
                if self.truth(cond, frame)? {
                    self.eval(then, frame)?
                } else {
                    self.eval(otherwise, frame)?
                }
            }
            Expr::And(a, b) => Value::Bool(self.truth(a, frame)? && self.truth(b, frame)?),
            Expr::Or(a, b) => Value::Bool(self.truth(a, frame)? || self.truth(b, frame)?),
            Expr::Coalesce(value, default) => match self.eval(value, frame)? {
                Value::Absent => self.eval(default, frame)?,
                present => present,
            },
            Expr::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.eval(item, frame)?);
                }
                Value::List(values)
            }
            Expr::Loop(lp) => self.eval_loop(lp, frame)?,
            Expr::Match(scrutinee, arms) => {
                let value = self.eval(scrutinee, frame)?;
                match self.choose(arms, &value, frame)? {
                    Some(arm) => self.eval(&arm.body, frame)?,
                    None => return Err(internal(format!("no match arm for {value}"))),
                }
            }
            Expr::Fail(message) => match self.eval(message, frame)? {
                Value::Text(text) => return Err(EvalError::Failed(text)),
                other => return Err(EvalError::Failed(other.to_string())),
            },
        })
    }

    fn truth(&self, expr: &Expr, frame: &mut Vec<Value>) -> Result<bool> {
        match self.eval(expr, frame)? {
            Value::Bool(value) => Ok(value),
            other => Err(internal(format!("a condition gave {other}"))),
        }
    }

    fn choose<'a, T>(&self, arms: &'a [Arm<T>], value: &Value, frame: &mut Vec<Value>) -> Result<Option<&'a Arm<T>>> {
        for arm in arms {
            let matches = arm.patterns.is_empty() || arm.patterns.iter().any(|p| p == value);
            if matches && arm.guard.as_ref().map_or(Ok(true), |g| self.truth(g, frame))? {
                return Ok(Some(arm));
            }
        }
        Ok(None)
    }

    fn exec(&self, stmts: &[Stmt], frame: &mut Vec<Value>) -> Result<()> {
        for stmt in stmts {
            match stmt {
                Stmt::Let(id, value) => {
                    let value = self.eval(value, frame)?;
                    set(frame, id.0, value);
                }
                Stmt::SetSlot { record, slot, value } => {
                    let value = self.eval(value, frame)?;
                    match frame.get_mut(record.0 as usize) {
                        Some(Value::Record(slots)) => {
                            if let Some(target) = slots.get_mut(*slot as usize) {
                                *target = value;
                            }
                        }
                        _ => return Err(internal("set a slot of a non-record")),
                    }
                }
                Stmt::If { cond, then, otherwise } => {
                    if self.truth(cond, frame)? {
                        self.exec(then, frame)?;
                    } else {
                        self.exec(otherwise, frame)?;
                    }
                }
                Stmt::Match { scrutinee, arms } => {
                    let value = self.eval(scrutinee, frame)?;
                    if let Some(arm) = self.choose(arms, &value, frame)? {
                        self.exec(&arm.body, frame)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn lookup(&self, table: u32, key: &Value) -> Result<Value> {
        let definition = self
            .module
            .tables
            .get(table as usize)
            .ok_or_else(|| internal("unknown table"))?;
        match &definition.entries {
            None => Ok(self
                .external
                .get(&table)
                .and_then(|entries| entries.get(&key_text(key)))
                .cloned()
                .unwrap_or(Value::Absent)),
            Some(entries) => {
                for (keys, value) in entries {
                    if keys.iter().any(|k| k == key) {
                        return self.eval_body(value, Vec::new());
                    }
                }
                match &definition.fallback {
                    Some(fallback) => self.eval_body(fallback, Vec::new()),
                    None => Ok(Value::Absent),
                }
            }
        }
    }

    fn eval_loop(&self, lp: &Loop, frame: &mut Vec<Value>) -> Result<Value> {
        let items = match self.eval(&lp.source, frame)? {
            Value::List(items) => items,
            Value::Absent => Vec::new(),
            other => return Err(internal(format!("a loop over {other}"))),
        };
        let mut collected = Vec::new();
        let mut keys: Vec<Value> = Vec::new();
        let mut groups: Vec<(Value, Vec<Value>)> = Vec::new();
        let mut sum: Option<Value> = None;
        let mut count = 0i64;
        for (position, item) in items.into_iter().enumerate() {
            set(frame, lp.item.0, item.clone());
            if let Some(index) = lp.index {
                set(frame, index.0, Value::Int(position as i64));
            }
            if let Some(filter) = &lp.filter
                && !self.truth(filter, frame)?
            {
                continue;
            }
            let body = self.eval(&lp.body, frame)?;
            match &lp.fold {
                Fold::Collect => collected.push(body),
                Fold::Filter => collected.push(item),
                Fold::Sum { .. } => {
                    sum = Some(match sum {
                        None => body,
                        Some(so_far) => apply(
                            if matches!(so_far, Value::Int(_)) {
                                Op::IntAdd
                            } else {
                                Op::DecAdd
                            },
                            vec![so_far, body],
                        )?,
                    });
                }
                Fold::Count => {
                    if body == Value::Bool(true) {
                        count += 1;
                    }
                }
                Fold::Any => {
                    if body == Value::Bool(true) {
                        return Ok(Value::Bool(true));
                    }
                }
                Fold::All => {
                    if body != Value::Bool(true) {
                        return Ok(Value::Bool(false));
                    }
                }
                Fold::First => {
                    if body == Value::Bool(true) {
                        return Ok(item);
                    }
                }
                Fold::Last => {
                    if body == Value::Bool(true) {
                        collected = vec![item];
                    }
                }
                Fold::Min | Fold::Max => {
                    let better = match &sum {
                        None => true,
                        Some(best) => {
                            let ordering = compare(&body, best)?;
                            if lp.fold == Fold::Min {
                                ordering.is_lt()
                            } else {
                                ordering.is_gt()
                            }
                        }
                    };
                    if better {
                        sum = Some(body);
                    }
                }
                Fold::SortBy => {
                    keys.push(body);
                    collected.push(item);
                }
                Fold::DistinctBy => {
                    if !keys.contains(&body) {
                        keys.push(body);
                        collected.push(item);
                    }
                }
                Fold::GroupBy => match groups.iter_mut().find(|(key, _)| *key == body) {
                    Some((_, members)) => members.push(item),
                    None => groups.push((body, vec![item])),
                },
            }
        }
        Ok(match &lp.fold {
            Fold::Collect | Fold::Filter | Fold::DistinctBy => Value::List(collected),
            Fold::Sum { decimal } => sum.unwrap_or(if *decimal {
                Value::Decimal(Decimal::ZERO)
            } else {
                Value::Int(0)
            }),
            Fold::Count => Value::Int(count),
            Fold::Any => Value::Bool(false),
            Fold::All => Value::Bool(true),
            Fold::First => Value::Absent,
            Fold::Last => collected.pop().unwrap_or(Value::Absent),
            Fold::Min | Fold::Max => sum.unwrap_or(Value::Absent),
            Fold::SortBy => {
                let mut pairs: Vec<(Value, Value)> = keys.into_iter().zip(collected).collect();
                let mut failure = None;
                pairs.sort_by(|a, b| {
                    compare(&a.0, &b.0).unwrap_or_else(|error| {
                        failure.get_or_insert(error);
                        std::cmp::Ordering::Equal
                    })
                });
                if let Some(error) = failure {
                    return Err(error);
                }
                Value::List(pairs.into_iter().map(|(_, item)| item).collect())
            }
            Fold::GroupBy => Value::List(
                groups
                    .into_iter()
                    .map(|(key, members)| Value::Record(vec![key, Value::List(members)]))
                    .collect(),
            ),
        })
    }
}

fn set(frame: &mut Vec<Value>, index: u32, value: Value) {
    let index = index as usize;
    if frame.len() <= index {
        frame.resize(index + 1, Value::Absent);
    }
    frame[index] = value;
}

/// The text an external table's key is stored under.
pub fn key_text(key: &Value) -> String {
    match key {
        Value::Text(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Orders two values of one type (numbers across `Int` and `Decimal`).
fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering> {
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Decimal(x), Value::Decimal(y)) => x.cmp(y),
        (Value::Int(x), Value::Decimal(y)) => Decimal::from(*x).cmp(y),
        (Value::Decimal(x), Value::Int(y)) => x.cmp(&Decimal::from(*y)),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) => x.instant.cmp(&y.instant),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Enum(x, _), Value::Enum(y, _)) => x.cmp(y),
        _ => return Err(internal(format!("cannot order {a} and {b}"))),
    })
}

fn int(value: &Value) -> Result<i64> {
    match value {
        Value::Int(n) => Ok(*n),
        other => Err(internal(format!("expected an Int, got {other}"))),
    }
}

fn dec(value: &Value) -> Result<Decimal> {
    match value {
        Value::Decimal(d) => Ok(*d),
        Value::Int(n) => Ok(Decimal::from(*n)),
        other => Err(internal(format!("expected a Decimal, got {other}"))),
    }
}

fn txt(value: &Value) -> Result<&str> {
    match value {
        Value::Text(text) => Ok(text),
        other => Err(internal(format!("expected text, got {other}"))),
    }
}

fn opt_txt(values: &[Value], index: usize) -> Result<Option<&str>> {
    values.get(index).map(txt).transpose()
}

/// Applies a typed operation.
pub fn apply(op: Op, args: Vec<Value>) -> Result<Value> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| internal(format!("{op:?} is missing argument {i}")))
    };
    Ok(match op {
        Op::IntAdd => Value::Int(number::int_add(int(arg(0)?)?, int(arg(1)?)?)?),
        Op::IntSub => Value::Int(number::int_sub(int(arg(0)?)?, int(arg(1)?)?)?),
        Op::IntMul => Value::Int(number::int_mul(int(arg(0)?)?, int(arg(1)?)?)?),
        Op::IntRem => Value::Int(number::int_rem(int(arg(0)?)?, int(arg(1)?)?)?),
        Op::IntNeg => Value::Int(number::int_neg(int(arg(0)?)?)?),
        Op::DecAdd => Value::Decimal(number::add(dec(arg(0)?)?, dec(arg(1)?)?)?),
        Op::DecSub => Value::Decimal(number::sub(dec(arg(0)?)?, dec(arg(1)?)?)?),
        Op::DecMul => Value::Decimal(number::mul(dec(arg(0)?)?, dec(arg(1)?)?)?),
        Op::DecDiv => Value::Decimal(number::div(dec(arg(0)?)?, dec(arg(1)?)?)?),
        Op::DecRem => Value::Decimal(number::rem(dec(arg(0)?)?, dec(arg(1)?)?)?),
        Op::DecNeg => Value::Decimal(-dec(arg(0)?)?),
        Op::IntToDec => Value::Decimal(Decimal::from(int(arg(0)?)?)),
        Op::Eq => Value::Bool(equal(arg(0)?, arg(1)?)),
        Op::Ne => Value::Bool(!equal(arg(0)?, arg(1)?)),
        Op::Lt => Value::Bool(compare(arg(0)?, arg(1)?)?.is_lt()),
        Op::Le => Value::Bool(compare(arg(0)?, arg(1)?)?.is_le()),
        Op::Gt => Value::Bool(compare(arg(0)?, arg(1)?)?.is_gt()),
        Op::Ge => Value::Bool(compare(arg(0)?, arg(1)?)?.is_ge()),
        Op::Not => match arg(0)? {
            Value::Bool(value) => Value::Bool(!value),
            other => return Err(internal(format!("not of {other}"))),
        },
        Op::Concat => {
            let mut out = String::new();
            for value in &args {
                out.push_str(txt(value)?);
            }
            Value::Text(out)
        }
        Op::Builtin(name) => builtin(name, args)?,
    })
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Decimal(y)) | (Value::Decimal(y), Value::Int(x)) => Decimal::from(*x) == *y,
        (Value::Enum(x, _), Value::Enum(y, _)) => x == y,
        _ => a == b,
    }
}

/// The value-level builtins. The list builtins (`sum`, `count`, `first`,
/// `min` of a list, `sort_by`, …) are lowered to loops instead.
fn builtin(name: &str, args: Vec<Value>) -> Result<Value> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| internal(format!("`{name}` is missing argument {i}")))
    };
    Ok(match name {
        "upper" => Value::Text(text::upper(txt(arg(0)?)?)),
        "lower" => Value::Text(text::lower(txt(arg(0)?)?)),
        "trim" => Value::Text(text::trim(txt(arg(0)?)?).to_owned()),
        "pad_left" => Value::Text(text::pad_left(txt(arg(0)?)?, int(arg(1)?)?, txt(arg(2)?)?)?),
        "pad_right" => Value::Text(text::pad_right(txt(arg(0)?)?, int(arg(1)?)?, txt(arg(2)?)?)?),
        "substring" => {
            let length = match args.get(2) {
                Some(value) => Some(int(value)?),
                None => None,
            };
            Value::Text(text::substring(txt(arg(0)?)?, int(arg(1)?)?, length)?.to_owned())
        }
        "replace" => Value::Text(text::replace(txt(arg(0)?)?, txt(arg(1)?)?, txt(arg(2)?)?)),
        "split" => Value::List(
            text::split(txt(arg(0)?)?, txt(arg(1)?)?)?
                .into_iter()
                .map(|piece| Value::Text(piece.to_owned()))
                .collect(),
        ),
        "join" => match arg(0)? {
            Value::List(items) => {
                let texts = items.iter().map(txt).collect::<Result<Vec<&str>>>()?;
                Value::Text(text::join(&texts, txt(arg(1)?)?))
            }
            other => return Err(internal(format!("join of {other}"))),
        },
        "concat" => apply(Op::Concat, args)?,
        "length" => match arg(0)? {
            Value::Text(value) => Value::Int(text::length(value) as i64),
            Value::List(items) => Value::Int(items.len() as i64),
            other => return Err(internal(format!("length of {other}"))),
        },
        "text" => match arg(0)? {
            Value::Text(value) => Value::Text(value.clone()),
            Value::Enum(_, variant) => Value::Text(variant.clone()),
            Value::DateTime(value) => Value::Text(value.to_rfc3339()),
            Value::Absent => Value::Absent,
            other => Value::Text(other.to_string()),
        },
        "round" => {
            let mode = match args.get(2) {
                Some(Value::Text(word)) => {
                    RoundingMode::from_name(word).ok_or_else(|| internal(format!("unknown rounding mode {word}")))?
                }
                Some(other) => return Err(internal(format!("rounding mode {other}"))),
                None => RoundingMode::HalfUp,
            };
            Value::Decimal(number::round(dec(arg(0)?)?, int(arg(1)?)?, mode)?)
        }
        "abs" => match arg(0)? {
            Value::Int(n) => Value::Int(number::int_abs(*n)?),
            other => Value::Decimal(dec(other)?.abs()),
        },
        "min" | "max" => {
            // Two numbers; the list forms are lowered to loops.
            let (a, b) = (arg(0)?, arg(1)?);
            let ordering = compare(a, b)?;
            let first = if name == "min" {
                ordering.is_le()
            } else {
                ordering.is_ge()
            };
            let chosen = if first { a } else { b };
            // Two numbers of which one is a decimal give a decimal.
            match (a, b, chosen) {
                (Value::Decimal(_), _, Value::Int(n)) | (_, Value::Decimal(_), Value::Int(n)) => {
                    Value::Decimal(Decimal::from(*n))
                }
                _ => chosen.clone(),
            }
        }
        "parse_decimal" => {
            let separator = opt_txt(&args, 1)?.and_then(|s| s.chars().next()).unwrap_or('.');
            Value::Decimal(number::parse(txt(arg(0)?)?, separator)?)
        }
        "parse_int" => Value::Int(number::parse_int(txt(arg(0)?)?)?),
        "parse_date" => Value::Date(date::parse_date(txt(arg(0)?)?, opt_txt(&args, 1)?)?),
        "format_date" => match arg(0)? {
            Value::Date(value) => Value::Text(date::format_date(*value, txt(arg(1)?)?)?),
            Value::DateTime(value) => Value::Text(date::format_datetime(*value, txt(arg(1)?)?, None)?),
            other => return Err(internal(format!("format_date of {other}"))),
        },
        "parse_datetime" => Value::DateTime(date::parse_datetime(
            txt(arg(0)?)?,
            opt_txt(&args, 1)?,
            opt_txt(&args, 2)?,
        )?),
        "format_datetime" => match arg(0)? {
            Value::DateTime(value) => Value::Text(date::format_datetime(*value, txt(arg(1)?)?, opt_txt(&args, 2)?)?),
            other => return Err(internal(format!("format_datetime of {other}"))),
        },
        "add_days" => match arg(0)? {
            Value::Date(value) => Value::Date(date::add_days(*value, int(arg(1)?)?)?),
            Value::DateTime(value) => Value::DateTime(date::add_days_datetime(*value, int(arg(1)?)?)?),
            other => return Err(internal(format!("add_days of {other}"))),
        },
        "add_months" => match arg(0)? {
            Value::Date(value) => Value::Date(date::add_months(*value, int(arg(1)?)?)?),
            other => return Err(internal(format!("add_months of {other}"))),
        },
        "to_timezone" => match arg(0)? {
            Value::DateTime(value) => Value::DateTime(date::to_timezone(*value, txt(arg(1)?)?)?),
            other => return Err(internal(format!("to_timezone of {other}"))),
        },
        "start_of_month" | "end_of_month" => match arg(0)? {
            Value::Date(value) => Value::Date(if name == "start_of_month" {
                date::start_of_month(*value)
            } else {
                date::end_of_month(*value)
            }),
            other => return Err(internal(format!("{name} of {other}"))),
        },
        other => return Err(internal(format!("the builtin `{other}` has no value-level form"))),
    })
}
