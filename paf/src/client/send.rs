//! The life of a request: redirects followed, and each hop sent on a
//! connection from the pool, retried once when the rule allows.

use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderMap};
use http::request::Parts;
use http::{Request, Uri, Version};
use tokio::time::Instant;

use super::plan::{Plan, unix_prefix};
use super::redirect::{self, Next};
use super::response::{Timers, Tracked};
use super::{Client, Response};
use crate::body::Body;
use crate::error::{Error, Kind, Timeout};

impl Client {
    /// Sends the request and follows its redirects.
    pub(super) async fn follow(
        &self,
        mut text: String,
        req: Request<Body>,
        deadline: Option<Instant>,
    ) -> Result<Response, Error> {
        let shared = &*self.shared;
        let (mut parts, mut body) = req.into_parts();
        for (name, value) in &shared.headers {
            if !parts.headers.contains_key(name) {
                parts.headers.insert(name.clone(), value.clone());
            }
        }
        let mut chain: Vec<Uri> = Vec::new();
        loop {
            let replay = if shared.redirect.is_none() {
                None
            } else {
                body.try_clone()
            };
            let (res, info) = self.send(&text, &parts, body, deadline).await?;
            if shared.redirect.is_none() || !res.status().is_redirection() {
                return Ok(Response::new(res, parts.uri, info, chain));
            }
            chain.push(parts.uri.clone());
            let next = redirect::next(
                &shared.redirect,
                res.status(),
                &parts.method,
                res.headers(),
                &chain,
            )?;
            let Next::Follow {
                uri,
                method,
                keep_body,
            } = next
            else {
                chain.pop();
                return Ok(Response::new(res, parts.uri, info, chain));
            };
            body = match (keep_body, replay) {
                (false, _) => Body::empty(),
                (true, Some(body)) => body,
                // A streamed body cannot go to the next server.
                (true, None) => {
                    chain.pop();
                    return Ok(Response::new(res, parts.uri, info, chain));
                }
            };
            drop(res);
            let cross_origin = !redirect::same_origin(&parts.uri, &uri);
            redirect::scrub(&mut parts.headers, cross_origin, keep_body);
            tracing::debug!(from = %parts.uri, to = %uri, %method, "following a redirect");
            text = match unix_prefix(&text) {
                // A Unix socket's URI names no host: a redirect within it
                // keeps the socket.
                Some(prefix) if !cross_origin => {
                    format!(
                        "{prefix}{}",
                        uri.path_and_query().map_or("/", |p| p.as_str())
                    )
                }
                _ => uri.to_string(),
            };
            parts.method = method;
            parts.uri = uri;
        }
    }

    /// Sends one request, retried once when the rule allows.
    async fn send(
        &self,
        text: &str,
        parts: &Parts,
        body: Body,
        deadline: Option<Instant>,
    ) -> Result<(http::Response<Body>, Arc<mimic::Info>), Error> {
        let shared = &*self.shared;
        let plan = self.plan(text, &parts.uri)?;
        let plan = &*plan;
        let mut body = body;
        let (mut retried, mut fresh) = (false, false);
        loop {
            let mut loan = self.connection(text, plan, fresh).await?;
            // Only a pooled connection can have died unnoticed; a request is
            // sent again once at most.
            let replay = (loan.reused && shared.retry && !retried)
                .then(|| body.try_clone())
                .flatten();
            let req = build(parts, plan, body);
            let sent = loan.conn.sender.send(req);
            let result = match shared.timeouts.read {
                Some(limit) => Box::pin(tokio::time::timeout(limit, sent))
                    .await
                    .unwrap_or_else(|_| Err(Error::new(Kind::Timeout(Timeout::Read)))),
                None => sent.await,
            };
            let res = match result {
                Ok(res) => res,
                Err(err) => {
                    let http1 = loan.conn.sender.version() != Version::HTTP_2;
                    loan.discard();
                    match replay {
                        Some(again) if err.is_closed() || err.is_unanswered() => {
                            tracing::debug!(route = %plan.route, error = %format_args!("{err:#}"), "sending again");
                            body = again;
                            // An HTTP/1.1 connection from the pool could be
                            // as dead as this one; an HTTP/2 one that refused
                            // a stream or went away is no longer handed out.
                            retried = true;
                            fresh = http1;
                            continue;
                        }
                        _ => return Err(err),
                    }
                }
            };
            let info = loan.conn.info.clone();
            // An HTTP/2 connection is shared, never lent: nothing to give back.
            let loan = (loan.conn.sender.version() != Version::HTTP_2).then(|| {
                loan.keep_alive = keep_alive_timeout(res.headers());
                loan
            });
            let timers = Timers {
                deadline,
                read: shared.timeouts.read,
            };
            return Ok((res.map(|body| Tracked::wrap(body, loan, &timers)), info));
        }
    }
}

/// The request as the connection sends it.
pub(super) fn build(parts: &Parts, plan: &Plan, body: Body) -> Request<Body> {
    let mut req = Request::new(body);
    *req.method_mut() = parts.method.clone();
    *req.headers_mut() = parts.headers.clone();
    // A Unix socket's URI is in its `http://localhost/...` form already
    // (`http_uri`); with `unix_socket`, the URI's host is named, as curl does.
    *req.uri_mut() = parts.uri.clone();
    if let Some(auth) = &plan.proxy_auth {
        req.headers_mut()
            .entry(header::PROXY_AUTHORIZATION)
            .or_insert(auth.clone());
    }
    req
}

/// `Keep-Alive: timeout=N`, in seconds.
fn keep_alive_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("keep-alive")?.to_str().ok()?;
    value.split(',').find_map(|param| {
        let (name, secs) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("timeout") {
            return None;
        }
        secs.trim()
            .trim_matches('"')
            .parse()
            .ok()
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn keep_alive_timeouts_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert("keep-alive", HeaderValue::from_static("max=100, timeout=5"));
        assert_eq!(keep_alive_timeout(&headers), Some(Duration::from_secs(5)));
        headers.insert("keep-alive", HeaderValue::from_static("max=100"));
        assert_eq!(keep_alive_timeout(&headers), None);
    }
}
