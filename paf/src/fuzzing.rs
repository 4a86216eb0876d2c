//! Entry points for the fuzz targets in `fuzz/`: thin wrappers around the
//! crate-private HTTP/1.1 codec and proxy matching.
//!
//! Compiled only with `--cfg fuzzing`, which cargo-fuzz sets; not part of
//! the API and free to change with the codec. The types mirror the codec's
//! so that the targets can build, compare and re-encode what was parsed.

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};

use crate::client::{Proxies, Proxy};
use crate::h1::codec;

/// The codec's size limits ([`Default`] is what servers and clients use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message head, in bytes.
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
        let limits = codec::Limits::default();
        Self {
            max_head_bytes: limits.max_head_bytes,
            max_headers: limits.max_headers,
            max_target_len: limits.max_target_len,
            max_chunk_ext_len: limits.max_chunk_ext_len,
            max_trailer_bytes: limits.max_trailer_bytes,
        }
    }
}

impl From<Limits> for codec::Limits {
    fn from(limits: Limits) -> Self {
        Self {
            max_head_bytes: limits.max_head_bytes,
            max_headers: limits.max_headers,
            max_target_len: limits.max_target_len,
            max_chunk_ext_len: limits.max_chunk_ext_len,
            max_trailer_bytes: limits.max_trailer_bytes,
        }
    }
}

/// How a body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `content-length` bytes.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
    /// Until the connection closes (responses only).
    CloseDelimited,
}

impl From<codec::Framing> for Framing {
    fn from(framing: codec::Framing) -> Self {
        match framing {
            codec::Framing::Empty => Self::Empty,
            codec::Framing::Length(len) => Self::Length(len),
            codec::Framing::Chunked => Self::Chunked,
            codec::Framing::CloseDelimited => Self::CloseDelimited,
        }
    }
}

impl From<Framing> for codec::Framing {
    fn from(framing: Framing) -> Self {
        match framing {
            Framing::Empty => Self::Empty,
            Framing::Length(len) => Self::Length(len),
            Framing::Chunked => Self::Chunked,
            Framing::CloseDelimited => Self::CloseDelimited,
        }
    }
}

/// Why the codec refused a head or a body: the status a server would
/// answer and the error's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The status for a head error; `400` for a body error.
    pub status: StatusCode,
    /// The error's `Display`.
    pub text: String,
}

impl From<codec::HeadError> for Refused {
    fn from(error: codec::HeadError) -> Self {
        Self {
            status: error.status(),
            text: error.to_string(),
        }
    }
}

impl From<codec::BodyError> for Refused {
    fn from(error: codec::BodyError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            text: error.to_string(),
        }
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request target.
    pub uri: Uri,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The fields.
    pub headers: HeaderMap,
    /// The body's framing.
    pub framing: Framing,
    /// Whether another request may follow.
    pub keep_alive: bool,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
    /// CONNECT or an upgrade request.
    pub upgrade: bool,
}

/// Parses a request head from the front of `buf`, as the server does.
pub fn parse_request(buf: &mut BytesMut, limits: &Limits) -> Result<Option<RequestHead>, Refused> {
    let Some(head) = codec::parse_request(buf, &(*limits).into())? else {
        return Ok(None);
    };
    Ok(Some(RequestHead {
        method: head.method,
        uri: head.uri,
        version: head.version,
        headers: head.headers,
        framing: head.framing.into(),
        keep_alive: head.keep_alive,
        expect_continue: head.expect_continue,
        upgrade: head.upgrade,
    }))
}

/// Appends `head` to `dst` as the client writes heads: the target as
/// parsed, the fields, and the framing field `framing` calls for.
pub fn encode_request_head(head: &RequestHead, dst: &mut BytesMut) {
    let target = head.uri.to_string();
    let out = codec::RequestHeadOut {
        method: &head.method,
        target: target.as_bytes(),
        version: head.version,
        headers: &head.headers,
        host: None,
        framing: head.framing.into(),
    };
    codec::encode_request_head(&out, dst);
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseHead {
    /// The status.
    pub status: StatusCode,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The fields.
    pub headers: HeaderMap,
    /// The body's framing.
    pub framing: Framing,
    /// Whether another request may follow on the connection.
    pub keep_alive: bool,
}

/// Parses a response head from the front of `buf`, as the client does for
/// a request made with `method`.
pub fn parse_response(
    buf: &mut BytesMut,
    limits: &Limits,
    method: &Method,
) -> Result<Option<ResponseHead>, Refused> {
    let Some(head) = codec::parse_response(buf, &(*limits).into(), method)? else {
        return Ok(None);
    };
    Ok(Some(ResponseHead {
        status: head.status,
        version: head.version,
        headers: head.headers,
        framing: head.framing.into(),
        keep_alive: head.keep_alive,
    }))
}

/// Appends `head` to `dst` as the server writes heads (no `date`, no
/// `connection` of its own).
pub fn encode_response_head(head: &ResponseHead, dst: &mut BytesMut) {
    let out = codec::ResponseHeadOut {
        version: head.version,
        status: head.status,
        headers: &head.headers,
        framing: head.framing.into(),
        connection: None,
        date: None,
    };
    codec::encode_response_head(&out, dst);
}

/// One piece of a decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Body bytes.
    Data(Bytes),
    /// The trailer fields; the end follows.
    Trailers(HeaderMap),
    /// The body is complete.
    End,
}

impl From<codec::Decoded> for Decoded {
    fn from(decoded: codec::Decoded) -> Self {
        match decoded {
            codec::Decoded::Data(data) => Self::Data(data),
            codec::Decoded::Trailers(fields) => Self::Trailers(fields),
            codec::Decoded::End => Self::End,
        }
    }
}

/// The body decoder both sides use.
#[derive(Debug, Clone)]
pub struct Decoder(codec::Decoder);

impl Decoder {
    /// A decoder for a body framed as `framing`.
    pub fn new(framing: Framing, limits: &Limits) -> Self {
        Self(codec::Decoder::new(framing.into(), &(*limits).into()))
    }

    /// The next piece from the front of `buf`; `None` when more bytes are
    /// needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, Refused> {
        Ok(self.0.decode(buf)?.map(Decoded::from))
    }

    /// The next piece once the peer has closed the connection.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Decoded, Refused> {
        Ok(self.0.decode_eof(buf)?.into())
    }

    /// Whether the whole body has been read.
    pub fn is_done(&self) -> bool {
        self.0.is_done()
    }
}

/// The body encoder both sides use, writing into a plain buffer.
#[derive(Debug, Clone)]
pub struct Encoder(codec::Encoder);

impl Encoder {
    /// An encoder for a body framed as `framing`.
    pub fn new(framing: Framing) -> Self {
        Self(codec::Encoder::new(framing.into()))
    }

    /// Appends `data`, framed, to `dst`.
    pub fn encode_data(&mut self, data: Bytes, dst: &mut Vec<u8>) -> Result<(), Refused> {
        let mut queue = codec::WriteBuf::new();
        self.0.encode_data(data, &mut queue)?;
        drain(&mut queue, dst);
        Ok(())
    }

    /// Appends the end of the body, with `trailers` when chunked, to `dst`.
    pub fn encode_end(
        &mut self,
        trailers: Option<&HeaderMap>,
        dst: &mut Vec<u8>,
    ) -> Result<(), Refused> {
        let mut queue = codec::WriteBuf::new();
        self.0.encode_end(trailers, &mut queue)?;
        drain(&mut queue, dst);
        Ok(())
    }
}

/// Moves everything queued in `queue` to the end of `dst`.
fn drain(queue: &mut codec::WriteBuf, dst: &mut Vec<u8>) {
    while !queue.is_empty() {
        let mut slices = [IoSlice::new(&[]); 8];
        let count = queue.chunks_vectored(&mut slices);
        let mut taken = 0;
        for slice in &slices[..count] {
            dst.extend_from_slice(slice);
            taken += slice.len();
        }
        queue.advance(taken);
    }
}

/// The proxy `proxies` chooses for a request to `host` by `scheme`, as its
/// `http://host:port` text; `None` for a direct connection.
pub fn proxy_for(proxies: &Proxies, scheme: &str, host: &str) -> Option<String> {
    proxies
        .for_target(scheme, host)
        .map(|proxy| proxy.uri().to_string())
}

/// The `proxy-authorization` value a proxy sends, if its URI has user
/// information.
pub fn proxy_authorization(proxy: &Proxy) -> Option<&HeaderValue> {
    proxy.authorization()
}
