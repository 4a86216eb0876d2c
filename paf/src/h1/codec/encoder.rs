//! Framing outgoing bodies.

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};

use super::digits::put_hex;
use super::error::BodyError;
use super::framing::Framing;
use super::write_buf::WriteBuf;

/// Frames a body according to the framing announced in its head.
#[derive(Debug, Clone)]
pub(crate) struct Encoder {
    framing: Framing,
    /// Body bytes accepted so far.
    written: u64,
    ended: bool,
}

impl Encoder {
    /// An encoder for a body framed as `framing`.
    pub(crate) fn new(framing: Framing) -> Self {
        Self {
            framing,
            written: 0,
            ended: false,
        }
    }

    /// Queues `data` with its framing.
    ///
    /// Data beyond the declared length, or after the end, is refused with
    /// [`BodyError::LengthMismatch`] and nothing is queued.
    pub(crate) fn encode_data(&mut self, data: Bytes, dst: &mut WriteBuf) -> Result<(), BodyError> {
        if data.is_empty() {
            return Ok(());
        }
        let len = data.len() as u64;
        let limit = match self.framing {
            _ if self.ended => Some(self.written),
            Framing::Empty => Some(0),
            Framing::Length(expected) => Some(expected),
            Framing::Chunked | Framing::CloseDelimited => None,
        };
        let written = self.written.saturating_add(len);
        if let Some(expected) = limit.filter(|&expected| written > expected) {
            return Err(BodyError::LengthMismatch { expected, written });
        }
        self.written = written;
        if self.framing == Framing::Chunked {
            let head = dst.head_mut();
            head.reserve(16 + 2 + data.len().min(1024) + 2);
            put_hex(len, head);
            head.extend_from_slice(b"\r\n");
            dst.push(data);
            dst.head_mut().extend_from_slice(b"\r\n");
        } else {
            dst.push(data);
        }
        Ok(())
    }

    /// Ends the body: checks the length, or writes the last chunk and the
    /// trailers. Trailers are only sent with chunked framing; framing fields
    /// among them are dropped. Ending twice writes nothing more.
    pub(crate) fn encode_end(
        &mut self,
        trailers: Option<&HeaderMap>,
        dst: &mut WriteBuf,
    ) -> Result<(), BodyError> {
        if self.ended {
            return Ok(());
        }
        match self.framing {
            Framing::Length(expected) if self.written < expected => {
                return Err(BodyError::LengthMismatch {
                    expected,
                    written: self.written,
                });
            }
            Framing::Chunked => {
                let head = dst.head_mut();
                head.extend_from_slice(b"0\r\n");
                for (name, value) in trailers.into_iter().flatten() {
                    if *name == CONTENT_LENGTH || *name == TRANSFER_ENCODING {
                        continue;
                    }
                    head.extend_from_slice(name.as_str().as_bytes());
                    head.extend_from_slice(b": ");
                    head.extend_from_slice(value.as_bytes());
                    head.extend_from_slice(b"\r\n");
                }
                head.extend_from_slice(b"\r\n");
            }
            _ => {}
        }
        self.ended = true;
        Ok(())
    }

    /// Whether the body is complete: ended, or (with a known length) all
    /// bytes written.
    pub(crate) fn is_done(&self) -> bool {
        self.ended
            || match self.framing {
                Framing::Empty => true,
                Framing::Length(expected) => self.written == expected,
                Framing::Chunked | Framing::CloseDelimited => false,
            }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::IoSlice;

    use http::HeaderValue;

    use super::*;

    fn contents(buf: &WriteBuf) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 16];
        let count = buf.chunks_vectored(&mut slices);
        slices[..count]
            .iter()
            .flat_map(|slice| slice.iter().copied())
            .collect()
    }

    #[test]
    fn chunked() {
        let mut encoder = Encoder::new(Framing::Chunked);
        let mut buf = WriteBuf::new();
        encoder
            .encode_data(Bytes::from_static(b"hello"), &mut buf)
            .unwrap();
        encoder.encode_data(Bytes::new(), &mut buf).unwrap();
        encoder
            .encode_data(Bytes::from(vec![b'x'; 4096]), &mut buf)
            .unwrap();
        assert!(!encoder.is_done());
        let mut trailers = HeaderMap::new();
        trailers.insert("checksum", HeaderValue::from_static("abc"));
        trailers.insert("content-length", HeaderValue::from_static("1"));
        encoder.encode_end(Some(&trailers), &mut buf).unwrap();
        encoder.encode_end(Some(&trailers), &mut buf).unwrap();
        assert!(encoder.is_done());
        let mut expected = b"5\r\nhello\r\n1000\r\n".to_vec();
        expected.extend_from_slice(&[b'x'; 4096]);
        expected.extend_from_slice(b"\r\n0\r\nchecksum: abc\r\n\r\n");
        assert_eq!(contents(&buf), expected);
    }

    #[test]
    fn lengths() {
        let mut buf = WriteBuf::new();
        let mut encoder = Encoder::new(Framing::Length(5));
        encoder
            .encode_data(Bytes::from_static(b"abc"), &mut buf)
            .unwrap();
        assert_eq!(
            encoder.encode_end(None, &mut buf),
            Err(BodyError::LengthMismatch {
                expected: 5,
                written: 3
            })
        );
        assert_eq!(
            encoder.encode_data(Bytes::from_static(b"def"), &mut buf),
            Err(BodyError::LengthMismatch {
                expected: 5,
                written: 6
            })
        );
        encoder
            .encode_data(Bytes::from_static(b"de"), &mut buf)
            .unwrap();
        assert!(encoder.is_done());
        encoder.encode_end(None, &mut buf).unwrap();
        assert_eq!(contents(&buf), b"abcde");
    }

    #[test]
    fn empty_and_close_delimited() {
        let mut buf = WriteBuf::new();
        let mut empty = Encoder::new(Framing::Empty);
        assert!(empty.is_done());
        empty.encode_data(Bytes::new(), &mut buf).unwrap();
        assert_eq!(
            empty.encode_data(Bytes::from_static(b"x"), &mut buf),
            Err(BodyError::LengthMismatch {
                expected: 0,
                written: 1
            })
        );
        empty.encode_end(None, &mut buf).unwrap();
        let mut close = Encoder::new(Framing::CloseDelimited);
        close
            .encode_data(Bytes::from_static(b"as is"), &mut buf)
            .unwrap();
        close.encode_end(None, &mut buf).unwrap();
        assert!(close.is_done());
        assert_eq!(
            close.encode_data(Bytes::from_static(b"late"), &mut buf),
            Err(BodyError::LengthMismatch {
                expected: 5,
                written: 9
            })
        );
        assert_eq!(contents(&buf), b"as is");
    }
}
