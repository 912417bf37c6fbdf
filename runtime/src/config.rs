//! Tenant configuration: one TOML file per tenant in a folder, checked
//! with errors that name the file and the key, and the mappings its routes
//! name, compiled and prepared with the tenant's params and tables.
//!
//! Credentials are never written in a file: they are references
//! (`env:NAME`, `file:PATH`) resolved when used. The intake token is kept
//! only as its SHA-256.

use mapwright_compiler::interp::value::Value;
use mapwright_compiler::program::{Engine, Evaluator, Program};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A problem in a tenant's configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// The key in it (`routes[0].endpoint`), or `-` for the whole file.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// A credential, by reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Secret {
    /// `env:NAME`: an environment variable.
    Env(String),
    /// `file:PATH`: a file's content (trailing line break removed).
    File(PathBuf),
}

impl Secret {
    fn parse(text: &str, base: &Path) -> Result<Secret, String> {
        if let Some(name) = text.strip_prefix("env:").filter(|n| !n.is_empty()) {
            return Ok(Secret::Env(name.to_owned()));
        }
        if let Some(path) = text.strip_prefix("file:").filter(|p| !p.is_empty()) {
            return Ok(Secret::File(base.join(path)));
        }
        Err("credentials are given by reference, `env:NAME` or `file:PATH`, never written in the file".to_owned())
    }

    /// The secret's value now.
    pub fn resolve(&self) -> Result<String, String> {
        match self {
            Secret::Env(name) => std::env::var(name).map_err(|_| format!("the environment variable {name} is not set")),
            Secret::File(path) => std::fs::read_to_string(path)
                .map(|text| text.trim_end_matches(['\n', '\r']).to_owned())
                .map_err(|error| format!("cannot read {}: {error}", path.display())),
        }
    }
}

/// How a request to an endpoint is authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No authentication.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: Secret,
    },
    /// HTTP basic authentication.
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: Secret,
    },
    /// OAuth 2.0 client credentials (the token is cached and refreshed).
    OAuth2 {
        /// The token endpoint.
        token_url: String,
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: Secret,
        /// The scope, if any.
        scope: Option<String>,
    },
    /// Frappe/ERPNext API keys: `Authorization: token <key>:<secret>`.
    Token {
        /// The API key.
        key: Secret,
        /// The API secret.
        secret: Secret,
    },
    /// WS-Security UsernameToken (password as text, nonce, creation time)
    /// in each SOAP request's header (SOAP endpoints only).
    WsSecurity {
        /// The user.
        user: String,
        /// The password.
        password: Secret,
    },
    /// NetSuite token-based authentication: a TokenPassport in each SOAP
    /// request's header, signed with HMAC-SHA256 (SOAP endpoints only).
    NetSuiteTba {
        /// The account id (`1234567`, `1234567_SB1`).
        account: String,
        /// The integration record's consumer key.
        consumer_key: Secret,
        /// The integration record's consumer secret.
        consumer_secret: Secret,
        /// The access token id.
        token_id: Secret,
        /// The access token secret.
        token_secret: Secret,
    },
}

/// How an endpoint makes sure a redelivery (after a crash, a lost
/// response, a timeout) never creates a second document in the ERP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Only the `Idempotency-Key` header (for ERPs and gateways that honour
    /// it; most ERPs do not).
    KeyHeader,
    /// NetSuite: the message is an `upsert` keyed by the record's
    /// `externalId`, so writing it again updates the same record.
    Upsert,
    /// Before posting, look the document up by a business reference taken
    /// from the payload; when found, it is the delivery's document and
    /// nothing is posted (SAP: `CorrespncExternalReference`; Business
    /// Central: `externalDocumentNumber`; ERPNext: a field such as `po_no`).
    Lookup(Lookup),
}

/// How a file drop gathers events into files.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Events in one file at most.
    #[serde(default = "default_batch_events")]
    pub max_events: u32,
    /// How long a batch stays open for more events after its first, in
    /// milliseconds.
    #[serde(default = "default_batch_wait")]
    pub max_wait_ms: u64,
}

fn default_batch_events() -> u32 {
    10_000
}

fn default_batch_wait() -> u64 {
    10_000
}

/// A look-up-before-post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// How the query and the answer look.
    pub flavor: LookupFlavor,
    /// The payload's top-level field holding the reference.
    pub reference: String,
    /// The ERP's field queried (the same name by default).
    pub field: String,
    /// The field of a found entry that is the document's id.
    pub document: String,
    /// The collection queried (the endpoint's URL by default).
    pub url: String,
}

/// Query languages of look-ups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupFlavor {
    /// OData v2 (SAP): `$filter=F eq 'v'`, answer `{"d": {"results": [...]}}`.
    ODataV2,
    /// OData v4 (Business Central): `$filter=F eq 'v'`, answer `{"value": [...]}`.
    ODataV4,
    /// Frappe (ERPNext): `filters=[["F","=","v"]]`, answer `{"data": [...]}`.
    Frappe,
}

/// A daily posting window in a time zone (`22:00-06:00 Europe/Berlin`):
/// deliveries wait for it to open.
#[derive(Clone, Debug)]
pub struct PostingWindow {
    /// Opening time, minutes after midnight.
    pub start: u16,
    /// Closing time, minutes after midnight (before `start`: over midnight).
    pub end: u16,
    /// The time zone's name.
    pub zone_name: String,
    zone: jiff::tz::TimeZone,
}

impl PostingWindow {
    /// Reads `HH:MM-HH:MM Zone/Name`.
    pub fn parse(text: &str) -> Result<PostingWindow, String> {
        let bad = || format!("{text:?} is not a posting window such as \"22:00-06:00 Europe/Berlin\"");
        let (times, zone_name) = text.trim().split_once(' ').ok_or_else(bad)?;
        let (start, end) = times.split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Result<u16, String> {
            let (h, m) = t.split_once(':').ok_or_else(bad)?;
            let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 23 || m > 59 || t.len() != 5 {
                return Err(bad());
            }
            Ok(h * 60 + m)
        };
        let (start, end) = (minutes(start)?, minutes(end)?);
        if start == end {
            return Err(format!(
                "{text:?}: a window that opens when it closes is never open; leave it out to post any time"
            ));
        }
        let zone_name = zone_name.trim().to_owned();
        let zone = jiff::tz::db()
            .get(&zone_name)
            .map_err(|_| format!("unknown time zone {zone_name:?}"))?;
        Ok(PostingWindow {
            start,
            end,
            zone_name,
            zone,
        })
    }

    fn minute_of_day(&self, at: jiff::Timestamp) -> u16 {
        let local = self.zone.to_datetime(at);
        (local.hour() as u16) * 60 + local.minute() as u16
    }

    /// Whether the window is open at `at`.
    pub fn is_open(&self, at: jiff::Timestamp) -> bool {
        let minute = self.minute_of_day(at);
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }

    /// The next instant at or after `at` when the window is open (checked
    /// minute by minute over at most two days, so time-zone changes are
    /// handled by the zone itself).
    pub fn next_open(&self, at: jiff::Timestamp) -> jiff::Timestamp {
        let mut probe = at;
        for _ in 0..(2 * 24 * 60) {
            if self.is_open(probe) {
                return probe;
            }
            probe = probe.checked_add(jiff::SignedDuration::from_secs(60)).unwrap_or(probe);
        }
        at
    }
}

/// How failed deliveries are retried.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all before the delivery is dead-lettered.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The first backoff, in milliseconds (doubled each time, with jitter).
    #[serde(default = "default_initial_backoff")]
    pub initial_backoff_ms: u64,
    /// The longest backoff, in milliseconds.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
}

fn default_attempts() -> u32 {
    8
}
fn default_initial_backoff() -> u64 {
    500
}
fn default_max_backoff() -> u64 {
    300_000
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: default_attempts(),
            initial_backoff_ms: default_initial_backoff(),
            max_backoff_ms: default_max_backoff(),
        }
    }
}

/// Where and how payloads are delivered.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Its name in the tenant's file.
    pub name: String,
    /// `http_json` (REST, OData) or `file_drop`.
    pub kind: EndpointKind,
    /// The URL payloads are sent to (`http_json`).
    pub url: String,
    /// The folder files are dropped in (`file_drop`).
    pub directory: Option<PathBuf>,
    /// File names in the folder (`{event.id}` by default).
    pub name_template: String,
    /// The PostgreSQL connection string (`sql_staging`), by reference.
    pub connection: Option<Secret>,
    /// The staging table (`sql_staging`): its columns are the row
    /// record's CSV column names, plus a unique `mapwright_key` text column.
    pub table: Option<String>,
    /// Authentication.
    pub auth: Auth,
    /// SAP's CSRF token handshake before each write.
    pub sap_csrf: bool,
    /// SOAP version (`soap` endpoints).
    pub soap_version: crate::soap::Version,
    /// The `SOAPAction` (`soap` endpoints), e.g. `upsert`.
    pub soap_action: Option<String>,
    /// Fixed SOAP header entries (well-formed XML, checked at load), e.g.
    /// NetSuite's `<preferences>`.
    pub soap_headers: Vec<String>,
    /// NetSuite's SuiteTalk version for the TokenPassport's namespaces
    /// (`2023_2`).
    pub netsuite_version: String,
    /// How redeliveries are kept from creating second documents.
    pub idempotency: Idempotency,
    /// Gather events into one file per batch (`file_drop` only): with a
    /// posting window, everything held while it was closed goes into one
    /// file when it opens.
    pub batch: Option<Batch>,
    /// Requests per second at most (token bucket).
    pub rate_per_second: Option<f64>,
    /// Requests in flight at most.
    pub max_concurrency: u32,
    /// How long a request may take before it counts as failed (and is
    /// retried), in milliseconds.
    pub timeout_ms: u64,
    /// Adapt the concurrency below `max_concurrency` to the ERP (AIMD: one
    /// more after a window of fast successes, halved on 429, 503 or a
    /// timeout).
    pub adaptive_concurrency: bool,
    /// When deliveries may be posted.
    pub posting_window: Option<PostingWindow>,
    /// Retries.
    pub retry: RetryPolicy,
}

/// The kinds of endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointKind {
    /// JSON over HTTP (REST, OData v2/v4).
    HttpJson,
    /// XML messages in SOAP envelopes over HTTP (NetSuite SuiteTalk,
    /// legacy SOAP services).
    Soap,
    /// One file per event, written atomically into a folder (legacy
    /// imports, CSV staging drops).
    FileDrop,
    /// Rows inserted into a PostgreSQL staging table, one transaction per
    /// event.
    SqlStaging,
}

/// An event type routed to a mapping and an endpoint.
pub struct Route {
    /// The event type (`invoice.created`).
    pub event: String,
    /// The endpoint's name.
    pub endpoint: String,
    /// The mapping file.
    pub mapping_file: PathBuf,
    /// SHA-256 of the mapping file's bytes, recorded with every delivery.
    pub mapping_hash: String,
    /// The prepared mapping.
    pub program: Arc<Program>,
    /// The tenant's params for it.
    pub params: HashMap<String, Value>,
    /// The tenant's external tables for it.
    pub tables: HashMap<String, HashMap<String, Value>>,
    /// A JSON path into the event data (`$.supplier.id`) whose value orders
    /// deliveries: one entity's events are delivered in acceptance order.
    pub order_by: Option<String>,
    /// A `fn` of the mapping file that takes the event and gives `Bool`:
    /// the route applies only to the events it holds for.
    pub when: Option<String>,
    /// The response mapping, if the route has one.
    pub response: Option<ResponseMapping>,
    /// The engine that runs the route's mappings (`engine = "jit"`, the
    /// default, or `"interp"`).
    pub engine: Engine,
    /// The mapping compiled and set up with the route's own params and
    /// tables, shared by every delivery (JIT only).
    pub instance: Option<Arc<mapwright_compiler::jit::Instance>>,
}

impl Route {
    /// An evaluator of the route's mapping with `tables` (the route's own,
    /// or with entries learned from ERP answers merged in). With the
    /// route's own tables on the JIT it is the shared instance: nothing is
    /// set up per delivery.
    pub fn evaluator<'r>(
        &'r self,
        tables: &HashMap<String, HashMap<String, Value>>,
    ) -> Result<Evaluator<'r>, mapwright_compiler::interp::EvalError> {
        match &self.instance {
            Some(instance) if std::ptr::eq(tables, &self.tables) => Ok(Evaluator::Jit(instance.clone())),
            _ => self.program.evaluator(self.engine, &self.params, tables.clone()),
        }
    }
}

/// A response mapping: reads the ERP's answer, gives
/// `mapwright.delivery.Result`.
pub struct ResponseMapping {
    /// The mapping file.
    pub file: PathBuf,
    /// SHA-256 of its bytes.
    pub hash: String,
    /// The prepared mapping.
    pub program: Arc<Program>,
    /// Its params (defaults only).
    pub params: HashMap<String, Value>,
    /// The engine that runs it (the route's).
    pub engine: Engine,
}

/// Where a tenant's delivery outcomes are reported, signed.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// The platform's URL.
    pub url: String,
    /// The HMAC-SHA256 key.
    pub secret: Secret,
}

/// A tenant, checked and ready.
pub struct Tenant {
    /// Its id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// SHA-256 of its intake token.
    pub token_sha256: [u8; 32],
    /// How long idempotency keys are kept.
    pub idempotency_hours: u64,
    /// Routes, in file order.
    pub routes: Vec<Route>,
    /// Endpoints by name.
    pub endpoints: BTreeMap<String, Endpoint>,
    /// Status webhook, if the platform wants one.
    pub webhook: Option<Webhook>,
}

impl Tenant {
    /// The routes for an event type.
    pub fn routes_for<'a>(&'a self, event: &'a str) -> impl Iterator<Item = (usize, &'a Route)> + 'a {
        self.routes.iter().enumerate().filter(move |(_, r)| r.event == event)
    }
}

/// Every tenant of a configuration folder.
#[derive(Default)]
pub struct Config {
    /// Tenants by id.
    pub tenants: BTreeMap<String, Arc<Tenant>>,
    by_token: HashMap<[u8; 32], String>,
}

impl Config {
    /// The tenant whose intake token is `token`.
    pub fn tenant_by_token(&self, token: &str) -> Option<&Arc<Tenant>> {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.by_token.get(&hash).and_then(|id| self.tenants.get(id))
    }
}

/// The SHA-256 of a token, as the config file holds it (hex).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

// ------------------------------------------------------------------ files

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantFile {
    id: String,
    name: Option<String>,
    intake: IntakeFile,
    #[serde(default)]
    routes: Vec<RouteFile>,
    #[serde(default)]
    endpoints: BTreeMap<String, EndpointFile>,
    webhook: Option<WebhookFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    url: String,
    secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntakeFile {
    token_sha256: String,
    #[serde(default = "default_idempotency_hours")]
    idempotency_hours: u64,
}

fn default_idempotency_hours() -> u64 {
    72
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    event: String,
    mapping: PathBuf,
    function: Option<String>,
    endpoint: String,
    #[serde(default)]
    params: toml::Table,
    params_file: Option<PathBuf>,
    tables_file: Option<PathBuf>,
    order_by: Option<String>,
    when: Option<String>,
    response: Option<PathBuf>,
    response_function: Option<String>,
    engine: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointFile {
    kind: String,
    url: Option<String>,
    directory: Option<PathBuf>,
    name_template: Option<String>,
    connection: Option<String>,
    table: Option<String>,
    #[serde(default)]
    auth: Option<AuthFile>,
    #[serde(default)]
    sap_csrf: bool,
    soap_version: Option<String>,
    soap_action: Option<String>,
    #[serde(default)]
    soap_headers: Vec<String>,
    netsuite_version: Option<String>,
    idempotency: Option<IdempotencyFile>,
    batch: Option<Batch>,
    rate_per_second: Option<f64>,
    #[serde(default = "default_concurrency")]
    max_concurrency: u32,
    #[serde(default)]
    adaptive_concurrency: bool,
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
    posting_window: Option<String>,
    #[serde(default)]
    retry: RetryPolicy,
}

fn default_timeout() -> u64 {
    30_000
}

fn default_concurrency() -> u32 {
    4
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdempotencyFile {
    strategy: String,
    flavor: Option<String>,
    reference: Option<String>,
    field: Option<String>,
    document: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
enum AuthFile {
    Token {
        key: String,
        secret: String,
    },
    WsSecurity {
        user: String,
        password: String,
    },
    NetsuiteTba {
        account: String,
        consumer_key: String,
        consumer_secret: String,
        token_id: String,
        token_secret: String,
    },
    Bearer {
        token: String,
    },
    Basic {
        user: String,
        password: String,
    },
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    },
}

/// Loads every `*.toml` of `dir` as a tenant; `stdlib` overrides the
/// embedded standard library. All problems of all files are returned.
pub fn load_dir(dir: &Path, stdlib: Option<&Path>) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect(),
        Err(error) => {
            return Err(vec![ConfigError {
                file: dir.display().to_string(),
                key: "-".to_owned(),
                message: format!("cannot read the folder: {error}"),
            }]);
        }
    };
    files.sort();
    if files.is_empty() {
        errors.push(ConfigError {
            file: dir.display().to_string(),
            key: "-".to_owned(),
            message: "no tenant files (*.toml) in this folder".to_owned(),
        });
    }
    let mut config = Config::default();
    let mut sources: HashMap<String, String> = HashMap::new();
    for file in files {
        match load_tenant(&file, stdlib) {
            Ok(tenant) => {
                let shown = file.display().to_string();
                if let Some(first) = sources.get(&tenant.id) {
                    errors.push(ConfigError {
                        file: shown,
                        key: "id".to_owned(),
                        message: format!("tenant `{}` is also defined in {first}", tenant.id),
                    });
                    continue;
                }
                if let Some(other) = config.by_token.get(&tenant.token_sha256) {
                    errors.push(ConfigError {
                        file: shown,
                        key: "intake.token_sha256".to_owned(),
                        message: format!("the same token as tenant `{other}`: each tenant needs its own"),
                    });
                    continue;
                }
                sources.insert(tenant.id.clone(), shown);
                config.by_token.insert(tenant.token_sha256, tenant.id.clone());
                config.tenants.insert(tenant.id.clone(), Arc::new(tenant));
            }
            Err(mut problems) => errors.append(&mut problems),
        }
    }
    if errors.is_empty() { Ok(config) } else { Err(errors) }
}

fn load_tenant(file: &Path, stdlib: Option<&Path>) -> Result<Tenant, Vec<ConfigError>> {
    let shown = file.display().to_string();
    let error = |key: &str, message: String| ConfigError {
        file: shown.clone(),
        key: key.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(file).map_err(|e| vec![error("-", format!("cannot read: {e}"))])?;
    let parsed: TenantFile =
        toml::from_str(&text).map_err(|e| vec![error("-", e.to_string().trim_end().to_owned())])?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut errors = Vec::new();
    if parsed.id.is_empty()
        || !parsed
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        errors.push(error(
            "id",
            format!("{:?}: a tenant id is letters, digits, `_` and `-`", parsed.id),
        ));
    }
    let mut token_sha256 = [0u8; 32];
    match hex::decode(&parsed.intake.token_sha256) {
        Ok(bytes) if bytes.len() == 32 => token_sha256.copy_from_slice(&bytes),
        _ => errors.push(error(
            "intake.token_sha256",
            "expected the token's SHA-256 as 64 hex digits (`mapwright token` makes one)".to_owned(),
        )),
    }
    let mut endpoints = BTreeMap::new();
    for (name, endpoint) in &parsed.endpoints {
        let key = |k: &str| format!("endpoints.{name}.{k}");
        let kind = match endpoint.kind.as_str() {
            "http_json" => Some(EndpointKind::HttpJson),
            "file_drop" => Some(EndpointKind::FileDrop),
            "sql_staging" => Some(EndpointKind::SqlStaging),
            "soap" => Some(EndpointKind::Soap),
            other => {
                errors.push(error(
                    &key("kind"),
                    format!(
                        "`{other}` is not an endpoint kind this runtime delivers to (known: http_json, soap, file_drop, sql_staging)"
                    ),
                ));
                None
            }
        };
        let url = endpoint.url.clone().unwrap_or_default();
        if endpoint.url.is_some() && !(url.starts_with("http://") || url.starts_with("https://")) {
            errors.push(error(&key("url"), format!("{url:?} is not an http(s) URL")));
        }
        let mut directory = None;
        match kind {
            Some(EndpointKind::HttpJson | EndpointKind::Soap) if endpoint.url.is_none() => {
                errors.push(error(
                    &key("url"),
                    format!("a `{}` endpoint needs `url`", endpoint.kind),
                ));
            }
            Some(EndpointKind::FileDrop) => match &endpoint.directory {
                None => errors.push(error(
                    &key("directory"),
                    "a file_drop endpoint needs `directory`".to_owned(),
                )),
                Some(dir) => {
                    let dir = base.join(dir);
                    if let Err(e) = std::fs::create_dir_all(&dir) {
                        errors.push(error(&key("directory"), format!("cannot use {}: {e}", dir.display())));
                    }
                    directory = Some(dir);
                }
            },
            Some(EndpointKind::SqlStaging) => {
                if endpoint.connection.is_none() {
                    errors.push(error(
                        &key("connection"),
                        "a sql_staging endpoint needs `connection` (env:NAME or file:PATH)".to_owned(),
                    ));
                }
                let valid_table = endpoint.table.as_deref().is_some_and(|t| {
                    !t.is_empty()
                        && t.split('.').all(|part| {
                            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        })
                });
                if !valid_table {
                    errors.push(error(
                        &key("table"),
                        "a sql_staging endpoint needs `table`, a plain name such as staging.po_lines".to_owned(),
                    ));
                }
            }
            Some(EndpointKind::HttpJson | EndpointKind::Soap) | None => {}
        }
        if kind != Some(EndpointKind::Soap)
            && (endpoint.soap_version.is_some()
                || endpoint.soap_action.is_some()
                || endpoint.netsuite_version.is_some()
                || !endpoint.soap_headers.is_empty())
        {
            errors.push(error(
                &key("soap_version"),
                "soap_version, soap_action, soap_headers and netsuite_version apply to soap endpoints only".to_owned(),
            ));
        }
        for (n, header) in endpoint.soap_headers.iter().enumerate() {
            if let Err(why) = crate::response::parse_xml(header.as_bytes()) {
                errors.push(error(
                    &format!("endpoints.{name}.soap_headers[{n}]"),
                    format!("not one well-formed XML element: {why}"),
                ));
            }
        }
        let soap_version = match endpoint.soap_version.as_deref() {
            None | Some("1.1") => crate::soap::Version::V11,
            Some("1.2") => crate::soap::Version::V12,
            Some(other) => {
                errors.push(error(
                    &key("soap_version"),
                    format!("{other:?}: expected \"1.1\" or \"1.2\""),
                ));
                crate::soap::Version::V11
            }
        };
        let connection = match &endpoint.connection {
            Some(text) => match Secret::parse(text, base) {
                Ok(secret) => Some(secret),
                Err(message) => {
                    errors.push(error(&key("connection"), message));
                    None
                }
            },
            None => None,
        };
        if kind == Some(EndpointKind::FileDrop) && endpoint.auth.is_some() {
            errors.push(error(
                &key("auth"),
                "a file_drop endpoint takes no credentials".to_owned(),
            ));
        }
        let secret = |value: &str, k: &str, errors: &mut Vec<ConfigError>| match Secret::parse(value, base) {
            Ok(secret) => Some(secret),
            Err(message) => {
                errors.push(error(&key(k), message));
                None
            }
        };
        let auth = match &endpoint.auth {
            None => Some(Auth::None),
            Some(AuthFile::Bearer { token }) => {
                secret(token, "auth.token", &mut errors).map(|token| Auth::Bearer { token })
            }
            Some(AuthFile::Basic { user, password }) => {
                secret(password, "auth.password", &mut errors).map(|password| Auth::Basic {
                    user: user.clone(),
                    password,
                })
            }
            Some(AuthFile::Oauth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            }) => secret(client_secret, "auth.client_secret", &mut errors).map(|client_secret| Auth::OAuth2 {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret,
                scope: scope.clone(),
            }),
            Some(AuthFile::Token {
                key: api_key,
                secret: api_secret,
            }) => {
                let api_key = secret(api_key, "auth.key", &mut errors);
                let api_secret = secret(api_secret, "auth.secret", &mut errors);
                api_key.zip(api_secret).map(|(key, secret)| Auth::Token { key, secret })
            }
            Some(AuthFile::WsSecurity { user, password }) => {
                if kind != Some(EndpointKind::Soap) {
                    errors.push(error(
                        &key("auth"),
                        "ws_security authenticates SOAP requests (kind = \"soap\")".to_owned(),
                    ));
                }
                secret(password, "auth.password", &mut errors).map(|password| Auth::WsSecurity {
                    user: user.clone(),
                    password,
                })
            }
            Some(AuthFile::NetsuiteTba {
                account,
                consumer_key,
                consumer_secret,
                token_id,
                token_secret,
            }) => {
                if kind != Some(EndpointKind::Soap) {
                    errors.push(error(
                        &key("auth"),
                        "netsuite_tba authenticates SOAP requests (kind = \"soap\")".to_owned(),
                    ));
                }
                let parts = (
                    secret(consumer_key, "auth.consumer_key", &mut errors),
                    secret(consumer_secret, "auth.consumer_secret", &mut errors),
                    secret(token_id, "auth.token_id", &mut errors),
                    secret(token_secret, "auth.token_secret", &mut errors),
                );
                match parts {
                    (Some(consumer_key), Some(consumer_secret), Some(token_id), Some(token_secret)) => {
                        Some(Auth::NetSuiteTba {
                            account: account.clone(),
                            consumer_key,
                            consumer_secret,
                            token_id,
                            token_secret,
                        })
                    }
                    _ => None,
                }
            }
        };
        let idempotency = match &endpoint.idempotency {
            None => Idempotency::KeyHeader,
            Some(file) => match idempotency(file, kind, &url) {
                Ok(strategy) => strategy,
                Err(message) => {
                    errors.push(error(&key("idempotency"), message));
                    Idempotency::KeyHeader
                }
            },
        };
        if let Some(batch) = &endpoint.batch {
            if kind != Some(EndpointKind::FileDrop) {
                errors.push(error(
                    &key("batch"),
                    "only a file_drop endpoint gathers events into batch files".to_owned(),
                ));
            }
            if batch.max_events == 0 || batch.max_wait_ms == 0 {
                errors.push(error(
                    &key("batch"),
                    "max_events and max_wait_ms must be at least 1".to_owned(),
                ));
            }
        }
        let template = endpoint.name_template.clone().unwrap_or_else(|| {
            if endpoint.batch.is_some() {
                "batch-{batch.opened}-{batch.id}".to_owned()
            } else {
                "{event.id}".to_owned()
            }
        });
        match (endpoint.batch.is_some(), template.contains("{event."), template.contains("{batch.")) {
            (true, true, _) => errors.push(error(
                &key("name_template"),
                "a batch file gathers many events: name it with {batch.id}, {batch.opened}, {batch.count}, not {event.…}".to_owned(),
            )),
            (false, _, true) => errors.push(error(
                &key("name_template"),
                "{batch.…} names batch files; this endpoint writes one file per event (add a [batch] table, or use {event.…})".to_owned(),
            )),
            _ => {}
        }
        let window = match &endpoint.posting_window {
            Some(text) => match PostingWindow::parse(text) {
                Ok(window) => Some(window),
                Err(message) => {
                    errors.push(error(&key("posting_window"), message));
                    None
                }
            },
            None => None,
        };
        if endpoint.rate_per_second.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
            errors.push(error(&key("rate_per_second"), "must be a positive number".to_owned()));
        }
        if endpoint.timeout_ms == 0 {
            errors.push(error(&key("timeout_ms"), "must be at least 1".to_owned()));
        }
        if endpoint.max_concurrency == 0 {
            errors.push(error(&key("max_concurrency"), "must be at least 1".to_owned()));
        }
        if endpoint.retry.max_attempts == 0 || endpoint.retry.initial_backoff_ms > endpoint.retry.max_backoff_ms {
            errors.push(error(
                &key("retry"),
                "max_attempts must be at least 1 and initial_backoff_ms at most max_backoff_ms".to_owned(),
            ));
        }
        if let (Some(kind), Some(auth)) = (kind, auth) {
            endpoints.insert(
                name.clone(),
                Endpoint {
                    name: name.clone(),
                    kind,
                    url,
                    directory,
                    name_template: template,
                    connection,
                    table: endpoint.table.clone(),
                    auth,
                    sap_csrf: endpoint.sap_csrf,
                    soap_version,
                    soap_action: endpoint.soap_action.clone(),
                    soap_headers: endpoint.soap_headers.clone(),
                    netsuite_version: endpoint.netsuite_version.clone().unwrap_or_else(|| "2023_2".to_owned()),
                    idempotency,
                    batch: endpoint.batch.clone(),
                    rate_per_second: endpoint.rate_per_second,
                    max_concurrency: endpoint.max_concurrency,
                    adaptive_concurrency: endpoint.adaptive_concurrency,
                    timeout_ms: endpoint.timeout_ms,
                    posting_window: window,
                    retry: endpoint.retry.clone(),
                },
            );
        }
    }
    let mut routes = Vec::new();
    for (index, route) in parsed.routes.iter().enumerate() {
        let key = |k: &str| format!("routes[{index}].{k}");
        let valid_event = route.event.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && route
                    .event
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
        });
        if !valid_event {
            errors.push(error(
                &key("event"),
                format!("{:?} is not an event type such as \"invoice.created\"", route.event),
            ));
        }
        if !parsed.endpoints.contains_key(&route.endpoint) {
            let names: Vec<&str> = parsed.endpoints.keys().map(String::as_str).collect();
            errors.push(error(
                &key("endpoint"),
                format!(
                    "no endpoint `{}` in this file (it has: {})",
                    route.endpoint,
                    names.join(", ")
                ),
            ));
        }
        if let Some(order_by) = &route.order_by
            && !order_by.starts_with("$.")
        {
            errors.push(error(
                &key("order_by"),
                format!("{order_by:?} is not a JSON path such as \"$.supplier.id\""),
            ));
        }
        let mapping_file = base.join(&route.mapping);
        let bytes = match std::fs::read(&mapping_file) {
            Ok(bytes) => bytes,
            Err(e) => {
                errors.push(error(
                    &key("mapping"),
                    format!("cannot read {}: {e}", mapping_file.display()),
                ));
                continue;
            }
        };
        let checked = match mapwright_project::check_file(&mapping_file, stdlib) {
            Ok(checked) => checked,
            Err(message) => {
                errors.push(error(&key("mapping"), message));
                continue;
            }
        };
        if checked.errors() > 0 {
            errors.push(error(
                &key("mapping"),
                format!("the mapping does not check clean:\n{}", checked.plain_text()),
            ));
            continue;
        }
        let program = match mapwright_project::program(&checked, &mapping_file, route.function.as_deref()) {
            Ok(program) => program,
            Err(message) => {
                errors.push(error(&key("function"), message));
                continue;
            }
        };
        if let Some(when) = &route.when
            && let Err(message) = check_condition(&checked, route.function.as_deref(), &program.mapping, when)
        {
            errors.push(error(&key("when"), message));
            continue;
        }
        let response = match &route.response {
            None => {
                if parsed.endpoints.get(&route.endpoint).is_some_and(|e| e.kind == "soap") {
                    errors.push(error(
                        &key("response"),
                        "a route to a soap endpoint needs a response mapping (`response = \"….map\"`): SOAP services such as NetSuite report refusals inside a 200 answer, which only a response mapping can read".to_owned(),
                    ));
                    continue;
                }
                None
            }
            Some(path) => match load_response(&base.join(path), route.response_function.as_deref(), stdlib) {
                Ok(response) => Some(response),
                Err(message) => {
                    errors.push(error(&key("response"), message));
                    continue;
                }
            },
        };
        if route.response.is_none() && route.response_function.is_some() {
            errors.push(error(
                &key("response_function"),
                "names a mapping of `response`, which is not given".to_owned(),
            ));
        }
        if let (Some(endpoint), Some(kind)) = (endpoints.get(&route.endpoint), Some(program.output_format())) {
            use mapwright_compiler::resolve::annotations::WireFormat;
            let fits = match endpoint.kind {
                EndpointKind::HttpJson => kind == WireFormat::Json,
                EndpointKind::Soap => kind == WireFormat::Xml,
                EndpointKind::FileDrop => true,
                EndpointKind::SqlStaging => kind == WireFormat::Csv,
            };
            if !fits {
                errors.push(error(
                    &key("mapping"),
                    format!(
                        "the mapping writes {kind:?}, which a `{}` endpoint does not take (http_json takes JSON, soap takes XML, sql_staging takes a CSV row schema)",
                        parsed.endpoints.get(&route.endpoint).map_or("", |e| e.kind.as_str())
                    ),
                ));
                continue;
            }
            if endpoint.idempotency == Idempotency::Upsert
                && program.output.root().is_none_or(|root| root.xml_name != "upsert")
            {
                errors.push(error(
                    &key("mapping"),
                    format!(
                        "endpoint `{}` relies on NetSuite's upsert, but the mapping's message is not an `upsert` (map to an Upsert… record such as netsuite.purchase_order.UpsertPurchaseOrder)",
                        route.endpoint
                    ),
                ));
                continue;
            }
            if endpoint.batch.is_some() && kind == WireFormat::Xml {
                errors.push(error(
                    &key("mapping"),
                    format!(
                        "endpoint `{}` gathers events into one file, and XML documents cannot be gathered (CSV and JSON Lines can)",
                        route.endpoint
                    ),
                ));
                continue;
            }
            if matches!(endpoint.kind, EndpointKind::FileDrop | EndpointKind::SqlStaging) && response.is_some() {
                errors.push(error(
                    &key("response"),
                    "file drops and staging tables have no response to map".to_owned(),
                ));
                continue;
            }
        }
        let mut params_table = match &route.params_file {
            Some(path) => match read_table(&base.join(path)) {
                Ok(table) => table,
                Err(message) => {
                    errors.push(error(&key("params_file"), message));
                    continue;
                }
            },
            None => toml::Table::new(),
        };
        params_table.extend(route.params.clone());
        let params = match program.params_from_toml(&params_table) {
            Ok(params) => params,
            Err(problems) => {
                for problem in problems {
                    errors.push(error(&key("params"), problem));
                }
                continue;
            }
        };
        let tables = match &route.tables_file {
            Some(path) => match read_table(&base.join(path))
                .and_then(|t| program.tables_from_toml(&t).map_err(|p| p.join("; ")))
            {
                Ok(tables) => tables,
                Err(message) => {
                    errors.push(error(&key("tables_file"), message));
                    continue;
                }
            },
            None => HashMap::new(),
        };
        let engine = match route.engine.as_deref().map(|name| (name, Engine::from_name(name))) {
            None => Engine::default(),
            Some((_, Some(engine))) => engine,
            Some((name, None)) => {
                errors.push(error(
                    &key("engine"),
                    format!("{name:?} is not an engine: use \"jit\" (the default) or \"interp\""),
                ));
                continue;
            }
        };
        // The params must also evaluate (defaults may fail), and on the JIT
        // the mapping must compile: both are found here, not at the first
        // delivery.
        let instance = match program.evaluator(engine, &params, tables.clone()) {
            Ok(Evaluator::Jit(instance)) => Some(instance),
            Ok(Evaluator::Interp(_)) => None,
            Err(e) => {
                errors.push(error(&key("params"), e.to_string()));
                continue;
            }
        };
        let mut response = response;
        if let Some(response) = &mut response {
            response.engine = engine;
        }
        routes.push(Route {
            event: route.event.clone(),
            endpoint: route.endpoint.clone(),
            mapping_hash: hex::encode(Sha256::digest(&bytes)),
            mapping_file,
            program: Arc::new(program),
            params,
            tables,
            order_by: route.order_by.clone(),
            when: route.when.clone(),
            response,
            engine,
            instance,
        });
    }
    for (name, endpoint) in &endpoints {
        let feeding = parsed.routes.iter().filter(|r| &r.endpoint == name).count();
        if endpoint.batch.is_some() && feeding > 1 {
            errors.push(error(
                &format!("endpoints.{name}.batch"),
                format!("{feeding} routes feed this endpoint; a batch file holds one mapping's output, so give each route its own batching endpoint"),
            ));
        }
    }
    let webhook = match &parsed.webhook {
        None => None,
        Some(hook) => {
            if !(hook.url.starts_with("http://") || hook.url.starts_with("https://")) {
                errors.push(error("webhook.url", format!("{:?} is not an http(s) URL", hook.url)));
            }
            match Secret::parse(&hook.secret, base) {
                Ok(secret) => Some(Webhook {
                    url: hook.url.clone(),
                    secret,
                }),
                Err(message) => {
                    errors.push(error("webhook.secret", message));
                    None
                }
            }
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Tenant {
        id: parsed.id.clone(),
        name: parsed.name.clone().unwrap_or_else(|| parsed.id.clone()),
        token_sha256,
        idempotency_hours: parsed.intake.idempotency_hours,
        routes,
        endpoints,
        webhook,
    })
}

/// A route condition must be a `fn` of the mapping's file taking what the
/// mapping takes and giving `Bool`.
fn check_condition(
    checked: &mapwright_project::Checked,
    _function: Option<&str>,
    mapping: &str,
    when: &str,
) -> Result<(), String> {
    use mapwright_compiler::resolve::DefKind;
    use mapwright_compiler::types::Ty;
    let scope = checked
        .module
        .and_then(|m| checked.workspace.module(m))
        .map(|m| &m.scope)
        .ok_or("the mapping file has no module")?;
    let input = match scope.get(mapping).map(|d| &d.kind) {
        Some(DefKind::Mapping(params, _)) => params.first().cloned().flatten(),
        _ => None,
    };
    match scope.get(when).map(|d| &d.kind) {
        Some(DefKind::Function(params, Some(Ty::Bool))) if params.len() == 1 && params[0] == input => Ok(()),
        Some(DefKind::Function(..)) => Err(format!("`fn {when}` must take what `{mapping}` takes and give `Bool`")),
        _ => Err(format!("the mapping file has no `fn {when}`")),
    }
}

/// Loads a response mapping: it must give `mapwright.delivery.Result`,
/// and its params must all have defaults.
fn load_response(file: &Path, function: Option<&str>, stdlib: Option<&Path>) -> Result<ResponseMapping, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let checked = mapwright_project::check_file(file, stdlib)?;
    if checked.errors() > 0 {
        return Err(format!(
            "the response mapping does not check clean:\n{}",
            checked.plain_text()
        ));
    }
    let program = mapwright_project::program(&checked, file, function)?;
    if !crate::response::is_delivery_result(&program.output) {
        return Err(format!(
            "{}: a response mapping gives mapwright.delivery.Result",
            file.display()
        ));
    }
    if program
        .input
        .root()
        .is_none_or(|root| !root.by_key.contains_key("status"))
    {
        return Err(format!(
            "{}: a response mapping takes a response record with `status` (such as sap.s4.responses.PurchaseOrderResponse)",
            file.display()
        ));
    }
    let params = program
        .params_from_toml(&toml::Table::new())
        .map_err(|problems| format!("{}: {}", file.display(), problems.join("; ")))?;
    Ok(ResponseMapping {
        file: file.to_owned(),
        hash: hex::encode(Sha256::digest(&bytes)),
        program: Arc::new(program),
        params,
        engine: Engine::default(),
    })
}

/// Reads an endpoint's `idempotency` table.
fn idempotency(file: &IdempotencyFile, kind: Option<EndpointKind>, url: &str) -> Result<Idempotency, String> {
    let unused = |names: &[(&str, bool)]| -> Result<(), String> {
        match names.iter().find(|(_, given)| *given) {
            Some((name, _)) => Err(format!("`{name}` does not apply to strategy \"{}\"", file.strategy)),
            None => Ok(()),
        }
    };
    let lookup_keys = [
        ("flavor", file.flavor.is_some()),
        ("reference", file.reference.is_some()),
        ("field", file.field.is_some()),
        ("document", file.document.is_some()),
        ("url", file.url.is_some()),
    ];
    match file.strategy.as_str() {
        "key_header" => unused(&lookup_keys).map(|()| Idempotency::KeyHeader),
        "upsert" => {
            unused(&lookup_keys)?;
            if kind != Some(EndpointKind::Soap) {
                return Err("strategy \"upsert\" is NetSuite's, over SOAP (kind = \"soap\")".to_owned());
            }
            Ok(Idempotency::Upsert)
        }
        "lookup" => {
            if kind != Some(EndpointKind::HttpJson) {
                return Err("strategy \"lookup\" queries a REST/OData collection (kind = \"http_json\")".to_owned());
            }
            let flavor = match file.flavor.as_deref() {
                Some("odata_v2") => LookupFlavor::ODataV2,
                Some("odata_v4") => LookupFlavor::ODataV4,
                Some("frappe") => LookupFlavor::Frappe,
                other => {
                    return Err(format!(
                        "{}: `flavor` is \"odata_v2\" (SAP), \"odata_v4\" (Business Central) or \"frappe\" (ERPNext)",
                        other.map_or("missing".to_owned(), |o| format!("{o:?}"))
                    ));
                }
            };
            let reference = file
                .reference
                .clone()
                .filter(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .ok_or("`reference` names the payload's top-level field that holds the business reference (e.g. \"CorrespncExternalReference\")")?;
            let document = match (&file.document, flavor) {
                (Some(document), _) => document.clone(),
                (None, LookupFlavor::ODataV4) => "id".to_owned(),
                (None, LookupFlavor::Frappe) => "name".to_owned(),
                (None, LookupFlavor::ODataV2) => {
                    return Err(
                        "`document` names the field of a found entry that is its id (e.g. \"PurchaseOrder\")"
                            .to_owned(),
                    );
                }
            };
            let url = file.url.clone().unwrap_or_else(|| url.to_owned());
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("{url:?} is not an http(s) URL"));
            }
            Ok(Idempotency::Lookup(Lookup {
                flavor,
                field: file.field.clone().unwrap_or_else(|| reference.clone()),
                reference,
                document,
                url,
            }))
        }
        other => Err(format!(
            "{other:?}: the strategies are \"key_header\", \"upsert\" (NetSuite) and \"lookup\" (SAP, Business Central, ERPNext)"
        )),
    }
}

fn read_table(path: &Path) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| format!("{}: {}", path.display(), e.to_string().trim_end()))
}
