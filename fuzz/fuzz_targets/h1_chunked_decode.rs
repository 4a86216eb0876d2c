//! The chunked body decoder (chunk sizes, extensions, trailers), fed raw
//! bytes.
//!
//! Checks, with the default limits and with tight ones, that the body read
//! from the whole buffer, from two pieces and one byte at a time is the
//! same: the same data, the same trailers, the same error, the same bytes
//! left after the body; and that no more data comes out than went in.
#![no_main]

use bytes::BytesMut;
use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use paf::fuzzing::{Decoded, Decoder, Framing, Limits, Refused};
use paf_fuzz::{cut, tight_limits};

fuzz_target!(|data: &[u8]| {
    for limits in [Limits::default(), tight_limits()] {
        let whole = read(data, &[data.len()], &limits);
        let at = cut(data);
        let halves = read(data, &[at, data.len() - at], &limits);
        assert_eq!(halves, whole, "cut at {at}");
        let bytes = vec![1; data.len()];
        let bytewise = read(data, &bytes, &limits);
        assert_eq!(bytewise, whole, "one byte at a time");
        assert!(whole.data.len() <= data.len());
    }
});

/// What decoding a body gave.
#[derive(Debug, PartialEq)]
struct Body {
    data: Vec<u8>,
    trailers: Option<HeaderMap>,
    /// The error, or whether the body ended.
    end: Result<bool, Refused>,
    /// The bytes after the body, when it ended.
    rest: Vec<u8>,
}

/// Decodes `data` arriving in pieces of the given sizes, then the end of
/// the connection.
fn read(data: &[u8], pieces: &[usize], limits: &Limits) -> Body {
    let mut decoder = Decoder::new(Framing::Chunked, limits);
    let mut body = Body {
        data: Vec::new(),
        trailers: None,
        end: Ok(false),
        rest: Vec::new(),
    };
    let mut buf = BytesMut::new();
    let mut fed = 0;
    for &size in pieces {
        buf.extend_from_slice(&data[fed..fed + size]);
        fed += size;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Decoded::Data(bytes))) => {
                    assert!(!bytes.is_empty(), "no empty data pieces");
                    body.data.extend_from_slice(&bytes);
                }
                Ok(Some(Decoded::Trailers(fields))) => {
                    assert!(body.trailers.is_none(), "trailers come once");
                    assert!(!fields.is_empty(), "no trailers is no trailer piece");
                    body.trailers = Some(fields);
                }
                Ok(Some(Decoded::End)) => {
                    assert!(decoder.is_done());
                    body.end = Ok(true);
                    body.rest = [&buf[..], &data[fed..]].concat();
                    return body;
                }
                Ok(None) => break,
                Err(error) => {
                    body.end = Err(error);
                    return body;
                }
            }
        }
    }
    assert!(!decoder.is_done(), "an unfinished body is not done");
    match decoder.decode_eof(&mut buf) {
        Err(error) if error.text.contains("closed before") => {}
        other => panic!("an unfinished chunked body at the end: {other:?}"),
    }
    body
}
