//! The kernel: `tdc jupyter kernel CONNECTION_FILE`, started by Jupyter. It speaks the Jupyter
//! messaging protocol 5.3 over ZeroMQ, each message signed with the connection file's key
//! (HMAC-SHA256; `jupyter-zmq-client` signs and checks):
//!
//! - shell: `execute_request` (a cell), `complete_request`, `inspect_request`,
//!   `is_complete_request`, `history_request`, `kernel_info_request`, `comm_info_request`;
//! - control: `kernel_info_request`, `interrupt_request`, `shutdown_request`;
//! - iopub: `status` busy and idle around every request, `execute_input`, `stream` lines as a
//!   cell prints them, `display_data`, `execute_result`, `error`;
//! - heartbeat: echoed.
//!
//! Cells run one at a time in one scope, like REPL entries: variables, functions and the
//! imports at the top of a cell stay for the cells after it. SIGINT or an `interrupt_request`
//! stops the running cell and the request it waits for.

use std::path::Path;
use std::sync::{Arc, Mutex};

use jupyter_protocol::{
    CodeMirrorMode, CommInfoReply, CompleteReply, ConnectionInfo, ErrorOutput, ExecuteInput,
    ExecuteReply, ExecuteResult, ExecutionCount, HistoryEntry, HistoryReply, HistoryRequest,
    InspectReply, InterruptReply, IsCompleteReply, JupyterMessage, JupyterMessageContent,
    KernelInfoReply, LanguageInfo, Media, MediaType, ReplyError, ReplyStatus, ShutdownReply,
    Status, Transient,
};
use jupyter_zmq_client::{
    create_kernel_control_connection, create_kernel_heartbeat_connection,
    create_kernel_iopub_connection, create_kernel_shell_connection, create_kernel_stdin_connection,
    KernelShellConnection, RuntimeError,
};
use rhai::{Dynamic, Engine, EvalAltResult, Scope, AST};

use super::display::{register_charts, register_display, Outlet};
use crate::failure::{Failure, Outcome};
use crate::output::diagnostic;
use crate::repl::catalog::Catalog;
use crate::repl::helper::{is_incomplete, Knowledge, ReplHelper};
use crate::repl::{doc_text, parse_import, refresh_knowledge};
use crate::script::engine::{script_engine, script_scope, LoadedFiles};
use crate::script::evaluation::{on_script_stack, Entry, Evaluation};
use crate::session::Session;
use crate::terminal::sink::errln;

/// The history of a kernel's cells is numbered in one session.
const HISTORY_SESSION: usize = 1;

/// The connection file Jupyter wrote for this kernel: read before the dialer is set up, so a
/// wrong one is said at once.
pub(crate) fn read_connection_file(connection_file: &Path) -> Result<ConnectionInfo, Failure> {
    let usage = |message: String| Failure::Usage(format!("tdc jupyter kernel: {message}"));
    let text = std::fs::read_to_string(connection_file)
        .map_err(|e| usage(format!("cannot read {}: {e}", connection_file.display())))?;
    let info: ConnectionInfo = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "{} is not a Jupyter connection file: {e}",
            connection_file.display()
        ))
    })?;
    if !info.key.is_empty() && info.signature_scheme != "hmac-sha256" {
        return Err(usage(format!(
            "{}: signature_scheme {} is not supported (hmac-sha256 is)",
            connection_file.display(),
            info.signature_scheme
        )));
    }
    Ok(info)
}

/// Serves Jupyter on the connection file's ports until a `shutdown_request`.
pub(crate) fn serve(
    runtime: &tokio::runtime::Runtime,
    session: &Session,
    info: &ConnectionInfo,
) -> Outcome {
    // As `tdc run` says it: the embedded sandbox has said where it is already.
    if let Some(banner) = session.banner() {
        crate::terminal::log::tdc_line("info", &format!("notebook kernel on {banner}"));
    }
    let banner = session.banner().unwrap_or_else(|| {
        let url = session.dialer.client.base_url();
        format!("the embedded sandbox at {url}")
    });
    crate::session::interrupt_on_ctrl_c(runtime, &session.host, true);
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let outlet = Outlet::new(sender);
    let progress = outlet.clone();
    crate::terminal::progress::draw_in(move |line| progress.progress(line));
    let notebook = Notebook::new(session, outlet.clone(), banner);
    runtime
        .block_on(run(info, notebook, receiver))
        .map_err(|e| Failure::Failed(format!("tdc jupyter kernel: {e}")))
}

/// Binds the five sockets, answers control, heartbeat and iopub on the runtime's workers, and
/// shell here: a cell blocks this thread, never a worker.
async fn run(
    info: &ConnectionInfo,
    mut notebook: Notebook<'_>,
    mut outgoing: tokio::sync::mpsc::UnboundedReceiver<JupyterMessage>,
) -> Result<(), RuntimeError> {
    let session_id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let mut shell = create_kernel_shell_connection(info, &session_id).await?;
    let mut control = create_kernel_control_connection(info, &session_id).await?;
    // Bound because clients connect to it; no script function asks for input.
    let _stdin = create_kernel_stdin_connection(info, &session_id).await?;
    let mut iopub = create_kernel_iopub_connection(info, &session_id).await?;
    let mut heartbeat = create_kernel_heartbeat_connection(info).await?;
    tokio::spawn(async move { while heartbeat.single_heartbeat().await.is_ok() {} });
    tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            if iopub.send(message).await.is_err() {
                break;
            }
        }
    });
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(end_with_parent(stop.clone(), notebook.session.host.clone()));
    let host = notebook.session.host.clone();
    let outlet = notebook.outlet.clone();
    let kernel_info = notebook.kernel_info();
    let ended = stop.clone();
    tokio::spawn(async move {
        while let Ok(message) = control.read().await {
            let reply: JupyterMessage = match &message.content {
                JupyterMessageContent::KernelInfoRequest(_) => {
                    kernel_info.clone().as_child_of(&message)
                }
                JupyterMessageContent::InterruptRequest(_) => {
                    host.interrupt();
                    InterruptReply::new().as_child_of(&message)
                }
                JupyterMessageContent::ShutdownRequest(request) => {
                    host.interrupt();
                    let reply = ShutdownReply {
                        restart: request.restart,
                        status: ReplyStatus::Ok,
                        error: None,
                    };
                    let _ = control.send(reply.clone().as_child_of(&message)).await;
                    // A shutdown is also announced on iopub, as the protocol asks.
                    outlet.answering(&message);
                    outlet.send(reply);
                    stop.cancel();
                    return;
                }
                _ => continue,
            };
            let _ = control.send(reply).await;
        }
    });
    loop {
        let message = tokio::select! {
            message = shell.read() => message,
            _ = ended.cancelled() => break,
        };
        match message {
            Ok(message) => notebook.answer(&mut shell, &message).await?,
            Err(e) => errln!("tdc: jupyter kernel: a shell message was dropped: {e}"),
        }
    }
    // The iopub queue never closes (the progress sink keeps a sender for the process), so
    // its last messages, the shutdown notice among them, are given a moment to go out.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    Ok(())
}

/// Ends the kernel when the process that started it (Jupyter) is gone without a
/// `shutdown_request` (killed, crashed): a kernel left behind would hold its ports and
/// its embedded sandbox for nobody.
async fn end_with_parent(
    stop: tokio_util::sync::CancellationToken,
    host: Arc<crate::script::Host>,
) {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            every.tick().await;
            if std::os::unix::process::parent_id() != parent {
                errln!("tdc: jupyter kernel: the process that started it is gone; ending");
                host.interrupt();
                stop.cancel();
                return;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (stop, host);
}

/// One executed cell, for `history_request`.
struct HistoryItem {
    line: usize,
    code: String,
    /// Its result as text (empty for `()` and errors).
    output: String,
}

/// How a cell failed.
enum CellError {
    Parse(diagnostic::Diagnostic),
    Eval(Box<EvalAltResult>),
}

/// The evaluation side: one engine and one scope shared by the cells, like the REPL's.
struct Notebook<'a> {
    session: &'a Session,
    engine: Engine,
    scope: Scope<'static>,
    /// Functions the cells defined so far, merged into every cell.
    functions: AST,
    catalog: Arc<Catalog>,
    knowledge: Arc<Mutex<Knowledge>>,
    completer: ReplHelper,
    outlet: Outlet,
    execution_count: usize,
    history: Vec<HistoryItem>,
    banner: String,
}

impl<'a> Notebook<'a> {
    fn new(session: &'a Session, outlet: Outlet, banner: String) -> Notebook<'a> {
        let mut engine = script_engine(&session.host, Path::new("."), LoadedFiles::default());
        let printer = outlet.clone();
        engine.on_print(move |text| printer.stdout(&format!("{text}\n")));
        let debugger = outlet.clone();
        engine.on_debug(move |text, _, _| debugger.stderr(&format!("{text}\n")));
        register_display(&mut engine, &outlet);
        let catalog = Arc::new(Catalog::from_engine(&engine));
        register_charts(&mut engine, &outlet);
        let mut scope = script_scope(session.dialer.clone(), &[], Path::new("."));
        scope.push("ans", Dynamic::UNIT);
        scope.push("err", Dynamic::UNIT);
        let knowledge = Arc::new(Mutex::new(Knowledge::default()));
        let completer = ReplHelper::new(catalog.clone(), knowledge.clone(), false);
        let notebook = Notebook {
            session,
            engine,
            scope,
            functions: AST::empty(),
            catalog,
            knowledge,
            completer,
            outlet,
            execution_count: 0,
            history: Vec::new(),
            banner: format!("tdc {} on {banner}", env!("CARGO_PKG_VERSION")),
        };
        notebook.refresh_knowledge();
        notebook
    }

    fn refresh_knowledge(&self) {
        refresh_knowledge(&self.knowledge, &self.scope, &self.functions);
    }

    fn kernel_info(&self) -> KernelInfoReply {
        KernelInfoReply {
            status: ReplyStatus::Ok,
            protocol_version: "5.3".into(),
            implementation: "tdc".into(),
            implementation_version: env!("CARGO_PKG_VERSION").into(),
            language_info: LanguageInfo {
                name: "rhai".into(),
                version: "1".into(),
                mimetype: Some("text/x-rhai".into()),
                file_extension: Some(".rhai".into()),
                // Rhai reads much like Rust; no highlighter knows Rhai itself.
                pygments_lexer: Some("rust".into()),
                codemirror_mode: Some(CodeMirrorMode::Simple("rust".into())),
                nbconvert_exporter: None,
            },
            banner: self.banner.clone(),
            help_links: Vec::new(),
            debugger: false,
            error: None,
        }
    }

    /// Answers one shell request, between `busy` and `idle` on iopub.
    async fn answer(
        &mut self,
        shell: &mut KernelShellConnection,
        request: &JupyterMessage,
    ) -> Result<(), RuntimeError> {
        self.outlet.answering(request);
        self.outlet.send(Status::busy());
        let reply: Option<JupyterMessageContent> = match &request.content {
            JupyterMessageContent::ExecuteRequest(execute) => {
                Some(self.execute(&execute.code, execute.silent, execute.store_history))
            }
            JupyterMessageContent::KernelInfoRequest(_) => Some(self.kernel_info().into()),
            JupyterMessageContent::CompleteRequest(complete) => {
                Some(self.complete(&complete.code, complete.cursor_pos).into())
            }
            JupyterMessageContent::InspectRequest(inspect) => {
                Some(self.inspect(&inspect.code, inspect.cursor_pos).into())
            }
            JupyterMessageContent::IsCompleteRequest(check) => {
                Some(is_complete(&check.code).into())
            }
            JupyterMessageContent::HistoryRequest(history) => Some(self.history(history).into()),
            JupyterMessageContent::CommInfoRequest(_) => Some(CommInfoReply::default().into()),
            JupyterMessageContent::ShutdownRequest(shutdown) => Some(
                ShutdownReply {
                    restart: shutdown.restart,
                    status: ReplyStatus::Ok,
                    error: None,
                }
                .into(),
            ),
            _ => None,
        };
        if let Some(reply) = reply {
            shell
                .send(JupyterMessage::new(reply, Some(request)))
                .await?;
        }
        self.outlet.send(Status::idle());
        Ok(())
    }

    /// Runs a cell: `execute_input`, its output as it comes, then its result or error.
    fn execute(&mut self, code: &str, silent: bool, store_history: bool) -> JupyterMessageContent {
        if !silent && store_history {
            self.execution_count += 1;
        }
        let count = ExecutionCount::new(self.execution_count);
        if !silent {
            self.outlet.send(ExecuteInput {
                code: code.to_string(),
                execution_count: count,
            });
        }
        let name = format!("<cell {}>", self.execution_count);
        let outcome = self.run_cell(code, &name);
        self.refresh_knowledge();
        let (reply, output) = match outcome {
            Ok(value) => {
                // A Query's rows are read to show it: on a script's thread, as bindings block.
                let outlet = &self.outlet;
                let shown = on_script_stack(|| outlet.bundle(&value)).unwrap_or_else(|e| {
                    Err(crate::script::script_error(format!(
                        "cannot start the script's thread: {e}"
                    )))
                });
                let shown = match shown {
                    Ok(shown) => shown,
                    Err(e) => return self.failed(count, CellError::Eval(e), &name, code),
                };
                let mut output = String::new();
                if let Some(media) = shown.filter(|_| !silent) {
                    output = plain_text(&media);
                    self.outlet.send(ExecuteResult {
                        transient: Some(Transient::default()),
                        ..ExecuteResult::new(count, media)
                    });
                }
                if !value.is_unit() {
                    self.scope.set_value("ans", value);
                }
                let reply = ExecuteReply {
                    status: ReplyStatus::Ok,
                    execution_count: count,
                    user_expressions: Some(Default::default()),
                    ..ExecuteReply::default()
                };
                (reply.into(), output)
            }
            Err(error) => (self.failed(count, error, &name, code), String::new()),
        };
        if store_history && !silent {
            self.history.push(HistoryItem {
                line: self.execution_count,
                code: code.to_string(),
                output,
            });
        }
        reply
    }

    /// Evaluates a cell in the shared scope: the kernel's one evaluation path. Imports at the
    /// top of the cell are registered for the cells after it too (the engine forgets an
    /// import when its evaluation ends); their lines are left blank so that errors keep their
    /// line numbers.
    fn run_cell(&mut self, code: &str, name: &str) -> Result<Dynamic, CellError> {
        self.session.host.reset_interrupt();
        let (imports, rest) = split_imports(code);
        for (path, alias) in imports {
            let module = self
                .engine
                .module_resolver()
                .resolve(&self.engine, None, &path, rhai::Position::new(1, 1))
                .map_err(CellError::Eval)?;
            self.engine.register_static_module(alias, module);
        }
        let evaluation = Evaluation::compile_in(&self.engine, &self.scope, name, rest)
            .map_err(CellError::Parse)?;
        // Functions a cell defines are kept for the next ones once it has run.
        let defined = evaluation.ast().clone_functions_only();
        let evaluation = evaluation.with_functions(&self.functions);
        let value = evaluation
            .run(&self.engine, &mut self.scope, &Entry::Script)
            .map_err(CellError::Eval)?;
        self.functions = self.functions.merge(&defined);
        Ok(value)
    }

    /// The `error` output and the reply of a failed cell: the script's diagnostic, as `tdc
    /// run` prints it; `err` holds it for the next cell, as in the REPL.
    fn failed(
        &mut self,
        count: ExecutionCount,
        error: CellError,
        name: &str,
        code: &str,
    ) -> JupyterMessageContent {
        let (ename, shown) = match &error {
            CellError::Parse(shown) => ("SyntaxError", shown.clone()),
            CellError::Eval(e) if matches!(**e, EvalAltResult::ErrorTerminated(..)) => (
                "Interrupted",
                diagnostic::Diagnostic {
                    file: name.to_string(),
                    line: None,
                    column: None,
                    message: "interrupted".into(),
                    source_line: None,
                },
            ),
            CellError::Eval(e) => (
                "ScriptError",
                diagnostic::from_eval_error(e, name, code, self.session.host.powers()),
            ),
        };
        let value = match error {
            CellError::Eval(e) => match *e {
                EvalAltResult::ErrorRuntime(value, _) => value,
                _ => Dynamic::from(shown.message.clone()),
            },
            CellError::Parse(_) => Dynamic::from(shown.message.clone()),
        };
        self.scope.set_value("err", value);
        let failure = ReplyError {
            ename: ename.into(),
            evalue: shown.message.clone(),
            traceback: shown.to_string().lines().map(String::from).collect(),
        };
        self.outlet.send(ErrorOutput {
            ename: failure.ename.clone(),
            evalue: failure.evalue.clone(),
            traceback: failure.traceback.clone(),
        });
        ExecuteReply {
            status: ReplyStatus::Error,
            execution_count: count,
            error: Some(Box::new(failure)),
            user_expressions: Some(Default::default()),
            ..ExecuteReply::default()
        }
        .into()
    }

    /// The REPL's completion at the cursor (a position in characters, as Jupyter counts).
    fn complete(&self, code: &str, cursor: usize) -> CompleteReply {
        let at = byte_offset(code, cursor);
        let line_start = code[..at].rfind('\n').map_or(0, |i| i + 1);
        let line_end = code[at..].find('\n').map_or(code.len(), |i| at + i);
        let line = &code[line_start..line_end];
        let history = rustyline::history::DefaultHistory::new();
        let context = rustyline::Context::new(&history);
        let (start, matches) = rustyline::completion::Completer::complete(
            &self.completer,
            line,
            at - line_start,
            &context,
        )
        .unwrap_or((at - line_start, Vec::new()));
        CompleteReply {
            matches: matches.into_iter().map(|pair| pair.replacement).collect(),
            cursor_start: code[..line_start + start].chars().count(),
            cursor_end: cursor,
            ..CompleteReply::default()
        }
    }

    /// `:doc` of the name under (or just before) the cursor.
    fn inspect(&self, code: &str, cursor: usize) -> InspectReply {
        let at = byte_offset(code, cursor);
        let is_name = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
        let start = code[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_name(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = code[at..]
            .find(|c: char| !is_name(c))
            .map_or(code.len(), |i| at + i);
        let name = code[start..end].trim_matches(':');
        match doc_text(&self.catalog, name) {
            Some(text) => InspectReply {
                found: true,
                data: Media::new(vec![MediaType::Plain(text)]),
                ..InspectReply::default()
            },
            None => InspectReply::default(),
        }
    }

    fn history(&self, request: &HistoryRequest) -> HistoryReply {
        let (items, output): (Vec<&HistoryItem>, bool) = match request {
            HistoryRequest::Tail { n, output, .. } => {
                let n = usize::try_from(*n).unwrap_or(0);
                let skip = self.history.len().saturating_sub(n);
                (self.history.iter().skip(skip).collect(), *output)
            }
            HistoryRequest::Range {
                start,
                stop,
                output,
                ..
            } => {
                let (start, stop) = (i64::from(*start), i64::from(*stop));
                let within = |item: &&HistoryItem| {
                    let line = item.line as i64;
                    line >= start && (stop <= 0 || line < stop)
                };
                (self.history.iter().filter(within).collect(), *output)
            }
            HistoryRequest::Search {
                pattern,
                unique,
                output,
                n,
                ..
            } => {
                let mut found: Vec<&HistoryItem> = self
                    .history
                    .iter()
                    .filter(|item| glob_matches(pattern, &item.code))
                    .collect();
                if *unique {
                    let mut seen = std::collections::HashSet::new();
                    found.reverse();
                    found.retain(|item| seen.insert(item.code.as_str()));
                    found.reverse();
                }
                let n = usize::try_from(*n).unwrap_or(0);
                if n > 0 {
                    found.drain(..found.len().saturating_sub(n));
                }
                (found, *output)
            }
        };
        HistoryReply::new(
            items
                .into_iter()
                .map(|item| match output {
                    true => HistoryEntry::InputOutput(
                        HISTORY_SESSION,
                        item.line,
                        (item.code.clone(), item.output.clone()),
                    ),
                    false => HistoryEntry::Input(HISTORY_SESSION, item.line, item.code.clone()),
                })
                .collect(),
        )
    }
}

/// The REPL's rule: code that ended early is incomplete; other code that does not compile is
/// invalid.
fn is_complete(code: &str) -> IsCompleteReply {
    match Engine::new_raw().compile(code) {
        Ok(_) => IsCompleteReply::complete(),
        Err(error) if is_incomplete(code, &error) => IsCompleteReply::incomplete("    ".into()),
        Err(_) => IsCompleteReply::invalid(),
    }
}

/// The `import "x" as y;` lines at the top of a cell (before any other code; blank lines and
/// `//` comments may come between), and the cell with those lines left blank.
fn split_imports(code: &str) -> (Vec<(String, String)>, String) {
    let mut imports = Vec::new();
    let mut lines: Vec<&str> = code.split('\n').collect();
    for line in lines.iter_mut() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        match parse_import(trimmed) {
            Some(import) => {
                imports.push(import);
                *line = "";
            }
            None => break,
        }
    }
    (imports, lines.join("\n"))
}

/// IPython's history search patterns: `*` any text, `?` one character.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// The byte offset of a position Jupyter gives in characters.
fn byte_offset(code: &str, chars: usize) -> usize {
    code.char_indices()
        .nth(chars)
        .map_or(code.len(), |(i, _)| i)
}

fn plain_text(media: &Media) -> String {
    media
        .content
        .iter()
        .find_map(|m| match m {
            MediaType::Plain(text) => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_at_the_top_of_a_cell_are_taken_out_and_lines_kept() {
        let (imports, rest) = split_imports(
            "// report\nimport \"cdr\" as cdr;\n\ncdr::kpis(rows)\nimport \"x\" as x;",
        );
        assert_eq!(imports, vec![("cdr".to_string(), "cdr".to_string())]);
        assert_eq!(rest, "// report\n\n\ncdr::kpis(rows)\nimport \"x\" as x;");
    }

    #[test]
    fn cells_are_complete_incomplete_or_invalid_by_the_repl_rule() {
        let status = |code| is_complete(code).status;
        use jupyter_protocol::IsCompleteReplyStatus as S;
        assert_eq!(status("let x = 1;"), S::Complete);
        assert_eq!(status("fn f(x) {"), S::Incomplete);
        assert_eq!(status("let x = ;"), S::Invalid);
    }

    #[test]
    fn history_search_patterns_are_globs() {
        assert!(glob_matches("6*", "6 * 7"));
        assert!(glob_matches("*cdrs*", "td.cdrs().len()"));
        assert!(glob_matches("a?c", "abc"));
        assert!(!glob_matches("a?c", "abbc"));
    }
}
