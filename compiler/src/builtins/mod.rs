//! The builtin functions: one file each, holding the function's signature,
//! documentation, examples and typing rule; this module lists them all.
//!
//! A builtin's typing rule sees the argument types (and, for literals, the
//! literal) and returns the result type or says which argument is wrong.
//! Lambdas (`sum(xs, l => l.amount)`) get their parameter types from
//! [`Builtin::lambda_params`] before their bodies are checked. Every example
//! is checked by a test: its expression must type-check to the documented
//! type (and, once the interpreter lands, evaluate to the documented value).

use crate::types::Ty;

pub mod typing;
pub use typing::{ArgError, ArgTy, Typing};

/// One documented example of a builtin.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    /// The call, as an analyst writes it.
    pub expr: &'static str,
    /// Its type, as written in a schema.
    pub ty: &'static str,
    /// Its value, as written in the language (for the interpreter's test).
    pub value: &'static str,
}

/// One builtin function.
#[derive(Clone, Copy)]
pub struct Builtin {
    /// Its name.
    pub name: &'static str,
    /// The signature shown in hovers and docs.
    pub signature: &'static str,
    /// One sentence.
    pub summary: &'static str,
    /// More: edge cases, errors, what it never does.
    pub docs: &'static str,
    /// Examples that run as tests.
    pub examples: &'static [Example],
    /// Fewest and most arguments.
    pub arity: (usize, usize),
    /// Whether it can fail at run time on valid types (bad text, overflow),
    /// giving a `MappingError`: the checker and the docs say so (rule 7).
    pub can_fail: bool,
    /// Bare words it takes as arguments (rounding modes).
    pub modes: &'static [&'static str],
    /// Parameter types of a lambda at argument `index`, from the types of
    /// the arguments before it.
    pub lambda_params: fn(index: usize, before: &[ArgTy]) -> Vec<Option<Ty>>,
    /// The result type, or which argument is wrong.
    pub typing: fn(&Typing<'_>) -> Result<Option<Ty>, ArgError>,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builtin").field("name", &self.name).finish()
    }
}

/// No lambda parameters anywhere.
pub fn no_lambda(_: usize, _: &[ArgTy]) -> Vec<Option<Ty>> {
    Vec::new()
}

/// One lambda parameter: the element type of the first argument.
pub fn element_lambda(_: usize, before: &[ArgTy]) -> Vec<Option<Ty>> {
    vec![before.first().and_then(ArgTy::ty).and_then(|ty| ty.element().cloned())]
}

macro_rules! builtins {
    ($($name:ident),* $(,)?) => {
        $(mod $name;)*

        /// Every builtin, sorted by name.
        pub fn all() -> &'static [Builtin] {
            static ALL: std::sync::OnceLock<Vec<Builtin>> = std::sync::OnceLock::new();
            ALL.get_or_init(|| {
                let mut list = vec![$($name::BUILTIN,)*];
                list.sort_by_key(|builtin| builtin.name);
                list
            })
        }
    };
}

builtins! {
    abs, add_days, add_months, all, any, concat, count, distinct, end_of_month, first, format_date,
    format_datetime, group_by, join, last, length, lower, max, min, pad_left, pad_right, parse_date,
    parse_datetime, parse_decimal, parse_int, replace, required, round, sort_by, split, start_of_month,
    substring, sum, text, to_timezone, trim, upper,
}

/// A builtin by name.
pub fn get(name: &str) -> Option<&'static Builtin> {
    all().iter().find(|builtin| builtin.name == name)
}

/// Functions a mapping may not call, because they would make it impure
/// (rule 8): with the reason and what to do instead.
pub const IMPURE: &[(&str, &str)] = &[
    (
        "now",
        "the time must come from the event (e.g. its `occurred_at`) or a param",
    ),
    ("today", "the date must come from the event or a param"),
    ("random", "randomness would make the same event give different payloads"),
    (
        "uuid",
        "an id must come from the event, so a replay gives the same payload",
    ),
    (
        "env",
        "settings come from params, which each tenant's configuration supplies",
    ),
    (
        "http",
        "lookups come from tables (`table … external`), filled per tenant",
    ),
];
