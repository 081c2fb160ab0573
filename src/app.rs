//! The binary's edge: parse the command line, run the command, map errors to exit codes
//! (0 success, 1 script error, 2 usage or config error, 130 interrupted).

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use clap::Parser;
use rhai::EvalAltResult;

use crate::cli::{CheckArgs, Cli, Command, EvalArgs, GlobalArgs, RunArgs, SandboxArgs, TestArgs};
use crate::config::ConnectionFlags;
use crate::output::diagnostic;
use crate::sandbox::faults::FaultSpec;
use crate::sandbox::{Sandbox, SandboxOptions};
use crate::script::engine::{compile_engine, spawn_script, LoadedFiles, ScriptJob, ScriptResult};
use crate::script::Host;
use crate::session::Session;

pub use crate::session::{interrupt_on_ctrl_c, Failure, Outcome, EXIT_OK, EXIT_SCRIPT, EXIT_USAGE};

/// Output that cannot be written is not a crash: a closed pipe (`| head`) ends tdc quietly with
/// 0, as it ends other command-line tools, and any other failure (`> /dev/full`) is one line
/// and exit 1. This catches the printing macros everywhere (REPL, `tdc test`, messages).
fn quiet_output_errors() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if let Some(reason) = message.strip_prefix("failed printing to stdout: ") {
            if reason.contains("Broken pipe") {
                std::process::exit(EXIT_OK);
            }
            eprintln!("tdc: cannot write output: {reason}");
            std::process::exit(EXIT_SCRIPT);
        }
        default(info);
    }));
}

/// Runs `tdc` with these arguments and returns the exit code; a failure's message is printed
/// here and nowhere else.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    quiet_output_errors();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tdc: cannot start the async runtime: {e}");
            return EXIT_SCRIPT;
        }
    };
    if let Some(folders) = script_folders(&cli.command) {
        install_permissions(&cli.global, &folders);
    }
    let outcome = match cli.command {
        Some(Command::Sandbox(args)) => runtime.block_on(serve_sandbox(args)),
        Some(Command::Run(args)) => run_file(&runtime, &cli.global, args),
        Some(Command::Eval(args)) => eval(&runtime, &cli.global, args),
        Some(Command::Check(args)) => check(args),
        Some(Command::Test(args)) => run_rhai_tests(&runtime, args),
        Some(Command::Config) => show_config(&cli.global),
        None | Some(Command::Repl) => repl(&runtime, &cli.global),
        Some(Command::Defs(args)) => write_definitions(&runtime, &args.dir),
        Some(Command::Profile { action }) => manage_profiles(action),
        Some(Command::Export(args)) => export(&runtime, &cli.global, args),
        Some(Command::Doctor) => {
            Failure::from_code(crate::doctor::run(&runtime, &connection_flags(&cli.global)))
        }
        Some(Command::Man(args)) => manual(args),
        Some(Command::Completions(args)) => completions(args.shell),
        Some(Command::Jupyter { action }) => {
            crate::jupyter::command(&runtime, &cli.global, action, || {
                start_session(&runtime, &cli.global, false)
            })
        }
    };
    // Background work (an embedded sandbox's connections, page prefetches) must not hold the
    // exit up.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match outcome {
        Ok(()) => EXIT_OK,
        Err(failure) => {
            if let Some(message) = failure.message() {
                eprintln!("{}", crate::config::redact_urls_in(message));
            }
            failure.code()
        }
    }
}

/// The manual: tdc(1) or a command's page on stdout, or every page into a folder. Pages are
/// named as clap_mangen's SEE ALSO and SUBCOMMANDS sections name them (`tdc-profile-add(1)`).
fn manual(args: crate::cli::ManArgs) -> Outcome {
    use clap::CommandFactory;
    let failed = |e: std::io::Error| Failure::Failed(format!("tdc man: {e}"));
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    if let Some(dir) = args.out {
        std::fs::create_dir_all(&dir)
            .and_then(|()| clap_mangen::generate_to(command.clone(), &dir))
            .map_err(|e| {
                Failure::Failed(format!("tdc man: cannot write {}: {e}", dir.display()))
            })?;
        fn pages(command: &clap::Command) -> usize {
            let visible = command.get_subcommands().filter(|c| !c.is_hide_set());
            1 + visible.map(pages).sum::<usize>()
        }
        println!(
            "wrote {} manual pages to {}",
            pages(&command),
            dir.display()
        );
        return Ok(());
    }
    let mut page = &command;
    for name in &args.command {
        page = page.find_subcommand(name).ok_or_else(|| {
            let known: Vec<&str> = page.get_subcommands().map(|c| c.get_name()).collect();
            Failure::Usage(format!(
                "tdc man: '{}' has no command '{name}' (it has {})",
                page.get_display_name().unwrap_or("tdc"),
                known.join(", ")
            ))
        })?;
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(page.clone())
        .render(&mut out)
        .map_err(failed)?;
    Failure::from_code(crate::terminal::write_stdout(&out))
}

/// A completion script. Bash's is clap's with the profiles of the config file offered for
/// `--profile` (clap's would offer file names): each completion asks `tdc profile list
/// --names`.
fn completions(shell: clap_complete::Shell) -> Outcome {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tdc", &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if shell == clap_complete::Shell::Bash {
        let files = "                    COMPREPLY=($(compgen -f \"${cur}\"))";
        let profiles = "                    COMPREPLY=($(compgen -W \"$(tdc profile list --names 2>/dev/null)\" -- \"${cur}\"))";
        script = script.replace(
            &format!("                --profile)\n{files}"),
            &format!("                --profile)\n{profiles}"),
        );
    }
    Failure::from_code(crate::terminal::write_stdout(script.as_bytes()))
}

/// The folders of the scripts a command runs (their files are the scripts' own), or `None`
/// for commands that run no script.
fn script_folders(command: &Option<Command>) -> Option<Vec<std::path::PathBuf>> {
    let folder_of = |path: &Path| {
        if path.is_dir() {
            path.to_path_buf()
        } else {
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| std::path::PathBuf::from("."), Path::to_path_buf)
        }
    };
    match command {
        Some(Command::Run(args)) => Some(vec![folder_of(&args.file)]),
        Some(Command::Test(args)) => Some(args.paths.iter().map(|p| folder_of(p)).collect()),
        Some(Command::Eval(_)) | Some(Command::Repl) | None => Some(Vec::new()),
        // Jupyter starts a kernel in its notebook's folder.
        Some(Command::Jupyter {
            action: crate::cli::JupyterAction::Kernel { .. },
        }) => Some(Vec::new()),
        _ => None,
    }
}

/// What scripts may touch: their folders and the working directory, the profiles' hosts,
/// what the flags and the active profile allow; never tdc's own files.
fn install_permissions(global: &GlobalArgs, folders: &[std::path::PathBuf]) {
    use crate::script::permissions::{hosts_of, install, Permissions};
    let env = |name: &str| std::env::var(name).ok();
    let config = crate::session::load_config().ok().flatten();
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
    if let Some((_, file)) = &config {
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
    install(permissions);
}

fn export(
    runtime: &tokio::runtime::Runtime,
    global: &GlobalArgs,
    args: crate::cli::ExportArgs,
) -> Outcome {
    use crate::api::query::{QuerySpec, Resource};
    let resource = match args.resource {
        crate::cli::ExportResource::Cdrs => Resource::Cdrs,
        crate::cli::ExportResource::Calls => Resource::Calls,
        crate::cli::ExportResource::Leads => Resource::Leads,
    };
    let overlap_s = crate::export::parse_duration(&args.overlap)
        .map_err(|e| Failure::Usage(format!("tdc export: --overlap: {e}")))?;
    // Checked before a dialer is reached; read again by the export, in the profile's zone.
    for (option, time) in [("--since", &args.since), ("--until", &args.until)] {
        if let Some(time) = time {
            crate::export::parse_bound(option, time)
                .map_err(|e| Failure::Usage(format!("tdc export: {e}")))?;
        }
    }
    let session = start_session(runtime, global, false)?;
    let options = crate::export::ExportOptions {
        resource,
        out: args.out,
        format: args.format,
        since: args.since,
        until: args.until,
        overlap_s,
    };
    let client = session.dialer.client.clone();
    let progress = crate::terminal::progress::counter(resource.envelope());
    let counter = progress.clone();
    let work = crate::export::run(client, QuerySpec::new(resource), &options, move |n| {
        counter.inc(n)
    });
    let outcome = runtime.block_on(async {
        tokio::select! {
            result = work => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    progress.finish_and_clear();
    let outcome = match outcome {
        None => Err(Failure::Interrupted("tdc export: interrupted; the partitions written are whole, and the next run starts from the last complete one".into())),
        Some(Ok(summary)) => {
            eprintln!(
                "tdc export: {} rows in {} day partitions under {} (from {} to {})",
                summary.rows,
                summary.partitions,
                options.out.join(resource.envelope()).display(),
                summary.since.as_deref().unwrap_or("the start"),
                summary.until.as_deref().unwrap_or("-")
            );
            Ok(())
        }
        Some(Err(e)) => Err(Failure::Failed(format!("tdc export: {e}"))),
    };
    session.stop(runtime);
    outcome
}

fn manage_profiles(action: Box<crate::cli::ProfileAction>) -> Outcome {
    use crate::cli::ProfileAction;
    let result = match *action {
        ProfileAction::List { names } => crate::profiles::list(names),
        ProfileAction::Show { name } => crate::profiles::show(&name),
        ProfileAction::Add {
            profile,
            make_default,
        } => crate::profiles::add(&profile, make_default),
        ProfileAction::Set {
            name,
            url,
            settings,
        } => crate::profiles::set(&name, url.as_deref(), &settings),
        ProfileAction::Remove { name } => crate::profiles::remove(&name),
        ProfileAction::Use { name } => crate::profiles::use_profile(&name),
    };
    let text = result.map_err(|e| Failure::Usage(format!("tdc profile: {e}")))?;
    println!("{text}");
    Ok(())
}

fn connection_flags(global: &GlobalArgs) -> ConnectionFlags {
    ConnectionFlags {
        url: global.url.clone(),
        user: global.user.clone(),
        profile: global.profile.clone(),
        sandbox: global.sandbox,
        allow_http: global.allow_http,
        verbose: global.verbose,
        describe_only: false,
    }
}

fn start_session(
    runtime: &tokio::runtime::Runtime,
    global: &GlobalArgs,
    dry_run: bool,
) -> Result<Session, Failure> {
    Session::start(runtime, &connection_flags(global), dry_run, global.yes)
        .map_err(|e| Failure::Usage(format!("tdc: {e}")))
}

/// How an evaluation failed: interrupted, or its diagnostic.
fn report(error: &EvalAltResult, file: &str, source: &str) -> Failure {
    if matches!(error, EvalAltResult::ErrorTerminated(..)) {
        return Failure::Interrupted("tdc: interrupted".into());
    }
    Failure::Failed(diagnostic::from_eval_error(error, file, source).to_string())
}

fn read_script(file: &Path) -> Result<String, Failure> {
    crate::script::engine::read_script_file(file)
        .map_err(|e| Failure::Usage(format!("tdc: cannot read {}: {e}", file.display())))
}

/// The folder a script's imports are resolved from.
fn script_folder(file: &Path) -> std::path::PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// Evaluates `source` on a thread of its own and waits for the outcome.
fn evaluate(
    session: &Session,
    base: &Path,
    name: &str,
    source: String,
    args: Vec<String>,
) -> ScriptResult {
    let job = ScriptJob {
        host: session.host.clone(),
        dialer: session.dialer.clone(),
        base: base.to_path_buf(),
        name: name.to_string(),
        source,
        args,
        loaded: LoadedFiles::default(),
        exits_after: true,
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    match spawn_script(job, move |outcome| {
        let _ = sender.send(outcome);
    }) {
        Ok(handle) => {
            let outcome = receiver
                .recv()
                .unwrap_or_else(|_| Err(crate::script::script_error("the script thread panicked")));
            let _ = handle.join();
            outcome
        }
        Err(e) => Err(crate::script::script_error(format!(
            "cannot start the script thread: {e}"
        ))),
    }
}

fn run_file(runtime: &tokio::runtime::Runtime, global: &GlobalArgs, args: RunArgs) -> Outcome {
    let from_stdin = args.file.as_os_str() == "-";
    crate::terminal::log::set_json(args.log_format == crate::cli::LogFormat::Json);
    if let Some(addr) = args.status_addr {
        let bound = runtime
            .block_on(crate::status::serve(addr))
            .map_err(|e| Failure::Usage(format!("tdc: --status-addr {addr}: {e}")))?;
        crate::terminal::log::info(&format!(
            "status on http://{bound}/metrics and http://{bound}/healthz"
        ));
    }
    if args.every.is_some() || args.cron.is_some() {
        if from_stdin {
            return Err(Failure::Usage(
                "tdc: a scheduled run needs a script file, not - (standard input)".into(),
            ));
        }
        return schedule_file(runtime, global, args);
    }
    if args.watch {
        if from_stdin {
            return Err(Failure::Usage(
                "tdc: --watch needs a script file, not - (standard input)".into(),
            ));
        }
        return watch_file(runtime, global, args);
    }
    let source = read_script(&args.file)?;
    let name = if from_stdin {
        "<stdin>".to_string()
    } else {
        args.file.display().to_string()
    };
    if let Err(error) = compile_engine().compile(&source) {
        let diagnostic = diagnostic::from_parse_error(&error, &name, &source);
        return Err(Failure::Failed(diagnostic.to_string()));
    }
    let session = start_session(runtime, global, args.dry_run)?;
    if let Some(banner) = session.banner() {
        crate::terminal::log::tdc_line("info", &format!("running {name} on {banner}"));
    }
    interrupt_on_ctrl_c(runtime, &session.host, false);
    let outcome = evaluate(
        &session,
        &script_folder(&args.file),
        &name,
        source.clone(),
        args.args,
    );
    let outcome = outcome
        .map(drop)
        .map_err(|error| report(&error, &name, &source));
    session.stop(runtime);
    outcome
}

fn repl(runtime: &tokio::runtime::Runtime, global: &GlobalArgs) -> Outcome {
    let session = start_session(runtime, global, false)?;
    let code = crate::repl::run(runtime, &session);
    session.stop(runtime);
    Failure::from_code(code)
}

/// Editor definitions for every script function and type, and for `td`, `ARGS` and
/// `SCRIPT_DIR`, from the same metadata as the REPL's help.
fn write_definitions(runtime: &tokio::runtime::Runtime, dir: &Path) -> Outcome {
    let host = Host::new(runtime.handle().clone(), None, false, false);
    // Definitions only describe `td`: no sandbox needs to run at this address.
    let dialer = crate::script::Dialer::on_sandbox("http://127.0.0.1:8025", None, &host)
        .map_err(|e| Failure::Failed(format!("tdc defs: {e}")))?;
    let engine =
        crate::script::engine::script_engine(&host, Path::new("."), LoadedFiles::default());
    let scope = crate::script::engine::script_scope(dialer, &[], Path::new("."));
    let written = engine
        .definitions_with_scope(&scope)
        .iter_files()
        .try_for_each(|(name, text)| write_definition_file(&dir.join(name), &text))
        .and_then(|()| write_stdlib_definitions(&engine, dir));
    if let Err(e) = written {
        let dir = dir.display();
        return Err(Failure::Usage(format!("tdc defs: cannot write {dir}: {e}")));
    }
    println!("wrote Rhai definitions to {}", dir.display());
    Ok(())
}

/// One `<module>.d.rhai` per stdlib module, from its functions' `///` comments, so that an
/// editor knows `cdr::kpis` as it knows `count_by`.
fn write_stdlib_definitions(engine: &rhai::Engine, dir: &Path) -> std::io::Result<()> {
    use std::fmt::Write;
    let functions = crate::repl::catalog::stdlib_functions(engine);
    let modules = crate::script::engine::stdlib_names().chain(crate::script::engine::NATIVE_STDLIB);
    for module in modules {
        let mut text = format!("module {module};\n");
        let prefix = format!("{module}::");
        for f in functions.iter().filter(|f| f.name.starts_with(&prefix)) {
            text.push('\n');
            for line in f.doc.lines() {
                let _ = writeln!(text, "///{}{line}", if line.is_empty() { "" } else { " " });
            }
            let params: Vec<String> = f
                .params
                .iter()
                .map(|p| {
                    if p.contains(':') {
                        p.clone()
                    } else {
                        format!("{p}: ?")
                    }
                })
                .collect();
            let returns = if f.returns == "()" {
                "?"
            } else {
                f.returns.as_str()
            };
            let _ = writeln!(
                text,
                "fn {}({}) -> {returns};",
                &f.name[prefix.len()..],
                params.join(", ")
            );
        }
        write_definition_file(&dir.join(format!("{module}.d.rhai")), &text)?;
    }
    Ok(())
}

fn schedule_file(runtime: &tokio::runtime::Runtime, global: &GlobalArgs, args: RunArgs) -> Outcome {
    let schedule = match (&args.every, &args.cron) {
        (Some(every), _) => crate::schedule::Schedule::every(every),
        (None, Some(cron)) => crate::schedule::Schedule::cron(cron),
        (None, None) => Err("--every or --cron is needed for a schedule".to_string()),
    }
    .map_err(|e| Failure::Usage(format!("tdc: {e}")))?;
    let source = read_script(&args.file)?;
    let name = args.file.display().to_string();
    if let Err(error) = compile_engine().compile(&source) {
        let diagnostic = diagnostic::from_parse_error(&error, &name, &source);
        return Err(Failure::Failed(diagnostic.to_string()));
    }
    let session = start_session(runtime, global, args.dry_run)?;
    if let Some(banner) = session.banner() {
        crate::terminal::log::tdc_line("info", &format!("scheduling {name} on {banner}"));
    }
    let code = crate::schedule::run(runtime, &session, &args.file, args.args, schedule);
    session.stop(runtime);
    Failure::from_code(code)
}

fn write_definition_file(path: &Path, text: &str) -> std::io::Result<()> {
    crate::files::write_whole(crate::files::Access::own("tdc defs"), path, |file| {
        std::io::Write::write_all(file, text.as_bytes())
    })?;
    Ok(())
}

fn watch_file(runtime: &tokio::runtime::Runtime, global: &GlobalArgs, args: RunArgs) -> Outcome {
    let session = start_session(runtime, global, args.dry_run)?;
    if let Some(banner) = session.banner() {
        crate::terminal::log::tdc_line(
            "info",
            &format!("watching {} on {banner}", args.file.display()),
        );
    }
    let options = crate::watch::WatchOptions {
        file: args.file,
        args: args.args,
        queue: args.on_busy == crate::cli::OnBusy::Queue,
        clear: args.clear,
        poll: args.poll.map(Duration::from_millis),
        keep_state: args.keep_state,
        extra: args.watch_paths,
    };
    let code = crate::watch::watch(runtime, &session, options);
    session.stop(runtime);
    Failure::from_code(code)
}

fn eval(runtime: &tokio::runtime::Runtime, global: &GlobalArgs, args: EvalArgs) -> Outcome {
    let name = "<eval>";
    let jq = args
        .jq
        .as_deref()
        .map(crate::output::jq::Jq::compile)
        .transpose()
        .map_err(|e| Failure::Usage(format!("tdc: {e}")))?;
    if let Err(error) = compile_engine().compile(&args.code) {
        let diagnostic = diagnostic::from_parse_error(&error, name, &args.code);
        return Err(Failure::Failed(diagnostic.to_string()));
    }
    let session = start_session(runtime, global, args.dry_run)?;
    interrupt_on_ctrl_c(runtime, &session.host, false);
    let outcome = evaluate(
        &session,
        Path::new("."),
        name,
        args.code.clone(),
        Vec::new(),
    );
    let outcome = match outcome {
        Ok(value) => {
            use crate::output::formats::{write, Stop};
            match write(value, args.format, jq.as_ref()) {
                Ok(()) | Err(Stop::Closed) => Ok(()),
                Err(Stop::Failed(message)) => Err(Failure::Failed(format!("tdc: {message}"))),
            }
        }
        Err(error) => Err(report(&error, name, &args.code)),
    };
    session.stop(runtime);
    outcome
}

fn check(args: CheckArgs) -> Outcome {
    let engine = compile_engine();
    let mut problems = Vec::new();
    for file in &args.files {
        let source = match crate::script::engine::read_script_file(file) {
            Ok(source) => source,
            Err(e) => {
                problems.push(format!("{}: error: cannot read: {e}", file.display()));
                continue;
            }
        };
        if let Err(error) = engine.compile(&source) {
            let name = file.display().to_string();
            problems.push(diagnostic::from_parse_error(&error, &name, &source).to_string());
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Failure::Failed(problems.join("\n"))),
    }
}

fn run_rhai_tests(runtime: &tokio::runtime::Runtime, args: TestArgs) -> Outcome {
    let paths = if args.paths.is_empty() {
        vec![std::path::PathBuf::from(".")]
    } else {
        args.paths
    };
    let files = crate::testing::collect_files(&paths)
        .map_err(|e| Failure::Usage(format!("tdc test: {e}")))?;
    let results = crate::testing::run_tests(runtime, &files, args.filter.as_deref());
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    // The failures last, just above the count, where the eye lands.
    if failed > 0 {
        println!("\nfailures:");
        for r in results.iter().filter(|r| r.failure.is_some()) {
            let first = r
                .failure
                .as_deref()
                .and_then(|f| f.lines().next())
                .unwrap_or("");
            println!("  {}::{}: {first}", r.file, r.name);
        }
    }
    println!("{} passed, {failed} failed", results.len() - failed);
    if let Some(path) = &args.junit {
        let junit = crate::testing::junit(&results);
        let access = crate::files::Access::own("tdc test --junit");
        if let Err(e) = crate::files::write_whole(access, path, |file| {
            std::io::Write::write_all(file, junit.as_bytes())
        }) {
            let path = path.display();
            return Err(Failure::Usage(format!(
                "tdc test: cannot write {path}: {e}"
            )));
        }
    }
    if results.is_empty() {
        let files = files.len();
        return Err(Failure::Failed(match &args.filter {
            Some(pattern) => format!(
                "tdc test: no fn test_*() whose name contains '{pattern}' in {files} file(s)"
            ),
            None => format!("tdc test: no fn test_*() found in {files} file(s)"),
        }));
    }
    // The report on stdout says which failed.
    match failed {
        0 => Ok(()),
        _ => Err(Failure::Quiet(EXIT_SCRIPT)),
    }
}

fn show_config(global: &GlobalArgs) -> Outcome {
    let usage = |e: crate::config::ConfigError| Failure::Usage(format!("tdc: {e}"));
    let config = crate::session::load_config().map_err(usage)?;
    let flags = ConnectionFlags {
        describe_only: true,
        ..connection_flags(global)
    };
    let connection = crate::session::resolve_connection(&flags, config.as_ref()).map_err(usage)?;
    for warning in &connection.warnings {
        eprintln!("tdc: {warning}");
    }
    let config_line = match (
        &config,
        crate::config::config_path(&|n| std::env::var(n).ok()),
    ) {
        (Some((path, _)), _) => path.display().to_string(),
        (None, Some(path)) => format!("{} (not found)", path.display()),
        (None, None) => "none (no HOME or XDG_CONFIG_HOME)".to_string(),
    };
    let width = connection
        .sources
        .iter()
        .map(|(setting, _)| setting.len() + 2)
        .max()
        .unwrap_or(0)
        .max(12);
    println!("{:<width$}{config_line}", "config");
    for (setting, source) in &connection.sources {
        println!("{setting:<width$}{source}");
    }
    Ok(())
}

async fn serve_sandbox(args: SandboxArgs) -> Outcome {
    if !args.addr.ip().is_loopback() && !args.public {
        return Err(Failure::Usage(format!(
            "tdc sandbox: --addr {} can be reached from other machines, and the sandbox's credentials are well known; use a loopback address, or pass --public",
            args.addr
        )));
    }
    if args.public {
        eprintln!(
            "tdc sandbox: warning: serving on {} with the well-known credentials {}:{}; anyone who can reach it can read and change its data",
            args.addr,
            crate::sandbox::USER,
            crate::sandbox::PASSWORD
        );
    }
    let faults = FaultSpec::parse(&args.faults)
        .map_err(|e| Failure::Usage(format!("tdc sandbox: --faults: {e}")))?;
    let options = SandboxOptions {
        addr: args.addr,
        seed: args.seed,
        leads: args.leads,
        cdrs: args.cdrs,
        latency: Duration::from_millis(args.latency_ms),
        faults,
        state_file: args.state,
        numbers: args.numbers,
        auth: args.auth,
        live_per_minute: args.live,
    };
    let signals = StopSignals::register();
    let started = std::time::Instant::now();
    let sandbox = Sandbox::start(options)
        .await
        .map_err(|e| Failure::Usage(format!("tdc sandbox: {e}")))?;
    let scheme = match args.auth {
        crate::sandbox::AuthScheme::Basic => "Basic",
        crate::sandbox::AuthScheme::Digest => "Digest",
    };
    println!(
        "tdc sandbox listening on {} ({scheme} auth {}:{}; ready in {} ms)",
        sandbox.url(),
        crate::sandbox::USER,
        crate::sandbox::PASSWORD,
        started.elapsed().as_millis()
    );
    let interrupted = signals.wait().await;
    sandbox.stop().await;
    if interrupted {
        Err(Failure::Interrupted("tdc sandbox stopped".into()))
    } else {
        eprintln!("tdc sandbox stopped");
        Ok(())
    }
}

/// Ctrl-C and SIGTERM, registered as soon as this is made (before the sandbox says it
/// listens, so a signal sent right after the banner is never lost).
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn register() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            StopSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Waits for Ctrl-C (true) or SIGTERM (false).
    async fn wait(self) -> bool {
        #[cfg(unix)]
        if let (Some(mut interrupt), Some(mut terminate)) = (self.interrupt, self.terminate) {
            return tokio::select! {
                _ = interrupt.recv() => true,
                _ = terminate.recv() => false,
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        true
    }
}
