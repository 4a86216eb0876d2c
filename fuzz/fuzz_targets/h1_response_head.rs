//! The client's HTTP/1.1 response head parser, fed raw bytes as the answer
//! to a GET, a HEAD and a CONNECT.
//!
//! Checks, with the default limits and with tight ones:
//! - a head that parses takes exactly its own bytes off the buffer, and
//!   an incomplete one takes none;
//! - the head arriving in two pieces reads as it does whole (a first piece
//!   that is refused means the whole is refused);
//! - a parsed head, written back by the server's encoder and parsed again,
//!   keeps its status, version, fields and framing, and is no less
//!   persistent; a second round changes nothing at all.
#![no_main]

use bytes::BytesMut;
use http::Method;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use libfuzzer_sys::fuzz_target;
use paf::fuzzing::{Limits, ResponseHead, encode_response_head, parse_response};
use paf_fuzz::{cut, roomy_limits, tight_limits};

fuzz_target!(|data: &[u8]| {
    for limits in [Limits::default(), tight_limits()] {
        for method in [Method::GET, Method::HEAD, Method::CONNECT] {
            check(data, &limits, &method);
        }
    }
});

fn check(data: &[u8], limits: &Limits, method: &Method) {
    let mut buf = BytesMut::from(data);
    let whole = parse_response(&mut buf, limits, method);
    let consumed = data.len() - buf.len();
    // After an error the connection is closed: what was taken is moot.
    match &whole {
        Ok(Some(_)) => assert!(consumed > 0, "a head takes its bytes"),
        Ok(None) => assert_eq!(consumed, 0, "an incomplete head stays in the buffer"),
        Err(_) => {}
    }
    if let Ok(Some(head)) = &whole {
        assert_eq!(&buf[..], &data[consumed..], "what follows the head stays");
        let again = round_trip(head, method);
        assert!(
            again.keep_alive || !head.keep_alive,
            "written back, {head:?} is no longer persistent: {again:?}"
        );
        let third = round_trip(&again, method);
        assert_eq!(third, again, "a second round changes nothing");
    }
    let at = cut(data);
    let mut first = BytesMut::from(&data[..at]);
    match (parse_response(&mut first, limits, method), &whole) {
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

/// `head` written by the encoder and parsed again; the same but for the
/// framing fields (which the encoder writes itself) and persistence.
fn round_trip(head: &ResponseHead, method: &Method) -> ResponseHead {
    let mut wire = BytesMut::new();
    encode_response_head(head, &mut wire);
    let written = wire.clone();
    let again = match parse_response(&mut wire, &roomy_limits(), method) {
        Ok(Some(again)) => again,
        other => panic!(
            "{head:?} written as {:?} reads back as {other:?}",
            String::from_utf8_lossy(&written)
        ),
    };
    assert!(wire.is_empty(), "the written head is read whole");
    let text = String::from_utf8_lossy(&written);
    assert_eq!(
        (again.status, again.version, again.framing),
        (head.status, head.version, head.framing),
        "{text:?}"
    );
    assert_eq!(without_framing(&again), without_framing(head), "{text:?}");
    again
}

/// The fields but the framing ones.
fn without_framing(head: &ResponseHead) -> http::HeaderMap {
    let mut headers = head.headers.clone();
    headers.remove(CONTENT_LENGTH);
    headers.remove(TRANSFER_ENCODING);
    headers
}
