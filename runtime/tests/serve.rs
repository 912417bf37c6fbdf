//! `mapwright` as a process and as a server: the demo runs and checks its
//! own outcomes; a running server reloads a changed configuration, keeps
//! the old one when the change is broken; `dlq` lists and replays.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::examples;

use mapwright_runtime::config::token_hash;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn the_demo_runs_and_checks_its_outcomes() {
    let output = Command::new(env!("CARGO_BIN_EXE_mapwright"))
        .arg("demo")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "demo ok: 12 requisitions per tenant delivered exactly once to SAP, NetSuite and the legacy system",
        "the mapping failed: $.supplier.id → $.Supplier: supplier SUP-NEW-1 is not yet in SAP",
        "the ERP refused it (200): INVALID_KEY_OR_REF: Invalid entity reference key 4711.",
        "simulated NetSuite: 17 requests, 12 purchase orders, 0 upserts of a known externalId, 0 authentication failures",
        "acme_sap: 12 entries, e.g. purchase_order_number[\"PR-2026-0001\"]",
        "simulated SAP: 14 writes, 12 purchase orders;",
        "answers lost to the timeout were found by look-up and not posted again",
        "mapwright_deliveries{tenant=\"globex_netsuite\",endpoint=\"netsuite\",status=\"delivered\"} 12",
    ] {
        assert!(stdout.contains(expected), "missing `{expected}` in:\n{stdout}");
    }
}

fn tenant_file(company_code: &str) -> String {
    format!(
        r#"id = "acme"
[intake]
token_sha256 = "{hash}"

[[routes]]
event = "invoice.created"
mapping = "{map}"
endpoint = "sap"
params = {{ company_code = "{company_code}" }}
tables_file = "{tables}"

[endpoints.sap]
kind = "http_json"
url = "http://127.0.0.1:9/sap"
"#,
        hash = token_hash("acme-token"),
        map = examples().join("invoice_to_sap/invoice_to_sap.map").display(),
        tables = examples().join("invoice_to_sap/tenant_acme/tables.toml").display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_configuration_is_checked_before_it_replaces_the_running_one() {
    let dir = std::env::temp_dir().join(format!("mapwright-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    let file = dir.join("tenants/acme.toml");
    std::fs::write(&file, tenant_file("1010")).unwrap();
    let running = mapwright_runtime::server::start(
        &dir.join("tenants"),
        &dir.join("store.db"),
        ([127, 0, 0, 1], 0).into(),
        true,
    )
    .await
    .unwrap();
    let company_code = |running: &mapwright_runtime::server::Running| {
        let config = running.config.read().unwrap().clone();
        config.tenants["acme"].routes[0].params["company_code"].to_string()
    };
    assert_eq!(company_code(&running), "\"1010\"");
    // A broken change (too long for String(4)) is refused; 1010 stays.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&file, tenant_file("TOO-LONG")).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(company_code(&running), "\"1010\"");
    // A good change is taken.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&file, tenant_file("2020")).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(company_code(&running), "\"2020\"");
    // The intake answers.
    let health = reqwest::get(format!("http://{}/healthz", running.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    running.stop.notify_waiters();
}

#[test]
fn dlq_needs_a_store_and_a_choice() {
    let output = Command::new(env!("CARGO_BIN_EXE_mapwright"))
        .args(["dlq", "--store", "/nonexistent/x.db", "list"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no store at"));
    let dir = std::env::temp_dir().join(format!("mapwright-dlq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("s.db");
    drop(mapwright_runtime::store::Store::open(&db).unwrap());
    let output = Command::new(env!("CARGO_BIN_EXE_mapwright"))
        .args(["dlq", "--store", db.to_str().unwrap(), "replay"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tenant T, --id N, or --all"));
    let output = Command::new(env!("CARGO_BIN_EXE_mapwright"))
        .args(["dlq", "--store", db.to_str().unwrap(), "list"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("0 dead letter(s)"));
}

/// A client that sends its body too slowly gets 408 and nothing is stored;
/// the server goes on serving others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_gets_408_and_nothing_is_stored() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = std::env::temp_dir().join(format!("mapwright-slow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    std::fs::write(dir.join("tenants/acme.toml"), tenant_file("1010")).unwrap();
    let running = mapwright_runtime::server::start(
        &dir.join("tenants"),
        &dir.join("store.db"),
        ([127, 0, 0, 1], 0).into(),
        false,
    )
    .await
    .unwrap();
    let mut socket = tokio::net::TcpStream::connect(running.address).await.unwrap();
    let head = "POST /v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer acme-token\r\nidempotency-key: slow\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"type\": ";
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let events = running.store.events_by_business_key("acme", "x").await.unwrap();
    assert!(events.is_empty());
    assert_eq!(running.store.counts().await.unwrap(), vec![]);
    let health = reqwest::get(format!("http://{}/healthz", running.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    running.stop.notify_waiters();
}
