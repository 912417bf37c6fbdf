//! File names from templates, for one file per event (`mapc run
//! --output-dir`, the runtime's file-drop endpoints): `{event.a.b}` is the
//! text of that field of the event (JSON), `{line}` a sequence number. For
//! a file gathering a batch of events, the runtime passes
//! `{"batch": {"id", "opened", "count"}}` as the event, and `{batch.id}`
//! reads it.
//! Characters that cannot be in a file name become `_`, and a name never
//! starts with `.`.

/// Why a template gave no name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The template itself is wrong.
    Template(String),
    /// The event lacks a field the template needs (its JSON path).
    Missing(String),
}

/// The file name `template` gives for `event` at position `line`.
pub fn file_name(template: &str, event: &serde_json::Value, line: usize) -> Result<String, NameError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after
            .find('}')
            .ok_or_else(|| NameError::Template(format!("{template:?} has an unclosed `{{`")))?;
        let key = &after[..end];
        let value = if key == "line" {
            line.to_string()
        } else if let Some((root, path)) = key
            .strip_prefix("event.")
            .map(|path| (event, path))
            .or_else(|| key.strip_prefix("batch.").map(|path| (&event["batch"], path)))
        {
            let mut node = root;
            for part in path.split('.') {
                node = node.get(part).unwrap_or(&serde_json::Value::Null);
            }
            match node {
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return Err(NameError::Missing(format!("$.{path}"))),
            }
        } else {
            return Err(NameError::Template(format!(
                "{template:?}: unknown placeholder {{{key}}}; use {{line}}, {{event.FIELD}} or (batched drops) {{batch.id}}, {{batch.opened}}, {{batch.count}}"
            )));
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    let safe: String = out
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let safe = if safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    };
    if safe.is_empty() {
        return Err(NameError::Template("the template gave an empty file name".to_owned()));
    }
    Ok(safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_event_fields_and_are_made_safe() {
        let event = serde_json::json!({"id": "in/1", "n": 7, "supplier": {"id": "S:1"}});
        assert_eq!(file_name("{event.id}.xml", &event, 1).unwrap(), "in_1.xml");
        assert_eq!(
            file_name("{event.supplier.id}-{event.n}-{line}", &event, 3).unwrap(),
            "S_1-7-3"
        );
        assert_eq!(file_name("..{event.n}", &event, 1).unwrap(), "_..7");
        assert_eq!(
            file_name("{event.x}", &event, 1),
            Err(NameError::Missing("$.x".to_owned()))
        );
        assert!(matches!(file_name("{event.id", &event, 1), Err(NameError::Template(_))));
        assert!(matches!(file_name("{other}", &event, 1), Err(NameError::Template(_))));
    }
}
