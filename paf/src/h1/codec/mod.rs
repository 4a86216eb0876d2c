//! Sans-IO HTTP/1.1 codec: message heads, body framing and the write queue.
//!
//! Everything here works on [`bytes::BytesMut`] and [`bytes::Bytes`]; reading
//! and writing the connection is left to the caller.
#![allow(
    dead_code,
    unused_imports,
    reason = "the server and client connections use the codec piece by piece"
)]

mod chunked;
mod decoder;
mod digits;
mod encode_head;
mod encoder;
mod error;
mod facts;
mod framing;
mod limits;
mod raw;
mod request;
mod response;
mod syntax;
mod trailers;
mod write_buf;

#[cfg(test)]
mod tests;

pub(crate) use decoder::{Decoded, Decoder};
pub(crate) use encode_head::{
    RequestHeadOut, ResponseHeadOut, encode_request_head, encode_response_head,
};
pub(crate) use encoder::Encoder;
pub(crate) use error::{BodyError, HeadError};
pub(crate) use framing::Framing;
pub(crate) use limits::Limits;
pub(crate) use request::{RequestHead, parse_request};
pub(crate) use response::{ResponseHead, parse_response};
pub(crate) use syntax::connection_has;
pub(crate) use write_buf::WriteBuf;
