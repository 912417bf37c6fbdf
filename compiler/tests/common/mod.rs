//! Readers for the real ERP metadata in `shared/data/erp/`, shared by the
//! schema cross-check (`erp_metadata.rs`) and the output conformance
//! tests (`conformance.rs`): SAP OData EDMX entity types, ERPNext DocTypes
//! and Business Central API reference pages.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test uses a part

use mapwright_compiler::resolve::{LoadOutcome, LoadedModule, ModuleLoader};
use mapwright_compiler::syntax::ast::Literal;
use mapwright_compiler::types::RecordDef;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The ERP data folder, or `None` after saying loudly that it is absent
/// (failing instead when `require_var` is set to 1).
pub fn shared_data_for(require_var: &str) -> Option<PathBuf> {
    let candidate = match std::env::var_os("MAPWRIGHT_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/erp"),
    };
    if candidate.is_dir() {
        return Some(candidate);
    }
    let message = format!(
        "SKIPPED: the ERP metadata folder {} is absent; set MAPWRIGHT_SHARED_DATA to run these checks",
        candidate.display()
    );
    assert!(std::env::var(require_var).as_deref() != Ok("1"), "{message}");
    eprintln!("\n{message}\n");
    None
}

/// The ERP data folder for the schema cross-check.
pub fn shared_data() -> Option<PathBuf> {
    shared_data_for("MAPWRIGHT_REQUIRE_SHARED_DATA")
}

/// What the metadata says about one property.
#[derive(Clone, Debug, Default)]
pub struct Property {
    /// The metadata's own type name (`Edm.String`, `Data`, `Currency`).
    pub kind: String,
    /// The longest text.
    pub max_length: Option<u32>,
    /// Total digits.
    pub precision: Option<u32>,
    /// Places after the point.
    pub scale: Option<u32>,
    /// Assigned by the ERP: never sent.
    pub server_assigned: bool,
    /// A navigation or child table (a list of records).
    pub navigation: bool,
    /// The metadata requires it (ERPNext `reqd`).
    pub required: bool,
    /// The metadata gives it a default value.
    pub has_default: bool,
}

pub type Entity = HashMap<String, Property>;

pub fn metadata_of(record: &RecordDef) -> Option<(String, String)> {
    let annotation = record.annotations.iter().find(|a| a.name.name == "metadata")?;
    let get = |key: &str| {
        annotation.args.iter().find_map(|arg| match (&arg.key, &arg.value) {
            (Some(k), Literal::Str(value)) if k.name == key => Some(value.clone()),
            _ => None,
        })
    };
    Some((get("source")?, get("entity")?))
}

pub fn attributes(element: &quick_xml::events::BytesStart<'_>) -> HashMap<String, String> {
    element
        .attributes()
        .flatten()
        .map(|attr| (attr.key.as_ref().to_owned(), attr.value.to_string()))
        .collect()
}

/// Reads one entity type of an OData v2 EDMX.
pub fn edmx_entity(text: &str, entity: &str) -> Option<Entity> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut inside = false;
    let mut found = false;
    let mut out = Entity::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "EntityType" => {
                inside = attributes(&e).get("Name").map(String::as_str) == Some(entity);
                found |= inside;
            }
            Event::End(e) if e.local_name().as_ref() == "EntityType" => inside = false,
            Event::Start(e) | Event::Empty(e) if inside => {
                let name = e.local_name();
                let attrs = attributes(&e);
                let number = |key: &str| attrs.get(key).and_then(|v| v.parse().ok());
                match name.as_ref() {
                    "Property" => {
                        out.insert(
                            attrs.get("Name").cloned().unwrap_or_default(),
                            Property {
                                kind: attrs.get("Type").cloned().unwrap_or_default(),
                                max_length: number("MaxLength"),
                                precision: number("Precision"),
                                scale: number("Scale"),
                                server_assigned: attrs.get("sap:creatable").map(String::as_str) == Some("false"),
                                ..Property::default()
                            },
                        );
                    }
                    "NavigationProperty" => {
                        out.insert(
                            attrs.get("Name").cloned().unwrap_or_default(),
                            Property {
                                navigation: true,
                                ..Property::default()
                            },
                        );
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    found.then_some(out)
}

/// Reads an ERPNext DocType definition.
pub fn doctype_entity(text: &str) -> Option<Entity> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut out = Entity::new();
    for field in value["fields"].as_array()? {
        let name = field["fieldname"].as_str()?.to_owned();
        let kind = field["fieldtype"].as_str().unwrap_or("").to_owned();
        // Frappe stores Data fields as varchar(140) unless `length` is set.
        let max_length = field["length"]
            .as_u64()
            .filter(|n| *n > 0)
            .map(|n| n as u32)
            .or((kind == "Data" || kind == "Link" || kind == "Select").then_some(140));
        let flag = |key: &str| field[key].as_i64() == Some(1) || field[key].as_bool() == Some(true);
        out.insert(
            name,
            Property {
                navigation: kind == "Table",
                server_assigned: flag("read_only") || field["fetch_from"].as_str().is_some_and(|s| !s.is_empty()),
                required: flag("reqd"),
                has_default: field["default"].as_str().is_some_and(|d| !d.is_empty()),
                kind,
                max_length,
                precision: None,
                scale: field["precision"].as_str().and_then(|p| p.parse().ok()),
            },
        );
    }
    Some(out)
}

/// Reads the property and navigation tables of a Business Central API
/// reference page.
pub fn bc_entity(text: &str) -> Option<Entity> {
    let mut out = Entity::new();
    let mut section = "";
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            section = match title.trim() {
                "Properties" => "properties",
                "Navigation" => "navigation",
                _ => "",
            };
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if section.is_empty()
            || cells.len() < 4
            || cells[1].starts_with(':')
            || cells[1] == "Property"
            || cells[1] == "Navigation"
        {
            continue;
        }
        // Navigation rows link their name: `[salesInvoiceLines](…)`.
        let name = cells[1]
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or("")
            .to_owned();
        let description = cells[3];
        let kind = match cells[2] {
            "string" | "GUID" => "Edm.String",
            "decimal" => "Edm.Decimal",
            "integer" => "Edm.Int32",
            "boolean" => "Edm.Boolean",
            "date" => "Edm.DateTime",
            "datetime" => "Edm.DateTimeOffset",
            other if other.starts_with("NAV.") => "Edm.String",
            _ => "",
        };
        out.insert(
            name,
            Property {
                kind: kind.to_owned(),
                navigation: section == "navigation",
                server_assigned: description.contains("Read-Only") || description.contains("Non-editable"),
                ..Property::default()
            },
        );
    }
    (!out.is_empty()).then_some(out)
}

/// The examples folder as a project root, over the embedded stdlib.
pub struct Examples(pub PathBuf);

impl ModuleLoader for Examples {
    fn load(&self, path: &str) -> LoadOutcome {
        let file = self.0.join(path.replace('.', "/")).with_extension("schema");
        match std::fs::read(&file) {
            Ok(bytes) => LoadOutcome::Found(LoadedModule {
                name: file.display().to_string(),
                bytes,
                origin: mapwright_compiler::source::Origin::User,
            }),
            Err(_) => mapwright_compiler::resolve::EmbeddedStdlib.load(path),
        }
    }

    fn module_paths(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The examples folder.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// One mapping of the examples, ready to run with its suite's params and
/// tables, and the inputs of its golden cases.
pub struct ExampleCase {
    /// `dir/file.map:mapping`.
    pub name: String,
    /// The prepared mapping.
    pub program: mapwright_compiler::program::Program,
    /// The suite-level `params.toml`.
    pub params: HashMap<String, mapwright_compiler::interp::value::Value>,
    /// The suite-level `tables.toml`.
    pub tables: HashMap<String, HashMap<String, mapwright_compiler::interp::value::Value>>,
    /// Every golden case's `input.json`.
    pub seeds: Vec<Vec<u8>>,
}

fn toml_file(path: &Path) -> toml::Table {
    std::fs::read_to_string(path)
        .map(|text| text.parse().unwrap())
        .unwrap_or_default()
}

/// Every mapping of every example `.map` file that has golden cases.
pub fn example_cases() -> Vec<ExampleCase> {
    use mapwright_compiler::program::{Program, mapping_names};
    use mapwright_compiler::resolve::Workspace;
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(examples()).unwrap().filter_map(|e| e.ok()).collect();
    dirs.sort_by_key(|e| e.file_name());
    for dir in dirs {
        let dir_name = dir.file_name().to_string_lossy().into_owned();
        let mut maps: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "map"))
            .collect();
        maps.sort();
        for map in maps {
            let stem = map.file_stem().unwrap().to_string_lossy().into_owned();
            let suite = dir.path().join(format!("{stem}.tests"));
            if !suite.is_dir() {
                continue;
            }
            let mut workspace = Workspace::new(Examples(examples()));
            let result = workspace.check(&stem, std::fs::read(&map).unwrap(), Some(&format!("{dir_name}.{stem}")));
            assert!(result.diagnostics.is_empty(), "{}", map.display());
            let module = result.module.unwrap();
            let mut seeds = Vec::new();
            for case in std::fs::read_dir(&suite)
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
            {
                if let Ok(bytes) = std::fs::read(case.join("input.json")) {
                    seeds.push(bytes);
                }
            }
            for mapping in mapping_names(&workspace, module) {
                let program = Program::new(&workspace, module, &mapping).unwrap();
                let params = program
                    .params_from_toml(&toml_file(&suite.join("params.toml")))
                    .unwrap();
                let tables = program
                    .tables_from_toml(&toml_file(&suite.join("tables.toml")))
                    .unwrap();
                out.push(ExampleCase {
                    name: format!("{dir_name}/{stem}.map:{mapping}"),
                    program,
                    params,
                    tables,
                    seeds: seeds.clone(),
                });
            }
        }
    }
    assert!(out.len() >= 5);
    out
}

/// Sources by module path, over the embedded standard library.
pub struct Memory(pub HashMap<String, String>);

impl ModuleLoader for Memory {
    fn load(&self, path: &str) -> LoadOutcome {
        match self.0.get(path) {
            Some(text) => LoadOutcome::Found(LoadedModule {
                name: format!("{path}.schema"),
                bytes: text.clone().into_bytes(),
                origin: mapwright_compiler::source::Origin::User,
            }),
            None => mapwright_compiler::resolve::EmbeddedStdlib.load(path),
        }
    }

    fn module_paths(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}
