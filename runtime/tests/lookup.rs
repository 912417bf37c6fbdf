//! Look-up-before-post and hostile JSON answers, against a small ERP
//! simulated here that ignores `Idempotency-Key` (as ERPs do) and answers
//! its first write after the client has given up (the document exists,
//! the answer is lost):
//!
//! - ERPNext: `Authorization: token key:secret` on every request, the
//!   look-up by the tenant's custom field through Frappe's `filters`;
//! - Business Central: the look-up by `externalDocumentNumber` over OData
//!   v4 (`{"value": [...]}`);
//! - a look-up that fails means nothing is posted;
//! - a reference the payload lacks is a loud dead letter;
//! - answers that are huge, stalled, nested beyond reason, not UTF-8 or
//!   HTML are classified through the response mapping, never a crash.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::{Setup, drain, example_invoice, examples, post_event, start, temp_dir};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use mapwright_runtime::config::token_hash;
use mapwright_runtime::sim::serve;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Frappe,
    ODataV4,
}

/// A tiny ERP collection: documents by reference.
struct MiniErp {
    flavor: Flavor,
    field: &'static str,
    token: Option<&'static str>,
    documents: Mutex<Vec<(String, String)>>,
    posts: AtomicU64,
    lookups: AtomicU64,
    unauthorized: AtomicU64,
    first_post_late: AtomicBool,
    lookup_down: AtomicBool,
}

impl MiniErp {
    fn new(flavor: Flavor, field: &'static str, token: Option<&'static str>) -> Arc<MiniErp> {
        Arc::new(MiniErp {
            flavor,
            field,
            token,
            documents: Mutex::new(Vec::new()),
            posts: AtomicU64::new(0),
            lookups: AtomicU64::new(0),
            unauthorized: AtomicU64::new(0),
            first_post_late: AtomicBool::new(true),
            lookup_down: AtomicBool::new(false),
        })
    }

    async fn start(self: &Arc<Self>) -> String {
        serve(Router::new().fallback(mini_erp).with_state(self.clone()))
            .await
            .unwrap()
    }
}

async fn mini_erp(
    State(erp): State<Arc<MiniErp>>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(token) = erp.token
        && headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("token {token}"))
    {
        erp.unauthorized.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::UNAUTHORIZED, "token key:secret required").into_response();
    }
    if method == Method::GET {
        erp.lookups.fetch_add(1, Ordering::SeqCst);
        if erp.lookup_down.load(Ordering::SeqCst) {
            return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
        }
        let wanted = match erp.flavor {
            Flavor::Frappe => {
                let filters: Value = serde_json::from_str(query.get("filters").map_or("[]", String::as_str)).unwrap();
                assert_eq!(filters[0][0], erp.field);
                assert_eq!(filters[0][1], "=");
                filters[0][2].as_str().unwrap().to_owned()
            }
            Flavor::ODataV4 => {
                let filter = query.get("$filter").unwrap();
                let prefix = format!("{} eq '", erp.field);
                filter
                    .strip_prefix(&prefix)
                    .and_then(|v| v.strip_suffix('\''))
                    .unwrap()
                    .replace("''", "'")
            }
        };
        let found: Vec<Value> = erp
            .documents
            .lock()
            .unwrap()
            .iter()
            .filter(|(reference, _)| *reference == wanted)
            .map(|(reference, id)| match erp.flavor {
                Flavor::Frappe => json!({"name": id}),
                Flavor::ODataV4 => json!({"id": id, (erp.field): reference}),
            })
            .collect();
        return axum::Json(match erp.flavor {
            Flavor::Frappe => json!({"data": found}),
            Flavor::ODataV4 => json!({"value": found}),
        })
        .into_response();
    }
    erp.posts.fetch_add(1, Ordering::SeqCst);
    let payload: Value = serde_json::from_slice(&body).unwrap();
    let reference = payload[erp.field].as_str().unwrap_or("").to_owned();
    let id = {
        let mut documents = erp.documents.lock().unwrap();
        let id = format!("DOC-{:05}", documents.len() + 1);
        documents.push((reference, id.clone()));
        id
    };
    if erp.first_post_late.swap(false, Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let answer = match erp.flavor {
        Flavor::Frappe => json!({"data": {"name": id, (erp.field): payload[erp.field]}}),
        Flavor::ODataV4 => json!({"id": id, (erp.field): payload[erp.field]}),
    };
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

fn setup(name: &str, tenant_toml: &str) -> Setup {
    let dir = temp_dir("lookup", name);
    std::fs::write(dir.join("tenants/key.secret"), "api-key-1").unwrap();
    std::fs::write(dir.join("tenants/secret.secret"), "api-secret-1").unwrap();
    std::fs::write(dir.join("tenants/t.toml"), tenant_toml).unwrap();
    start(&dir, None)
}

async fn accept(setup: &Setup, kind: &str, key: &str, data: Value) {
    post_event(setup, "t-token", kind, key, data).await;
}

fn delivered(counts: &[(String, String, String, i64)]) -> i64 {
    common::count(counts, "delivered")
}

fn erpnext_tenant(url: &str, reference: &str) -> String {
    let tests = examples().join("invoice_to_erpnext/invoice_to_erpnext.tests");
    format!(
        r#"id = "t"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "invoice.created"
mapping = "{map}"
endpoint = "erpnext"
params_file = "{params}"
tables_file = "{tables}"
[endpoints.erpnext]
kind = "http_json"
url = "{url}/api/resource/Sales%20Invoice"
auth = {{ kind = "token", key = "file:key.secret", secret = "file:secret.secret" }}
timeout_ms = 500
idempotency = {{ strategy = "lookup", flavor = "frappe", reference = "{reference}" }}
retry = {{ max_attempts = 8, initial_backoff_ms = 20, max_backoff_ms = 100 }}
"#,
        hash = token_hash("t-token"),
        map = examples().join("invoice_to_erpnext/invoice_to_erpnext.map").display(),
        params = tests.join("params.toml").display(),
        tables = tests.join("tables.toml").display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erpnext_token_auth_and_lookup_by_reference_prevent_a_second_invoice() {
    let erp = MiniErp::new(
        Flavor::Frappe,
        "custom_platform_invoice_id",
        Some("api-key-1:api-secret-1"),
    );
    let url = erp.start().await;
    let setup = setup("erpnext", &erpnext_tenant(&url, "custom_platform_invoice_id"));
    accept(&setup, "invoice.created", "k1", example_invoice()).await;
    drain(&setup, 20).await;
    let counts = setup.store.counts().await.unwrap();
    assert_eq!(delivered(&counts), 1, "{counts:?}");
    assert_eq!(
        erp.documents.lock().unwrap().len(),
        1,
        "the lost answer was not posted again"
    );
    assert_eq!(erp.posts.load(Ordering::SeqCst), 1);
    assert_eq!(erp.lookups.load(Ordering::SeqCst), 2, "looked up before each attempt");
    assert_eq!(
        erp.unauthorized.load(Ordering::SeqCst),
        0,
        "every request carried the token"
    );
    let _ = std::fs::remove_dir_all(&setup.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_central_lookup_by_external_document_number() {
    let erp = MiniErp::new(Flavor::ODataV4, "externalDocumentNumber", None);
    let url = erp.start().await;
    let tests = examples().join("invoice_to_business_central/invoice_to_business_central.tests");
    let toml = format!(
        r#"id = "t"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "invoice.created"
mapping = "{map}"
endpoint = "bc"
tables_file = "{tables}"
[endpoints.bc]
kind = "http_json"
url = "{url}/api/v2.0/companies(1)/salesInvoices"
timeout_ms = 500
idempotency = {{ strategy = "lookup", flavor = "odata_v4", reference = "externalDocumentNumber" }}
retry = {{ max_attempts = 8, initial_backoff_ms = 20, max_backoff_ms = 100 }}
"#,
        hash = token_hash("t-token"),
        map = examples()
            .join("invoice_to_business_central/invoice_to_business_central.map")
            .display(),
        tables = tests.join("tables.toml").display(),
    );
    let setup = setup("bc", &toml);
    accept(&setup, "invoice.created", "k1", example_invoice()).await;
    drain(&setup, 20).await;
    let counts = setup.store.counts().await.unwrap();
    assert_eq!(delivered(&counts), 1, "{counts:?}");
    assert_eq!(
        erp.posts.load(Ordering::SeqCst),
        1,
        "the lost answer was not posted again"
    );
    let _ = std::fs::remove_dir_all(&setup.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_lookup_posts_nothing_and_a_missing_reference_is_dead() {
    let erp = MiniErp::new(
        Flavor::Frappe,
        "custom_platform_invoice_id",
        Some("api-key-1:api-secret-1"),
    );
    erp.first_post_late.store(false, Ordering::SeqCst);
    erp.lookup_down.store(true, Ordering::SeqCst);
    let url = erp.start().await;
    let down = setup("lookup-down", &erpnext_tenant(&url, "custom_platform_invoice_id"));
    accept(&down, "invoice.created", "k1", example_invoice()).await;
    down.dispatcher.clone().round().await;
    assert_eq!(erp.posts.load(Ordering::SeqCst), 0, "not posted without the look-up");
    assert!(down.store.dead_letters(None).await.unwrap().is_empty(), "retried");
    erp.lookup_down.store(false, Ordering::SeqCst);
    drain(&down, 20).await;
    assert_eq!(delivered(&down.store.counts().await.unwrap()), 1);
    assert_eq!(erp.posts.load(Ordering::SeqCst), 1);
    let _ = std::fs::remove_dir_all(&down.dir);

    // A reference the mapping does not write: dead, loudly, nothing posted.
    let erp = MiniErp::new(
        Flavor::Frappe,
        "custom_platform_invoice_id",
        Some("api-key-1:api-secret-1"),
    );
    let url = erp.start().await;
    let setup = setup("no-reference", &erpnext_tenant(&url, "custom_order_ref"));
    accept(&setup, "invoice.created", "k1", example_invoice()).await;
    drain(&setup, 10).await;
    let dead = setup.store.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .reason
            .starts_with("look-up-before-post needs `custom_order_ref` in the payload"),
        "{}",
        dead[0].reason
    );
    assert_eq!(erp.posts.load(Ordering::SeqCst) + erp.lookups.load(Ordering::SeqCst), 0);
    let _ = std::fs::remove_dir_all(&setup.dir);
}

/// An SAP look-alike whose answers to writes are hostile, by the order's
/// reference (the requisition number).
async fn hostile_sap(State(calls): State<Arc<AtomicU64>>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    if method == Method::GET {
        if headers.get("x-csrf-token").is_some() {
            return (StatusCode::OK, [("x-csrf-token", "t")], "").into_response();
        }
        return axum::Json(json!({"d": {"results": []}})).into_response();
    }
    calls.fetch_add(1, Ordering::SeqCst);
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reference = payload["CorrespncExternalReference"].as_str().unwrap_or("");
    let created = |body: Body| {
        Response::builder()
            .status(StatusCode::CREATED)
            .header("content-type", "application/json")
            .body(body)
            .unwrap()
    };
    match reference {
        "PR-2026-0001" => created(Body::from(format!("{{\"d\":{{\"x\":\"{}\"}}}}", "y".repeat(12 << 20)))),
        "PR-2026-0002" => created(Body::from(vec![0xff, 0xfe, 0xfd, b'{'])),
        "PR-2026-0003" => created(Body::from("[".repeat(100_000))),
        "PR-2026-0004" => created(Body::from("<html><body>Gateway says hello</body></html>")),
        "PR-2026-0005" => {
            struct Stall;
            impl futures_core::Stream for Stall {
                type Item = Result<Bytes, std::io::Error>;
                fn poll_next(
                    self: std::pin::Pin<&mut Self>,
                    _: &mut std::task::Context<'_>,
                ) -> std::task::Poll<Option<Self::Item>> {
                    std::task::Poll::Pending
                }
            }
            created(Body::from_stream(Stall))
        }
        _ => (
            StatusCode::CREATED,
            axum::Json(json!({"d": {"PurchaseOrder": "4500000001", "CorrespncExternalReference": reference}})),
        )
            .into_response(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_json_answers_are_classified_never_a_crash() {
    let calls = Arc::new(AtomicU64::new(0));
    let base = serve(Router::new().fallback(hostile_sap).with_state(calls.clone()))
        .await
        .unwrap();
    let tenant = examples().join("procurement/tenants/acme_sap");
    let toml = format!(
        r#"id = "t"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "requisition.approved"
mapping = "{map}"
response = "{response}"
endpoint = "sap"
params_file = "{params}"
tables_file = "{tables}"
[endpoints.sap]
kind = "http_json"
url = "{base}/sap/A_PurchaseOrder"
sap_csrf = true
timeout_ms = 1000
retry = {{ max_attempts = 2, initial_backoff_ms = 10, max_backoff_ms = 20 }}
"#,
        hash = token_hash("t-token"),
        map = examples()
            .join("requisition_to_sap_po/requisition_to_sap_po.map")
            .display(),
        response = examples().join("requisition_to_sap_po/po_response.map").display(),
        params = tenant.join("params.toml").display(),
        tables = tenant.join("tables.toml").display(),
    );
    let setup = setup("hostile-json", &toml);
    let text = std::fs::read_to_string(examples().join("procurement/requisitions.jsonl")).unwrap();
    let template: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    for n in 1..=6 {
        let mut event = template.clone();
        event["id"] = format!("req_{n}").into();
        event["number"] = format!("PR-2026-{n:04}").into();
        accept(&setup, "requisition.approved", &format!("k{n}"), event).await;
    }
    drain(&setup, 30).await;
    let counts = setup.store.counts().await.unwrap();
    assert_eq!(delivered(&counts), 1, "only the sane answer is a success: {counts:?}");
    let mut reasons: Vec<String> = setup
        .store
        .dead_letters(None)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.reason)
        .collect();
    reasons.sort();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    // Four created-without-a-number verdicts from the response mapping, one
    // stalled body given up after its retries.
    let unreadable = reasons
        .iter()
        .filter(|r| r.as_str() == "the ERP refused it (201): SAP answered 201 without a purchase order number")
        .count();
    assert_eq!(unreadable, 4, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("gave up after 2 attempts; the last: reading the answer (201) timed out")),
        "{reasons:?}"
    );
    let _ = std::fs::remove_dir_all(&setup.dir);
}
