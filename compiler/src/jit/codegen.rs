//! Lowering one MIR body to Cranelift IR.
//!
//! Every expression becomes a pointer to the [`Value`] it gives
//! (`Operand`): a place (a local, a param, a field or element of one, a
//! constant) is its address, with no copy; a computed value is written to a
//! slot of the body's frame reserved for that expression alone, and its
//! address is flagged `owned` so the consumer may move the value out
//! instead of copying it. Control flow (`if`, `and`/`or`, `??`, `match`,
//! loops, early exits of `any`/`all`/`first`, failures) is native; a
//! condition's `Bool` is read straight from the value's bytes. Operations
//! on values go to the helpers of [`super::rt`].
//!
//! A body compiled to write its output directly (see [`writes_directly`]
//! and the ABI in [`super`]) lowers its output records differently: each
//! field is a variable holding its value's address until the record's
//! block ends and writes it, and a `for` that fills a list field writes
//! its elements' records as it goes.
//!
//! Frame layout of a body: slots `0..locals` are its locals (arguments
//! first), then one slot per computing expression. A local is a Cranelift
//! variable holding the address of its value: its own slot, the slot of the
//! expression it was bound to, or the element a loop is at.

use super::layout::{Layout, TAG_ABSENT, TAG_BOOL, TAG_LIST, TAG_RECORD};
use super::rt::{self, fold};
use super::{JitError, Shared};
use crate::interp::BuiltinId;
use crate::interp::value::Value;
use crate::mir::{Arm, Body, Check, Expr, Fold, Loop, Op, Stmt};
use crate::types::RecordId;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    AbiParam, Block, InstBuilder, MemFlagsData, SigRef, Signature, StackSlotData, StackSlotKind, types,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::{HashMap, HashSet};

/// The value of an expression: where it is, and whether the consumer may
/// move it out.
#[derive(Clone, Copy)]
struct Operand {
    ptr: cranelift_codegen::ir::Value,
    owned: bool,
}

/// What a loop does with each element.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Folds the body's values (`for`, `where`, `sum`, …).
    Fold,
    /// A `where` kept as a view: the positions of the kept elements.
    Positions,
    /// A `for` whose body writes each element's record itself.
    Write,
}

/// The records and loops of a body that writes its output directly (see
/// [`writes_directly`]).
#[derive(Default)]
struct Writing {
    /// Record locals written when their block ends: the record type and
    /// which of its slots hold lists written element by element.
    records: HashMap<u32, (RecordId, u64)>,
    /// The `for` loops (by address) whose records are written as the loop
    /// goes.
    loops: HashSet<usize>,
}

impl Writing {
    /// The plan for `body`, if its result is a record block that can be
    /// written directly.
    fn plan(body: &Body) -> Option<Writing> {
        let mut plan = Writing::default();
        plan.block(&body.expr).then_some(plan)
    }

    /// Whether `expr` is a block that makes a record, fills it in and
    /// gives it (`{ let r = record; r.f := …; …; r }`), the record read
    /// nowhere and filled in only by the block's own statements (also in
    /// their `if` and `match` branches): such a record can be written when
    /// the block ends, its fields pointing to their values until then.
    /// A field set once, unconditionally, to a `for` whose body is such a
    /// block is written element by element as the loop goes.
    fn block(&mut self, expr: &Expr) -> bool {
        let Expr::Block(stmts, result) = expr else {
            return false;
        };
        let Expr::Local(id) = result.as_ref() else {
            return false;
        };
        let Some((record, slots)) = stmts.iter().find_map(|stmt| match stmt {
            Stmt::Let(local, Expr::NewRecord(record, slots)) if local == id => Some((*record, *slots)),
            _ => None,
        }) else {
            return false;
        };
        if slots > 64 {
            return false;
        }
        // Read nowhere, and filled in only by these statements.
        let mut reads = 0;
        let mut nested_sets = 0;
        for stmt in stmts {
            stmt_exprs(stmt, &mut |e| match e {
                Expr::Local(local) if local == id => reads += 1,
                Expr::Block(inner, _) => {
                    for stmt in inner {
                        nested_stmts(stmt, &mut |s| {
                            if matches!(s, Stmt::SetSlot { record, .. } if record == id) {
                                nested_sets += 1;
                            }
                        });
                    }
                }
                _ => {}
            });
        }
        if reads > 0 || nested_sets > 0 {
            return false;
        }
        let mut sets = vec![0usize; slots as usize];
        let mut in_range = true;
        for stmt in stmts {
            nested_stmts(stmt, &mut |s| {
                if let Stmt::SetSlot { record, field, .. } = s
                    && record == id
                {
                    match sets.get_mut(field.slot as usize) {
                        Some(count) => *count += 1,
                        None => in_range = false,
                    }
                }
            });
        }
        if !in_range {
            return false;
        }
        let mut raw = 0u64;
        for stmt in stmts {
            if let Stmt::SetSlot {
                record,
                field,
                value: Expr::Loop(lp),
                check: None,
            } = stmt
                && record == id
                && lp.fold == Fold::Collect
                && sets.get(field.slot as usize) == Some(&1)
                && self.block(&lp.body)
            {
                self.loops.insert(&**lp as *const Loop as usize);
                raw |= 1 << field.slot;
            }
        }
        self.records.insert(id.0, (record, raw));
        true
    }
}

/// Whether `body` can be compiled to write its output directly: its result
/// is a record block (see `Writing::block`), so its records can be written
/// to JSON as they are filled in, without building the output value.
pub fn writes_directly(body: &Body) -> bool {
    Writing::plan(body).is_some()
}

/// What a body's lowering produced besides its code.
pub struct BodyShape {
    /// Slots its frame needs.
    pub slots: usize,
    /// Loops (fold states) its frame needs.
    pub loops: usize,
}

/// Lowers `body` into `builder`'s function (`(rt, slots, folds, out) ->
/// status`). With `writes`, the body writes its output record to the run's
/// sink instead of building it (see [`writes_directly`]; `out` is left
/// absent).
pub fn lower_body(
    builder: FunctionBuilder<'_>,
    shared: &mut Shared,
    layout: Layout,
    call_conv: CallConv,
    frontend: TargetFrontendConfig,
    body: &Body,
    writes: bool,
) -> Result<BodyShape, JitError> {
    let plan = if writes {
        Some(Writing::plan(body).ok_or_else(|| {
            JitError::Unsupported("writing the output of a body whose records cannot be written directly".to_owned())
        })?)
    } else {
        None
    };
    let mut builder = builder;
    let entry = builder.create_block();
    builder.append_block_params_for_function_params(entry);
    builder.switch_to_block(entry);
    let params = builder.block_params(entry).to_vec();
    let [rt, slots, folds, out] = params[..] else {
        return Err(JitError::Unsupported("a body's signature".to_owned()));
    };
    let mut lower = Lower::new(builder, shared, layout, call_conv, body, [rt, slots, folds]);
    lower.writing = plan.unwrap_or_default();
    for (index, var) in lower.locals.clone().into_iter().enumerate() {
        let address = lower.slot_address(index as u32);
        lower.b.def_var(var, address);
    }
    let fail = lower.b.create_block();
    lower.fail = Some(fail);
    let result = lower.expr(&body.expr)?;
    if !writes {
        let owned = lower.flag(result.owned);
        lower.helper(rt::mw_assign as *const () as usize, &[out, result.ptr, owned]);
    }
    let ok = lower.b.ins().iconst(types::I64, rt::OK as i64);
    lower.b.ins().return_(&[ok]);
    lower.b.switch_to_block(fail);
    let failed = lower.b.ins().iconst(types::I64, rt::FAILED as i64);
    lower.b.ins().return_(&[failed]);
    lower.b.seal_all_blocks();
    let shape = BodyShape {
        slots: lower.next_slot as usize,
        loops: lower.next_loop as usize,
    };
    lower.b.finalize(frontend);
    Ok(shape)
}

struct Lower<'s, 'f> {
    b: FunctionBuilder<'f>,
    shared: &'s mut Shared,
    layout: Layout,
    call_conv: CallConv,
    rt: cranelift_codegen::ir::Value,
    slots_base: cranelift_codegen::ir::Value,
    folds: cranelift_codegen::ir::Value,
    fail: Option<Block>,
    locals: Vec<Variable>,
    next_slot: u32,
    next_loop: u32,
    /// Locals whose record is written by `SetSlot`: they always point to
    /// a slot of this frame, never alias a place.
    mutated: HashSet<u32>,
    /// Locals bound once to a `where` and read only as the list of other
    /// loops: they may be views (see `lower_view`).
    view_candidates: HashSet<u32>,
    /// The locals that are views: each holds the positions its `where`
    /// kept, and its variable here the address of the source list.
    views: HashMap<u32, Variable>,
    signatures: HashMap<usize, SigRef>,
    /// In a body that writes its output: the records and loops written
    /// directly.
    writing: Writing,
    /// The records being filled in for writing: each field's variable
    /// holds the address of its value (an absent one until it is set).
    filling: HashMap<u32, Vec<Variable>>,
    /// The address of an absent value, once made.
    absent: Option<cranelift_codegen::ir::Value>,
}

impl<'s, 'f> Lower<'s, 'f> {
    fn new(
        mut b: FunctionBuilder<'f>,
        shared: &'s mut Shared,
        layout: Layout,
        call_conv: CallConv,
        body: &Body,
        [rt, slots_base, folds]: [cranelift_codegen::ir::Value; 3],
    ) -> Lower<'s, 'f> {
        let locals = (0..body.locals.len()).map(|_| b.declare_var(types::I64)).collect();
        let mut mutated = HashSet::new();
        collect_mutated(&body.expr, &mut mutated);
        let view_candidates = view_candidates(&body.expr);
        Lower {
            b,
            shared,
            layout,
            call_conv,
            rt,
            slots_base,
            folds,
            fail: None,
            locals,
            next_slot: body.locals.len() as u32,
            next_loop: 0,
            mutated,
            view_candidates,
            views: HashMap::new(),
            signatures: HashMap::new(),
            writing: Writing::default(),
            filling: HashMap::new(),
            absent: None,
        }
    }

    // ------------------------------------------------------------ plumbing

    fn slot_address(&mut self, slot: u32) -> cranelift_codegen::ir::Value {
        let offset = i64::from(slot) * i64::from(self.layout.size);
        self.b.ins().iadd_imm_s(self.slots_base, offset)
    }

    /// Reserves a slot for one expression's value.
    fn new_slot(&mut self) -> cranelift_codegen::ir::Value {
        let slot = self.next_slot;
        self.next_slot += 1;
        self.slot_address(slot)
    }

    fn word(&mut self, n: usize) -> cranelift_codegen::ir::Value {
        self.b.ins().iconst(types::I64, n as i64)
    }

    fn flag(&mut self, on: bool) -> cranelift_codegen::ir::Value {
        self.word(usize::from(on))
    }

    /// The address of a constant kept alive by the compiled module.
    fn constant(&mut self, value: &Value) -> cranelift_codegen::ir::Value {
        let boxed = Box::new(value.clone());
        let address = &*boxed as *const Value as usize;
        self.shared.consts.push(boxed);
        self.word(address)
    }

    fn signature(&mut self, arity: usize) -> SigRef {
        if let Some(sig) = self.signatures.get(&arity) {
            return *sig;
        }
        let mut sig = Signature::new(self.call_conv);
        sig.params.extend((0..arity).map(|_| AbiParam::new(types::I64)));
        sig.returns.push(AbiParam::new(types::I64));
        let sig = self.b.import_signature(sig);
        self.signatures.insert(arity, sig);
        sig
    }

    /// Calls the helper at `address` with word arguments; its word result.
    fn helper(&mut self, address: usize, args: &[cranelift_codegen::ir::Value]) -> cranelift_codegen::ir::Value {
        let sig = self.signature(args.len());
        let callee = self.word(address);
        let call = self.b.ins().call_indirect(sig, callee, args);
        self.b.inst_results(call)[0]
    }

    fn fail_block(&self) -> Result<Block, JitError> {
        self.fail
            .ok_or_else(|| JitError::Unsupported("code outside a body".to_owned()))
    }

    /// Goes on when `status` is [`rt::OK`], else to the failure exit.
    fn check(&mut self, status: cranelift_codegen::ir::Value) -> Result<(), JitError> {
        let fail = self.fail_block()?;
        let next = self.b.create_block();
        self.b.ins().brif(status, fail, &[], next, &[]);
        self.b.switch_to_block(next);
        Ok(())
    }

    /// Goes on when `pointer` is not null, else to the failure exit.
    fn check_pointer(&mut self, pointer: cranelift_codegen::ir::Value) -> Result<(), JitError> {
        let fail = self.fail_block()?;
        let next = self.b.create_block();
        self.b.ins().brif(pointer, next, &[], fail, &[]);
        self.b.switch_to_block(next);
        Ok(())
    }

    /// Jumps to the failure exit and continues in an unreachable block.
    fn fail_now(&mut self) -> Result<(), JitError> {
        let fail = self.fail_block()?;
        self.b.ins().jump(fail, &[]);
        let dead = self.b.create_block();
        self.b.switch_to_block(dead);
        Ok(())
    }

    /// Stores `values` in a stack array; its address.
    fn array(&mut self, values: &[cranelift_codegen::ir::Value]) -> cranelift_codegen::ir::Value {
        let size = (values.len().max(1) * 8) as u32;
        let slot = self
            .b
            .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 3));
        for (index, value) in values.iter().enumerate() {
            self.b.ins().stack_store(types::I64, *value, slot, (index * 8) as i32);
        }
        self.b.ins().stack_addr(types::I64, slot, 0)
    }

    fn tag(&mut self, pointer: cranelift_codegen::ir::Value) -> cranelift_codegen::ir::Value {
        self.b.ins().uload8(types::I32, MemFlagsData::trusted(), pointer, 0)
    }

    /// The address of field `slot` of the value at `base`, read in place
    /// (see `element_at`); an absent record (whose fields are
    /// absent) and a value that is no record (a bug, reported as such) go
    /// through `mw_field`.
    fn field_at(
        &mut self,
        base: cranelift_codegen::ir::Value,
        slot: u32,
    ) -> Result<cranelift_codegen::ir::Value, JitError> {
        let index = self.word(slot as usize);
        self.element_at(base, TAG_RECORD, index, |lower| {
            let pointer = lower.helper(rt::mw_field as *const () as usize, &[lower.rt, base, index]);
            lower.check_pointer(pointer)?;
            Ok(pointer)
        })
    }

    /// The machine word at `offset` of the value at `base`.
    fn load_word(&mut self, base: cranelift_codegen::ir::Value, offset: u32) -> cranelift_codegen::ir::Value {
        self.b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), base, offset as i32)
    }

    /// The address of element `index` of the record or list (`tag`) at
    /// `base`, computed in place: the `Vec`'s buffer (read at the layout's
    /// fixed offset) plus `index` times the size of a value, once the tag
    /// and the length are checked. Otherwise `fallback` decides.
    fn element_at(
        &mut self,
        base: cranelift_codegen::ir::Value,
        tag: u8,
        index: cranelift_codegen::ir::Value,
        fallback: impl FnOnce(&mut Self) -> Result<cranelift_codegen::ir::Value, JitError>,
    ) -> Result<cranelift_codegen::ir::Value, JitError> {
        let found = self.tag(base);
        let is_it = self.b.ins().icmp_imm_s(IntCC::Equal, found, i64::from(tag));
        let checked = self.b.create_block();
        let read = self.b.create_block();
        let other = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I64);
        self.b.ins().brif(is_it, checked, &[], other, &[]);

        self.b.switch_to_block(checked);
        let len = self.load_word(base, self.layout.vec_len_offset);
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, index, len);
        self.b.ins().brif(inside, read, &[], other, &[]);

        self.b.switch_to_block(read);
        let buffer = self.load_word(base, self.layout.vec_ptr_offset);
        let offset = self.b.ins().imul_imm_u(index, i64::from(self.layout.size));
        let address = self.b.ins().iadd(buffer, offset);
        self.b.ins().jump(done, &[address.into()]);

        self.b.switch_to_block(other);
        let pointer = fallback(self)?;
        self.b.ins().jump(done, &[pointer.into()]);

        self.b.switch_to_block(done);
        Ok(self.b.block_params(done)[0])
    }

    /// The truth of `expr` as a 0/1 `i32`; anything but a `Bool` fails.
    fn truth(&mut self, expr: &Expr) -> Result<cranelift_codegen::ir::Value, JitError> {
        let value = self.expr(expr)?;
        let tag = self.tag(value.ptr);
        let is_bool = self.b.ins().icmp_imm_s(IntCC::Equal, tag, i64::from(TAG_BOOL));
        let good = self.b.create_block();
        let bad = self.b.create_block();
        self.b.ins().brif(is_bool, good, &[], bad, &[]);
        self.b.switch_to_block(bad);
        self.helper(rt::mw_not_bool as *const () as usize, &[self.rt, value.ptr]);
        let fail = self.fail_block()?;
        self.b.ins().jump(fail, &[]);
        self.b.switch_to_block(good);
        Ok(self.b.ins().uload8(
            types::I32,
            MemFlagsData::trusted(),
            value.ptr,
            self.layout.bool_offset as i32,
        ))
    }

    /// Writes `Bool(flag)` (an `i32` 0/1) to a fresh slot, which held
    /// only `Bool`s or `Absent` before (nothing to drop).
    fn write_bool(&mut self, flag: cranelift_codegen::ir::Value) -> Operand {
        let out = self.new_slot();
        let tag = self.b.ins().iconst(types::I8, i64::from(TAG_BOOL));
        self.b.ins().store(MemFlagsData::trusted(), tag, out, 0);
        let byte = self.b.ins().ireduce(types::I8, flag);
        self.b
            .ins()
            .store(MemFlagsData::trusted(), byte, out, self.layout.bool_offset as i32);
        Operand { ptr: out, owned: true }
    }

    /// Copies a borrowed value into a slot of its own.
    fn materialize(&mut self, value: Operand) -> Operand {
        if value.owned {
            return value;
        }
        let out = self.new_slot();
        let owned = self.flag(false);
        self.helper(rt::mw_assign as *const () as usize, &[out, value.ptr, owned]);
        Operand { ptr: out, owned: true }
    }

    // ------------------------------------------------------------ expressions

    fn expr(&mut self, expr: &Expr) -> Result<Operand, JitError> {
        Ok(match expr {
            Expr::Const(value) => Operand {
                ptr: self.constant(value),
                owned: false,
            },
            Expr::Local(id) => {
                let var = self.local(id.0)?;
                Operand {
                    ptr: self.b.use_var(var),
                    owned: false,
                }
            }
            Expr::Param(index) => {
                if *index as usize >= self.shared.param_count {
                    return Err(JitError::Unsupported(format!("param #{index} does not exist")));
                }
                // Only params that have values may be read (a default may
                // reach a later param, directly or through a `fn`).
                let len = self.b.ins().load(types::I64, MemFlagsData::trusted(), self.rt, 8);
                let known = self
                    .b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedGreaterThan, len, i64::from(*index));
                let good = self.b.create_block();
                let bad = self.b.create_block();
                self.b.ins().brif(known, good, &[], bad, &[]);
                self.b.switch_to_block(bad);
                self.helper(rt::mw_unknown_param as *const () as usize, &[self.rt]);
                let fail = self.fail_block()?;
                self.b.ins().jump(fail, &[]);
                self.b.switch_to_block(good);
                let base = self.b.ins().load(types::I64, MemFlagsData::trusted(), self.rt, 0);
                let offset = i64::from(*index) * i64::from(self.layout.size);
                Operand {
                    ptr: self.b.ins().iadd_imm_s(base, offset),
                    owned: false,
                }
            }
            Expr::Field(base, field) => {
                let base = self.expr(base)?;
                let ptr = self.field_at(base.ptr, field.slot)?;
                Operand { ptr, owned: false }
            }
            Expr::Index(base, index) => {
                let base = self.expr(base)?;
                let index = self.expr(index)?;
                let ptr = self.helper(rt::mw_index as *const () as usize, &[self.rt, base.ptr, index.ptr]);
                self.check_pointer(ptr)?;
                Operand { ptr, owned: false }
            }
            Expr::Lookup(table, key) => {
                let key = self.expr(key)?;
                let out = self.new_slot();
                let table = self.word(*table as usize);
                let status = self.helper(rt::mw_lookup as *const () as usize, &[self.rt, table, key.ptr, out]);
                self.check(status)?;
                Operand { ptr: out, owned: true }
            }
            Expr::Call(..) if let Some(value) = folded(expr) => Operand {
                ptr: self.constant(&value),
                owned: false,
            },
            Expr::Call(op, args) if let (Some(helper), [a, b]) = (rt::binary_helper(*op), &args[..]) => {
                let a = self.expr(a)?.ptr;
                let b = self.expr(b)?.ptr;
                let out = self.new_slot();
                let status = self.helper(helper, &[self.rt, a, b, out]);
                self.check(status)?;
                Operand { ptr: out, owned: true }
            }
            Expr::Call(op, args) => {
                let mut pointers = Vec::with_capacity(args.len());
                for arg in args {
                    pointers.push(self.expr(arg)?.ptr);
                }
                let argv = self.array(&pointers);
                // A builtin by its number; any other operation by its
                // number in the module's table.
                let builtin = match op {
                    Op::Builtin(name) => BuiltinId::of(name).map(BuiltinId::number),
                    _ => None,
                };
                let (helper, number) = match builtin {
                    Some(number) => (rt::mw_builtin as *const () as usize, number),
                    None => (rt::mw_apply as *const () as usize, self.shared.op(*op)),
                };
                let number = self.word(number);
                let argc = self.word(args.len());
                let out = self.new_slot();
                let status = self.helper(helper, &[self.rt, number, argv, argc, out]);
                self.check(status)?;
                Operand { ptr: out, owned: true }
            }
            Expr::CallFn(index, args) => {
                if *index as usize >= self.shared.function_count {
                    return Err(JitError::Unsupported(format!("fn #{index} does not exist")));
                }
                let mut pointers = Vec::with_capacity(args.len());
                for arg in args {
                    pointers.push(self.expr(arg)?.ptr);
                }
                let argv = self.array(&pointers);
                let id = self.word(*index as usize);
                let argc = self.word(args.len());
                let out = self.new_slot();
                let status = self.helper(rt::mw_call as *const () as usize, &[self.rt, id, argv, argc, out]);
                self.check(status)?;
                Operand { ptr: out, owned: true }
            }
            Expr::Block(stmts, result)
                if let Expr::Local(id) = result.as_ref()
                    && self.writing.records.contains_key(&id.0) =>
            {
                self.stmts(stmts)?;
                self.write_record(id.0)?
            }
            Expr::Block(stmts, result) => {
                self.stmts(stmts)?;
                let value = self.expr(result)?;
                // A record block's record is scoped to the block: the block
                // may hand it over.
                let builds = matches!(result.as_ref(), Expr::Local(id)
                    if stmts.iter().any(|s| matches!(s, Stmt::Let(l, Expr::NewRecord(..)) if l == id)));
                Operand {
                    ptr: value.ptr,
                    owned: value.owned || builds,
                }
            }
            Expr::NewRecord(_, slots) => {
                let out = self.new_slot();
                let slots = self.word(*slots as usize);
                self.helper(rt::mw_new_record as *const () as usize, &[out, slots]);
                Operand { ptr: out, owned: true }
            }
            Expr::If(cond, then, otherwise) => {
                let cond = self.truth(cond)?;
                let then_block = self.b.create_block();
                let else_block = self.b.create_block();
                let merge = self.b.create_block();
                self.b.append_block_param(merge, types::I64);
                self.b.ins().brif(cond, then_block, &[], else_block, &[]);
                self.b.switch_to_block(then_block);
                let a = self.expr(then)?;
                self.b.ins().jump(merge, &[a.ptr.into()]);
                self.b.switch_to_block(else_block);
                let b = self.expr(otherwise)?;
                self.b.ins().jump(merge, &[b.ptr.into()]);
                self.b.switch_to_block(merge);
                Operand {
                    ptr: self.b.block_params(merge)[0],
                    owned: a.owned && b.owned,
                }
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                let is_and = matches!(expr, Expr::And(..));
                let first = self.truth(a)?;
                let second_block = self.b.create_block();
                let merge = self.b.create_block();
                self.b.append_block_param(merge, types::I32);
                let decided = self.b.ins().iconst(types::I32, i64::from(!is_and));
                if is_and {
                    self.b.ins().brif(first, second_block, &[], merge, &[decided.into()]);
                } else {
                    self.b.ins().brif(first, merge, &[decided.into()], second_block, &[]);
                }
                self.b.switch_to_block(second_block);
                let second = self.truth(b)?;
                self.b.ins().jump(merge, &[second.into()]);
                self.b.switch_to_block(merge);
                let flag = self.b.block_params(merge)[0];
                self.write_bool(flag)
            }
            Expr::Coalesce(value, default) => {
                let value = self.expr(value)?;
                let tag = self.tag(value.ptr);
                let absent = self.b.ins().icmp_imm_s(IntCC::Equal, tag, i64::from(TAG_ABSENT));
                let default_block = self.b.create_block();
                let merge = self.b.create_block();
                self.b.append_block_param(merge, types::I64);
                self.b
                    .ins()
                    .brif(absent, default_block, &[], merge, &[value.ptr.into()]);
                self.b.switch_to_block(default_block);
                let other = self.expr(default)?;
                self.b.ins().jump(merge, &[other.ptr.into()]);
                self.b.switch_to_block(merge);
                Operand {
                    ptr: self.b.block_params(merge)[0],
                    owned: value.owned && other.owned,
                }
            }
            Expr::List(items) => {
                let out = self.new_slot();
                let capacity = self.word(items.len());
                self.helper(rt::mw_list_new as *const () as usize, &[out, capacity]);
                for item in items {
                    let value = self.expr(item)?;
                    let owned = self.flag(value.owned);
                    let status = self.helper(
                        rt::mw_list_push as *const () as usize,
                        &[self.rt, out, value.ptr, owned],
                    );
                    self.check(status)?;
                }
                Operand { ptr: out, owned: true }
            }
            Expr::Loop(lp) => self.lower_loop(lp)?,
            Expr::Match(scrutinee, arms) => {
                let value = self.expr(scrutinee)?;
                let merge = self.b.create_block();
                self.b.append_block_param(merge, types::I64);
                let mut owned = true;
                for arm in arms {
                    let next = self.arm_test(arm, value.ptr)?;
                    let result = self.expr(&arm.body)?;
                    owned &= result.owned;
                    self.b.ins().jump(merge, &[result.ptr.into()]);
                    self.b.switch_to_block(next);
                }
                self.helper(rt::mw_no_arm as *const () as usize, &[self.rt, value.ptr]);
                let fail = self.fail_block()?;
                self.b.ins().jump(fail, &[]);
                self.b.switch_to_block(merge);
                Operand {
                    ptr: self.b.block_params(merge)[0],
                    owned,
                }
            }
            Expr::Fail(message) => {
                let message = self.expr(message)?;
                self.helper(rt::mw_fail as *const () as usize, &[self.rt, message.ptr]);
                self.fail_now()?;
                Operand {
                    ptr: self.constant(&Value::Absent),
                    owned: false,
                }
            }
        })
    }

    fn local(&self, id: u32) -> Result<Variable, JitError> {
        self.locals
            .get(id as usize)
            .copied()
            .ok_or_else(|| JitError::Unsupported(format!("local %{id} is not declared")))
    }

    /// Tests an arm against the value at `value`: continues in the block
    /// where it matched (and its guard held); returns the block to try the
    /// next arm in.
    fn arm_test<T>(&mut self, arm: &Arm<T>, value: cranelift_codegen::ir::Value) -> Result<Block, JitError> {
        let next = self.b.create_block();
        if !arm.patterns.is_empty() {
            let matched = self.b.create_block();
            for pattern in &arm.patterns {
                let constant = self.constant(pattern);
                let same = self.helper(rt::mw_same as *const () as usize, &[value, constant]);
                let try_next = self.b.create_block();
                self.b.ins().brif(same, matched, &[], try_next, &[]);
                self.b.switch_to_block(try_next);
            }
            self.b.ins().jump(next, &[]);
            self.b.switch_to_block(matched);
        }
        if let Some(guard) = &arm.guard {
            let holds = self.truth(guard)?;
            let taken = self.b.create_block();
            self.b.ins().brif(holds, taken, &[], next, &[]);
            self.b.switch_to_block(taken);
        }
        Ok(next)
    }

    fn lower_loop(&mut self, lp: &Loop) -> Result<Operand, JitError> {
        let source = self.expr(&lp.source)?;
        self.lower_loop_over(lp, source, Pass::Fold)
    }

    /// Lowers `let id = <where loop>` as a view when it can be one: the
    /// local then holds the positions of the kept elements (`Int`s), not
    /// copies of them, and loops over it read the elements where they are
    /// in the source list. That needs the source list to stay put while
    /// the local lives: it is borrowed (not a value this statement made),
    /// nothing this body writes is in it, and it is no view itself. The
    /// caller has checked that the local is read only as a loop's list.
    /// Whether it was lowered so (else nothing was emitted).
    fn lower_view(&mut self, id: u32, lp: &Loop) -> Result<bool, JitError> {
        let views: HashSet<u32> = self.views.keys().copied().collect();
        if lp.fold != Fold::Filter
            || self.mutated.contains(&id)
            || mentions(&lp.source, &self.mutated)
            || mentions(&lp.source, &views)
        {
            return Ok(false);
        }
        let source = self.expr(&lp.source)?;
        if source.owned {
            // A list this statement made itself (in a slot of its own):
            // views stand only for lists that are there already, so this
            // `where` copies its elements as usual.
            let var = self.local(id)?;
            let kept = self.lower_loop_over(lp, source, Pass::Fold)?;
            self.b.def_var(var, kept.ptr);
            return Ok(true);
        }
        let positions = self.lower_loop_over(lp, source, Pass::Positions)?;
        let var = self.local(id)?;
        self.b.def_var(var, positions.ptr);
        let list = self.b.declare_var(types::I64);
        self.b.def_var(list, source.ptr);
        self.views.insert(id, list);
        Ok(true)
    }

    /// Lowers the loop `lp` over the list at `source`, as `pass` says.
    fn lower_loop_over(&mut self, lp: &Loop, source: Operand, pass: Pass) -> Result<Operand, JitError> {
        let mut source = source;
        let view = match &lp.source {
            Expr::Local(id) => self.views.get(&id.0).copied(),
            _ => None,
        };
        // A list inside a record this body is still writing could be
        // replaced under the loop: loop over a copy then.
        if !source.owned && mentions(&lp.source, &self.mutated) {
            source = self.materialize(source);
        }
        let len = self.helper(rt::mw_loop_len as *const () as usize, &[self.rt, source.ptr]);
        let bad = self.b.ins().icmp_imm_s(IntCC::Equal, len, -1);
        let fail = self.fail_block()?;
        let start = self.b.create_block();
        self.b.ins().brif(bad, fail, &[], start, &[]);
        self.b.switch_to_block(start);

        let index = self.next_loop as usize;
        self.next_loop += 1;
        let kind = match lp.fold {
            Fold::Collect => fold::COLLECT,
            Fold::Filter => fold::FILTER,
            Fold::Sum { decimal: false } => fold::SUM_INT,
            Fold::Sum { decimal: true } => fold::SUM_DEC,
            Fold::Count => fold::COUNT,
            Fold::Any => fold::ANY,
            Fold::All => fold::ALL,
            Fold::First => fold::FIRST,
            Fold::Last => fold::LAST,
            Fold::Min => fold::MIN,
            Fold::Max => fold::MAX,
            Fold::SortBy => fold::SORT_BY,
            Fold::DistinctBy => fold::DISTINCT_BY,
            Fold::GroupBy => fold::GROUP_BY,
        };
        let index_word = self.word(index);
        let kind_word = self.word(kind);
        if pass == Pass::Write {
            let status = self.helper(rt::mw_sink_open as *const () as usize, &[self.rt]);
            self.check(status)?;
        } else {
            self.helper(
                rt::mw_fold_begin as *const () as usize,
                &[self.folds, index_word, kind_word],
            );
        }
        let out = self.new_slot();
        let position_slot = lp.index.map(|_| self.new_slot());
        let item_var = self.local(lp.item.0)?;
        let index_var = lp.index.map(|id| self.local(id.0)).transpose()?;

        let header = self.b.create_block();
        let body_block = self.b.create_block();
        let next = self.b.create_block();
        let exit = self.b.create_block();
        self.b.append_block_param(header, types::I64);
        self.b.append_block_param(next, types::I64);
        let zero = self.word(0);
        self.b.ins().jump(header, &[zero.into()]);

        self.b.switch_to_block(header);
        let position = self.b.block_params(header)[0];
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, position, len);
        self.b.ins().brif(more, body_block, &[], exit, &[]);

        self.b.switch_to_block(body_block);
        let list = source.ptr;
        let mut item = self.element_at(list, TAG_LIST, position, |lower| {
            Ok(lower.helper(rt::mw_list_get as *const () as usize, &[list, position]))
        })?;
        if let Some(elements) = view {
            // The view's entry is an `Int` it wrote itself: the position
            // of the element in the source list.
            let at = self
                .b
                .ins()
                .load(types::I64, MemFlagsData::trusted(), item, self.layout.int_offset as i32);
            let elements = self.b.use_var(elements);
            item = self.element_at(elements, TAG_LIST, at, |lower| {
                Ok(lower.helper(rt::mw_list_get as *const () as usize, &[elements, at]))
            })?;
        }
        self.b.def_var(item_var, item);
        if let (Some(slot), Some(var)) = (position_slot, index_var) {
            self.helper(rt::mw_set_int as *const () as usize, &[slot, position]);
            self.b.def_var(var, slot);
        }
        if let Some(filter) = &lp.filter {
            let keep = self.truth(filter)?;
            let kept = self.b.create_block();
            self.b.ins().brif(keep, kept, &[], next, &[position.into()]);
            self.b.switch_to_block(kept);
        }
        let body = match lp.fold {
            // `where` keeps the element itself: no body to compute.
            Fold::Filter => Operand {
                ptr: item,
                owned: false,
            },
            _ => self.expr(&lp.body)?,
        };
        let status = match pass {
            Pass::Positions => self.helper(
                rt::mw_fold_keep_position as *const () as usize,
                &[self.rt, self.folds, index_word, position],
            ),
            Pass::Fold => {
                let owned = self.flag(body.owned);
                self.helper(
                    rt::mw_fold_step as *const () as usize,
                    &[self.rt, self.folds, index_word, body.ptr, owned, item],
                )
            }
            // The body wrote the element itself.
            Pass::Write => self.word(rt::OK),
        };
        let stepped = self.b.create_block();
        self.b.ins().brif(status, stepped, &[], next, &[position.into()]);
        self.b.switch_to_block(stepped);
        let stop = self.b.ins().icmp_imm_s(IntCC::Equal, status, rt::STOP as i64);
        self.b.ins().brif(stop, exit, &[], fail, &[]);

        self.b.switch_to_block(next);
        let at = self.b.block_params(next)[0];
        let following = self.b.ins().iadd_imm_s(at, 1);
        self.b.ins().jump(header, &[following.into()]);

        self.b.switch_to_block(exit);
        let status = if pass == Pass::Write {
            self.helper(rt::mw_sink_close as *const () as usize, &[self.rt, out])
        } else {
            self.helper(
                rt::mw_fold_end as *const () as usize,
                &[self.rt, self.folds, index_word, out],
            )
        };
        self.check(status)?;
        Ok(Operand { ptr: out, owned: true })
    }

    /// The address of an absent value.
    fn absent(&mut self) -> cranelift_codegen::ir::Value {
        match self.absent {
            Some(address) => address,
            None => {
                let address = self.constant(&Value::Absent);
                self.absent = Some(address);
                address
            }
        }
    }

    /// Writes the record `id` has been filled in as ([`rt::mw_write_record`]);
    /// the block that built it gives nothing.
    fn write_record(&mut self, id: u32) -> Result<Operand, JitError> {
        let (Some(fields), Some(&(record, raw))) = (self.filling.remove(&id), self.writing.records.get(&id)) else {
            return Err(JitError::Unsupported(format!("record %{id} written before it is made")));
        };
        let pointers: Vec<_> = fields.iter().map(|var| self.b.use_var(*var)).collect();
        let argv = self.array(&pointers);
        let record = self.word(record.0 as usize);
        let count = self.word(pointers.len());
        let raw = self.word(raw as usize);
        let status = self.helper(
            rt::mw_write_record as *const () as usize,
            &[self.rt, record, argv, count, raw],
        );
        self.check(status)?;
        Ok(Operand {
            ptr: self.absent(),
            owned: false,
        })
    }

    // ------------------------------------------------------------ statements

    fn stmts(&mut self, stmts: &[Stmt]) -> Result<(), JitError> {
        for stmt in stmts {
            self.stmt(stmt)?;
        }
        Ok(())
    }

    fn stmt(&mut self, stmt: &Stmt) -> Result<(), JitError> {
        match stmt {
            Stmt::Let(id, Expr::Loop(lp)) if self.view_candidates.contains(&id.0) && self.lower_view(id.0, lp)? => {}
            Stmt::Let(id, Expr::NewRecord(_, slots)) if self.writing.records.contains_key(&id.0) => {
                // Filled in field by field, written when its block ends.
                let absent = self.absent();
                let fields: Vec<Variable> = (0..*slots).map(|_| self.b.declare_var(types::I64)).collect();
                for var in &fields {
                    self.b.def_var(*var, absent);
                }
                self.filling.insert(id.0, fields);
            }
            Stmt::SetSlot {
                record,
                field,
                value,
                check,
            } if self.filling.contains_key(&record.0) => {
                let mut set = match value {
                    Expr::Loop(lp) if self.writing.loops.contains(&(&**lp as *const Loop as usize)) => {
                        let source = self.expr(&lp.source)?;
                        self.lower_loop_over(lp, source, Pass::Write)?
                    }
                    _ => self.expr(value)?,
                };
                // The field points to its value until the record is
                // written; a place a record of this body is written into
                // could change before then.
                if !set.owned && mentions(value, &self.mutated) {
                    set = self.materialize(set);
                }
                // The JSON encoder checks a text's length and a decimal's
                // places and digits again as it writes the record, and a
                // record it refuses writes nothing: the event is then
                // mapped the usual way, which fails at this check as the
                // interpreter does. So only what it does not repeat is
                // checked here.
                if let Some(check) = check
                    && !matches!(check, Check::Length(_) | Check::Decimal { .. })
                {
                    let number = self.shared.check(*check);
                    let number = self.word(number);
                    let status = self.helper(rt::mw_check as *const () as usize, &[self.rt, set.ptr, number]);
                    self.check(status)?;
                }
                let var = self
                    .filling
                    .get(&record.0)
                    .and_then(|fields| fields.get(field.slot as usize))
                    .copied()
                    .ok_or_else(|| {
                        JitError::Unsupported(format!("slot {} of a record written directly", field.slot))
                    })?;
                self.b.def_var(var, set.ptr);
            }
            Stmt::Let(id, value) => {
                let var = self.local(id.0)?;
                let mut bound = self.expr(value)?;
                // A local gets its own copy when it will be written, or
                // when the place it names may be written while it lives;
                // otherwise it names the value where it is.
                if !bound.owned && (self.mutated.contains(&id.0) || mentions(value, &self.mutated)) {
                    bound = self.materialize(bound);
                }
                self.b.def_var(var, bound.ptr);
            }
            Stmt::SetSlot {
                record,
                field,
                value,
                check,
            } => {
                let var = self.local(record.0)?;
                let record = self.b.use_var(var);
                let value = self.expr(value)?;
                let slot = self.word(field.slot as usize);
                let owned = self.flag(value.owned);
                let check = match check {
                    Some(check) => self.shared.check(*check) + 1,
                    None => 0,
                };
                let check = self.word(check);
                let status = self.helper(
                    rt::mw_set_slot as *const () as usize,
                    &[self.rt, record, slot, value.ptr, owned, check],
                );
                self.check(status)?;
            }
            Stmt::If { cond, then, otherwise } => {
                let cond = self.truth(cond)?;
                let then_block = self.b.create_block();
                let else_block = self.b.create_block();
                let merge = self.b.create_block();
                self.b.ins().brif(cond, then_block, &[], else_block, &[]);
                self.b.switch_to_block(then_block);
                self.stmts(then)?;
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(else_block);
                self.stmts(otherwise)?;
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(merge);
            }
            Stmt::Match { scrutinee, arms } => {
                let value = self.expr(scrutinee)?;
                let merge = self.b.create_block();
                for arm in arms {
                    let next = self.arm_test(arm, value.ptr)?;
                    self.stmts(&arm.body)?;
                    self.b.ins().jump(merge, &[]);
                    self.b.switch_to_block(next);
                }
                // No arm: no statement runs.
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(merge);
            }
        }
        Ok(())
    }
}

/// The locals whose records `SetSlot` writes, anywhere in `expr`.
fn collect_mutated(expr: &Expr, out: &mut HashSet<u32>) {
    visit(expr, &mut |stmt| {
        if let Stmt::SetSlot { record, .. } = stmt {
            out.insert(record.0);
        }
    });
}

/// The locals bound by exactly one `let` to a `where` loop and read
/// nowhere but as the list of a loop: the ones a view can stand for.
fn view_candidates(expr: &Expr) -> HashSet<u32> {
    let mut bound: HashMap<u32, (usize, bool)> = HashMap::new();
    visit(expr, &mut |stmt| {
        if let Stmt::Let(id, value) = stmt {
            let entry = bound.entry(id.0).or_insert((0, true));
            entry.0 += 1;
            entry.1 &= matches!(value, Expr::Loop(lp) if lp.fold == Fold::Filter);
        }
    });
    let mut reads: HashMap<u32, usize> = HashMap::new();
    let mut as_list: HashMap<u32, usize> = HashMap::new();
    visit_exprs(expr, &mut |e| match e {
        Expr::Local(id) => *reads.entry(id.0).or_default() += 1,
        Expr::Loop(lp) => {
            if let Expr::Local(id) = &lp.source {
                *as_list.entry(id.0).or_default() += 1;
            }
        }
        _ => {}
    });
    bound
        .into_iter()
        .filter(|(id, (lets, filter))| {
            *lets == 1 && *filter && reads.get(id).copied().unwrap_or(0) == as_list.get(id).copied().unwrap_or(0)
        })
        .map(|(id, _)| id)
        .collect()
}

/// Whether `expr` reads any of `locals`.
fn mentions(expr: &Expr, locals: &HashSet<u32>) -> bool {
    if locals.is_empty() {
        return false;
    }
    let mut found = false;
    visit_exprs(expr, &mut |e| {
        if let Expr::Local(id) = e
            && locals.contains(&id.0)
        {
            found = true;
        }
    });
    found
}

/// Calls `f` once on every statement inside `expr`.
fn visit(expr: &Expr, f: &mut dyn FnMut(&Stmt)) {
    visit_exprs(expr, &mut |e| {
        if let Expr::Block(list, _) = e {
            for stmt in list {
                nested_stmts(stmt, f);
            }
        }
    });
}

/// Calls `f` on `stmt` and the statements of its branches (not on those
/// of blocks inside its expressions).
fn nested_stmts(stmt: &Stmt, f: &mut dyn FnMut(&Stmt)) {
    f(stmt);
    match stmt {
        Stmt::If { then, otherwise, .. } => {
            for inner in then.iter().chain(otherwise) {
                nested_stmts(inner, f);
            }
        }
        Stmt::Match { arms, .. } => {
            for inner in arms.iter().flat_map(|arm| &arm.body) {
                nested_stmts(inner, f);
            }
        }
        Stmt::Let(..) | Stmt::SetSlot { .. } => {}
    }
}

/// The value of an operation on constants, computed once while compiling
/// (`1 + l.rate / 100` needs `1` and `100` as decimals: two conversions per
/// element otherwise). Every operation is a pure function of its
/// arguments, computed by the interpreter's own `apply`; one that fails is
/// left to fail at run time, where the record reports it.
fn folded(expr: &Expr) -> Option<Value> {
    match expr {
        Expr::Const(value) => Some(value.clone()),
        Expr::Call(op, args) => {
            let values = args.iter().map(folded).collect::<Option<Vec<Value>>>()?;
            let refs: Vec<&Value> = values.iter().collect();
            crate::interp::apply(*op, &refs).ok()
        }
        _ => None,
    }
}

/// Calls `f` on `expr` and every expression inside it, statements'
/// expressions included.
fn visit_exprs(expr: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(expr);
    match expr {
        Expr::Const(_) | Expr::Local(_) | Expr::Param(_) | Expr::NewRecord(..) => {}
        Expr::Field(base, _) => visit_exprs(base, f),
        Expr::Index(a, b) | Expr::And(a, b) | Expr::Or(a, b) | Expr::Coalesce(a, b) => {
            visit_exprs(a, f);
            visit_exprs(b, f);
        }
        Expr::Lookup(_, key) => visit_exprs(key, f),
        Expr::Call(_, args) | Expr::CallFn(_, args) | Expr::List(args) => {
            for arg in args {
                visit_exprs(arg, f);
            }
        }
        Expr::Block(stmts, result) => {
            for stmt in stmts {
                stmt_exprs(stmt, f);
            }
            visit_exprs(result, f);
        }
        Expr::If(a, b, c) => {
            visit_exprs(a, f);
            visit_exprs(b, f);
            visit_exprs(c, f);
        }
        Expr::Loop(lp) => {
            visit_exprs(&lp.source, f);
            if let Some(filter) = &lp.filter {
                visit_exprs(filter, f);
            }
            visit_exprs(&lp.body, f);
        }
        Expr::Match(scrutinee, arms) => {
            visit_exprs(scrutinee, f);
            for arm in arms {
                if let Some(guard) = &arm.guard {
                    visit_exprs(guard, f);
                }
                visit_exprs(&arm.body, f);
            }
        }
        Expr::Fail(message) => visit_exprs(message, f),
    }
}

/// Calls `f` on the expressions of a statement (and inside them).
fn stmt_exprs(stmt: &Stmt, f: &mut dyn FnMut(&Expr)) {
    match stmt {
        Stmt::Let(_, value) | Stmt::SetSlot { value, .. } => visit_exprs(value, f),
        Stmt::If { cond, then, otherwise } => {
            visit_exprs(cond, f);
            for stmt in then.iter().chain(otherwise) {
                stmt_exprs(stmt, f);
            }
        }
        Stmt::Match { scrutinee, arms } => {
            visit_exprs(scrutinee, f);
            for arm in arms {
                if let Some(guard) = &arm.guard {
                    visit_exprs(guard, f);
                }
                for stmt in &arm.body {
                    stmt_exprs(stmt, f);
                }
            }
        }
    }
}
