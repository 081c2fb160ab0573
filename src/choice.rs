//! Settings given as one of a few words (`--format parquet`, `--auth digest`).

/// A word that is none of the setting's choices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{got}' ({})", choices.join(", "))]
pub struct UnknownChoice {
    pub(crate) what: &'static str,
    pub(crate) got: String,
    pub(crate) choices: Vec<&'static str>,
}

/// The value `text` names among `choices`.
pub(crate) fn choose<T: Copy>(
    text: &str,
    what: &'static str,
    choices: &[(&'static str, T)],
) -> Result<T, UnknownChoice> {
    choices
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, value)| *value)
        .ok_or_else(|| UnknownChoice {
            what,
            got: text.to_string(),
            choices: choices.iter().map(|(name, _)| *name).collect(),
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_word_names_its_value_or_the_error_lists_the_choices() {
        let choices = [("basic", 1), ("digest", 2)];
        assert_eq!(super::choose("digest", "auth scheme", &choices), Ok(2));
        let error = super::choose("ntlm", "auth scheme", &choices).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown auth scheme 'ntlm' (basic, digest)"
        );
    }
}
