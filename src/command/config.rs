//! `tdc config`: the connection a command would use, each setting with where it came from.

use super::Config;
use crate::config::ConnectionFlags;
use crate::failure::{Failure, Outcome};
use crate::terminal::sink::{errln, outln};

pub(crate) fn execute(config: &Config) -> Outcome {
    let usage = |e: &dyn std::fmt::Display| Failure::Usage(format!("tdc: {e}"));
    let file = config.file().map_err(|e| usage(e))?;
    let flags = ConnectionFlags {
        describe_only: true,
        ..config.connection.clone()
    };
    let connection = crate::session::resolve_connection(&flags, file).map_err(|e| usage(&e))?;
    for warning in &connection.warnings {
        errln!("tdc: {warning}");
    }
    let config_line = match (file, crate::config::config_path(&|n| std::env::var(n).ok())) {
        (Some((path, _)), _) => path.display().to_string(),
        (None, Some(path)) => format!("{} (not found)", path.display()),
        (None, None) => "none (no HOME or XDG_CONFIG_HOME)".to_string(),
    };
    let width = connection
        .sources
        .iter()
        .map(|(setting, _)| setting.len() + 2)
        .max()
        .unwrap_or(0)
        .max(12);
    outln!("{:<width$}{config_line}", "config");
    for (setting, source) in &connection.sources {
        outln!("{setting:<width$}{source}");
    }
    Ok(())
}
