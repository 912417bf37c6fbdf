//! The runtime's first part end to end: tenant files checked with clear
//! errors, the intake API (auth, idempotency, validation with JSON paths,
//! tenant isolation, bad input) over the durable store, which keeps what
//! it acknowledged across a restart and commits concurrent writes in
//! groups.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::{example_invoice, examples};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mapwright_runtime::config::{PostingWindow, load_dir, token_hash};
use mapwright_runtime::intake::{Intake, router};
use mapwright_runtime::store::Store;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tower::ServiceExt;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapwright-rt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tenant_file(id: &str, token: &str) -> String {
    let map = examples().join("invoice_to_sap/invoice_to_sap.map");
    let tables = examples().join("invoice_to_sap/tenant_acme/tables.toml");
    format!(
        r#"id = "{id}"
name = "Tenant {id}"

[intake]
token_sha256 = "{hash}"

[[routes]]
event = "invoice.created"
mapping = "{map}"
endpoint = "sap"
params = {{ company_code = "1010" }}
tables_file = "{tables}"
order_by = "$.supplier.id"

[endpoints.sap]
kind = "http_json"
url = "http://127.0.0.1:9/sap/opu/odata/sap/API_SUPPLIERINVOICE_PROCESS_SRV/A_SupplierInvoice"
auth = {{ kind = "basic", user = "RFC_USER", password = "env:SAP_PASSWORD" }}
sap_csrf = true
rate_per_second = 20
max_concurrency = 2
posting_window = "22:00-06:00 Europe/Berlin"
retry = {{ max_attempts = 5, initial_backoff_ms = 100, max_backoff_ms = 10000 }}
"#,
        hash = token_hash(token),
        map = map.display(),
        tables = tables.display()
    )
}

fn setup(name: &str) -> (Arc<Intake>, PathBuf) {
    let dir = temp_dir(name);
    let config_dir = dir.join("tenants");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join("acme.toml"), tenant_file("acme", "acme-token")).unwrap();
    std::fs::write(config_dir.join("globex.toml"), tenant_file("globex", "globex-token")).unwrap();
    let config = load_dir(&config_dir, None).unwrap_or_else(|e| panic!("{e:?}"));
    let store = Store::open(&dir.join("store.db")).unwrap();
    (
        Arc::new(Intake {
            config: Arc::new(RwLock::new(Arc::new(config))),
            store,
            accepted: Arc::new(tokio::sync::Notify::new()),
        }),
        dir,
    )
}

async fn call(intake: &Arc<Intake>, request: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
    let response = router(intake.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body, headers)
}

fn post(token: Option<&str>, key: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::post("/v1/events").header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    if let Some(key) = key {
        builder = builder.header("idempotency-key", key);
    }
    builder.body(body.into()).unwrap()
}

fn get(token: &str, uri: &str) -> Request<Body> {
    Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn an_accepted_event_is_stored_and_seen_only_by_its_tenant() {
    let (intake, _dir) = setup("accept");
    let body =
        json!({"type": "invoice.created", "data": example_invoice(), "business_key": "RE-2025-00042"}).to_string();
    let request = post(Some("acme-token"), Some("k-1"), body.clone());
    let (status, answer, _) = call(&intake, request).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();
    assert!(!answer["correlation_id"].as_str().unwrap().is_empty());

    let (status, event, _) = call(&intake, get("acme-token", &format!("/v1/events/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(event["type"], "invoice.created");
    assert_eq!(event["deliveries"][0]["endpoint"], "sap");
    assert_eq!(event["deliveries"][0]["status"], "pending");

    // Another tenant cannot see it, nor tell it exists.
    let (status, _, _) = call(&intake, get("globex-token", &format!("/v1/events/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, found, _) = call(&intake, get("acme-token", "/v1/events?business_key=RE-2025-00042")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["events"][0]["id"], id.as_str());
    let (_, found, _) = call(&intake, get("globex-token", "/v1/events?business_key=RE-2025-00042")).await;
    assert_eq!(found["events"], json!([]));
}

#[tokio::test]
async fn idempotency_keys_give_the_first_answer_or_a_conflict() {
    let (intake, _dir) = setup("idempotency");
    let body = json!({"type": "invoice.created", "data": example_invoice()}).to_string();
    let request = post(Some("acme-token"), Some("same"), body.clone());
    let (status, first, _) = call(&intake, request).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, again, headers) = call(&intake, post(Some("acme-token"), Some("same"), body.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again, first);
    assert_eq!(headers.get("idempotent-replayed").unwrap(), "true");
    // The same key from another tenant is another event.
    let (status, other, _) = call(&intake, post(Some("globex-token"), Some("same"), body.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_ne!(other["id"], first["id"]);
    // The same key with another body is a conflict.
    let mut changed = example_invoice();
    changed["number"] = "RE-2025-00099".into();
    let body = json!({"type": "invoice.created", "data": changed}).to_string();
    let (status, conflict, _) = call(&intake, post(Some("acme-token"), Some("same"), body)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(conflict["id"], first["id"]);
}

#[tokio::test]
async fn data_that_does_not_fit_is_refused_with_paths() {
    let (intake, _dir) = setup("validate");
    let mut bad = example_invoice();
    bad["issued_on"] = "2026-02-30".into();
    bad["lines"][1]["net_amount"] = "1.234".into();
    let body = json!({"type": "invoice.created", "data": bad}).to_string();
    let (status, answer, _) = call(&intake, post(Some("acme-token"), Some("v-1"), body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let paths: Vec<&str> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["$.data.issued_on", "$.data.lines[1].net_amount"]);

    let body = json!({"type": "invoice.paid", "data": example_invoice()}).to_string();
    let (status, answer, _) = call(&intake, post(Some("acme-token"), Some("v-2"), body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"][0]["path"], "$.type");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no route for event type `invoice.paid`")
    );
    // Nothing was stored under those keys: they can be used for a good event.
    let body = json!({"type": "invoice.created", "data": example_invoice()}).to_string();
    let (status, _, _) = call(&intake, post(Some("acme-token"), Some("v-1"), body)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn bad_requests_get_clear_4xx() {
    let (intake, _dir) = setup("bad");
    let good = json!({"type": "invoice.created", "data": example_invoice()}).to_string();
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post(None, Some("a"), good.clone()),
            StatusCode::UNAUTHORIZED,
            "missing `Authorization",
        ),
        (
            post(Some("nope"), Some("a"), good.clone()),
            StatusCode::UNAUTHORIZED,
            "unknown token",
        ),
        (
            post(Some("acme-token"), None, good.clone()),
            StatusCode::BAD_REQUEST,
            "missing `Idempotency-Key`",
        ),
        (
            post(Some("acme-token"), Some(&"k".repeat(300)), good.clone()),
            StatusCode::BAD_REQUEST,
            "1 to 255 characters",
        ),
        (
            post(Some("acme-token"), Some("a"), "{\"type\": "),
            StatusCode::BAD_REQUEST,
            "the body is not an event",
        ),
        (
            post(
                Some("acme-token"),
                Some("a"),
                "{\"type\": \"x.y\", \"data\": {}, \"extra\": 1}",
            ),
            StatusCode::BAD_REQUEST,
            "unknown field `extra`",
        ),
    ];
    for (request, want, message) in cases {
        let (status, answer, _) = call(&intake, request).await;
        assert_eq!(status, want, "{answer}");
        assert!(answer["error"].as_str().unwrap_or("").contains(message), "{answer}");
    }
    let huge = format!(
        "{{\"type\": \"invoice.created\", \"data\": \"{}\"}}",
        "x".repeat(5 * 1024 * 1024)
    );
    let response = router(intake.clone())
        .oneshot(post(Some("acme-token"), Some("big"), huge))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, _) = call(&intake, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn what_was_acknowledged_survives_a_restart() {
    let (intake, dir) = setup("restart");
    let body = json!({"type": "invoice.created", "data": example_invoice()}).to_string();
    let (_, answer, _) = call(&intake, post(Some("acme-token"), Some("r-1"), body)).await;
    let id = answer["id"].as_str().unwrap().to_owned();
    drop(intake);
    let reopened = Store::open(&dir.join("store.db")).unwrap();
    let event = reopened.event("acme", &id).await.unwrap().unwrap();
    assert_eq!(event.deliveries.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_accepts_are_committed_in_groups_and_all_answered() {
    let (intake, _dir) = setup("concurrent");
    let body = json!({"type": "invoice.created", "data": example_invoice()}).to_string();
    let mut handles = Vec::new();
    for n in 0..300 {
        let intake = intake.clone();
        let body = body.clone();
        handles.push(tokio::spawn(async move {
            let (status, answer, _) = call(&intake, post(Some("acme-token"), Some(&format!("c-{n}")), body)).await;
            assert_eq!(status, StatusCode::ACCEPTED);
            answer["id"].as_str().unwrap().to_owned()
        }));
    }
    let mut ids = Vec::new();
    for handle in handles {
        ids.push(handle.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 300);
}

#[test]
fn tenant_files_are_checked_with_every_problem_named() {
    let dir = temp_dir("config");
    let map = examples().join("invoice_to_sap/invoice_to_sap.map");
    std::fs::write(
        dir.join("bad.toml"),
        format!(
            r#"id = "bad tenant"
[intake]
token_sha256 = "abc"

[[routes]]
event = "Invoice"
mapping = "{map}"
endpoint = "sapp"
params = {{ company_code = "TOO-LONG" }}

[[routes]]
event = "invoice.created"
mapping = "missing.map"
endpoint = "sap"

[endpoints.sap]
kind = "sftp"
url = "ftp://x"
auth = {{ kind = "bearer", token = "s3cr3t" }}
posting_window = "25:00-06:00 Mars/Olympus"
max_concurrency = 0

[endpoints.bc]
kind = "http_json"
url = "http://bc.example/api"
idempotency = {{ strategy = "lookup", flavor = "odata_v9", reference = "externalDocumentNumber" }}

[endpoints.ns]
kind = "http_json"
url = "http://ns.example/api"
soap_action = "add"
idempotency = {{ strategy = "upsert" }}

[endpoints.legacy]
kind = "soap"
url = "http://legacy.example/ws"
soap_headers = ['<l:client xmlns:l="urn:l">']

[endpoints.rest]
kind = "http_json"
url = "http://rest.example/api"
auth = {{ kind = "ws_security", user = "u", password = "env:P" }}
"#,
            map = map.display()
        ),
    )
    .unwrap();
    let errors = load_dir(&dir, None).err().unwrap();
    let joined: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let joined = joined.join("\n");
    for expected in [
        "id: \"bad tenant\": a tenant id is letters, digits",
        "intake.token_sha256: expected the token's SHA-256 as 64 hex digits",
        "endpoints.sap.kind: `sftp` is not an endpoint kind this runtime delivers to (known: http_json, soap, file_drop, sql_staging)",
        "endpoints.bc.idempotency: \"odata_v9\": `flavor` is \"odata_v2\" (SAP), \"odata_v4\" (Business Central) or \"frappe\" (ERPNext)",
        "endpoints.ns.idempotency: strategy \"upsert\" is NetSuite's, over SOAP (kind = \"soap\")",
        "endpoints.ns.soap_version: soap_version, soap_action, soap_headers and netsuite_version apply to soap endpoints only",
        "endpoints.legacy.soap_headers[0]: not one well-formed XML element",
        "endpoints.rest.auth: ws_security authenticates SOAP requests",
        "endpoints.sap.url: \"ftp://x\" is not an http(s) URL",
        "endpoints.sap.auth.token: credentials are given by reference",
        "endpoints.sap.posting_window: \"25:00-06:00 Mars/Olympus\" is not a posting window",
        "endpoints.sap.max_concurrency: must be at least 1",
        "routes[0].event: \"Invoice\" is not an event type",
        "routes[0].endpoint: no endpoint `sapp` in this file",
        "routes[0].params: `company_code`: the text has 8 characters; the param takes at most 4",
        "routes[1].mapping: cannot read",
    ] {
        assert!(joined.contains(expected), "missing `{expected}` in:\n{joined}");
    }
    assert!(
        joined.lines().all(|l| !l.contains("s3cr3t")),
        "a secret was echoed:\n{joined}"
    );
}

#[test]
fn posting_windows_open_and_close_in_their_time_zone() {
    let window = PostingWindow::parse("22:00-06:00 Europe/Berlin").unwrap();
    let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();
    // 21:30 UTC in winter is 22:30 in Berlin: open.
    assert!(window.is_open(at("2025-01-15T21:30:00Z")));
    // 12:00 UTC is 13:00 in Berlin: closed; it opens at 22:00 Berlin.
    assert!(!window.is_open(at("2025-01-15T12:00:00Z")));
    assert_eq!(window.next_open(at("2025-01-15T12:00:00Z")), at("2025-01-15T21:00:00Z"));
    // In summer Berlin is UTC+2.
    assert_eq!(window.next_open(at("2025-07-15T12:00:00Z")), at("2025-07-15T20:00:00Z"));
    assert!(window.is_open(at("2025-07-16T03:59:00Z")));
    assert!(!window.is_open(at("2025-07-16T04:00:00Z")));
    assert!(PostingWindow::parse("10:00-10:00 UTC").is_err());
    assert!(PostingWindow::parse("9:00-10:00 UTC").is_err());
}

/// The OpenAPI document describes exactly the routes the intake serves.
#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let (intake, _dir) = setup("openapi");
    let (status, document, _) = call(&intake, Request::get("/openapi.json").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 5);
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let uri = match path.as_str() {
                "/v1/events/{id}" => "/v1/events/no-such-event".to_owned(),
                "/v1/events" => "/v1/events?business_key=x".to_owned(),
                other => other.to_owned(),
            };
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header("authorization", "Bearer acme-token")
                .body(Body::empty())
                .unwrap();
            let response = router(intake.clone()).oneshot(request).await.unwrap();
            // Routed: a 404 here must be the API's own "no event", not a
            // missing route (which has no JSON body).
            if response.status() == StatusCode::NOT_FOUND {
                let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
                let body: Value = serde_json::from_slice(&bytes).expect("a routed 404 has a JSON body");
                assert!(
                    body["error"].as_str().unwrap().starts_with("no event"),
                    "{method} {path}"
                );
            } else {
                assert_ne!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            }
        }
    }
}
