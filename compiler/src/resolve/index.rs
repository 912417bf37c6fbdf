//! What each name written in a file stands for: the index the checker
//! leaves behind for editors (hover, go to definition, references, rename,
//! semantic highlighting, completion).
//!
//! The checker records an [`Occurrence`] wherever it resolves a name: item
//! and local definitions, uses of them, types, fields read and assigned,
//! enum variants, builtin calls and module paths. Completion runs the checker
//! over the text with [`COMPLETION_MARKER`] typed at the cursor; the checker
//! then keeps a [`Probe`] of what was in scope there.

use super::Location;
use crate::span::Span;
use crate::types::{EnumId, RecordId, Ty};

/// A name completion writes at the cursor before checking, so that
/// half-typed code (`inv.`) parses and the checker reports what is in scope
/// there. It is a valid identifier no analyst would write.
pub const COMPLETION_MARKER: &str = "__mapwright_completion__";

/// What a name stands for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Symbol {
    /// A module path in `use` or in a dotted type.
    Module(String),
    /// A record type.
    Record(RecordId),
    /// An enum type.
    Enum(EnumId),
    /// A field of a record, declared, read from a value or assigned.
    Field(RecordId, String),
    /// A variant of an enum.
    Variant(EnumId, String),
    /// A `param` of a mapping file, by where it is declared.
    Param(Location),
    /// A `table`, by where it is declared.
    Table(Location),
    /// A `fn`, by where it is declared.
    Function(Location),
    /// A `mapping`, by where it is declared.
    Mapping(Location),
    /// A local value (`let`, a parameter, a `for` or lambda variable), by
    /// where it is bound.
    Local(Location),
    /// A builtin function.
    Builtin(&'static str),
}

/// One place where a name is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// The name's bytes.
    pub span: Span,
    /// What it stands for.
    pub symbol: Symbol,
    /// Whether this is where the symbol is defined.
    pub definition: bool,
}

/// A local value, by where it is bound.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalInfo {
    /// Its name.
    pub name: String,
    /// Its type, when known.
    pub ty: Option<Ty>,
    /// What binds it: `let`, `parameter`, `for` or `lambda`.
    pub binder: &'static str,
}

/// A block that builds a record, with the fields it assigns.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordBlock {
    /// From `{` to `}`.
    pub span: Span,
    /// The record built.
    pub record: RecordId,
    /// Fields assigned directly in it (on some path).
    pub assigned: Vec<String>,
}

/// What the checker saw where [`COMPLETION_MARKER`] is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// Where the marker is.
    pub span: Span,
    /// What kind of place it is.
    pub place: ProbePlace,
    /// The locals in scope, innermost last: name, type and where bound.
    pub locals: Vec<(String, Option<Ty>, Option<Location>)>,
}

/// The kinds of place the marker can be in.
#[derive(Clone, Debug, PartialEq)]
pub enum ProbePlace {
    /// Where a value is read; the type expected there, when known.
    Value(Option<Ty>),
    /// After `base.`: the base's type (`None` when unknown).
    Field(Option<Ty>),
    /// After `Enum.`.
    Variant(EnumId),
    /// Where a statement assigns a field of this record.
    Target(RecordId),
}
