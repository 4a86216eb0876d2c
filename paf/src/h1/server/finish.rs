//! After a response: the rest of the request body read or discarded, and
//! the connection closed without resetting it under the last response.

use std::future::poll_fn;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite};

use super::Config;
use crate::error::Error;
use crate::h1::io::Buffered;
use crate::h1::pump::Pump;
use crate::linger;
use crate::timer::{self, Deadline};

/// After the response: lets the handler finish reading the request body,
/// or reads and discards a small unread rest. Returns whether the
/// connection can carry another request.
pub(super) async fn finish_body<I>(
    io: &mut Buffered<I>,
    mut pump: Pump,
    config: &Config,
    deadline: &mut Deadline,
) -> bool
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    // Whatever is queued goes out first: the client may wait for it.
    if poll_fn(|cx| io.poll_flush(cx)).await.is_err() {
        return false;
    }
    deadline.set(config.idle_timeout.map(timer::after));
    let mut budget = config.max_drain;
    poll_fn(|cx| {
        if deadline.poll_expired(cx).is_ready() {
            return Poll::Ready(false);
        }
        if pump.is_abandoned() {
            return pump.poll_discard(cx, io, &mut budget);
        }
        pump.poll(cx, io).map(|result| result.is_ok())
    })
    .await
}

/// Ends the connection after its last response.
pub(super) async fn close<I>(io: &mut Buffered<I>, err: Option<Error>) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let shutdown = poll_fn(|cx| io.poll_shutdown(cx)).await;
    match err {
        Some(err) => Err(err),
        None => shutdown.map_err(Error::io),
    }
}

/// Reads and discards what the client still sends for a little while, so
/// that closing with unread data does not reset the connection before the
/// client has read the response.
pub(super) async fn linger<I>(io: &mut Buffered<I>)
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let mut read = 0;
    let drain = async {
        while read < linger::BYTES {
            io.read_buf.clear();
            let next = tokio::time::timeout(linger::QUIET, poll_fn(|cx| io.poll_read_body(cx)));
            match next.await {
                Ok(Ok(n)) if n > 0 => read += n as u64,
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(linger::TIME, drain).await;
}
