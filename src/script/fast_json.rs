//! Answer bodies straight into Rhai values, in one pass: no intermediate `serde_json::Value`.
//! The field rule ([`crate::wire::fields`]) is applied as each field is read. Pages are
//! converted in the tasks that fetch them, so conversion runs beside the script.

use std::cell::RefCell;
use std::fmt;

use rhai::{Array, Dynamic, Identifier, ImmutableString, Map};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::api::models::{
    is_numeric_field, is_text_field, read_numeric_text, NumericText, ShapeError,
};

/// What a key demands of its value.
#[derive(Clone, Copy)]
struct Field {
    numeric: bool,
    text: bool,
}

const PLAIN: Field = Field {
    numeric: false,
    text: false,
};

fn field_for(key: &str) -> Field {
    let numeric = is_numeric_field(key);
    Field {
        numeric,
        text: is_text_field(key),
    }
}

/// Texts kept per key for sharing: enough for the hangup causes, the campaigns' caller ids.
const RECENT: usize = 16;

/// One key of the records of a list, as seen so far.
struct Slot {
    key: Identifier,
    field: Field,
    /// Recent distinct texts read under this key; an equal text later shares one of them.
    recent: Vec<ImmutableString>,
    /// Where the next new text goes in `recent` once it is full.
    next: usize,
    /// Texts read, and how many were shared: a key whose texts rarely repeat (a UUID, a
    /// phone number) stops being looked up.
    seen: u32,
    shared: u32,
}

impl Slot {
    fn new(key: &str) -> Slot {
        Slot {
            key: key.into(),
            field: field_for(key),
            recent: Vec::new(),
            next: 0,
            seen: 0,
            shared: 0,
        }
    }

    fn text(&mut self, text: &str) -> ImmutableString {
        let worth_it = self.seen < 64 || self.shared * 4 >= self.seen;
        if !worth_it {
            return ImmutableString::from(text);
        }
        self.seen += 1;
        if let Some(found) = self.recent.iter().find(|s| s.as_str() == text) {
            self.shared += 1;
            return found.clone();
        }
        let new = ImmutableString::from(text);
        if self.recent.len() < RECENT {
            self.recent.push(new.clone());
        } else {
            self.recent[self.next] = new.clone();
            self.next = (self.next + 1) % RECENT;
        }
        new
    }
}

/// The keys of the records of one list. Records of a page have the same keys in the same
/// order, so a key is found by its position with one comparison, and its rule is worked out
/// once per page instead of once per value. Repeated texts (a status, a caller id) are shared
/// rather than allocated again; Rhai strings are copy-on-write, so sharing is invisible.
#[derive(Default)]
struct Slots {
    slots: RefCell<Vec<Slot>>,
    /// The first record's keys, for the records that have the same keys in the same order.
    template: RefCell<Option<Template>>,
    /// A record's values as read, by slot, before they go into its map.
    values: RefCell<Vec<(usize, Dynamic)>>,
}

/// A record of a list with every value unit, its keys those of the first record: a record
/// with the same keys in the same order is this map cloned with its values put in, which
/// costs no key comparisons (a map built key by key costs a search and a comparison of texts
/// per key, the larger part of reading a page).
struct Template {
    map: Map,
    /// For each key in the map's (sorted) order, its position in the records.
    positions: Vec<usize>,
}

impl Template {
    /// A record read with its values in `values` (by position, slot `i` the `i`-th key), if
    /// its keys are the template's, in order.
    fn fill(&self, values: &mut [(usize, Dynamic)]) -> Option<Map> {
        if values.len() != self.positions.len() || !in_slot_order(values) {
            return None;
        }
        let mut map = self.map.clone();
        for (value, &position) in map.values_mut().zip(&self.positions) {
            *value = std::mem::take(&mut values[position].1);
        }
        Some(map)
    }

    /// The template of a record whose keys are slots `0..n` in order, if it has no key twice.
    fn of(slots: &[Slot], values: &[(usize, Dynamic)]) -> Option<Template> {
        if !in_slot_order(values) {
            return None;
        }
        let mut positions: Vec<usize> = (0..values.len()).collect();
        positions.sort_by(|a, b| slots[*a].key.cmp(&slots[*b].key));
        let map: Map = positions
            .iter()
            .map(|&p| (slots[p].key.clone(), Dynamic::UNIT))
            .collect();
        (map.len() == positions.len()).then_some(Template { map, positions })
    }
}

/// Whether a record's keys are slots `0..n`, in order (each key once).
fn in_slot_order(values: &[(usize, Dynamic)]) -> bool {
    values.iter().enumerate().all(|(i, (slot, _))| *slot == i)
}

impl Slots {
    /// The slot for the `position`-th key of a record.
    fn find(&self, position: usize, key: &str) -> usize {
        let mut slots = self.slots.borrow_mut();
        if slots.get(position).is_some_and(|s| s.key == key) {
            return position;
        }
        if let Some(found) = slots.iter().position(|s| s.key == key) {
            return found;
        }
        slots.push(Slot::new(key));
        slots.len() - 1
    }

    fn text(&self, slot: usize, text: &str) -> Dynamic {
        Dynamic::from(self.slots.borrow_mut()[slot].text(text))
    }
}

/// Deserializes one value: what its key demands, and where its text may be shared from.
#[derive(Clone, Copy)]
struct Seed<'s> {
    field: Field,
    /// The list this value is an element of (its maps are records), if any.
    list: Option<&'s Slots>,
    /// The slot of this value's key in the enclosing record, if any.
    slot: Option<(&'s Slots, usize)>,
}

const TOP: Seed<'static> = Seed {
    field: PLAIN,
    list: None,
    slot: None,
};

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Dynamic;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Dynamic, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Seed<'_> {
    fn text(&self, v: &str) -> Dynamic {
        match self.slot {
            Some((slots, slot)) => slots.text(slot, v),
            None => Dynamic::from(v.to_string()),
        }
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Dynamic;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Dynamic, E> {
        Ok(Dynamic::UNIT)
    }

    fn visit_none<E>(self) -> Result<Dynamic, E> {
        Ok(Dynamic::UNIT)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Dynamic, E> {
        Ok(Dynamic::from_bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Dynamic, E> {
        Ok(if self.field.text {
            Dynamic::from(v.to_string())
        } else {
            Dynamic::from_int(v)
        })
    }

    fn visit_u64<E>(self, v: u64) -> Result<Dynamic, E> {
        if self.field.text {
            return Ok(Dynamic::from(v.to_string()));
        }
        Ok(i64::try_from(v).map_or_else(|_| Dynamic::from_float(v as f64), Dynamic::from_int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Dynamic, E> {
        Ok(if self.field.text {
            Dynamic::from(v.to_string())
        } else {
            Dynamic::from_float(v)
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<Dynamic, E> {
        if self.field.numeric {
            return Ok(match read_numeric_text(v) {
                NumericText::Int(i) => Dynamic::from_int(i),
                NumericText::Float(f) => Dynamic::from_float(f),
                NumericText::Empty => Dynamic::UNIT,
                NumericText::Text => self.text(v),
            });
        }
        Ok(self.text(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Dynamic, A::Error> {
        let slots = Slots::default();
        let element = Seed {
            field: PLAIN,
            list: Some(&slots),
            slot: None,
        };
        let mut array = Array::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(element)? {
            array.push(item);
        }
        Ok(Dynamic::from_array(array))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Dynamic, A::Error> {
        let own;
        // A map that is not a list's element (an envelope, a single record) has its own keys.
        let slots = match self.list {
            Some(slots) => slots,
            None => {
                own = Slots::default();
                &own
            }
        };
        // The buffer of values, reused from record to record of a list (a map inside a
        // record has slots, and a buffer, of its own).
        let mut values = std::mem::take(&mut *slots.values.borrow_mut());
        values.clear();
        while let Some(slot) = access.next_key_seed(Key {
            slots,
            position: values.len(),
        })? {
            let field = slots.slots.borrow()[slot].field;
            let value = access.next_value_seed(Seed {
                field,
                list: None,
                slot: Some((slots, slot)),
            })?;
            values.push((slot, value));
        }
        if self.list.is_some() {
            let mut template = slots.template.borrow_mut();
            if template.is_none() {
                *template = Template::of(&slots.slots.borrow(), &values);
            }
            if let Some(map) = template.as_ref().and_then(|t| t.fill(&mut values)) {
                *slots.values.borrow_mut() = values;
                return Ok(Dynamic::from_map(map));
            }
        }
        // Key by key: a key given twice keeps its last value, as in any JSON reader here.
        let all = slots.slots.borrow();
        let mut map = Map::new();
        for (slot, value) in values {
            map.insert(all[slot].key.clone(), value);
        }
        Ok(Dynamic::from_map(map))
    }
}

/// Reads a key straight into its slot, without allocating it.
struct Key<'s> {
    slots: &'s Slots,
    position: usize,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<usize, E> {
        Ok(self.slots.find(self.position, key))
    }
}

/// Parses JSON text into a Rhai value, applying the numeric-string rule.
pub fn parse(bytes: &[u8]) -> Result<Dynamic, serde_json::Error> {
    // Checking the whole body's UTF-8 at once is much cheaper than checking string by string.
    let mut deserializer = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::Deserializer::from_str(text),
        Err(e) => {
            return Err(serde::de::Error::custom(format_args!(
                "invalid UTF-8 at byte {}",
                e.valid_up_to()
            )))
        }
    };
    let value = TOP.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// A JSON value already parsed into a `serde_json::Value` (a file, a config, a fixture) as a
/// Rhai value, by the same rules as [`parse`].
pub(crate) fn from_value(value: serde_json::Value) -> Dynamic {
    // A `Value` is valid JSON through and through: reading it cannot fail.
    TOP.deserialize(value).unwrap_or(Dynamic::UNIT)
}

/// The records of a list answer already parsed, by the envelope rule
/// ([`crate::wire::envelope`]).
pub fn records(value: Dynamic, envelope: &str) -> Result<Array, ShapeError> {
    if value.is_array() {
        return Ok(value.cast::<Array>());
    }
    let lists = match value.try_cast_result::<Map>() {
        Ok(map) => map.into_iter().filter(|(_, v)| v.is_array()).collect(),
        Err(_) => Vec::new(),
    };
    crate::wire::envelope::pick(lists, envelope)
        .map(Dynamic::cast::<Array>)
        .ok_or_else(|| ShapeError::not_a_list(envelope))
}

/// Inserted leads are read straight into Rhai maps inside the chunk tasks.
impl crate::api::Inserted for Dynamic {
    type Parsed = Dynamic;

    fn parse(bytes: &[u8]) -> Result<Dynamic, serde_json::Error> {
        parse(bytes)
    }

    fn records(parsed: Dynamic, envelope: &str) -> Result<Vec<Dynamic>, ShapeError> {
        records(parsed, envelope)
    }

    fn from_json(lead: serde_json::Value) -> Dynamic {
        super::json_to_dynamic(lead)
    }

    fn to_json(&self) -> serde_json::Value {
        // Only ever read from JSON, so always representable as JSON.
        super::dynamic_to_json(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn agrees_with_the_value_path() {
        let value = json!({"cdrs": [{"id": "7", "q850": "16", "bill_duration": "", "dst": 447700001234u64,
                                     "status": "NORMAL_CLEARING", "nested": {"is_active": "1"}, "ratio": "2.5"}]});
        let bytes = serde_json::to_vec(&value).unwrap();
        let fast = parse(&bytes).unwrap();
        let slow = crate::script::json_to_dynamic(value);
        assert_eq!(fast.to_string(), slow.to_string());
        let rows = records(fast, "cdrs").unwrap();
        let row = rows[0].clone().cast::<Map>();
        assert_eq!(row["id"].as_int().unwrap(), 7);
        assert_eq!(row["dst"].clone().into_string().unwrap(), "447700001234");
        assert!(row["bill_duration"].is_unit());
        assert!(records(parse(b"{\"message\": \"x\"}").unwrap(), "cdrs").is_err());
        assert!(parse(b"[\"\xff\"]").is_err());
    }

    #[test]
    fn records_may_differ_in_keys_and_order() {
        let body = br#"[{"id": "1", "status": "BUSY", "dst": 447700000001},
                        {"status": "BUSY", "id": "2", "na\u006de": "x", "dst": "447700000002"},
                        {"nested": [{"id": "3"}], "status": "NO_ANSWER"}]"#;
        let rows = records(parse(body).unwrap(), "cdrs").unwrap();
        let row = |i: usize| rows[i].clone().cast::<Map>();
        assert_eq!(row(0)["status"].to_string(), "BUSY");
        assert_eq!(row(1)["status"].to_string(), "BUSY");
        assert_eq!(row(1)["id"].as_int().unwrap(), 2);
        assert_eq!(row(1)["name"].to_string(), "x");
        assert_eq!(row(1)["dst"].to_string(), "447700000002");
        assert_eq!(row(2)["status"].to_string(), "NO_ANSWER");
        assert_eq!(row(2)["nested"].to_string(), "[#{\"id\": 3}]");
        // Shared texts stay independent values in a script.
        let engine = rhai::Engine::new();
        let mut scope = rhai::Scope::new();
        scope.push("rows", rows.clone());
        let changed: String = engine
            .eval_with_scope(&mut scope, r#"rows[0].status += "!"; rows[1].status"#)
            .unwrap();
        assert_eq!(changed, "BUSY");
        assert!(parse(b"[1, 2").is_err());
    }
}
