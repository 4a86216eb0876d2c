//! The driving half of a client connection.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::Error;

/// The future that runs a client connection: it writes the requests, reads
/// the responses and feeds their bodies. Nothing happens unless it is
/// spawned or polled.
///
/// It resolves to `Ok` when the connection closed normally: the server
/// closed it between exchanges, the last response was marked
/// `connection: close`, every [`SendRequest`](super::SendRequest) was
/// dropped while the connection was idle, or the protocol was switched. It
/// resolves to an error when the connection failed; the requests in
/// progress get an error of their own.
///
/// Dropping it closes the connection; requests still waiting fail with
/// [`Error::is_canceled`].
#[must_use = "a connection does nothing unless polled (spawn it)"]
pub struct Connection {
    future: Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>,
}

impl Connection {
    pub(crate) fn new(future: Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>) -> Self {
        Connection { future }
    }
}

impl Future for Connection {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future.as_mut().poll(cx)
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}
