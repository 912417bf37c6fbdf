//! The reference interpreter: evaluates MIR with exact semantics. Clarity
//! first; it is the oracle the JIT is tested against.
//!
//! Arithmetic, text and dates go through [`crate::helpers`], which the JIT
//! calls too. A failure is an [`EvalError`]; the caller adds the paths.

pub mod recycle;
pub mod value;

use crate::helpers::number::{self, RoundingMode};
use crate::helpers::{HelperError, date, text};
use crate::mir::{Arm, Body, Check, Expr, Fold, Loop, Module, Op, Stmt};
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
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
    /// `fn` calls (or table entries) nested deeper than
    /// [`MAX_CALL_DEPTH`]: a recursive `fn` that does not stop soon enough.
    #[error("`fn` calls nest deeper than {0}: a recursive fn must stop sooner")]
    TooDeep(u32),
    /// A value of an unexpected shape reached an operation: a bug in the
    /// checker or the lowering, reported rather than panicking.
    #[error("internal error: {0}")]
    Internal(String),
}

/// An [`EvalError`] with where it happened: the input value it came from
/// and the output field it was meant for, as 0-based JSON paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Why.
    pub error: EvalError,
    /// The input path (`$.lines[3].net_amount`), when the failing value
    /// came from the input.
    pub source: Option<String>,
    /// The output path (`$.to_SupplierInvoiceItemGLAcct[2].TaxCode`), when
    /// the failure happened while computing an output field.
    pub target: Option<String>,
}

type Result<T> = std::result::Result<T, EvalError>;

/// How deeply bodies (`fn` calls, table entries) may nest, in both engines.
/// It bounds the stack a recursive `fn` can take.
pub const MAX_CALL_DEPTH: u32 = 32;

fn internal(message: impl Into<String>) -> EvalError {
    EvalError::Internal(message.into())
}

// ------------------------------------------------------------ provenance

/// A path into the input, built only as far as it is needed.
#[derive(Debug)]
enum Path<'m> {
    Root,
    Field(Rc<Path<'m>>, &'m str),
    Index(Rc<Path<'m>>, usize),
}

impl Path<'_> {
    fn render(&self, out: &mut String) {
        match self {
            Path::Root => out.push('$'),
            Path::Field(base, name) => {
                base.render(out);
                out.push('.');
                out.push_str(name);
            }
            Path::Index(base, index) => {
                base.render(out);
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        self.render(&mut out);
        out
    }
}

/// Where a local's value came from: one input path, an element of a list
/// at a path (kept apart so a loop step allocates nothing), or, for a list
/// made of input elements (`where`, `sort_by`, `distinct`), one origin per
/// element.
#[derive(Clone, Debug)]
enum Src<'m> {
    Path(Rc<Path<'m>>),
    Element(Rc<Path<'m>>, usize),
    Items(Rc<Path<'m>>, Rc<Vec<Src<'m>>>),
}

impl<'m> Src<'m> {
    fn element(&self, position: usize) -> Option<Src<'m>> {
        match self {
            Src::Path(path) => Some(Src::Element(path.clone(), position)),
            Src::Element(..) => Some(Src::Element(self.path(), position)),
            Src::Items(_, items) => items.get(position).cloned(),
        }
    }

    fn path(&self) -> Rc<Path<'m>> {
        match self {
            Src::Path(path) | Src::Items(path, _) => path.clone(),
            Src::Element(list, position) => Rc::new(Path::Index(list.clone(), *position)),
        }
    }
}

/// One step of an output path, collected while a failure unwinds.
#[derive(Clone, Debug)]
enum Seg<'m> {
    Field(&'m str),
    Index(usize),
}

/// A failure on its way out, gathering its output path.
struct Unwind<'m> {
    error: EvalError,
    source: Option<String>,
    /// Innermost first.
    target: Vec<Seg<'m>>,
}

impl From<EvalError> for Unwind<'_> {
    fn from(error: EvalError) -> Self {
        Unwind {
            error,
            source: None,
            target: Vec::new(),
        }
    }
}

impl From<HelperError> for Unwind<'_> {
    fn from(error: HelperError) -> Self {
        EvalError::from(error).into()
    }
}

type Flow<'m, T> = std::result::Result<T, Unwind<'m>>;

/// A body's locals and where their values came from.
#[derive(Clone)]
struct Frame<'m> {
    values: Vec<Value>,
    origins: Vec<Option<Src<'m>>>,
    /// How many bodies are running, this one included.
    depth: u32,
}

impl<'m> Frame<'m> {
    fn new(mut values: Vec<Value>, origins: Vec<Option<Src<'m>>>, locals: usize, depth: u32) -> Frame<'m> {
        values.resize(locals.max(values.len()), Value::Absent);
        let mut origins = origins;
        origins.resize(values.len(), None);
        Frame { values, origins, depth }
    }

    fn set(&mut self, index: u32, value: Value, origin: Option<Src<'m>>) {
        let index = index as usize;
        if self.values.len() <= index {
            self.values.resize(index + 1, Value::Absent);
            self.origins.resize(index + 1, None);
        }
        self.values[index] = value;
        self.origins[index] = origin;
    }
}

static ABSENT: Value = Value::Absent;

/// A module ready to run: its params evaluated, its external tables filled.
pub struct Interpreter<'m> {
    module: &'m Module,
    params: Vec<Value>,
    tables: Arc<Tables>,
}

/// Inline tables up to this many entries are searched in order; larger
/// ones through a hash index built once.
const LINEAR_TABLE: usize = 16;

/// A module's tables as one tenant fills them: the external tables' entries
/// and, for large inline tables, an index by key. Both engines look keys up
/// through [`Tables::find`], so they agree on which entry a key reaches.
#[derive(Debug, Default)]
pub struct Tables {
    /// By table number: an external table's entries.
    external: Vec<Option<HashMap<String, Value>>>,
    /// By table number: for an inline table with many entries, entry
    /// index by key.
    inline: Vec<Option<HashMap<KeyText, usize>>>,
}

/// What a table lookup reached.
#[derive(Debug)]
pub enum Found<'a> {
    /// An external table's value.
    Value(&'a Value),
    /// The inline entry at this position: its body gives the value.
    Entry(usize),
    /// No entry: the `_ => …` body gives the value.
    Fallback,
    /// No entry and no fallback.
    Absent,
}

impl Tables {
    /// Indexes `module`'s tables with a tenant's external `tables` (by
    /// table name, then key as written by [`key_text`]).
    pub fn new(module: &Module, tables: HashMap<String, HashMap<String, Value>>) -> Tables {
        let mut out = Tables::default();
        let mut tables = tables;
        for table in &module.tables {
            out.external.push(tables.remove(&table.name));
            out.inline.push(match &table.entries {
                Some(entries) if entries.len() > LINEAR_TABLE => {
                    let mut by_key = HashMap::new();
                    for (position, (keys, _)) in entries.iter().enumerate() {
                        for key in keys {
                            // The first entry for a key wins, as in order.
                            by_key.entry(KeyText::of(key)).or_insert(position);
                        }
                    }
                    Some(by_key)
                }
                _ => None,
            });
        }
        out
    }

    /// Where `key` leads in table `table` of `module`.
    pub fn find<'a>(&'a self, module: &Module, table: u32, key: &Value) -> Result<Found<'a>> {
        let definition = module
            .tables
            .get(table as usize)
            .ok_or_else(|| internal("unknown table"))?;
        Ok(match &definition.entries {
            None => self
                .external
                .get(table as usize)
                .and_then(Option::as_ref)
                .and_then(|entries| match key {
                    Value::Text(text) => entries.get(text.as_str()),
                    other => with_key_text(other, true, |text| entries.get(text)),
                })
                .map_or(Found::Absent, Found::Value),
            Some(entries) => {
                let found = match self.inline.get(table as usize).and_then(Option::as_ref) {
                    Some(index) => with_key_text(key, false, |text| index.get(text).copied()),
                    None => entries
                        .iter()
                        .position(|(keys, _)| keys.iter().any(|k| same_key(k, key))),
                };
                match (found, &definition.fallback) {
                    (Some(position), _) => Found::Entry(position),
                    (None, Some(_)) => Found::Fallback,
                    (None, None) => Found::Absent,
                }
            }
        })
    }
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
            tables: Arc::new(Tables::new(module, tables)),
        };
        // Defaults may use earlier params, so they are evaluated in order.
        for param in &module.params {
            let value = match (params.get(&param.name), &param.default) {
                (Some(value), _) => value.clone(),
                (None, Some(default)) => interpreter
                    .eval_body(default, Vec::new(), Vec::new(), 1)
                    .map_err(|unwind| unwind.error)?,
                (None, None) => return Err(EvalError::MissingParam(param.name.clone())),
            };
            interpreter.params.push(value);
        }
        Ok(interpreter)
    }

    /// An interpreter over params already evaluated (in the module's
    /// order) and tables already indexed: how the JIT replays a failed
    /// record to find its paths.
    pub fn from_parts(module: &'m Module, params: Vec<Value>, tables: Arc<Tables>) -> Interpreter<'m> {
        Interpreter { module, params, tables }
    }

    /// The params' values, in the module's order.
    pub fn params(&self) -> &[Value] {
        &self.params
    }

    /// Runs the mapping or function named `name` on `args`.
    pub fn call(&self, name: &str, args: Vec<Value>) -> Result<Value> {
        self.run(name, args).map_err(|failure| failure.error)
    }

    /// Runs the mapping or function named `name` on `args`, the first of
    /// which is the input event (its fields' paths start at `$`). A failure
    /// names the input and output paths it concerns.
    pub fn run(&self, name: &str, args: Vec<Value>) -> std::result::Result<Value, Failure> {
        let function = self
            .module
            .functions
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| Failure {
                error: internal(format!("no mapping or function `{name}`")),
                source: None,
                target: None,
            })?;
        let args_empty = args.is_empty();
        let origins = if args_empty {
            Vec::new()
        } else {
            vec![Some(Src::Path(Rc::new(Path::Root)))]
        };
        self.eval_body(&function.body, args, origins, 1).map_err(|unwind| {
            let target = (!unwind.target.is_empty()).then(|| {
                let mut out = String::from("$");
                for seg in unwind.target.iter().rev() {
                    match seg {
                        Seg::Field(name) => {
                            out.push('.');
                            out.push_str(name);
                        }
                        Seg::Index(index) => {
                            out.push('[');
                            out.push_str(&index.to_string());
                            out.push(']');
                        }
                    }
                }
                out
            });
            // A failure that no single input value or output field
            // explains (an aggregate over the input, say, in a `let`)
            // concerns the input record as a whole: `$`.
            let source = match (unwind.source, &target) {
                (None, None) if !args_empty => Some("$".to_owned()),
                (source, _) => source,
            };
            Failure {
                error: unwind.error,
                source,
                target,
            }
        })
    }

    /// The value of param `name`.
    pub fn param(&self, name: &str) -> Option<&Value> {
        let index = self.module.params.iter().position(|p| p.name == name)?;
        self.params.get(index)
    }

    /// Evaluates `body` as the `depth`-th body running (1 for the first).
    fn eval_body(
        &self,
        body: &'m Body,
        args: Vec<Value>,
        origins: Vec<Option<Src<'m>>>,
        depth: u32,
    ) -> Flow<'m, Value> {
        if depth > MAX_CALL_DEPTH {
            return Err(EvalError::TooDeep(MAX_CALL_DEPTH).into());
        }
        let mut frame = Frame::new(args, origins, body.locals.len(), depth);
        self.eval(&body.expr, &mut frame)
    }

    /// The value a place (a local, a param, a field or index of a place)
    /// holds, borrowed: reading `inv.supplier.id` copies only the text.
    fn read<'a>(&'a self, expr: &Expr, values: &'a [Value]) -> Option<&'a Value> {
        match expr {
            Expr::Local(id) => values.get(id.0 as usize),
            Expr::Param(index) => self.params.get(*index as usize),
            Expr::Field(base, field) => match self.read(base, values)? {
                Value::Record(slots) => slots.get(field.slot as usize),
                Value::Absent => Some(&ABSENT),
                _ => None,
            },
            Expr::Index(base, index) => {
                let position = match index.as_ref() {
                    Expr::Const(Value::Int(i)) => *i,
                    other => match self.read(other, values)? {
                        Value::Int(i) => *i,
                        _ => return None,
                    },
                };
                match self.read(base, values)? {
                    Value::List(items) => Some(
                        usize::try_from(position)
                            .ok()
                            .and_then(|i| items.get(i))
                            .unwrap_or(&ABSENT),
                    ),
                    Value::Absent => Some(&ABSENT),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Where the value of `expr` came from in the input, if it is a place
    /// rooted in the input (valid after `expr` was evaluated).
    fn origin(&self, expr: &'m Expr, frame: &Frame<'m>) -> Option<Src<'m>> {
        match expr {
            Expr::Local(id) => frame.origins.get(id.0 as usize).cloned().flatten(),
            Expr::Field(base, field) => match self.origin(base, frame)? {
                Src::Items(..) => None,
                src => Some(Src::Path(Rc::new(Path::Field(src.path(), &field.name)))),
            },
            Expr::Index(base, index) => {
                let position = match index.as_ref() {
                    Expr::Const(Value::Int(i)) => usize::try_from(*i).ok()?,
                    other => match self.read(other, &frame.values)? {
                        Value::Int(i) => usize::try_from(*i).ok()?,
                        _ => return None,
                    },
                };
                self.origin(base, frame)?.element(position)
            }
            Expr::Block(_, result) => self.origin(result, frame),
            Expr::Coalesce(value, _) => self.origin(value, frame),
            _ => None,
        }
    }

    /// The input path a failure in `expr` is best blamed on: the first place
    /// inside it that came from the input.
    fn blame(&self, expr: &'m Expr, frame: &Frame<'m>) -> Option<String> {
        if let Some(src) = self.origin(expr, frame) {
            return Some(src.path().text());
        }
        match expr {
            Expr::Call(_, args) | Expr::CallFn(_, args) | Expr::List(args) => {
                args.iter().find_map(|arg| self.blame(arg, frame))
            }
            Expr::Lookup(_, key) => self.blame(key, frame),
            Expr::Field(base, _) | Expr::Index(base, _) => self.blame(base, frame),
            // The value came from the side that was taken; finding out
            // evaluates again, which is harmless (mappings are pure) and
            // only happens on the way out of a failure.
            Expr::Coalesce(value, default) => {
                // `required(x, …)` fails because `x` was absent: blame `x`.
                let absent = !matches!(default.as_ref(), Expr::Fail(_))
                    && matches!(self.eval(value, &mut frame.clone()), Ok(Value::Absent));
                if absent {
                    self.blame(default, frame)
                } else {
                    self.blame(value, frame)
                }
            }
            Expr::If(cond, then, otherwise) => match self.eval(cond, &mut frame.clone()) {
                Ok(Value::Bool(true)) => self.blame(then, frame),
                Ok(Value::Bool(false)) => self.blame(otherwise, frame),
                _ => self.blame(cond, frame),
            },
            Expr::And(a, b) | Expr::Or(a, b) => self.blame(a, frame).or_else(|| self.blame(b, frame)),
            Expr::Loop(lp) => self.blame(&lp.source, frame),
            Expr::Match(scrutinee, _) => self.blame(scrutinee, frame),
            _ => None,
        }
    }

    fn eval(&self, expr: &'m Expr, frame: &mut Frame<'m>) -> Flow<'m, Value> {
        Ok(match expr {
            Expr::Const(value) => value.clone(),
            Expr::Local(_) | Expr::Param(_) | Expr::Field(..) | Expr::Index(..)
                if let Some(value) = self.read(expr, &frame.values) =>
            {
                value.clone()
            }
            Expr::Local(_) | Expr::Param(_) => return Err(internal("unknown local or param").into()),
            Expr::Field(base, field) => match self.eval(base, frame)? {
                Value::Absent => Value::Absent,
                Value::Record(slots) => slots
                    .into_iter()
                    .nth(field.slot as usize)
                    .ok_or_else(|| internal("no such slot"))?,
                other => return Err(internal(format!("field of a non-record {other}")).into()),
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
                    _ => return Err(internal("bad index").into()),
                }
            }
            Expr::Lookup(table, key) => {
                let key = self.eval(key, frame)?;
                self.lookup(*table, &key, frame.depth)?
            }
            Expr::Call(op, args) => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(arg, frame)?);
                }
                let refs: Vec<&Value> = values.iter().collect();
                match apply(*op, &refs) {
                    Ok(value) => value,
                    Err(error) => {
                        return Err(Unwind {
                            error,
                            source: args.iter().find_map(|arg| self.blame(arg, frame)),
                            target: Vec::new(),
                        });
                    }
                }
            }
            Expr::CallFn(index, args) => {
                let function = self
                    .module
                    .functions
                    .get(*index as usize)
                    .ok_or_else(|| internal("unknown fn"))?;
                let mut values = Vec::with_capacity(args.len());
                let mut origins = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(arg, frame)?);
                    origins.push(self.origin(arg, frame));
                }
                self.eval_body(&function.body, values, origins, frame.depth + 1)?
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
                    match self.eval(item, frame) {
                        Ok(value) => values.push(value),
                        Err(mut unwind) => {
                            if builds_record(item) {
                                unwind.target.push(Seg::Index(values.len()));
                            }
                            return Err(unwind);
                        }
                    }
                }
                Value::List(values)
            }
            Expr::Loop(lp) => self.eval_loop(lp, frame)?.0,
            Expr::Match(scrutinee, arms) => {
                let value = self.eval(scrutinee, frame)?;
                match self.choose(arms, &value, frame)? {
                    Some(arm) => self.eval(&arm.body, frame)?,
                    None => return Err(internal(format!("no match arm for {value}")).into()),
                }
            }
            Expr::Fail(message) => match self.eval(message, frame)? {
                Value::Text(text) => return Err(EvalError::Failed(text).into()),
                other => return Err(EvalError::Failed(other.to_string()).into()),
            },
        })
    }

    fn truth(&self, expr: &'m Expr, frame: &mut Frame<'m>) -> Flow<'m, bool> {
        match self.eval(expr, frame)? {
            Value::Bool(value) => Ok(value),
            other => Err(internal(format!("a condition gave {other}")).into()),
        }
    }

    fn choose<T>(&self, arms: &'m [Arm<T>], value: &Value, frame: &mut Frame<'m>) -> Flow<'m, Option<&'m Arm<T>>> {
        for arm in arms {
            let matches = arm.patterns.is_empty() || arm.patterns.iter().any(|p| p == value);
            if matches && arm.guard.as_ref().map_or(Ok(true), |g| self.truth(g, frame))? {
                return Ok(Some(arm));
            }
        }
        Ok(None)
    }

    fn exec(&self, stmts: &'m [Stmt], frame: &mut Frame<'m>) -> Flow<'m, ()> {
        for stmt in stmts {
            match stmt {
                Stmt::Let(id, value) => {
                    let (value, origin) = match value {
                        Expr::Loop(lp) => self.eval_loop(lp, frame),
                        other => self.eval(other, frame).map(|v| (v, self.origin(other, frame))),
                    }
                    .map_err(|mut unwind| {
                        // Computing a local is not writing an output field.
                        unwind.target.clear();
                        if unwind.source.is_none() {
                            unwind.source = self.blame(value, frame);
                        }
                        unwind
                    })?;
                    frame.set(id.0, value, origin);
                }
                Stmt::SetSlot {
                    record,
                    field,
                    value,
                    check,
                } => {
                    let computed = self.eval(value, frame).and_then(|computed| match check {
                        Some(check) => check_value(*check, &computed).map(|()| computed).map_err(Unwind::from),
                        None => Ok(computed),
                    });
                    let computed = match computed {
                        Ok(computed) => computed,
                        Err(mut unwind) => {
                            if unwind.source.is_none() {
                                unwind.source = self.blame(value, frame);
                            }
                            unwind.target.push(Seg::Field(&field.name));
                            return Err(unwind);
                        }
                    };
                    match frame.values.get_mut(record.0 as usize) {
                        Some(Value::Record(slots)) => {
                            if let Some(target) = slots.get_mut(field.slot as usize) {
                                *target = computed;
                            }
                        }
                        _ => return Err(internal("set a slot of a non-record").into()),
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

    fn lookup(&self, table: u32, key: &Value, depth: u32) -> Flow<'m, Value> {
        let definition = self
            .module
            .tables
            .get(table as usize)
            .ok_or_else(|| internal("unknown table"))?;
        match self.tables.find(self.module, table, key)? {
            Found::Value(value) => Ok(value.clone()),
            Found::Entry(position) => match definition.entries.as_ref().and_then(|e| e.get(position)) {
                Some((_, body)) => self.eval_body(body, Vec::new(), Vec::new(), depth + 1),
                None => Err(internal("unknown table entry").into()),
            },
            Found::Fallback => match &definition.fallback {
                Some(fallback) => self.eval_body(fallback, Vec::new(), Vec::new(), depth + 1),
                None => Ok(Value::Absent),
            },
            Found::Absent => Ok(Value::Absent),
        }
    }

    /// Runs a loop; also says where the result came from when it is made
    /// of input elements.
    fn eval_loop(&self, lp: &'m Loop, frame: &mut Frame<'m>) -> Flow<'m, (Value, Option<Src<'m>>)> {
        let items = match self.eval(&lp.source, frame)? {
            Value::List(items) => items,
            Value::Absent => Vec::new(),
            other => return Err(internal(format!("a loop over {other}")).into()),
        };
        let source_origin = self.origin(&lp.source, frame);
        // Collecting records builds output elements: a failure inside one
        // names its position.
        let builds_records = lp.fold == Fold::Collect && builds_record(&lp.body);
        let mut collected = Vec::new();
        let mut kept_origins: Vec<Src<'m>> = Vec::new();
        let mut keys: Vec<Value> = Vec::new();
        let mut seen: HashSet<KeyText> = HashSet::new();
        let mut groups: Vec<(Value, Vec<Value>)> = Vec::new();
        let mut group_index: HashMap<KeyText, usize> = HashMap::new();
        let mut sum: Option<Value> = None;
        let mut count = 0i64;
        let mut chosen: Option<(Value, Option<Src<'m>>)> = None;
        for (position, item) in items.into_iter().enumerate() {
            let item_origin = source_origin.as_ref().and_then(|src| src.element(position));
            // The element lives in the frame while the body runs and is
            // taken back (not copied) when the fold keeps it.
            frame.set(lp.item.0, item, item_origin.clone());
            if let Some(index) = lp.index {
                frame.set(index.0, Value::Int(position as i64), None);
            }
            if let Some(filter) = &lp.filter
                && !self.truth(filter, frame)?
            {
                continue;
            }
            let body = match lp.fold {
                // `where` keeps the element itself: no body to compute.
                Fold::Filter => Ok(Value::Absent),
                _ => self.eval(&lp.body, frame),
            };
            let body = match body {
                Ok(body) => body,
                Err(mut unwind) => {
                    if builds_records {
                        unwind.target.push(Seg::Index(collected.len()));
                    }
                    return Err(unwind);
                }
            };
            let keep_origin = |origins: &mut Vec<Src<'m>>| {
                if let Some(origin) = &item_origin {
                    origins.push(origin.clone());
                }
            };
            let keeps_item = matches!(
                lp.fold,
                Fold::Filter | Fold::First | Fold::Last | Fold::SortBy | Fold::DistinctBy | Fold::GroupBy
            );
            let item = if keeps_item {
                frame
                    .values
                    .get_mut(lp.item.0 as usize)
                    .map(std::mem::take)
                    .unwrap_or(Value::Absent)
            } else {
                Value::Absent
            };
            match &lp.fold {
                Fold::Collect => collected.push(body),
                Fold::Filter => {
                    keep_origin(&mut kept_origins);
                    collected.push(item);
                }
                Fold::Sum { .. } => {
                    sum = Some(match sum {
                        None => body,
                        Some(so_far) => {
                            let op = if matches!(so_far, Value::Int(_)) {
                                Op::IntAdd
                            } else {
                                Op::DecAdd
                            };
                            apply(op, &[&so_far, &body]).map_err(|error| Unwind {
                                error,
                                source: self.blame(&lp.body, frame),
                                target: Vec::new(),
                            })?
                        }
                    });
                }
                Fold::Count => {
                    if body == Value::Bool(true) {
                        count += 1;
                    }
                }
                Fold::Any => {
                    if body == Value::Bool(true) {
                        return Ok((Value::Bool(true), None));
                    }
                }
                Fold::All => {
                    if body != Value::Bool(true) {
                        return Ok((Value::Bool(false), None));
                    }
                }
                Fold::First => {
                    if body == Value::Bool(true) {
                        return Ok((item, item_origin));
                    }
                }
                Fold::Last => {
                    if body == Value::Bool(true) {
                        chosen = Some((item, item_origin));
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
                    keep_origin(&mut kept_origins);
                    keys.push(body);
                    collected.push(item);
                }
                Fold::DistinctBy => {
                    if seen.insert(KeyText::of(&body)) {
                        keep_origin(&mut kept_origins);
                        collected.push(item);
                    }
                }
                Fold::GroupBy => match group_index.entry(KeyText::of(&body)) {
                    std::collections::hash_map::Entry::Occupied(entry) => {
                        if let Some((_, members)) = groups.get_mut(*entry.get()) {
                            members.push(item);
                        }
                    }
                    std::collections::hash_map::Entry::Vacant(entry) => {
                        entry.insert(groups.len());
                        groups.push((body, vec![item]));
                    }
                },
            }
        }
        // A list of input elements keeps their paths (when every element
        // had one).
        let items_origin = |origins: Vec<Src<'m>>, len: usize| match &source_origin {
            Some(src) if origins.len() == len => Some(Src::Items(src.path(), Rc::new(origins))),
            _ => None,
        };
        Ok(match &lp.fold {
            Fold::Collect => (Value::List(collected), None),
            Fold::Filter | Fold::DistinctBy => {
                let len = collected.len();
                (Value::List(collected), items_origin(kept_origins, len))
            }
            Fold::Sum { decimal } => (
                sum.unwrap_or(if *decimal {
                    Value::Decimal(Decimal::ZERO)
                } else {
                    Value::Int(0)
                }),
                None,
            ),
            Fold::Count => (Value::Int(count), None),
            Fold::Any => (Value::Bool(false), None),
            Fold::All => (Value::Bool(true), None),
            Fold::First => (Value::Absent, None),
            Fold::Last => chosen.unwrap_or((Value::Absent, None)),
            Fold::Min | Fold::Max => (sum.unwrap_or(Value::Absent), None),
            Fold::SortBy => {
                let len = collected.len();
                let complete = kept_origins.len() == len;
                let mut rows: Vec<(Value, Value, Option<Src<'m>>)> = keys
                    .into_iter()
                    .zip(collected)
                    .enumerate()
                    .map(|(i, (key, item))| (key, item, if complete { kept_origins.get(i).cloned() } else { None }))
                    .collect();
                sort_by_key(&mut rows, |row| &row.0)?;
                let mut origins = Vec::with_capacity(rows.len());
                let mut values = Vec::with_capacity(rows.len());
                for (_, item, origin) in rows {
                    values.push(item);
                    if let Some(origin) = origin {
                        origins.push(origin);
                    }
                }
                (Value::List(values), items_origin(origins, len))
            }
            Fold::GroupBy => (
                Value::List(
                    groups
                        .into_iter()
                        .map(|(key, members)| Value::Record(vec![key, Value::List(members)]))
                        .collect(),
                ),
                None,
            ),
        })
    }
}

/// Whether `expr` builds a record of the output (a record block).
fn builds_record(expr: &Expr) -> bool {
    matches!(expr, Expr::Block(stmts, _) if matches!(stmts.first(), Some(Stmt::Let(_, Expr::NewRecord(..)))))
}

/// A value as a hashable key with the language's equality: numbers by
/// value (`1.0` equals `1`), enums by variant, everything else as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyText(String);

impl KeyText {
    /// The key of `value`.
    pub fn of(value: &Value) -> KeyText {
        let mut out = String::new();
        KeyText::write(value, &mut out);
        KeyText(out)
    }

    /// The key of `value`, in a kept buffer (see [`recycle`]); give it
    /// back with [`KeyText::recycle`].
    pub fn kept(value: &Value) -> KeyText {
        let mut out = recycle::string();
        KeyText::write(value, &mut out);
        KeyText(out)
    }

    /// Gives the key's buffer back.
    pub fn recycle(self) {
        recycle::recycle_text(self.0);
    }

    /// Appends the key text of `value` to `out` (to look a key up without
    /// building a `KeyText`: it borrows as `str`).
    pub fn write(value: &Value, out: &mut String) {
        use std::fmt::Write as _;
        // Writing to a `String` cannot fail.
        let _ = match value {
            Value::Int(n) => write!(out, "n{n}"),
            Value::Decimal(d) => write!(out, "n{}", d.normalize()),
            Value::Enum(index, _) => write!(out, "e{index}"),
            Value::Text(text) => {
                out.push('t');
                out.push_str(text);
                Ok(())
            }
            Value::Record(slots) => {
                out.push('r');
                for slot in slots {
                    let mut key = recycle::string();
                    KeyText::write(slot, &mut key);
                    let _ = write!(out, "{}:", key.len());
                    out.push_str(&key);
                    recycle::recycle_text(key);
                }
                Ok(())
            }
            other => write!(out, "v{other}"),
        };
    }
}

/// A `KeyText` hashes as its text, so a map of them can be searched with a
/// `&str`.
impl std::borrow::Borrow<str> for KeyText {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Runs `f` on `key`'s text as [`KeyText::write`] gives it (or, for an
/// external table, as [`key_text`] does), in a kept buffer.
/// Whether a table entry's key `a` is the looked-up `key` (`==` on
/// values; an enum variant by its index alone, which names it).
fn same_key(a: &Value, key: &Value) -> bool {
    match (a, key) {
        (Value::Enum(x, _), Value::Enum(y, _)) => x == y,
        _ => a == key,
    }
}

fn with_key_text<T>(key: &Value, external: bool, f: impl FnOnce(&str) -> T) -> T {
    use std::fmt::Write as _;
    let mut text = recycle::string();
    if external {
        // Writing to a `String` cannot fail.
        let _ = write!(text, "{key}");
    } else {
        KeyText::write(key, &mut text);
    }
    let found = f(&text);
    recycle::recycle_text(text);
    found
}

/// Applies a field's run-time check to the value set into it.
pub fn check_value(check: Check, value: &Value) -> Result<()> {
    match (check, value) {
        (Check::Length(max), Value::Text(text)) => text::check_length(text, max)?,
        (Check::XmlText { max }, Value::Text(value)) => {
            text::check_xml_chars(value)?;
            if let Some(max) = max {
                text::check_length(value, max)?;
            }
        }
        (Check::Decimal { precision, scale }, Value::Decimal(_) | Value::Int(_)) => {
            let decimal = dec(value)?;
            if !number::fits_scale(decimal, scale) {
                number::with_scale(decimal, scale)?;
            }
            if let Some(precision) = precision {
                number::check_precision(decimal, precision, scale)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The text an external table's key is stored under.
pub fn key_text(key: &Value) -> String {
    match key {
        Value::Text(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Sorts `rows` stably by the value `key` gives (`sort_by`); the first
/// pair that cannot be ordered is the error. Both engines sort with it.
pub(crate) fn sort_by_key<T>(rows: &mut [T], key: impl Fn(&T) -> &Value) -> Result<()> {
    let mut failure = None;
    rows.sort_by(|a, b| {
        compare(key(a), key(b)).unwrap_or_else(|error| {
            failure.get_or_insert(error);
            std::cmp::Ordering::Equal
        })
    });
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Orders two values of one type (numbers across `Int` and `Decimal`).
pub(crate) fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering> {
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

fn opt_txt<'a>(values: &[&'a Value], index: usize) -> Result<Option<&'a str>> {
    values.get(index).map(|value| txt(value)).transpose()
}

/// Applies a typed operation.
pub fn apply(op: Op, args: &[&Value]) -> Result<Value> {
    let arg = |i: usize| {
        args.get(i)
            .copied()
            .ok_or_else(|| internal(format!("{op:?} is missing argument {i}")))
    };
    Ok(match op {
        Op::IntNeg => Value::Int(number::int_neg(int(arg(0)?)?)?),
        Op::DecNeg => Value::Decimal(-dec(arg(0)?)?),
        Op::IntToDec => Value::Decimal(Decimal::from(int(arg(0)?)?)),
        Op::Not => match arg(0)? {
            Value::Bool(value) => Value::Bool(!value),
            other => return Err(internal(format!("not of {other}"))),
        },
        Op::Concat => {
            let mut room = 0;
            for value in args {
                room += txt(value)?.len();
            }
            let mut out = recycle::string_with_room(room);
            for value in args {
                out.push_str(txt(value)?);
            }
            Value::Text(out)
        }
        Op::Builtin(name) => builtin(name, args)?,
        op => match binary(op) {
            Some(binary) => binary(arg(0)?, arg(1)?)?,
            None => return Err(internal(format!("{op:?} has no implementation"))),
        },
    })
}

/// An operation of two values.
pub type Binary = fn(&Value, &Value) -> Result<Value>;

/// The operations of two values, each its own function: [`apply`] calls
/// them, and compiled code calls them straight (one helper per operation,
/// with no dispatch on the operation), so both engines compute them with
/// the very same code.
pub fn binary(op: Op) -> Option<Binary> {
    Some(match op {
        Op::IntAdd => ops::int_add,
        Op::IntSub => ops::int_sub,
        Op::IntMul => ops::int_mul,
        Op::IntRem => ops::int_rem,
        Op::DecAdd => ops::dec_add,
        Op::DecSub => ops::dec_sub,
        Op::DecMul => ops::dec_mul,
        Op::DecDiv => ops::dec_div,
        Op::DecRem => ops::dec_rem,
        Op::Eq => ops::eq,
        Op::Ne => ops::ne,
        Op::Lt => ops::lt,
        Op::Le => ops::le,
        Op::Gt => ops::gt,
        Op::Ge => ops::ge,
        _ => return None,
    })
}

/// The operations of two values, by name (see [`binary`]).
pub mod ops {
    use super::{Result, Value, compare, dec, equal, int, number};

    /// `Int + Int`.
    pub fn int_add(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Int(number::int_add(int(a)?, int(b)?)?))
    }
    /// `Int - Int`.
    pub fn int_sub(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Int(number::int_sub(int(a)?, int(b)?)?))
    }
    /// `Int * Int`.
    pub fn int_mul(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Int(number::int_mul(int(a)?, int(b)?)?))
    }
    /// `Int % Int`.
    pub fn int_rem(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Int(number::int_rem(int(a)?, int(b)?)?))
    }
    /// Decimal `+`.
    pub fn dec_add(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Decimal(number::add(dec(a)?, dec(b)?)?))
    }
    /// Decimal `-`.
    pub fn dec_sub(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Decimal(number::sub(dec(a)?, dec(b)?)?))
    }
    /// Decimal `*`.
    pub fn dec_mul(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Decimal(number::mul(dec(a)?, dec(b)?)?))
    }
    /// Decimal `/`.
    pub fn dec_div(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Decimal(number::div(dec(a)?, dec(b)?)?))
    }
    /// Decimal `%`.
    pub fn dec_rem(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Decimal(number::rem(dec(a)?, dec(b)?)?))
    }
    /// `==`.
    pub fn eq(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Bool(equal(a, b)))
    }
    /// `!=`.
    pub fn ne(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Bool(!equal(a, b)))
    }
    /// `<`.
    pub fn lt(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Bool(compare(a, b)?.is_lt()))
    }
    /// `<=`.
    pub fn le(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Bool(compare(a, b)?.is_le()))
    }
    /// `>`.
    pub fn gt(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Bool(compare(a, b)?.is_gt()))
    }
    /// `>=`.
    pub fn ge(a: &Value, b: &Value) -> Result<Value> {
        Ok(Value::Bool(compare(a, b)?.is_ge()))
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Decimal(y)) | (Value::Decimal(y), Value::Int(x)) => Decimal::from(*x) == *y,
        (Value::Enum(x, _), Value::Enum(y, _)) => x == y,
        _ => a == b,
    }
}

/// The text `write` appends to a kept buffer (see [`recycle`]); on
/// failure the buffer goes back.
fn written(write: impl FnOnce(&mut String) -> Result<()>) -> Result<Value> {
    let mut out = recycle::string();
    match write(&mut out) {
        Ok(()) => Ok(Value::Text(out)),
        Err(error) => {
            recycle::recycle_text(out);
            Err(error)
        }
    }
}

/// The value-level builtins. The list builtins (`sum`, `count`, `first`,
/// `min` of a list, `sort_by`, …) are lowered to loops instead.
fn builtin(name: &str, args: &[&Value]) -> Result<Value> {
    match BuiltinId::of(name) {
        Some(id) => builtin_by(id, args),
        None => Err(internal(format!("the builtin `{name}` has no value-level form"))),
    }
}

macro_rules! builtin_ids {
    ($($id:ident = $name:literal,)*) => {
        /// A value-level builtin, known by number: compiled code calls it
        /// by its number ([`builtin_by`]), so the name is matched once,
        /// when the mapping is compiled.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum BuiltinId {
            $(
                #[doc = concat!("`", $name, "`.")]
                $id,
            )*
        }

        impl BuiltinId {
            /// Every value-level builtin, by number.
            pub const ALL: &'static [BuiltinId] = &[$(BuiltinId::$id,)*];

            /// The builtin called `name`, if it has a value-level form.
            pub fn of(name: &str) -> Option<BuiltinId> {
                match name {
                    $($name => Some(BuiltinId::$id),)*
                    _ => None,
                }
            }

            /// Its number: its place in [`BuiltinId::ALL`].
            pub fn number(self) -> usize {
                self as usize
            }

            /// Its name in the language.
            pub fn name(self) -> &'static str {
                match self {
                    $(BuiltinId::$id => $name,)*
                }
            }
        }
    };
}

builtin_ids! {
    Upper = "upper",
    Lower = "lower",
    Trim = "trim",
    PadLeft = "pad_left",
    PadRight = "pad_right",
    Substring = "substring",
    Replace = "replace",
    Split = "split",
    Join = "join",
    Concat = "concat",
    Length = "length",
    Text = "text",
    Round = "round",
    Abs = "abs",
    Min = "min",
    Max = "max",
    ParseDecimal = "parse_decimal",
    ParseInt = "parse_int",
    ParseDate = "parse_date",
    FormatDate = "format_date",
    ParseDatetime = "parse_datetime",
    FormatDatetime = "format_datetime",
    AddDays = "add_days",
    AddMonths = "add_months",
    ToTimezone = "to_timezone",
    StartOfMonth = "start_of_month",
    EndOfMonth = "end_of_month",
}

/// The value-level builtin `id` applied to `args`: what [`apply`] does for
/// `Op::Builtin`, once the name is known.
pub fn builtin_by(id: BuiltinId, args: &[&Value]) -> Result<Value> {
    let name = id.name();
    let arg = |i: usize| {
        args.get(i)
            .copied()
            .ok_or_else(|| internal(format!("`{name}` is missing argument {i}")))
    };
    Ok(match id {
        BuiltinId::Upper => written(|out| {
            text::upper(txt(arg(0)?)?, out);
            Ok(())
        })?,
        BuiltinId::Lower => written(|out| {
            text::lower(txt(arg(0)?)?, out);
            Ok(())
        })?,
        BuiltinId::Trim => Value::Text(recycle::text(text::trim(txt(arg(0)?)?))),
        BuiltinId::PadLeft => written(|out| Ok(text::pad_left(txt(arg(0)?)?, int(arg(1)?)?, txt(arg(2)?)?, out)?))?,
        BuiltinId::PadRight => written(|out| Ok(text::pad_right(txt(arg(0)?)?, int(arg(1)?)?, txt(arg(2)?)?, out)?))?,
        BuiltinId::Substring => {
            let length = match args.get(2) {
                Some(value) => Some(int(value)?),
                None => None,
            };
            Value::Text(recycle::text(text::substring(txt(arg(0)?)?, int(arg(1)?)?, length)?))
        }
        BuiltinId::Replace => written(|out| {
            text::replace(txt(arg(0)?)?, txt(arg(1)?)?, txt(arg(2)?)?, out);
            Ok(())
        })?,
        BuiltinId::Split => {
            let mut pieces = recycle::list(0);
            pieces.extend(text::split(txt(arg(0)?)?, txt(arg(1)?)?)?.map(|piece| Value::Text(recycle::text(piece))));
            Value::List(pieces)
        }
        BuiltinId::Join => match arg(0)? {
            Value::List(items) => {
                for item in items {
                    txt(item)?;
                }
                let separator = txt(arg(1)?)?;
                written(|out| {
                    text::join(items.iter().filter_map(|item| txt(item).ok()), separator, out);
                    Ok(())
                })?
            }
            other => return Err(internal(format!("join of {other}"))),
        },
        BuiltinId::Concat => apply(Op::Concat, args)?,
        BuiltinId::Length => match arg(0)? {
            Value::Text(value) => Value::Int(text::length(value) as i64),
            Value::List(items) => Value::Int(items.len() as i64),
            other => return Err(internal(format!("length of {other}"))),
        },
        BuiltinId::Text => match arg(0)? {
            Value::Text(value) => Value::Text(recycle::text(value)),
            Value::Enum(_, variant) => Value::Text(recycle::text(variant)),
            Value::DateTime(value) => written(|out| {
                value.write_rfc3339(out);
                Ok(())
            })?,
            Value::Absent => Value::Absent,
            // The common numbers without `core::fmt`, as `Display` writes
            // them.
            Value::Int(n) => Value::Text(recycle::text(itoa::Buffer::new().format(*n))),
            Value::Decimal(d) => Value::Text(recycle::text(number::decimal_text(*d, &mut [0; number::DECIMAL_TEXT]))),
            // Dates and truth values as the language writes them.
            other => written(|out| {
                use std::fmt::Write as _;
                write!(out, "{other}").map_err(|_| internal("text of a value failed"))
            })?,
        },
        BuiltinId::Round => {
            let mode = match args.get(2) {
                Some(Value::Text(word)) => {
                    RoundingMode::from_name(word).ok_or_else(|| internal(format!("unknown rounding mode {word}")))?
                }
                Some(other) => return Err(internal(format!("rounding mode {other}"))),
                None => RoundingMode::HalfUp,
            };
            Value::Decimal(number::round(dec(arg(0)?)?, int(arg(1)?)?, mode)?)
        }
        BuiltinId::Abs => match arg(0)? {
            Value::Int(n) => Value::Int(number::int_abs(*n)?),
            other => Value::Decimal(dec(other)?.abs()),
        },
        BuiltinId::Min | BuiltinId::Max => {
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
        BuiltinId::ParseDecimal => {
            let separator = opt_txt(args, 1)?.and_then(|s| s.chars().next()).unwrap_or('.');
            Value::Decimal(number::parse(txt(arg(0)?)?, separator)?)
        }
        BuiltinId::ParseInt => Value::Int(number::parse_int(txt(arg(0)?)?)?),
        BuiltinId::ParseDate => Value::Date(date::parse_date(txt(arg(0)?)?, opt_txt(args, 1)?)?),
        BuiltinId::FormatDate => match arg(0)? {
            Value::Date(value) => written(|out| Ok(date::format_date(*value, txt(arg(1)?)?, out)?))?,
            Value::DateTime(value) => written(|out| Ok(date::format_datetime(*value, txt(arg(1)?)?, None, out)?))?,
            other => return Err(internal(format!("format_date of {other}"))),
        },
        BuiltinId::ParseDatetime => Value::DateTime(date::parse_datetime(
            txt(arg(0)?)?,
            opt_txt(args, 1)?,
            opt_txt(args, 2)?,
        )?),
        BuiltinId::FormatDatetime => match arg(0)? {
            Value::DateTime(value) => {
                written(|out| Ok(date::format_datetime(*value, txt(arg(1)?)?, opt_txt(args, 2)?, out)?))?
            }
            other => return Err(internal(format!("format_datetime of {other}"))),
        },
        BuiltinId::AddDays => match arg(0)? {
            Value::Date(value) => Value::Date(date::add_days(*value, int(arg(1)?)?)?),
            Value::DateTime(value) => Value::DateTime(date::add_days_datetime(*value, int(arg(1)?)?)?),
            other => return Err(internal(format!("add_days of {other}"))),
        },
        BuiltinId::AddMonths => match arg(0)? {
            Value::Date(value) => Value::Date(date::add_months(*value, int(arg(1)?)?)?),
            other => return Err(internal(format!("add_months of {other}"))),
        },
        BuiltinId::ToTimezone => match arg(0)? {
            Value::DateTime(value) => Value::DateTime(date::to_timezone(*value, txt(arg(1)?)?)?),
            other => return Err(internal(format!("to_timezone of {other}"))),
        },
        BuiltinId::StartOfMonth | BuiltinId::EndOfMonth => match arg(0)? {
            Value::Date(value) => Value::Date(if name == "start_of_month" {
                date::start_of_month(*value)
            } else {
                date::end_of_month(*value)
            }),
            other => return Err(internal(format!("{name} of {other}"))),
        },
    })
}
