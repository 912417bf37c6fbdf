//! The syntax tree: what a file says, with a byte span on every node.
//!
//! The tree keeps what a broken file still says: a statement, field, variant
//! or entry that did not parse becomes an error node (`Error` variants and
//! `broken` spans), so later phases check the rest and the language server
//! keeps working on half-typed code.

use crate::span::Span;

/// A parsed file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Module {
    /// Its items, in source order.
    pub items: Vec<Item>,
}

/// A name with its span.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name (without back-quotes for quoted names).
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// Documentation written with `///` before a declaration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Doc {
    /// The text, `///` and one following space removed, lines joined by `\n`.
    pub text: String,
    /// The span of all its lines.
    pub span: Span,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// What it is.
    pub kind: ItemKind,
    /// Its bytes.
    pub span: Span,
    /// Its doc comment.
    pub doc: Option<Doc>,
}

/// The kinds of top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    /// `schema canonical.invoice`
    Schema(Path),
    /// `format xml { … }`
    Format(FormatDecl),
    /// `use a.b.{C, D}`
    Use(UseDecl),
    /// `enum E { … }`
    Enum(EnumDecl),
    /// `record R { … }`
    Record(RecordDecl),
    /// `extend record a.b.R { … }`
    Extend(ExtendDecl),
    /// `param p: T = default`
    Param(ParamDecl),
    /// `table t: K -> V { … }` or `… external`
    Table(TableDecl),
    /// `mapping m(x: T) -> U { … }`
    Mapping(FunctionDecl),
    /// `fn f(x: T) -> U { … }`
    Function(FunctionDecl),
    /// An item that did not parse (its diagnostic is already reported).
    Error,
}

/// A dotted path such as `canonical.invoice` or `canonical.invoice.Party`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// The segments.
    pub segments: Vec<Ident>,
    /// The whole path.
    pub span: Span,
}

impl Path {
    /// The path as written, `a.b.c`.
    pub fn dotted(&self) -> String {
        let mut out = String::new();
        for (index, segment) in self.segments.iter().enumerate() {
            if index > 0 {
                out.push('.');
            }
            out.push_str(&segment.name);
        }
        out
    }
}

/// `format NAME { settings }`.
#[derive(Clone, Debug, PartialEq)]
pub struct FormatDecl {
    /// `json`, `xml` or `csv`.
    pub kind: Ident,
    /// The settings.
    pub settings: Vec<FormatSetting>,
    /// Settings that did not parse.
    pub broken: Vec<Span>,
}

/// One setting in a format block: `root Invoice`, `ns cbc "urn:…"`,
/// `delimiter ";"`.
#[derive(Clone, Debug, PartialEq)]
pub struct FormatSetting {
    /// The setting's name.
    pub key: Ident,
    /// The qualifier between key and value (`cbc` in `ns cbc "…"`).
    pub qualifier: Option<Ident>,
    /// The value.
    pub value: Literal,
    /// The whole setting.
    pub span: Span,
}

/// A literal value in a format block or annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Literal {
    /// A string (escapes resolved).
    Str(String),
    /// A number as written, underscores removed.
    Number(String),
    /// `true` or `false`.
    Bool(bool),
    /// A bare word or prefixed name (`text`, `xsi:type`).
    Word(String),
}

/// `use PATH`, `use PATH.{A, B as C}` or `use PATH.Item as Alias`.
#[derive(Clone, Debug, PartialEq)]
pub struct UseDecl {
    /// The module path (without the imported item for the single form).
    pub module: Path,
    /// What is imported.
    pub names: Vec<UseName>,
}

/// One imported name.
#[derive(Clone, Debug, PartialEq)]
pub struct UseName {
    /// The item's name in its module.
    pub name: Ident,
    /// The local name, if renamed with `as`.
    pub alias: Option<Ident>,
}

impl UseName {
    /// The name it is known by in the importing file.
    pub fn local(&self) -> &Ident {
        self.alias.as_ref().unwrap_or(&self.name)
    }
}

/// `@name(args)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Annotation {
    /// The name without `@`.
    pub name: Ident,
    /// The arguments.
    pub args: Vec<AnnotationArg>,
    /// The whole annotation.
    pub span: Span,
}

/// One annotation argument: `value` or `key = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnotationArg {
    /// The key, for `key = value`.
    pub key: Option<Ident>,
    /// The value.
    pub value: Literal,
    /// The whole argument.
    pub span: Span,
}

/// `enum Name { variants }`.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumDecl {
    /// The enum's name.
    pub name: Ident,
    /// Annotations on the enum.
    pub annotations: Vec<Annotation>,
    /// Its variants.
    pub variants: Vec<Variant>,
    /// Variants that did not parse.
    pub broken: Vec<Span>,
}

/// One enum variant.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Its name.
    pub name: Ident,
    /// Its annotations (`@wire("S")`).
    pub annotations: Vec<Annotation>,
    /// Its doc comment.
    pub doc: Option<Doc>,
    /// The whole variant.
    pub span: Span,
}

/// `record Name { fields }`.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordDecl {
    /// The record's name.
    pub name: Ident,
    /// Annotations on the record (`@xml(xsi_type = "…")`).
    pub annotations: Vec<Annotation>,
    /// Its fields.
    pub fields: Vec<FieldDecl>,
    /// Fields that did not parse.
    pub broken: Vec<Span>,
}

/// `extend record path.Name { fields }`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtendDecl {
    /// The record extended.
    pub target: Path,
    /// The added fields.
    pub fields: Vec<FieldDecl>,
    /// Fields that did not parse.
    pub broken: Vec<Span>,
}

/// `name: Type @annotations`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    /// The field's name.
    pub name: Ident,
    /// Its type.
    pub ty: TypeRef,
    /// Its annotations.
    pub annotations: Vec<Annotation>,
    /// Its doc comment.
    pub doc: Option<Doc>,
    /// The whole field.
    pub span: Span,
}

/// A type as written.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeRef {
    /// What it is.
    pub kind: TypeRefKind,
    /// Where.
    pub span: Span,
}

/// The forms of a written type.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeRefKind {
    /// `String`, `Decimal(15, 2)`, `canonical.invoice.Party`.
    Named {
        /// The name, possibly dotted.
        path: Path,
        /// Numbers in parentheses, as written.
        args: Vec<(String, Span)>,
    },
    /// `[T]`
    List(Box<TypeRef>),
    /// `T?`
    Optional(Box<TypeRef>),
}

/// `param name: Type = default`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    /// The parameter's name.
    pub name: Ident,
    /// Its type.
    pub ty: TypeRef,
    /// Its default value.
    pub default: Option<Expr>,
}

/// `table name: K -> V { entries }` or `… external`.
#[derive(Clone, Debug, PartialEq)]
pub struct TableDecl {
    /// The table's name.
    pub name: Ident,
    /// Key type.
    pub key: TypeRef,
    /// Value type.
    pub value: TypeRef,
    /// The entries, or `None` for an external table.
    pub entries: Option<Vec<TableEntry>>,
    /// Entries that did not parse.
    pub broken: Vec<Span>,
}

/// `pattern | pattern => value`.
#[derive(Clone, Debug, PartialEq)]
pub struct TableEntry {
    /// The keys this entry covers.
    pub patterns: Vec<Pattern>,
    /// The value.
    pub value: Expr,
    /// The whole entry.
    pub span: Span,
}

/// A `mapping` or `fn`: name, parameters, result type and body.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionDecl {
    /// Its name.
    pub name: Ident,
    /// Its parameters.
    pub params: Vec<TypedParam>,
    /// Its result type.
    pub result: TypeRef,
    /// Its body.
    pub body: Block,
}

/// `name: Type` in a parameter list.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedParam {
    /// The parameter's name.
    pub name: Ident,
    /// Its type.
    pub ty: TypeRef,
}

/// `{ statements }`: builds a record (assignments) or yields a value (its
/// last statement is an expression).
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The statements.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What it is.
    pub kind: StmtKind,
    /// Its bytes.
    pub span: Span,
}

/// The kinds of statement.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `let name: Type = value`
    Let {
        /// The name bound.
        name: Ident,
        /// The declared type, if any.
        ty: Option<TypeRef>,
        /// The value.
        value: Expr,
    },
    /// `Field = value`
    Assign {
        /// The target field.
        field: Ident,
        /// The value.
        value: Expr,
    },
    /// `Field { … }`: a nested record built in place.
    Nested {
        /// The target field.
        field: Ident,
        /// The record's statements.
        block: Block,
    },
    /// An expression: the value of a block, or an `if`/`match` whose
    /// branches assign fields.
    Expr(Expr),
    /// A statement that did not parse (already reported).
    Error,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Its bytes.
    pub span: Span,
}

impl Expr {
    /// An error node at `span` (its diagnostic is already reported).
    pub fn error(span: Span) -> Expr {
        Expr {
            kind: ExprKind::Error,
            span,
        }
    }
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `where`: keeps the list items for which the right side holds (`it`
    /// is the item).
    Where,
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `??`: the left side if present, else the right side.
    Coalesce,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinaryOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Where => "where",
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Coalesce => "??",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Where => 0,
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => 3,
            BinaryOp::Coalesce => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 6,
        }
    }

    /// Whether `a op b op c` groups as `a op (b op c)`.
    pub fn right_associative(self) -> bool {
        self == BinaryOp::Coalesce
    }

    /// Whether the operator is a comparison (which cannot be chained).
    pub fn is_comparison(self) -> bool {
        self.precedence() == 3
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `not x`
    Not,
}

/// A piece of a string literal.
#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    /// Literal text, escapes resolved.
    Text(String),
    /// `{expr}`
    Interpolation(Expr),
}

/// One call argument.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// A value.
    Expr(Expr),
    /// `x => body` or `(a, b) => body`.
    Lambda(Lambda),
}

/// A lambda in a call argument; inlined when lowering.
#[derive(Clone, Debug, PartialEq)]
pub struct Lambda {
    /// Its parameters.
    pub params: Vec<Ident>,
    /// Its body.
    pub body: Box<Expr>,
    /// The whole lambda.
    pub span: Span,
}

/// One arm of a `match`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchArm {
    /// The patterns it matches (`a | b`).
    pub patterns: Vec<Pattern>,
    /// An `if` guard.
    pub guard: Option<Expr>,
    /// The result.
    pub value: Expr,
    /// The whole arm.
    pub span: Span,
}

/// A pattern in a `match` arm or table entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    /// `_`
    Wildcard(Span),
    /// A literal (string, number, bool).
    Literal(Expr),
    /// An enum variant: `standard` or `TaxCategory.standard`.
    Path(Path),
}

impl Pattern {
    /// Where the pattern is written.
    pub fn span(&self) -> Span {
        match self {
            Pattern::Wildcard(span) => *span,
            Pattern::Literal(expr) => expr.span,
            Pattern::Path(path) => path.span,
        }
    }
}

/// The forms of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A string literal with its interpolations.
    Str(Vec<StrPart>),
    /// A number literal, underscores removed.
    Number(String),
    /// `true` or `false`.
    Bool(bool),
    /// `none`: an absent optional value.
    None,
    /// A name: a variable, param, table or type.
    Name(Ident),
    /// `base.field`
    Field {
        /// The value whose field is read.
        base: Box<Expr>,
        /// The field.
        name: Ident,
    },
    /// `base[index]`: a table lookup or list element.
    Index {
        /// The table or list.
        base: Box<Expr>,
        /// The key or position.
        index: Box<Expr>,
    },
    /// `f(args)`
    Call {
        /// The function.
        callee: Ident,
        /// The arguments.
        args: Vec<Arg>,
    },
    /// `-x`, `not x`
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        operand: Box<Expr>,
    },
    /// `a op b`
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Where the operator is written.
        op_span: Span,
        /// Left side.
        lhs: Box<Expr>,
        /// Right side.
        rhs: Box<Expr>,
    },
    /// `if c { … } else { … }`
    If {
        /// The condition.
        cond: Box<Expr>,
        /// The branch taken when it holds.
        then: Block,
        /// The other branch: a block or another `if`.
        otherwise: Option<Box<Expr>>,
    },
    /// `match x { arms }`
    Match {
        /// The value matched.
        scrutinee: Box<Expr>,
        /// The arms.
        arms: Vec<MatchArm>,
        /// Arms that did not parse.
        broken: Vec<Span>,
    },
    /// `for item, index in source where filter { … }`
    For {
        /// The element variable.
        item: Ident,
        /// The 0-based position variable.
        index: Option<Ident>,
        /// The list iterated.
        source: Box<Expr>,
        /// Elements kept (with `item` bound).
        filter: Option<Box<Expr>>,
        /// What each element becomes.
        body: Block,
    },
    /// `[a, b, c]`
    List(Vec<Expr>),
    /// `{ … }`: a record built in place, or a block's value.
    Block(Block),
    /// An expression that did not parse (already reported).
    Error,
}
