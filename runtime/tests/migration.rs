//! A store made by an earlier version (attempts without the ERP's answer)
//! opens and gains the column, keeping what it held.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use mapwright_runtime::store::Store;

#[tokio::test]
async fn an_older_store_gains_the_answer_column() {
    let dir = std::env::temp_dir().join(format!("mapwright-migration-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("old.db");
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(
            "CREATE TABLE attempts (
               delivery_id INTEGER NOT NULL, number INTEGER NOT NULL, started_at INTEGER NOT NULL,
               finished_at INTEGER NOT NULL, outcome TEXT NOT NULL, http_status INTEGER, detail TEXT,
               PRIMARY KEY (delivery_id, number));
             INSERT INTO attempts VALUES (7, 1, 0, 1, 'retry', 503, 'busy');",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert!(store.responses(7).await.unwrap().is_empty(), "no answer was kept then");
    drop(store);
    let db = rusqlite::Connection::open(&path).unwrap();
    let (detail, response): (String, Option<String>) = db
        .query_row(
            "SELECT detail, response FROM attempts WHERE delivery_id = 7",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!((detail.as_str(), response), ("busy", None));
    let _ = std::fs::remove_dir_all(&dir);
}
