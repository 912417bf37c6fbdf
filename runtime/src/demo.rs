//! `mapwright demo`: the whole runtime on one machine with nothing beyond
//! the build. Two example tenants, each with its own simulated SAP system
//! (one reliable, one that answers 503 and 429 now and then); the
//! example invoices are posted over HTTP to the intake, mapped and
//! delivered; a bad event, a repeated idempotency key and an invoice whose
//! supplier SAP does not know show the error paths. It ends by printing
//! each tenant's outcomes, the dead letters and the metrics, and fails if
//! any outcome is not the expected one.

use crate::config::token_hash;
use crate::server;
use crate::sim::SimErp;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Runs the demo; `examples` is the repository's `examples/` folder.
pub async fn run(examples: &Path) -> Result<(), String> {
    let map = examples.join("invoice_to_sap/invoice_to_sap.map");
    let tables = examples.join("invoice_to_sap/tenant_acme/tables.toml");
    let events = examples.join("invoice_to_sap/sample_events.jsonl");
    for path in [&map, &tables, &events] {
        if !path.is_file() {
            return Err(format!(
                "{} is missing: run the demo from the repository root",
                path.display()
            ));
        }
    }
    let checked = mapwright_project::check_file(&map, None)?;
    let shapes = mapwright_project::program(&checked, &map, None)?.output;
    let reliable = SimErp::new(Some(shapes.clone()), 0, 0);
    let flaky = SimErp::new(Some(shapes), 3, 4);
    let reliable_url = reliable.start().await.map_err(|e| e.to_string())?;
    let flaky_url = flaky.start().await.map_err(|e| e.to_string())?;

    let dir = std::env::temp_dir().join(format!("mapwright-demo-{}", std::process::id()));
    let tenants = dir.join("tenants");
    std::fs::create_dir_all(&tenants).map_err(|e| e.to_string())?;
    for (id, url) in [("acme", &reliable_url), ("globex", &flaky_url)] {
        write_tenant(&tenants, id, url, &map, &tables)?;
    }
    let running = server::start(&tenants, &dir.join("store.db"), ([127, 0, 0, 1], 0).into(), false).await?;
    let base = format!("http://{}", running.address);
    println!(
        "mapwright demo: intake on {base}, store {}",
        dir.join("store.db").display()
    );
    println!("  acme   -> simulated SAP at {reliable_url} (reliable)");
    println!("  globex -> simulated SAP at {flaky_url} (503 every 3rd, 429 every 4th request)");

    let client = reqwest::Client::new();
    let text = std::fs::read_to_string(&events).map_err(|e| e.to_string())?;
    let mut expected_delivered = 0;
    for tenant in ["acme", "globex"] {
        for (n, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let data: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            let (status, _) = post(&client, &base, tenant, &format!("{tenant}-{n}"), &data).await?;
            if status != 202 {
                return Err(format!("{tenant}: event {n} was not accepted ({status})"));
            }
            expected_delivered += 1;
        }
    }
    // The same key again: the first answer, nothing new.
    let first: Value = serde_json::from_str(text.lines().next().unwrap_or("{}")).map_err(|e| e.to_string())?;
    let (status, _) = post(&client, &base, "acme", "acme-0", &first).await?;
    println!("  repeated Idempotency-Key acme-0: {status} (the first answer again)");
    // An impossible date: refused at the door with its path.
    let mut bad = first.clone();
    bad["issued_on"] = "2026-02-30".into();
    let (status, answer) = post(&client, &base, "acme", "acme-bad", &bad).await?;
    println!("  impossible date: {status} {}", answer["errors"][0]);
    // A supplier SAP does not know: accepted, then dead-lettered.
    let mut unknown = first.clone();
    unknown["supplier"]["id"] = "SUP-NEW-1".into();
    let (status, _) = post(&client, &base, "globex", "globex-unknown", &unknown).await?;
    println!("  unknown supplier: {status} (accepted; the mapping will refuse it)");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let counts = running.store.counts().await.map_err(|e| e.to_string())?;
        let open = counts
            .iter()
            .filter(|(_, _, s, _)| s == "pending" || s == "in_flight")
            .map(|(_, _, _, n)| n)
            .sum::<i64>();
        if open == 0 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("deliveries still open after 60 s: {counts:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    running.stop.notify_waiters();

    println!("\noutcomes:");
    let counts = running.store.counts().await.map_err(|e| e.to_string())?;
    for (tenant, endpoint, status, n) in &counts {
        println!("  {tenant:<7} {endpoint:<4} {status:<10} {n}");
    }
    for (name, sim) in [("acme", &reliable), ("globex", &flaky)] {
        println!(
            "  simulated SAP of {name}: {} requests, {} documents, {} duplicates, {} refused",
            sim.received.load(Ordering::SeqCst),
            sim.documents(),
            sim.duplicates.load(Ordering::SeqCst),
            sim.rejected.load(Ordering::SeqCst)
        );
    }
    println!("\ndead letters:");
    let dead = running.store.dead_letters(None).await.map_err(|e| e.to_string())?;
    for letter in &dead {
        println!(
            "  {} {} delivery {}: {}",
            letter.tenant, letter.endpoint, letter.delivery_id, letter.reason
        );
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    println!("\nmetrics ({base}/metrics):\n{metrics}");

    let delivered: i64 = counts
        .iter()
        .filter(|(_, _, s, _)| s == "delivered")
        .map(|(_, _, _, n)| n)
        .sum();
    let documents = reliable.documents() + flaky.documents();
    if delivered != expected_delivered || documents != expected_delivered as usize || dead.len() != 1 {
        return Err(format!(
            "expected {expected_delivered} delivered and documents and 1 dead letter; got {delivered} delivered, {documents} documents, {} dead letters",
            dead.len()
        ));
    }
    println!("demo ok: {delivered} invoices delivered exactly once, 1 dead letter, 1 refused at intake");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn write_tenant(dir: &Path, id: &str, url: &str, map: &Path, tables: &Path) -> Result<(), String> {
    let text = format!(
        r#"id = "{id}"
name = "{id} (demo)"

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
sap_csrf = true
max_concurrency = 4
rate_per_second = 200
retry = {{ max_attempts = 8, initial_backoff_ms = 50, max_backoff_ms = 1000 }}
"#,
        hash = token_hash(&format!("{id}-demo-token")),
        map = map.display(),
        tables = tables.display()
    );
    std::fs::write(dir.join(format!("{id}.toml")), text).map_err(|e| e.to_string())
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    tenant: &str,
    key: &str,
    data: &Value,
) -> Result<(u16, Value), String> {
    let response = client
        .post(format!("{base}/v1/events"))
        .bearer_auth(format!("{tenant}-demo-token"))
        .header("idempotency-key", key)
        .json(&json!({"type": "invoice.created", "data": data}))
        .send()
        .await
        .map_err(|e| format!("the intake did not answer: {e}"))?;
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// The `examples/` folder: next to the current folder's `Cargo.toml`, or
/// above the running binary's build folder.
pub fn find_examples() -> Option<PathBuf> {
    let here = std::env::current_dir().ok()?;
    here.ancestors()
        .map(|dir| dir.join("examples"))
        .find(|dir| dir.join("invoice_to_sap").is_dir())
}
