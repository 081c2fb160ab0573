//! How a notebook shows a value, as a MIME bundle: records and a Query's first rows as an
//! HTML table (the REPL's column order, the first [`TABLE_ROWS`] rows and a count) beside the
//! text table; a chart a cell drew as `image/svg+xml` beside its text; a map as
//! `application/json`; anything else as the REPL prints it. Also the notebook's own script
//! functions: `display(value)`, and the chart functions, which remember the SVG of what they
//! drew so that the cell that returns a chart shows it.

use std::sync::{Arc, Mutex};

use jupyter_protocol::{
    DisplayData, JupyterMessage, JupyterMessageContent, Media, MediaType, StreamContent, Transient,
    UpdateDisplayData,
};
use rhai::{Array, Dynamic, Engine, FuncRegistration, Map};
use tokio::sync::mpsc::UnboundedSender;

use crate::output::pretty;
use crate::script::chart;
use crate::script::table::{as_records, cell, preferred_columns, table, Layout};
use crate::script::{dynamic_to_json, RhaiResultOf};

/// Rows of a table a cell shows before the rest is counted.
pub(crate) const TABLE_ROWS: usize = 50;

/// Columns of the text beside the HTML (what a terminal-like reader of the notebook sees).
const TEXT_WIDTH: usize = 120;

/// Where a running cell's output goes: iopub messages, each the child of the request being
/// answered, in the order they are made.
#[derive(Clone)]
pub(crate) struct Outlet {
    sender: UnboundedSender<JupyterMessage>,
    parent: Arc<Mutex<Option<JupyterMessage>>>,
    /// The charts drawn by the running cell: (the value the chart function returned, its SVG).
    charts: Arc<Mutex<Vec<(String, String)>>>,
    /// The display showing the running scan's progress, and how many there were.
    progress: Arc<Mutex<(Option<String>, u64)>>,
}

impl Outlet {
    pub(crate) fn new(sender: UnboundedSender<JupyterMessage>) -> Outlet {
        Outlet {
            sender,
            parent: Arc::default(),
            charts: Arc::default(),
            progress: Arc::default(),
        }
    }

    /// The request the messages that follow answer; a new cell forgets the last one's charts.
    pub(crate) fn answering(&self, parent: &JupyterMessage) {
        *self.parent.lock().unwrap_or_else(|e| e.into_inner()) = Some(parent.clone());
        self.charts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub(crate) fn send(&self, content: impl Into<JupyterMessageContent>) {
        let parent = self.parent.lock().unwrap_or_else(|e| e.into_inner());
        // iopub is a PUB socket: a message is not routed back to one client by identity.
        let message = JupyterMessage::new(content, parent.as_ref()).with_zmq_identities(Vec::new());
        let _ = self.sender.send(message);
    }

    pub(crate) fn stdout(&self, text: &str) {
        self.send(StreamContent::stdout(text));
    }

    pub(crate) fn stderr(&self, text: &str) {
        self.send(StreamContent::stderr(text));
    }

    /// Progress as one output that changes (a display updated by its id): `line` is what it
    /// shows now, `""` once the scan is done, which empties it.
    pub(crate) fn progress(&self, line: &str) {
        let mut progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        let media = Media::new(vec![MediaType::Plain(line.to_string())]);
        match (&progress.0, line.is_empty()) {
            (None, true) => {}
            (None, false) => {
                progress.1 += 1;
                let id = format!("tdc-progress-{}", progress.1);
                self.send(DisplayData {
                    transient: Some(Transient {
                        display_id: Some(id.clone()),
                    }),
                    ..DisplayData::new(media)
                });
                progress.0 = Some(id);
            }
            (Some(id), done) => {
                self.send(UpdateDisplayData::new(media, id));
                if done {
                    progress.0 = None;
                }
            }
        }
    }

    fn remember_chart(&self, value: &str, svg: String) {
        let mut charts = self.charts.lock().unwrap_or_else(|e| e.into_inner());
        charts.push((value.to_string(), svg));
    }

    fn chart_of(&self, value: &Dynamic) -> Option<String> {
        let text = value.read_lock::<rhai::ImmutableString>()?;
        let charts = self.charts.lock().unwrap_or_else(|e| e.into_inner());
        charts
            .iter()
            .rev()
            .find(|(drawn, _)| drawn.as_str() == text.as_str())
            .map(|(_, svg)| svg.clone())
    }

    /// The bundle a value is shown as, or `None` for `()`.
    pub(crate) fn bundle(&self, value: &Dynamic) -> RhaiResultOf<Option<Media>> {
        if value.is_unit() {
            return Ok(None);
        }
        let plain = || -> RhaiResultOf<String> {
            Ok(pretty::render(value, TEXT_WIDTH, false)?.unwrap_or_default())
        };
        let content = if let Some(svg) = self.chart_of(value) {
            vec![MediaType::Svg(svg), MediaType::Plain(plain()?)]
        } else if let Some(records) = as_records(value) {
            let columns = preferred_columns(&records);
            vec![
                MediaType::Html(html_table(&records, &columns, None)),
                MediaType::Plain(table(&records, &columns, text_layout())),
            ]
        } else if value.is::<crate::script::Query>() {
            query_bundle(value.clone().cast::<crate::script::Query>())?
        } else if value.is_map() {
            match dynamic_to_json(value) {
                Ok(json) => vec![MediaType::Json(json), MediaType::Plain(plain()?)],
                Err(_) => vec![MediaType::Plain(plain()?)],
            }
        } else {
            vec![MediaType::Plain(plain()?)]
        };
        Ok(Some(Media::new(content)))
    }

    /// Shows a value now, in the running cell's output.
    pub(crate) fn display(&self, value: &Dynamic) -> RhaiResultOf<()> {
        if let Some(media) = self.bundle(value)? {
            self.send(DisplayData {
                transient: Some(Transient::default()),
                ..DisplayData::new(media)
            });
        }
        Ok(())
    }
}

fn text_layout() -> Layout {
    Layout {
        max_rows: TABLE_ROWS,
        ..Layout::terminal(TEXT_WIDTH)
    }
}

/// A Query shows the URL it sends and its first rows, read once for both forms.
fn query_bundle(query: crate::script::Query) -> RhaiResultOf<Vec<MediaType>> {
    let (url, rows) = query.preview(TABLE_ROWS as u64)?;
    let url = crate::config::redact_urls_in(&url).into_owned();
    let mut text = format!("Query {url}");
    let mut html = format!("<p><code>Query {}</code></p>", escape(&url));
    if !rows.is_empty() {
        let columns = preferred_columns(&rows);
        let note = format!(
            "(the first {} rows; .to_array() reads them all)",
            rows.len()
        );
        text.push_str(&format!(
            "\n{}\n{note}",
            table(&rows, &columns, text_layout())
        ));
        html.push_str(&html_table(&rows, &columns, Some(&note)));
    }
    Ok(vec![MediaType::Html(html), MediaType::Plain(text)])
}

/// Records as an HTML table of `columns`, numbers to the right, the first [`TABLE_ROWS`] rows
/// and then a count (or `note`). Keys and values are server text: escaped, never markup.
pub(crate) fn html_table(records: &Array, columns: &[String], note: Option<&str>) -> String {
    let shown = &records[..records.len().min(TABLE_ROWS)];
    let numeric: Vec<bool> = columns
        .iter()
        .map(|column| {
            shown.iter().any(|r| is_number(r, column))
                && shown
                    .iter()
                    .all(|r| is_number(r, column) || cell(r, column).is_empty())
        })
        .collect();
    let mut html = String::from("<table class=\"tdc-table\">\n<thead><tr>");
    for column in columns {
        html.push_str(&format!("<th>{}</th>", escape(column)));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for record in shown {
        html.push_str("<tr>");
        for (column, right) in columns.iter().zip(&numeric) {
            let align = if *right {
                " style=\"text-align: right\""
            } else {
                ""
            };
            html.push_str(&format!(
                "<td{align}>{}</td>",
                escape(&cell(record, column))
            ));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>");
    let count = (records.len() > shown.len()).then(|| {
        format!(
            "… {} more rows ({} in all)",
            records.len() - shown.len(),
            records.len()
        )
    });
    for line in count.iter().map(String::as_str).chain(note) {
        html.push_str(&format!("\n<p>{}</p>", escape(line)));
    }
    html
}

fn is_number(record: &Dynamic, column: &str) -> bool {
    record
        .read_lock::<Map>()
        .and_then(|m| m.get(column).map(|v| v.is_int() || v.is_float()))
        .unwrap_or(false)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `display(value)`, documented for help and completion like every script function.
pub(crate) fn register_display(engine: &mut Engine, outlet: &Outlet) {
    let outlet = outlet.clone();
    FuncRegistration::new("display")
        .with_params_info(["value: ?", "()"])
        .with_comments([
            "/// Shows a value in the notebook now, as a cell's result is shown: records as a table,",
            "/// a chart as a picture, a map as JSON. Only in notebooks (`tdc jupyter`).",
            "///",
            "/// ```rhai",
            "/// display(td.cdrs().limit(5).to_array());",
            "/// ```",
        ])
        .register_into_engine(engine, move |value: Dynamic| outlet.display(&value));
}

/// The chart functions again, with the same signatures, values and docs (taken from the
/// engine's own), each also remembering the SVG of what it drew for the cell to show.
/// Registered on the engine itself, they are found before the global module's.
pub(crate) fn register_charts(engine: &mut Engine, outlet: &Outlet) {
    let docs = crate::repl::catalog::Catalog::from_engine(engine);
    let comments = |name: &str| -> Vec<String> {
        docs.named(name)
            .next()
            .map(|f| f.doc.lines().map(|line| format!("/// {line}")).collect())
            .unwrap_or_default()
    };
    let params = ["rows: Array", "label_key: &str", "value_key: &str"];
    let drawn = |rows: &Array, label_key: &str, value_key: &str, options: &Map, function: &str| {
        let points = chart::points(rows, label_key, value_key, function)?;
        let svg = chart::svg_chart(&points, value_key, options)
            .map_err(|e| crate::script::script_error(format!("{function}: {e}")))?;
        Ok::<_, Box<rhai::EvalAltResult>>((points, svg))
    };
    for (name, kind, render) in [
        (
            "bar_chart",
            "bar",
            chart::render_bars as fn(&[(String, rhai::FLOAT)]) -> String,
        ),
        ("line_chart", "line", chart::render_line),
    ] {
        let outlet = outlet.clone();
        let mut options = Map::new();
        options.insert("kind".into(), kind.into());
        FuncRegistration::new(name)
            .with_params_info(params.iter().copied().chain(["RhaiResultOf<String>"]))
            .with_comments(comments(name))
            .register_into_engine(
                engine,
                move |rows: Array, label_key: &str, value_key: &str| -> RhaiResultOf<String> {
                    let (points, svg) = drawn(&rows, label_key, value_key, &options, name)?;
                    let text = render(&points);
                    outlet.remember_chart(&text, svg);
                    Ok(text)
                },
            );
    }
    let outlet = outlet.clone();
    FuncRegistration::new("write_chart")
        .with_params_info(params.iter().copied().chain([
            "path: &str",
            "options: Map",
            "RhaiResultOf<String>",
        ]))
        .with_comments(comments("write_chart"))
        .register_into_engine(
            engine,
            move |ctx: rhai::NativeCallContext,
                  rows: Array,
                  label_key: &str,
                  value_key: &str,
                  path: &str,
                  options: Map|
                  -> RhaiResultOf<String> {
                let (_, svg) = drawn(&rows, label_key, value_key, &options, "write_chart")?;
                let written =
                    chart::chart_api::write_chart(ctx, rows, label_key, value_key, path, options)?;
                outlet.remember_chart(&written, svg);
                Ok(written)
            },
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: i64, name: &str) -> Dynamic {
        let mut map = Map::new();
        map.insert("id".into(), Dynamic::from_int(id));
        map.insert("name".into(), Dynamic::from(name.to_string()));
        Dynamic::from_map(map)
    }

    #[test]
    fn tables_escape_server_text_and_count_what_they_leave_out() {
        let rows: Array = (0..60).map(|i| record(i, "<b>Ann & Bo</b>")).collect();
        let html = html_table(&rows, &["id".into(), "name".into()], None);
        assert!(
            html.contains("<td>&lt;b&gt;Ann &amp; Bo&lt;/b&gt;</td>"),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
        assert!(
            html.contains("<td style=\"text-align: right\">49</td>"),
            "{html}"
        );
        assert!(!html.contains(">50</td>"), "{html}");
        assert!(
            html.ends_with("<p>… 10 more rows (60 in all)</p>"),
            "{html}"
        );
    }

    fn notebook_engine() -> (Engine, Outlet) {
        let mut engine = crate::script::engine::compile_engine();
        let (sender, _) = tokio::sync::mpsc::unbounded_channel();
        let outlet = Outlet::new(sender);
        register_display(&mut engine, &outlet);
        register_charts(&mut engine, &outlet);
        (engine, outlet)
    }

    #[test]
    fn the_notebook_functions_are_documented_with_a_rhai_example() {
        let (engine, _) = notebook_engine();
        let metadata: serde_json::Value =
            serde_json::from_str(&engine.gen_fn_metadata_to_json(false).unwrap()).unwrap();
        for name in ["display", "bar_chart", "line_chart", "write_chart"] {
            let overloads: Vec<&serde_json::Value> = metadata["functions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["name"] == name)
                .collect();
            assert!(!overloads.is_empty(), "{name}");
            for f in overloads {
                let docs = f["docComments"].to_string();
                assert!(docs.contains("```rhai"), "{name}: {docs}");
            }
        }
    }

    #[test]
    fn a_chart_a_cell_returns_is_shown_as_its_svg_beside_its_text() {
        let (engine, outlet) = notebook_engine();
        let code = r#"bar_chart([#{hour: 9, asr: 40.0}, #{hour: 10, asr: 55.5}], "hour", "asr")"#;
        let value: Dynamic = engine.eval(code).unwrap();
        let rows: Array = engine
            .eval(r#"[#{hour: 9, asr: 40.0}, #{hour: 10, asr: 55.5}]"#)
            .unwrap();
        let text = chart::chart_api::bar_chart(rows, "hour", "asr").unwrap();
        assert_eq!(value.to_string(), text, "the same value as tdc run's");
        let media = outlet.bundle(&value).unwrap().unwrap();
        assert!(
            matches!(&media.content[0], MediaType::Svg(svg) if svg.starts_with("<svg")),
            "{media:?}"
        );
        assert!(matches!(&media.content[1], MediaType::Plain(plain) if plain == &text));
        let other = outlet.bundle(&Dynamic::from("just text")).unwrap().unwrap();
        assert!(
            matches!(&other.content[..], [MediaType::Plain(_)]),
            "{other:?}"
        );
    }
}
