//! `tdc export cdrs|calls|leads`: a dataset that DuckDB, Spark or a warehouse reads, kept up
//! to date by re-running it.
//!
//! Layout (Hive partitions by day of the record's time, `start_at` or `created_at`):
//!
//! ```text
//! DIR/cdrs/date=2025-01-02/part-0.parquet     (or .ndjson, .csv)
//! DIR/cdrs/_cursor.json                        {"resource":"cdrs","until":"2025-03-31 19:59:58"}
//! ```
//!
//! Columns are typed: the client's numeric fields as 64-bit integers (amounts and
//! coordinates as floats), dates (`birthdate`, `purchase_date`) as dates, times as timestamps
//! without a time zone (the dialer writes its times without one, so an engine shows the same
//! wall-clock value in any session), the rest as text (nested values as JSON text). Incremental: a run starts from the cursor less `--overlap` (default 2 h), because a
//! CDR is written when its call starts and completed when it ends; every day partition it
//! touches is rewritten with the rows of the file and of this run, deduplicated by `id`
//! (this run's wins), so no row appears twice however often it runs. Each file is written to
//! a temporary name and renamed, and the cursor last: an interrupted run leaves the last
//! complete dataset readable, and the next run re-reads what it had not finished.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use serde_json::{Map, Value};

use crate::api::query::{Op, QuerySpec, Resource};
use crate::api::scan::{FetchPage, HeldPage, PageStream, Weighed};
use crate::api::{ApiError, Client};
use crate::files::Access;
use crate::script::permissions::Powers;
use crate::wire::fields::{
    is_numeric_field, is_time_field, read_float, read_int, DATE_FIELDS, FLOAT_FIELDS,
};

/// What stops an export.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExportError {
    /// An option the user gave (a format, a duration, a resource).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Filter(#[from] crate::api::query::BadFilter),
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A page that cannot be read as a list of records.
    #[error("GET {path}: {message}")]
    BadPage { path: String, message: String },
    /// A file the export may not touch (a script's export is held to its permissions).
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: BoxError },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: BoxError },
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("a partition writer stopped unexpectedly")]
    Writer,
    #[error("a page's task stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

type Result<T, E = ExportError> = std::result::Result<T, E>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

mod columns;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Format {
    #[default]
    Parquet,
    Ndjson,
    Csv,
}

impl std::str::FromStr for Format {
    type Err = crate::choice::UnknownChoice;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::choice::choose(text, "export format", &Format::CHOICES)
    }
}

impl Format {
    /// Each format by the name `--format` takes.
    pub(crate) const CHOICES: [(&'static str, Format); 3] = [
        ("parquet", Format::Parquet),
        ("ndjson", Format::Ndjson),
        ("csv", Format::Csv),
    ];

    fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }
}

/// What to export and where.
#[derive(Debug, Clone)]
pub(crate) struct ExportOptions {
    pub(crate) resource: Resource,
    pub(crate) out: PathBuf,
    pub(crate) format: Format,
    /// A time as scripts' `parse_time` takes it; default: the cursor less the overlap, or
    /// everything.
    pub(crate) since: Option<String>,
    pub(crate) until: Option<String>,
    /// Seconds re-read before the cursor.
    pub(crate) overlap_s: i64,
    /// Where `since` and `until` day words are read (the profile's `timezone`; UTC without).
    pub(crate) zone: Option<chrono_tz::Tz>,
    /// What the export may read and write: a script's powers when a script asked for it,
    /// everything but tdc's own files for `tdc export DIR`.
    pub(crate) powers: Powers,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExportSummary {
    pub(crate) rows: u64,
    pub(crate) partitions: usize,
    pub(crate) since: Option<String>,
    pub(crate) until: Option<String>,
}

/// A duration such as `2h`, `30m`, `90s`, `1d` (or plain seconds), in seconds.
pub(crate) fn parse_duration(text: &str) -> Result<i64> {
    crate::time::parse_duration(text).ok_or_else(|| {
        ExportError::Usage(format!(
            "'{}' is not a duration (e.g. 2h, 30m, 90s, 1d)",
            text.trim()
        ))
    })
}

/// A `since` or `until` as the dialer's filters take it (`YYYY-MM-DD HH:MM:SS`), read as
/// scripts' `parse_time` reads it: `2025-01-01`, `yesterday`, `-7d`, … (day words in `zone`).
pub(crate) fn parse_bound(option: &str, text: &str, zone: Option<chrono_tz::Tz>) -> Result<String> {
    crate::time::parse_time_or_relative(text, zone)
        .map(crate::time::format_time)
        .ok_or_else(|| {
            ExportError::Usage(format!(
                "{option}: '{text}' is not a time ({})",
                crate::time::TIME_FORMS
            ))
        })
}

/// The field a resource is partitioned and resumed by.
pub(crate) fn time_field(resource: Resource) -> Result<&'static str> {
    match resource {
        Resource::Cdrs | Resource::Calls => Ok("start_at"),
        Resource::Leads => Ok("created_at"),
        _ => Err(ExportError::Usage(
            "tdc export takes cdrs, calls or leads".into(),
        )),
    }
}

fn folder(options: &ExportOptions) -> PathBuf {
    options.out.join(options.resource.envelope())
}

fn cursor_path(options: &ExportOptions) -> PathBuf {
    folder(options).join("_cursor.json")
}

fn read_cursor(options: &ExportOptions) -> Option<String> {
    let access = Access::dataset(&options.powers, WHAT);
    let text = crate::files::read_to_string(access, &cursor_path(options)).ok()?;
    let cursor: Value = serde_json::from_str(&text).ok()?;
    cursor["until"].as_str().map(str::to_string)
}

/// How errors name the export's files.
const WHAT: &str = "export";

/// Writes `path` whole: a fresh temporary file beside it, flushed, renamed.
fn write_whole(
    powers: &Powers,
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> Result<(), BoxError>,
) -> Result<()> {
    let mut failure = None;
    crate::files::write_whole(Access::dataset(powers, WHAT), path, |file| {
        write(file).map_err(|e| {
            failure = Some(e);
            std::io::Error::other("the writer failed")
        })
    })
    .map_err(|e| match (failure.take(), e) {
        (Some(failure), _) => ExportError::Write {
            path: path.to_path_buf(),
            source: failure,
        },
        (None, crate::files::FileError::Io { source, .. }) => ExportError::Write {
            path: path.to_path_buf(),
            source: Box::new(source),
        },
        (None, refused) => ExportError::File(refused),
    })
}

/// A column's type, by its name, by the field rule ([`crate::wire::fields`]).
fn type_of(name: &str) -> DataType {
    if DATE_FIELDS.contains(&name) {
        DataType::Date32
    } else if is_time_field(name) {
        // Microseconds, as Parquet has no seconds unit; no time zone, as the dialer names none:
        // an instant would show a New York session another day and hour than the dialer's.
        DataType::Timestamp(TimeUnit::Microsecond, None)
    } else if FLOAT_FIELDS.contains(&name) {
        DataType::Float64
    } else if is_numeric_field(name) {
        DataType::Int64
    } else {
        DataType::Utf8
    }
}

/// A dialer time as microseconds of its wall-clock value (read as if in UTC).
fn micros_of(text: &str) -> Option<i64> {
    crate::time::parse_time(text).map(|t| t * 1_000_000)
}

/// A date (or the day of a time) as days since 1970-01-01.
fn days_of(text: &str) -> Option<i32> {
    crate::time::parse_time(text).and_then(|t| i32::try_from(t.div_euclid(86_400)).ok())
}

/// A column as `kind`, where a partition written by an earlier version holds dates and times
/// as UTC instants: their values are the wall-clock values, so only the type changes.
fn conform(array: &ArrayRef, kind: &DataType) -> ArrayRef {
    use arrow_array::cast::AsArray;
    use arrow_array::types::TimestampMicrosecondType;
    if array.data_type() == kind {
        return array.clone();
    }
    let Some(times) = array.as_primitive_opt::<TimestampMicrosecondType>() else {
        return arrow_array::new_null_array(kind, array.len());
    };
    match kind {
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            Arc::new(times.clone().with_timezone_opt(None::<String>))
        }
        DataType::Date32 => Arc::new(times.unary_opt::<_, arrow_array::types::Date32Type>(|us| {
            i32::try_from(us.div_euclid(DAY_US)).ok()
        })),
        _ => arrow_array::new_null_array(kind, array.len()),
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Rows as one typed record batch with the given columns.
fn batch_of(columns: &[String], rows: &[Map<String, Value>]) -> Result<RecordBatch> {
    // Each row's values by column, found by position where the row's fields come in the
    // columns' order (nearly always: one page's records share a shape), by name otherwise.
    let index: std::collections::HashMap<&str, usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut by_column: Vec<Vec<&Value>> = vec![vec![&Value::Null; rows.len()]; columns.len()];
    for (r, row) in rows.iter().enumerate() {
        for (position, (key, value)) in row.iter().enumerate() {
            let column = match columns.get(position) {
                Some(name) if name == key => Some(position),
                _ => index.get(key.as_str()).copied(),
            };
            if let Some(c) = column {
                by_column[c][r] = value;
            }
        }
    }
    let mut fields = Vec::with_capacity(columns.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for (column, cells) in columns.iter().zip(&by_column) {
        let kind = type_of(column);
        let values = cells.iter().copied();
        let array: ArrayRef = match &kind {
            DataType::Int64 => {
                let mut b = Int64Builder::with_capacity(rows.len());
                values.for_each(|v| b.append_option(read_int(v)));
                Arc::new(b.finish())
            }
            DataType::Float64 => {
                let mut b = Float64Builder::with_capacity(rows.len());
                values.for_each(|v| b.append_option(read_float(v)));
                Arc::new(b.finish())
            }
            DataType::Timestamp(..) => {
                let mut b = TimestampMicrosecondBuilder::with_capacity(rows.len());
                values.for_each(|v| b.append_option(v.as_str().and_then(micros_of)));
                Arc::new(b.finish())
            }
            DataType::Date32 => {
                let mut b = Date32Builder::with_capacity(rows.len());
                values.for_each(|v| b.append_option(v.as_str().and_then(days_of)));
                Arc::new(b.finish())
            }
            _ => {
                let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
                values.for_each(|v| b.append_option(text_of(v)));
                Arc::new(b.finish())
            }
        };
        fields.push(Field::new(column, kind, true));
        arrays.push(array);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// The rows of a batch as JSON maps (to merge an existing partition with new rows).
fn rows_of(batch: &RecordBatch) -> Vec<Map<String, Value>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
    let schema = batch.schema();
    let mut rows = vec![Map::new(); batch.num_rows()];
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        for (i, row) in rows.iter_mut().enumerate() {
            let value = if column.is_null(i) {
                Value::Null
            } else {
                match field.data_type() {
                    DataType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(i)),
                    DataType::Float64 => Value::from(column.as_primitive::<Float64Type>().value(i)),
                    DataType::Timestamp(..) => Value::from(crate::time::format_time(
                        column.as_primitive::<TimestampMicrosecondType>().value(i) / 1_000_000,
                    )),
                    DataType::Date32 => {
                        let day = i64::from(column.as_primitive::<Date32Type>().value(i));
                        let time = crate::time::format_time(day * 86_400);
                        Value::from(time.get(..10).unwrap_or_default())
                    }
                    _ => column
                        .as_string_opt::<i32>()
                        .map_or(Value::Null, |s| Value::from(s.value(i))),
                }
            };
            row.insert(field.name().clone(), value);
        }
    }
    rows
}

/// What a partition file holds, as batches (nothing when it does not exist yet).
fn read_partition(powers: &Powers, path: &Path, format: Format) -> Result<Vec<RecordBatch>> {
    let fail = |e: BoxError| ExportError::Read {
        path: path.to_path_buf(),
        source: e,
    };
    let file = match crate::files::open(Access::dataset(powers, WHAT), path) {
        Ok(file) => file,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(crate::files::FileError::Io { source, .. }) => return Err(fail(source.into())),
        Err(refused) => return Err(refused.into()),
    };
    let rows: Vec<Map<String, Value>> = match format {
        Format::Parquet => {
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(|b| b.build())
                    .map_err(|e| fail(e.into()))?;
            return reader
                .map(|batch| batch.map_err(|e| fail(e.into())))
                .collect();
        }
        Format::Ndjson => std::io::read_to_string(file)
            .map_err(|e| fail(e.into()))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match serde_json::from_str::<Value>(l) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(fail("a line is not a JSON object".into())),
            })
            .collect::<Result<_, _>>()?,
        Format::Csv => {
            let mut reader = csv::Reader::from_reader(file);
            let headers = reader.headers().map_err(|e| fail(e.into()))?.clone();
            let mut rows = Vec::new();
            for record in reader.records() {
                let record = record.map_err(|e| fail(e.into()))?;
                let row = headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| {
                        let value = if v.is_empty() {
                            Value::Null
                        } else {
                            Value::from(v)
                        };
                        (h.to_string(), value)
                    })
                    .collect();
                rows.push(row);
            }
            rows
        }
    };
    let mut columns: Vec<String> = Vec::new();
    for row in &rows {
        for key in row.keys() {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    Ok(vec![batch_of(&columns, &rows)?])
}

fn write_partition(
    powers: &Powers,
    path: &Path,
    format: Format,
    batch: &RecordBatch,
) -> Result<()> {
    write_whole(powers, path, |file| -> Result<(), BoxError> {
        match format {
            Format::Parquet => {
                let properties = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .build();
                let mut writer =
                    parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(properties))?;
                writer.write(batch)?;
                writer.close()?;
                Ok(())
            }
            Format::Ndjson => {
                use std::io::Write;
                let mut out = std::io::BufWriter::new(file);
                for row in rows_of(batch) {
                    serde_json::to_writer(&mut out, &row)?;
                    out.write_all(b"\n")?;
                }
                out.flush()?;
                Ok(())
            }
            Format::Csv => {
                let schema = batch.schema();
                let columns: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
                let mut writer = csv::Writer::from_writer(file);
                writer.write_record(&columns)?;
                for row in rows_of(batch) {
                    writer.write_record(
                        columns
                            .iter()
                            .map(|c| row.get(*c).and_then(text_of).unwrap_or_default()),
                    )?;
                }
                writer.flush()?;
                Ok(())
            }
        }
    })
}

/// Batches as one, with the columns of all of them (`order` first, then any others in the
/// order met); a column a batch lacks is null there.
fn concat_aligned(order: &[String], batches: &[RecordBatch]) -> Result<RecordBatch> {
    let present: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut names: Vec<String> = order
        .iter()
        .filter(|n| present.contains(n))
        .cloned()
        .collect();
    for name in present {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, type_of(n), true))
            .collect::<Vec<_>>(),
    ));
    let aligned = batches
        .iter()
        .map(|batch| {
            let arrays = names
                .iter()
                .map(|n| {
                    batch.column_by_name(n).map_or_else(
                        || arrow_array::new_null_array(&type_of(n), batch.num_rows()),
                        |column| conform(column, &type_of(n)),
                    )
                })
                .collect();
            RecordBatch::try_new(schema.clone(), arrays)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(arrow_select::concat::concat_batches(&schema, &aligned)?)
}

/// One row per `id` (the last one wins), in order of id, then the rows without one.
fn dedupe_by_id(batch: RecordBatch) -> Result<RecordBatch> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    let Some(ids) = batch.column_by_name("id").cloned() else {
        return Ok(batch);
    };
    let Some(ids) = ids.as_primitive_opt::<Int64Type>() else {
        return Ok(batch);
    };
    // The common case, a first run: ids already unique and in order.
    if ids.null_count() == 0 && ids.values().windows(2).all(|w| w[0] < w[1]) {
        return Ok(batch);
    }
    let mut last: BTreeMap<i64, u32> = BTreeMap::new();
    let mut without = Vec::new();
    for (row, id) in ids.iter().enumerate() {
        match id {
            Some(id) => {
                last.insert(id, row as u32);
            }
            None => without.push(row as u32),
        }
    }
    let keep =
        arrow_array::UInt32Array::from(last.into_values().chain(without).collect::<Vec<_>>());
    Ok(arrow_select::take::take_record_batch(&batch, &keep)?)
}

/// The partitions being written: one day's rows at a time in memory.
struct Partitions<'a> {
    options: &'a ExportOptions,
    /// Every column seen so far, in the order first seen: each partition's column order.
    columns: Vec<String>,
    day: Option<i64>,
    /// Days being written, oldest first.
    writing: VecDeque<(i64, std::thread::JoinHandle<Result<()>>)>,
    batches: Vec<RecordBatch>,
    written: std::collections::BTreeSet<i64>,
    /// The latest time seen, in microseconds.
    newest: Option<i64>,
}

const DAY_US: i64 = 86_400 * 1_000_000;

/// The day a row belongs to (`None`: no time, the `unknown` partition).
type Day = Option<i64>;

impl Partitions<'_> {
    /// A page's rows, split into runs of one day each.
    fn add(&mut self, batch: RecordBatch, time_field: &str) -> Result<()> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::TimestampMicrosecondType;
        for field in batch.schema().fields() {
            if !self.columns.contains(field.name()) {
                self.columns.push(field.name().clone());
            }
        }
        let times = batch
            .column_by_name(time_field)
            .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>().cloned());
        let day_of = |row: usize| -> Day {
            let times = times.as_ref()?;
            (!times.is_null(row)).then(|| times.value(row).div_euclid(DAY_US))
        };
        if let Some(times) = &times {
            if let Some(max) = times.iter().flatten().max() {
                self.newest = Some(self.newest.map_or(max, |n| n.max(max)));
            }
        }
        let mut start = 0;
        while start < batch.num_rows() {
            let day = day_of(start);
            let mut end = start + 1;
            while end < batch.num_rows() && day_of(end) == day {
                end += 1;
            }
            let key = day.unwrap_or(i64::MIN);
            if self.day != Some(key) {
                self.flush()?;
                self.day = Some(key);
            }
            self.batches.push(batch.slice(start, end - start));
            start = end;
        }
        Ok(())
    }

    /// Hands the current day to a writer thread (two at most, never two for one day), so
    /// encoding runs beside the reading of the next pages.
    fn flush(&mut self) -> Result<()> {
        let Some(day) = self.day.take() else {
            return Ok(());
        };
        let batches = std::mem::take(&mut self.batches);
        if batches.is_empty() {
            return Ok(());
        }
        if self.writing.iter().any(|(d, _)| *d == day) {
            self.wait_all()?;
        }
        while self.writing.len() >= 2 {
            self.wait_one()?;
        }
        let name = if day == i64::MIN {
            "unknown".to_string()
        } else {
            crate::time::format_time(day * 86_400)
                .get(..10)
                .unwrap_or("unknown")
                .to_string()
        };
        let path = folder(self.options)
            .join(format!("date={name}"))
            .join(format!("part-0.{}", self.options.format.extension()));
        let (format, columns) = (self.options.format, self.columns.clone());
        let powers = self.options.powers.clone();
        let writer =
            std::thread::spawn(move || merge_into(&powers, &path, format, &columns, batches));
        self.writing.push_back((day, writer));
        self.written.insert(day);
        Ok(())
    }

    fn wait_one(&mut self) -> Result<()> {
        match self.writing.pop_front() {
            Some((_, writer)) => writer.join().map_err(|_| ExportError::Writer)?,
            None => Ok(()),
        }
    }

    /// Waits for every writer.
    fn wait_all(&mut self) -> Result<()> {
        while !self.writing.is_empty() {
            self.wait_one()?;
        }
        Ok(())
    }
}

/// Writes a day: the partition's rows and these, deduplicated by id (these win).
fn merge_into(
    powers: &Powers,
    path: &Path,
    format: Format,
    columns: &[String],
    batches: Vec<RecordBatch>,
) -> Result<()> {
    let mut all = read_partition(powers, path, format)?;
    all.extend(batches);
    let merged = dedupe_by_id(concat_aligned(columns, &all)?)?;
    write_partition(powers, path, format, &merged)
}

/// Runs an export of `base` (a listing, with any filters of its own) through `client`;
/// `progress` is told each page's row count.
pub(crate) async fn run(
    client: Arc<Client>,
    base: QuerySpec,
    options: &ExportOptions,
    progress: impl Fn(u64),
) -> Result<ExportSummary> {
    let time_field = time_field(options.resource)?;
    let since = match (&options.since, read_cursor(options)) {
        (Some(since), _) => Some(parse_bound("since", since, options.zone)?),
        (None, Some(cursor)) => crate::time::parse_time(&cursor)
            .map(|t| crate::time::format_time(t - options.overlap_s)),
        (None, None) => None,
    };
    let mut spec = base;
    spec.limit = None;
    spec.offset = 0;
    if let Some(since) = &since {
        spec.add_condition(time_field, Op::Ge, since.clone())?;
    }
    if let Some(until) = &options.until {
        spec.add_condition(
            time_field,
            Op::Lt,
            parse_bound("until", until, options.zone)?,
        )?;
    }
    let mut partitions = Partitions {
        options,
        columns: Vec::new(),
        day: None,
        writing: VecDeque::new(),
        batches: Vec::new(),
        written: Default::default(),
        newest: None,
    };
    let mut summary = ExportSummary {
        since: since.clone(),
        ..ExportSummary::default()
    };
    // Pages in order, planned by `api::scan`; each is read into columns inside its own task.
    let fetch: FetchPage<columns::Columns, ExportError> = |client, spec, fetched, rows| {
        Box::pin(async move {
            let (page, path) = client
                .page_parsed(&spec, fetched, rows, columns::parse)
                .await?;
            let bad_page = |message| ExportError::BadPage {
                path: path.clone(),
                message,
            };
            let list = page
                .value
                .list(spec.resource.envelope())
                .map_err(|e| bad_page(e.0))?;
            if list.elements as u64 > rows {
                return Err(bad_page(format!(
                    "asked for {rows} rows, got {}",
                    list.elements
                )));
            }
            Ok(Weighed {
                value: list,
                bytes: page.bytes,
            })
        })
    };
    let mut pages = PageStream::new(client, spec, fetch, |list| list.elements as u64)
        .run_ahead(&tokio::runtime::Handle::current());
    while let Some(page) = pages.next_page().await {
        // The page counts against the stream's budget until its ticket drops, after it is
        // in a batch.
        let (
            _,
            HeldPage {
                value: list,
                ticket,
            },
        ) = page?;
        progress(list.elements as u64);
        if let Some(batch) = list.into_batch()? {
            summary.rows += batch.num_rows() as u64;
            partitions.add(batch, time_field)?;
        }
        drop(ticket);
    }
    partitions.flush()?;
    partitions.wait_all()?;
    summary.partitions = partitions.written.len();
    summary.until = partitions
        .newest
        .map(|us| crate::time::format_time(us.div_euclid(1_000_000)))
        .or(read_cursor(options));
    if let Some(until) = &summary.until {
        let cursor = serde_json::json!({
            "resource": options.resource.envelope(),
            "until": until,
            "format": options.format.extension(),
        });
        write_whole(&options.powers, &cursor_path(options), |file| {
            Ok(serde_json::to_writer_pretty(file, &cursor)?)
        })?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_are_typed_and_read_back() {
        let rows: Vec<Map<String, Value>> = [
            json!({"id": "7", "start_at": "2025-01-02 08:00:00", "dst": "0007281", "bill_duration": 35, "purchase_amount": "1.5"}),
            json!({"id": 8, "start_at": null, "dst": "44", "bill_duration": null, "purchase_amount": null}),
        ]
        .into_iter()
        .map(|v| v.as_object().cloned().unwrap())
        .collect();
        let columns: Vec<String> = ["id", "start_at", "dst", "bill_duration", "purchase_amount"]
            .map(String::from)
            .to_vec();
        let batch = batch_of(&columns, &rows).unwrap();
        assert_eq!(batch.schema().field(0).data_type(), &DataType::Int64);
        assert!(matches!(
            batch.schema().field(1).data_type(),
            DataType::Timestamp(..)
        ));
        assert_eq!(batch.schema().field(2).data_type(), &DataType::Utf8);
        assert_eq!(batch.schema().field(4).data_type(), &DataType::Float64);
        let back = rows_of(&batch);
        assert_eq!(back[0]["id"], json!(7));
        assert_eq!(back[0]["start_at"], json!("2025-01-02 08:00:00"));
        assert_eq!(back[0]["dst"], json!("0007281"));
        assert_eq!(back[1]["bill_duration"], Value::Null);
    }

    #[test]
    fn a_partition_read_back_keeps_integers_only_in_integer_columns() {
        let rows = [
            json!({"bill_duration": 35.7}),
            json!({"bill_duration": true}),
            json!({"bill_duration": "35"}),
        ]
        .map(|v| v.as_object().cloned().unwrap());
        let batch = batch_of(&["bill_duration".to_string()], &rows).unwrap();
        let back: Vec<Value> = rows_of(&batch)
            .into_iter()
            .map(|r| r["bill_duration"].clone())
            .collect();
        assert_eq!(back, [Value::Null, Value::Null, json!(35)]);
    }

    #[test]
    fn dates_are_days_and_times_keep_their_wall_clock_value_also_from_older_partitions() {
        let rows =
            [json!({"id": 1, "birthdate": "1962-01-16", "created_at": "2023-06-01 00:30:00"})]
                .map(|v| v.as_object().cloned().unwrap());
        let columns: Vec<String> = ["id", "birthdate", "created_at"].map(String::from).to_vec();
        let batch = batch_of(&columns, &rows).unwrap();
        assert_eq!(batch.schema().field(1).data_type(), &DataType::Date32);
        assert_eq!(
            batch.schema().field(2).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(rows_of(&batch)[0], rows[0]);
        // As an earlier version wrote them: UTC instants of the same values.
        let instants = |text: &str| -> ArrayRef {
            let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
            b.append_option(micros_of(text));
            Arc::new(b.finish())
        };
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("birthdate", instants("x").data_type().clone(), true),
            Field::new("created_at", instants("x").data_type().clone(), true),
        ]);
        let old = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(arrow_array::Int64Array::from(vec![1])),
                instants("1962-01-16"),
                instants("2023-06-01 00:30:00"),
            ],
        )
        .unwrap();
        let merged = concat_aligned(&columns, &[old, batch]).unwrap();
        let back = rows_of(&merged);
        assert_eq!(
            (back[0].clone(), back[1].clone()),
            (rows[0].clone(), rows[0].clone())
        );
    }

    #[test]
    fn a_merge_keeps_the_last_row_of_each_id_in_id_order_with_every_column() {
        let old = batch_of(
            &["id".into(), "status".into()],
            &[
                json!({"id": 2, "status": "old"}),
                json!({"id": 1, "status": "kept"}),
            ]
            .map(|v| v.as_object().cloned().unwrap()),
        )
        .unwrap();
        let new = batch_of(
            &["id".into(), "status".into(), "q850".into()],
            &[
                json!({"id": 2, "status": "new", "q850": 16}),
                json!({"id": null, "status": "x", "q850": null}),
            ]
            .map(|v| v.as_object().cloned().unwrap()),
        )
        .unwrap();
        let merged = dedupe_by_id(concat_aligned(&["q850".into()], &[old, new]).unwrap()).unwrap();
        let rows = rows_of(&merged);
        assert_eq!(
            rows,
            [
                json!({"q850": null, "id": 1, "status": "kept"}),
                json!({"q850": 16, "id": 2, "status": "new"}),
                json!({"q850": null, "id": null, "status": "x"}),
            ]
            .map(|v| v.as_object().cloned().unwrap())
        );
    }
}
