//! The one way tdc evaluates a script. `tdc run` and `eval`, watch mode, schedules, each REPL
//! entry and each `tdc test` case compile their source once into an [`Evaluation`] and run it
//! on the script thread ([`SCRIPT_STACK`]), so that the same script reaches the same call
//! depth, stops on the same interrupt and fails with the same diagnostic everywhere.

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, Scope, AST};

use super::dialer::HostTag;
use super::engine::compile_engine;
use super::permissions::Powers;
use crate::output::diagnostic::{self, Diagnostic};

/// Scripts run deep: Rhai evaluates recursively and closures nest, so their thread gets a
/// generous stack (only the pages touched cost memory).
pub(crate) const SCRIPT_STACK: usize = 64 * 1024 * 1024;

/// How an evaluation ended: its value or the error that stopped it.
pub(crate) type ScriptResult = Result<Dynamic, Box<EvalAltResult>>;

/// Where an evaluation starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The whole source, top to bottom: a script, `tdc eval`'s code, a REPL entry.
    Script,
    /// One function of the source, called with no arguments after its top level ran (a
    /// `tdc test` case).
    Function(String),
}

/// A script's source compiled once, with the name its diagnostics use.
pub(crate) struct Evaluation {
    name: String,
    source: String,
    ast: AST,
    /// The powers of the host it ran on: its diagnostics read imported modules under them.
    powers: std::sync::OnceLock<Powers>,
}

impl Evaluation {
    /// Compiles `source`; a syntax error is its diagnostic (nothing has run, no dialer has
    /// been contacted).
    pub(crate) fn compile(name: &str, source: String) -> Result<Evaluation, Diagnostic> {
        Self::compile_in(&compile_engine(), &Scope::new(), name, source)
    }

    /// Compiles `source` on `engine` with the variables of `scope` known (a REPL entry,
    /// whose constants the optimizer may use).
    pub(crate) fn compile_in(
        engine: &Engine,
        scope: &Scope,
        name: &str,
        source: String,
    ) -> Result<Evaluation, Diagnostic> {
        match engine.compile_with_scope(scope, &source) {
            Ok(mut ast) => {
                ast.set_source(name);
                Ok(Evaluation {
                    name: name.to_string(),
                    source,
                    ast,
                    powers: std::sync::OnceLock::new(),
                })
            }
            Err(error) => Err(diagnostic::from_parse_error(&error, name, &source)),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn ast(&self) -> &AST {
        &self.ast
    }

    /// The syntax tree, for checks that read it without running it (the language server).
    pub(crate) fn into_ast(self) -> AST {
        self.ast
    }

    /// This evaluation with `functions` (defined by earlier REPL entries) callable from it.
    pub(crate) fn with_functions(mut self, functions: &AST) -> Evaluation {
        self.ast = functions.merge(&self.ast);
        self
    }

    /// Runs `entry` on the script thread and waits for it. Cancelled by the host's interrupt
    /// (Ctrl-C, a watch restart) or by output that can no longer be written.
    pub(crate) fn run(&self, engine: &Engine, scope: &mut Scope, entry: &Entry) -> ScriptResult {
        on_script_stack(|| self.evaluate(engine, scope, entry)).unwrap_or_else(|e| {
            Err(super::script_error(format!(
                "cannot start the script's thread: {e}"
            )))
        })
    }

    /// Runs the whole script on the script thread without waiting; `done` gets the outcome on
    /// that thread (watch mode and schedules wait for files and timers meanwhile).
    pub(crate) fn spawn(
        self: &Arc<Self>,
        engine: Engine,
        mut scope: Scope<'static>,
        done: impl FnOnce(ScriptResult) + Send + 'static,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let evaluation = self.clone();
        script_thread().spawn(move || {
            let outcome = evaluation.evaluate(&engine, &mut scope, &Entry::Script);
            done(outcome);
        })
    }

    /// What a run-time error of this evaluation says, pointing into its source.
    pub(crate) fn diagnostic(&self, error: &EvalAltResult) -> Diagnostic {
        let none = Powers::default();
        let powers = self.powers.get().unwrap_or(&none);
        diagnostic::from_eval_error(error, &self.name, &self.source, powers)
    }

    fn evaluate(&self, engine: &Engine, scope: &mut Scope, entry: &Entry) -> ScriptResult {
        if let Some(host) = engine.default_tag().read_lock::<HostTag>() {
            let _ = self.powers.set(host.0.powers().clone());
        }
        match entry {
            Entry::Script => engine.eval_ast_with_scope::<Dynamic>(scope, &self.ast),
            Entry::Function(name) => engine.call_fn::<Dynamic>(scope, &self.ast, name, ()),
        }
    }
}

/// The thread scripts run on: named, with [`SCRIPT_STACK`].
fn script_thread() -> std::thread::Builder {
    std::thread::Builder::new()
        .name("tdc-script".into())
        .stack_size(SCRIPT_STACK)
}

/// Runs `work` on a script thread and waits for it. Bindings block on the runtime, which must
/// not happen on its workers: a thread of its own is that too. Besides evaluations, for work
/// that reads a script's values as a script would (a notebook showing a Query's rows). An
/// error only when the system has no thread to give.
pub(crate) fn on_script_stack<R: Send>(work: impl FnOnce() -> R + Send) -> std::io::Result<R> {
    std::thread::scope(|scope| {
        let thread = script_thread().spawn_scoped(scope, work)?;
        Ok(thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}
