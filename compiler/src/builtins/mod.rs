//! The builtin functions, by name, with what the resolver needs today: how
//! many arguments each takes and what kind of value it returns.
//!
//! The checker (a later step) gives each builtin its own file with the full
//! signature, documentation and examples that run as tests; this registry is
//! the single list the resolver checks calls against, so "unknown function"
//! and its suggestions already come from the real set.

use crate::types::Ty;

/// What a builtin returns, relative to its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Returns {
    /// A fixed type.
    Fixed(Ty),
    /// The type of argument `n`.
    ArgType(usize),
    /// The type of argument `n` without its `?`.
    ArgPresent(usize),
    /// The element type of list argument `n`.
    Element(usize),
    /// The element type of list argument `n`, optional (may be empty).
    ElementOptional(usize),
    /// A list of what the lambda at argument `n` yields (not yet inferred).
    Unknown,
}

/// One builtin function.
#[derive(Clone, Debug)]
pub struct Builtin {
    /// Its name.
    pub name: &'static str,
    /// Fewest arguments.
    pub min_args: usize,
    /// Most arguments.
    pub max_args: usize,
    /// What it returns.
    pub returns: Returns,
    /// One line of documentation.
    pub summary: &'static str,
}

const fn text(max: Option<u32>) -> Ty {
    Ty::String { max_len: max }
}

const fn decimal() -> Ty {
    Ty::Decimal {
        precision: None,
        scale: None,
    }
}

/// Every builtin, sorted by name.
pub fn all() -> &'static [Builtin] {
    use Returns::*;
    static ALL: std::sync::OnceLock<Vec<Builtin>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut list = vec![
            b("abs", 1, 1, ArgType(0), "The absolute value of a number."),
            b(
                "add_days",
                2,
                2,
                ArgType(0),
                "A date or date-time moved by a number of days.",
            ),
            b(
                "add_months",
                2,
                2,
                ArgType(0),
                "A date moved by months, clamped to the month's last day.",
            ),
            b(
                "all",
                2,
                2,
                Fixed(Ty::Bool),
                "Whether the condition holds for every element.",
            ),
            b(
                "any",
                2,
                2,
                Fixed(Ty::Bool),
                "Whether the condition holds for some element.",
            ),
            b("concat", 1, 64, Fixed(text(None)), "The texts joined end to end."),
            b(
                "count",
                1,
                2,
                Fixed(Ty::Int),
                "How many elements (that satisfy the condition).",
            ),
            b(
                "distinct",
                1,
                2,
                ArgType(0),
                "The elements with duplicates removed, first kept.",
            ),
            b(
                "end_of_month",
                1,
                1,
                Fixed(Ty::Date),
                "The last day of the date's month.",
            ),
            b(
                "first",
                1,
                2,
                ElementOptional(0),
                "The first element (that satisfies the condition), if any.",
            ),
            b(
                "format_date",
                2,
                2,
                Fixed(text(None)),
                "A date written with a pattern such as `yyyyMMdd`.",
            ),
            b(
                "format_datetime",
                2,
                3,
                Fixed(text(None)),
                "A date-time written with a pattern, in a time zone.",
            ),
            b(
                "group_by",
                2,
                2,
                Unknown,
                "The elements grouped by a key, each group with its key and elements.",
            ),
            b("join", 2, 2, Fixed(text(None)), "Texts joined with a separator."),
            b(
                "last",
                1,
                2,
                ElementOptional(0),
                "The last element (that satisfies the condition), if any.",
            ),
            b(
                "length",
                1,
                1,
                Fixed(Ty::Int),
                "The number of characters of a text, or elements of a list.",
            ),
            b("lower", 1, 1, ArgType(0), "The text in lower case."),
            b(
                "max",
                1,
                2,
                Unknown,
                "The larger of two values, or the largest element of a list.",
            ),
            b(
                "min",
                1,
                2,
                Unknown,
                "The smaller of two values, or the smallest element of a list.",
            ),
            b(
                "pad_left",
                3,
                3,
                Fixed(text(None)),
                "The text padded on the left to a length.",
            ),
            b(
                "pad_right",
                3,
                3,
                Fixed(text(None)),
                "The text padded on the right to a length.",
            ),
            b(
                "parse_date",
                1,
                2,
                Fixed(Ty::Date),
                "A date read from text with a pattern; can fail.",
            ),
            b(
                "parse_datetime",
                1,
                3,
                Fixed(Ty::DateTime),
                "A date-time read from text; can fail.",
            ),
            b(
                "parse_decimal",
                1,
                1,
                Fixed(decimal()),
                "A decimal read from text; can fail.",
            ),
            b(
                "parse_int",
                1,
                1,
                Fixed(Ty::Int),
                "A whole number read from text; can fail.",
            ),
            b(
                "replace",
                3,
                3,
                Fixed(text(None)),
                "The text with every occurrence of one text replaced.",
            ),
            b(
                "required",
                2,
                2,
                ArgPresent(0),
                "The value, or the record fails with the message when it is absent.",
            ),
            b(
                "round",
                2,
                3,
                Fixed(decimal()),
                "A decimal rounded to places, half-up unless a mode is given.",
            ),
            b("sort_by", 2, 2, ArgType(0), "The elements sorted by a key, stable."),
            b(
                "split",
                2,
                2,
                Fixed(Ty::List(Box::new(text(None)))),
                "The text split at a separator.",
            ),
            b(
                "start_of_month",
                1,
                1,
                Fixed(Ty::Date),
                "The first day of the date's month.",
            ),
            b(
                "substring",
                2,
                3,
                Fixed(text(None)),
                "Part of a text, by character positions.",
            ),
            b(
                "sum",
                1,
                2,
                Unknown,
                "The sum of the elements (or of what the lambda gives for each).",
            ),
            b(
                "text",
                1,
                1,
                Fixed(text(None)),
                "A number, date or enum written as text.",
            ),
            b(
                "to_timezone",
                2,
                2,
                Fixed(Ty::DateTime),
                "A date-time moved to a time zone.",
            ),
            b(
                "trim",
                1,
                1,
                ArgType(0),
                "The text without leading and trailing white space.",
            ),
            b("upper", 1, 1, ArgType(0), "The text in upper case."),
        ];
        list.sort_by_key(|builtin| builtin.name);
        list
    })
}

fn b(name: &'static str, min_args: usize, max_args: usize, returns: Returns, summary: &'static str) -> Builtin {
    Builtin {
        name,
        min_args,
        max_args,
        returns,
        summary,
    }
}

/// A builtin by name.
pub fn get(name: &str) -> Option<&'static Builtin> {
    all().iter().find(|builtin| builtin.name == name)
}
