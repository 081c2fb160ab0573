//! The command line (clap types only), turned into plain values for `app`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::sandbox::{AuthScheme, NumberStyle};

#[derive(Debug, Parser)]
#[command(name = "tdc", version, about = "tdc, the TD dialer automation console")]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Connection flags, accepted before or after the subcommand. The password is never a flag:
/// it comes from TDC_PASSWORD, the profile, or a prompt.
#[derive(Debug, Clone, Args)]
pub(crate) struct GlobalArgs {
    /// Dialer base URL (or TDC_URL), e.g. https://example.td.commpeak.com
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// API user (or TDC_USER).
    #[arg(long, global = true, value_name = "USER")]
    pub(crate) user: Option<String>,
    /// Profile from the config file (or TDC_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Use the embedded sandbox, whatever is configured.
    #[arg(long, global = true)]
    pub(crate) sandbox: bool,
    /// Trace every request and answer on stderr (never headers or credentials).
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// Change remote dialers without asking (needed without a terminal).
    #[arg(long, short = 'y', global = true)]
    pub(crate) yes: bool,
    /// Allow plain http:// to a host that is not on this machine.
    #[arg(long, global = true)]
    pub(crate) allow_http: bool,
    /// Let scripts read files under PATH (besides their folder and the working directory).
    #[arg(long, global = true, value_name = "PATH", value_delimiter = ',')]
    pub(crate) allow_read: Vec<PathBuf>,
    /// Let scripts write files under PATH (besides their folder and the working directory).
    #[arg(long, global = true, value_name = "PATH", value_delimiter = ',')]
    pub(crate) allow_write: Vec<PathBuf>,
    /// Let scripts connect to HOST, HOST:PORT or a URL's host and port (no path) with
    /// dialer(#{url: ...}), notify and http_post (besides the config's profiles).
    #[arg(long, global = true, value_name = "HOST", value_delimiter = ',', value_parser = NetEntry)]
    pub(crate) allow_net: Vec<String>,
    /// Let scripts read the environment variable NAME (env(), password_env of dialer(#{...})).
    #[arg(long, global = true, value_name = "NAME", value_delimiter = ',')]
    pub(crate) allow_env: Vec<String>,
    /// Lift the limits on what scripts may read, write, connect to and see of the environment
    /// (tdc's own files stay off limits).
    #[arg(long, global = true)]
    pub(crate) allow_all: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The interactive console (also what `tdc` alone starts).
    #[command(
        after_help = "Examples:\n  tdc                     the console on the active connection\n  tdc --profile prod repl on a profile of the config file\n  tdc --sandbox           on the embedded sandbox, whatever is configured"
    )]
    Repl,
    /// Run a script; what follows FILE reaches it as the array ARGS.
    #[command(
        after_help = "Examples:\n  tdc run scripts/cdr_report.rhai 2025-01-01 2025-01-06\n  tdc run --dry-run scripts/dedupe.rhai        print the changes, send nothing\n  tdc run --watch -w leads.csv import.rhai     re-run on every save\n  echo 'print(42);' | tdc run -                the script from standard input\n  tdc run --watch rules.rhai                   a follower: a new version takes over between two records\n  tdc run --every 15m --status-addr 127.0.0.1:9464 recycle.rhai   a job every quarter hour, with /metrics"
    )]
    Run(RunArgs),
    /// Compile scripts without running them; errors as FILE:LINE:COL.
    #[command(after_help = "Examples:\n  tdc check scripts/*.rhai")]
    Check(CheckArgs),
    /// Evaluate code once and print the result as JSON.
    #[command(
        after_help = "Examples:\n  tdc eval 'td.campaigns().len()'\n  tdc eval 'td.cdrs().limit(5).to_array()' | jq '.[].status'"
    )]
    Eval(EvalArgs),
    /// Run every `fn test_*()` in .rhai files, each on a fresh embedded sandbox.
    #[command(
        after_help = "Examples:\n  tdc test tests/stdlib\n  tdc test -k kpis tests/stdlib          only tests whose name contains kpis\n  tdc test --junit results.xml"
    )]
    Test(TestArgs),
    /// Show the effective connection and where each value came from.
    #[command(after_help = "Examples:\n  tdc config\n  tdc --profile prod config")]
    Config,
    /// Write Rhai definition files (.d.rhai) for editors.
    #[command(after_help = "Examples:\n  tdc defs              writes defs/*.d.rhai")]
    Defs(DefsArgs),
    /// Serve the Language Server Protocol on stdin and stdout, for editors: errors as you
    /// type, completion, hover, signature help, go to definition.
    #[command(
        after_help = "Examples:\n  tdc lsp               started by an editor for *.rhai files (see the README)"
    )]
    Lsp,
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  tdc completions bash > ~/.local/share/bash-completion/completions/tdc"
    )]
    Completions(CompletionsArgs),
    /// List, show, add, change, remove or choose the config file's profiles (comments are
    /// kept).
    #[command(
        after_help = "Examples:\n  tdc profile list\n  tdc profile add prod --url https://example.td.commpeak.com --user ops --password-cmd 'pass show td/prod' --read-only\n  tdc profile set prod --timezone Europe/London --default-region GB --auth digest\n  tdc profile use prod\n  tdc profile show prod"
    )]
    Profile {
        #[command(subcommand)]
        action: Box<ProfileAction>,
    },
    /// Check the connection step by step: config, DNS, connection, TLS, authentication, latency, clock.
    #[command(after_help = "Examples:\n  tdc doctor\n  tdc --profile prod doctor")]
    Doctor,
    /// Export CDRs, calls or leads as a dataset for DuckDB, Spark or a warehouse: Parquet
    /// partitioned by day, kept up to date by re-running it.
    #[command(
        after_help = "Examples:\n  tdc export cdrs --out warehouse\n  tdc export cdrs --since 2025-01-01 --until 2025-02-01 --format ndjson --out exports\n  duckdb -c \"select count(*) from read_parquet('warehouse/cdrs/*/*.parquet', hive_partitioning=true)\""
    )]
    Export(ExportArgs),
    /// Print a manual page (roff), generated from these definitions: tdc(1), or a command's
    /// own page; --out writes every page.
    #[command(
        after_help = "Examples:\n  tdc man | man -l -\n  tdc man export | man -l -              tdc-export(1)\n  tdc man profile add | man -l -         tdc-profile-add(1)\n  tdc man --out ~/.local/share/man/man1  tdc.1, tdc-run.1, tdc-export.1, …"
    )]
    Man(ManArgs),
    /// Notebooks: install tdc's Jupyter kernel (one kernel spec per profile), remove it, or
    /// run it (Jupyter does, with the connection file it wrote).
    #[command(
        after_help = "Examples:\n  tdc jupyter install                    the connection tdc run would use\n  tdc jupyter install --profile prod     a kernel named tdc-prod, on profile prod\n  tdc jupyter install --sandbox          on the embedded sandbox\n  tdc jupyter remove --profile prod\n  jupyter lab scripts/cdr_analysis.ipynb"
    )]
    Jupyter {
        #[command(subcommand)]
        action: JupyterAction,
    },
    /// Serve the sandbox dialer: a local twin of the TD API with realistic data.
    #[command(
        after_help = "Examples:\n  tdc sandbox\n  tdc sandbox --numbers json --auth digest --live 60\n  tdc sandbox --faults 500=0.1,429=0.1,reset=0.05,lost=0.05 --latency-ms 20 --state twin.json"
    )]
    Sandbox(SandboxArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum JupyterAction {
    /// Write a kernel spec where `jupyter kernelspec list` finds it; the connection flags and
    /// --allow-* given here are the kernel's.
    #[command(
        after_help = "Examples:\n  tdc jupyter install                    the connection tdc run would use\n  tdc jupyter install --profile prod     a kernel named tdc-prod\n  tdc jupyter install --sandbox --allow-read ~/exports\n  tdc jupyter install --sys-prefix       into the active virtualenv"
    )]
    Install(KernelSpecArgs),
    /// Remove the kernel spec that install wrote for the same --profile (or --sandbox).
    #[command(
        after_help = "Examples:\n  tdc jupyter remove --profile prod\n  tdc jupyter remove --sandbox"
    )]
    Remove(KernelSpecArgs),
    /// Run the kernel on CONNECTION_FILE (Jupyter starts it so).
    #[command(
        after_help = "Examples:\n  tdc jupyter kernel ~/.local/share/jupyter/runtime/kernel-1.json   as kernel.json's argv has it"
    )]
    Kernel {
        /// The connection file Jupyter wrote (ports and signing key).
        connection_file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct KernelSpecArgs {
    /// In the Python environment's folder (sys.prefix of python3, e.g. an active virtualenv)
    /// instead of the user's Jupyter data folder (JUPYTER_DATA_DIR, else the platform's).
    /// (`--user` is the API user, as everywhere in tdc: the user's folder is the default.)
    #[arg(long)]
    pub(crate) sys_prefix: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportResource {
    Cdrs,
    Calls,
    Leads,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// What to export.
    #[arg(value_enum)]
    pub(crate) resource: ExportResource,
    /// The dataset's folder (the resource gets a folder inside it).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// parquet (typed columns, default), ndjson or csv.
    #[arg(long, default_value = "parquet", value_parser = one_of(&crate::export::Format::CHOICES))]
    pub(crate) format: crate::export::Format,
    /// From this time (YYYY-MM-DD[ HH:MM:SS], today, yesterday, -7d, -24h: as scripts'
    /// parse_time takes it); default: the cursor of the last run less the overlap, or
    /// everything.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub(crate) since: Option<String>,
    /// Up to (not including) this time (the same forms as --since).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub(crate) until: Option<String>,
    /// How far before the last run's end to read again (records are completed later).
    #[arg(long, default_value = "2h", value_name = "DURATION")]
    pub(crate) overlap: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProfileAction {
    /// Every profile, the default marked with *.
    #[command(after_help = "Examples:\n  tdc profile list\n  tdc profile list --names")]
    List {
        /// Only the names, one a line (for shell completion).
        #[arg(long)]
        names: bool,
    },
    /// One profile's settings (a stored password is never shown).
    #[command(after_help = "Examples:\n  tdc profile show prod")]
    Show { name: String },
    /// Add a profile; the password comes from a variable or a command, never a flag.
    #[command(
        after_help = "Examples:\n  tdc profile add prod --url https://example.td.commpeak.com --user ops --password-cmd 'pass show td/prod'\n  tdc profile add staging --url https://staging.example --user ops --password-env TD_STAGING_PW --default"
    )]
    Add {
        #[command(flatten)]
        profile: crate::profiles::NewProfile,
        /// Make it the default profile.
        #[arg(long = "default")]
        make_default: bool,
    },
    /// Change keys of a profile (those not given are kept).
    #[command(
        after_help = "Examples:\n  tdc profile set prod --timezone Europe/London --default-region GB\n  tdc profile set prod --read-only"
    )]
    Set {
        name: String,
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        settings: crate::profiles::ProfileSettings,
    },
    /// Remove a profile.
    #[command(after_help = "Examples:\n  tdc profile remove staging")]
    Remove { name: String },
    /// Make a profile the default.
    #[command(after_help = "Examples:\n  tdc profile use prod")]
    Use { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OnBusy {
    /// Stop the running script and start again.
    Restart,
    /// Let the running script finish, then run again.
    Queue,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Print mutating calls instead of sending them.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Re-run when FILE or a module it imports changes.
    #[arg(long)]
    pub(crate) watch: bool,
    /// With --watch: what a change during a run does.
    #[arg(long, value_enum, default_value = "restart", requires = "watch")]
    pub(crate) on_busy: OnBusy,
    /// With --watch: clear the screen before each run.
    #[arg(long, requires = "watch")]
    pub(crate) clear: bool,
    /// With --watch: poll every MS milliseconds instead of waiting for change events.
    #[arg(long, value_name = "MS", requires = "watch")]
    pub(crate) poll: Option<u64>,
    /// With --watch on the embedded sandbox: keep data across runs instead of starting each
    /// run from the same dataset.
    #[arg(long, requires = "watch")]
    pub(crate) keep_state: bool,
    /// With --watch: also re-run when this data file, or anything in this folder, changes
    /// (repeatable).
    #[arg(
        short = 'w',
        long = "watch-path",
        value_name = "PATH",
        requires = "watch"
    )]
    pub(crate) watch_paths: Vec<PathBuf>,
    /// Run the script every DURATION (`90s`, `15m`, `1h`) until stopped; runs never overlap.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["watch", "cron"])]
    pub(crate) every: Option<String>,
    /// Run the script when this cron pattern matches (`"*/15 * * * *"`, local time) until
    /// stopped; runs never overlap.
    #[arg(long, value_name = "PATTERN", conflicts_with = "watch")]
    pub(crate) cron: Option<String>,
    /// Serve /metrics (Prometheus) and /healthz on this address while the script runs
    /// (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    pub(crate) status_addr: Option<std::net::SocketAddr>,
    /// How status lines and errors of watch mode, schedules and followers are written.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) log_format: LogFormat,
    /// The script (`-` reads it from standard input).
    pub(crate) file: PathBuf,
    /// Arguments for the script (the array ARGS).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub(crate) args: Vec<String>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// `[HH:MM:SS] text` lines.
    Text,
    /// One JSON object a line: `time`, `level`, `message`.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The scripts to compile.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct DefsArgs {
    /// The folder to write into.
    #[arg(default_value = "defs")]
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The command whose page to print (e.g. `export`, `profile add`); none: tdc(1).
    pub(crate) command: Vec<String>,
    /// Write every page (tdc.1 and one per command) into this folder instead.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Run only the tests whose name contains PATTERN.
    #[arg(short = 'k', value_name = "PATTERN")]
    pub(crate) filter: Option<String>,
    /// Files or folders (searched recursively); default: the current folder.
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Print mutating calls instead of sending them.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Output format: json (indented, default), ndjson (one value a line, a Query streamed),
    /// csv (nested maps as dotted columns, a Query streamed) or table.
    #[arg(short = 'o', long = "output", default_value = "json", value_parser = one_of(&crate::output::formats::Format::CHOICES))]
    pub(crate) format: crate::output::formats::Format,
    /// A jq filter applied to the JSON result (to each record with -o ndjson).
    #[arg(long, value_name = "FILTER")]
    pub(crate) jq: Option<String>,
    /// Rhai code, e.g. 'td.cdrs().limit(3).to_array()'
    pub(crate) code: String,
}

#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8025")]
    pub(crate) addr: SocketAddr,
    /// Seed of the generated data: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// How many leads to generate.
    #[arg(long, default_value_t = 5000)]
    pub(crate) leads: usize,
    /// How many CDRs (and calls, one per CDR) to generate.
    #[arg(long, default_value_t = 20000)]
    pub(crate) cdrs: usize,
    /// Delay every response by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub(crate) latency_ms: u64,
    /// Injected failures, e.g. 500=0.05,429=0.05,reset=0.02,lost=0.02,slow=0.05
    #[arg(long, default_value = "")]
    pub(crate) faults: String,
    /// Keep the data in this file, so that it survives a restart.
    #[arg(long)]
    pub(crate) state: Option<PathBuf>,
    /// How numbers are written: strings (as the vendor guide shows), json (JSON numbers, as
    /// real tenants send CDRs) or mixed (per record).
    #[arg(long, env = "TDC_SANDBOX_NUMBERS", default_value = "strings", value_parser = parse_from_str::<NumberStyle>)]
    pub(crate) numbers: NumberStyle,
    /// Authentication the sandbox accepts: basic or digest (RFC 7616, MD5, realm "api").
    #[arg(long, env = "TDC_SANDBOX_AUTH", default_value = "basic", value_parser = parse_from_str::<AuthScheme>)]
    pub(crate) auth: AuthScheme,
    /// A live dialer: this many new calls a minute, each completed when it ends (0: off).
    #[arg(long, default_value_t = 0)]
    pub(crate) live: u32,
    /// Allow an --addr other machines can reach (the sandbox's credentials are well known).
    #[arg(long)]
    pub(crate) public: bool,
}

/// One of a setting's named choices: clap checks the name and shell completion offers the
/// names.
fn one_of<T: Copy + Send + Sync + 'static>(
    choices: &'static [(&'static str, T)],
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(choices.iter().map(|(name, _)| *name))
        .try_map(move |name| crate::choice::choose(&name, "choice", choices))
}

/// An `--allow-net` entry ([`crate::config::net_entry`]). Its refusal is the
/// reason alone: clap's own would repeat the value, which may hold a password or a webhook's
/// secret path.
#[derive(Clone)]
pub(crate) struct NetEntry;

impl clap::builder::TypedValueParser for NetEntry {
    type Value = String;

    fn parse_ref(
        &self,
        command: &clap::Command,
        _: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let text = value.to_str().ok_or_else(|| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidUtf8,
                "--allow-net: a host is text\n",
            )
            .with_cmd(command)
        })?;
        crate::config::net_entry("--allow-net", text).map_err(|reason| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, reason + "\n")
                .with_cmd(command)
        })
    }
}

/// Reads a value with its `FromStr`, for clap.
fn parse_from_str<T: std::str::FromStr<Err = crate::choice::UnknownChoice>>(
    text: &str,
) -> Result<T, crate::choice::UnknownChoice> {
    text.parse()
}
