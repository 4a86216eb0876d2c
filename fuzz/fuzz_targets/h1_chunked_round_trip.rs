//! The chunked body encoder against the decoder: data in pieces and trailer
//! fields, taken from the fuzzer's bytes, are encoded as the connections
//! send them, then decoded whole and in two pieces.
//!
//! Checks that the decoder gives back exactly the data, and the trailers
//! but the framing fields the encoder leaves out, and consumes exactly what
//! the encoder wrote.
#![no_main]

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use paf::fuzzing::{Decoded, Decoder, Encoder, Framing, Limits};
use paf_fuzz::cut;

fuzz_target!(|data: &[u8]| {
    let mut input = Unstructured::new(data);
    let Ok((pieces, trailers)) = body(&mut input) else {
        return;
    };
    let mut encoder = Encoder::new(Framing::Chunked);
    let mut wire = Vec::new();
    for piece in &pieces {
        encoder
            .encode_data(piece.clone(), &mut wire)
            .expect("chunked framing takes any amount of data");
    }
    encoder
        .encode_end(Some(&trailers), &mut wire)
        .expect("chunked framing ends after any amount of data");
    let mut expected = trailers.clone();
    expected.remove(CONTENT_LENGTH);
    expected.remove(TRANSFER_ENCODING);
    let sent: Vec<u8> = pieces.concat();
    let at = cut(&wire);
    for split in [wire.len(), at] {
        let (data, fields) = decode(&wire, split);
        assert_eq!(data, sent, "the data, cut at {split}");
        assert_eq!(fields, expected, "the trailers, cut at {split}");
    }
});

/// Up to 16 pieces of data and 8 trailer fields.
fn body(input: &mut Unstructured<'_>) -> Result<(Vec<Bytes>, HeaderMap)> {
    let mut pieces = Vec::new();
    for _ in 0..input.int_in_range(0..=16)? {
        let len = input.int_in_range(0..=600)?;
        pieces.push(Bytes::copy_from_slice(input.bytes(len)?));
    }
    let mut trailers = HeaderMap::new();
    for _ in 0..input.int_in_range(0..=8)? {
        let name_len = input.int_in_range(1..=24)?;
        let value_len = input.int_in_range(0..=64)?;
        let name = HeaderName::from_bytes(input.bytes(name_len)?);
        // Whitespace around a value is not part of it (RFC 9110 §5.5).
        let value = input.bytes(value_len)?.trim_ascii();
        if let (Ok(name), Ok(value)) = (name, HeaderValue::from_bytes(value)) {
            trailers.append(name, value);
        }
    }
    Ok((pieces, trailers))
}

/// Decodes a whole chunked body that arrives in two pieces.
fn decode(wire: &[u8], split: usize) -> (Vec<u8>, HeaderMap) {
    let mut decoder = Decoder::new(Framing::Chunked, &Limits::default());
    let mut buf = BytesMut::from(&wire[..split]);
    let mut rest = &wire[split..];
    let mut data = Vec::new();
    let mut fields = HeaderMap::new();
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(Decoded::Data(bytes))) => data.extend_from_slice(&bytes),
            Ok(Some(Decoded::Trailers(trailers))) => fields = trailers,
            Ok(Some(Decoded::End)) => break,
            Ok(None) if !rest.is_empty() => {
                buf.extend_from_slice(rest);
                rest = &[];
            }
            other => panic!("decoding what the encoder wrote: {other:?}"),
        }
    }
    assert!(
        buf.is_empty() && rest.is_empty(),
        "the body ends where it was written to"
    );
    (data, fields)
}
