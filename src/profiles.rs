//! `tdc profile list|show|add|set|remove|use`: the config file's profiles, edited in place
//! with its comments and layout kept (`toml_edit`). Every profile key is a flag of `add` and
//! `set` (`timeout_s` is `--timeout-s`), but `password`: passwords never pass through here, a
//! profile names where its password comes from (`password_env`, `password_cmd`), or tdc asks.

use std::path::{Path, PathBuf};

use toml_edit::{value, DocumentMut, Item, Table};

use crate::config::{config_path, load_config_file, ConfigError};

/// Why a profile command did nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProfileError {
    #[error("no config file location: set HOME or XDG_CONFIG_HOME")]
    NoLocation,
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: toml_edit::TomlError,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("profile '{name}' is not in {}", path.display())]
    Unknown { name: String, path: PathBuf },
    #[error("profile '{name}' is already in {} (tdc profile remove {name} first)", path.display())]
    Exists { name: String, path: PathBuf },
    #[error("`profiles` in {} is not a table", path.display())]
    NotATable { path: PathBuf },
    /// A flag's value that cannot be saved as given.
    #[error("{0}")]
    Usage(String),
}

type Result<T, E = ProfileError> = std::result::Result<T, E>;

/// What a `tdc profile add` sets.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct NewProfile {
    pub(crate) name: String,
    #[arg(long)]
    pub(crate) url: String,
    #[command(flatten)]
    pub(crate) settings: ProfileSettings,
}

/// The keys of a profile but `url` and `password`, one flag each; what is not given is left
/// as it is.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ProfileSettings {
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// The environment variable holding the password.
    #[arg(long, value_name = "VAR")]
    pub(crate) password_env: Option<String>,
    /// A command that prints the password (its first line), e.g. 'pass show td/prod'.
    #[arg(long, value_name = "COMMAND")]
    pub(crate) password_cmd: Option<String>,
    /// Refuse every change through this profile (--read-only=false allows them again).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) read_only: Option<bool>,
    /// The region of national phone numbers (an ISO 3166 code such as GB).
    #[arg(long, value_name = "CODE")]
    pub(crate) default_region: Option<String>,
    /// The time zone `today` and `yesterday` are read in (an IANA name such as Europe/London).
    #[arg(long, value_name = "ZONE")]
    pub(crate) timezone: Option<String>,
    /// auto (Basic, answering a Digest challenge), basic or digest.
    #[arg(long, value_name = "MODE")]
    pub(crate) auth: Option<String>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N")]
    pub(crate) concurrency: Option<u32>,
    /// The most requests a second (pages, chunks and downloads together).
    #[arg(long, value_name = "N")]
    pub(crate) max_rps: Option<f64>,
    /// Seconds a request may take.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout_s: Option<u32>,
    /// Seconds a connection may take to open.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) connect_timeout_s: Option<u32>,
    /// At most this many attempts of a retried request, the first included.
    #[arg(long, value_name = "N")]
    pub(crate) retries: Option<u32>,
    /// Seconds a failing request keeps being retried.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) retry_budget_s: Option<u32>,
    /// Seconds password_cmd may take.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) password_cmd_timeout_s: Option<u32>,
    /// The largest answer read, in MB.
    #[arg(long, value_name = "MB")]
    pub(crate) max_response_mb: Option<u32>,
    /// Certificates to trust besides the system's (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// A proxy for every request, e.g. http://proxy.internal:3128
    #[arg(long, value_name = "URL")]
    pub(crate) proxy: Option<String>,
    /// Folders scripts may read (replaces the profile's list; comma-separated or repeated).
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    pub(crate) allow_read: Vec<PathBuf>,
    /// Folders scripts may write.
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    pub(crate) allow_write: Vec<PathBuf>,
    /// Hosts scripts may connect to (as the global --allow-net reads them).
    #[arg(long, value_name = "HOST", value_delimiter = ',', value_parser = crate::cli::NetEntry)]
    pub(crate) allow_net: Vec<String>,
    /// Environment variables scripts may read.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub(crate) allow_env: Vec<String>,
}

impl ProfileSettings {
    /// The keys given, with their values as the file will hold them; a value tdc would
    /// refuse at the next run is refused now.
    fn entries(&self) -> Result<Vec<(&'static str, toml_edit::Value)>> {
        use toml_edit::{Array, Value};
        let usage =
            |flag: &str, e: &dyn std::fmt::Display| ProfileError::Usage(format!("--{flag}: {e}"));
        if let Some(zone) = &self.timezone {
            crate::time::timezone(zone).map_err(|e| usage("timezone", &e))?;
        }
        if let Some(code) = &self.default_region {
            crate::phone::region(code).map_err(|e| usage("default-region", &e))?;
        }
        if let Some(mode) = &self.auth {
            if !["auto", "basic", "digest"].contains(&mode.as_str()) {
                return Err(usage(
                    "auth",
                    &format!("'{mode}' is not auto, basic or digest"),
                ));
            }
        }
        if let Some(proxy) = &self.proxy {
            url::Url::parse(proxy).map_err(|e| usage("proxy", &e))?;
        }
        if self.max_rps.is_some_and(|r| !r.is_finite() || r <= 0.0) {
            return Err(usage(
                "max-rps",
                &"give a number of requests a second above 0",
            ));
        }
        let text = |v: &Option<String>| v.as_deref().map(Value::from);
        let int = |v: Option<u32>| v.map(|n| Value::from(i64::from(n)));
        // A path given on the command line is the working directory's; in the file a relative
        // path would be read beside the file, so it is written whole.
        let whole = |p: &PathBuf| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        };
        let path = |v: &Option<PathBuf>| v.as_ref().map(|p| Value::from(whole(p)));
        let list = |items: Vec<String>| {
            (!items.is_empty()).then(|| Value::Array(items.into_iter().collect::<Array>()))
        };
        let paths = |items: &[PathBuf]| list(items.iter().map(whole).collect());
        let entries = [
            ("user", text(&self.user)),
            ("password_env", text(&self.password_env)),
            ("password_cmd", text(&self.password_cmd)),
            ("read_only", self.read_only.map(Value::from)),
            ("default_region", text(&self.default_region)),
            ("timezone", text(&self.timezone)),
            ("auth", text(&self.auth)),
            ("concurrency", int(self.concurrency)),
            ("max_rps", self.max_rps.map(Value::from)),
            ("timeout_s", int(self.timeout_s)),
            ("connect_timeout_s", int(self.connect_timeout_s)),
            ("retries", int(self.retries)),
            ("retry_budget_s", int(self.retry_budget_s)),
            ("password_cmd_timeout_s", int(self.password_cmd_timeout_s)),
            ("max_response_mb", int(self.max_response_mb)),
            ("ca_file", path(&self.ca_file)),
            ("proxy", text(&self.proxy)),
            ("allow_read", paths(&self.allow_read)),
            ("allow_write", paths(&self.allow_write)),
            ("allow_net", list(self.allow_net.clone())),
            ("allow_env", list(self.allow_env.clone())),
        ];
        Ok(entries
            .into_iter()
            .filter_map(|(key, value)| value.map(|v| (key, v)))
            .collect())
    }
}

/// Sets keys of a profile's table, keeping the comments beside a value replaced.
fn apply(table: &mut Table, entries: Vec<(&'static str, toml_edit::Value)>) {
    for (key, new) in entries {
        match table.get_mut(key).and_then(Item::as_value_mut) {
            Some(current) => {
                let decor = current.decor().clone();
                *current = new;
                *current.decor_mut() = decor;
            }
            None => {
                table.insert(key, Item::Value(new));
            }
        }
    }
}

/// `--url`'s value as a profile holds it: no credentials inside.
fn profile_url(text: &str) -> Result<String> {
    let url = url::Url::parse(text.trim()).map_err(|e| {
        let url = crate::config::redact_url(text);
        ProfileError::Usage(format!("--url {url}: {e}"))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ProfileError::Usage("--url: put the user in --user and the password in --password-env or --password-cmd, not in the URL".into()));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn path() -> Result<PathBuf> {
    config_path(&|name| std::env::var(name).ok()).ok_or(ProfileError::NoLocation)
}

fn read(path: &Path) -> Result<DocumentMut> {
    // The same checks as every run (a file others can write is refused).
    load_config_file(path)?;
    let text = match crate::files::read_to_string(crate::files::Access::own("config"), path) {
        Ok(text) => text,
        Err(e) if e.is_not_found() => String::new(),
        Err(e) => {
            let path = path.to_path_buf();
            return Err(ProfileError::Read {
                path,
                source: e.into(),
            });
        }
    };
    text.parse::<DocumentMut>()
        .map_err(|source| ProfileError::Parse {
            path: path.to_path_buf(),
            source,
        })
}

fn unknown(name: &str, path: &Path) -> ProfileError {
    ProfileError::Unknown {
        name: name.to_string(),
        path: path.to_path_buf(),
    }
}

/// Writes the file whole (a temporary file renamed over it), mode 0600.
fn write(path: &Path, document: &DocumentMut) -> Result<()> {
    use std::io::Write;
    crate::files::write_whole(crate::files::Access::own("config"), path, |file| {
        file.write_all(document.to_string().as_bytes())
    })
    .map_err(|e| ProfileError::Write {
        path: path.to_path_buf(),
        source: e.into(),
    })
}

/// Sets `default_profile`, keeping the comments around an existing one.
fn set_default(document: &mut DocumentMut, name: &str) {
    match document
        .get_mut("default_profile")
        .and_then(Item::as_value_mut)
    {
        Some(current) => {
            let decor = current.decor().clone();
            *current = name.into();
            *current.decor_mut() = decor;
        }
        None => {
            document.insert("default_profile", value(name));
        }
    }
}

fn profiles(document: &DocumentMut) -> Option<&Table> {
    document.get("profiles").and_then(Item::as_table)
}

fn default_profile(document: &DocumentMut) -> Option<String> {
    document
        .get("default_profile")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// One line per profile: `* prod  https://…  (user ops)`, the default marked; with `names`,
/// only the names.
pub(crate) fn list(names: bool) -> Result<String> {
    let path = path()?;
    let document = read(&path)?;
    if names {
        let names: Vec<&str> = profiles(&document)
            .into_iter()
            .flat_map(Table::iter)
            .map(|(name, _)| name)
            .collect();
        return Ok(names.join("\n"));
    }
    let default = default_profile(&document);
    let mut rows = Vec::new();
    for (name, profile) in profiles(&document).into_iter().flat_map(Table::iter) {
        let url = profile
            .get("url")
            .and_then(|v| v.as_str())
            .unwrap_or("(no url)");
        let user = profile
            .get("user")
            .and_then(|v| v.as_str())
            .map(|u| format!("  (user {u})"))
            .unwrap_or_default();
        let mark = if default.as_deref() == Some(name) {
            "*"
        } else {
            " "
        };
        rows.push((mark, name, url, user));
    }
    // Names and URLs in columns, as `git remote -v` and `gh auth status` line them up.
    use unicode_width::UnicodeWidthStr;
    let names_width = rows.iter().map(|r| r.1.width()).max().unwrap_or(0);
    let urls_width = rows.iter().map(|r| r.2.width()).max().unwrap_or(0);
    let pad = |text: &str, to: usize| format!("{text}{}", " ".repeat(to - text.width()));
    let out: Vec<String> = rows
        .iter()
        .map(|(mark, name, url, user)| {
            let url = if user.is_empty() {
                url.to_string()
            } else {
                pad(url, urls_width)
            };
            format!("{mark} {}  {url}{user}", pad(name, names_width))
        })
        .collect();
    if out.is_empty() {
        return Ok(format!(
            "no profiles in {} (add one: tdc profile add NAME --url URL --user USER --password-env VAR)",
            path.display()
        ));
    }
    Ok(out.join("\n"))
}

/// A profile's settings as the file has them; a `password` is shown as `(set)`.
pub(crate) fn show(name: &str) -> Result<String> {
    let path = path()?;
    let document = read(&path)?;
    let profile = profiles(&document)
        .and_then(|p| p.get(name))
        .and_then(Item::as_table)
        .ok_or_else(|| unknown(name, &path))?;
    let mut out = vec![format!("[profiles.{name}]")];
    for (key, item) in profile.iter() {
        let shown = if key == "password" {
            "(set; better: password_env or password_cmd)".to_string()
        } else {
            item.as_value()
                .map_or_else(|| item.to_string(), |v| v.to_string())
        };
        out.push(format!("{key} = {}", shown.trim()));
    }
    if default_profile(&document).as_deref() == Some(name) {
        out.push("(the default profile)".to_string());
    }
    Ok(out.join("\n"))
}

/// Adds a profile (an existing one of that name is an error), keeping the rest of the file.
pub(crate) fn add(new: &NewProfile, make_default: bool) -> Result<String> {
    let url = profile_url(&new.url)?;
    if new.settings.password_env.is_some() && new.settings.password_cmd.is_some() {
        return Err(ProfileError::Usage(
            "give --password-env or --password-cmd, not both".into(),
        ));
    }
    let entries = new.settings.entries()?;
    let path = path()?;
    let mut document = read(&path)?;
    let profiles = document
        .entry("profiles")
        .or_insert_with(|| {
            let mut table = Table::new();
            table.set_implicit(true);
            Item::Table(table)
        })
        .as_table_mut()
        .ok_or_else(|| ProfileError::NotATable { path: path.clone() })?;
    if profiles.contains_key(&new.name) {
        return Err(ProfileError::Exists {
            name: new.name.clone(),
            path,
        });
    }
    let mut table = Table::new();
    table.insert("url", value(url));
    apply(&mut table, entries);
    profiles.insert(&new.name, Item::Table(table));
    if make_default {
        set_default(&mut document, &new.name);
    }
    write(&path, &document)?;
    Ok(format!(
        "added profile '{}' to {}",
        new.name,
        path.display()
    ))
}

/// Changes keys of an existing profile, keeping the others and the file's comments; a
/// password source given replaces the other kind.
pub(crate) fn set(name: &str, url: Option<&str>, settings: &ProfileSettings) -> Result<String> {
    let url = url.map(profile_url).transpose()?;
    if settings.password_env.is_some() && settings.password_cmd.is_some() {
        return Err(ProfileError::Usage(
            "give --password-env or --password-cmd, not both".into(),
        ));
    }
    let mut entries = settings.entries()?;
    if entries.is_empty() && url.is_none() {
        return Err(ProfileError::Usage(format!(
            "nothing to set: give the keys to change as flags, e.g. tdc profile set {name} --timezone Europe/London"
        )));
    }
    if let Some(url) = url {
        entries.insert(0, ("url", toml_edit::Value::from(url)));
    }
    let path = path()?;
    let mut document = read(&path)?;
    let table = document
        .get_mut("profiles")
        .and_then(Item::as_table_mut)
        .and_then(|p| p.get_mut(name))
        .and_then(Item::as_table_mut)
        .ok_or_else(|| unknown(name, &path))?;
    for (given, other) in [
        ("password_env", "password_cmd"),
        ("password_cmd", "password_env"),
    ] {
        if entries.iter().any(|(key, _)| *key == given) {
            table.remove(other);
            table.remove("password");
        }
    }
    let keys: Vec<&str> = entries.iter().map(|(key, _)| *key).collect();
    let keys = keys.join(", ");
    apply(table, entries);
    write(&path, &document)?;
    Ok(format!(
        "set {keys} of profile '{name}' in {}",
        path.display()
    ))
}

pub(crate) fn remove(name: &str) -> Result<String> {
    let path = path()?;
    let mut document = read(&path)?;
    let removed = document
        .get_mut("profiles")
        .and_then(Item::as_table_mut)
        .and_then(|p| p.remove(name));
    if removed.is_none() {
        return Err(unknown(name, &path));
    }
    if default_profile(&document).as_deref() == Some(name) {
        document.remove("default_profile");
    }
    write(&path, &document)?;
    Ok(format!("removed profile '{name}' from {}", path.display()))
}

/// Makes a profile the default (`default_profile`).
pub(crate) fn use_profile(name: &str) -> Result<String> {
    let path = path()?;
    let mut document = read(&path)?;
    if !profiles(&document).is_some_and(|p| p.contains_key(name)) {
        return Err(unknown(name, &path));
    }
    set_default(&mut document, name);
    write(&path, &document)?;
    Ok(format!("default profile is now '{name}'"))
}
