//! Rhai records as a text table that fits a width (columns that do not fit are named, not
//! silently dropped; long tables cut with a count): what `table()` returns, what the REPL and
//! `tdc eval -o table` show, and the column order of CSV files.

use rhai::{Array, Dynamic, Map};

use super::dynamic_to_json;

/// Rows of a table shown before the rest is counted.
pub(crate) const MAX_ROWS: usize = 40;

/// An array whose items are all maps.
pub(crate) fn as_records(value: &Dynamic) -> Option<Array> {
    let array = value.read_lock::<Array>()?;
    (!array.is_empty() && array.iter().all(Dynamic::is_map)).then(|| array.clone())
}

fn cell_text(value: &Dynamic) -> String {
    if value.is_unit() {
        String::new()
    } else if value.is_string() {
        crate::terminal::sanitize::for_terminal(&value.to_string()).into_owned()
    } else {
        dynamic_to_json(value).map_or_else(|_| value.to_string(), |j| j.to_string())
    }
}

/// How a table is laid out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Columns of text available; columns that do not fit are named under the table.
    pub(crate) width: usize,
    /// Rows shown before the rest is counted.
    pub(crate) max_rows: usize,
    /// Characters a cell shows before it is cut with `…`.
    pub(crate) max_cell: usize,
}

impl Layout {
    /// For the REPL: fits the terminal, shows the first rows.
    pub(crate) fn terminal(width: usize) -> Layout {
        Layout {
            width,
            max_rows: MAX_ROWS,
            max_cell: 30,
        }
    }

    /// For scripts (`table(records)`): every row and column.
    pub(crate) fn full() -> Layout {
        Layout {
            width: usize::MAX,
            max_rows: usize::MAX,
            max_cell: 40,
        }
    }
}

/// Every key of the records, in order of first appearance.
pub(crate) fn columns_of(records: &Array) -> Vec<String> {
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
pub(crate) fn cell(record: &Dynamic, column: &str) -> String {
    record
        .read_lock::<Map>()
        .and_then(|m| m.get(column).map(cell_text))
        .unwrap_or_default()
}

/// The columns of a terminal a text takes (CJK and emoji take two).
fn width_of(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// A text cut to `max` columns with `…`.
fn cut_to(text: String, max: usize) -> String {
    if width_of(&text) <= max {
        return text;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max.saturating_sub(1) {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Pads a cell to `width` columns: numbers to the right, text to the left.
fn pad(text: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(width_of(text)));
    if right {
        format!("{fill}{text}")
    } else {
        format!("{text}{fill}")
    }
}

/// Whether every value of a column is a number (it is then aligned to the right).
fn numeric_column(records: &[Dynamic], column: &str) -> bool {
    let mut any = false;
    for record in records {
        if let Some(map) = record.read_lock::<Map>() {
            match map.get(column) {
                Some(v) if v.is_int() || v.is_float() => any = true,
                Some(v) if v.is_unit() => {}
                None => {}
                Some(_) => return false,
            }
        }
    }
    any
}

/// Records as an aligned text table of the given columns.
pub(crate) fn table(records: &Array, columns: &[String], layout: Layout) -> String {
    // Keys come from the server as values do: shown, never obeyed, each on its one line.
    let headers: Vec<String> = columns
        .iter()
        .map(|c| crate::terminal::sanitize::for_one_line(c).into_owned())
        .collect();
    let shown_rows = records.len().min(layout.max_rows);
    let cells: Vec<Vec<String>> = records[..shown_rows]
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| cut_to(cell(r, c), layout.max_cell))
                .collect()
        })
        .collect();
    let right: Vec<bool> = columns
        .iter()
        .map(|c| numeric_column(&records[..shown_rows], c))
        .collect();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| width_of(&r[i]))
                .chain([width_of(c)])
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
            .zip(&right)
            .map(|((c, w), r)| pad(c, *w, *r))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![
        line(&headers),
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
            headers[fitted..].join(", ")
        ));
    }
    out.join("\n")
}

/// The columns people look at first, by the kind of record (told by a field only it has, the
/// first match deciding); the rest follow in name order. The `cdr` reports come first: their
/// rows are maps, which keep no order of their own, and a cause row also carries `q850`.
const PREFERRED: [(&str, &[&str]); 8] = [
    ("share", &["status", "q850", "calls", "share"]),
    ("hour", &["hour", "attempts", "answered", "asr", "acd"]),
    (
        "billed_minutes",
        &[
            "key",
            "attempts",
            "answered",
            "asr",
            "acd",
            "billed_minutes",
            "basis",
        ],
    ),
    (
        "q850",
        &[
            "id",
            "start_at",
            "dst",
            "status",
            "q850",
            "bill_duration",
            "call_duration",
            "campaign_id",
            "lead_id",
            "user_id",
            "end_at",
        ],
    ),
    (
        "call_bill_duration",
        &[
            "id",
            "start_at",
            "dst",
            "status",
            "call_bill_duration",
            "has_recording",
            "campaign_id",
            "lead_id",
        ],
    ),
    (
        "calls_count",
        &[
            "id",
            "lead_id",
            "campaign_id",
            "status",
            "status_id",
            "calls_count",
            "user_id",
        ],
    ),
    (
        "original_identifier",
        &[
            "id",
            "first_name",
            "last_name",
            "phone",
            "original_identifier",
            "created_at",
        ],
    ),
    (
        "predictive_call_ratio",
        &["id", "name", "is_active", "campaign_type"],
    ),
];

/// The columns of tables and CSV files: the record kind's usual first columns (CDRs: `id`,
/// `start_at`, `dst`, `status`, `q850`, `bill_duration`, …; the `cdr` reports in the order
/// their docs list), else `id` first, then the rest as they first appear (each record's keys
/// in name order).
pub(crate) fn preferred_columns(records: &Array) -> Vec<String> {
    let mut columns = columns_of(records);
    let preferred: &[&str] = PREFERRED
        .iter()
        .find(|(marker, _)| columns.iter().any(|c| c == marker))
        .map_or(&["id"], |(_, order)| order);
    let mut ordered: Vec<String> = preferred
        .iter()
        .filter_map(|p| {
            let i = columns.iter().position(|c| c == p)?;
            Some(columns.remove(i))
        })
        .collect();
    ordered.append(&mut columns);
    ordered
}

/// `table(records)` for scripts.
#[rhai::plugin::export_module]
pub mod table_api {
    use rhai::Array;

    use super::{columns_of, Layout};
    use crate::script::csv::column_names;
    use crate::script::RhaiResultOf;

    /// Records as an aligned text table (every key a column).
    ///
    /// ```rhai
    /// print(table(td.campaigns()));
    /// ```
    pub fn table(records: &mut Array) -> String {
        let columns = columns_of(records);
        super::table(records, &columns, Layout::full())
    }

    /// Records as an aligned text table with the given columns.
    ///
    /// ```rhai
    /// print(table(td.cdrs().limit(5).to_array(), ["id", "status", "bill_duration"]));
    /// ```
    #[rhai_fn(name = "table", return_raw)]
    pub fn table_columns(records: &mut Array, columns: Array) -> RhaiResultOf<String> {
        Ok(super::table(
            records,
            &column_names(&columns)?,
            Layout::full(),
        ))
    }
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
    fn a_cdr_table_in_80_columns_shows_what_people_look_at_first() {
        let fields = [
            "agent_callerid_name",
            "answer_at",
            "bill_duration",
            "call_duration",
            "call_id",
            "call_uuid",
            "campaign_id",
            "dst",
            "end_at",
            "id",
            "q850",
            "src",
            "start_at",
            "status",
        ];
        let mut m = Map::new();
        for f in fields {
            m.insert(f.into(), Dynamic::from("x"));
        }
        m.insert("id".into(), Dynamic::from_int(5475));
        m.insert("bill_duration".into(), Dynamic::from_int(95));
        m.insert("start_at".into(), Dynamic::from("2024-10-22 10:00:00"));
        let rows: Array = vec![Dynamic::from_map(m)];
        let text = table(&rows, &preferred_columns(&rows), Layout::terminal(80));
        let header = text.lines().next().unwrap();
        assert!(header.starts_with("  id  start_at"), "{text}");
        assert!(
            header.contains("status") && header.contains("q850"),
            "{text}"
        );
    }

    #[test]
    fn wide_characters_align_and_numbers_go_right() {
        let rows: Array = [("東京", 5), ("ab", 12345)]
            .iter()
            .map(|(name, n)| {
                let mut m = Map::new();
                m.insert("name".into(), Dynamic::from(*name));
                m.insert("n".into(), Dynamic::from_int(*n));
                Dynamic::from_map(m)
            })
            .collect();
        let text = table(&rows, &["name".into(), "n".into()], Layout::full());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "東京      5");
        assert_eq!(lines[3], "ab    12345");
    }

    #[test]
    fn tables_fit_the_width_and_name_what_is_left_out() {
        let rows = records(3);
        let text = table(&rows, &preferred_columns(&rows), Layout::terminal(24));
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
    fn long_tables_are_cut_with_a_count() {
        let rows = records(50);
        let text = table(&rows, &preferred_columns(&rows), Layout::terminal(200));
        assert!(text.contains("… 10 more rows (50 in all)"), "{text}");
    }
}
