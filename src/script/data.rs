//! Native data helpers: aggregation over arrays of records (taken by reference, so a million
//! records are not copied), CSV and JSON files, text tables, phones, times, and `env`.
//!
//! A *key* is a field name (`"status"`) or a closure (`|c| c.bill_duration > 0`).

use super::RhaiResultOf;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, FnPtr, ImmutableString, Map, FLOAT, INT};

use super::dialer::HostTag;
use super::{dynamic_to_json, json_to_dynamic, script_error};
use crate::output::pretty::{self, cell, columns_of, Layout};

pub(super) enum Key {
    Field(ImmutableString),
    Closure(FnPtr),
}

impl Key {
    pub(super) fn from(key: Dynamic, function: &str) -> RhaiResultOf<Key> {
        if key.is_string() {
            return Ok(Key::Field(key.cast::<ImmutableString>()));
        }
        if key.is_fnptr() {
            return Ok(Key::Closure(key.cast::<FnPtr>()));
        }
        Err(script_error(format!(
            "{function}: the key is a field name or a closure, not a {}",
            key.type_name()
        )))
    }

    fn of(&self, ctx: &NativeCallContext, record: &Dynamic) -> RhaiResultOf<Dynamic> {
        self.with(ctx, record, Dynamic::clone)
    }

    /// Applies `f` to the key value of a record, borrowing it where it can (a field of a map
    /// is not copied: over a million records that is most of the time).
    fn with<R>(
        &self,
        ctx: &NativeCallContext,
        record: &Dynamic,
        f: impl FnOnce(&Dynamic) -> R,
    ) -> RhaiResultOf<R> {
        const UNIT: &Dynamic = &Dynamic::UNIT;
        match self {
            Key::Field(name) => Ok(match record.read_lock::<Map>() {
                Some(map) => f(map.get(name.as_str()).unwrap_or(UNIT)),
                None => f(UNIT),
            }),
            Key::Closure(function) => Ok(f(
                &function.call_within_context::<Dynamic>(ctx, (record.clone(),))?
            )),
        }
    }
}

/// A key value as a hash-map key, without allocating for text (shared) or numbers.
#[derive(Hash, PartialEq, Eq)]
enum GroupKey {
    Unit,
    Int(INT),
    Text(ImmutableString),
    Other(String),
}

impl GroupKey {
    fn of(value: &Dynamic) -> GroupKey {
        if value.is_unit() {
            GroupKey::Unit
        } else if let Ok(i) = value.as_int() {
            GroupKey::Int(i)
        } else if let Some(s) = value.read_lock::<ImmutableString>() {
            GroupKey::Text(s.clone())
        } else {
            GroupKey::Other(value.to_string())
        }
    }

    fn name(&self) -> rhai::Identifier {
        match self {
            GroupKey::Unit => "".into(),
            GroupKey::Int(i) => i.to_string().into(),
            GroupKey::Text(s) => s.as_str().into(),
            GroupKey::Other(s) => s.as_str().into(),
        }
    }

    fn view(&self) -> KeyView<'_> {
        match self {
            GroupKey::Unit => KeyView::Unit,
            GroupKey::Int(i) => KeyView::Int(*i),
            GroupKey::Text(s) => KeyView::Text(s.as_str()),
            GroupKey::Other(s) => KeyView::Other(s.as_str()),
        }
    }
}

/// A key value borrowed from a record, for looking accumulators up without cloning it.
enum KeyView<'a> {
    Unit,
    Int(INT),
    Text(&'a str),
    Other(&'a str),
}

impl KeyView<'_> {
    fn hash(&self, state: &ahash::RandomState) -> u64 {
        match self {
            KeyView::Unit => state.hash_one(0u8),
            KeyView::Int(i) => state.hash_one((1u8, i)),
            KeyView::Text(s) => state.hash_one((2u8, s)),
            KeyView::Other(s) => state.hash_one((3u8, s)),
        }
    }

    fn is(&self, key: &GroupKey) -> bool {
        match (self, key) {
            (KeyView::Unit, GroupKey::Unit) => true,
            (KeyView::Int(a), GroupKey::Int(b)) => a == b,
            (KeyView::Text(a), GroupKey::Text(b)) => *a == b.as_str(),
            (KeyView::Other(a), GroupKey::Other(b)) => *a == b.as_str(),
            _ => false,
        }
    }
}

/// An accumulator per key value. A record's value is looked up as it stands; only a value
/// seen for the first time is copied into a key (cloning a shared string for every record
/// costs two atomic writes to memory every thread touches).
pub(super) struct Tally<V> {
    table: hashbrown::HashTable<(GroupKey, V)>,
    state: ahash::RandomState,
}

impl<V: Default> Tally<V> {
    pub(super) fn new() -> Self {
        Tally {
            table: hashbrown::HashTable::new(),
            state: ahash::RandomState::new(),
        }
    }

    fn slot(&mut self, view: KeyView, make: impl FnOnce() -> GroupKey) -> &mut V {
        let hash = view.hash(&self.state);
        let state = &self.state;
        let entry = self.table.entry(
            hash,
            |(key, _)| view.is(key),
            |(key, _)| key.view().hash(state),
        );
        &mut entry.or_insert_with(|| (make(), V::default())).into_mut().1
    }

    /// The accumulator of a record's key value.
    pub(super) fn of(&mut self, value: &Dynamic) -> &mut V {
        if value.is_unit() {
            self.slot(KeyView::Unit, || GroupKey::Unit)
        } else if let Ok(i) = value.as_int() {
            self.slot(KeyView::Int(i), || GroupKey::Int(i))
        } else if let Some(s) = value.read_lock::<ImmutableString>() {
            self.slot(KeyView::Text(s.as_str()), || GroupKey::Text(s.clone()))
        } else {
            let text = value.to_string();
            self.slot(KeyView::Other(&text), || GroupKey::Other(text.clone()))
        }
    }

    /// The parts' accumulators by key name, combined in part order. Values with the same
    /// text (the INT 1 and the string "1") share a name in a Rhai map, so theirs are combined
    /// too.
    pub(super) fn named(
        parts: Vec<Tally<V>>,
        combine: impl Fn(&mut V, V),
        value: impl Fn(V) -> Dynamic,
    ) -> Map {
        Self::by_name(parts, combine)
            .into_iter()
            .map(|(k, v)| (k, value(v)))
            .collect()
    }

    /// The parts' accumulators by key name, in name order (see [`Tally::named`]).
    pub(super) fn by_name(
        parts: Vec<Tally<V>>,
        combine: impl Fn(&mut V, V),
    ) -> std::collections::BTreeMap<rhai::Identifier, V> {
        let mut named: std::collections::BTreeMap<rhai::Identifier, V> = Default::default();
        for part in parts {
            for (key, v) in part.table {
                combine(named.entry(key.name()).or_default(), v);
            }
        }
        named
    }
}

/// Folds over records, one part per core when the key is a field (closures run on the
/// script's thread, in one part). `step` gets the accumulator, the key value and the record;
/// parts come back in input order.
pub(super) fn fold_parts<A: Send>(
    ctx: &NativeCallContext,
    records: &Array,
    key: &Key,
    init: impl Fn() -> A + Sync,
    step: impl Fn(&mut A, &Dynamic, &Dynamic) -> RhaiResultOf<()> + Sync,
) -> RhaiResultOf<Vec<A>> {
    let Key::Field(name) = key else {
        let mut acc = init();
        for record in records {
            key.with(ctx, record, |value| step(&mut acc, value, record))??;
        }
        return Ok(vec![acc]);
    };
    const UNIT: &Dynamic = &Dynamic::UNIT;
    let fold = |part: &[Dynamic]| -> RhaiResultOf<A> {
        let mut acc = init();
        for record in part {
            match record.read_lock::<Map>() {
                Some(map) => step(&mut acc, map.get(name.as_str()).unwrap_or(UNIT), record)?,
                None => step(&mut acc, UNIT, record)?,
            }
        }
        Ok(acc)
    };
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if cores < 2 || records.len() < 50_000 {
        return Ok(vec![fold(records)?]);
    }
    let size = records.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let parts: Vec<_> = records
            .chunks(size)
            .map(|part| scope.spawn(move || fold(part)))
            .collect();
        parts
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(script_error("a helper thread panicked")))
            })
            .collect()
    })
}

/// The text a key value groups under: `()` groups as "".
fn group_name(value: &Dynamic) -> String {
    if value.is_unit() {
        String::new()
    } else if let Some(s) = value.read_lock::<ImmutableString>() {
        s.to_string()
    } else {
        value.to_string()
    }
}

pub(super) fn as_number(value: &Dynamic) -> Option<FLOAT> {
    value
        .as_int()
        .map(|i| i as FLOAT)
        .ok()
        .or_else(|| value.as_float().ok())
}

/// Orders two key values: numbers as numbers, text as text, `()` first.
fn compare(a: &Dynamic, b: &Dynamic) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_unit(), b.is_unit()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => group_name(a).cmp(&group_name(b)),
    }
}

fn percentile_of(mut values: Vec<FLOAT>, p: FLOAT) -> RhaiResultOf<Dynamic> {
    if !(0.0..=100.0).contains(&p) {
        return Err(script_error(format!(
            "percentile: p must be 0 to 100, got {p}"
        )));
    }
    if values.is_empty() {
        return Ok(Dynamic::UNIT);
    }
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    // Linear interpolation between closest ranks.
    let rank = p / 100.0 * (values.len() - 1) as FLOAT;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    let value = values[low] + (values[high] - values[low]) * (rank - low as FLOAT);
    Ok(Dynamic::from_float(value))
}

fn io_error(function: &str, path: &str, e: impl std::fmt::Display) -> Box<EvalAltResult> {
    script_error(format!("{function}: {path}: {e}"))
}

fn column_names(columns: &Array) -> RhaiResultOf<Vec<String>> {
    columns
        .iter()
        .map(|c| {
            c.clone()
                .into_string()
                .map_err(|t| script_error(format!("columns are names, got a {t}")))
        })
        .collect()
}

fn time_seconds(value: &Dynamic, function: &str) -> RhaiResultOf<i64> {
    if let Ok(n) = value.as_int() {
        return Ok(n);
    }
    if let Some(text) = value.read_lock::<ImmutableString>() {
        return crate::time::parse_time(&text).ok_or_else(|| {
            script_error(format!(
                "{function}: '{}' is not a time (YYYY-MM-DD HH:MM:SS)",
                text.as_str()
            ))
        });
    }
    Err(script_error(format!(
        "{function}: expected a time as text or INT seconds, got a {}",
        value.type_name()
    )))
}

/// Names of variables `env()` refuses: anything that looks like a secret, and every
/// `password_env` of the config file.
fn is_secret_variable(name: &str, ctx: &NativeCallContext) -> bool {
    let upper = name.to_ascii_uppercase();
    if [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "CREDENTIAL",
        "API_KEY",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|word| upper.contains(word))
    {
        return true;
    }
    let host = ctx.tag().and_then(|t| t.clone().try_cast::<HostTag>());
    host.and_then(|h| {
        h.0.config().map(|(_, file)| {
            file.profiles
                .values()
                .any(|p| p.password_env.as_deref() == Some(name))
        })
    })
    .unwrap_or(false)
}

#[export_module]
pub mod data_api {
    use super::*;

    /// Counts records per key value. The result's keys are the values as text, so the INT 1
    /// and the string "1" are counted together.
    ///
    /// ```rhai
    /// let rows = td.cdrs().limit(1000).to_array();
    /// print(count_by(rows, "status"));            // #{NORMAL_CLEARING: 412, NO_ANSWER: 251, …}
    /// print(count_by(rows, |c| c.bill_duration > 60));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn count_by(
        ctx: NativeCallContext,
        records: &mut Array,
        key: Dynamic,
    ) -> RhaiResultOf<Map> {
        let key = Key::from(key, "count_by")?;
        let parts = fold_parts(
            &ctx,
            records,
            &key,
            Tally::<INT>::new,
            |counts, value, _| {
                *counts.of(value) += 1;
                Ok(())
            },
        )?;
        Ok(Tally::named(parts, |n, m| *n += m, Dynamic::from_int))
    }

    /// Groups records by key value: a map from value to the array of its records. The records
    /// are shared between the input and the groups, not copied (a million records group in
    /// well under a second): changing a record in a group changes it in the input too.
    ///
    /// ```rhai
    /// let by_campaign = group_by(td.cdrs().limit(1000).to_array(), "campaign_id");
    /// for id in by_campaign.keys() { print(`${id}: ${by_campaign[id].len()}`); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn group_by(
        ctx: NativeCallContext,
        records: &mut Array,
        key: Dynamic,
    ) -> RhaiResultOf<Map> {
        let key = Key::from(key, "group_by")?;
        for record in records.iter_mut() {
            if !record.is_shared() {
                *record = std::mem::take(record).into_shared();
            }
        }
        let parts = fold_parts(
            &ctx,
            records,
            &key,
            Tally::<Array>::new,
            |groups, value, record| {
                groups.of(value).push(record.clone());
                Ok(())
            },
        )?;
        Ok(Tally::named(
            parts,
            |all, more| all.extend(more),
            Dynamic::from_array,
        ))
    }

    /// Sums a numeric key (`()` counts as nothing): INT when every value is an INT.
    ///
    /// ```rhai
    /// let billed = sum_by(td.cdrs().limit(1000).to_array(), "bill_duration");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sum_by(
        ctx: NativeCallContext,
        records: &mut Array,
        key: Dynamic,
    ) -> RhaiResultOf<Dynamic> {
        let key = Key::from(key, "sum_by")?;
        let parts = fold_parts(
            &ctx,
            records,
            &key,
            || (0 as INT, 0.0 as FLOAT, false),
            |(int_sum, float_sum, floats), value, _| {
                if let Ok(i) = value.as_int() {
                    *int_sum = int_sum.wrapping_add(i);
                } else if let Ok(f) = value.as_float() {
                    *float_sum += f;
                    *floats = true;
                } else if !value.is_unit() {
                    return Err(script_error(format!(
                        "sum_by: a value is a {}, not a number",
                        value.type_name()
                    )));
                }
                Ok(())
            },
        )?;
        let (mut int_sum, mut float_sum, mut floats) = (0 as INT, 0.0 as FLOAT, false);
        for (i, f, any_float) in parts {
            int_sum = int_sum.wrapping_add(i);
            float_sum += f;
            floats |= any_float;
        }
        Ok(if floats {
            Dynamic::from_float(float_sum + int_sum as FLOAT)
        } else {
            Dynamic::from_int(int_sum)
        })
    }

    /// The average of a numeric key over records where it is set, or `()` when none is.
    ///
    /// ```rhai
    /// let acd = avg_by(td.cdrs().where("bill_duration", ">", 0).limit(500).to_array(), "bill_duration");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn avg_by(
        ctx: NativeCallContext,
        records: &mut Array,
        key: Dynamic,
    ) -> RhaiResultOf<Dynamic> {
        let key = Key::from(key, "avg_by")?;
        let parts = fold_parts(
            &ctx,
            records,
            &key,
            || (0.0 as FLOAT, 0usize),
            |(sum, n), value, _| {
                if value.is_unit() {
                    return Ok(());
                }
                *sum += as_number(value).ok_or_else(|| {
                    script_error(format!(
                        "avg_by: a value is a {}, not a number",
                        value.type_name()
                    ))
                })?;
                *n += 1;
                Ok(())
            },
        )?;
        let (sum, n) = parts
            .into_iter()
            .fold((0.0, 0), |(s, c), (ps, pc)| (s + ps, c + pc));
        Ok(if n == 0 {
            Dynamic::UNIT
        } else {
            Dynamic::from_float(sum / n as FLOAT)
        })
    }

    /// The record with the smallest key value (the first of equals), or `()` for none.
    ///
    /// ```rhai
    /// let shortest = min_by(td.cdrs().where("bill_duration", ">", 0).limit(500).to_array(), "bill_duration");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn min_by(
        ctx: NativeCallContext,
        records: &mut Array,
        key: Dynamic,
    ) -> RhaiResultOf<Dynamic> {
        extreme(&ctx, records, key, "min_by", std::cmp::Ordering::Less)
    }

    /// The record with the largest key value (the first of equals), or `()` for none.
    ///
    /// ```rhai
    /// let longest = max_by(td.cdrs().limit(500).to_array(), "bill_duration");
    /// print(longest.call_id);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn max_by(
        ctx: NativeCallContext,
        records: &mut Array,
        key: Dynamic,
    ) -> RhaiResultOf<Dynamic> {
        extreme(&ctx, records, key, "max_by", std::cmp::Ordering::Greater)
    }

    /// The first record of each key value, in input order.
    ///
    /// ```rhai
    /// let one_per_phone = unique_by(td.leads().limit(500).to_array(), |l| normalize_phone(l.phone));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn unique_by(
        ctx: NativeCallContext,
        records: &mut Array,
        key: Dynamic,
    ) -> RhaiResultOf<Array> {
        let key = Key::from(key, "unique_by")?;
        let mut seen = std::collections::HashSet::new();
        let mut out = Array::new();
        for record in records.iter() {
            if seen.insert(key.with(&ctx, record, GroupKey::of)?) {
                out.push(record.clone());
            }
        }
        Ok(out)
    }

    /// Sorts records in place by key value, ascending (stable).
    ///
    /// ```rhai
    /// let rows = td.cdrs().limit(100).to_array();
    /// sort_by(rows, "bill_duration");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sort_by(ctx: NativeCallContext, records: &mut Array, key: Dynamic) -> RhaiResultOf<()> {
        sort_by_direction(ctx, records, key, "asc".into())
    }

    /// Sorts records in place by key value, `"asc"` or `"desc"` (stable).
    ///
    /// ```rhai
    /// let rows = td.cdrs().limit(100).to_array();
    /// sort_by(rows, "bill_duration", "desc");
    /// ```
    #[rhai_fn(name = "sort_by", return_raw)]
    pub fn sort_by_direction(
        ctx: NativeCallContext,
        records: &mut Array,
        key: Dynamic,
        direction: ImmutableString,
    ) -> RhaiResultOf<()> {
        let descending = match direction.as_str() {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(script_error(format!(
                    "sort_by: the direction is \"asc\" or \"desc\", not \"{other}\""
                )))
            }
        };
        let key = Key::from(key, "sort_by")?;
        let mut keyed = Vec::with_capacity(records.len());
        for record in records.drain(..) {
            keyed.push((key.of(&ctx, &record)?, record));
        }
        keyed.sort_by(|(a, _), (b, _)| {
            let ordering = compare(a, b);
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
        records.extend(keyed.into_iter().map(|(_, r)| r));
        Ok(())
    }

    /// A map from key value to record (the first record of each value).
    ///
    /// ```rhai
    /// let campaigns = index_by(td.campaigns(), "id");
    /// print(campaigns["12"].name);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn index_by(
        ctx: NativeCallContext,
        records: &mut Array,
        key: Dynamic,
    ) -> RhaiResultOf<Map> {
        let key = Key::from(key, "index_by")?;
        let mut out = Map::new();
        for record in records.iter() {
            out.entry(key.with(&ctx, record, GroupKey::of)?.name())
                .or_insert_with(|| record.clone());
        }
        Ok(out)
    }

    /// The p-th percentile (0-100, linear interpolation) of an array of numbers.
    ///
    /// ```rhai
    /// print(percentile([1, 2, 3, 4], 50));   // 2.5
    /// ```
    #[rhai_fn(return_raw)]
    pub fn percentile(values: &mut Array, p: Dynamic) -> RhaiResultOf<Dynamic> {
        let p = as_number(&p).ok_or_else(|| script_error("percentile: p is a number"))?;
        let numbers = values
            .iter()
            .filter(|v| !v.is_unit())
            .map(|v| {
                as_number(v).ok_or_else(|| {
                    script_error(format!(
                        "percentile: a value is a {}, not a number",
                        v.type_name()
                    ))
                })
            })
            .collect::<RhaiResultOf<Vec<_>>>()?;
        percentile_of(numbers, p)
    }

    /// The p-th percentile (0-100) of a numeric key over records.
    ///
    /// ```rhai
    /// let p90 = percentile(td.cdrs().where("bill_duration", ">", 0).limit(500).to_array(), "bill_duration", 90);
    /// ```
    #[rhai_fn(name = "percentile", return_raw)]
    pub fn percentile_by(
        ctx: NativeCallContext,
        records: &mut Array,
        key: Dynamic,
        p: Dynamic,
    ) -> RhaiResultOf<Dynamic> {
        let key = Key::from(key, "percentile")?;
        let mut values = Array::with_capacity(records.len());
        for record in records.iter() {
            values.push(key.of(&ctx, record)?);
        }
        percentile(&mut values, p)
    }

    /// Reads a CSV file with a header row into an array of maps (every value text).
    ///
    /// ```rhai
    /// let rows = read_csv("scripts/leads_sample.csv");
    /// print(rows[0].phone);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read_csv(path: &str) -> RhaiResultOf<Array> {
        crate::script::permissions::check_read("read_csv", path)?;
        read_csv_with(path, Map::new())
    }

    /// Reads a CSV file with options: `delimiter` (one character, default `,`).
    ///
    /// ```rhai
    /// let rows = read_csv("export.csv", #{ delimiter: ";" });
    /// ```
    #[rhai_fn(name = "read_csv", return_raw)]
    pub fn read_csv_with(path: &str, options: Map) -> RhaiResultOf<Array> {
        crate::script::permissions::check_read("read_csv", path)?;
        let delimiter = match options.get("delimiter") {
            None => b',',
            Some(d) => {
                let text = d.clone().into_string().unwrap_or_default();
                match text.as_bytes() {
                    [byte] => *byte,
                    _ => return Err(script_error("read_csv: delimiter is one character")),
                }
            }
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(false)
            .from_path(path)
            .map_err(|e| io_error("read_csv", path, e))?;
        let headers: Vec<ImmutableString> = reader
            .headers()
            .map_err(|e| io_error("read_csv", path, e))?
            .iter()
            .map(|h| h.trim().into())
            .collect();
        let mut rows = Array::new();
        for (i, record) in reader.records().enumerate() {
            let record = record
                .map_err(|e| script_error(format!("read_csv: {path}: row {}: {e}", i + 2)))?;
            let mut map = Map::new();
            for (header, value) in headers.iter().zip(record.iter()) {
                put_dotted(&mut map, header.as_str(), Dynamic::from(value.to_string()));
            }
            rows.push(Dynamic::from_map(map));
        }
        Ok(rows)
    }

    /// Writes records to a CSV file; returns the number of rows written. Nested maps become
    /// dotted columns (`customFields.affiliate`), which `read_csv` turns back into maps, so an
    /// export re-imports. Columns: the usual first ones of the kind of record (CDRs: `id`,
    /// `start_at`, `dst`, `status`, …), then the rest.
    ///
    /// ```rhai
    /// write_csv(td.cdrs().limit(100).to_array(), "cdrs.csv");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write_csv(records: &mut Array, path: &str) -> RhaiResultOf<INT> {
        let columns = flat_columns(records);
        write_rows(records, path, &columns)
    }

    /// Writes records to a CSV file with the given columns, in that order.
    ///
    /// ```rhai
    /// write_csv(td.cdrs().limit(100).to_array(), "cdrs.csv", ["id", "status", "bill_duration"]);
    /// ```
    #[rhai_fn(name = "write_csv", return_raw)]
    pub fn write_csv_columns(records: &mut Array, path: &str, columns: Array) -> RhaiResultOf<INT> {
        let columns = column_names(&columns)?;
        write_rows(records, path, &columns)
    }

    /// Writes records to a CSV file with options: `columns` (an array of names, in order) and
    /// `excel_safe` (true: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
    /// return gets a leading `'`, so a spreadsheet shows it instead of running it as a
    /// formula — use it for files people open in Excel or Sheets).
    ///
    /// ```rhai
    /// write_csv(td.leads().limit(100).to_array(), "leads.csv", #{ excel_safe: true });
    /// ```
    #[rhai_fn(name = "write_csv", return_raw)]
    pub fn write_csv_options(records: &mut Array, path: &str, options: Map) -> RhaiResultOf<INT> {
        let columns = match options.get("columns") {
            Some(columns) => match columns.read_lock::<Array>() {
                Some(columns) => column_names(&columns)?,
                None => return Err(script_error("write_csv: columns must be an array of names")),
            },
            None => flat_columns(records),
        };
        let excel_safe = match options.get("excel_safe") {
            None => false,
            Some(flag) => flag
                .as_bool()
                .map_err(|_| script_error("write_csv: excel_safe must be true or false"))?,
        };
        if let Some(key) = options
            .keys()
            .find(|k| !["columns", "excel_safe"].contains(&k.as_str()))
        {
            return Err(script_error(format!(
                "write_csv: unknown option '{key}' (columns, excel_safe)"
            )));
        }
        write_rows_with(records, path, &columns, excel_safe)
    }

    /// Reads a JSON file (numeric-string rule applied, as for dialer answers).
    ///
    /// ```rhai
    /// let saved = read_json("campaigns.json");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read_json(path: &str) -> RhaiResultOf<Dynamic> {
        crate::script::permissions::check_read("read_json", path)?;
        let text = std::fs::read_to_string(path).map_err(|e| io_error("read_json", path, e))?;
        serde_json::from_str(&text)
            .map(json_to_dynamic)
            .map_err(|e| io_error("read_json", path, e))
    }

    /// Writes a value to a file as indented JSON.
    ///
    /// ```rhai
    /// write_json(td.campaigns(), "campaigns.json");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write_json(value: Dynamic, path: &str) -> RhaiResultOf<()> {
        crate::script::permissions::check_write("write_json", path)?;
        let json = dynamic_to_json(&value).map_err(|e| script_error(format!("write_json: {e}")))?;
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|e| io_error("write_json", path, e))
    }

    /// Records as an aligned text table (every key a column).
    ///
    /// ```rhai
    /// print(table(td.campaigns()));
    /// ```
    pub fn table(records: &mut Array) -> String {
        let columns = columns_of(records);
        pretty::table(records, &columns, Layout::full())
    }

    /// Records as an aligned text table with the given columns.
    ///
    /// ```rhai
    /// print(table(td.cdrs().limit(5).to_array(), ["id", "status", "bill_duration"]));
    /// ```
    #[rhai_fn(name = "table", return_raw)]
    pub fn table_columns(records: &mut Array, columns: Array) -> RhaiResultOf<String> {
        Ok(pretty::table(
            records,
            &column_names(&columns)?,
            Layout::full(),
        ))
    }

    /// A phone number as the dialer stores it: E.164 digits without the `+`, or `()` when it
    /// is not a valid number. National numbers are read in the profile's `default_region`;
    /// without one they need their country code (`+44 …`, `0044 …`, `44…`).
    ///
    /// ```rhai
    /// print(normalize_phone("+44 (0)7700 900101"));   // 447700900101
    /// print(normalize_phone("12"));                   // ()
    /// ```
    pub fn normalize_phone(phone: &str) -> Dynamic {
        crate::phone::to_e164(phone, crate::phone::default_region())
            .map_or(Dynamic::UNIT, Dynamic::from)
    }

    /// A phone number as the dialer stores it, national numbers read in `region` (an ISO
    /// 3166 code such as `"GB"`); `()` when it is not a valid number there.
    ///
    /// ```rhai
    /// print(normalize_phone("07700 900101", "GB"));   // 447700900101
    /// ```
    #[rhai_fn(name = "normalize_phone", return_raw)]
    pub fn normalize_phone_in(phone: &str, region: &str) -> RhaiResultOf<Dynamic> {
        let region = crate::phone::region(region)
            .map_err(|e| script_error(format!("normalize_phone: {e}")))?;
        Ok(crate::phone::to_e164(phone, Some(region)).map_or(Dynamic::UNIT, Dynamic::from))
    }

    /// A stable fingerprint of a value (16 hex digits): the same content gives the same text
    /// on every run and machine. Map keys are compared in order, so field order does not matter.
    ///
    /// ```rhai
    /// let id = "csv-" + fingerprint(#{ phone: "447700001234", last_name: "Smith" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn fingerprint(value: Dynamic) -> RhaiResultOf<String> {
        let json =
            dynamic_to_json(&value).map_err(|e| script_error(format!("fingerprint: {e}")))?;
        // Over the canonical JSON text (Rhai maps keep their keys sorted).
        Ok(format!(
            "{:016x}",
            crate::api::journal::fingerprint(&json.to_string())
        ))
    }

    /// The current time in seconds since the epoch.
    ///
    /// ```rhai
    /// let started = now();
    /// ```
    pub fn now() -> INT {
        chrono::Utc::now().timestamp()
    }

    /// Seconds since the epoch of a `YYYY-MM-DD[ HH:MM:SS]` time, read as UTC; or of a time
    /// relative to now: `now`, `today`, `yesterday`, `tomorrow` (midnight in the profile's
    /// `timezone`, UTC without one), `-24h`, `-7d`, `+30m` (`s`, `m`, `h`, `d`, `w`).
    ///
    /// ```rhai
    /// let t = parse_time("2025-01-01 08:30:00");
    /// let since = format_time(parse_time("-24h"));   // for td.cdrs().where("start_at", ">", since)
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse_time(text: &str) -> RhaiResultOf<INT> {
        crate::time::parse_relative_now(text)
            .or_else(|| crate::time::parse_time(text))
            .ok_or_else(|| {
                script_error(format!(
                    "parse_time: '{text}' is not a time (YYYY-MM-DD HH:MM:SS, now, today, yesterday, -24h, -7d, +30m)"
                ))
            })
    }

    /// Seconds since the epoch of a local time in a timezone (IANA name).
    ///
    /// ```rhai
    /// let t = parse_time("2025-01-01 09:00:00", "Europe/Madrid");
    /// ```
    #[rhai_fn(name = "parse_time", return_raw)]
    pub fn parse_time_in(text: &str, zone: &str) -> RhaiResultOf<INT> {
        crate::time::parse_time_in(text, zone)
            .map_err(script_error)?
            .ok_or_else(|| script_error(format!("parse_time: '{text}' is not a time in {zone}")))
    }

    /// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
    ///
    /// ```rhai
    /// print(format_time(now()));
    /// ```
    pub fn format_time(seconds: INT) -> String {
        crate::time::format_time(seconds)
    }

    /// Formats seconds since the epoch with a strftime pattern (UTC).
    ///
    /// ```rhai
    /// print(format_time(now(), "%Y-%m-%d"));
    /// ```
    #[rhai_fn(name = "format_time", return_raw)]
    pub fn format_time_pattern(seconds: INT, pattern: &str) -> RhaiResultOf<String> {
        crate::time::format_time_in(seconds, pattern, None).map_err(script_error)
    }

    /// Formats seconds since the epoch with a strftime pattern in a timezone.
    ///
    /// ```rhai
    /// print(format_time(now(), "%H:%M", "Europe/London"));
    /// ```
    #[rhai_fn(name = "format_time", return_raw)]
    pub fn format_time_zone(seconds: INT, pattern: &str, zone: &str) -> RhaiResultOf<String> {
        crate::time::format_time_in(seconds, pattern, Some(zone)).map_err(script_error)
    }

    /// The hour of the day (0-23, UTC) of a time given as text or seconds.
    ///
    /// ```rhai
    /// print(hour_of("2025-01-01 08:30:00"));   // 8
    /// ```
    #[rhai_fn(return_raw)]
    pub fn hour_of(time: Dynamic) -> RhaiResultOf<INT> {
        crate::time::hour_of(time_seconds(&time, "hour_of")?, None).map_err(script_error)
    }

    /// The hour of the day (0-23) of a time in a timezone.
    ///
    /// ```rhai
    /// print(hour_of("2025-01-01 08:30:00", "Asia/Tokyo"));   // 17
    /// ```
    #[rhai_fn(name = "hour_of", return_raw)]
    pub fn hour_of_in(time: Dynamic, zone: &str) -> RhaiResultOf<INT> {
        crate::time::hour_of(time_seconds(&time, "hour_of")?, Some(zone)).map_err(script_error)
    }

    /// An environment variable, or `()` when it is not set. Variables that hold passwords or
    /// other secrets are refused.
    ///
    /// ```rhai
    /// let folder = env("REPORT_DIR") ?? "reports";
    /// ```
    #[rhai_fn(return_raw)]
    pub fn env(ctx: NativeCallContext, name: &str) -> RhaiResultOf<Dynamic> {
        crate::script::permissions::check_env("env()", name)?;
        if is_secret_variable(name, &ctx) {
            return Err(script_error(format!(
                "env(\"{name}\"): refusing to read a variable that holds a password or secret"
            )));
        }
        Ok(std::env::var(name).map_or(Dynamic::UNIT, Dynamic::from))
    }
}

fn extreme(
    ctx: &NativeCallContext,
    records: &mut Array,
    key: Dynamic,
    function: &str,
    wanted: std::cmp::Ordering,
) -> RhaiResultOf<Dynamic> {
    let key = Key::from(key, function)?;
    let mut best: Option<(Dynamic, &Dynamic)> = None;
    for record in records.iter() {
        let value = key.of(ctx, record)?;
        if value.is_unit() {
            continue;
        }
        let better = match &best {
            None => true,
            Some((current, _)) => compare(&value, current) == wanted,
        };
        if better {
            best = Some((value, record));
        }
    }
    Ok(best.map_or(Dynamic::UNIT, |(_, r)| r.clone()))
}

/// Sets `a.b.c` in a map as nested maps (`read_csv` of dotted columns).
fn put_dotted(map: &mut Map, key: &str, value: Dynamic) {
    match key.split_once('.') {
        Some((head, rest)) if !head.is_empty() && !rest.is_empty() => {
            let inner = map
                .entry(head.into())
                .or_insert_with(|| Dynamic::from_map(Map::new()));
            if !inner.is_map() {
                *inner = Dynamic::from_map(Map::new());
            }
            if let Some(mut inner) = inner.write_lock::<Map>() {
                put_dotted(&mut inner, rest, value);
            }
        }
        _ => {
            map.insert(key.into(), value);
        }
    }
}

/// The value under a dotted column (`customFields.affiliate`) of a record.
fn dotted_cell(record: &Dynamic, column: &str) -> String {
    let direct = cell(record, column);
    if !direct.is_empty() || !column.contains('.') {
        return direct;
    }
    let (head, rest) = column.split_once('.').unwrap_or((column, ""));
    record
        .read_lock::<Map>()
        .and_then(|m| m.get(head).cloned())
        .map_or_else(String::new, |inner| dotted_cell(&inner, rest))
}

/// The CSV columns of records: nested maps as dotted columns, in the preferred order.
fn flat_columns(records: &Array) -> Vec<String> {
    let mut columns = Vec::new();
    for column in pretty::preferred_columns(records) {
        let mut nested: Vec<String> = Vec::new();
        for record in records {
            let Some(map) = record.read_lock::<Map>() else {
                continue;
            };
            if let Some(inner) = map.get(column.as_str()).filter(|v| v.is_map()) {
                for sub in flat_columns(&vec![inner.clone()]) {
                    let name = format!("{column}.{sub}");
                    if !nested.contains(&name) {
                        nested.push(name);
                    }
                }
            }
        }
        if nested.is_empty() {
            columns.push(column);
        } else {
            columns.extend(nested);
        }
    }
    columns
}

fn write_rows(records: &Array, path: &str, columns: &[String]) -> RhaiResultOf<INT> {
    write_rows_with(records, path, columns, false)
}

/// A cell a spreadsheet would run as a formula, made to show as text (numbers such as `-5`
/// stay numbers).
fn excel_safe_cell(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.trim().parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text
    }
}

fn write_rows_with(
    records: &Array,
    path: &str,
    columns: &[String],
    excel_safe: bool,
) -> RhaiResultOf<INT> {
    crate::script::permissions::check_write("write_csv", path)?;
    let temp = format!("{path}.part");
    let mut writer = csv::Writer::from_path(&temp).map_err(|e| io_error("write_csv", path, e))?;
    writer
        .write_record(columns)
        .map_err(|e| io_error("write_csv", path, e))?;
    for record in records {
        let row: Vec<String> = columns
            .iter()
            .map(|c| {
                let text = dotted_cell(record, c);
                if excel_safe {
                    excel_safe_cell(text)
                } else {
                    text
                }
            })
            .collect();
        writer
            .write_record(&row)
            .map_err(|e| io_error("write_csv", path, e))?;
    }
    writer.flush().map_err(|e| io_error("write_csv", path, e))?;
    drop(writer);
    std::fs::rename(&temp, path).map_err(|e| io_error("write_csv", path, e))?;
    Ok(records.len() as INT)
}

#[cfg(test)]
mod tests {
    use rhai::Engine;

    fn engine() -> Engine {
        let mut engine = Engine::new();
        engine.register_global_module(rhai::exported_module!(super::data_api).into());
        engine
    }

    fn eval<T: Clone + Send + Sync + 'static>(code: &str) -> T {
        engine()
            .eval::<T>(code)
            .unwrap_or_else(|e| panic!("{code}: {e}"))
    }

    const ROWS: &str =
        r#"let rows = [#{s: "a", d: 10}, #{s: "b", d: 0}, #{s: "a", d: 30}, #{s: "c", d: ()}];"#;

    #[test]
    fn keys_of_every_kind_are_counted_across_parts_and_joined_by_name() {
        // 60,000 records fold in parallel parts whose tallies are merged.
        let code = r#"
            let kinds = [(), 1, "1", 1.5, true, "x"];
            let rows = [];
            for i in 0..60000 { rows.push(#{ k: kinds[i % 6] }); }
            let counts = count_by(rows, "k");
            let groups = group_by(rows, "k");
            [counts.keys().len(), counts[""], counts["1"], counts["1.5"], counts["true"],
             counts["x"], groups["x"].len(), groups["1.5"].len()]
        "#;
        let got: Vec<i64> = eval::<rhai::Array>(code)
            .into_iter()
            .map(|v| v.as_int().unwrap())
            .collect();
        // 1 and "1" share a name in the result map, so they are counted together.
        assert_eq!(
            got,
            vec![5, 10_000, 20_000, 10_000, 10_000, 10_000, 10_000, 10_000]
        );
    }

    #[test]
    fn aggregations() {
        assert_eq!(eval::<i64>(&format!("{ROWS} count_by(rows, \"s\").a")), 2);
        assert_eq!(
            eval::<i64>(&format!("{ROWS} count_by(rows, |r| r.d > 5)[\"true\"]")),
            2
        );
        assert_eq!(
            eval::<i64>(&format!("{ROWS} group_by(rows, \"s\").a.len()")),
            2
        );
        assert_eq!(eval::<i64>(&format!("{ROWS} sum_by(rows, \"d\")")), 40);
        assert_eq!(
            eval::<f64>(&format!("{ROWS} avg_by(rows, \"d\")")),
            40.0 / 3.0
        );
        assert_eq!(eval::<i64>(&format!("{ROWS} max_by(rows, \"d\").d")), 30);
        assert_eq!(eval::<i64>(&format!("{ROWS} min_by(rows, \"d\").d")), 0);
        assert_eq!(
            eval::<i64>(&format!("{ROWS} unique_by(rows, \"s\").len()")),
            3
        );
        assert_eq!(
            eval::<String>(&format!("{ROWS} index_by(rows, \"s\").a.s")),
            "a"
        );
        assert_eq!(
            eval::<String>(&format!(
                "{ROWS} sort_by(rows, \"d\", \"desc\"); rows.map(|r| r.d).to_string()"
            )),
            "[30, 10, 0, ()]"
        );
        assert_eq!(eval::<f64>("percentile([1, 2, 3, 4], 50)"), 2.5);
        assert_eq!(
            eval::<f64>(&format!("{ROWS} percentile(rows, \"d\", 100)")),
            30.0
        );
        assert!(engine()
            .eval::<rhai::Dynamic>("percentile([1], 101)")
            .is_err());
        assert!(engine()
            .eval::<rhai::Dynamic>("count_by([#{}], 5)")
            .is_err());
    }

    #[test]
    fn large_arrays_are_folded_in_parts_with_the_same_result() {
        let code = "let rows = []; for i in 0..60000 { rows.push(#{k: i % 3, d: 1, i: i}); }
                    let g = group_by(rows, \"k\");
                    [count_by(rows, \"k\")[\"0\"], sum_by(rows, \"d\"), avg_by(rows, \"d\"), g[\"2\"].len(), g[\"1\"][0].i, g[\"1\"][19999].i]";
        let out = eval::<rhai::Array>(code);
        let shown: Vec<String> = out.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            shown,
            ["20000", "60000", "1.0", "20000", "1", "59998"],
            "input order kept within a group"
        );
    }

    #[test]
    fn tables_phones_and_times() {
        let table = eval::<String>(r#"table([#{id: 1, name: "x"}, #{id: 22, name: "long"}])"#);
        assert_eq!(table, "id  name\n──  ────\n 1  x\n22  long");
        // One number however it is written; the trunk 0 beside the country code goes.
        for written in [
            r#"normalize_phone("+44 (0)7700 900101")"#,
            r#"normalize_phone("07700 900101", "GB")"#,
            r#"normalize_phone("0044 7700 900101")"#,
        ] {
            assert_eq!(eval::<String>(written), "447700900101", "{written}");
        }
        assert!(eval::<rhai::Dynamic>(r#"normalize_phone("12")"#).is_unit());
        assert!(eval::<rhai::Dynamic>(r#"normalize_phone("+44 (0) 7700")"#).is_unit());
        assert_eq!(eval::<i64>(r#"hour_of("2025-01-01 08:30:00")"#), 8);
        assert_eq!(
            eval::<String>(r#"format_time(parse_time("2025-01-01"))"#),
            "2025-01-01 00:00:00"
        );
        assert!(engine()
            .eval::<rhai::Dynamic>(r#"env("TDC_PASSWORD")"#)
            .is_err());
    }

    #[test]
    fn csv_round_trip() {
        let dir = std::env::temp_dir().join(format!("tdc-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.csv").display().to_string();
        let code = format!(
            r#"write_csv([#{{id: 1, phone: "44 1"}}, #{{id: 2, note: "a,b"}}], "{path}"); read_csv("{path}")"#
        );
        let rows = eval::<rhai::Array>(&code);
        assert_eq!(rows.len(), 2);
        let second = rows[1].clone().cast::<rhai::Map>();
        assert_eq!(second["note"].to_string(), "a,b");
        assert_eq!(second["phone"].to_string(), "");
        let broken = dir.join("broken.csv");
        std::fs::write(&broken, "a,b\n1,2\n3\n").unwrap();
        let err = engine()
            .eval::<rhai::Array>(&format!(r#"read_csv("{}")"#, broken.display()))
            .unwrap_err();
        assert!(err.to_string().contains("row 3"), "{err}");
    }
}
