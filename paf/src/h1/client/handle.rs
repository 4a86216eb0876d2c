//! [`Handle`]: sends requests to the connection loop and reads its state.

use std::sync::Arc;

use http::{Request, Response};
use tokio::sync::oneshot::error::RecvError;
use tokio::sync::{mpsc, oneshot};

use super::shared::{Answer, Envelope, Shared};
use crate::body::Body;
use crate::error::{Error, Kind};

/// A handle to send requests on one HTTP/1.1 connection.
#[derive(Clone)]
pub(crate) struct Handle {
    tx: mpsc::UnboundedSender<Envelope>,
    shared: Arc<Shared>,
}

impl Handle {
    pub(super) fn new(tx: mpsc::UnboundedSender<Envelope>, shared: Arc<Shared>) -> Handle {
        Handle { tx, shared }
    }

    /// Sends a request; returns its response once the head has arrived.
    pub(crate) async fn send(&self, req: Request<Body>) -> Result<Response<Body>, Error> {
        if self.shared.is_closed() {
            return Err(Error::new(Kind::Closed));
        }
        let (reply, response) = oneshot::channel();
        self.shared.begin();
        if self.tx.send((req, reply)).is_err() {
            self.shared.finish(1);
            return Err(Error::new(Kind::Closed));
        }
        let answer = if self.shared.is_closed() {
            self.closing(response).await
        } else {
            response.await
        };
        match answer {
            Ok(result) => result,
            Err(_) => Err(Error::with(
                Kind::Canceled,
                "the connection was dropped before the response arrived",
            )),
        }
    }

    /// Waits for the answer to a request queued as the connection closed.
    /// The loop fails every request it finds queued, but when its future
    /// is dropped instead, a send under way as the queue goes may leave
    /// its request where nobody answers it: then the queue's end says so.
    async fn closing(&self, response: oneshot::Receiver<Answer>) -> Result<Answer, RecvError> {
        tokio::select! {
            // An answer given before the queue closed comes first.
            biased;
            answer = response => answer,
            () = self.tx.closed() => Ok(Err(Error::new(Kind::Closed))),
        }
    }

    /// Waits until a request would be written at once; fails once the
    /// connection takes no more requests.
    pub(crate) async fn ready(&self) -> Result<(), Error> {
        if self.shared.wait_ready().await {
            Ok(())
        } else {
            Err(Error::new(Kind::Closed))
        }
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.shared.is_ready()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Requests sent and not yet finished.
    pub(crate) fn active_requests(&self) -> usize {
        self.shared.busy()
    }
}
