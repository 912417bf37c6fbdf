//! A mapping ready to run on JSON: its MIR, the shapes of its input and
//! output records, and the types of its params and tables, so a tenant's
//! `params.toml` and `tables.toml` can be read and checked against them.
//!
//! This is what `mapc run`, `mapc test` and the runtime hold per mapping;
//! it does no IO (bytes and parsed TOML come in, bytes go out).

use crate::helpers::{date, number, text};
use crate::interp::recycle;
use crate::interp::value::Value;
use crate::interp::{EvalError, Failure, Interpreter, key_text};
use crate::jit::{self, Compiled, JitError};
use crate::mir::demand::{self, Demand};
use crate::mir::{self, lower::LowerError};
use crate::resolve::annotations::WireFormat;
use crate::resolve::{DefKind, ModuleLoader, Workspace};
use crate::types::{ModuleId, Ty, TypeStore};
use crate::wire::MappingError;
use crate::wire::csv_out;
use crate::wire::json_in::{self, DecodeOptions};
use crate::wire::json_out;
use crate::wire::shape::{ShapeError, Shapes};
use crate::wire::xml_out::{self, Layout};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Which engine runs a mapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Engine {
    /// Native code compiled with Cranelift (the default).
    #[default]
    Jit,
    /// The reference interpreter.
    Interp,
}

impl Engine {
    /// `jit` or `interp`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Jit => "jit",
            Engine::Interp => "interp",
        }
    }

    /// The engine named `name` (`jit` or `interp`).
    pub fn from_name(name: &str) -> Option<Engine> {
        match name {
            "jit" => Some(Engine::Jit),
            "interp" => Some(Engine::Interp),
            _ => None,
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A mapping's module ready to run for one tenant, on either engine. Both
/// give the same values and the same failures (paths included).
pub enum Evaluator<'p> {
    /// The reference interpreter.
    Interp(Interpreter<'p>),
    /// Compiled code (an instance may be shared by many evaluators and
    /// threads).
    Jit(Arc<jit::Instance>),
}

impl Evaluator<'_> {
    /// Runs the mapping or function `name` on `args` (the first is the
    /// input event); a failure names its input and output paths.
    pub fn run(&self, name: &str, args: Vec<Value>) -> Result<Value, Failure> {
        match self {
            Evaluator::Interp(interpreter) => interpreter.run(name, args),
            Evaluator::Jit(instance) => instance.run(name, args),
        }
    }

    /// As [`Evaluator::run`], handing the arguments back in `args` where
    /// the engine can (the JIT, after a success), so their buffers serve
    /// the next record; otherwise `args` is left empty.
    pub fn run_lending(&self, name: &str, args: &mut Vec<Value>) -> Result<Value, Failure> {
        match self {
            Evaluator::Interp(interpreter) => interpreter.run(name, std::mem::take(args)),
            Evaluator::Jit(instance) => instance.run_lending(name, args),
        }
    }

    /// Runs the mapping or function `name` on `args`.
    pub fn call(&self, name: &str, args: Vec<Value>) -> Result<Value, EvalError> {
        self.run(name, args).map_err(|failure| failure.error)
    }

    /// Which engine this is.
    pub fn engine(&self) -> Engine {
        match self {
            Evaluator::Interp(_) => Engine::Interp,
            Evaluator::Jit(_) => Engine::Jit,
        }
    }
}

impl<'p> From<Interpreter<'p>> for Evaluator<'p> {
    fn from(interpreter: Interpreter<'p>) -> Self {
        Evaluator::Interp(interpreter)
    }
}

/// Why a mapping cannot be prepared to run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    /// No mapping of that name in the file.
    #[error("no mapping `{name}` in this file{}", hint(.available))]
    NoMapping {
        /// The name asked for.
        name: String,
        /// The mappings the file has.
        available: Vec<String>,
    },
    /// The mapping does not take one record and give one record.
    #[error("mapping `{0}` must take one record and give a record to run on JSON")]
    Signature(String),
    /// Lowering failed.
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// A record has no JSON form.
    #[error("{0}")]
    Shape(#[from] ShapeError),
}

fn hint(available: &[String]) -> String {
    if available.is_empty() {
        " (it has none)".to_owned()
    } else {
        format!(" (it has: {})", available.join(", "))
    }
}

/// How payloads are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// On a stream, one event after another: JSON and XML on one line each;
    /// CSV rows, with the header (and byte-order mark) only before the
    /// `first` event's rows.
    Stream {
        /// This is the first event of the stream.
        first: bool,
    },
    /// A file per event: XML indented with its declaration; CSV with its
    /// header; JSON on one line.
    File,
}

/// A param's or table's declared types, for reading TOML.
#[derive(Clone, Debug)]
struct TableInfo {
    key: Option<Ty>,
    value: Option<Ty>,
    external: bool,
}

/// A mapping prepared to run.
pub struct Program {
    /// The module's MIR.
    pub mir: mir::Module,
    /// What the mapping reads of its input: the decoder builds only that.
    pub reads: Demand,
    /// The mapping's name.
    pub mapping: String,
    /// The input record's shape.
    pub input: Shapes,
    /// The output record's shape.
    pub output: Shapes,
    types: TypeStore,
    params: Vec<(String, Option<Ty>, bool)>,
    tables: Vec<(String, TableInfo)>,
    /// The module compiled by the JIT, once it was asked for.
    compiled: OnceLock<Result<Arc<Compiled>, JitError>>,
}

/// The names of the mappings of `module`, in source order.
pub fn mapping_names<L: ModuleLoader>(workspace: &Workspace<L>, module: ModuleId) -> Vec<String> {
    let Some(info) = workspace.module(module) else {
        return Vec::new();
    };
    info.ast
        .items
        .iter()
        .filter_map(|item| match &item.kind {
            crate::syntax::ast::ItemKind::Mapping(function) => Some(function.name.name.clone()),
            _ => None,
        })
        .collect()
}

impl Program {
    /// Prepares mapping `name` of `module` (a `.map` file that checked
    /// clean).
    pub fn new<L: ModuleLoader>(
        workspace: &Workspace<L>,
        module: ModuleId,
        name: &str,
    ) -> Result<Program, ProgramError> {
        let info = workspace.module(module).ok_or(LowerError::NotChecked)?;
        let (input, output) = match info.scope.get(name).map(|def| &def.kind) {
            Some(DefKind::Mapping(params, result)) => match (params.as_slice(), result) {
                ([Some(Ty::Record(input))], Some(Ty::Record(output))) => (*input, *output),
                _ => return Err(ProgramError::Signature(name.to_owned())),
            },
            _ => {
                return Err(ProgramError::NoMapping {
                    name: name.to_owned(),
                    available: mapping_names(workspace, module),
                });
            }
        };
        let format_of = |id: ModuleId| workspace.module(id).map(|m| m.format.clone());
        let mir = mir::lower::lower(workspace, module)?;
        let mut params = Vec::new();
        let mut tables = Vec::new();
        for item in &info.ast.items {
            match &item.kind {
                crate::syntax::ast::ItemKind::Param(param) => {
                    let ty = match info.scope.get(&param.name.name).map(|d| &d.kind) {
                        Some(DefKind::Param(ty)) => ty.clone(),
                        _ => None,
                    };
                    params.push((param.name.name.clone(), ty, param.default.is_some()));
                }
                crate::syntax::ast::ItemKind::Table(table) => {
                    if let Some(DefKind::Table(key, value, _)) = info.scope.get(&table.name.name).map(|d| &d.kind) {
                        tables.push((
                            table.name.name.clone(),
                            TableInfo {
                                key: key.clone(),
                                value: value.clone(),
                                external: table.entries.is_none(),
                            },
                        ));
                    }
                }
                _ => {}
            }
        }
        // What the mapping reads of its input; without its body (never
        // the case for a checked mapping) everything is read.
        let reads = mir
            .functions
            .iter()
            .find(|function| function.name == name)
            .map_or_else(Demand::whole, |function| demand::of_parameter(function, 0));
        Ok(Program {
            mir,
            reads,
            mapping: name.to_owned(),
            input: Shapes::build(&workspace.types, input, &format_of)?,
            output: Shapes::build(&workspace.types, output, &format_of)?,
            types: workspace.types.clone(),
            params,
            tables,
            compiled: OnceLock::new(),
        })
    }

    /// Reads a tenant's params (`params.toml`): every key must be a param
    /// of the file and every value of its type. Problems are returned all
    /// together, each naming its key.
    pub fn params_from_toml(&self, table: &toml::Table) -> Result<HashMap<String, Value>, Vec<String>> {
        let mut out = HashMap::new();
        let mut problems = Vec::new();
        for (key, value) in table {
            match self.params.iter().find(|(name, ..)| name == key) {
                Some((_, Some(ty), _)) => match self.read_toml(ty, value) {
                    Ok(value) => {
                        out.insert(key.clone(), value);
                    }
                    Err(reason) => problems.push(format!("`{key}`: {reason}")),
                },
                Some((_, None, _)) => problems.push(format!("`{key}`: the param's type did not resolve")),
                None => problems.push(unknown("param", key, self.params.iter().map(|(n, ..)| n.as_str()))),
            }
        }
        for (name, _, has_default) in &self.params {
            if !has_default && !table.contains_key(name) {
                problems.push(format!("`{name}`: the param has no default, so it must be given"));
            }
        }
        if problems.is_empty() { Ok(out) } else { Err(problems) }
    }

    /// Reads a tenant's external tables (`tables.toml`, one TOML table per
    /// `table … external`, keys as text: an enum key by its variant name).
    pub fn tables_from_toml(
        &self,
        table: &toml::Table,
    ) -> Result<HashMap<String, HashMap<String, Value>>, Vec<String>> {
        let mut out = HashMap::new();
        let mut problems = Vec::new();
        for (name, entries) in table {
            let Some((_, info)) = self.tables.iter().find(|(n, _)| n == name) else {
                problems.push(unknown(
                    "table",
                    name,
                    self.tables.iter().filter(|(_, t)| t.external).map(|(n, _)| n.as_str()),
                ));
                continue;
            };
            if !info.external {
                problems.push(format!(
                    "`{name}`: the table is written in the mapping; only `external` tables take entries"
                ));
                continue;
            }
            let Some(entries) = entries.as_table() else {
                problems.push(format!("`{name}`: expected a table of `key = value` entries"));
                continue;
            };
            let mut map = HashMap::new();
            for (key, value) in entries {
                if let Some(key_ty) = &info.key
                    && let Err(reason) = self.read_toml(key_ty, &toml::Value::String(key.clone()))
                {
                    problems.push(format!("`{name}`.`{key}`: the key: {reason}"));
                    continue;
                }
                match info.value.as_ref().map(|ty| self.read_toml(ty, value)) {
                    Some(Ok(value)) => {
                        map.insert(key.clone(), value);
                    }
                    Some(Err(reason)) => problems.push(format!("`{name}`.`{key}`: {reason}")),
                    None => problems.push(format!("`{name}`: the table's value type did not resolve")),
                }
            }
            out.insert(name.clone(), map);
        }
        if problems.is_empty() { Ok(out) } else { Err(problems) }
    }

    /// Whether the file declares `table name: … external`.
    pub fn has_external_table(&self, name: &str) -> bool {
        self.tables.iter().any(|(n, info)| n == name && info.external)
    }

    /// An interpreter for this mapping with the tenant's params and tables.
    pub fn interpreter(
        &self,
        params: &HashMap<String, Value>,
        tables: HashMap<String, HashMap<String, Value>>,
    ) -> Result<Interpreter<'_>, EvalError> {
        Interpreter::new(&self.mir, params, tables)
    }

    /// The module compiled to native code (compiled on first use, then
    /// shared by every instance and thread).
    pub fn compiled(&self) -> Result<Arc<Compiled>, JitError> {
        self.compiled
            .get_or_init(|| {
                let json = self.output.format.format == WireFormat::Json;
                jit::compile_with(&self.mir, |function| json && function.name == self.mapping).map(Arc::new)
            })
            .clone()
    }

    /// An evaluator on `engine` for this mapping with the tenant's params
    /// and tables. A module the JIT cannot compile is an error naming the
    /// reason, never a quiet switch to the interpreter.
    pub fn evaluator(
        &self,
        engine: Engine,
        params: &HashMap<String, Value>,
        tables: HashMap<String, HashMap<String, Value>>,
    ) -> Result<Evaluator<'_>, EvalError> {
        Ok(match engine {
            Engine::Interp => Evaluator::Interp(self.interpreter(params, tables)?),
            Engine::Jit => {
                let compiled = self.compiled().map_err(|e| EvalError::Internal(e.to_string()))?;
                Evaluator::Jit(Arc::new(jit::Instance::new(compiled, params, tables)?))
            }
        })
    }

    /// What a file gathering many events' outputs starts with: a CSV
    /// target's byte-order mark and header, nothing for JSON (JSON Lines).
    /// XML documents cannot be gathered into one file.
    pub fn batch_header(&self) -> Result<Vec<u8>, String> {
        match self.output.format.format {
            WireFormat::Csv => csv_out::header(&self.output)
                .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
            WireFormat::Json => Ok(Vec::new()),
            WireFormat::Xml => Err("XML documents cannot be gathered into one file".to_owned()),
        }
    }

    /// The output's format (from the target schema's `format`).
    pub fn output_format(&self) -> WireFormat {
        self.output.format.format
    }

    /// Maps one JSON event to the output record's value (for targets that
    /// take values rather than bytes, such as a SQL staging table; its
    /// shape is [`Program::output`]).
    pub fn map_value(
        &self,
        evaluator: &Evaluator<'_>,
        input: &[u8],
        options: DecodeOptions,
    ) -> Result<Value, Vec<MappingError>> {
        let event = json_in::decode_reading(&self.input, &self.reads, input, options)?;
        let mut args = recycle::list(1);
        args.push(event);
        evaluator
            .run(&self.mapping, args)
            .map_err(|failure| vec![MappingError::from(failure)])
    }

    /// Maps one JSON event to one payload appended to `out`, laid out for
    /// `framing`. On failure `out` is unchanged and every problem of the
    /// record is returned: all input problems, else the mapping's failure,
    /// else all output problems.
    pub fn run_event(
        &self,
        evaluator: &Evaluator<'_>,
        input: &[u8],
        options: DecodeOptions,
        framing: Framing,
        out: &mut Vec<u8>,
    ) -> Result<(), Vec<MappingError>> {
        // The previous record's input tree on this thread is read into (its
        // texts, records and lists reused), then kept for the next record.
        let mut event = LAST_EVENT
            .try_with(|last| {
                last.try_borrow_mut()
                    .map(|mut last| std::mem::take(&mut *last))
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let decoded = json_in::decode_reading_into(&self.input, &self.reads, input, options, &mut event);
        let mut args = recycle::list(1);
        let result = match decoded {
            Ok(()) => {
                args.push(event);
                self.mapped(evaluator, &mut args, out)
            }
            Err(errors) => {
                args.push(event);
                Err(errors)
            }
        };
        if let Some(event) = args.pop() {
            keep_event(event);
        }
        recycle::recycle_list(args);
        match result? {
            Some(value) => self.encode_output(value, framing, out),
            None => Ok(()),
        }
    }

    /// Maps one decoded `event` and writes the payload to `out`, as
    /// [`Program::run_event`] does after decoding (the transform alone,
    /// for benchmarks and callers that hold decoded events).
    pub fn transform(
        &self,
        evaluator: &Evaluator<'_>,
        event: Value,
        framing: Framing,
        out: &mut Vec<u8>,
    ) -> Result<(), Vec<MappingError>> {
        let mut args = vec![event];
        let result = self.mapped(evaluator, &mut args, out);
        // The caller's event is freed, not kept: its buffers came from the
        // caller's decoding, and nothing in a transform takes as many back
        // (`run_event` decodes the next record into its event instead).
        drop(args);
        match result? {
            Some(value) => self.encode_output(value, framing, out),
            None => Ok(()),
        }
    }

    /// Maps the event in `args` (lent: handed back where the engine can):
    /// `None` when the JIT wrote the JSON payload to `out` directly
    /// ([`crate::jit::Instance::run_writing`]), else the output value to
    /// encode. A record the direct writing does not write (it failed, or
    /// the mapping has no such body) is mapped the usual way, which
    /// reports any failure.
    fn mapped(
        &self,
        evaluator: &Evaluator<'_>,
        args: &mut Vec<Value>,
        out: &mut Vec<u8>,
    ) -> Result<Option<Value>, Vec<MappingError>> {
        if let (WireFormat::Json, Evaluator::Jit(instance)) = (self.output.format.format, evaluator)
            && instance.run_writing(&self.mapping, args, &self.output, out)
        {
            return Ok(None);
        }
        evaluator
            .run_lending(&self.mapping, args)
            .map(Some)
            .map_err(|failure| vec![MappingError::from(failure)])
    }

    /// Encodes the output value `result` in the target's wire format,
    /// then gives its buffers back.
    fn encode_output(&self, result: Value, framing: Framing, out: &mut Vec<u8>) -> Result<(), Vec<MappingError>> {
        let written = match (self.output.format.format, framing) {
            (WireFormat::Json, _) => json_out::encode(&self.output, &result, out),
            (WireFormat::Xml, Framing::Stream { .. }) => xml_out::encode(&self.output, &result, Layout::Line, out),
            (WireFormat::Xml, Framing::File) => xml_out::encode(&self.output, &result, Layout::Indented, out),
            (WireFormat::Csv, Framing::Stream { first }) => csv_out::encode(&self.output, &result, first, first, out),
            (WireFormat::Csv, Framing::File) => csv_out::encode(&self.output, &result, true, true, out),
        };
        // The output's buffers serve the next record.
        recycle::recycle(result);
        written
    }

    fn read_toml(&self, ty: &Ty, value: &toml::Value) -> Result<Value, String> {
        let found = || format!("expected {}, found {}", self.types.display(ty), value.type_str());
        Ok(match (ty.strip_optional(), value) {
            (Ty::String { max_len }, toml::Value::String(s)) => {
                if let Some(max) = max_len {
                    text::check_length(s, *max).map_err(|e| e.to_string().replace("the target", "the param"))?;
                }
                Value::Text(s.clone())
            }
            (Ty::Currency, toml::Value::String(s)) if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) => {
                Value::Text(s.clone())
            }
            (Ty::Country, toml::Value::String(s)) if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) => {
                Value::Text(s.clone())
            }
            (Ty::Int, toml::Value::Integer(n)) => Value::Int(*n),
            (Ty::Decimal { scale, .. }, toml::Value::String(s)) => {
                let parsed = number::parse(s, '.').map_err(|e| e.to_string())?;
                if let Some(scale) = scale {
                    number::with_scale(parsed, *scale).map_err(|e| e.to_string())?;
                }
                Value::Decimal(parsed)
            }
            (Ty::Decimal { .. }, toml::Value::Integer(n)) => Value::Decimal(rust_decimal::Decimal::from(*n)),
            (Ty::Decimal { .. }, toml::Value::Float(f)) => {
                return Err(format!(
                    "write decimals in quotes (\"{f}\") so they stay exact: TOML floats are binary"
                ));
            }
            (Ty::Bool, toml::Value::Boolean(b)) => Value::Bool(*b),
            (Ty::Date, toml::Value::String(s)) => Value::Date(date::parse_date(s, None).map_err(|e| e.to_string())?),
            (Ty::Date, toml::Value::Datetime(dt)) if dt.time.is_none() && dt.offset.is_none() => {
                Value::Date(date::parse_date(&dt.to_string(), None).map_err(|e| e.to_string())?)
            }
            (Ty::DateTime, toml::Value::String(s)) => {
                Value::DateTime(date::parse_datetime(s, None, None).map_err(|e| e.to_string())?)
            }
            (Ty::DateTime, toml::Value::Datetime(dt)) => {
                Value::DateTime(date::parse_datetime(&dt.to_string(), None, None).map_err(|e| e.to_string())?)
            }
            (Ty::Enum(id), toml::Value::String(s)) => {
                let def = self.types.enumeration(*id).ok_or_else(found)?;
                let index = def.variants.iter().position(|v| &v.name == s).ok_or_else(|| {
                    let names: Vec<&str> = def.variants.iter().map(|v| v.name.as_str()).collect();
                    format!("{s:?} is not a {}: expected one of {}", def.name, names.join(", "))
                })?;
                Value::Enum(index as u32, s.clone())
            }
            (Ty::List(element), toml::Value::Array(items)) => Value::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.read_toml(element, item).map_err(|e| format!("[{i}]: {e}")))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(found()),
        })
    }
}

fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut message = format!("`{name}`: the mapping has no {what} of that name");
    if let Some(best) = crate::resolve::suggest::closest(name, known.clone()) {
        message.push_str(&format!(" (did you mean `{best}`?)"));
    } else {
        let names: Vec<&str> = known.collect();
        if !names.is_empty() {
            message.push_str(&format!(" (it has: {})", names.join(", ")));
        }
    }
    message
}

thread_local! {
    /// The last input record decoded on this thread by
    /// [`Program::run_event`], read into by the next.
    static LAST_EVENT: RefCell<Value> = const { RefCell::new(Value::Absent) };
}

/// Keeps `event` for the next record's decoding on this thread.
fn keep_event(event: Value) {
    let kept = LAST_EVENT.try_with(|last| match last.try_borrow_mut() {
        Ok(mut last) => std::mem::replace(&mut *last, event),
        Err(_) => event,
    });
    if let Ok(old) = kept {
        recycle::recycle(old);
    }
}

/// The text an external table's key is stored under (re-exported for
/// callers building tables by hand).
pub fn table_key(value: &Value) -> String {
    key_text(value)
}
