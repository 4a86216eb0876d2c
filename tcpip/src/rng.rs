//! A small deterministic random generator (xorshift64*), for loss and
//! jitter draws and ephemeral ports: nothing here needs cryptographic
//! quality.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A seed the process has not used before: std's per-process random keys.
    pub(crate) fn entropy() -> u64 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x7463_7069_7020_7365);
        hasher.finish()
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
