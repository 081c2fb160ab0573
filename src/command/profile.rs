//! `tdc profile …`: the config file's profiles listed, shown, added, changed and removed.

use crate::failure::{Failure, Outcome};
use crate::terminal::sink::outln;

pub(crate) fn execute(action: crate::cli::ProfileAction) -> Outcome {
    use crate::cli::ProfileAction;
    let result = match action {
        ProfileAction::List { names } => crate::profiles::list(names),
        ProfileAction::Show { name } => crate::profiles::show(&name),
        ProfileAction::Add {
            profile,
            make_default,
        } => crate::profiles::add(&profile, make_default),
        ProfileAction::Set {
            name,
            url,
            settings,
        } => crate::profiles::set(&name, url.as_deref(), &settings),
        ProfileAction::Remove { name } => crate::profiles::remove(&name),
        ProfileAction::Use { name } => crate::profiles::use_profile(&name),
    };
    let text = result.map_err(|e| Failure::Usage(format!("tdc profile: {e}")))?;
    outln!("{text}");
    Ok(())
}
