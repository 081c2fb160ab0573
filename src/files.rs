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

use crate::script::permissions::{self, Grant};

/// Who opens a file, and under what name errors speak of it (`read_json`, `:save`, `export`).
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    what: &'a str,
    bounded: bool,
}

impl<'a> Access<'a> {
    /// A script's file (a file function, an import, the REPL's `:load` and `:save`, an export
    /// a script asked for): held to the permissions in force.
    pub const fn bounded(what: &'a str) -> Self {
        Access {
            what,
            bounded: true,
        }
    }

    /// tdc's own files, and paths the user gave on the command line.
    pub const fn own(what: &'a str) -> Self {
        Access {
            what,
            bounded: false,
        }
    }

    fn grant(&self, path: &Path, write: bool) -> Result<Grant, FileError> {
        if !self.bounded {
            return Ok(permissions::own(path));
        }
        permissions::grant(self.what, &path.to_string_lossy(), write).map_err(FileError::Refused)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
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
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

impl From<FileError> for Box<rhai::EvalAltResult> {
    fn from(error: FileError) -> Self {
        crate::script::script_error(error)
    }
}

/// Opens `path` for reading.
pub fn open(access: Access, path: &Path) -> Result<File, FileError> {
    let grant = access.grant(path, false)?;
    let io = io_error(access, path);
    let (folder, name) = walk(&grant, false).map_err(&io)?;
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
    // Non-blocking: a FIFO planted under the name must not hang the open; it is refused below.
    let file = rustix::fs::openat(&folder, name, flags | OFlags::NONBLOCK, Mode::empty())
        .map_err(|e| io(link_error(e)))?;
    let stat = rustix::fs::fstat(&file).map_err(|e| io(e.into()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(refused(access, path, "not a regular file"));
    }
    if access.bounded && stat.st_nlink > 1 {
        return Err(FileError::Refused(format!(
            "{}: {}: has {} names (a hard link); tdc reads and writes files with one name only",
            access.what,
            path.display(),
            stat.st_nlink
        )));
    }
    rustix::fs::fcntl_setfl(&file, OFlags::empty()).map_err(|e| io(e.into()))?;
    Ok(File::from(file))
}

/// The whole of `path` as bytes.
pub fn read(access: Access, path: &Path) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    open(access, path)?
        .read_to_end(&mut bytes)
        .map_err(io_error(access, path))?;
    Ok(bytes)
}

/// The whole of `path` as text.
pub fn read_to_string(access: Access, path: &Path) -> Result<String, FileError> {
    let mut text = String::new();
    open(access, path)?
        .read_to_string(&mut text)
        .map_err(io_error(access, path))?;
    Ok(text)
}

/// Creates the folder `path` and the folders above it that are missing.
pub fn create_dir_all(access: Access, path: &Path) -> Result<(), FileError> {
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
pub fn write_whole(
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
            FileType::RegularFile if access.bounded && stat.st_nlink > 1 => {
                return Err(FileError::Refused(format!(
                    "{}: {}: has {} names (a hard link); tdc reads and writes files with one name only",
                    access.what,
                    path.display(),
                    stat.st_nlink
                )))
            }
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

/// Opens `root`, then each folder of `inside` in turn without following links.
fn open_folder(root: &Path, inside: &Path, create: bool) -> std::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut folder = rustix::fs::open(root, flags, Mode::empty())?;
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
            "a symbolic link appeared on the way after the path was checked; nothing was opened",
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
