//! The open documents, owned by one task.
//!
//! Every notification that changes a document and every request that reads
//! one goes through this task's channel, so edits apply in the order the
//! editor sent them and a request sees the text as of the moment it
//! arrived. Analyses run elsewhere (debounced, on their own threads) and
//! report back here; an answer for a text that has changed since is
//! dropped. The last analysis that succeeded is kept, so a request still
//! gets an answer when the current text cannot be analysed.

use crate::analysis::{self, Shared, Source};
use crate::convert::{self, Cache};
use mapwright_compiler::span::LineIndex;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

/// How long typing must pause before a document is analysed for its
/// diagnostics.
pub const DEBOUNCE: Duration = Duration::from_millis(40);

/// A document as one request sees it.
#[derive(Clone)]
pub struct Snapshot {
    /// Its URI.
    pub uri: Uri,
    /// Its path.
    pub path: PathBuf,
    /// Its text.
    pub text: Arc<String>,
    /// Line starts of the text.
    pub lines: Arc<LineIndex>,
    /// The editor's version.
    pub version: i32,
    /// The analysis of exactly this text, once done.
    pub analysis: Option<Shared>,
    /// The last analysis that succeeded (maybe of older text).
    pub last_good: Option<Shared>,
    /// The other open documents' text (laid over the disk when analysing).
    pub others: Vec<Source>,
}

impl Snapshot {
    /// The document as a source to analyse.
    pub fn source(&self) -> Source {
        Source {
            path: self.path.clone(),
            text: self.text.clone(),
        }
    }
}

/// What the document task is asked to do.
pub enum Message {
    /// `textDocument/didOpen`.
    Open {
        /// The document.
        uri: Uri,
        /// Its text.
        text: String,
        /// Its version.
        version: i32,
    },
    /// `textDocument/didChange`.
    Change {
        /// The document.
        uri: Uri,
        /// Its new version.
        version: i32,
        /// The edits, in order.
        changes: Vec<TextDocumentContentChangeEvent>,
    },
    /// `textDocument/didClose`.
    Close {
        /// The document.
        uri: Uri,
    },
    /// A request wants the document as it is now.
    Snapshot {
        /// The document.
        uri: Uri,
        /// Where to send it (`None` when it is not open).
        reply: oneshot::Sender<Option<Snapshot>>,
    },
    /// A request wants every open document.
    All {
        /// Where to send them.
        reply: oneshot::Sender<Vec<Snapshot>>,
    },
    /// An analysis finished.
    Analysed {
        /// The document.
        uri: Uri,
        /// The version analysed.
        version: i32,
        /// The analysis.
        analysis: Shared,
        /// Whether to publish its diagnostics.
        publish: bool,
    },
}

struct Document {
    path: PathBuf,
    text: Arc<String>,
    lines: Arc<LineIndex>,
    version: i32,
    analysis: Option<Shared>,
    last_good: Option<Shared>,
}

/// Starts the document task; returns its channel.
pub fn start(client: Client, cache: Cache) -> mpsc::UnboundedSender<Message> {
    let (sender, mut receiver) = mpsc::unbounded_channel::<Message>();
    let own = sender.clone();
    tokio::spawn(async move {
        let mut documents: HashMap<Uri, Document> = HashMap::new();
        while let Some(message) = receiver.recv().await {
            match message {
                Message::Open { uri, text, version } => {
                    let Some(path) = convert::path_of_uri(&uri) else {
                        tracing::warn!(uri = uri.as_str(), "not a file: URI; the document is not analysed");
                        continue;
                    };
                    let lines = Arc::new(LineIndex::new(&text));
                    documents.insert(
                        uri.clone(),
                        Document {
                            path,
                            text: Arc::new(text),
                            lines,
                            version,
                            analysis: None,
                            last_good: None,
                        },
                    );
                    schedule(&documents, &uri, &own, true);
                }
                Message::Change { uri, version, changes } => {
                    let Some(document) = documents.get_mut(&uri) else {
                        tracing::warn!(uri = uri.as_str(), "a change to a document that is not open");
                        continue;
                    };
                    let mut text = document.text.as_ref().clone();
                    for change in changes {
                        match change.range {
                            Some(range) => {
                                let lines = LineIndex::new(&text);
                                let span = convert::span(&lines, &text, range);
                                text.replace_range(span.range(), &change.text);
                            }
                            None => text = change.text,
                        }
                    }
                    document.lines = Arc::new(LineIndex::new(&text));
                    document.text = Arc::new(text);
                    document.version = version;
                    document.analysis = None;
                    let schema = document.path.extension().is_some_and(|e| e == "schema");
                    schedule(&documents, &uri, &own, true);
                    // A schema's change can change every open file that uses it.
                    if schema {
                        let others: Vec<Uri> = documents.keys().filter(|u| **u != uri).cloned().collect();
                        for other in others {
                            if let Some(document) = documents.get_mut(&other) {
                                document.analysis = None;
                            }
                            schedule(&documents, &other, &own, true);
                        }
                    }
                }
                Message::Close { uri } => {
                    documents.remove(&uri);
                    let client = client.clone();
                    tokio::spawn(async move { client.publish_diagnostics(uri, Vec::new(), None).await });
                }
                Message::Snapshot { uri, reply } => {
                    let _ = reply.send(snapshot(&documents, &uri));
                }
                Message::All { reply } => {
                    let all = documents.keys().filter_map(|uri| snapshot(&documents, uri)).collect();
                    let _ = reply.send(all);
                }
                Message::Analysed {
                    uri,
                    version,
                    analysis,
                    publish,
                } => {
                    let Some(document) = documents.get_mut(&uri) else {
                        continue;
                    };
                    if document.version != version {
                        continue;
                    }
                    document.analysis = Some(analysis.clone());
                    document.last_good = Some(analysis.clone());
                    if publish {
                        let client = client.clone();
                        let cache = cache.clone();
                        tokio::spawn(async move {
                            let diagnostics = {
                                let analysis = analysis.lock().unwrap_or_else(|e| e.into_inner());
                                analysis
                                    .module
                                    .and_then(|m| analysis.workspace.module(m))
                                    .map(|info| {
                                        convert::diagnostics(
                                            &analysis.workspace,
                                            &cache,
                                            info.file,
                                            &analysis.diagnostics,
                                        )
                                    })
                                    .unwrap_or_default()
                            };
                            client.publish_diagnostics(uri, diagnostics, Some(version)).await;
                        });
                    }
                }
            }
        }
    });
    sender
}

fn snapshot(documents: &HashMap<Uri, Document>, uri: &Uri) -> Option<Snapshot> {
    let document = documents.get(uri)?;
    let others = documents
        .iter()
        .filter(|(other, _)| *other != uri)
        .map(|(_, d)| Source {
            path: d.path.clone(),
            text: d.text.clone(),
        })
        .collect();
    Some(Snapshot {
        uri: uri.clone(),
        path: document.path.clone(),
        text: document.text.clone(),
        lines: document.lines.clone(),
        version: document.version,
        analysis: document.analysis.clone(),
        last_good: document.last_good.clone(),
        others,
    })
}

/// Analyses a document after the debounce, unless it changed meanwhile.
fn schedule(documents: &HashMap<Uri, Document>, uri: &Uri, own: &mpsc::UnboundedSender<Message>, publish: bool) {
    let Some(snapshot) = snapshot(documents, uri) else {
        return;
    };
    let own = own.clone();
    tokio::spawn(async move {
        tokio::time::sleep(DEBOUNCE).await;
        // Still the current text? Ask the owner (the answer is in order).
        let (reply, answer) = oneshot::channel();
        if own
            .send(Message::Snapshot {
                uri: snapshot.uri.clone(),
                reply,
            })
            .is_err()
        {
            return;
        }
        match answer.await {
            Ok(Some(now)) if now.version == snapshot.version && Arc::ptr_eq(&now.text, &snapshot.text) => {}
            _ => return,
        }
        let source = snapshot.source();
        let others = snapshot.others.clone();
        match analysis::guarded(move || analysis::analyze(&source, &others)).await {
            Ok(analysis) => {
                let _ = own.send(Message::Analysed {
                    uri: snapshot.uri,
                    version: snapshot.version,
                    analysis: Arc::new(std::sync::Mutex::new(analysis)),
                    publish,
                });
            }
            Err(error) => tracing::error!(uri = snapshot.uri.as_str(), %error, "analysis failed"),
        }
    });
}
