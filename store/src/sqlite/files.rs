//! The database file, its WAL and shared-memory files, and the directory that holds them:
//! private to the user running the server, whether this run made them or found them.
//!
//! A missing directory is made with mode 0700 and a missing file with 0600. Found ones are
//! held to the same: a database file (or `-wal`, `-shm`, `-journal` beside it) that others
//! may read or write is tightened to 0600, and one that belongs to another user is refused
//! (someone else's file may hold someone else's data, or be theirs to swap). The default
//! data directory is the server's own and is tightened to 0700 too; a directory named in
//! the store URL may hold other things and is left as it is, unless other users can write
//! to it without the sticky bit (they could replace the database), which is refused.

use std::io;
use std::path::{Path, PathBuf};

/// Files SQLite keeps beside the database.
const SIBLINGS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Makes `path` (and its directory) when missing and checks or tightens what was there.
/// `own_directory` says whether the directory is the server's default data directory.
pub(crate) fn prepare(path: &Path, own_directory: bool) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if parent.exists() {
            check_directory(parent, own_directory)?;
        } else {
            create_directory(parent)?;
        }
    }
    create_file(path)?;
    for file in std::iter::once(path.to_path_buf()).chain(siblings(path)) {
        check_file(&file)?;
    }
    Ok(())
}

fn siblings(path: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    SIBLINGS.iter().map(move |suffix| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    })
}

fn refused(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{} {why}", path.display()),
    )
}

#[cfg(unix)]
fn create_directory(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create_directory(path: &Path) -> io::Result<()> {
    std::fs::create_dir_all(path)
}

fn create_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(unix)]
fn check_directory(path: &Path, own_directory: bool) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(path)?;
    let mode = meta.mode() & 0o7777;
    if own_directory && mode & 0o077 != 0 {
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return Err(refused(
                path,
                "(the data directory) belongs to another user; the server keeps sessions in a \
                 directory of its own user's",
            ));
        }
        return std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
    }
    let sticky = mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !sticky {
        return Err(refused(
            path,
            "is writable by other users, who could replace the session database: use a \
             directory only the server's user can write (chmod go-w), or another path",
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_directory(_: &Path, _: bool) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn check_file(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(refused(
            path,
            "belongs to another user; the server only uses session files of its own user's \
             (remove it, or use another path)",
        ));
    }
    if meta.is_file() && meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_file(_: &Path) -> io::Result<()> {
    Ok(())
}
