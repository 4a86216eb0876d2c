//! `--echo`: every request answered with itself, as text.
//!
//! The answer is `200 OK`, `text/plain`: the request line (method, target,
//! version), the header fields one per line, an empty line, then the
//! request body, streamed back as it arrives. `CONNECT` is answered `501`,
//! since answering it `200` would open a tunnel.

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use paf::{Body, respond};

use crate::util::version_name;

/// The echo of `req`.
pub(crate) fn respond(req: Request<Body>) -> Response<Body> {
    if req.method() == Method::CONNECT {
        return respond::error(
            StatusCode::NOT_IMPLEMENTED,
            "CONNECT is not supported by the echo server",
        );
    }
    let (parts, body) = req.into_parts();
    let mut head = format!(
        "{} {} {}\n",
        parts.method,
        parts.uri,
        version_name(parts.version)
    );
    for (name, value) in &parts.headers {
        head.push_str(name.as_str());
        head.push_str(": ");
        head.push_str(&String::from_utf8_lossy(value.as_bytes()));
        head.push('\n');
    }
    head.push('\n');
    // A declared length within the head's size of `u64::MAX` cannot be
    // added to: the answer then goes without a length.
    let length = http_body::Body::size_hint(&body)
        .exact()
        .and_then(|n| n.checked_add(head.len() as u64));
    let head = stream::once(async move { Ok::<_, paf::Error>(Bytes::from(head)) });
    let mut res = Response::new(Body::from_stream(head.chain(data(body))));
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(length) = length {
        res.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    res
}

/// The data of a body as a stream, trailers left out; an error ends it.
fn data(body: Body) -> impl futures_util::Stream<Item = Result<Bytes, paf::Error>> + Send {
    stream::unfold(Some(body), |body| async move {
        let mut body = body?;
        loop {
            match body.frame().await? {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        return Some((Ok(data), Some(body)));
                    }
                }
                Err(err) => return Some((Err(err), None)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn echoes_the_request() {
        let req = Request::post("/path?q=1")
            .header("x-test", "yes")
            .body(Body::full("the body"))
            .expect("a valid request");
        let res = respond(req);
        assert_eq!(res.status(), StatusCode::OK);
        let length = res.headers()[CONTENT_LENGTH].clone();
        let text = res.into_body().text().await.expect("the echo");
        assert_eq!(text, "POST /path?q=1 HTTP/1.1\nx-test: yes\n\nthe body");
        assert_eq!(length, text.len().to_string().as_str());

        let connect = Request::connect("example.com:443")
            .body(Body::empty())
            .expect("a valid request");
        assert_eq!(respond(connect).status(), StatusCode::NOT_IMPLEMENTED);
    }

    /// A body that says it holds `u64::MAX` bytes, as a request's
    /// `Content-Length` may.
    struct Endless;

    impl http_body::Body for Endless {
        type Data = Bytes;
        type Error = paf::Error;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, paf::Error>>> {
            std::task::Poll::Ready(None)
        }

        fn size_hint(&self) -> http_body::SizeHint {
            http_body::SizeHint::with_exact(u64::MAX)
        }
    }

    #[test]
    fn a_length_past_u64_leaves_the_answer_without_one() {
        let req = Request::post("/")
            .body(Body::new(Endless))
            .expect("a valid request");
        let res = respond(req);
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers().get(CONTENT_LENGTH), None);
    }
}
