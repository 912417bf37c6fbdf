//! The intake API (axum): tenants post canonical events, each accepted
//! durably before it is acknowledged, exactly once per idempotency key.
//!
//! - `POST /v1/events` with `Authorization: Bearer <tenant token>`,
//!   `Idempotency-Key` and an optional `X-Correlation-Id`; the body is
//!   `{"type": "invoice.created", "data": {…}, "business_key": "…"?}`. The
//!   data is checked against the canonical record the tenant's routes for
//!   that type take (422 with JSON paths); `202 {"id", "correlation_id"}`
//!   once stored; the same key and body again gives the first answer; the
//!   same key with another body is `409`.
//! - `GET /v1/events/{id}`: the event with its deliveries and every
//!   attempt, only to its own tenant (any other gets `404`).
//! - `GET /v1/events?business_key=…`: the tenant's events with that key.
//! - `GET /healthz`, `GET /metrics` (Prometheus), `GET /openapi.json`
//!   (this API as OpenAPI 3.1).

use crate::config::Config;
use crate::store::{Accepted, NewEvent, Store};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mapwright_compiler::wire::json_in::{self, DecodeOptions};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};

/// What the intake needs.
pub struct Intake {
    /// The current configuration (swapped whole on reload; shared with the
    /// dispatcher).
    pub config: Arc<RwLock<Arc<Config>>>,
    /// Woken when an event was accepted (the dispatcher's wake-up).
    pub accepted: Arc<tokio::sync::Notify>,
    /// The durable store.
    pub store: Store,
}

/// The largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How long a client may take to send its body (408 beyond).
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The routes of the intake API.
pub fn router(intake: Arc<Intake>) -> Router {
    Router::new()
        .route("/v1/events", post(post_event).get(find_events))
        .route("/v1/events/{id}", get(get_event))
        .route("/healthz", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(|| async { axum::Json(openapi()) }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_TIMEOUT))
        .with_state(intake)
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// The tenant a request's bearer token belongs to (or the answer to give).
fn tenant_of(intake: &Intake, headers: &HeaderMap) -> Result<Arc<crate::config::Tenant>, Box<Response>> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            Box::new(problem(
                StatusCode::UNAUTHORIZED,
                "missing `Authorization: Bearer <token>`",
            ))
        })?;
    let config = intake
        .config
        .read()
        .map_err(|_| {
            Box::new(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the configuration is being replaced",
            ))
        })?
        .clone();
    config
        .tenant_by_token(token)
        .cloned()
        .ok_or_else(|| Box::new(problem(StatusCode::UNAUTHORIZED, "unknown token")))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(borrow)]
    data: &'a serde_json::value::RawValue,
    business_key: Option<String>,
}

async fn post_event(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let text = rejection.body_text();
            let status = rejection.status();
            return if status == StatusCode::PAYLOAD_TOO_LARGE {
                problem(status, format!("the body is larger than {MAX_BODY_BYTES} bytes"))
            } else if text.contains("timeout") {
                problem(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("the body did not arrive within {} s", BODY_TIMEOUT.as_secs()),
                )
            } else {
                problem(status, text)
            };
        }
    };
    let tenant = match tenant_of(&intake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    let key = match headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        Some(key) if !key.is_empty() && key.len() <= 255 => key.to_owned(),
        Some(_) => return problem(StatusCode::BAD_REQUEST, "`Idempotency-Key` must be 1 to 255 characters"),
        None => return problem(StatusCode::BAD_REQUEST, "missing `Idempotency-Key` header"),
    };
    let correlation_id = match headers.get("x-correlation-id").map(|v| v.to_str()) {
        Some(Ok(id)) if !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()) => id.to_owned(),
        Some(_) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "`X-Correlation-Id` must be 1 to 128 visible ASCII characters",
            );
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let envelope: Envelope<'_> = match serde_json::from_slice(&body) {
        Ok(envelope) => envelope,
        Err(error) => return problem(StatusCode::BAD_REQUEST, format!("the body is not an event: {error}")),
    };
    let routes: Vec<_> = tenant.routes_for(&envelope.event_type).collect();
    if routes.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "error": "the event does not fit",
                "errors": [{"path": "$.type", "message": format!("tenant `{}` has no route for event type `{}`", tenant.id, envelope.event_type)}]
            })),
        )
            .into_response();
    }
    // The data must be what every route for the type takes; a route with a
    // condition applies only when its `fn` holds for the event.
    let mut errors = Vec::new();
    let mut applies = Vec::with_capacity(routes.len());
    for (index, route) in &routes {
        match json_in::decode(
            &route.program.input,
            envelope.data.get().as_bytes(),
            DecodeOptions::default(),
        ) {
            Err(problems) => {
                for problem in problems {
                    let path = problem.source.as_deref().unwrap_or("$");
                    let entry = json!({"path": format!("$.data{}", &path[1..]), "message": problem.message});
                    if !errors.contains(&entry) {
                        errors.push(entry);
                    }
                }
            }
            Ok(event) => match &route.when {
                None => applies.push(*index),
                Some(when) => {
                    let holds = route
                        .evaluator(&route.tables)
                        .and_then(|evaluator| evaluator.call(when, vec![event]));
                    match holds {
                        Ok(mapwright_compiler::interp::value::Value::Bool(true)) => applies.push(*index),
                        Ok(_) => {}
                        Err(error) => errors.push(json!({
                            "path": "$.data",
                            "message": format!("the route condition `{when}` failed: {error}")
                        })),
                    }
                }
            },
        }
    }
    if !errors.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": "the event does not fit", "errors": errors})),
        )
            .into_response();
    }
    let data_tree: Option<serde_json::Value> = if routes.iter().any(|(_, r)| r.order_by.is_some()) {
        serde_json::from_str(envelope.data.get()).ok()
    } else {
        None
    };
    let deliveries = routes
        .iter()
        .filter(|(index, _)| applies.contains(index))
        .map(|(index, route)| {
            let order_key = route.order_by.as_deref().and_then(|path| {
                let mut node = data_tree.as_ref()?;
                for part in path.trim_start_matches("$.").split('.') {
                    node = node.get(part)?;
                }
                Some(match node {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
            });
            (*index, route.endpoint.clone(), order_key)
        })
        .collect();
    let event = NewEvent {
        id: uuid::Uuid::new_v4().to_string(),
        tenant: tenant.id.clone(),
        event_type: envelope.event_type.clone(),
        idempotency_key: key,
        body_sha256: hex::encode(Sha256::digest(&body)),
        correlation_id: correlation_id.clone(),
        business_key: envelope.business_key.clone(),
        data: envelope.data.get().to_owned(),
        keep_key_ms: i64::try_from(tenant.idempotency_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX),
        deliveries,
    };
    match intake.store.accept(event).await {
        Ok(Accepted::New(id)) => {
            tracing::info!(tenant = %tenant.id, %correlation_id, event = %id, "accepted");
            intake.accepted.notify_one();
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({"id": id, "correlation_id": correlation_id})),
            )
                .into_response()
        }
        Ok(Accepted::Duplicate(id)) => {
            // The first answer again (its correlation id is in the store).
            match intake.store.event(&tenant.id, &id).await {
                Ok(Some(view)) => (
                    StatusCode::ACCEPTED,
                    [("idempotent-replayed", "true")],
                    axum::Json(json!({"id": id, "correlation_id": view.correlation_id})),
                )
                    .into_response(),
                _ => problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the first event under this key cannot be read",
                ),
            }
        }
        Ok(Accepted::Conflict(id)) => (
            StatusCode::CONFLICT,
            axum::Json(json!({
                "error": "this Idempotency-Key was used for another body",
                "id": id
            })),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(tenant = %tenant.id, %correlation_id, %error, "not stored");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the event could not be stored; retry with the same key",
            )
        }
    }
}

async fn get_event(State(intake): State<Arc<Intake>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let tenant = match tenant_of(&intake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    match intake.store.event(&tenant.id, &id).await {
        Ok(Some(view)) => axum::Json(view).into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, format!("no event {id}")),
        Err(error) => problem(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct Find {
    business_key: String,
}

async fn find_events(State(intake): State<Arc<Intake>>, headers: HeaderMap, Query(find): Query<Find>) -> Response {
    let tenant = match tenant_of(&intake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    match intake
        .store
        .events_by_business_key(&tenant.id, &find.business_key)
        .await
    {
        Ok(views) => axum::Json(json!({ "events": views })).into_response(),
        Err(error) => problem(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

/// Prometheus text, read from the store (so it survives restarts):
/// events in, deliveries by status (the queue depth is `pending`), attempts
/// by outcome (retries, failures), and attempt durations.
async fn metrics(State(intake): State<Arc<Intake>>) -> Response {
    let (counts, metrics) = match (intake.store.counts().await, intake.store.metrics().await) {
        (Ok(counts), Ok(metrics)) => (counts, metrics),
        (Err(error), _) | (_, Err(error)) => return problem(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    };
    let mut out = String::new();
    out.push_str("# HELP mapwright_events_total Events accepted, by tenant.\n# TYPE mapwright_events_total counter\n");
    for (tenant, n) in &metrics.events {
        out.push_str(&format!("mapwright_events_total{{tenant=\"{tenant}\"}} {n}\n"));
    }
    out.push_str(
        "# HELP mapwright_deliveries Deliveries by tenant, endpoint and status (pending is the queue depth).\n# TYPE mapwright_deliveries gauge\n",
    );
    for (tenant, endpoint, status, n) in counts {
        out.push_str(&format!(
            "mapwright_deliveries{{tenant=\"{tenant}\",endpoint=\"{endpoint}\",status=\"{status}\"}} {n}\n"
        ));
    }
    out.push_str(
        "# HELP mapwright_attempts_total Delivery attempts by outcome (delivered, retry, failed).\n# TYPE mapwright_attempts_total counter\n",
    );
    for (tenant, endpoint, outcome, n) in &metrics.attempts {
        out.push_str(&format!(
            "mapwright_attempts_total{{tenant=\"{tenant}\",endpoint=\"{endpoint}\",outcome=\"{outcome}\"}} {n}\n"
        ));
    }
    out.push_str(
        "# HELP mapwright_attempt_seconds Duration of delivery attempts.\n# TYPE mapwright_attempt_seconds histogram\n",
    );
    for d in &metrics.durations {
        let labels = format!("tenant=\"{}\",endpoint=\"{}\"", d.tenant, d.endpoint);
        for (bound, n) in &d.buckets {
            out.push_str(&format!(
                "mapwright_attempt_seconds_bucket{{{labels},le=\"{bound}\"}} {n}\n"
            ));
        }
        out.push_str(&format!(
            "mapwright_attempt_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n",
            d.count
        ));
        out.push_str(&format!(
            "mapwright_attempt_seconds_sum{{{labels}}} {}\n",
            d.sum_seconds
        ));
        out.push_str(&format!("mapwright_attempt_seconds_count{{{labels}}} {}\n", d.count));
    }
    ([("content-type", "text/plain; version=0.0.4")], out).into_response()
}

/// The intake API as an OpenAPI 3.1 document.
pub fn openapi() -> serde_json::Value {
    let error = json!({"$ref": "#/components/schemas/Error"});
    let bearer = json!([{"tenantToken": []}]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Mapwright intake",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Canonical events in, per tenant; each accepted durably before it is acknowledged, exactly once per idempotency key."
        },
        "components": {
            "securitySchemes": {"tenantToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "errors": {"type": "array", "items": {
                            "type": "object",
                            "required": ["path", "message"],
                            "properties": {"path": {"type": "string", "description": "0-based JSON path, e.g. $.data.lines[3].net_amount"}, "message": {"type": "string"}}
                        }},
                        "id": {"type": "string"}
                    }
                },
                "Event": {
                    "type": "object",
                    "required": ["type", "data"],
                    "additionalProperties": false,
                    "properties": {
                        "type": {"type": "string", "examples": ["invoice.created"]},
                        "data": {"type": "object", "description": "The canonical record the tenant's routes for this type take."},
                        "business_key": {"type": "string", "description": "A business reference to find the event by."}
                    }
                },
                "Accepted": {
                    "type": "object",
                    "required": ["id", "correlation_id"],
                    "properties": {"id": {"type": "string"}, "correlation_id": {"type": "string"}}
                },
                "EventView": {"type": "object", "description": "The event with each delivery and every attempt."}
            }
        },
        "paths": {
            "/v1/events": {
                "post": {
                    "summary": "Post a canonical event",
                    "security": bearer,
                    "parameters": [
                        {"name": "Idempotency-Key", "in": "header", "required": true, "schema": {"type": "string", "maxLength": 255}},
                        {"name": "X-Correlation-Id", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 128}}
                    ],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}}},
                    "responses": {
                        "202": {"description": "Stored (or, for a repeated key with the same body, the first answer again, with `Idempotent-Replayed: true`).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
                        "400": {"description": "Missing or bad headers, or a body that is not an event.", "content": {"application/json": {"schema": error}}},
                        "401": {"description": "Missing or unknown token.", "content": {"application/json": {"schema": error}}},
                        "409": {"description": "The key was used for another body.", "content": {"application/json": {"schema": error}}},
                        "413": {"description": "The body is larger than 4 MiB."},
                        "422": {"description": "No route for the type, or the data does not fit the canonical record (paths given).", "content": {"application/json": {"schema": error}}},
                        "503": {"description": "Not stored; retry with the same key.", "content": {"application/json": {"schema": error}}}
                    }
                },
                "get": {
                    "summary": "Find the tenant's events by business key",
                    "security": bearer,
                    "parameters": [{"name": "business_key", "in": "query", "required": true, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "The events, newest first.", "content": {"application/json": {"schema": {"type": "object", "properties": {"events": {"type": "array", "items": {"$ref": "#/components/schemas/EventView"}}}}}}}}
                }
            },
            "/v1/events/{id}": {
                "get": {
                    "summary": "One event with its deliveries and attempts (only the owning tenant)",
                    "security": bearer,
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "The event.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventView"}}}},
                        "404": {"description": "No such event for this tenant.", "content": {"application/json": {"schema": error}}}
                    }
                }
            },
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "Up."}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Text exposition format."}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1."}}}}
        }
    })
}
