use std::fmt;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};

/// Source of key identities. Only identities come from here: values and
/// registrations always live in a [`Ctx`](crate::Ctx).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The identity of a key, independent of its value type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct KeyId(u64);

/// A typed key for values in a [`Ctx`](crate::Ctx).
///
/// A key has a human name, used only in diagnostics, and an identity: two
/// keys with the same name are still different keys. Reading a key from a
/// context gives an `Option<&T>` of exactly its type. A key also remembers
/// where it was declared ([`declared`](Key::declared)), so that a report
/// can tell two keys of one name apart: when an input is missing while
/// another key of its name has a value, the report says so, and where each
/// was declared.
///
/// Declare keys as `static` items, never as `const`: a `const` is a fresh
/// value at every use and would therefore be a fresh key each time.
/// Cloning a key gives the same key.
///
/// ```
/// use mimic::{Ctx, Key};
///
/// static REGION: Key<String> = Key::new("region");
///
/// let ctx = Ctx::new().with(&REGION, "eu-west".to_string());
/// assert_eq!(ctx.get(&REGION).map(String::as_str), Some("eu-west"));
/// ```
pub struct Key<T> {
    name: &'static str,
    declared: &'static Location<'static>,
    // 0 until first use; assigned once from NEXT_ID so that `new` can be a
    // `const fn` usable in statics.
    id: AtomicU64,
    _type: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// Makes a new key named `name`, declared where this is called.
    #[track_caller]
    pub const fn new(name: &'static str) -> Self {
        Key {
            name,
            declared: Location::caller(),
            id: AtomicU64::new(0),
            _type: PhantomData,
        }
    }

    /// The name given at creation, for diagnostics.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Where the key was made: the `static` item, or the call of
    /// [`Key::new`] (or of [`Registration::new`](crate::Registration::new),
    /// which makes its endpoint key).
    pub fn declared(&self) -> &'static Location<'static> {
        self.declared
    }

    /// The identity, name and declaration, as the resolver reads them.
    pub(crate) fn named(&self) -> Named {
        Named {
            id: self.id(),
            name: self.name,
            declared: self.declared,
        }
    }

    pub(crate) fn id(&self) -> KeyId {
        let id = self.id.load(Ordering::Acquire);
        if id != 0 {
            return KeyId(id);
        }
        let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        match self
            .id
            .compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => KeyId(fresh),
            Err(won) => KeyId(won),
        }
    }
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        Key {
            name: self.name,
            declared: self.declared,
            id: AtomicU64::new(self.id().0),
            _type: PhantomData,
        }
    }
}

impl<T> PartialEq for Key<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl<T> Eq for Key<T> {}

impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({:?})", self.name)
    }
}

impl<T> fmt::Display for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A key without its type: what evaluation and reports need of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Named {
    pub(crate) id: KeyId,
    pub(crate) name: &'static str,
    pub(crate) declared: &'static Location<'static>,
}

/// Hashing for maps keyed by [`KeyId`]: ids are small distinct counters,
/// so a multiplication spreads them well enough and SipHash is not needed.
pub(crate) type IdHash = std::hash::BuildHasherDefault<IdHasher>;

#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static A: Key<u8> = Key::new("a");

    #[test]
    fn identity_survives_clone_and_differs_by_key() {
        let b: Key<u8> = Key::new("a");
        assert_eq!(A.clone(), A);
        assert_ne!(A.id(), b.id());
        assert_eq!(A.id(), A.id());
        assert_eq!(b.clone().id(), b.id());
    }

    #[test]
    fn a_key_knows_where_it_was_declared() {
        assert_eq!(A.declared().file(), file!());
        let here = line!() + 1;
        let b: Key<u8> = Key::new("a");
        assert_eq!(b.declared().line(), here);
        assert_eq!(b.clone().declared(), b.declared());
        assert_ne!(A.declared(), b.declared());
    }
}
