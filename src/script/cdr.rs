//! The `cdr` module (`import "cdr" as cdr;`): CDR key figures — attempts, answered calls,
//! ASR, ACD and billed minutes — overall, per group, per hangup cause and per hour of the day,
//! from an array of CDR maps with whichever fields the tenant sends. Native: the rows are
//! read in place (a script function would copy the array it is given), so a report costs
//! little more than reading the rows.

use std::collections::BTreeMap;

use rhai::plugin::*;
use rhai::{Array, Dynamic, ImmutableString, Map, FLOAT, INT};

use super::aggregate::{as_number, fold_parts, Key, Tally};
use super::{script_error, RhaiResultOf};

/// How CDR rows tell a finished and an answered call apart, and which field holds the talk
/// seconds: the rules `cdr::rules` works out from the fields a tenant sends.
struct CallRules {
    finished_by_q850: bool,
    answered: Answered,
    seconds: Option<ImmutableString>,
}

enum Answered {
    Billed,
    AnswerAt,
    ClearedWithDuration,
}

impl CallRules {
    fn from(rules: &Map) -> RhaiResultOf<CallRules> {
        let text = |key: &str| {
            rules
                .get(key)
                .and_then(|v| v.read_lock::<ImmutableString>().map(|s| s.to_string()))
        };
        let finished_by_q850 = match text("finished").as_deref() {
            Some("q850 > 0") => true,
            Some("end_at set") => false,
            other => {
                return Err(script_error(format!(
                "cdr: unknown rule for finished calls: {other:?} (\"q850 > 0\" or \"end_at set\")"
            )))
            }
        };
        let answered = match text("answered").as_deref() {
            Some("bill_duration > 0") => Answered::Billed,
            Some("answer_at set") => Answered::AnswerAt,
            Some("NORMAL_CLEARING with call_duration > 0") => Answered::ClearedWithDuration,
            other => {
                return Err(script_error(format!(
                    "cdr: unknown rule for answered calls: {other:?}"
                )))
            }
        };
        Ok(CallRules {
            finished_by_q850,
            answered,
            seconds: text("seconds").map(Into::into),
        })
    }

    fn count(&self, figures: &mut CallFigures, row: &Map) {
        let number = |key: &str| row.get(key).and_then(as_number).unwrap_or(0.0);
        let is_set = |key: &str| {
            row.get(key).is_some_and(|v| {
                !v.is_unit()
                    && v.read_lock::<ImmutableString>()
                        .is_none_or(|s| !s.is_empty())
                    && v.as_int() != Ok(0)
            })
        };
        let finished = if self.finished_by_q850 {
            number("q850") > 0.0
        } else {
            is_set("end_at")
        };
        if !finished {
            return;
        }
        figures.attempts += 1;
        if figures.q850.is_unit() {
            if let Some(code) = row.get("q850") {
                figures.q850 = code.clone();
            }
        }
        let answered = match self.answered {
            Answered::Billed => number("bill_duration") > 0.0,
            Answered::AnswerAt => is_set("answer_at"),
            Answered::ClearedWithDuration => {
                number("call_duration") > 0.0
                    && row
                        .get("status")
                        .and_then(|s| {
                            s.read_lock::<ImmutableString>()
                                .map(|s| s.as_str() == "NORMAL_CLEARING")
                        })
                        .unwrap_or(false)
            }
        };
        if answered {
            figures.answered += 1;
            if let Some(field) = &self.seconds {
                figures.seconds += number(field);
            }
        }
    }
}

/// Finished and answered calls and their talk seconds, for one group of CDRs.
#[derive(Default, Clone)]
struct CallFigures {
    attempts: INT,
    answered: INT,
    seconds: FLOAT,
    /// The first Q.850 code seen (a group by status has one).
    q850: Dynamic,
}

/// The fields that tell finished and answered calls apart in these rows (the first 100
/// decide): the rule names of [`cdr_api::rules`].
fn detect(
    rows: &Array,
) -> (
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
) {
    let mut seen = std::collections::HashSet::new();
    for row in rows.iter().take(100) {
        if let Some(map) = row.read_lock::<Map>() {
            for key in [
                "q850",
                "end_at",
                "bill_duration",
                "answer_at",
                "status",
                "call_duration",
            ] {
                if map.contains_key(key) {
                    seen.insert(key);
                }
            }
        }
    }
    let finished = if seen.contains("q850") {
        Some("q850 > 0")
    } else if seen.contains("end_at") {
        Some("end_at set")
    } else {
        None
    };
    let answered = if seen.contains("bill_duration") {
        Some("bill_duration > 0")
    } else if seen.contains("answer_at") {
        Some("answer_at set")
    } else if seen.contains("status") && seen.contains("call_duration") {
        Some("NORMAL_CLEARING with call_duration > 0")
    } else {
        None
    };
    let seconds = if seen.contains("bill_duration") {
        Some("bill_duration")
    } else if seen.contains("call_duration") {
        Some("call_duration")
    } else {
        None
    };
    (finished, answered, seconds)
}

/// The rule names of these rows as a script sees them.
fn rules_map(rows: &Array) -> Map {
    let (finished, answered, seconds) = detect(rows);
    named_rules(finished, answered, seconds)
}

fn named_rules(
    finished: Option<&'static str>,
    answered: Option<&'static str>,
    seconds: Option<&'static str>,
) -> Map {
    let text = |rule: Option<&'static str>| rule.map_or(Dynamic::UNIT, Dynamic::from);
    let mut map = Map::new();
    map.insert("finished".into(), text(finished));
    map.insert("answered".into(), text(answered));
    map.insert("seconds".into(), text(seconds));
    map
}

/// The rules for these rows, or an error naming the fields they lack; `None` for no rows.
fn rules_of(rows: &Array) -> RhaiResultOf<Option<(CallRules, String)>> {
    if rows.is_empty() {
        return Ok(None);
    }
    let (finished, answered, seconds) = detect(rows);
    let finished = finished.ok_or_else(|| {
        script_error(
            "cdr: cannot tell finished calls from ongoing ones: the rows have neither q850 nor end_at (add them to fields())",
        )
    })?;
    let answered = answered.ok_or_else(|| {
        script_error(
            "cdr: cannot tell answered calls: the rows have none of bill_duration, answer_at, or status with call_duration (add them to fields())",
        )
    })?;
    let basis = format!(
        "finished: {finished}; answered: {answered}; seconds: {}",
        seconds.unwrap_or("none")
    );
    let rules = named_rules(Some(finished), Some(answered), seconds);
    Ok(Some((CallRules::from(&rules)?, basis)))
}

fn round2(x: FLOAT) -> FLOAT {
    (x * 100.0).round() / 100.0
}

fn figures(f: &CallFigures, basis: &str) -> Map {
    let mut map = Map::new();
    map.insert("attempts".into(), Dynamic::from_int(f.attempts));
    map.insert("answered".into(), Dynamic::from_int(f.answered));
    let asr = if f.attempts == 0 {
        0.0
    } else {
        round2(f.answered as FLOAT * 100.0 / f.attempts as FLOAT)
    };
    let acd = if f.answered == 0 {
        0.0
    } else {
        round2(f.seconds / f.answered as FLOAT)
    };
    map.insert("asr".into(), Dynamic::from_float(asr));
    map.insert("acd".into(), Dynamic::from_float(acd));
    map.insert(
        "billed_minutes".into(),
        Dynamic::from_float(round2(f.seconds / 60.0)),
    );
    map.insert("basis".into(), basis.into());
    map
}

fn combine(all: &mut CallFigures, more: CallFigures) {
    all.attempts += more.attempts;
    all.answered += more.answered;
    all.seconds += more.seconds;
    if all.q850.is_unit() {
        all.q850 = more.q850;
    }
}

/// The figures of each key value, by name (in name order).
fn tally_by(
    ctx: &NativeCallContext,
    rows: &Array,
    rules: &CallRules,
    key: &Key,
) -> RhaiResultOf<BTreeMap<String, CallFigures>> {
    let parts = fold_parts(
        ctx,
        rows,
        key,
        Tally::<CallFigures>::new,
        |t, value, row| {
            if let Some(map) = row.read_lock::<Map>() {
                rules.count(t.of(value), &map);
            }
            Ok(())
        },
    )?;
    Ok(Tally::by_name(parts, combine)
        .into_iter()
        .map(|(name, f)| (name.to_string(), f))
        .collect())
}

#[export_module]
pub mod cdr_api {
    use super::*;

    /// Which fields tell a finished and an answered call apart in these rows, since tenants
    /// send different ones: `#{finished, answered, seconds}`, each the name of a rule, or `()`
    /// where none applies. Finished: `q850 > 0` when rows carry `q850`, else a non-empty
    /// `end_at`. Answered: `bill_duration > 0`, else a non-empty `answer_at`, else
    /// `NORMAL_CLEARING` with `call_duration > 0`. Talk seconds: `bill_duration`, else
    /// `call_duration`. The first 100 rows decide.
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// print(cdr::rules([#{ end_at: "2025-01-01 08:00:35", status: "NORMAL_CLEARING", call_duration: 35 }]));
    /// ```
    #[rhai_fn(pure)]
    pub fn rules(rows: &mut Array) -> Map {
        rules_map(rows)
    }

    /// Key figures of finished calls: `#{attempts, answered, asr, acd, billed_minutes, basis}`.
    /// `asr` is the percentage of finished calls that were answered; `acd` the average talk
    /// seconds of answered calls. Which fields decide is worked out from the rows (see
    /// `cdr::rules`) and named in `basis`; rows that carry none of the fields needed are an
    /// error, never a report of zeros. Ongoing calls are left out.
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// let k = cdr::kpis(td.cdrs().limit(500).to_array());
    /// print(`ASR ${k.asr}%  ACD ${k.acd} s  (${k.basis})`);
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn kpis(ctx: NativeCallContext, rows: &mut Array) -> RhaiResultOf<Map> {
        let Some((rules, basis)) = rules_of(rows)? else {
            return Ok(figures(&CallFigures::default(), "no rows"));
        };
        let all = tally_by(&ctx, rows, &rules, &Key::Field("".into()))?;
        Ok(figures(
            &all.into_values().next().unwrap_or_default(),
            &basis,
        ))
    }

    /// Key figures per group (a field name such as `"user_id"` or `"campaign_id"`, or a
    /// closure): `#{groups, note}`. Each group is the figures of `cdr::kpis` plus its `key`,
    /// most attempts first; finished calls without the key form the group `""`. `note` says
    /// when the key is set only on answered calls (the dialer fills `user_id` when an agent
    /// takes the call): every group's ASR is then 100 % by construction and the unanswered
    /// attempts are all in `""`. Otherwise `note` is `()`.
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// let per_agent = cdr::kpis_by(td.cdrs().limit(2000).to_array(), "user_id");
    /// if per_agent.note != () { print(per_agent.note); }
    /// for g in per_agent.groups { print(`${g.key}: ${g.attempts} calls, ASR ${g.asr}%`); }
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn kpis_by(ctx: NativeCallContext, rows: &mut Array, key: Dynamic) -> RhaiResultOf<Map> {
        let key_name = if key.is_string() {
            key.to_string()
        } else {
            "the key".to_string()
        };
        let key = Key::from(key, "cdr::kpis_by")?;
        let mut out = Map::new();
        let Some((rules, basis)) = rules_of(rows)? else {
            out.insert("groups".into(), Dynamic::from_array(Array::new()));
            out.insert("note".into(), Dynamic::UNIT);
            return Ok(out);
        };
        let groups = tally_by(&ctx, rows, &rules, &key)?;
        let unset = groups.get("").cloned().unwrap_or_default();
        let keyed: Vec<&CallFigures> = groups
            .iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(_, f)| f)
            .collect();
        let note = if unset.attempts > 0
            && unset.answered == 0
            && !keyed.is_empty()
            && keyed.iter().all(|f| f.answered == f.attempts)
        {
            Dynamic::from(format!(
                "{key_name} is set only on answered calls: each group's ASR is 100% by construction, and the {} unanswered attempts are in the group \"\"",
                unset.attempts
            ))
        } else {
            Dynamic::UNIT
        };
        let mut list: Vec<(String, CallFigures)> = groups.into_iter().collect();
        list.sort_by_key(|(_, f)| std::cmp::Reverse(f.attempts));
        let groups: Array = list
            .into_iter()
            .map(|(name, f)| {
                let mut map = figures(&f, &basis);
                map.insert("key".into(), name.into());
                Dynamic::from_map(map)
            })
            .collect();
        out.insert("groups".into(), Dynamic::from_array(groups));
        out.insert("note".into(), note);
        Ok(out)
    }

    /// Finished calls per hangup cause, most frequent first: `[#{status, q850, calls, share}]`.
    /// Rows without `q850` are grouped by status alone (`q850` is then `()`).
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// for c in cdr::by_cause(td.cdrs().limit(500).to_array()) { print(`${c.status} ${c.calls}`); }
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn by_cause(ctx: NativeCallContext, rows: &mut Array) -> RhaiResultOf<Array> {
        let Some((rules, _)) = rules_of(rows)? else {
            return Ok(Array::new());
        };
        let groups = tally_by(&ctx, rows, &rules, &Key::Field("status".into()))?;
        let total: INT = groups.values().map(|f| f.attempts).sum();
        let mut list: Vec<(String, CallFigures)> =
            groups.into_iter().filter(|(_, f)| f.attempts > 0).collect();
        list.sort_by_key(|(_, f)| std::cmp::Reverse(f.attempts));
        Ok(list
            .into_iter()
            .map(|(status, f)| {
                let mut map = Map::new();
                let status = if status.is_empty() {
                    "UNKNOWN".to_string()
                } else {
                    status
                };
                map.insert("status".into(), status.into());
                map.insert("q850".into(), f.q850);
                map.insert("calls".into(), Dynamic::from_int(f.attempts));
                map.insert(
                    "share".into(),
                    Dynamic::from_float(round2(f.attempts as FLOAT * 100.0 / total as FLOAT)),
                );
                Dynamic::from_map(map)
            })
            .collect())
    }

    /// Key figures per hour of the day (from `start_at`), hours with calls only, in order:
    /// `[#{hour, attempts, answered, asr, acd}]`.
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// for h in cdr::by_hour(td.cdrs().limit(1000).to_array()) { print(`${h.hour}:00 ${h.asr}%`); }
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn by_hour(rows: &mut Array) -> RhaiResultOf<Array> {
        let Some((rules, basis)) = rules_of(rows)? else {
            return Ok(Array::new());
        };
        let mut hours: BTreeMap<INT, CallFigures> = BTreeMap::new();
        for row in rows.iter() {
            let Some(map) = row.read_lock::<Map>() else {
                continue;
            };
            let hour = map
                .get("start_at")
                .map(|v| v.to_string())
                .and_then(|at| at.get(11..13).and_then(|h| h.parse::<INT>().ok()));
            if let Some(hour) = hour {
                rules.count(hours.entry(hour).or_default(), &map);
            }
        }
        Ok(hours
            .into_iter()
            .filter(|(_, f)| f.attempts > 0)
            .map(|(hour, f)| {
                let all = figures(&f, &basis);
                let mut map = Map::new();
                map.insert("hour".into(), Dynamic::from_int(hour));
                for key in ["attempts", "answered", "asr", "acd"] {
                    map.insert(key.into(), all.get(key).cloned().unwrap_or_default());
                }
                Dynamic::from_map(map)
            })
            .collect())
    }

    /// Counts CDRs per key value by the given rules (a map as `cdr::rules` returns): per group
    /// `#{attempts, answered, seconds, q850}` (finished calls, answered ones, their talk
    /// seconds, the first Q.850 code seen). The key is a field name, a closure, or `""` for
    /// one group of everything. The other figures of this module are built on it.
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// let rows = td.cdrs().limit(1000).to_array();
    /// let per_status = cdr::tally(rows, cdr::rules(rows), "status");
    /// print(per_status.NORMAL_CLEARING.answered);
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn tally(
        ctx: NativeCallContext,
        rows: &mut Array,
        rules: Map,
        key: Dynamic,
    ) -> RhaiResultOf<Map> {
        let rules = CallRules::from(&rules)?;
        let key = Key::from(key, "cdr::tally")?;
        Ok(tally_by(&ctx, rows, &rules, &key)?
            .into_iter()
            .map(|(name, f)| {
                let mut map = Map::new();
                map.insert("attempts".into(), Dynamic::from_int(f.attempts));
                map.insert("answered".into(), Dynamic::from_int(f.answered));
                map.insert("seconds".into(), Dynamic::from_float(f.seconds));
                map.insert("q850".into(), f.q850);
                (name.into(), Dynamic::from_map(map))
            })
            .collect())
    }

    /// Rounds to two decimals.
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// print(cdr::round2(2.0 / 3.0));   // 0.67
    /// ```
    #[rhai_fn(name = "round2")]
    pub fn round2_float(x: FLOAT) -> FLOAT {
        round2(x)
    }

    /// Rounds to two decimals (an INT is already round).
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// print(cdr::round2(3));   // 3.0
    /// ```
    #[rhai_fn(name = "round2")]
    pub fn round2_int(x: INT) -> FLOAT {
        x as FLOAT
    }
}
