//! The queue of outgoing bytes, shaped for vectored writes.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Data shorter than this is copied next to the head rather than queued on
/// its own, so that a small response leaves in one slice.
const COPY_BELOW: usize = 1024;

/// Outgoing bytes: frozen segments followed by a contiguous staging area.
#[derive(Debug, Default)]
pub(crate) struct WriteBuf {
    /// Segments to send first, in order.
    queue: VecDeque<Bytes>,
    /// Bytes of `queue`.
    queued: usize,
    /// Heads and small pieces, sent after `queue`; its allocation is reused.
    staging: BytesMut,
}

impl WriteBuf {
    /// An empty queue.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The staging area, where heads and small pieces are appended.
    pub(crate) fn head_mut(&mut self) -> &mut BytesMut {
        &mut self.staging
    }

    /// Appends `data`: copied when small, queued as its own segment otherwise.
    pub(crate) fn push(&mut self, data: Bytes) {
        if data.len() < COPY_BELOW {
            self.staging.extend_from_slice(&data);
            return;
        }
        if !self.staging.is_empty() {
            let staged = self.staging.split().freeze();
            self.queued += staged.len();
            self.queue.push_back(staged);
        }
        self.queued += data.len();
        self.queue.push_back(data);
    }

    /// Bytes waiting to be written.
    pub(crate) fn len(&self) -> usize {
        self.queued + self.staging.len()
    }

    /// Whether nothing waits to be written.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `dst` with the waiting bytes in order; returns how many slices.
    pub(crate) fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let staged = Some(&self.staging[..]).filter(|staged| !staged.is_empty());
        let pieces = self.queue.iter().map(|segment| &segment[..]).chain(staged);
        let mut count = 0;
        for (slot, piece) in dst.iter_mut().zip(pieces) {
            *slot = IoSlice::new(piece);
            count += 1;
        }
        count
    }

    /// Drops the first `n` bytes, after a write of that many.
    pub(crate) fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.queue.front_mut() else {
                break;
            };
            if n < front.len() {
                front.advance(n);
                self.queued -= n;
                return;
            }
            n -= front.len();
            self.queued -= front.len();
            self.queue.pop_front();
        }
        let n = n.min(self.staging.len());
        self.staging.advance(n);
        if self.staging.is_empty() {
            // Lets the next reservation reuse the allocation from its start.
            self.staging.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(buf: &WriteBuf) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 8];
        let count = buf.chunks_vectored(&mut slices);
        slices[..count]
            .iter()
            .flat_map(|slice| slice.iter().copied())
            .collect()
    }

    fn slice_count(buf: &WriteBuf) -> usize {
        let mut slices = [IoSlice::new(&[]); 8];
        buf.chunks_vectored(&mut slices)
    }

    #[test]
    fn small_pieces_stay_contiguous() {
        let mut buf = WriteBuf::new();
        buf.head_mut().extend_from_slice(b"head;");
        buf.push(Bytes::from_static(b"body"));
        buf.push(Bytes::new());
        assert_eq!(contents(&buf), b"head;body");
        assert_eq!(slice_count(&buf), 1);
        assert_eq!(buf.len(), 9);
    }

    #[test]
    fn large_pieces_keep_their_order() {
        let large = Bytes::from(vec![b'x'; COPY_BELOW]);
        let mut buf = WriteBuf::new();
        buf.head_mut().extend_from_slice(b"a");
        buf.push(large.clone());
        buf.head_mut().extend_from_slice(b"b");
        buf.push(large.clone());
        buf.push(Bytes::from_static(b"c"));
        let mut expected = b"a".to_vec();
        expected.extend_from_slice(&large);
        expected.extend_from_slice(b"b");
        expected.extend_from_slice(&large);
        expected.extend_from_slice(b"c");
        assert_eq!(contents(&buf), expected);
        assert_eq!(slice_count(&buf), 5);
        assert_eq!(buf.len(), expected.len());
        let mut few = [IoSlice::new(&[]); 2];
        assert_eq!(buf.chunks_vectored(&mut few), 2);
    }

    #[test]
    fn advancing_across_segments() {
        let large = Bytes::from(vec![b'x'; 2000]);
        let mut expected = b"head".to_vec();
        expected.extend_from_slice(&large);
        expected.extend_from_slice(b"tail");
        for step in [1, 3, 7, 1000, 4096] {
            let mut buf = WriteBuf::new();
            buf.head_mut().extend_from_slice(b"head");
            buf.push(large.clone());
            buf.push(Bytes::from_static(b"tail"));
            let mut sent = Vec::new();
            while !buf.is_empty() {
                let all = contents(&buf);
                let n = step.min(all.len());
                sent.extend_from_slice(&all[..n]);
                buf.advance(n);
            }
            assert_eq!(sent, expected, "step {step}");
            assert_eq!(buf.len(), 0);
        }
    }

    #[test]
    fn the_staging_allocation_is_reused() {
        let mut buf = WriteBuf::new();
        buf.head_mut().reserve(256);
        let start = buf.head_mut().as_ptr();
        for _ in 0..3 {
            buf.head_mut().extend_from_slice(&[b'h'; 200]);
            buf.advance(150);
            buf.advance(50);
            assert!(buf.is_empty());
            buf.head_mut().reserve(256);
            assert_eq!(buf.head_mut().as_ptr(), start);
        }
    }
}
