//! The `Dialer` type (`td` in every script): how one is made (`dialer(profile)`), what it
//! says of itself, and the guards every change passes (dry-run, confirmation). Its operations
//! are bound one file per API area, named as `api/` and `sandbox/routes/` name them.

mod campaign_leads;
mod campaigns;
mod leads;
mod listings;
mod raw;
mod recordings;

pub(crate) use campaign_leads::campaign_leads_api;
pub(crate) use campaigns::campaigns_api;
pub(crate) use leads::leads_api;
pub(crate) use listings::listings_api;
pub(crate) use raw::raw_api;
pub(crate) use recordings::recordings_api;

use std::sync::Arc;

use super::RhaiResultOf;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, INT};
use serde_json::Value;

use super::{
    api_error, bulk_error, dynamic_to_json, json_to_dynamic, script_error, Host, Query, Recording,
};
use crate::api::query::{Op, QuerySpec, Resource};
use crate::api::{ApiError, Client};
use crate::config::{Connection, ConnectionFlags};
use crate::terminal::sink::{errln, errs};

/// A connection to a dialer.
#[derive(Clone)]
pub(crate) struct Dialer {
    pub(crate) client: Arc<Client>,
    pub(crate) label: String,
    pub(crate) host: Arc<Host>,
    /// Set on a remote, writable connection once its first change was confirmed.
    guard: Arc<Guard>,
}

struct Guard {
    remote: bool,
    confirmed: std::sync::atomic::AtomicBool,
}

/// The host, reachable from functions that have no `Dialer` (`dialer(...)`).
#[derive(Clone)]
pub(crate) struct HostTag(pub(crate) Arc<Host>);

/// Why a dialer cannot be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DialerError {
    #[error(transparent)]
    Client(#[from] crate::api::SetupError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("'{url}' is not a URL: {source}")]
    BadUrl {
        url: String,
        source: url::ParseError,
    },
}

impl Dialer {
    /// A dialer on a sandbox at `url` (labelled `sandbox`, never remote) with `connection`'s
    /// client settings (a session's own, or the embedded sandbox's). The one way `tdc test`,
    /// watch mode and `tdc defs` make theirs.
    pub(crate) fn on_sandbox(
        url: &str,
        connection: &crate::config::Connection,
        host: &Arc<Host>,
    ) -> Result<Dialer, DialerError> {
        let base_url = url::Url::parse(url).map_err(|source| DialerError::BadUrl {
            url: url.to_string(),
            source,
        })?;
        let client = Arc::new(Client::new(connection.client_options(&base_url)?)?);
        Ok(Dialer::new(client, "sandbox".into(), host.clone(), false))
    }

    /// `remote` is a connection that is neither the embedded sandbox nor on loopback: its
    /// first change in a run needs a confirmation (or `--yes`).
    pub(crate) fn new(client: Arc<Client>, label: String, host: Arc<Host>, remote: bool) -> Dialer {
        Dialer {
            client,
            label,
            host,
            guard: Arc::new(Guard {
                remote,
                confirmed: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Before a mutating request: in dry-run, prints it and returns true (the caller sends
    /// nothing); otherwise makes sure a change to a remote dialer was confirmed.
    fn dry(&self, method: &str, path: &str, body: &Value) -> RhaiResultOf<bool> {
        if self.host.dry_run() {
            errln!("dry-run: {method} {path} {body}");
            return Ok(true);
        }
        self.confirm(method, path)?;
        Ok(false)
    }

    fn confirm(&self, method: &str, path: &str) -> RhaiResultOf<()> {
        use std::io::IsTerminal;
        use std::sync::atomic::Ordering;
        if !self.guard.remote
            || self.guard.confirmed.load(Ordering::SeqCst)
            || self.host.assume_yes()
        {
            return Ok(());
        }
        let target = format!("{} ({})", self.label, self.client.base_url());
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return Err(script_error(format!(
                "refusing to send {method} {path} to {target} without confirmation: pass --yes"
            )));
        }
        errs!("tdc: {method} {path} changes data on {target}. Continue? [y/N] ");
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            self.guard.confirmed.store(true, Ordering::SeqCst);
            Ok(())
        } else {
            Err(script_error(format!(
                "cancelled: {method} {path} was not sent"
            )))
        }
    }

    fn list_all(&self, spec: QuerySpec) -> RhaiResultOf<Array> {
        super::query::Query::new(self.clone(), spec).collect_all()
    }
}

fn to_json_arg(what: &str, value: &Dynamic) -> RhaiResultOf<Value> {
    dynamic_to_json(value).map_err(|e| script_error(format!("{what}: {e}")))
}

/// Ids given as INT or numeric strings, as JSON values sent unchanged.
fn id_list(what: &str, ids: &Array) -> RhaiResultOf<Vec<Value>> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            if let Ok(n) = id.as_int() {
                Ok(Value::from(n))
            } else if let Some(s) = id.read_lock::<rhai::ImmutableString>() {
                Ok(Value::from(s.as_str()))
            } else {
                Err(script_error(format!(
                    "{what}: id {i} is a {}, expected an INT or a string",
                    id.type_name()
                )))
            }
        })
        .collect()
}

fn text_of(value: &Dynamic) -> RhaiResultOf<String> {
    if value.is_unit() {
        return Ok(String::new());
    }
    super::scalar_text(value).ok_or_else(|| {
        script_error(format!(
            "a filter value must be text or a number, not a {}",
            value.type_name()
        ))
    })
}

/// A search by one field over every page.
fn search(
    dialer: &Dialer,
    resource: Resource,
    field: &str,
    value: &Dynamic,
) -> RhaiResultOf<Array> {
    let mut spec = QuerySpec::new(resource);
    spec.add_condition(field, Op::Eq, text_of(value)?)
        .map_err(script_error)?;
    dialer.list_all(spec)
}

fn mass_assign(
    dialer: &mut Dialer,
    conditions: Value,
    campaign_id: INT,
    remove: bool,
) -> RhaiResultOf<Map> {
    let body = Client::mass_assign_body(conditions, campaign_id, remove);
    if dialer.dry("PUT", crate::api::MASS_ASSIGN_PATH, &body)? {
        return Ok(Map::new());
    }
    let client = dialer.client.clone();
    let assigned = dialer
        .host
        .call(async move { client.mass_assign(&body).await })?;
    Ok(json_to_dynamic(Value::Object(assigned))
        .try_cast::<Map>()
        .unwrap_or_default())
}

/// Builds a Dialer for a resolved connection.
pub(crate) fn dialer_for(host: &Arc<Host>, connection: Connection) -> RhaiResultOf<Dialer> {
    let url = match &connection.target {
        crate::config::Target::Url(url) => url.clone(),
        crate::config::Target::Embedded => {
            return Err(script_error(
                "this connection has no url (the embedded sandbox is `td`)",
            ))
        }
    };
    let options = connection.client_options(&url).map_err(script_error)?;
    let client = Arc::new(Client::new(options).map_err(script_error)?);
    Ok(Dialer::new(
        client,
        connection.label(),
        host.clone(),
        connection.is_remote(),
    ))
}

impl HostTag {
    /// The host of the engine a native function was called from.
    pub(crate) fn of(ctx: &NativeCallContext) -> Option<Arc<Host>> {
        ctx.tag()
            .and_then(|tag| tag.clone().try_cast::<HostTag>())
            .map(|tag| tag.0)
    }
}

fn host_of(ctx: &NativeCallContext) -> RhaiResultOf<Arc<Host>> {
    HostTag::of(ctx).ok_or_else(|| script_error("dialer(): no host in this engine"))
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[export_module]
pub mod dialer_api {
    use super::*;

    /// The dialer's base URL.
    ///
    /// ```rhai
    /// print(td.url);
    /// ```
    #[rhai_fn(get = "url", pure)]
    pub fn url(dialer: &mut Dialer) -> String {
        dialer.client.base_url().to_string()
    }

    /// Whether changes are only shown, not sent (`tdc run --dry-run`): scripts use it to
    /// report what they *would* do.
    ///
    /// ```rhai
    /// if td.dry_run { print("preview only: nothing is changed"); }
    /// ```
    #[rhai_fn(get = "dry_run", pure)]
    pub fn dry_run(dialer: &mut Dialer) -> bool {
        dialer.host.dry_run()
    }

    /// How the dialer is shown.
    ///
    /// ```rhai
    /// print(td);   // Dialer(sandbox http://127.0.0.1:…)
    /// ```
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn describe(dialer: &mut Dialer) -> String {
        format!("Dialer({} {})", dialer.label, dialer.client.base_url())
    }

    /// Another dialer, from a profile of the config file.
    ///
    /// ```rhai
    /// let prod = dialer("prod");
    /// print(prod.url);
    /// ```
    #[rhai_fn(name = "dialer", return_raw)]
    pub fn dialer_profile(ctx: NativeCallContext, profile: &str) -> RhaiResultOf<Dialer> {
        let host = host_of(&ctx)?;
        let flags = ConnectionFlags {
            profile: Some(profile.to_string()),
            ..ConnectionFlags::default()
        };
        let connection = Connection::resolve(&flags, &env_var, host.config())
            .map_err(|e| script_error(format!("dialer(\"{profile}\"): {e}")))?;
        dialer_for(&host, connection)
    }

    /// Another dialer from a map: `url`, `user`, `password_env` (the name of the variable
    /// holding the password — never the password itself), `read_only`.
    ///
    /// ```rhai
    /// let other = dialer(#{ url: "http://127.0.0.1:8025", user: "sandbox", password_env: "SANDBOX_PW" });
    /// ```
    #[rhai_fn(name = "dialer", return_raw)]
    pub fn dialer_map(ctx: NativeCallContext, settings: Map) -> RhaiResultOf<Dialer> {
        let host = host_of(&ctx)?;
        for key in settings.keys() {
            match key.as_str() {
                "url" | "user" | "password_env" | "read_only" | "timeout_s" | "concurrency" => {}
                "password" => {
                    return Err(script_error(
                        "dialer(): pass password_env (the name of a variable), not a password",
                    ))
                }
                other => return Err(script_error(format!("dialer(): unknown setting '{other}'"))),
            }
        }
        let text = |key: &str| settings.get(key).and_then(|v| v.clone().into_string().ok());
        let url = text("url").ok_or_else(|| script_error("dialer(): url is required"))?;
        // A script's own dialer: its host and the variable holding its password must be
        // allowed (a shared script must not send a secret of yours to a host of its choosing).
        if let Ok(parsed) = url::Url::parse(url.trim()) {
            host.powers().check_net("dialer()", &parsed)?;
        }
        if let Some(name) = text("password_env") {
            host.powers().check_env("dialer()", &name)?;
        }
        let mut profile = crate::config::Profile {
            url: Some(url),
            user: text("user"),
            password_env: text("password_env"),
            read_only: settings.get("read_only").and_then(|v| v.as_bool().ok()),
            ..crate::config::Profile::default()
        };
        profile.timeout_s = settings
            .get("timeout_s")
            .and_then(|v| v.as_int().ok())
            .map(|n| n.max(1) as u64);
        profile.concurrency = settings
            .get("concurrency")
            .and_then(|v| v.as_int().ok())
            .map(|n| n.max(1) as usize);
        let file = crate::config::ConfigFile {
            default_profile: None,
            profiles: [("script".to_string(), profile)].into_iter().collect(),
        };
        let flags = ConnectionFlags {
            profile: Some("script".into()),
            ..ConnectionFlags::default()
        };
        let no_env = |name: &str| {
            if name == "TDC_PROFILE"
                || name == "TDC_URL"
                || name == "TDC_USER"
                || name == "TDC_PASSWORD"
            {
                None
            } else {
                env_var(name)
            }
        };
        let path = std::path::Path::new("dialer()");
        let mut connection = Connection::resolve(&flags, &no_env, Some((path, &file)))
            .map_err(|e| script_error(format!("dialer(): {e}")))?;
        connection.profile = None;
        if connection.password.is_none() {
            return Err(script_error("dialer(): password_env is required"));
        }
        dialer_for(&host, connection)
    }
}
