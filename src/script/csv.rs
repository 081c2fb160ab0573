//! CSV files both ways: nested maps flatten to dotted columns (`customFields.affiliate`) and
//! dotted columns read back into nested maps, so an export re-imports. The one flattener:
//! `write_csv` and `tdc eval -o csv` take their columns ([`flat_columns`]) and cells
//! ([`flat_cell`]) from here. Cells hold text as it was sent; only a terminal shows its
//! controls escaped.

use crate::script::permissions::Powers;
use crate::script::powers_of;
use rhai::plugin::*;
use rhai::{Array, Dynamic, ImmutableString, Map, INT};

use std::path::Path;

use super::io_error;
use super::{script_error, RhaiResultOf};
use crate::files::{self, Access};
use crate::script::table;

pub(super) fn column_names(columns: &Array) -> RhaiResultOf<Vec<String>> {
    columns
        .iter()
        .map(|c| {
            c.clone()
                .into_string()
                .map_err(|t| script_error(format!("columns are names, got a {t}")))
        })
        .collect()
}

#[export_module]
pub mod csv_api {
    use super::*;

    /// Reads a CSV file with a header row into an array of maps (every value text).
    ///
    /// ```rhai
    /// let rows = read_csv("scripts/leads_sample.csv");
    /// print(rows[0].phone);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read_csv(ctx: NativeCallContext, path: &str) -> RhaiResultOf<Array> {
        read_csv_with(ctx, path, Map::new())
    }

    /// Reads a CSV file with options: `delimiter` (one character, default `,`).
    ///
    /// ```rhai
    /// let rows = read_csv("export.csv", #{ delimiter: ";" });
    /// ```
    #[rhai_fn(name = "read_csv", return_raw)]
    pub fn read_csv_with(ctx: NativeCallContext, path: &str, options: Map) -> RhaiResultOf<Array> {
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
            .from_reader(files::open(
                Access::bounded(&powers_of(&ctx), "read_csv"),
                Path::new(path),
            )?);
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
    /// export re-imports. Column order: a Rhai map keeps no order of its own, so the columns
    /// are the usual first ones of the kind of record (CDRs: `id`, `start_at`, `dst`,
    /// `status`, …; the `cdr` reports as their docs list them, e.g. `cdr::kpis`: `attempts`,
    /// `answered`, `asr`, `acd`, `billed_minutes`, `basis`; other rows: `id`), then the rest
    /// as they first appear, each record's keys in name order. For an order of your own, pass
    /// the columns: `write_csv(rows, path, ["hour", "asr"])` or `#{ columns: [...] }`.
    ///
    /// ```rhai
    /// write_csv(td.cdrs().limit(100).to_array(), "cdrs.csv");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write_csv(ctx: NativeCallContext, records: &mut Array, path: &str) -> RhaiResultOf<INT> {
        let columns = flat_columns(records);
        write_rows(&powers_of(&ctx), records, path, &columns)
    }

    /// Writes records to a CSV file with the given columns, in that order.
    ///
    /// ```rhai
    /// write_csv(td.cdrs().limit(100).to_array(), "cdrs.csv", ["id", "status", "bill_duration"]);
    /// ```
    #[rhai_fn(name = "write_csv", return_raw)]
    pub fn write_csv_columns(
        ctx: NativeCallContext,
        records: &mut Array,
        path: &str,
        columns: Array,
    ) -> RhaiResultOf<INT> {
        let columns = column_names(&columns)?;
        write_rows(&powers_of(&ctx), records, path, &columns)
    }

    /// Writes records to a CSV file with options: `columns` (an array of names, in order;
    /// without it, the order of `write_csv(records, path)`) and `excel_safe` (true: a text
    /// cell, column names included, starting with `=`, `+`, `-`, `@`, a tab or a carriage
    /// return gets a leading `'`, so a spreadsheet shows it instead of running it as a
    /// formula — use it for files people open in Excel or Sheets).
    ///
    /// ```rhai
    /// write_csv(td.leads().limit(100).to_array(), "leads.csv", #{ excel_safe: true });
    /// ```
    #[rhai_fn(name = "write_csv", return_raw)]
    pub fn write_csv_options(
        ctx: NativeCallContext,
        records: &mut Array,
        path: &str,
        options: Map,
    ) -> RhaiResultOf<INT> {
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
        write_rows_with(&powers_of(&ctx), records, path, &columns, excel_safe)
    }
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

/// The text under a dotted column (`customFields.affiliate`) of a record: text as it is,
/// numbers, booleans and arrays as JSON writes them, nothing for `()` or a missing field. A
/// value that is not a map is its own cell, under any column.
pub(crate) fn flat_cell(record: &Dynamic, column: &str) -> String {
    let Some(map) = record.read_lock::<Map>() else {
        return cell_text(record);
    };
    if let Some(value) = map.get(column) {
        return cell_text(value);
    }
    let Some((head, rest)) = column.split_once('.') else {
        return String::new();
    };
    map.get(head)
        .filter(|inner| inner.is_map())
        .map_or_else(String::new, |inner| flat_cell(inner, rest))
}

fn cell_text(value: &Dynamic) -> String {
    if value.is_unit() {
        String::new()
    } else if value.is_string() {
        value.to_string()
    } else {
        super::dynamic_to_json(value).map_or_else(|_| value.to_string(), |j| j.to_string())
    }
}

/// The CSV columns of records, every record's: nested maps as dotted columns, in the
/// preferred order ([`table::preferred_columns`]).
pub(crate) fn flat_columns(records: &Array) -> Vec<String> {
    let mut columns = Vec::new();
    for column in table::preferred_columns(records) {
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

fn write_rows(
    powers: &Powers,
    records: &Array,
    path: &str,
    columns: &[String],
) -> RhaiResultOf<INT> {
    write_rows_with(powers, records, path, columns, false)
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
    powers: &Powers,
    records: &Array,
    path: &str,
    columns: &[String],
    excel_safe: bool,
) -> RhaiResultOf<INT> {
    files::write_whole(
        Access::bounded(powers, "write_csv"),
        Path::new(path),
        |file| write_records(csv::Writer::from_writer(file), records, columns, excel_safe),
    )?;
    Ok(records.len() as INT)
}

fn write_records(
    mut writer: csv::Writer<&mut std::fs::File>,
    records: &Array,
    columns: &[String],
    excel_safe: bool,
) -> std::io::Result<()> {
    // Column names come from data too (a CSV someone sent, a tenant's custom fields).
    let header: Vec<String> = columns
        .iter()
        .map(|c| {
            if excel_safe {
                excel_safe_cell(c.clone())
            } else {
                c.clone()
            }
        })
        .collect();
    writer.write_record(&header)?;
    for record in records {
        let row: Vec<String> = columns
            .iter()
            .map(|c| {
                let text = flat_cell(record, c);
                if excel_safe {
                    excel_safe_cell(text)
                } else {
                    text
                }
            })
            .collect();
        writer.write_record(&row)?;
    }
    writer.flush()
}
