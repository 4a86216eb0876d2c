//! Moves a request body from the connection into the handler's [`Body`].
//!
//! [`Body`]: crate::Body

use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::codec::{BodyError, Decoded, Decoder};
use super::io::Buffered;
use crate::body::pipe::{self, Gone};
use crate::error::{Error, Kind, Timeout};
use crate::timer::Deadline;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Why a body could not be received.
#[derive(Debug)]
pub(crate) enum PumpError {
    /// More bytes than the configured limit.
    TooLarge,
    /// Bad framing: the connection's byte stream can no longer be trusted.
    Malformed(BodyError),
    /// The peer closed the connection in the middle of the body.
    Incomplete,
    /// The peer paused in the middle of the body for longer than allowed.
    Stalled,
    /// Reading failed.
    Io(io::Error),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Continue {
    NotExpected,
    Expected,
    Sent,
}

pub(crate) struct Pump {
    decoder: Decoder,
    tx: Option<pipe::Sender>,
    expect: Continue,
    received: u64,
    limit: Option<u64>,
    /// The longest pause allowed while waiting for body bytes.
    timeout: Option<Duration>,
    deadline: Deadline,
    /// Whether the deadline runs: only while waiting on the peer, never
    /// while the handler is slow to read.
    waiting: bool,
}

impl Pump {
    pub(crate) fn new(
        decoder: Decoder,
        tx: pipe::Sender,
        expect_continue: bool,
        limit: Option<u64>,
        timeout: Option<Duration>,
    ) -> Pump {
        Pump {
            decoder,
            tx: Some(tx),
            expect: if expect_continue {
                Continue::Expected
            } else {
                Continue::NotExpected
            },
            received: 0,
            limit,
            timeout,
            deadline: Deadline::default(),
            waiting: false,
        }
    }

    /// Whether the whole body was received.
    pub(crate) fn is_done(&self) -> bool {
        self.decoder.is_done()
    }

    /// Whether the handler dropped the body.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.tx.as_ref().is_none_or(pipe::Sender::is_gone)
    }

    /// Whether the client still waits for `100 Continue` before sending the body.
    pub(crate) fn awaits_continue(&self) -> bool {
        self.expect == Continue::Expected
    }

    /// The final response is on its way: a `100 Continue` after it would
    /// be read as part of it, so none is sent any more.
    pub(crate) fn skip_continue(&mut self) {
        if self.expect == Continue::Expected {
            self.expect = Continue::Sent;
        }
    }

    /// Feeds the body as fast as the handler reads it. Ready when the body
    /// is complete; stays pending once the handler dropped it (the
    /// connection decides afterwards whether to drain or close).
    pub(crate) fn poll<I>(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut Buffered<I>,
    ) -> Poll<Result<(), PumpError>>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        loop {
            let Some(tx) = &mut self.tx else {
                return Poll::Pending;
            };
            if self.expect == Continue::Expected {
                match tx.poll_wanted(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(Gone)) => {
                        self.tx = None;
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(())) => {
                        io.write_buf.head_mut().extend_from_slice(CONTINUE);
                        self.expect = Continue::Sent;
                    }
                }
            }
            if !io.write_buf.is_empty() {
                match io.poll_flush(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(err)) => {
                        return Poll::Ready(Err(self.fail(PumpError::Io(err))));
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            match tx.poll_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(Gone)) => {
                    self.tx = None;
                    return Poll::Pending;
                }
                Poll::Ready(Ok(())) => {}
            }
            match self.decoder.decode(&mut io.read_buf) {
                Ok(Some(Decoded::Data(data))) => {
                    self.received += data.len() as u64;
                    if self.limit.is_some_and(|limit| self.received > limit) {
                        return Poll::Ready(Err(self.fail(PumpError::TooLarge)));
                    }
                    tx.send_data(data);
                }
                Ok(Some(Decoded::Trailers(trailers))) => tx.send_trailers(trailers),
                Ok(Some(Decoded::End)) => {
                    if let Some(tx) = self.tx.take() {
                        tx.finish();
                    }
                    return Poll::Ready(Ok(()));
                }
                Ok(None) => match io.poll_read_body(cx) {
                    Poll::Pending => {
                        if !self.waiting {
                            self.waiting = true;
                            self.deadline.set(self.timeout.map(crate::timer::after));
                        }
                        if self.deadline.poll_expired(cx).is_ready() {
                            return Poll::Ready(Err(self.fail(PumpError::Stalled)));
                        }
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(self.fail(PumpError::Incomplete)));
                    }
                    Poll::Ready(Ok(_)) => self.waiting = false,
                    Poll::Ready(Err(err)) => {
                        return Poll::Ready(Err(self.fail(PumpError::Io(err))));
                    }
                },
                Err(err) => return Poll::Ready(Err(self.fail(PumpError::Malformed(err)))),
            }
        }
    }

    /// Reads and throws away the rest of an abandoned body, up to `budget`
    /// bytes. Ready(true) when the body ended within the budget.
    pub(crate) fn poll_discard<I>(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut Buffered<I>,
        budget: &mut u64,
    ) -> Poll<bool>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        loop {
            match self.decoder.decode(&mut io.read_buf) {
                Ok(Some(Decoded::Data(data))) => {
                    let Some(left) = budget.checked_sub(data.len() as u64) else {
                        return Poll::Ready(false);
                    };
                    *budget = left;
                }
                Ok(Some(Decoded::Trailers(_))) => {}
                Ok(Some(Decoded::End)) => return Poll::Ready(true),
                Ok(None) => match io.poll_read_body(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(n)) if n > 0 => {}
                    Poll::Ready(_) => return Poll::Ready(false),
                },
                Err(_) => return Poll::Ready(false),
            }
        }
    }

    /// Tells the handler's body why it ends early.
    fn fail(&mut self, err: PumpError) -> PumpError {
        if let Some(tx) = self.tx.take() {
            tx.fail(match &err {
                PumpError::TooLarge => Error::new(Kind::BodyTooLarge),
                PumpError::Malformed(e) => Error::with(Kind::Body, e.clone()),
                PumpError::Incomplete => Error::new(Kind::Incomplete),
                PumpError::Stalled => Error::new(Kind::Timeout(Timeout::Body)),
                PumpError::Io(e) => Error::io(io::Error::new(e.kind(), e.to_string())),
            });
        }
        err
    }
}
