//! `tdc lsp`: the language server for `.rhai` scripts, on stdin and stdout.

use crate::failure::{Failure, Outcome};

pub(crate) fn execute() -> Outcome {
    crate::lsp::serve().map_err(Failure::Failed)
}
