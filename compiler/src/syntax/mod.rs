//! Reading source text: the scanner, the syntax tree and the parser.

pub mod ast;
pub mod dump;
mod expected;
pub mod parser;
pub mod scan;

pub use parser::{Parsed, parse};
