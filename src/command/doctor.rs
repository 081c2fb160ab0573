//! `tdc doctor`: why a connection works or not, one line per step, each failure with what to
//! do: the config file, the connection it resolves to, DNS, a TCP connection (without a proxy),
//! TLS, authentication with one page's latency, and the dialer's clock against ours.

use std::time::{Duration, Instant};

use crate::config::Target;
use crate::terminal::sink::outln;

struct Report {
    failed: bool,
}

impl Report {
    fn ok(&self, step: &str, text: impl std::fmt::Display) {
        outln!("ok    {step:<8} {text}");
    }

    fn fail(&mut self, step: &str, text: impl std::fmt::Display, hint: &str) {
        self.failed = true;
        outln!("FAIL  {step:<8} {text}; {hint}");
    }

    fn warn(&self, step: &str, text: impl std::fmt::Display) {
        outln!("warn  {step:<8} {text}");
    }
}

/// Runs every check; returns the exit code (0 when all passed, 1 otherwise).
pub(crate) fn run(config: &super::Config) -> i32 {
    let (runtime, flags) = (&config.runtime, &config.connection);
    let mut report = Report { failed: false };
    let config = match config.file() {
        Ok(Some(entry)) => {
            let (path, file) = entry;
            report.ok(
                "config",
                format!("{} ({} profiles)", path.display(), file.profiles.len()),
            );
            Some(entry)
        }
        Ok(None) => {
            report.ok(
                "config",
                "no config file (the embedded sandbox unless a URL is given)",
            );
            None
        }
        Err(e) => {
            report.fail("config", e, "fix the file, or move it away to start afresh");
            return 1;
        }
    };
    let connection = match crate::session::resolve_connection(flags, config) {
        Ok(connection) => connection,
        Err(e) => {
            report.fail("target", e, "see `tdc config`");
            return 1;
        }
    };
    for warning in &connection.warnings {
        report.warn("config", warning);
    }
    let Target::Url(url) = connection.target.clone() else {
        report.ok(
            "target",
            "the embedded sandbox: nothing to check on the network",
        );
        return 0;
    };
    report.ok(
        "target",
        format!("{url} as {} ({})", connection.user, connection.label()),
    );
    let host = url.host_str().unwrap_or("").to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<std::net::SocketAddr> =
        match runtime.block_on(tokio::net::lookup_host((host.as_str(), port))) {
            Ok(addresses) => {
                let addresses: Vec<_> = addresses.collect();
                let shown: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
                report.ok("dns", format!("{host} -> {}", shown.join(", ")));
                addresses
            }
            Err(e) => {
                report.fail(
                    "dns",
                    format!("{host}: {e}"),
                    "check the host name in the URL, and the VPN or DNS this machine uses",
                );
                return 1;
            }
        };
    // Through a proxy only the proxy is reached directly; the requests below say the rest.
    let env_proxy = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if connection.proxy.is_none() && !(url.scheme() == "https" && env_proxy) {
        // The first address the name resolved to, as the client's own first try.
        let connect = addresses
            .first()
            .ok_or_else(|| std::io::Error::other("the name resolved to no address"))
            .and_then(|address| {
                std::net::TcpStream::connect_timeout(address, connection.connect_timeout)
            });
        match connect {
            Ok(_) => report.ok("connect", format!("{host}:{port} accepts connections")),
            Err(e) if e.kind() != std::io::ErrorKind::TimedOut => {
                report.fail(
                    "connect",
                    format!("{host}:{port}: {e}"),
                    "is the dialer up, and is the URL's port right? (a firewall or VPN may stand between)",
                );
                return 1;
            }
            Err(_) => {
                report.fail(
                    "connect",
                    format!(
                        "{host}:{port}: no answer within {} s",
                        connection.connect_timeout.as_secs()
                    ),
                    "a firewall or a missing VPN drops the connection; check the host and port",
                );
                return 1;
            }
        }
    }
    if url.scheme() == "https" {
        crate::api::tls_ready();
        let probe = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())
            .and_then(|http| {
                runtime.block_on(http.get(url.clone()).send()).map_err(|e| {
                    let mut text = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(inner) = source {
                        text = inner.to_string();
                        source = inner.source();
                    }
                    text
                })
            });
        match probe {
            Ok(_) => report.ok(
                "tls",
                format!("{host}:{port} presents a certificate this machine trusts"),
            ),
            Err(e) => {
                report.fail(
                    "tls",
                    format!("{host}:{port}: {e}"),
                    "behind a corporate proxy or with a private CA, set ca_file (and proxy) in the profile",
                );
                return 1;
            }
        }
    } else {
        report.warn(
            "tls",
            "plain http: the password crosses the network unencrypted",
        );
    }
    if connection.password.is_none() {
        report.fail(
            "auth",
            format!("no password for {}", connection.user),
            "set password_env or password_cmd in the profile, or TDC_PASSWORD",
        );
        return 1;
    }
    let client = match connection.client_options(&url).map(crate::api::Client::new) {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            report.fail("auth", e, "see `tdc config`");
            return 1;
        }
        Err(e) => {
            report.fail("auth", e, "see `tdc config`");
            return 1;
        }
    };
    let started = Instant::now();
    let page = runtime.block_on(async {
        let spec = crate::api::query::QuerySpec::new(crate::api::query::Resource::Cdrs);
        client.page(&spec, 0, 1).await
    });
    let took = started.elapsed();
    match page {
        Ok(_) => report.ok(
            "auth",
            format!(
                "{} accepted; one page of CDRs in {} ms",
                connection.user,
                took.as_millis()
            ),
        ),
        Err(e) => {
            report.fail("auth", &e, "that is the dialer's answer");
            return 1;
        }
    }
    match client.last_server_date() {
        Some(date) => {
            let ours = chrono::Utc::now().timestamp();
            let skew = date - ours;
            if skew.abs() > 60 {
                report.fail(
                    "clock",
                    format!("the dialer's clock is {skew:+} s from this machine's"),
                    "times in filters and reports will be off by that much: sync this machine's clock (NTP)",
                );
            } else {
                report.ok("clock", format!("{skew:+} s from this machine's"));
            }
        }
        None => report.warn("clock", "the dialer sent no Date header to compare with"),
    }
    i32::from(report.failed)
}
