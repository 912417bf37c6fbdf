//! The registry of diagnostic codes: one place, one line each.
//!
//! A code is never reused or renumbered: when a check goes away its code is
//! retired, not given to another. Each code carries its long explanation for
//! `mapc explain`, with a wrong and a right example; a test compiles every
//! example and checks that the wrong one yields exactly this code and the
//! right one is clean.
//!
//! Numbering: `E00xx` reading and parsing, `E01xx` names and modules,
//! `E02xx` types and the language's rules, `W0xxx` warnings.

use super::Severity;

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $title:literal, $explanation:literal;)*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(
                #[doc = $title]
                $variant,
            )*
        }

        impl Code {
            /// Every registered code, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as written in output, e.g. `E0101`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// Whether this code is an error or a warning.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// A short title.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            /// The long explanation shown by `mapc explain`, in Markdown with
            /// a wrong and a right example.
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$variant => $explanation,)* }
            }
        }
    };
}

impl Code {
    /// Looks a code up by its written form (`E0101`, case-insensitive).
    pub fn parse(text: &str) -> Option<Code> {
        let text = text.trim();
        Code::ALL
            .iter()
            .copied()
            .find(|code| code.as_str().eq_ignore_ascii_case(text))
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

codes! {
    Syntax = "E0001", Error, "syntax error",
r#"The parser met something it did not expect. The message says what it
expected at that spot, in words; the rest of the file is still checked, so
fix the first error and look again.

Wrong:

```map
mapping m(x: canonical.customer.Customer) -> canonical.customer.Customer {
  id = x.id +
}
```

Right:

```map
use canonical.customer.Customer

mapping m(x: Customer) -> Customer {
  id = x.id
  name = x.name
}
```
"#;

    UnterminatedString = "E0002", Error, "unterminated string",
r#"A string literal starts with `"` and must end with `"` on the same line.
Strings cannot span lines: write `\n` for a line break.

Wrong:

```map
param prefix: String = "INV-
```

Right:

```map
param prefix: String = "INV-"
```
"#;

    UnterminatedComment = "E0003", Error, "unterminated block comment",
r#"A block comment starts with `/*` and must end with `*/`. Block comments do
not nest: the first `*/` ends the comment.

Wrong:

```map
/* the tenant's company code
param company_code: String(4)
```

Right:

```map
/* the tenant's company code */
param company_code: String(4)
```
"#;

    TooDeep = "E0004", Error, "nesting too deep",
r#"Brackets, braces, parentheses and string interpolations may nest at most 256
levels deep, and one expression may not be more than 1,024 operations deep.
Deeper code is not something a person writes; the limit keeps the compiler
and the editor safe from files that would exhaust their stack.

Wrong:

```text
param x: Int = ((((((((( … 300 levels … )))))))))
```

Right:

```map
param x: Int = (1 + 2) * 3
```
"#;

    InvalidUtf8 = "E0005", Error, "file is not valid UTF-8",
r#"Mapping and schema files are read as UTF-8. The file holds bytes that are
not UTF-8, most often because an editor saved it as Windows-1252 or
ISO-8859-1. The position of the first bad byte is shown; save the file as
UTF-8.

Wrong:

```text
param city: String = "M\xFCnchen"     (the byte 0xFC, Latin-1 "ü")
```

Right:

```map
param city: String = "München"
```
"#;

    UnbalancedDelimiter = "E0006", Error, "unbalanced delimiter",
r#"Every `(`, `[` and `{` needs its closing `)`, `]` or `}`, in the right
order. The diagnostic points at the delimiter that is never closed, or at
the closing one that has nothing to close. A top-level keyword (`mapping`,
`record`, …) at the start of a line ends any block still open, so one
missing `}` does not swallow the rest of the file.

Wrong:

```map
use canonical.customer.Customer

mapping m(x: Customer) -> Customer {
  id = x.id
  name = x.name
```

Right:

```map
use canonical.customer.Customer

mapping m(x: Customer) -> Customer {
  id = x.id
  name = x.name
}
```
"#;

    InvalidEscape = "E0007", Error, "invalid escape in a string",
r#"Inside a string, `\` starts an escape. The valid ones are `\"`, `\\`,
`\n`, `\r`, `\t`, `\0`, `\{`, `\}` and `\u{…}` with one to six hex digits
naming a Unicode scalar value. `{` starts an interpolation, so write `\{`
for a literal brace.

Wrong:

```map
param path: String = "C:\temp\x"
```

Right:

```map
param path: String = "C:\\temp\\x"
```
"#;

    FileTooLarge = "E0008", Error, "file too large",
r#"A mapping or schema file may be at most 4 MiB. Such files are written by
people; a larger file is almost always generated by mistake or is not a
mapping at all. Split large schemas into several modules.

Wrong:

```text
a 10 MB file named huge.map
```

Right:

```text
several files, each under 4 MiB, joined with `use`
```
"#;

    EmptyFile = "E0009", Error, "empty file",
r#"The file holds no item: it is empty, or holds only comments and blank
lines. A `.schema` file starts with `schema NAME`; a `.map` file holds at
least one `param`, `table`, `mapping` or `fn`. An empty file is usually a
save that went wrong, so it is an error rather than silently accepted.

Wrong:

```text
(a file of zero bytes)
```

Right:

```map
param company_code: String(4)
```
"#;

    ChainedComparison = "E0010", Error, "comparisons cannot be chained",
r#"`a < b < c` does not mean "b lies between a and c" here, and a comparison
yields a `Bool` that cannot be compared with a number. Join two comparisons
with `and`.

Wrong:

```map
param low: Int = 1
param high: Int = 9
param ok: Bool = low < 5 < high
```

Right:

```map
param low: Int = 1
param high: Int = 9
param ok: Bool = low < 5 and 5 < high
```
"#;

    NumberOutOfRange = "E0011", Error, "number out of range",
r#"A number in a type, such as the length in `String(n)` or the scale in
`Decimal(s)`, must be a whole number between 0 and 1,000,000; decimal
precision and scale at most 28.

Wrong:

```schema
schema examples.wrong

record R {
  name: String(99999999999)
}
```

Right:

```schema
schema examples.right

record R {
  name: String(80)
}
```
"#;

    MalformedUse = "E0012", Error, "malformed `use`",
r#"A `use` names a module and the items to take from it:
`use canonical.invoice.Invoice`, or several at once with
`use canonical.invoice.{Invoice, TaxCategory}`. A path that ends in `.`
needs the braces after it; a single name cannot import a whole module.

Wrong:

```map
use canonical.invoice.
```

Right:

```map
use canonical.invoice.{Invoice, TaxCategory}
```
"#;

    UnknownModule = "E0101", Error, "unknown module",
r#"A module path names a `.schema` file: `sap.s4.supplier_invoice` is
`sap/s4/supplier_invoice.schema`, looked up in the standard library embedded
in `mapc` (or the folder given with `--stdlib`) and in the project root, the
folder holding the nearest `Mapwright.toml`. The closest known module is
suggested.

Wrong:

```map
use canonical.invoices.Invoice
```

Right:

```map
use canonical.invoice.Invoice
```
"#;

    UnknownType = "E0102", Error, "unknown type",
r#"A type name must be a built-in type (`String`, `Int`, `Decimal`, `Bool`,
`Date`, `DateTime`, `Currency`, `Country`), a record or enum of this file,
one brought in by `use`, or a full path such as `canonical.invoice.Party`.
The closest known name is suggested.

Wrong:

```map
use canonical.invoice.Invoise
```

Right:

```map
use canonical.invoice.Invoice
```
"#;

    UnknownField = "E0103", Error, "unknown field",
r#"The record has no field of that name. Field names are case-sensitive and
are the schema's own; the closest field is suggested.

Wrong:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.identifier
  name = c.name
}
```

Right:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.name
}
```
"#;

    UnknownName = "E0104", Error, "unknown name",
r#"A name in an expression must be a `let`, a mapping or function parameter,
a loop or lambda variable, `it` inside a `where` condition, a `param`, a
`table`, or an enum type (for `Type.variant`). The closest known name is
suggested.

Wrong:

```map
param company_code: String(4)
param label: String = compnay_code
```

Right:

```map
param company_code: String(4)
param label: String = company_code
```
"#;

    Duplicate = "E0105", Error, "duplicate definition",
r#"Each name may be defined once in its scope: items in a file (including
names brought in by `use`), fields of a record, variants of an enum, `let`s
in one block, parameters of one mapping. The first definition is shown.

Wrong:

```map
param company_code: String(4)
param company_code: String(4)
```

Right:

```map
param company_code: String(4)
param default_company_code: String(4)
```
"#;

    CyclicUse = "E0106", Error, "cyclic `use`",
r#"Modules may not use each other in a circle (`a` uses `b`, `b` uses `a`):
a module's types must be complete before the modules that use it. Move the
shared types into a third module that both use.

Wrong:

```text
// a.schema
schema a
use b.B
record A { b: B }

// b.schema
schema b
use a.A
record B { a: A? }
```

Right:

```text
// common.schema holds A and B; a and b both use common.
```
"#;

    UnknownTargetField = "E0107", Error, "unknown target field",
r#"An assignment names a field the target record does not have. Target field
names are the ERP's own, exactly as the target schema spells them; the
closest field is suggested. A tenant's custom fields must first be declared
with `extend record`.

Wrong:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  nmae = c.name
}
```

Right:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.name
}
```
"#;

    AssignedTwice = "E0108", Error, "target field assigned twice",
r#"A target field may be assigned once on each path through a mapping. Two
assignments to the same field in one block are a mistake: the first would be
silently lost. Assigning it in both branches of an `if` is fine.

Wrong:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.name
  name = c.id
}
```

Right:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = if c.name == "" { c.id } else { c.name }
}
```
"#;

    UnknownVariant = "E0109", Error, "unknown enum variant",
r#"The enum has no variant of that name. Variants are case-sensitive; the
closest one is suggested.

Wrong:

```map
use canonical.invoice.TaxCategory

table tax_code: TaxCategory -> String {
  standard => "V1"
  reduced => "V2"
  zero => "V0"
  exempted => "V0"
  reverse_charge => "R1"
  export => "V0"
  intra_community => "V0"
  not_subject => "V0"
}
```

Right:

```map
use canonical.invoice.TaxCategory

table tax_code: TaxCategory -> String {
  standard => "V1"
  reduced => "V2"
  zero => "V0"
  exempt => "V0"
  reverse_charge => "R1"
  export => "V0"
  intra_community => "V0"
  not_subject => "V0"
}
```
"#;

    UnknownFunction = "E0110", Error, "unknown function",
r#"A call names neither a builtin function nor a `fn` of this file. The
closest known function is suggested. Tables are looked up with brackets,
`tax_code[x]`, not called.

Wrong:

```map
param name: String = upcase("acme")
```

Right:

```map
param name: String = upper("acme")
```
"#;

    BadAnnotation = "E0111", Error, "unknown or malformed annotation",
r#"Annotations say how a field is written on the wire and what the ERP
requires. The known ones are `@required`, `@wire(form)`, `@xml(…)`,
`@csv(…)`, `@json(…)`, `@doc_url("…")` and `@metadata(source = "…", entity = "…")`; each takes the arguments listed
in the language tour. The closest known annotation or argument is
suggested.

Wrong:

```schema
schema examples.wrong

record R {
  id: String @requird
}
```

Right:

```schema
schema examples.right

record R {
  id: String @required
}
```
"#;

    SchemaName = "E0112", Error, "schema name does not match the file",
r#"A `.schema` file starts with `schema NAME`, and NAME is its path from the
project root (or stdlib root) with `/` written as `.`: the file
`sap/s4/supplier_invoice.schema` declares `schema sap.s4.supplier_invoice`.
That way a `use` path always says which file it reads.

Wrong:

```text
// file canonical/invoice.schema
schema canonical.invoices
```

Right:

```text
// file canonical/invoice.schema
schema canonical.invoice
```
"#;

    MisplacedItem = "E0113", Error, "item not allowed in this kind of file",
r#"`.schema` files hold types: `schema`, `format`, `use`, `enum`, `record` and
`extend record`. `.map` files hold mappings: `use`, `param`, `table`,
`mapping`, `fn` and `extend record`. A `schema` or `format` declaration
appears once, before the types.

Wrong:

```map
record Local { id: String }
```

Right:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.name
}
```
"#;

    MissingSchemaDecl = "E0114", Error, "missing `schema` declaration",
r#"A `.schema` file must begin with `schema NAME` (after comments), so that
readers and tools know which module it is.

Wrong:

```schema
record R { id: String }
```

Right:

```schema
schema examples.right

record R { id: String }
```
"#;

    BadTypeArguments = "E0115", Error, "wrong type arguments",
r#"Only some types take arguments: `String(n)` (maximum length in
characters), `Decimal(s)` (scale: places after the point) and
`Decimal(p, s)` (precision: total digits, and scale, with s ≤ p). `Int`,
`Bool`, `Date`, `DateTime`, `Currency`, `Country`, records and enums take
none.

Wrong:

```schema
schema examples.wrong

record R {
  amount: Decimal(2, 4)
  count: Int(3)
}
```

Right:

```schema
schema examples.right

record R {
  amount: Decimal(15, 2)
  count: Int
}
```
"#;

    BadFormat = "E0116", Error, "unknown format or format setting",
r#"`format` says how a target schema's records are written: `json`, `xml`
or `csv`. Its block takes settings of that format: for `xml`, `root NAME`,
`ns PREFIX "uri"` (`default` for the default namespace) and `declaration
true|false`; for `csv`, `delimiter`, `quote`, `header`, `encoding`,
`decimal_separator`, `line_ending` and `bom`; for `json`, `nulls
"omit"|"write"`.

Wrong:

```schema
schema examples.wrong
format csv { delimeter ";" }
```

Right:

```schema
schema examples.right
format csv { delimiter ";" header true }
```
"#;

    UndeclaredPrefix = "E0117", Error, "undeclared XML namespace prefix",
r#"`@xml(prefix)` puts an element in a namespace declared in the schema's
`format xml { ns prefix "uri" }` block. The prefix is not declared there.

Wrong:

```schema
schema examples.wrong
format xml {
  root Invoice
  ns cbc "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
}

record Invoice {
  ID: String @xml(cbx)
}
```

Right:

```schema
schema examples.right
format xml {
  root Invoice
  ns cbc "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
}

record Invoice {
  ID: String @xml(cbc)
}
```
"#;

    NotARecordType = "E0118", Error, "a mapping's input and output must be records",
r#"A mapping turns one record into another: its parameter and its result
type are records from a schema, such as `canonical.invoice.Invoice` and
`sap.s4.supplier_invoice.SupplierInvoice`.

Wrong:

```map
mapping m(id: String) -> String {
  id
}
```

Right:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.name
}
```
"#;

    NotARecordField = "E0119", Error, "a block needs a record field",
r#"`Field { … }` and `Field = { … }` build a record, so `Field` must be a
record (or a list of records, with `for`). To set a plain value, assign it
with `=`.

Wrong:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id { value = c.id }
  name = c.name
}
```

Right:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.name
}
```
"#;

    MissingRequired = "E0201", Error, "required target fields not assigned",
r#"A target field marked `@required` (the ERP rejects the document without
it) must be assigned on every path through the mapping: in the block that
builds the record, or in every branch of an `if`/`match` there. The error
lists the missing fields and points at a branch that leaves one out; the
suggested fix inserts them with placeholder values to fill in.

Wrong:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
}
```

Right:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.name
}
```
"#;

    OptionalIntoRequired = "E0202", Error, "a value that may be absent where one is needed",
r#"A source field declared `T?` may be absent. It cannot flow into a target
field (or operator, or function argument) that needs a value unless the
mapping says what happens when it is absent: `x ?? default`, an `if` or
`match`, or `required(x, "message")`, which fails the record with that
message (and sends the event to the dead-letter queue). Optional into
optional is fine: the target is then omitted.

Wrong:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.email
}
```

Right:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.email ?? c.name
}
```
"#;

    ScaleMismatch = "E0203", Error, "a decimal may have more places than its target takes",
r#"Decimals carry their scale: a literal `12.50` has 2 places, a
`Decimal(s)` field at most s, `a + b` the larger of the two, `a * b` the
sum, and `a / b` or `parse_decimal(…)` an unknown number. A value that may
have more places than a `Decimal(s)` target must be rounded explicitly, so
no amount is ever rounded silently.

Wrong:

```map
param rate: Decimal(2) = 19.125
```

Right:

```map
param rate: Decimal(2) = round(19.125, 2)
```
"#;

    LiteralTooLong = "E0204", Error, "text literal longer than its target",
r#"`String(n)` takes at most n characters (Unicode scalar values). A literal
that is longer can never be written; dynamic values are checked when the
mapping runs, with the path of the field in the error.

Wrong:

```map
param company_code: String(4) = "ACME1"
```

Right:

```map
param company_code: String(4) = "ACME"
```
"#;

    NonExhaustiveTable = "E0205", Error, "a table does not cover every variant",
r#"A value table keyed by an enum must have an entry for every variant (or
a `_ => …` entry for the rest): a lookup of a missing key would fail at run
time. The suggested fix adds the missing entries.

Wrong:

```map
use canonical.invoice.TaxCategory

table tax_code: TaxCategory -> String {
  standard => "V1"
  reduced => "V2"
}
```

Right:

```map
use canonical.invoice.TaxCategory

table tax_code: TaxCategory -> String {
  standard => "V1"
  reduced => "V2"
  _ => "V0"
}
```
"#;

    NonExhaustiveMatch = "E0206", Error, "a `match` does not cover every case",
r#"A `match` on an enum needs an arm for every variant (or `_`); a `match`
on text or numbers needs a `_` arm; a `match` on a value that may be
absent must also cover `none`. Arms with an `if` guard do not count, since
the guard may not hold.

Wrong:

```map
use canonical.invoice.TaxCategory

param category: TaxCategory = TaxCategory.standard
param code: String = match category {
  standard => "V1"
  reduced => "V2"
}
```

Right:

```map
use canonical.invoice.TaxCategory

param category: TaxCategory = TaxCategory.standard
param code: String = match category {
  standard => "V1"
  reduced => "V2"
  _ => "V0"
}
```
"#;

    TypeMismatch = "E0207", Error, "type mismatch",
r#"The value's type is not the one needed here. There are no hidden
conversions: text becomes a number or date only through a function that can
fail (`parse_int`, `parse_decimal`, `parse_date`), and numbers, dates and
enums become text only through `text(…)` or `format_date(…)`. An `Int`
may go where a `Decimal` is expected.

Wrong:

```map
param count: Int = "3"
```

Right:

```map
param count: Int = parse_int("3")
```
"#;

    Impure = "E0208", Error, "impure function",
r#"Mappings are pure: the same event, params and tables always give the same
payload, which is what makes retries, replays and golden tests safe. So
there is no `now()`, `today()`, `random()`, `uuid()` or I/O: time comes
from the event, settings from params, lookups from tables.

Wrong:

```map
param stamp: String = text(now())
```

Right:

```map
param stamp: String = "2025-01-01"
```
"#;

    WrongArgumentCount = "E0209", Error, "wrong number of arguments",
r#"A call passes fewer or more arguments than the function takes. The note
shows the function's signature.

Wrong:

```map
param item: String = pad_left("7", 3)
```

Right:

```map
param item: String = pad_left("7", 3, "0")
```
"#;

    BlockShape = "E0210", Error, "a block of the wrong shape",
r#"A block `{ … }` either builds a record — its statements assign fields —
or yields a value — `let`s, then the value as its last statement. A block
that must yield a value cannot end with a `let` or assign fields, and a
block that builds a record cannot hold a bare value.

Wrong:

```map
param label: String = {
  let x = "a"
}
```

Right:

```map
param label: String = {
  let x = "a"
  x
}
```
"#;

    BadCode = "E0211", Error, "not a currency or country code",
r#"A `Currency` is an ISO 4217 code (three upper-case letters, `EUR`) and a
`Country` an ISO 3166-1 alpha-2 code (two, `DE`). A literal that cannot be
one is rejected; text from the event is checked when the mapping runs.

Wrong:

```map
param currency: Currency = "EURO"
```

Right:

```map
param currency: Currency = "EUR"
```
"#;

    ByteOrderMark = "W0001", Warning, "byte-order mark at the start of the file",
r#"The file starts with a UTF-8 byte-order mark (EF BB BF), which some
Windows editors write. It is ignored and everything else is checked as
usual, but other tools (diff, grep, some ERPs' upload forms) trip over it:
save the file as UTF-8 without BOM. `mapc check --deny-warnings` makes this
an error.

Wrong:

```text
<EF BB BF>param company_code: String(4)
```

Right:

```map
param company_code: String(4)
```
"#;

    NeverAbsent = "W0002", Warning, "`??` on a value that is never absent",
r#"The left side of `??` always has a value, so the default after it is
never used. Usually the field was expected to be optional; check the
schema, and remove the `?? …`.

Wrong:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.name ?? "unknown"
}
```

Right:

```map
use canonical.customer.Customer

mapping m(c: Customer) -> Customer {
  id = c.id
  name = c.name
}
```
"#;
}
