//! Reading a request head: the head and idle timeouts, shutdown between
//! requests, and parse errors turned into the status to answer with.

use std::future::poll_fn;
use std::task::Poll;

use http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::Config;
use crate::error::{Error, Kind, Timeout};
use crate::h1::codec::{self, HeadError, RequestHead};
use crate::h1::io::Buffered;
use crate::signal::Signal;
use crate::timer::{self, Deadline};

/// What reading the next request head gave. Not boxed: an allocation per
/// request would cost more than moving the head.
#[allow(clippy::large_enum_variant)]
pub(super) enum Next {
    Request(RequestHead),
    /// The connection ends without a response: the client closed it or it
    /// was idle too long, or the server is shutting down.
    Close(Option<Error>),
    /// The client misbehaved; answer with this status and close.
    Refuse(StatusCode, Error),
}

/// Reads until a whole request head is buffered.
pub(super) async fn read_head<I>(
    io: &mut Buffered<I>,
    config: &Config,
    signal: &Signal,
    deadline: &mut Deadline,
    last_response: Option<Instant>,
) -> Next
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    // The first request's head is timed from the connection's start.
    let mut idle = false;
    if let Some(last) = last_response {
        if io.read_buf.is_empty() {
            idle = true;
            deadline.set(config.idle_timeout.map(|t| timer::after_from(last, t)));
        } else {
            deadline.set(config.head_timeout.map(timer::after));
        }
    }
    loop {
        match codec::parse_request(&mut io.read_buf, &config.limits) {
            Ok(Some(head)) => {
                signal.waiting(false);
                return Next::Request(head);
            }
            Ok(None) => signal.waiting(true),
            Err(err) => return Next::Refuse(err.status(), parse_error(err)),
        }
        if !io.write_buf.is_empty()
            && let Err(err) = poll_fn(|cx| io.poll_flush(cx)).await
        {
            return Next::Close(Some(Error::io(err)));
        }
        enum Event {
            Read(std::io::Result<usize>),
            Shutdown,
            Expired,
        }
        let event = poll_fn(|cx| {
            if let Poll::Ready(read) = io.poll_read_head(cx) {
                return Poll::Ready(Event::Read(read));
            }
            if io.read_buf.is_empty() && signal.poll_set(cx).is_ready() {
                return Poll::Ready(Event::Shutdown);
            }
            if deadline.poll_expired(cx).is_ready() {
                return Poll::Ready(Event::Expired);
            }
            Poll::Pending
        })
        .await;
        match event {
            Event::Read(Ok(0)) => {
                // A client may close between requests; in the middle of a
                // head there is nobody left to answer.
                let err = (!io.read_buf.is_empty()).then(|| Error::new(Kind::Incomplete));
                return Next::Close(err);
            }
            Event::Read(Ok(_)) => {
                if idle {
                    idle = false;
                    deadline.set(config.head_timeout.map(timer::after));
                }
            }
            Event::Read(Err(err)) => return Next::Close(Some(Error::io(err))),
            Event::Shutdown => return Next::Close(None),
            Event::Expired if io.read_buf.is_empty() => {
                let kind = if idle { Timeout::Idle } else { Timeout::Head };
                return Next::Close(Some(Error::new(Kind::Timeout(kind))));
            }
            Event::Expired => {
                return Next::Refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    Error::new(Kind::Timeout(Timeout::Head)),
                );
            }
        }
    }
}

fn parse_error(err: HeadError) -> Error {
    Error::with(Kind::Parse, err)
}
