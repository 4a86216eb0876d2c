//! What the fuzz targets share.

use paf::fuzzing::Limits;

/// Limits small enough that fuzzed inputs reach every one of them.
pub fn tight_limits() -> Limits {
    Limits {
        max_head_bytes: 512,
        max_headers: 8,
        max_target_len: 64,
        max_chunk_ext_len: 16,
        max_trailer_bytes: 128,
    }
}

/// Limits no fuzzed input reaches, for re-parsing what was re-encoded
/// (which may be a little longer than what was read).
pub fn roomy_limits() -> Limits {
    Limits {
        max_head_bytes: 1 << 20,
        max_headers: 1 << 16,
        max_target_len: 1 << 20,
        max_chunk_ext_len: 1 << 20,
        max_trailer_bytes: 1 << 20,
    }
}

/// A point at which to cut `data` in two (`0..=data.len()`), taken from
/// its contents so that it moves as the fuzzer mutates them.
pub fn cut(data: &[u8]) -> usize {
    let hash = data.iter().fold(0x811c_9dc5_u32, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    usize::try_from(hash).map_or(0, |hash| hash % (data.len() + 1))
}
