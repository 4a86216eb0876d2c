//! Cross-cutting tests: round trips, incremental feeding and fuzzing.

#![allow(clippy::unwrap_used)]

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use proptest::prelude::*;

use super::*;

/// Everything queued in `buf`, in order.
fn written(buf: &WriteBuf) -> Vec<u8> {
    let mut slices = vec![IoSlice::new(&[]); 1024];
    let count = buf.chunks_vectored(&mut slices);
    slices[..count]
        .iter()
        .flat_map(|slice| slice.iter().copied())
        .collect()
}

/// Decodes `input` fed in pieces cut at `cuts`, until the end.
fn decode_in_pieces(
    framing: Framing,
    input: &[u8],
    cuts: &[usize],
) -> Result<(Vec<u8>, HeaderMap, usize), BodyError> {
    let mut decoder = Decoder::new(framing, &Limits::default());
    let mut buf = BytesMut::new();
    let mut data = Vec::new();
    let mut trailers = HeaderMap::new();
    let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (input.len() + 1)).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    let mut fed = 0;
    for cut in cuts {
        buf.extend_from_slice(&input[fed..cut]);
        fed = cut;
        while let Some(decoded) = decoder.decode(&mut buf)? {
            match decoded {
                Decoded::Data(bytes) => data.extend_from_slice(&bytes),
                Decoded::Trailers(fields) => trailers = fields,
                Decoded::End => return Ok((data, trailers, buf.len() + input.len() - fed)),
            }
        }
    }
    Err(BodyError::Incomplete)
}

fn fields(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

#[test]
fn request_round_trip() {
    let headers = fields(&[
        ("accept", "*/*"),
        ("x-multi", "a"),
        ("x-multi", "b"),
        ("x-empty", ""),
    ]);
    let cases = [
        (Method::GET, &b"/"[..], Framing::Empty),
        (Method::POST, b"/upload?x=1", Framing::Length(42)),
        (Method::PUT, b"http://a.example/x", Framing::Chunked),
        (Method::CONNECT, b"a.example:443", Framing::Empty),
        (Method::OPTIONS, b"*", Framing::Empty),
        (
            Method::from_bytes(b"PURGE").unwrap(),
            b"/cache/x",
            Framing::Empty,
        ),
    ];
    for (method, target, framing) in cases {
        let head = RequestHeadOut {
            method: &method,
            target,
            version: Version::HTTP_11,
            headers: &headers,
            host: Some(b"a.example"),
            framing,
        };
        let mut buf = BytesMut::new();
        encode_request_head(&head, &mut buf);
        let parsed = parse_request(&mut buf, &Limits::default())
            .unwrap()
            .unwrap();
        assert!(buf.is_empty());
        assert_eq!(parsed.method, method);
        assert_eq!(parsed.uri.to_string().as_bytes(), target);
        assert_eq!(parsed.framing, framing);
        assert_eq!(parsed.headers["host"], "a.example");
        for (name, value) in &headers {
            assert!(
                parsed.headers.get_all(name).iter().any(|v| v == value),
                "{name}"
            );
        }
        assert_eq!(parsed.headers.get_all("x-multi").iter().count(), 2);
    }
}

#[test]
fn response_round_trip() {
    let headers = fields(&[
        ("content-type", "text/plain"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
    ]);
    let cases = [
        (StatusCode::OK, Framing::Length(13), Framing::Length(13)),
        (StatusCode::OK, Framing::Empty, Framing::Empty),
        (StatusCode::CREATED, Framing::Chunked, Framing::Chunked),
        (
            StatusCode::NOT_FOUND,
            Framing::CloseDelimited,
            Framing::CloseDelimited,
        ),
        (StatusCode::NO_CONTENT, Framing::Empty, Framing::Empty),
        (
            StatusCode::from_u16(599).unwrap(),
            Framing::Length(1),
            Framing::Length(1),
        ),
    ];
    for (status, framing, parsed_framing) in cases {
        for version in [Version::HTTP_10, Version::HTTP_11] {
            let head = ResponseHeadOut {
                version,
                status,
                headers: &headers,
                framing,
                connection: Some("keep-alive"),
                date: Some(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            };
            let mut buf = BytesMut::new();
            encode_response_head(&head, &mut buf);
            let parsed = parse_response(&mut buf, &Limits::default(), &Method::GET)
                .unwrap()
                .unwrap();
            assert!(buf.is_empty());
            assert_eq!(parsed.status, status);
            assert_eq!(parsed.version, version);
            assert_eq!(parsed.framing, parsed_framing, "{status} {framing:?}");
            // Chunked in HTTP/1.0 is read, then the connection dropped.
            let keep_alive = parsed_framing != Framing::CloseDelimited
                && !(version == Version::HTTP_10 && parsed_framing == Framing::Chunked);
            assert_eq!(
                parsed.keep_alive, keep_alive,
                "{version:?} {status} {framing:?}"
            );
            assert_eq!(parsed.headers.get_all("set-cookie").iter().count(), 2);
            assert_eq!(parsed.headers["date"], "Sun, 06 Nov 1994 08:49:37 GMT");
        }
    }
}

#[test]
fn chunked_round_trip_with_trailers() {
    let mut encoder = Encoder::new(Framing::Chunked);
    let mut out = WriteBuf::new();
    let pieces = [&b"hello "[..], &[b'w'; 3000], b"", b"!"];
    for piece in pieces {
        encoder
            .encode_data(Bytes::copy_from_slice(piece), &mut out)
            .unwrap();
    }
    let trailers = fields(&[
        ("x-checksum", "abc"),
        ("x-checksum", "def"),
        ("grpc-status", "0"),
    ]);
    encoder.encode_end(Some(&trailers), &mut out).unwrap();
    let wire = written(&out);
    let (data, decoded_trailers, rest) = decode_in_pieces(Framing::Chunked, &wire, &[]).unwrap();
    assert_eq!(data, pieces.concat());
    assert_eq!(decoded_trailers, trailers);
    assert_eq!(rest, 0);
}

#[test]
fn heads_fed_byte_by_byte() {
    let request = b"\r\nPOST /submit?a=b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n5\r\n";
    let whole = format!(
        "{:?}",
        parse_request(&mut BytesMut::from(&request[..]), &Limits::default())
    );
    let mut buf = BytesMut::new();
    let head_len = request.len() - 3;
    for (at, &b) in request[..head_len].iter().enumerate() {
        buf.extend_from_slice(&[b]);
        let parsed = parse_request(&mut buf, &Limits::default())
            .unwrap_or_else(|error| panic!("{error} at {at}: {buf:?}"));
        assert_eq!(parsed.is_some(), at + 1 == head_len, "{at}");
        if let Some(head) = parsed {
            assert_eq!(format!("{:?}", Ok::<_, HeadError>(Some(head))), whole);
            assert!(buf.is_empty());
        }
    }

    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    let mut buf = BytesMut::new();
    let mut found = None;
    for (at, &b) in response.iter().enumerate() {
        buf.extend_from_slice(&[b]);
        if found.is_none() {
            found = parse_response(&mut buf, &Limits::default(), &Method::GET)
                .unwrap()
                .map(|head| (at, head));
        }
    }
    let (at, head) = found.unwrap();
    assert_eq!(at + 1, response.len() - 2);
    assert_eq!(head.framing, Framing::Length(2));
    assert_eq!(&buf[..], b"hi");
}

#[test]
fn chunked_bodies_fed_byte_by_byte() {
    let body = b"5;ext=\"v\"\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nx-a: 1\r\n\r\nNEXT";
    let whole = decode_in_pieces(Framing::Chunked, body, &[]).unwrap();
    let every_byte: Vec<usize> = (0..body.len()).collect();
    let pieces = decode_in_pieces(Framing::Chunked, body, &every_byte).unwrap();
    assert_eq!(pieces, whole);
    assert_eq!(whole.0, b"hello0123456789abcdef");
    assert_eq!(whole.1["x-a"], "1");
    assert_eq!(whole.2, 4);
}

#[test]
fn a_body_between_pipelined_requests() {
    let mut buf = BytesMut::from(
        &b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"[..],
    );
    let limits = Limits::default();
    let first = parse_request(&mut buf, &limits).unwrap().unwrap();
    let mut decoder = Decoder::new(first.framing, &limits);
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Some(Decoded::Data(Bytes::from_static(b"abc"))))
    );
    assert_eq!(decoder.decode(&mut buf), Ok(Some(Decoded::End)));
    let second = parse_request(&mut buf, &limits).unwrap().unwrap();
    assert_eq!(second.uri, "/next");
    assert!(buf.is_empty());
}

/// Runs every parser over `input`; they may fail but must not panic.
fn parse_everything(input: &[u8]) {
    let limits = Limits {
        max_head_bytes: 512,
        max_headers: 8,
        max_target_len: 64,
        ..Limits::default()
    };
    let _ = parse_request(&mut BytesMut::from(input), &limits);
    let _ = parse_request(&mut BytesMut::from(input), &Limits::default());
    for method in [Method::GET, Method::HEAD, Method::CONNECT] {
        let _ = parse_response(&mut BytesMut::from(input), &limits, &method);
    }
    for framing in [
        Framing::Empty,
        Framing::Length(10),
        Framing::Chunked,
        Framing::CloseDelimited,
    ] {
        let mut decoder = Decoder::new(framing, &limits);
        let mut buf = BytesMut::from(input);
        // Each call consumes input or ends, so this terminates well within the bound.
        for _ in 0..=input.len() + 2 {
            match decoder.decode(&mut buf) {
                Ok(Some(Decoded::End)) | Ok(None) | Err(_) => break,
                Ok(Some(_)) => {}
            }
        }
        let _ = decoder.decode_eof(&mut buf);
    }
}

const VALID_REQUEST: &[u8] = b"POST /a?b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nx: y\r\n\r\n";

/// A change to a valid message: replace, insert or remove one byte.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, u8),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        any::<u8>(),
        Just(b'\r'),
        Just(b'\n'),
        Just(b' '),
        Just(b':'),
        Just(b';'),
        Just(b'0')
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Mutation::Replace(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn mutate(base: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for mutation in mutations {
        let len = bytes.len();
        match *mutation {
            Mutation::Replace(at, b) if len > 0 => bytes[at % len] = b,
            Mutation::Insert(at, b) => bytes.insert(at % (len + 1), b),
            Mutation::Remove(at) if len > 0 => {
                bytes.remove(at % len);
            }
            _ => {}
        }
    }
    bytes
}

fn token() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,12}".prop_filter("not a framing field", |name| {
        name != "content-length" && name != "transfer-encoding"
    })
}

fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[!-~]([ -~]{0,20}[!-~])?"]
}

proptest! {
    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..600)) {
        parse_everything(&input);
    }

    #[test]
    fn mutated_requests_never_panic(mutations in proptest::collection::vec(mutation(), 1..8)) {
        let input = mutate(VALID_REQUEST, &mutations);
        parse_everything(&input);
        // Also with the head stripped, so the body decoders see the mutations.
        let body_start = VALID_REQUEST.len() - 31;
        parse_everything(&mutate(&VALID_REQUEST[body_start..], &mutations));
    }

    #[test]
    fn chunked_round_trips(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1500), 0..8),
        trailers in proptest::collection::vec((token(), field_value()), 0..5),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut encoder = Encoder::new(Framing::Chunked);
        let mut out = WriteBuf::new();
        for chunk in &chunks {
            encoder.encode_data(Bytes::copy_from_slice(chunk), &mut out).unwrap();
        }
        let mut fields = HeaderMap::new();
        for (name, value) in &trailers {
            fields.append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        encoder.encode_end(Some(&fields), &mut out).unwrap();
        let wire = written(&out);
        prop_assert_eq!(wire.len(), out.len());
        let (data, decoded, rest) = decode_in_pieces(Framing::Chunked, &wire, &cuts).unwrap();
        prop_assert_eq!(data, chunks.concat());
        prop_assert_eq!(decoded, fields);
        prop_assert_eq!(rest, 0);
    }

    #[test]
    fn length_bodies_in_pieces(
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut encoder = Encoder::new(Framing::Length(body.len() as u64));
        let mut out = WriteBuf::new();
        encoder.encode_data(Bytes::copy_from_slice(&body), &mut out).unwrap();
        encoder.encode_end(None, &mut out).unwrap();
        let mut wire = written(&out);
        wire.extend_from_slice(b"NEXT");
        let (data, _, rest) = decode_in_pieces(Framing::Length(body.len() as u64), &wire, &cuts).unwrap();
        prop_assert_eq!(data, body);
        prop_assert_eq!(rest, 4);
    }
}
