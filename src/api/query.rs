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

    pub fn parse(text: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
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
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
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

/// Writes conditions back as `value;op|value;op`.
pub fn format_conditions(conditions: &[Condition]) -> String {
    conditions
        .iter()
        .map(|c| format!("{};{}", c.value, c.op))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_round_trip() {
        let conditions = parse_conditions("5;>|9999;<").unwrap();
        assert_eq!(conditions.len(), 2);
        assert_eq!(conditions[0].op, Op::Gt);
        assert_eq!(conditions[1].value, "9999");
        assert_eq!(format_conditions(&conditions), "5;>|9999;<");
    }

    #[test]
    fn missing_operator_means_equal() {
        let conditions = parse_conditions("447700001234").unwrap();
        assert_eq!(conditions[0].op, Op::Eq);
        assert_eq!(conditions[0].value, "447700001234");
    }

    #[test]
    fn unknown_operator_is_named() {
        let err = parse_conditions("5;~").unwrap_err();
        assert!(err.to_string().contains("'~'"), "{err}");
    }

    #[test]
    fn limits_and_orders() {
        assert_eq!(parse_limit("100;900").unwrap(), (100, Some(900)));
        assert_eq!(parse_limit("7").unwrap(), (7, None));
        assert!(parse_limit("x;1").is_err());
        assert_eq!(parse_order("end_at;asc").unwrap(), ("end_at".into(), false));
        assert_eq!(parse_order("id;DESC").unwrap(), ("id".into(), true));
        assert!(parse_order("id;up").is_err());
    }

    #[test]
    fn every_operator_holds_as_named() {
        use std::cmp::Ordering::*;
        assert!(Op::Ge.holds(Equal) && Op::Ge.holds(Greater) && !Op::Ge.holds(Less));
        assert!(Op::Le.holds(Equal) && Op::Le.holds(Less) && !Op::Le.holds(Greater));
        assert!(Op::Ne.holds(Less) && !Op::Ne.holds(Equal));
        assert!(Op::Gt.holds(Greater) && Op::Lt.holds(Less) && Op::Eq.holds(Equal));
    }
}
