//! `tdc export`: a resource into day partitions of Parquet or CSV, resumable.

use super::Config;
use crate::failure::{Failure, Outcome};
use crate::terminal::sink::errln;

pub(crate) fn execute(config: &Config, args: crate::cli::ExportArgs) -> Outcome {
    let runtime = &config.runtime;
    use crate::api::query::{QuerySpec, Resource};
    let resource = match args.resource {
        crate::cli::ExportResource::Cdrs => Resource::Cdrs,
        crate::cli::ExportResource::Calls => Resource::Calls,
        crate::cli::ExportResource::Leads => Resource::Leads,
    };
    let overlap_s = crate::export::parse_duration(&args.overlap)
        .map_err(|e| Failure::Usage(format!("tdc export: --overlap: {e}")))?;
    // Checked before a dialer is reached; read again by the export, in the profile's zone.
    for (option, time) in [("--since", &args.since), ("--until", &args.until)] {
        if let Some(time) = time {
            crate::export::parse_bound(option, time, None)
                .map_err(|e| Failure::Usage(format!("tdc export: {e}")))?;
        }
    }
    let session = config.start_session(false)?;
    let options = crate::export::ExportOptions {
        resource,
        out: args.out,
        format: args.format,
        since: args.since,
        until: args.until,
        overlap_s,
        zone: session.host.locale().zone,
        // The folder was named on the command line: the user's own choice.
        powers: crate::script::permissions::Powers::unbounded(),
    };
    let client = session.dialer.client.clone();
    let progress = crate::terminal::progress::counter(resource.envelope());
    let counter = progress.clone();
    let work = crate::export::run(client, QuerySpec::new(resource), &options, move |n| {
        counter.inc(n)
    });
    let outcome = runtime.block_on(async {
        tokio::select! {
            result = work => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    progress.finish_and_clear();
    let outcome = match outcome {
        None => Err(Failure::Interrupted("tdc export: interrupted; the partitions written are whole, and the next run starts from the last complete one".into())),
        Some(Ok(summary)) => {
            errln!(
                "tdc export: {} rows in {} day partitions under {} (from {} to {})",
                summary.rows,
                summary.partitions,
                options.out.join(resource.envelope()).display(),
                summary.since.as_deref().unwrap_or("the start"),
                summary.until.as_deref().unwrap_or("-")
            );
            Ok(())
        }
        Some(Err(e)) => Err(Failure::Failed(format!("tdc export: {e}"))),
    };
    session.stop(runtime);
    outcome
}
