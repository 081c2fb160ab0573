//! The dialer's filter grammar, shared by the client (which writes it) and the sandbox (which
//! reads it).
//!
//! A filter is `field=value;op`, where `op` is one of `= != > < >= <=` and a missing `;op`
//! means `=`. Several conditions on one field are joined by `|` and must all hold (AND):
//! `duration=5;>|9999;<`. Reserved parameters: `fields=a;b` (the columns to return),
//! `order=field;asc|desc`, and `limit=N;OFFSET` (CDRs, lead search) or `limit=N&offset=M`
//! (calls). Lead search takes the same pairs as path segments:
//! `/api/leads/limit/500;0/purchase_site/x/created_at/2023-12-21 13:15:11;>`.

use std::fmt;

/// A comparison operator of the filter grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

impl Op {
    pub const ALL: [Op; 6] = [Op::Eq, Op::Ne, Op::Gt, Op::Lt, Op::Ge, Op::Le];

    pub(crate) fn parse(text: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.as_str() == text)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Le => "<=",
        }
    }

    /// Whether `ordering` (field compared with value) satisfies this operator.
    pub(crate) fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => ordering == Equal,
            Op::Ne => ordering != Equal,
            Op::Gt => ordering == Greater,
            Op::Lt => ordering == Less,
            Op::Ge => ordering != Less,
            Op::Le => ordering != Greater,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One condition on a field: `value;op`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub op: Op,
    pub value: String,
}

/// Why a filter could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GrammarError {
    #[error("unknown operator '{op}' in '{text}' (use one of = != > < >= <=)")]
    UnknownOperator { op: String, text: String },
    #[error("bad limit '{0}' (expected N or N;OFFSET)")]
    BadLimit(String),
    #[error("bad order '{0}' (expected field;asc or field;desc)")]
    BadOrder(String),
}

/// Reads `value;op|value;op` into its conditions.
pub fn parse_conditions(text: &str) -> Result<Vec<Condition>, GrammarError> {
    text.split('|')
        .map(|part| match part.rsplit_once(';') {
            None => Ok(Condition {
                op: Op::Eq,
                value: part.to_string(),
            }),
            Some((value, op)) => match Op::parse(op) {
                Some(op) => Ok(Condition {
                    op,
                    value: value.to_string(),
                }),
                None => Err(GrammarError::UnknownOperator {
                    op: op.to_string(),
                    text: text.to_string(),
                }),
            },
        })
        .collect()
}

/// Writes conditions back as `value;op|value;op`; equality is written as the bare value, as
/// in the vendor guide (`/api/leads/phone/447700001235/`).
pub fn format_conditions(conditions: &[Condition]) -> String {
    conditions
        .iter()
        .map(|c| match c.op {
            // A bare value must not look like `value;op` itself.
            Op::Eq if !c.value.contains(';') => c.value.clone(),
            op => format!("{};{op}", c.value),
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Reads `N` or `N;OFFSET`.
pub fn parse_limit(text: &str) -> Result<(u64, Option<u64>), GrammarError> {
    let bad = || GrammarError::BadLimit(text.to_string());
    let (limit, offset) = match text.split_once(';') {
        Some((l, o)) => (l, Some(o)),
        None => (text, None),
    };
    let limit = limit.trim().parse().map_err(|_| bad())?;
    let offset = match offset {
        Some(o) => Some(o.trim().parse().map_err(|_| bad())?),
        None => None,
    };
    Ok((limit, offset))
}

/// Reads `field;asc` / `field;desc` (no direction means ascending). Returns the field and
/// whether the order is descending.
pub fn parse_order(text: &str) -> Result<(String, bool), GrammarError> {
    let (field, dir) = text.split_once(';').unwrap_or((text, "asc"));
    let descending = match dir.to_ascii_lowercase().as_str() {
        "asc" | "" => false,
        "desc" => true,
        _ => return Err(GrammarError::BadOrder(text.to_string())),
    };
    if field.is_empty() {
        return Err(GrammarError::BadOrder(text.to_string()));
    }
    Ok((field.to_string(), descending))
}

/// The names among `known` closest to `name` (a typo's likely intent), best first, at most
/// three; none when nothing is close.
pub(crate) fn nearest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = known
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, candidate)| *score >= 0.8 && *candidate != name)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// The most rows the dialer returns in one page.
pub(crate) const MAX_PAGE: u64 = 1000;
