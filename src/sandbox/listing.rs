//! Evaluation of the filter grammar (see `api::query`) over the sandbox's records.
//!
//! Comparison rules, strict and documented in the README:
//! - numeric fields compare as numbers when the value is a number;
//! - time fields (`*_at`, `birthdate`, `purchase_date`) compare as instants; the value may be
//!   `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`, anything else is a 400;
//! - text fields compare as text for `=`/`!=`, and as numbers for the ordering operators when
//!   both sides are numbers;
//! - an empty field (`null`) equals only the empty value and fails every ordering operator.
//!
//! Listings are in id order unless `order` says otherwise. A page holds at most
//! [`MAX_PAGE`] rows; asking for more is a 400, never a silently shorter page.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::sandbox::error::{SandboxError, SandboxResult};
/// The largest page, as the client asks for it: one number for both sides of the wire.
pub(crate) use crate::wire::filter::MAX_PAGE;
use crate::wire::filter::{parse_conditions, parse_limit, parse_order, Condition, Op};

pub(crate) const DEFAULT_PAGE: u64 = 100;

/// A field's value as a filter sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue<'a> {
    Null,
    Int(i64),
    Time(i64),
    Text(Cow<'a, str>),
}

/// How a resource is paged: `limit=N;OFFSET`, or `limit=N&offset=M`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Paging {
    LimitWithOffset,
    SeparateOffset,
}

#[derive(Debug, Clone)]
struct CompiledCondition {
    op: Op,
    text: String,
    number: Option<f64>,
    time: Option<i64>,
}

/// A parsed listing request: filters, columns, order and page.
#[derive(Debug, Clone, Default)]
pub(crate) struct Listing {
    filters: Vec<(String, Vec<CompiledCondition>)>,
    pub(crate) fields: Option<Vec<String>>,
    order: Option<(String, bool)>,
    pub(crate) limit: u64,
    pub(crate) offset: u64,
}

pub(crate) use crate::time::{format_time, parse_time};

impl Listing {
    /// Reads the listing from `(key, value)` pairs (query parameters or path segments).
    /// `known` lists the fields a filter, `fields` or `order` may name; `time_fields` those
    /// compared as instants.
    pub(crate) fn from_pairs(
        pairs: &[(String, String)],
        resource: &str,
        known: &[&str],
        time_fields: &[&str],
        paging: Paging,
    ) -> SandboxResult<Listing> {
        let check_field = |name: &str| -> SandboxResult<()> {
            if known.contains(&name) {
                return Ok(());
            }
            let close = crate::wire::filter::nearest(name, known.iter().copied());
            let hint = match close.as_slice() {
                [] => String::new(),
                names => format!("; did you mean {}?", names.join(", ")),
            };
            Err(SandboxError::bad_request(format!(
                "unknown field '{name}' for {resource}{hint} (fields: {})",
                known.join(", ")
            )))
        };
        let mut listing = Listing {
            limit: DEFAULT_PAGE,
            ..Listing::default()
        };
        for (key, value) in pairs {
            match key.as_str() {
                "fields" => {
                    let fields: Vec<String> = value
                        .split(';')
                        .filter(|f| !f.is_empty())
                        .map(str::to_string)
                        .collect();
                    for f in &fields {
                        check_field(f)?;
                    }
                    listing.fields = Some(fields);
                }
                "order" => {
                    let (field, descending) =
                        parse_order(value).map_err(|e| SandboxError::bad_request(e.to_string()))?;
                    check_field(&field)?;
                    listing.order = Some((field, descending));
                }
                "limit" => {
                    let (limit, offset) =
                        parse_limit(value).map_err(|e| SandboxError::bad_request(e.to_string()))?;
                    listing.limit = limit;
                    if let Some(offset) = offset {
                        listing.offset = offset;
                    }
                }
                "offset" if paging == Paging::SeparateOffset => {
                    listing.offset = value
                        .trim()
                        .parse()
                        .map_err(|_| SandboxError::bad_request(format!("bad offset '{value}'")))?;
                }
                field => {
                    check_field(field)?;
                    let is_time = time_fields.contains(&field);
                    let conditions = parse_conditions(value)
                        .map_err(|e| SandboxError::bad_request(format!("{field}: {e}")))?;
                    let compiled = conditions
                        .into_iter()
                        .map(|c| compile(field, c, is_time))
                        .collect::<SandboxResult<Vec<_>>>()?;
                    listing.filters.push((field.to_string(), compiled));
                }
            }
        }
        if listing.limit > MAX_PAGE {
            return Err(SandboxError::bad_request(format!(
                "limit {} is over the maximum page of {MAX_PAGE} rows",
                listing.limit
            )));
        }
        Ok(listing)
    }

    /// The page of `items` this listing selects. `items` must be in id order.
    pub(crate) fn select<'a, T>(
        &self,
        items: &'a [T],
        get: impl for<'b> Fn(&'b T, &str) -> FieldValue<'b>,
    ) -> Vec<&'a T> {
        let offset = self.offset as usize;
        let limit = self.limit as usize;
        let matches = |item: &T| {
            self.filters.iter().all(|(field, conditions)| {
                let value = get(item, field);
                conditions.iter().all(|c| condition_holds(&value, c))
            })
        };
        match &self.order {
            None if self.filters.is_empty() => {
                let start = offset.min(items.len());
                let end = start.saturating_add(limit).min(items.len());
                items[start..end].iter().collect()
            }
            None => items
                .iter()
                .filter(|item| matches(item))
                .skip(offset)
                .take(limit)
                .collect(),
            Some((field, descending)) => {
                let mut selected: Vec<&T> = items.iter().filter(|item| matches(item)).collect();
                // A stable sort keeps id order among equal keys.
                selected.sort_by(|a, b| {
                    let ordering = compare_values(&get(a, field), &get(b, field));
                    if *descending {
                        ordering.reverse()
                    } else {
                        ordering
                    }
                });
                selected.into_iter().skip(offset).take(limit).collect()
            }
        }
    }
}

fn compile(field: &str, condition: Condition, is_time: bool) -> SandboxResult<CompiledCondition> {
    let time = if is_time && !condition.value.is_empty() {
        Some(parse_time(&condition.value).ok_or_else(|| {
            SandboxError::bad_request(format!(
                "{field}: '{}' is not a time (use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)",
                condition.value
            ))
        })?)
    } else {
        None
    };
    Ok(CompiledCondition {
        op: condition.op,
        number: condition.value.trim().parse::<f64>().ok(),
        text: condition.value,
        time,
    })
}

fn condition_holds(value: &FieldValue, condition: &CompiledCondition) -> bool {
    let ordering = match value {
        FieldValue::Null => {
            let empty = condition.text.is_empty() || condition.text == "null";
            return match condition.op {
                Op::Eq => empty,
                Op::Ne => !empty,
                _ => false,
            };
        }
        FieldValue::Int(n) => match condition.number {
            Some(number) => (*n as f64).partial_cmp(&number),
            None => Some(n.to_string().as_str().cmp(condition.text.as_str())),
        },
        FieldValue::Time(t) => condition.time.map(|time| t.cmp(&time)),
        FieldValue::Text(text) => match condition.op {
            Op::Eq | Op::Ne => Some(text.as_ref().cmp(condition.text.as_str())),
            _ => match (text.trim().parse::<f64>().ok(), condition.number) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => Some(text.as_ref().cmp(condition.text.as_str())),
            },
        },
    };
    ordering.is_some_and(|o| condition.op.holds(o))
}

fn compare_values(a: &FieldValue, b: &FieldValue) -> Ordering {
    use FieldValue::*;
    match (a, b) {
        (Null, Null) => Ordering::Equal,
        (Null, _) => Ordering::Less,
        (_, Null) => Ordering::Greater,
        (Int(x), Int(y)) | (Time(x), Time(y)) => x.cmp(y),
        (Text(x), Text(y)) => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => p.partial_cmp(&q).unwrap_or(Ordering::Equal),
            _ => x.cmp(y),
        },
        (Int(x), Text(y)) => x.to_string().as_str().cmp(y),
        (Text(x), Int(y)) => x.as_ref().cmp(y.to_string().as_str()),
        (Time(x), _) => x.cmp(&0),
        (_, Time(y)) => 0.cmp(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn listing(items: &[(&str, &str)]) -> SandboxResult<Listing> {
        Listing::from_pairs(
            &pairs(items),
            "rows",
            &["id", "at", "name"],
            &["at"],
            Paging::LimitWithOffset,
        )
    }

    struct Row {
        id: i64,
        at: Option<i64>,
        name: &'static str,
    }

    fn get<'a>(row: &'a Row, field: &str) -> FieldValue<'a> {
        match field {
            "id" => FieldValue::Int(row.id),
            "at" => row.at.map_or(FieldValue::Null, FieldValue::Time),
            _ => FieldValue::Text(Cow::Borrowed(row.name)),
        }
    }

    fn rows() -> Vec<Row> {
        (1..=10)
            .map(|id| Row {
                id,
                at: (id < 9).then(|| parse_time("2025-01-01").unwrap() + id * 3600),
                name: if id % 2 == 0 { "even" } else { "odd" },
            })
            .collect()
    }

    fn ids(listing: &Listing, rows: &[Row]) -> Vec<i64> {
        listing.select(rows, get).iter().map(|r| r.id).collect()
    }

    #[test]
    fn every_operator_filters() {
        let rows = rows();
        let cases = [
            ("5", vec![5]),
            ("5;=", vec![5]),
            ("5;!=", vec![1, 2, 3, 4, 6, 7, 8, 9, 10]),
            ("8;>", vec![9, 10]),
            ("3;<", vec![1, 2]),
            ("8;>=", vec![8, 9, 10]),
            ("2;<=", vec![1, 2]),
            ("2;>|5;<", vec![3, 4]),
        ];
        for (filter, expected) in cases {
            let l = listing(&[("id", filter)]).unwrap();
            assert_eq!(ids(&l, &rows), expected, "id={filter}");
        }
    }

    #[test]
    fn times_compare_as_instants_and_nulls_fail_ordering() {
        let rows = rows();
        let l = listing(&[("at", "2025-01-01 06:30:00;>")]).unwrap();
        assert_eq!(ids(&l, &rows), vec![7, 8]);
        let l = listing(&[("at", "2025-01-01;>")]).unwrap();
        assert_eq!(ids(&l, &rows), (1..=8).collect::<Vec<_>>());
        let l = listing(&[("at", "")]).unwrap();
        assert_eq!(ids(&l, &rows), vec![9, 10]);
        assert!(listing(&[("at", "yesterday;>")]).is_err());
    }

    #[test]
    fn order_offset_limit_and_fields() {
        let rows = rows();
        let l = listing(&[
            ("name", "odd"),
            ("order", "id;desc"),
            ("limit", "2;1"),
            ("fields", "id;name"),
        ])
        .unwrap();
        assert_eq!(ids(&l, &rows), vec![7, 5]);
        assert_eq!(l.fields.as_deref().unwrap(), ["id", "name"]);
        let plain = listing(&[("limit", "3;8")]).unwrap();
        assert_eq!(ids(&plain, &rows), vec![9, 10]);
    }

    #[test]
    fn bad_requests_are_named() {
        let err = listing(&[("nope", "1")]).unwrap_err();
        assert_eq!(
            err.message,
            "unknown field 'nope' for rows (fields: id, at, name)"
        );
        let err = listing(&[("nam", "x")]).unwrap_err();
        assert_eq!(
            err.message,
            "unknown field 'nam' for rows; did you mean name? (fields: id, at, name)"
        );
        let err = listing(&[("limit", "1001;0")]).unwrap_err();
        assert!(
            err.message.contains("maximum page of 1000"),
            "{}",
            err.message
        );
        let err = listing(&[("id", "1;=>")]).unwrap_err();
        assert!(
            err.message.contains("unknown operator '=>'"),
            "{}",
            err.message
        );
        assert!(listing(&[("order", "nope;asc")]).is_err());
    }
}
