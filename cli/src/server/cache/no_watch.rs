//! Where inotify is missing: no watcher is ever made, so every kept file
//! is checked by `stat`.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

/// The key of a kept file (its URL path).
pub(crate) type Key = Arc<str>;

/// One watch a kept file depends on (never made here).
pub(crate) type Use = (i32, Box<[u8]>);

/// What the events read say: nothing, here.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub(crate) all: bool,
    pub(crate) broken: bool,
    pub(crate) stale: HashSet<Key>,
}

/// Never made.
#[derive(Debug)]
pub(crate) enum Watcher {}

impl Watcher {
    pub(crate) fn new() -> Option<Watcher> {
        None
    }

    pub(crate) fn watch(&mut self, _: &Key, _: &Path) -> Option<Vec<Use>> {
        match *self {}
    }

    pub(crate) fn unwatch(&mut self, _: &str, _: &[Use]) {
        match *self {}
    }

    pub(crate) fn changes(&mut self) -> Option<Changes> {
        match *self {}
    }
}
