//! `env`: environment variables, when the script was allowed them, never secrets.

use rhai::plugin::*;
use rhai::Dynamic;

use super::dialer::HostTag;
use super::{script_error, RhaiResultOf};

/// Names of variables `env()` refuses: anything that looks like a secret, and every
/// `password_env` of the config file.
fn is_secret_variable(name: &str, ctx: &NativeCallContext) -> bool {
    let upper = name.to_ascii_uppercase();
    if [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "CREDENTIAL",
        "API_KEY",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|word| upper.contains(word))
    {
        return true;
    }
    let host = ctx.tag().and_then(|t| t.clone().try_cast::<HostTag>());
    host.and_then(|h| {
        h.0.config().map(|(_, file)| {
            file.profiles
                .values()
                .any(|p| p.password_env.as_deref() == Some(name))
        })
    })
    .unwrap_or(false)
}

#[export_module]
pub mod env_api {
    use super::*;

    /// An environment variable, or `()` when it is not set. Variables that hold passwords or
    /// other secrets are refused.
    ///
    /// ```rhai
    /// let folder = env("REPORT_DIR") ?? "reports";
    /// ```
    #[rhai_fn(return_raw)]
    pub fn env(ctx: NativeCallContext, name: &str) -> RhaiResultOf<Dynamic> {
        crate::script::powers_of(&ctx).check_env("env()", name)?;
        if is_secret_variable(name, &ctx) {
            return Err(script_error(format!(
                "env(\"{name}\"): refusing to read a variable that holds a password or secret"
            )));
        }
        Ok(std::env::var(name).map_or(Dynamic::UNIT, Dynamic::from))
    }
}
