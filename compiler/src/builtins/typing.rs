//! What a builtin's typing rule sees, and the checks it shares: "this
//! argument must be text", "a list", "a number", and what an argument's
//! unknown type means (an earlier error: no second report).

use crate::types::Ty;

/// One argument as the typing rule sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgTy {
    /// A value of this type (`None`: unknown after an earlier error), and
    /// its value when it is an integer literal.
    Value(Option<Ty>, Option<i64>),
    /// A lambda, with the type its body yields.
    Lambda(Option<Ty>),
    /// A bare word such as `half_even`.
    Mode(String),
}

impl ArgTy {
    /// The value's type, if it is a value of known type.
    pub fn ty(&self) -> Option<&Ty> {
        match self {
            ArgTy::Value(ty, _) => ty.as_ref(),
            _ => None,
        }
    }
}

/// What is wrong with a call: the argument and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgError {
    /// 0-based argument index (`usize::MAX`: the call as a whole).
    pub index: usize,
    /// What is wrong, as a sentence fragment ("expects text, found `Int`").
    pub message: String,
}

/// The input to a typing rule.
pub struct Typing<'a> {
    /// The arguments.
    pub args: &'a [ArgTy],
    /// Displays types in messages.
    pub show: &'a dyn Fn(&Ty) -> String,
}

/// The outcome of looking at one argument: a type, or "unknown, stay
/// quiet".
pub type Arg<'a> = Result<Option<&'a Ty>, ArgError>;

impl Typing<'_> {
    /// An error about argument `index`.
    pub fn error(&self, index: usize, message: impl Into<String>) -> ArgError {
        ArgError {
            index,
            message: message.into(),
        }
    }

    fn value(&self, index: usize) -> Arg<'_> {
        match self.args.get(index) {
            Some(ArgTy::Value(ty, _)) => {
                if let Some(Ty::Optional(_)) = ty {
                    let shown = ty.as_ref().map(|t| (self.show)(t)).unwrap_or_default();
                    return Err(self.error(
                        index,
                        format!("may be absent (`{shown}`); say what to use then with `??`, or use `required(…)`"),
                    ));
                }
                Ok(ty.as_ref())
            }
            Some(ArgTy::Lambda(_)) => Err(self.error(index, "expects a value here, not a lambda")),
            Some(ArgTy::Mode(word)) => Err(self.error(index, format!("expects a value here, not `{word}`"))),
            None => Err(self.error(index, "is missing")),
        }
    }

    fn kind(&self, index: usize, what: &str, ok: impl Fn(&Ty) -> bool) -> Arg<'_> {
        match self.value(index)? {
            Some(ty) if ok(ty) => Ok(Some(ty)),
            Some(ty) => Err(self.error(index, format!("expects {what}, found `{}`", (self.show)(ty)))),
            None => Ok(None),
        }
    }

    /// Argument `index` must be text (`String`; codes such as `Currency`
    /// are text too).
    pub fn text(&self, index: usize) -> Arg<'_> {
        self.kind(index, "text", |ty| {
            matches!(ty, Ty::String { .. } | Ty::Currency | Ty::Country)
        })
    }

    /// Argument `index` must be an `Int`.
    pub fn int(&self, index: usize) -> Arg<'_> {
        self.kind(index, "a whole number (`Int`)", |ty| matches!(ty, Ty::Int))
    }

    /// Argument `index` must be a number (`Int` or `Decimal`).
    pub fn number(&self, index: usize) -> Arg<'_> {
        self.kind(index, "a number", |ty| matches!(ty, Ty::Int | Ty::Decimal { .. }))
    }

    /// Argument `index` must be a `Date`.
    pub fn date(&self, index: usize) -> Arg<'_> {
        self.kind(index, "a `Date`", |ty| matches!(ty, Ty::Date))
    }

    /// Argument `index` must be a `DateTime`.
    pub fn datetime(&self, index: usize) -> Arg<'_> {
        self.kind(index, "a `DateTime`", |ty| matches!(ty, Ty::DateTime))
    }

    /// Argument `index` must be a list; gives its element type.
    pub fn list(&self, index: usize) -> Arg<'_> {
        Ok(self
            .kind(index, "a list", |ty| matches!(ty, Ty::List(_)))?
            .and_then(Ty::element))
    }

    /// Argument `index` must be a lambda; gives what it yields.
    pub fn lambda(&self, index: usize) -> Arg<'_> {
        match self.args.get(index) {
            Some(ArgTy::Lambda(ty)) => Ok(ty.as_ref()),
            Some(_) => Err(self.error(index, "expects a lambda such as `x => x.amount`")),
            None => Err(self.error(index, "is missing")),
        }
    }

    /// Argument `index` must be a lambda yielding a `Bool`.
    pub fn predicate(&self, index: usize) -> Arg<'_> {
        match self.lambda(index)? {
            Some(Ty::Bool) | None => Ok(Some(&Ty::Bool)),
            Some(other) => Err(self.error(
                index,
                format!(
                    "expects a condition (`Bool`), the lambda gives `{}`",
                    (self.show)(other)
                ),
            )),
        }
    }

    /// The integer literal at `index`, if the argument is one.
    pub fn int_literal(&self, index: usize) -> Option<i64> {
        match self.args.get(index) {
            Some(ArgTy::Value(_, literal)) => *literal,
            _ => None,
        }
    }

    /// The word at `index`, if the argument is a bare word.
    pub fn mode(&self, index: usize) -> Option<&str> {
        match self.args.get(index) {
            Some(ArgTy::Mode(word)) => Some(word),
            _ => None,
        }
    }

    /// How many arguments.
    pub fn count(&self) -> usize {
        self.args.len()
    }
}

/// `String` without a length limit.
pub fn string() -> Ty {
    Ty::String { max_len: None }
}

/// A decimal with at most `scale` places (`None`: unknown).
pub fn decimal(scale: Option<u32>) -> Ty {
    Ty::Decimal { precision: None, scale }
}

/// The result of arithmetic-like builtins on one numeric type: `Int` stays
/// `Int`, a decimal keeps its scale but not its precision.
pub fn numeric_result(ty: &Ty) -> Ty {
    match ty {
        Ty::Decimal { scale, .. } => decimal(*scale),
        other => other.clone(),
    }
}

/// The common type of two numbers: `Int` if both are, else a decimal with
/// the larger scale (unknown if either is).
pub fn wider_number(a: &Ty, b: &Ty) -> Ty {
    match (a, b) {
        (Ty::Int, Ty::Int) => Ty::Int,
        _ => decimal(match (scale_of(a), scale_of(b)) {
            (Some(x), Some(y)) => Some(x.max(y)),
            _ => None,
        }),
    }
}

/// The scale of a number: 0 for `Int`, the decimal's scale otherwise.
pub fn scale_of(ty: &Ty) -> Option<u32> {
    match ty {
        Ty::Int => Some(0),
        Ty::Decimal { scale, .. } => *scale,
        _ => None,
    }
}

// ---------------------------------------------------------------- rules several builtins share

/// `f(text) -> String`: upper, lower, trim.
pub fn text_to_text(t: &Typing<'_>) -> Result<Option<Ty>, ArgError> {
    t.text(0)?;
    Ok(Some(string()))
}

/// `f(text, length, fill) -> String`: pad_left, pad_right.
pub fn pad(t: &Typing<'_>) -> Result<Option<Ty>, ArgError> {
    t.text(0)?;
    t.int(1)?;
    t.text(2)?;
    Ok(Some(string()))
}

/// min and max: of two numbers, of a list (optional), or of a lambda over a list.
pub fn min_max(t: &Typing<'_>) -> Result<Option<Ty>, ArgError> {
    if t.count() == 1 {
        return Ok(t.list(0)?.map(|element| element.clone().optional()));
    }
    if let Some(ArgTy::Lambda(_)) = t.args.get(1) {
        t.list(0)?;
        return Ok(t.lambda(1)?.map(|ty| ty.clone().optional()));
    }
    match (t.number(0)?, t.number(1)?) {
        (Some(a), Some(b)) => Ok(Some(wider_number(a, b))),
        _ => Ok(None),
    }
}

/// first and last: an element (satisfying a condition), optional.
pub fn first_last(t: &Typing<'_>) -> Result<Option<Ty>, ArgError> {
    let element = t.list(0)?.cloned();
    if t.count() == 2 {
        t.predicate(1)?;
    }
    Ok(element.map(Ty::optional))
}

/// any and all: a condition over a list.
pub fn list_predicate(t: &Typing<'_>) -> Result<Option<Ty>, ArgError> {
    t.list(0)?;
    t.predicate(1)?;
    Ok(Some(Ty::Bool))
}

/// `f(date) -> Date`: start_of_month, end_of_month.
pub fn date_to_date(t: &Typing<'_>) -> Result<Option<Ty>, ArgError> {
    t.date(0)?;
    Ok(Some(Ty::Date))
}
