//! Batched file drops: events gather into one file per batch (the legacy
//! CSV with one header, or JSON Lines), sealed after `max_wait_ms` or at
//! `max_events`; while the posting window is closed nothing is written,
//! and what was held goes into one file when it opens. Configurations that
//! cannot batch are refused with the reason.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::{Setup, examples, post_event, requisition, start};

use mapwright_runtime::config::{load_dir, token_hash};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("batch", name)
}

/// Tenant `initech` dropping batched legacy CSVs into `dir/drop`.
fn tenant(dir: &Path, endpoint_extra: &str) {
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
{endpoint_extra}
"#,
            hash = token_hash("initech-token"),
            map = examples().join("requisition_to_csv/requisition_to_csv.map").display(),
            params = tenant.join("params.toml").display(),
            tables = tenant.join("tables.toml").display(),
            drop = dir.join("drop").display(),
        ),
    )
    .unwrap();
}

async fn accept(setup: &Setup, n: usize) {
    post_event(
        setup,
        "initech-token",
        "requisition.approved",
        &format!("k{n}"),
        requisition(n),
    )
    .await;
}

async fn delivered(setup: &Setup) -> i64 {
    common::count(&setup.store.counts().await.unwrap(), "delivered")
}

/// Rounds until `count` deliveries are delivered.
async fn until_delivered(setup: &Setup, count: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while delivered(setup).await < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            setup.store.counts().await.unwrap()
        );
        setup.dispatcher.clone().round().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir.join("drop"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let bytes = std::fs::read(e.path()).unwrap();
                    // The legacy CSV is Windows-1252: show it as Latin-1.
                    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
                    (e.file_name().to_string_lossy().into_owned(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_gather_into_one_csv_with_one_header() {
    let dir = temp_dir("gather");
    tenant(&dir, "batch = { max_events = 4, max_wait_ms = 300 }");
    let setup = start(&dir, None);
    for n in 1..=6 {
        accept(&setup, n).await;
    }
    until_delivered(&setup, 6).await;
    let written = files(&dir);
    let names: Vec<&str> = written.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["PO_BATCH_1.csv", "PO_BATCH_2.csv"],
        "sealed at 4 events, then after the wait"
    );
    let (_, first) = &written[0];
    let lines: Vec<&str> = first.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("PO_NUMBER;"), "{first}");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("PO_NUMBER;")).count(),
        1,
        "one header"
    );
    assert_eq!(lines.len(), 1 + 4 * 2, "{first}");
    let (_, second) = &written[1];
    assert_eq!(second.split("\r\n").filter(|l| !l.is_empty()).count(), 1 + 2 * 2);
    // Every requisition's two lines, once, across the files; in each file
    // in the order the events came (which events share a file depends on
    // which attempts finished first).
    let mut seen = Vec::new();
    for (_, text) in &written {
        let numbers: Vec<String> = text
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| l.split(';').next().unwrap().to_owned())
            .collect();
        let mut sorted = numbers.clone();
        sorted.sort();
        assert_eq!(numbers, sorted, "rows in event order");
        seen.extend(numbers);
    }
    seen.sort();
    let expected: Vec<String> = (1..=6)
        .flat_map(|n| [format!("PR-2026-{n:04}"), format!("PR-2026-{n:04}")])
        .collect();
    assert_eq!(seen, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_closed_window_held_goes_into_one_file_when_it_opens() {
    let dir = temp_dir("window");
    // A window that is closed now (it opened and closed an hour ago, UTC).
    let now = jiff::Timestamp::now();
    let minutes = |offset: i64| {
        let at = now.checked_add(jiff::SignedDuration::from_mins(offset)).unwrap();
        let t = jiff::tz::TimeZone::UTC.to_datetime(at);
        format!("{:02}:{:02}", t.hour(), t.minute())
    };
    let closed = format!("posting_window = \"{}-{} UTC\"", minutes(-90), minutes(-60));
    tenant(&dir, &format!("batch = {{ max_wait_ms = 200 }}\n{closed}"));
    let setup = start(&dir, None);
    for n in 1..=5 {
        accept(&setup, n).await;
    }
    for _ in 0..3 {
        setup.dispatcher.clone().round().await;
    }
    assert!(files(&dir).is_empty(), "nothing written while the window is closed");
    assert_eq!(delivered(&setup).await, 0);
    // The window opens: the same tenant with a window around now, and the
    // held deliveries due (as when the clock reaches the opening).
    let open = format!("posting_window = \"{}-{} UTC\"", minutes(-5), minutes(30));
    tenant(&dir, &format!("batch = {{ max_wait_ms = 200 }}\n{open}"));
    rusqlite_due_now(&dir.join("store.db"));
    let setup = start(&dir, Some(setup.store.clone()));
    until_delivered(&setup, 5).await;
    let written = files(&dir);
    assert_eq!(written.len(), 1, "one file for all that was held: {written:?}");
    assert_eq!(written[0].1.split("\r\n").filter(|l| !l.is_empty()).count(), 1 + 5 * 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Makes every pending delivery due now (the clock reaching the window's
/// opening, without waiting for it).
fn rusqlite_due_now(store: &Path) {
    let db = rusqlite::Connection::open(store).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute("UPDATE deliveries SET next_attempt_at = 0 WHERE status = 'pending'", [])
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_targets_batch_as_json_lines() {
    let dir = temp_dir("jsonl");
    let tenant_dir = examples().join("procurement/tenants/acme_sap");
    std::fs::write(
        dir.join("tenants/acme.toml"),
        format!(
            r#"id = "acme"
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
name_template = "orders-{{batch.id}}-{{batch.count}}.jsonl"
batch = {{ max_wait_ms = 200 }}
"#,
            hash = token_hash("initech-token"),
            map = examples()
                .join("requisition_to_sap_po/requisition_to_sap_po.map")
                .display(),
            params = tenant_dir.join("params.toml").display(),
            tables = tenant_dir.join("tables.toml").display(),
            drop = dir.join("drop").display(),
        ),
    )
    .unwrap();
    let setup = start(&dir, None);
    for n in 1..=3 {
        accept(&setup, n).await;
    }
    until_delivered(&setup, 3).await;
    let written = files(&dir);
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].0, "orders-1-3.jsonl");
    let lines: Vec<Value> = written[0].1.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let references: Vec<&str> = lines
        .iter()
        .map(|l| l["CorrespncExternalReference"].as_str().unwrap())
        .collect();
    assert_eq!(references, ["PR-2026-0001", "PR-2026-0002", "PR-2026-0003"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn configurations_that_cannot_batch_are_refused() {
    let dir = temp_dir("refused");
    std::fs::write(
        dir.join("tenants/bad.toml"),
        format!(
            r#"id = "bad"
[intake]
token_sha256 = "{hash}"
[[routes]]
event = "requisition.approved"
mapping = "{netsuite}"
endpoint = "xml_drop"
params = {{ subsidiary = "3" }}
[[routes]]
event = "requisition.approved"
mapping = "{csv}"
endpoint = "csv_drop"
[[routes]]
event = "requisition.created"
mapping = "{csv}"
endpoint = "csv_drop"
[endpoints.xml_drop]
kind = "file_drop"
directory = "{drop}"
batch = {{}}
[endpoints.csv_drop]
kind = "file_drop"
directory = "{drop}"
name_template = "{{event.id}}.csv"
batch = {{ max_events = 0 }}
[endpoints.api]
kind = "http_json"
url = "http://erp.example/api"
batch = {{}}
"#,
            hash = token_hash("bad-token"),
            netsuite = examples()
                .join("requisition_to_netsuite/requisition_to_netsuite.map")
                .display(),
            csv = examples().join("requisition_to_csv/requisition_to_csv.map").display(),
            drop = dir.join("drop").display(),
        ),
    )
    .unwrap();
    let errors: Vec<String> = load_dir(&dir.join("tenants"), None)
        .err()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    let joined = errors.join("\n");
    for expected in [
        "endpoints.api.batch: only a file_drop endpoint gathers events into batch files",
        "endpoints.csv_drop.batch: max_events and max_wait_ms must be at least 1",
        "endpoints.csv_drop.name_template: a batch file gathers many events: name it with {batch.id}",
        "endpoints.csv_drop.batch: 2 routes feed this endpoint",
        "routes[0].mapping: endpoint `xml_drop` gathers events into one file, and XML documents cannot be gathered",
    ] {
        assert!(joined.contains(expected), "missing `{expected}` in:\n{joined}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
