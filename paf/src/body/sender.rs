//! Producing a body piece by piece.

use std::future::poll_fn;

use bytes::Bytes;
use http::HeaderMap;

use super::pipe;
use crate::error::{Error, Kind};

/// The sending half of [`Body::channel`](super::Body::channel).
///
/// Each send waits until the previous piece was taken by the reader, so a
/// slow peer slows the producer instead of filling memory. Dropping the
/// sender ends the body.
pub struct Sender {
    tx: Option<pipe::Sender>,
}

impl Sender {
    pub(crate) fn new(tx: pipe::Sender) -> Sender {
        Sender { tx: Some(tx) }
    }

    /// Sends a piece of the body. Fails when the body was dropped, which
    /// means nobody will read it (the peer went away, for example).
    pub async fn send_data(&mut self, data: impl Into<Bytes>) -> Result<(), Error> {
        let tx = self.ready().await?;
        tx.send_data(data.into());
        Ok(())
    }

    /// Sends trailers, which end the body.
    pub async fn send_trailers(mut self, trailers: HeaderMap) -> Result<(), Error> {
        let tx = self.ready().await?;
        tx.send_trailers(trailers);
        Ok(())
    }

    /// Ends the body with an error: the reader sees it, and a connection
    /// sending this body is closed, since the message cannot be completed.
    pub fn abort(mut self) {
        if let Some(tx) = self.tx.take() {
            tx.fail(Error::new(Kind::Canceled));
        }
    }

    /// Whether the body was dropped by its reader.
    pub fn is_closed(&self) -> bool {
        self.tx.as_ref().is_none_or(pipe::Sender::is_gone)
    }

    async fn ready(&mut self) -> Result<&mut pipe::Sender, Error> {
        let tx = self.tx.as_mut().ok_or_else(|| Error::new(Kind::Closed))?;
        match poll_fn(|cx| tx.poll_ready(cx)).await {
            Ok(()) => Ok(tx),
            Err(pipe::Gone) => Err(Error::new(Kind::Closed)),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            tx.finish();
        }
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}
