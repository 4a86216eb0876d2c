//! Small files kept in memory between requests, each checked against the
//! file system by one `stat` before it is served.
//!
//! Without it, every request walks the path (`canonicalize`), opens the
//! file, checks the handle and reads it, on the blocking pool: four thread
//! hops and some twenty system calls for a 1 KiB file. A cached file is
//! answered on the connection's own thread after one `stat` of its path,
//! the call nginx makes too (it also opens, reads and closes the file).
//!
//! Correctness rests on that `stat`: an entry is served only while the path
//! it was found by (`root/relative`, or `root/relative/index.html`) still
//! leads to the same inode with the same length, modification and change
//! times. A file written, truncated, replaced, renamed over, or whose mode
//! changed has a new change time or inode, and is looked up again from the
//! start, with every check of `files.rs` and `open.rs`. A path that now
//! leads through a symbolic link to the same inode is served, since that
//! inode was checked to lie under the root when it was opened.
//!
//! Files on network file systems, FUSE and FAT are never kept (see
//! [`local_file_system`]).
//!
//! Contents are only kept when they have not been modified for a second
//! ([`SETTLED`]) and the file's metadata did not change while they were
//! read: a file written twice within one tick of the file system's clock
//! keeps its times, so younger contents could be stale.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::file_body::Source;
use super::representation::Representation;

/// The largest file whose contents are kept.
pub(crate) const MAX_FILE: u64 = 256 * 1024;
/// The most bytes of contents kept in all.
const MAX_BYTES: usize = 64 * 1024 * 1024;
/// The most files kept.
const MAX_ENTRIES: usize = 4096;
/// The longest URL path kept as a key: longer ones are answered, not kept
/// (over HTTP/2 a path may be as long as the header list).
const MAX_KEY: usize = 1024;
/// How long contents must have gone unmodified before they are kept.
pub(crate) const SETTLED: Duration = Duration::from_secs(1);

/// What identifies a version of a file: if any of it changes, the entry is
/// dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    /// The identity of the file `metadata` describes.
    pub(crate) fn of(metadata: &Metadata) -> Identity {
        Identity {
            dev: metadata.dev(),
            ino: metadata.ino(),
            len: metadata.len(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    /// Whether the file was last modified (contents or metadata) at least
    /// [`SETTLED`] before `now`.
    pub(crate) fn settled(&self, now: SystemTime) -> bool {
        let Ok(now) = now.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let newest = self.mtime.max(self.ctime);
        let newest = Duration::new(
            newest.0.max(0).unsigned_abs(),
            newest.1.clamp(0, 999_999_999) as u32,
        );
        now.saturating_sub(newest) >= SETTLED
    }
}

/// One kept file.
#[derive(Debug)]
struct Entry {
    /// The path whose `stat` must still give `identity`.
    checked_by: Arc<Path>,
    identity: Identity,
    /// What it counts for in [`Inner::bytes`].
    size: usize,
    representation: Arc<Representation>,
}

/// The kept files, shared by every connection.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By the URL's path as the request gave it: a hit skips its decoding
    /// and checks, which found that file when the entry was made.
    entries: HashMap<Box<str>, Entry>,
    bytes: usize,
}

impl Cache {
    /// The file kept for the URL path `key`, if the file system still says
    /// it is the same; a stale one is dropped. Makes one `stat` call on the
    /// calling thread, outside the lock.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Representation>> {
        let (checked_by, identity, representation) = {
            let inner = self.lock();
            let entry = inner.entries.get(key)?;
            (
                entry.checked_by.clone(),
                entry.identity,
                entry.representation.clone(),
            )
        };
        match std::fs::metadata(&checked_by) {
            Ok(metadata) if Identity::of(&metadata) == identity => Some(representation),
            _ => {
                let mut inner = self.lock();
                if inner
                    .entries
                    .get(key)
                    .is_some_and(|e| e.identity == identity)
                {
                    inner.remove(key);
                }
                None
            }
        }
    }

    /// Keeps `representation` (whose contents are in memory), found for the
    /// URL path `key` at `checked_by` with `identity`, making room if
    /// needed.
    pub(crate) fn insert(
        &self,
        key: &str,
        checked_by: PathBuf,
        identity: Identity,
        representation: Arc<Representation>,
    ) {
        // Only contents in memory: an open file would hold its descriptor.
        let Source::Memory(contents) = &representation.source else {
            return;
        };
        if contents.len() as u64 > MAX_FILE || key.len() > MAX_KEY {
            return;
        }
        // Every spelling of a path is a key of its own: keys count too.
        let size = contents.len() + key.len() + checked_by.as_os_str().len();
        let mut inner = self.lock();
        inner.remove(key);
        while inner.entries.len() >= MAX_ENTRIES || inner.bytes + size > MAX_BYTES {
            // Any entry: a full cache of equally useful small files has no
            // better victim that would be worth tracking.
            let Some(victim) = inner.entries.keys().next().cloned() else {
                break;
            };
            inner.remove(&victim);
        }
        inner.bytes += size;
        inner.entries.insert(
            key.into(),
            Entry {
                checked_by: checked_by.into(),
                identity,
                size,
                representation,
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map stays consistent whatever panicked while holding it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.bytes -= entry.size;
        }
    }
}

/// Whether `file` is on a local file system that one `stat` tells every
/// change of: not a network file system, whose attributes may be cached for
/// a minute, whose times come from another clock and whose reads wait on
/// the network; nor FUSE (a process behind every call) or FAT (2 s times).
/// Files elsewhere are looked up anew for every request, as before the
/// cache, and never sent by `sendfile(2)` on the connection's thread.
pub(crate) fn local_file_system(file: &std::fs::File) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        const UNTRUSTED: [i64; 10] = [
            0x6969,      // NFS
            0x517b,      // SMB
            0xff53_4d42, // CIFS
            0xfe53_4d42, // SMB2
            0x6573_5546, // FUSE
            0x0102_1997, // 9P
            0x00c3_6400, // Ceph
            0x5346_414f, // AFS
            0x4d44,      // FAT
            0x2011_bab0, // exFAT
        ];
        match rustix::fs::fstatfs(file) {
            // The field's type differs between architectures.
            #[allow(clippy::unnecessary_cast)]
            Ok(fs) => !UNTRUSTED.contains(&(fs.f_type as i64)),
            Err(_) => false,
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = file;
        true
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::server::file_body::Source;

    fn representation(contents: &'static [u8]) -> Arc<Representation> {
        let metadata = std::fs::metadata("/").expect("stat /");
        let mut representation = Representation::new(
            Path::new("x.txt"),
            &metadata,
            Source::Memory(Bytes::from_static(contents)),
        );
        representation.len = contents.len() as u64;
        Arc::new(representation)
    }

    #[test]
    fn an_entry_lives_while_its_file_is_unchanged() {
        let dir = std::env::temp_dir().join(format!("paf-cli-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("a.txt");
        std::fs::write(&path, b"one").expect("write");
        let identity = Identity::of(&std::fs::metadata(&path).expect("stat"));
        let cache = Cache::default();
        let key = "/a.txt";
        cache.insert(key, path.clone(), identity, representation(b"one"));
        assert!(cache.get(key).is_some());

        // A longer rewrite always shows; one of the same length within a
        // tick of the file system's clock may not, which is why contents
        // are kept only once settled.
        std::fs::write(&path, b"three").expect("rewrite");
        assert!(
            cache.get(key).is_none(),
            "a rewritten file is looked up again"
        );
        assert_eq!(cache.lock().entries.len(), 0);

        let identity = Identity::of(&std::fs::metadata(&path).expect("stat"));
        cache.insert(key, path.clone(), identity, representation(b"three"));
        std::fs::remove_file(&path).expect("remove");
        assert!(cache.get(key).is_none(), "a removed file is not served");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_cache_stays_within_its_bounds() {
        let cache = Cache::default();
        let identity = Identity {
            dev: 0,
            ino: 0,
            len: 0,
            mtime: (0, 0),
            ctime: (0, 0),
        };
        for i in 0..MAX_ENTRIES + 10 {
            let key = format!("/{i}");
            cache.insert(
                &key,
                PathBuf::from("/nonexistent"),
                identity,
                representation(b"x"),
            );
        }
        let long = format!("/{}", "x".repeat(MAX_KEY));
        cache.insert(
            &long,
            PathBuf::from("/nonexistent"),
            identity,
            representation(b"x"),
        );
        let inner = cache.lock();
        assert_eq!(inner.entries.len(), MAX_ENTRIES);
        assert!(
            !inner.entries.contains_key(long.as_str()),
            "a long key is not kept"
        );
        let counted: usize = inner.entries.values().map(|entry| entry.size).sum();
        assert_eq!(inner.bytes, counted);
        assert!(inner.bytes <= MAX_BYTES);
    }

    #[test]
    fn contents_settle_after_a_second() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let at = |secs: i64, nanos: i64| Identity {
            dev: 0,
            ino: 0,
            len: 0,
            mtime: (secs, nanos),
            ctime: (secs, nanos),
        };
        assert!(at(998, 999_999_999).settled(now));
        assert!(at(999, 0).settled(now));
        assert!(!at(999, 1).settled(now));
        assert!(
            !at(2_000, 0).settled(now),
            "a time in the future is not settled"
        );
    }
}
