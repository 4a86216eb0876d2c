//! The HTTP/1.1 server connection: one loop that reads requests, calls the
//! handler and writes responses, strictly in order. Each turn reads a head,
//! asks the codec for the response's plan (framing, `connection`,
//! keep-alive, switching), and writes as planned.
//!
//! Pipelined requests are parsed straight from the read buffer; their
//! responses are queued and leave in one vectored write when the buffer runs
//! dry (or the queue grows large), which is what makes pipelining cheap.
//!
//! # Organization
//! - `mod.rs`: the settings and the loop.
//! - `read.rs`: reading a head, with its timeouts.
//! - `call.rs`: the request body and the handler.
//! - `write.rs`: the response, and refusals.
//! - `finish.rs`: the unread rest of a request body, and closing.

mod call;
mod finish;
mod read;
mod write;

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Extensions, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tower_service::Service;

use self::call::{Answer, drive, ready, request_body, start};
use self::finish::{close, finish_body, linger};
use self::read::{Next, read_head};
use self::write::{refuse, write_body, write_head};
use super::codec::{self, Exchange, Framing, Limits, RequestHead, ResponsePlan};
use super::io::{Buffered, WRITE_HIGH_WATER};
use super::pump::Pump;
use super::sendfile;
use crate::body::{Body, FileRegion};
use crate::error::{BoxError, Error, Kind};
use crate::protocol_error::OnProtocolError;
use crate::signal::Signal;
use crate::timer::{self, Deadline};
use crate::upgrade::{OnUpgrade, Upgraded};

/// The settings of HTTP/1.1 connections.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) limits: Limits,
    pub(crate) max_body: Option<u64>,
    pub(crate) head_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) keep_alive: bool,
    pub(crate) max_drain: u64,
    pub(crate) date: bool,
    /// Shapes refusals and is told of them.
    pub(crate) on_error: OnProtocolError,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            limits: Limits::default(),
            max_body: None,
            head_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(60)),
            keep_alive: true,
            max_drain: 256 * 1024,
            date: true,
            on_error: OnProtocolError::default(),
        }
    }
}

/// What a connection has besides its stream and settings.
pub(crate) struct Extras {
    /// Bytes already read from the stream (while choosing the protocol).
    pub(crate) early: BytesMut,
    /// Given to every request (the connection's addresses, TLS details).
    pub(crate) extensions: Extensions,
    pub(crate) signal: Arc<Signal>,
    /// Whether `Upgrade: h2c` requests are granted.
    pub(crate) h2c: bool,
}

/// An h2c upgrade granted (`101` is written): the stream, what was read
/// after the request, the request itself, and the handler, for HTTP/2 to
/// carry on with.
pub(crate) struct Switch<I, S> {
    pub(crate) io: I,
    pub(crate) early: BytesMut,
    pub(crate) head: RequestHead,
    pub(crate) service: S,
}

/// Serves requests on `io` until the client closes, an error, or shutdown;
/// or until an h2c upgrade is granted. Each turn reads a head, calls the
/// handler, plans the response with the codec, and writes it.
pub(crate) async fn serve<I, S, B>(
    io: I,
    mut service: S,
    config: Arc<Config>,
    extras: Extras,
) -> Result<Option<Switch<I, S>>, Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let mut conn = Conn::new(io, config, extras);
    loop {
        let (config, signal) = (&*conn.config, &*conn.signal);
        let last = conn.last_response;
        let head = match read_head(&mut conn.io, config, signal, &mut conn.deadline, last).await {
            Next::Request(head) => head,
            Next::Close(err) => return close(&mut conn.io, err).await.map(|()| None),
            Next::Refuse(status, err) => return conn.refuse(status, err).await.map(|()| None),
        };
        if conn.h2c && codec::wants_h2c(&head) && !conn.signal.is_set() {
            return conn.switch_to_h2c(head, service).await.map(Some);
        }
        let exchange = Exchange::of(&head);
        let (body, mut pump) = match request_body(&mut conn.io, &head, &conn.config) {
            Ok(parts) => parts,
            Err(status) => {
                let err = Error::new(Kind::BodyTooLarge);
                return conn.refuse(status, err).await.map(|()| None);
            }
        };
        // Built here, not in a helper: the request is moved into the
        // handler's future, and a helper's return value costs a copy.
        let mut req = Request::new(body);
        *req.method_mut() = head.method;
        *req.uri_mut() = head.uri;
        *req.version_mut() = head.version;
        *req.headers_mut() = head.headers;
        let upgrade = conn.extend(&mut req, head.upgrade);
        let answer = match ready(&mut service).await {
            Ok(()) => {
                // Dropped as soon as it is done, as hyper does: what it
                // holds (a permit, say) is not kept while the body goes.
                let mut response = pin!(start(&mut service, req));
                drive(response.as_mut(), &mut pump, &mut conn.io).await
            }
            Err(answer) => answer,
        };
        let res = match answer {
            Answer::Response(res) => res,
            Answer::Refuse(status, err) => return conn.refuse(status, err).await.map(|()| None),
            Answer::Abort(err) => return Err(err),
        };
        let (mut parts, body) = res.into_parts();
        let plan = conn.plan(&exchange, &parts, &body, &mut pump);
        conn.write_head(&parts, &plan);
        let region = parts.extensions.remove::<FileRegion>();
        // Each way is a future of its own: moving a future copies all of
        // it, and the sendfile way's is large.
        let mut keep_alive = plan.keep_alive;
        let written = match region {
            region if !plan.sends_body => {
                drop((body, region));
                Ok(())
            }
            Some(region) if conn.can_send(&region, &plan, &pump) => {
                conn.send_region(body, &region, &plan, &mut pump, &mut keep_alive)
                    .await
            }
            region => {
                drop(region);
                conn.send_body(body, &plan, &mut pump, &mut keep_alive)
                    .await
            }
        };
        if let Err(err) = written {
            return Err(conn.fail(err).await);
        }
        if plan.switching {
            return conn.switch(upgrade).await.map(|()| None);
        }
        drop(upgrade);
        if keep_alive && pump.as_deref().is_none_or(Pump::is_done) {
            // The common way, without the future that drains and closes.
            conn.flush_between().await?;
        } else if !conn.finish(&mut pump, keep_alive).await? {
            return Ok(None);
        }
    }
}

/// One connection's state between requests.
struct Conn<I> {
    io: Buffered<I>,
    config: Arc<Config>,
    extensions: Extensions,
    signal: Arc<Signal>,
    h2c: bool,
    deadline: Deadline,
    /// When the last response was written; none before the first request.
    last_response: Option<Instant>,
}

impl<I> Conn<I>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn new(io: I, config: Arc<Config>, extras: Extras) -> Conn<I> {
        let mut deadline = Deadline::default();
        deadline.set(config.head_timeout.map(timer::after));
        Conn {
            io: Buffered::with_read_buf(io, extras.early),
            config,
            extensions: extras.extensions,
            signal: extras.signal,
            h2c: extras.h2c,
            deadline,
            last_response: None,
        }
    }

    async fn refuse(&mut self, status: StatusCode, err: Error) -> Result<(), Error> {
        refuse(&mut self.io, &self.config, status, err).await
    }

    /// After a `101` answer: writes it out, then hands the stream, with
    /// what was read past the request, to the request's `OnUpgrade`.
    async fn switch(mut self, upgrade: Option<oneshot::Sender<Upgraded>>) -> Result<(), Error> {
        poll_fn(|cx| self.io.poll_flush(cx))
            .await
            .map_err(Error::io)?;
        if let Some(tx) = upgrade {
            let early = self.io.read_buf.split().freeze();
            let _ = tx.send(Upgraded::new(self.io.io, early));
        }
        Ok(())
    }

    /// Answers `101` to an h2c upgrade and hands the connection over.
    async fn switch_to_h2c<S>(
        mut self,
        head: RequestHead,
        service: S,
    ) -> Result<Switch<I, S>, Error> {
        self.io.write_buf.push(Bytes::from_static(codec::SWITCHING));
        poll_fn(|cx| self.io.poll_flush(cx))
            .await
            .map_err(Error::io)?;
        Ok(Switch {
            io: self.io.io,
            early: self.io.read_buf,
            head,
            service,
        })
    }

    /// Writes the response head as planned.
    #[inline]
    fn write_head(&mut self, parts: &http::response::Parts, plan: &ResponsePlan) {
        let now = Instant::now();
        self.last_response = Some(now);
        let (status, headers) = (parts.status, &parts.headers);
        let (framing, connection) = (plan.framing, plan.connection);
        write_head(
            &mut self.io,
            now,
            &self.config,
            status,
            headers,
            framing,
            connection,
        );
    }

    /// Whether `region` can go by `sendfile(2)`: nothing else needs the
    /// connection meanwhile (a request body being read), the region is
    /// the whole body, and the connection is a plain socket.
    fn can_send(
        &mut self,
        region: &FileRegion,
        plan: &ResponsePlan,
        pump: &Option<Box<Pump>>,
    ) -> bool {
        pump.is_none()
            && plan.framing == Framing::Length(region.len())
            && sendfile::possible(&mut self.io.io)
    }

    /// The response cannot be completed: closing tells the client.
    async fn fail(&mut self, err: Error) -> Error {
        let _ = poll_fn(|cx| self.io.poll_shutdown(cx)).await;
        err
    }

    /// Sends `body`; a body that had to wait (a slow client, a long
    /// download) restarts the idle clock from its end rather than from
    /// its head.
    async fn send_body<B>(
        &mut self,
        body: B,
        plan: &ResponsePlan,
        pump: &mut Option<Box<Pump>>,
        keep_alive: &mut bool,
    ) -> Result<(), Error>
    where
        B: HttpBody,
        B::Error: Into<BoxError>,
    {
        let waited = write_body(&mut self.io, body, plan.framing, pump, keep_alive).await?;
        if waited {
            self.last_response = Some(Instant::now());
        }
        Ok(())
    }

    /// Sends `region` by `sendfile(2)`, or `body` when the file cannot be
    /// sent from. The body is dropped only once the region is sent: a body
    /// that logs or counts when dropped sees the region's bytes sent.
    async fn send_region<B>(
        &mut self,
        body: B,
        region: &FileRegion,
        plan: &ResponsePlan,
        pump: &mut Option<Box<Pump>>,
        keep_alive: &mut bool,
    ) -> Result<(), Error>
    where
        B: HttpBody,
        B::Error: Into<BoxError>,
    {
        let sent = sendfile::send(&mut self.io, region).await;
        self.last_response = Some(Instant::now());
        match sent {
            Ok(sendfile::Sent::All) => Ok(()),
            Ok(sendfile::Sent::Unsupported) => self.send_body(body, plan, pump, keep_alive).await,
            Err(err) => Err(Error::io(err)),
        }
    }

    /// Gives the request the connection's extensions, and an
    /// [`OnUpgrade`] when it asks to switch protocols; returns where the
    /// stream goes if it does.
    fn extend(&self, req: &mut Request<Body>, upgrade: bool) -> Option<oneshot::Sender<Upgraded>> {
        if !self.extensions.is_empty() {
            req.extensions_mut().extend(self.extensions.clone());
        }
        if !upgrade {
            return None;
        }
        let (tx, on_upgrade) = OnUpgrade::pair();
        req.extensions_mut().insert(on_upgrade);
        Some(tx)
    }

    /// The codec's plan for the response, given what the server allows.
    #[inline(always)]
    fn plan<B: HttpBody>(
        &self,
        exchange: &Exchange,
        parts: &http::response::Parts,
        body: &B,
        pump: &mut Option<Box<Pump>>,
    ) -> ResponsePlan {
        let mut reuse = self.config.keep_alive && !self.signal.is_set();
        if let Some(pump) = pump.as_mut()
            && pump.awaits_continue()
        {
            // The client holds its body back until told to send it; the
            // handler never asked, so the connection cannot be reused. The
            // final response now takes the place of `100 Continue`.
            reuse = false;
            pump.skip_continue();
        }
        let length = body.size_hint().exact();
        codec::plan_response(exchange, parts.status, &parts.headers, length, reuse)
    }

    /// After the response: the rest of the request body, then either the
    /// next request (true) or closing (false).
    async fn finish(
        &mut self,
        pump: &mut Option<Box<Pump>>,
        mut keep_alive: bool,
    ) -> Result<bool, Error> {
        let mut unread = pump.as_ref().is_some_and(|pump| !pump.is_done());
        if let Some(pump) = pump.take()
            && unread
            && keep_alive
        {
            keep_alive = finish_body(&mut self.io, *pump, &self.config, &mut self.deadline).await;
            unread = !keep_alive;
        }
        if !keep_alive {
            let closed = close(&mut self.io, None).await;
            if unread {
                // The client may still be sending the body: closing with
                // unread bytes would reset the connection under the response.
                linger(&mut self.io).await;
            }
            return closed.map(|()| false);
        }
        self.flush_between().await.map(|()| true)
    }

    /// Between kept-alive requests: writes out the responses, unless the
    /// next request is already read (pipelining) and they are few.
    async fn flush_between(&mut self) -> Result<(), Error> {
        if self.io.read_buf.is_empty() || self.io.write_buf.len() >= WRITE_HIGH_WATER {
            poll_fn(|cx| self.io.poll_flush(cx))
                .await
                .map_err(Error::io)?;
        }
        Ok(())
    }
}
