//! Every file tdc reads or writes for a script or a command, opened by handle, not by name.
//!
//! A path is resolved once (links and `..` resolved) and decided on: a script's file
//! ([`Access::bounded`]) against the permissions in force, tdc's own files and the paths a
//! user gave on the command line ([`Access::own`]) always. Opening then starts at the folder
//! the path was allowed under and walks one component at a time with `O_NOFOLLOW`, so a
//! component that became a symbolic link after the decision (a racing process) fails the
//! open instead of leading out of the folder.
//!
//! A script's file must be a regular file with one name: a hard link can name a file outside
//! the allowed folders. A whole-file write fills a temporary file created exclusively under a
//! random name in the target's folder (mode 0600), flushes it to disk and renames it over the
//! target within that folder: a name planted beside it (`out.csv.part -> config.toml`) is
//! never used, and nothing is written through a link.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::script::permissions::{self, Grant, Powers};

/// Who opens a file, and under what name errors speak of it (`read_json`, `:save`, `export`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access<'a> {
    what: &'a str,
    asker: Asker<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Asker<'a> {
    /// tdc for itself, or for a path given on the command line: never refused.
    Tdc,
    /// A script: held to its host's powers.
    Script(&'a Powers),
    /// A script's export, which reads back what it writes: reads need the write grant.
    Dataset(&'a Powers),
    /// A script's import journal in use, which only `add_leads` may open.
    Journal(&'a Powers),
}

impl<'a> Access<'a> {
    /// A script's file (a file function, an import, the REPL's `:load` and `:save`), under
    /// the powers of the host it runs on.
    pub(crate) const fn bounded(powers: &'a Powers, what: &'a str) -> Self {
        Access {
            what,
            asker: Asker::Script(powers),
        }
    }

    /// A dataset a script exports: its partitions and cursor are read back and merged where
    /// they are written, under the write permissions.
    pub(crate) const fn dataset(powers: &'a Powers, what: &'a str) -> Self {
        Access {
            what,
            asker: Asker::Dataset(powers),
        }
    }

    /// The import journal a script named for `add_leads` (file functions may not open it).
    pub(crate) const fn journal(powers: &'a Powers, what: &'a str) -> Self {
        Access {
            what,
            asker: Asker::Journal(powers),
        }
    }

    /// tdc's own files, and paths the user gave on the command line.
    pub(crate) const fn own(what: &'a str) -> Self {
        Access {
            what,
            asker: Asker::Tdc,
        }
    }

    /// Held to the permissions in force (and to files with one name).
    fn bounded_by_permissions(&self) -> bool {
        !matches!(self.asker, Asker::Tdc)
    }

    fn grant(&self, path: &Path, write: bool) -> Result<Grant, FileError> {
        let path_text = path.to_string_lossy();
        match self.asker {
            Asker::Tdc => Ok(permissions::own(path)),
            Asker::Script(powers) => powers.grant(self.what, &path_text, write),
            Asker::Dataset(powers) => powers.grant(self.what, &path_text, true),
            Asker::Journal(powers) => powers.grant_journal(self.what, &path_text),
        }
        .map_err(FileError::Refused)
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    /// Not allowed, or not a file tdc will open; the message is whole.
    #[error("{0}")]
    Refused(String),
    #[error("{what}: {}: {source}", path.display())]
    Io {
        what: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FileError {
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

impl From<FileError> for std::io::Error {
    fn from(error: FileError) -> Self {
        match error {
            FileError::Io { source, .. } => source,
            refused => std::io::Error::other(refused),
        }
    }
}

impl From<FileError> for Box<rhai::EvalAltResult> {
    fn from(error: FileError) -> Self {
        crate::script::script_error(error)
    }
}

/// `path` with `.` and `..` taken out as written, without touching the file system.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Opens `path` for reading.
pub(crate) fn open(access: Access, path: &Path) -> Result<File, FileError> {
    let grant = access.grant(path, false)?;
    let io = io_error(access, path);
    let (folder, name) = walk(&grant, false).map_err(&io)?;
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
    // Non-blocking: a FIFO planted under the name must not hang the open; it is refused below.
    let file = rustix::fs::openat(&folder, name, flags | OFlags::NONBLOCK, Mode::empty())
        .map_err(|e| io(link_error(e)))?;
    let stat = rustix::fs::fstat(&file).map_err(|e| io(e.into()))?;
    one_regular_file(access, path, &stat)?;
    rustix::fs::fcntl_setfl(&file, OFlags::empty()).map_err(|e| io(e.into()))?;
    Ok(File::from(file))
}

/// Opens `path` for appending (a log, a journal), creating it and missing folders; the file is
/// made 0600 whatever mode an earlier one had. With `new`, a file already there is an error.
pub(crate) fn open_append(access: Access, path: &Path, new: bool) -> Result<File, FileError> {
    let grant = access.grant(path, true)?;
    let io = io_error(access, path);
    let (folder, name) = walk(&grant, true).map_err(&io)?;
    let mut flags =
        OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    if new {
        flags |= OFlags::EXCL;
    }
    let file = rustix::fs::openat(
        &folder,
        name,
        flags | OFlags::NONBLOCK,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| io(link_error(e)))?;
    let stat = rustix::fs::fstat(&file).map_err(|e| io(e.into()))?;
    one_regular_file(access, path, &stat)?;
    if stat.st_mode & 0o077 != 0 {
        rustix::fs::fchmod(&file, Mode::from_raw_mode(0o600)).map_err(|e| io(e.into()))?;
    }
    rustix::fs::fcntl_setfl(&file, OFlags::APPEND).map_err(|e| io(e.into()))?;
    Ok(File::from(file))
}

/// Removes the file `path` (one that is there no more is not an error).
pub(crate) fn remove_file(access: Access, path: &Path) -> Result<(), FileError> {
    let grant = access.grant(path, true)?;
    let io = io_error(access, path);
    let (folder, name) = walk(&grant, false).map_err(&io)?;
    match rustix::fs::unlinkat(&folder, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(io(e.into())),
    }
}

/// A script's file is a regular file with one name; tdc's own may have more.
fn one_regular_file(access: Access, path: &Path, stat: &rustix::fs::Stat) -> Result<(), FileError> {
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(refused(access, path, "not a regular file"));
    }
    if access.bounded_by_permissions() && stat.st_nlink > 1 {
        return Err(FileError::Refused(format!(
            "{}: {}: has {} names (a hard link); tdc reads and writes files with one name only",
            access.what,
            path.display(),
            stat.st_nlink
        )));
    }
    Ok(())
}

/// The whole of `path` as bytes.
pub(crate) fn read(access: Access, path: &Path) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    open(access, path)?
        .read_to_end(&mut bytes)
        .map_err(io_error(access, path))?;
    Ok(bytes)
}

/// The whole of `path` as text.
pub(crate) fn read_to_string(access: Access, path: &Path) -> Result<String, FileError> {
    let mut text = String::new();
    open(access, path)?
        .read_to_string(&mut text)
        .map_err(io_error(access, path))?;
    Ok(text)
}

/// Creates the folder `path` and the folders above it that are missing.
pub(crate) fn create_dir_all(access: Access, path: &Path) -> Result<(), FileError> {
    let grant = access.grant(path, true)?;
    open_folder(
        &grant.root,
        grant
            .target
            .strip_prefix(&grant.root)
            .unwrap_or(Path::new("")),
        true,
    )
    .map(drop)
    .map_err(io_error(access, path))
}

/// Writes `path` whole or not at all: `write` fills a fresh temporary file beside it (mode
/// 0600), which is flushed to disk and renamed over `path`. A crash or Ctrl-C leaves the old
/// file or the new one, never half of one. Missing folders are created.
pub(crate) fn write_whole(
    access: Access,
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let grant = access.grant(path, true)?;
    let io = io_error(access, path);
    let (folder, name) = walk(&grant, true).map_err(&io)?;
    if let Ok(stat) = rustix::fs::statat(&folder, name, AtFlags::SYMLINK_NOFOLLOW) {
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => return Err(refused(access, path, "is a folder")),
            FileType::RegularFile => one_regular_file(access, path, &stat)?,
            _ => {}
        }
    }
    let (temp_name, temp) = create_temp(&folder).map_err(&io)?;
    let mut file = File::from(temp);
    let written = write(&mut file)
        .and_then(|()| file.sync_all())
        .and_then(|()| Ok(rustix::fs::renameat(&folder, &temp_name, &folder, name)?));
    if let Err(e) = written {
        let _ = rustix::fs::unlinkat(&folder, &temp_name, AtFlags::empty());
        return Err(io(e));
    }
    Ok(())
}

/// A new file in `folder` under a name no one could have planted: created exclusively, so an
/// existing name (a file, a link) makes a new try rather than being opened.
fn create_temp(folder: &OwnedFd) -> std::io::Result<(String, OwnedFd)> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut tries = 0;
    loop {
        let name: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(16)
            .collect();
        let name = format!(".tdc-{name}.tmp");
        match rustix::fs::openat(folder, &name, flags, Mode::from_raw_mode(0o600)) {
            Ok(file) => return Ok((name, file)),
            Err(Errno::EXIST) if tries < 16 => tries += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The open folder that holds the granted file, and the file's name in it.
fn walk(grant: &Grant, create: bool) -> std::io::Result<(OwnedFd, &OsStr)> {
    let inside = grant
        .target
        .strip_prefix(&grant.root)
        .map_err(|_| std::io::Error::other("outside the folder it was allowed under"))?;
    let name = inside
        .file_name()
        .ok_or_else(|| std::io::Error::other("is a folder"))?;
    let folder = open_folder(
        &grant.root,
        inside.parent().unwrap_or(Path::new("")),
        create,
    )?;
    Ok((folder, name))
}

/// Folders on the way are opened only to be walked through: that needs search permission,
/// not read permission (a home folder of mode 0711), where the system can say so.
#[cfg(any(target_os = "linux", target_os = "android"))]
const WALK: OFlags = OFlags::PATH;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const WALK: OFlags = OFlags::RDONLY;

/// Opens `root`, then each folder of `inside` in turn without following links.
fn open_folder(root: &Path, inside: &Path, create: bool) -> std::io::Result<OwnedFd> {
    let flags = WALK | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut folder = match rustix::fs::open(root, flags, Mode::empty()) {
        // An allowed folder named on the command line that does not exist yet: the user's own
        // path, made as written.
        Err(Errno::NOENT) if create => {
            std::fs::create_dir_all(root)?;
            rustix::fs::open(root, flags, Mode::empty())?
        }
        other => other?,
    };
    for part in inside.iter() {
        let step = |folder: &OwnedFd| {
            rustix::fs::openat(folder, part, flags | OFlags::NOFOLLOW, Mode::empty())
        };
        let next = match step(&folder) {
            Err(Errno::NOENT) if create => {
                match rustix::fs::mkdirat(&folder, part, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(Errno::EXIST) => step(&folder),
                    Err(e) => Err(e),
                }
            }
            other => other,
        };
        folder = next.map_err(link_error)?;
    }
    Ok(folder)
}

/// `O_NOFOLLOW` met a link where the path was checked to have none: it changed since.
fn link_error(error: Errno) -> std::io::Error {
    match error {
        Errno::LOOP | Errno::NOTDIR => std::io::Error::other(
            "a symbolic link was met where none was checked (one swapped in, or one that leads nowhere); nothing was opened",
        ),
        other => other.into(),
    }
}

fn refused(access: Access, path: &Path, why: &str) -> FileError {
    FileError::Refused(format!("{}: {}: {why}", access.what, path.display()))
}

fn io_error<'a>(access: Access<'a>, path: &'a Path) -> impl Fn(std::io::Error) -> FileError + 'a {
    move |source| FileError::Io {
        what: access.what.to_string(),
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tdc-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.canonicalize().unwrap()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_existing_readable_file_becomes_private() {
        let path = folder("append").join("log");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(open_append(Access::own("log"), &path, false).unwrap());
        assert_eq!(mode(&path), 0o600);
        assert!(open_append(Access::own("log"), &path, true).is_err());
    }

    #[test]
    fn a_whole_write_replaces_the_file_and_leaves_nothing_beside_it() {
        let dir = folder("whole");
        let path = dir.join("sub/out.txt");
        write_whole(Access::own("test"), &path, |f| f.write_all(b"one")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_whole(Access::own("test"), &path, |f| f.write_all(b"two")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(mode(&path), 0o600);
        let failed = write_whole(Access::own("test"), &path, |_| {
            Err(std::io::Error::other("the writer failed"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(dir.join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_link_on_the_way_is_not_followed_when_opening() {
        let dir = folder("walk");
        std::fs::create_dir_all(dir.join("outside")).unwrap();
        std::os::unix::fs::symlink(dir.join("outside"), dir.join("linked")).unwrap();
        let error = open_folder(&dir, Path::new("linked"), false).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert!(open_folder(&dir, Path::new("outside"), false).is_ok());
    }
}
