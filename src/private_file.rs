//! Files that hold lead data or a record of what was done (audit log, import journals, state,
//! exports, recordings, the config): readable and writable by their owner only, whatever mode
//! an earlier file had, and replaced whole or not at all.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Opens `path` for appending, creating it with mode 0600, and makes an existing file 0600.
pub fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    restrict(&file)?;
    Ok(file)
}

/// Makes an open file readable and writable by its owner only.
pub fn restrict(file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file.metadata()?.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let _ = file;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_existing_readable_file_becomes_private() {
        let path = std::env::temp_dir().join(format!("tdc-private-{}", std::process::id()));
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(open_append(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let _ = std::fs::remove_file(&path);
    }
}

/// Writes `path` whole or not at all: `write` fills a temporary file beside it (mode 0600,
/// named `prefix…`), which is flushed to disk and renamed over `path`. A crash or Ctrl-C
/// leaves the old file or the new one, never half of one. The folder is created if needed.
pub fn write_whole(
    path: &Path,
    prefix: &str,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let mut temp = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(folder)?;
    write(temp.as_file_mut())?;
    temp.as_file().sync_all()?;
    temp.persist(path).map(drop).map_err(|e| e.error)
}
