//! Embeds every `stdlib/*.rhai` module in the binary, so `import "dedupe"` works from any
//! directory.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=stdlib");
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("stdlib");
    let mut modules: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
                .collect()
        })
        .unwrap_or_default();
    modules.sort();
    let mut code = String::from("/// Modules embedded from `stdlib/`: (name, source).\npub const STDLIB: &[(&str, &str)] = &[\n");
    for path in modules {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("stdlib.rs");
    std::fs::write(out, code).unwrap();
}
