//! The server's HTTP/1.1 request head parser, fed raw bytes.
//!
//! Checks, with the default limits and with tight ones:
//! - a head that parses takes exactly its own bytes off the buffer, and
//!   an incomplete one takes none;
//! - the head arriving in two pieces reads as it does whole: the first
//!   piece is incomplete (or already the same head), and a first piece
//!   that is refused means the whole is refused;
//! - a parsed head, written back by the codec's encoder and parsed again,
//!   gives the same head, and writing that one gives the same bytes.
#![no_main]

use bytes::BytesMut;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use libfuzzer_sys::fuzz_target;
use paf::fuzzing::{Limits, RequestHead, encode_request_head, parse_request};
use paf_fuzz::{cut, roomy_limits, tight_limits};

fuzz_target!(|data: &[u8]| {
    for limits in [Limits::default(), tight_limits()] {
        check(data, &limits);
    }
});

fn check(data: &[u8], limits: &Limits) {
    let mut buf = BytesMut::from(data);
    let whole = parse_request(&mut buf, limits);
    let consumed = data.len() - buf.len();
    // After an error the connection is closed: what was taken is moot.
    match &whole {
        Ok(Some(_)) => assert!(consumed > 0, "a head takes its bytes"),
        Ok(None) => assert_eq!(consumed, 0, "an incomplete head stays in the buffer"),
        Err(_) => {}
    }
    if let Ok(Some(head)) = &whole {
        assert_eq!(&buf[..], &data[consumed..], "what follows the head stays");
        round_trip(head);
    }
    let at = cut(data);
    let mut first = BytesMut::from(&data[..at]);
    match (parse_request(&mut first, limits), &whole) {
        (Ok(None), _) => {}
        (Ok(Some(head)), Ok(Some(whole_head))) => {
            assert!(at >= consumed, "a head read before its end");
            assert_eq!(&head, whole_head, "the same head read from a prefix");
        }
        (Ok(Some(head)), whole) => {
            panic!("a prefix of {at} bytes reads as {head:?}, the whole as {whole:?}")
        }
        // Which error depends on how far the reading got: a line too long
        // is refused before a bad byte further on is seen, say.
        (Err(_), Err(_)) => {}
        (Err(error), Ok(whole)) => {
            panic!("a prefix of {at} bytes is refused ({error:?}), the whole reads as {whole:?}")
        }
    }
}

fn round_trip(head: &RequestHead) {
    let mut wire = BytesMut::new();
    encode_request_head(head, &mut wire);
    let written = wire.clone();
    let again = match parse_request(&mut wire, &roomy_limits()) {
        Ok(Some(again)) => again,
        other => panic!(
            "{head:?} written as {:?} reads back as {other:?}",
            String::from_utf8_lossy(&written)
        ),
    };
    assert!(wire.is_empty(), "the written head is read whole");
    assert_eq!(again.method, head.method);
    assert_eq!(again.uri.to_string(), head.uri.to_string());
    assert_eq!(again.version, head.version);
    assert_eq!(again.framing, head.framing);
    assert_eq!(
        without_framing(&again),
        without_framing(head),
        "fields of {:?}",
        String::from_utf8_lossy(&written)
    );
    assert_eq!(
        (again.keep_alive, again.expect_continue, again.upgrade),
        (head.keep_alive, head.expect_continue, head.upgrade)
    );
    let mut rewritten = BytesMut::new();
    encode_request_head(&again, &mut rewritten);
    assert_eq!(rewritten, written, "writing is a fixed point");
}

/// The fields but the framing ones, which the encoder writes itself.
fn without_framing(head: &RequestHead) -> http::HeaderMap {
    let mut headers = head.headers.clone();
    headers.remove(CONTENT_LENGTH);
    headers.remove(TRANSFER_ENCODING);
    headers
}
