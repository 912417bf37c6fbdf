//! The SQL staging-table endpoint against the real PostgreSQL server
//! (127.0.0.1:5432, database `test`): rows of the legacy CSV mapping are
//! inserted in one transaction per event over a pooled connection, converted to the columns' types,
//! and a redelivery after a crash inserts nothing twice. Without a
//! reachable server the test says so loudly and passes, unless
//! `MAPWRIGHT_REQUIRE_SERVICES=1` (set by `.ci/run`), when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

mod common;

use common::examples;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mapwright_runtime::config::{load_dir, token_hash};
use mapwright_runtime::dispatch::Dispatcher;
use mapwright_runtime::intake::{Intake, router};
use mapwright_runtime::store::Store;
use serde_json::{Value, json};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tower::ServiceExt;

const CONNINFO: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3";

async fn postgres() -> Option<tokio_postgres::Client> {
    match tokio_postgres::connect(CONNINFO, tokio_postgres::NoTls).await {
        Ok((client, driver)) => {
            tokio::spawn(async move {
                let _ = driver.await;
            });
            Some(client)
        }
        Err(error) => {
            let message = format!("SKIPPED: no PostgreSQL at 127.0.0.1:5432 ({error}); the SQL staging test needs one");
            assert!(
                std::env::var("MAPWRIGHT_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{message}"
            );
            eprintln!("\n{message}\n");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_rows_are_inserted_once_even_after_a_crash() {
    let Some(pg) = postgres().await else { return };
    let table = format!("mapwright_staging_{}", std::process::id());
    pg.batch_execute(&format!(
        r#"DROP TABLE IF EXISTS {table};
        CREATE TABLE {table} (
          id serial PRIMARY KEY,
          "PO_NUMBER" text NOT NULL, "PO_LINE" integer NOT NULL, "ORDER_DATE" date NOT NULL,
          "SUPPLIER_NO" text NOT NULL, "ITEM_NO" text, "DESCRIPTION" text NOT NULL,
          "QUANTITY" numeric(13,3) NOT NULL, "UNIT" text NOT NULL, "UNIT_PRICE" numeric(15,4) NOT NULL,
          "LINE_AMOUNT" numeric(15,2) NOT NULL, "CURRENCY" char(3) NOT NULL, "COST_CENTER" text,
          "GL_ACCOUNT" text, "NEEDED_BY" date, "REQUESTED_BY" text,
          mapwright_key text NOT NULL UNIQUE,
          loaded_at timestamptz NOT NULL DEFAULT now()
        );"#
    ))
    .await
    .unwrap();

    let dir = std::env::temp_dir().join(format!("mapwright-sql-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    // Named, so the pooled connection can be found in pg_stat_activity.
    let application = format!("mapwright_sql_test_{}", std::process::id());
    std::fs::write(
        dir.join("tenants/initech.pg"),
        format!("{CONNINFO} application_name={application}"),
    )
    .unwrap();
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
kind = "sql_staging"
connection = "file:initech.pg"
table = "{table}"
max_concurrency = 1
"#,
            hash = token_hash("initech-token"),
            map = examples().join("requisition_to_csv/requisition_to_csv.map").display(),
            tables = examples()
                .join("procurement/tenants/initech_legacy/tables.toml")
                .display()
        ),
    )
    .unwrap();
    let config = Arc::new(RwLock::new(Arc::new(load_dir(&dir.join("tenants"), None).unwrap())));
    let store = Store::open(&dir.join("store.db")).unwrap();
    let intake = Arc::new(Intake {
        config: config.clone(),
        store: store.clone(),
        accepted: Arc::new(tokio::sync::Notify::new()),
    });
    let dispatcher = Dispatcher::new(store.clone(), config).unwrap();
    let lines = std::fs::read_to_string(examples().join("procurement/requisitions.jsonl")).unwrap();
    for (n, line) in lines.lines().enumerate() {
        let data: Value = serde_json::from_str(line).unwrap();
        let request = Request::post("/v1/events")
            .header("authorization", "Bearer initech-token")
            .header("idempotency-key", format!("s{n}"))
            .body(Body::from(
                json!({"type": "purchase_requisition.approved", "data": data}).to_string(),
            ))
            .unwrap();
        assert_eq!(
            router(intake.clone()).oneshot(request).await.unwrap().status(),
            StatusCode::ACCEPTED
        );
    }
    let drain = || async {
        for _ in 0..50 {
            dispatcher.clone().round().await;
            let counts = store.counts().await.unwrap();
            if counts.iter().all(|(_, _, status, _)| status == "delivered") {
                return counts;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("not delivered: {:?}", store.counts().await.unwrap());
    };
    drain().await;
    let count_sql = format!("SELECT count(*) FROM {table}");
    let count = pg.query_one(&count_sql, &[]).await.unwrap().get::<_, i64>(0);
    assert_eq!(count, 3);
    let row = pg
        .query_one(
            &format!(
                r#"SELECT "QUANTITY"::text, "ORDER_DATE"::text, "LINE_AMOUNT"::text, "NEEDED_BY"::text FROM {table}
                   WHERE "PO_NUMBER" = 'PR-2025-0311' AND "PO_LINE" = 10"#
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "3.000");
    assert_eq!(row.get::<_, String>(1), "2025-04-01");
    assert_eq!(row.get::<_, String>(2), "989.70");
    assert_eq!(row.get::<_, String>(3), "2025-04-15");
    // One connection served both events and stays open for the next.
    let connections = || async {
        pg.query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            &[&application],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
    };
    assert_eq!(connections().await, 1, "the staging connection is pooled");

    // A crash after the insert but before the outcome was recorded: the
    // deliveries are in flight when the process starts again.
    {
        let db = rusqlite::Connection::open(dir.join("store.db")).unwrap();
        db.execute("UPDATE deliveries SET status = 'in_flight'", []).unwrap();
    }
    assert_eq!(store.recover().await.unwrap(), 2);
    drain().await;
    let count = pg.query_one(&count_sql, &[]).await.unwrap().get::<_, i64>(0);
    assert_eq!(count, 3, "a redelivery inserted rows twice");
    assert_eq!(connections().await, 1, "the redelivery reused the pooled connection");
    pg.batch_execute(&format!("DROP TABLE {table}")).await.unwrap();
}
