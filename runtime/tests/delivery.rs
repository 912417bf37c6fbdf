//! Delivery end to end against simulated ERPs: events accepted through the
//! intake are mapped and posted with SAP's CSRF handshake, retried through
//! 503s and 429s until delivered exactly once per idempotency key,
//! dead-lettered when the mapping fails or the ERP refuses the payload,
//! held while the posting window is closed, and one tenant's outage does
//! not slow another tenant down.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::{example_invoice, examples, output_shapes, sap_invoice_shapes};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mapwright_runtime::config::{load_dir, token_hash};
use mapwright_runtime::dispatch::Dispatcher;
use mapwright_runtime::intake::{Intake, router};
use mapwright_runtime::sim::SimErp;
use mapwright_runtime::store::Store;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tower::ServiceExt;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapwright-dl-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    dir
}

fn tenant(dir: &Path, id: &str, url: &str, extra: &str) {
    std::fs::write(dir.join("tenants").join(format!("{id}.secret")), "s3cr3t\n").unwrap();
    let text = format!(
        r#"id = "{id}"
[intake]
token_sha256 = "{hash}"

[[routes]]
event = "invoice.created"
mapping = "{map}"
endpoint = "sap"
params = {{ company_code = "1010" }}
tables_file = "{tables}"

[endpoints.sap]
kind = "http_json"
url = "{url}/sap/opu/odata/sap/API_SUPPLIERINVOICE_PROCESS_SRV/A_SupplierInvoice"
auth = {{ kind = "basic", user = "RFC", password = "file:{id}.secret" }}
sap_csrf = true
max_concurrency = 4
retry = {{ max_attempts = 6, initial_backoff_ms = 20, max_backoff_ms = 200 }}
{extra}
"#,
        hash = token_hash(&format!("{id}-token")),
        map = examples().join("invoice_to_sap/invoice_to_sap.map").display(),
        tables = examples().join("invoice_to_sap/tenant_acme/tables.toml").display(),
    );
    std::fs::write(dir.join("tenants").join(format!("{id}.toml")), text).unwrap();
}

struct Setup {
    intake: Arc<Intake>,
    dispatcher: Arc<Dispatcher>,
    store: Store,
}

fn start(dir: &Path) -> Setup {
    let config = Arc::new(RwLock::new(Arc::new(
        load_dir(&dir.join("tenants"), None).unwrap_or_else(|e| panic!("{e:?}")),
    )));
    let store = Store::open(&dir.join("store.db")).unwrap();
    let intake = Arc::new(Intake {
        config: config.clone(),
        store: store.clone(),
        accepted: Arc::new(tokio::sync::Notify::new()),
    });
    let dispatcher = Dispatcher::new(store.clone(), config).unwrap();
    Setup {
        intake,
        dispatcher,
        store,
    }
}

fn invoice(number: usize, supplier: &str) -> Value {
    let mut value = example_invoice();
    value["number"] = format!("RE-{number:06}").into();
    value["supplier"]["id"] = supplier.into();
    value
}

async fn accept(setup: &Setup, tenant: &str, key: &str, data: Value) -> String {
    let request = Request::post("/v1/events")
        .header("authorization", format!("Bearer {tenant}-token"))
        .header("idempotency-key", key)
        .body(Body::from(json!({"type": "invoice.created", "data": data}).to_string()))
        .unwrap();
    let response = router(setup.intake.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    value["id"].as_str().unwrap().to_owned()
}

/// Runs dispatcher rounds until nothing is pending or the deadline passes.
async fn drain(setup: &Setup, seconds: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        setup.dispatcher.clone().round().await;
        let counts = setup.store.counts().await.unwrap();
        if !counts
            .iter()
            .any(|(_, _, status, n)| *n > 0 && (status == "pending" || status == "in_flight"))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_delivered_once_through_503s_and_429s() {
    let sim = SimErp::new(Some(sap_invoice_shapes()), 3, 5);
    let url = sim.start().await.unwrap();
    let dir = temp_dir("faults");
    tenant(&dir, "acme", &url, "");
    let setup = start(&dir);
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(accept(&setup, "acme", &format!("k{n}"), invoice(n, "SUP-DE-001")).await);
    }
    drain(&setup, 30).await;
    assert_eq!(sim.documents(), 20, "rejected: {}", sim.rejected.load(Ordering::SeqCst));
    assert_eq!(sim.rejected.load(Ordering::SeqCst), 0);
    assert!(sim.received.load(Ordering::SeqCst) > 20, "no fault was injected");
    for id in &ids {
        let event = setup.store.event("acme", id).await.unwrap().unwrap();
        let delivery = &event.deliveries[0];
        assert_eq!(delivery.status, "delivered", "{event:?}");
        assert!(delivery.erp_document.as_deref().unwrap().starts_with("51056"));
        assert_eq!(delivery.attempts.last().unwrap().outcome, "delivered");
    }
    assert!(setup.store.dead_letters(None).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_failures_and_refusals_go_to_the_dead_letter_queue() {
    // This ERP expects a purchase order: a supplier invoice does not fit.
    let other = output_shapes("requisition_to_sap_po/requisition_to_sap_po.map");
    let sim = SimErp::new(Some(other), 0, 0);
    let url = sim.start().await.unwrap();
    let dir = temp_dir("dead");
    tenant(&dir, "acme", &url, "");
    let setup = start(&dir);
    accept(&setup, "acme", "unknown-supplier", invoice(1, "SUP-UNKNOWN")).await;
    accept(&setup, "acme", "refused", invoice(2, "SUP-DE-001")).await;
    drain(&setup, 10).await;
    let dead = setup.store.dead_letters(Some("acme")).await.unwrap();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(
        dead.iter().any(|d| d
            .reason
            .contains("$.supplier.id → $.InvoicingParty: supplier not yet in SAP")),
        "{dead:?}"
    );
    assert!(
        dead.iter()
            .any(|d| d.reason.contains("the ERP refused it (400)") && d.reason.contains("not a property")),
        "{dead:?}"
    );
    assert_eq!(sim.documents(), 0);
    let unknown = dead
        .iter()
        .find(|d| d.reason.contains("supplier not yet in SAP"))
        .unwrap();
    let shown = setup.store.dead_letter(unknown.delivery_id).await.unwrap().unwrap();
    assert_eq!(shown["tenant"], "acme");
    assert_eq!(shown["data"]["number"], "RE-000001");
    assert_eq!(shown["event"]["deliveries"][0]["attempts"][0]["outcome"], "failed");
    // Replay puts them back in the queue (they fail again: nothing changed).
    assert_eq!(setup.store.replay(Some("acme"), None).await.unwrap(), 2);
    assert!(setup.store.dead_letters(Some("acme")).await.unwrap().is_empty());
    drain(&setup, 10).await;
    assert_eq!(setup.store.dead_letters(Some("acme")).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_outage_does_not_delay_another() {
    let down = SimErp::new(None, 0, 0);
    down.down.store(true, Ordering::SeqCst);
    let up = SimErp::new(Some(sap_invoice_shapes()), 0, 0);
    let (down_url, up_url) = (down.start().await.unwrap(), up.start().await.unwrap());
    let dir = temp_dir("isolation");
    tenant(&dir, "acme", &down_url, "");
    tenant(&dir, "globex", &up_url, "");
    let setup = start(&dir);
    let mut ids = Vec::new();
    for n in 0..10 {
        accept(&setup, "acme", &format!("a{n}"), invoice(n, "SUP-DE-001")).await;
        ids.push(accept(&setup, "globex", &format!("g{n}"), invoice(n, "SUP-DE-001")).await);
    }
    // One round: every globex event goes on its first attempt.
    setup.dispatcher.clone().round().await;
    for id in &ids {
        let event = setup.store.event("globex", id).await.unwrap().unwrap();
        assert_eq!(event.deliveries[0].status, "delivered");
        assert_eq!(event.deliveries[0].attempts.len(), 1);
    }
    assert_eq!(up.documents(), 10);
    let counts = setup.store.counts().await.unwrap();
    assert!(
        counts
            .iter()
            .any(|(t, _, s, n)| t == "acme" && s == "pending" && *n == 10),
        "{counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_posting_window_holds_deliveries_without_attempts() {
    let sim = SimErp::new(None, 0, 0);
    let url = sim.start().await.unwrap();
    let dir = temp_dir("window");
    // A one-hour window starting two hours from now (UTC).
    let now = jiff::tz::TimeZone::UTC.to_datetime(jiff::Timestamp::now());
    let open = (now.hour() as u16 + 2) % 24;
    let window = format!("posting_window = \"{open:02}:00-{:02}:00 UTC\"", (open + 1) % 24);
    tenant(&dir, "acme", &url, &window);
    let setup = start(&dir);
    let id = accept(&setup, "acme", "w1", invoice(1, "SUP-DE-001")).await;
    setup.dispatcher.clone().round().await;
    let event = setup.store.event("acme", &id).await.unwrap().unwrap();
    assert_eq!(event.deliveries[0].status, "pending");
    assert!(event.deliveries[0].attempts.is_empty());
    assert!(
        event.deliveries[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("posting window")
    );
    assert_eq!(sim.received.load(Ordering::SeqCst), 0);
}

/// In the manner of Camel's idempotent-consumer tests: keys 1, 2, 1, 2, 1,
/// 3 arrive while the ERP fails every other request; three events, three
/// documents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_keys_with_failures_make_one_document_each() {
    let sim = SimErp::new(Some(sap_invoice_shapes()), 2, 0);
    let url = sim.start().await.unwrap();
    let dir = temp_dir("camel");
    tenant(&dir, "acme", &url, "");
    let setup = start(&dir);
    let mut ids = Vec::new();
    for key in ["1", "2", "1", "2", "1", "3"] {
        let n: usize = key.parse().unwrap();
        ids.push(accept(&setup, "acme", key, invoice(n, "SUP-DE-001")).await);
        setup.dispatcher.clone().round().await;
    }
    drain(&setup, 10).await;
    assert_eq!(ids[0], ids[2]);
    assert_eq!(ids[0], ids[4]);
    assert_eq!(ids[1], ids[3]);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(sim.documents(), 3);
    assert!(sim.received.load(Ordering::SeqCst) > 3, "no failure was injected");
}

/// OAuth 2.0 client credentials: the token is fetched once, reused, and
/// the payload goes with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_client_credentials_are_fetched_once_and_reused() {
    let sim = SimErp::new(Some(sap_invoice_shapes()), 0, 0);
    *sim.oauth_secret.lock().unwrap() = Some("client-s3cret".to_owned());
    let url = sim.start().await.unwrap();
    let dir = temp_dir("oauth");
    std::fs::write(dir.join("tenants/acme.client"), "client-s3cret").unwrap();
    // The endpoint authenticates with OAuth instead of basic auth.
    tenant(&dir, "acme", &url, "");
    let file = dir.join("tenants/acme.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "auth = { kind = \"basic\", user = \"RFC\", password = \"file:acme.secret\" }",
        &format!(
            "auth = {{ kind = \"oauth2\", token_url = \"{url}/oauth/token\", client_id = \"mapwright\", client_secret = \"file:acme.client\" }}"
        ),
    );
    assert!(text.contains("oauth2"));
    std::fs::write(&file, text).unwrap();
    let setup = start(&dir);
    for n in 0..5 {
        accept(&setup, "acme", &format!("o{n}"), invoice(n, "SUP-DE-001")).await;
    }
    drain(&setup, 10).await;
    assert_eq!(sim.documents(), 5);
    assert_eq!(sim.tokens_issued.load(Ordering::SeqCst), 1);
}

/// Each final outcome goes back to the platform as a signed status
/// webhook, retried until the platform takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_are_reported_by_signed_webhooks_retried_until_taken() {
    use axum::extract::State;
    type Seen = Arc<std::sync::Mutex<Vec<(String, String)>>>;
    let seen: Seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    async fn receive(State(seen): State<Seen>, headers: axum::http::HeaderMap, body: String) -> StatusCode {
        let mut seen = seen.lock().unwrap();
        let signature = headers.get("mapwright-signature").unwrap().to_str().unwrap().to_owned();
        seen.push((signature, body));
        // The platform fails the first call.
        if seen.len() == 1 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    }
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sim = SimErp::new(Some(sap_invoice_shapes()), 0, 0);
    let url = sim.start().await.unwrap();
    let dir = temp_dir("webhook");
    std::fs::write(dir.join("tenants/acme.hook"), "whsec-42").unwrap();
    tenant(
        &dir,
        "acme",
        &url,
        &format!("\n[webhook]\nurl = \"{hook_url}\"\nsecret = \"file:acme.hook\"\n"),
    );
    let setup = start(&dir);
    let id = accept(&setup, "acme", "h1", invoice(1, "SUP-DE-001")).await;
    drain(&setup, 10).await;
    // The first webhook call failed; it is retried after its backoff.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the webhook was not retried");
        setup.dispatcher.clone().send_webhooks().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls[0].1, calls[1].1, "the same status event both times");
    let body: Value = serde_json::from_str(&calls[1].1).unwrap();
    assert_eq!(body["event_id"], id.as_str());
    assert_eq!(body["status"], "delivered");
    assert!(body["erp_document"].as_str().unwrap().starts_with("51056"));
    let (t, v1) = calls[1].0.split_once(",v1=").unwrap();
    let timestamp: i64 = t.trim_start_matches("t=").parse().unwrap();
    assert_eq!(
        v1,
        mapwright_runtime::dispatch::sign("whsec-42", timestamp, &calls[1].1)
    );
    assert_ne!(v1, mapwright_runtime::dispatch::sign("wrong", timestamp, &calls[1].1));
    let counts = setup.store.webhook_counts().await.unwrap();
    assert_eq!(counts, vec![("sent".to_owned(), 1)]);
}

/// With adaptive concurrency an endpoint that throttles still gets every
/// event, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_concurrency_delivers_through_throttling() {
    let sim = SimErp::new(Some(sap_invoice_shapes()), 0, 2);
    let url = sim.start().await.unwrap();
    let dir = temp_dir("adaptive");
    tenant(&dir, "acme", &url, "adaptive_concurrency = true");
    let setup = start(&dir);
    for n in 0..12 {
        accept(&setup, "acme", &format!("ad{n}"), invoice(n, "SUP-DE-001")).await;
    }
    drain(&setup, 30).await;
    assert_eq!(sim.documents(), 12);
    assert!(sim.received.load(Ordering::SeqCst) > 12, "no throttling happened");
}

/// An ERP slower than the endpoint's timeout: the attempt counts as failed
/// and is retried; the ERP had committed, so the retry repeats the key and
/// no second document is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_retried_under_the_same_key() {
    let sim = SimErp::new(Some(sap_invoice_shapes()), 0, 0);
    sim.latency_ms.store(400, Ordering::SeqCst);
    let url = sim.start().await.unwrap();
    let dir = temp_dir("timeout");
    tenant(&dir, "acme", &url, "timeout_ms = 100");
    let setup = start(&dir);
    let id = accept(&setup, "acme", "t1", invoice(1, "SUP-DE-001")).await;
    setup.dispatcher.clone().round().await;
    let event = setup.store.event("acme", &id).await.unwrap().unwrap();
    assert_eq!(event.deliveries[0].status, "pending");
    assert!(
        event.deliveries[0].attempts[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("timed out"),
        "{event:?}"
    );
    // The ERP speeds up; the retry carries the same key.
    sim.latency_ms.store(0, Ordering::SeqCst);
    drain(&setup, 10).await;
    let event = setup.store.event("acme", &id).await.unwrap().unwrap();
    assert_eq!(event.deliveries[0].status, "delivered");
    // However the timed-out request fared at the ERP (committed, then cut
    // off; or cut off before it arrived), there is one document.
    assert_eq!(sim.documents(), 1);
}

/// An ERP that drops connections: each attempt fails at the transport and
/// is retried; when the ERP comes back, the event is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_are_retried() {
    // A listener that accepts and closes at once.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let resets = tokio::spawn(async move {
        for _ in 0..3 {
            let (socket, _) = listener.accept().await.unwrap();
            drop(socket);
        }
        listener
    });
    let dir = temp_dir("reset");
    tenant(&dir, "acme", &format!("http://{address}"), "");
    // No CSRF here: the resets hit the write itself.
    let file = dir.join("tenants/acme.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("sap_csrf = true", "sap_csrf = false");
    std::fs::write(&file, text).unwrap();
    let setup = start(&dir);
    let id = accept(&setup, "acme", "r1", invoice(1, "SUP-DE-001")).await;
    for _ in 0..3 {
        setup.dispatcher.clone().round().await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let event = setup.store.event("acme", &id).await.unwrap().unwrap();
    assert!(event.deliveries[0].attempts.len() >= 2, "{event:?}");
    assert!(
        event.deliveries[0].attempts.iter().all(|a| a.outcome == "retry"),
        "{event:?}"
    );
    assert!(
        event.deliveries[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("the request failed"),
        "{event:?}"
    );
    drop(resets.await.unwrap());
}

/// A route with `when` applies only to the events its condition holds
/// for; the condition is a `fn` of the mapping file, checked at load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_conditions_choose_the_events_a_route_takes() {
    let sim = SimErp::new(Some(sap_invoice_shapes()), 0, 0);
    let url = sim.start().await.unwrap();
    let dir = temp_dir("when");
    let source = std::fs::read_to_string(examples().join("invoice_to_sap/invoice_to_sap.map")).unwrap();
    let map = dir.join("tenants/eur_only.map");
    std::fs::write(
        &map,
        format!("{source}\n/// Only invoices in euro go to this SAP system.\nfn in_euro(inv: Invoice) -> Bool {{ inv.currency == \"EUR\" }}\n"),
    )
    .unwrap();
    tenant(&dir, "acme", &url, "");
    let file = dir.join("tenants/acme.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let original_map = examples()
        .join("invoice_to_sap/invoice_to_sap.map")
        .display()
        .to_string();
    let routed = text
        .replace(&original_map, "eur_only.map")
        .replace("endpoint = \"sap\"\n", "endpoint = \"sap\"\nwhen = \"in_euro\"\n");
    std::fs::write(&file, &routed).unwrap();
    let setup = start(&dir);
    let euro = accept(&setup, "acme", "eur", invoice(1, "SUP-DE-001")).await;
    let mut dollars = invoice(2, "SUP-DE-001");
    dollars["currency"] = "USD".into();
    let usd = accept(&setup, "acme", "usd", dollars).await;
    drain(&setup, 10).await;
    assert_eq!(
        setup
            .store
            .event("acme", &euro)
            .await
            .unwrap()
            .unwrap()
            .deliveries
            .len(),
        1
    );
    assert_eq!(
        setup.store.event("acme", &usd).await.unwrap().unwrap().deliveries.len(),
        0
    );
    assert_eq!(sim.documents(), 1);
    // A condition that is not a fn of the file is a configuration error.
    std::fs::write(&file, routed.replace("when = \"in_euro\"", "when = \"in_eur\"")).unwrap();
    let errors = load_dir(&dir.join("tenants"), None).err().unwrap();
    assert!(
        errors[0]
            .to_string()
            .contains("routes[0].when: the mapping file has no `fn in_eur`"),
        "{errors:?}"
    );
}

/// With `order_by`, one entity's deliveries go in acceptance order: while
/// the first is failing, the second waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_by_keeps_one_entitys_deliveries_in_order() {
    let sim = SimErp::new(Some(sap_invoice_shapes()), 0, 0);
    sim.down.store(true, Ordering::SeqCst);
    let url = sim.start().await.unwrap();
    let dir = temp_dir("order");
    tenant(&dir, "acme", &url, "");
    let file = dir.join("tenants/acme.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "endpoint = \"sap\"\n",
        "endpoint = \"sap\"\norder_by = \"$.supplier.id\"\n",
    );
    std::fs::write(&file, text).unwrap();
    let setup = start(&dir);
    let first = accept(&setup, "acme", "o1", invoice(1, "SUP-DE-001")).await;
    let second = accept(&setup, "acme", "o2", invoice(2, "SUP-DE-001")).await;
    for _ in 0..3 {
        setup.dispatcher.clone().round().await;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let a = setup.store.event("acme", &first).await.unwrap().unwrap();
    let b = setup.store.event("acme", &second).await.unwrap().unwrap();
    assert!(!a.deliveries[0].attempts.is_empty());
    assert!(
        b.deliveries[0].attempts.is_empty(),
        "the second went before the first: {b:?}"
    );
    sim.down.store(false, Ordering::SeqCst);
    drain(&setup, 10).await;
    let a = setup.store.event("acme", &first).await.unwrap().unwrap();
    let b = setup.store.event("acme", &second).await.unwrap().unwrap();
    assert!(
        a.deliveries[0].erp_document < b.deliveries[0].erp_document,
        "{a:?} {b:?}"
    );
}

/// A file-drop endpoint writes one file per event atomically; a file
/// already there with the same bytes (a crash after the rename) counts as
/// delivered, one with other bytes is never overwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_drops_are_atomic_and_never_written_twice() {
    let dir = temp_dir("filedrop");
    let map = examples().join("requisition_to_csv/requisition_to_csv.map");
    let tables = examples().join("procurement/tenants/initech_legacy/tables.toml");
    std::fs::write(
        dir.join("tenants/initech.toml"),
        format!(
            r#"id = "initech"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "purchase_requisition.approved"
mapping = "{map}"
endpoint = "staging"
tables_file = "{tables}"
[endpoints.staging]
kind = "file_drop"
directory = "drop"
name_template = "PO_{{event.number}}.csv"
"#,
            hash = token_hash("initech-token"),
            map = map.display(),
            tables = tables.display()
        ),
    )
    .unwrap();
    let setup = start(&dir);
    let lines = std::fs::read_to_string(examples().join("procurement/requisitions.jsonl")).unwrap();
    let events: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let drop_dir = dir.join("tenants/drop");
    let request = |key: &str, data: &Value| {
        Request::post("/v1/events")
            .header("authorization", "Bearer initech-token")
            .header("idempotency-key", key)
            .body(Body::from(
                json!({"type": "purchase_requisition.approved", "data": data}).to_string(),
            ))
            .unwrap()
    };
    for (n, event) in events.iter().enumerate() {
        let response = router(setup.intake.clone())
            .oneshot(request(&format!("f{n}"), event))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    drain(&setup, 10).await;
    let first = std::fs::read(drop_dir.join("PO_PR-2025-0311.csv")).unwrap();
    assert!(first.starts_with(b"PO_NUMBER;PO_LINE;"));
    assert!(drop_dir.join("PO_PR-2025-0312.csv").is_file());
    let mut names: Vec<String> = std::fs::read_dir(&drop_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["PO_PR-2025-0311.csv", "PO_PR-2025-0312.csv"],
        "no temporary files left"
    );

    // Redelivery of the first (as after a crash between rename and record):
    // same bytes, delivered, still one file.
    let again = router(setup.intake.clone())
        .oneshot(request("f0-again", &events[0]))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    drain(&setup, 10).await;
    assert_eq!(std::fs::read_dir(&drop_dir).unwrap().count(), 2);
    assert!(setup.store.dead_letters(None).await.unwrap().is_empty());

    // Other bytes under an existing name: refused, the file untouched.
    let mut changed = events[0].clone();
    changed["lines"][0]["quantity"] = "5".into();
    let response = router(setup.intake.clone())
        .oneshot(request("f0-changed", &changed))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    drain(&setup, 10).await;
    let dead = setup.store.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.contains("already exists with other content"), "{dead:?}");
    assert_eq!(std::fs::read(drop_dir.join("PO_PR-2025-0311.csv")).unwrap(), first);
}

/// Routes run on the JIT unless they say `engine = "interp"`; both deliver
/// the same document, and an unknown engine is a configuration error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_runs_on_the_engine_it_names() {
    use mapwright_compiler::program::Engine;
    let sim = SimErp::new(Some(sap_invoice_shapes()), 0, 0);
    let url = sim.start().await.unwrap();
    let dir = temp_dir("engine");
    tenant(&dir, "acme", &url, "");
    let file = dir.join("tenants/acme.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let config = load_dir(&dir.join("tenants"), None).unwrap();
    let route = &config.tenants["acme"].routes[0];
    assert_eq!(route.engine, Engine::Jit);
    assert!(route.instance.is_some(), "a JIT route shares one compiled instance");

    std::fs::write(
        &file,
        text.replace("endpoint = \"sap\"\n", "endpoint = \"sap\"\nengine = \"interp\"\n"),
    )
    .unwrap();
    let config = load_dir(&dir.join("tenants"), None).unwrap();
    assert_eq!(config.tenants["acme"].routes[0].engine, Engine::Interp);
    assert!(config.tenants["acme"].routes[0].instance.is_none());
    let setup = start(&dir);
    let id = accept(&setup, "acme", "interp-1", invoice(1, "SUP-DE-001")).await;
    drain(&setup, 10).await;
    let event = setup.store.event("acme", &id).await.unwrap().unwrap();
    assert_eq!(event.deliveries.len(), 1);
    assert_eq!(sim.documents(), 1);

    std::fs::write(
        &file,
        text.replace("endpoint = \"sap\"\n", "endpoint = \"sap\"\nengine = \"fast\"\n"),
    )
    .unwrap();
    let errors = load_dir(&dir.join("tenants"), None).err().unwrap();
    assert!(
        errors[0]
            .to_string()
            .contains("routes[0].engine: \"fast\" is not an engine"),
        "{errors:?}"
    );
}
