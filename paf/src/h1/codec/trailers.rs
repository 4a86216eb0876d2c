//! Reading the trailer section that follows the last chunk (RFC 9112 §7.1.2).

use bytes::BytesMut;
use http::HeaderMap;

use super::error::{BodyError, HeadError};
use super::raw::{self, STACK_SLOTS, Spans};

/// Finds the end of the trailer section across calls, then parses it once.
#[derive(Debug, Clone)]
pub(super) struct TrailerReader {
    max_bytes: usize,
    max_fields: usize,
    /// How far `buf` has been searched for the empty line.
    scanned: usize,
    /// Bytes on the current line so far, line ending excluded.
    line_len: usize,
    /// Whether the last byte seen was CR.
    after_cr: bool,
}

impl TrailerReader {
    /// A reader bounded by `max_bytes` and `max_fields`.
    pub(super) fn new(max_bytes: usize, max_fields: usize) -> Self {
        Self {
            max_bytes,
            max_fields,
            scanned: 0,
            line_len: 0,
            after_cr: false,
        }
    }

    /// Reads the section from the front of `buf`: `None` until it is
    /// complete, then the fields (possibly none), removed from `buf`.
    pub(super) fn read(&mut self, buf: &mut BytesMut) -> Result<Option<HeaderMap>, BodyError> {
        // The common case: no trailers, just the final CRLF.
        if self.scanned == 0 && buf.starts_with(b"\r\n") {
            let _ = buf.split_to(2);
            return Ok(Some(HeaderMap::new()));
        }
        let Some(end) = self.find_end(buf)? else {
            return Ok(None);
        };
        let mut spans = Spans::new();
        {
            let section = buf.get(..end).unwrap_or_default();
            let count = self.max_fields.min(end / 3 + 1);
            let mut stack = [httparse::EMPTY_HEADER; STACK_SLOTS];
            let mut heap = Vec::new();
            let slots = match stack.get_mut(..count) {
                Some(slots) => slots,
                None => {
                    heap.resize(count, httparse::EMPTY_HEADER);
                    &mut heap[..]
                }
            };
            match httparse::parse_headers(section, slots) {
                Ok(httparse::Status::Complete((len, fields))) if len == end => {
                    spans.record(section, fields);
                }
                Err(httparse::Error::TooManyHeaders) => return Err(BodyError::TrailersTooLarge),
                _ => return Err(BodyError::BadTrailers),
            }
        }
        let section = buf.split_to(end).freeze();
        self.reset();
        raw::field_map(&section, spans.as_slice(), |_, _| {})
            .map(Some)
            .map_err(|error| match error {
                HeadError::TooManyHeaders => BodyError::TrailersTooLarge,
                _ => BodyError::BadTrailers,
            })
    }

    fn reset(&mut self) {
        self.scanned = 0;
        self.line_len = 0;
        self.after_cr = false;
    }

    /// The length of the section up to and including its empty line, once
    /// `buf` holds it. Every line must end with CRLF, and the section must
    /// fit in `max_bytes`: the first byte beyond is refused whatever it is,
    /// so the answer is the same however the bytes arrive.
    fn find_end(&mut self, buf: &[u8]) -> Result<Option<usize>, BodyError> {
        let start = self.scanned;
        for (at, &b) in buf.iter().enumerate().skip(start) {
            if at >= self.max_bytes {
                return Err(BodyError::TrailersTooLarge);
            }
            match b {
                b'\n' if !self.after_cr => return Err(BodyError::MissingCrlf),
                b'\n' if self.line_len == 0 => return Ok(Some(at + 1)),
                b'\n' => self.line_len = 0,
                b'\r' => {}
                _ => self.line_len += 1,
            }
            self.after_cr = b == b'\r';
        }
        self.scanned = buf.len();
        Ok(None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], max_bytes: usize) -> Result<Option<HeaderMap>, BodyError> {
        TrailerReader::new(max_bytes, 8).read(&mut BytesMut::from(input))
    }

    #[test]
    fn sections() {
        let empty = read_all(b"\r\nnext", 64).unwrap().unwrap();
        assert!(empty.is_empty());
        let fields = read_all(b"A: 1\r\nb: 2\r\nA: 3\r\n\r\n", 64)
            .unwrap()
            .unwrap();
        let a: Vec<_> = fields.get_all("a").iter().collect();
        assert_eq!(a, ["1", "3"]);
        assert_eq!(fields["b"], "2");
    }

    #[test]
    fn refused_sections() {
        let cases: [(&[u8], BodyError); 7] = [
            (b"\n", BodyError::MissingCrlf),
            (b"A: 1\n\r\n", BodyError::MissingCrlf),
            (b"A : 1\r\n\r\n", BodyError::BadTrailers),
            (b"A: 1\r\n b\r\n\r\n", BodyError::BadTrailers),
            (b"A: \x01\r\n\r\n", BodyError::BadTrailers),
            (b"\r\r\n", BodyError::BadTrailers),
            (
                b"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\n\r\n",
                BodyError::TrailersTooLarge,
            ),
        ];
        for (input, error) in cases {
            assert_eq!(
                read_all(input, 1024),
                Err(error),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(
            read_all(b"A: 12345678\r\n\r\n", 10),
            Err(BodyError::TrailersTooLarge)
        );
        assert_eq!(
            read_all(b"A: 12345678", 10),
            Err(BodyError::TrailersTooLarge)
        );
        assert_eq!(read_all(b"A: 1234", 10), Ok(None));
    }

    /// Found by fuzzing (`fuzz/corpus/h1_chunked_decode/trailers-too-large-then-bare-lf`):
    /// read whole, a bare LF past the limit was reported instead of the size.
    #[test]
    fn too_large_is_the_answer_however_the_section_arrives() {
        let input = b"A: 1\r\nB: 2345\n\r\n";
        assert_eq!(read_all(input, 8), Err(BodyError::TrailersTooLarge));
        let mut reader = TrailerReader::new(8, 8);
        let mut buf = BytesMut::new();
        let mut result = Ok(None);
        for &b in input {
            buf.extend_from_slice(&[b]);
            result = reader.read(&mut buf);
            if result != Ok(None) {
                break;
            }
        }
        assert_eq!(result, Err(BodyError::TrailersTooLarge));
    }

    #[test]
    fn byte_by_byte() {
        let input = b"X-Sum: 42\r\nY: z\r\n\r\nrest";
        let mut reader = TrailerReader::new(1024, 8);
        let mut buf = BytesMut::new();
        let mut fields = None;
        for &b in input {
            buf.extend_from_slice(&[b]);
            if fields.is_none() {
                fields = reader.read(&mut buf).unwrap();
            }
        }
        let fields = fields.unwrap();
        assert_eq!(fields["x-sum"], "42");
        assert_eq!(&buf[..], b"rest");
    }
}
