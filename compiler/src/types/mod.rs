//! The type model: scalar types with their limits, records, enums, lists
//! and optionals.
//!
//! It sits beneath both the checker and the builtins, so neither imports the
//! other's internals. Records and enums live in one [`TypeStore`] per
//! workspace and are referred to by id.

use crate::source::FileId;
use crate::span::Span;
use crate::syntax::ast::{Annotation, Doc};
use std::collections::HashMap;
use std::fmt;

/// Identifies a record in a [`TypeStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u32);

/// Identifies an enum in a [`TypeStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnumId(pub u32);

/// Identifies a loaded module in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(pub u32);

/// A type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// Text; `max_len` in Unicode scalar values for `String(n)`.
    String {
        /// The maximum length, if any.
        max_len: Option<u32>,
    },
    /// A whole number (64-bit).
    Int,
    /// An exact decimal; `scale` places after the point at most, `precision`
    /// digits in all.
    Decimal {
        /// Total digits, for `Decimal(p, s)`.
        precision: Option<u32>,
        /// Places after the point, for `Decimal(s)` and `Decimal(p, s)`.
        scale: Option<u32>,
    },
    /// `true` or `false`.
    Bool,
    /// A calendar date.
    Date,
    /// A date and time with offset.
    DateTime,
    /// An ISO 4217 currency code.
    Currency,
    /// An ISO 3166-1 alpha-2 country code.
    Country,
    /// A record.
    Record(RecordId),
    /// An enum.
    Enum(EnumId),
    /// A list.
    List(Box<Ty>),
    /// A value that may be absent.
    Optional(Box<Ty>),
    /// One group made by `group_by`: its `key` (first type) and its
    /// `items` (a list of the second type).
    Group(Box<Ty>, Box<Ty>),
    /// The type of the literal `none`: absent, assignable to any optional.
    None,
}

/// The built-in scalar type names, for resolution and suggestions.
pub const SCALAR_NAMES: &[&str] = &[
    "String", "Int", "Decimal", "Bool", "Date", "DateTime", "Currency", "Country",
];

impl Ty {
    /// The type without one level of `?`.
    pub fn strip_optional(&self) -> &Ty {
        match self {
            Ty::Optional(inner) => inner,
            other => other,
        }
    }

    /// Whether the type is `T?` (or `none`).
    pub fn is_optional(&self) -> bool {
        matches!(self, Ty::Optional(_) | Ty::None)
    }

    /// `T?` of this type (unchanged when already optional).
    pub fn optional(self) -> Ty {
        match self {
            Ty::Optional(_) | Ty::None => self,
            other => Ty::Optional(Box::new(other)),
        }
    }

    /// Whether the type is a number (`Int` or `Decimal`).
    pub fn is_number(&self) -> bool {
        matches!(self, Ty::Int | Ty::Decimal { .. })
    }

    /// Whether the type is text (`String`, or a code: `Currency`,
    /// `Country`).
    pub fn is_text(&self) -> bool {
        matches!(self, Ty::String { .. } | Ty::Currency | Ty::Country)
    }

    /// The record behind this type, looking through `?`.
    pub fn as_record(&self) -> Option<RecordId> {
        match self.strip_optional() {
            Ty::Record(id) => Some(*id),
            _ => None,
        }
    }

    /// The element type of a list, looking through `?`.
    pub fn element(&self) -> Option<&Ty> {
        match self.strip_optional() {
            Ty::List(inner) => Some(inner),
            _ => None,
        }
    }
}

/// One field of a record.
#[derive(Clone, Debug)]
pub struct FieldDef {
    /// Its name.
    pub name: String,
    /// Its type (`None` when the written type did not resolve).
    pub ty: Option<Ty>,
    /// `@required`: the ERP needs it, so every mapping must assign it.
    pub required: bool,
    /// Its annotations as written.
    pub annotations: Vec<Annotation>,
    /// Its documentation.
    pub doc: Option<Doc>,
    /// Where it is declared.
    pub file: FileId,
    /// Where in that file.
    pub span: Span,
    /// The module of the `extend record` that added it, if it was added.
    pub extension: Option<ModuleId>,
}

/// A record type.
#[derive(Clone, Debug)]
pub struct RecordDef {
    /// Its name.
    pub name: String,
    /// The module declaring it.
    pub module: ModuleId,
    /// The module's path, for messages (`canonical.invoice`).
    pub module_path: String,
    /// Its fields, in declaration order (extensions after).
    pub fields: Vec<FieldDef>,
    /// Its annotations.
    pub annotations: Vec<Annotation>,
    /// Its documentation.
    pub doc: Option<Doc>,
    /// Where it is declared.
    pub file: FileId,
    /// Where in that file (the name).
    pub span: Span,
    /// Whether some of its fields did not parse: lookups that fail may be
    /// false alarms and are not reported.
    pub incomplete: bool,
    /// Field positions by name, kept by [`RecordDef::add_fields`].
    pub field_index: HashMap<String, usize>,
}

impl RecordDef {
    /// Appends fields (declared, or added by `extend record`), keeping the
    /// name index; names must be new (the resolver rejects duplicates).
    pub fn add_fields(&mut self, fields: Vec<FieldDef>) {
        for field in fields {
            self.field_index.entry(field.name.clone()).or_insert(self.fields.len());
            self.fields.push(field);
        }
    }

    /// The field named `name`, extensions included.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.field_index.get(name).and_then(|index| self.fields.get(*index))
    }
}

/// One enum variant.
#[derive(Clone, Debug)]
pub struct VariantDef {
    /// Its name.
    pub name: String,
    /// Its documentation.
    pub doc: Option<Doc>,
    /// Where it is declared.
    pub span: Span,
}

/// An enum type.
#[derive(Clone, Debug)]
pub struct EnumDef {
    /// Its name.
    pub name: String,
    /// The module declaring it.
    pub module: ModuleId,
    /// The module's path.
    pub module_path: String,
    /// Its variants.
    pub variants: Vec<VariantDef>,
    /// Its documentation.
    pub doc: Option<Doc>,
    /// Where it is declared.
    pub file: FileId,
    /// Where in that file (the name).
    pub span: Span,
    /// Whether some variants did not parse.
    pub incomplete: bool,
}

/// Every record and enum of a workspace.
#[derive(Clone, Debug, Default)]
pub struct TypeStore {
    /// Records by id.
    pub records: Vec<RecordDef>,
    /// Enums by id.
    pub enums: Vec<EnumDef>,
}

impl TypeStore {
    /// The record behind an id (ids come only from this store).
    pub fn record(&self, id: RecordId) -> Option<&RecordDef> {
        self.records.get(id.0 as usize)
    }

    /// The enum behind an id.
    pub fn enumeration(&self, id: EnumId) -> Option<&EnumDef> {
        self.enums.get(id.0 as usize)
    }

    /// Adds a record.
    pub fn add_record(&mut self, record: RecordDef) -> RecordId {
        self.records.push(record);
        RecordId(u32::try_from(self.records.len() - 1).unwrap_or(u32::MAX))
    }

    /// Adds an enum.
    pub fn add_enum(&mut self, def: EnumDef) -> EnumId {
        self.enums.push(def);
        EnumId(u32::try_from(self.enums.len() - 1).unwrap_or(u32::MAX))
    }

    /// A field of a record as seen from a file whose reachable modules are
    /// `visible` (extensions from other modules are not seen).
    pub fn field<'a>(&'a self, id: RecordId, name: &str, visible: &dyn Fn(ModuleId) -> bool) -> Option<&'a FieldDef> {
        self.record(id)?
            .field(name)
            .filter(|field| field.extension.is_none_or(visible))
    }

    /// The field names of a record visible from a file, for suggestions.
    pub fn field_names(&self, id: RecordId, visible: &dyn Fn(ModuleId) -> bool) -> Vec<&str> {
        self.record(id)
            .map(|record| {
                record
                    .fields
                    .iter()
                    .filter(|field| field.extension.is_none_or(visible))
                    .map(|field| field.name.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A type as an analyst writes it.
    pub fn display<'a>(&'a self, ty: &'a Ty) -> TyDisplay<'a> {
        TyDisplay { store: self, ty }
    }
}

/// Displays a type with record and enum names.
pub struct TyDisplay<'a> {
    store: &'a TypeStore,
    ty: &'a Ty,
}

impl fmt::Display for TyDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ty {
            Ty::String { max_len: Some(n) } => write!(f, "String({n})"),
            Ty::String { max_len: None } => f.write_str("String"),
            Ty::Int => f.write_str("Int"),
            Ty::Decimal {
                precision: Some(p),
                scale: Some(s),
            } => write!(f, "Decimal({p}, {s})"),
            Ty::Decimal { scale: Some(s), .. } => write!(f, "Decimal({s})"),
            Ty::Decimal { .. } => f.write_str("Decimal"),
            Ty::Bool => f.write_str("Bool"),
            Ty::Date => f.write_str("Date"),
            Ty::DateTime => f.write_str("DateTime"),
            Ty::Currency => f.write_str("Currency"),
            Ty::Country => f.write_str("Country"),
            Ty::Record(id) => match self.store.record(*id) {
                Some(record) => f.write_str(&record.name),
                None => f.write_str("<record>"),
            },
            Ty::Enum(id) => match self.store.enumeration(*id) {
                Some(def) => f.write_str(&def.name),
                None => f.write_str("<enum>"),
            },
            Ty::List(inner) => write!(f, "[{}]", self.store.display(inner)),
            Ty::Optional(inner) => write!(f, "{}?", self.store.display(inner)),
            Ty::Group(key, item) => write!(f, "Group({}, {})", self.store.display(key), self.store.display(item)),
            Ty::None => f.write_str("none"),
        }
    }
}
