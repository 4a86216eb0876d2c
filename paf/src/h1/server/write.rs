//! Writing a response: the head as the codec planned it, the body while
//! the request body is still fed to the handler, and the answers to
//! requests refused before or instead of the handler.

use std::future::poll_fn;
use std::pin::pin;
use std::task::Poll;

use http::{HeaderMap, StatusCode, Version};
use http_body::Body as HttpBody;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::Config;
use super::finish::linger;
use crate::date;
use crate::debug::{self, Side};
use crate::error::{BoxError, Error};
use crate::h1::codec::{self, Encoder, Framing, ResponseHeadOut};
use crate::h1::io::{Buffered, WRITE_HIGH_WATER};
use crate::h1::outgoing::{Step, poll_encode};
use crate::h1::pump::Pump;
use crate::protocol_error;

pub(super) fn write_head<I>(
    io: &mut Buffered<I>,
    now: Instant,
    config: &Config,
    status: StatusCode,
    headers: &HeaderMap,
    framing: Framing,
    connection: Option<&'static str>,
) {
    debug::response(Side::Server, Version::HTTP_11, status, headers);
    let dst = io.write_buf.head_mut();
    let mut encode = |date: Option<&[u8]>| {
        codec::encode_response_head(
            &ResponseHeadOut {
                version: Version::HTTP_11,
                status,
                headers,
                framing,
                connection,
                date,
            },
            dst,
        )
    };
    if config.date {
        date::with_date(now, |date| encode(Some(date)));
    } else {
        encode(None);
    }
}

/// Writes the response body, still feeding the request body to the handler
/// (a handler may stream one into the other). A request body that fails
/// meanwhile clears `keep_alive`. Whether the writing had to wait, for the
/// client or for the body.
pub(super) async fn write_body<I, B>(
    io: &mut Buffered<I>,
    body: B,
    framing: Framing,
    pump: &mut Option<Box<Pump>>,
    keep_alive: &mut bool,
) -> Result<bool, Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let mut body = pin!(body);
    let mut encoder = Encoder::new(framing);
    let mut trailers: Option<HeaderMap> = None;
    let mut waited = false;
    poll_fn(|cx| {
        loop {
            if let Some(p) = pump.as_mut()
                && let Poll::Ready(result) = p.poll(cx, io)
            {
                match result {
                    Ok(()) => *pump = None,
                    // The handler's body sees the error and the response goes
                    // on, but where the next request starts is unknown.
                    Err(err) => {
                        tracing::debug!(?err, "request body failed while responding");
                        *pump = None;
                        *keep_alive = false;
                    }
                }
            }
            if io.write_buf.len() >= WRITE_HIGH_WATER {
                match io.poll_flush(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(err)) => return Poll::Ready(Err(Error::io(err))),
                    Poll::Pending => {
                        waited = true;
                        return Poll::Pending;
                    }
                }
            }
            let step = poll_encode(
                cx,
                body.as_mut(),
                &mut encoder,
                &mut trailers,
                &mut io.write_buf,
            );
            match step {
                Poll::Ready(Ok(Step::Frame)) => {}
                Poll::Ready(Ok(Step::End)) => return Poll::Ready(Ok(waited)),
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {
                    // Send what is ready while the body produces more.
                    if let Poll::Ready(Err(err)) = io.poll_flush(cx) {
                        return Poll::Ready(Err(Error::io(err)));
                    }
                    waited = true;
                    return Poll::Pending;
                }
            }
        }
    })
    .await
}

/// Answers a request that cannot be served with `status`, then closes.
pub(super) async fn refuse<I>(
    io: &mut Buffered<I>,
    config: &Config,
    status: StatusCode,
    err: Error,
) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    tracing::debug!(%status, error = %format_args!("{err:#}"), "refusing request");
    let (headers, text) = config
        .on_error
        .shaped(status, Version::HTTP_11, &err)
        .unwrap_or_else(|| protocol_error::plain(status));
    write_head(
        io,
        Instant::now(),
        config,
        status,
        &headers,
        Framing::Length(text.len() as u64),
        Some("close"),
    );
    io.write_buf.push(text);
    if poll_fn(|cx| io.poll_shutdown(cx)).await.is_ok() {
        linger(io).await;
    }
    Err(err)
}
