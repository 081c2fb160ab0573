//! How `tdc eval` writes its result: `json` (indented, the default), `ndjson` (one compact
//! JSON value a line), `csv` (a header and a row per record, nested maps as dotted columns)
//! or `table`; optionally through a jq filter (`--jq`). A Query is streamed page by page in
//! `ndjson` and `csv`, never held whole. A result of `()` prints nothing.

use std::io::Write;

use rhai::{Array, Dynamic};
use serde_json::Value;

use crate::output::jq::Jq;
use crate::script::{dynamic_to_json, NotJson, Query, RhaiResultOf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Ndjson,
    Csv,
    Table,
}

impl Format {
    /// Each format by the name `-o` takes.
    pub const CHOICES: [(&'static str, Format); 4] = [
        ("json", Format::Json),
        ("ndjson", Format::Ndjson),
        ("csv", Format::Csv),
        ("table", Format::Table),
    ];
}

impl std::str::FromStr for Format {
    type Err = crate::choice::UnknownChoice;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::choice::choose(text, "output format", &Format::CHOICES)
    }
}

/// Why writing stopped.
pub enum Stop {
    /// Output could not be written: the sink has kept why, and the binary's edge says it
    /// (a reader that went away is not an error).
    Output,
    Failed(String),
}

impl From<std::io::Error> for Stop {
    fn from(_: std::io::Error) -> Stop {
        Stop::Output
    }
}

impl From<csv::Error> for Stop {
    fn from(e: csv::Error) -> Stop {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => Stop::from(io),
            other => Stop::Failed(format!("cannot write CSV: {other:?}")),
        }
    }
}

/// A record's fields as CSV columns: nested maps become dotted columns
/// (`customFields.affiliate`), arrays stay JSON text.
pub fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                match inner {
                    Value::Object(_) => flatten(&name, inner, out),
                    Value::Null => out.push((name, String::new())),
                    Value::String(s) => out.push((name, s.clone())),
                    other => out.push((name, other.to_string())),
                }
            }
        }
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Writes records as CSV: the columns of the first record (flattened), in its order; a later
/// record's missing columns are empty, and columns the first lacked are left out.
fn write_csv(
    records: impl Iterator<Item = RhaiResultOf<Value>>,
    fields: Option<Vec<String>>,
) -> Result<(), Stop> {
    let mut writer = csv::Writer::from_writer(crate::terminal::sink::Stdout);
    // CSV carries server text as it is; on a terminal its controls are shown, not obeyed.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let shown = |text: &str| -> String {
        if terminal {
            crate::terminal::sanitize::for_terminal(text).into_owned()
        } else {
            text.to_string()
        }
    };
    let mut header: Option<Vec<String>> = None;
    if let Some(fields) = fields {
        writer.write_record(fields.iter().map(|f| shown(f)))?;
        header = Some(fields);
    }
    for record in records {
        let record = record.map_err(|e| Stop::Failed(e.to_string()))?;
        let mut cells = Vec::new();
        flatten("", &record, &mut cells);
        let columns = match &header {
            Some(columns) => columns,
            None => {
                // The usual first columns of the kind of record, then the rest.
                let preferred =
                    crate::script::table::preferred_columns(&vec![crate::script::json_to_dynamic(
                        record.clone(),
                    )]);
                let mut columns: Vec<String> = Vec::new();
                for first in preferred {
                    columns.extend(
                        cells
                            .iter()
                            .map(|(k, _)| k)
                            .filter(|k| **k == first || k.starts_with(&format!("{first}.")))
                            .cloned(),
                    );
                }
                writer.write_record(columns.iter().map(|c| shown(c)))?;
                header.insert(columns)
            }
        };
        let row = columns.iter().map(|column| {
            shown(
                cells
                    .iter()
                    .find(|(k, _)| k == column)
                    .map_or("", |(_, v)| v.as_str()),
            )
        });
        writer.write_record(row)?;
    }
    writer.flush()?;
    Ok(())
}

/// Writes `value` in `format`, through `jq` when given.
pub fn write(value: Dynamic, format: Format, jq: Option<&Jq>) -> Result<(), Stop> {
    if value.is_unit() {
        return Ok(());
    }
    let fail = |e: Box<rhai::EvalAltResult>| Stop::Failed(e.to_string());
    // Records one by one: a Query streams, an array is walked, anything else is one value.
    let records: Box<dyn Iterator<Item = RhaiResultOf<Value>>> = if value.is::<Query>() {
        let query = value.clone().cast::<Query>();
        Box::new(query.into_iter().map(|row| row.and_then(|r| to_json(&r))))
    } else if let Some(array) = value.read_lock::<Array>() {
        Box::new(array.clone().into_iter().map(|r| to_json(&r)))
    } else {
        Box::new(std::iter::once(to_json(&value)))
    };
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let json = |text: String| -> String {
        if terminal {
            crate::terminal::sanitize::json_for_terminal(&text).into_owned()
        } else {
            text
        }
    };
    let mut out = std::io::BufWriter::new(crate::terminal::sink::Stdout);
    match format {
        Format::Ndjson => {
            for record in records {
                let record = record.map_err(fail)?;
                match jq {
                    Some(jq) => {
                        for line in jq.run(&record).map_err(|e| Stop::Failed(e.to_string()))? {
                            writeln!(out, "{}", json(compact(&line)))?;
                        }
                    }
                    None => writeln!(out, "{}", json(record.to_string()))?,
                }
            }
        }
        Format::Csv => {
            drop(out);
            let fields = value
                .read_lock::<Query>()
                .and_then(|query| query.field_names());
            return write_csv(records, fields);
        }
        Format::Json | Format::Table => {
            let whole = if value.is::<Query>() || value.is_array() {
                Value::Array(
                    records
                        .collect::<RhaiResultOf<Vec<Value>>>()
                        .map_err(fail)?,
                )
            } else {
                to_json(&value).map_err(fail)?
            };
            match (format, jq) {
                (_, Some(jq)) => {
                    for text in jq.run(&whole).map_err(|e| Stop::Failed(e.to_string()))? {
                        writeln!(out, "{}", json(text.to_string()))?;
                    }
                }
                (Format::Table, None) => {
                    let rows: Array = match &whole {
                        Value::Array(items) => items
                            .iter()
                            .cloned()
                            .map(crate::script::json_to_dynamic)
                            .collect(),
                        other => vec![crate::script::json_to_dynamic(other.clone())],
                    };
                    let columns = crate::script::table::preferred_columns(&rows);
                    writeln!(
                        out,
                        "{}",
                        crate::script::table::table(
                            &rows,
                            &columns,
                            crate::script::table::Layout::full()
                        )
                    )?;
                }
                _ => writeln!(
                    out,
                    "{}",
                    json(serde_json::to_string_pretty(&whole).unwrap_or_default())
                )?,
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// A value as JSON; a Dialer, Query or Recording (no JSON form) as the text it shows. Nesting
/// too deep for JSON is an error: its text would be as deep.
fn to_json(value: &Dynamic) -> RhaiResultOf<Value> {
    match dynamic_to_json(value) {
        Ok(json) => Ok(json),
        Err(NotJson::Type(_)) => Ok(Value::String(value.to_string())),
        Err(too_deep) => Err(crate::script::script_error(too_deep.to_string())),
    }
}

/// jq's indented output on one line, for ndjson.
fn compact(text: &str) -> String {
    serde_json::from_str::<Value>(text).map_or_else(|_| text.to_string(), |v| v.to_string())
}
