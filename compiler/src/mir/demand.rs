//! Which parts of its input a mapping reads: a small abstract
//! interpretation over the MIR, so the decoder builds only those and
//! validates the rest without keeping it.
//!
//! An expression's abstract value is the input path it denotes, if any: a
//! chain of record slots from the mapping's parameter (lists are
//! transparent, so a list and its elements share a path). A local bound to
//! such an expression denotes the same path; `Field` extends it; `Index`
//! and a loop's item keep it; a loop folded by `Filter`, `SortBy`,
//! `DistinctBy`, `First` or `Last` gives elements of its source, so keeps
//! the source's path. Every other use of a path (an operation, a call, a
//! field set, a table key, a comparison, being returned) demands its
//! whole subtree. Anything not understood demands everything it touches,
//! so the analysis can only keep too much, never too little.

use super::{Expr, Fold, Function, LocalId, Stmt};
use std::collections::HashMap;

/// The parts of a value that are read: the whole of it, or some of its
/// record slots (of its elements, for a list), each with its own demand.
/// A slot not listed is never read: the decoder may leave it absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Demand {
    /// Everything below is read.
    pub whole: bool,
    /// The slots read, when not `whole`.
    pub fields: Slots,
}

/// The demands of a record's slots, indexed by slot: the decoder asks for
/// one per key of every record of every event, so it is an index into a
/// `Vec`, not a search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slots(Vec<Option<Demand>>);

impl Slots {
    /// No slot read.
    pub const fn new() -> Slots {
        Slots(Vec::new())
    }

    /// The demand of `slot`, if it is read.
    pub fn get(&self, slot: u32) -> Option<&Demand> {
        self.0.get(slot as usize).and_then(Option::as_ref)
    }

    /// Whether no slot is read.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// The slots read, in order, with their demands.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Demand)> {
        self.0
            .iter()
            .enumerate()
            .filter_map(|(slot, demand)| Some((slot as u32, demand.as_ref()?)))
    }

    fn clear(&mut self) {
        self.0.clear();
    }

    /// The demand of `slot`, made empty first when it is not read yet.
    fn entry(&mut self, slot: u32) -> &mut Demand {
        let index = slot as usize;
        if self.0.len() <= index {
            self.0.resize(index + 1, None);
        }
        self.0[index].get_or_insert_with(Demand::default)
    }
}

/// The demand of a value read whole.
static WHOLE: Demand = Demand {
    whole: true,
    fields: Slots::new(),
};

impl Demand {
    /// A value read whole.
    pub fn whole() -> Demand {
        WHOLE.clone()
    }

    /// A value read whole, borrowed for as long as needed.
    pub fn whole_ref() -> &'static Demand {
        &WHOLE
    }

    /// What is read of slot `slot`: `None` when nothing is.
    pub fn field(&self, slot: u32) -> Option<&Demand> {
        if self.whole {
            Some(&WHOLE)
        } else {
            self.fields.get(slot)
        }
    }

    /// Marks the path `slots` as reached, and its end as read whole.
    fn demand(&mut self, slots: &[u32]) {
        if let Some(node) = self.reach(slots) {
            node.whole = true;
            node.fields.clear();
        }
    }

    /// Marks the path `slots` as reached (its records and lists built)
    /// without demanding any of its fields; its end, unless a record on
    /// the way is already read whole.
    fn reach(&mut self, slots: &[u32]) -> Option<&mut Demand> {
        let mut node = self;
        for slot in slots {
            if node.whole {
                return None;
            }
            node = node.fields.entry(*slot);
        }
        (!node.whole).then_some(node)
    }

    /// The demanded paths, as slot chains, for tests and display: a
    /// path ending in `*` is read whole.
    pub fn paths(&self) -> Vec<String> {
        fn walk(demand: &Demand, prefix: &str, out: &mut Vec<String>) {
            if demand.whole {
                out.push(format!("{prefix}*"));
                return;
            }
            if demand.fields.is_empty() {
                out.push(prefix.to_owned());
            }
            for (slot, child) in demand.fields.iter() {
                walk(child, &format!("{prefix}#{slot}."), out);
            }
        }
        let mut out = Vec::new();
        walk(self, "", &mut out);
        out
    }
}

/// What `function` reads of its parameter `parameter` (a record).
pub fn of_parameter(function: &Function, parameter: u32) -> Demand {
    let mut analysis = Analysis {
        locals: HashMap::new(),
        demand: Demand::default(),
    };
    analysis.locals.insert(LocalId(parameter), Vec::new());
    // The parameter itself is reached (its record is built) even when no
    // field of it is read.
    analysis.demand.reach(&[]);
    analysis.consume(&function.body.expr);
    analysis.demand
}

struct Analysis {
    /// Locals that denote an input path.
    locals: HashMap<LocalId, Vec<u32>>,
    demand: Demand,
}

impl Analysis {
    /// Evaluates `expr` for its path, demanding what its parts read; the
    /// path is reached but not demanded.
    fn path(&mut self, expr: &Expr) -> Option<Vec<u32>> {
        let path = match expr {
            Expr::Local(id) => self.locals.get(id).cloned(),
            Expr::Field(base, field) => self.path(base).map(|mut path| {
                path.push(field.slot);
                path
            }),
            Expr::Index(list, index) => {
                let path = self.path(list);
                self.consume(index);
                path
            }
            Expr::Block(stmts, result) => {
                for stmt in stmts {
                    self.stmt(stmt);
                }
                self.path(result)
            }
            Expr::Loop(lp) => {
                let source = self.path(&lp.source);
                self.bind(lp.item, source.clone());
                if let Some(index) = lp.index {
                    self.bind(index, None);
                }
                if let Some(filter) = &lp.filter {
                    self.consume(filter);
                }
                // `where` keeps the element itself: its body (the item) is
                // never evaluated, by either engine.
                if lp.fold != Fold::Filter {
                    self.consume(&lp.body);
                }
                match lp.fold {
                    Fold::Filter | Fold::SortBy | Fold::DistinctBy | Fold::First | Fold::Last => source,
                    Fold::GroupBy => {
                        // Groups hold the elements themselves, in a record
                        // of the analysis's own making: read whole.
                        if let Some(path) = &source {
                            self.demand.demand(path);
                        }
                        None
                    }
                    Fold::Collect | Fold::Sum { .. } | Fold::Count | Fold::Any | Fold::All | Fold::Min | Fold::Max => {
                        None
                    }
                }
            }
            Expr::Const(_) | Expr::Param(_) | Expr::NewRecord(..) => None,
            Expr::Lookup(_, key) => {
                self.consume(key);
                None
            }
            Expr::Call(_, args) | Expr::CallFn(_, args) | Expr::List(args) => {
                for arg in args {
                    self.consume(arg);
                }
                None
            }
            Expr::If(a, b, c) => {
                self.consume(a);
                self.consume(b);
                self.consume(c);
                None
            }
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Coalesce(a, b) => {
                self.consume(a);
                self.consume(b);
                None
            }
            Expr::Match(scrutinee, arms) => {
                self.consume(scrutinee);
                for arm in arms {
                    if let Some(guard) = &arm.guard {
                        self.consume(guard);
                    }
                    self.consume(&arm.body);
                }
                None
            }
            Expr::Fail(message) => {
                self.consume(message);
                None
            }
        };
        if let Some(path) = &path {
            self.demand.reach(path);
        }
        path
    }

    /// Binds `local` to what its value denotes. Lowering gives every
    /// binding a local of its own; were one bound twice to different
    /// paths, both are demanded whole and the local denotes none.
    fn bind(&mut self, local: LocalId, path: Option<Vec<u32>>) {
        match (self.locals.remove(&local), path) {
            (Some(old), Some(new)) if old != new => {
                self.demand.demand(&old);
                self.demand.demand(&new);
            }
            (Some(old), None) => self.demand.demand(&old),
            (_, Some(new)) => {
                self.locals.insert(local, new);
            }
            (None, None) => {}
        }
    }

    /// Evaluates `expr` and demands the whole of the path it denotes.
    fn consume(&mut self, expr: &Expr) {
        if let Some(path) = self.path(expr) {
            self.demand.demand(&path);
        }
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Let(local, value) => {
                let path = self.path(value);
                self.bind(*local, path);
            }
            Stmt::SetSlot { value, .. } => self.consume(value),
            Stmt::If { cond, then, otherwise } => {
                self.consume(cond);
                for stmt in then.iter().chain(otherwise) {
                    self.stmt(stmt);
                }
            }
            Stmt::Match { scrutinee, arms } => {
                self.consume(scrutinee);
                for arm in arms {
                    if let Some(guard) = &arm.guard {
                        self.consume(guard);
                    }
                    for stmt in &arm.body {
                        self.stmt(stmt);
                    }
                }
            }
        }
    }
}
