//! `tdc` or `tdc repl`: the interactive console.

use super::Config;
use crate::failure::{Failure, Outcome};

pub(crate) fn execute(config: &Config) -> Outcome {
    let session = config.start_session(false)?;
    let code = crate::repl::run(&config.runtime, &session);
    session.stop(&config.runtime);
    Failure::from_code(code)
}
