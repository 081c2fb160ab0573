//! The `Dialer` type (`td` in every script) and its operations: one function per operation of
//! the vendor guide, the listings, and the raw `get`/`put`/`post` escape hatch.

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

/// A connection to a dialer.
#[derive(Clone)]
pub struct Dialer {
    pub client: Arc<Client>,
    pub label: String,
    pub host: Arc<Host>,
    /// Set on a remote, writable connection once its first change was confirmed.
    guard: Arc<Guard>,
}

struct Guard {
    remote: bool,
    confirmed: std::sync::atomic::AtomicBool,
}

/// The host, reachable from functions that have no `Dialer` (`dialer(...)`).
#[derive(Clone)]
pub struct HostTag(pub Arc<Host>);

/// Why a dialer cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum DialerError {
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
    pub fn on_sandbox(
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
    pub fn new(client: Arc<Client>, label: String, host: Arc<Host>, remote: bool) -> Dialer {
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
            eprintln!("dry-run: {method} {path} {body}");
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
        eprint!("tdc: {method} {path} changes data on {target}. Continue? [y/N] ");
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
pub fn dialer_for(host: &Arc<Host>, connection: Connection) -> RhaiResultOf<Dialer> {
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
    pub fn of(ctx: &NativeCallContext) -> Option<Arc<Host>> {
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

    /// Inserts leads and returns them as inserted, each with its new `id`. Leads are sent in
    /// chunks of 500, several at a time; the result keeps the input order. If a chunk fails,
    /// the error map says which input positions were `applied`, `not_applied` or `unknown`.
    ///
    /// ```rhai
    /// let added = td.add_leads([#{ first_name: "Alfred", phone: "447700001234",
    ///                              customFields: #{ affiliate: "BZ15" } }]);
    /// print(added[0].id);
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn add_leads(dialer: &mut Dialer, leads: Array) -> RhaiResultOf<Array> {
        add_leads_with(dialer, leads, Map::new())
    }

    /// `add_leads` with options: `chunk` (leads per request, default 500) and `journal` (a
    /// JSONL file recording each chunk's outcome: if the import is interrupted, the same call
    /// with the same journal resumes it without duplicates; the file is removed once every
    /// lead is in).
    ///
    /// ```rhai
    /// let added = td.add_leads([#{ phone: "447700009999", original_identifier: "crm-1" }],
    ///                          #{ chunk: 100, journal: "import.journal.jsonl" });
    /// ```
    #[rhai_fn(name = "add_leads", return_raw, pure)]
    pub fn add_leads_with(dialer: &mut Dialer, leads: Array, options: Map) -> RhaiResultOf<Array> {
        let mut settings = crate::api::AddLeadsOptions::default();
        for (key, value) in options.iter() {
            match key.as_str() {
                "chunk" => {
                    settings.chunk = Some(
                        value
                            .as_int()
                            .ok()
                            .filter(|n| *n > 0)
                            .map(|n| n as usize)
                            .ok_or_else(|| {
                                script_error("add_leads: option chunk must be a positive INT")
                            })?,
                    )
                }
                "journal" => {
                    let path = value
                        .clone()
                        .into_string()
                        .map_err(|_| script_error("add_leads: option journal is a file path"))?;
                    let path = std::path::PathBuf::from(path);
                    crate::script::permissions::check_journal(&path)?;
                    settings.journal = Some(path);
                }
                other => {
                    return Err(script_error(format!(
                        "add_leads: unknown option '{other}' (chunk, journal)"
                    )))
                }
            }
        }
        let chunk = settings.chunk.unwrap_or(crate::api::DEFAULT_CHUNK);
        let mut bodies = Vec::with_capacity(leads.len());
        for (i, lead) in leads.iter().enumerate() {
            if !lead.is_map() {
                return Err(script_error(format!(
                    "add_leads: lead {i} is a {}; each lead is a map like #{{ phone: \"447700001234\" }}",
                    lead.type_name()
                )));
            }
            let body = dynamic_to_json(lead)
                .map_err(|e| script_error(format!("add_leads: lead {i}: {e}")))?;
            bodies.push(body);
        }
        if dialer.host.dry_run() {
            for chunk_leads in bodies.chunks(chunk) {
                dialer.dry(
                    "POST",
                    crate::api::LEADS_PATH,
                    &Value::Array(chunk_leads.to_vec()),
                )?;
            }
            return Ok(leads
                .into_iter()
                .map(|lead| {
                    let mut map = lead.cast::<Map>();
                    map.insert("id".into(), Dynamic::UNIT);
                    Dynamic::from_map(map)
                })
                .collect());
        }
        dialer.confirm("POST", crate::api::LEADS_PATH)?;
        // Freed before the answers arrive, so that their memory is reused rather than new.
        drop(leads);
        let bar = crate::terminal::progress::bar(bodies.len() as u64, "leads");
        let shown = bar.clone();
        settings.progress = Some(std::sync::Arc::new(move |n| shown.inc(n as u64)));
        let client = dialer.client.clone();
        let outcome = dialer
            .host
            .block_on(async move { client.add_leads::<Dynamic>(bodies, settings).await });
        bar.finish_and_clear();
        match outcome {
            None => Err(super::super::terminated()),
            Some(Ok(inserted)) => Ok(inserted),
            Some(Err(error)) => Err(bulk_error(error)),
        }
    }

    /// Every lead whose `field` equals `value` (all pages). Shorthand for
    /// `td.leads().where(field, value).to_array()`.
    ///
    /// ```rhai
    /// let same = td.find_leads("phone", "447700001234");
    /// print(same.len());
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn find_leads(dialer: &mut Dialer, field: &str, value: Dynamic) -> RhaiResultOf<Array> {
        search(dialer, Resource::Leads, field, &value)
    }

    /// A lead search as a Query (path filters: `/api/leads/field/value/...`).
    ///
    /// ```rhai
    /// let q = td.leads().where("purchase_site", "x").where("created_at", ">", "2023-12-21 13:15:11");
    /// print(q.count());
    /// ```
    #[rhai_fn(pure)]
    pub fn leads(dialer: &mut Dialer) -> Query {
        Query::new(dialer.clone(), QuerySpec::new(Resource::Leads))
    }

    /// Assigns leads (by lead id) to a campaign. Returns a map from campaign-lead id (a string
    /// key) to the lead. A lead already in the campaign keeps its campaign lead.
    ///
    /// ```rhai
    /// let cls = td.assign([49969], 12);
    /// print(cls.keys());
    /// ```
    #[rhai_fn(name = "assign", return_raw, pure)]
    pub fn assign_ids(dialer: &mut Dialer, lead_ids: Array, campaign_id: INT) -> RhaiResultOf<Map> {
        assign_ids_remove(dialer, lead_ids, campaign_id, false)
    }

    /// Assigns leads by id; with `remove_from_others` true, their campaign leads in every other
    /// campaign are deleted (keeping each lead in one campaign).
    ///
    /// ```rhai
    /// td.assign([1, 2, 3], 12, true);
    /// ```
    #[rhai_fn(name = "assign", return_raw, pure)]
    pub fn assign_ids_remove(
        dialer: &mut Dialer,
        lead_ids: Array,
        campaign_id: INT,
        remove_from_others: bool,
    ) -> RhaiResultOf<Map> {
        let ids = id_list("assign", &lead_ids)?;
        let conditions = serde_json::json!({ "id": ids });
        mass_assign(dialer, conditions, campaign_id, remove_from_others)
    }

    /// Assigns the leads a where-map selects (`#{ field: [values] }`, every field must match).
    ///
    /// ```rhai
    /// td.assign(#{ phone: ["447700001234"] }, 12);
    /// ```
    #[rhai_fn(name = "assign", return_raw, pure)]
    pub fn assign_where(
        dialer: &mut Dialer,
        conditions: Map,
        campaign_id: INT,
    ) -> RhaiResultOf<Map> {
        assign_where_remove(dialer, conditions, campaign_id, false)
    }

    /// Assigns the leads a where-map selects; `remove_from_others` as for `assign(ids, …)`.
    ///
    /// ```rhai
    /// td.assign(#{ phone: ["447700001234"] }, 12, true);
    /// ```
    #[rhai_fn(name = "assign", return_raw, pure)]
    pub fn assign_where_remove(
        dialer: &mut Dialer,
        conditions: Map,
        campaign_id: INT,
        remove_from_others: bool,
    ) -> RhaiResultOf<Map> {
        if conditions.is_empty() {
            return Err(script_error(
                "assign: the where-map is empty; name at least one field",
            ));
        }
        let conditions = to_json_arg("assign", &Dynamic::from_map(conditions))?;
        mass_assign(dialer, conditions, campaign_id, remove_from_others)
    }

    /// Clones a campaign with its settings, statuses and rules; returns the new campaign.
    ///
    /// ```rhai
    /// let camp = td.clone_campaign(12);
    /// print(camp.name);   // "[clone of] Campaign 12"
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn clone_campaign(dialer: &mut Dialer, campaign_id: INT) -> RhaiResultOf<Map> {
        clone_with_caller_id(dialer, campaign_id, Dynamic::UNIT)
    }

    /// Clones a campaign and sets its `default_caller_id` (text or INT).
    ///
    /// ```rhai
    /// let camp = td.clone_campaign(12, "123456789");
    /// ```
    #[rhai_fn(name = "clone_campaign", return_raw, pure)]
    pub fn clone_with_caller_id(
        dialer: &mut Dialer,
        campaign_id: INT,
        default_caller_id: Dynamic,
    ) -> RhaiResultOf<Map> {
        let caller_id = if default_caller_id.is_unit() {
            None
        } else {
            Some(text_of(&default_caller_id)?)
        };
        let body = Client::clone_body(campaign_id, caller_id.as_deref());
        if dialer.dry("GET", crate::api::CLONE_PATH, &body)? {
            return Ok(Map::new());
        }
        let client = dialer.client.clone();
        let campaign = dialer
            .host
            .call(async move { client.clone_campaign(&body).await })?;
        Ok(json_to_dynamic(campaign)
            .try_cast::<Map>()
            .unwrap_or_default())
    }

    /// Updates campaign leads (by campaign-lead id) and their leads:
    /// `#{ lead: #{…}, campaignLead: #{…} }`. Returns the updated campaign leads.
    ///
    /// ```rhai
    /// td.update_campaign_leads([78057], #{ lead: #{ phone: "447700001235" },
    ///                                     campaignLead: #{ status_id: 69 } });
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn update_campaign_leads(
        dialer: &mut Dialer,
        campaign_lead_ids: Array,
        update: Map,
    ) -> RhaiResultOf<Array> {
        let ids = id_list("update_campaign_leads", &campaign_lead_ids)?;
        if ids.is_empty() {
            return Err(script_error(
                "update_campaign_leads: no campaign-lead ids given",
            ));
        }
        let update = to_json_arg("update_campaign_leads", &Dynamic::from_map(update))?;
        let body = Client::update_body(ids, update);
        if dialer.dry("PUT", crate::api::UPDATE_PATH, &body)? {
            return Ok(Array::new());
        }
        let client = dialer.client.clone();
        let updated = dialer
            .host
            .call(async move { client.update_campaign_leads(&body).await })?;
        Ok(updated.into_iter().map(json_to_dynamic).collect())
    }

    /// Moves leads (by lead id) from one campaign to another, without preserved data.
    ///
    /// ```rhai
    /// td.move_to_campaign([49969], 12, 13);
    /// ```
    #[rhai_fn(name = "move_to_campaign", return_raw, pure)]
    pub fn move_plain(
        dialer: &mut Dialer,
        lead_ids: Array,
        source: INT,
        destination: INT,
    ) -> RhaiResultOf<Array> {
        move_to_campaign(dialer, lead_ids, source, destination, false)
    }

    /// Moves leads between campaigns; with `with_preserve_data` the campaign lead keeps its
    /// calls counter, user, history and status (mapped by name). Returns the campaign leads in
    /// the destination. The sandbox refuses the whole request (422) when a lead already has a
    /// campaign lead in the destination, rather than drop one of the two with its calls;
    /// `recycle::plan` finds such leads first.
    ///
    /// ```rhai
    /// let moved = td.move_to_campaign([49969], 12, 13, true);
    /// print(moved[0].campaign_id);   // 13
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn move_to_campaign(
        dialer: &mut Dialer,
        lead_ids: Array,
        source: INT,
        destination: INT,
        with_preserve_data: bool,
    ) -> RhaiResultOf<Array> {
        let ids = id_list("move_to_campaign", &lead_ids)?;
        let body = Client::move_body(ids, source, destination, with_preserve_data);
        if dialer.dry("PUT", crate::api::MOVE_PATH, &body)? {
            return Ok(Array::new());
        }
        let client = dialer.client.clone();
        let moved = dialer
            .host
            .call(async move { client.move_to_campaign(&body).await })?;
        Ok(moved.into_iter().map(json_to_dynamic).collect())
    }

    /// Every campaign lead whose `field` equals `value` (e.g. `"lead_id"`, `"campaign_id"`).
    ///
    /// ```rhai
    /// let cls = td.campaign_leads("lead_id", 49969);
    /// print(cls[0].status);
    /// ```
    #[rhai_fn(name = "campaign_leads", return_raw, pure)]
    pub fn campaign_leads_by(
        dialer: &mut Dialer,
        field: &str,
        value: Dynamic,
    ) -> RhaiResultOf<Array> {
        search(dialer, Resource::CampaignLeads, field, &value)
    }

    /// Campaign leads as a Query.
    ///
    /// ```rhai
    /// let busy = td.campaign_leads().where("campaign_id", 12).where("calls_count", ">=", 3);
    /// print(busy.count());
    /// ```
    #[rhai_fn(pure)]
    pub fn campaign_leads(dialer: &mut Dialer) -> Query {
        Query::new(dialer.clone(), QuerySpec::new(Resource::CampaignLeads))
    }

    /// Every campaign, each with its `statuses`.
    ///
    /// ```rhai
    /// for c in td.campaigns() { print(`${c.id} ${c.name}`); }
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn campaigns(dialer: &mut Dialer) -> RhaiResultOf<Array> {
        dialer.list_all(QuerySpec::new(Resource::Campaigns))
    }

    /// Every user of the tenant: `id`, `username`, `first_name`, `last_name`, `is_active`,
    /// and `desks` (a map of desk id to desk name). Beyond the vendor guide: real tenants
    /// serve it at `/api/users`.
    ///
    /// ```rhai
    /// let agents = td.users().filter(|u| u.is_active == 1 && u.desks.len() > 0);
    /// print(agents.len());
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn users(dialer: &mut Dialer) -> RhaiResultOf<Array> {
        dialer.list_all(QuerySpec::new(Resource::Users))
    }

    /// The comments on one lead, oldest first: `id`, `lead_id`, `body`, `creator_user_id`,
    /// `created_at`. Beyond the vendor guide: real tenants serve it at
    /// `/api/comments/lead_id/{id}/`.
    ///
    /// ```rhai
    /// for c in td.comments(49969) { print(`${c.created_at} ${c.body}`); }
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn comments(dialer: &mut Dialer, lead_id: INT) -> RhaiResultOf<Array> {
        search(
            dialer,
            Resource::Comments,
            "lead_id",
            &Dynamic::from_int(lead_id),
        )
    }

    /// One campaign by id, with its `statuses`; an error if there is none.
    ///
    /// ```rhai
    /// print(td.campaign(12).statuses);
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn campaign(dialer: &mut Dialer, id: INT) -> RhaiResultOf<Map> {
        let found = search(dialer, Resource::Campaigns, "id", &Dynamic::from_int(id))?;
        match found.into_iter().next() {
            Some(campaign) => Ok(campaign.try_cast::<Map>().unwrap_or_default()),
            None => Err(api_error(ApiError::status(
                "GET",
                &format!("/api/campaigns/id/{id}/"),
                404,
                format!("campaign {id} does not exist"),
            ))),
        }
    }

    /// Call detail records as a Query; nothing is sent until it is read.
    ///
    /// ```rhai
    /// let q = td.cdrs().where("start_at", ">", "2025-01-01 00:00:00").where("q850", ">", 0);
    /// for c in q.limit(10) { print(c.status); }
    /// ```
    #[rhai_fn(pure)]
    pub fn cdrs(dialer: &mut Dialer) -> Query {
        Query::new(dialer.clone(), QuerySpec::new(Resource::Cdrs))
    }

    /// Calls as a Query (`limit`/`offset` paging on the server).
    ///
    /// ```rhai
    /// let ids = td.calls().where("call_bill_duration", ">", 60).fields(["id"]).limit(5).to_array();
    /// ```
    #[rhai_fn(pure)]
    pub fn calls(dialer: &mut Dialer) -> Query {
        Query::new(dialer.clone(), QuerySpec::new(Resource::Calls))
    }

    /// A call's recording (FLAC).
    ///
    /// ```rhai
    /// let rec = td.recording(45475);
    /// rec.save("45475.flac");
    /// print(rec.info().seconds);
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn recording(dialer: &mut Dialer, call_id: INT) -> RhaiResultOf<Recording> {
        let client = dialer.client.clone();
        let bytes = dialer
            .host
            .call(async move { client.recording(call_id).await })?;
        Ok(Recording::new(call_id, bytes))
    }

    /// Downloads the recordings of calls into `folder` as `<call id>.flac`, a few at a time
    /// (option `concurrency`, default the connection's). `calls` holds call ids, or call maps
    /// with `id` and `call_bill_duration`. A file already there is kept only when it is whole:
    /// every FLAC frame decodes (each is CRC-checked), the samples add up to the header's
    /// length, and that length is the call's billed seconds (within one) when given; a
    /// truncated, empty or damaged file is fetched again. Each file is written under a
    /// temporary name and renamed. Returns `#{files, bytes, seconds, skipped, repaired,
    /// failed}`; `failed` lists `#{call_id, message}` (e.g. calls that were not answered have
    /// no recording).
    ///
    /// ```rhai
    /// let calls = td.calls().where("call_bill_duration", ">", 60).fields(["id", "call_bill_duration"]).limit(5).to_array();
    /// let summary = td.download_recordings(calls, "recordings", #{ concurrency: 4 });
    /// print(`${summary.files} files, ${summary.seconds} s of audio, ${summary.repaired} repaired`);
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn download_recordings(
        dialer: &mut Dialer,
        call_ids: Array,
        folder: &str,
        options: Map,
    ) -> RhaiResultOf<Map> {
        let concurrency = match options.get("concurrency") {
            None => dialer.client.concurrency(),
            Some(n) => n
                .as_int()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| {
                    script_error("download_recordings: concurrency must be a positive INT")
                })?,
        };
        let wanted = call_ids
            .iter()
            .map(|call| {
                if let Some(map) = call.read_lock::<Map>() {
                    let call_id =
                        map.get("id")
                            .and_then(|id| id.as_int().ok())
                            .ok_or_else(|| {
                                script_error("download_recordings: a call map needs an INT id")
                            })?;
                    let billed_seconds = map.get("call_bill_duration").and_then(|s| {
                        s.as_int()
                            .ok()
                            .map(|n| n as f64)
                            .or_else(|| s.as_float().ok())
                    });
                    return Ok(crate::script::recording::Wanted {
                        call_id,
                        billed_seconds,
                    });
                }
                call.as_int()
                    .map(|call_id| crate::script::recording::Wanted {
                        call_id,
                        billed_seconds: None,
                    })
                    .map_err(|t| {
                        script_error(format!(
                            "download_recordings: calls are call ids (INTs) or call maps, got a {t}"
                        ))
                    })
            })
            .collect::<RhaiResultOf<Vec<_>>>()?;
        let folder = std::path::PathBuf::from(folder);
        let access = crate::files::Access::bounded("download_recordings");
        crate::files::create_dir_all(access, &folder)?;
        let client = dialer.client.clone();
        let outcomes = dialer
            .host
            .block_on(crate::script::recording::download_all(
                client,
                wanted,
                folder,
                concurrency,
            ))
            .ok_or_else(super::super::terminated)?;
        Ok(outcomes)
    }

    /// `GET` any API path; the answer as Rhai values (numeric-string rule applied).
    ///
    /// ```rhai
    /// let page = td.get("/api/cdrs?limit=5;0");
    /// ```
    #[rhai_fn(name = "get", return_raw, pure)]
    pub fn raw_get(dialer: &mut Dialer, path: &str) -> RhaiResultOf<Dynamic> {
        raw_get_params(dialer, path, Map::new())
    }

    /// `GET` any API path with query parameters from a map.
    ///
    /// ```rhai
    /// let page = td.get("/api/cdrs", #{ limit: "5;0", fields: "id;status" });
    /// ```
    #[rhai_fn(name = "get", return_raw, pure)]
    pub fn raw_get_params(dialer: &mut Dialer, path: &str, params: Map) -> RhaiResultOf<Dynamic> {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.iter() {
            pairs.append_pair(k, &text_of(v)?);
        }
        let query = pairs.finish();
        let full = if query.is_empty() {
            path.to_string()
        } else if path.contains('?') {
            format!("{path}&{query}")
        } else {
            format!("{path}?{query}")
        };
        let path = raw_path(dialer, "get", &full)?;
        // A GET that changes the dialer (the guide's clone) is a write: dry-run and the
        // confirmation apply to it as to any other.
        if path.changes_state() && dialer.dry("GET", path.as_str(), &Value::Null)? {
            return Ok(Dynamic::UNIT);
        }
        let client = dialer.client.clone();
        let answer = dialer
            .host
            .call(async move { client.get_raw(&path).await })?;
        Ok(json_to_dynamic(answer))
    }

    /// `PUT` a JSON body to any API path (sent once, never retried).
    ///
    /// ```rhai
    /// td.put("/api/campaign-leads/mass-assign", #{ where: #{ id: [1] }, campaign_id: 12 });
    /// ```
    #[rhai_fn(name = "put", return_raw, pure)]
    pub fn raw_put(dialer: &mut Dialer, path: &str, body: Dynamic) -> RhaiResultOf<Dynamic> {
        raw_send(dialer, reqwest::Method::PUT, path, &body)
    }

    /// `POST` a JSON body to any API path (sent once, never retried).
    ///
    /// ```rhai
    /// td.post("/api/leads", [#{ phone: "447700005555" }]);
    /// ```
    #[rhai_fn(name = "post", return_raw, pure)]
    pub fn raw_post(dialer: &mut Dialer, path: &str, body: Dynamic) -> RhaiResultOf<Dynamic> {
        raw_send(dialer, reqwest::Method::POST, path, &body)
    }

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
            crate::script::permissions::check_net("dialer()", &parsed)?;
        }
        if let Some(name) = text("password_env") {
            crate::script::permissions::check_env("dialer()", &name)?;
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

/// A raw path as it will be sent, or the script's error saying what is wrong with it.
fn raw_path(dialer: &Dialer, function: &str, raw: &str) -> RhaiResultOf<crate::api::RawPath> {
    dialer
        .client
        .raw_path(raw)
        .map_err(|e| script_error(format!("td.{function}: {e}")))
}

fn raw_send(
    dialer: &mut Dialer,
    method: reqwest::Method,
    path: &str,
    body: &Dynamic,
) -> RhaiResultOf<Dynamic> {
    let path = raw_path(dialer, &method.as_str().to_ascii_lowercase(), path)?;
    let body = to_json_arg(method.as_str(), body)?;
    if dialer.dry(method.as_str(), path.as_str(), &body)? {
        return Ok(Dynamic::UNIT);
    }
    let client = dialer.client.clone();
    let answer = dialer
        .host
        .call(async move { client.send_raw(method, &path, &body).await })?;
    Ok(json_to_dynamic(answer))
}
