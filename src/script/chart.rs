//! Charts where people would rather look than read: bar and line charts drawn in the terminal
//! with block characters, and the same written as SVG files with `plotters`.

use super::RhaiResultOf;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, FLOAT};

use super::script_error;

const BAR_WIDTH: usize = 40;
const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `(label, value)` pairs from records.
pub(crate) fn points(
    rows: &Array,
    label_key: &str,
    value_key: &str,
    function: &str,
) -> RhaiResultOf<Vec<(String, FLOAT)>> {
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let map = row.read_lock::<Map>().ok_or_else(|| {
                script_error(format!(
                    "{function}: row {i} is a {}, not a map",
                    row.type_name()
                ))
            })?;
            let label = map
                .get(label_key)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let value = map.get(value_key).cloned().unwrap_or(Dynamic::UNIT);
            let number = value
                .as_float()
                .ok()
                .or_else(|| value.as_int().ok().map(|i| i as FLOAT))
                .ok_or_else(|| {
                    script_error(format!(
                        "{function}: row {i}: '{value_key}' is a {}, not a number",
                        value.type_name()
                    ))
                })?;
            Ok((label, number))
        })
        .collect()
}

fn format_value(value: FLOAT) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:.2}")
    }
}

/// Horizontal bars scaled to the largest value.
pub(crate) fn render_bars(points: &[(String, FLOAT)]) -> String {
    let max = points.iter().map(|(_, v)| *v).fold(0.0, FLOAT::max);
    let label_width = points
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    points
        .iter()
        .map(|(label, value)| {
            let eighths = if max > 0.0 {
                (value.max(0.0) / max * (BAR_WIDTH * 8) as FLOAT).round() as usize
            } else {
                0
            };
            let bar = format!("{}{}", "█".repeat(eighths / 8), EIGHTHS[eighths % 8]);
            format!("{label:>label_width$} │{bar} {}", format_value(*value))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A one-line sparkline with the range and the first and last labels.
pub(crate) fn render_line(points: &[(String, FLOAT)]) -> String {
    if points.is_empty() {
        return String::new();
    }
    let min = points
        .iter()
        .map(|(_, v)| *v)
        .fold(FLOAT::INFINITY, FLOAT::min);
    let max = points
        .iter()
        .map(|(_, v)| *v)
        .fold(FLOAT::NEG_INFINITY, FLOAT::max);
    let spark: String = points
        .iter()
        .map(|(_, v)| {
            let level = if max > min {
                ((v - min) / (max - min) * 7.0).round() as usize
            } else {
                3
            };
            SPARKS[level.min(7)]
        })
        .collect();
    let (first, last) = (&points[0].0, &points[points.len() - 1].0);
    format!(
        "{spark}  min {} max {}  ({first} .. {last})",
        format_value(min),
        format_value(max)
    )
}

/// The chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub(crate) struct DrawError(String);

/// The chart as SVG text.
fn render_svg(points: &[(String, FLOAT)], title: &str, kind: &str) -> Result<String, DrawError> {
    let mut svg = String::new();
    draw_svg(&mut svg, points, title, kind)?;
    Ok(svg)
}

fn draw_svg(
    svg: &mut String,
    points: &[(String, FLOAT)],
    title: &str,
    kind: &str,
) -> Result<(), DrawError> {
    use plotters::prelude::*;
    let root = SVGBackend::with_string(svg, (900, 500)).into_drawing_area();
    let draw = |e: &dyn std::fmt::Display| DrawError(e.to_string());
    root.fill(&WHITE).map_err(|e| draw(&e))?;
    let max = points
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0, FLOAT::max)
        .max(1e-9)
        * 1.1;
    let n = points.len().max(1);
    let labels: Vec<String> = points.iter().map(|(l, _)| l.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0..n, 0.0..max)
        .map_err(|e| draw(&e))?;
    chart
        .configure_mesh()
        .x_labels(n.min(24))
        .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
        .draw()
        .map_err(|e| draw(&e))?;
    let color = RGBColor(31, 119, 180);
    if kind == "line" {
        chart
            .draw_series(LineSeries::new(
                points.iter().enumerate().map(|(i, (_, v))| (i, *v)),
                color.stroke_width(2),
            ))
            .map_err(|e| draw(&e))?;
    } else {
        chart
            .draw_series(points.iter().enumerate().map(|(i, (_, v))| {
                Rectangle::new([(i, 0.0), (i + 1, *v)], color.mix(0.8).filled())
            }))
            .map_err(|e| draw(&e))?;
    }
    root.present().map_err(|e| draw(&e))
}

/// The SVG `write_chart` writes, with `options` as it reads them (`title`, `kind`); a
/// notebook shows it inline.
pub(crate) fn svg_chart(
    points: &[(String, FLOAT)],
    value_key: &str,
    options: &Map,
) -> Result<String, DrawError> {
    let kind = options
        .get("kind")
        .map(|k| k.to_string())
        .unwrap_or_else(|| "bar".into());
    let title = options
        .get("title")
        .map(|t| t.to_string())
        .unwrap_or_else(|| value_key.to_string());
    render_svg(points, &title, &kind)
}

#[export_module]
pub mod chart_api {
    use super::*;

    /// A horizontal bar chart of `value_key` per `label_key`, drawn with block characters.
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// print(bar_chart(cdr::by_hour(td.cdrs().limit(2000).to_array()), "hour", "asr"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn bar_chart(rows: Array, label_key: &str, value_key: &str) -> RhaiResultOf<String> {
        Ok(render_bars(&points(
            &rows,
            label_key,
            value_key,
            "bar_chart",
        )?))
    }

    /// A one-line chart (sparkline) of `value_key` over the rows, with its range.
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// print(line_chart(cdr::by_hour(td.cdrs().limit(2000).to_array()), "hour", "attempts"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn line_chart(rows: Array, label_key: &str, value_key: &str) -> RhaiResultOf<String> {
        Ok(render_line(&points(
            &rows,
            label_key,
            value_key,
            "line_chart",
        )?))
    }

    /// Writes a bar (default) or line chart as an SVG file. Options: `title`, `kind`
    /// (`"bar"` or `"line"`). Returns the path.
    ///
    /// ```rhai
    /// import "cdr" as cdr;
    /// let hours = cdr::by_hour(td.cdrs().limit(2000).to_array());
    /// write_chart(hours, "hour", "asr", "asr_by_hour.svg", #{ title: "ASR % by hour" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write_chart(
        ctx: NativeCallContext,
        rows: Array,
        label_key: &str,
        value_key: &str,
        path: &str,
        options: Map,
    ) -> RhaiResultOf<String> {
        let kind = options
            .get("kind")
            .map(|k| k.to_string())
            .unwrap_or_else(|| "bar".into());
        if kind != "bar" && kind != "line" {
            return Err(script_error(format!(
                "write_chart: kind is \"bar\" or \"line\", not \"{kind}\""
            )));
        }
        if !path.ends_with(".svg") {
            return Err(script_error(format!(
                "write_chart: {path}: charts are written as .svg files"
            )));
        }
        let points = points(&rows, label_key, value_key, "write_chart")?;
        let svg = svg_chart(&points, value_key, &options)
            .map_err(|e| script_error(format!("write_chart: {path}: {e}")))?;
        let powers = crate::script::powers_of(&ctx);
        let access = crate::files::Access::bounded(&powers, "write_chart");
        crate::files::write_whole(access, std::path::Path::new(path), |file| {
            std::io::Write::write_all(file, svg.as_bytes())
        })?;
        Ok(path.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(String, FLOAT)> {
        vec![("8".into(), 10.0), ("9".into(), 20.0), ("10".into(), 5.0)]
    }

    #[test]
    fn bars_scale_to_the_largest_value() {
        let text = render_bars(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[1].starts_with(" 9 │") && lines[1].ends_with(&format!("{} 20", "█".repeat(40))),
            "{text}"
        );
        assert!(
            lines[0].contains(&format!("{} 10", "█".repeat(20))),
            "{text}"
        );
    }

    #[test]
    fn sparkline_spans_the_range() {
        assert_eq!(render_line(&sample()), "▃█▁  min 5 max 20  (8 .. 10)");
    }

    #[test]
    fn svg_is_drawn() {
        let svg = render_svg(&sample(), "ASR", "bar").unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("ASR") && svg.contains("<rect"),
            "{svg}"
        );
        let svg = render_svg(&sample(), "calls", "line").unwrap();
        assert!(svg.contains("<polyline"), "{svg}");
    }
}
