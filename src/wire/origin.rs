//! The origin rule: credentials go to the dialer they were given for, and to no other. Two
//! URLs name the same dialer when scheme, host (in any case) and port (the scheme's default
//! when none is written) agree; paths, queries and user names do not matter.

/// Whether `a` and `b` name the same dialer.
pub(crate) fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    fn same(a: &str, b: &str) -> bool {
        same_origin(&url::Url::parse(a).unwrap(), &url::Url::parse(b).unwrap())
    }

    #[test]
    fn scheme_host_and_port_decide() {
        assert!(same(
            "https://td.example/api",
            "https://TD.example:443/other?x=1"
        ));
        assert!(same("http://td.example", "http://user@td.example:80/"));
        assert!(!same("https://td.example", "http://td.example"));
        assert!(!same("https://td.example", "https://td.example:8443"));
        assert!(!same("https://td.example", "https://td.example.evil"));
    }
}
