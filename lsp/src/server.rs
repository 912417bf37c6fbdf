//! The protocol: capabilities, and one handler per request that takes the
//! document from the document task, runs the compiler's editor feature off
//! the protocol task and converts its answer to the protocol's types.

use crate::analysis::{self, Analysis, Shared};
use crate::convert::{self, Cache};
use crate::documents::{self, Message, Snapshot};
use mapwright_compiler::ide::{actions, completion, hover, navigate, signature, symbols, tokens};
use mapwright_compiler::span::Span;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

/// The server's state.
pub struct Backend {
    client: Client,
    documents: mpsc::UnboundedSender<Message>,
    cache: Cache,
}

impl Backend {
    /// A server talking to `client`, with the cache folder at `cache`.
    pub fn new(client: Client, cache: Cache) -> Backend {
        if let Err(error) = cache.fill() {
            tracing::error!(
                dir = %cache.dir.display(),
                %error,
                "cannot write the standard library and code explanations to the cache; go to definition into the standard library will not open"
            );
        }
        let documents = documents::start(client.clone(), cache.clone());
        Backend {
            client,
            documents,
            cache,
        }
    }

    async fn snapshot(&self, uri: &Uri) -> Result<Snapshot> {
        let (reply, answer) = oneshot::channel();
        self.documents
            .send(Message::Snapshot {
                uri: uri.clone(),
                reply,
            })
            .map_err(|_| internal("the document task has stopped"))?;
        answer
            .await
            .map_err(|_| internal("the document task has stopped"))?
            .ok_or_else(|| Error::invalid_params(format!("{} is not open", uri.as_str())))
    }

    /// The analysis of the document as it is now (done here if the
    /// debounced one has not finished), or the last good one if this text
    /// cannot be analysed.
    async fn analysis(&self, snapshot: &Snapshot) -> Result<Shared> {
        if let Some(analysis) = &snapshot.analysis {
            return Ok(analysis.clone());
        }
        let source = snapshot.source();
        let others = snapshot.others.clone();
        match analysis::guarded(move || analysis::analyze(&source, &others)).await {
            Ok(analysis) => {
                let shared = Arc::new(std::sync::Mutex::new(analysis));
                let _ = self.documents.send(Message::Analysed {
                    uri: snapshot.uri.clone(),
                    version: snapshot.version,
                    analysis: shared.clone(),
                    publish: false,
                });
                Ok(shared)
            }
            Err(error) => {
                self.log_failure(&error).await;
                snapshot.last_good.clone().ok_or_else(|| internal(&error.to_string()))
            }
        }
    }

    async fn log_failure(&self, error: &analysis::RunError) {
        tracing::error!(%error, "request failed");
        self.client.log_message(MessageType::ERROR, error.to_string()).await;
    }

    /// Runs `work` off the protocol task ([`analysis::guarded`]); a panic or
    /// a timeout is logged and answered with an error.
    async fn guard<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        match analysis::guarded(work).await {
            Ok(value) => Ok(value),
            Err(error) => {
                self.log_failure(&error).await;
                Err(internal(&error.to_string()))
            }
        }
    }

    /// Runs `feature` over the document's analysis off the protocol task.
    async fn with_analysis<T: Send + 'static>(
        &self,
        uri: &Uri,
        feature: impl FnOnce(&Snapshot, &Analysis, &Cache) -> T + Send + 'static,
    ) -> Result<T> {
        let snapshot = self.snapshot(uri).await?;
        let shared = self.analysis(&snapshot).await?;
        let cache = self.cache.clone();
        self.guard(move || {
            let analysis = shared.lock().unwrap_or_else(|e| e.into_inner());
            feature(&snapshot, &analysis, &cache)
        })
        .await
    }
}

fn internal(message: &str) -> Error {
    let mut error = Error::internal_error();
    error.message = message.to_owned().into();
    error
}

/// The byte offset of `position` in the snapshot's text.
fn offset(snapshot: &Snapshot, position: Position) -> usize {
    convert::offset(&snapshot.lines, &snapshot.text, position)
}

fn range(snapshot: &Snapshot, span: Span) -> Range {
    convert::range(&snapshot.lines, &snapshot.text, span)
}

impl LanguageServer for Backend {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        let legend = SemanticTokensLegend {
            token_types: tokens::TOKEN_TYPES.iter().map(|t| SemanticTokenType::new(t)).collect(),
            token_modifiers: tokens::TOKEN_MODIFIERS
                .iter()
                .map(|m| SemanticTokenModifier::new(m))
                .collect(),
        };
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(PositionEncodingKind::UTF16),
                text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::INCREMENTAL)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![".".to_owned(), "{".to_owned()]),
                    ..Default::default()
                }),
                signature_help_provider: Some(SignatureHelpOptions {
                    trigger_characters: Some(vec!["(".to_owned(), ",".to_owned()]),
                    retrigger_characters: None,
                    work_done_progress_options: Default::default(),
                }),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: Default::default(),
                })),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
                    SemanticTokensOptions {
                        legend,
                        full: Some(SemanticTokensFullOptions::Bool(true)),
                        range: None,
                        work_done_progress_options: Default::default(),
                    },
                )),
                document_formatting_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                    code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                    ..Default::default()
                })),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "mapc-lsp".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        tracing::info!("mapc-lsp {} ready", env!("CARGO_PKG_VERSION"));
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let document = params.text_document;
        let _ = self.documents.send(Message::Open {
            uri: document.uri,
            text: document.text,
            version: document.version,
        });
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let _ = self.documents.send(Message::Change {
            uri: params.text_document.uri,
            version: params.text_document.version,
            changes: params.content_changes,
        });
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let _ = self.documents.send(Message::Close {
            uri: params.text_document.uri,
        });
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let at = params.text_document_position_params;
        self.with_analysis(&at.text_document.uri, move |snapshot, analysis, _| {
            let view = analysis.view()?;
            let found = hover::hover(&view, offset(snapshot, at.position))?;
            Some(Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: found.markdown,
                }),
                range: Some(range(snapshot, found.span)),
            })
        })
        .await
    }

    async fn goto_definition(&self, params: GotoDefinitionParams) -> Result<Option<GotoDefinitionResponse>> {
        let at = params.text_document_position_params;
        self.with_analysis(&at.text_document.uri, move |snapshot, analysis, cache| {
            let view = analysis.view()?;
            let target = navigate::goto_definition(&view, offset(snapshot, at.position))?;
            convert::location(&analysis.workspace, cache, target).map(GotoDefinitionResponse::Scalar)
        })
        .await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let at = params.text_document_position;
        let include = params.context.include_declaration;
        self.with_analysis(&at.text_document.uri, move |snapshot, analysis, cache| {
            let view = analysis.view()?;
            let found = navigate::references(&view, offset(snapshot, at.position), include);
            Some(
                found
                    .into_iter()
                    .filter_map(|l| convert::location(&analysis.workspace, cache, l))
                    .collect(),
            )
        })
        .await
    }

    async fn prepare_rename(&self, params: TextDocumentPositionParams) -> Result<Option<PrepareRenameResponse>> {
        let result = self
            .with_analysis(&params.text_document.uri, move |snapshot, analysis, _| {
                let view = analysis.view().ok_or_else(|| "this file has no module".to_owned())?;
                navigate::prepare_rename(&view, offset(snapshot, params.position)).map(|span| {
                    PrepareRenameResponse::RangeWithPlaceholder {
                        range: range(snapshot, span),
                        placeholder: snapshot.text.get(span.range()).unwrap_or("").to_owned(),
                    }
                })
            })
            .await?;
        result.map(Some).map_err(Error::invalid_params)
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let at = params.text_document_position;
        let new_name = params.new_name;
        let result = self
            .with_analysis(&at.text_document.uri, move |snapshot, analysis, _| {
                let view = analysis.view().ok_or_else(|| "this file has no module".to_owned())?;
                let spans = navigate::rename(&view, offset(snapshot, at.position), &new_name)?;
                let edits = spans
                    .into_iter()
                    .map(|span| TextEdit {
                        range: range(snapshot, span),
                        new_text: new_name.clone(),
                    })
                    .collect();
                Ok::<_, String>(WorkspaceEdit {
                    changes: Some(HashMap::from([(snapshot.uri.clone(), edits)])),
                    ..Default::default()
                })
            })
            .await?;
        result.map(Some).map_err(Error::invalid_params)
    }

    async fn document_symbol(&self, params: DocumentSymbolParams) -> Result<Option<DocumentSymbolResponse>> {
        self.with_analysis(&params.text_document.uri, move |snapshot, analysis, _| {
            let view = analysis.view()?;
            let outline = symbols::document_symbols(&view);
            Some(DocumentSymbolResponse::Nested(
                outline.iter().map(|s| document_symbol(snapshot, s)).collect(),
            ))
        })
        .await
    }

    async fn symbol(&self, params: WorkspaceSymbolParams) -> Result<Option<WorkspaceSymbolResponse>> {
        let (reply, answer) = oneshot::channel();
        self.documents
            .send(Message::All { reply })
            .map_err(|_| internal("the document task has stopped"))?;
        let all = answer.await.map_err(|_| internal("the document task has stopped"))?;
        let mut found: Vec<WorkspaceSymbol> = Vec::new();
        for snapshot in all {
            let shared = match self.analysis(&snapshot).await {
                Ok(shared) => shared,
                Err(_) => continue,
            };
            let cache = self.cache.clone();
            let query = params.query.clone();
            // A document whose symbols fail is logged and left out.
            let result = self
                .guard(move || {
                    let analysis = shared.lock().unwrap_or_else(|e| e.into_inner());
                    symbols::workspace_symbols(&analysis.workspace, &query, 200)
                        .into_iter()
                        .filter_map(|s| {
                            Some(WorkspaceSymbol {
                                name: s.name,
                                kind: symbol_kind(s.kind),
                                tags: None,
                                container_name: Some(s.container),
                                location: OneOf::Left(convert::location(&analysis.workspace, &cache, s.location)?),
                                data: None,
                            })
                        })
                        .collect::<Vec<_>>()
                })
                .await;
            if let Ok(symbols) = result {
                found.extend(symbols);
            }
        }
        found.sort_by(|a, b| (a.name.len(), &a.name).cmp(&(b.name.len(), &b.name)));
        found.dedup_by(|a, b| a.location == b.location);
        found.truncate(200);
        Ok(Some(WorkspaceSymbolResponse::Nested(found)))
    }

    async fn semantic_tokens_full(&self, params: SemanticTokensParams) -> Result<Option<SemanticTokensResult>> {
        self.with_analysis(&params.text_document.uri, move |snapshot, analysis, _| {
            let view = analysis.view()?;
            let found = tokens::semantic_tokens(&view);
            Some(SemanticTokensResult::Tokens(SemanticTokens {
                result_id: None,
                data: encode_tokens(snapshot, &found),
            }))
        })
        .await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let at = params.text_document_position;
        let snapshot = self.snapshot(&at.text_document.uri).await?;
        let cursor = offset(&snapshot, at.position);
        let mut source = snapshot.source();
        source.text = Arc::new(completion::with_marker(&source.text, cursor));
        let others = snapshot.others.clone();
        let items = self
            .guard(move || {
                let analysis = analysis::analyze(&source, &others);
                let view = analysis.view()?;
                let items = completion::complete(&view, cursor);
                Some(items.into_iter().map(completion_item).collect::<Vec<_>>())
            })
            .await?;
        Ok(items.map(CompletionResponse::Array))
    }

    async fn signature_help(&self, params: SignatureHelpParams) -> Result<Option<SignatureHelp>> {
        let at = params.text_document_position_params;
        self.with_analysis(&at.text_document.uri, move |snapshot, analysis, _| {
            let view = analysis.view()?;
            let help = signature::signature_help(&view, offset(snapshot, at.position))?;
            Some(SignatureHelp {
                signatures: help
                    .signatures
                    .into_iter()
                    .map(|s| SignatureInformation {
                        label: s.label,
                        documentation: s.documentation.map(|d| {
                            Documentation::MarkupContent(MarkupContent {
                                kind: MarkupKind::Markdown,
                                value: d,
                            })
                        }),
                        parameters: Some(
                            s.parameters
                                .into_iter()
                                .map(|p| ParameterInformation {
                                    label: ParameterLabel::Simple(p),
                                    documentation: None,
                                })
                                .collect(),
                        ),
                        active_parameter: None,
                    })
                    .collect(),
                active_signature: Some(help.active_signature as u32),
                active_parameter: Some(help.active_parameter as u32),
            })
        })
        .await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri.clone();
        self.with_analysis(&uri, move |snapshot, analysis, cache| {
            let view = analysis.view()?;
            let file = view.module.file;
            let wanted = convert::span(&snapshot.lines, &snapshot.text, params.range);
            let lsp_diagnostics = convert::diagnostics(&analysis.workspace, cache, file, &analysis.diagnostics);
            let found = actions::code_actions(&snapshot.text, &analysis.diagnostics, wanted);
            Some(
                found
                    .into_iter()
                    .map(|action| {
                        let edit = TextEdit {
                            range: range(snapshot, action.span),
                            new_text: action.replacement,
                        };
                        CodeActionOrCommand::CodeAction(CodeAction {
                            title: action.title,
                            kind: Some(CodeActionKind::QUICKFIX),
                            diagnostics: lsp_diagnostics.get(action.diagnostic).cloned().map(|d| vec![d]),
                            edit: Some(WorkspaceEdit {
                                changes: Some(HashMap::from([(snapshot.uri.clone(), vec![edit])])),
                                ..Default::default()
                            }),
                            is_preferred: Some(action.preferred),
                            ..Default::default()
                        })
                    })
                    .collect(),
            )
        })
        .await
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let snapshot = self.snapshot(&params.text_document.uri).await?;
        let text = snapshot.text.clone();
        match self.guard(move || mapwright_compiler::format::format(&text)).await? {
            Ok(formatted) if formatted == *snapshot.text => Ok(Some(Vec::new())),
            Ok(formatted) => Ok(Some(vec![TextEdit {
                range: range(&snapshot, Span::new(0, snapshot.text.len())),
                new_text: formatted,
            }])),
            Err(refusal) => Err(Error::invalid_params(refusal.to_string())),
        }
    }
}

fn symbol_kind(kind: symbols::SymbolKind) -> SymbolKind {
    match kind {
        symbols::SymbolKind::Module => SymbolKind::MODULE,
        symbols::SymbolKind::Record => SymbolKind::STRUCT,
        symbols::SymbolKind::Enum => SymbolKind::ENUM,
        symbols::SymbolKind::Field => SymbolKind::FIELD,
        symbols::SymbolKind::Variant => SymbolKind::ENUM_MEMBER,
        symbols::SymbolKind::Param => SymbolKind::CONSTANT,
        symbols::SymbolKind::Table => SymbolKind::OBJECT,
        symbols::SymbolKind::Mapping => SymbolKind::FUNCTION,
        symbols::SymbolKind::Function => SymbolKind::FUNCTION,
    }
}

#[allow(deprecated)]
fn document_symbol(snapshot: &Snapshot, symbol: &symbols::OutlineSymbol) -> DocumentSymbol {
    DocumentSymbol {
        name: symbol.name.clone(),
        detail: symbol.detail.clone(),
        kind: symbol_kind(symbol.kind),
        tags: None,
        deprecated: None,
        range: range(snapshot, symbol.span),
        selection_range: range(snapshot, symbol.name_span),
        children: (!symbol.children.is_empty())
            .then(|| symbol.children.iter().map(|c| document_symbol(snapshot, c)).collect()),
    }
}

fn completion_item(item: completion::CompletionItem) -> CompletionItem {
    let kind = match item.kind {
        completion::CompletionKind::Field => CompletionItemKind::FIELD,
        completion::CompletionKind::Variant => CompletionItemKind::ENUM_MEMBER,
        completion::CompletionKind::Variable => CompletionItemKind::VARIABLE,
        completion::CompletionKind::Param => CompletionItemKind::CONSTANT,
        completion::CompletionKind::Table => CompletionItemKind::STRUCT,
        completion::CompletionKind::Function => CompletionItemKind::FUNCTION,
        completion::CompletionKind::Builtin => CompletionItemKind::FUNCTION,
        completion::CompletionKind::Module => CompletionItemKind::MODULE,
        completion::CompletionKind::Type => CompletionItemKind::CLASS,
        completion::CompletionKind::Keyword => CompletionItemKind::KEYWORD,
    };
    CompletionItem {
        label: item.label,
        kind: Some(kind),
        detail: item.detail,
        documentation: item.documentation.map(|d| {
            Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value: d,
            })
        }),
        sort_text: Some(item.sort_text),
        insert_text: Some(item.insert_text),
        insert_text_format: Some(if item.snippet {
            InsertTextFormat::SNIPPET
        } else {
            InsertTextFormat::PLAIN_TEXT
        }),
        ..Default::default()
    }
}

/// The protocol's relative encoding of semantic tokens, one line each (a
/// block comment over several lines becomes one token per line).
fn encode_tokens(snapshot: &Snapshot, found: &[tokens::SemanticToken]) -> Vec<SemanticToken> {
    let text = snapshot.text.as_str();
    let mut out = Vec::with_capacity(found.len());
    let (mut last_line, mut last_start) = (0u32, 0u32);
    for token in found {
        let mut start = token.span.start as usize;
        let end = token.span.end as usize;
        while start < end {
            let line_end = text[start..end].find('\n').map_or(end, |i| start + i);
            let piece = Span::new(start, line_end);
            if !piece.is_empty() {
                let at = convert::position(&snapshot.lines, text, start);
                let length: usize = text[piece.range()].chars().map(char::len_utf16).sum();
                let delta_line = at.line - last_line;
                let delta_start = if delta_line == 0 {
                    at.character - last_start
                } else {
                    at.character
                };
                out.push(SemanticToken {
                    delta_line,
                    delta_start,
                    length: length as u32,
                    token_type: token.kind,
                    token_modifiers_bitset: token.modifiers,
                });
                last_line = at.line;
                last_start = at.character;
            }
            start = line_end + 1;
        }
    }
    out
}
