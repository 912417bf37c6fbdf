//! `mapwright demo`: the procurement scenario end to end on one machine,
//! with nothing beyond the build. Approved purchase requisitions are posted
//! to the intake for three tenants, each with its own back office:
//!
//! - `acme_sap`: a simulated SAP S/4HANA (OData v2 JSON, CSRF handshake)
//!   that ignores `Idempotency-Key`, fails now and then with 503, and
//!   answers some writes too late; the endpoint looks each order up by its
//!   reference before posting, so the late ones are not created twice;
//! - `globex_netsuite`: a simulated NetSuite (SOAP, TokenPassport verified
//!   on every request) that throws concurrency-limit faults now and then;
//!   orders are upserted by `externalId`; one vendor is unknown to it, and
//!   its refusal (HTTP 200, `isSuccess="false"`) is read by the response
//!   mapping and dead-lettered;
//! - `initech_legacy`: a CSV drop into a folder, and rows in a PostgreSQL
//!   staging table when a server is reachable (`MAPWRIGHT_DEMO_POSTGRES`,
//!   by default `host=127.0.0.1 user=postgres dbname=test`); when none is,
//!   the demo says so loudly and drops files only.
//!
//! The response mappings' verdicts decide each outcome and fill the
//! tenants' cross-reference tables (requisition → ERP order id). The demo
//! prints outcomes, dead letters, learned cross-references and metrics, and
//! fails if any count is not the expected one.

use crate::config::token_hash;
use crate::server;
use crate::sim::{SimErp, SimOptions};
use crate::sim_netsuite::SimNetSuite;
use crate::soap::TokenPassport;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Requisitions posted per tenant (besides the ones that fail on purpose).
const PER_TENANT: usize = 12;

const DEFAULT_POSTGRES: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3";

/// Runs the demo; `examples` is the repository's `examples/` folder.
pub async fn run(examples: &Path) -> Result<(), String> {
    let procurement = examples.join("procurement");
    let file = |relative: &str| -> Result<PathBuf, String> {
        let path = examples.join(relative);
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{} is missing: run the demo from the repository root",
                path.display()
            ))
        }
    };
    let requisitions = file("procurement/requisitions.jsonl")?;
    let sap_map = file("requisition_to_sap_po/requisition_to_sap_po.map")?;
    let sap_response = file("requisition_to_sap_po/po_response.map")?;
    let netsuite_map = file("requisition_to_netsuite/requisition_to_netsuite.map")?;
    let netsuite_response = file("requisition_to_netsuite/po_response.map")?;
    let csv_map = file("requisition_to_csv/requisition_to_csv.map")?;

    let dir = std::env::temp_dir().join(format!("mapwright-demo-{}", std::process::id()));
    let tenants = dir.join("tenants");
    let secrets = dir.join("secrets");
    for folder in [&tenants, &secrets] {
        std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    }

    // SAP: ignores Idempotency-Key, like the standard APIs; 503 every 5th
    // write, every 4th answered after the client gave up.
    let checked = mapwright_project::check_file(&sap_map, None)?;
    let shapes = mapwright_project::program(&checked, &sap_map, None)?.output;
    let sap = SimErp::with_options(
        Some(shapes),
        5,
        0,
        SimOptions {
            document_field: "PurchaseOrder".to_owned(),
            honours_idempotency_key: false,
            reference_field: Some("CorrespncExternalReference".to_owned()),
        },
    );
    sap.slow_every.store(4, Ordering::SeqCst);
    let sap_url = sap.start().await.map_err(|e| e.to_string())?;

    // NetSuite: TokenPassport checked; a concurrency fault every 4th
    // request; vendor 4711 unknown.
    let passport = TokenPassport {
        account: "1234567_SB1".to_owned(),
        consumer_key: uuid::Uuid::new_v4().simple().to_string(),
        consumer_secret: uuid::Uuid::new_v4().simple().to_string(),
        token_id: uuid::Uuid::new_v4().simple().to_string(),
        token_secret: uuid::Uuid::new_v4().simple().to_string(),
    };
    for (name, value) in [
        ("ns_consumer_key", &passport.consumer_key),
        ("ns_consumer_secret", &passport.consumer_secret),
        ("ns_token_id", &passport.token_id),
        ("ns_token_secret", &passport.token_secret),
    ] {
        std::fs::write(secrets.join(name), value).map_err(|e| e.to_string())?;
    }
    let netsuite = SimNetSuite::new(passport.clone(), Some(HashSet::from(["1187".to_owned()])), 4);
    let netsuite_url = netsuite.start().await.map_err(|e| e.to_string())?;
    let globex_tables = dir.join("globex_tables.toml");
    let mut tables_text =
        std::fs::read_to_string(procurement.join("tenants/globex_netsuite/tables.toml")).map_err(|e| e.to_string())?;
    tables_text = tables_text.replacen(
        "[vendor_id]\n",
        "[vendor_id]\n# Known to the platform, not yet approved in NetSuite.\n\"SUP-US-042\" = \"4711\"\n",
        1,
    );
    std::fs::write(&globex_tables, tables_text).map_err(|e| e.to_string())?;

    // The legacy system: a folder, and PostgreSQL when there is one.
    let drop_dir = dir.join("initech_drop");
    let conninfo = std::env::var("MAPWRIGHT_DEMO_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    let staging_table = format!("mapwright_demo_staging_{}", std::process::id());
    let postgres = match prepare_postgres(&conninfo, &staging_table).await {
        Ok(client) => Some(client),
        Err(error) => {
            eprintln!(
                "\n*** mapwright demo: NO POSTGRESQL at `{conninfo}` ({error}).\n*** initech_legacy gets the CSV file drop only; set MAPWRIGHT_DEMO_POSTGRES to a reachable server to see the SQL staging table too.\n"
            );
            None
        }
    };
    if postgres.is_some() {
        std::fs::write(secrets.join("initech.pg"), &conninfo).map_err(|e| e.to_string())?;
    }

    let tenant_params = |tenant: &str| procurement.join(format!("tenants/{tenant}/params.toml"));
    let tenant_tables = |tenant: &str| procurement.join(format!("tenants/{tenant}/tables.toml"));
    let retry = "retry = { max_attempts = 10, initial_backoff_ms = 50, max_backoff_ms = 500 }";
    write(
        &tenants.join("acme_sap.toml"),
        &format!(
            r#"id = "acme_sap"
name = "ACME (SAP S/4HANA)"
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
url = "{sap_url}/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV/A_PurchaseOrder"
sap_csrf = true
timeout_ms = 1000
idempotency = {{ strategy = "lookup", flavor = "odata_v2", reference = "CorrespncExternalReference", document = "PurchaseOrder" }}
{retry}
"#,
            hash = token_hash("acme_sap-demo-token"),
            map = sap_map.display(),
            response = sap_response.display(),
            params = tenant_params("acme_sap").display(),
            tables = tenant_tables("acme_sap").display(),
        ),
    )?;
    write(
        &tenants.join("globex_netsuite.toml"),
        &format!(
            r#"id = "globex_netsuite"
name = "Globex (NetSuite)"
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
url = "{netsuite_url}"
soap_action = "upsert"
idempotency = {{ strategy = "upsert" }}
auth = {{ kind = "netsuite_tba", account = "{account}", consumer_key = "file:../secrets/ns_consumer_key", consumer_secret = "file:../secrets/ns_consumer_secret", token_id = "file:../secrets/ns_token_id", token_secret = "file:../secrets/ns_token_secret" }}
max_concurrency = 1
{retry}
"#,
            hash = token_hash("globex_netsuite-demo-token"),
            map = netsuite_map.display(),
            response = netsuite_response.display(),
            params = tenant_params("globex_netsuite").display(),
            tables = globex_tables.display(),
            account = passport.account,
        ),
    )?;
    let mut initech = format!(
        r#"id = "initech_legacy"
name = "Initech (legacy purchasing, CSV import)"
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
"#,
        hash = token_hash("initech_legacy-demo-token"),
        map = csv_map.display(),
        params = tenant_params("initech_legacy").display(),
        tables = tenant_tables("initech_legacy").display(),
        drop = drop_dir.display(),
    );
    if postgres.is_some() {
        initech.push_str(&format!(
            r#"[[routes]]
event = "requisition.approved"
mapping = "{map}"
endpoint = "staging"
params_file = "{params}"
tables_file = "{tables}"
[endpoints.staging]
kind = "sql_staging"
connection = "file:../secrets/initech.pg"
table = "{staging_table}"
"#,
            map = csv_map.display(),
            params = tenant_params("initech_legacy").display(),
            tables = tenant_tables("initech_legacy").display(),
        ));
    }
    write(&tenants.join("initech_legacy.toml"), &initech)?;

    let running = server::start(&tenants, &dir.join("store.db"), ([127, 0, 0, 1], 0).into(), false).await?;
    let base = format!("http://{}", running.address);
    println!("mapwright demo: the procurement scenario; intake on {base}");
    println!("  acme_sap        -> simulated SAP S/4HANA at {sap_url}");
    println!(
        "                     (ignores Idempotency-Key; 503 every 5th write; every 4th answered after the 1 s timeout)"
    );
    println!("  globex_netsuite -> simulated NetSuite SuiteTalk at {netsuite_url}");
    println!("                     (TokenPassport checked; concurrency fault every 4th request; vendor 4711 unknown)");
    match &postgres {
        Some(_) => println!(
            "  initech_legacy  -> CSV drop in {} and PostgreSQL table {staging_table}",
            drop_dir.display()
        ),
        None => println!(
            "  initech_legacy  -> CSV drop in {} (no PostgreSQL)",
            drop_dir.display()
        ),
    }

    let template: Value = std::fs::read_to_string(&requisitions)
        .map_err(|e| e.to_string())?
        .lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or("the example requisitions do not read")?;
    let client = reqwest::Client::new();
    for tenant in ["acme_sap", "globex_netsuite", "initech_legacy"] {
        for n in 1..=PER_TENANT {
            let mut event = template.clone();
            event["id"] = format!("req_{tenant}_{n}").into();
            event["number"] = format!("PR-2026-{n:04}").into();
            let (status, answer) = post(&client, &base, tenant, &format!("{tenant}-{n}"), &event).await?;
            if status != 202 {
                return Err(format!(
                    "{tenant}: requisition {n} was not accepted ({status}): {answer}"
                ));
            }
        }
    }
    // The same key again: the first answer, nothing new.
    let mut again = template.clone();
    again["id"] = "req_acme_sap_1".into();
    again["number"] = "PR-2026-0001".into();
    let (status, _) = post(&client, &base, "acme_sap", "acme_sap-1", &again).await?;
    println!("\n  repeated Idempotency-Key acme_sap-1: {status} (the first answer again)");
    // An impossible date: refused at the door with its path.
    let mut bad = template.clone();
    bad["approval"]["approved_at"] = "2026-02-30T10:00:00Z".into();
    let (status, answer) = post(&client, &base, "acme_sap", "acme_sap-bad", &bad).await?;
    println!("  impossible date: {status} {}", answer["errors"][0]);
    // A supplier SAP does not know: accepted, then refused by the mapping.
    let mut unknown = template.clone();
    unknown["id"] = "req_acme_sap_unknown".into();
    unknown["number"] = "PR-2026-0999".into();
    unknown["supplier"]["id"] = "SUP-NEW-1".into();
    post(&client, &base, "acme_sap", "acme_sap-unknown", &unknown).await?;
    // A vendor NetSuite refuses: accepted, sent, refused with isSuccess="false".
    let mut refused = template.clone();
    refused["id"] = "req_globex_refused".into();
    refused["number"] = "PR-2026-0998".into();
    refused["supplier"]["id"] = "SUP-US-042".into();
    post(&client, &base, "globex_netsuite", "globex-refused", &refused).await?;
    println!("  SAP-unknown supplier and NetSuite-refused vendor: accepted; they end as dead letters");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
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
            return Err(format!("deliveries still open after 120 s: {counts:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    running.stop.notify_waiters();

    println!("\noutcomes:");
    let counts = running.store.counts().await.map_err(|e| e.to_string())?;
    for (tenant, endpoint, status, n) in &counts {
        println!("  {tenant:<16} {endpoint:<9} {status:<10} {n}");
    }
    let files = std::fs::read_dir(&drop_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".csv"))
                .count()
        })
        .unwrap_or(0);
    let found = running
        .store
        .read(|db| {
            Ok(db.query_row(
                "SELECT COUNT(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                 WHERE d.tenant = 'acme_sap' AND a.response LIKE 'found by look-up%'",
                [],
                |row| row.get::<_, i64>(0),
            )?)
        })
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "  simulated SAP: {} writes, {} purchase orders; {found} answers lost to the timeout were found by look-up and not posted again",
        sap.received.load(Ordering::SeqCst),
        sap.documents()
    );
    println!(
        "  simulated NetSuite: {} requests, {} purchase orders, {} upserts of a known externalId, {} authentication failures",
        netsuite.received.load(Ordering::SeqCst),
        netsuite.documents(),
        netsuite.updates.load(Ordering::SeqCst),
        netsuite.auth_failures.load(Ordering::SeqCst)
    );
    println!("  legacy drop folder: {files} CSV files");
    let staged = match &postgres {
        Some(client) => {
            let rows = client
                .query_one(
                    &format!("SELECT COUNT(DISTINCT \"PO_NUMBER\"), COUNT(*) FROM {staging_table}"),
                    &[],
                )
                .await
                .map_err(|e| format!("cannot count the staging rows: {e}"))?;
            let (orders, lines): (i64, i64) = (rows.get(0), rows.get(1));
            println!("  PostgreSQL staging table {staging_table}: {lines} rows for {orders} orders");
            let _ = client.batch_execute(&format!("DROP TABLE {staging_table}")).await;
            Some(orders)
        }
        None => None,
    };

    println!("\ndead letters:");
    let dead = running.store.dead_letters(None).await.map_err(|e| e.to_string())?;
    for letter in &dead {
        println!(
            "  {} {} delivery {}: {}",
            letter.tenant, letter.endpoint, letter.delivery_id, letter.reason
        );
    }
    println!("\ncross-references learned from the ERPs' answers:");
    let mut learned = Vec::new();
    for tenant in ["acme_sap", "globex_netsuite"] {
        let references = running.store.references(tenant).await.map_err(|e| e.to_string())?;
        if let Some((table, key, value)) = references.first() {
            println!(
                "  {tenant}: {} entries, e.g. {table}[{key:?}] = {value:?}",
                references.len()
            );
        }
        learned.push(references.len());
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let shown: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("mapwright_deliveries") || l.starts_with("mapwright_events"))
        .collect();
    println!(
        "\nmetrics ({base}/metrics, deliveries and events):\n{}",
        shown.join("\n")
    );

    let delivered = |tenant: &str| -> i64 {
        counts
            .iter()
            .filter(|(t, _, s, _)| t == tenant && s == "delivered")
            .map(|(_, _, _, n)| n)
            .sum()
    };
    let expected = PER_TENANT as i64;
    let mut problems = Vec::new();
    let mut expect = |what: &str, got: i64, want: i64| {
        if got != want {
            problems.push(format!("{what}: {got}, expected {want}"));
        }
    };
    expect("acme_sap delivered", delivered("acme_sap"), expected);
    expect("SAP purchase orders", sap.documents() as i64, expected);
    expect("globex_netsuite delivered", delivered("globex_netsuite"), expected);
    expect("NetSuite purchase orders", netsuite.documents() as i64, expected);
    expect(
        "NetSuite authentication failures",
        netsuite.auth_failures.load(Ordering::SeqCst) as i64,
        0,
    );
    expect("legacy CSV files", files as i64, expected);
    if let Some(orders) = staged {
        expect("staged orders", orders, expected);
        expect("initech_legacy delivered", delivered("initech_legacy"), 2 * expected);
    } else {
        expect("initech_legacy delivered", delivered("initech_legacy"), expected);
    }
    expect("dead letters", dead.len() as i64, 2);
    // Every 4th SAP write is answered after the timeout: its retry must be
    // found by the look-up.
    expect("SAP answers lost and found by look-up (any)", i64::from(found > 0), 1);
    expect("SAP cross-references", learned[0] as i64, expected);
    expect("NetSuite cross-references", learned[1] as i64, expected);
    if !problems.is_empty() {
        return Err(format!("the demo did not end as expected: {}", problems.join("; ")));
    }
    println!(
        "\ndemo ok: {PER_TENANT} requisitions per tenant delivered exactly once to SAP, NetSuite and the legacy system{}; 2 dead letters with their reasons; 1 refused at intake",
        if staged.is_some() {
            " (file drop and PostgreSQL)"
        } else {
            " (file drop; no PostgreSQL)"
        }
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn prepare_postgres(conninfo: &str, table: &str) -> Result<tokio_postgres::Client, String> {
    let (client, driver) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_postgres::connect(conninfo, tokio_postgres::NoTls),
    )
    .await
    .map_err(|_| "no answer in 5 s".to_owned())?
    .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = driver.await;
    });
    client
        .batch_execute(&staging_table_sql(table))
        .await
        .map_err(|e| format!("cannot create the staging table: {e}"))?;
    Ok(client)
}

/// The staging table the legacy CSV mapping (`requisition_to_csv`) fills:
/// its columns are the row's CSV column names, typed, plus the unique
/// `mapwright_key` that makes a redelivery insert nothing twice.
pub fn staging_table_sql(table: &str) -> String {
    format!(
        r#"CREATE TABLE {table} (
          id serial PRIMARY KEY,
          "PO_NUMBER" text NOT NULL, "PO_LINE" integer NOT NULL, "ORDER_DATE" date NOT NULL,
          "SUPPLIER_NO" text NOT NULL, "ITEM_NO" text, "DESCRIPTION" text NOT NULL,
          "QUANTITY" numeric(13,3) NOT NULL, "UNIT" text NOT NULL, "UNIT_PRICE" numeric(15,4) NOT NULL,
          "LINE_AMOUNT" numeric(15,2) NOT NULL, "CURRENCY" char(3) NOT NULL, "COST_CENTER" text,
          "GL_ACCOUNT" text, "NEEDED_BY" date, "REQUESTED_BY" text,
          mapwright_key text NOT NULL UNIQUE)"#
    )
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
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
        .json(&json!({"type": "requisition.approved", "data": data}))
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
        .find(|dir| dir.join("procurement").is_dir())
}
