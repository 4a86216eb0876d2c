//! The connection loop as events in and actions out: [`Conn::poll_event`]
//! waits for the next thing that needs a decision (streams are accepted and
//! dispatched along the way), and [`Conn::handle`] acts on it.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use h2::server::{Connection, SendResponse};
use h2::{Reason, RecvStream};
use http::{Request, Response};
use http_body::Body as HttpBody;
use tokio::io::{AsyncRead, AsyncWrite};
use tower_service::Service;

use super::resets::{ResetWindow, Resets};
use super::stream::{StreamContext, dispatch};
use super::{Config, Extras};
use crate::body::Body;
use crate::error::{BoxError, Error, Kind};
use crate::h2::ping::KeepAlive;
use crate::signal::Signal;
use crate::timer::{self, Deadline};

/// What the connection has to decide about.
enum Event {
    /// The peer closed the connection, or it failed.
    Closed(Result<(), h2::Error>),
    /// The handler's `poll_ready` failed.
    ServiceFailed(BoxError),
    /// A graceful shutdown was asked for.
    Shutdown,
    /// The peer reset this many streams within the window.
    Flood(u64),
    /// A keep-alive PING went unanswered.
    Dead(Error),
    /// The idle timer fired.
    IdleCheck,
}

/// A stream accepted and not yet handed to the service.
type Accepted = (Request<RecvStream>, SendResponse<Bytes>);

pub(super) struct Conn<I, S> {
    conn: Connection<I, Bytes>,
    service: S,
    config: Arc<Config>,
    signal: Arc<Signal>,
    keep_alive: Option<KeepAlive>,
    resets: ResetWindow,
    streams: Arc<StreamContext>,
    /// The idle timeout while open; once going away, how long a client may
    /// leave the GOAWAY's PING unanswered while no stream is open (`h2`
    /// waits for that answer before closing).
    idle: Deadline,
    going_away: bool,
    waiting: VecDeque<Accepted>,
    /// The request of an h2c upgrade, for stream 1.
    first: Option<Request<Body>>,
}

impl<I, S, B> Conn<I, S>
where
    I: AsyncRead + AsyncWrite + Unpin,
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    pub(super) fn new(
        mut conn: Connection<I, Bytes>,
        service: S,
        config: Arc<Config>,
        extras: Extras,
    ) -> Self {
        let keep_alive = config
            .settings
            .keep_alive()
            .and_then(|(interval, timeout)| {
                Some(KeepAlive::new(conn.ping_pong()?, interval, timeout))
            });
        let shared = Arc::new(Resets::default());
        let resets = ResetWindow::new(shared.clone(), config.max_resets, config.reset_window);
        let streams = Arc::new(StreamContext {
            extensions: extras.extensions,
            resets: shared,
            config: config.clone(),
        });
        let mut conn = Conn {
            conn,
            service,
            config,
            signal: extras.signal,
            keep_alive,
            resets,
            streams,
            idle: Deadline::default(),
            going_away: false,
            waiting: VecDeque::new(),
            first: extras.first,
        };
        conn.rearm();
        conn
    }

    pub(super) async fn run(mut self) -> Result<(), Error> {
        loop {
            let event = poll_fn(|cx| self.poll_event(cx)).await;
            if let Some(end) = self.handle(event).await {
                return end;
            }
        }
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        if !self.going_away && self.signal.poll_set(cx).is_ready() {
            return Poll::Ready(Event::Shutdown);
        }
        if let Poll::Ready(count) = self.resets.poll_flooded(cx) {
            return Poll::Ready(Event::Flood(count));
        }
        if let Some(Poll::Ready(err)) = self.keep_alive.as_mut().map(|k| k.poll_dead(cx)) {
            return Poll::Ready(Event::Dead(err));
        }
        if self.idle.poll_expired(cx).is_ready() {
            return Poll::Ready(Event::IdleCheck);
        }
        loop {
            // Every stream that arrived is taken before any is answered:
            // polling the connection writes what is queued, so the answers
            // to one read of requests leave in one write.
            let closed = self.accept(cx);
            let answered = match self.dispatch_waiting(cx) {
                Ok(answered) => answered,
                Err(err) => return Poll::Ready(Event::ServiceFailed(err)),
            };
            if let Some(result) = closed {
                return Poll::Ready(Event::Closed(result));
            }
            if !answered {
                return Poll::Pending;
            }
            self.rearm();
            // Round again: the answers are written, and whatever came
            // meanwhile is taken.
        }
    }

    /// Takes every stream that arrived; `Some` once the connection ended.
    fn accept(&mut self, cx: &mut Context<'_>) -> Option<Result<(), h2::Error>> {
        loop {
            match self.conn.poll_accept(cx) {
                Poll::Ready(Some(Ok(stream))) => self.waiting.push_back(stream),
                Poll::Ready(Some(Err(err))) => return Some(Err(err)),
                Poll::Ready(None) => return Some(Ok(())),
                Poll::Pending => return None,
            }
        }
    }

    /// Hands waiting streams to the service while it is ready; whether any
    /// was handed over.
    fn dispatch_waiting(&mut self, cx: &mut Context<'_>) -> Result<bool, BoxError> {
        let mut answered = false;
        while !self.waiting.is_empty() {
            match self.service.poll_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(err)) => return Err(err.into()),
                // Woken when ready; the connection keeps moving (other
                // streams' data, PINGs) meanwhile.
                Poll::Pending => break,
            }
            let Some((req, respond)) = self.waiting.pop_front() else {
                break;
            };
            let upgraded = self.first.take_if(|_| respond.stream_id().as_u32() == 1);
            dispatch(&mut self.service, req, respond, upgraded, &self.streams);
            answered = true;
        }
        Ok(answered)
    }

    /// Acts on an event; `Some` ends the connection with that result.
    async fn handle(&mut self, event: Event) -> Option<Result<(), Error>> {
        match event {
            Event::Closed(result) => Some(result.or_else(closed_quietly)),
            Event::ServiceFailed(err) => {
                let err = Error::user(err);
                tracing::warn!(error = %format_args!("{err:#}"), "service failed; closing the connection");
                self.close(Reason::INTERNAL_ERROR, None).await;
                Some(Err(err))
            }
            Event::Flood(count) => {
                tracing::warn!(resets = count, "HTTP/2 reset flood; closing the connection");
                self.close(Reason::ENHANCE_YOUR_CALM, Some(CLOSE_WAIT))
                    .await;
                let window = self.config.reset_window;
                let message = format!("the peer reset {count} streams within {window:?}");
                Some(Err(Error::with(Kind::Http2, message)))
            }
            Event::Dead(err) => Some(Err(err)),
            Event::IdleCheck if self.conn.has_streams() => {
                self.rearm();
                None
            }
            Event::IdleCheck if self.going_away => {
                // The client never answered: close without waiting longer.
                self.close(Reason::NO_ERROR, Some(CLOSE_WAIT)).await;
                Some(Ok(()))
            }
            Event::Shutdown | Event::IdleCheck => {
                self.going_away = true;
                self.conn.graceful_shutdown();
                self.rearm();
                None
            }
        }
    }

    /// Re-arms the idle timer for the connection's state.
    fn rearm(&mut self) {
        let wait = if self.going_away {
            Some(self.config.settings.keep_alive_timeout)
        } else {
            self.config.idle_timeout
        };
        self.idle.set(wait.map(timer::after));
    }

    /// Sends GOAWAY with `reason` and waits for the connection to close, at
    /// most `wait` when given.
    async fn close(&mut self, reason: Reason, wait: Option<Duration>) {
        self.conn.abrupt_shutdown(reason);
        let closed = poll_fn(|cx| self.conn.poll_closed(cx));
        match wait {
            Some(limit) => drop(tokio::time::timeout(limit, closed).await),
            None => drop(closed.await),
        }
    }
}

/// How long a connection being closed for cause is given to say goodbye.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// A peer that closes the connection (or goes away without an error)
/// ended it normally.
fn closed_quietly(err: h2::Error) -> Result<(), Error> {
    let quiet = err.is_go_away() && err.reason() == Some(Reason::NO_ERROR)
        || err
            .get_io()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
    if quiet { Ok(()) } else { Err(Error::h2(err)) }
}
