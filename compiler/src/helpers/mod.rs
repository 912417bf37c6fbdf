//! The operations both engines call: exact decimal and integer arithmetic,
//! text by Unicode scalar value, dates and date-times with time zones.
//!
//! The reference interpreter and the JIT call these same functions (the
//! JIT through `extern "C"` shims), so the two engines agree at every limit:
//! the same overflow, the same rounding, the same error message. Each
//! function is pure and small; failures are [`HelperError`]s, which the
//! engines turn into `MappingError`s carrying the source and target paths.

pub mod date;
pub mod number;
pub mod text;

/// Why an operation could not produce a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HelperError {
    /// An integer or decimal result does not fit.
    #[error("{operation} overflows")]
    Overflow {
        /// What was computed, e.g. "9223372036854775807 + 1".
        operation: String,
    },
    /// Division or remainder by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// A decimal result would need more than 28 decimal places or
    /// significant digits, so it cannot be exact.
    #[error("{operation} needs more than 28 digits; it cannot be computed exactly")]
    Inexact {
        /// What was computed.
        operation: String,
    },
    /// A value has more decimal places than its target takes.
    #[error("{value} has {places} decimal places; the target takes {scale}")]
    TooManyPlaces {
        /// The value as written.
        value: String,
        /// Its places.
        places: u32,
        /// What the target takes.
        scale: u32,
    },
    /// A value has more digits than `Decimal(p, s)` allows.
    #[error("{value} has more than {precision} digits; the target is Decimal({precision}, {scale})")]
    TooManyDigits {
        /// The value as written.
        value: String,
        /// Total digits allowed.
        precision: u32,
        /// Places allowed.
        scale: u32,
    },
    /// Text is longer than `String(n)`.
    #[error("the text has {length} characters; the target takes at most {max}")]
    TooLong {
        /// Its length in Unicode scalar values.
        length: usize,
        /// The limit.
        max: u32,
    },
    /// Text holds a character XML 1.0 cannot carry.
    #[error("the text holds U+{code:04X} at character {at}, which XML 1.0 cannot carry")]
    NotXml {
        /// The character's code point.
        code: u32,
        /// Its position, in characters.
        at: usize,
    },
    /// Text that should be a number is not one.
    #[error("{text:?} is not a number: {reason}")]
    NotANumber {
        /// The text.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Text that should be a date or date-time is not one.
    #[error("{text:?} is not a valid {what}: {reason}")]
    NotADate {
        /// The text.
        text: String,
        /// "date" or "date-time", with the pattern when one was given.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A function was given an argument it cannot work with.
    #[error("{function}: {message}")]
    BadArgument {
        /// The builtin.
        function: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A time zone name the bundled database does not know.
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    /// A date or date-time outside the supported range (years 1 to 9999).
    #[error("{operation} leaves the supported date range")]
    DateRange {
        /// What was computed.
        operation: String,
    },
}

/// The result of a helper.
pub type Result<T> = std::result::Result<T, HelperError>;
