//! Switching to HTTP/2 in clear text: reading the first bytes to tell
//! prior knowledge from HTTP/1.1 (the codec recognises the preface), and
//! carrying out an HTTP/1.1 `Upgrade: h2c`.
//!
//! After `101 Switching Protocols`, the upgrading request is stream 1 of
//! the new connection, already half-closed by the client. The `h2` crate
//! has no way to be told so; instead, a HEADERS frame opening stream 1 is
//! put into what the server reads, right after the client's first SETTINGS
//! frame, and the request it announces is replaced by the real one when the
//! stream is accepted.

use std::future::poll_fn;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{self, HeaderMap};
use http::{Request, Uri, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::body::Body;
use crate::error::{Error, Kind, Timeout};
use crate::h1::codec::{PREFACE, Preface, RequestHead, preface};

const FRAME_HEADER: usize = 9;
const SETTINGS: u8 = 0x4;
/// The largest SETTINGS frame accepted as the first one; real ones hold a
/// handful of six-byte entries.
const MAX_SETTINGS: usize = 16 * 1024;

/// HEADERS, END_STREAM | END_HEADERS, stream 1, with the HPACK static
/// table entries `:method: GET`, `:scheme: http` and `:path: /`. Only
/// opens the stream; the request it stands for is the upgrading one.
const OPEN_STREAM_1: [u8; FRAME_HEADER + 3] = [0, 0, 3, 0x1, 0x5, 0, 0, 0, 1, 0x82, 0x86, 0x84];

/// GOAWAY, last stream 0, `PROTOCOL_ERROR`: the answer to a broken
/// preface (RFC 9113, section 3.4).
const GOAWAY_PROTOCOL_ERROR: [u8; FRAME_HEADER + 8] =
    [0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// Reads until the first bytes either are the HTTP/2 preface or cannot be;
/// whether they are, and what was read. A preface that starts right and
/// goes wrong is refused (no HTTP/1.1 request starts that way).
pub(super) async fn sniff<I>(
    io: &mut I,
    timeout: Option<Duration>,
) -> Result<(bool, BytesMut), Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let (seen, buf) = read_preface(io, timeout).await?;
    match seen {
        Preface::Invalid => Err(refuse_preface(io).await),
        seen => Ok((seen == Preface::Http2, buf)),
    }
}

/// Reads the HTTP/2 preface of a client that must speak HTTP/2 from its
/// first byte; what was read, the preface included. Anything else is
/// answered with GOAWAY (RFC 9113, section 3.4) before the connection is
/// closed, which the `h2` crate does not do.
pub(crate) async fn expect_preface<I>(
    io: &mut I,
    timeout: Option<Duration>,
) -> Result<BytesMut, Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    match read_preface(io, timeout).await? {
        (Preface::Http2, buf) => Ok(buf),
        _ => Err(refuse_preface(io).await),
    }
}

/// Reads until the codec can tell what the first bytes are, or the peer
/// stops sending (then `Other`).
async fn read_preface<I>(
    io: &mut I,
    timeout: Option<Duration>,
) -> Result<(Preface, BytesMut), Error>
where
    I: AsyncRead + Unpin,
{
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let read = async {
        loop {
            let seen = preface(&buf);
            if seen != Preface::Partial {
                return Ok(seen);
            }
            let read = poll_fn(|cx| {
                tokio_util::io::poll_read_buf(std::pin::Pin::new(&mut *io), cx, &mut buf)
            })
            .await
            .map_err(Error::io)?;
            if read == 0 {
                // Too short to tell: HTTP/1.1 will say what is wrong, if anything.
                return Ok(Preface::Other);
            }
        }
    };
    let seen = with_timeout(timeout, read).await?;
    Ok((seen, buf))
}

/// Sends GOAWAY `PROTOCOL_ERROR` and closes, reading what the client sent
/// meanwhile so that the close does not reset the connection under it.
async fn refuse_preface<I>(io: &mut I) -> Error
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let _ = io.write_all(&GOAWAY_PROTOCOL_ERROR).await;
    let _ = io.shutdown().await;
    let mut rest = [0; 4096];
    let discard = async { while matches!(io.read(&mut rest).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(REFUSE_LINGER, discard).await;
    bad_preface("invalid HTTP/2 connection preface")
}

/// How long a refused connection is read from before it is closed.
const REFUSE_LINGER: Duration = Duration::from_millis(200);

async fn with_timeout<T>(
    timeout: Option<Duration>,
    future: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match timeout {
        Some(limit) => tokio::time::timeout(limit, future)
            .await
            .unwrap_or_else(|_| Err(Error::new(Kind::Timeout(Timeout::Head)))),
        None => future.await,
    }
}

/// The upgrading request as the handler sees it on stream 1: HTTP/2, an
/// absolute URI, and none of the fields that only concerned the switch.
pub(super) fn upgraded_request(head: RequestHead) -> Request<Body> {
    let mut headers = head.headers;
    crate::h2::strip_connection_fields(&mut headers);
    headers.remove("http2-settings");
    let uri = absolute(&head.uri, &headers).unwrap_or(head.uri);
    let mut req = Request::new(Body::empty());
    *req.method_mut() = head.method;
    *req.uri_mut() = uri;
    *req.version_mut() = Version::HTTP_2;
    *req.headers_mut() = headers;
    req
}

/// `http://host/path`, as an HTTP/2 request's URI is.
fn absolute(uri: &Uri, headers: &HeaderMap) -> Option<Uri> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Uri::builder()
        .scheme("http")
        .authority(host)
        .path_and_query(path)
        .build()
        .ok()
}

/// After `101`, reads the client's preface and first SETTINGS frame and
/// returns what the HTTP/2 server must read first: those, the frame opening
/// stream 1, then whatever else arrived.
pub(super) async fn splice_preface<I>(
    io: &mut I,
    mut buf: BytesMut,
    timeout: Option<Duration>,
) -> Result<Bytes, Error>
where
    I: AsyncRead + Unpin,
{
    let header_end = PREFACE.len() + FRAME_HEADER;
    let read = async {
        loop {
            if buf.len() >= PREFACE.len() && !buf.starts_with(PREFACE) {
                return Err(bad_preface("the client did not send the HTTP/2 preface"));
            }
            if buf.len() >= header_end {
                let frame = &buf[PREFACE.len()..header_end];
                let length = usize::from(frame[0]) << 16
                    | usize::from(frame[1]) << 8
                    | usize::from(frame[2]);
                if frame[3] != SETTINGS || length > MAX_SETTINGS {
                    return Err(bad_preface("the preface is not followed by SETTINGS"));
                }
                if buf.len() >= header_end + length {
                    return Ok(header_end + length);
                }
            }
            let read = poll_fn(|cx| {
                tokio_util::io::poll_read_buf(std::pin::Pin::new(&mut *io), cx, &mut buf)
            })
            .await
            .map_err(Error::io)?;
            if read == 0 {
                return Err(Error::new(Kind::Incomplete));
            }
        }
    };
    let settings_end = with_timeout(timeout, read).await?;
    let rest = buf.split_off(settings_end);
    buf.reserve(OPEN_STREAM_1.len() + rest.len());
    buf.put_slice(&OPEN_STREAM_1);
    buf.unsplit(rest);
    Ok(buf.freeze())
}

fn bad_preface(message: &'static str) -> Error {
    Error::with(Kind::Http2, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stream_1_is_opened_right_after_the_first_settings() {
        let settings = [0, 0, 6, SETTINGS, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100];
        let window_update = [0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 1, 0, 0];
        let mut wire = PREFACE.to_vec();
        wire.extend_from_slice(&settings);
        wire.extend_from_slice(&window_update);
        // Split in two reads, the second in the middle of the SETTINGS frame.
        let (first, second) = wire.split_at(PREFACE.len() + 4);
        let (mut client, mut server) = tokio::io::duplex(1024);
        tokio::io::AsyncWriteExt::write_all(&mut client, second)
            .await
            .ok();
        let spliced = splice_preface(&mut server, BytesMut::from(first), None).await;
        let mut expected = PREFACE.to_vec();
        expected.extend_from_slice(&settings);
        expected.extend_from_slice(&OPEN_STREAM_1);
        expected.extend_from_slice(&window_update);
        assert_eq!(spliced.ok().as_deref(), Some(&expected[..]));
    }

    #[tokio::test]
    async fn a_wrong_preface_is_refused() {
        let (_client, mut server) = tokio::io::duplex(1024);
        let wire = BytesMut::from(&b"GET / HTTP/1.1\r\nhost: x\r\n\r\nmore bytes here"[..]);
        let err = splice_preface(&mut server, wire, None).await.err();
        assert!(err.is_some_and(|e| e.is_http2()));
    }

    #[tokio::test]
    async fn sniffing_stops_at_the_first_difference() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        tokio::io::AsyncWriteExt::write_all(&mut client, b"GET / HTTP/1.1\r\n")
            .await
            .ok();
        let (is_h2, read) = sniff(&mut server, None).await.expect("sniffed");
        assert!(!is_h2);
        assert_eq!(&read[..], b"GET / HTTP/1.1\r\n");

        let (mut client, mut server) = tokio::io::duplex(1024);
        tokio::io::AsyncWriteExt::write_all(&mut client, &PREFACE[..10])
            .await
            .ok();
        tokio::io::AsyncWriteExt::write_all(&mut client, &PREFACE[10..])
            .await
            .ok();
        let (is_h2, read) = sniff(&mut server, None).await.expect("sniffed");
        assert!(is_h2);
        assert_eq!(&read[..], PREFACE);
    }
}
