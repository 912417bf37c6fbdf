//! Runtime values of the reference interpreter, laid out as the MIR's
//! module docs describe.

use crate::helpers::date::DateTimeValue;
use rust_decimal::Decimal;
use std::fmt;

/// A value.
///
/// `repr(C, u8)` fixes the layout compiled code relies on: a one-byte tag
/// (the variant's position, `Absent` = 0 … `List` = 9) at offset 0, then
/// the variant's fields (see `jit::layout`, which checks it before any code
/// is compiled).
#[derive(Clone, Debug, Default, PartialEq)]
#[repr(C, u8)]
pub enum Value {
    /// An absent optional (`none`).
    #[default]
    Absent,
    /// A whole number.
    Int(i64),
    /// An exact decimal.
    Decimal(Decimal),
    /// A truth value.
    Bool(bool),
    /// Text (also currency and country codes).
    Text(String),
    /// A calendar date.
    Date(jiff::civil::Date),
    /// An instant with its offset.
    DateTime(DateTimeValue),
    /// An enum variant: its index and name.
    Enum(u32, String),
    /// A record: one value per field slot.
    Record(Vec<Value>),
    /// A list.
    List(Vec<Value>),
}

impl Value {
    /// Whether the value is present.
    pub fn is_present(&self) -> bool {
        !matches!(self, Value::Absent)
    }
}

fn write_text(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str("\"")?;
    for ch in text.chars() {
        match ch {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '{' => f.write_str("\\{")?,
            '}' => f.write_str("\\}")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            other => write!(f, "{other}")?,
        }
    }
    f.write_str("\"")
}

/// Values as the language writes them (text quoted and escaped, dates in
/// ISO 8601, date-times in RFC 3339).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Absent => f.write_str("none"),
            Value::Int(value) => write!(f, "{value}"),
            Value::Decimal(value) => write!(f, "{value}"),
            Value::Bool(value) => write!(f, "{value}"),
            Value::Text(text) => write_text(f, text),
            Value::Date(date) => write!(f, "{date}"),
            Value::DateTime(value) => f.write_str(&value.to_rfc3339()),
            Value::Enum(_, name) => f.write_str(name),
            Value::Record(slots) => {
                f.write_str("{")?;
                for (index, slot) in slots.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "#{index}: {slot}")?;
                }
                f.write_str("}")
            }
            Value::List(items) => {
                f.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}
