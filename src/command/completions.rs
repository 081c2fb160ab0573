//! `tdc completions SHELL`: a completion script for the shell.

use crate::cli::Cli;
use crate::failure::Outcome;

/// A completion script. Bash's is clap's with the profiles of the config file offered for
/// `--profile` (clap's would offer file names): each completion asks `tdc profile list
/// --names`.
pub(crate) fn execute(shell: clap_complete::Shell) -> Outcome {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tdc", &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if shell == clap_complete::Shell::Bash {
        let files = "                    COMPREPLY=($(compgen -f \"${cur}\"))";
        let profiles = "                    COMPREPLY=($(compgen -W \"$(tdc profile list --names 2>/dev/null)\" -- \"${cur}\"))";
        script = script.replace(
            &format!("                --profile)\n{files}"),
            &format!("                --profile)\n{profiles}"),
        );
    }
    let _ = crate::terminal::sink::write_stdout(script.as_bytes());
    Ok(())
}
