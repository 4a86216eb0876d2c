//! Decoding incoming bodies according to their framing.

use bytes::{Bytes, BytesMut};
use http::HeaderMap;

use super::chunked::ChunkedDecoder;
use super::error::BodyError;
use super::framing::Framing;
use super::limits::Limits;

/// One piece of a decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Body bytes, split off the read buffer without copying.
    Data(Bytes),
    /// The trailer fields of a chunked body; `End` follows.
    Trailers(HeaderMap),
    /// The body is complete.
    End,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Bytes left of a `content-length` body.
    Length(u64),
    Chunked(ChunkedDecoder),
    CloseDelimited,
    Done,
}

/// Turns the bytes after a head into body pieces.
#[derive(Debug, Clone)]
pub(crate) struct Decoder {
    kind: Kind,
}

impl Decoder {
    /// A decoder for a body framed as `framing`.
    pub(crate) fn new(framing: Framing, limits: &Limits) -> Self {
        let kind = match framing {
            Framing::Empty | Framing::Length(0) => Kind::Done,
            Framing::Length(len) => Kind::Length(len),
            Framing::Chunked => Kind::Chunked(ChunkedDecoder::new(limits)),
            Framing::CloseDelimited => Kind::CloseDelimited,
        };
        Self { kind }
    }

    /// Decodes the next piece from the front of `buf`; `None` means more
    /// bytes are needed. After `End`, returns `End` again.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, BodyError> {
        match &mut self.kind {
            Kind::Done => Ok(Some(Decoded::End)),
            Kind::Chunked(chunked) => chunked.decode(buf),
            _ if buf.is_empty() => Ok(None),
            Kind::Length(left) => {
                let take = usize::try_from(*left).map_or(buf.len(), |left| left.min(buf.len()));
                *left -= take as u64;
                if *left == 0 {
                    self.kind = Kind::Done;
                }
                Ok(Some(Decoded::Data(buf.split_to(take).freeze())))
            }
            Kind::CloseDelimited => Ok(Some(Decoded::Data(buf.split().freeze()))),
        }
    }

    /// Decodes after the peer closed the connection: a close-delimited body
    /// yields what is left and then ends; any other unfinished body fails
    /// with [`BodyError::Incomplete`].
    pub(crate) fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Decoded, BodyError> {
        if let Kind::CloseDelimited = self.kind {
            if buf.is_empty() {
                self.kind = Kind::Done;
                return Ok(Decoded::End);
            }
            return Ok(Decoded::Data(buf.split().freeze()));
        }
        self.decode(buf)?.ok_or(BodyError::Incomplete)
    }

    /// Whether the whole body has been read from the connection.
    pub(crate) fn is_done(&self) -> bool {
        match &self.kind {
            Kind::Done => true,
            Kind::Chunked(chunked) => chunked.is_done(),
            Kind::Length(_) | Kind::CloseDelimited => false,
        }
    }

    /// The body bytes still to come, when the framing tells.
    pub(crate) fn remaining_hint(&self) -> Option<u64> {
        match self.kind {
            Kind::Length(left) => Some(left),
            Kind::Done => Some(0),
            Kind::Chunked(ref chunked) if chunked.is_done() => Some(0),
            Kind::Chunked(_) | Kind::CloseDelimited => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn data(bytes: &'static [u8]) -> Result<Option<Decoded>, BodyError> {
        Ok(Some(Decoded::Data(Bytes::from_static(bytes))))
    }

    #[test]
    fn empty() {
        let mut decoder = Decoder::new(Framing::Empty, &Limits::default());
        let mut buf = BytesMut::from(&b"next"[..]);
        assert!(decoder.is_done());
        assert_eq!(decoder.remaining_hint(), Some(0));
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Decoded::End)));
        assert_eq!(decoder.decode_eof(&mut buf), Ok(Decoded::End));
        assert_eq!(&buf[..], b"next");
        let mut zero = Decoder::new(Framing::Length(0), &Limits::default());
        assert_eq!(zero.decode(&mut buf), Ok(Some(Decoded::End)));
    }

    #[test]
    fn length() {
        let mut decoder = Decoder::new(Framing::Length(8), &Limits::default());
        let mut buf = BytesMut::new();
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"hello");
        assert_eq!(decoder.decode(&mut buf), data(b"hello"));
        assert_eq!(decoder.remaining_hint(), Some(3));
        assert!(!decoder.is_done());
        buf.extend_from_slice(b"abcNEXT");
        assert_eq!(decoder.decode(&mut buf), data(b"abc"));
        assert!(decoder.is_done());
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Decoded::End)));
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Decoded::End)));
        assert_eq!(&buf[..], b"NEXT");
    }

    #[test]
    fn length_cut_short() {
        let mut decoder = Decoder::new(Framing::Length(8), &Limits::default());
        let mut buf = BytesMut::from(&b"abc"[..]);
        assert_eq!(
            decoder.decode_eof(&mut buf),
            Ok(Decoded::Data(Bytes::from_static(b"abc")))
        );
        assert_eq!(decoder.decode_eof(&mut buf), Err(BodyError::Incomplete));
    }

    #[test]
    fn close_delimited() {
        let mut decoder = Decoder::new(Framing::CloseDelimited, &Limits::default());
        let mut buf = BytesMut::from(&b"abc"[..]);
        assert_eq!(decoder.remaining_hint(), None);
        assert_eq!(decoder.decode(&mut buf), data(b"abc"));
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"def");
        assert_eq!(
            decoder.decode_eof(&mut buf),
            Ok(Decoded::Data(Bytes::from_static(b"def")))
        );
        assert!(!decoder.is_done());
        assert_eq!(decoder.decode_eof(&mut buf), Ok(Decoded::End));
        assert!(decoder.is_done());
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Decoded::End)));
    }

    #[test]
    fn chunked() {
        let mut decoder = Decoder::new(Framing::Chunked, &Limits::default());
        let mut buf = BytesMut::from(&b"3\r\nabc\r\n0\r\n"[..]);
        assert_eq!(decoder.decode(&mut buf), data(b"abc"));
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert_eq!(decoder.decode_eof(&mut buf), Err(BodyError::Incomplete));
        buf.extend_from_slice(b"\r\n");
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Decoded::End)));
        assert!(decoder.is_done());
        assert_eq!(decoder.remaining_hint(), Some(0));
    }

    #[test]
    fn data_shares_the_read_buffer() {
        let mut decoder = Decoder::new(Framing::Length(5), &Limits::default());
        let mut buf = BytesMut::from(&b"hello"[..]);
        let start = buf.as_ptr();
        let Ok(Some(Decoded::Data(bytes))) = decoder.decode(&mut buf) else {
            panic!("expected data");
        };
        assert_eq!(bytes.as_ptr(), start);
    }
}
