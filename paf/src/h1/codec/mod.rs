//! Sans-IO HTTP/1.1 codec: message heads, body framing and the write queue.
//!
//! Everything here works on [`bytes::BytesMut`] and [`bytes::Bytes`]; reading
//! and writing the connection is left to the caller. The codec decides
//! framing both ways (`plan.rs`): the connection loops read, ask for a
//! plan, and write.
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
mod h2c;
mod limits;
mod plan;
mod raw;
mod request;
mod response;
mod syntax;
mod target;
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
pub(crate) use h2c::{PREFACE, Preface, SWITCHING, preface, wants_upgrade as wants_h2c};
pub(crate) use limits::Limits;
pub(crate) use plan::{Exchange, InvalidLength, ResponsePlan, plan_request, plan_response};
pub(crate) use request::{RequestHead, parse_request};
pub(crate) use response::{ResponseHead, parse_response};
pub(crate) use syntax::connection_has;
pub(crate) use target::encode_request;
pub(crate) use write_buf::WriteBuf;
