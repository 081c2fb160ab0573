//! The `Query` type: a listing of CDRs, calls, leads or campaign leads, built with `where`,
//! `fields`, `order`, `limit` and `offset`, and read lazily. `for x in q` streams every page,
//! fetching pages ahead while the script works on the current one (`api::scan` plans which);
//! a page shorter than asked for is the last.

use super::RhaiResultOf;
use rhai::plugin::*;
use rhai::{Array, Dynamic, INT};

use super::{api_error, fast_json, script_error, terminated, Dialer};
use crate::api::query::{BadFilter, Op, QuerySpec};
use crate::api::scan::{AheadPages, FetchPage, HeldPage, PageStream, Ticket};
use crate::api::ApiError;

/// A listing request bound to a dialer. Each builder method returns a new Query.
#[derive(Clone)]
pub(crate) struct Query {
    dialer: Dialer,
    spec: QuerySpec,
}

impl Query {
    pub(crate) fn new(dialer: Dialer, spec: QuerySpec) -> Query {
        Query { dialer, spec }
    }

    fn with(
        &self,
        change: impl FnOnce(&mut QuerySpec) -> Result<(), BadFilter>,
    ) -> RhaiResultOf<Query> {
        let mut next = self.clone();
        change(&mut next.spec).map_err(|e| script_error(e.0))?;
        Ok(next)
    }

    /// Reads every row into an array.
    pub(crate) fn collect_all(self) -> RhaiResultOf<Array> {
        self.into_iter().collect()
    }

    /// The URL of its first page and its first `rows` rows (one request), for showing a
    /// Query in the REPL.
    pub(crate) fn preview(&self, rows: u64) -> RhaiResultOf<(String, Array)> {
        let mut query = self.clone();
        let url = query_api::url(&mut query);
        let mut first = query.clone();
        first.spec.limit = Some(first.spec.limit.map_or(rows, |l| l.min(rows)));
        Ok((url, first.collect_all()?))
    }

    pub(super) fn dialer(&self) -> &Dialer {
        &self.dialer
    }

    pub(super) fn spec(&self) -> &QuerySpec {
        &self.spec
    }

    /// The same dialer with another listing request.
    pub(super) fn with_spec(&self, spec: QuerySpec) -> Query {
        Query {
            dialer: self.dialer.clone(),
            spec,
        }
    }

    /// The columns `fields()` asked for, in that order.
    pub(crate) fn field_names(&self) -> Option<Vec<String>> {
        self.spec.fields.clone()
    }
}

/// Streams a query's rows, pages fetched ahead as [`crate::api::scan`] plans them.
pub(crate) struct Rows {
    query: Query,
    pages: AheadPages<Vec<Dynamic>, ApiError>,
    buffer: std::vec::IntoIter<Dynamic>,
    /// The place in the stream's budget of the page in `buffer`: the stream fetches no more
    /// than its budget allows past the page the script is on.
    ticket: Option<Ticket>,
    /// The last page was seen, or an error: read nothing more.
    finished: bool,
    read: u64,
    /// Shown from the second page on, so short listings stay quiet.
    progress: Option<indicatif::ProgressBar>,
}

impl Rows {
    fn stop(&mut self) {
        self.finished = true;
        if let Some(progress) = self.progress.take() {
            progress.finish_and_clear();
        }
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Iterator for Rows {
    type Item = RhaiResultOf<Dynamic>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(value) = self.buffer.next() {
                if let Some(progress) = &self.progress {
                    progress.inc(1);
                }
                return Some(Ok(value));
            }
            if self.finished {
                return None;
            }
            // The page is read: the stream may fetch in its place while the script waits.
            self.ticket = None;
            let (
                asked,
                HeldPage {
                    value: page,
                    ticket,
                },
            ) = match self.query.dialer.host.block_on(self.pages.next_page()) {
                None => {
                    self.stop();
                    return Some(Err(terminated()));
                }
                Some(None) => {
                    self.stop();
                    return None;
                }
                Some(Some(Err(error))) => {
                    self.stop();
                    return Some(Err(api_error(error)));
                }
                Some(Some(Ok(page))) => page,
            };
            self.read += 1;
            if self.read == 2 && self.progress.is_none() {
                let what = self.query.spec.resource.envelope();
                let progress = crate::terminal::progress::counter(what);
                progress.inc(asked);
                self.progress = Some(progress);
            }
            self.buffer = page.into_iter();
            self.ticket = Some(ticket);
        }
    }
}

impl IntoIterator for Query {
    type Item = RhaiResultOf<Dynamic>;
    type IntoIter = Rows;

    fn into_iter(self) -> Rows {
        self.rows_ahead(crate::api::MAX_PAGES_AHEAD)
    }
}

impl Query {
    /// Its rows, with at most `pages` requests ahead of the reader
    /// ([`PageStream::at_most_ahead`]).
    pub(super) fn rows_ahead(self, pages: usize) -> Rows {
        let fetch: FetchPage<Vec<Dynamic>, ApiError> = |client, spec, fetched, rows| {
            Box::pin(async move {
                client
                    .page_with(&spec, fetched, rows, fast_json::parse, fast_json::records)
                    .await
            })
        };
        let pages = PageStream::new(
            self.dialer.client.clone(),
            self.spec.clone(),
            fetch,
            |page| page.len() as u64,
        )
        .at_most_ahead(pages)
        .run_ahead(self.dialer.host.handle());
        Rows {
            query: self,
            pages,
            buffer: Vec::new().into_iter(),
            ticket: None,
            finished: false,
            read: 0,
            progress: None,
        }
    }
}

fn op_of(op: &str, field: &str) -> RhaiResultOf<Op> {
    Op::parse(op.trim()).ok_or_else(|| {
        script_error(format!(
            "unknown operator '{op}' in where(\"{field}\", \"{op}\", …); use one of = != > < >= <="
        ))
    })
}

fn filter_text(field: &str, value: &Dynamic) -> RhaiResultOf<String> {
    super::scalar_text(value).ok_or_else(|| {
        script_error(format!(
            "where(\"{field}\", …): the value must be text or a number, not a {}",
            value.type_name()
        ))
    })
}

fn non_negative(what: &str, n: INT) -> RhaiResultOf<u64> {
    u64::try_from(n).map_err(|_| script_error(format!("{what} must be 0 or more, got {n}")))
}

#[export_module]
pub mod query_api {
    use super::*;

    /// Keeps rows whose `field` equals `value`.
    ///
    /// ```rhai
    /// let q = td.cdrs().where("status", "NO_ANSWER");
    /// ```
    #[rhai_fn(name = "where", return_raw, pure)]
    pub fn where_equal(query: &mut Query, field: &str, value: Dynamic) -> RhaiResultOf<Query> {
        let text = filter_text(field, &value)?;
        query.with(|spec| spec.add_condition(field, Op::Eq, text))
    }

    /// Keeps rows where `field op value` holds; `op` is one of `= != > < >= <=`. Several
    /// conditions on one field must all hold.
    ///
    /// ```rhai
    /// let q = td.cdrs().where("bill_duration", ">", 5).where("bill_duration", "<", 9999);
    /// ```
    #[rhai_fn(name = "where", return_raw, pure)]
    pub fn where_op(
        query: &mut Query,
        field: &str,
        op: &str,
        value: Dynamic,
    ) -> RhaiResultOf<Query> {
        let op = op_of(op, field)?;
        let text = filter_text(field, &value)?;
        query.with(|spec| spec.add_condition(field, op, text))
    }

    /// Asks only for these columns.
    ///
    /// ```rhai
    /// let q = td.cdrs().fields(["status", "q850", "end_at"]);
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn fields(query: &mut Query, fields: Array) -> RhaiResultOf<Query> {
        let names = fields
            .iter()
            .map(|f| {
                f.clone()
                    .into_string()
                    .map_err(|t| script_error(format!("fields: each field is a string, got a {t}")))
            })
            .collect::<RhaiResultOf<Vec<String>>>()?;
        query.with(|spec| {
            spec.fields = Some(names);
            Ok(())
        })
    }

    /// Orders rows by a field, ascending.
    ///
    /// ```rhai
    /// let q = td.cdrs().order("end_at");
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn order(query: &mut Query, field: &str) -> RhaiResultOf<Query> {
        order_direction(query, field, "asc")
    }

    /// Orders rows by a field, `"asc"` or `"desc"`.
    ///
    /// ```rhai
    /// let q = td.cdrs().order("end_at", "desc");
    /// ```
    #[rhai_fn(name = "order", return_raw, pure)]
    pub fn order_direction(query: &mut Query, field: &str, direction: &str) -> RhaiResultOf<Query> {
        let descending = match direction.to_ascii_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(script_error(format!(
                    "order(\"{field}\", \"{other}\"): the direction is \"asc\" or \"desc\""
                )))
            }
        };
        let field = field.to_string();
        query.with(|spec| {
            spec.order = Some((field, descending));
            Ok(())
        })
    }

    /// Returns at most `n` rows in all.
    ///
    /// ```rhai
    /// let first100 = td.cdrs().limit(100).to_array();
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn limit(query: &mut Query, n: INT) -> RhaiResultOf<Query> {
        let n = non_negative("limit", n)?;
        query.with(|spec| {
            spec.limit = Some(n);
            Ok(())
        })
    }

    /// Skips the first `n` rows.
    ///
    /// ```rhai
    /// let next100 = td.cdrs().offset(100).limit(100).to_array();
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn offset(query: &mut Query, n: INT) -> RhaiResultOf<Query> {
        let n = non_negative("offset", n)?;
        query.with(|spec| {
            spec.offset = n;
            Ok(())
        })
    }

    /// Rows per request (1 to 1000, the dialer's largest page; default 1000).
    ///
    /// ```rhai
    /// let q = td.cdrs().page_size(200);
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn page_size(query: &mut Query, n: INT) -> RhaiResultOf<Query> {
        use crate::api::query::MAX_PAGE;
        if !(1..=MAX_PAGE as INT).contains(&n) {
            return Err(script_error(format!(
                "page_size must be 1 to {MAX_PAGE}, got {n}"
            )));
        }
        query.with(|spec| {
            spec.page_size = n as u64;
            Ok(())
        })
    }

    /// The URL of the query's first page (nothing is sent).
    ///
    /// ```rhai
    /// print(td.cdrs().where("q850", ">", 0).url());
    /// ```
    #[rhai_fn(pure)]
    pub fn url(query: &mut Query) -> String {
        let rows = query.spec.page_rows(0).unwrap_or(0);
        let path = query.spec.page_path(0, rows);
        format!(
            "{}{path}",
            query
                .dialer
                .client
                .base_url()
                .as_str()
                .trim_end_matches('/')
        )
    }

    /// Reads every row into an array.
    ///
    /// ```rhai
    /// let rows = td.cdrs().limit(10).to_array();
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn to_array(query: &mut Query) -> RhaiResultOf<Array> {
        query.clone().collect_all()
    }

    /// The first row, or `()` when there is none.
    ///
    /// ```rhai
    /// let latest = td.cdrs().order("end_at", "desc").first();
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn first(query: &mut Query) -> RhaiResultOf<Dynamic> {
        let mut one = query.clone();
        one.spec.limit = Some(1);
        one.spec.page_size = 1;
        one.into_iter().next().unwrap_or(Ok(Dynamic::UNIT))
    }

    /// Exports the query's rows (CDRs, calls or leads) as a dataset under `folder`, as
    /// `tdc export` does: partitioned by day, deduplicated by id, resumable from its cursor.
    /// Options: `format` (`"parquet"`, `"ndjson"`, `"csv"`), `since`, `until`, `overlap`
    /// (`"2h"`). Returns `#{rows, partitions, since, until}`. A query with a `limit` or an
    /// `offset` is refused: the next run resumes from the cursor, where neither would hold.
    ///
    /// ```rhai
    /// let done = export_to(td.cdrs().where("campaign_id", 12), "warehouse", #{ format: "parquet" });
    /// print(`${done.rows} rows in ${done.partitions} days`);
    /// ```
    #[rhai_fn(name = "export_to", return_raw)]
    pub fn export_query(query: Query, folder: &str, options: rhai::Map) -> RhaiResultOf<rhai::Map> {
        // An export resumes from its cursor run after run: a row count would mean something
        // else each time, so it is refused rather than dropped.
        if query.spec.limit.is_some() || query.spec.offset != 0 {
            return Err(script_error(
                "export_to: an export takes every row its query matches, resuming where the last run ended; drop limit and offset and narrow it with where, since and until",
            ));
        }
        query.dialer.host.powers().check_write("export", folder)?;
        let text = |key: &str| options.get(key).map(|v| v.to_string());
        let format = match text("format") {
            Some(f) => f
                .parse()
                .map_err(|e: crate::choice::UnknownChoice| script_error(format!("export: {e}")))?,
            None => crate::export::Format::default(),
        };
        let overlap_s = match text("overlap") {
            Some(o) => crate::export::parse_duration(&o)
                .map_err(|e| script_error(format!("export: overlap: {e}")))?,
            None => 2 * 3600,
        };
        let options = crate::export::ExportOptions {
            resource: query.spec.resource,
            out: std::path::PathBuf::from(folder),
            format,
            since: text("since"),
            until: text("until"),
            overlap_s,
            zone: query.dialer.host.locale().zone,
            powers: query.dialer.host.powers().clone(),
        };
        let client = query.dialer.client.clone();
        let spec = query.spec.clone();
        let run = crate::export::run(client, spec, &options, |_| {});
        let summary = match query.dialer.host.block_on(run) {
            None => return Err(terminated()),
            Some(Ok(summary)) => summary,
            Some(Err(crate::export::ExportError::Api(e))) => return Err(api_error(e)),
            Some(Err(crate::export::ExportError::File(e))) => return Err(e.into()),
            Some(Err(e)) => return Err(script_error(format!("export: {e}"))),
        };
        let mut out = rhai::Map::new();
        out.insert("rows".into(), Dynamic::from_int(summary.rows as INT));
        out.insert(
            "partitions".into(),
            Dynamic::from_int(summary.partitions as INT),
        );
        out.insert(
            "since".into(),
            summary.since.map_or(Dynamic::UNIT, Dynamic::from),
        );
        out.insert(
            "until".into(),
            summary.until.map_or(Dynamic::UNIT, Dynamic::from),
        );
        Ok(out)
    }

    /// How many rows the query matches. The API has no totals, so this reads the ids of every
    /// matching row (one request per 1000).
    ///
    /// ```rhai
    /// print(td.cdrs().where("q850", "=", 16).count());
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn count(query: &mut Query) -> RhaiResultOf<INT> {
        let mut ids = query.clone();
        ids.spec.fields = Some(vec!["id".into()]);
        ids.spec.order = None;
        let mut n: INT = 0;
        for row in ids {
            let _ = row?;
            n += 1;
        }
        Ok(n)
    }

    /// How the query is shown: its first page's URL.
    ///
    /// ```rhai
    /// print(td.cdrs().limit(5));
    /// ```
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn describe(query: &mut Query) -> String {
        format!("Query({})", url(query))
    }
}
