//! What a script may touch beyond the dialer it was given: a shared script runs with bounded
//! powers, as Deno runs programs.
//!
//! By default a script may
//! - read and write files under its own folder and the working directory;
//! - talk to the active connection and to the profiles of the config file (`dialer("prod")`);
//! - read no environment variable (`env()`, a `password_env` of `dialer(#{…})`).
//!
//! `--allow-read PATH`, `--allow-write PATH`, `--allow-net HOST`, `--allow-env NAME` (and the
//! profile keys `allow_read`, `allow_write`, `allow_net`, `allow_env`) widen that;
//! `--allow-all` lifts it. tdc's own files — the config folder, the history, the audit log and
//! import journals — are never read or written by scripts, whatever is allowed: they are
//! reached through their APIs only. A refusal names the flag that would allow it.
//!
//! A file is decided on once, with links resolved ([`grant`]), and `crate::files` opens it
//! from the allowed folder without following links, so what is opened is what was decided on.
//!
//! The rules are carried by the script host ([`Powers`], set by the command that made it);
//! a host that was given none allows nothing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::{script_error, RhaiResultOf};

#[derive(Debug, Clone, Default)]
pub(crate) struct Permissions {
    /// `--allow-all`.
    pub(crate) all: bool,
    pub(crate) read: Vec<PathBuf>,
    pub(crate) write: Vec<PathBuf>,
    /// Host names (or `host:port`) scripts may open connections to.
    pub(crate) net: Vec<String>,
    pub(crate) env: Vec<String>,
    /// tdc's own files and folders: never for scripts.
    pub(crate) protected: Vec<PathBuf>,
    /// Import journals in use: written by `add_leads` only.
    pub(crate) journals: Vec<PathBuf>,
}

/// A host's powers: what the scripts it runs may touch. Shared by the host's threads; a new
/// one allows nothing until [`Powers::install`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Powers(Arc<RwLock<Permissions>>);

impl Powers {
    /// Powers that allow everything but tdc's own files: for what the user named on the
    /// command line (`tdc export DIR`).
    pub(crate) fn unbounded() -> Powers {
        let powers = Powers::default();
        powers.install(Permissions {
            all: true,
            ..Permissions::default()
        });
        powers
    }

    /// Puts `permissions` in force for this host's scripts.
    pub(crate) fn install(&self, mut permissions: Permissions) {
        for list in [
            &mut permissions.read,
            &mut permissions.write,
            &mut permissions.protected,
        ] {
            for path in list.iter_mut() {
                *path = resolve(path);
            }
        }
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = permissions;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Permissions> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn change<T>(&self, change: impl FnOnce(&mut Permissions) -> T) -> T {
        change(&mut self.0.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// An import journal in use: `add_leads` may write it under the usual rules; file
    /// functions may not touch it.
    pub(crate) fn check_journal(&self, path: &Path) -> RhaiResultOf<()> {
        let text = path.to_string_lossy();
        self.check_file("add_leads: journal", &text, true, false)?;
        let path = resolve(path);
        self.change(|p| p.journals.push(path));
        Ok(())
    }

    /// Whether a script may read (or write) `path`, and where it lies if so; a refusal is
    /// the message to show.
    pub(crate) fn grant(&self, what: &str, path: &str, write: bool) -> Result<Grant, String> {
        self.grant_file(what, path, write, true)
    }

    /// Whether `add_leads` may open the import journal `path` (its own, once registered).
    pub(crate) fn grant_journal(&self, what: &str, path: &str) -> Result<Grant, String> {
        self.grant_file(what, path, true, false)
    }

    fn grant_file(
        &self,
        what: &str,
        path: &str,
        write: bool,
        journals_too: bool,
    ) -> Result<Grant, String> {
        let target = resolve(Path::new(path));
        let permissions = self.read();
        if under(&target, &permissions.protected)
            || (journals_too && permissions.journals.contains(&target))
        {
            return Err(format!(
                "{what}: {path} is one of tdc's own files (config, history, audit log or an import journal); scripts reach them only through their APIs"
            ));
        }
        if permissions.all {
            return Ok(Grant {
                target,
                root: PathBuf::from("/"),
            });
        }
        let roots = if write {
            &permissions.write
        } else {
            &permissions.read
        };
        if let Some(root) = roots
            .iter()
            .filter(|root| target.starts_with(root))
            .max_by_key(|root| root.as_os_str().len())
        {
            // A file allowed by its own name (`--allow-write out.csv`) is opened from its
            // folder, by that one name.
            let root = match target.parent() {
                Some(parent) if *root == target => parent.to_path_buf(),
                _ => root.clone(),
            };
            return Ok(Grant { root, target });
        }
        let (verb, flag) = if write {
            ("writing", "--allow-write")
        } else {
            ("reading", "--allow-read")
        };
        Err(format!(
            "{what}: {verb} {} is not allowed: scripts may use files under their own folder and the working directory; allow it with {flag} {}",
            target.display(),
            target.parent().unwrap_or(&target).display()
        ))
    }

    fn check_file(
        &self,
        what: &str,
        path: &str,
        write: bool,
        journals_too: bool,
    ) -> RhaiResultOf<()> {
        self.grant_file(what, path, write, journals_too)
            .map(drop)
            .map_err(script_error)
    }

    /// Before a script writes `path` (or creates it, or a folder).
    pub(crate) fn check_write(&self, what: &str, path: &str) -> RhaiResultOf<()> {
        self.check_file(what, path, true, true)
    }

    /// Before a script reads the environment variable `name`.
    pub(crate) fn check_env(&self, what: &str, name: &str) -> RhaiResultOf<()> {
        let p = self.read();
        if p.all || p.env.iter().any(|allowed| allowed == name) {
            return Ok(());
        }
        Err(script_error(format!(
            "{what}: reading the environment variable {name} is not allowed; allow it with --allow-env {name}"
        )))
    }

    /// Before a script connects to `url` (a dialer of its own making, a webhook).
    pub(crate) fn check_net(&self, what: &str, url: &url::Url) -> RhaiResultOf<()> {
        let permissions = self.read();
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let with_port = match url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let allowed = permissions
            .net
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host) || h.eq_ignore_ascii_case(&with_port));
        if permissions.all || allowed {
            return Ok(());
        }
        Err(script_error(format!(
            "{what}: connecting to {with_port} is not allowed: scripts may talk to the active connection and the config file's profiles; allow it with --allow-net {host}"
        )))
    }
}

/// An absolute path with symbolic links and `..` resolved, as far as it exists; what does
/// not exist yet is appended as written.
fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut existing = absolute.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return crate::files::normalize(&out);
        }
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return crate::files::normalize(&absolute),
        }
    }
}

fn under(path: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|root| path.starts_with(root))
}

/// Where a file a script names may be opened: its path with links and `..` resolved, and
/// the allowed folder it lies under (`/` where nothing restricts it). Opening walks from
/// `root` to `target` without following links, so the decision holds for what is opened.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grant {
    pub(crate) target: PathBuf,
    pub(crate) root: PathBuf,
}

/// What tdc itself opens (paths the user gave on the command line, its own files): resolved
/// the same way, never refused.
pub(crate) fn own(path: &Path) -> Grant {
    Grant {
        target: resolve(path),
        root: PathBuf::from("/"),
    }
}

/// The `host` and `host:port` of a URL, for the list of allowed hosts.
pub(crate) fn hosts_of(url: &str) -> Vec<String> {
    match url::Url::parse(url.trim()) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("").to_ascii_lowercase();
            match url.port_or_known_default() {
                Some(port) => vec![format!("{host}:{port}")],
                None => vec![host],
            }
        }
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_through_dot_dot_and_missing_parts() {
        let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
        assert_eq!(resolve(Path::new("a/../b.csv")), cwd.join("b.csv"));
        assert_eq!(
            resolve(Path::new("no/such/dir/../x.csv")),
            cwd.join("no/such/x.csv")
        );
        assert!(!under(
            &resolve(Path::new("../outside.csv")),
            std::slice::from_ref(&cwd)
        ));
    }
}
