//! The Cranelift JIT: every body of a MIR module compiled to native code,
//! run with the same semantics, helpers and errors as the interpreter.
//!
//! # The ABI
//!
//! **Values.** Compiled code works on the interpreter's own [`Value`]s, in
//! place. `Value` is `repr(C, u8)`: a tag byte at offset 0 (`Absent` 0,
//! `Int` 1, `Decimal` 2, `Bool` 3, `Text` 4, `Date` 5, `DateTime` 6, `Enum`
//! 7, `Record` 8, `List` 9) and the payload at the value's alignment (8);
//! [`layout::Layout::measure`] checks this on real values before anything
//! is compiled, and compilation fails loudly if it does not hold. Compiled
//! code reads tags (absence for `??`, `Bool`s for conditions) and writes
//! `Bool`s itself. It reads a record's field, and a list's element in a
//! loop, in place: the `Vec` of a `Record` or `List` keeps its buffer's
//! address and its length in two of its words, whose offsets
//! [`layout::Layout::measure`] finds on real values (Rust does not fix a
//! `Vec`'s field order, so they are measured, never assumed); the field
//! is at buffer + slot × `size_of::<Value>()`, after the tag and the
//! length are checked. An absent record, or anything unexpected, goes
//! through the helper instead. Everything else goes through helpers.
//!
//! **Views.** A local bound once to a `where` (`let kept = inv.lines
//! where …`) and read only as the list of later loops holds no copies of
//! the kept elements: it is a list of their positions (`Int`s) in the
//! source list, and a loop over it reads each element where it is in the
//! source. The code generator makes one only when the source list stays
//! put while the local lives: it is borrowed (the input, a param, a field
//! of either), no record the body writes is in it, and it is no view
//! itself; otherwise the `where` copies as the interpreter does.
//!
//! **Writing the output directly.** A mapping whose result is a record
//! that is only filled in (`{ let r = record; r.f := …; …; r }`: the
//! record read nowhere, its fields set only by the block's own statements
//! and their `if`/`match` branches) also gets a second body, compiled for
//! a JSON output only, that writes the payload itself instead of building
//! the output value ([`Instance::run_writing`], used by
//! [`crate::program::Program::run_event`] and
//! [`crate::program::Program::transform`]). Each field is a Cranelift
//! variable holding the address of its value (an absent constant until
//! it is set): a place in the input, a param or a constant is pointed to,
//! not copied; a computed value stays in its expression's slot, which
//! nothing writes again before the record ends. A field's length,
//! places and digits (`String(4)`, `Decimal(13, 2)`) are left to the
//! encoder, which checks them again as it writes (a record it refuses
//! fails the run, below); any other check runs when the field is set
//! ([`rt::mw_check`]), as `mw_set_slot` runs it. When the block ends,
//! [`rt::mw_write_record`] hands the field addresses to the JSON encoder's
//! own record writer ([`crate::wire::json_out::encode_fields`]), so the
//! bytes are the encoder's. A field set once, unconditionally, to a `for`
//! whose body is such a block is a list written element by element: the
//! loop opens a buffer of the run's [`rt::Sink`] ([`rt::mw_sink_open`]),
//! each element's record is written there, comma-separated, and the loop
//! leaves the buffer's number in its slot ([`rt::mw_sink_close`]); the
//! record that has the list as a field copies those bytes where the
//! schema puts the field. Any other value (a record an `if` or a `fn`
//! made, a list of scalars) is an ordinary value the encoder writes. A
//! run that fails, or a record the encoder refuses, writes nothing
//! (`out` is truncated back): the caller then maps the record the usual
//! way, which fails with the error and paths the interpreter reports. So
//! a failing record is mapped twice, and no output ever depends on which
//! way it was written: the differential, fuzz and golden tests run
//! through this path on every JSON example.
//!
//! **Bodies.** Each body (every `mapping` and `fn`, every param default,
//! every inline table entry and fallback) is one native function
//! `extern "C" fn(rt: *const Rt, slots: *mut Value, folds: *mut FoldState,
//! out: *mut Value) -> usize`, returning [`rt::OK`] or [`rt::FAILED`].
//! `slots` is the body's frame: its locals (arguments first), then one slot
//! per expression that computes a value. `folds` holds one state per loop.
//! [`rt::call_body`] takes a frame from a per-thread pool, sizes it from the
//! body's counts, moves the arguments in, calls the code, takes the
//! arguments back, and returns the frame emptied: no frame is allocated per
//! record in the steady state. Params are read at `rt.params` (offset 0 of
//! the `repr(C)` [`rt::Rt`]) plus `index * size_of::<Value>()`, after
//! checking `index < rt.params_len` (offset 8): while defaults are
//! evaluated only the earlier params have values, and reading a later one
//! fails as it does in the interpreter.
//!
//! **Buffers.** No record allocates in the steady state. Every value a
//! record needs is built from the per-thread buffers of
//! [`crate::interp::recycle`]: the decoder's texts, records and lists,
//! copies into output records, new records and lists, fold results, the
//! text builtins' results. Every value a record is done with goes back
//! there: a frame's slots when a body returns, a slot's old value when a
//! loop writes it again, the output after encoding
//! ([`crate::program::Program::run_event`]; a payload written directly
//! has no output value, and its element buffers are kept per thread, see
//! [`rt::Sink::finish`]). The input record is lent
//! ([`Instance::run_lending`]): after the run it is handed back, and
//! `run_event` decodes the thread's next record into it in place (its
//! texts, records and lists written over; [`Instance::run`] gives it back
//! to the buffers instead). The tables of `sort_by`,
//! `distinct_by` and `group_by` folds are kept per thread likewise (see
//! [`rt`]). `tests/steady_state.rs` counts allocations to hold every
//! example to this.
//!
//! **Helpers.** The `extern "C"` functions of [`rt`] take and return machine
//! words (one Cranelift signature per arity, `I64` everywhere, the host's
//! default calling convention). Generated code calls them indirectly
//! through their addresses, embedded as constants: nothing is looked up by
//! name and no symbol has to be exported. They call the interpreter's own
//! functions (`interp::apply`, `check_value`, `compare`, `Tables::find`),
//! which call the shared decimal, text and date helpers, so the two engines
//! agree at every limit. The hot ones skip `apply`'s dispatch but not its
//! code: an operation of two values (arithmetic, comparison) calls its own
//! helper, which calls the very function in `interp::ops` that `apply`
//! uses ([`rt::binary_helper`]); a builtin is called by the number
//! ([`crate::interp::BuiltinId`]) its name was matched to while compiling,
//! through `interp::builtin_by`; an inline table entry whose body is a
//! constant is copied by the lookup instead of calling the body. Constants (literals, match patterns) are boxed
//! values owned by the [`Compiled`] module; code embeds their addresses.
//!
//! **Code memory.** One `cranelift_jit::JITModule` per compiled module,
//! owned by [`Compiled`] (in [`Code`]), which frees it on drop. An
//! [`Instance`] holds its `Compiled` in an `Arc`, and a run borrows the
//! instance, so the code stays mapped while anything can call it. After
//! `finalize_definitions` nothing mutates the module: `Compiled` is
//! `Send + Sync`, and runs on many threads share it (each thread has its own
//! frame pool; a run's state lives in its own `Rt`).
//!
//! **Errors.** A helper that fails stores an [`EvalError`] in `rt.error`
//! and returns [`rt::FAILED`] (or a null pointer); compiled code then
//! branches to its exit, which returns `FAILED` to its caller, and so on up
//! to [`Instance::run`]. Helpers never unwind into compiled code: each
//! catches panics and reports an internal error. The frames of a failed
//! run are emptied like any other. The *message* of a failure comes from
//! compiled code; its input and output *paths* are found afterwards by
//! replaying the failed record through the interpreter's provenance
//! tracking (failures are rare, and tracking paths in compiled code would
//! cost every record). The replay must fail with the same error: if it
//! does not, the run reports an internal error naming both, never one
//! engine's answer silently.
//!
//! **Compilation.** [`compile`] lowers each body with a fresh
//! `FunctionBuilderContext`-backed builder (see [`codegen`]); the Cranelift
//! context is cleared after every function, also when one fails, and a
//! failed compile drops the whole `JITModule` before anything was made
//! executable. A MIR shape the lowering does not handle is a
//! [`JitError::Unsupported`]: a bug, never a silent switch to the
//! interpreter.
#![allow(unsafe_code)]

pub mod codegen;
pub mod layout;
pub mod rt;

use crate::interp::recycle;
use crate::interp::value::Value;
use crate::interp::{EvalError, Failure, Interpreter, Tables};
use crate::mir::{self, Check, Op};
use crate::wire::shape::Shapes;
use cranelift_codegen::ir::{AbiParam, Signature, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a module could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    /// `Value`'s layout is not the one compiled code expects.
    #[error("the JIT cannot run on this build: {0}")]
    Layout(String),
    /// A MIR shape the lowering does not handle (a bug in the JIT).
    #[error("the JIT cannot compile {0} (this is a bug in mapc)")]
    Unsupported(String),
    /// Cranelift refused the code or the host.
    #[error("Cranelift: {0}")]
    Cranelift(String),
}

/// What the bodies of one module share while they are lowered: the
/// constants, operations and checks their code refers to by address or
/// number.
pub struct Shared {
    /// Boxed constants; code embeds their addresses.
    #[allow(clippy::vec_box)] // boxed so an address stays put while the Vec grows
    pub consts: Vec<Box<Value>>,
    /// Operations, by number (the `op` argument of `mw_apply`).
    pub ops: Vec<Op>,
    /// Field checks, by number.
    pub checks: Vec<Check>,
    /// How many params the module has.
    pub param_count: usize,
    /// How many `mapping`s and `fn`s (the first bodies).
    pub function_count: usize,
}

impl Shared {
    /// The number of `op`, registering it.
    pub fn op(&mut self, op: Op) -> usize {
        match self.ops.iter().position(|known| *known == op) {
            Some(index) => index,
            None => {
                self.ops.push(op);
                self.ops.len() - 1
            }
        }
    }

    /// The number of `check`, registering it.
    pub fn check(&mut self, check: Check) -> usize {
        match self.checks.iter().position(|known| *known == check) {
            Some(index) => index,
            None => {
                self.checks.push(check);
                self.checks.len() - 1
            }
        }
    }
}

/// A compiled body: its entry and its frame's size.
pub struct CompiledBody {
    /// The native code.
    pub entry: rt::BodyFn,
    /// Slots its frame needs.
    pub slots: usize,
    /// Fold states its frame needs.
    pub loops: usize,
}

/// A table's bodies: entries in order, and the fallback.
#[derive(Debug, Default)]
pub struct TableBodies {
    /// The body of each inline entry.
    pub entries: Vec<usize>,
    /// The `_ => …` body.
    pub fallback: Option<usize>,
    /// The value of each entry whose body is a constant (`standard =>
    /// "V1"`), which a lookup copies instead of calling the body.
    pub constants: Vec<Option<Value>>,
    /// The fallback's value, when it is a constant.
    pub fallback_constant: Option<Value>,
}

/// Owner of the code memory of one compiled module.
pub struct Code {
    module: Option<JITModule>,
}

// SAFETY: after `finalize_definitions` the JIT module is never used again
// except to free it in `drop`, which has exclusive access; the code it
// mapped is immutable and callable from any thread.
unsafe impl Send for Code {}
// SAFETY: as above: no `&self` method of the JIT module is ever called.
unsafe impl Sync for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: `Code` is dropped only with its `Compiled`, which
            // every caller of the code holds (through `Arc`) while calling;
            // so no function pointer into this memory can be used again.
            unsafe { module.free_memory() };
        }
    }
}

/// A module compiled to native code.
pub struct Compiled {
    /// The MIR it was compiled from (for names, tables and replays).
    pub module: mir::Module,
    /// Every body: functions first (body `i` is function `i`), then param
    /// defaults, then table entries and fallbacks.
    pub bodies: Vec<CompiledBody>,
    /// Each param's default body.
    pub param_defaults: Vec<Option<usize>>,
    /// Each table's bodies.
    pub tables: Vec<TableBodies>,
    /// Each function's body compiled to write its output directly
    /// ([`Instance::run_writing`]), for those whose output records can be.
    pub writing: Vec<Option<usize>>,
    /// Operations, by number.
    pub ops: Vec<Op>,
    /// Field checks, by number.
    pub checks: Vec<Check>,
    /// How long compiling took.
    pub compile_time: Duration,
    /// Constants the code points to (kept alive with it).
    #[allow(clippy::vec_box)] // boxed so an address stays put while the Vec grows
    _consts: Vec<Box<Value>>,
    /// The code; dropped last (fields drop in order).
    _code: Code,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("bodies", &self.bodies.len())
            .field("compile_time", &self.compile_time)
            .finish_non_exhaustive()
    }
}

fn cranelift(error: impl std::fmt::Display) -> JitError {
    JitError::Cranelift(error.to_string())
}

/// Compiles every body of `module`, and for each function whose output
/// can be written directly a second body that does so (see
/// [`Instance::run_writing`]).
pub fn compile(module: &mir::Module) -> Result<Compiled, JitError> {
    compile_with(module, |_| true)
}

/// Compiles every body of `module`, and a body that writes its output
/// directly for each function `writes` picks that can have one (a
/// program compiles it for its mapping alone, and only when the output is
/// JSON: no other wire format is written so).
pub fn compile_with(module: &mir::Module, writes: impl Fn(&mir::Function) -> bool) -> Result<Compiled, JitError> {
    let started = Instant::now();
    let layout = layout::Layout::measure().map_err(JitError::Layout)?;
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").map_err(cranelift)?;
    let isa_builder = cranelift_native::builder().map_err(|e| JitError::Cranelift(e.to_owned()))?;
    let isa = isa_builder.finish(settings::Flags::new(flags)).map_err(cranelift)?;
    let call_conv = isa.default_call_conv();
    let frontend = isa.frontend_config();
    let mut jit = JITModule::new(JITBuilder::with_isa(isa, cranelift_module::default_libcall_names()));

    // The bodies in order: functions, param defaults, table bodies.
    let mut bodies: Vec<&mir::Body> = module.functions.iter().map(|f| &f.body).collect();
    let mut param_defaults = Vec::new();
    for param in &module.params {
        param_defaults.push(param.default.as_ref().map(|default| {
            bodies.push(default);
            bodies.len() - 1
        }));
    }
    let mut tables = Vec::new();
    for table in &module.tables {
        let mut these = TableBodies::default();
        let constant = |body: &mir::Body| match &body.expr {
            mir::Expr::Const(value) => Some(value.clone()),
            _ => None,
        };
        for (_, body) in table.entries.iter().flatten() {
            bodies.push(body);
            these.entries.push(bodies.len() - 1);
            these.constants.push(constant(body));
        }
        if let Some(fallback) = &table.fallback {
            bodies.push(fallback);
            these.fallback = Some(bodies.len() - 1);
            these.fallback_constant = constant(fallback);
        }
        tables.push(these);
    }
    // Then the bodies that write their output directly: mappings (and
    // `fn`s) whose records are only filled in and handed out.
    let mut writing = Vec::with_capacity(module.functions.len());
    let mut writer = vec![false; bodies.len()];
    for function in &module.functions {
        writing.push((writes(function) && codegen::writes_directly(&function.body)).then(|| {
            bodies.push(&function.body);
            writer.push(true);
            bodies.len() - 1
        }));
    }

    let mut shared = Shared {
        consts: Vec::new(),
        ops: Vec::new(),
        checks: Vec::new(),
        param_count: module.params.len(),
        function_count: module.functions.len(),
    };
    let mut signature = Signature::new(call_conv);
    signature.params.extend((0..4).map(|_| AbiParam::new(types::I64)));
    signature.returns.push(AbiParam::new(types::I64));

    let mut context = jit.make_context();
    let mut builder_context = FunctionBuilderContext::new();
    let mut ids = Vec::with_capacity(bodies.len());
    let mut shapes = Vec::with_capacity(bodies.len());
    for (index, body) in bodies.iter().enumerate() {
        let id = jit
            .declare_function(&format!("body{index}"), Linkage::Local, &signature)
            .map_err(cranelift)?;
        context.func.signature = signature.clone();
        let builder = cranelift_frontend::FunctionBuilder::new(&mut context.func, &mut builder_context);
        let lowered = codegen::lower_body(builder, &mut shared, layout, call_conv, frontend, body, writer[index])
            .and_then(|shape| jit.define_function(id, &mut context).map(|_| shape).map_err(cranelift));
        // The context is reused: clear it whether or not this body made it.
        jit.clear_context(&mut context);
        shapes.push(lowered?);
        ids.push(id);
    }
    jit.finalize_definitions().map_err(cranelift)?;
    let mut compiled_bodies = Vec::with_capacity(bodies.len());
    for (id, shape) in ids.into_iter().zip(shapes) {
        let address = jit.get_finalized_function(id);
        // SAFETY: `address` is the finalized code of a function declared
        // with exactly `BodyFn`'s signature (four words in, one out, the
        // host's default calling convention).
        let entry = unsafe { std::mem::transmute::<*const u8, rt::BodyFn>(address) };
        compiled_bodies.push(CompiledBody {
            entry,
            slots: shape.slots,
            loops: shape.loops,
        });
    }
    Ok(Compiled {
        module: module.clone(),
        bodies: compiled_bodies,
        param_defaults,
        tables,
        writing,
        ops: shared.ops,
        checks: shared.checks,
        compile_time: started.elapsed(),
        _consts: shared.consts,
        _code: Code { module: Some(jit) },
    })
}

/// A compiled module ready to run for one tenant: its params evaluated
/// (defaults by compiled code), its tables filled. `Send + Sync`: one
/// instance serves every thread.
pub struct Instance {
    compiled: Arc<Compiled>,
    params: Vec<Value>,
    tables: Arc<Tables>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("compiled", &self.compiled)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// Prepares `compiled` with a tenant's `params` (by name; the others
    /// take their defaults) and external `tables`, as
    /// [`Interpreter::new`] does.
    pub fn new(
        compiled: Arc<Compiled>,
        params: &HashMap<String, Value>,
        tables: HashMap<String, HashMap<String, Value>>,
    ) -> Result<Instance, EvalError> {
        let tables = Arc::new(Tables::new(&compiled.module, tables));
        let mut instance = Instance {
            compiled,
            params: Vec::new(),
            tables,
        };
        // Defaults may use earlier params, so they are evaluated in order;
        // a default sees only the params before it.
        let compiled = instance.compiled.clone();
        for (index, param) in compiled.module.params.iter().enumerate() {
            let value = match (
                params.get(&param.name),
                compiled.param_defaults.get(index).copied().flatten(),
            ) {
                (Some(value), _) => value.clone(),
                (None, Some(body)) => instance.run_body(body, &mut [])?,
                (None, None) => return Err(EvalError::MissingParam(param.name.clone())),
            };
            instance.params.push(value);
        }
        Ok(instance)
    }

    /// The compiled module.
    pub fn compiled(&self) -> &Arc<Compiled> {
        &self.compiled
    }

    fn rt<'a>(&'a self, sink: Option<rt::Sink<'a>>) -> rt::Rt<'a> {
        rt::Rt {
            params: self.params.as_ptr(),
            params_len: self.params.len(),
            compiled: &self.compiled,
            tables: &self.tables,
            error: RefCell::new(None),
            depth: Cell::new(0),
            sink: RefCell::new(sink),
        }
    }

    fn run_body(&self, body: usize, args: &mut [Value]) -> Result<Value, EvalError> {
        let rt = self.rt(None);
        let mut out = Value::Absent;
        match rt::call_body(&rt, body, args, &mut out) {
            rt::OK => Ok(out),
            _ => Err(rt::take_error(&rt)),
        }
    }

    /// Runs the mapping or function named `name` on `args`.
    pub fn call(&self, name: &str, args: Vec<Value>) -> Result<Value, EvalError> {
        self.run(name, args).map_err(|failure| failure.error)
    }

    /// Runs the mapping or function named `name` on `args`, the first of
    /// which is the input event. A failure names the input and output
    /// paths it concerns, exactly as the interpreter's does.
    pub fn run(&self, name: &str, mut args: Vec<Value>) -> Result<Value, Failure> {
        let result = self.run_lending(name, &mut args);
        // The arguments (the input record) serve the next record.
        recycle::recycle_list(args);
        result
    }

    /// As [`Instance::run`], handing the arguments back in `args` after a
    /// success (a caller may reuse the input record's buffers); after a
    /// failure `args` is empty.
    pub fn run_lending(&self, name: &str, args: &mut Vec<Value>) -> Result<Value, Failure> {
        let Some(index) = self.compiled.module.functions.iter().position(|f| f.name == name) else {
            return Err(Failure {
                error: EvalError::Internal(format!("no mapping or function `{name}`")),
                source: None,
                target: None,
            });
        };
        match self.run_body(index, args) {
            Ok(value) => Ok(value),
            Err(error) => Err(self.locate(name, std::mem::take(args), error)),
        }
    }

    /// Runs mapping `name` on `args` (the input record, lent as by
    /// [`Instance::run_lending`]) with the body compiled to write its
    /// output directly, appending the payload's JSON to `out`: the same
    /// bytes [`crate::wire::json_out::encode`] writes for the value [`Instance::run`]
    /// gives, without building that value. Whether it was written: not
    /// when the mapping has no such body, nor when the run fails or the
    /// encoder refuses a record; `out` is then as it was, and the caller
    /// runs the record the usual way ([`Instance::run_lending`] and the
    /// encoder), which reports the failure with its paths. A record that
    /// fails so is mapped twice; the output never depends on which way
    /// it was written.
    pub fn run_writing(&self, name: &str, args: &mut [Value], shapes: &Shapes, out: &mut Vec<u8>) -> bool {
        let Some(body) = self
            .compiled
            .module
            .functions
            .iter()
            .position(|f| f.name == name)
            .and_then(|index| self.compiled.writing.get(index).copied().flatten())
        else {
            return false;
        };
        let start = out.len();
        let rt = self.rt(Some(rt::Sink::new(shapes, out)));
        let mut result = Value::Absent;
        let status = rt::call_body(&rt, body, args, &mut result);
        if let Some(sink) = rt.sink.into_inner() {
            sink.finish();
        }
        if status != rt::OK {
            out.truncate(start);
        }
        status == rt::OK
    }

    /// The paths of a failure, from a replay through the interpreter (see
    /// the module docs), which must fail with the same error.
    fn locate(&self, name: &str, args: Vec<Value>, error: EvalError) -> Failure {
        let interpreter = Interpreter::from_parts(&self.compiled.module, self.params.clone(), self.tables.clone());
        match interpreter.run(name, args) {
            Err(failure) if failure.error == error => failure,
            Err(failure) => Failure {
                error: EvalError::Internal(format!(
                    "the JIT failed with `{error}` where the interpreter fails with `{}`",
                    failure.error
                )),
                source: failure.source,
                target: failure.target,
            },
            Ok(_) => Failure {
                error: EvalError::Internal(format!("the JIT failed with `{error}` where the interpreter succeeds")),
                source: None,
                target: None,
            },
        }
    }

    /// The value of param `name`.
    pub fn param(&self, name: &str) -> Option<&Value> {
        let index = self.compiled.module.params.iter().position(|p| p.name == name)?;
        self.params.get(index)
    }
}
