//! A session: the resolved connection, the embedded sandbox when no dialer is configured, and
//! the script host with its default dialer `td`. Every command that reaches a dialer starts
//! one (`check` needs none).

use std::sync::Arc;

use crate::config::{self, ConfigError, ConfigFile, Connection, ConnectionFlags, Secret, Target};
use crate::sandbox::{Dataset, Sandbox, SandboxOptions};
use crate::script::{Dialer, DialerError, Host};
use crate::terminal::sink::errln;

pub(crate) struct Session {
    pub(crate) connection: Connection,
    pub(crate) host: Arc<Host>,
    pub(crate) dialer: Dialer,
    /// Kept alive for the session when the connection is the embedded sandbox.
    pub(crate) sandbox: Option<Sandbox>,
    /// The embedded sandbox's data as generated, for runs that each start from it.
    pub(crate) dataset: Option<Dataset>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot start: {0}")]
    Sandbox(#[from] crate::sandbox::StartError),
    #[error("cannot start: {0}")]
    Dialer(#[from] crate::script::DialerError),
    #[error("timezone of the profile: {0}")]
    Zone(#[from] crate::time::TimeError),
    #[error("default_region of the profile: {0}")]
    Region(#[from] crate::phone::UnknownRegion),
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads the config file, if there is one.
pub(crate) fn load_config() -> Result<Option<(std::path::PathBuf, ConfigFile)>, ConfigError> {
    let Some(path) = config::config_path(&env_var) else {
        return Ok(None);
    };
    Ok(config::load_config_file(&path)?.map(|file| (path, file)))
}

/// Resolves the connection from flags, environment and config file.
pub(crate) fn resolve_connection(
    flags: &ConnectionFlags,
    config: Option<&(std::path::PathBuf, ConfigFile)>,
) -> Result<Connection, ConfigError> {
    Connection::resolve(flags, &env_var, config.map(|(p, c)| (p.as_path(), c)))
        .map(|c| c.with_embedded_credentials(crate::sandbox::USER, crate::sandbox::PASSWORD))
}

/// The embedded sandbox's connection, whatever the flags, environment and config file say:
/// for runs that each start a sandbox of their own (`tdc test`, `tdc defs`).
pub(crate) fn sandbox_connection() -> Result<Connection, ConfigError> {
    let flags = ConnectionFlags {
        sandbox: true,
        ..ConnectionFlags::default()
    };
    Connection::resolve(&flags, &|_| None, None)
        .map(|c| c.with_embedded_credentials(crate::sandbox::USER, crate::sandbox::PASSWORD))
}

impl Session {
    /// Resolves the connection, asks for a missing password on a terminal, and starts the
    /// embedded sandbox when no dialer is configured (saying so on stderr).
    pub(crate) fn start(
        runtime: &tokio::runtime::Runtime,
        flags: &ConnectionFlags,
        config: Option<(std::path::PathBuf, ConfigFile)>,
        dry_run: bool,
        assume_yes: bool,
    ) -> Result<Session, SessionError> {
        let mut connection = resolve_connection(flags, config.as_ref())?;
        for warning in &connection.warnings {
            errln!("tdc: {warning}");
        }
        let host = Host::new(runtime.handle().clone(), config, dry_run, assume_yes);
        host.set_verbose(connection.verbose);
        let (base_url, sandbox, dataset) = match &connection.target {
            Target::Embedded => {
                let options = SandboxOptions::default();
                let dataset = Dataset::load_or_generate(
                    options.state_file.as_deref(),
                    options.seed,
                    options.leads,
                    options.cdrs,
                )?;
                let sandbox = runtime.block_on(Sandbox::start_with(options, dataset.clone()))?;
                let notice = match flags.sandbox {
                    true => format!("using the embedded sandbox at {} (--sandbox)", sandbox.url()),
                    false => format!(
                        "no dialer configured; using the embedded sandbox at {} (set TDC_URL or a profile for a real dialer)",
                        sandbox.url()
                    ),
                };
                crate::terminal::log::tdc_line("info", &notice);
                let url = url::Url::parse(&sandbox.url()).map_err(|source| {
                    crate::script::DialerError::BadUrl {
                        url: sandbox.url(),
                        source,
                    }
                })?;
                (url, Some(sandbox), Some(dataset))
            }
            Target::Url(url) => {
                // Before a password is asked for.
                connection.require_user(url)?;
                if connection.password.is_none() {
                    connection.password = Some(prompt_password(&connection, url)?);
                    if let Some(source) = connection.sources.iter_mut().find(|s| s.0 == "password")
                    {
                        source.1 = "entered at the prompt".to_string();
                    }
                }
                (url.clone(), None, None)
            }
        };
        host.set_locale(crate::script::Locale {
            zone: connection
                .timezone
                .as_deref()
                .map(crate::time::timezone)
                .transpose()?,
            region: connection
                .default_region
                .as_deref()
                .map(crate::phone::region)
                .transpose()?,
        });
        let options = connection.client_options(&base_url)?;
        let client = Arc::new(crate::api::Client::new(options).map_err(DialerError::from)?);
        let remote = connection.is_remote() && !connection.read_only;
        let dialer = Dialer::new(client, connection.label(), host.clone(), remote);
        Ok(Session {
            connection,
            host,
            dialer,
            sandbox,
            dataset,
        })
    }

    /// The one-line banner naming a connection that is not the embedded sandbox.
    pub(crate) fn banner(&self) -> Option<String> {
        match &self.connection.target {
            Target::Embedded => None,
            Target::Url(url) => Some(match &self.connection.profile {
                Some(profile) => format!("profile {profile} ({})", url.host_str().unwrap_or("")),
                None => url.host_str().unwrap_or("dialer").to_string(),
            }),
        }
    }

    pub(crate) fn stop(self, runtime: &tokio::runtime::Runtime) {
        if let Some(sandbox) = self.sandbox {
            runtime.block_on(sandbox.stop());
        }
    }
}

fn prompt_password(connection: &Connection, url: &url::Url) -> Result<Secret, ConfigError> {
    use std::io::IsTerminal;
    let missing = || ConfigError::NoPassword {
        user: connection.user.clone(),
        url: url.to_string(),
    };
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(missing());
    }
    let prompt = format!(
        "Password for {} at {}: ",
        connection.user,
        url.host_str().unwrap_or("")
    );
    rpassword::prompt_password(prompt)
        .map(Secret::new)
        .map_err(|_| missing())
}

/// Interrupts the host on Ctrl-C (every time when `repeat`, else once). The handler is in
/// place when this returns, so an early Ctrl-C cannot kill the process instead.
pub(crate) fn interrupt_on_ctrl_c(
    runtime: &tokio::runtime::Runtime,
    host: &Arc<Host>,
    repeat: bool,
) {
    let host = host.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let registered = runtime.block_on(async { signal(SignalKind::interrupt()) });
        if let Ok(mut interrupts) = registered {
            runtime.spawn(async move {
                while interrupts.recv().await.is_some() {
                    host.interrupt();
                    if !repeat {
                        break;
                    }
                }
            });
            return;
        }
    }
    runtime.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            host.interrupt();
            if !repeat {
                break;
            }
        }
    });
}
