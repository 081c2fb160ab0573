//! `tdc defs DIR`: Rhai definition files for editors, from the same metadata as the REPL's help.

use std::path::Path;

use anyhow::Context;

use super::Config;
use crate::failure::{Failure, Outcome};
use crate::script::engine::LoadedFiles;
use crate::script::Host;
use crate::terminal::sink::outln;

/// Editor definitions for every script function and type, and for `td`, `ARGS` and
/// `SCRIPT_DIR`, from the same metadata as the REPL's help.
pub(crate) fn execute(config: &Config, dir: &Path) -> Outcome {
    let runtime = &config.runtime;
    let host = Host::new(runtime.handle().clone(), None, false, false);
    // Definitions only describe `td`: no sandbox needs to run at this address.
    let connection =
        crate::session::sandbox_connection().map_err(|e| Failure::failed_in("defs", e.into()))?;
    let dialer = crate::script::Dialer::on_sandbox("http://127.0.0.1:8025", &connection, &host)
        .map_err(|e| Failure::failed_in("defs", e.into()))?;
    let engine =
        crate::script::engine::script_engine(&host, Path::new("."), LoadedFiles::default());
    let scope = crate::script::engine::script_scope(dialer, &[], Path::new("."));
    engine
        .definitions_with_scope(&scope)
        .iter_files()
        .try_for_each(|(name, text)| write_definition_file(&dir.join(name), &text))
        .and_then(|()| write_stdlib_definitions(&engine, dir))
        .with_context(|| format!("cannot write {}", dir.display()))
        .map_err(|e| Failure::usage_in("defs", e))?;
    outln!("wrote Rhai definitions to {}", dir.display());
    Ok(())
}

/// One `<module>.d.rhai` per stdlib module, from its functions' `///` comments, so that an
/// editor knows `cdr::kpis` as it knows `count_by`.
fn write_stdlib_definitions(engine: &rhai::Engine, dir: &Path) -> std::io::Result<()> {
    use std::fmt::Write;
    let functions = crate::repl::catalog::stdlib_functions(engine);
    let modules = crate::script::engine::stdlib_names().chain(crate::script::engine::NATIVE_STDLIB);
    for module in modules {
        let mut text = format!("module {module};\n");
        let prefix = format!("{module}::");
        for f in functions.iter().filter(|f| f.name.starts_with(&prefix)) {
            text.push('\n');
            for line in f.doc.lines() {
                let _ = writeln!(text, "///{}{line}", if line.is_empty() { "" } else { " " });
            }
            let params: Vec<String> = f
                .params
                .iter()
                .map(|p| {
                    if p.contains(':') {
                        p.clone()
                    } else {
                        format!("{p}: ?")
                    }
                })
                .collect();
            let returns = if f.returns == "()" {
                "?"
            } else {
                f.returns.as_str()
            };
            let _ = writeln!(
                text,
                "fn {}({}) -> {returns};",
                &f.name[prefix.len()..],
                params.join(", ")
            );
        }
        write_definition_file(&dir.join(format!("{module}.d.rhai")), &text)?;
    }
    Ok(())
}

fn write_definition_file(path: &Path, text: &str) -> std::io::Result<()> {
    crate::files::write_whole(crate::files::Access::own("tdc defs"), path, |file| {
        std::io::Write::write_all(file, text.as_bytes())
    })?;
    Ok(())
}
