//! Leads: `add_leads` (chunked, exactly once under faults), `find_leads` and the `leads()`
//! listing; the client side is `api::leads`.

use rhai::plugin::*;

use super::*;

#[export_module]
pub mod leads_api {
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
        let mut settings = crate::api::AddLeadsOptions {
            powers: dialer.host.powers().clone(),
            ..crate::api::AddLeadsOptions::default()
        };
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
                    dialer.host.powers().check_journal(&path)?;
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
            None => Err(crate::script::terminated()),
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
}
