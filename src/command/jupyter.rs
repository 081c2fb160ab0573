//! `tdc jupyter install|remove|kernel`: notebooks' kernel specs, and the kernel itself.

use super::Config;
use crate::cli::JupyterAction;
use crate::failure::Outcome;

pub(crate) fn execute(config: &Config, action: JupyterAction) -> Outcome {
    crate::jupyter::command(&config.runtime, config.global(), action, || {
        config.start_session(false)
    })
}
