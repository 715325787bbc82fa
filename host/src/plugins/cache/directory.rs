//! The cache directory: a real directory, owned by the user the host runs as and writable by
//! no one else, or not used at all.
//!
//! Its files become machine code that runs with a plugin's grants, so anyone who could put a
//! file there could run code as that plugin. A directory of another user's (even one only
//! they can write), a symbolic link (which can be pointed elsewhere after the check) and a
//! directory others can write are each refused with what to do instead.

use std::io;
use std::path::Path;

/// Creates `path` (mode 0700, with its parents) when missing, then checks it.
pub fn prepare(path: &Path) -> io::Result<()> {
    create(path)?;
    let meta = std::fs::symlink_metadata(path)?;
    let refuse = |why: String| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "compile cache directory {} {why}; compiled plugins are machine code, so the host \
                 only uses a directory of its own",
                path.display()
            ),
        ))
    };
    if meta.file_type().is_symlink() {
        return refuse(
            "is a symbolic link (point plugins.cache_dir or DMM_PLUGIN_CACHE_DIR at the \
             directory it leads to)"
                .to_owned(),
        );
    }
    if !meta.is_dir() {
        return refuse("is not a directory".to_owned());
    }
    check_owner(&meta).or_else(refuse)?;
    check_mode(&meta).or_else(refuse)
}

#[cfg(unix)]
fn create(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create(path: &Path) -> io::Result<()> {
    std::fs::create_dir_all(path)
}

#[cfg(unix)]
fn check_owner(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() == me {
        Ok(())
    } else {
        Err(format!(
            "belongs to another user (uid {}; the host runs as uid {me}): remove it, or point \
             plugins.cache_dir or DMM_PLUGIN_CACHE_DIR elsewhere",
            meta.uid()
        ))
    }
}

#[cfg(not(unix))]
fn check_owner(_: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

#[cfg(unix)]
fn check_mode(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if meta.mode() & 0o022 == 0 {
        Ok(())
    } else {
        Err("is writable by other users (chmod go-w)".to_owned())
    }
}

#[cfg(not(unix))]
fn check_mode(_: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn refusal(path: &Path) -> String {
        prepare(path).expect_err("refused").to_string()
    }

    #[test]
    fn a_new_directory_is_private() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("a/b/cache");
        prepare(&dir).expect("created");
        let mode = std::fs::metadata(&dir).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("cache");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(refusal(&dir).contains("writable by other users"));
    }

    #[test]
    fn a_symbolic_link_is_refused_even_to_a_good_directory() {
        let temp = tempfile::tempdir().expect("tempdir");
        let real = temp.path().join("real");
        prepare(&real).expect("a good directory");
        let link = temp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let message = refusal(&link);
        assert!(message.contains("is a symbolic link"), "{message}");
    }

    #[test]
    fn a_directory_of_another_user_is_refused() {
        let temp = tempfile::tempdir().expect("tempdir");
        // Root can give a directory away; anyone else finds one of root's.
        let foreign = if rustix::process::geteuid().is_root() {
            let dir = temp.path().join("foreign");
            std::fs::create_dir(&dir).expect("mkdir");
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
            std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).expect("chown");
            dir
        } else {
            Path::new("/").to_path_buf()
        };
        let message = refusal(&foreign);
        assert!(message.contains("belongs to another user"), "{message}");
    }
}
