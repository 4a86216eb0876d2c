//! The HTTP/1.1 client connection: one loop that writes requests and reads
//! their responses.
//!
//! Requests come from the [`SendRequest`](crate::client::SendRequest)
//! handles through a channel. Without pipelining the next one is taken when
//! the previous exchange is over; with it, as soon as the previous request
//! is queued, so that heads leave together and the responses, read in
//! order, are matched to the requests first in, first out. A response body
//! is fed to its reader through a one-slot pipe, while the request body may
//! still be going out.
//!
//! - `handle.rs`: [`Handle`], what sends requests to the loop.
//! - `shared.rs`: the state the handles and the loop share.
//! - `incoming.rs`: the response body pump.

mod handle;
mod incoming;
mod shared;

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::UPGRADE;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

pub(crate) use self::handle::Handle;
use self::incoming::{Incoming, Outcome};
use self::shared::{CloseOnDrop, Envelope, Reply, Shared};
use super::codec::{self, Decoder, Encoder, Framing, InvalidLength, Limits, ResponseHead};
use super::io::{Buffered, WRITE_HIGH_WATER};
use super::outgoing::{Step, poll_encode};
use crate::body::{Body, pipe};
use crate::error::{Error, Kind};
use crate::upgrade::{OnUpgrade, Upgraded};

/// How many interim (1xx) responses a request may get before its final
/// one, by default. Servers send one `100 Continue`, a few `103 Early
/// Hints`, or a `102 Processing` now and then during a long operation;
/// without a bound, a server sending them without end would hold the
/// request (and keep the client reading) forever.
pub(crate) const MAX_INTERIM: usize = 32;

/// The settings of a client connection.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) limits: Limits,
    pub(crate) pipeline: bool,
    pub(crate) absolute_form: bool,
    /// The most interim responses to one request.
    pub(crate) max_interim: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            limits: Limits::default(),
            pipeline: false,
            absolute_form: false,
            max_interim: MAX_INTERIM,
        }
    }
}

/// Starts a connection on `io`: the handle sends requests, the future runs
/// the connection.
pub(crate) fn handshake<I>(
    io: I,
    config: Config,
) -> (
    Handle,
    impl Future<Output = Result<(), Error>> + Send + 'static,
)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::new(config.pipeline));
    let future = run(io, config, rx, CloseOnDrop(shared.clone()));
    (Handle::new(tx, shared), future)
}

/// Runs the connection until it closes or switches protocols. `shared` is
/// closed when the future is dropped, even before its first poll.
async fn run<I>(
    io: I,
    config: Config,
    rx: mpsc::UnboundedReceiver<Envelope>,
    shared: CloseOnDrop,
) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut conn = Conn {
        io: Buffered::new(io),
        config,
        rx,
        rx_open: true,
        shared,
        writing: None,
        waiting: VecDeque::new(),
        reading: None,
        interim: 0,
        reusable: true,
        taken: 0,
        unflushed: false,
        write_error: None,
        scratch: Vec::new(),
    };
    let end = poll_fn(|cx| conn.poll(cx)).await;
    conn.teardown().await;
    match end {
        Ok(End::Close) => {
            // The peer may be gone already; there is nobody to tell.
            let _ = poll_fn(|cx| conn.io.poll_shutdown(cx)).await;
            Ok(())
        }
        Ok(End::Upgrade(tx)) => {
            poll_fn(|cx| conn.io.poll_flush(cx))
                .await
                .map_err(Error::io)?;
            let early = conn.io.read_buf.split().freeze();
            let _ = tx.send(Upgraded::new(conn.io.io, early));
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// How the loop ended without an error.
enum End {
    Close,
    Upgrade(oneshot::Sender<Upgraded>),
}

/// What reading gave.
enum Read {
    Progress,
    End(End),
}

/// A request written (or being written) that waits for its response head.
struct Waiting {
    method: Method,
    reply: Reply,
    /// CONNECT or `upgrade`: nothing is pipelined behind it.
    upgrade: bool,
}

/// A request body being written.
struct Outgoing {
    body: Body,
    encoder: Encoder,
    trailers: Option<HeaderMap>,
}

struct Conn<I> {
    io: Buffered<I>,
    config: Config,
    /// Before `rx`, so that a connection dropped mid-way says it is closed
    /// before its queue goes: a sender then knows to watch the queue.
    shared: CloseOnDrop,
    rx: mpsc::UnboundedReceiver<Envelope>,
    rx_open: bool,
    /// The body of the last request taken, while it is written. The request
    /// is the last of `waiting`, or answered already.
    writing: Option<Outgoing>,
    /// Requests sent, oldest first.
    waiting: VecDeque<Waiting>,
    /// The body of the response being read.
    reading: Option<Incoming>,
    /// How many interim responses the oldest waiting request got.
    interim: usize,
    /// Whether the connection may carry more requests.
    reusable: bool,
    /// Requests taken since the connection was last idle.
    taken: usize,
    unflushed: bool,
    /// A failed write; reading goes on, as the response may be there.
    write_error: Option<io::Error>,
    /// Room to assemble request targets in.
    scratch: Vec<u8>,
}

impl<I> Conn<I>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<End, Error>> {
        loop {
            let mut progress = self.take(cx);
            progress |= self.write_body(cx)?;
            match self.read(cx) {
                Poll::Ready(Ok(Read::Progress)) => progress = true,
                Poll::Ready(Ok(Read::End(end))) => return Poll::Ready(Ok(end)),
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {}
            }
            if self.is_idle() {
                self.settle();
                if let Some(err) = self.write_error.take() {
                    return Poll::Ready(Err(Error::io(err)));
                }
                if !self.reusable || !self.rx_open {
                    return Poll::Ready(Ok(End::Close));
                }
            }
            if progress {
                continue;
            }
            // Everything queued leaves in one write, once nothing more can
            // be added to it.
            if self.unflushed {
                match self.io.poll_flush(cx) {
                    Poll::Ready(Ok(())) => {
                        self.unflushed = false;
                        if self.can_take() {
                            continue;
                        }
                    }
                    Poll::Ready(Err(err)) => {
                        self.write_failed(err);
                        continue;
                    }
                    Poll::Pending => {}
                }
            }
            return Poll::Pending;
        }
    }

    fn is_idle(&self) -> bool {
        self.writing.is_none() && self.waiting.is_empty() && self.reading.is_none()
    }

    /// Counts the finished exchanges out once the connection is idle. Done
    /// before the caller can see the end of its exchange, so that it then
    /// finds the connection ready.
    fn settle(&mut self) {
        if self.taken > 0 && self.is_idle() {
            self.shared.finish(std::mem::take(&mut self.taken));
        }
    }

    fn can_take(&self) -> bool {
        if !self.rx_open || !self.reusable || self.writing.is_some() {
            return false;
        }
        if !self.config.pipeline {
            return self.waiting.is_empty() && self.reading.is_none();
        }
        self.io.write_buf.len() < WRITE_HIGH_WATER && self.waiting.back().is_none_or(|w| !w.upgrade)
    }

    /// Takes the requests that can be written now.
    fn take(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        while self.can_take() {
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some((req, reply))) => {
                    progress = true;
                    self.taken += 1;
                    self.start(req, reply);
                }
                Poll::Ready(None) => {
                    self.rx_open = false;
                    break;
                }
                Poll::Pending => break,
            }
        }
        progress
    }

    fn start(&mut self, req: Request<Body>, reply: Reply) {
        if reply.is_closed() {
            // Given up on before it was written: nothing to do.
            return;
        }
        let (parts, body) = req.into_parts();
        let dst = self.io.write_buf.head_mut();
        let length = http_body::Body::size_hint(&body).exact();
        let absolute_form = self.config.absolute_form;
        let framing =
            match codec::encode_request(&parts, length, absolute_form, &mut self.scratch, dst) {
                Ok(framing) => framing,
                Err(InvalidLength) => {
                    self.settle();
                    let message = "invalid content-length header in the request";
                    let _ = reply.send(Err(Error::with(Kind::User, message)));
                    return;
                }
            };
        self.unflushed = true;
        if framing != Framing::Empty {
            self.writing = Some(Outgoing {
                body,
                encoder: Encoder::new(framing),
                trailers: None,
            });
        }
        if codec::connection_has(&parts.headers, "close") {
            self.stop_reuse();
        }
        let upgrade = parts.method == Method::CONNECT || parts.headers.contains_key(UPGRADE);
        self.waiting.push_back(Waiting {
            method: parts.method,
            reply,
            upgrade,
        });
    }

    /// Encodes the request body as it comes; Err ends the connection.
    fn write_body(&mut self, cx: &mut Context<'_>) -> Result<bool, Error> {
        enum Stop {
            Pending,
            Done,
            WriteFailed(io::Error),
            Failed(Error),
        }
        let Some(out) = &mut self.writing else {
            return Ok(false);
        };
        let mut progress = false;
        let stop = loop {
            if self.io.write_buf.len() >= WRITE_HIGH_WATER {
                match self.io.poll_flush(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(err)) => break Stop::WriteFailed(err),
                    Poll::Pending => break Stop::Pending,
                }
            }
            let step = poll_encode(
                cx,
                Pin::new(&mut out.body),
                &mut out.encoder,
                &mut out.trailers,
                &mut self.io.write_buf,
            );
            match step {
                Poll::Ready(Ok(Step::Frame)) => {
                    progress = true;
                    self.unflushed = true;
                }
                Poll::Ready(Ok(Step::End)) => {
                    self.unflushed = true;
                    break Stop::Done;
                }
                Poll::Ready(Err(err)) => break Stop::Failed(err),
                Poll::Pending => break Stop::Pending,
            }
        };
        match stop {
            Stop::Pending => Ok(progress),
            Stop::Done => {
                self.writing = None;
                self.settle();
                Ok(true)
            }
            Stop::WriteFailed(err) => {
                self.write_failed(err);
                Ok(true)
            }
            Stop::Failed(err) => Err(self.body_failed(err)),
        }
    }

    /// The request body failed: its request fails (or its response body,
    /// when answered already), and the connection closes, as the message
    /// cannot be completed.
    fn body_failed(&mut self, err: Error) -> Error {
        self.writing = None;
        self.stop_reuse();
        let copy = copy(&err);
        match self.waiting.pop_back() {
            Some(waiting) => {
                let _ = waiting.reply.send(Err(err));
            }
            None => {
                if let Some(reading) = &mut self.reading {
                    reading.fail(err);
                }
            }
        }
        copy
    }

    /// Writing failed: nothing more is sent, but the response may have
    /// arrived (a server that refuses a body answers, then closes).
    fn write_failed(&mut self, err: io::Error) {
        tracing::debug!(error = %format_args!("{err:#}"), "writing the request failed");
        self.writing = None;
        self.io.write_buf.advance(self.io.write_buf.len());
        self.unflushed = false;
        self.write_error = Some(err);
        self.stop_reuse();
    }

    fn stop_reuse(&mut self) {
        self.reusable = false;
        self.shared.close();
    }

    fn read(&mut self, cx: &mut Context<'_>) -> Poll<Result<Read, Error>> {
        if let Some(reading) = &mut self.reading {
            let limited = self.waiting.is_empty();
            let outcome = match reading.poll(cx, &mut self.io, limited) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(outcome)) => outcome,
                Poll::Ready(Err(err)) => {
                    // Closed before the reader learns of the failure.
                    self.reusable = false;
                    self.shared.close();
                    return Poll::Ready(Err(reading.fail(err)));
                }
            };
            self.reading = None;
            match outcome {
                Outcome::Complete(tx) => {
                    self.settle();
                    if let Some(tx) = tx {
                        tx.finish();
                    }
                }
                Outcome::Abandoned => {
                    self.writing = None;
                    self.stop_reuse();
                }
            }
            return Poll::Ready(Ok(Read::Progress));
        }
        let Some(front) = self.waiting.front_mut() else {
            return self.read_idle(cx);
        };
        if front.reply.poll_closed(cx).is_ready() {
            // The caller gave up waiting (a timeout, a dropped future): its
            // answer has nowhere to go, and may never come. The connection
            // closes rather than wait for it.
            tracing::debug!("the caller gave up on its response; closing the connection");
            self.stop_reuse();
            return Poll::Ready(Ok(Read::End(End::Close)));
        }
        let front = &*front;
        loop {
            match codec::parse_response(&mut self.io.read_buf, &self.config.limits, &front.method) {
                Ok(Some(head)) => return Poll::Ready(self.on_head(head)),
                Ok(None) => {}
                Err(err) => {
                    return Poll::Ready(Err(self.fail_front(Error::with(Kind::Parse, err))));
                }
            }
            match self.io.poll_read_head(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(self.closed_early(None))),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(err)) => return Poll::Ready(Err(self.closed_early(Some(err)))),
            }
        }
    }

    /// Watches an idle connection: the server closing it ends the loop.
    fn read_idle(&mut self, cx: &mut Context<'_>) -> Poll<Result<Read, Error>> {
        if self.io.read_buf.is_empty() {
            match self.io.poll_read_head(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    self.stop_reuse();
                    return Poll::Ready(Ok(Read::End(End::Close)));
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(err)) => return Poll::Ready(Err(Error::io(err))),
            }
        }
        let err = Error::with(
            Kind::Parse,
            "the server sent bytes while no request was waiting",
        );
        Poll::Ready(Err(err))
    }

    fn on_head(&mut self, head: ResponseHead) -> Result<Read, Error> {
        let connect = self
            .waiting
            .front()
            .is_some_and(|w| w.method == Method::CONNECT);
        let switching =
            head.status == StatusCode::SWITCHING_PROTOCOLS || (connect && head.status.is_success());
        if head.status.is_informational() && !switching {
            return self.on_interim();
        }
        let Some(front) = self.waiting.pop_front() else {
            return Ok(Read::Progress);
        };
        self.interim = 0;
        if switching {
            return Ok(Read::End(self.switch(front, head)));
        }
        if self.writing.is_some() && self.waiting.is_empty() && !head.status.is_success() {
            // Refused before its body was sent: the server does not want the
            // rest. (A 2xx may be a server streaming its answer along.)
            self.writing = None;
            self.stop_reuse();
        }
        if !head.keep_alive {
            self.stop_reuse();
            // The server answers nothing after this response.
            if !self.waiting.is_empty() {
                self.writing = None;
            }
            for waiting in self.waiting.drain(..) {
                let _ = waiting.reply.send(Err(Error::new(Kind::Unanswered)));
            }
        }
        let body = match head.framing {
            Framing::Empty => Body::empty(),
            Framing::Length(n) if n <= self.io.read_buf.len() as u64 => {
                // The whole body came with the head: no pipe.
                Body::full(self.io.read_buf.split_to(n as usize).freeze())
            }
            framing => {
                let length = match framing {
                    Framing::Length(n) => Some(n),
                    _ => None,
                };
                let (tx, rx) = pipe::pipe(length);
                let decoder = Decoder::new(framing, &self.config.limits);
                self.reading = Some(Incoming::new(decoder, tx));
                Body::incoming(rx)
            }
        };
        self.settle();
        // A caller that gave up drops the body; it is then discarded.
        let _ = front.reply.send(Ok(response(head, body)));
        Ok(Read::Progress)
    }

    /// 100 Continue and the like: the final response follows, unless the
    /// server sends them without end.
    fn on_interim(&mut self) -> Result<Read, Error> {
        self.interim += 1;
        if self.interim > self.config.max_interim {
            let max = self.config.max_interim;
            let why = format!("more than {max} interim (1xx) responses to one request");
            return Err(self.fail_front(Error::with(Kind::Parse, why)));
        }
        Ok(Read::Progress)
    }

    /// A protocol switch: the response carries the [`OnUpgrade`] that gets
    /// the connection once the loop hands it over.
    fn switch(&mut self, front: Waiting, head: ResponseHead) -> End {
        self.writing = None;
        self.stop_reuse();
        let (tx, on_upgrade) = OnUpgrade::pair();
        let mut res = response(head, Body::empty());
        res.extensions_mut().insert(on_upgrade);
        let _ = front.reply.send(Ok(res));
        End::Upgrade(tx)
    }

    /// The oldest waiting request fails with `err`; returns the same error
    /// for the connection.
    fn fail_front(&mut self, err: Error) -> Error {
        self.stop_reuse();
        let copy = copy(&err);
        if let Some(front) = self.waiting.pop_front() {
            let _ = front.reply.send(Err(err));
        }
        copy
    }

    /// The connection ended (or failed) while a response head was awaited.
    fn closed_early(&mut self, read_error: Option<io::Error>) -> Error {
        let began = self.interim > 0 || !self.io.read_buf.is_empty();
        let err = match read_error {
            Some(err) if began || !is_reset(&err) => Error::io(err),
            Some(err) => Error::with(Kind::Unanswered, err),
            None if began => Error::new(Kind::Incomplete),
            None => match self.write_error.take() {
                Some(err) => Error::with(Kind::Unanswered, err),
                None => Error::new(Kind::Unanswered),
            },
        };
        self.fail_front(err)
    }

    /// Fails whatever is left once the loop ended, so that no caller waits
    /// forever: requests sent get "unanswered", requests never taken
    /// "closed".
    async fn teardown(&mut self) {
        self.shared.close();
        self.writing = None;
        self.reading = None;
        for waiting in self.waiting.drain(..) {
            let _ = waiting.reply.send(Err(Error::new(Kind::Unanswered)));
        }
        // `recv`, not `try_recv`: a send that began before `close` may not
        // be in the queue yet. `recv` waits for it (it ends only once no
        // send is under way), where `try_recv` would miss it and leave its
        // request waiting for good.
        self.rx.close();
        while let Some((_, reply)) = self.rx.recv().await {
            let _ = reply.send(Err(Error::new(Kind::Closed)));
        }
    }
}

fn response(head: ResponseHead, body: Body) -> Response<Body> {
    let mut res = Response::new(body);
    *res.status_mut() = head.status;
    *res.version_mut() = head.version;
    *res.headers_mut() = head.headers;
    res
}

/// Whether a read error means the peer closed the connection.
fn is_reset(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// An error of the same kind and message, for a second recipient.
fn copy(err: &Error) -> Error {
    match std::error::Error::source(err) {
        Some(source) => Error::with(err.kind(), source.to_string()),
        None => Error::new(err.kind()),
    }
}
