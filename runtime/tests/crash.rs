//! Crash safety: the server process is killed with SIGKILL at random
//! moments while events are posted and delivered, and restarted, several
//! times. A client that got no answer posts again with the same key (as a
//! real client does). In the end every event is delivered and the ERP
//! created exactly one document per event: repeats arrive only under the
//! same idempotency key.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::{example_invoice, examples, sap_invoice_shapes};

use mapwright_runtime::config::token_hash;
use mapwright_runtime::sim::SimErp;
use serde_json::{Value, json};
use std::time::Duration;

const EVENTS: usize = 120;
const KILLS: usize = 4;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_survives_sigkill_and_is_delivered_once() {
    let file = examples().join("invoice_to_sap/invoice_to_sap.map");
    let shapes = sap_invoice_shapes();
    // Slow enough that kills land while deliveries are in flight.
    let sim = SimErp::new(Some(shapes), 7, 0);
    sim.latency_ms.store(60, std::sync::atomic::Ordering::SeqCst);
    let url = sim.start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("mapwright-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    std::fs::write(
        dir.join("tenants/acme.toml"),
        format!(
            r#"id = "acme"
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
url = "{url}/sap"
sap_csrf = true
max_concurrency = 2
retry = {{ max_attempts = 50, initial_backoff_ms = 20, max_backoff_ms = 200 }}
"#,
            hash = token_hash("acme-token"),
            map = file.display(),
            tables = examples().join("invoice_to_sap/tenant_acme/tables.toml").display()
        ),
    )
    .unwrap();
    let invoice: Value = example_invoice();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut next = 0usize;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..=KILLS {
        let port = free_port();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mapwright"))
            .args(["serve", "--config"])
            .arg(dir.join("tenants"))
            .arg("--store")
            .arg(dir.join("store.db"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "the server did not start (round {round})");
        let last = round == KILLS;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = Duration::from_millis(100 + seed % 400);
        let started = tokio::time::Instant::now();
        // Post a share of the events (all that remain in the last round).
        let share = if last {
            EVENTS
        } else {
            (next + EVENTS / (KILLS + 1)).min(EVENTS)
        };
        while next < share {
            let mut data = invoice.clone();
            data["number"] = format!("RE-{next:06}").into();
            let answer = client
                .post(format!("{base}/v1/events"))
                .bearer_auth("acme-token")
                .header("idempotency-key", format!("key-{next}"))
                .json(&json!({"type": "invoice.created", "data": data}))
                .send()
                .await;
            match answer {
                Ok(response) if response.status() == 202 => next += 1,
                Ok(response) => panic!("event {next}: {}", response.status()),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        if last {
            // Wait for every delivery.
            let store = mapwright_runtime::store::Store::open(&dir.join("store.db")).unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
            loop {
                let counts = store.counts().await.unwrap();
                let delivered: i64 = counts.iter().filter(|c| c.2 == "delivered").map(|c| c.3).sum();
                if delivered as usize == EVENTS {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline, "not all delivered: {counts:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = child.kill().await;
        } else {
            // Let deliveries run a while, then kill -9 mid-flight.
            tokio::time::sleep(kill_after.saturating_sub(started.elapsed())).await;
            child.kill().await.unwrap();
            let store = mapwright_runtime::store::Store::open(&dir.join("store.db")).unwrap();
            eprintln!(
                "round {round}: killed after {:?} with {next} posted, {} documents, deliveries {:?}",
                started.elapsed(),
                sim.documents(),
                store.counts().await.unwrap()
            );
        }
    }
    assert_eq!(next, EVENTS);
    assert_eq!(sim.documents(), EVENTS, "one document per event");
    eprintln!(
        "{EVENTS} events, {KILLS} kills: {} ERP requests, {} repeats under the same key, {} documents",
        sim.received.load(std::sync::atomic::Ordering::SeqCst),
        sim.duplicates.load(std::sync::atomic::Ordering::SeqCst),
        sim.documents()
    );
}
