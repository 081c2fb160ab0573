//! Pages read straight into typed columns: each record's values go into Arrow builders as
//! the JSON is read, with no map per record in between. The list is found by the envelope
//! rule ([`crate::wire::envelope`]).

use std::collections::HashMap;

use crate::api::models::ShapeError;
use std::fmt;
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::type_of;

/// One column being filled.
enum Column {
    Int(Int64Builder),
    Float(Float64Builder),
    Time(TimestampMicrosecondBuilder),
    Date(Date32Builder),
    Text(StringBuilder),
}

impl Column {
    fn new(name: &str, nulls: usize) -> Column {
        let rows = nulls.max(1000);
        let mut column = match type_of(name) {
            DataType::Int64 => Column::Int(Int64Builder::with_capacity(rows)),
            DataType::Float64 => Column::Float(Float64Builder::with_capacity(rows)),
            DataType::Timestamp(..) => {
                Column::Time(TimestampMicrosecondBuilder::with_capacity(rows))
            }
            DataType::Date32 => Column::Date(Date32Builder::with_capacity(rows)),
            _ => Column::Text(StringBuilder::with_capacity(rows, rows * 16)),
        };
        for _ in 0..nulls {
            column.null();
        }
        column
    }

    fn len(&self) -> usize {
        match self {
            Column::Int(b) => b.len(),
            Column::Float(b) => b.len(),
            Column::Time(b) => b.len(),
            Column::Date(b) => b.len(),
            Column::Text(b) => b.len(),
        }
    }

    fn null(&mut self) {
        match self {
            Column::Int(b) => b.append_null(),
            Column::Float(b) => b.append_null(),
            Column::Time(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Text(b) => b.append_null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Column::Int(mut b) => Arc::new(b.finish()),
            Column::Float(mut b) => Arc::new(b.finish()),
            Column::Time(mut b) => Arc::new(b.finish()),
            Column::Date(mut b) => Arc::new(b.finish()),
            Column::Text(mut b) => Arc::new(b.finish()),
        }
    }

    fn integer(&mut self, n: i64) {
        match self {
            Column::Int(b) => b.append_value(n),
            Column::Float(b) => b.append_value(n as f64),
            Column::Time(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Text(b) => b.append_value(n.to_string()),
        }
    }

    fn float(&mut self, f: f64) {
        match self {
            Column::Int(b) => b.append_option(crate::wire::fields::whole(f)),
            Column::Float(b) => b.append_value(f),
            Column::Time(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Text(b) => match serde_json::Number::from_f64(f) {
                Some(n) => b.append_value(n.to_string()),
                None => b.append_null(),
            },
        }
    }

    fn text(&mut self, s: &str) {
        match self {
            Column::Int(b) => b.append_option(crate::wire::fields::int_of_text(s)),
            Column::Float(b) => b.append_option(crate::wire::fields::float_of_text(s)),
            Column::Time(b) => b.append_option(super::micros_of(s)),
            Column::Date(b) => b.append_option(super::days_of(s)),
            Column::Text(b) => b.append_value(s),
        }
    }

    fn boolean(&mut self, v: bool) {
        match self {
            Column::Text(b) => b.append_value(if v { "true" } else { "false" }),
            // A boolean is not a number ([`crate::wire::fields::read_int`]).
            Column::Int(_) | Column::Float(_) | Column::Time(_) | Column::Date(_) => self.null(),
        }
    }

    /// A nested array or object: JSON text in a text column, nothing elsewhere.
    fn nested(&mut self, value: Value) {
        match self {
            Column::Text(b) => b.append_value(value.to_string()),
            _ => self.null(),
        }
    }
}

/// The records of one list, by column, in the order their fields were first seen.
#[derive(Default)]
pub(crate) struct Columns {
    names: Vec<String>,
    index: HashMap<String, usize>,
    columns: Vec<Column>,
    rows: usize,
    /// Elements of the list, records or not (a page is short when this is under what was asked).
    pub(crate) elements: usize,
    /// Where the next key is expected: records of one page share their fields' order.
    next: usize,
}

impl Columns {
    fn column_of(&mut self, key: &str) -> usize {
        if self.names.get(self.next).is_some_and(|n| n == key) {
            self.next += 1;
            return self.next - 1;
        }
        let at = match self.index.get(key) {
            Some(&at) => at,
            None => {
                self.names.push(key.to_string());
                self.index.insert(key.to_string(), self.names.len() - 1);
                self.columns.push(Column::new(key, self.rows));
                self.names.len() - 1
            }
        };
        self.next = at + 1;
        at
    }

    fn end_row(&mut self) {
        self.rows += 1;
        self.next = 0;
        for column in &mut self.columns {
            if column.len() < self.rows {
                column.null();
            }
        }
    }

    /// The records as one batch (`None` when there were none).
    pub(crate) fn into_batch(self) -> Result<Option<RecordBatch>, arrow_schema::ArrowError> {
        if self.rows == 0 {
            return Ok(None);
        }
        let fields: Vec<Field> = self
            .names
            .iter()
            .map(|name| Field::new(name, type_of(name), true))
            .collect();
        let arrays = self.columns.into_iter().map(Column::finish).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map(Some)
    }
}

/// A page's lists: the bare array, or each array-valued key of the envelope object.
pub(crate) struct Page(Vec<(Option<String>, Columns)>);

impl Page {
    /// The list the envelope holds, by the envelope rule.
    pub(crate) fn list(self, envelope: &str) -> Result<Columns, ShapeError> {
        let mut lists = self.0;
        if let Some(at) = lists.iter().position(|(key, _)| key.is_none()) {
            return Ok(lists.swap_remove(at).1);
        }
        let named = lists
            .into_iter()
            .map(|(key, list)| (key.unwrap_or_default(), list))
            .collect();
        crate::wire::envelope::pick(named, envelope).ok_or_else(|| ShapeError::not_a_list(envelope))
    }
}

/// Reads a page answer into columns.
pub(crate) fn parse(bytes: &[u8]) -> Result<Page, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let page = (&mut reader).deserialize_any(PageVisitor)?;
    reader.end()?;
    Ok(page)
}

struct PageVisitor;

impl<'de> Visitor<'de> for PageVisitor {
    type Value = Page;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records, or an object holding one")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Page, A::Error> {
        Ok(Page(vec![(None, ListVisitor.visit_seq(seq)?)]))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page, A::Error> {
        let mut lists = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if let Some(list) = map.next_value_seed(MaybeList)? {
                lists.push((Some(key), list));
            }
        }
        Ok(Page(lists))
    }
}

/// An envelope's value: a list read into columns, anything else skipped.
struct MaybeList;

impl<'de> DeserializeSeed<'de> for MaybeList {
    type Value = Option<Columns>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Columns>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MaybeList {
    type Value = Option<Columns>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ListVisitor.visit_seq(seq).map(Some)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = Columns;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Columns, A::Error> {
        let mut columns = Columns::default();
        while seq.next_element_seed(Record(&mut columns))?.is_some() {
            columns.elements += 1;
        }
        Ok(columns)
    }
}

/// One element of the list: a record's fields into their columns; anything else skipped.
struct Record<'a>(&'a mut Columns);

impl<'de> DeserializeSeed<'de> for Record<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Record<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let columns = self.0;
        while let Some(at) = map.next_key_seed(Key(columns))? {
            let column = &mut columns.columns[at];
            if column.len() > columns.rows {
                // The same field twice in one record: the first is kept.
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(Cell(column))?;
            }
        }
        columns.end_row();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A field name, as its column's position.
struct Key<'a>(&'a mut Columns);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        Ok(self.0.column_of(key))
    }
}

/// A field's value, appended to its column.
struct Cell<'a>(&'a mut Column);

impl<'de> DeserializeSeed<'de> for Cell<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Cell<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.boolean(v);
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.integer(v);
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(v) => self.0.integer(v),
            Err(_) => self.0.float(v as f64),
        }
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.0.float(v);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.text(v);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.null();
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        self.0.null();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let value = serde::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.0.nested(value);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value = serde::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        self.0.nested(value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
    use arrow_array::Array;

    fn batch(json: &str, envelope: &str) -> RecordBatch {
        parse(json.as_bytes())
            .unwrap()
            .list(envelope)
            .unwrap()
            .into_batch()
            .unwrap()
            .unwrap()
    }

    #[test]
    fn records_become_typed_columns_whatever_the_envelope() {
        let rows = r#"[{"id": "7", "start_at": "2025-01-02 08:00:00", "dst": 7281, "bill_duration": 35, "purchase_amount": "1.5", "tags": {"a": 1}},
                       {"id": 8, "dst": "0044", "start_at": null, "extra": true, "purchase_amount": 2}, 5]"#;
        for json in [
            rows.to_string(),
            format!(r#"{{"cdrs": {rows}, "total": 2}}"#),
            format!(r#"{{"meta": {{"page": 1}}, "data": {rows}}}"#),
            format!(r#"{{"whatever": {rows}}}"#),
        ] {
            let b = batch(&json, "cdrs");
            assert_eq!(b.num_rows(), 2, "{json}");
            let schema = b.schema();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            assert_eq!(
                names,
                [
                    "id",
                    "start_at",
                    "dst",
                    "bill_duration",
                    "purchase_amount",
                    "tags",
                    "extra"
                ]
            );
            let id = b.column(0).as_primitive::<Int64Type>();
            assert_eq!((id.value(0), id.value(1)), (7, 8));
            let start = b.column(1).as_primitive::<TimestampMicrosecondType>();
            assert_eq!(start.value(0), 1_735_804_800_000_000);
            assert!(start.is_null(1));
            let dst = b.column(2).as_string::<i32>();
            assert_eq!((dst.value(0), dst.value(1)), ("7281", "0044"));
            assert!(b.column(3).is_null(1), "a missing field is null");
            let amount = b.column(4).as_primitive::<Float64Type>();
            assert_eq!((amount.value(0), amount.value(1)), (1.5, 2.0));
            assert_eq!(b.column(5).as_string::<i32>().value(0), r#"{"a":1}"#);
            assert!(
                b.column(6).is_null(0),
                "a field first seen later is null before"
            );
            assert_eq!(b.column(6).as_string::<i32>().value(1), "true");
        }
    }

    #[test]
    fn an_integer_column_holds_integers_only() {
        let b = batch(
            r#"[{"bill_duration": 35.7}, {"bill_duration": true}, {"bill_duration": 35.0}, {"bill_duration": "12.5"}, {"bill_duration": " 9 "}]"#,
            "cdrs",
        );
        let read = b.column(0).as_primitive::<Int64Type>();
        let values: Vec<Option<i64>> = read.iter().collect();
        assert_eq!(values, [None, None, Some(35), None, Some(9)]);
    }

    #[test]
    fn a_page_without_a_list_is_an_error_and_an_empty_list_has_no_batch() {
        assert!(parse(br#"{"a": [], "b": []}"#)
            .unwrap()
            .list("cdrs")
            .is_err());
        assert!(parse(br#"{"error": "x"}"#).unwrap().list("cdrs").is_err());
        assert!(parse(b"[1, 2").is_err());
        let empty = parse(br#"{"cdrs": []}"#).unwrap().list("cdrs").unwrap();
        assert_eq!(empty.elements, 0);
        assert!(empty.into_batch().unwrap().is_none());
    }
}
