//! Size limits applied while parsing.

/// Bounds on what a peer may send; each is enforced before buffering more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Largest message head (start line and fields), in bytes.
    pub max_head_bytes: usize,
    /// Most field lines in a head or a trailer section.
    pub max_headers: usize,
    /// Longest request target, in bytes.
    pub max_target_len: usize,
    /// Most extension bytes on one chunk-size line.
    pub max_chunk_ext_len: usize,
    /// Largest trailer section, in bytes.
    pub max_trailer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            max_target_len: 8 * 1024,
            max_chunk_ext_len: 4 * 1024,
            max_trailer_bytes: 16 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let limits = Limits::default();
        assert_eq!(limits.max_head_bytes, 65_536);
        assert_eq!(limits.max_headers, 100);
        assert_eq!(limits.max_target_len, 8_192);
        assert_eq!(limits.max_chunk_ext_len, 4_096);
        assert_eq!(limits.max_trailer_bytes, 16_384);
    }
}
