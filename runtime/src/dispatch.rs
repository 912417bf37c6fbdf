//! The dispatcher: takes due deliveries from the store, fairly across
//! tenants (a few per tenant and endpoint each round), maps each event with
//! its route's mapping and sends the payload to the endpoint, within the
//! endpoint's posting window, rate limit, concurrency cap and circuit
//! breaker; then records the outcome: delivered, retried later with
//! exponential backoff and jitter (honouring `Retry-After`), or
//! dead-lettered with the reason (mapping errors, 4xx other than 408/429,
//! attempts used up).
//!
//! Delivery is at least once: a worker that dies mid-attempt leaves its
//! lease to run out, and the delivery is tried again, with the same
//! `Idempotency-Key` (event id and route) so the ERP can tell.

use crate::config::{Auth, Config, Endpoint, EndpointKind, Idempotency, Lookup, LookupFlavor, Route, Tenant};
use crate::response::{Body, ErpResponse, Judgement, Reference, Verdict};
use crate::store::{Due, Outcome, Store, now_ms};
use mapwright_compiler::program::Framing;
use mapwright_compiler::wire::json_in::DecodeOptions;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// How long a claimed delivery is leased to its worker.
const LEASE_MS: i64 = 60_000;
/// Deliveries claimed per tenant and endpoint per round.
const PER_ENDPOINT: usize = 64;
/// Attempts in flight at most, across all tenants (each endpoint also has
/// its own cap).
const MAX_IN_FLIGHT: usize = 512;
/// Attempts at a status webhook before it is given up (logged).
const WEBHOOK_ATTEMPTS: i64 = 30;
/// Consecutive failures that open an endpoint's circuit.
const BREAKER_THRESHOLD: u32 = 5;
/// How long an open circuit stays open before one trial request.
const BREAKER_OPEN_MS: i64 = 30_000;

/// Per tenant and endpoint: the concurrency cap, the token bucket, the
/// circuit breaker and SAP's CSRF session.
struct EndpointState {
    permits: Arc<Semaphore>,
    bucket: Mutex<Bucket>,
    breaker: Mutex<Breaker>,
    csrf: tokio::sync::Mutex<Option<CsrfSession>>,
    /// OAuth 2.0 access token and when it stops being used.
    oauth: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
    /// Adaptive concurrency, when the endpoint asks for it.
    adaptive: Option<Mutex<Aimd>>,
    /// Requests in flight, for the adaptive limit.
    in_flight: std::sync::atomic::AtomicUsize,
    /// Woken when a request finishes.
    released: Notify,
    /// Idle PostgreSQL connections of a staging endpoint, with the
    /// connection string each was opened with (a reload may change it).
    pg_idle: Mutex<Vec<(String, tokio_postgres::Client)>>,
}

struct Bucket {
    rate: Option<f64>,
    tokens: f64,
    last: std::time::Instant,
}

impl Bucket {
    /// How long to wait before a request may go (taking its token).
    fn take(&mut self) -> Duration {
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        let now = std::time::Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * rate).min(rate.max(1.0));
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / rate)
        }
    }
}

/// Adaptive concurrency in the manner of Vector's ARC: additive increase
/// (one more request in flight after `limit` fast successes), multiplicative
/// decrease (halved on back-pressure: 429, 503, timeouts, or a response
/// time well above the usual). The limit stays between 1 and the ceiling.
#[derive(Clone, Debug)]
pub struct Aimd {
    /// The current limit.
    pub limit: f64,
    /// The ceiling (`max_concurrency`).
    pub ceiling: f64,
    /// Smoothed response time, in milliseconds.
    pub rtt_ms: Option<f64>,
}

impl Aimd {
    /// Starts at one request in flight.
    pub fn new(ceiling: u32) -> Aimd {
        Aimd {
            limit: 1.0,
            ceiling: f64::from(ceiling.max(1)),
            rtt_ms: None,
        }
    }

    /// Takes a response: `pressure` for 429, 503 or a timeout.
    pub fn observe(&mut self, rtt_ms: f64, pressure: bool) {
        let slow = self.rtt_ms.is_some_and(|usual| rtt_ms > usual * 2.0 + 5.0);
        if pressure || slow {
            self.limit = (self.limit / 2.0).max(1.0);
        } else {
            self.limit = (self.limit + 1.0 / self.limit).min(self.ceiling);
        }
        self.rtt_ms = Some(match self.rtt_ms {
            None => rtt_ms,
            Some(usual) => usual * 0.9 + rtt_ms * 0.1,
        });
    }

    /// Requests allowed in flight now.
    pub fn allowed(&self) -> usize {
        self.limit.floor() as usize
    }
}

#[derive(Default)]
struct Breaker {
    failures: u32,
    open_until: i64,
}

#[derive(Clone)]
struct CsrfSession {
    token: String,
    cookies: String,
}

/// External tables' entries as a mapping takes them.
type Tables = HashMap<String, HashMap<String, mapwright_compiler::interp::value::Value>>;

/// A route's merged tables and the learned generation they hold.
type Merged = (u64, Arc<Tables>);

/// Cross-references a tenant's ERP responses taught (table → key →
/// value), with a generation that changes on every new entry.
#[derive(Default)]
struct Learned {
    generation: u64,
    tables: HashMap<String, BTreeMap<String, String>>,
}

/// The dispatcher.
pub struct Dispatcher {
    store: Store,
    config: Arc<RwLock<Arc<Config>>>,
    client: reqwest::Client,
    endpoints: Mutex<HashMap<(String, String), Arc<EndpointState>>>,
    /// Learned cross-references by tenant (loaded from the store once).
    learned: RwLock<HashMap<String, Arc<Learned>>>,
    /// A route's tables with the learned entries merged in, by (tenant,
    /// mapping hash), for the generation they were merged at.
    merged: Mutex<HashMap<(String, String), Merged>>,
    /// Woken when new work may be due (an event was accepted).
    pub wake: Arc<Notify>,
}

/// What a finished round did, for tests and the demo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries attempted.
    pub attempted: usize,
}

impl Dispatcher {
    /// A dispatcher over `store` for the tenants of `config`.
    pub fn new(store: Store, config: Arc<RwLock<Arc<Config>>>) -> Result<Arc<Dispatcher>, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Arc::new(Dispatcher {
            store,
            config,
            client,
            endpoints: Mutex::new(HashMap::new()),
            learned: RwLock::new(HashMap::new()),
            merged: Mutex::new(HashMap::new()),
            wake: Arc::new(Notify::new()),
        }))
    }

    fn state(&self, tenant: &str, endpoint: &Endpoint) -> Arc<EndpointState> {
        let mut map = match self.endpoints.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry((tenant.to_owned(), endpoint.name.clone()))
            .or_insert_with(|| {
                Arc::new(EndpointState {
                    permits: Arc::new(Semaphore::new(endpoint.max_concurrency as usize)),
                    bucket: Mutex::new(Bucket {
                        rate: endpoint.rate_per_second,
                        tokens: endpoint.rate_per_second.unwrap_or(1.0).max(1.0),
                        last: std::time::Instant::now(),
                    }),
                    breaker: Mutex::new(Breaker::default()),
                    csrf: tokio::sync::Mutex::new(None),
                    oauth: tokio::sync::Mutex::new(None),
                    adaptive: endpoint
                        .adaptive_concurrency
                        .then(|| Mutex::new(Aimd::new(endpoint.max_concurrency))),
                    in_flight: std::sync::atomic::AtomicUsize::new(0),
                    released: Notify::new(),
                    pg_idle: Mutex::new(Vec::new()),
                })
            })
            .clone()
    }

    /// Runs until `stop` is notified: claims due deliveries while there is
    /// room in flight and attempts each in its own task, without waiting
    /// for a round to finish before claiming more.
    pub async fn run(self: Arc<Self>, stop: Arc<Notify>) {
        let room = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        loop {
            let free = room.available_permits();
            let due = if free == 0 {
                Vec::new()
            } else {
                match self.store.claim_due(self.pairs(), PER_ENDPOINT, free, LEASE_MS).await {
                    Ok(due) => due,
                    Err(error) => {
                        tracing::error!(%error, "cannot claim deliveries");
                        Vec::new()
                    }
                }
            };
            let webhooks = self.clone().send_webhooks().await;
            let batches = self.flush_batches().await;
            let claimed = due.len() + webhooks + batches;
            for item in due {
                let Ok(permit) = room.clone().try_acquire_owned() else {
                    break;
                };
                let this = self.clone();
                tokio::spawn(async move {
                    this.attempt(item).await;
                    drop(permit);
                });
            }
            if claimed == 0 {
                tokio::select! {
                    () = stop.notified() => return,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            } else if tokio::time::timeout(Duration::ZERO, stop.notified()).await.is_ok() {
                return;
            }
        }
    }

    /// Every (tenant, endpoint) of the current configuration.
    fn pairs(&self) -> Vec<(String, String)> {
        self.config
            .read()
            .map(|config| {
                config
                    .tenants
                    .values()
                    .flat_map(|t| t.endpoints.keys().map(|e| (t.id.clone(), e.clone())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Writes the sealed batch files (each within its endpoint's posting
    /// window); returns how many were written.
    pub async fn flush_batches(&self) -> usize {
        let sealed = match self.store.sealed_batches().await {
            Ok(sealed) => sealed,
            Err(error) => {
                tracing::error!(%error, "cannot read the sealed batches");
                return 0;
            }
        };
        let Ok(config) = self.config.read().map(|c| c.clone()) else {
            return 0;
        };
        let mut written = 0;
        for batch in sealed {
            let tenant = config.tenants.get(&batch.tenant);
            let notify = tenant.is_some_and(|t| t.webhook.is_some());
            let target = tenant.and_then(|t| {
                let endpoint = t.endpoints.get(&batch.endpoint)?;
                let route = t.routes.iter().find(|r| r.endpoint == batch.endpoint)?;
                Some((endpoint.clone(), route))
            });
            let result = match target {
                None => Err((
                    format!(
                        "endpoint `{}` of tenant `{}` is no longer configured",
                        batch.endpoint, batch.tenant
                    ),
                    60_000,
                )),
                Some((endpoint, route)) => {
                    let now = now_ms();
                    match endpoint.posting_window.as_ref().and_then(|w| {
                        let at = jiff::Timestamp::from_millisecond(now).ok()?;
                        (!w.is_open(at)).then(|| w.next_open(at).as_millisecond())
                    }) {
                        Some(opens) => Err(("the posting window is closed".to_owned(), (opens - now).max(1000))),
                        None => match self.write_batch(&endpoint, route, &batch).await {
                            Ok(name) => Ok(name),
                            Err(error) => Err((error, 5000)),
                        },
                    }
                }
            };
            let (outcome, retry_ms) = match result {
                Ok(name) => {
                    crate::crash::point("batch_written");
                    written += 1;
                    tracing::info!(tenant = %batch.tenant, endpoint = %batch.endpoint, batch = batch.id, events = batch.items, file = %name, "batch file written");
                    (Ok(name), 0)
                }
                Err((error, retry_ms)) => {
                    tracing::warn!(tenant = %batch.tenant, endpoint = %batch.endpoint, batch = batch.id, %error, "batch file not written");
                    (Err(error), retry_ms)
                }
            };
            if let Err(error) = self.store.finish_batch(&batch, outcome, notify, retry_ms).await {
                tracing::error!(%error, batch = batch.id, "cannot record the batch");
            }
        }
        written
    }

    /// Writes one batch file: the format's header, then every item.
    async fn write_batch(
        &self,
        endpoint: &Endpoint,
        route: &Route,
        batch: &crate::store::SealedBatch,
    ) -> Result<String, String> {
        let directory = endpoint
            .directory
            .clone()
            .ok_or("the file_drop endpoint has no directory")?;
        let mut bytes = route.program.batch_header()?;
        for (_, payload) in self.store.batch_items(batch.id).await.map_err(|e| e.to_string())? {
            bytes.extend_from_slice(&payload);
        }
        let opened = jiff::Timestamp::from_millisecond(batch.created_at)
            .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
            .unwrap_or_default();
        let names = serde_json::json!({"batch": {"id": batch.id, "opened": opened, "count": batch.items}});
        let position = usize::try_from(batch.id).unwrap_or(0);
        let name =
            mapwright_project::naming::file_name(&endpoint.name_template, &names, position).map_err(template_error)?;
        let suffix = format!("batch{}", batch.id);
        tokio::task::spawn_blocking(move || {
            write_atomically(&directory, &name, &bytes, &suffix)
                .map(|()| name)
                .map_err(|error| match error {
                    WriteError::Taken(message) | WriteError::Io(message) => message,
                })
        })
        .await
        .map_err(|e| format!("the file write was interrupted: {e}"))?
    }

    /// Sends the due status webhooks (each signed with its tenant's
    /// secret); returns how many were attempted.
    pub async fn send_webhooks(self: Arc<Self>) -> usize {
        let due = match self.store.claim_webhooks(64, LEASE_MS).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "cannot claim status webhooks");
                return 0;
            }
        };
        let count = due.len();
        let mut tasks = Vec::with_capacity(count);
        for (id, tenant, body, attempts) in due {
            let this = self.clone();
            tasks.push(tokio::spawn(async move {
                let config = this.config.read().map(|c| c.clone()).ok();
                let hook = config
                    .as_ref()
                    .and_then(|c| c.tenants.get(&tenant))
                    .and_then(|t| t.webhook.clone());
                let result = match hook {
                    None => Err("the tenant no longer has a status webhook".to_owned()),
                    Some(hook) => this.post_webhook(&hook, &body).await,
                };
                let (sent, retry_at, error) = match result {
                    Ok(()) => (true, None, None),
                    Err(error) if attempts + 1 < WEBHOOK_ATTEMPTS => {
                        let wait = 1000i64.saturating_mul(1 << (attempts.clamp(0, 10) as u32)).min(600_000);
                        (false, Some(now_ms() + wait), Some(error))
                    }
                    Err(error) => {
                        tracing::error!(%tenant, webhook = id, %error, "status webhook given up");
                        (false, None, Some(error))
                    }
                };
                if let Err(error) = this.store.finish_webhook(id, sent, retry_at, error).await {
                    tracing::error!(%error, webhook = id, "cannot record the webhook attempt");
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
        count
    }

    async fn post_webhook(&self, hook: &crate::config::Webhook, body: &str) -> Result<(), String> {
        let secret = hook.secret.resolve()?;
        let timestamp = now_ms() / 1000;
        let signature = sign(&secret, timestamp, body);
        let response = self
            .client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("mapwright-signature", format!("t={timestamp},v1={signature}"))
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| format!("the webhook request failed: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the platform answered {}", response.status()))
        }
    }

    /// One round: claims what is due and attempts it; returns when every
    /// attempt of the round has finished.
    pub async fn round(self: Arc<Self>) -> Round {
        let due = match self
            .store
            .claim_due(self.pairs(), PER_ENDPOINT, MAX_IN_FLIGHT, LEASE_MS)
            .await
        {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "cannot claim deliveries");
                return Round::default();
            }
        };
        let attempted = due.len();
        let mut tasks = Vec::with_capacity(due.len());
        for item in due {
            let this = self.clone();
            tasks.push(tokio::spawn(async move { this.attempt(item).await }));
        }
        for task in tasks {
            let _ = task.await;
        }
        self.flush_batches().await;
        self.clone().send_webhooks().await;
        Round { attempted }
    }

    async fn attempt(&self, due: Due) {
        let started = now_ms();
        let config = match self.config.read() {
            Ok(config) => config.clone(),
            Err(_) => return,
        };
        let notify = config.tenants.get(&due.tenant).is_some_and(|t| t.webhook.is_some());
        let (outcome, response) = match config.tenants.get(&due.tenant) {
            None => (
                Outcome::Dead {
                    http_status: None,
                    reason: format!("tenant `{}` is no longer configured", due.tenant),
                },
                None,
            ),
            Some(tenant) => self.deliver(tenant, &due).await,
        };
        crate::crash::point("answered");
        let learned = match &outcome {
            Outcome::Delivered { references, .. } if !references.is_empty() => references.clone(),
            _ => Vec::new(),
        };
        let kind = match &outcome {
            Outcome::Delivered { .. } => "delivered",
            Outcome::Retry { .. } => "retry",
            Outcome::Dead { .. } => "dead_letter",
            Outcome::Deferred { .. } => "deferred",
            Outcome::Batched { .. } => "batched",
        };
        tracing::info!(
            tenant = %due.tenant,
            correlation_id = %due.correlation_id,
            event = %due.event_id,
            endpoint = %due.endpoint,
            attempt = due.attempts + 1,
            outcome = kind,
            "delivery attempt"
        );
        match self.store.finish(&due, started, outcome, notify, response).await {
            Ok(()) => {
                if !learned.is_empty() {
                    self.learn(&due.tenant, &learned).await;
                }
            }
            // The lease runs out and the delivery is tried again.
            Err(error) => tracing::error!(%error, delivery = due.delivery_id, "cannot record the outcome"),
        }
    }

    /// The learned cross-references of a tenant (read from the store the
    /// first time).
    async fn learned(&self, tenant: &str) -> Arc<Learned> {
        if let Some(learned) = self.learned.read().ok().and_then(|cache| cache.get(tenant).cloned()) {
            return learned;
        }
        let mut fresh = Learned::default();
        match self.store.references(tenant).await {
            Ok(rows) => {
                for (table, key, value) in rows {
                    fresh.tables.entry(table).or_default().insert(key, value);
                }
            }
            Err(error) => tracing::error!(%error, %tenant, "cannot read the learned cross-references"),
        }
        let fresh = Arc::new(fresh);
        match self.learned.write() {
            // Something learned meanwhile is newer than this read: keep it.
            Ok(mut cache) => cache.entry(tenant.to_owned()).or_insert(fresh).clone(),
            Err(_) => fresh,
        }
    }

    /// Adds what a response taught (already stored) to the cache.
    async fn learn(&self, tenant: &str, references: &[Reference]) {
        let _ = self.learned(tenant).await;
        let Ok(mut cache) = self.learned.write() else { return };
        let current = cache.get(tenant).cloned().unwrap_or_default();
        let mut tables = current.tables.clone();
        for reference in references {
            tables
                .entry(reference.table.clone())
                .or_default()
                .insert(reference.key.clone(), reference.value.clone());
        }
        cache.insert(
            tenant.to_owned(),
            Arc::new(Learned {
                generation: current.generation + 1,
                tables,
            }),
        );
    }

    /// A route's external tables: the tenant's file, with what ERP
    /// responses taught merged in (a learned entry wins: it is newer).
    /// Entries that do not fit the table's types are left out, loudly.
    /// `None`: nothing learned concerns the route; its own tables apply.
    async fn tables(&self, tenant: &str, route: &Route) -> Option<Arc<Tables>> {
        let learned = self.learned(tenant).await;
        let relevant: Vec<&String> = learned
            .tables
            .keys()
            .filter(|name| route.program.has_external_table(name))
            .collect();
        if relevant.is_empty() {
            return None;
        }
        let key = (tenant.to_owned(), route.mapping_hash.clone());
        if let Ok(merged) = self.merged.lock()
            && let Some((generation, tables)) = merged.get(&key)
            && *generation == learned.generation
        {
            return Some(tables.clone());
        }
        let mut tables = route.tables.clone();
        for name in relevant {
            let Some(entries) = learned.tables.get(name) else {
                continue;
            };
            for (k, v) in entries {
                let mut one = toml::Table::new();
                let mut inner = toml::Table::new();
                inner.insert(k.clone(), toml::Value::String(v.clone()));
                one.insert(name.clone(), toml::Value::Table(inner));
                match route.program.tables_from_toml(&one) {
                    Ok(read) => {
                        for (table, entries) in read {
                            tables.entry(table).or_default().extend(entries);
                        }
                    }
                    Err(problems) => tracing::warn!(
                        %tenant,
                        table = %name,
                        key = %k,
                        problems = %problems.join("; "),
                        "a learned cross-reference does not fit the mapping's table; left out"
                    ),
                }
            }
        }
        let tables = Arc::new(tables);
        if let Ok(mut merged) = self.merged.lock() {
            merged.insert(key, (learned.generation, tables.clone()));
        }
        Some(tables)
    }

    async fn deliver(&self, tenant: &Tenant, due: &Due) -> (Outcome, Option<String>) {
        let Some(route) = tenant.routes.get(due.route) else {
            return (
                Outcome::Dead {
                    http_status: None,
                    reason: format!("route {} is no longer in the tenant's configuration", due.route),
                },
                None,
            );
        };
        let Some(endpoint) = tenant.endpoints.get(&route.endpoint) else {
            return (
                Outcome::Dead {
                    http_status: None,
                    reason: format!("endpoint `{}` is no longer configured", route.endpoint),
                },
                None,
            );
        };
        let now = now_ms();
        if let Some(window) = &endpoint.posting_window
            && let Ok(at) = jiff::Timestamp::from_millisecond(now)
            && !window.is_open(at)
        {
            let reason = format!(
                "posting window {}-{} {} closed",
                window.start, window.end, window.zone_name
            );
            let at_ms = window.next_open(at).as_millisecond();
            return (Outcome::Deferred { at_ms, reason }, None);
        }
        let state = self.state(&tenant.id, endpoint);
        {
            let breaker = state.breaker.lock().map_or(0, |b| b.open_until);
            if breaker > now {
                let reason = "the endpoint's circuit is open after repeated failures".to_owned();
                return (Outcome::Deferred { at_ms: breaker, reason }, None);
            }
        }
        // Map first: a mapping error is permanent and needs no permit. (A
        // staging table takes the mapped value, not bytes: it maps itself.)
        let learned = self.tables(&tenant.id, route).await;
        let tables: &Tables = learned.as_deref().unwrap_or(&route.tables);
        let payload = if endpoint.kind == EndpointKind::SqlStaging {
            Vec::new()
        } else {
            // A batch gathers rows (CSV without its header) or JSON lines.
            let framing = if endpoint.batch.is_some() {
                Framing::Stream { first: false }
            } else {
                Framing::File
            };
            match map(route, tables, &due.data, framing) {
                Ok(payload) => payload,
                Err(reason) => {
                    return (
                        Outcome::Dead {
                            http_status: None,
                            reason,
                        },
                        None,
                    );
                }
            }
        };
        crate::crash::point("mapped");
        if let Some(batch) = &endpoint.batch {
            let mut payload = payload;
            if route.program.output_format() == mapwright_compiler::resolve::annotations::WireFormat::Json
                && !payload.ends_with(b"\n")
            {
                payload.push(b'\n');
            }
            return match self
                .store
                .add_to_batch(
                    due,
                    now,
                    payload,
                    route.mapping_hash.clone(),
                    batch.max_events,
                    batch.max_wait_ms,
                )
                .await
            {
                Ok(batch) => (Outcome::Batched { batch }, None),
                Err(error) => (
                    retry_later(endpoint, due, None, format!("cannot add it to a batch: {error}"), None),
                    None,
                ),
            };
        }
        let Ok(_permit) = state.permits.clone().acquire_owned().await else {
            return (retry_later(endpoint, due, None, "shutting down".to_owned(), None), None);
        };
        use std::sync::atomic::Ordering as Atomic;
        if let Some(adaptive) = &state.adaptive {
            // Wait for room under the adaptive limit.
            loop {
                let allowed = adaptive.lock().map_or(1, |a| a.allowed());
                let current = state.in_flight.load(Atomic::SeqCst);
                if current < allowed
                    && state
                        .in_flight
                        .compare_exchange(current, current + 1, Atomic::SeqCst, Atomic::SeqCst)
                        .is_ok()
                {
                    break;
                }
                tokio::select! {
                    () = state.released.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
        }
        let wait = state.bucket.lock().map_or(Duration::ZERO, |mut b| b.take());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let sent_at = std::time::Instant::now();
        let (outcome, response) = match endpoint.kind {
            EndpointKind::HttpJson | EndpointKind::Soap => self.send(endpoint, &state, route, due, payload).await,
            EndpointKind::SqlStaging => (sql_insert(endpoint, &state, route, tables, due).await, None),
            EndpointKind::FileDrop => {
                let (endpoint, due, route_hash) = (endpoint.clone(), due.clone(), route.mapping_hash.clone());
                let outcome = tokio::task::spawn_blocking(move || drop_file(&endpoint, &due, &payload, route_hash))
                    .await
                    .unwrap_or_else(|e| Outcome::Retry {
                        at_ms: now_ms() + 1000,
                        http_status: None,
                        detail: format!("the file write was interrupted: {e}"),
                    });
                (outcome, None)
            }
        };
        if let Some(adaptive) = &state.adaptive {
            let pressure = match &outcome {
                Outcome::Retry {
                    http_status, detail, ..
                } => matches!(http_status, Some(429 | 503)) || detail.contains("timed out"),
                _ => false,
            };
            if let Ok(mut aimd) = adaptive.lock() {
                aimd.observe(sent_at.elapsed().as_secs_f64() * 1000.0, pressure);
            }
            state.in_flight.fetch_sub(1, Atomic::SeqCst);
            state.released.notify_waiters();
        }
        if let Ok(mut breaker) = state.breaker.lock() {
            match &outcome {
                Outcome::Retry { .. } => {
                    breaker.failures += 1;
                    if breaker.failures >= BREAKER_THRESHOLD {
                        breaker.open_until = now_ms() + BREAKER_OPEN_MS;
                        breaker.failures = 0;
                        tracing::warn!(tenant = %tenant.id, endpoint = %endpoint.name, "circuit opened");
                    }
                }
                _ => breaker.failures = 0,
            }
        }
        (outcome, response)
    }

    /// Sends a payload over HTTP: JSON as it is, XML in a SOAP envelope
    /// (with NetSuite's TokenPassport when configured). Looks the document
    /// up first when the endpoint's strategy says so; reads the answer
    /// (capped), classifies SOAP faults, and lets the route's response
    /// mapping judge the rest. Gives the outcome and the answer's text.
    async fn send(
        &self,
        endpoint: &Endpoint,
        state: &EndpointState,
        route: &Route,
        due: &Due,
        payload: Vec<u8>,
    ) -> (Outcome, Option<String>) {
        let soap = endpoint.kind == EndpointKind::Soap;
        if let Idempotency::Lookup(lookup) = &endpoint.idempotency {
            match self.lookup(endpoint, lookup, state, due, &payload).await {
                Looked::Found {
                    document,
                    detail,
                    entry,
                } => {
                    // The found document is judged as if just created, so
                    // the response mapping still learns its references.
                    let outcome = match &route.response {
                        Some(mapping) => {
                            let body = match lookup.flavor {
                                LookupFlavor::ODataV2 => serde_json::json!({ "d": entry }),
                                LookupFlavor::ODataV4 => entry,
                                LookupFlavor::Frappe => serde_json::json!({ "data": entry }),
                            };
                            let erp = ErpResponse {
                                status: 200,
                                headers: Vec::new(),
                                body: body.to_string().into_bytes(),
                                truncated: false,
                            };
                            judge(endpoint, route, mapping, due, &erp, &Body::Json, None)
                        }
                        None => Outcome::Delivered {
                            http_status: None,
                            erp_document: Some(document),
                            mapping_hash: route.mapping_hash.clone(),
                            references: Vec::new(),
                        },
                    };
                    return (outcome, Some(detail));
                }
                Looked::Missing => crate::crash::point("looked_up"),
                Looked::Failed(outcome) => return (outcome, None),
            }
        }
        if endpoint.idempotency == Idempotency::Upsert && !contains(&payload, b" externalId=\"") {
            let reason =
                "the upsert has no externalId on its record, so a redelivery could not be told from a new order"
                    .to_owned();
            return (
                Outcome::Dead {
                    http_status: None,
                    reason,
                },
                None,
            );
        }
        let mut csrf_refreshed = false;
        let mut token_refreshed = false;
        loop {
            let (content_type, body) = if soap {
                let headers = match self.soap_headers(endpoint) {
                    Ok(headers) => headers,
                    Err(reason) => return (retry_later(endpoint, due, None, reason, None), None),
                };
                (
                    endpoint.soap_version.content_type(endpoint.soap_action.as_deref()),
                    crate::soap::envelope(endpoint.soap_version, &headers, &payload),
                )
            } else {
                ("application/json".to_owned(), payload.clone())
            };
            let mut request = self
                .client
                .post(&endpoint.url)
                .header("content-type", content_type)
                .header(
                    "accept",
                    if soap {
                        "text/xml, application/soap+xml"
                    } else {
                        "application/json"
                    },
                )
                .header("x-correlation-id", &due.correlation_id)
                .header("idempotency-key", format!("{}:{}", due.event_id, due.route))
                .timeout(Duration::from_millis(endpoint.timeout_ms))
                .body(body);
            if soap
                && endpoint.soap_version == crate::soap::Version::V11
                && let Some(action) = &endpoint.soap_action
            {
                request = request.header("soapaction", format!("\"{action}\""));
            }
            request = match self.authorize(request, &endpoint.auth, state, token_refreshed).await {
                Ok(request) => request,
                Err(reason) => return (retry_later(endpoint, due, None, reason, None), None),
            };
            if endpoint.sap_csrf {
                let session = match self.csrf_session(endpoint, state, csrf_refreshed).await {
                    Ok(session) => session,
                    Err(reason) => return (retry_later(endpoint, due, None, reason, None), None),
                };
                request = request
                    .header("x-csrf-token", session.token)
                    .header("cookie", session.cookies);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    let what = if error.is_timeout() { "timed out" } else { "failed" };
                    let detail = format!("the request {what}: {error}");
                    return (retry_later(endpoint, due, None, detail, None), None);
                }
            };
            let status = response.status().as_u16();
            let csrf_required = response
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("required"));
            if status == 403 && endpoint.sap_csrf && csrf_required && !csrf_refreshed {
                csrf_refreshed = true;
                continue;
            }
            if status == 401 && matches!(endpoint.auth, Auth::OAuth2 { .. }) && !token_refreshed {
                // The token may have been revoked early: fetch a new one once.
                token_refreshed = true;
                continue;
            }
            let erp = match crate::response::read(response).await {
                Ok(erp) => erp,
                Err(error) => {
                    // The ERP may have written the document: the retry is
                    // safe only through the endpoint's idempotency.
                    let what = if error.is_timeout() { "timed out" } else { "failed" };
                    let detail = format!("reading the answer ({status}) {what}: {error}");
                    return (retry_later(endpoint, due, Some(status), detail, None), None);
                }
            };
            let text = erp.text();
            let outcome = self.classify(endpoint, route, due, &erp, soap);
            return (outcome, Some(text));
        }
    }

    /// Classifies an answer: SOAP faults by the adapter, the rest by the
    /// route's response mapping, or without one by the HTTP status.
    fn classify(&self, endpoint: &Endpoint, route: &Route, due: &Due, erp: &ErpResponse, soap: bool) -> Outcome {
        let status = erp.status;
        let retry_after = erp.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
        let excerpt = || -> String { erp.text().chars().take(2000).collect() };
        let body = if soap {
            let parsed = if erp.truncated {
                Err(format!("the answer is larger than {} bytes", crate::response::MAX_BODY))
            } else {
                crate::response::parse_xml(&erp.body).and_then(|root| crate::soap::answer(&root))
            };
            match parsed {
                Ok(crate::soap::Answer::Fault(fault)) => {
                    return if fault.retryable {
                        retry_later(endpoint, due, Some(status), fault.to_string(), retry_after)
                    } else {
                        Outcome::Dead {
                            http_status: Some(i64::from(status)),
                            reason: fault.to_string(),
                        }
                    };
                }
                Ok(crate::soap::Answer::Message(message)) => Body::Xml(Some(message)),
                Err(why) => {
                    tracing::warn!(tenant = %due.tenant, endpoint = %endpoint.name, %why, "unreadable SOAP answer");
                    Body::Xml(None)
                }
            }
        } else {
            Body::Json
        };
        match &route.response {
            Some(mapping) => judge(endpoint, route, mapping, due, erp, &body, retry_after),
            None => match status {
                200..=299 => Outcome::Delivered {
                    http_status: Some(i64::from(status)),
                    erp_document: document_id(erp.header("location"), &String::from_utf8_lossy(&erp.body)),
                    mapping_hash: route.mapping_hash.clone(),
                    references: Vec::new(),
                },
                408 | 429 | 500..=599 => retry_later(endpoint, due, Some(status), excerpt(), retry_after),
                _ => Outcome::Dead {
                    http_status: Some(i64::from(status)),
                    reason: format!("the ERP refused it ({status}): {}", excerpt()),
                },
            },
        }
    }

    /// The SOAP header entries for one request: the endpoint's fixed ones,
    /// then a TokenPassport (NetSuite TBA) or a UsernameToken (WS-Security)
    /// with a new nonce and the current time.
    fn soap_headers(&self, endpoint: &Endpoint) -> Result<Vec<String>, String> {
        let mut headers = endpoint.soap_headers.clone();
        if let Auth::WsSecurity { user, password } = &endpoint.auth {
            let created = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            headers.push(crate::soap::username_token(
                user,
                &password.resolve()?,
                uuid::Uuid::new_v4().as_bytes(),
                &created,
            ));
        }
        let Auth::NetSuiteTba {
            account,
            consumer_key,
            consumer_secret,
            token_id,
            token_secret,
        } = &endpoint.auth
        else {
            return Ok(headers);
        };
        let passport = crate::soap::TokenPassport {
            account: account.clone(),
            consumer_key: consumer_key.resolve()?,
            consumer_secret: consumer_secret.resolve()?,
            token_id: token_id.resolve()?,
            token_secret: token_secret.resolve()?,
        };
        let version = &endpoint.netsuite_version;
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        headers.push(passport.header(
            &format!("urn:messages_{version}.platform.webservices.netsuite.com"),
            &format!("urn:core_{version}.platform.webservices.netsuite.com"),
            &nonce,
            now_ms() / 1000,
        ));
        Ok(headers)
    }

    /// Looks the document up by the payload's business reference before
    /// posting it.
    async fn lookup(
        &self,
        endpoint: &Endpoint,
        lookup: &Lookup,
        state: &EndpointState,
        due: &Due,
        payload: &[u8],
    ) -> Looked {
        let dead = |reason: String| {
            Looked::Failed(Outcome::Dead {
                http_status: None,
                reason,
            })
        };
        let value: serde_json::Value = match serde_json::from_slice(payload) {
            Ok(value) => value,
            Err(error) => return dead(format!("look-up-before-post needs a JSON payload: {error}")),
        };
        let Some(reference) = value
            .get(&lookup.reference)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
        else {
            return dead(format!(
                "look-up-before-post needs `{}` in the payload, and the mapping left it out: without it a redelivery could post a second document",
                lookup.reference
            ));
        };
        let (filter_key, filter) = match lookup.flavor {
            LookupFlavor::ODataV2 | LookupFlavor::ODataV4 => (
                "$filter",
                format!("{} eq '{}'", lookup.field, reference.replace('\'', "''")),
            ),
            LookupFlavor::Frappe => (
                "filters",
                serde_json::json!([[lookup.field, "=", reference]]).to_string(),
            ),
        };
        let mut query = vec![(filter_key, filter)];
        match lookup.flavor {
            LookupFlavor::ODataV2 => {
                query.push(("$top", "1".to_owned()));
                query.push(("$format", "json".to_owned()));
            }
            LookupFlavor::ODataV4 => query.push(("$top", "1".to_owned())),
            LookupFlavor::Frappe => {
                query.push(("fields", serde_json::json!([lookup.document]).to_string()));
                query.push(("limit_page_length", "1".to_owned()));
            }
        }
        let separator = if lookup.url.contains('?') { '&' } else { '?' };
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
            .collect();
        let request = self
            .client
            .get(format!("{}{separator}{}", lookup.url, query.join("&")))
            .header("accept", "application/json")
            .header("x-correlation-id", &due.correlation_id)
            .timeout(Duration::from_millis(endpoint.timeout_ms));
        let request = match self.authorize(request, &endpoint.auth, state, false).await {
            Ok(request) => request,
            Err(reason) => return Looked::Failed(retry_later(endpoint, due, None, reason, None)),
        };
        let failed = |detail: String, status: Option<u16>| {
            Looked::Failed(retry_later(
                endpoint,
                due,
                status,
                format!("the look-up before posting failed, so nothing was posted: {detail}"),
                None,
            ))
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return failed(error.to_string(), None),
        };
        let erp = match crate::response::read(response).await {
            Ok(erp) => erp,
            Err(error) => return failed(error.to_string(), None),
        };
        if !(200..300).contains(&erp.status) {
            return failed(
                format!("{}: {}", erp.status, erp.text().chars().take(500).collect::<String>()),
                Some(erp.status),
            );
        }
        let answer: serde_json::Value = match serde_json::from_slice(&erp.body) {
            Ok(answer) if !erp.truncated => answer,
            _ => return failed("the answer is not JSON".to_owned(), Some(erp.status)),
        };
        let list = match lookup.flavor {
            LookupFlavor::ODataV2 => answer.pointer("/d/results").or_else(|| answer.get("d")),
            LookupFlavor::ODataV4 => answer.get("value"),
            LookupFlavor::Frappe => answer.get("data"),
        };
        let Some(list) = list.and_then(|l| l.as_array()) else {
            return failed("the answer has no list of results".to_owned(), Some(erp.status));
        };
        match list.first() {
            None => Looked::Missing,
            Some(found) => match found.get(&lookup.document).and_then(|id| match id {
                serde_json::Value::String(id) => Some(id.clone()),
                serde_json::Value::Number(id) => Some(id.to_string()),
                _ => None,
            }) {
                Some(id) => Looked::Found {
                    detail: format!(
                        "found by look-up ({} = {reference:?}): {id}; not posted again",
                        lookup.field
                    ),
                    document: id,
                    entry: found.clone(),
                },
                None => failed(
                    format!("a document was found, but without `{}`", lookup.document),
                    Some(erp.status),
                ),
            },
        }
    }

    /// Adds the endpoint's credentials to a request (OAuth 2.0: the cached
    /// token, fetched again when it is about to expire or `refresh`).
    async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        auth: &Auth,
        state: &EndpointState,
        refresh: bool,
    ) -> Result<reqwest::RequestBuilder, String> {
        Ok(match auth {
            Auth::None => request,
            Auth::Bearer { token } => request.bearer_auth(token.resolve()?),
            Auth::Basic { user, password } => request.basic_auth(user, Some(password.resolve()?)),
            Auth::Token { key, secret } => request.header(
                "authorization",
                format!("token {}:{}", key.resolve()?, secret.resolve()?),
            ),
            // In the SOAP header, not the HTTP one.
            Auth::NetSuiteTba { .. } | Auth::WsSecurity { .. } => request,
            Auth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => {
                let mut cached = state.oauth.lock().await;
                let fresh = cached
                    .as_ref()
                    .filter(|(_, until)| !refresh && *until > std::time::Instant::now())
                    .map(|(token, _)| token.clone());
                let token = match fresh {
                    Some(token) => token,
                    None => {
                        let mut form = format!(
                            "grant_type=client_credentials&client_id={}&client_secret={}",
                            form_escape(client_id),
                            form_escape(&client_secret.resolve()?)
                        );
                        if let Some(scope) = scope {
                            form.push_str(&format!("&scope={}", form_escape(scope)));
                        }
                        let response = self
                            .client
                            .post(token_url)
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(form)
                            .send()
                            .await
                            .map_err(|e| format!("the OAuth token request failed: {e}"))?;
                        let status = response.status();
                        let answer: serde_json::Value = response
                            .json()
                            .await
                            .map_err(|e| format!("the OAuth token endpoint answered {status} without JSON: {e}"))?;
                        let token = answer["access_token"]
                            .as_str()
                            .ok_or_else(|| {
                                format!("the OAuth token endpoint answered {status} without an access_token")
                            })?
                            .to_owned();
                        // Used until a minute before it expires (default: an hour).
                        let lifetime = answer["expires_in"].as_u64().unwrap_or(3600).saturating_sub(60);
                        *cached = Some((token.clone(), std::time::Instant::now() + Duration::from_secs(lifetime)));
                        token
                    }
                };
                request.bearer_auth(token)
            }
        })
    }

    /// SAP's CSRF handshake: `x-csrf-token: fetch` on a GET, keep the token
    /// and the session cookies; fetched again when `refresh`.
    async fn csrf_session(
        &self,
        endpoint: &Endpoint,
        state: &EndpointState,
        refresh: bool,
    ) -> Result<CsrfSession, String> {
        let mut session = state.csrf.lock().await;
        if !refresh && let Some(existing) = session.as_ref() {
            return Ok(existing.clone());
        }
        let request = self
            .authorize(
                self.client.get(&endpoint.url).header("x-csrf-token", "fetch"),
                &endpoint.auth,
                state,
                false,
            )
            .await?;
        let response = request
            .send()
            .await
            .map_err(|e| format!("the CSRF token fetch failed: {e}"))?;
        let token = response
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("the CSRF token fetch answered {} without a token", response.status()))?;
        let cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        let fresh = CsrfSession { token, cookies };
        *session = Some(fresh.clone());
        Ok(fresh)
    }
}

/// Inserts the mapped rows into the endpoint's PostgreSQL staging table in
/// one transaction. Each row carries `mapwright_key` (event, route, row),
/// a unique column: a redelivery after a crash inserts nothing twice
/// (`ON CONFLICT DO NOTHING`). Rows go in as JSON through
/// `json_populate_record`, so PostgreSQL converts each value to its
/// column's type; the columns are the row record's CSV column names.
async fn sql_insert(endpoint: &Endpoint, state: &EndpointState, route: &Route, tables: &Tables, due: &Due) -> Outcome {
    use mapwright_compiler::interp::value::Value;
    let dead = |reason: String| Outcome::Dead {
        http_status: None,
        reason,
    };
    let (Some(connection), Some(table)) = (&endpoint.connection, &endpoint.table) else {
        return dead("the sql_staging endpoint lacks its connection or table".to_owned());
    };
    // Map to the value (not bytes): a record holding a list of rows.
    let value = match route
        .evaluator(tables)
        .map_err(|e| vec![e.to_string()])
        .and_then(|evaluator| {
            route
                .program
                .map_value(&evaluator, due.data.as_bytes(), DecodeOptions::default())
                .map_err(|errors| errors.iter().map(ToString::to_string).collect())
        }) {
        Ok(value) => value,
        Err(errors) => return dead(format!("the mapping failed: {}", errors.join("; "))),
    };
    let (slot, row_shape) = match mapwright_compiler::wire::csv_out::rows_shape(&route.program.output) {
        Ok(rows) => (rows.slot, rows.row),
        Err(message) => return dead(format!("{message} (a staging table takes rows)")),
    };
    let rows: &[Value] = match &value {
        Value::Record(slots) => match slots.get(slot) {
            Some(Value::List(rows)) => rows,
            _ => &[],
        },
        _ => &[],
    };
    let mut json_rows = Vec::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        let Value::Record(cells) = row else { continue };
        let mut object = serde_json::Map::new();
        for (field, cell) in row_shape.fields.iter().zip(cells) {
            let text = if cell.is_present() {
                match mapwright_compiler::wire::scalar_text(&field.shape, field.wire, cell, None, '.') {
                    Ok(text) => serde_json::Value::String(text),
                    Err(message) => return dead(format!("$.rows[{n}].{}: {message}", field.name)),
                }
            } else {
                serde_json::Value::Null
            };
            object.insert(field.csv_column.clone(), text);
        }
        object.insert(
            "mapwright_key".to_owned(),
            serde_json::Value::String(format!("{}:{}:{n}", due.event_id, due.route)),
        );
        json_rows.push(serde_json::Value::Object(object));
    }
    let quote = |name: &str| {
        name.split('.')
            .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(".")
    };
    let mut columns: Vec<String> = row_shape.fields.iter().map(|f| quote(&f.csv_column)).collect();
    columns.push(quote("mapwright_key"));
    let columns = columns.join(", ");
    let table = quote(table);
    let statement = format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_record(NULL::{table}, $1::text::json) ON CONFLICT (\"mapwright_key\") DO NOTHING"
    );
    let conninfo = match connection.resolve() {
        Ok(conninfo) => conninfo,
        Err(reason) => return retry_later(endpoint, due, None, reason, None),
    };
    // A pooled connection (at most `max_concurrency` are in use, as many
    // kept idle), or a new one.
    let pooled = state.pg_idle.lock().ok().and_then(|mut idle| {
        idle.retain(|(info, client)| *info == conninfo && !client.is_closed());
        idle.pop().map(|(_, client)| client)
    });
    let attempt = async {
        let mut client = match pooled {
            Some(client) => client,
            None => {
                let (client, driver) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await?;
                tokio::spawn(async move {
                    let _ = driver.await;
                });
                client
            }
        };
        let transaction = client.transaction().await?;
        let mut inserted = 0u64;
        for row in &json_rows {
            inserted += transaction.execute(statement.as_str(), &[&row.to_string()]).await?;
        }
        transaction.commit().await?;
        crate::crash::point("sql_committed");
        Ok::<(u64, tokio_postgres::Client), tokio_postgres::Error>((inserted, client))
    };
    match tokio::time::timeout(Duration::from_millis(endpoint.timeout_ms), attempt).await {
        Ok(Ok((inserted, client))) => {
            if let Ok(mut idle) = state.pg_idle.lock()
                && idle.len() < endpoint.max_concurrency as usize
            {
                idle.push((conninfo.clone(), client));
            }
            Outcome::Delivered {
                http_status: None,
                erp_document: Some(format!("{inserted} of {} rows inserted", json_rows.len())),
                mapping_hash: route.mapping_hash.clone(),
                references: Vec::new(),
            }
        }
        Ok(Err(error)) => {
            // Integrity and schema errors (classes 23 and 42) will not go
            // away by trying again.
            let permanent = error
                .code()
                .is_some_and(|code| code.code().starts_with("23") || code.code().starts_with("42"));
            let detail = match error.as_db_error() {
                Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
                None => format!("PostgreSQL: {error}"),
            };
            if permanent {
                dead(detail)
            } else {
                retry_later(endpoint, due, None, detail, None)
            }
        }
        Err(_) => retry_later(endpoint, due, None, "the staging insert timed out".to_owned(), None),
    }
}

/// Drops the payload as one file, atomically: written to a hidden
/// temporary file in the same folder, flushed to disk, renamed to its
/// final name, and the folder flushed. A file already there with the same
/// bytes is this delivery done before a crash: delivered, not written
/// twice; different bytes under the name are refused (dead letter).
fn drop_file(endpoint: &Endpoint, due: &Due, payload: &[u8], mapping_hash: String) -> Outcome {
    let Some(directory) = &endpoint.directory else {
        return Outcome::Dead {
            http_status: None,
            reason: "the file_drop endpoint has no directory".to_owned(),
        };
    };
    let event: serde_json::Value = serde_json::from_str(&due.data).unwrap_or(serde_json::Value::Null);
    let position = usize::try_from(due.delivery_id).unwrap_or(0);
    let name = match mapwright_project::naming::file_name(&endpoint.name_template, &event, position) {
        Ok(name) => name,
        Err(error) => {
            return Outcome::Dead {
                http_status: None,
                reason: template_error(error),
            };
        }
    };
    match write_atomically(directory, &name, payload, &due.delivery_id.to_string()) {
        Ok(()) => Outcome::Delivered {
            http_status: None,
            erp_document: Some(name),
            mapping_hash,
            references: Vec::new(),
        },
        Err(WriteError::Taken(reason)) => Outcome::Dead {
            http_status: None,
            reason,
        },
        Err(WriteError::Io(error)) => retry_later(endpoint, due, None, error, None),
    }
}

/// Why a file name template gave no name.
fn template_error(error: mapwright_project::naming::NameError) -> String {
    match error {
        mapwright_project::naming::NameError::Missing(path) => {
            format!("the file name template needs {path}, and there is no text or number there")
        }
        mapwright_project::naming::NameError::Template(message) => format!("the file name template: {message}"),
    }
}

/// Why a file was not written.
enum WriteError {
    /// Another file with other bytes has the name (never overwritten).
    Taken(String),
    /// The file system failed (worth trying again).
    Io(String),
}

/// Writes `bytes` as `directory/name`, atomically: a hidden temporary file
/// in the same folder, flushed, renamed, and the folder flushed. The same
/// bytes there already are this write done before a crash (fine); other
/// bytes are never overwritten (an error).
fn write_atomically(directory: &Path, name: &str, bytes: &[u8], unique: &str) -> Result<(), WriteError> {
    use std::io::Write;
    let target = directory.join(name);
    if let Ok(existing) = std::fs::read(&target) {
        return if existing == bytes {
            Ok(())
        } else {
            Err(WriteError::Taken(format!(
                "{} already exists with other content; not overwritten",
                target.display()
            )))
        };
    }
    let temporary = directory.join(format!(".{name}.{unique}.tmp"));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &target)?;
        std::fs::File::open(directory)?.sync_all()?;
        crate::crash::point("file_written");
        Ok(())
    })();
    written.map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        WriteError::Io(format!("cannot write {}: {error}", target.display()))
    })
}

/// What a look-up-before-post found.
enum Looked {
    /// The document is there already.
    Found {
        /// Its id.
        document: String,
        /// What was looked up, for the audit trail.
        detail: String,
        /// The entry found.
        entry: serde_json::Value,
    },
    /// Not there: post it.
    Missing,
    /// The look-up failed: do not post.
    Failed(Outcome),
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Runs the route's response mapping on an answer and acts on its
/// verdict. A body that does not fit the response schema is handed over
/// absent, with the decoder's reasons in `body_error`; a mapping that
/// fails dead-letters the delivery (the ERP may hold the document, so a
/// person looks before it is replayed).
fn judge(
    endpoint: &Endpoint,
    route: &Route,
    mapping: &crate::config::ResponseMapping,
    due: &Due,
    erp: &ErpResponse,
    body: &Body,
    retry_after: Option<u64>,
) -> Outcome {
    use mapwright_compiler::wire::Stage;
    let status = erp.status;
    let run = |input: &serde_json::Value| -> Result<Judgement, (bool, String)> {
        let evaluator = mapping
            .program
            .evaluator(mapping.engine, &mapping.params, HashMap::new())
            .map_err(|e| (false, e.to_string()))?;
        let mut out = Vec::new();
        mapping
            .program
            .run_event(
                &evaluator,
                input.to_string().as_bytes(),
                DecodeOptions::default(),
                Framing::File,
                &mut out,
            )
            .map_err(|errors| {
                let input_only = errors.iter().all(|e| e.stage == Stage::Input);
                (
                    input_only,
                    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                )
            })?;
        serde_json::from_slice::<Judgement>(&out).map_err(|e| (false, format!("its result does not read: {e}")))
    };
    let input = crate::response::input(erp, body, &mapping.program.input, None);
    let judged = match run(&input) {
        Err((true, why)) if input.get("body").is_some() => {
            let why = format!("the body does not fit the response schema: {why}");
            run(&crate::response::input(erp, body, &mapping.program.input, Some(&why)))
        }
        other => other,
    };
    let judgement = match judged {
        Ok(judgement) => judgement,
        Err((_, why)) => {
            return Outcome::Dead {
                http_status: Some(i64::from(status)),
                reason: format!(
                    "the response mapping {} failed on the ERP's answer ({status}), which may hold the document: {why}",
                    mapping.file.display()
                ),
            };
        }
    };
    let reason = judgement
        .reason
        .unwrap_or_else(|| format!("the response mapping said so ({status})"));
    // A cross-reference must name a table the response mapping declares
    // `external`, and fit its types; others are dropped, loudly.
    let references: Vec<Reference> = judgement
        .references
        .into_iter()
        .filter(|reference| {
            let problem = if mapping.program.has_external_table(&reference.table) {
                let mut entry = toml::Table::new();
                entry.insert(reference.key.clone(), toml::Value::String(reference.value.clone()));
                let mut table = toml::Table::new();
                table.insert(reference.table.clone(), toml::Value::Table(entry));
                mapping.program.tables_from_toml(&table).err().map(|p| p.join("; "))
            } else {
                Some(format!(
                    "{} does not declare `table {}: … external`",
                    mapping.file.display(),
                    reference.table
                ))
            };
            if let Some(problem) = &problem {
                tracing::error!(
                    tenant = %due.tenant,
                    correlation_id = %due.correlation_id,
                    table = %reference.table,
                    key = %reference.key,
                    %problem,
                    "a cross-reference from the ERP's answer was dropped"
                );
            }
            problem.is_none()
        })
        .collect();
    match judgement.verdict {
        Verdict::Delivered => Outcome::Delivered {
            http_status: Some(i64::from(status)),
            erp_document: judgement.document,
            mapping_hash: route.mapping_hash.clone(),
            references,
        },
        Verdict::Retry => retry_later(endpoint, due, Some(status), reason, retry_after),
        Verdict::Rejected => Outcome::Dead {
            http_status: Some(i64::from(status)),
            reason: format!("the ERP refused it ({status}): {reason}"),
        },
    }
}

/// Maps the event data with the route's mapping (as a file: XML indented,
/// CSV with its header).
fn map(route: &Route, tables: &Tables, data: &str, framing: Framing) -> Result<Vec<u8>, String> {
    let evaluator = route
        .evaluator(tables)
        .map_err(|e| format!("the mapping cannot start: {e}"))?;
    let mut out = Vec::new();
    route
        .program
        .run_event(&evaluator, data.as_bytes(), DecodeOptions::default(), framing, &mut out)
        .map_err(|errors| {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format!("the mapping failed: {}", text.join("; "))
        })?;
    Ok(out)
}

/// The signature of a status webhook: HMAC-SHA256 with the tenant's
/// secret over `"{timestamp}.{body}"`, in hex; sent as
/// `Mapwright-Signature: t=<timestamp>,v1=<hex>` so the platform can check
/// both the sender and the freshness.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{timestamp}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Percent-encoding of a query-string part (`%20` for a space, which
/// OData services read as a space where some take `+` literally).
fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'$' => out.push(char::from(byte)),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` escaping of one value.
fn form_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// A retry at the next backoff (or `Retry-After`), or a dead letter when
/// the attempts are used up.
fn retry_later(
    endpoint: &Endpoint,
    due: &Due,
    status: Option<u16>,
    detail: String,
    retry_after: Option<u64>,
) -> Outcome {
    let attempt = u32::try_from(due.attempts + 1).unwrap_or(u32::MAX);
    if attempt >= endpoint.retry.max_attempts {
        return Outcome::Dead {
            http_status: status.map(i64::from),
            reason: format!("gave up after {attempt} attempts; the last: {detail}"),
        };
    }
    let base = endpoint
        .retry
        .initial_backoff_ms
        .saturating_mul(1u64 << (attempt - 1).min(20))
        .min(endpoint.retry.max_backoff_ms);
    // Full jitter between half and all of the backoff.
    let random = u64::from(uuid::Uuid::new_v4().as_bytes()[0]);
    let jittered = base / 2 + base / 2 * random / 255;
    let wait = match retry_after {
        Some(seconds) => seconds.saturating_mul(1000).max(jittered),
        None => jittered,
    };
    Outcome::Retry {
        at_ms: now_ms().saturating_add(i64::try_from(wait).unwrap_or(i64::MAX)),
        http_status: status.map(i64::from),
        detail,
    }
}

/// The document id an ERP answered with: the last segment of `Location`
/// (`…/A_SupplierInvoice(SupplierInvoice='5105600001',…)`), or in an OData
/// v2 body the first text value of `d`, or a top-level `id` or `name`.
fn document_id(location: Option<&str>, body: &str) -> Option<String> {
    if let Some(location) = location {
        return location.rsplit('/').next().map(str::to_owned);
    }
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    if let Some(d) = value.get("d").and_then(|d| d.as_object()) {
        return d
            .iter()
            .find_map(|(k, v)| (!k.starts_with("__")).then(|| v.as_str().map(str::to_owned)).flatten());
    }
    ["id", "name"]
        .iter()
        .find_map(|k| value.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::Aimd;

    #[test]
    fn aimd_grows_slowly_and_halves_on_pressure() {
        let mut aimd = Aimd::new(8);
        assert_eq!(aimd.allowed(), 1);
        // Additive: about `limit` successes per step up.
        for _ in 0..3 {
            aimd.observe(10.0, false);
        }
        assert_eq!(aimd.allowed(), 2);
        for _ in 0..200 {
            aimd.observe(10.0, false);
        }
        assert_eq!(aimd.allowed(), 8, "capped at the ceiling");
        aimd.observe(10.0, true);
        assert_eq!(aimd.allowed(), 4, "halved on 429/503/timeouts");
        // A response far slower than usual is pressure too.
        aimd.observe(100.0, false);
        assert_eq!(aimd.allowed(), 2);
        for _ in 0..10 {
            aimd.observe(10.0, true);
        }
        assert_eq!(aimd.allowed(), 1, "never below one");
    }
}
