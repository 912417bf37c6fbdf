//! Throughput of the runtime on this machine, over loopback: events
//! accepted durably per second (single-event requests from 64 concurrent
//! keep-alive clients, every answer after the group commit), events
//! delivered end to end per second to a simulated ERP, and p50/p99 intake
//! latency at a fixed offered load. A bench binary (not criterion: the
//! figures are rates under load, measured once per run).
//!
//! Run with `cargo bench -p mapwright-runtime --bench throughput`; results
//! are recorded in BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing bench may panic

#[path = "../tests/common/mod.rs"]
mod common;

use mapwright_runtime::config::token_hash;
use mapwright_runtime::sim::SimErp;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const EVENTS: usize = 20_000;
const CLIENTS: usize = 64;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Posts EVENTS events from CLIENTS concurrent clients (keys
/// `{prefix}-{i}`), each answered 202, and prints the rate and latency.
async fn post_all(client: &reqwest::Client, url: &str, body: &Arc<String>, prefix: &str, label: &str) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, url, body, prefix) = (client.clone(), url.to_owned(), body.clone(), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for i in (c..EVENTS).step_by(CLIENTS) {
                let t = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth("acme-token")
                    .header("idempotency-key", format!("{prefix}-{i}"))
                    .header("content-type", "application/json")
                    .body(body.as_str().to_owned())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 202);
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "{label}: accepted {EVENTS} events in {:.2} s: {:.0} events/s (p50 {:.1} ms, p99 {:.1} ms, {CLIENTS} clients)",
        elapsed.as_secs_f64(),
        EVENTS as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let map = examples.join("invoice_to_sap/invoice_to_sap.map");
    let shapes = common::sap_invoice_shapes();
    let sim = SimErp::new(Some(shapes), 0, 0);
    let url = sim.start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("mapwright-bench-{}", std::process::id()));
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
max_concurrency = 16
"#,
            hash = token_hash("acme-token"),
            map = map.display(),
            tables = examples.join("invoice_to_sap/tenant_acme/tables.toml").display()
        ),
    )
    .unwrap();
    let running = mapwright_runtime::server::start(
        &dir.join("tenants"),
        &dir.join("store.db"),
        ([127, 0, 0, 1], 0).into(),
        false,
    )
    .await
    .unwrap();
    let base = format!("http://{}/v1/events", running.address);
    let invoice: Value = common::example_invoice();
    let body = Arc::new(json!({"type": "invoice.created", "data": invoice}).to_string());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();

    // 0. The intake alone (no dispatcher): accepted durably per second.
    {
        let config = mapwright_runtime::config::load_dir(&dir.join("tenants"), None).unwrap();
        let store = mapwright_runtime::store::Store::open(&dir.join("intake-only.db")).unwrap();
        let intake = Arc::new(mapwright_runtime::intake::Intake {
            config: Arc::new(std::sync::RwLock::new(Arc::new(config))),
            store,
            accepted: Arc::new(tokio::sync::Notify::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, mapwright_runtime::intake::router(intake)).await;
        });
        let only = format!("http://{address}/v1/events");
        post_all(&client, &only, &body, "only", "intake alone").await;
    }

    // 1. With the dispatcher delivering at the same time.
    let started = Instant::now();
    post_all(&client, &base, &body, "bench", "while delivering").await;

    // 2. Delivered end to end.
    loop {
        if sim.documents() >= EVENTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = started.elapsed();
    println!(
        "delivered {EVENTS} events end to end in {:.2} s from the first post: {:.0} events/s",
        total.as_secs_f64(),
        EVENTS as f64 / total.as_secs_f64()
    );

    // 3. A fixed offered load: 1,000 events/s for 5 s.
    let rate = 1000usize;
    let seconds = 5usize;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..rate * seconds {
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        let (client, base, body) = (client.clone(), base.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(due.into()).await;
            let t = Instant::now();
            let response = client
                .post(&base)
                .bearer_auth("acme-token")
                .header("idempotency-key", format!("fixed-{i}"))
                .header("content-type", "application/json")
                .body(body.as_str().to_owned())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 202);
            t.elapsed()
        }));
    }
    let mut fixed = Vec::new();
    for task in tasks {
        fixed.push(task.await.unwrap());
    }
    fixed.sort();
    println!(
        "at a fixed {rate} events/s for {seconds} s: intake p50 {:.1} ms, p99 {:.1} ms",
        percentile(&fixed, 0.5).as_secs_f64() * 1000.0,
        percentile(&fixed, 0.99).as_secs_f64() * 1000.0
    );
    running.stop.notify_waiters();
    let _ = std::fs::remove_dir_all(&dir);
}
