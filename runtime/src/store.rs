//! The embedded durable store: SQLite in WAL mode with `synchronous=FULL`,
//! written by one thread that commits queued writes in groups (one fsync
//! for many requests), read through its own connection.
//!
//! It holds events (with their idempotency keys, kept for a while),
//! deliveries (one per route an event takes), attempts, dead letters and
//! the audit trail. An answer to a write is sent only after its group
//! committed: an event acknowledged is an event on disk.

use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("the store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The writer thread is gone (the store is shutting down).
    #[error("the store is closed")]
    Closed,
    /// The group this write was in did not commit.
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
}

type Result<T> = std::result::Result<T, StoreError>;
type Finish = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
/// A write: runs its SQL, says whether it succeeded, and gives the
/// finisher that answers the caller once the group's fate is known.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;

/// The most writes committed together.
const GROUP: usize = 512;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  type TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  business_key TEXT,
  data TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_business ON events(tenant, business_key);
CREATE TABLE IF NOT EXISTS idempotency (
  tenant TEXT NOT NULL,
  key TEXT NOT NULL,
  event_id TEXT NOT NULL,
  body_sha256 TEXT NOT NULL,
  keep_until INTEGER NOT NULL,
  PRIMARY KEY (tenant, key)
);
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL REFERENCES events(id),
  tenant TEXT NOT NULL,
  route INTEGER NOT NULL,
  endpoint TEXT NOT NULL,
  order_key TEXT,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  mapping_hash TEXT,
  erp_document TEXT,
  last_error TEXT,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries(tenant, endpoint, status, next_attempt_at, id);
CREATE INDEX IF NOT EXISTS deliveries_entity ON deliveries(tenant, endpoint, order_key, id);
CREATE TABLE IF NOT EXISTS attempts (
  delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
  number INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  http_status INTEGER,
  detail TEXT,
  response TEXT,
  PRIMARY KEY (delivery_id, number)
);
CREATE TABLE IF NOT EXISTS dead_letters (
  delivery_id INTEGER PRIMARY KEY REFERENCES deliveries(id),
  reason TEXT NOT NULL,
  at INTEGER NOT NULL,
  replayed_at INTEGER
);
CREATE TABLE IF NOT EXISTS webhooks (
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  delivery_id INTEGER NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS webhooks_due ON webhooks(status, next_attempt_at);
CREATE TABLE IF NOT EXISTS xrefs (
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  delivery_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (tenant, name, key)
);
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  seal_at INTEGER NOT NULL,
  items INTEGER NOT NULL DEFAULT 0,
  file TEXT,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS batches_due ON batches(state, seal_at);
CREATE TABLE IF NOT EXISTS batch_items (
  batch_id INTEGER NOT NULL REFERENCES batches(id),
  delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
  payload BLOB NOT NULL,
  mapping_hash TEXT NOT NULL,
  PRIMARY KEY (batch_id, delivery_id)
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  event_id TEXT,
  correlation_id TEXT,
  action TEXT NOT NULL,
  detail TEXT
);
";

fn open(path: &Path) -> Result<Connection> {
    let connection = Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(connection)
}

/// The store.
#[derive(Clone)]
pub struct Store {
    writer: mpsc::Sender<Job>,
    reader: Arc<Mutex<Connection>>,
    path: PathBuf,
}

/// An event to accept.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// Its id.
    pub id: String,
    /// The tenant.
    pub tenant: String,
    /// The event type.
    pub event_type: String,
    /// The client's idempotency key.
    pub idempotency_key: String,
    /// SHA-256 of the request body (hex), to tell a retry from a misuse.
    pub body_sha256: String,
    /// The correlation id.
    pub correlation_id: String,
    /// A business reference to find it by (an invoice number).
    pub business_key: Option<String>,
    /// The event data (JSON).
    pub data: String,
    /// How long the idempotency key is kept, in milliseconds.
    pub keep_key_ms: i64,
    /// One delivery per route: (route index, endpoint, ordering key).
    pub deliveries: Vec<(usize, String, Option<String>)>,
}

/// What accepting gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Stored now.
    New(String),
    /// The same key and body were accepted before: that event.
    Duplicate(String),
    /// The same key came with another body before: that event.
    Conflict(String),
}

/// An event as its tenant may see it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EventView {
    /// Its id.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The correlation id.
    pub correlation_id: String,
    /// Its business reference.
    pub business_key: Option<String>,
    /// When it was accepted (RFC 3339).
    pub received_at: String,
    /// Its deliveries.
    pub deliveries: Vec<DeliveryView>,
}

/// A delivery as its tenant may see it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeliveryView {
    /// The endpoint.
    pub endpoint: String,
    /// `pending`, `delivered`, `dead`.
    pub status: String,
    /// The ERP's document id, once delivered.
    pub erp_document: Option<String>,
    /// The last error.
    pub last_error: Option<String>,
    /// Every attempt.
    pub attempts: Vec<AttemptView>,
}

/// One attempt.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AttemptView {
    /// 1, 2, …
    pub number: i64,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// `delivered`, `retry`, `failed`.
    pub outcome: String,
    /// The ERP's HTTP status.
    pub http_status: Option<i64>,
    /// The ERP's answer or the error.
    pub detail: Option<String>,
}

/// Milliseconds since the epoch now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

impl Store {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        let writer_connection = open(path)?;
        writer_connection.execute_batch(SCHEMA)?;
        // Stores made before attempts kept the ERP's answer gain the column.
        let has_response: bool = writer_connection.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('attempts') WHERE name = 'response'",
            [],
            |row| row.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_response {
            writer_connection.execute_batch("ALTER TABLE attempts ADD COLUMN response TEXT")?;
        }
        let reader = open(path)?;
        let (sender, receiver) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("mapwright-store".to_owned())
            .spawn(move || write_loop(writer_connection, receiver))
            .map_err(|e| StoreError::NotCommitted(format!("cannot start the writer: {e}")))?;
        Ok(Store {
            writer: sender,
            reader: Arc::new(Mutex::new(reader)),
            path: path.to_path_buf(),
        })
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `job` in the writer's next group; its answer comes after the
    /// group committed.
    pub async fn write<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel::<Result<T>>();
        let boxed: Job = Box::new(move |connection: &Connection| {
            let result = job(connection);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |committed: std::result::Result<(), String>| {
                let outcome = match (committed, result) {
                    (_, Err(error)) => Err(error),
                    (Ok(()), Ok(value)) => Ok(value),
                    (Err(message), Ok(_)) => Err(StoreError::NotCommitted(message)),
                };
                let _ = reply.send(outcome);
            });
            (ok, finish)
        });
        self.writer.send(boxed).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs a read on the reader connection, off the async threads.
    pub async fn read<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let connection = reader.lock().map_err(|_| StoreError::Closed)?;
            job(&connection)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// Accepts an event durably, honouring its idempotency key.
    pub async fn accept(&self, event: NewEvent) -> Result<Accepted> {
        self.write(move |db| {
            let now = now_ms();
            let known: Option<(String, String, i64)> = db
                .query_row(
                    "SELECT event_id, body_sha256, keep_until FROM idempotency WHERE tenant = ?1 AND key = ?2",
                    params![event.tenant, event.idempotency_key],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            if let Some((id, hash, keep_until)) = known {
                if keep_until > now {
                    return Ok(if hash == event.body_sha256 {
                        Accepted::Duplicate(id)
                    } else {
                        Accepted::Conflict(id)
                    });
                }
                db.execute(
                    "DELETE FROM idempotency WHERE tenant = ?1 AND key = ?2",
                    params![event.tenant, event.idempotency_key],
                )?;
            }
            db.execute(
                "INSERT INTO events (id, tenant, type, correlation_id, business_key, data, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    event.id,
                    event.tenant,
                    event.event_type,
                    event.correlation_id,
                    event.business_key,
                    event.data,
                    now
                ],
            )?;
            db.execute(
                "INSERT INTO idempotency (tenant, key, event_id, body_sha256, keep_until) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    event.tenant,
                    event.idempotency_key,
                    event.id,
                    event.body_sha256,
                    now.saturating_add(event.keep_key_ms)
                ],
            )?;
            for (route, endpoint, order_key) in &event.deliveries {
                db.execute(
                    "INSERT INTO deliveries (event_id, tenant, route, endpoint, order_key, status, next_attempt_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
                    params![event.id, event.tenant, *route as i64, endpoint, order_key, now],
                )?;
            }
            db.execute(
                "INSERT INTO audit (at, tenant, event_id, correlation_id, action, detail) VALUES (?1, ?2, ?3, ?4, 'accepted', ?5)",
                params![
                    now,
                    event.tenant,
                    event.id,
                    event.correlation_id,
                    format!("{} with {} deliveries", event.event_type, event.deliveries.len())
                ],
            )?;
            Ok(Accepted::New(event.id))
        })
        .await
    }

    /// The event `id` of `tenant` with its deliveries and attempts; `None`
    /// when there is none for that tenant.
    pub async fn event(&self, tenant: &str, id: &str) -> Result<Option<EventView>> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.read(move |db| event_view(db, &tenant, &id)).await
    }

    /// The events of `tenant` with business key `key`, newest first.
    pub async fn events_by_business_key(&self, tenant: &str, key: &str) -> Result<Vec<EventView>> {
        let (tenant, key) = (tenant.to_owned(), key.to_owned());
        self.read(move |db| {
            let mut statement = db.prepare(
                "SELECT id FROM events WHERE tenant = ?1 AND business_key = ?2 ORDER BY received_at DESC LIMIT 100",
            )?;
            let ids: Vec<String> = statement
                .query_map(params![tenant, key], |row| row.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            let mut out = Vec::new();
            for id in ids {
                if let Some(view) = event_view(db, &tenant, &id)? {
                    out.push(view);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Removes idempotency keys past their time; returns how many.
    pub async fn purge_expired_keys(&self) -> Result<usize> {
        self.write(|db| Ok(db.execute("DELETE FROM idempotency WHERE keep_until <= ?1", params![now_ms()])?))
            .await
    }
}

/// A delivery claimed for an attempt, with what it needs.
#[derive(Clone, Debug)]
pub struct Due {
    /// The delivery.
    pub delivery_id: i64,
    /// Its event.
    pub event_id: String,
    /// The tenant.
    pub tenant: String,
    /// The route's index in the tenant's file.
    pub route: usize,
    /// The endpoint's name.
    pub endpoint: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// The event's correlation id.
    pub correlation_id: String,
    /// The event data (JSON).
    pub data: String,
}

/// The status event a webhook reports for a final outcome.
#[derive(serde::Serialize)]
struct StatusEvent<'a> {
    event_id: &'a str,
    tenant: &'a str,
    correlation_id: &'a str,
    endpoint: &'a str,
    status: &'a str,
    attempts: i64,
    erp_document: Option<&'a str>,
    references: &'a [crate::response::Reference],
    error: Option<&'a str>,
    at: String,
}

impl StatusEvent<'_> {
    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A batch file to write: sealed, its items fixed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBatch {
    /// The batch.
    pub id: i64,
    /// The tenant.
    pub tenant: String,
    /// The endpoint.
    pub endpoint: String,
    /// When its first event joined (ms since the epoch).
    pub created_at: i64,
    /// Events in it.
    pub items: i64,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The ERP took it.
    Delivered {
        /// Its HTTP status (none for a file drop).
        http_status: Option<i64>,
        /// The document id it gave, if found.
        erp_document: Option<String>,
        /// SHA-256 of the mapping that made the payload.
        mapping_hash: String,
        /// Cross-references the response mapping learned.
        references: Vec<crate::response::Reference>,
    },
    /// It failed in a way worth trying again at `at_ms`.
    Retry {
        /// When to try again.
        at_ms: i64,
        /// The HTTP status, if the ERP answered.
        http_status: Option<i64>,
        /// What happened.
        detail: String,
    },
    /// It failed for good: to the dead-letter queue with the reason.
    Dead {
        /// The HTTP status, if the ERP answered.
        http_status: Option<i64>,
        /// Why.
        reason: String,
    },
    /// Mapped into its endpoint's open batch (already recorded by
    /// [`Store::add_to_batch`]); delivered when the batch file is written.
    Batched {
        /// The batch.
        batch: i64,
    },
    /// Not attempted now (posting window closed, circuit open): wait until
    /// `at_ms` without counting an attempt.
    Deferred {
        /// When to look again.
        at_ms: i64,
        /// Why.
        reason: String,
    },
}

/// What `/metrics` reports beyond the delivery counts.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// Events accepted, by tenant.
    pub events: Vec<(String, i64)>,
    /// Attempts by tenant, endpoint and outcome.
    pub attempts: Vec<(String, String, String, i64)>,
    /// Attempt durations by tenant and endpoint.
    pub durations: Vec<Durations>,
}

/// A histogram of attempt durations.
#[derive(Clone, Debug)]
pub struct Durations {
    /// The tenant.
    pub tenant: String,
    /// The endpoint.
    pub endpoint: String,
    /// (upper bound in seconds, attempts at most that long).
    pub buckets: Vec<(f64, i64)>,
    /// Attempts.
    pub count: i64,
    /// Their total duration, in seconds.
    pub sum_seconds: f64,
}

/// A dead letter.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeadLetter {
    /// The delivery.
    pub delivery_id: i64,
    /// Its event.
    pub event_id: String,
    /// The tenant.
    pub tenant: String,
    /// The endpoint.
    pub endpoint: String,
    /// Why it is dead.
    pub reason: String,
    /// When (RFC 3339).
    pub at: String,
    /// Attempts made.
    pub attempts: i64,
}

impl Store {
    /// Claims due deliveries, leased for `lease_ms` (a worker that dies
    /// leaves them to be claimed again when the lease ends): up to
    /// `per_endpoint` for each (tenant, endpoint) in `pairs`, the oldest
    /// due first, taken in turns across the pairs so no tenant's backlog
    /// crowds out another's, plus a few of the oldest due of any pair (for
    /// endpoints no longer configured); `limit` in all. A delivery with an
    /// ordering key waits while an earlier one of its entity is pending.
    /// Each pair's look-up uses an index, so a claim costs the same however
    /// long the queue is.
    pub async fn claim_due(
        &self,
        pairs: Vec<(String, String)>,
        per_endpoint: usize,
        limit: usize,
        lease_ms: i64,
    ) -> Result<Vec<Due>> {
        self.write(move |db| {
            let now = now_ms();
            const WAITS_FOR_EARLIER: &str = "(d.order_key IS NULL OR NOT EXISTS (
                 SELECT 1 FROM deliveries e
                 WHERE e.tenant = d.tenant AND e.endpoint = d.endpoint AND e.order_key = d.order_key
                   AND e.id < d.id AND e.status IN ('pending', 'in_flight')))";
            let mut per_pair = db.prepare_cached(&format!(
                "SELECT d.id FROM deliveries d
                 WHERE d.tenant = ?1 AND d.endpoint = ?2 AND d.status IN ('pending', 'in_flight') AND d.next_attempt_at <= ?3
                   AND {WAITS_FOR_EARLIER}
                 ORDER BY d.next_attempt_at, d.id LIMIT ?4"
            ))?;
            let mut lists: Vec<Vec<i64>> = Vec::with_capacity(pairs.len() + 1);
            for (tenant, endpoint) in &pairs {
                let ids: Vec<i64> = per_pair
                    .query_map(params![tenant, endpoint, now, per_endpoint as i64], |row| row.get(0))?
                    .collect::<std::result::Result<_, _>>()?;
                lists.push(ids);
            }
            let mut stragglers = db.prepare_cached(&format!(
                "SELECT d.id FROM deliveries d
                 WHERE d.status IN ('pending', 'in_flight') AND d.next_attempt_at <= ?1 AND {WAITS_FOR_EARLIER}
                 ORDER BY d.next_attempt_at, d.id LIMIT 32"
            ))?;
            lists.push(
                stragglers
                    .query_map(params![now], |row| row.get(0))?
                    .collect::<std::result::Result<_, _>>()?,
            );
            // Take in turns: the first of each list, then the second, …
            let mut chosen = Vec::new();
            let mut seen = std::collections::HashSet::new();
            let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
            'turns: for turn in 0..longest {
                for list in &lists {
                    if let Some(id) = list.get(turn)
                        && seen.insert(*id)
                    {
                        chosen.push(*id);
                        if chosen.len() >= limit {
                            break 'turns;
                        }
                    }
                }
            }
            let mut lease = db.prepare_cached(
                "UPDATE deliveries SET status = 'in_flight', next_attempt_at = ?2 + ?3, updated_at = ?2 WHERE id = ?1
                 RETURNING id, event_id, tenant, route, endpoint, attempts",
            )?;
            let mut event = db.prepare_cached("SELECT correlation_id, data FROM events WHERE id = ?1")?;
            let mut out = Vec::with_capacity(chosen.len());
            for id in chosen {
                let (delivery_id, event_id, tenant, route, endpoint, attempts): (i64, String, String, i64, String, i64) =
                    lease.query_row(params![id, now, lease_ms], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
                    })?;
                let (correlation_id, data): (String, String) =
                    event.query_row(params![event_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
                out.push(Due {
                    delivery_id,
                    event_id,
                    tenant,
                    route: usize::try_from(route).unwrap_or(usize::MAX),
                    endpoint,
                    attempts,
                    correlation_id,
                    data,
                });
            }
            Ok(out)
        })
        .await
    }

    /// Records how an attempt (started at `started_ms`) ended; with
    /// `notify`, a final outcome also queues its status webhook in the same
    /// transaction.
    /// `response` is what the ERP answered (at most 64 KiB), kept with
    /// the attempt for the audit trail.
    pub async fn finish(
        &self,
        due: &Due,
        started_ms: i64,
        outcome: Outcome,
        notify: bool,
        response: Option<String>,
    ) -> Result<()> {
        let due = due.clone();
        self.write(move |db| {
            let now = now_ms();
            let status_event = |status: &str,
                                document: Option<&str>,
                                error: Option<&str>,
                                references: &[crate::response::Reference]| {
                let body = StatusEvent {
                    event_id: &due.event_id,
                    tenant: &due.tenant,
                    correlation_id: &due.correlation_id,
                    endpoint: &due.endpoint,
                    status,
                    attempts: due.attempts + 1,
                    erp_document: document,
                    references,
                    error,
                    at: rfc3339(now),
                };
                db.execute(
                    "INSERT INTO webhooks (tenant, delivery_id, body, status, next_attempt_at) VALUES (?1, ?2, ?3, 'pending', ?4)",
                    params![due.tenant, due.delivery_id, body.json(), now],
                )
            };
            let number = due.attempts + 1;
            let attempt = |outcome: &str, status: Option<i64>, detail: &str| {
                db.execute(
                    "INSERT INTO attempts (delivery_id, number, started_at, finished_at, outcome, http_status, detail, response)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![due.delivery_id, number, started_ms, now, outcome, status, detail, response],
                )
            };
            let audit = |action: &str, detail: &str| {
                db.execute(
                    "INSERT INTO audit (at, tenant, event_id, correlation_id, action, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![now, due.tenant, due.event_id, due.correlation_id, action, detail],
                )
            };
            match outcome {
                Outcome::Delivered {
                    http_status,
                    erp_document,
                    mapping_hash,
                    references,
                } => {
                    for reference in &references {
                        db.execute(
                            "INSERT OR REPLACE INTO xrefs (tenant, name, key, value, delivery_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            params![due.tenant, reference.table, reference.key, reference.value, due.delivery_id, now],
                        )?;
                    }
                    attempt("delivered", http_status, erp_document.as_deref().unwrap_or(""))?;
                    db.execute(
                        "UPDATE deliveries SET status = 'delivered', attempts = ?2, erp_document = ?3, mapping_hash = ?4,
                         last_error = NULL, updated_at = ?5 WHERE id = ?1",
                        params![due.delivery_id, number, erp_document, mapping_hash, now],
                    )?;
                    if notify {
                        status_event("delivered", erp_document.as_deref(), None, &references)?;
                    }
                    audit(
                        "delivered",
                        &format!(
                            "{} to {} (mapping {mapping_hash}), document {}",
                            due.delivery_id,
                            due.endpoint,
                            erp_document.as_deref().unwrap_or("-")
                        ),
                    )?;
                }
                Outcome::Retry {
                    at_ms,
                    http_status,
                    detail,
                } => {
                    attempt("retry", http_status, &detail)?;
                    db.execute(
                        "UPDATE deliveries SET status = 'pending', attempts = ?2, next_attempt_at = ?3, last_error = ?4,
                         updated_at = ?5 WHERE id = ?1",
                        params![due.delivery_id, number, at_ms, detail, now],
                    )?;
                }
                Outcome::Dead { http_status, reason } => {
                    attempt("failed", http_status, &reason)?;
                    db.execute(
                        "UPDATE deliveries SET status = 'dead', attempts = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
                        params![due.delivery_id, number, reason, now],
                    )?;
                    db.execute(
                        "INSERT OR REPLACE INTO dead_letters (delivery_id, reason, at, replayed_at) VALUES (?1, ?2, ?3, NULL)",
                        params![due.delivery_id, reason, now],
                    )?;
                    if notify {
                        status_event("dead", None, Some(&reason), &[])?;
                    }
                    audit("dead_letter", &reason)?;
                }
                Outcome::Batched { .. } => {}
                Outcome::Deferred { at_ms, reason } => {
                    db.execute(
                        "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2, last_error = ?3, updated_at = ?4
                         WHERE id = ?1",
                        params![due.delivery_id, at_ms, reason, now],
                    )?;
                }
            }
            Ok(())
        })
        .await
    }

    /// Puts a mapped delivery into its endpoint's open batch (opening one
    /// that stays open `max_wait_ms`, sealed early at `max_events`): the
    /// delivery leaves the queue as `batched`, in one transaction with its
    /// payload. Returns the batch.
    pub async fn add_to_batch(
        &self,
        due: &Due,
        started_ms: i64,
        payload: Vec<u8>,
        mapping_hash: String,
        max_events: u32,
        max_wait_ms: u64,
    ) -> Result<i64> {
        let due = due.clone();
        self.write(move |db| {
            let now = now_ms();
            let open: Option<i64> = db
                .query_row(
                    "SELECT id FROM batches WHERE tenant = ?1 AND endpoint = ?2 AND state = 'open' ORDER BY id LIMIT 1",
                    params![due.tenant, due.endpoint],
                    |row| row.get(0),
                )
                .optional()?;
            let batch = match open {
                Some(id) => id,
                None => {
                    let wait = i64::try_from(max_wait_ms).unwrap_or(i64::MAX);
                    db.execute(
                        "INSERT INTO batches (tenant, endpoint, state, created_at, seal_at) VALUES (?1, ?2, 'open', ?3, ?4)",
                        params![due.tenant, due.endpoint, now, now.saturating_add(wait)],
                    )?;
                    db.last_insert_rowid()
                }
            };
            db.execute(
                "INSERT OR REPLACE INTO batch_items (batch_id, delivery_id, payload, mapping_hash) VALUES (?1, ?2, ?3, ?4)",
                params![batch, due.delivery_id, payload, mapping_hash],
            )?;
            db.execute(
                "UPDATE batches SET items = (SELECT COUNT(*) FROM batch_items WHERE batch_id = ?1),
                 state = CASE WHEN (SELECT COUNT(*) FROM batch_items WHERE batch_id = ?1) >= ?2 THEN 'sealed' ELSE state END
                 WHERE id = ?1",
                params![batch, max_events],
            )?;
            let number = due.attempts + 1;
            db.execute(
                "INSERT INTO attempts (delivery_id, number, started_at, finished_at, outcome, http_status, detail)
                 VALUES (?1, ?2, ?3, ?4, 'batched', NULL, ?5)",
                params![due.delivery_id, number, started_ms, now, format!("batch {batch}")],
            )?;
            db.execute(
                "UPDATE deliveries SET status = 'batched', attempts = ?2, last_error = NULL, updated_at = ?3 WHERE id = ?1",
                params![due.delivery_id, number, now],
            )?;
            Ok(batch)
        })
        .await
    }

    /// Seals the batches whose time is up and gives every sealed batch due
    /// for writing (a failed write is tried again later).
    pub async fn sealed_batches(&self) -> Result<Vec<SealedBatch>> {
        self.write(|db| {
            let now = now_ms();
            db.execute(
                "UPDATE batches SET state = 'sealed' WHERE state = 'open' AND seal_at <= ?1",
                params![now],
            )?;
            let mut statement = db.prepare(
                "SELECT id, tenant, endpoint, created_at, items FROM batches
                 WHERE state = 'sealed' AND seal_at <= ?1 ORDER BY id",
            )?;
            let rows = statement.query_map(params![now], |row| {
                Ok(SealedBatch {
                    id: row.get(0)?,
                    tenant: row.get(1)?,
                    endpoint: row.get(2)?,
                    created_at: row.get(3)?,
                    items: row.get(4)?,
                })
            })?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// A batch's payloads, in the order their deliveries were created.
    pub async fn batch_items(&self, batch: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        self.read(move |db| {
            let mut statement =
                db.prepare("SELECT delivery_id, payload FROM batch_items WHERE batch_id = ?1 ORDER BY delivery_id")?;
            let rows = statement.query_map(params![batch], |row| Ok((row.get(0)?, row.get(1)?)))?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Records a batch file written (`Ok(name)`: every delivery in it is
    /// delivered, with its status webhook when `notify`) or not (`Err`:
    /// tried again in `retry_ms`).
    pub async fn finish_batch(
        &self,
        batch: &SealedBatch,
        written: std::result::Result<String, String>,
        notify: bool,
        retry_ms: i64,
    ) -> Result<()> {
        let batch = batch.clone();
        self.write(move |db| {
            let now = now_ms();
            let file = match written {
                Err(error) => {
                    db.execute(
                        "UPDATE batches SET seal_at = ?2, last_error = ?3 WHERE id = ?1",
                        params![batch.id, now + retry_ms, error],
                    )?;
                    return Ok(());
                }
                Ok(file) => file,
            };
            db.execute(
                "UPDATE batches SET state = 'written', file = ?2, last_error = NULL WHERE id = ?1",
                params![batch.id, file],
            )?;
            db.execute(
                "UPDATE deliveries SET status = 'delivered', erp_document = ?2, updated_at = ?3,
                 mapping_hash = (SELECT mapping_hash FROM batch_items WHERE batch_id = ?1 AND delivery_id = deliveries.id)
                 WHERE id IN (SELECT delivery_id FROM batch_items WHERE batch_id = ?1)",
                params![batch.id, file, now],
            )?;
            if notify {
                let mut statement = db.prepare(
                    "SELECT d.id, d.event_id, e.correlation_id, d.attempts FROM batch_items b
                     JOIN deliveries d ON d.id = b.delivery_id JOIN events e ON e.id = d.event_id
                     WHERE b.batch_id = ?1 ORDER BY d.id",
                )?;
                let rows: Vec<(i64, String, String, i64)> = statement
                    .query_map(params![batch.id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
                    .collect::<std::result::Result<_, _>>()?;
                for (delivery_id, event_id, correlation_id, attempts) in rows {
                    let body = StatusEvent {
                        event_id: &event_id,
                        tenant: &batch.tenant,
                        correlation_id: &correlation_id,
                        endpoint: &batch.endpoint,
                        status: "delivered",
                        attempts,
                        erp_document: Some(&file),
                        references: &[],
                        error: None,
                        at: rfc3339(now),
                    };
                    db.execute(
                        "INSERT INTO webhooks (tenant, delivery_id, body, status, next_attempt_at) VALUES (?1, ?2, ?3, 'pending', ?4)",
                        params![batch.tenant, delivery_id, body.json(), now],
                    )?;
                }
            }
            db.execute(
                "INSERT INTO audit (at, tenant, event_id, correlation_id, action, detail) VALUES (?1, ?2, NULL, NULL, 'batch_written', ?3)",
                params![now, batch.tenant, format!("batch {} to {}: {} events in {file}", batch.id, batch.endpoint, batch.items)],
            )?;
            Ok(())
        })
        .await
    }

    /// The cross-references learned from a tenant's ERP responses:
    /// (table, key, value).
    pub async fn references(&self, tenant: &str) -> Result<Vec<(String, String, String)>> {
        let tenant = tenant.to_owned();
        self.read(move |db| {
            let mut statement =
                db.prepare("SELECT name, key, value FROM xrefs WHERE tenant = ?1 ORDER BY name, key")?;
            let rows = statement.query_map(params![tenant], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// What the ERP answered to each attempt of a delivery: (attempt, body).
    pub async fn responses(&self, delivery_id: i64) -> Result<Vec<(i64, String)>> {
        self.read(move |db| {
            let mut statement = db.prepare(
                "SELECT number, response FROM attempts WHERE delivery_id = ?1 AND response IS NOT NULL ORDER BY number",
            )?;
            let rows = statement.query_map(params![delivery_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// At start-up of the one process that owns this embedded store: the
    /// deliveries a previous process had in flight died with it, so they
    /// are due again now (their ERP requests carry the same idempotency
    /// key). Returns how many.
    pub async fn recover(&self) -> Result<usize> {
        self.write(|db| {
            let now = now_ms();
            let n = db.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?1, updated_at = ?1 WHERE status = 'in_flight'",
                params![now],
            )?;
            db.execute(
                "UPDATE webhooks SET status = 'pending', next_attempt_at = ?1 WHERE status = 'in_flight'",
                params![now],
            )?;
            if n > 0 {
                db.execute(
                    "INSERT INTO audit (at, tenant, action, detail) VALUES (?1, '-', 'recovered', ?2)",
                    params![now, format!("{n} deliveries in flight when the previous process stopped")],
                )?;
            }
            Ok(n)
        })
        .await
    }

    /// Claims up to `limit` due status webhooks, leased for `lease_ms`:
    /// (id, tenant, body, attempts so far).
    pub async fn claim_webhooks(&self, limit: usize, lease_ms: i64) -> Result<Vec<(i64, String, String, i64)>> {
        self.write(move |db| {
            let now = now_ms();
            let mut statement = db.prepare(
                "UPDATE webhooks SET status = 'in_flight', next_attempt_at = ?1 + ?2
                 WHERE id IN (SELECT id FROM webhooks WHERE status IN ('pending', 'in_flight') AND next_attempt_at <= ?1
                              ORDER BY id LIMIT ?3)
                 RETURNING id, tenant, body, attempts",
            )?;
            let rows = statement
                .query_map(params![now, lease_ms, limit as i64], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })?
                .collect::<std::result::Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Records a webhook attempt: sent, to be retried at `retry_at`, or
    /// given up (`retry_at` none and not sent).
    pub async fn finish_webhook(
        &self,
        id: i64,
        sent: bool,
        retry_at: Option<i64>,
        error: Option<String>,
    ) -> Result<()> {
        self.write(move |db| {
            let status = match (sent, retry_at) {
                (true, _) => "sent",
                (false, Some(_)) => "pending",
                (false, None) => "failed",
            };
            db.execute(
                "UPDATE webhooks SET status = ?2, attempts = attempts + 1, next_attempt_at = COALESCE(?3, next_attempt_at),
                 last_error = ?4 WHERE id = ?1",
                params![id, status, retry_at, error],
            )?;
            Ok(())
        })
        .await
    }

    /// Webhooks by status (for tests and operations).
    pub async fn webhook_counts(&self) -> Result<Vec<(String, i64)>> {
        self.read(|db| {
            let mut statement = db.prepare("SELECT status, COUNT(*) FROM webhooks GROUP BY status ORDER BY 1")?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<std::result::Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Dead letters, of one tenant or all, oldest first.
    pub async fn dead_letters(&self, tenant: Option<&str>) -> Result<Vec<DeadLetter>> {
        let tenant = tenant.map(str::to_owned);
        self.read(move |db| {
            let mut statement = db.prepare(
                "SELECT l.delivery_id, d.event_id, d.tenant, d.endpoint, l.reason, l.at, d.attempts
                 FROM dead_letters l JOIN deliveries d ON d.id = l.delivery_id
                 WHERE l.replayed_at IS NULL AND (?1 IS NULL OR d.tenant = ?1) ORDER BY l.at, l.delivery_id",
            )?;
            let rows = statement
                .query_map(params![tenant], |row| {
                    Ok(DeadLetter {
                        delivery_id: row.get(0)?,
                        event_id: row.get(1)?,
                        tenant: row.get(2)?,
                        endpoint: row.get(3)?,
                        reason: row.get(4)?,
                        at: rfc3339(row.get(5)?),
                        attempts: row.get(6)?,
                    })
                })?
                .collect::<std::result::Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// One dead letter with its event's data and every attempt, as JSON.
    pub async fn dead_letter(&self, delivery_id: i64) -> Result<Option<serde_json::Value>> {
        self.read(move |db| {
            let row: Option<(String, String, String, String, i64)> = db
                .query_row(
                    "SELECT d.tenant, d.event_id, d.endpoint, l.reason, l.at FROM dead_letters l
                     JOIN deliveries d ON d.id = l.delivery_id WHERE l.delivery_id = ?1",
                    params![delivery_id],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
                )
                .optional()?;
            let Some((tenant, event_id, endpoint, reason, at)) = row else {
                return Ok(None);
            };
            let data: String = db.query_row("SELECT data FROM events WHERE id = ?1", params![event_id], |row| {
                row.get(0)
            })?;
            let view = event_view(db, &tenant, &event_id)?;
            let mut statement = db.prepare(
                "SELECT number, response FROM attempts WHERE delivery_id = ?1 AND response IS NOT NULL ORDER BY number",
            )?;
            let responses: Vec<serde_json::Value> = statement
                .query_map(params![delivery_id], |row| {
                    Ok(serde_json::json!({"attempt": row.get::<_, i64>(0)?, "answer": row.get::<_, String>(1)?}))
                })?
                .collect::<std::result::Result<_, _>>()?;
            Ok(Some(serde_json::json!({
                "delivery_id": delivery_id,
                "tenant": tenant,
                "endpoint": endpoint,
                "reason": reason,
                "at": rfc3339(at),
                "event": view,
                "erp_answers": responses,
                "data": serde_json::from_str::<serde_json::Value>(&data).unwrap_or(serde_json::Value::String(data)),
            })))
        })
        .await
    }

    /// Puts dead letters back in the queue (the current mapping will run):
    /// one delivery, every one of a tenant, or all. Returns how many.
    pub async fn replay(&self, tenant: Option<&str>, delivery_id: Option<i64>) -> Result<usize> {
        let tenant = tenant.map(str::to_owned);
        self.write(move |db| {
            let now = now_ms();
            let ids: Vec<i64> = {
                let mut statement = db.prepare(
                    "SELECT l.delivery_id FROM dead_letters l JOIN deliveries d ON d.id = l.delivery_id
                     WHERE l.replayed_at IS NULL AND (?1 IS NULL OR d.tenant = ?1) AND (?2 IS NULL OR d.id = ?2)",
                )?;
                statement
                    .query_map(params![tenant, delivery_id], |row| row.get(0))?
                    .collect::<std::result::Result<_, _>>()?
            };
            for id in &ids {
                db.execute(
                    "UPDATE dead_letters SET replayed_at = ?2 WHERE delivery_id = ?1",
                    params![id, now],
                )?;
                db.execute(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1",
                    params![id, now],
                )?;
                db.execute(
                    "INSERT INTO audit (at, tenant, event_id, correlation_id, action, detail)
                     SELECT ?2, d.tenant, d.event_id, e.correlation_id, 'replay', 'delivery ' || d.id
                     FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = ?1",
                    params![id, now],
                )?;
            }
            Ok(ids.len())
        })
        .await
    }

    /// What `/metrics` reports, read from the store (so it survives
    /// restarts): events in per tenant; attempts by tenant, endpoint and
    /// outcome; a histogram of attempt durations per tenant and endpoint
    /// (bucket upper bounds in seconds, counts cumulative, sum, count).
    pub async fn metrics(&self) -> Result<Metrics> {
        self.read(|db| {
            let mut events = db.prepare("SELECT tenant, COUNT(*) FROM events GROUP BY tenant ORDER BY 1")?;
            let events = events
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<std::result::Result<_, _>>()?;
            let mut attempts = db.prepare(
                "SELECT d.tenant, d.endpoint, a.outcome, COUNT(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            )?;
            let attempts = attempts
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
                .collect::<std::result::Result<_, _>>()?;
            let mut durations = db.prepare(
                "SELECT d.tenant, d.endpoint,
                   SUM(a.finished_at - a.started_at <= 10), SUM(a.finished_at - a.started_at <= 50),
                   SUM(a.finished_at - a.started_at <= 100), SUM(a.finished_at - a.started_at <= 500),
                   SUM(a.finished_at - a.started_at <= 1000), SUM(a.finished_at - a.started_at <= 5000),
                   SUM(a.finished_at - a.started_at <= 30000), COUNT(*), SUM(a.finished_at - a.started_at)
                 FROM attempts a JOIN deliveries d ON d.id = a.delivery_id GROUP BY 1, 2 ORDER BY 1, 2",
            )?;
            let durations = durations
                .query_map([], |row| {
                    let mut buckets = Vec::with_capacity(7);
                    for (i, bound) in [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0].into_iter().enumerate() {
                        buckets.push((bound, row.get::<_, i64>(2 + i)?));
                    }
                    Ok(Durations {
                        tenant: row.get(0)?,
                        endpoint: row.get(1)?,
                        buckets,
                        count: row.get(9)?,
                        sum_seconds: row.get::<_, i64>(10)? as f64 / 1000.0,
                    })
                })?
                .collect::<std::result::Result<_, _>>()?;
            Ok(Metrics {
                events,
                attempts,
                durations,
            })
        })
        .await
    }

    /// Counts of deliveries by tenant, endpoint and status.
    pub async fn counts(&self) -> Result<Vec<(String, String, String, i64)>> {
        self.read(|db| {
            let mut statement = db.prepare(
                "SELECT tenant, endpoint, status, COUNT(*) FROM deliveries GROUP BY tenant, endpoint, status ORDER BY 1, 2, 3",
            )?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
                .collect::<std::result::Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }
}

fn event_view(db: &Connection, tenant: &str, id: &str) -> Result<Option<EventView>> {
    let row: Option<(String, String, String, Option<String>, i64)> = db
        .query_row(
            "SELECT id, type, correlation_id, business_key, received_at FROM events WHERE tenant = ?1 AND id = ?2",
            params![tenant, id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
        )
        .optional()?;
    let Some((id, event_type, correlation_id, business_key, received_at)) = row else {
        return Ok(None);
    };
    let mut statement = db.prepare(
        "SELECT id, endpoint, status, erp_document, last_error FROM deliveries WHERE event_id = ?1 ORDER BY id",
    )?;
    let deliveries: Vec<(i64, DeliveryView)> = statement
        .query_map(params![id], |row| {
            Ok((
                row.get(0)?,
                DeliveryView {
                    endpoint: row.get(1)?,
                    status: row.get(2)?,
                    erp_document: row.get(3)?,
                    last_error: row.get(4)?,
                    attempts: Vec::new(),
                },
            ))
        })?
        .collect::<std::result::Result<_, _>>()?;
    let mut out = Vec::with_capacity(deliveries.len());
    for (delivery_id, mut view) in deliveries {
        let mut attempts = db.prepare(
            "SELECT number, started_at, outcome, http_status, detail FROM attempts WHERE delivery_id = ?1 ORDER BY number",
        )?;
        view.attempts = attempts
            .query_map(params![delivery_id], |row| {
                Ok(AttemptView {
                    number: row.get(0)?,
                    started_at: rfc3339(row.get(1)?),
                    outcome: row.get(2)?,
                    http_status: row.get(3)?,
                    detail: row.get(4)?,
                })
            })?
            .collect::<std::result::Result<_, _>>()?;
        out.push(view);
    }
    Ok(Some(EventView {
        id,
        event_type,
        correlation_id,
        business_key,
        received_at: rfc3339(received_at),
        deliveries: out,
    }))
}

/// The writer: takes what is queued (up to [`GROUP`]), runs each in its own
/// savepoint inside one transaction, commits, then answers them all.
fn write_loop(connection: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < GROUP {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
            // The jobs are dropped unrun: each caller gets an error.
            tracing::error!(message = %error, "the store could not begin a transaction");
            continue;
        }
        let mut finishers = Vec::with_capacity(batch.len());
        for job in batch {
            let _ = connection.execute_batch("SAVEPOINT job");
            let (ok, finish) = job(&connection);
            if !ok {
                // A failed job rolls back only its own changes.
                let _ = connection.execute_batch("ROLLBACK TO job");
            }
            let _ = connection.execute_batch("RELEASE job");
            finishers.push(finish);
        }
        let committed = connection.execute_batch("COMMIT").map_err(|error| error.to_string());
        if let Err(message) = &committed {
            tracing::error!(%message, "the store could not commit");
            let _ = connection.execute_batch("ROLLBACK");
        }
        for finish in finishers {
            finish(committed.clone());
        }
    }
}
