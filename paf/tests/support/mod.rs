//! Shared test helpers: external peers, temporary directories, servers.
#![allow(dead_code, clippy::unwrap_used)]

pub mod nginx;
pub mod podman;
pub mod server;
pub mod tinyproxy;
pub mod tls;

use std::path::{Path, PathBuf};

/// The path of an external tool (searched in PATH, then the sbin folders),
/// or `None` with a loud message; panics instead when `PAF_REQUIRE_PEERS=1`.
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
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!! SKIPPED: `{name}` is not installed; this real-peer test did not run \
             (set PAF_REQUIRE_PEERS=1 to make this a failure) !!!!!\n"
        );
    }
    found
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("paf-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
