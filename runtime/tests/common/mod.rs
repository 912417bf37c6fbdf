//! What the runtime's tests and bench share: the examples folder, the
//! output shape of a mapping (for simulated ERPs that check payloads), the
//! German example invoice and the example requisition, and a runtime in the
//! test's process (intake, dispatcher, store) with its helpers.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test uses a part

use mapwright_compiler::wire::shape::Shapes;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository's `examples/` folder.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// The output shape of the only mapping of `examples/<relative>`.
pub fn output_shapes(relative: &str) -> Shapes {
    let file = examples().join(relative);
    let checked = mapwright_project::check_file(&file, None).unwrap();
    mapwright_project::program(&checked, &file, None).unwrap().output
}

/// The shape SAP's supplier-invoice endpoint takes (the invoice_to_sap
/// example's output).
pub fn sap_invoice_shapes() -> Shapes {
    output_shapes("invoice_to_sap/invoice_to_sap.map")
}

/// The German example invoice (a canonical invoice event).
pub fn example_invoice() -> Value {
    serde_json::from_slice(
        &std::fs::read(examples().join("invoice_to_sap/invoice_to_sap.tests/de_supplier_invoice/input.json")).unwrap(),
    )
    .unwrap()
}

/// A runtime in the test's process over a folder's `tenants/` and a store:
/// the intake (called as a service) and a dispatcher run round by round.
pub struct Setup {
    /// The test's folder.
    pub dir: PathBuf,
    /// The intake.
    pub intake: std::sync::Arc<mapwright_runtime::intake::Intake>,
    /// The dispatcher.
    pub dispatcher: std::sync::Arc<mapwright_runtime::dispatch::Dispatcher>,
    /// The store.
    pub store: mapwright_runtime::store::Store,
}

/// A fresh folder `mapwright-<kind>-<pid>-<name>` with an empty `tenants/`.
pub fn temp_dir(kind: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapwright-{kind}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    dir
}

/// Loads `dir/tenants` (panicking with every problem) over `store`, or a
/// new store `dir/store.db`.
pub fn start(dir: &Path, store: Option<mapwright_runtime::store::Store>) -> Setup {
    use std::sync::{Arc, RwLock};
    let config = Arc::new(RwLock::new(Arc::new(
        mapwright_runtime::config::load_dir(&dir.join("tenants"), None).unwrap_or_else(|e| panic!("{e:?}")),
    )));
    let store = store.unwrap_or_else(|| mapwright_runtime::store::Store::open(&dir.join("store.db")).unwrap());
    let intake = Arc::new(mapwright_runtime::intake::Intake {
        config: config.clone(),
        store: store.clone(),
        accepted: Arc::new(tokio::sync::Notify::new()),
    });
    let dispatcher = mapwright_runtime::dispatch::Dispatcher::new(store.clone(), config).unwrap();
    Setup {
        dir: dir.to_owned(),
        intake,
        dispatcher,
        store,
    }
}

/// Posts an event to the intake; it must be accepted (202).
pub async fn post_event(setup: &Setup, token: &str, kind: &str, key: &str, data: Value) {
    use tower::ServiceExt;
    let request = axum::http::Request::post("/v1/events")
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", key)
        .body(axum::body::Body::from(
            serde_json::json!({"type": kind, "data": data}).to_string(),
        ))
        .unwrap();
    let response = mapwright_runtime::intake::router(setup.intake.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), axum::http::StatusCode::ACCEPTED);
}

/// Runs dispatcher rounds until nothing is pending or in flight, or the
/// deadline passes.
pub async fn drain(setup: &Setup, seconds: u64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        setup.dispatcher.clone().round().await;
        let counts = setup.store.counts().await.unwrap();
        if !counts
            .iter()
            .any(|(_, _, status, n)| *n > 0 && (status == "pending" || status == "in_flight"))
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Deliveries in `status`, over every tenant and endpoint.
pub fn count(counts: &[(String, String, String, i64)], status: &str) -> i64 {
    counts.iter().filter(|c| c.2 == status).map(|c| c.3).sum()
}

/// The example requisition as requisition `n` (`req_<n>`, `PR-2026-<n>`).
pub fn requisition(n: usize) -> Value {
    let text = std::fs::read_to_string(examples().join("procurement/requisitions.jsonl")).unwrap();
    let mut event: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    event["id"] = format!("req_{n}").into();
    event["number"] = format!("PR-2026-{n:04}").into();
    event
}
