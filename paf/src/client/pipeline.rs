//! A batch of requests on one connection: pipelined over HTTP/1.1,
//! multiplexed over HTTP/2, answered in order (cohttp's `callv`).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use http::{Request, Uri};

use super::plan::Plan;
use super::response::{Timers, Tracked};
use super::send::build;
use super::{Client, Response};
use crate::body::Body;
use crate::error::{Error, Kind, Timeout};

/// The responses of [`Client::pipeline`], in the order of the requests.
#[must_use = "a pipeline sends nothing until its stream is polled"]
pub struct Pipeline {
    inner: BoxStream<'static, Result<Response, Error>>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

impl Stream for Pipeline {
    type Item = Result<Response, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl Client {
    /// Sends `requests` on one new connection to their origin and gives the
    /// responses in the same order, as a stream: over HTTP/1.1 the requests
    /// are pipelined (written one after the other without waiting for the
    /// answers, which come back in order), over HTTP/2 they go out at once,
    /// one stream each. cohttp calls it `callv`.
    ///
    /// Every request needs an absolute URI of one origin (scheme, host and
    /// port); one of another origin fails the whole batch with
    /// [`Error::is_request`] before anything is sent. The client's default
    /// header fields, proxies, TLS settings and connect and read timeouts
    /// apply; redirects are not followed and nothing is sent again. On
    /// HTTP/1.1, read or drop each response's body before awaiting the next
    /// response: the next one comes after it on the connection.
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    ///
    /// # async fn run(client: paf::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let requests = ["/a", "/b", "/c"].map(|path| {
    ///     http::Request::get(format!("http://localhost:8080{path}")).body(paf::Body::empty())
    /// });
    /// let mut responses = client.pipeline(requests.into_iter().collect::<Result<Vec<_>, _>>()?);
    /// while let Some(res) = responses.next().await {
    ///     println!("{}", res?.text().await?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pipeline(&self, requests: Vec<Request<Body>>) -> Pipeline {
        let client = self.clone();
        let batch = async move { client.start(requests).await };
        let inner = stream::once(batch)
            .flat_map(|started| match started {
                Ok(responses) => responses,
                Err(err) => stream::once(async move { Err(err) }).boxed(),
            })
            .boxed();
        Pipeline { inner }
    }

    /// Opens the batch's connection and sends every request on it.
    async fn start(
        &self,
        requests: Vec<Request<Body>>,
    ) -> Result<BoxStream<'static, Result<Response, Error>>, Error> {
        let Some(first) = requests.first() else {
            return Ok(stream::empty().boxed());
        };
        let text = first.uri().to_string();
        let origin = same_origin(&requests)?;
        let plan = self.plan(&text, &origin)?;
        let conn = self.open_pipelined(&text, &plan).await?;
        let shared = &*self.shared;
        let count = requests.len();
        let read = shared.timeouts.read;
        let mut sends = Vec::with_capacity(count);
        for req in requests {
            let (mut parts, body) = req.into_parts();
            for (name, value) in &shared.headers {
                if !parts.headers.contains_key(name) {
                    parts.headers.insert(name.clone(), value.clone());
                }
            }
            let uri = parts.uri.clone();
            let req = build(&parts, &plan, body);
            let (mut sender, info) = (conn.sender.clone(), conn.info.clone());
            let limit = shared.body_limit;
            sends.push(async move {
                let sent = sender.send(req);
                let res = match read {
                    Some(limit) => tokio::time::timeout(limit, sent)
                        .await
                        .unwrap_or_else(|_| Err(Error::new(Kind::Timeout(Timeout::Read)))),
                    None => sent.await,
                }?;
                let timers = Timers {
                    deadline: None,
                    read,
                };
                let res = res.map(|body| Tracked::wrap(body, None, &timers));
                Ok(Response::new(res, uri, info, Vec::new()).with_body_limit(limit))
            });
        }
        // All of them polled at once: each is written as soon as it is
        // polled, and the answers are given in order.
        Ok(stream::iter(sends).buffered(count).boxed())
    }
}

/// The origin of a batch: every request's URI must be absolute and share
/// the first one's scheme and authority.
fn same_origin(requests: &[Request<Body>]) -> Result<Uri, Error> {
    let first = requests
        .first()
        .map(|r| r.uri().clone())
        .unwrap_or_default();
    if first.scheme().is_none() || first.authority().is_none() {
        return Err(Error::with(
            Kind::Request,
            format!("`{first}`: a pipeline's URIs must be absolute"),
        ));
    }
    let key = |uri: &Uri| (uri.scheme().cloned(), uri.authority().cloned());
    if let Some(other) = requests.iter().find(|r| key(r.uri()) != key(&first)) {
        return Err(Error::with(
            Kind::Request,
            format!(
                "`{}`: a pipeline goes to one origin, and this is not `{first}`'s",
                other.uri()
            ),
        ));
    }
    Ok(first)
}

impl Client {
    /// A new connection for the plan, pipelining on HTTP/1.1, outside the
    /// pool: the batch has it to itself.
    async fn open_pipelined(&self, text: &str, plan: &Plan) -> Result<super::pool::Conn, Error> {
        let builder = self.builder_for(plan).clone().pipeline(true);
        self.connect_with(text, plan, &builder).await
    }
}
