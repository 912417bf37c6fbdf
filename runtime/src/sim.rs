//! A simulated ERP for the demo and the tests: an OData-style endpoint
//! with SAP's CSRF handshake that checks each payload against the target
//! schema's shape (known fields, required fields, `{"results": [...]}`
//! navigations), answers with document numbers, remembers idempotency keys
//! (so duplicates are counted, not created twice), and fails on demand:
//! every n-th request with 503, with 429 and `Retry-After`, or down.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mapwright_compiler::wire::shape::{RecordShape, Shape, Shapes, Wire};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A simulated ERP and what it saw.
pub struct SimErp {
    /// The payload shape it accepts (`None`: any JSON).
    pub shapes: Option<Shapes>,
    /// Answer every n-th write with 503 (0: never).
    pub fail_every: u64,
    /// Answer every n-th write with 429 and `Retry-After: 1` (0: never).
    pub throttle_every: u64,
    /// Refuse every connection-level request with 503 while set.
    pub down: AtomicBool,
    /// When set, writes need `Authorization: Bearer` with a token from
    /// `POST …/oauth/token` (client credentials with this secret).
    pub oauth_secret: Mutex<Option<String>>,
    /// Tokens handed out by the OAuth endpoint.
    pub tokens_issued: AtomicU64,
    /// Milliseconds to wait after creating a document before answering (a
    /// slow ERP).
    pub latency_ms: AtomicU64,
    /// Every n-th write is answered two seconds late, once created (0:
    /// never): a caller that times out sends it again.
    pub slow_every: AtomicU64,
    /// Write requests received.
    pub received: AtomicU64,
    /// Requests that repeated a key already created (not created again).
    pub duplicates: AtomicU64,
    /// Payloads refused as not fitting the schema.
    pub rejected: AtomicU64,
    /// Documents created, by idempotency key (or by creation when the
    /// key is ignored).
    pub created: Mutex<HashMap<String, String>>,
    /// Options: which field holds the document number, whether the
    /// `Idempotency-Key` header is honoured, which field look-ups filter on.
    pub options: SimOptions,
    /// Document numbers by business reference (for look-ups).
    by_reference: Mutex<HashMap<String, String>>,
    csrf_token: String,
}

/// How a simulated ERP behaves beyond failures.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The field of `d` holding the new document's number.
    pub document_field: String,
    /// Whether a repeated `Idempotency-Key` returns the first document
    /// (SAP's standard APIs do not honour it: set false to see why a
    /// look-up-before-post is needed).
    pub honours_idempotency_key: bool,
    /// The payload's field a GET `$filter=<field> eq '…'` finds documents by.
    pub reference_field: Option<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            document_field: "SupplierInvoice".to_owned(),
            honours_idempotency_key: true,
            reference_field: None,
        }
    }
}

impl SimErp {
    /// A simulated ERP checking payloads against `shapes`.
    pub fn new(shapes: Option<Shapes>, fail_every: u64, throttle_every: u64) -> Arc<SimErp> {
        SimErp::with_options(shapes, fail_every, throttle_every, SimOptions::default())
    }

    /// A simulated ERP with `options`.
    pub fn with_options(
        shapes: Option<Shapes>,
        fail_every: u64,
        throttle_every: u64,
        options: SimOptions,
    ) -> Arc<SimErp> {
        Arc::new(SimErp {
            options,
            by_reference: Mutex::new(HashMap::new()),
            shapes,
            fail_every,
            throttle_every,
            down: AtomicBool::new(false),
            latency_ms: AtomicU64::new(0),
            slow_every: AtomicU64::new(0),
            oauth_secret: Mutex::new(None),
            tokens_issued: AtomicU64::new(0),
            received: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            created: Mutex::new(HashMap::new()),
            csrf_token: uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    /// Documents created so far.
    pub fn documents(&self) -> usize {
        self.created.lock().map_or(0, |c| c.len())
    }

    /// Serves on `127.0.0.1` at a free port; returns its base URL.
    pub async fn start(self: &Arc<Self>) -> std::io::Result<String> {
        serve(Router::new().fallback(handle).with_state(self.clone())).await
    }
}

/// Serves `app` on `127.0.0.1` at a free port, in the background; returns
/// its base URL (`http://127.0.0.1:PORT`). For simulated ERPs.
pub async fn serve(app: Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{address}"))
}

async fn handle(
    State(sim): State<Arc<SimErp>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if sim.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let oauth_secret = sim.oauth_secret.lock().ok().and_then(|s| s.clone());
    if uri.path().ends_with("/oauth/token") {
        let form = String::from_utf8_lossy(&body);
        let ok = form.contains("grant_type=client_credentials")
            && oauth_secret
                .as_deref()
                .is_some_and(|secret| form.contains(&format!("client_secret={secret}")));
        if !ok {
            return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client"}))).into_response();
        }
        sim.tokens_issued.fetch_add(1, Ordering::SeqCst);
        return axum::Json(json!({
            "access_token": format!("tok-{}", sim.csrf_token),
            "token_type": "Bearer",
            "expires_in": 3600
        }))
        .into_response();
    }
    if oauth_secret.is_some() && header("authorization") != format!("Bearer tok-{}", sim.csrf_token) {
        return (StatusCode::UNAUTHORIZED, "a bearer token is required").into_response();
    }
    if method == axum::http::Method::GET {
        if header("x-csrf-token").eq_ignore_ascii_case("fetch") {
            return (
                StatusCode::OK,
                [
                    ("x-csrf-token", sim.csrf_token.clone()),
                    ("set-cookie", format!("SAP_SESSIONID_SIM={}; path=/", sim.csrf_token)),
                ],
                "",
            )
                .into_response();
        }
        // A look-up: `$filter=<field> eq '<value>'`.
        let query = uri.query().unwrap_or("");
        let filter = query
            .split('&')
            .find_map(|pair| {
                pair.strip_prefix("$filter=")
                    .or_else(|| pair.strip_prefix("%24filter="))
            })
            .map(percent_decode);
        let mut results = Vec::new();
        if let (Some(filter), Some(field)) = (filter, &sim.options.reference_field)
            && let Some(value) = filter
                .strip_prefix(&format!("{field} eq '"))
                .and_then(|rest| rest.strip_suffix('\''))
        {
            let value = value.replace("''", "'");
            if let Some(document) = sim.by_reference.lock().ok().and_then(|r| r.get(&value).cloned()) {
                results.push(json!({ sim.options.document_field.clone(): document, field.clone(): value }));
            }
        }
        return (StatusCode::OK, axum::Json(json!({"d": {"results": results}}))).into_response();
    }
    let n = sim.received.fetch_add(1, Ordering::SeqCst) + 1;
    if header("x-csrf-token") != sim.csrf_token || !header("cookie").contains(&sim.csrf_token) {
        return (
            StatusCode::FORBIDDEN,
            [("x-csrf-token", "Required")],
            "CSRF token validation failed",
        )
            .into_response();
    }
    if sim.fail_every > 0 && n % sim.fail_every == 0 {
        return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable").into_response();
    }
    if sim.throttle_every > 0 && n % sim.throttle_every == 0 {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response();
    }
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(error) => return odata_error(StatusCode::BAD_REQUEST, &format!("malformed JSON: {error}")),
    };
    if let Some(shapes) = &sim.shapes
        && let Some(root) = shapes.root()
    {
        let mut problems = Vec::new();
        check(shapes, root, &payload, "$", &mut problems);
        if !problems.is_empty() {
            sim.rejected.fetch_add(1, Ordering::SeqCst);
            return odata_error(StatusCode::BAD_REQUEST, &problems.join("; "));
        }
    }
    let key = if sim.options.honours_idempotency_key {
        header("idempotency-key").to_owned()
    } else {
        format!("request-{n}")
    };
    let reference = sim
        .options
        .reference_field
        .as_ref()
        .and_then(|field| payload.get(field))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let document = {
        let Ok(mut created) = sim.created.lock() else {
            return (StatusCode::INTERNAL_SERVER_ERROR, "poisoned").into_response();
        };
        let document = match created.get(&key) {
            Some(existing) => {
                sim.duplicates.fetch_add(1, Ordering::SeqCst);
                existing.clone()
            }
            None => {
                let number = format!("51056{:05}", created.len() + 1);
                created.insert(key, number.clone());
                number
            }
        };
        if let (Some(reference), Ok(mut by_reference)) = (reference, sim.by_reference.lock()) {
            by_reference.insert(reference, document.clone());
        }
        document
    };
    // Committed, then slow to answer: a caller that dies now will send the
    // same key again.
    let slow_every = sim.slow_every.load(Ordering::SeqCst);
    let latency = if slow_every > 0 && n % slow_every == 0 {
        sim.latency_ms.load(Ordering::SeqCst) + 2_000
    } else {
        sim.latency_ms.load(Ordering::SeqCst)
    };
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    // The created entity, as SAP echoes it: its number first.
    let mut entity = serde_json::Map::new();
    entity.insert(sim.options.document_field.clone(), Value::String(document));
    entity.insert("FiscalYear".to_owned(), Value::String("2025".to_owned()));
    if let Value::Object(fields) = payload {
        for (k, v) in fields {
            entity.entry(k).or_insert(v);
        }
    }
    (StatusCode::CREATED, axum::Json(json!({ "d": entity }))).into_response()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).map(|h| u8::from_str_radix(h, 16)) {
                    Ok(Ok(byte)) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn odata_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": "SIM/001", "message": {"lang": "en", "value": message}}})),
    )
        .into_response()
}

/// Checks a payload against a record shape: no unknown keys, every
/// required field present, navigations wrapped as `{"results": [...]}`.
fn check(shapes: &Shapes, record: &RecordShape, value: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(object) = value.as_object() else {
        problems.push(format!("{path}: not an object"));
        return;
    };
    for key in object.keys() {
        if !record.by_key.contains_key(key) {
            problems.push(format!("{path}.{key}: not a property of {}", record.name));
        }
    }
    for field in &record.fields {
        let here = format!("{path}.{}", field.key);
        match object.get(&field.key) {
            None if field.required => problems.push(format!("{here}: required")),
            None => {}
            Some(value) => {
                if let Shape::List(element) = &field.shape {
                    let items = if field.wire == Wire::ODataResults {
                        value.get("results").and_then(Value::as_array)
                    } else {
                        value.as_array()
                    };
                    let Some(items) = items else {
                        problems.push(format!("{here}: not a list in its wire form"));
                        continue;
                    };
                    if let Shape::Record(index) = element.as_ref()
                        && let Some(inner) = shapes.records.get(*index)
                    {
                        for (i, item) in items.iter().enumerate() {
                            check(shapes, inner, item, &format!("{here}[{i}]"), problems);
                        }
                    }
                } else if let Shape::Record(index) = &field.shape
                    && let Some(inner) = shapes.records.get(*index)
                {
                    check(shapes, inner, value, &here, problems);
                }
            }
        }
    }
}
