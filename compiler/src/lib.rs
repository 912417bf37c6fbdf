//! The Mapwright compiler as a library: parse, resolve and check `.map` and
//! `.schema` files, and report diagnostics.
//!
//! Architecture invariant: this library is pure. It does no file or network
//! IO, starts no threads, knows nothing of async runtimes or of the language
//! server protocol. Source text comes in through [`source::SourceDb`] and a
//! [`resolve::ModuleLoader`]; diagnostics go out as values. The `mapc`
//! binary, the language server and the runtime wrap it.

pub mod builtins;
pub mod diagnostics;
pub mod format;
pub mod resolve;
pub mod source;
pub mod span;
pub mod syntax;
pub mod types;

/// The stack a thread needs to check any input: the nesting limits (256
/// levels, 1,024 operations per expression) keep recursion bounded, and
/// this is what the deepest allowed input takes in a debug build, with
/// room to spare. The CLI and the language server run checks on threads of
/// this size; tests of extreme inputs do the same.
pub const REQUIRED_STACK: usize = 64 * 1024 * 1024;
pub mod helpers;
pub mod ide;
pub mod interp;
pub mod jit;
pub mod mir;
pub mod program;
pub mod wire;
