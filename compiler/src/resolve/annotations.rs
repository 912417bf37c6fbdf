//! What annotations and format blocks may say, and the checks on them.
//!
//! A schema's `format` decides which annotations make sense: `@xml(…)` only in
//! an XML schema, `@csv(…)` only in a CSV one, `@json(…)` only in a JSON one.

use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::suggest::closest;
use crate::source::FileId;
use crate::syntax::ast::{Annotation, FormatDecl, Literal};
use std::collections::HashSet;

/// The wire format of a schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireFormat {
    /// JSON (the default when a schema has no `format`).
    Json,
    /// XML.
    Xml,
    /// CSV rows.
    Csv,
}

impl WireFormat {
    /// The format's name as written after `format`.
    pub fn name(self) -> &'static str {
        match self {
            WireFormat::Json => "json",
            WireFormat::Xml => "xml",
            WireFormat::Csv => "csv",
        }
    }
}

/// Known annotation names.
pub const ANNOTATIONS: &[&str] = &["required", "wire", "xml", "csv", "json", "doc_url", "metadata"];

/// Known `@wire(…)` forms.
pub const WIRE_FORMS: &[&str] = &[
    "string",
    "number",
    "odata_v2_date",
    "odata_v2_datetime_offset",
    "odata_v2_results",
    "iso_date",
    "iso_datetime",
    "epoch_millis",
    "yyyymmdd",
];

/// Settings each format block accepts.
fn settings_of(format: WireFormat) -> &'static [&'static str] {
    match format {
        WireFormat::Json => &["nulls"],
        WireFormat::Xml => &["root", "ns", "declaration"],
        WireFormat::Csv => &[
            "delimiter",
            "quote",
            "header",
            "encoding",
            "decimal_separator",
            "line_ending",
            "bom",
        ],
    }
}

/// What a schema's `format` declaration resolved to.
#[derive(Clone, Debug)]
pub struct FormatInfo {
    /// The format.
    pub format: WireFormat,
    /// Declared XML namespace prefixes (`default` included when declared).
    pub prefixes: HashSet<String>,
    /// JSON: absent optional fields are written as `null` (`nulls "write"`)
    /// rather than left out (the default, `nulls "omit"`).
    pub write_nulls: bool,
    /// XML: declared namespaces, `(prefix, uri)` in declaration order
    /// (`default` for the default namespace).
    pub namespaces: Vec<(String, String)>,
    /// XML: the root record's name (`root Invoice`).
    pub root: Option<String>,
    /// XML: write `<?xml version="1.0" encoding="UTF-8"?>` (default true).
    pub declaration: bool,
    /// CSV settings (defaults when not CSV).
    pub csv: CsvSettings,
}

/// The settings of a `format csv { … }` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvSettings {
    /// Field separator (default `,`).
    pub delimiter: char,
    /// Quote character (default `"`).
    pub quote: char,
    /// Write a header row (default true).
    pub header: bool,
    /// `windows-1252` instead of UTF-8.
    pub windows_1252: bool,
    /// Decimal separator (default `.`).
    pub decimal_separator: char,
    /// `\r\n` line ends (default `\n`).
    pub crlf: bool,
    /// Write a byte-order mark (UTF-8 only; default false).
    pub bom: bool,
}

impl Default for CsvSettings {
    fn default() -> Self {
        CsvSettings {
            delimiter: ',',
            quote: '"',
            header: true,
            windows_1252: false,
            decimal_separator: '.',
            crlf: false,
            bom: false,
        }
    }
}

impl Default for FormatInfo {
    fn default() -> Self {
        FormatInfo {
            format: WireFormat::Json,
            prefixes: HashSet::new(),
            write_nulls: false,
            namespaces: Vec::new(),
            root: None,
            declaration: true,
            csv: CsvSettings::default(),
        }
    }
}

/// Checks a `format` declaration and returns what it declares.
pub fn check_format(file: FileId, decl: &FormatDecl, out: &mut Vec<Diagnostic>) -> FormatInfo {
    let format = match decl.kind.name.as_str() {
        "json" => WireFormat::Json,
        "xml" => WireFormat::Xml,
        "csv" => WireFormat::Csv,
        other => {
            let mut diagnostic = Diagnostic::new(
                Code::BadFormat,
                file,
                decl.kind.span,
                format!("unknown format `{other}`"),
            )
            .with_label("expected `json`, `xml` or `csv`");
            if let Some(best) = closest(other, ["json", "xml", "csv"]) {
                diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
            }
            out.push(diagnostic);
            return FormatInfo::default();
        }
    };
    let mut info = FormatInfo {
        format,
        ..FormatInfo::default()
    };
    let known = settings_of(format);
    for setting in &decl.settings {
        let key = setting.key.name.as_str();
        if !known.contains(&key) {
            let mut diagnostic = Diagnostic::new(
                Code::BadFormat,
                file,
                setting.key.span,
                format!("`{}` is not a setting of `format {}`", key, decl.kind.name),
            )
            .with_label(format!("known settings: {}", known.join(", ")));
            if let Some(best) = closest(key, known.iter().copied()) {
                diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
            }
            out.push(diagnostic);
            continue;
        }
        let value_ok = match (key, &setting.value, &setting.qualifier) {
            ("ns", Literal::Str(uri), Some(prefix)) => {
                info.prefixes.insert(prefix.name.clone());
                info.namespaces.push((prefix.name.clone(), uri.clone()));
                true
            }
            ("ns", _, _) => false,
            ("root", Literal::Word(name), None) => {
                info.root = Some(name.clone());
                true
            }
            ("declaration" | "header" | "bom", Literal::Bool(flag), None) => {
                match key {
                    "declaration" => info.declaration = *flag,
                    "header" => info.csv.header = *flag,
                    _ => info.csv.bom = *flag,
                }
                true
            }
            ("nulls", Literal::Str(v), None) => {
                info.write_nulls = v == "write";
                matches!(v.as_str(), "omit" | "write")
            }
            ("encoding", Literal::Str(v), None) => {
                info.csv.windows_1252 = v.eq_ignore_ascii_case("windows-1252");
                matches!(v.to_ascii_lowercase().as_str(), "utf-8" | "windows-1252")
            }
            ("line_ending", Literal::Str(v), None) => {
                info.csv.crlf = v == "crlf";
                matches!(v.as_str(), "lf" | "crlf")
            }
            ("delimiter" | "quote" | "decimal_separator", Literal::Str(v), None) => {
                let mut chars = v.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        match key {
                            "delimiter" => info.csv.delimiter = c,
                            "quote" => info.csv.quote = c,
                            _ => info.csv.decimal_separator = c,
                        }
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if !value_ok {
            let expected = match key {
                "ns" => "a prefix and a URI: `ns cbc \"urn:…\"`",
                "root" => "the root element's record name",
                "declaration" | "header" | "bom" => "`true` or `false`",
                "nulls" => "\"omit\" or \"write\"",
                "encoding" => "\"utf-8\" or \"windows-1252\"",
                "line_ending" => "\"lf\" or \"crlf\"",
                _ => "a string of one character",
            };
            out.push(
                Diagnostic::new(Code::BadFormat, file, setting.span, format!("bad value for `{key}`"))
                    .with_label(format!("expected {expected}")),
            );
        }
    }
    info
}

/// Checks annotations on a record, field or variant of a schema in `format`.
pub fn check_annotations(file: FileId, annotations: &[Annotation], format: &FormatInfo, out: &mut Vec<Diagnostic>) {
    for annotation in annotations {
        check_one(file, annotation, format, out);
    }
}

fn bad(file: FileId, span: crate::span::Span, message: String, label: &str) -> Diagnostic {
    Diagnostic::new(Code::BadAnnotation, file, span, message).with_label(label)
}

fn check_one(file: FileId, annotation: &Annotation, format: &FormatInfo, out: &mut Vec<Diagnostic>) {
    let name = annotation.name.name.as_str();
    let needs_format = match name {
        "xml" => Some(WireFormat::Xml),
        "csv" => Some(WireFormat::Csv),
        "json" => Some(WireFormat::Json),
        _ => None,
    };
    if let Some(needed) = needs_format
        && needed != format.format
    {
        out.push(bad(
            file,
            annotation.span,
            format!("`@{name}` in a schema whose format is {}", format.format.name()),
            "this annotation only applies to that format",
        ));
        return;
    }
    match name {
        "required" => {
            if !annotation.args.is_empty() {
                out.push(bad(
                    file,
                    annotation.span,
                    "`@required` takes no arguments".to_owned(),
                    "remove the arguments",
                ));
            }
        }
        "doc_url" => {
            if !matches!(annotation.args.as_slice(), [arg] if arg.key.is_none() && matches!(arg.value, Literal::Str(_)))
            {
                out.push(bad(
                    file,
                    annotation.span,
                    "`@doc_url` takes one string".to_owned(),
                    "write `@doc_url(\"https://…\")`",
                ));
            }
        }
        "wire" => match annotation.args.as_slice() {
            [arg] if arg.key.is_none() => match &arg.value {
                Literal::Word(form) if WIRE_FORMS.contains(&form.as_str()) => {}
                Literal::Word(form) => {
                    let mut diagnostic = bad(file, arg.span, format!("unknown wire form `{form}`"), "not a wire form")
                        .with_note(format!("known forms: {}", WIRE_FORMS.join(", ")));
                    if let Some(best) = closest(form, WIRE_FORMS.iter().copied()) {
                        diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
                    }
                    out.push(diagnostic);
                }
                _ => out.push(bad(
                    file,
                    arg.span,
                    "`@wire` takes a form name".to_owned(),
                    "expected a name such as `string`",
                )),
            },
            _ => out.push(bad(
                file,
                annotation.span,
                "`@wire` takes exactly one form".to_owned(),
                "write `@wire(form)`",
            )),
        },
        "json" => check_keyed(
            file,
            annotation,
            &[("name", ArgKind::Str), ("absent", ArgKind::OneOf(&["omit", "null"]))],
            &[],
            format,
            out,
        ),
        "metadata" => {
            check_keyed(
                file,
                annotation,
                &[("source", ArgKind::Str), ("entity", ArgKind::Str)],
                &[],
                format,
                out,
            );
            for key in ["source", "entity"] {
                if !annotation
                    .args
                    .iter()
                    .any(|arg| arg.key.as_ref().is_some_and(|k| k.name == key))
                {
                    out.push(bad(
                        file,
                        annotation.span,
                        format!("`@metadata` needs `{key} = \"…\"`"),
                        "write `@metadata(source = \"file\", entity = \"name\")`",
                    ));
                }
            }
        }
        "csv" => check_keyed(
            file,
            annotation,
            &[("column", ArgKind::Str), ("format", ArgKind::Str)],
            &[],
            format,
            out,
        ),
        "xml" => check_keyed(
            file,
            annotation,
            &[
                ("name", ArgKind::Str),
                ("ns", ArgKind::Prefix),
                ("xsi_type", ArgKind::StrOrPrefixed),
                ("fixed", ArgKind::Str),
            ],
            &["attr", "text", "elem"],
            format,
            out,
        ),
        other => {
            let mut diagnostic = bad(
                file,
                annotation.name.span,
                format!("unknown annotation `@{other}`"),
                "not an annotation",
            )
            .with_note(format!("known annotations: @{}", ANNOTATIONS.join(", @")));
            if let Some(best) = closest(other, ANNOTATIONS.iter().copied()) {
                diagnostic = diagnostic.with_fix(format!("did you mean `@{best}`?"), best);
                if let Some(help) = diagnostic.help.as_mut()
                    && let Some(edit) = help.edit.as_mut()
                {
                    edit.span = annotation.name.span;
                }
            }
            out.push(diagnostic);
        }
    }
}

#[derive(Clone, Copy)]
enum ArgKind {
    Str,
    OneOf(&'static [&'static str]),
    Prefix,
    StrOrPrefixed,
}

fn check_keyed(
    file: FileId,
    annotation: &Annotation,
    keys: &[(&str, ArgKind)],
    flags: &[&str],
    format: &FormatInfo,
    out: &mut Vec<Diagnostic>,
) {
    let name = &annotation.name.name;
    for arg in &annotation.args {
        match &arg.key {
            None => match &arg.value {
                Literal::Word(word) if flags.contains(&word.as_str()) => {}
                Literal::Word(word) if name == "xml" => {
                    if !format.prefixes.contains(word) {
                        let mut diagnostic = Diagnostic::new(
                            Code::UndeclaredPrefix,
                            file,
                            arg.span,
                            format!("the namespace prefix `{word}` is not declared"),
                        )
                        .with_label("not declared in this schema's `format xml` block");
                        let candidates: Vec<&str> = format
                            .prefixes
                            .iter()
                            .map(String::as_str)
                            .chain(flags.iter().copied())
                            .collect();
                        if let Some(best) = closest(word, candidates) {
                            diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
                        } else {
                            diagnostic =
                                diagnostic.with_help(format!("declare it: `ns {word} \"uri\"` in the format block"));
                        }
                        out.push(diagnostic);
                    }
                }
                Literal::Str(_) if name == "csv" => {}
                _ => out.push(bad(
                    file,
                    arg.span,
                    format!("unexpected argument to `@{name}`"),
                    "not an argument this annotation takes",
                )),
            },
            Some(key) => {
                let Some((_, kind)) = keys.iter().find(|(k, _)| *k == key.name) else {
                    let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
                    let mut diagnostic = bad(
                        file,
                        key.span,
                        format!("`@{name}` has no argument `{}`", key.name),
                        "unknown argument",
                    )
                    .with_note(format!("known arguments: {}", names.join(", ")));
                    if let Some(best) = closest(&key.name, names.iter().copied()) {
                        diagnostic = diagnostic.with_fix(format!("did you mean `{best}`?"), best);
                    }
                    out.push(diagnostic);
                    continue;
                };
                let ok = match (kind, &arg.value) {
                    (ArgKind::Str, Literal::Str(_)) => true,
                    (ArgKind::OneOf(options), Literal::Str(v) | Literal::Word(v)) => options.contains(&v.as_str()),
                    (ArgKind::Prefix, Literal::Word(prefix)) => {
                        if !format.prefixes.contains(prefix) && prefix != "xsi" {
                            out.push(
                                Diagnostic::new(
                                    Code::UndeclaredPrefix,
                                    file,
                                    arg.span,
                                    format!("the namespace prefix `{prefix}` is not declared"),
                                )
                                .with_label("not declared in this schema's `format xml` block"),
                            );
                        }
                        true
                    }
                    (ArgKind::StrOrPrefixed, Literal::Str(_) | Literal::Word(_)) => true,
                    _ => false,
                };
                if !ok {
                    out.push(bad(
                        file,
                        arg.span,
                        format!("bad value for `{}` in `@{name}`", key.name),
                        match kind {
                            ArgKind::Str => "expected a string",
                            ArgKind::OneOf(_) => "not one of the allowed values",
                            ArgKind::Prefix => "expected a namespace prefix",
                            ArgKind::StrOrPrefixed => "expected a string or `prefix:name`",
                        },
                    ));
                }
            }
        }
    }
}
