//! HTTP-01 answered in front of any paf handler.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use paf::{Body, BoxError};
use tower_layer::Layer;
use tower_service::Service;

use crate::challenges::Challenges;

/// The path prefix the CA fetches (RFC 8555, section 8.3).
const PREFIX: &str = "/.well-known/acme-challenge/";

/// A tower layer that answers `GET /.well-known/acme-challenge/TOKEN` for
/// the orders in progress and passes every other request to the handler
/// it wraps. From [`Acme::http01_layer`](crate::Acme::http01_layer).
///
/// Put it in front of the handler of the listener the CA reaches on port
/// 80 (it costs one string comparison per request, so it can stay on every
/// listener). A token not in progress gets `404`.
///
/// ```
/// use tower_layer::Layer;
///
/// # fn run(acme: acme::Acme) {
/// let site = paf::service_fn(|_req: http::Request<paf::Body>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(paf::Body::full("hello")))
/// });
/// let handler = acme.http01_layer().layer(site);
/// # let _ = handler; }
/// ```
#[derive(Clone)]
pub struct Http01Layer {
    challenges: Challenges,
}

impl Http01Layer {
    pub(crate) fn new(challenges: Challenges) -> Http01Layer {
        Http01Layer { challenges }
    }
}

impl std::fmt::Debug for Http01Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http01Layer").finish_non_exhaustive()
    }
}

impl<S> Layer<S> for Http01Layer {
    type Service = Http01Service<S>;

    fn layer(&self, inner: S) -> Http01Service<S> {
        Http01Service {
            inner,
            challenges: self.challenges.clone(),
        }
    }
}

/// The service [`Http01Layer`] makes: challenge answers, then `S`.
#[derive(Clone)]
pub struct Http01Service<S> {
    inner: S,
    challenges: Challenges,
}

impl<S> std::fmt::Debug for Http01Service<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http01Service").finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<Body>> for Http01Service<S>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if let Some(token) = req.uri().path().strip_prefix(PREFIX) {
            let answer = answer(&self.challenges, req.method(), token);
            return Box::pin(async move { Ok(answer) });
        }
        let future = self.inner.call(req);
        Box::pin(async move {
            let res = future.await.map_err(Into::into)?;
            Ok(res.map(Body::new))
        })
    }
}

/// The key authorization as text, or `404`.
fn answer(challenges: &Challenges, method: &Method, token: &str) -> Response<Body> {
    let found = match *method {
        Method::GET | Method::HEAD => challenges.http01(token),
        _ => None,
    };
    let (status, body) = match found {
        Some(key_authorization) => (StatusCode::OK, key_authorization),
        None => (StatusCode::NOT_FOUND, String::new()),
    };
    let mut res = Response::new(Body::full(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_tokens_in_progress_and_passes_the_rest() {
        let challenges = Challenges::default();
        let _answer = challenges.put_http01("tok", "tok.thumb");
        let site = paf::service_fn(|_req: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::full("site")))
        });
        let mut service = Http01Layer::new(challenges).layer(site);
        let get = |path: &str| {
            Request::get(format!("http://example.com{path}"))
                .body(Body::empty())
                .expect("a request")
        };
        let cases = [
            ("/.well-known/acme-challenge/tok", 200, "tok.thumb"),
            ("/.well-known/acme-challenge/other", 404, ""),
            ("/index.html", 200, "site"),
        ];
        for (path, status, body) in cases {
            let res = service.call(get(path)).await.expect("an answer");
            assert_eq!(res.status(), status, "{path}");
            let text = res.into_body().text().await.expect("a body");
            assert_eq!(text, body, "{path}");
        }
    }
}
