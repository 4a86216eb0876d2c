//! Message bodies.
//!
//! [`Body`] is the one body type of this crate, for requests and responses,
//! HTTP/1.1 and HTTP/2. It implements [`http_body::Body`], so it goes
//! wherever the `http` ecosystem expects a body (axum, tower-http), and it
//! has the helpers most code needs: [`collect`](Body::collect),
//! [`bytes`](Body::bytes), [`text`](Body::text) and [`drain`](Body::drain).
//!
//! # Organization
//! - `mod.rs`: [`Body`] and its constructors.
//! - `collect.rs`: reading a whole body: [`Collected`].
//! - `sender.rs`: [`Sender`], for bodies produced piece by piece.
//! - `pipe.rs`: the one-slot channel an HTTP/1.1 connection feeds a
//!   received body through.
//! - `h2_stream.rs`: the receiving end of an HTTP/2 stream.
//! - `file_region.rs`: [`FileRegion`], a body's bytes as a part of a file,
//!   for `sendfile(2)`.

mod collect;
mod file_region;
pub(crate) mod h2_stream;
pub(crate) mod pipe;
mod sender;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures_util::Stream;
use http::Method;
use http_body::{Frame, SizeHint};

pub use self::collect::Collected;
pub use self::file_region::FileRegion;
pub use self::sender::Sender;
use crate::error::{BoxError, Error};

/// Whether a request with `method` whose body is exactly `length` bytes
/// declares that length, in HTTP/1.1 and HTTP/2 alike: methods that carry
/// no body send nothing for an empty one; the others say 0, so that the
/// server does not wait for a body (RFC 9110 §8.6).
pub(crate) fn declares_length(method: &Method, length: u64) -> bool {
    length > 0
        || ![
            Method::GET,
            Method::HEAD,
            Method::DELETE,
            Method::OPTIONS,
            Method::TRACE,
            Method::CONNECT,
        ]
        .contains(method)
}

type Dyn = Pin<Box<dyn http_body::Body<Data = Bytes, Error = Error> + Send>>;

/// A streaming message body: empty, a single buffer, a stream of chunks with
/// optional trailers, or the body of a message being received.
///
/// ```
/// use paf::Body;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), paf::Error> {
/// let body = Body::full("Hello, world!");
/// assert_eq!(body.text().await?, "Hello, world!");
///
/// let (mut tx, body) = Body::channel();
/// tokio::spawn(async move {
///     tx.send_data("Hello, ").await?;
///     tx.send_data("world!").await
/// });
/// assert_eq!(body.bytes().await?, "Hello, world!");
/// # Ok(())
/// # }
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    Empty,
    Full(Option<Bytes>),
    Incoming(pipe::Receiver),
    H2(h2_stream::Recv),
    Dyn(Dyn),
}

impl Body {
    /// A body with no bytes.
    pub const fn empty() -> Body {
        Body { kind: Kind::Empty }
    }

    /// A body made of one buffer; its length is known, so it is sent with a
    /// `content-length`.
    pub fn full(data: impl Into<Bytes>) -> Body {
        let data = data.into();
        if data.is_empty() {
            return Body::empty();
        }
        Body {
            kind: Kind::Full(Some(data)),
        }
    }

    /// A body and the [`Sender`] that produces it piece by piece. Dropping
    /// the sender ends the body; [`Sender::abort`] ends it with an error.
    pub fn channel() -> (Sender, Body) {
        let (tx, rx) = pipe::pipe(None);
        (Sender::new(tx), Body::incoming(rx))
    }

    /// A body made of the chunks of a stream; an error from the stream ends
    /// the body with that error (the connection is then closed, as the
    /// message cannot be completed).
    pub fn from_stream<S, D, E>(stream: S) -> Body
    where
        S: Stream<Item = Result<D, E>> + Send + 'static,
        D: Into<Bytes>,
        E: Into<BoxError>,
    {
        Body::from_dyn(Box::pin(StreamBody { stream }))
    }

    /// Wraps any [`http_body::Body`], trailers included.
    pub fn new<B>(body: B) -> Body
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let mut body = Some(body);
        // Already one of ours: keep it as it is rather than wrapping it.
        if let Some(own) = (&mut body as &mut dyn std::any::Any).downcast_mut::<Option<Body>>()
            && let Some(own) = own.take()
        {
            return own;
        }
        match body {
            Some(body) => Body::from_dyn(Box::pin(Wrapped { body })),
            None => Body::empty(),
        }
    }

    fn from_dyn(body: Dyn) -> Body {
        Body {
            kind: Kind::Dyn(body),
        }
    }

    pub(crate) fn incoming(rx: pipe::Receiver) -> Body {
        Body {
            kind: Kind::Incoming(rx),
        }
    }

    pub(crate) fn h2(recv: h2_stream::Recv) -> Body {
        Body {
            kind: Kind::H2(recv),
        }
    }

    /// A copy of a body held in memory (empty or [`full`](Body::full)), to
    /// send again; `None` for a streamed body.
    pub(crate) fn try_clone(&self) -> Option<Body> {
        match &self.kind {
            Kind::Empty => Some(Body::empty()),
            Kind::Full(Some(data)) => Some(Body::full(data.clone())),
            _ => None,
        }
    }

    /// The next frame (data or trailers), or `None` at the end.
    pub async fn frame(&mut self) -> Option<Result<Frame<Bytes>, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_frame_inner(cx)).await
    }

    fn poll_frame_inner(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match &mut self.kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(data) => Poll::Ready(data.take().map(|data| Ok(Frame::data(data)))),
            Kind::Incoming(rx) => rx.poll_frame(cx),
            Kind::H2(recv) => recv.poll_frame(cx),
            Kind::Dyn(body) => body.as_mut().poll_frame(cx),
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        self.get_mut().poll_frame_inner(cx)
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(data) => data.is_none(),
            Kind::Incoming(rx) => rx.is_end_stream(),
            Kind::H2(recv) => recv.is_end_stream(),
            Kind::Dyn(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
            Kind::Incoming(rx) => rx
                .remaining()
                .map_or_else(SizeHint::new, SizeHint::with_exact),
            Kind::H2(recv) => recv
                .remaining()
                .map_or_else(SizeHint::new, SizeHint::with_exact),
            Kind::Dyn(body) => body.size_hint(),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Full(_) => "full",
            Kind::Incoming(_) | Kind::H2(_) => "incoming",
            Kind::Dyn(_) => "stream",
        };
        f.debug_tuple("Body").field(&kind).finish()
    }
}

macro_rules! from_buffer {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Body {
            fn from(data: $ty) -> Body {
                Body::full(data)
            }
        }
    )*};
}

from_buffer!(Bytes, Vec<u8>, String, &'static str, &'static [u8]);

pin_project_lite::pin_project! {
    struct StreamBody<S> {
        #[pin]
        stream: S,
    }
}

impl<S, D, E> http_body::Body for StreamBody<S>
where
    S: Stream<Item = Result<D, E>>,
    D: Into<Bytes>,
    E: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        self.project().stream.poll_next(cx).map(|item| {
            item.map(|chunk| {
                chunk
                    .map(|data| Frame::data(data.into()))
                    .map_err(Error::user)
            })
        })
    }
}

pin_project_lite::pin_project! {
    struct Wrapped<B> {
        #[pin]
        body: B,
    }
}

impl<B> http_body::Body for Wrapped<B>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        self.project().body.poll_frame(cx).map(|frame| {
            frame.map(|frame| {
                frame
                    .map(|frame| frame.map_data(|mut data| data.copy_to_bytes(data.remaining())))
                    .map_err(Error::user)
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn size_hints_are_exact_when_known() {
        use http_body::Body as _;
        assert_eq!(Body::empty().size_hint().exact(), Some(0));
        assert_eq!(Body::full("abc").size_hint().exact(), Some(3));
        assert!(Body::full("").is_end_stream());
        let (_tx, body) = Body::channel();
        assert_eq!(body.size_hint().exact(), None);
    }

    #[tokio::test]
    async fn a_stream_body_yields_its_chunks() {
        let chunks =
            futures_util::stream::iter(vec![Ok::<_, std::io::Error>("a"), Ok("b"), Ok("c")]);
        let body = Body::from_stream(chunks);
        assert_eq!(body.bytes().await.ok().as_deref(), Some(&b"abc"[..]));
    }

    #[tokio::test]
    async fn a_failing_stream_fails_the_body() {
        let chunks =
            futures_util::stream::iter(vec![Ok("a"), Err(std::io::Error::other("disk on fire"))]);
        let err = Body::from_stream(chunks).bytes().await.err();
        assert!(err.is_some_and(|e| e.is_user() && format!("{e:#}").contains("disk on fire")));
    }

    #[tokio::test]
    async fn wrapping_our_own_body_does_not_box_it_again() {
        let body = Body::new(Body::full("x"));
        assert!(matches!(body.kind, Kind::Full(_)));
        let other = Body::new(http_body_util::Full::new(Bytes::from_static(b"y")));
        assert_eq!(other.text().await.ok().as_deref(), Some("y"));
    }
}
