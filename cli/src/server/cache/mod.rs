//! Small files kept in memory between requests, served while the file
//! system says they are unchanged.
//!
//! Without it, every request walks the path (`canonicalize`), opens the
//! file, checks the handle and reads it, on the blocking pool: four thread
//! hops and some twenty system calls for a 1 KiB file. A kept file is
//! answered on the connection's own thread.
//!
//! Correctness rests on being told of every change: an entry is served
//! only while the path it was found by (`root/relative`, or
//! `root/relative/index.html`) still leads to the same inode with the same
//! length, modification and change times. A file written, truncated,
//! replaced, renamed over, or whose mode changed, or a directory on its
//! path renamed, removed or replaced, makes the entry stale, and the next
//! request looks the file up again from the start, with every check of
//! `files.rs` and `open.rs`. Two ways to tell:
//!
//! - **Events** (`watch.rs`, Linux): the file and each directory on its
//!   path are watched by inotify; a hit makes no system call. This is for
//!   paths without symbolic links on local file systems.
//! - **`stat`** of the path on every hit, for the rest: a path through a
//!   symbolic link, a file system not known to be local (overlayfs, whose
//!   layers can change beneath inotify, cluster file systems, ZFS), or
//!   when a watch cannot be added. A path that now leads through a
//!   symbolic link to the same inode is served, since that inode was
//!   checked to lie under the root when it was opened.
//!
//! Files on network file systems, FUSE and FAT are never kept (see
//! [`Trust`]).
//!
//! Contents are only kept when they have not been modified for a second
//! ([`SETTLED`]) and the file's metadata did not change while they were
//! read: a file written twice within one tick of the file system's clock
//! keeps its times, so younger contents could be stale. A watched file is
//! checked once more after its watches are in place, so that a change
//! made before them is not missed.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod watch;
// Elsewhere nothing is watched: every hit is checked by `stat`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[path = "no_watch.rs"]
mod watch;

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use self::watch::{Key, Use, Watcher};
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

/// Where a file that can be kept was found, and how its changes show.
#[derive(Debug)]
pub(crate) struct Keep {
    /// The path its URL path led to, whose `stat` must still give
    /// `identity`.
    pub(crate) checked_by: PathBuf,
    /// The version read.
    pub(crate) identity: Identity,
    /// Whether inotify can tell its changes: `checked_by` has no symbolic
    /// link and lies on a file system that reports every change.
    pub(crate) watchable: bool,
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
    /// The watches that tell its changes; `None`: checked by `stat`.
    watched: Option<Vec<Use>>,
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
    entries: HashMap<Key, Entry>,
    bytes: usize,
    watcher: Watching,
}

/// The inotify instance, made with the first watchable entry.
#[derive(Debug, Default)]
enum Watching {
    #[default]
    NotYet,
    /// None could be made, or its thread stopped: every entry is checked
    /// by `stat`.
    Off,
    /// Watchable entries are watched.
    On(Watcher),
}

impl Cache {
    /// The file kept for the URL path `key`, if the file system still says
    /// it is the same; a stale one is dropped. A watched file costs no
    /// system call; another is checked by one `stat` on the calling thread,
    /// outside the lock.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Representation>> {
        let (checked_by, identity, representation) = {
            let mut inner = self.lock();
            inner.apply_changes();
            let entry = inner.entries.get(key)?;
            if entry.watched.is_some() {
                return Some(entry.representation.clone());
            }
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
    /// URL path `key` as `keep` says, making room if needed. A file that
    /// changed before its watches were in place is not kept.
    pub(crate) fn insert(&self, key: &str, keep: Keep, representation: Arc<Representation>) {
        // Only contents in memory: an open file would hold its descriptor.
        let Source::Memory(contents) = &representation.source else {
            return;
        };
        if contents.len() as u64 > MAX_FILE || key.len() > MAX_KEY {
            return;
        }
        // Every spelling of a path is a key of its own: keys count too.
        let size = contents.len() + key.len() + keep.checked_by.as_os_str().len();
        let mut inner = self.lock();
        // Changes already handed over are applied before the new entry's
        // watches (one not yet handed over may still make it stale: a miss
        // more, nothing worse).
        inner.apply_changes();
        inner.remove(key);
        while inner.entries.len() >= MAX_ENTRIES || inner.bytes + size > MAX_BYTES {
            // Any entry: a full cache of equally useful small files has no
            // better victim that would be worth tracking.
            let Some(victim) = inner.entries.keys().next().cloned() else {
                break;
            };
            inner.remove(&victim);
        }
        let key: Key = key.into();
        let watched = match keep.watchable {
            true => match inner.watch(&key, &keep.checked_by, keep.identity) {
                Ok(watched) => watched,
                Err(Changed) => return,
            },
            false => None,
        };
        inner.bytes += size;
        inner.entries.insert(
            key,
            Entry {
                checked_by: keep.checked_by.into(),
                identity: keep.identity,
                size,
                representation,
                watched,
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map stays consistent whatever panicked while holding it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The file changed before its watches were in place.
struct Changed;

impl Inner {
    fn remove(&mut self, key: &str) {
        let Some(entry) = self.entries.remove(key) else {
            return;
        };
        self.bytes -= entry.size;
        if let (Some(uses), Watching::On(watcher)) = (&entry.watched, &mut self.watcher) {
            watcher.unwatch(key, uses);
        }
    }

    /// Watches the file of `key` at `path`; `None` if it cannot be
    /// watched (it is then checked by `stat`), `Changed` if it is no longer
    /// the version `identity` read.
    fn watch(
        &mut self,
        key: &Key,
        path: &Path,
        identity: Identity,
    ) -> Result<Option<Vec<Use>>, Changed> {
        if let Watching::NotYet = self.watcher {
            self.watcher = Watcher::new().map_or(Watching::Off, Watching::On);
        }
        let Watching::On(watcher) = &mut self.watcher else {
            return Ok(None);
        };
        let Some(uses) = watcher.watch(key, path) else {
            return Ok(None);
        };
        // Watched from here on: a change before now shows in `stat` (of the
        // path itself, as the watches do not follow links either).
        match std::fs::symlink_metadata(path) {
            Ok(metadata) if Identity::of(&metadata) == identity => Ok(Some(uses)),
            _ => {
                watcher.unwatch(key, &uses);
                Err(Changed)
            }
        }
    }

    /// Drops the entries the events read since the last call make stale.
    fn apply_changes(&mut self) {
        let Watching::On(watcher) = &mut self.watcher else {
            return;
        };
        let Some(changes) = watcher.changes() else {
            return;
        };
        if changes.all || changes.broken {
            let keys: Vec<Key> = self.entries.keys().cloned().collect();
            for key in keys {
                self.remove(&key);
            }
            if changes.broken {
                self.watcher = Watching::Off;
            }
            return;
        }
        for key in changes.stale {
            self.remove(&key);
        }
    }
}

/// How far the file system a file lies on shows its changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trust {
    /// Not at all: a network file system, whose attributes may be cached
    /// for a minute, whose times come from another clock and whose reads
    /// wait on the network; FUSE (a process behind every call) or FAT (2 s
    /// times). Such files are looked up anew for every request, as before
    /// the cache, and never sent by `sendfile(2)` on the connection's
    /// thread.
    Nothing,
    /// By `stat`, not by inotify: every file system not known to be local
    /// to this kernel (overlayfs, whose layers can change beneath it,
    /// cluster file systems, ZFS, shared folders of a hypervisor), and
    /// every system but Linux.
    Stat,
    /// By `stat` and by inotify's events: file systems only this kernel
    /// writes to.
    Events,
}

/// What the file system `file` lies on shows of its changes.
pub(crate) fn trust(file: &std::fs::File) -> Trust {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        const NOTHING: [u32; 10] = [
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
        const EVENTS: [u32; 7] = [
            0xef53,      // ext2, ext3, ext4
            0x5846_5342, // XFS
            0x9123_683e, // Btrfs
            0x0102_1994, // tmpfs
            0x8584_58f6, // ramfs
            0xf2f5_2010, // F2FS
            0xca45_1a4e, // bcachefs
        ];
        match rustix::fs::fstatfs(file) {
            // The field's type differs between architectures, and is
            // signed where it is 32 bits: the magic is its low 32 bits.
            #[allow(clippy::unnecessary_cast)]
            Ok(fs) => match fs.f_type as u32 {
                kind if NOTHING.contains(&kind) => Trust::Nothing,
                kind if EVENTS.contains(&kind) => Trust::Events,
                _ => Trust::Stat,
            },
            Err(_) => Trust::Nothing,
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = file;
        Trust::Stat
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

    fn by_stat(path: &Path, identity: Identity) -> Keep {
        Keep {
            checked_by: path.to_path_buf(),
            identity,
            watchable: false,
        }
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
        cache.insert(key, by_stat(&path, identity), representation(b"one"));
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
        cache.insert(key, by_stat(&path, identity), representation(b"three"));
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
                by_stat(Path::new("/nonexistent"), identity),
                representation(b"x"),
            );
        }
        let long = format!("/{}", "x".repeat(MAX_KEY));
        cache.insert(
            &long,
            by_stat(Path::new("/nonexistent"), identity),
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

    /// A temporary directory (canonical: no symbolic link on its path),
    /// removed when dropped.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    struct Dir(PathBuf);

    #[cfg(any(target_os = "linux", target_os = "android"))]
    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir().join(format!("paf-cli-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("d")).expect("temp dir");
            // Made before anything is watched, so that no event tells of it.
            std::fs::write(dir.join("sentinel.txt"), b"s").expect("write");
            Dir(std::fs::canonicalize(&dir).expect("canonical"))
        }

        /// Returns once every event of the changes made so far has been
        /// read: events arrive in order, and the sentinel's change is the
        /// last. Its rewriting by `keep` raises none (nothing watches it
        /// then, and directories are not watched for writes).
        fn sync(&self, cache: &Cache) {
            let key = self.keep(cache, "sentinel.txt", b"s");
            std::fs::write(self.0.join("sentinel.txt"), b"t").expect("write");
            assert!(goes_stale(cache, &key), "the sentinel's change shows");
        }

        /// Keeps `relative` (written with `contents`) in `cache`, watched.
        fn keep(&self, cache: &Cache, relative: &str, contents: &'static [u8]) -> String {
            let path = self.0.join(relative);
            std::fs::write(&path, contents).expect("write");
            let identity = Identity::of(&std::fs::metadata(&path).expect("stat"));
            let key = format!("/{relative}");
            let keep = Keep {
                checked_by: path,
                identity,
                watchable: true,
            };
            cache.insert(&key, keep, representation(contents));
            let inner = cache.lock();
            let entry = inner.entries.get(key.as_str()).expect("kept");
            assert!(entry.watched.is_some(), "{key} is watched");
            key
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Whether `key` goes stale within 5 s (the watch thread hands events
    /// over in microseconds; a loaded machine may take longer).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn goes_stale(cache: &Cache, key: &str) -> bool {
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < until {
            if cache.get(key).is_none() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    /// A change made to the file at a path.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    type Change = fn(&Path);

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn watched_entries_go_stale_on_every_kind_of_change() {
        let dir = Dir::new("watch");
        let cache = Cache::default();
        let root = &dir.0;
        let changes: [(&str, Change); 7] = [
            ("written", |p| std::fs::write(p, b"other").expect("write")),
            ("truncated", |p| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .and_then(|f| f.set_len(1))
                    .expect("truncate")
            }),
            ("made unreadable", |p| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o200)).expect("chmod")
            }),
            ("renamed over", |p| {
                let new = p.with_extension("new");
                std::fs::write(&new, b"new").expect("write");
                std::fs::rename(&new, p).expect("rename")
            }),
            ("removed", |p| std::fs::remove_file(p).expect("remove")),
            ("its directory renamed", |p| {
                let dir = p.parent().expect("parent");
                std::fs::rename(dir, dir.with_extension("old")).expect("rename")
            }),
            ("written through a hard link made before", |p| {
                std::fs::write(p.with_extension("link"), b"through the link").expect("write")
            }),
        ];
        let other = dir.keep(&cache, "b.txt", b"other");
        for (what, change) in changes {
            let _ = std::fs::remove_dir_all(root.join("d.old"));
            std::fs::create_dir_all(root.join("d")).expect("d");
            std::fs::write(root.join("d/a.txt"), b"kept").expect("write");
            let _ = std::fs::remove_file(root.join("d/a.link"));
            std::fs::hard_link(root.join("d/a.txt"), root.join("d/a.link")).expect("link");
            dir.sync(&cache);
            let key = dir.keep(&cache, "d/a.txt", b"kept");
            assert!(cache.get(&key).is_some(), "{what}: kept before");
            change(&root.join("d/a.txt"));
            assert!(goes_stale(&cache, &key), "{what}: stale after");
            assert!(cache.get(&other).is_some(), "{what}: another file stays");
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn changes_elsewhere_leave_a_watched_entry_alone() {
        let dir = Dir::new("unrelated");
        let cache = Cache::default();
        let root = &dir.0;
        let key = dir.keep(&cache, "d/a.txt", b"kept");
        std::fs::write(root.join("d/unrelated.txt"), b"x").expect("write");
        std::fs::write(root.join("unrelated.txt"), b"x").expect("write");
        std::fs::create_dir(root.join("e")).expect("mkdir");
        let _ = std::fs::read(root.join("d/a.txt")).expect("read");
        dir.sync(&cache);
        assert!(cache.get(&key).is_some(), "unrelated changes and reads");
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn watches_are_removed_with_their_entries() {
        let dir = Dir::new("unwatch");
        let cache = Cache::default();
        let key = dir.keep(&cache, "d/a.txt", b"kept");
        let watches = |cache: &Cache| match &cache.lock().watcher {
            Watching::On(watcher) => watcher.len(),
            _ => panic!("a watcher"),
        };
        // `/`, each directory down to `d`, and the file.
        let depth = dir.0.join("d/a.txt").components().count();
        assert_eq!(watches(&cache), depth);
        cache.lock().remove(&key);
        assert_eq!(watches(&cache), 0);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_file_changed_before_its_watches_is_not_kept() {
        let dir = Dir::new("changed");
        let cache = Cache::default();
        let path = dir.0.join("a.txt");
        std::fs::write(&path, b"one").expect("write");
        let identity = Identity::of(&std::fs::metadata(&path).expect("stat"));
        // Changed between the lookup (which read `identity`) and the
        // watches.
        std::fs::write(&path, b"three").expect("rewrite");
        let keep = Keep {
            checked_by: path,
            identity,
            watchable: true,
        };
        cache.insert("/a.txt", keep, representation(b"one"));
        assert!(cache.get("/a.txt").is_none());
        let inner = cache.lock();
        let Watching::On(watcher) = &inner.watcher else {
            panic!("a watcher");
        };
        assert_eq!(watcher.len(), 0, "its watches are removed");
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn an_overflow_or_a_mount_empties_the_cache() {
        let dir = Dir::new("overflow");
        let cache = Cache::default();
        let a = dir.keep(&cache, "d/a.txt", b"a");
        let b = dir.keep(&cache, "b.txt", b"b");
        match &cache.lock().watcher {
            Watching::On(watcher) => watcher.hand_over_all(),
            _ => panic!("a watcher"),
        }
        assert!(cache.get(&a).is_none() && cache.get(&b).is_none());
        let inner = cache.lock();
        assert_eq!((inner.entries.len(), inner.bytes), (0, 0));
        let Watching::On(watcher) = &inner.watcher else {
            panic!("a watcher");
        };
        assert_eq!(watcher.len(), 0, "every watch is removed");
    }
}
