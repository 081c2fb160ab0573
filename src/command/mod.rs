//! The commands, one file each, each an `execute` from the [`Config`] the command line made
//! (and the command's own arguments) to an [`Outcome`]. `app::run` parses, builds the
//! `Config` once and dispatches here.

mod check;
mod completions;
mod config;
mod defs;
mod doctor;
mod eval;
mod export;
mod jupyter;
mod lsp;
mod man;
mod profile;
mod repl;
mod run;
mod sandbox;
mod test;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rhai::EvalAltResult;

use crate::cli::{Command, GlobalArgs};
use crate::config::{ConfigError, ConfigFile, ConnectionFlags};
use crate::failure::{Failure, Outcome};
use crate::script::evaluation::Evaluation;
use crate::script::permissions::Permissions;
use crate::session::Session;

/// What a command needs from the command line and the config file, read once.
pub(crate) struct Config {
    pub(crate) runtime: tokio::runtime::Runtime,
    /// How to reach the dialer: the flags (`--url`, `--profile`, `--sandbox`, …).
    pub(crate) connection: ConnectionFlags,
    /// `--yes`: changes to a remote dialer need no confirmation.
    pub(crate) assume_yes: bool,
    /// The global flags as given: `--allow-*` (what scripts may touch beyond their folders),
    /// and what a kernel spec writes back into its command line.
    global: GlobalArgs,
    /// The folders of the scripts the command runs: theirs to read and write.
    script_folders: Vec<PathBuf>,
    file: OnceLock<Result<Option<(PathBuf, ConfigFile)>, ConfigError>>,
}

impl Config {
    pub(crate) fn new(
        global: GlobalArgs,
        command: &Option<Command>,
        runtime: tokio::runtime::Runtime,
    ) -> Config {
        Config {
            runtime,
            connection: ConnectionFlags {
                url: global.url.clone(),
                user: global.user.clone(),
                profile: global.profile.clone(),
                sandbox: global.sandbox,
                allow_http: global.allow_http,
                verbose: global.verbose,
                describe_only: false,
            },
            assume_yes: global.yes,
            global,
            script_folders: script_folders(command),
            file: OnceLock::new(),
        }
    }

    /// The global flags as given (a kernel spec writes them back into its command line).
    pub(crate) fn global(&self) -> &GlobalArgs {
        &self.global
    }

    /// The config file, read on first use (a command that needs none never fails on it).
    pub(crate) fn file(&self) -> Result<Option<&(PathBuf, ConfigFile)>, &ConfigError> {
        self.file
            .get_or_init(crate::session::load_config)
            .as_ref()
            .map(Option::as_ref)
    }

    /// The connection, the embedded sandbox or a dialer, with the script host.
    pub(crate) fn start_session(&self, dry_run: bool) -> Result<Session, Failure> {
        let file = self
            .file()
            .map_err(|e| Failure::Usage(format!("tdc: {e}")))?
            .cloned();
        let session = Session::start(
            &self.runtime,
            &self.connection,
            file,
            dry_run,
            self.assume_yes,
        )
        .map_err(|e| Failure::Usage(format!("tdc: {e}")))?;
        session.host.powers().install(self.permissions());
        Ok(session)
    }

    /// What scripts may touch: their folders and the working directory, the profiles' hosts,
    /// what the flags and the active profile allow; never tdc's own files.
    pub(crate) fn permissions(&self) -> Permissions {
        use crate::script::permissions::hosts_of;
        let folders = &self.script_folders;
        let env = |name: &str| std::env::var(name).ok();
        let global = &self.global;
        let mut permissions = Permissions {
            all: global.allow_all,
            read: global.allow_read.clone(),
            write: global.allow_write.clone(),
            net: global.allow_net.clone(),
            env: global.allow_env.clone(),
            ..Permissions::default()
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        for folder in folders.iter().chain(std::iter::once(&cwd)) {
            permissions.read.push(folder.clone());
            permissions.write.push(folder.clone());
        }
        // A config file that cannot be read grants nothing; the command says why when it
        // needs the file.
        if let Ok(Some((_, file))) = self.file() {
            for profile in file.profiles.values() {
                permissions
                    .net
                    .extend(profile.url.as_deref().map(hosts_of).unwrap_or_default());
            }
            let active = global
                .profile
                .clone()
                .or_else(|| env("TDC_PROFILE").filter(|p| !p.is_empty()))
                .or_else(|| file.default_profile.clone());
            if let Some(profile) = active.and_then(|name| file.profiles.get(&name)) {
                permissions.read.extend(profile.allow_read.iter().cloned());
                permissions
                    .write
                    .extend(profile.allow_write.iter().cloned());
                permissions.net.extend(profile.allow_net.iter().cloned());
                permissions.env.extend(profile.allow_env.iter().cloned());
            }
        }
        if let Some(url) = global.url.clone().or_else(|| env("TDC_URL")) {
            permissions.net.extend(hosts_of(&url));
        }
        // tdc's own files: the config folder, the history, the audit log.
        permissions.protected.extend(
            crate::config::config_path(&env)
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .into_iter()
                .chain(dirs::data_dir().map(|d| d.join("tdc")))
                .chain(
                    crate::api::audit::default_path(&env)
                        .and_then(|p| p.parent().map(Path::to_path_buf)),
                ),
        );
        permissions
    }
}

/// Runs `command` (none is the REPL).
pub(crate) fn execute(command: Option<Command>, config: &Config) -> Outcome {
    match command {
        Some(Command::Sandbox(args)) => sandbox::execute(config, args),
        Some(Command::Run(args)) => run::execute(config, args),
        Some(Command::Eval(args)) => eval::execute(config, args),
        Some(Command::Check(args)) => check::execute(args),
        Some(Command::Test(args)) => test::execute(config, args),
        Some(Command::Config) => config::execute(config),
        None | Some(Command::Repl) => repl::execute(config),
        Some(Command::Defs(args)) => defs::execute(config, &args.dir),
        Some(Command::Lsp) => lsp::execute(),
        Some(Command::Profile { action }) => profile::execute(*action),
        Some(Command::Export(args)) => export::execute(config, args),
        Some(Command::Doctor) => Failure::from_code(doctor::run(config)),
        Some(Command::Man(args)) => man::execute(args),
        Some(Command::Completions(args)) => completions::execute(args.shell),
        Some(Command::Jupyter { action }) => jupyter::execute(config, action),
    }
}

/// The folders of the scripts a command runs (their files are the scripts' own).
fn script_folders(command: &Option<Command>) -> Vec<PathBuf> {
    let folder_of = |path: &Path| {
        if path.is_dir() {
            path.to_path_buf()
        } else {
            script_folder(path)
        }
    };
    match command {
        Some(Command::Run(args)) => vec![folder_of(&args.file)],
        Some(Command::Test(args)) => args.paths.iter().map(|p| folder_of(p)).collect(),
        _ => Vec::new(),
    }
}

/// How an evaluation failed: interrupted, or its diagnostic.
fn report(evaluation: &Evaluation, error: &EvalAltResult) -> Failure {
    if matches!(error, EvalAltResult::ErrorTerminated(..)) {
        return Failure::Interrupted("tdc: interrupted".into());
    }
    Failure::Failed(evaluation.diagnostic(error).to_string())
}

/// A script file (or standard input for `-`), compiled: unreadable is a usage error, a syntax
/// error its diagnostic.
fn compile_file(file: &Path) -> Result<Evaluation, Failure> {
    let source = crate::script::engine::read_script_file(file)
        .map_err(|e| Failure::Usage(format!("tdc: cannot read {}: {e}", file.display())))?;
    let name = match file.as_os_str() == "-" {
        true => "<stdin>".to_string(),
        false => file.display().to_string(),
    };
    Evaluation::compile(&name, source).map_err(|d| Failure::Failed(d.to_string()))
}

/// The folder a script's imports are resolved from.
fn script_folder(file: &Path) -> PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
