//! Being told of changes instead of asking: an `inotify(7)` instance
//! watches, for every kept file, the file itself and each directory on its
//! path, so that a hit costs no system call at all.
//!
//! A file depends on its own inode (written, truncated, its mode, times or
//! links changed, renamed, removed) and, in each directory from `/` down,
//! on the name of the next component (created, removed, renamed from or
//! to, its attributes changed). Events on other names leave it alone; an
//! event on a directory itself (renamed, removed) or a watch the kernel
//! dropped make every file that depends on it stale. inotify says nothing
//! of mounts, so any change to the process's mount table (a mount over a
//! directory on the path, a bind mount removed) makes every kept file
//! stale, as an overflowed event queue does.
//!
//! A thread of its own waits for the events and hands them over, reduced
//! to what they make stale; a lookup reads them when the thread says there
//! are some (one atomic load when there are none). A change is therefore
//! seen as soon as that thread has run, normally within microseconds,
//! where `stat` on every hit saw it at once. Writes through a shared
//! `mmap` raise no event: such files are served as they were until another
//! change shows.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rustix::event::{EventfdFlags, PollFd, PollFlags};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;

/// What a directory on a kept file's path is watched for: its entries
/// coming, going or changing, and its own moving or removal.
const DIRECTORY: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::DONT_FOLLOW);

/// What a kept file is watched for: anything that changes its contents,
/// metadata or place.
const FILE: WatchFlags = WatchFlags::MODIFY
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::DONT_FOLLOW);

/// The key of a kept file (its URL path).
pub(crate) type Key = Arc<str>;

/// One watch a kept file depends on: the watch descriptor and, for a
/// directory, the name of the next component on the file's path (empty for
/// the file's own watch).
pub(crate) type Use = (i32, Box<[u8]>);

/// What the events handed over say.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Every kept file is stale (the queue overflowed, the mount table
    /// changed).
    pub(crate) all: bool,
    /// The thread stopped: no change shows any more.
    pub(crate) broken: bool,
    /// These kept files are stale.
    pub(crate) stale: HashSet<Key>,
}

/// What an event makes stale, as the thread hands it over: a directory
/// that changes often yields one of these per name, however many events.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Stale {
    /// Everything kept.
    All,
    /// The files whose path goes through this name in this directory.
    Name(i32, Box<[u8]>),
    /// Every file that depends on this watch.
    Watch(i32),
    /// Every file that depended on this watch, which the kernel dropped.
    Dropped(i32),
}

/// The most distinct changes kept for the next lookup: past it, everything
/// is stale (as when the kernel's own queue overflows).
const MAX_PENDING: usize = 16 * 1024;

/// The watch descriptors in use, and by whom: by watch descriptor, by name
/// (empty: the watched inode itself), the kept files that depend on it.
type Watches = HashMap<i32, HashMap<Box<[u8]>, HashSet<Key>>>;

/// The inotify instance and who depends on each of its watches.
#[derive(Debug)]
pub(crate) struct Watcher {
    inotify: Arc<OwnedFd>,
    inbox: Arc<Inbox>,
    /// Written to stop the thread.
    stop: Arc<OwnedFd>,
    watches: Watches,
    /// The kernel refused a watch for want of room
    /// (`fs.inotify.max_user_watches`): none is tried until one is removed.
    full: bool,
}

/// What the thread hands over.
#[derive(Debug, Default)]
struct Inbox {
    /// Set once `pending` holds something, or the thread stopped.
    ready: AtomicBool,
    /// The thread stopped other than when asked to.
    broken: AtomicBool,
    pending: Mutex<HashSet<Stale>>,
}

impl Watcher {
    /// A new instance and its thread; `None` when the kernel refuses
    /// (`max_user_instances`), the mount table cannot be watched (no
    /// `/proc`), or no thread can start.
    pub(crate) fn new() -> Option<Watcher> {
        let made = (|| {
            let inotify = inotify::init(CreateFlags::CLOEXEC)?;
            let stop = rustix::event::eventfd(0, EventfdFlags::CLOEXEC)?;
            let mounts = File::open("/proc/self/mountinfo")?;
            std::io::Result::Ok((Arc::new(inotify), Arc::new(stop), mounts))
        })();
        let (inotify, stop, mounts) = made
            .map_err(|err| tracing::debug!(%err, "no inotify: every cache hit is checked by stat"))
            .ok()?;
        let inbox = Arc::new(Inbox::default());
        let (fd, to, quit) = (inotify.clone(), inbox.clone(), stop.clone());
        std::thread::Builder::new()
            .name("paf-watch".into())
            .spawn(move || listen(&fd, &mounts, &quit, &to))
            .map_err(
                |err| tracing::debug!(%err, "no watch thread: every cache hit is checked by stat"),
            )
            .ok()?;
        Some(Watcher {
            inotify,
            inbox,
            stop,
            watches: HashMap::new(),
            full: false,
        })
    }

    /// Watches the file at `path` (absolute, canonical) and every directory
    /// above it for `key`; the watches it now depends on, or `None` (and
    /// nothing left watched for it) if one could not be added.
    pub(crate) fn watch(&mut self, key: &Key, path: &Path) -> Option<Vec<Use>> {
        if self.full {
            return None;
        }
        let mut uses = Vec::new();
        let mut dir = Path::new("/").to_path_buf();
        let mut out_of_room = false;
        let mut added = |at: &Path, flags: WatchFlags, name: &[u8], uses: &mut Vec<Use>| {
            match inotify::add_watch(&*self.inotify, at, flags) {
                Ok(wd) => {
                    let names = self.watches.entry(wd).or_default();
                    names.entry(name.into()).or_default().insert(key.clone());
                    uses.push((wd, name.into()));
                    true
                }
                Err(err) => {
                    tracing::debug!(%err, path = %at.display(), "cannot watch: checked by stat");
                    out_of_room = err == Errno::NOSPC;
                    false
                }
            }
        };
        let mut components = path.components().peekable();
        if components.next() != Some(Component::RootDir) {
            return None;
        }
        let mut ok = true;
        while let Some(component) = components.next() {
            let Component::Normal(name) = component else {
                ok = false;
                break;
            };
            ok = added(&dir, DIRECTORY, name.as_bytes(), &mut uses);
            if !ok {
                break;
            }
            dir.push(name);
            if components.peek().is_none() {
                ok = added(&dir, FILE, b"", &mut uses);
            }
        }
        if ok && !uses.is_empty() {
            return Some(uses);
        }
        self.unwatch(key, &uses);
        // After the unwatching, which says there is room again.
        self.full = out_of_room;
        None
    }

    /// How many watches are in place.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.watches.len()
    }

    /// Forgets that `key` depends on `uses`, removing the watches nothing
    /// depends on any more.
    pub(crate) fn unwatch(&mut self, key: &str, uses: &[Use]) {
        for (wd, name) in uses {
            let Some(names) = self.watches.get_mut(wd) else {
                continue;
            };
            if let Some(keys) = names.get_mut(name) {
                keys.remove(key);
                if keys.is_empty() {
                    names.remove(name);
                }
            }
            if names.is_empty() {
                self.watches.remove(wd);
                // Gone already if the kernel dropped it.
                let _ = inotify::remove_watch(&*self.inotify, *wd);
                self.full = false;
            }
        }
    }

    /// What the changes handed over since the last call make stale; `None`
    /// after one atomic load when there are none.
    pub(crate) fn changes(&mut self) -> Option<Changes> {
        if !self.inbox.ready.load(Ordering::Acquire) {
            return None;
        }
        self.inbox.ready.store(false, Ordering::Release);
        let mut changes = Changes {
            broken: self.inbox.broken.load(Ordering::Acquire),
            ..Changes::default()
        };
        let pending = std::mem::take(&mut *self.inbox.lock());
        for stale in pending {
            note(&mut self.watches, stale, &mut changes);
        }
        Some(changes)
    }

    /// Hands over an overflow, as the kernel or a mount would cause.
    #[cfg(test)]
    pub(crate) fn hand_over_all(&self) {
        self.inbox.hand_over([Stale::All]);
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // The thread ends, and with it the last handle on the instance.
        let _ = rustix::io::write(&*self.stop, &1u64.to_ne_bytes());
    }
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Stale>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds what the thread read; too much at once counts as everything.
    fn hand_over(&self, read: impl IntoIterator<Item = Stale>) {
        let mut pending = self.lock();
        pending.extend(read);
        if pending.len() > MAX_PENDING {
            pending.clear();
            pending.insert(Stale::All);
        }
        drop(pending);
        self.ready.store(true, Ordering::Release);
    }
}

/// Marks the inbox broken when the thread ends other than by `stop`, even
/// by a panic: lookups then stop trusting the watches.
struct Ending<'a> {
    inbox: &'a Inbox,
    asked: bool,
}

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        if !self.asked {
            tracing::warn!("watching files stopped: cached files are checked by stat from now on");
            self.inbox.broken.store(true, Ordering::Release);
            self.inbox.ready.store(true, Ordering::Release);
        }
    }
}

/// The thread: waits for events, a change of the mount table, or `stop`,
/// and hands over what they make stale.
fn listen(inotify: &OwnedFd, mounts: &File, stop: &OwnedFd, inbox: &Inbox) {
    let mut ending = Ending {
        inbox,
        asked: false,
    };
    let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
    loop {
        let mut fds = [
            PollFd::new(inotify, PollFlags::IN),
            // The mount table says it changed with POLLPRI (and POLLERR);
            // polling again waits for the next change.
            PollFd::new(mounts, PollFlags::PRI),
            PollFd::new(stop, PollFlags::IN),
        ];
        match rustix::event::poll(&mut fds, None) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(err) => {
                tracing::warn!(%err, "cannot wait for file events");
                return;
            }
        }
        if !fds[2].revents().is_empty() {
            ending.asked = true;
            return;
        }
        if !fds[1].revents().is_empty() {
            inbox.hand_over([Stale::All]);
        }
        if fds[0].revents().is_empty() {
            continue;
        }
        // One read, which cannot wait: the instance is readable.
        let mut reader = inotify::Reader::new(inotify, &mut buf);
        let mut read = HashSet::new();
        loop {
            match reader.next() {
                Ok(event) => {
                    let name = event.file_name().map(|name| name.to_bytes());
                    read.insert(classify(event.wd(), event.events(), name));
                }
                Err(Errno::INTR) => {}
                Err(err) => {
                    tracing::warn!(%err, "cannot read file events");
                    return;
                }
            }
            if reader.is_buffer_empty() {
                break;
            }
        }
        inbox.hand_over(read);
    }
}

/// What an event on watch `wd` about `name` makes stale.
fn classify(wd: i32, events: ReadFlags, name: Option<&[u8]>) -> Stale {
    if events.contains(ReadFlags::QUEUE_OVERFLOW) {
        return Stale::All;
    }
    if events.contains(ReadFlags::IGNORED) {
        return Stale::Dropped(wd);
    }
    // Events on the watched file itself (its own removal or move) carry
    // no name.
    match name {
        Some(name) => Stale::Name(wd, name.into()),
        None => Stale::Watch(wd),
    }
}

/// Adds the kept files `stale` names to `changes`.
fn note(watches: &mut Watches, stale: Stale, changes: &mut Changes) {
    let (wd, name) = match &stale {
        Stale::All => {
            changes.all = true;
            return;
        }
        Stale::Name(wd, name) => (*wd, Some(name)),
        Stale::Watch(wd) | Stale::Dropped(wd) => (*wd, None),
    };
    let Some(names) = watches.get(&wd) else {
        return;
    };
    match name {
        None => changes.stale.extend(names.values().flatten().cloned()),
        Some(name) => changes
            .stale
            .extend(names.get(name).into_iter().flatten().cloned()),
    }
    if let Stale::Dropped(wd) = stale {
        // Nothing can be removed from the kernel any more.
        watches.remove(&wd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        Arc::from(s)
    }

    fn watches() -> Watches {
        // Directory 1 holds `a.txt` (kept as /a.txt) and `d` (on the path
        // of /d/b.txt); 2 is the file /a.txt itself.
        let mut dir = HashMap::new();
        dir.insert(Box::from(&b"a.txt"[..]), HashSet::from([key("/a.txt")]));
        dir.insert(Box::from(&b"d"[..]), HashSet::from([key("/d/b.txt")]));
        let mut file = HashMap::new();
        file.insert(Box::from(&b""[..]), HashSet::from([key("/a.txt")]));
        HashMap::from([(1, dir), (2, file)])
    }

    fn stale(wd: i32, events: ReadFlags, name: Option<&[u8]>) -> Changes {
        let mut changes = Changes::default();
        note(&mut watches(), classify(wd, events, name), &mut changes);
        changes
    }

    #[test]
    fn a_name_makes_only_what_goes_through_it_stale() {
        let moved = stale(1, ReadFlags::MOVED_TO, Some(b"d"));
        assert_eq!(moved.stale, HashSet::from([key("/d/b.txt")]));
        let other = stale(1, ReadFlags::CREATE, Some(b"other.txt"));
        assert!(other.stale.is_empty() && !other.all);
        let written = stale(2, ReadFlags::MODIFY, None);
        assert_eq!(written.stale, HashSet::from([key("/a.txt")]));
    }

    #[test]
    fn a_directory_moved_or_a_watch_dropped_makes_all_below_stale() {
        for events in [
            ReadFlags::MOVE_SELF,
            ReadFlags::DELETE_SELF,
            ReadFlags::IGNORED,
        ] {
            let changes = stale(1, events, None);
            assert_eq!(changes.stale.len(), 2, "{events:?}");
        }
        let mut watches = watches();
        let dropped = classify(1, ReadFlags::IGNORED, None);
        note(&mut watches, dropped, &mut Changes::default());
        assert!(!watches.contains_key(&1), "a dropped watch is forgotten");
    }

    #[test]
    fn an_overflow_makes_everything_stale() {
        let changes = stale(-1, ReadFlags::QUEUE_OVERFLOW, None);
        assert!(changes.all);
        assert!(stale(7, ReadFlags::MODIFY, None).stale.is_empty());
    }

    #[test]
    fn many_events_on_one_name_are_one_change() {
        let inbox = Inbox::default();
        inbox.hand_over((0..100).map(|_| classify(1, ReadFlags::CREATE, Some(b"x"))));
        assert_eq!(inbox.lock().len(), 1);
        inbox.hand_over((0..=MAX_PENDING as i32).map(Stale::Watch));
        assert_eq!(*inbox.lock(), HashSet::from([Stale::All]));
    }
}
