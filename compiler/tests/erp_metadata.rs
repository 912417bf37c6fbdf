//! The standard library's ERP target schemas against the real metadata in
//! `shared/data/erp/` (found through `MAPWRIGHT_SHARED_DATA`, or at
//! `../shared/data/erp` from the repository root).
//!
//! Every record with `@metadata(source = "…", entity = "…")` is compared
//! with the entity it names: each field must exist there, must not be one
//! the ERP assigns itself, and must not exceed a length, precision or scale
//! the metadata declares. Understood sources: SAP OData EDMX (`.edmx`),
//! ERPNext DocType definitions (`.json`), Business Central API reference
//! pages (`.md`: their property and navigation tables) and XML Schemas (`.xsd`: element
//! names, their order in the sequence, cardinality, and the elements the
//! XSD requires).
//!
//! Without the data the test says so loudly and passes, unless
//! `MAPWRIGHT_REQUIRE_SHARED_DATA=1` (set by `.ci/run`), when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::{Entity, Property, attributes, bc_entity, doctype_entity, edmx_entity, metadata_of, shared_data};
use mapwright_compiler::resolve::{EmbeddedStdlib, Workspace};
use mapwright_compiler::syntax::ast::Literal;
use mapwright_compiler::types::{RecordDef, Ty, TypeStore};
use std::collections::HashMap;
use std::path::Path;

/// Checks one field against its property; returns the problems.
fn check_field(store: &TypeStore, record: &str, field: &str, ty: &Ty, property: &Property) -> Vec<String> {
    let mut problems = Vec::new();
    let at = format!("{record}.{field}");
    if property.server_assigned {
        problems.push(format!(
            "{at}: the ERP assigns this field itself (read-only); leave it out"
        ));
    }
    let ty = ty.strip_optional();
    if property.navigation {
        let is_records = matches!(ty, Ty::List(inner) if matches!(inner.strip_optional(), Ty::Record(_)))
            || matches!(ty, Ty::Record(_));
        if !is_records {
            problems.push(format!(
                "{at}: a navigation/child table must be a record or list of records"
            ));
        }
        return problems;
    }
    let kind = property.kind.as_str();
    let text_kind = matches!(
        kind,
        "Edm.String"
            | "Data"
            | "Link"
            | "Select"
            | "Small Text"
            | "Text"
            | "Long Text"
            | "Text Editor"
            | "Dynamic Link"
    );
    let number_kind = matches!(kind, "Edm.Decimal" | "Edm.Double" | "Currency" | "Float" | "Percent");
    let int_kind = matches!(kind, "Edm.Int16" | "Edm.Int32" | "Edm.Int64" | "Edm.Byte" | "Int");
    let ok_type = match ty {
        Ty::String { max_len } => {
            if let (Some(limit), None) = (property.max_length, max_len) {
                problems.push(format!(
                    "{at}: the metadata limits it to {limit} characters; declare `String({limit})` or less"
                ));
            }
            if let (Some(limit), Some(n)) = (property.max_length, max_len)
                && n > &limit
            {
                problems.push(format!("{at}: `String({n})` exceeds the metadata's MaxLength {limit}"));
            }
            text_kind
        }
        Ty::Currency | Ty::Country | Ty::Enum(_) => {
            let needed = match ty {
                Ty::Currency => 3,
                Ty::Country => 2,
                _ => 1,
            };
            if let Some(limit) = property.max_length
                && needed > limit
            {
                problems.push(format!("{at}: a code of {needed} characters exceeds MaxLength {limit}"));
            }
            text_kind
        }
        Ty::Decimal { precision, scale } => {
            if let (Some(limit), Some(s)) = (property.scale, scale)
                && s > &limit
            {
                problems.push(format!("{at}: scale {s} exceeds the metadata's Scale {limit}"));
            }
            if let (Some(limit), Some(p)) = (property.precision, precision)
                && p > &limit
            {
                problems.push(format!("{at}: precision {p} exceeds the metadata's Precision {limit}"));
            }
            number_kind
        }
        Ty::Int => int_kind || (kind == "Edm.Decimal" && property.scale == Some(0)),
        Ty::Bool => matches!(kind, "Edm.Boolean" | "Check"),
        Ty::Date => matches!(kind, "Edm.DateTime" | "Date"),
        Ty::DateTime => matches!(kind, "Edm.DateTime" | "Edm.DateTimeOffset" | "Datetime"),
        _ => false,
    };
    if !ok_type {
        let shown = store.display(ty).to_string();
        problems.push(format!("{at}: `{shown}` does not fit the metadata's type `{kind}`"));
    }
    problems
}

/// Checks every annotated record of a workspace; returns (records checked,
/// problems).
fn cross_check<L: mapwright_compiler::resolve::ModuleLoader>(
    workspace: &Workspace<L>,
    root: &Path,
) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut cache: HashMap<(String, String), Option<Entity>> = HashMap::new();
    for record in &workspace.types.records {
        let Some((source, entity)) = metadata_of(record) else {
            continue;
        };
        checked += 1;
        if source.ends_with(".xsd") {
            let sequence = std::fs::read_to_string(root.join(&source))
                .ok()
                .and_then(|text| xsd_sequence(&text, &entity));
            match sequence {
                Some(sequence) => problems.extend(check_xsd_record(record, &entity, &sequence)),
                None => problems.push(format!(
                    "{}: cannot read complex type `{entity}` from {source}",
                    record.name
                )),
            }
            continue;
        }
        let key = (source.clone(), entity.clone());
        let loaded = cache
            .entry(key)
            .or_insert_with(|| {
                let text = std::fs::read_to_string(root.join(&source)).ok()?;
                if source.ends_with(".edmx") {
                    edmx_entity(&text, &entity)
                } else if source.ends_with(".json") {
                    doctype_entity(&text)
                } else if source.ends_with(".md") {
                    bc_entity(&text)
                } else {
                    None
                }
            })
            .clone();
        let Some(properties) = loaded else {
            problems.push(format!("{}: cannot read entity `{entity}` from {source}", record.name));
            continue;
        };
        for field in &record.fields {
            let Some(ty) = &field.ty else { continue };
            match properties.get(&field.name) {
                Some(property) => {
                    problems.extend(check_field(&workspace.types, &record.name, &field.name, ty, property))
                }
                None => problems.push(format!(
                    "{}.{}: `{entity}` in {source} has no such field",
                    record.name, field.name
                )),
            }
        }
    }
    (checked, problems)
}

/// One element of an XSD complex type's sequence.
#[derive(Clone, Debug)]
struct XsdElement {
    name: String,
    min: u32,
    unbounded: bool,
}

/// Reads the element sequence of a named complex type.
fn xsd_sequence(text: &str, type_name: &str) -> Option<Vec<XsdElement>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth_inside: Option<usize> = None;
    let mut depth = 0usize;
    let mut out = Vec::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                depth += 1;
                let local = e.local_name().as_ref().to_owned();
                if local == "complexType" && attributes(&e).get("name").map(String::as_str) == Some(type_name) {
                    depth_inside = Some(depth);
                } else if depth_inside.is_some() && local == "element" {
                    out.push(xsd_element(&attributes(&e)));
                }
            }
            Event::Empty(e) if depth_inside.is_some() && e.local_name().as_ref() == "element" => {
                out.push(xsd_element(&attributes(&e)));
            }
            Event::End(_) => {
                if depth_inside == Some(depth) {
                    return Some(out);
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn xsd_element(attrs: &HashMap<String, String>) -> XsdElement {
    let reference = attrs
        .get("ref")
        .or_else(|| attrs.get("name"))
        .cloned()
        .unwrap_or_default();
    let name = reference.rsplit(':').next().unwrap_or("").to_owned();
    XsdElement {
        name,
        min: attrs.get("minOccurs").and_then(|v| v.parse().ok()).unwrap_or(1),
        unbounded: attrs.get("maxOccurs").map(String::as_str) == Some("unbounded"),
    }
}

/// The XML element name of a field, or `None` for attributes and text.
fn element_name(field: &mapwright_compiler::types::FieldDef) -> Option<String> {
    let mut name = field.name.clone();
    for annotation in field.annotations.iter().filter(|a| a.name.name == "xml") {
        for arg in &annotation.args {
            match (&arg.key, &arg.value) {
                (None, Literal::Word(word)) if word == "attr" || word == "text" => return None,
                (Some(key), Literal::Str(value)) if key.name == "name" => name = value.clone(),
                _ => {}
            }
        }
    }
    Some(name)
}

/// Checks a record's element fields against an XSD sequence.
fn check_xsd_record(record: &RecordDef, entity: &str, sequence: &[XsdElement]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut last: Option<(usize, String)> = None;
    for field in &record.fields {
        let Some(name) = element_name(field) else { continue };
        let at = format!("{}.{}", record.name, field.name);
        let Some(position) = sequence.iter().position(|e| e.name == name) else {
            problems.push(format!("{at}: `{entity}` has no element `{name}`"));
            continue;
        };
        let element = &sequence[position];
        if let Some((previous, previous_name)) = &last
            && position < *previous
        {
            problems.push(format!("{at}: `{name}` comes before `{previous_name}` in `{entity}`; the schema's field order is the element order"));
        }
        last = Some((position, name.clone()));
        let is_list = matches!(field.ty.as_ref().map(Ty::strip_optional), Some(Ty::List(_)));
        if is_list && !element.unbounded {
            problems.push(format!("{at}: a list, but `{name}` occurs at most once in `{entity}`"));
        }
        if element.min >= 1 && !field.required {
            problems.push(format!(
                "{at}: the XSD requires `{name}` (minOccurs {}); mark it @required",
                element.min
            ));
        }
    }
    for element in sequence.iter().filter(|e| e.min >= 1) {
        if !record
            .fields
            .iter()
            .any(|f| element_name(f).as_deref() == Some(element.name.as_str()))
        {
            problems.push(format!(
                "{}: the XSD requires `{}` in `{entity}`, and the schema lacks it",
                record.name, element.name
            ));
        }
    }
    problems
}

fn stdlib_workspace() -> Workspace<EmbeddedStdlib> {
    let mut workspace = Workspace::new(EmbeddedStdlib);
    for (module, file, text) in mapwright_stdlib::MODULES {
        let result = workspace.check(&format!("<stdlib>/{file}"), text.as_bytes().to_vec(), Some(module));
        assert!(result.diagnostics.is_empty(), "{module} does not check clean");
    }
    workspace
}

#[test]
fn stdlib_target_schemas_match_the_real_metadata() {
    let Some(root) = shared_data() else { return };
    let workspace = stdlib_workspace();
    let (checked, problems) = cross_check(&workspace, &root);
    assert!(checked >= 50, "only {checked} records carry @metadata");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!("cross-checked {checked} target records against the ERP metadata");
}

/// The cross-check can fail: a schema with a made-up field, a too-long
/// text, too many decimal places and a server-assigned field is caught.
#[test]
fn the_cross_check_catches_wrong_schemas() {
    let Some(root) = shared_data() else { return };
    let mut workspace = Workspace::new(EmbeddedStdlib);
    let source = r#"schema wrong.order
format json
record SalesOrder @metadata(source = "sap-s4hana-odata-edmx/API_SALES_ORDER_SRV.edmx", entity = "A_SalesOrderType") {
  SalesOrderType: String(40)
  SalesOrganisation: String(4)
  TotalNetAmount: Decimal(5)
  SoldToParty: String
  SalesOrderDate: Bool
}
record Party @metadata(source = "oasis-ubl-2.1/xsd/common/UBL-CommonAggregateComponents-2.1.xsd", entity = "PartyType") {
  PostalAddress: [String]
  EndpointID: String
  PartyNam: String
}
record Line @metadata(source = "oasis-ubl-2.1/xsd/common/UBL-CommonAggregateComponents-2.1.xsd", entity = "InvoiceLineType") {
  Note: String?
}
record Invoice @metadata(source = "ms-bc-api-v2-docs/resources/dynamics_salesinvoice.md", entity = "salesInvoice") {
  totalTaxAmount: Decimal(2)?
  customerNumbr: String?
  dueDate: Bool?
}
"#;
    let result = workspace.check("wrong/order.schema", source.as_bytes().to_vec(), Some("wrong.order"));
    assert!(result.diagnostics.is_empty());
    let (checked, problems) = cross_check(&workspace, &root);
    assert_eq!(checked, 4);
    let joined = problems.join("\n");
    for expected in [
        "SalesOrder.SalesOrderType: `String(40)` exceeds the metadata's MaxLength 4",
        "SalesOrder.SalesOrganisation: `A_SalesOrderType`",
        "SalesOrder.TotalNetAmount: the ERP assigns this field itself",
        "SalesOrder.TotalNetAmount: scale 5 exceeds the metadata's Scale 3",
        "SalesOrder.SoldToParty: the metadata limits it to 10 characters",
        "SalesOrder.SalesOrderDate: `Bool` does not fit the metadata's type `Edm.DateTime`",
        "Party.EndpointID: `EndpointID` comes before `PostalAddress` in `PartyType`",
        "Party.PartyNam: `PartyType` has no element `PartyNam`",
        "Party.PostalAddress: a list, but `PostalAddress` occurs at most once in `PartyType`",
        "Line: the XSD requires `ID` in `InvoiceLineType`, and the schema lacks it",
        "Line: the XSD requires `Item` in `InvoiceLineType`, and the schema lacks it",
        "Invoice.totalTaxAmount: the ERP assigns this field itself",
        "Invoice.customerNumbr: `salesInvoice` in ms-bc-api-v2-docs/resources/dynamics_salesinvoice.md has no such field",
        "Invoice.dueDate: `Bool` does not fit the metadata's type `Edm.DateTime`",
    ] {
        assert!(joined.contains(expected), "missing `{expected}` in:\n{joined}");
    }
}
