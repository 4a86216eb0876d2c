//! Moves a response body from the connection into the caller's [`Body`].
//!
//! Like the server's request bodies, it goes through the one-slot pipe: the
//! next piece is read from the network only once the previous one was taken.
//! A body dropped unread is read on and thrown away, within a budget of
//! bytes and time, so that the connection can carry the next request.
//!
//! [`Body`]: crate::Body

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use super::copy;
use crate::body::pipe::{self, Gone};
use crate::error::{Error, Kind};
use crate::h1::codec::{BodyError, Decoded, Decoder};
use crate::h1::io::Buffered;

/// How many bytes of a body nobody reads are thrown away to keep the connection.
pub(super) const DISCARD_LIMIT: u64 = 64 * 1024;

/// How long the rest of a body nobody reads is waited for. A feed that
/// never ends (Docker's events, a log follower) would otherwise hold the
/// connection, and its task, for as long as the server keeps it open.
const DISCARD_TIME: Duration = Duration::from_secs(2);

/// How a body ended.
pub(super) enum Outcome {
    /// Read to its end; the connection is in sync for the next response.
    /// The sender, still to be finished, lets the connection publish its
    /// state before the reader sees the end.
    Complete(Option<pipe::Sender>),
    /// Dropped unread with more than [`DISCARD_LIMIT`] left, or with the
    /// rest not arriving within [`DISCARD_TIME`].
    Abandoned,
}

pub(super) struct Incoming {
    decoder: Decoder,
    /// `None` once the caller dropped the body.
    tx: Option<pipe::Sender>,
    discarded: u64,
    /// When discarding gives up, once the body was dropped.
    give_up: Option<Pin<Box<Sleep>>>,
    eof: bool,
}

impl Incoming {
    pub(super) fn new(decoder: Decoder, tx: pipe::Sender) -> Incoming {
        Incoming {
            decoder,
            tx: Some(tx),
            discarded: 0,
            give_up: None,
            eof: false,
        }
    }

    /// Feeds the body as fast as the caller reads it. `limited` says whether
    /// an abandoned body is discarded only up to [`DISCARD_LIMIT`] (without
    /// it, the rest is read whatever its size: pipelined responses follow).
    /// On an error the reader is not told yet: see [`fail`](Incoming::fail).
    pub(super) fn poll<I>(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut Buffered<I>,
        limited: bool,
    ) -> Poll<Result<Outcome, Error>>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        loop {
            if let Some(tx) = &mut self.tx {
                match tx.poll_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(Gone)) => {
                        self.tx = None;
                        self.give_up = Some(Box::pin(tokio::time::sleep(DISCARD_TIME)));
                    }
                    Poll::Ready(Ok(())) => {}
                }
            }
            let decoded = if self.eof {
                self.decoder.decode_eof(&mut io.read_buf).map(Some)
            } else {
                self.decoder.decode(&mut io.read_buf)
            };
            let decoded = match decoded {
                Ok(Some(decoded)) => decoded,
                Ok(None) => {
                    match io.poll_read_body(cx) {
                        Poll::Pending => {
                            // A body dropped while the network is silent
                            // must wake this task: nothing else would.
                            if self.tx.as_mut().is_some_and(|tx| tx.poll_gone(cx)) {
                                continue;
                            }
                            let expired = self
                                .give_up
                                .as_mut()
                                .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready());
                            if limited && expired {
                                return Poll::Ready(Ok(Outcome::Abandoned));
                            }
                            return Poll::Pending;
                        }
                        Poll::Ready(Ok(0)) => self.eof = true,
                        Poll::Ready(Ok(_)) => {}
                        Poll::Ready(Err(err)) => {
                            return Poll::Ready(Err(self.fail(Error::io(err))));
                        }
                    }
                    continue;
                }
                Err(BodyError::Incomplete) => {
                    return Poll::Ready(Err(Error::new(Kind::Incomplete)));
                }
                Err(err) => return Poll::Ready(Err(Error::with(Kind::Body, err))),
            };
            match decoded {
                Decoded::Data(data) => match &mut self.tx {
                    Some(tx) => tx.send_data(data),
                    None => {
                        self.discarded += data.len() as u64;
                        if limited && self.discarded > DISCARD_LIMIT {
                            return Poll::Ready(Ok(Outcome::Abandoned));
                        }
                    }
                },
                Decoded::Trailers(trailers) => {
                    if let Some(tx) = &mut self.tx {
                        tx.send_trailers(trailers);
                    }
                }
                Decoded::End => return Poll::Ready(Ok(Outcome::Complete(self.tx.take()))),
            }
        }
    }

    /// Ends the body with `err`; returns the same error for the connection.
    pub(super) fn fail(&mut self, err: Error) -> Error {
        match self.tx.take() {
            Some(tx) => {
                let copy = copy(&err);
                tx.fail(err);
                copy
            }
            None => err,
        }
    }
}
