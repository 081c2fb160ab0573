//! `tdc lsp`: the Language Server Protocol over stdin and stdout, for editors.
//!
//! Documents are synchronised whole (`TextDocumentSyncKind::FULL`). A document is checked
//! when it is opened, and again once its changes have paused for [`DEBOUNCE`]; requests
//! (completion, hover, signature help, definition, symbols) read the latest text at once.
//! Checking compiles only: no script runs and no dialer is reached.

mod analysis;
mod completion;
mod hover;
mod symbols;
mod text;
mod transport;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument,
    Notification as NotificationKind, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, GotoDefinition, HoverRequest, Request as RequestKind,
    SignatureHelpRequest,
};
use lsp_types::{
    CompletionOptions, Diagnostic, DiagnosticSeverity, HoverProviderCapability, OneOf,
    PublishDiagnosticsParams, ServerCapabilities, SignatureHelpOptions, TextDocumentPositionParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};

use analysis::{check_source, Severity, Tools};
use text::Document;

/// How long typing must pause before a changed document is checked again.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(60);

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), ":".into(), "\"".into()]),
            ..CompletionOptions::default()
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        signature_help_provider: Some(SignatureHelpOptions {
            trigger_characters: Some(vec!["(".into(), ",".into()]),
            ..SignatureHelpOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// Serves one client on stdin and stdout until it says `exit` or closes the stream.
pub(crate) fn serve() -> Result<(), String> {
    let (connection, io_threads) = transport::stdio();
    let capabilities = serde_json::to_value(capabilities()).map_err(|e| format!("tdc lsp: {e}"))?;
    if let Err(error) = connection.initialize(capabilities) {
        // A stream that is not the protocol ends the reader first: its error says why.
        drop(connection);
        return Err(match io_threads.join() {
            Err(read) => unreadable(&read),
            Ok(()) if error.channel_is_disconnected() => {
                "tdc lsp: the client closed the connection before initializing it".to_string()
            }
            Ok(()) => format!("tdc lsp: {error}"),
        });
    }
    let mut server = Server {
        connection: &connection,
        tools: Arc::new(Tools::new()),
        documents: HashMap::new(),
        changed: BTreeSet::new(),
        due: None,
    };
    let served = server.run();
    drop(connection);
    served?;
    io_threads.join().map_err(|e| unreadable(&e))
}

/// The stream from the client is not the protocol; the error quotes what came, its control
/// characters made visible.
fn unreadable(error: &std::io::Error) -> String {
    let error = crate::terminal::sanitize::for_terminal(&error.to_string()).into_owned();
    format!("tdc lsp: cannot read the client's messages: {error}")
}

struct Server<'a> {
    connection: &'a Connection,
    tools: Arc<Tools>,
    documents: HashMap<String, Document>,
    /// Documents changed since they were last checked.
    changed: BTreeSet<String>,
    /// When the changed documents are checked, unless another change comes first.
    due: Option<Instant>,
}

impl Server<'_> {
    fn run(&mut self) -> Result<(), String> {
        loop {
            let message = match self.due {
                Some(due) => match self.connection.receiver.recv_deadline(due) {
                    Ok(message) => message,
                    Err(timeout) if timeout.is_timeout() => {
                        self.check_changed();
                        continue;
                    }
                    Err(_) => return Ok(()),
                },
                None => match self.connection.receiver.recv() {
                    Ok(message) => message,
                    Err(_) => return Ok(()),
                },
            };
            match message {
                Message::Request(request) => {
                    let shutdown = self
                        .connection
                        .handle_shutdown(&request)
                        .map_err(|e| format!("tdc lsp: {e}"))?;
                    if shutdown {
                        return Ok(());
                    }
                    let response = self.respond(request);
                    self.send(response.into());
                }
                Message::Notification(notification) => self.notified(notification),
                Message::Response(_) => {}
            }
        }
    }

    fn send(&self, message: Message) {
        // The client has gone when this fails; the loop ends on the closed input.
        let _ = self.connection.sender.send(message);
    }

    fn notified(&mut self, notification: Notification) {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(params) = notification
                    .extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                {
                    let key = params.text_document.uri.as_str().to_string();
                    let document =
                        Document::new(params.text_document.uri, params.text_document.text);
                    self.documents.insert(key.clone(), document);
                    self.changed.remove(&key);
                    self.check(&key);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(params) = notification.extract::<lsp_types::DidChangeTextDocumentParams>(
                    DidChangeTextDocument::METHOD,
                ) {
                    // Whole-document sync: the last change holds the whole text.
                    if let Some(change) = params.content_changes.into_iter().last() {
                        let key = params.text_document.uri.as_str().to_string();
                        let document = Document::new(params.text_document.uri, change.text);
                        self.documents.insert(key.clone(), document);
                        self.changed.insert(key);
                        self.due = Some(Instant::now() + DEBOUNCE);
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(params) = notification
                    .extract::<lsp_types::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                {
                    let key = params.text_document.uri.as_str().to_string();
                    self.documents.remove(&key);
                    self.changed.remove(&key);
                    self.publish(params.text_document.uri, Vec::new());
                }
            }
            _ => {}
        }
    }

    fn check_changed(&mut self) {
        self.due = None;
        for key in std::mem::take(&mut self.changed) {
            self.check(&key);
        }
    }

    fn check(&self, key: &str) {
        let Some(document) = self.documents.get(key) else {
            return;
        };
        let name = document.name();
        let (findings, _) = check_source(&self.tools, &document.text, &document.origin(&name));
        let diagnostics = findings
            .into_iter()
            .map(|finding| Diagnostic {
                range: document.range(finding.line, finding.column, finding.width),
                severity: Some(match finding.severity {
                    Severity::Error => DiagnosticSeverity::ERROR,
                    Severity::Warning => DiagnosticSeverity::WARNING,
                }),
                source: Some("tdc".into()),
                message: finding.message,
                ..Diagnostic::default()
            })
            .collect();
        self.publish(document.uri.clone(), diagnostics);
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<Diagnostic>) {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        };
        self.send(Notification::new(PublishDiagnostics::METHOD.into(), params).into());
    }

    /// The document a request is about, and what its script declares.
    fn document(&self, uri: &Uri) -> Option<(&Document, analysis::Outline)> {
        let document = self.documents.get(uri.as_str())?;
        let name = document.name();
        let outline = analysis::outline(&self.tools, &document.text, &document.origin(&name));
        Some((document, outline))
    }

    fn respond(&self, request: Request) -> Response {
        let id = request.id.clone();
        let answer = match request.method.as_str() {
            Completion::METHOD => self.answer::<Completion>(request, |s, p| {
                let at = &p.text_document_position;
                let (document, outline) = s.document(&at.text_document.uri)?;
                let items = completion::complete(&s.tools, document, &outline, at.position);
                Some(lsp_types::CompletionResponse::Array(items))
            }),
            HoverRequest::METHOD => self.answer::<HoverRequest>(request, |s, p| {
                let at = &p.text_document_position_params;
                let (document, outline) = s.document(&at.text_document.uri)?;
                hover::hover(&s.tools, document, &outline, at.position)
            }),
            SignatureHelpRequest::METHOD => self.answer::<SignatureHelpRequest>(request, |s, p| {
                let at = &p.text_document_position_params;
                let (document, outline) = s.document(&at.text_document.uri)?;
                hover::signature_help(&s.tools, document, &outline, at.position)
            }),
            GotoDefinition::METHOD => self.answer::<GotoDefinition>(request, |s, p| {
                let TextDocumentPositionParams {
                    text_document,
                    position,
                } = &p.text_document_position_params;
                let (document, outline) = s.document(&text_document.uri)?;
                symbols::definition(document, &outline, *position)
                    .map(lsp_types::GotoDefinitionResponse::Scalar)
            }),
            DocumentSymbolRequest::METHOD => {
                self.answer::<DocumentSymbolRequest>(request, |s, p| {
                    let (document, outline) = s.document(&p.text_document.uri)?;
                    Some(lsp_types::DocumentSymbolResponse::Nested(
                        symbols::document_symbols(document, &outline),
                    ))
                })
            }
            other => Err((
                ErrorCode::MethodNotFound,
                format!("tdc lsp does not answer {other}"),
            )),
        };
        match answer {
            Ok(result) => Response::new_ok(id, result),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        }
    }

    fn answer<R: RequestKind>(
        &self,
        request: Request,
        work: impl FnOnce(&Self, R::Params) -> R::Result,
    ) -> Result<serde_json::Value, (ErrorCode, String)> {
        let (_, params) = request
            .extract::<R::Params>(R::METHOD)
            .map_err(|e| (ErrorCode::InvalidParams, format!("{}: {e:?}", R::METHOD)))?;
        serde_json::to_value(work(self, params))
            .map_err(|e| (ErrorCode::InternalError, format!("{}: {e}", R::METHOD)))
    }
}
