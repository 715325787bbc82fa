//! The installation's secret key for the cache's digests, kept in the cache directory.
//!
//! Each entry's trailer holds an HMAC-SHA-256 of its entry name and artifact under this key,
//! so a file is loaded only if it was written by a host that could read the key: one planted
//! or swapped in by whoever can write to the directory but not read it, copied from another
//! machine or restored from a tampered backup is compiled afresh instead. A key derived
//! from the host binary would be no secret (anyone can read the binary), so the key is 32
//! random bytes, made once per cache directory, in a file only its owner can read (0600);
//! replacing or removing it just makes every entry compile again.
//!
//! The file is made complete under a temporary name and then hard-linked into place, which
//! fails if another process won the race: every process then reads the same whole key.

use std::io::{self, Read as _, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::fs::{Dir, OpenOptions};

/// The key's file in the cache directory.
pub const KEY_FILE: &str = "hmac-key";
/// Bytes of key.
const KEY_LEN: usize = 32;

/// The directory's key, made now if it has none (or an unusable one, which is replaced).
pub fn load_or_create(dir: &Dir) -> io::Result<[u8; KEY_LEN]> {
    if let Some(key) = read(dir)? {
        return Ok(key);
    }
    let mut key = [0; KEY_LEN];
    getrandom::fill(&mut key).map_err(io::Error::other)?;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let temp = format!(
        ".key-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let written = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        let mut file = dir.open_with(&temp, &options)?;
        super::set_private_mode(&file)?;
        file.write_all(&key)?;
        file.sync_all()?;
        dir.hard_link(&temp, dir, KEY_FILE)
    })();
    let _ = dir.remove_file(&temp);
    match written {
        Ok(()) => Ok(key),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => read(dir)?.ok_or_else(|| {
            io::Error::other("the compile cache key another process wrote is unusable")
        }),
        Err(error) => Err(error),
    }
}

/// The key in `dir`, `None` when there is none or it is unusable (then removed): not a
/// regular file (a symbolic link, say), the wrong length, or readable by others.
fn read(dir: &Dir) -> io::Result<Option<[u8; KEY_LEN]>> {
    let meta = match dir.symlink_metadata(KEY_FILE) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut key = [0; KEY_LEN];
    let usable = meta.is_file()
        && meta.len() == KEY_LEN as u64
        && private(&meta)
        && dir.open(KEY_FILE)?.read_exact(&mut key).is_ok();
    if usable {
        return Ok(Some(key));
    }
    tracing::warn!(
        file = KEY_FILE,
        "the compile cache key is unusable (not a private regular file of {KEY_LEN} bytes); replacing it, so every plugin compiles once more"
    );
    dir.remove_file(KEY_FILE)?;
    Ok(None)
}

#[cfg(unix)]
fn private(meta: &cap_std::fs::Metadata) -> bool {
    use cap_std::fs::PermissionsExt;
    meta.permissions().mode() & 0o077 == 0
}

#[cfg(not(unix))]
fn private(_: &cap_std::fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use cap_std::ambient_authority;

    use super::*;

    fn dir() -> (tempfile::TempDir, Dir) {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = Dir::open_ambient_dir(temp.path(), ambient_authority()).expect("open");
        (temp, dir)
    }

    #[test]
    fn the_key_is_made_once_and_read_back() {
        let (temp, dir) = dir();
        let key = load_or_create(&dir).expect("made");
        assert_eq!(load_or_create(&dir).expect("read"), key);
        assert_ne!(key, [0; KEY_LEN]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(temp.path().join(KEY_FILE)).expect("meta");
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
        let other = self::dir();
        assert_ne!(
            load_or_create(&other.1).expect("made"),
            key,
            "one key per directory"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_key_that_is_a_link_or_readable_by_others_is_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let (temp, dir) = dir();
        let outside = tempfile::NamedTempFile::new().expect("file");
        std::fs::write(outside.path(), [7; KEY_LEN]).expect("write");
        std::os::unix::fs::symlink(outside.path(), temp.path().join(KEY_FILE)).expect("link");
        let key = load_or_create(&dir).expect("replaced");
        assert_ne!(key, [7; KEY_LEN], "a linked key is never used");
        assert!(
            !std::fs::symlink_metadata(temp.path().join(KEY_FILE))
                .expect("meta")
                .file_type()
                .is_symlink()
        );

        std::fs::set_permissions(
            temp.path().join(KEY_FILE),
            std::fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");
        assert_ne!(load_or_create(&dir).expect("replaced"), key);
    }
}
