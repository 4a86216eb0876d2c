//! What the workspace's tests share.
//!
//! - [`peer_tool`]: an external program a test talks to (curl, nginx,
//!   podman...), or a loud skip when it is missing; a failure instead under
//!   `PAF_REQUIRE_PEERS=1`, which CI sets.
//! - [`TempDir`]: a fresh directory, removed when dropped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The path of an external tool (searched in `PATH`, then the sbin
/// folders), or `None` with a loud message on stderr.
///
/// # Panics
/// When the tool is missing and `PAF_REQUIRE_PEERS=1`.
pub fn peer_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        if std::env::var("PAF_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("`{name}` is not installed, and PAF_REQUIRE_PEERS=1 requires it");
        }
        // Straight to stderr: the harness captures `eprintln!` of passing
        // tests, and this must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!! SKIPPED: `{name}` is not installed; this real-peer test did not run \
             (set PAF_REQUIRE_PEERS=1 to make this a failure) !!!!!\n"
        );
    }
    found
}

/// A fresh directory under the system's temporary directory, removed with
/// everything in it when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory; `tag` appears in its name. Names are short:
    /// Unix socket paths inside it are limited to about 100 bytes.
    ///
    /// # Panics
    /// When the directory cannot be created.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("paf-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(err) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {err}", dir.display());
        }
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes a file (and its parent directories) under the directory.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent()
            && let Err(err) = std::fs::create_dir_all(parent)
        {
            panic!("cannot create {}: {err}", parent.display());
        }
        if let Err(err) = std::fs::write(&path, contents) {
            panic!("cannot write {}: {err}", path.display());
        }
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
