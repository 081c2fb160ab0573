//! Notebooks: `tdc jupyter install|remove|kernel`. A kernel spec is a folder holding
//! `kernel.json` (how Jupyter starts the kernel: `tdc [connection flags] jupyter kernel
//! {connection_file}`) and the logos; Jupyter finds it in `kernels/NAME` under one of its data
//! folders. One spec per connection: `tdc` (the connection `tdc run` would use), `tdc-PROFILE`
//! or `tdc-sandbox`.

mod display;
mod kernel;

use std::path::{Path, PathBuf};

use crate::cli::{GlobalArgs, JupyterAction, KernelSpecArgs};
use crate::failure::{Failure, Outcome};
use crate::session::Session;
use crate::terminal::sink::outln;

const LOGO_SVG: &str = include_str!("logo-svg.svg");
const LOGO_64: &[u8] = include_bytes!("logo-64x64.png");
const LOGO_32: &[u8] = include_bytes!("logo-32x32.png");

/// Runs `tdc jupyter ACTION`; `start` opens the session a kernel evaluates cells in.
pub(crate) fn command(
    runtime: &tokio::runtime::Runtime,
    global: &GlobalArgs,
    action: JupyterAction,
    start: impl FnOnce() -> Result<Session, Failure>,
) -> Outcome {
    match action {
        JupyterAction::Install(args) => install(global, &args),
        JupyterAction::Remove(args) => remove(global, &args),
        JupyterAction::Kernel { connection_file } => {
            let info = kernel::read_connection_file(&connection_file)?;
            let session = start()?;
            let outcome = kernel::serve(runtime, &session, &info);
            session.stop(runtime);
            outcome
        }
    }
}

/// The kernel spec's name and the display name that says which dialer it talks to.
fn names(global: &GlobalArgs) -> (String, String) {
    match (&global.profile, global.sandbox) {
        (_, true) => ("tdc-sandbox".into(), "tdc (embedded sandbox)".into()),
        (Some(profile), false) => (
            format!("tdc-{}", kernel_name_part(profile)),
            format!("tdc (profile {profile})"),
        ),
        (None, false) => match &global.url {
            Some(url) => (
                "tdc".into(),
                format!("tdc ({})", crate::config::redact_urls_in(url)),
            ),
            None => ("tdc".into(), "tdc".into()),
        },
    }
}

/// Jupyter allows letters, digits, `.`, `_` and `-` in a kernel name, lower case by habit.
fn kernel_name_part(profile: &str) -> String {
    profile
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The `kernels` folder: the user's Jupyter data folder (as jupyter_core finds it), or
/// `sys.prefix/share/jupyter` of `python3` with `--sys-prefix`.
fn kernels_folder(args: &KernelSpecArgs, command: &str) -> Result<PathBuf, Failure> {
    let data = if args.sys_prefix {
        let output = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.prefix)"])
            .output()
            .map_err(|e| {
                Failure::Usage(format!(
                    "tdc jupyter {command}: --sys-prefix asks python3 for its prefix: {e}"
                ))
            })?;
        let prefix = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if !output.status.success() || prefix.is_empty() {
            return Err(Failure::Usage(format!(
                "tdc jupyter {command}: --sys-prefix: python3 did not say its sys.prefix"
            )));
        }
        PathBuf::from(prefix).join("share").join("jupyter")
    } else {
        user_data_folder().ok_or_else(|| {
            Failure::Usage(format!(
                "tdc jupyter {command}: no Jupyter data folder (set JUPYTER_DATA_DIR or HOME)"
            ))
        })?
    };
    Ok(data.join("kernels"))
}

/// jupyter_core's user data folder: JUPYTER_DATA_DIR, else the platform's.
fn user_data_folder() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if cfg!(target_os = "macos") {
        return dirs::home_dir().map(|home| home.join("Library").join("Jupyter"));
    }
    dirs::data_dir().map(|data| data.join("jupyter"))
}

/// The command line Jupyter runs: this tdc, the connection and permission flags given at
/// install (paths made absolute: Jupyter starts kernels in the notebook's folder), then
/// `jupyter kernel {connection_file}`.
fn kernel_argv(global: &GlobalArgs) -> Result<Vec<String>, Failure> {
    let tdc = std::env::current_exe()
        .map_err(|e| Failure::Usage(format!("tdc jupyter install: where is tdc? {e}")))?;
    let mut argv = vec![tdc.display().to_string()];
    let absolute = |path: &Path| {
        std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string()
    };
    if global.sandbox {
        argv.push("--sandbox".into());
    }
    for (flag, value) in [
        ("--profile", &global.profile),
        ("--url", &global.url),
        ("--user", &global.user),
    ] {
        if let Some(value) = value {
            argv.extend([flag.to_string(), value.clone()]);
        }
    }
    for (flag, on) in [
        ("--allow-http", global.allow_http),
        ("--allow-all", global.allow_all),
        ("--yes", global.yes),
    ] {
        if on {
            argv.push(flag.into());
        }
    }
    for (flag, paths) in [
        ("--allow-read", &global.allow_read),
        ("--allow-write", &global.allow_write),
    ] {
        for path in paths {
            argv.extend([flag.to_string(), absolute(path)]);
        }
    }
    for (flag, names) in [
        ("--allow-net", &global.allow_net),
        ("--allow-env", &global.allow_env),
    ] {
        for name in names {
            argv.extend([flag.to_string(), name.clone()]);
        }
    }
    argv.extend(["jupyter", "kernel", "{connection_file}"].map(String::from));
    Ok(argv)
}

/// What would make the kernel fail at every start, refused now: a profile the config file
/// does not have, a URL carrying credentials (they would be written into kernel.json).
fn check_connection(global: &GlobalArgs) -> Outcome {
    let usage = |message: String| Failure::Usage(format!("tdc jupyter install: {message}"));
    if let Some(url) = global.url.as_deref().and_then(|u| url::Url::parse(u).ok()) {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(usage(
                "--url: a user name or password inside the URL is refused (it would be written into kernel.json); pass --user, and the password through TDC_PASSWORD, password_env or password_cmd".into(),
            ));
        }
    }
    if let Some(profile) = &global.profile {
        let config = crate::session::load_config().map_err(|e| usage(e.to_string()))?;
        let known = config
            .as_ref()
            .is_some_and(|(_, file)| file.profiles.contains_key(profile));
        if !known {
            return Err(usage(format!(
                "no profile named {profile} in the config file (tdc profile list shows them)"
            )));
        }
    }
    Ok(())
}

fn install(global: &GlobalArgs, args: &KernelSpecArgs) -> Outcome {
    check_connection(global)?;
    let (name, display_name) = names(global);
    let folder = kernels_folder(args, "install")?.join(&name);
    let spec = serde_json::json!({
        "argv": kernel_argv(global)?,
        "display_name": display_name,
        "language": "rhai",
        "interrupt_mode": "signal",
        "metadata": { "debugger": false },
    });
    let text = serde_json::to_string_pretty(&spec).unwrap_or_default() + "\n";
    let failed = |e: &dyn std::fmt::Display| {
        Failure::Usage(format!(
            "tdc jupyter install: cannot write {}: {e}",
            folder.display()
        ))
    };
    std::fs::create_dir_all(&folder).map_err(|e| failed(&e))?;
    let access = crate::files::Access::own("tdc jupyter install");
    for (file, bytes) in [
        ("kernel.json", text.as_bytes()),
        ("logo-svg.svg", LOGO_SVG.as_bytes()),
        ("logo-64x64.png", LOGO_64),
        ("logo-32x32.png", LOGO_32),
    ] {
        let path = folder.join(file);
        crate::files::write_whole(access, &path, |out| std::io::Write::write_all(out, bytes))
            .map_err(|e| failed(&e))?;
        // Written private, as every file tdc writes whole; a kernel spec is read by Jupyter
        // servers of every user of a shared environment (--sys-prefix).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| failed(&e))?;
        }
    }
    outln!(
        "installed the kernel {name} ({display_name}) in {}",
        folder.display()
    );
    Ok(())
}

fn remove(global: &GlobalArgs, args: &KernelSpecArgs) -> Outcome {
    let (name, _) = names(global);
    let folder = kernels_folder(args, "remove")?.join(&name);
    if !folder.join("kernel.json").is_file() {
        return Err(Failure::Usage(format!(
            "tdc jupyter remove: no kernel {name} in {} (jupyter kernelspec list shows where kernels are)",
            folder.parent().unwrap_or(&folder).display()
        )));
    }
    std::fs::remove_dir_all(&folder).map_err(|e| {
        Failure::Usage(format!(
            "tdc jupyter remove: cannot remove {}: {e}",
            folder.display()
        ))
    })?;
    outln!("removed the kernel {name} from {}", folder.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_name_their_kernels_as_jupyter_allows() {
        assert_eq!(kernel_name_part("Prod EU/2"), "prod-eu-2");
        assert_eq!(kernel_name_part("staging_1.b"), "staging_1.b");
    }
}
