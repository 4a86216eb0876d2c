//! Taking over a connection after `101 Switching Protocols` or a `CONNECT`.
//!
//! A request that asks to switch protocols (an `Upgrade` header with
//! `Connection: upgrade`, or the `CONNECT` method) carries an [`OnUpgrade`]
//! in its extensions. The handler takes it with [`on`], answers `101` (or a
//! 2xx for `CONNECT`), and awaits it in a task of its own: once the response
//! is written it yields the raw connection, with any bytes the client sent
//! early.
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use paf::Body;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! async fn echo(mut req: Request<Body>) -> Result<Response<Body>, paf::Error> {
//!     let on_upgrade = paf::upgrade::on(&mut req);
//!     tokio::spawn(async move {
//!         if let Ok(mut flow) = on_upgrade.await {
//!             let mut buf = [0; 1024];
//!             while let Ok(n @ 1..) = flow.read(&mut buf).await {
//!                 if flow.write_all(&buf[..n]).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         }
//!     });
//!     let mut res = Response::new(Body::empty());
//!     *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
//!     res.headers_mut().insert("upgrade", http::HeaderValue::from_static("echo"));
//!     res.headers_mut().insert("connection", http::HeaderValue::from_static("upgrade"));
//!     Ok(res)
//! }
//! # let _ = echo;
//! ```

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use mimic::{Flow, Info};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

use crate::error::{Error, Kind};
use crate::rewind::Rewind;

/// The connection after a protocol switch: the bytes the peer sent early
/// come first, then the connection itself.
pub struct Upgraded {
    io: Rewind<Flow>,
}

impl Upgraded {
    pub(crate) fn new<I>(io: I, early: Bytes) -> Upgraded
    where
        I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        Upgraded {
            io: Rewind::new(into_flow(io), early),
        }
    }

    /// The connection and the bytes already read from it.
    pub fn into_parts(self) -> (Flow, Bytes) {
        self.io.into_parts()
    }

    /// The connection, for its [`Info`] or a downcast.
    pub fn flow(&self) -> &Flow {
        self.io.get_ref()
    }
}

/// Turns any stream into a [`Flow`], without wrapping one that already is.
pub(crate) fn into_flow<I>(io: I) -> Flow
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut io = Some(io);
    if let Some(flow) = (&mut io as &mut dyn Any).downcast_mut::<Option<Flow>>()
        && let Some(flow) = flow.take()
    {
        return flow;
    }
    match io {
        Some(io) => Flow::new(io, Info::new("io")),
        None => unreachable!("the stream is only taken when it is a Flow"),
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded")
            .field("flow", self.io.get_ref())
            .field("early", &self.io.pending())
            .finish()
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The connection of a message that asked to switch protocols, once the
/// switch happened. Fails when the message did not ask for a switch, when
/// the response did not accept it, or when the connection closed first.
///
/// It is `Clone` because request extensions must be; the connection goes to
/// whichever clone is awaited first.
#[derive(Clone)]
pub struct OnUpgrade {
    rx: Option<Arc<Mutex<oneshot::Receiver<Upgraded>>>>,
}

impl OnUpgrade {
    pub(crate) fn pair() -> (oneshot::Sender<Upgraded>, OnUpgrade) {
        let (tx, rx) = oneshot::channel();
        (
            tx,
            OnUpgrade {
                rx: Some(Arc::new(Mutex::new(rx))),
            },
        )
    }

    fn none() -> OnUpgrade {
        OnUpgrade { rx: None }
    }
}

impl Future for OnUpgrade {
    type Output = Result<Upgraded, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.rx {
            None => Poll::Ready(Err(Error::with(
                Kind::Upgrade,
                "the message did not ask to switch protocols",
            ))),
            Some(rx) => {
                let mut rx = rx.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                Pin::new(&mut *rx).poll(cx).map(|upgraded| {
                upgraded.map_err(|_| {
                    Error::with(Kind::Upgrade, "the protocol switch did not happen (no 101 or 2xx to CONNECT, or the connection closed)")
                })
            })
            }
        }
    }
}

impl fmt::Debug for OnUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnUpgrade")
            .field("pending", &self.rx.is_some())
            .finish()
    }
}

/// Takes the [`OnUpgrade`] out of a request's or response's extensions.
pub fn on<M: sealed::Message>(message: &mut M) -> OnUpgrade {
    message
        .extensions_mut()
        .remove::<OnUpgrade>()
        .unwrap_or_else(OnUpgrade::none)
}

mod sealed {
    pub trait Message {
        fn extensions_mut(&mut self) -> &mut http::Extensions;
    }

    impl<B> Message for http::Request<B> {
        fn extensions_mut(&mut self) -> &mut http::Extensions {
            http::Request::extensions_mut(self)
        }
    }

    impl<B> Message for http::Response<B> {
        fn extensions_mut(&mut self) -> &mut http::Extensions {
            http::Response::extensions_mut(self)
        }
    }
}
