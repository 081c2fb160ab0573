//! How the REPL shows a value: an array of records as a table that fits the terminal (columns
//! that do not fit are named, not silently dropped), maps and arrays indented, long output cut
//! with a count of what was left out; or raw JSON.

use rhai::{Array, Dynamic, Map};

use crate::script::dynamic_to_json;
use crate::script::RhaiResultOf;

/// Rows of a table shown before the rest is counted.
pub const MAX_ROWS: usize = 40;
/// Lines of other output shown before the rest is counted.
pub const MAX_LINES: usize = 60;

fn cut_lines(text: String) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_LINES {
        return text;
    }
    format!(
        "{}\n… {} more lines (:json shows everything)",
        lines[..MAX_LINES].join("\n"),
        lines.len() - MAX_LINES
    )
}

/// An array whose items are all maps.
fn as_records(value: &Dynamic) -> Option<Array> {
    let array = value.read_lock::<Array>()?;
    (!array.is_empty() && array.iter().all(Dynamic::is_map)).then(|| array.clone())
}

fn cell_text(value: &Dynamic) -> String {
    if value.is_unit() {
        String::new()
    } else if value.is_string() {
        crate::output::sanitize::for_terminal(&value.to_string()).into_owned()
    } else {
        dynamic_to_json(value).map_or_else(|_| value.to_string(), |j| j.to_string())
    }
}

/// How a table is laid out.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Columns of text available; columns that do not fit are named under the table.
    pub width: usize,
    /// Rows shown before the rest is counted.
    pub max_rows: usize,
    /// Characters a cell shows before it is cut with `…`.
    pub max_cell: usize,
}

impl Layout {
    /// For the REPL: fits the terminal, shows the first rows.
    pub fn terminal(width: usize) -> Layout {
        Layout {
            width,
            max_rows: MAX_ROWS,
            max_cell: 30,
        }
    }

    /// For scripts (`table(records)`): every row and column.
    pub fn full() -> Layout {
        Layout {
            width: usize::MAX,
            max_rows: usize::MAX,
            max_cell: 40,
        }
    }
}

/// Every key of the records, in order of first appearance.
pub fn columns_of(records: &Array) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for record in records {
        if let Some(map) = record.read_lock::<Map>() {
            for key in map.keys() {
                if !columns.iter().any(|c| c == key.as_str()) {
                    columns.push(key.to_string());
                }
            }
        }
    }
    columns
}

/// The text of one cell: `()` is empty, text as is, anything else as JSON.
pub fn cell(record: &Dynamic, column: &str) -> String {
    record
        .read_lock::<Map>()
        .and_then(|m| m.get(column).map(cell_text))
        .unwrap_or_default()
}

/// Records as an aligned text table of the given columns.
pub fn table(records: &Array, columns: &[String], layout: Layout) -> String {
    let shown_rows = records.len().min(layout.max_rows);
    let cut = |text: String| -> String {
        if text.chars().count() > layout.max_cell {
            format!(
                "{}…",
                text.chars().take(layout.max_cell - 1).collect::<String>()
            )
        } else {
            text
        }
    };
    let cells: Vec<Vec<String>> = records[..shown_rows]
        .iter()
        .map(|r| columns.iter().map(|c| cut(cell(r, c))).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut fitted = 0;
    let mut used = 0usize;
    for w in &widths {
        let next = used.saturating_add(w + if fitted > 0 { 2 } else { 0 });
        if next > layout.width && fitted > 0 {
            break;
        }
        used = next;
        fitted += 1;
    }
    let line = |row: &[String]| {
        row[..fitted]
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![
        line(columns),
        widths[..fitted]
            .iter()
            .map(|w| "─".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    ];
    out.extend(cells.iter().map(|r| line(r)));
    if records.len() > shown_rows {
        out.push(format!(
            "… {} more rows ({} in all)",
            records.len() - shown_rows,
            records.len()
        ));
    }
    if fitted < columns.len() {
        out.push(format!(
            "({} more columns not shown: {})",
            columns.len() - fitted,
            columns[fitted..].join(", ")
        ));
    }
    out.join("\n")
}

/// The REPL's columns: every key, `id` first (it is what people look for).
fn repl_columns(records: &Array) -> Vec<String> {
    let mut columns = columns_of(records);
    if let Some(i) = columns.iter().position(|c| c == "id") {
        let id = columns.remove(i);
        columns.insert(0, id);
    }
    columns
}

/// The text the REPL prints for a value, or `None` for `()`.
pub fn render(value: &Dynamic, width: usize, json: bool) -> RhaiResultOf<Option<String>> {
    if value.is_unit() {
        return Ok(None);
    }
    if json {
        let text = dynamic_to_json(value)
            .map(|j| serde_json::to_string_pretty(&j).unwrap_or_default())
            .unwrap_or_else(|_| serde_json::Value::String(value.to_string()).to_string());
        return Ok(Some(text));
    }
    if let Some(records) = as_records(value) {
        let columns = repl_columns(&records);
        return Ok(Some(table(&records, &columns, Layout::terminal(width))));
    }
    if value.is_map() || value.is_array() {
        let text = match dynamic_to_json(value) {
            Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_default(),
            Err(_) => value.to_string(),
        };
        return Ok(Some(cut_lines(text)));
    }
    if value.is_string() {
        let text = crate::output::sanitize::for_terminal(&value.to_string()).into_owned();
        return Ok(Some(cut_lines(text)));
    }
    Ok(Some(
        crate::output::sanitize::for_terminal(&value.to_string()).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Array {
        (0..n)
            .map(|i| {
                let mut m = Map::new();
                m.insert("id".into(), Dynamic::from_int(i as i64));
                m.insert("status".into(), Dynamic::from("NO_ANSWER"));
                m.insert("zz_note".into(), Dynamic::from("x".repeat(25)));
                Dynamic::from_map(m)
            })
            .collect()
    }

    #[test]
    fn tables_fit_the_width_and_name_what_is_left_out() {
        let rows = records(3);
        let text = table(&rows, &repl_columns(&rows), Layout::terminal(24));
        assert!(text.starts_with("id  status"), "{text}");
        assert!(
            text.ends_with("(1 more columns not shown: zz_note)"),
            "{text}"
        );
        assert!(
            text.lines()
                .all(|l| l.chars().count() <= 24 || l.starts_with('(')),
            "{text}"
        );
    }

    #[test]
    fn long_output_is_cut_with_a_count() {
        let rows = records(50);
        let text = table(&rows, &repl_columns(&rows), Layout::terminal(200));
        assert!(text.contains("… 10 more rows (50 in all)"), "{text}");
        let array: Array = (0..100).map(Dynamic::from_int).collect();
        let shown = render(&Dynamic::from_array(array), 80, false)
            .unwrap()
            .unwrap();
        assert!(
            shown.contains("more lines (:json shows everything)"),
            "{shown}"
        );
        assert_eq!(render(&Dynamic::UNIT, 80, false).unwrap(), None);
    }
}
