//! Redelivery after a crash at every step of each adapter creates no
//! second document. The server runs as a child process that aborts (as a
//! `kill -9` would leave it) at a chosen step of its first delivery
//! (`MAPWRIGHT_CRASH_AT`): after mapping, after the look-up, after the ERP
//! answered (the document exists, the outcome is not recorded), after the
//! file is written, after the staging insert commits. Restarted, it
//! delivers again, and the ERP's idempotency strategy makes the repeat
//! harmless: SAP's look-up-before-post (the simulated SAP ignores
//! `Idempotency-Key`, as the real one does), NetSuite's upsert by
//! `externalId`, the file drop's same-bytes check, the staging table's
//! unique key.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::{examples, requisition};

use mapwright_runtime::config::token_hash;
use mapwright_runtime::sim::{SimErp, SimOptions};
use mapwright_runtime::sim_netsuite::SimNetSuite;
use mapwright_runtime::soap::TokenPassport;
use mapwright_runtime::store::Store;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

const EVENTS: usize = 3;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Starts `mapwright serve` on the folder; waits until it answers.
async fn serve(dir: &Path, crash_at: Option<&str>) -> (tokio::process::Child, String) {
    let port = free_port();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mapwright"));
    command
        .args(["serve", "--config"])
        .arg(dir.join("tenants"))
        .arg("--store")
        .arg(dir.join("store.db"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    match crash_at {
        Some(step) => command.env("MAPWRIGHT_CRASH_AT", step),
        None => command.env_remove("MAPWRIGHT_CRASH_AT"),
    };
    let child = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if client().get(format!("{base}/healthz")).send().await.is_ok() {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server did not start");
}

/// Posts the events (again: a repeated key gets the first answer); stops
/// quietly when the server is gone, unless `must`.
async fn post_all(base: &str, token: &str, must: bool) {
    for n in 0..EVENTS {
        let response = client()
            .post(format!("{base}/v1/events"))
            .bearer_auth(token)
            .header("idempotency-key", format!("key-{n}"))
            .json(&json!({"type": "requisition.approved", "data": requisition(n)}))
            .send()
            .await;
        match response {
            Ok(response) => assert!(
                response.status() == 202 || response.status() == 200,
                "event {n}: {}",
                response.status()
            ),
            Err(error) if must => panic!("event {n}: {error}"),
            Err(_) => return,
        }
    }
}

async fn delivered(dir: &Path) -> i64 {
    let store = Store::open(&dir.join("store.db")).unwrap();
    store
        .counts()
        .await
        .unwrap()
        .iter()
        .filter(|c| c.2 == "delivered")
        .map(|c| c.3)
        .sum()
}

/// Crashes the server at `step` during its first delivery, restarts it,
/// and waits for all events to be delivered; `documents` counts what the
/// ERP holds, and is read just after the crash too (returned).
async fn crash_and_recover(dir: &Path, token: &str, step: &str, documents: &dyn Fn() -> usize) -> usize {
    let (mut child, base) = serve(dir, Some(step)).await;
    post_all(&base, token, false).await;
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap_or_else(|_| panic!("the server did not crash at {step}"))
        .unwrap();
    assert!(!status.success(), "aborted at {step}");
    let after_crash = documents();
    let (mut child, base) = serve(dir, None).await;
    post_all(&base, token, true).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while delivered(dir).await < EVENTS as i64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all delivered after the crash at {step}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill().await;
    after_crash
}

fn tenant_dir(name: &str, step: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapwright-redelivery-{}-{name}-{step}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sap_lookup_before_post_survives_a_crash_at_every_step() {
    let map = examples().join("requisition_to_sap_po/requisition_to_sap_po.map");
    let checked = mapwright_project::check_file(&map, None).unwrap();
    let shapes = mapwright_project::program(&checked, &map, None).unwrap().output;
    for step in ["mapped", "looked_up", "answered"] {
        let sim = SimErp::with_options(
            Some(shapes.clone()),
            0,
            0,
            SimOptions {
                document_field: "PurchaseOrder".to_owned(),
                honours_idempotency_key: false,
                reference_field: Some("CorrespncExternalReference".to_owned()),
            },
        );
        let url = sim.start().await.unwrap();
        let dir = tenant_dir("sap", step);
        let tenant = examples().join("procurement/tenants/acme_sap");
        std::fs::write(
            dir.join("tenants/acme.toml"),
            format!(
                r#"id = "acme"
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
url = "{url}/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV/A_PurchaseOrder"
sap_csrf = true
max_concurrency = 1
idempotency = {{ strategy = "lookup", flavor = "odata_v2", reference = "CorrespncExternalReference", document = "PurchaseOrder" }}
retry = {{ max_attempts = 20, initial_backoff_ms = 20, max_backoff_ms = 100 }}
"#,
                hash = token_hash("acme-token"),
                map = map.display(),
                response = examples().join("requisition_to_sap_po/po_response.map").display(),
                params = tenant.join("params.toml").display(),
                tables = tenant.join("tables.toml").display(),
            ),
        )
        .unwrap();
        let at_crash = crash_and_recover(&dir, "acme-token", step, &|| sim.documents()).await;
        let expected_at_crash = if step == "answered" { 1 } else { 0 };
        assert_eq!(at_crash, expected_at_crash, "{step}: documents when the server died");
        assert_eq!(sim.documents(), EVENTS, "{step}: one purchase order per requisition");
        // What the ERP answered is kept with the attempt.
        let store = Store::open(&dir.join("store.db")).unwrap();
        let references = store.references("acme").await.unwrap();
        assert_eq!(
            references.len(),
            EVENTS,
            "{step}: every order's number learned: {references:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn passport() -> TokenPassport {
    TokenPassport {
        account: "TSTDRV1".to_owned(),
        consumer_key: "ck-redelivery".to_owned(),
        consumer_secret: "cs-redelivery".to_owned(),
        token_id: "tk-redelivery".to_owned(),
        token_secret: "ts-redelivery".to_owned(),
    }
}

/// A tenant folder for globex over SOAP, with the passport's secrets in files.
fn netsuite_tenant(dir: &Path, url: &str, passport: &TokenPassport) {
    for (name, value) in [
        ("ck", &passport.consumer_key),
        ("cs", &passport.consumer_secret),
        ("tk", &passport.token_id),
        ("ts", &passport.token_secret),
    ] {
        std::fs::write(dir.join(format!("tenants/{name}.secret")), value).unwrap();
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
soap_action = "upsert"
idempotency = {{ strategy = "upsert" }}
auth = {{ kind = "netsuite_tba", account = "{account}", consumer_key = "file:ck.secret", consumer_secret = "file:cs.secret", token_id = "file:tk.secret", token_secret = "file:ts.secret" }}
max_concurrency = 1
timeout_ms = 2000
retry = {{ max_attempts = 20, initial_backoff_ms = 20, max_backoff_ms = 100 }}
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netsuite_upsert_survives_a_crash_at_every_step() {
    for step in ["mapped", "answered"] {
        let sim: Arc<SimNetSuite> = SimNetSuite::new(passport(), None, 0);
        let url = sim.start().await.unwrap();
        let dir = tenant_dir("netsuite", step);
        netsuite_tenant(&dir, &url, &passport());
        let at_crash = crash_and_recover(&dir, "globex-token", step, &|| sim.documents()).await;
        assert_eq!(at_crash, usize::from(step == "answered"), "{step}");
        assert_eq!(sim.documents(), EVENTS, "{step}: one purchase order per requisition");
        if step == "answered" {
            assert_eq!(sim.updates.load(Ordering::SeqCst), 1, "the repeat was an update");
        }
        assert_eq!(sim.auth_failures.load(Ordering::SeqCst), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_drop_survives_a_crash_at_every_step() {
    for step in ["mapped", "file_written", "answered"] {
        let dir = tenant_dir("drop", step);
        let drop = dir.join("drop");
        let tenant = examples().join("procurement/tenants/initech_legacy");
        std::fs::write(
            dir.join("tenants/initech.toml"),
            format!(
                r#"id = "initech"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "requisition.approved"
mapping = "{map}"
endpoint = "drop"
params_file = "{params}"
tables_file = "{tables}"
[endpoints.drop]
kind = "file_drop"
directory = "{drop}"
name_template = "PO_{{event.number}}.csv"
max_concurrency = 1
"#,
                hash = token_hash("initech-token"),
                map = examples().join("requisition_to_csv/requisition_to_csv.map").display(),
                params = tenant.join("params.toml").display(),
                tables = tenant.join("tables.toml").display(),
                drop = drop.display(),
            ),
        )
        .unwrap();
        let count = || {
            std::fs::read_dir(&drop)
                .map(|entries| entries.filter_map(Result::ok).count())
                .unwrap_or(0)
        };
        let at_crash = crash_and_recover(&dir, "initech-token", step, &count).await;
        assert_eq!(
            at_crash,
            usize::from(step != "mapped"),
            "{step}: files when the server died"
        );
        let names: Vec<String> = std::fs::read_dir(&drop)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names.len(),
            EVENTS,
            "{step}: one file per event and no temporary left: {names:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Runs a `SELECT COUNT…` on a thread of its own (the caller is a plain
/// closure inside the test's runtime).
fn count_blocking(conninfo: &'static str, sql: &str) -> usize {
    let sql = sql.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (client, driver) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(driver);
            let n: i64 = client.query_one(sql.as_str(), &[]).await.unwrap().get(0);
            n as usize
        })
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_file_survives_a_crash_after_it_is_written() {
    let step = "batch_written";
    let dir = tenant_dir("batch", step);
    let drop = dir.join("drop");
    let tenant = examples().join("procurement/tenants/initech_legacy");
    std::fs::write(
        dir.join("tenants/initech.toml"),
        format!(
            r#"id = "initech"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "requisition.approved"
mapping = "{map}"
endpoint = "drop"
params_file = "{params}"
tables_file = "{tables}"
[endpoints.drop]
kind = "file_drop"
directory = "{drop}"
name_template = "PO_BATCH_{{batch.id}}.csv"
batch = {{ max_wait_ms = 300 }}
"#,
            hash = token_hash("initech-token"),
            map = examples().join("requisition_to_csv/requisition_to_csv.map").display(),
            params = tenant.join("params.toml").display(),
            tables = tenant.join("tables.toml").display(),
            drop = drop.display(),
        ),
    )
    .unwrap();
    let count = || {
        std::fs::read_dir(&drop)
            .map(|entries| entries.filter_map(Result::ok).count())
            .unwrap_or(0)
    };
    let at_crash = crash_and_recover(&dir, "initech-token", step, &count).await;
    assert_eq!(at_crash, 1, "the file was written before the crash");
    let names: Vec<String> = std::fs::read_dir(&drop)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // The batch is written again with the same bytes, under the same name;
    // a later event may open a second batch.
    assert!(names.contains(&"PO_BATCH_1.csv".to_owned()), "{names:?}");
    let rows: usize = names
        .iter()
        .map(|name| {
            let bytes = std::fs::read(drop.join(name)).unwrap();
            bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() - 1
        })
        .sum();
    assert_eq!(rows, EVENTS * 2, "each requisition's lines once: {names:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_staging_survives_a_crash_at_every_step() {
    const CONNINFO: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3";
    let pg = match tokio_postgres::connect(CONNINFO, tokio_postgres::NoTls).await {
        Ok((client, driver)) => {
            tokio::spawn(async move {
                let _ = driver.await;
            });
            client
        }
        Err(error) => {
            let message =
                format!("SKIPPED: no PostgreSQL at 127.0.0.1:5432 ({error}); the SQL redelivery test needs one");
            assert!(
                std::env::var("MAPWRIGHT_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{message}"
            );
            eprintln!("\n{message}\n");
            return;
        }
    };
    for step in ["mapped", "sql_committed", "answered"] {
        let table = format!("mapwright_redelivery_{}_{step}", std::process::id());
        pg.batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; {}",
            mapwright_runtime::demo::staging_table_sql(&table)
        ))
        .await
        .unwrap();
        let dir = tenant_dir("sql", step);
        std::fs::write(dir.join("tenants/initech.pg"), CONNINFO).unwrap();
        let tenant = examples().join("procurement/tenants/initech_legacy");
        std::fs::write(
            dir.join("tenants/initech.toml"),
            format!(
                r#"id = "initech"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "requisition.approved"
mapping = "{map}"
endpoint = "staging"
params_file = "{params}"
tables_file = "{tables}"
[endpoints.staging]
kind = "sql_staging"
connection = "file:initech.pg"
table = "{table}"
max_concurrency = 1
"#,
                hash = token_hash("initech-token"),
                map = examples().join("requisition_to_csv/requisition_to_csv.map").display(),
                params = tenant.join("params.toml").display(),
                tables = tenant.join("tables.toml").display(),
            ),
        )
        .unwrap();
        let count_sql = format!("SELECT COUNT(DISTINCT \"PO_NUMBER\") FROM {table}");
        let orders = || count_blocking(CONNINFO, &count_sql);
        let at_crash = crash_and_recover(&dir, "initech-token", step, &orders).await;
        assert_eq!(
            at_crash,
            usize::from(step != "mapped"),
            "{step}: orders when the server died"
        );
        let n: i64 = pg.query_one(count_sql.as_str(), &[]).await.unwrap().get(0);
        assert_eq!(n as usize, EVENTS, "{step}: each order staged once");
        let lines: i64 = pg
            .query_one(format!("SELECT COUNT(*) FROM {table}").as_str(), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(lines as usize, EVENTS * 2, "{step}: two lines per order, none twice");
        pg.batch_execute(&format!("DROP TABLE {table}")).await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
