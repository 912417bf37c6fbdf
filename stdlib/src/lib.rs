//! The Mapwright standard library: canonical business-object schemas and ERP
//! target schemas, embedded as text.
//!
//! The `.schema` files live beside this crate (`canonical/`, `sap/`, …); the
//! build script embeds every one of them. This crate only stores text: the
//! compiler parses and checks it like any other module.

include!(concat!(env!("OUT_DIR"), "/modules.rs"));

/// The text of an embedded module, by dotted module path
/// (`canonical.invoice`).
pub fn module(path: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(name, _, _)| *name == path)
        .map(|(_, _, text)| *text)
}

/// The file path of an embedded module relative to the stdlib root
/// (`canonical/invoice.schema`).
pub fn file_path(path: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(name, _, _)| *name == path)
        .map(|(_, file, _)| *file)
}

/// Every embedded module path, sorted.
pub fn module_paths() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(name, _, _)| *name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn module_paths_follow_file_paths() {
        assert!(super::MODULES.len() >= 2);
        for (module, file, _) in super::MODULES {
            assert_eq!(format!("{}.schema", module.replace('.', "/")), *file);
        }
    }
}
