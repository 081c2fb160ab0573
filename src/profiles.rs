//! `tdc profile list|show|add|remove|use`: the config file's profiles, edited in place with
//! its comments and layout kept (`toml_edit`). Passwords never pass through here: a profile
//! names where its password comes from (`password_env`, `password_cmd`), or tdc asks.

use std::path::{Path, PathBuf};

use toml_edit::{value, DocumentMut, Item, Table};

use crate::config::{config_path, load_config_file, ConfigError};

/// Why a profile command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
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
pub struct NewProfile {
    pub name: String,
    #[arg(long)]
    pub url: String,
    #[arg(long)]
    pub user: Option<String>,
    /// The environment variable holding the password.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// A command that prints the password (its first line), e.g. 'pass show td/prod'.
    #[arg(long, value_name = "COMMAND")]
    pub password_cmd: Option<String>,
    /// Refuse every change through this profile.
    #[arg(long)]
    pub read_only: bool,
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

/// One line per profile: `* prod  https://…  (user ops)`, the default marked.
pub fn list() -> Result<String> {
    let path = path()?;
    let document = read(&path)?;
    let default = default_profile(&document);
    let mut out = Vec::new();
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
        out.push(format!("{mark} {name}  {url}{user}"));
    }
    if out.is_empty() {
        return Ok(format!(
            "no profiles in {} (add one: tdc profile add NAME --url URL --user USER --password-env VAR)",
            path.display()
        ));
    }
    Ok(out.join("\n"))
}

/// A profile's settings as the file has them; a `password` is shown as `(set)`.
pub fn show(name: &str) -> Result<String> {
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
pub fn add(new: &NewProfile, make_default: bool) -> Result<String> {
    let url = url::Url::parse(new.url.trim()).map_err(|e| {
        let url = crate::config::redact_url(&new.url);
        ProfileError::Usage(format!("--url {url}: {e}"))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ProfileError::Usage("--url: put the user in --user and the password in --password-env or --password-cmd, not in the URL".into()));
    }
    if new.password_env.is_some() && new.password_cmd.is_some() {
        return Err(ProfileError::Usage(
            "give --password-env or --password-cmd, not both".into(),
        ));
    }
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
    table.insert("url", value(url.as_str().trim_end_matches('/')));
    if let Some(user) = &new.user {
        table.insert("user", value(user));
    }
    if let Some(var) = &new.password_env {
        table.insert("password_env", value(var));
    }
    if let Some(command) = &new.password_cmd {
        table.insert("password_cmd", value(command));
    }
    if new.read_only {
        table.insert("read_only", value(true));
    }
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

pub fn remove(name: &str) -> Result<String> {
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
pub fn use_profile(name: &str) -> Result<String> {
    let path = path()?;
    let mut document = read(&path)?;
    if !profiles(&document).is_some_and(|p| p.contains_key(name)) {
        return Err(unknown(name, &path));
    }
    set_default(&mut document, name);
    write(&path, &document)?;
    Ok(format!("default profile is now '{name}'"))
}
