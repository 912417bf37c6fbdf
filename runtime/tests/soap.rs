//! The SOAP adapter and response mappings against the simulated NetSuite:
//! every request carries a TokenPassport whose signature verifies, the
//! messages it receives validate against the SuiteTalk XSDs (when the ERP
//! data and `xmllint` are there), refusals inside a 200 are read by the
//! response mapping and dead-lettered with NetSuite's reason, faults are
//! retried or not by their kind, the ERP ids learned land in the tenant's
//! cross-reference table, and hostile answers (huge, garbage, nested,
//! entity bombs, stalled) are classified without a crash and without a
//! second record.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::{Setup, count, drain, examples, post_event, start, temp_dir};

use axum::http::StatusCode;
use mapwright_runtime::config::{load_dir, token_hash};
use mapwright_runtime::sim_netsuite::{Hostile, SimNetSuite};
use mapwright_runtime::soap::TokenPassport;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn passport(secret: &str) -> TokenPassport {
    TokenPassport {
        account: "TSTDRV42".to_owned(),
        consumer_key: "consumer-key-1".to_owned(),
        consumer_secret: secret.to_owned(),
        token_id: "token-id-1".to_owned(),
        token_secret: "token-secret-1".to_owned(),
    }
}

/// A tenant `globex` sending requisitions to `url` over SOAP `version`,
/// with the credentials of `passport`.
fn setup(name: &str, url: &str, passport: &TokenPassport, version: &str, extra: &str) -> Setup {
    let dir = temp_dir("soap", name);
    for (file, value) in [
        ("ck", &passport.consumer_key),
        ("cs", &passport.consumer_secret),
        ("tk", &passport.token_id),
        ("ts", &passport.token_secret),
    ] {
        std::fs::write(dir.join(format!("tenants/{file}.secret")), value).unwrap();
    }
    let tenant = examples().join("procurement/tenants/globex_netsuite");
    std::fs::write(
        dir.join("tenants/globex.toml"),
        format!(
            r#"id = "globex"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "requisition.approved"
mapping = "{map}"
response = "{response}"
endpoint = "netsuite"
params_file = "{params}"
tables_file = "{tables}"
[endpoints.netsuite]
kind = "soap"
url = "{url}"
soap_version = "{version}"
soap_action = "upsert"
idempotency = {{ strategy = "upsert" }}
auth = {{ kind = "netsuite_tba", account = "{account}", consumer_key = "file:ck.secret", consumer_secret = "file:cs.secret", token_id = "file:tk.secret", token_secret = "file:ts.secret" }}
max_concurrency = 2
timeout_ms = 1500
retry = {{ max_attempts = 6, initial_backoff_ms = 20, max_backoff_ms = 100 }}
{extra}
"#,
            hash = token_hash("globex-token"),
            map = examples().join("requisition_to_netsuite/requisition_to_netsuite.map").display(),
            response = examples().join("requisition_to_netsuite/po_response.map").display(),
            params = tenant.join("params.toml").display(),
            tables = tenant.join("tables.toml").display(),
            account = passport.account,
        ),
    )
    .unwrap();
    start(&dir, None)
}

fn requisition(n: usize, supplier: &str) -> Value {
    let mut event = common::requisition(n);
    event["supplier"]["id"] = supplier.into();
    event
}

async fn accept(setup: &Setup, key: &str, data: Value) {
    post_event(setup, "globex-token", "requisition.approved", key, data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requisitions_are_upserted_with_a_verified_token_passport() {
    // Vendor 1187 exists; 4711 does not. A concurrency fault every 3rd request.
    let sim = SimNetSuite::new(
        passport("consumer-secret-1"),
        Some(HashSet::from(["1187".to_owned()])),
        3,
    );
    let url = sim.start().await.unwrap();
    let setup = setup("upsert", &url, &passport("consumer-secret-1"), "1.1", "");
    for n in 0..6 {
        accept(&setup, &format!("k{n}"), requisition(n, "SUP-DE-001")).await;
    }
    drain(&setup, 30).await;
    let counts = setup.store.counts().await.unwrap();
    assert_eq!(count(&counts, "delivered"), 6, "{counts:?}");
    assert_eq!(sim.documents(), 6);
    assert_eq!(sim.auth_failures.load(Ordering::SeqCst), 0, "every passport verified");
    assert!(
        sim.received.load(Ordering::SeqCst) > 6,
        "faults were injected and retried"
    );
    // The ERP ids were learned: requisition id → NetSuite internal id.
    let references = setup.store.references("globex").await.unwrap();
    assert_eq!(references.len(), 6, "{references:?}");
    assert!(references.iter().all(|(table, key, value)| table == "purchase_order_id"
        && key.starts_with("req_")
        && value.parse::<u32>().is_ok()));
    // The status events carry them.
    let dead = setup.store.dead_letters(None).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
    validate_against_suitetalk(&sim.messages.lock().unwrap());
    let _ = std::fs::remove_dir_all(&setup.dir);
}

/// Each message NetSuite received validates against the SuiteTalk XSDs
/// (skipped loudly without the ERP data or xmllint, unless
/// `MAPWRIGHT_REQUIRE_CONFORMANCE=1`).
fn validate_against_suitetalk(messages: &[String]) {
    let skip = |message: String| {
        assert!(
            std::env::var("MAPWRIGHT_REQUIRE_CONFORMANCE").as_deref() != Ok("1"),
            "{message}"
        );
        eprintln!("\nSKIPPED: {message}\n");
    };
    let data = match std::env::var_os("MAPWRIGHT_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/erp"),
    };
    let xsd = data.join("netsuite-suitetalk/xsd");
    if !xsd.is_dir() {
        return skip(format!(
            "{} is absent: the SuiteTalk XSD check did not run",
            xsd.display()
        ));
    }
    if std::process::Command::new("xmllint").arg("--version").output().is_err() {
        return skip(
            "xmllint is not installed (Debian: libxml2-utils): the SuiteTalk XSD check did not run".to_owned(),
        );
    }
    let dir = std::env::temp_dir().join(format!("mapwright-soap-xsd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut wrapper = String::from("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n");
    for (namespace, file) in [
        (
            "urn:messages_2023_2.platform.webservices.netsuite.com",
            "platform.messages.xsd",
        ),
        (
            "urn:purchases_2023_2.transactions.webservices.netsuite.com",
            "transactions.purchases.xsd",
        ),
    ] {
        wrapper.push_str(&format!(
            "  <xs:import namespace=\"{namespace}\" schemaLocation=\"{}\"/>\n",
            xsd.join(file).display()
        ));
    }
    wrapper.push_str("</xs:schema>\n");
    std::fs::write(dir.join("wrapper.xsd"), wrapper).unwrap();
    assert!(!messages.is_empty());
    for (n, message) in messages.iter().enumerate() {
        let file = dir.join(format!("message-{n}.xml"));
        std::fs::write(&file, message).unwrap();
        let output = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(dir.join("wrapper.xsd"))
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "message {n} does not validate: {}\n{message}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_inside_a_200_is_dead_lettered_with_netsuites_reason() {
    let sim = SimNetSuite::new(passport("cs"), Some(HashSet::from(["1187".to_owned()])), 0);
    let url = sim.start().await.unwrap();
    // The tenant's table maps the supplier to a vendor NetSuite lacks.
    let setup = setup("refused", &url, &passport("cs"), "1.2", "");
    let tables = setup.dir.join("tables.toml");
    let text = std::fs::read_to_string(examples().join("procurement/tenants/globex_netsuite/tables.toml"))
        .unwrap()
        .replacen("[vendor_id]\n", "[vendor_id]\n\"SUP-US-042\" = \"4711\"\n", 1);
    std::fs::write(&tables, text).unwrap();
    let config = std::fs::read_to_string(setup.dir.join("tenants/globex.toml")).unwrap();
    let config = config.replace(
        &examples()
            .join("procurement/tenants/globex_netsuite/tables.toml")
            .display()
            .to_string(),
        &tables.display().to_string(),
    );
    std::fs::write(setup.dir.join("tenants/globex.toml"), config).unwrap();
    let setup = {
        let fresh = setup_again(&setup);
        drop(setup);
        fresh
    };
    accept(&setup, "refused", requisition(1, "SUP-US-042")).await;
    accept(&setup, "fine", requisition(2, "SUP-DE-001")).await;
    drain(&setup, 20).await;
    let dead = setup.store.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].attempts, 1, "a refusal is not retried");
    assert_eq!(
        dead[0].reason,
        "the ERP refused it (200): INVALID_KEY_OR_REF: Invalid entity reference key 4711."
    );
    assert_eq!(sim.documents(), 1, "the other one went through over SOAP 1.2");
    // The answer is kept with the attempt for the audit trail.
    let responses = setup.store.responses(dead[0].delivery_id).await.unwrap();
    assert!(responses[0].1.contains("isSuccess=\"false\""), "{responses:?}");
    let shown = setup.store.dead_letter(dead[0].delivery_id).await.unwrap().unwrap();
    assert!(
        shown["erp_answers"][0]["answer"]
            .as_str()
            .unwrap()
            .contains("INVALID_KEY_OR_REF"),
        "`dlq show` shows the answer: {shown}"
    );
    let _ = std::fs::remove_dir_all(&setup.dir);
}

/// The same folder, loaded again (after its files changed).
fn setup_again(old: &Setup) -> Setup {
    start(&old.dir, Some(old.store.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_signature_is_a_permanent_fault() {
    let sim = SimNetSuite::new(passport("the-right-secret"), None, 0);
    let url = sim.start().await.unwrap();
    let setup = setup("badsig", &url, &passport("a-wrong-secret"), "1.1", "");
    accept(&setup, "k", requisition(1, "SUP-DE-001")).await;
    drain(&setup, 10).await;
    let dead = setup.store.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 1, "retrying a bad signature cannot help");
    assert!(
        dead[0]
            .reason
            .starts_with("SOAP fault Server.userException (invalidCredentialsFault INVALID_LOGIN_ATTEMPT)"),
        "{}",
        dead[0].reason
    );
    assert_eq!(sim.auth_failures.load(Ordering::SeqCst), 1);
    assert_eq!(sim.documents(), 0);
    let _ = std::fs::remove_dir_all(&setup.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_answers_are_classified_and_never_make_a_second_record() {
    let sim = SimNetSuite::new(passport("cs"), None, 0);
    let url = sim.start().await.unwrap();
    let setup = setup("hostile", &url, &passport("cs"), "1.1", "");
    for (n, mode) in [
        Hostile::Huge,
        Hostile::Garbage,
        Hostile::Deep,
        Hostile::Entities,
        Hostile::Stall,
    ]
    .into_iter()
    .enumerate()
    {
        sim.set_hostile(mode);
        accept(&setup, &format!("h{n}"), requisition(n, "SUP-DE-001")).await;
        // One attempt: the record is written, the answer is hostile.
        setup.dispatcher.clone().round().await;
        let counts = setup.store.counts().await.unwrap();
        assert_eq!(
            count(&counts, "delivered"),
            n as i64,
            "{mode:?}: not taken for a success: {counts:?}"
        );
        assert!(
            setup.store.dead_letters(None).await.unwrap().is_empty(),
            "{mode:?}: retried, not given up"
        );
        assert_eq!(sim.documents(), n + 1, "{mode:?}: written once");
        // A sane answer again: the retry upserts the same record.
        sim.set_hostile(Hostile::None);
        drain(&setup, 20).await;
        let counts = setup.store.counts().await.unwrap();
        assert_eq!(count(&counts, "delivered"), n as i64 + 1, "{mode:?}: {counts:?}");
        assert_eq!(sim.documents(), n + 1, "{mode:?}: no second record");
    }
    assert_eq!(sim.updates.load(Ordering::SeqCst), 5, "each repeat was an update");
    let _ = std::fs::remove_dir_all(&setup.dir);
}

#[tokio::test]
async fn a_soap_route_without_a_response_mapping_is_refused() {
    let dir = temp_dir("soap", "noresponse");
    std::fs::write(
        dir.join("tenants/globex.toml"),
        format!(
            r#"id = "globex"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "requisition.approved"
mapping = "{map}"
endpoint = "netsuite"
params = {{ subsidiary = "3" }}
[endpoints.netsuite]
kind = "soap"
url = "http://127.0.0.1:9/ns"
idempotency = {{ strategy = "upsert" }}
"#,
            hash = token_hash("globex-token"),
            map = examples()
                .join("sales_order_to_netsuite/sales_order_to_netsuite.map")
                .display(),
        ),
    )
    .unwrap();
    let errors = match load_dir(&dir.join("tenants"), None) {
        Ok(_) => panic!("loaded"),
        Err(errors) => errors,
    };
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|e| e.contains("routes[0].response: a route to a soap endpoint needs a response mapping")),
        "{text:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the legacy SOAP service received: content type and body.
type Captured = Arc<std::sync::Mutex<Vec<(String, String)>>>;

async fn legacy_service(
    axum::extract::State(captured): axum::extract::State<Captured>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    captured
        .lock()
        .unwrap()
        .push((content_type, String::from_utf8_lossy(&body).into_owned()));
    (
        StatusCode::OK,
        [("content-type", "application/soap+xml; charset=utf-8")],
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Body><l:ack xmlns:l=\"urn:legacy\" accepted=\"true\"><l:ticket>T-0001</l:ticket></l:ack></soap:Body></soap:Envelope>",
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_soap_12_service_gets_fixed_headers_and_a_username_token() {
    let captured: Captured = Arc::default();
    let base = mapwright_runtime::sim::serve(
        axum::Router::new()
            .fallback(legacy_service)
            .with_state(captured.clone()),
    )
    .await
    .unwrap();
    let dir = temp_dir("soap", "legacy");
    // The service's answer and a response mapping for it, in the tenant's
    // own project.
    std::fs::write(dir.join("Mapwright.toml"), "[project]\nname = \"legacy\"\n").unwrap();
    std::fs::write(
        dir.join("legacy_ack.schema"),
        "schema legacy_ack\nformat json\n\nrecord Answer {\n  status: Int\n  body: Ack?\n  text: String?\n  body_error: String?\n}\n\nrecord Ack {\n  accepted: Bool?\n  ticket: String?\n  message: String?\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("ack.map"),
        concat!(
            "use legacy_ack.Answer\nuse mapwright.delivery.{Result, Verdict}\n\n",
            "table last_ticket: String -> String external\n",
            "table short_ticket: String -> String(3) external\n\n",
            "mapping ack(r: Answer) -> Result {\n",
            "  verdict = if r.body.accepted ?? false { Verdict.delivered } else if r.status >= 500 { Verdict.retry } else { Verdict.rejected }\n",
            "  document = r.body.ticket\n",
            "  reason = r.body.message ?? r.body_error\n",
            "  references = [\n",
            "    { table = \"last_ticket\"  key = \"legacy\"  value = r.body.ticket ?? \"-\" },\n",
            "    { table = \"short_ticket\"  key = \"legacy\"  value = r.body.ticket ?? \"-\" },\n",
            "    { table = \"undeclared\"  key = \"legacy\"  value = \"x\" }\n",
            "  ]\n",
            "}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("tenants/legacy.secret"), "pa<ss>&word").unwrap();
    let tenant = examples().join("procurement/tenants/globex_netsuite");
    std::fs::write(
        dir.join("tenants/globex.toml"),
        format!(
            r#"id = "globex"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "requisition.approved"
mapping = "{map}"
response = "../ack.map"
endpoint = "legacy"
params_file = "{params}"
tables_file = "{tables}"
[endpoints.legacy]
kind = "soap"
url = "{base}/ws/orders"
soap_version = "1.2"
soap_action = "urn:legacy/submit"
soap_headers = ['<l:client xmlns:l="urn:legacy"><l:system>MAPWRIGHT</l:system></l:client>']
auth = {{ kind = "ws_security", user = "legacy-user", password = "file:legacy.secret" }}
retry = {{ max_attempts = 3, initial_backoff_ms = 20, max_backoff_ms = 100 }}
"#,
            hash = token_hash("globex-token"),
            map = examples()
                .join("requisition_to_netsuite/requisition_to_netsuite.map")
                .display(),
            params = tenant.join("params.toml").display(),
            tables = tenant.join("tables.toml").display(),
        ),
    )
    .unwrap();
    let setup = start(&dir, None);
    accept(&setup, "legacy", requisition(1, "SUP-DE-001")).await;
    drain(&setup, 10).await;
    let counts = setup.store.counts().await.unwrap();
    assert_eq!(count(&counts, "delivered"), 1, "{counts:?}");
    let db = rusqlite::Connection::open(dir.join("store.db")).unwrap();
    let document: String = db
        .query_row("SELECT erp_document FROM deliveries", [], |row| row.get(0))
        .unwrap();
    assert_eq!(document, "T-0001", "the response mapping read the ticket");
    // Only the reference to a declared table that fits it is kept.
    assert_eq!(
        setup.store.references("globex").await.unwrap(),
        [("last_ticket".to_owned(), "legacy".to_owned(), "T-0001".to_owned())]
    );

    let (content_type, body) = captured.lock().unwrap()[0].clone();
    assert_eq!(
        content_type,
        "application/soap+xml; charset=utf-8; action=\"urn:legacy/submit\""
    );
    assert!(
        body.contains("<soapenv:Envelope xmlns:soapenv=\"http://www.w3.org/2003/05/soap-envelope\">"),
        "{body}"
    );
    let envelope = mapwright_runtime::response::parse_xml(body.as_bytes()).unwrap();
    let header = envelope.child("Header").unwrap();
    let names: Vec<&str> = header.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["client", "Security"], "the fixed entry, then the token");
    let token = header.child("Security").unwrap().child("UsernameToken").unwrap();
    assert_eq!(token.child("Username").unwrap().text, "legacy-user");
    assert_eq!(token.child("Password").unwrap().text, "pa<ss>&word");
    assert_eq!(
        token.child("Nonce").unwrap().text.len(),
        24,
        "16 random bytes in base64"
    );
    assert!(token.child("Created").unwrap().text.ends_with('Z'));
    assert_eq!(
        envelope.child("Body").unwrap().children[0].name,
        "upsert",
        "the mapping's message is the Body"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
