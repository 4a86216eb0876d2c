//! Opening what a request resolved to, and checking it again by the open
//! handle.
//!
//! Between the check of a canonical path (`files.rs`) and its opening,
//! someone who can write inside the served directory could put a symbolic
//! link or a FIFO in the place of one of its components. So:
//!
//! - the path is opened with `O_NOFOLLOW` (a symbolic link as its last
//!   component is refused; a canonical path has none), `O_NONBLOCK` (a
//!   FIFO does not hold the opening thread until a writer comes; regular
//!   files and directories ignore the flag) and `O_NOCTTY`, and a
//!   directory with `O_DIRECTORY`;
//! - what was opened must be what was expected, a regular file or a
//!   directory, by the handle's own metadata (`404` otherwise);
//! - on Linux, unless symbolic links are followed, where the handle really
//!   is (`/proc/self/fd/N`) must still lie under the root (`403`
//!   otherwise); this catches a directory component swapped for a link.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What is expected at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file, to be read.
    File,
    /// A directory, to be listed.
    Directory,
}

/// Opens `path` (canonical) for reading, as the module says, on the
/// calling (blocking) thread. A handle that is not of the `kind` expected
/// is a `NotFound` error; one that ended up outside `root` a
/// `PermissionDenied` one.
pub(crate) fn open(
    path: &Path,
    kind: Kind,
    root: &Path,
    follow_symlinks: bool,
) -> io::Result<(File, Metadata)> {
    let mut flags = libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY;
    if kind == Kind::Directory {
        flags |= libc::O_DIRECTORY;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    let metadata = file.metadata()?;
    let expected = match kind {
        Kind::File => metadata.is_file(),
        Kind::Directory => metadata.is_dir(),
    };
    if !expected {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is no longer a {kind:?}", path.display()),
        ));
    }
    if !follow_symlinks {
        check_inside(&file, path, root)?;
    }
    Ok((file, metadata))
}

/// A path that names the open `file` itself, whatever happens to the path
/// it was opened by (`/proc/self/fd/N`, Linux only).
pub(crate) fn handle_path(file: &File) -> Option<PathBuf> {
    if cfg!(target_os = "linux") {
        use std::os::fd::AsRawFd;
        Some(PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd())))
    } else {
        None
    }
}

/// Refuses a handle that the kernel says lies outside `root`. Where the
/// kernel cannot say (no `/proc`), the checks of the path stand alone.
fn check_inside(file: &File, path: &Path, root: &Path) -> io::Result<()> {
    let Some(link) = handle_path(file) else {
        return Ok(());
    };
    match std::fs::read_link(&link) {
        Ok(real) if real.starts_with(root) => Ok(()),
        Ok(real) => {
            tracing::debug!(
                path = %path.display(),
                real = %real.display(),
                "refused: the file opened lies outside the root"
            );
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "what was opened lies outside the served directory",
            ))
        }
        Err(err) => {
            tracing::debug!(%err, "cannot check where an open file lies: no /proc?");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn temp(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("paf-cli-open-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temp dir");
        Dir(std::fs::canonicalize(&dir).expect("canonical"))
    }

    #[test]
    fn opens_what_is_expected_inside_the_root() {
        let dir = temp("inside");
        let root = &dir.0;
        std::fs::write(root.join("a.txt"), b"hello").expect("a file");
        std::fs::create_dir(root.join("sub")).expect("a directory");
        let (_, metadata) = open(&root.join("a.txt"), Kind::File, root, false).expect("a file");
        assert_eq!(metadata.len(), 5);
        open(&root.join("sub"), Kind::Directory, root, false).expect("a directory");
        let wrong = open(&root.join("sub"), Kind::File, root, false).expect_err("not a file");
        assert_eq!(wrong.kind(), io::ErrorKind::NotFound);
        assert!(open(&root.join("a.txt"), Kind::Directory, root, false).is_err());
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = temp("fifo");
        let root = &dir.0;
        let fifo = root.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|status| status.success()) {
            eprintln!("mkfifo is not available: the FIFO case is not checked");
            return;
        }
        // Without O_NONBLOCK, this would wait for a writer forever.
        let err = open(&fifo, Kind::File, root, false).expect_err("a FIFO");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn links_put_in_place_are_refused() {
        let dir = temp("swap");
        let outside = temp("swap-outside");
        let root = &dir.0;
        std::fs::write(outside.0.join("secret.txt"), b"secret").expect("a file");
        // The last component is a link: O_NOFOLLOW.
        std::os::unix::fs::symlink(outside.0.join("secret.txt"), root.join("s.txt"))
            .expect("a link");
        assert!(open(&root.join("s.txt"), Kind::File, root, false).is_err());
        // A directory component is a link: the handle lies outside.
        std::os::unix::fs::symlink(&outside.0, root.join("d")).expect("a link");
        if cfg!(target_os = "linux") && Path::new("/proc/self/fd").is_dir() {
            let err =
                open(&root.join("d/secret.txt"), Kind::File, root, false).expect_err("outside");
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        }
        // The last component is a link to a directory: O_NOFOLLOW.
        assert!(open(&root.join("d"), Kind::Directory, root, false).is_err());
        // Unless links are followed.
        open(&root.join("d/secret.txt"), Kind::File, root, true).expect("followed");
    }
}
