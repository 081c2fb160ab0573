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
pub(crate) enum Format {
    #[default]
    Json,
    Ndjson,
    Csv,
    Table,
}

impl Format {
    /// Each format by the name `-o` takes.
    pub(crate) const CHOICES: [(&'static str, Format); 4] = [
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
pub(crate) enum Stop {
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

/// Writes records as CSV by the one flattener ([`crate::script::csv`]): the columns asked for
/// (`fields()`), else an array's columns are every record's, and a streamed Query's are its
/// first record's (a later record's other fields are left out rather than hold the stream).
fn write_csv(
    records: impl Iterator<Item = RhaiResultOf<Dynamic>>,
    columns: Option<Vec<String>>,
) -> Result<(), Stop> {
    use crate::script::csv::{flat_cell, flat_columns};
    let mut writer = csv::Writer::from_writer(crate::terminal::sink::Stdout);
    // CSV carries server text as it is; on a terminal its controls are shown, not obeyed.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let shown = |text: String| -> String {
        if terminal {
            crate::terminal::sanitize::for_terminal(&text).into_owned()
        } else {
            text
        }
    };
    let mut header = None;
    if let Some(columns) = columns {
        writer.write_record(columns.iter().map(|c| shown(c.clone())))?;
        header = Some(columns);
    }
    for record in records {
        let record = record.map_err(|e| Stop::Failed(super::diagnostic::error_message(&e)))?;
        let columns = match &header {
            Some(columns) => columns,
            None => {
                let mut columns = flat_columns(&vec![record.clone()]);
                if !record.is_map() {
                    // A list of plain values: one unnamed column.
                    columns = vec![String::new()];
                }
                writer.write_record(columns.iter().map(|c| shown(c.clone())))?;
                header.insert(columns)
            }
        };
        writer.write_record(columns.iter().map(|c| shown(flat_cell(&record, c))))?;
    }
    writer.flush()?;
    Ok(())
}

/// Writes `value` in `format`, through `jq` when given.
pub(crate) fn write(value: Dynamic, format: Format, jq: Option<&Jq>) -> Result<(), Stop> {
    if value.is_unit() {
        return Ok(());
    }
    if format == Format::Csv {
        if value.is::<Query>() {
            let query = value.cast::<Query>();
            let fields = query.field_names();
            return write_csv(query.into_iter(), fields);
        }
        let array = match value.try_cast_result::<Array>() {
            Ok(array) => array,
            Err(one) => vec![one],
        };
        let columns = (!array.is_empty() && array.iter().all(Dynamic::is_map))
            .then(|| crate::script::csv::flat_columns(&array));
        return write_csv(array.into_iter().map(Ok), columns);
    }
    let fail = |e: Box<rhai::EvalAltResult>| Stop::Failed(super::diagnostic::error_message(&e));
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
        // CSV is written above, record by record.
        Format::Json | Format::Table | Format::Csv => {
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
