//! A simulated NetSuite SuiteTalk endpoint for the demo and the tests. It
//! checks what it receives as NetSuite would: a SOAP 1.1 envelope, the
//! `SOAPAction`, a TokenPassport whose HMAC-SHA256 signature verifies with
//! the integration's secrets, a fresh nonce and a timestamp within five
//! minutes. It answers `add` and `upsert` of records: an upsert with a
//! known `externalId` updates (no second record), an add always creates.
//! Refusals come as NetSuite sends them: HTTP 200 with
//! `isSuccess="false"` (unknown vendor), or a SOAP fault (bad signature,
//! concurrency limit). Each message received is kept, so tests can
//! validate it against the SuiteTalk XSDs; and it can answer with hostile
//! responses after writing (huge, garbage, deeply nested, slow).

use crate::response::{Element, parse_xml};
use crate::soap::TokenPassport;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How the simulated NetSuite answers after it has written the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hostile {
    /// A proper answer.
    None,
    /// Ten megabytes of XML.
    Huge,
    /// Bytes that are not XML.
    Garbage,
    /// Elements nested ten thousand deep.
    Deep,
    /// A DOCTYPE declaring nested entities ("billion laughs").
    Entities,
    /// Headers now, the body never (the client's timeout ends it).
    Stall,
}

/// A simulated NetSuite account.
pub struct SimNetSuite {
    /// The account id.
    pub account: String,
    /// The credentials it accepts.
    pub passport: TokenPassport,
    /// Vendors (internal ids) it knows; others are refused with
    /// `isSuccess="false"` (`None`: all).
    pub vendors: Option<HashSet<String>>,
    /// Answer every n-th write with a concurrency-limit fault (0: never).
    pub fault_every: u64,
    /// How to answer after writing.
    pub hostile: Mutex<Hostile>,
    /// Requests received.
    pub received: AtomicU64,
    /// Writes that updated an existing record (upsert of a known externalId).
    pub updates: AtomicU64,
    /// Requests refused for authentication.
    pub auth_failures: AtomicU64,
    /// Records by internal id: (record type, externalId).
    pub records: Mutex<HashMap<String, (String, Option<String>)>>,
    /// Each accepted message (the Body's content), for XSD checks.
    pub messages: Mutex<Vec<String>>,
    by_external: Mutex<HashMap<String, String>>,
    nonces: Mutex<HashSet<String>>,
}

impl SimNetSuite {
    /// A simulated account accepting `passport`.
    pub fn new(passport: TokenPassport, vendors: Option<HashSet<String>>, fault_every: u64) -> Arc<SimNetSuite> {
        Arc::new(SimNetSuite {
            account: passport.account.clone(),
            passport,
            vendors,
            fault_every,
            hostile: Mutex::new(Hostile::None),
            received: AtomicU64::new(0),
            updates: AtomicU64::new(0),
            auth_failures: AtomicU64::new(0),
            records: Mutex::new(HashMap::new()),
            messages: Mutex::new(Vec::new()),
            by_external: Mutex::new(HashMap::new()),
            nonces: Mutex::new(HashSet::new()),
        })
    }

    /// Records held.
    pub fn documents(&self) -> usize {
        self.records.lock().map_or(0, |r| r.len())
    }

    /// Sets how it answers after writing.
    pub fn set_hostile(&self, mode: Hostile) {
        if let Ok(mut hostile) = self.hostile.lock() {
            *hostile = mode;
        }
    }

    /// Serves on `127.0.0.1` at a free port; returns the SOAP endpoint's URL.
    pub async fn start(self: &Arc<Self>) -> std::io::Result<String> {
        let base = crate::sim::serve(Router::new().fallback(handle).with_state(self.clone())).await?;
        Ok(format!("{base}/services/NetSuitePort_2023_2"))
    }

    /// Checks a TokenPassport: the account, the keys, the signature, the
    /// time and that the nonce is new.
    fn verify(&self, passport: &Element) -> Result<(), String> {
        let text = |name: &str| passport.child(name).map(|e| e.text.trim().to_owned());
        let account = text("account").ok_or("no account")?;
        let consumer_key = text("consumerKey").ok_or("no consumerKey")?;
        let token = text("token").ok_or("no token")?;
        let nonce = text("nonce").ok_or("no nonce")?;
        let timestamp: i64 = text("timestamp").and_then(|t| t.parse().ok()).ok_or("no timestamp")?;
        let signature = passport.child("signature").ok_or("no signature")?;
        if signature.attribute("algorithm") != Some("HMAC-SHA256") {
            return Err("the signature algorithm must be HMAC-SHA256".to_owned());
        }
        if account != self.passport.account
            || consumer_key != self.passport.consumer_key
            || token != self.passport.token_id
        {
            return Err("unknown account, consumer or token".to_owned());
        }
        if nonce.len() < 6 {
            return Err("the nonce is too short".to_owned());
        }
        let now = crate::store::now_ms() / 1000;
        if (now - timestamp).abs() > 300 {
            return Err("the timestamp is more than five minutes off".to_owned());
        }
        if self.passport.signature(&nonce, timestamp) != signature.text.trim() {
            return Err("the signature does not verify".to_owned());
        }
        let fresh = self.nonces.lock().map(|mut n| n.insert(nonce)).unwrap_or(false);
        if !fresh {
            return Err("the nonce was used before".to_owned());
        }
        Ok(())
    }
}

const SOAP_11: &str = "http://schemas.xmlsoap.org/soap/envelope/";

fn fault(detail: &str, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{SOAP_11}\"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server.userException</faultcode><faultstring>{message}</faultstring><detail><platformFaults:{detail} xmlns:platformFaults=\"urn:faults_2023_2.platform.webservices.netsuite.com\"><platformFaults:code>{code}</platformFaults:code><platformFaults:message>{message}</platformFaults:message></platformFaults:{detail}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

const CORE: &str = "urn:core_2023_2.platform.webservices.netsuite.com";

fn write_response(
    operation: &str,
    success: bool,
    detail: Option<(&str, &str)>,
    base: Option<(&str, Option<&str>, &str)>,
) -> String {
    let escape = |t: &str| quick_xml::escape::escape(t).into_owned();
    let status = match detail {
        None => format!("<platformCore:status xmlns:platformCore=\"{CORE}\" isSuccess=\"{success}\"/>"),
        Some((code, message)) => format!(
            "<platformCore:status xmlns:platformCore=\"{CORE}\" isSuccess=\"{success}\"><platformCore:statusDetail type=\"ERROR\"><platformCore:code>{}</platformCore:code><platformCore:message>{}</platformCore:message></platformCore:statusDetail></platformCore:status>",
            escape(code),
            escape(message)
        ),
    };
    let base = match base {
        None => String::new(),
        Some((internal, external, kind)) => format!(
            "<baseRef xmlns:platformCore=\"{CORE}\" xsi:type=\"platformCore:RecordRef\" internalId=\"{internal}\"{} type=\"{kind}\"/>",
            external
                .map(|e| format!(" externalId=\"{}\"", escape(e)))
                .unwrap_or_default()
        ),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{SOAP_11}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Header><platformMsgs:documentInfo xmlns:platformMsgs=\"urn:messages_2023_2.platform.webservices.netsuite.com\"><platformMsgs:nsId>WEBSERVICES_SIM</platformMsgs:nsId></platformMsgs:documentInfo></soapenv:Header><soapenv:Body><{operation}Response xmlns=\"urn:messages_2023_2.platform.webservices.netsuite.com\"><writeResponse>{status}{base}</writeResponse></{operation}Response></soapenv:Body></soapenv:Envelope>"
    )
}

async fn handle(State(sim): State<Arc<SimNetSuite>>, headers: HeaderMap, body: Bytes) -> Response {
    let n = sim.received.fetch_add(1, Ordering::SeqCst) + 1;
    // SOAP 1.1 names the action in `SOAPAction`, 1.2 in the content type.
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let action = match headers.get("soapaction").and_then(|v| v.to_str().ok()) {
        Some(action) => action.trim_matches('"').to_owned(),
        None => content_type
            .split(';')
            .find_map(|part| part.trim().strip_prefix("action="))
            .unwrap_or("")
            .trim_matches('"')
            .to_owned(),
    };
    let soap12 = content_type.starts_with("application/soap+xml");
    if !soap12 && !content_type.starts_with("text/xml") {
        return fault(
            "unexpectedErrorFault",
            "INVALID_CONTENT_TYPE",
            "SOAP needs text/xml or application/soap+xml",
        );
    }
    let Ok(envelope) = parse_xml(&body) else {
        return fault(
            "unexpectedErrorFault",
            "INVALID_XML",
            "the request is not well-formed XML",
        );
    };
    let namespace = if soap12 { crate::soap::SOAP_12 } else { SOAP_11 };
    if !String::from_utf8_lossy(&body).contains(namespace) {
        return fault(
            "unexpectedErrorFault",
            "VERSION_MISMATCH",
            "the envelope's namespace does not match the content type",
        );
    }
    let (Some(header), Some(message)) = (
        envelope.child("Header"),
        envelope.child("Body").and_then(|b| b.children.first()),
    ) else {
        return fault(
            "unexpectedErrorFault",
            "INVALID_REQUEST",
            "a SOAP envelope with a Header and a Body is needed",
        );
    };
    let Some(passport) = header.child("tokenPassport") else {
        sim.auth_failures.fetch_add(1, Ordering::SeqCst);
        return fault(
            "invalidCredentialsFault",
            "USER_ERROR",
            "Token-based authentication is required",
        );
    };
    if let Err(why) = sim.verify(passport) {
        sim.auth_failures.fetch_add(1, Ordering::SeqCst);
        return fault(
            "invalidCredentialsFault",
            "INVALID_LOGIN_ATTEMPT",
            &format!("Invalid login attempt: {why}"),
        );
    }
    let operation = message.name.clone();
    if action != operation {
        return fault(
            "unexpectedErrorFault",
            "INVALID_SOAPACTION",
            &format!("SOAPAction {action:?} does not match the <{operation}> message"),
        );
    }
    if sim.fault_every > 0 && n % sim.fault_every == 0 {
        return fault(
            "exceededConcurrentRequestLimitFault",
            "WS_CONCUR_SESSION_DISALLWD",
            "Only one request may be made against a session at a time",
        );
    }
    if operation != "add" && operation != "upsert" {
        return fault(
            "unexpectedErrorFault",
            "UNSUPPORTED",
            &format!("{operation} is not simulated"),
        );
    }
    let Some(record) = message.child("record") else {
        return write_response(&operation, false, Some(("INVALID_RCRD", "no record")), None).into_soap();
    };
    let kind = record
        .attribute("type")
        .map(|t| t.rsplit_once(':').map_or(t, |(_, l)| l))
        .map(|t| {
            let mut chars = t.chars();
            chars
                .next()
                .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .unwrap_or_else(|| "record".to_owned());
    let external = record.attribute("externalId").map(str::to_owned);
    if operation == "upsert" && external.is_none() {
        return write_response(
            &operation,
            false,
            Some(("INVALID_KEY_OR_REF", "An upsert needs the record's externalId.")),
            None,
        )
        .into_soap();
    }
    if let Some(vendors) = &sim.vendors {
        let vendor = record
            .child("entity")
            .and_then(|e| e.attribute("internalId"))
            .unwrap_or("");
        if !vendors.contains(vendor) {
            return write_response(
                &operation,
                false,
                Some(("INVALID_KEY_OR_REF", &format!("Invalid entity reference key {vendor}."))),
                None,
            )
            .into_soap();
        }
    }
    // The message as received (the Body's content), for XSD checks.
    let text = String::from_utf8_lossy(&body);
    if let (Some(start), Some(end)) = (
        text.find(&format!("<{operation}")),
        text.rfind(&format!("</{operation}>")),
    ) {
        let content = &text[start..end + operation.len() + 3];
        if let Ok(mut messages) = sim.messages.lock() {
            messages.push(content.to_owned());
        }
    }
    let internal = {
        let (Ok(mut records), Ok(mut by_external)) = (sim.records.lock(), sim.by_external.lock()) else {
            return fault("unexpectedErrorFault", "UNEXPECTED_ERROR", "poisoned");
        };
        let existing = match (&operation[..], &external) {
            ("upsert", Some(external)) => by_external.get(external).cloned(),
            _ => None,
        };
        match existing {
            Some(internal) => {
                sim.updates.fetch_add(1, Ordering::SeqCst);
                internal
            }
            None => {
                let internal = (8800 + records.len() + 1).to_string();
                records.insert(internal.clone(), (kind.clone(), external.clone()));
                if let Some(external) = &external {
                    by_external.insert(external.clone(), internal.clone());
                }
                internal
            }
        }
    };
    let hostile = sim.hostile.lock().map_or(Hostile::None, |h| *h);
    let xml = |text: String| (StatusCode::OK, [("content-type", "text/xml; charset=utf-8")], text).into_response();
    match hostile {
        Hostile::None => write_response(&operation, true, None, Some((&internal, external.as_deref(), &kind))).into_soap(),
        Hostile::Huge => xml(format!("<a>{}</a>", "<b>x</b>".repeat(10 * 1024 * 1024 / 8))),
        Hostile::Garbage => (StatusCode::OK, [("content-type", "text/xml")], vec![0xffu8, 0xfe, b'<', 0, 1, 2]).into_response(),
        Hostile::Deep => xml("<a>".repeat(10_000) + &"</a>".repeat(10_000)),
        Hostile::Entities => xml(
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]><lolz>&lol3;</lolz>".to_owned(),
        ),
        Hostile::Stall => {
            let stream = futures_stall();
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "text/xml")
                .body(Body::from_stream(stream))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

/// A body that sends one chunk and then nothing, ever.
fn futures_stall() -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct Stall(bool);
    impl futures_core::Stream for Stall {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            if self.0 {
                std::task::Poll::Pending
            } else {
                self.0 = true;
                std::task::Poll::Ready(Some(Ok(Bytes::from_static(
                    b"<?xml version=\"1.0\"?><soapenv:Envelope",
                ))))
            }
        }
    }
    Stall(false)
}

trait IntoSoap {
    fn into_soap(self) -> Response;
}

impl IntoSoap for String {
    fn into_soap(self) -> Response {
        (StatusCode::OK, [("content-type", "text/xml; charset=utf-8")], self).into_response()
    }
}
