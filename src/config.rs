//! Where the connection comes from: flags > environment > config file profile, and with no URL
//! anywhere, the embedded sandbox.
//!
//! The config file is `$XDG_CONFIG_HOME/tdc/config.toml` (`~/.config/tdc/config.toml`):
//!
//! ```toml
//! default_profile = "prod"        # used when neither --profile nor TDC_PROFILE is given
//! [profiles.prod]
//! url = "https://example.td.commpeak.com"
//! user = "ops"
//! password_env = "TD_PROD_PASSWORD"   # or password_cmd = "pass show td/prod", or password
//! read_only = true
//! ```
//!
//! Passwords live in a [`Secret`], whose `Debug` and `Display` never show the value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub(crate) use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot read config file {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("profile '{name}' is not in {path}")]
    UnknownProfile { name: String, path: PathBuf },
    #[error("invalid dialer URL '{url}' ({from}): {message}")]
    BadUrl {
        url: String,
        from: String,
        message: String,
    },
    #[error("no password for {user} at {url}: set TDC_PASSWORD, or password_env / password_cmd in the profile")]
    NoPassword { user: String, url: String },
    #[error("no user for {url}: set TDC_USER, pass --user, or set user in the profile")]
    NoUser { url: String },
    #[error("no user or password for {url}: set TDC_USER and TDC_PASSWORD, or use a profile with this url")]
    NoCredentials { url: String },
    #[error("password_cmd of profile '{profile}' failed: {message}")]
    PasswordCommand { profile: String, message: String },
    #[error("{0}")]
    Other(String),
}

/// One `[profiles.NAME]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    pub(crate) url: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) password_env: Option<String>,
    pub(crate) password_cmd: Option<String>,
    pub(crate) read_only: Option<bool>,
    pub(crate) concurrency: Option<usize>,
    pub(crate) timeout_s: Option<u64>,
    pub(crate) connect_timeout_s: Option<u64>,
    /// At most this many attempts for retried requests, first included (default: as many as
    /// fit `retry_budget_s`).
    pub(crate) retries: Option<u32>,
    /// Seconds a failing request (or an import's chunk) keeps being retried (default 60).
    pub(crate) retry_budget_s: Option<u64>,
    /// The most requests a second, pages, chunks and downloads together (default: no cap).
    pub(crate) max_rps: Option<f64>,
    /// Seconds `password_cmd` may take (default 10).
    pub(crate) password_cmd_timeout_s: Option<u64>,
    /// The region national phone numbers belong to (an ISO 3166 code such as GB).
    pub(crate) default_region: Option<String>,
    /// What scripts may use beyond their folder and the working directory (see
    /// `script::permissions`).
    #[serde(default)]
    pub(crate) allow_read: Vec<PathBuf>,
    #[serde(default)]
    pub(crate) allow_write: Vec<PathBuf>,
    /// Each entry as `--allow-net` takes it ([`net_entry`]).
    #[serde(default, deserialize_with = "net_entries")]
    pub(crate) allow_net: Vec<String>,
    #[serde(default)]
    pub(crate) allow_env: Vec<String>,
    pub(crate) max_response_mb: Option<usize>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) proxy: Option<String>,
    pub(crate) timezone: Option<String>,
    /// `auto` (Basic, answering a Digest challenge), `basic` or `digest`.
    pub(crate) auth: Option<crate::api::AuthMode>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    pub(crate) default_profile: Option<String>,
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, Profile>,
}

/// The connection flags of the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectionFlags {
    pub(crate) url: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) sandbox: bool,
    /// Permit plain `http://` to a host that is not on this machine.
    pub(crate) allow_http: bool,
    /// `-v`: trace requests on stderr.
    pub(crate) verbose: bool,
    /// Describe the password without obtaining it (`tdc config`): a `password_cmd` is not run,
    /// and a `password_env` naming an unset variable is shown as missing, not an error.
    pub(crate) describe_only: bool,
}

/// Where the dialer is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// The sandbox started inside this process.
    Embedded,
    Url(url::Url),
}

/// The effective connection, with where each value came from.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub(crate) target: Target,
    pub(crate) user: String,
    pub(crate) password: Option<Secret>,
    pub(crate) profile: Option<String>,
    pub(crate) read_only: bool,
    pub(crate) concurrency: usize,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) attempts: u32,
    pub(crate) retry_budget: Duration,
    pub(crate) max_rps: Option<f64>,
    pub(crate) max_response_bytes: usize,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) proxy: Option<String>,
    pub(crate) timezone: Option<String>,
    pub(crate) default_region: Option<String>,
    pub(crate) auth: crate::api::AuthMode,
    /// `(setting, where it came from)`, for `tdc config`.
    pub(crate) sources: Vec<(&'static str, String)>,
    /// Warnings to show the user (e.g. a readable password file).
    pub(crate) warnings: Vec<String>,
    pub(crate) verbose: bool,
}

pub(crate) const DEFAULT_CONCURRENCY: usize = 16;
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `$XDG_CONFIG_HOME/tdc/config.toml`.
pub(crate) fn config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".config")))
        .map(|dir| dir.join("tdc").join("config.toml"))
}

pub(crate) fn load_config_file(path: &Path) -> Result<Option<ConfigFile>, ConfigError> {
    let unreadable = |message: String| ConfigError::Unreadable {
        path: path.to_path_buf(),
        message,
    };
    let file = match crate::files::open(crate::files::Access::own("config"), path) {
        Ok(file) => file,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(unreadable(std::io::Error::from(e).to_string())),
    };
    // Decided on the file opened, not on its name: it cannot be swapped after the check.
    let metadata = file.metadata().map_err(|e| unreadable(e.to_string()))?;
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    let folder_metadata = folder.and_then(|folder| std::fs::metadata(folder).ok());
    let refusal = not_yours_alone(path, &metadata, false)
        .map(|message| (path, message))
        .or_else(|| {
            let (folder, metadata) = folder.zip(folder_metadata.as_ref())?;
            not_yours_alone(folder, metadata, true).map(|message| (folder, message))
        });
    if let Some((refused, message)) = refusal {
        return Err(ConfigError::Invalid {
            path: refused.to_path_buf(),
            message,
        });
    }
    let text = std::io::read_to_string(file).map_err(|e| unreadable(e.to_string()))?;
    let mut file: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        message: format!("{}{}", e.message(), toml_location(&text, e.span())),
    })?;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let folder = path.parent().unwrap_or(Path::new(""));
    for (name, profile) in file.profiles.iter_mut() {
        if let Some(ca_file) = profile.ca_file.as_mut() {
            *ca_file = anchored(ca_file, folder, home.as_deref());
        }
        for (key, entries) in [
            ("allow_read", &mut profile.allow_read),
            ("allow_write", &mut profile.allow_write),
        ] {
            for entry in entries.iter_mut() {
                *entry = anchored(entry, folder, home.as_deref());
                // Beside the config file is tdc's own folder, which scripts never reach; a
                // path from the working directory would change with where tdc is started.
                if entry.starts_with(folder) {
                    return Err(ConfigError::Invalid {
                        path: path.to_path_buf(),
                        message: format!(
                            "profile '{name}': {key}: {} is in tdc's own folder, which scripts never reach; give a whole path (/srv/data) or one from the home folder (~/data)",
                            entry.display()
                        ),
                    });
                }
            }
        }
    }
    Ok(Some(file))
}

/// A path written in the config file, as a shell and other tools' config files read it:
/// `~/x` under the home folder, a relative path beside the config file (not wherever tdc
/// happens to be started from).
fn anchored(path: &Path, config_folder: &Path, home: Option<&Path>) -> PathBuf {
    let whole = match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ if path.is_relative() => config_folder.join(path),
        _ => path.to_path_buf(),
    };
    // `..` taken out as written, so that where the path leads can be compared.
    crate::files::normalize(&whole)
}

/// An entry of `--allow-net` (or a profile's `allow_net`, `key` naming which) as
/// `script::permissions::Powers::check_net` compares it: a host or `host:port` as given, or a
/// URL with nothing after its host and port, as its `host:port` (the scheme's port when it
/// names none), the way `script::permissions::hosts_of` reads a profile's URL. A URL with a
/// path, a query or credentials is refused rather than widened to its whole host; the reason
/// names the host only, as a webhook's path and a URL's password can be secrets.
pub(crate) fn net_entry(key: &str, text: &str) -> Result<String, String> {
    let text = text.trim();
    const FORM: &str = "a host or host:port (hooks.example, 127.0.0.1:8080), or a URL without a path (https://hooks.example)";
    if !text.contains("://") {
        return match text.split_once('/') {
            None if !text.is_empty() => Ok(text.to_ascii_lowercase()),
            None => Err(format!("{key} needs {FORM}")),
            Some((host, _)) => Err(format!(
                "{key} takes {FORM}, not a path: give {host} (every path on an allowed host may be reached)"
            )),
        };
    }
    let url = url::Url::parse(text).ok();
    let Some((url, host)) = url.and_then(|u| {
        let host = u.host_str().filter(|h| !h.is_empty())?.to_ascii_lowercase();
        Some((u, host))
    }) else {
        return Err(format!(
            "{key}: a URL whose host cannot be read; give {FORM}"
        ));
    };
    let with_port = match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{key} takes {FORM}, not a URL with credentials: give {with_port}"
        ));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{key} takes {FORM}, not a URL with a path: give {with_port} (every path on an allowed host may be reached)"
        ));
    }
    Ok(with_port)
}

/// A profile's `allow_net`, each entry read as [`net_entry`] reads it.
fn net_entries<'de, D: serde::Deserializer<'de>>(entries: D) -> Result<Vec<String>, D::Error> {
    Vec::<String>::deserialize(entries)?
        .iter()
        .map(|entry| net_entry("allow_net", entry).map_err(serde::de::Error::custom))
        .collect()
}

fn toml_location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!(" (line {line}, column {column})")
}

/// A URL as it may be printed: any password inside it shown as `***`.
pub(crate) fn redact_url(text: &str) -> String {
    match url::Url::parse(text.trim()) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(_) => text.to_string(),
        // Not a URL: hide whatever sits between "://" and "@".
        Err(_) => match (text.find("://"), text.rfind('@')) {
            (Some(start), Some(at)) if at > start => {
                format!("{}***{}", &text[..start + 3], &text[at..])
            }
            _ => text.to_string(),
        },
    }
}

/// `text` (a message) with the password of every URL inside it shown as `***`:
/// `https://ops:***@dialer.example/`. A message may quote a URL a server sent (a redirect's
/// `Location`), which no earlier check has seen.
pub(crate) fn redact_urls_in(text: &str) -> std::borrow::Cow<'_, str> {
    let ends_authority =
        |c: char| "/?#'\"<>`()[]{}|\\".contains(c) || c.is_whitespace() || c.is_control();
    let mut out = String::new();
    // `text[..copied]` is in `out`.
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let authority_start = from + found + 3;
        let authority_end = text[authority_start..]
            .find(ends_authority)
            .map_or(text.len(), |end| authority_start + end);
        let authority = &text[authority_start..authority_end];
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                out.push_str(&text[copied..authority_start + colon + 1]);
                out.push_str("***");
                copied = authority_start + at;
            }
        }
        from = authority_end;
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl Connection {
    /// Whether a user is given for `url`: both ways of signing in the dialer offers need one,
    /// and without it every request would come back 401.
    pub(crate) fn require_user(&self, url: &url::Url) -> Result<(), ConfigError> {
        if !self.user.is_empty() {
            return Ok(());
        }
        let url = url.to_string();
        Err(match self.password {
            Some(_) => ConfigError::NoUser { url },
            None => ConfigError::NoCredentials { url },
        })
    }

    /// An embedded connection signed in with the sandbox's well-known user and password, which
    /// the session starting it hands over; any other connection is kept as it is.
    pub(crate) fn with_embedded_credentials(mut self, user: &str, password: &str) -> Connection {
        if self.target != Target::Embedded {
            return self;
        }
        self.user = user.to_string();
        self.password = Some(Secret::new(password));
        for (setting, source) in &mut self.sources {
            match *setting {
                "user" => *source = format!("{user} (from the sandbox)"),
                "password" => *source = "the sandbox's".to_string(),
                _ => {}
            }
        }
        self
    }

    /// The HTTP client's options for this connection at `base_url` (its own URL, or where
    /// the embedded sandbox listens): its credentials, limits, retries, TLS and audit log.
    pub(crate) fn client_options(
        &self,
        base_url: &url::Url,
    ) -> Result<crate::api::ClientOptions, ConfigError> {
        self.require_user(base_url)?;
        let password = self
            .password
            .clone()
            .ok_or_else(|| ConfigError::NoPassword {
                user: self.user.clone(),
                url: base_url.to_string(),
            })?;
        Ok(crate::api::ClientOptions {
            base_url: base_url.clone(),
            user: self.user.clone(),
            password,
            password_source: self.password_source(),
            auth: self.auth,
            timeout: self.timeout,
            concurrency: self.concurrency,
            max_rps: self.max_rps,
            read_only: self
                .read_only
                .then(|| self.profile.clone().unwrap_or_default()),
            retry: crate::api::RetryPolicy {
                attempts: self.attempts,
                budget: self.retry_budget,
                ..crate::api::RetryPolicy::default()
            },
            ca_file: self.ca_file.clone(),
            proxy: self.proxy.clone(),
            connect_timeout: self.connect_timeout,
            max_response_bytes: self.max_response_bytes,
            verbose: self.verbose,
            audit: match self.target {
                Target::Embedded => None,
                Target::Url(_) => crate::api::audit::default_path(&|name| std::env::var(name).ok())
                    .map(|path| {
                        crate::api::audit::AuditLog::new(
                            path,
                            self.profile.clone(),
                            base_url.host_str().unwrap_or("").to_string(),
                            self.is_remote(),
                        )
                    }),
            },
        })
    }

    /// Neither the embedded sandbox nor a loopback address.
    pub(crate) fn is_remote(&self) -> bool {
        match &self.target {
            Target::Embedded => false,
            Target::Url(url) => !is_loopback_host(url),
        }
    }

    /// Where the password came from, as `tdc config` says it (never the password).
    pub(crate) fn password_source(&self) -> String {
        self.sources
            .iter()
            .find(|(setting, _)| *setting == "password")
            .map(|(_, source)| source.clone())
            .unwrap_or_else(|| "not set".to_string())
    }

    /// How the run banner and the REPL prompt name this connection.
    pub(crate) fn label(&self) -> String {
        match (&self.profile, &self.target) {
            (Some(profile), _) => profile.clone(),
            (None, Target::Embedded) => "sandbox".to_string(),
            (None, Target::Url(url)) => url.host_str().unwrap_or("dialer").to_string(),
        }
    }

    /// Resolves the connection. `env` reads environment variables (so tests can pass their
    /// own); `config` is the parsed config file and its path, if there is one.
    pub(crate) fn resolve(
        flags: &ConnectionFlags,
        env: &dyn Fn(&str) -> Option<String>,
        config: Option<(&Path, &ConfigFile)>,
    ) -> Result<Connection, ConfigError> {
        let mut sources = Vec::new();
        let mut warnings = Vec::new();
        // The file's passwords are exposed whichever profile this run uses, and whatever
        // gives this run its password.
        if let Some((path, file)) = config {
            if file.profiles.values().any(|p| p.password.is_some()) {
                warnings.extend(readable_by_others(path));
            }
        }
        let env_nonempty = |name: &str| env(name).filter(|v| !v.is_empty());

        let (profile_name, profile_from) = match (&flags.profile, env_nonempty("TDC_PROFILE")) {
            (Some(p), _) => (Some(p.clone()), "--profile".to_string()),
            (None, Some(p)) => (Some(p), "TDC_PROFILE".to_string()),
            (None, None) => (
                config.and_then(|(_, c)| c.default_profile.clone()),
                "default_profile in the config file".to_string(),
            ),
        };
        let mut profile = match (&profile_name, config) {
            (None, _) => Profile::default(),
            (Some(name), Some((_, file))) if file.profiles.contains_key(name) => {
                sources.push(("profile", format!("{name} (from {profile_from})")));
                file.profiles[name].clone()
            }
            (Some(name), found) => {
                return Err(ConfigError::UnknownProfile {
                    name: name.clone(),
                    path: found
                        .map(|(p, _)| p.to_path_buf())
                        .or_else(|| config_path(env))
                        .unwrap_or_default(),
                })
            }
        };
        let label_of = |name: &Option<String>, key: &str| {
            format!("{key} in profile '{}'", name.as_deref().unwrap_or(""))
        };

        let override_url = if let Some(url) = &flags.url {
            Some((url.clone(), "--url".to_string()))
        } else {
            env_nonempty("TDC_URL").map(|url| (url, "TDC_URL".to_string()))
        };
        // A profile's credentials belong to its host: a URL given on the command line or in
        // TDC_URL for another host does not get them (nor the profile's other settings).
        let mut profile_name = profile_name;
        if let (Some(name), Some((url, from)), false) =
            (&profile_name, &override_url, flags.sandbox)
        {
            let same_origin = match (&profile.url, url::Url::parse(url.trim())) {
                (Some(own), Ok(given)) => url::Url::parse(own.trim())
                    .is_ok_and(|own| crate::wire::origin::same_origin(&own, &given)),
                _ => false,
            };
            if !same_origin {
                sources.retain(|(setting, _)| *setting != "profile");
                sources.push((
                    "profile",
                    format!(
                        "{name} not used: {from} names another host than the profile's url, and a profile's credentials go to its own host only"
                    ),
                ));
                profile = Profile::default();
                profile_name = None;
            }
        }
        let profile_label = |key: &str| label_of(&profile_name, key);

        let url_and_source = if flags.sandbox {
            None
        } else if let Some(url) = override_url {
            Some(url)
        } else {
            profile.url.clone().map(|u| (u, profile_label("url")))
        };

        let target = match url_and_source {
            None => {
                let why = if flags.sandbox {
                    "--sandbox"
                } else {
                    "no URL configured"
                };
                sources.push(("url", format!("embedded sandbox ({why})")));
                Target::Embedded
            }
            Some((text, from)) => {
                let url = url::Url::parse(text.trim()).map_err(|e| ConfigError::BadUrl {
                    url: redact_url(&text),
                    from: from.clone(),
                    message: e.to_string(),
                })?;
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(ConfigError::BadUrl {
                        url: redact_url(&text),
                        from,
                        message: "a user name or password inside the URL is refused (it would be printed and logged); pass --user, and the password through TDC_PASSWORD, password_env or password_cmd".into(),
                    });
                }
                if url.scheme() != "http" && url.scheme() != "https" {
                    return Err(ConfigError::BadUrl {
                        url: text,
                        from,
                        message: "the scheme must be http or https".into(),
                    });
                }
                if url.scheme() == "http" && !is_loopback_host(&url) && !flags.allow_http {
                    return Err(ConfigError::Other(format!(
                        "refusing plain http:// to {} ({from}): the password would cross the network unencrypted; use https:// or pass --allow-http",
                        url.host_str().unwrap_or("")
                    )));
                }
                sources.push(("url", format!("{url} (from {from})")));
                Target::Url(url)
            }
        };

        // The embedded sandbox's user and password are handed over by the session that starts
        // it ([`Connection::with_embedded_credentials`]).
        let (user, user_from) = if target == Target::Embedded {
            (String::new(), "the sandbox, when it starts".to_string())
        } else if let Some(user) = &flags.user {
            (user.clone(), "--user".to_string())
        } else if let Some(user) = env_nonempty("TDC_USER") {
            (user, "TDC_USER".to_string())
        } else if let Some(user) = &profile.user {
            (user.clone(), profile_label("user"))
        } else {
            (String::new(), "not set".to_string())
        };
        sources.push(("user", format!("{user} (from {user_from})")));

        let password = if target == Target::Embedded {
            sources.push(("password", "the sandbox's, when it starts".to_string()));
            None
        } else if let Some(p) = env("TDC_PASSWORD") {
            sources.push(("password", "set (from TDC_PASSWORD)".to_string()));
            Some(Secret::new(p))
        } else if let Some(var) = &profile.password_env {
            match env(var).filter(|v| !v.is_empty()) {
                Some(value) => {
                    sources.push(("password", format!("set (from ${var})")));
                    Some(Secret::new(value))
                }
                None if flags.describe_only => {
                    sources.push((
                        "password",
                        format!(
                            "missing (${var} is not set; {} names it)",
                            profile_label("password_env")
                        ),
                    ));
                    None
                }
                None => {
                    return Err(ConfigError::Other(format!(
                        "{} names {var}, which is not set (or empty)",
                        profile_label("password_env")
                    )))
                }
            }
        } else if let Some(command) = &profile.password_cmd {
            let name = profile_name.clone().unwrap_or_default();
            if flags.describe_only {
                sources.push((
                    "password",
                    format!("from password_cmd of '{name}': `{command}` (not run to show it)"),
                ));
                None
            } else {
                sources.push(("password", format!("set (from password_cmd of '{name}')")));
                let timeout = profile
                    .password_cmd_timeout_s
                    .map_or(PASSWORD_CMD_TIMEOUT, Duration::from_secs);
                Some(run_password_command(command, &name, timeout)?)
            }
        } else if let Some(p) = &profile.password {
            sources.push((
                "password",
                format!("set (from {})", profile_label("password")),
            ));
            Some(Secret::new(p.clone()))
        } else {
            sources.push(("password", "not set".to_string()));
            None
        };

        // Every other setting, with the profile key it came from or the default it took.
        let mut setting = |key: &'static str, value: String, set: bool| {
            let from = match set {
                true => format!("from {}", profile_label(key)),
                false => "default".to_string(),
            };
            sources.push((key, format!("{value} ({from})")));
        };
        let shown = |value: Option<String>| value.unwrap_or_else(|| "none".to_string());
        let auth = profile.auth.unwrap_or_default();
        setting("auth", auth.name().to_string(), profile.auth.is_some());
        let read_only = profile.read_only.unwrap_or(false);
        setting(
            "read_only",
            read_only.to_string(),
            profile.read_only.is_some(),
        );
        let concurrency = profile.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1);
        setting(
            "concurrency",
            concurrency.to_string(),
            profile.concurrency.is_some(),
        );
        let timeout = profile
            .timeout_s
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TIMEOUT);
        setting(
            "timeout_s",
            timeout.as_secs().to_string(),
            profile.timeout_s.is_some(),
        );
        let connect_timeout = profile
            .connect_timeout_s
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        setting(
            "connect_timeout_s",
            connect_timeout.as_secs().to_string(),
            profile.connect_timeout_s.is_some(),
        );
        let attempts = profile.retries.unwrap_or(u32::MAX).max(1);
        setting(
            "retries",
            match profile.retries {
                Some(_) => attempts.to_string(),
                None => "as many as retry_budget_s allows".to_string(),
            },
            profile.retries.is_some(),
        );
        let retry_budget = profile
            .retry_budget_s
            .map(Duration::from_secs)
            .unwrap_or(crate::api::DEFAULT_RETRY_BUDGET);
        setting(
            "retry_budget_s",
            retry_budget.as_secs().to_string(),
            profile.retry_budget_s.is_some(),
        );
        let max_rps = profile.max_rps.filter(|r| *r > 0.0);
        setting(
            "max_rps",
            shown(max_rps.map(|r| r.to_string())),
            profile.max_rps.is_some(),
        );
        let max_response_bytes = profile
            .max_response_mb
            .map_or(crate::api::MAX_RESPONSE_BYTES, |mb| mb.max(1) * 1024 * 1024);
        setting(
            "max_response_mb",
            (max_response_bytes / (1024 * 1024)).to_string(),
            profile.max_response_mb.is_some(),
        );
        setting(
            "password_cmd_timeout_s",
            profile
                .password_cmd_timeout_s
                .unwrap_or(PASSWORD_CMD_TIMEOUT.as_secs())
                .to_string(),
            profile.password_cmd_timeout_s.is_some(),
        );
        setting(
            "default_region",
            shown(profile.default_region.clone()),
            profile.default_region.is_some(),
        );
        setting(
            "timezone",
            profile
                .timezone
                .clone()
                .unwrap_or_else(|| "UTC".to_string()),
            profile.timezone.is_some(),
        );
        setting(
            "ca_file",
            shown(profile.ca_file.as_ref().map(|p| p.display().to_string())),
            profile.ca_file.is_some(),
        );
        setting(
            "proxy",
            shown(profile.proxy.as_deref().map(redact_url)),
            profile.proxy.is_some(),
        );
        let list = |items: Vec<String>| match items.is_empty() {
            true => "none".to_string(),
            false => items.join(", "),
        };
        let paths = |items: &[PathBuf]| items.iter().map(|p| p.display().to_string()).collect();
        setting(
            "allow_read",
            list(paths(&profile.allow_read)),
            !profile.allow_read.is_empty(),
        );
        setting(
            "allow_write",
            list(paths(&profile.allow_write)),
            !profile.allow_write.is_empty(),
        );
        setting(
            "allow_net",
            list(profile.allow_net.clone()),
            !profile.allow_net.is_empty(),
        );
        setting(
            "allow_env",
            list(profile.allow_env.clone()),
            !profile.allow_env.is_empty(),
        );
        Ok(Connection {
            target,
            user,
            password,
            profile: profile_name,
            read_only,
            concurrency,
            timeout,
            connect_timeout,
            attempts,
            retry_budget,
            max_rps,
            max_response_bytes,
            ca_file: profile.ca_file,
            proxy: profile.proxy,
            timezone: profile.timezone,
            default_region: profile.default_region,
            auth,
            sources,
            warnings,
            verbose: flags.verbose,
        })
    }
}

/// How long `password_cmd` may take by default.
pub(crate) const PASSWORD_CMD_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `password_cmd`: its first line is the password. A command that fails, prints
/// nothing, or takes longer than `timeout` (a prompt waiting for input that never comes) is
/// an error, never an empty or partial password.
///
/// Only the first line is read, so a child left running in the background with the pipe
/// open (`sleep 40 & echo pw`) holds nothing up once that line is in and the command has
/// exited. At the time-out the command's process group is killed and reading stops, whatever
/// still holds the pipe: a child that left the group (`setsid`) is not tdc's to stop, and
/// the thread reading its pipe is abandoned rather than waited for.
fn run_password_command(
    command: &str,
    profile: &str,
    timeout: Duration,
) -> Result<Secret, ConfigError> {
    use std::io::BufRead;
    use std::io::Read;
    /// The most read of the first line: a password, not a stream.
    const FIRST_LINE_CAP: u64 = 64 * 1024;
    let failed = |message: String| ConfigError::PasswordCommand {
        profile: profile.to_string(),
        message,
    };
    let timed_out = || {
        failed(format!(
            "it did not finish within {} s (password_cmd_timeout_s)",
            timeout.as_secs()
        ))
    };
    let mut shell = std::process::Command::new("sh");
    shell
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    // Its own process group, so that a time-out stops the command and everything it started.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut shell, 0);
    let mut child = shell.spawn().map_err(|e| failed(e.to_string()))?;
    let group = child.id();
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| failed("no output".into()))?;
    let (first_line, read) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let _ = std::io::BufReader::new(stdout.take(FIRST_LINE_CAP)).read_until(b'\n', &mut line);
        let _ = first_line.send(line);
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait().map_err(|e| failed(e.to_string()))? {
            Some(status) => break status,
            None if std::time::Instant::now() >= deadline => {
                kill_group(group);
                let _ = child.kill();
                let _ = child.wait();
                return Err(timed_out());
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    if !status.success() {
        return Err(failed(format!("it exited with {status}")));
    }
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    let Ok(bytes) = read.recv_timeout(left) else {
        kill_group(group);
        return Err(timed_out());
    };
    let text = String::from_utf8(bytes).map_err(|_| failed("its output is not UTF-8".into()))?;
    let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if first.is_empty() {
        return Err(failed(
            "it printed no password (its first line is empty)".into(),
        ));
    }
    Ok(Secret::new(first))
}

/// Kills every process left in the process group `group` (a `password_cmd` and what it
/// started).
fn kill_group(group: u32) {
    #[cfg(unix)]
    if let Some(group) = rustix::process::Pid::from_raw(group as i32) {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = group;
}

/// A config file (or its folder) others can change is refused, as ssh refuses one: its
/// `password_cmd` would run as you, and its `url` would receive your password. So is one that
/// belongs to another user (root's is yours to trust, as for ssh).
#[cfg(unix)]
fn not_yours_alone(path: &Path, metadata: &std::fs::Metadata, folder: bool) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let (it, what) = if folder {
        ("this folder", "the config in it")
    } else {
        ("it", "it")
    };
    let owner = metadata.uid();
    if owner != rustix::process::geteuid().as_raw() && owner != 0 {
        return Some(format!(
            "{it} is owned by another user (uid {owner}), so tdc will not read {what}: its password_cmd would run as you; use a config of your own"
        ));
    }
    let mode = metadata.mode() & 0o777;
    (mode & 0o022 != 0).then(|| {
        format!(
            "others can write to {it} (mode {mode:o}), so tdc will not read {what}: its password_cmd would run as you; run chmod go-w {}",
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn not_yours_alone(_path: &Path, _metadata: &std::fs::Metadata, _folder: bool) -> Option<String> {
    None
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o044 != 0).then(|| {
        format!(
            "warning: {} holds a password and others can read it (chmod 600 {})",
            path.display(),
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_a_path_allows_its_host_and_port() {
        for (given, allowed) in [
            ("hooks.example", "hooks.example"),
            ("Hooks.Example:8443", "hooks.example:8443"),
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("https://Hooks.Example/", "hooks.example:443"),
            ("http://[::1]:9000", "[::1]:9000"),
        ] {
            assert_eq!(net_entry("--allow-net", given).unwrap(), allowed);
        }
        let path =
            net_entry("--allow-net", "https://hooks.example/services/T0/B0/secret").unwrap_err();
        assert!(path.contains("give hooks.example:443"), "{path}");
        assert!(!path.contains("secret"), "{path}");
        let credentials =
            net_entry("--allow-net", "http://ops:hunter2@crm.example:8080").unwrap_err();
        assert!(
            credentials.contains("give crm.example:8080"),
            "{credentials}"
        );
        assert!(!credentials.contains("hunter2"), "{credentials}");
        let bare_path = net_entry("--allow-net", "hooks.example/services/secret").unwrap_err();
        assert!(bare_path.contains("give hooks.example "), "{bare_path}");
        assert!(!bare_path.contains("secret"), "{bare_path}");
        assert!(net_entry("--allow-net", "http://").is_err());
        assert!(net_entry("--allow-net", "").is_err());
    }

    #[test]
    fn every_url_in_a_message_has_its_password_hidden() {
        assert_eq!(
            redact_urls_in("redirected to http://ops:pw@evil.example/x (and https://a:b:c@h:1?q)"),
            "redirected to http://ops:***@evil.example/x (and https://a:***@h:1?q)"
        );
        assert_eq!(
            redact_urls_in("to 'http://u:p@w@h/' then http://plain.example/a@b:c"),
            "to 'http://u:***@h/' then http://plain.example/a@b:c"
        );
        assert!(matches!(
            redact_urls_in("http://ops@dialer.example/ is fine"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn file(text: &str) -> ConfigFile {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn no_url_anywhere_means_the_embedded_sandbox() {
        let c = Connection::resolve(&ConnectionFlags::default(), &env_of(&[]), None).unwrap();
        assert_eq!(c.target, Target::Embedded);
        assert!(!c.is_remote());
        // No credentials of its own: the session starting the sandbox hands them over.
        assert!(c.user.is_empty() && c.password.is_none());
        let signed_in = c.with_embedded_credentials("twin", "pw");
        assert_eq!(signed_in.user, "twin");
        assert_eq!(signed_in.password.as_ref().map(|p| p.expose()), Some("pw"));
        assert_eq!(signed_in.password_source(), "the sandbox's");
        let base = url::Url::parse("http://127.0.0.1:8025").unwrap();
        let options = signed_in.client_options(&base).unwrap();
        assert_eq!((options.user.as_str(), options.base_url), ("twin", base));
        assert!(options.audit.is_none());
    }

    #[test]
    fn a_dialer_connection_keeps_its_own_credentials() {
        let env = env_of(&[
            ("TDC_URL", "https://td.example"),
            ("TDC_USER", "ops"),
            ("TDC_PASSWORD", "s3cret"),
        ]);
        let c = Connection::resolve(&ConnectionFlags::default(), &env, None)
            .unwrap()
            .with_embedded_credentials("twin", "pw");
        assert_eq!(c.user, "ops");
        let base = url::Url::parse("https://td.example").unwrap();
        let options = c.client_options(&base).unwrap();
        assert_eq!(options.password.expose(), "s3cret");
        let mut without = c.clone();
        without.password = None;
        assert_eq!(
            without.client_options(&base).unwrap_err().to_string(),
            "no password for ops at https://td.example/: set TDC_PASSWORD, or password_env / password_cmd in the profile"
        );
    }

    #[test]
    fn flags_beat_environment_beat_profile() {
        let config = file(
            "[profiles.prod]\nurl = \"https://prod.example\"\nuser = \"p\"\npassword_env = \"PW\"\nread_only = true\n",
        );
        let path = Path::new("/nonexistent/config.toml");
        let env = env_of(&[
            ("TDC_PROFILE", "prod"),
            ("PW", "s3cret"),
            ("TDC_USER", "envuser"),
        ]);
        let c =
            Connection::resolve(&ConnectionFlags::default(), &env, Some((path, &config))).unwrap();
        assert_eq!(
            c.target,
            Target::Url("https://prod.example".parse().unwrap())
        );
        assert_eq!(c.user, "envuser");
        assert_eq!(c.password.as_ref().unwrap().expose(), "s3cret");
        assert!(c.read_only && c.is_remote());
        assert_eq!(c.label(), "prod");
        let flags = ConnectionFlags {
            url: Some("http://127.0.0.1:9".into()),
            user: Some("flaguser".into()),
            ..ConnectionFlags::default()
        };
        let c = Connection::resolve(&flags, &env, Some((path, &config))).unwrap();
        assert_eq!(c.user, "flaguser");
        assert!(!c.is_remote());
        let rendered = format!("{c:?}");
        assert!(!rendered.contains("s3cret"), "{rendered}");
    }

    #[test]
    fn config_errors_are_specific() {
        let env = env_of(&[]);
        let flags = ConnectionFlags {
            profile: Some("nope".into()),
            ..ConnectionFlags::default()
        };
        let err =
            Connection::resolve(&flags, &env, Some((Path::new("c.toml"), &file("")))).unwrap_err();
        assert_eq!(err.to_string(), "profile 'nope' is not in c.toml");
        let flags = ConnectionFlags {
            url: Some("ftp://x".into()),
            ..ConnectionFlags::default()
        };
        let err = Connection::resolve(&flags, &env, None).unwrap_err();
        assert!(err.to_string().contains("http or https"), "{err}");
        assert!(toml::from_str::<ConfigFile>("[profiles.a]\nurll = 1").is_err());
    }

    #[test]
    fn paths_in_the_file_start_at_home_or_beside_it() {
        let (folder, home) = (Path::new("/etc/tdc"), Some(Path::new("/home/ops")));
        let anchor = |p: &str| anchored(Path::new(p), folder, home);
        assert_eq!(anchor("~/exports"), Path::new("/home/ops/exports"));
        assert_eq!(anchor("~"), Path::new("/home/ops"));
        assert_eq!(anchor("certs/ca.pem"), Path::new("/etc/tdc/certs/ca.pem"));
        assert_eq!(anchor("/srv/leads"), Path::new("/srv/leads"));
        assert_eq!(anchor("~ops/x"), Path::new("/etc/tdc/~ops/x"));
        assert_eq!(anchor("../../srv/./x"), Path::new("/srv/x"));
    }

    #[test]
    fn a_profiles_allowed_hosts_are_read_as_the_flag_reads_them() {
        let read = |entries: &str| {
            toml::from_str::<ConfigFile>(&format!("[profiles.a]\nallow_net = [{entries}]"))
                .map(|file| file.profiles["a"].allow_net.clone())
                .map_err(|e| e.message().to_string())
        };
        assert_eq!(
            read(r#""https://Hooks.Example/", "crm.example:8080""#).unwrap(),
            ["hooks.example:443", "crm.example:8080"]
        );
        let path = read(r#""https://hooks.example/services/T0/secret""#).unwrap_err();
        assert!(path.starts_with("allow_net takes"), "{path}");
        assert!(path.contains("give hooks.example:443"), "{path}");
        assert!(!path.contains("secret"), "{path}");
    }
}
