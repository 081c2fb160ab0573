//! The envelope rule: where a list answer keeps its records. In order: a bare array; the
//! array under the resource's own name (`{"cdrs": [...]}`); under `data`, `items` or
//! `results`; else the object's only array. An object with several arrays and none of those
//! names holds no list the client can trust. The real dialer's envelopes are not all
//! documented, so every reader of a list (the client's records, scripts' pages, export's
//! columns) picks the list with [`pick`].

/// The keys a list is looked for under, after the bare array, in order of preference.
pub(crate) fn keys(envelope: &str) -> [&str; 4] {
    [envelope, "data", "items", "results"]
}

/// The list among an object's array-valued entries (`(key, list)`, in the object's order),
/// or `None` when the rule finds none.
pub(crate) fn pick<K: AsRef<str>, T>(mut lists: Vec<(K, T)>, envelope: &str) -> Option<T> {
    for wanted in keys(envelope) {
        if let Some(at) = lists.iter().position(|(key, _)| key.as_ref() == wanted) {
            return Some(lists.swap_remove(at).1);
        }
    }
    match lists.len() {
        1 => lists.pop().map(|(_, list)| list),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn the_list_is_found_by_name_then_alone() {
        assert_eq!(pick(vec![("data", 1), ("cdrs", 2)], "cdrs"), Some(2));
        assert_eq!(pick(vec![("results", 1), ("items", 2)], "cdrs"), Some(2));
        assert_eq!(pick(vec![("whatever", 3)], "cdrs"), Some(3));
        assert_eq!(pick(vec![("a", 1), ("b", 2)], "cdrs"), None);
        assert_eq!(pick(Vec::<(&str, u8)>::new(), "cdrs"), None);
    }
}
