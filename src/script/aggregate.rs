//! Aggregation over arrays of records, taken by reference (a million records are not
//! copied): counts, sums, averages, extremes, groups, sorting, percentiles.
//!
//! A *key* is a field name (`"status"`) or a closure (`|c| c.bill_duration > 0`).

use rhai::plugin::*;
use rhai::{Array, Dynamic, FnPtr, ImmutableString, Map, FLOAT, INT};

use super::{script_error, RhaiResultOf};

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

#[export_module]
pub mod aggregate_api {
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
