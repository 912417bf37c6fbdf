//! SOAP: the envelope (1.1 or 1.2) around a mapping's message, with the
//! per-request header (NetSuite's TokenPassport: account, consumer key,
//! token, a fresh nonce and timestamp, and the HMAC-SHA256 signature over
//! them; or a WS-Security UsernameToken for legacy services) and the
//! endpoint's fixed header entries, and the reading of answers: the Body's message for the response
//! mapping, or a fault turned into a reason and classified as retryable
//! or permanent.

use crate::response::Element;

/// SOAP 1.1's envelope namespace.
pub const SOAP_11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2's envelope namespace.
pub const SOAP_12: &str = "http://www.w3.org/2003/05/soap-envelope";

/// A SOAP version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// SOAP 1.1 (`text/xml`, `SOAPAction` header).
    V11,
    /// SOAP 1.2 (`application/soap+xml; action=…`).
    V12,
}

impl Version {
    /// The envelope namespace.
    pub fn namespace(self) -> &'static str {
        match self {
            Version::V11 => SOAP_11,
            Version::V12 => SOAP_12,
        }
    }

    /// The request's content type, carrying the action for 1.2.
    pub fn content_type(self, action: Option<&str>) -> String {
        match (self, action) {
            (Version::V11, _) => "text/xml; charset=utf-8".to_owned(),
            (Version::V12, Some(action)) => format!("application/soap+xml; charset=utf-8; action=\"{action}\""),
            (Version::V12, None) => "application/soap+xml; charset=utf-8".to_owned(),
        }
    }
}

/// NetSuite token-based authentication, resolved for one request.
#[derive(Clone, Debug)]
pub struct TokenPassport {
    /// The account id (`1234567`, `1234567_SB1`).
    pub account: String,
    /// The integration record's consumer key.
    pub consumer_key: String,
    /// The integration record's consumer secret.
    pub consumer_secret: String,
    /// The access token id.
    pub token_id: String,
    /// The access token secret.
    pub token_secret: String,
}

impl TokenPassport {
    /// The signature NetSuite expects: base64 of HMAC-SHA256 with key
    /// `consumer_secret&token_secret` over
    /// `account&consumer_key&token_id&nonce&timestamp`.
    pub fn signature(&self, nonce: &str, timestamp: i64) -> String {
        use base64::Engine;
        use hmac::{KeyInit, Mac};
        let key = format!("{}&{}", self.consumer_secret, self.token_secret);
        let base = format!(
            "{}&{}&{}&{nonce}&{timestamp}",
            self.account, self.consumer_key, self.token_id
        );
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()) else {
            return String::new();
        };
        mac.update(base.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// The `<tokenPassport>` header element for a request now, with a new
    /// nonce (`messages` is the platform messages namespace, `core` the
    /// platform core one, of the endpoint's SuiteTalk version).
    pub fn header(&self, messages: &str, core: &str, nonce: &str, timestamp: i64) -> String {
        let signature = self.signature(nonce, timestamp);
        format!(
            "<tokenPassport xmlns=\"{messages}\" xmlns:core=\"{core}\"><core:account>{}</core:account><core:consumerKey>{}</core:consumerKey><core:token>{}</core:token><core:nonce>{}</core:nonce><core:timestamp>{timestamp}</core:timestamp><core:signature algorithm=\"HMAC-SHA256\">{}</core:signature></tokenPassport>",
            escape(&self.account),
            escape(&self.consumer_key),
            escape(&self.token_id),
            escape(nonce),
            escape(&signature)
        )
    }
}

/// WS-Security UsernameToken (OASIS WSS 1.0) for legacy SOAP services:
/// the user, the password as text, a fresh nonce (base64) and the creation
/// time. Sent only to `https://` endpoints in production.
pub fn username_token(user: &str, password: &str, nonce: &[u8], created: &str) -> String {
    use base64::Engine;
    const WSSE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    const WSU: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
    const TEXT: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
    const BASE64: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";
    format!(
        "<wsse:Security xmlns:wsse=\"{WSSE}\" xmlns:wsu=\"{WSU}\"><wsse:UsernameToken><wsse:Username>{}</wsse:Username><wsse:Password Type=\"{TEXT}\">{}</wsse:Password><wsse:Nonce EncodingType=\"{BASE64}\">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>",
        escape(user),
        escape(password),
        base64::engine::general_purpose::STANDARD.encode(nonce)
    )
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// Wraps a mapping's XML message (its declaration dropped) in an envelope
/// with the given header entries.
pub fn envelope(version: Version, headers: &[String], message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    let body = match text.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, after)| after),
        None => &text,
    };
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"{}\">\n<soapenv:Header>",
        version.namespace()
    );
    for header in headers {
        out.push_str(header);
    }
    out.push_str("</soapenv:Header>\n<soapenv:Body>\n");
    out.push_str(body.trim());
    out.push_str("\n</soapenv:Body>\n</soapenv:Envelope>\n");
    out.into_bytes()
}

/// What a SOAP answer holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The Body's message.
    Message(Element),
    /// A fault.
    Fault(Fault),
}

/// A SOAP fault, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// `Server`/`Receiver`, `Client`/`Sender`, … (prefix dropped).
    pub code: String,
    /// The fault's text.
    pub reason: String,
    /// The detail's first element (NetSuite: `exceededRequestLimitFault`,
    /// `invalidCredentialsFault`, …) and its `code`, if any.
    pub detail: Option<(String, Option<String>)>,
    /// Whether trying again later may succeed.
    pub retryable: bool,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SOAP fault {}", self.code)?;
        if let Some((name, code)) = &self.detail {
            write!(f, " ({name}")?;
            if let Some(code) = code {
                write!(f, " {code}")?;
            }
            write!(f, ")")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// NetSuite's faults (platform.faults.xsd) that pass with time.
const RETRYABLE_FAULTS: &[&str] = &[
    "exceededRequestLimitFault",
    "exceededConcurrentRequestLimitFault",
    "exceededUsageLimitFault",
    "unexpectedErrorFault",
];

/// Reads a SOAP answer: the Body's first element, or its fault.
pub fn answer(root: &Element) -> Result<Answer, String> {
    if root.name != "Envelope" {
        return Err(format!("the answer is a <{}>, not a SOAP Envelope", root.name));
    }
    let body = root.child("Body").ok_or("the SOAP answer has no Body")?;
    let message = body.children.first().ok_or("the SOAP Body is empty")?;
    if message.name != "Fault" {
        return Ok(Answer::Message(message.clone()));
    }
    // 1.1: faultcode, faultstring, detail; 1.2: Code/Value, Reason/Text, Detail.
    let code = message
        .child("faultcode")
        .map(|c| c.text.trim().to_owned())
        .or_else(|| {
            message
                .child("Code")
                .and_then(|c| c.child("Value"))
                .map(|v| v.text.trim().to_owned())
        })
        .unwrap_or_default();
    let code = code
        .rsplit_once(':')
        .map_or(code.as_str(), |(_, local)| local)
        .to_owned();
    let reason = message
        .child("faultstring")
        .map(|c| c.text.trim().to_owned())
        .or_else(|| {
            message
                .child("Reason")
                .and_then(|r| r.child("Text"))
                .map(|t| t.text.trim().to_owned())
        })
        .unwrap_or_else(|| "(no reason given)".to_owned());
    let detail = message
        .child("detail")
        .or_else(|| message.child("Detail"))
        .and_then(|d| d.children.first())
        .map(|first| (first.name.clone(), first.find_text("code")));
    let retryable = match &detail {
        Some((name, _)) if RETRYABLE_FAULTS.contains(&name.as_str()) => true,
        Some((name, _)) if name.ends_with("Fault") => false,
        _ => matches!(code.as_str(), "Server" | "Receiver"),
    };
    Ok(Answer::Fault(Fault {
        code,
        reason,
        detail,
        retryable,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::parse_xml;

    #[test]
    fn token_passport_signature_matches_a_hand_computed_one() {
        // HMAC-SHA256("cs&ts", "123&ck&tk&nonce1&1700000000") in base64,
        // computed independently with Python's hmac module.
        let passport = TokenPassport {
            account: "123".into(),
            consumer_key: "ck".into(),
            consumer_secret: "cs".into(),
            token_id: "tk".into(),
            token_secret: "ts".into(),
        };
        assert_eq!(
            passport.signature("nonce1", 1_700_000_000),
            "SUEIglM+Jd0PEUeK4v3ku9h3y7sfyVbdAamjTRKPAHM="
        );
    }

    #[test]
    fn a_username_token_reads_back() {
        let header = username_token("RFC<1>", "p&ss", b"0123456789abcdef", "2026-11-28T12:00:00Z");
        let root = parse_xml(header.as_bytes()).unwrap_or_default();
        let token = root.child("UsernameToken").cloned().unwrap_or_default();
        assert_eq!(token.child("Username").map(|e| e.text.as_str()), Some("RFC<1>"));
        assert_eq!(token.child("Password").map(|e| e.text.as_str()), Some("p&ss"));
        assert_eq!(
            token.child("Nonce").map(|e| e.text.as_str()),
            Some("MDEyMzQ1Njc4OWFiY2RlZg==")
        );
        assert_eq!(
            token.child("Created").map(|e| e.text.as_str()),
            Some("2026-11-28T12:00:00Z")
        );
    }

    fn fault(xml: &str) -> Fault {
        match parse_xml(xml.as_bytes()).map(|root| answer(&root)) {
            Ok(Ok(Answer::Fault(fault))) => fault,
            other => panic!("not a fault: {other:?}"),
        }
    }

    #[test]
    fn faults_are_classified() {
        let limit = fault(
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server.userException</faultcode><faultstring>Only one request may be made against a session at a time</faultstring><detail><platformFaults:exceededConcurrentRequestLimitFault xmlns:platformFaults="urn:faults_2023_2.platform.webservices.netsuite.com"><platformFaults:code>WS_CONCUR_SESSION_DISALLWD</platformFaults:code><platformFaults:message>Only one request…</platformFaults:message></platformFaults:exceededConcurrentRequestLimitFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#,
        );
        assert!(limit.retryable);
        assert_eq!(
            limit.to_string(),
            "SOAP fault Server.userException (exceededConcurrentRequestLimitFault WS_CONCUR_SESSION_DISALLWD): Only one request may be made against a session at a time"
        );
        let credentials = fault(
            r#"<Envelope><Body><Fault><faultcode>Server.userException</faultcode><faultstring>Invalid login attempt.</faultstring><detail><invalidCredentialsFault><code>INVALID_LOGIN_ATTEMPT</code></invalidCredentialsFault></detail></Fault></Body></Envelope>"#,
        );
        assert!(!credentials.retryable, "a bad signature does not pass with time");
        let v12 = fault(
            r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason><env:Text xml:lang="en">Database busy</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>"#,
        );
        assert!(v12.retryable);
        assert_eq!(v12.reason, "Database busy");
        let client = fault(
            r#"<Envelope><Body><Fault><faultcode>Client</faultcode><faultstring>bad</faultstring></Fault></Body></Envelope>"#,
        );
        assert!(!client.retryable);
        let root = parse_xml(b"<html><body>502</body></html>").unwrap_or_default();
        assert!(answer(&root).unwrap_err().contains("not a SOAP Envelope"));
    }
}
