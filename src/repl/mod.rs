//! The REPL: `tdc` with no arguments. Entries are evaluated in one scope, so variables,
//! functions and imports persist; `ans` holds the last result and `err` the last error.
//! With a terminal it is a rustyline editor (history, completion, hints, multi-line input by
//! parsing); with piped input it evaluates entry by entry, plainly.

pub(crate) mod catalog;
pub(crate) mod helper;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rhai::{Dynamic, Engine, EvalAltResult, Map, Scope, AST};
use rustyline::error::ReadlineError;
use rustyline::{Cmd, Config, Editor, EventHandler, KeyCode, KeyEvent, Modifiers};

use crate::files::Access;
use crate::output::{diagnostic, pretty};
use crate::script::engine::{script_engine, script_scope, LoadedFiles};
use crate::script::evaluation::{Entry, Evaluation};
use crate::session::Session;
use crate::terminal::sink::{errln, outln};
use catalog::Catalog;
use helper::{is_incomplete, Knowledge, ReplHelper, VarInfo};

pub(crate) use helper::COMMANDS;

struct Repl<'a> {
    session: &'a Session,
    engine: Engine,
    scope: Scope<'static>,
    /// Functions defined so far, merged into every entry.
    functions: AST,
    /// `import "x" as y;` entries, replayed by `:reload`.
    imports: Vec<(String, String)>,
    catalog: Arc<Catalog>,
    knowledge: Arc<Mutex<Knowledge>>,
    entries: Vec<String>,
    json: bool,
    color: bool,
    failed: bool,
    /// Columns available for tables.
    width: usize,
    /// What errors name as their file: `<repl>` at a terminal, `<stdin>` for piped input.
    input: &'static str,
    /// Lines of the input before the current entry, so that an error in piped input names
    /// its line in the input, not in the entry.
    lines_before: usize,
}

/// `label` and then `words`, wrapped at word boundaries to `width` columns, each line after
/// the first indented under the first word (a word longer than a line gets a line of its own).
fn wrap_words(label: &str, words: &[&str], width: usize) -> String {
    const INDENT: usize = 9;
    let mut out = format!("{label:<INDENT$}");
    let mut column = out.chars().count();
    for (i, word) in words.iter().enumerate() {
        let length = word.chars().count();
        if i > 0 && column + 1 + length > width {
            out.push('\n');
            out.push_str(&" ".repeat(INDENT));
            column = INDENT;
        } else if i > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += length;
    }
    out
}

fn history_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("tdc").join("history"))
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

/// `import "path" as alias;` alone on an entry.
pub(crate) fn parse_import(entry: &str) -> Option<(String, String)> {
    let rest = entry.trim().strip_prefix("import")?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let (path, rest) = rest.split_once('"')?;
    let alias = rest
        .trim()
        .strip_prefix("as")?
        .trim()
        .trim_end_matches(';')
        .trim();
    (!alias.is_empty() && alias.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then(|| (path.to_string(), alias.to_string()))
}

/// What completion knows after an entry (or a notebook's cell): the variables in scope, their
/// types and map keys, and the functions defined so far.
pub(crate) fn refresh_knowledge(knowledge: &Mutex<Knowledge>, scope: &Scope, functions: &AST) {
    let vars = scope
        .iter_raw()
        .map(|(name, _, value)| {
            let kind = if value.is_map() {
                "map".to_string()
            } else {
                value
                    .type_name()
                    .rsplit("::")
                    .next()
                    .unwrap_or("")
                    .to_string()
            };
            let keys = value
                .read_lock::<Map>()
                .map(|m| m.keys().map(|k| k.to_string()).collect())
                .unwrap_or_default();
            VarInfo {
                name: name.to_string(),
                kind,
                keys,
            }
        })
        .collect();
    let functions = functions
        .iter_functions()
        .map(|f| f.name.to_string())
        .collect();
    let mut knowledge = knowledge.lock().unwrap_or_else(|e| e.into_inner());
    knowledge.vars = vars;
    knowledge.functions = functions;
}

/// `:doc NAME`: each overload's signature and documentation, or `None` when no function has
/// that name (`td.` and `()` around it are ignored).
pub(crate) fn doc_text(catalog: &Catalog, name: &str) -> Option<String> {
    let name = name.trim().trim_start_matches("td.").trim_end_matches("()");
    let mut text = String::new();
    for f in catalog.named(name) {
        text.push_str(&format!("{}\n\n", f.signature()));
        for line in f.doc.lines() {
            text.push_str(&format!("    {line}\n"));
        }
        text.push('\n');
    }
    (!text.is_empty()).then_some(text)
}

impl Repl<'_> {
    fn refresh_knowledge(&self) {
        refresh_knowledge(&self.knowledge, &self.scope, &self.functions);
    }

    /// A diagnostic of the current entry, its line counted in the whole input.
    fn in_input(&self, mut diagnostic: diagnostic::Diagnostic) -> diagnostic::Diagnostic {
        if diagnostic.file == self.input {
            diagnostic.line = diagnostic.line.map(|line| line + self.lines_before);
        }
        diagnostic
    }

    fn print_error(&mut self, error: &EvalAltResult, source: &str) {
        self.failed = true;
        if matches!(error, EvalAltResult::ErrorTerminated(..)) {
            errln!("interrupted");
        } else {
            let shown =
                diagnostic::from_eval_error(error, self.input, source, self.session.host.powers());
            errln!("{}", self.in_input(shown));
        }
        let value = match error {
            EvalAltResult::ErrorRuntime(value, _) => value.clone(),
            other => {
                let mut map = Map::new();
                map.insert(
                    "message".into(),
                    diagnostic::from_eval_error(
                        other,
                        self.input,
                        source,
                        self.session.host.powers(),
                    )
                    .message
                    .into(),
                );
                Dynamic::from_map(map)
            }
        };
        self.scope.set_value("err", value);
    }

    fn import(&mut self, path: &str, alias: &str) -> Result<(), Box<EvalAltResult>> {
        let module = self.engine.module_resolver().resolve(
            &self.engine,
            None,
            path,
            rhai::Position::new(1, 1),
        )?;
        self.engine.register_static_module(alias, module);
        Ok(())
    }

    /// Evaluates one entry; prints its value. Returns whether it succeeded.
    fn evaluate(&mut self, entry: &str) -> bool {
        self.session.host.reset_interrupt();
        if let Some((path, alias)) = parse_import(entry) {
            return match self.import(&path, &alias) {
                Ok(()) => {
                    self.imports.retain(|(_, a)| *a != alias);
                    self.imports.push((path, alias));
                    true
                }
                Err(e) => {
                    self.print_error(&e, entry);
                    false
                }
            };
        }
        let evaluation = match Evaluation::compile_in(
            &self.engine,
            &self.scope,
            self.input,
            entry.to_string(),
        ) {
            Ok(evaluation) => evaluation,
            Err(shown) => {
                self.failed = true;
                errln!("{}", self.in_input(shown));
                return false;
            }
        };
        // Functions an entry defines are kept for the next ones once it has run.
        let defined = evaluation.ast().clone_functions_only();
        let evaluation = evaluation.with_functions(&self.functions);
        let outcome = evaluation.run(&self.engine, &mut self.scope, &Entry::Script);
        match outcome {
            Ok(value) => {
                self.functions = self.functions.merge(&defined);
                match pretty::render(&value, self.width, self.json) {
                    Ok(Some(text)) => show(&text),
                    Ok(None) => {}
                    // A query read to be shown can fail as a statement does.
                    Err(e) => {
                        self.print_error(&e, entry);
                        return false;
                    }
                }
                if !value.is_unit() {
                    self.scope.set_value("ans", value);
                }
                true
            }
            Err(e) => {
                self.print_error(&e, entry);
                false
            }
        }
    }

    fn help(&self, name: Option<&str>) {
        match name {
            None => {
                outln!("Type Rhai code; Enter runs it when it is complete (Alt-Enter: new line).");
                outln!("`td` is the dialer, `ans` the last result, `err` the last error.\n");
                outln!("Commands: {}", COMMANDS.join(" "));
                outln!("  :help NAME / :doc NAME   a function's signature and documentation");
                outln!("  :vars                    the variables in scope");
                outln!(
                    "  :load FILE / :save FILE  run a script here / save this session's entries"
                );
                outln!("  :reload                  re-read imported modules");
                outln!("  :edit                    edit the last entry in $EDITOR, then run it");
                outln!("  :time CODE               run CODE and show how long it took");
                outln!("  :conn                    the connection (never the password)");
                outln!(
                    "  :dry on|off              dry-run: print mutating calls instead of sending"
                );
                outln!("  :json                    switch between tables and raw JSON");
                outln!("  :clear, :quit (or Ctrl-D)\n");
                let dialer: Vec<&str> = self.catalog.members_of("Dialer").into_keys().collect();
                let query: Vec<&str> = self.catalog.members_of("Query").into_keys().collect();
                let (stdlib, globals): (Vec<&str>, Vec<&str>) = self
                    .catalog
                    .globals()
                    .into_keys()
                    .partition(|name| name.contains("::"));
                let mut stdlib = stdlib;
                stdlib.extend(["(import", "\"cdr\"", "as", "cdr;", "…)"]);
                for (label, names) in [
                    ("td.", dialer),
                    ("Query.", query),
                    ("helpers", globals),
                    ("stdlib", stdlib),
                ] {
                    outln!("{}", wrap_words(label, &names, self.width));
                }
            }
            Some(name) => match doc_text(&self.catalog, name) {
                Some(text) => {
                    let _ = crate::terminal::sink::write_stdout(text.as_bytes());
                }
                None => {
                    let name = name.trim().trim_start_matches("td.").trim_end_matches("()");
                    outln!("no function named '{name}' (:help lists them)");
                }
            },
        }
    }

    fn vars(&self) {
        for (name, constant, value) in self.scope.iter_raw() {
            let shown = pretty::render(&value.clone(), 60, true)
                .ok()
                .flatten()
                .map(|t| t.replace('\n', " "))
                .unwrap_or_else(|| "()".into());
            let shown: String = if shown.chars().count() > 60 {
                format!("{}…", shown.chars().take(59).collect::<String>())
            } else {
                shown
            };
            let kind = value
                .type_name()
                .rsplit("::")
                .next()
                .unwrap_or("")
                .to_string();
            outln!(
                "{}{name}: {kind} = {shown}",
                if constant { "const " } else { "" }
            );
        }
    }

    fn connection(&self) {
        let c = &self.session.connection;
        outln!("url        {}", self.session.dialer.client.base_url());
        outln!("user       {}", c.user);
        outln!("profile    {}", c.profile.as_deref().unwrap_or("(none)"));
        outln!("read-only  {}", c.read_only);
        outln!("dry-run    {}", self.session.host.dry_run());
    }

    fn edit(&mut self) -> Option<String> {
        let editor = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .unwrap_or_else(|_| "vi".into());
        // Created exclusively under a name no one can guess or plant beforehand, mode 0600;
        // removed when dropped.
        let mut buffer = tempfile::Builder::new()
            .prefix("tdc-edit-")
            .suffix(".rhai")
            .tempfile()
            .ok()?;
        let last = self.entries.last().cloned().unwrap_or_default();
        std::io::Write::write_all(&mut buffer, last.as_bytes()).ok()?;
        let file = buffer.path().to_path_buf();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&file)
            .status();
        let text = std::fs::read_to_string(&file).ok();
        drop(buffer);
        match status {
            Ok(s) if s.success() => text.filter(|t| !t.trim().is_empty()),
            _ => {
                errln!("{editor} failed; nothing was run");
                None
            }
        }
    }

    /// Runs a `:command`. Returns false to quit.
    fn command(
        &mut self,
        line: &str,
        editor: Option<&mut Editor<ReplHelper, rustyline::history::DefaultHistory>>,
    ) -> bool {
        let (command, argument) = line
            .trim()
            .split_once(' ')
            .map_or((line.trim(), ""), |(c, a)| (c, a.trim()));
        match command {
            ":quit" | ":q" | ":exit" => return false,
            ":help" | ":h" => self.help((!argument.is_empty()).then_some(argument)),
            ":doc" if !argument.is_empty() => self.help(Some(argument)),
            ":vars" => self.vars(),
            ":conn" => self.connection(),
            ":json" => {
                self.json = !self.json;
                outln!("output: {}", if self.json { "JSON" } else { "tables" });
            }
            ":dry" => match argument {
                "on" | "off" => {
                    self.session.host.set_dry_run(argument == "on");
                    outln!("dry-run {argument}");
                }
                _ => outln!(
                    "dry-run is {}; use :dry on or :dry off",
                    if self.session.host.dry_run() {
                        "on"
                    } else {
                        "off"
                    }
                ),
            },
            // The REPL's file powers are a script's: what it types may come from a pipe.
            ":load" if !argument.is_empty() => {
                match crate::files::read_to_string(
                    Access::bounded(self.session.host.powers(), ":load"),
                    Path::new(argument),
                ) {
                    Ok(source) => {
                        self.evaluate(&source);
                    }
                    Err(e) => {
                        self.failed = true;
                        errln!("{e}");
                    }
                }
            }
            ":save" if !argument.is_empty() => {
                let text = self.entries.join("\n") + "\n";
                let access = Access::bounded(self.session.host.powers(), ":save");
                match crate::files::write_whole(access, Path::new(argument), |file| {
                    std::io::Write::write_all(file, text.as_bytes())
                }) {
                    Ok(()) => outln!("saved {} entries to {argument}", self.entries.len()),
                    Err(e) => {
                        self.failed = true;
                        errln!("{e}");
                    }
                }
            }
            ":reload" => {
                for (path, alias) in self.imports.clone() {
                    match self.import(&path, &alias) {
                        Ok(()) => outln!("reloaded {path} as {alias}"),
                        Err(e) => self.print_error(&e, &format!("import \"{path}\" as {alias};")),
                    }
                }
            }
            ":time" if !argument.is_empty() => {
                let started = Instant::now();
                self.evaluate(argument);
                outln!("({} ms)", started.elapsed().as_millis());
            }
            ":edit" => {
                if let Some(code) = self.edit() {
                    outln!("{code}");
                    if self.evaluate(&code) {
                        self.entries.push(code);
                    }
                }
            }
            ":clear" => match editor {
                Some(editor) => {
                    let _ = editor.clear_screen();
                }
                None => {
                    let _ = crate::terminal::sink::write_stdout(b"\x1b[2J\x1b[H");
                }
            },
            _ => {
                self.failed = true;
                errln!("unknown command {line} (try :help)");
            }
        }
        true
    }

    /// Runs one entry; false when the session should end (`:quit`, or output that can no
    /// longer be written).
    fn entry(
        &mut self,
        text: &str,
        editor: Option<&mut Editor<ReplHelper, rustyline::history::DefaultHistory>>,
    ) -> bool {
        let go_on = self.entry_or_command(text, editor);
        go_on && !crate::terminal::sink::is_broken()
    }

    fn entry_or_command(
        &mut self,
        text: &str,
        editor: Option<&mut Editor<ReplHelper, rustyline::history::DefaultHistory>>,
    ) -> bool {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return true;
        }
        if trimmed.starts_with(':') {
            return self.command(trimmed, editor);
        }
        if self.evaluate(text) {
            self.entries.push(text.to_string());
        }
        self.refresh_knowledge();
        true
    }
}

/// Runs the REPL until Ctrl-D or `:quit`; returns the exit code.
pub(crate) fn run(runtime: &tokio::runtime::Runtime, session: &Session) -> i32 {
    let interactive = std::io::stdin().is_terminal();
    let color =
        interactive && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let base = PathBuf::from(".");
    let engine = script_engine(&session.host, &base, LoadedFiles::default());
    let catalog = Arc::new(Catalog::from_engine(&engine));
    let mut scope = script_scope(session.dialer.clone(), &[], Path::new("."));
    scope.push("ans", Dynamic::UNIT);
    scope.push("err", Dynamic::UNIT);
    let mut repl = Repl {
        session,
        engine,
        scope,
        functions: AST::empty(),
        imports: Vec::new(),
        catalog: catalog.clone(),
        knowledge: Arc::new(Mutex::new(Knowledge::default())),
        entries: Vec::new(),
        json: false,
        color,
        failed: false,
        width: terminal_width(),
        input: if interactive { "<repl>" } else { "<stdin>" },
        lines_before: 0,
    };
    repl.refresh_knowledge();
    // Ctrl-C while a entry runs stops it (while typing, the editor handles Ctrl-C itself).
    crate::session::interrupt_on_ctrl_c(runtime, &session.host, true);
    if !interactive {
        return piped(&mut repl);
    }
    interactive_loop(&mut repl, catalog)
}

/// Piped input: entries split where the accumulated lines compile (or fail other than by
/// ending early).
fn piped(repl: &mut Repl) -> i32 {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        errln!("tdc: cannot read standard input: {e}");
        return crate::failure::EXIT_USAGE;
    }
    let mut pending = String::new();
    for (at, line) in input.lines().enumerate() {
        if pending.is_empty() {
            repl.lines_before = at;
        }
        pending.push_str(line);
        pending.push('\n');
        if pending.trim_start().starts_with(':') {
            let command = std::mem::take(&mut pending);
            if !repl.entry(&command, None) {
                break;
            }
            continue;
        }
        let complete = match Engine::new_raw().compile(&pending) {
            Ok(_) => true,
            Err(e) => !is_incomplete(&pending, &e),
        };
        if complete {
            let entry = std::mem::take(&mut pending);
            if !repl.entry(&entry, None) {
                break;
            }
        }
    }
    if !pending.trim().is_empty() && !crate::terminal::sink::is_broken() {
        repl.entry(&pending, None);
    }
    if repl.failed {
        crate::failure::EXIT_SCRIPT
    } else {
        crate::failure::EXIT_OK
    }
}

fn interactive_loop(repl: &mut Repl, catalog: Arc<Catalog>) -> i32 {
    let config = Config::builder()
        .history_ignore_space(true)
        .auto_add_history(true)
        .max_history_size(5000)
        .and_then(|b| b.history_ignore_dups(true))
        .map(|b| b.completion_type(rustyline::CompletionType::List).build());
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            errln!("tdc: cannot configure the line editor: {e}");
            return crate::failure::EXIT_USAGE;
        }
    };
    let mut editor: Editor<ReplHelper, rustyline::history::DefaultHistory> =
        match Editor::with_config(config) {
            Ok(editor) => editor,
            Err(e) => {
                errln!("tdc: cannot start the line editor: {e}");
                return crate::failure::EXIT_USAGE;
            }
        };
    editor.set_helper(Some(ReplHelper::new(
        catalog,
        repl.knowledge.clone(),
        repl.color,
    )));
    editor.bind_sequence(
        KeyEvent(KeyCode::Enter, Modifiers::ALT),
        EventHandler::Simple(Cmd::Newline),
    );
    let history = history_path();
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.load_history(path);
    }
    let prompt = format!("{}> ", repl.session.connection.label());
    outln!(
        "tdc {} on {} — :help for help, Ctrl-D to leave",
        env!("CARGO_PKG_VERSION"),
        repl.session.dialer.client.base_url()
    );
    loop {
        match editor.readline(&prompt) {
            Ok(line) => {
                if let Some((columns, _)) = editor.dimensions() {
                    repl.width = usize::from(columns).max(20);
                }
                let go_on = repl.entry(&line, Some(&mut editor));
                if let Some(path) = &history {
                    save_history(&mut editor, path);
                }
                if !go_on {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                errln!("tdc: {e}");
                return crate::failure::EXIT_USAGE;
            }
        }
    }
    crate::failure::EXIT_OK
}

/// Prints a value; longer than the terminal and with `$PAGER` set, through the pager.
fn show(text: &str) {
    use std::io::{IsTerminal, Write};
    let rows: usize = std::env::var("LINES")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(40);
    let pager = std::env::var("PAGER").ok().filter(|p| !p.trim().is_empty());
    if let (Some(pager), true) = (pager, std::io::stdout().is_terminal()) {
        if text.lines().count() > rows {
            let child = std::process::Command::new("sh")
                .arg("-c")
                .arg(&pager)
                .stdin(std::process::Stdio::piped())
                .spawn();
            if let Ok(mut child) = child {
                if let Some(mut input) = child.stdin.take() {
                    let _ = writeln!(input, "{text}");
                }
                let _ = child.wait();
                return;
            }
        }
    }
    outln!("{text}");
}

/// Saves the history readable by its owner only.
fn save_history(editor: &mut Editor<ReplHelper, rustyline::history::DefaultHistory>, path: &Path) {
    if editor.save_history(path).is_ok() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_wrap_between_words() {
        let words = ["find_leads", "campaigns", "cdrs", "users", "x"];
        assert_eq!(
            wrap_words("td.", &words, 30),
            "td.      find_leads campaigns\n         cdrs users x"
        );
        assert_eq!(
            wrap_words("helpers", &["a_very_long_function_name", "b"], 20),
            "helpers  a_very_long_function_name\n         b"
        );
    }

    #[test]
    fn import_entries_are_recognised() {
        assert_eq!(
            parse_import("import \"cdr\" as cdr;"),
            Some(("cdr".into(), "cdr".into()))
        );
        assert_eq!(
            parse_import("  import \"lib/x\" as x  "),
            Some(("lib/x".into(), "x".into()))
        );
        assert_eq!(parse_import("import \"cdr\" as cdr; print(1);"), None);
    }
}
