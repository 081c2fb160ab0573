//! `tdc man`: the manual pages, from the command line's own definition.

use anyhow::Context;

use crate::cli::Cli;
use crate::failure::{Failure, Outcome};
use crate::terminal::sink::outln;

/// The manual: tdc(1) or a command's page on stdout, or every page into a folder. Pages are
/// named as clap_mangen's SEE ALSO and SUBCOMMANDS sections name them (`tdc-profile-add(1)`).
pub(crate) fn execute(args: crate::cli::ManArgs) -> Outcome {
    use clap::CommandFactory;
    let failed = |e: std::io::Error| Failure::Failed(format!("tdc man: {e}"));
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    if let Some(dir) = args.out {
        std::fs::create_dir_all(&dir)
            .and_then(|()| clap_mangen::generate_to(command.clone(), &dir))
            .with_context(|| format!("cannot write {}", dir.display()))
            .map_err(|e| Failure::failed_in("man", e))?;
        fn pages(command: &clap::Command) -> usize {
            let visible = command.get_subcommands().filter(|c| !c.is_hide_set());
            1 + visible.map(pages).sum::<usize>()
        }
        outln!(
            "wrote {} manual pages to {}",
            pages(&command),
            dir.display()
        );
        return Ok(());
    }
    let mut page = &command;
    for name in &args.command {
        page = page.find_subcommand(name).ok_or_else(|| {
            let known: Vec<&str> = page.get_subcommands().map(|c| c.get_name()).collect();
            Failure::Usage(format!(
                "tdc man: '{}' has no command '{name}' (it has {})",
                page.get_display_name().unwrap_or("tdc"),
                known.join(", ")
            ))
        })?;
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(page.clone())
        .render(&mut out)
        .map_err(failed)?;
    // A write that fails is the sink's to report, at the edge.
    let _ = crate::terminal::sink::write_stdout(&out);
    Ok(())
}
