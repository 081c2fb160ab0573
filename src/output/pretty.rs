//! How the REPL shows a value: an array of records as a table that fits the terminal, a
//! Query as its URL and first rows, maps and arrays indented, long output cut with a count of
//! what was left out; or raw JSON.

use rhai::Dynamic;

use crate::script::table::{as_records, preferred_columns, table, Layout};
use crate::script::{dynamic_to_json, RhaiResultOf};

/// Rows of a Query the REPL shows.
pub(crate) const QUERY_PREVIEW_ROWS: u64 = 10;

/// Lines of other output shown before the rest is counted.
pub(crate) const MAX_LINES: usize = 60;

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

/// The text the REPL prints for a value, or `None` for `()`.
pub(crate) fn render(value: &Dynamic, width: usize, json: bool) -> RhaiResultOf<Option<String>> {
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
        let columns = preferred_columns(&records);
        return Ok(Some(table(&records, &columns, Layout::terminal(width))));
    }
    if value.is::<crate::script::Query>() {
        // A Query shows what it will send and what the first rows look like.
        let query = value.clone().cast::<crate::script::Query>();
        let (url, rows) = query.preview(QUERY_PREVIEW_ROWS)?;
        let mut text = format!("Query {url}");
        if !rows.is_empty() {
            let columns = preferred_columns(&rows);
            text.push('\n');
            text.push_str(&table(&rows, &columns, Layout::terminal(width)));
            text.push_str(&format!(
                "\n(the first {} rows; .to_array() reads them all)",
                rows.len()
            ));
        }
        return Ok(Some(text));
    }
    if value.is_map() || value.is_array() {
        let text = match dynamic_to_json(value) {
            Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_default(),
            Err(_) => value.to_string(),
        };
        return Ok(Some(cut_lines(text)));
    }
    if value.is_string() {
        let text = crate::terminal::sanitize::for_terminal(&value.to_string()).into_owned();
        return Ok(Some(cut_lines(text)));
    }
    Ok(Some(
        crate::terminal::sanitize::for_terminal(&value.to_string()).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::Array;

    #[test]
    fn long_output_is_cut_with_a_count() {
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
