//! A protocol client for the language server's tests: the server runs in
//! process on an in-memory pipe and is spoken to in real JSON-RPC frames.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // a failing test may panic

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Value>>>>;

/// A client connected to an in-process server.
pub struct Client {
    writer: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    pending: Pending,
    notifications: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    /// The server's cache folder (stdlib copies, explanations).
    pub cache: PathBuf,
    _cache_dir: TempDir,
}

/// A folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TempDir {
    /// A new empty folder.
    pub fn new(label: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("mapc-lsp-test-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary folder");
        TempDir(dir)
    }
}

impl Client {
    /// Starts a server and initializes it.
    pub async fn start() -> Client {
        let cache_dir = TempDir::new("cache");
        let cache = mapwright_lsp::convert::Cache {
            dir: cache_dir.0.clone(),
        };
        let (service, socket) = mapwright_lsp::service(cache);
        let (client_side, server_side) = tokio::io::duplex(1 << 22);
        let (server_read, server_write) = tokio::io::split(server_side);
        tokio::spawn(tower_lsp_server::Server::new(server_read, server_write, socket).serve(service));
        let (reader, writer) = tokio::io::split(client_side);
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        let (notify, notifications) = mpsc::unbounded_channel();
        let routes = pending.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(reader);
            loop {
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(value) = header.strip_prefix("Content-Length: ") {
                        length = value.parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).await.is_err() {
                    return;
                }
                let Ok(message) = serde_json::from_slice::<Value>(&body) else {
                    continue;
                };
                match (message.get("id").and_then(Value::as_i64), message.get("method")) {
                    (Some(id), None) => {
                        if let Some(sender) = routes.lock().unwrap().remove(&id) {
                            let _ = sender.send(message);
                        }
                    }
                    (_, Some(_)) => {
                        let _ = notify.send(message);
                    }
                    _ => {}
                }
            }
        });
        let mut client = Client {
            writer,
            pending,
            notifications,
            next_id: 1,
            cache: cache_dir.0.clone(),
            _cache_dir: cache_dir,
        };
        let init = client
            .request(
                "initialize",
                json!({"processId": null, "rootUri": null, "capabilities": {}}),
            )
            .await;
        assert!(init.get("result").is_some(), "initialize failed: {init}");
        client.notify("initialized", json!({})).await;
        client
    }

    async fn send(&mut self, message: Value) {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.writer.write_all(frame.as_bytes()).await.expect("write to server");
        self.writer.flush().await.expect("flush");
    }

    /// Sends a request and waits (at most 20 s) for its response.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let (sender, receiver) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, sender);
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        match tokio::time::timeout(Duration::from_secs(20), receiver).await {
            Ok(Ok(response)) => response,
            _ => panic!("no response to {method} within 20 s"),
        }
    }

    /// Sends a notification.
    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Opens a document.
    pub async fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "mapwright", "version": 1, "text": text}}),
        )
        .await;
    }

    /// The next diagnostics published for `uri` (at most 20 s).
    pub async fn diagnostics(&mut self, uri: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let message = tokio::time::timeout_at(deadline, self.notifications.recv())
                .await
                .unwrap_or_else(|_| panic!("no diagnostics for {uri} within 20 s"))
                .expect("server alive");
            if message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == uri {
                return message["params"].clone();
            }
        }
    }
}

/// The URI of a path.
pub fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The folder of the fixtures (a project: it holds `Mapwright.toml`).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}
