//! `tdc check FILE…`: each script compiled, nothing run, no dialer contacted.

use crate::cli::CheckArgs;
use crate::failure::{Failure, Outcome};
use crate::script::evaluation::Evaluation;

pub(crate) fn execute(args: CheckArgs) -> Outcome {
    let mut problems = Vec::new();
    for file in &args.files {
        let source = match crate::script::engine::read_script_file(file) {
            Ok(source) => source,
            Err(e) => {
                problems.push(format!("{}: error: cannot read: {e}", file.display()));
                continue;
            }
        };
        if let Err(diagnostic) = Evaluation::compile(&file.display().to_string(), source) {
            problems.push(diagnostic.to_string());
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Failure::Failed(problems.join("\n"))),
    }
}
