//! ERP responses: read with a size cap, turned into the record a response
//! mapping takes (`{"status", "headers", "body", "text", "body_error"}`,
//! the body decoded from JSON, or from XML by local element and attribute
//! names guided by the response schema), and the mapping's verdict
//! (`mapwright.delivery.Result`) read back.
//!
//! Hostile responses are refused, never trusted: bodies beyond the cap are
//! cut and flagged, XML with a DOCTYPE (entity expansion) or nested deeper
//! than [`MAX_DEPTH`] is not read, and anything unreadable leaves `body`
//! absent with the reason in `body_error`, so the mapping still classifies
//! by status.

use mapwright_compiler::wire::shape::{RecordShape, Shape, Shapes};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Bytes of a response body read at most; the rest is not read.
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// Bytes of the body kept as `text` for the mapping and the audit trail.
pub const MAX_TEXT: usize = 64 * 1024;
/// XML elements nested deeper than this are refused.
pub const MAX_DEPTH: usize = 64;
/// XML elements in a response at most.
pub const MAX_ELEMENTS: usize = 200_000;

/// A response as read from the wire.
#[derive(Clone, Debug)]
pub struct ErpResponse {
    /// The HTTP status.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, at most [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
    /// Whether the body was longer than [`MAX_BODY`] and cut.
    pub truncated: bool,
}

impl ErpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, at most [`MAX_TEXT`] bytes (cut at a character).
    pub fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        if text.len() <= MAX_TEXT {
            return text.into_owned();
        }
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    }
}

/// Reads a response, keeping at most [`MAX_BODY`] bytes of its body (a
/// larger one is cut and flagged, not read on); a body that stops coming
/// fails with the request's own timeout.
pub async fn read(mut response: reqwest::Response) -> Result<ErpResponse, reqwest::Error> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_ascii_lowercase(), value.to_str().ok()?.to_owned())))
        .collect();
    let mut body = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(ErpResponse {
        status,
        headers,
        body,
        truncated,
    })
}

// ------------------------------------------------------------------ XML

/// An XML element, by local names (namespaces are dropped: response
/// schemas name elements and attributes as NetSuite's XSDs do, without
/// prefixes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name.
    pub name: String,
    /// Attributes by local name (namespace declarations left out).
    pub attributes: Vec<(String, String)>,
    /// Child elements, in order.
    pub children: Vec<Element>,
    /// The text directly inside, concatenated.
    pub text: String,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// An attribute's value.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The text of the first descendant with this local name (depth first).
    pub fn find_text(&self, name: &str) -> Option<String> {
        for child in &self.children {
            if child.name == name {
                return Some(child.text.trim().to_owned());
            }
            if let Some(found) = child.find_text(name) {
                return Some(found);
            }
        }
        None
    }
}

/// Reads an XML document into its root element. Refuses a DOCTYPE (no
/// entity expansion, no external entities), unknown entity references,
/// nesting deeper than [`MAX_DEPTH`] and more than [`MAX_ELEMENTS`]
/// elements.
pub fn parse_xml(bytes: &[u8]) -> Result<Element, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    let mut root = None;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("not well-formed XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::DocType(_) => return Err("a DOCTYPE is not accepted in a response".to_owned()),
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err("content after the root element".to_owned());
            }
            Event::Start(start) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(format!(
                        "the XML is nested deeper than {MAX_DEPTH} or has more than {MAX_ELEMENTS} elements"
                    ));
                }
                stack.push(element(&start)?);
            }
            Event::Empty(start) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(format!("the XML has more than {MAX_ELEMENTS} elements"));
                }
                let done = element(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err("an end tag without its start".to_owned());
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                if let Some(open) = stack.last_mut() {
                    open.text
                        .push_str(&text.xml_content(quick_xml::XmlVersion::Implicit1_0));
                }
            }
            Event::CData(data) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&data.into_inner());
                }
            }
            Event::GeneralRef(reference) => {
                let name = reference.xml_content(quick_xml::XmlVersion::Implicit1_0);
                let c = resolve_reference(&name).ok_or_else(|| format!("unknown entity &{name};"))?;
                if let Some(open) = stack.last_mut() {
                    open.text.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err("the XML ends inside an element".to_owned());
    }
    root.ok_or_else(|| "no root element".to_owned())
}

fn resolve_reference(name: &str) -> Option<char> {
    if let Some(hex) = name.strip_prefix("#x") {
        return u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
    }
    if let Some(decimal) = name.strip_prefix('#') {
        return decimal.parse().ok().and_then(char::from_u32);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

fn local(name: &str) -> String {
    name.rsplit_once(':').map_or(name, |(_, local)| local).to_owned()
}

fn element(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("bad attribute: {e}"))?;
        let key = attribute.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("bad attribute value: {e}"))?;
        attributes.push((local(key), value.into_owned()));
    }
    Ok(Element {
        name: local(start.local_name().as_ref()),
        attributes,
        children: Vec::new(),
        text: String::new(),
    })
}

/// An element as the JSON a record shape reads: each field from the
/// attribute or the child elements of its name (a list field takes every
/// such child), a scalar from the text (`Bool` and `Int` as JSON values,
/// so the decoder checks them as for any JSON), a record's `text` field
/// from the element's own text. Names the shape does not know are left out.
pub fn element_to_json(element: &Element, shapes: &Shapes, record: &RecordShape) -> Value {
    let mut object = Map::new();
    for field in &record.fields {
        let shape = strip(&field.shape);
        if let Shape::List(inner) = shape {
            let items: Vec<Value> = element
                .children
                .iter()
                .filter(|c| c.name == field.key)
                .map(|c| node_value(c, shapes, strip(inner)))
                .collect();
            object.insert(field.key.clone(), Value::Array(items));
            continue;
        }
        if let Some(value) = element.attribute(&field.key) {
            object.insert(field.key.clone(), scalar(value, shape));
        } else if let Some(child) = element.child(&field.key) {
            object.insert(field.key.clone(), node_value(child, shapes, shape));
        } else if field.key == "text" && !element.text.trim().is_empty() {
            object.insert(field.key.clone(), Value::String(element.text.trim().to_owned()));
        }
    }
    Value::Object(object)
}

fn strip(shape: &Shape) -> &Shape {
    match shape {
        Shape::Optional(inner) => strip(inner),
        other => other,
    }
}

fn node_value(element: &Element, shapes: &Shapes, shape: &Shape) -> Value {
    match shape {
        Shape::Record(index) => match shapes.records.get(*index) {
            Some(record) => element_to_json(element, shapes, record),
            None => Value::Null,
        },
        other => scalar(element.text.trim(), other),
    }
}

fn scalar(text: &str, shape: &Shape) -> Value {
    match shape {
        Shape::Bool => match text {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        },
        Shape::Int => text
            .parse::<i64>()
            .map_or_else(|_| Value::String(text.to_owned()), |n| Value::Number(n.into())),
        _ => Value::String(text.to_owned()),
    }
}

// ------------------------------------------------------------- the input

/// How a body is read for a response mapping.
#[derive(Clone, Debug)]
pub enum Body {
    /// Read as JSON.
    Json,
    /// This element (a SOAP Body's message), already read.
    Xml(Option<Element>),
}

/// The record a response mapping takes, as JSON: `status`, `headers`
/// (lower-case names), `text`, and `body` when it reads (else
/// `body_error`). With `with_body` false the body is left out and
/// `body_error` says `why` (used when the body did not fit the schema).
pub fn input(response: &ErpResponse, body: &Body, shapes: &Shapes, with_body: Option<&str>) -> Value {
    let mut object = Map::new();
    object.insert("status".to_owned(), Value::Number(response.status.into()));
    let mut headers = Map::new();
    for (name, value) in &response.headers {
        headers.insert(name.clone(), Value::String(value.clone()));
    }
    object.insert("headers".to_owned(), Value::Object(headers));
    if !response.body.is_empty() {
        object.insert("text".to_owned(), Value::String(response.text()));
    }
    let body_error = |object: &mut Map<String, Value>, why: String| {
        object.insert("body_error".to_owned(), Value::String(why));
    };
    if let Some(why) = with_body {
        body_error(&mut object, why.to_owned());
        return Value::Object(object);
    }
    if response.truncated {
        body_error(
            &mut object,
            format!("the body is larger than {MAX_BODY} bytes; not read beyond"),
        );
        return Value::Object(object);
    }
    match body {
        _ if response.body.iter().all(u8::is_ascii_whitespace) => {}
        Body::Json => match serde_json::from_slice::<Value>(&response.body) {
            Ok(value) => {
                object.insert("body".to_owned(), value);
            }
            Err(error) => body_error(&mut object, format!("the body is not JSON: {error}")),
        },
        Body::Xml(element) => {
            let body_shape = shapes
                .root()
                .and_then(|root| root.fields.iter().find(|f| f.key == "body"))
                .and_then(|field| match strip(&field.shape) {
                    Shape::Record(index) => shapes.records.get(*index),
                    _ => None,
                });
            match (element, body_shape) {
                (Some(element), Some(record)) => {
                    object.insert("body".to_owned(), element_to_json(element, shapes, record));
                }
                (None, _) => body_error(&mut object, "the body is not a SOAP message".to_owned()),
                (Some(_), None) => body_error(&mut object, "the response schema declares no `body` record".to_owned()),
            }
        }
    }
    Value::Object(object)
}

// ------------------------------------------------------------ the verdict

/// `mapwright.delivery.Verdict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The ERP holds the document.
    Delivered,
    /// Try again later.
    Retry,
    /// Refused for good.
    Rejected,
}

/// `mapwright.delivery.Reference`: `table[key] = value`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Reference {
    /// The external table.
    pub table: String,
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// `mapwright.delivery.Result`, as a response mapping writes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// The ERP's id of the document.
    pub document: Option<String>,
    /// Why, for `retry` and `rejected`.
    pub reason: Option<String>,
    /// Cross-references learned.
    #[serde(default)]
    pub references: Vec<Reference>,
}

/// Whether a mapping's output is `mapwright.delivery.Result` (checked when
/// the configuration is loaded).
pub fn is_delivery_result(shapes: &Shapes) -> bool {
    shapes.root().is_some_and(|root| {
        root.name == "Result"
            && ["verdict", "document", "reason", "references"]
                .iter()
                .all(|k| root.by_key.contains_key(*k))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_reads_local_names_and_refuses_hostile_documents() {
        let root = parse_xml(
            br#"<?xml version="1.0"?><s:Envelope xmlns:s="x"><s:Body><r a:id="7" xmlns:a="y">A &amp; B&#x21;<![CDATA[<c>]]></r></s:Body></s:Envelope>"#,
        )
        .unwrap_or_default();
        let r = &root.children[0].children[0];
        assert_eq!((root.name.as_str(), r.name.as_str()), ("Envelope", "r"));
        assert_eq!(r.attribute("id"), Some("7"));
        assert_eq!(r.text, "A & B!<c>");
        let laughs =
            br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>"#;
        assert!(parse_xml(laughs).unwrap_err().contains("DOCTYPE"));
        assert!(parse_xml(b"<a>&unknown;</a>").unwrap_err().contains("unknown entity"));
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse_xml(deep.as_bytes()).unwrap_err().contains("deeper"));
        assert!(parse_xml(b"<a><b></a>").is_err());
        assert!(parse_xml(b"<a/><b/>").is_err());
        assert!(parse_xml(b"").is_err());
        assert!(parse_xml(&[0xff, 0xfe, 0x00]).is_err());
    }
}
