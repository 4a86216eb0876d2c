//! instant-acme's HTTP client trait over paf's [`Client`], so that ACME
//! runs over any flow paf can open (TCP, TLS, a user-space TCP/IP stack).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::Request;
use http_body::Body as _;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use paf::{Body, Client};

use crate::error::Error;

/// The largest answer read from the CA: certificate chains and JSON
/// documents are a few kilobytes.
const MAX_ANSWER: u64 = 1024 * 1024;

/// The longest one exchange with the CA may take, answer read included.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// paf's client, as instant-acme sees it: each exchange bounded in time
/// and size whatever the client's own settings (a client given with
/// [`AcmeBuilder::client`](crate::AcmeBuilder::client) may have none).
pub(crate) struct PafHttp {
    client: Client,
    limits: Limits,
}

/// The bounds of one exchange with the CA.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The whole exchange, from sending the request to the answer's end.
    pub(crate) timeout: Duration,
    /// The answer's body, in bytes.
    pub(crate) max_answer: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: EXCHANGE_TIMEOUT,
            max_answer: MAX_ANSWER,
        }
    }
}

impl PafHttp {
    pub(crate) fn new(client: Client) -> PafHttp {
        PafHttp {
            client,
            limits: Limits::default(),
        }
    }

    #[cfg(test)]
    pub(crate) fn with_limits(client: Client, limits: Limits) -> PafHttp {
        PafHttp { client, limits }
    }

    /// A client that trusts the webpki roots plus `roots` (PEM), with
    /// timeouts suited to a CA: 30 s to connect, 60 s per request.
    pub(crate) fn client_with_roots(roots: &[Vec<u8>]) -> Result<Client, Error> {
        let mut tls = mimic::tls::Tls::builder();
        for pem in roots {
            tls = tls.add_ca_pem(pem.clone());
        }
        let tls = tls
            .build()
            .map_err(|err| Error::setting_caused("trusted roots", "not usable", err))?;
        Client::builder()
            .tls(tls)
            .connect_timeout(Some(Duration::from_secs(30)))
            .timeout(Some(Duration::from_secs(60)))
            .max_response_body(Some(MAX_ANSWER))
            .user_agent(concat!("paf-acme/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| Error::setting_caused("HTTP client", "cannot be built", err))
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>>;

impl HttpClient for PafHttp {
    fn request(&self, req: Request<BodyWrapper<Bytes>>) -> Answer {
        let client = self.client.clone();
        let limits = self.limits;
        Box::pin(async move {
            let exchange = exchange(client, req, limits.max_answer);
            match tokio::time::timeout(limits.timeout, exchange).await {
                Ok(result) => result,
                Err(_) => Err(instant_acme::Error::Timeout(None)),
            }
        })
    }
}

/// Sends `req` and reads the answer, at most `max_answer` bytes of body.
async fn exchange(
    client: Client,
    req: Request<BodyWrapper<Bytes>>,
    max_answer: u64,
) -> Result<BytesResponse, instant_acme::Error> {
    let (parts, body) = req.into_parts();
    // Given whole, so that the request carries `content-length` (some CAs
    // refuse a POST without it) and can be retried.
    let req = Request::from_parts(parts, Body::full(whole(body).await));
    let mut res = client.request(req).await.map_err(other)?;
    let (mut head, ()) = http::Response::new(()).into_parts();
    head.status = res.status();
    head.version = res.version();
    head.headers = res.headers().clone();
    let mut body = BytesMut::new();
    while let Some(chunk) = res.chunk().await.map_err(other)? {
        let len = u64::try_from(body.len() + chunk.len()).unwrap_or(u64::MAX);
        if len > max_answer {
            let limit = max_answer;
            return Err(instant_acme::Error::Other(Box::new(TooLarge { limit })));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(BytesResponse {
        parts: head,
        body: Box::new(body.freeze()),
    })
}

/// An answer from the CA larger than any ACME document.
#[derive(Debug)]
struct TooLarge {
    limit: u64,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the answer is larger than {} bytes", self.limit)
    }
}

impl std::error::Error for TooLarge {}

/// The bytes of a request body (one frame at most, never failing).
async fn whole(body: BodyWrapper<Bytes>) -> Bytes {
    let mut body = std::pin::pin!(body);
    let mut bytes = BytesMut::new();
    while let Some(Ok(frame)) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    bytes.freeze()
}

/// A paf error as instant-acme carries it; [`Error::acme`] finds it again.
fn other(err: paf::Error) -> instant_acme::Error {
    instant_acme::Error::Other(Box::new(err))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A loopback server answering every connection with `answer` once it
    /// has read a request (never, when `answer` is `None`).
    async fn server(answer: Option<Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0; 4096];
                    let _ = tcp.read(&mut buf).await;
                    match answer {
                        Some(answer) => {
                            let _ = tcp.write_all(&answer).await;
                        }
                        None => std::future::pending().await,
                    }
                });
            }
        });
        format!("http://{addr}/dir")
    }

    /// A client with no timeout and no body limit of its own.
    fn bare() -> PafHttp {
        let client = Client::builder().build().expect("a client");
        let limits = Limits {
            timeout: Duration::from_millis(300),
            max_answer: 1000,
        };
        PafHttp::with_limits(client, limits)
    }

    fn get(url: &str) -> Request<BodyWrapper<Bytes>> {
        Request::get(url)
            .body(BodyWrapper::default())
            .expect("a request")
    }

    #[tokio::test]
    async fn a_stalled_ca_times_out_whatever_the_client() {
        let url = server(None).await;
        let started = std::time::Instant::now();
        let result = bare().request(get(&url)).await;
        assert!(
            matches!(result, Err(instant_acme::Error::Timeout(_))),
            "{:?}",
            result.err()
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_large_answer_is_refused_whatever_the_client() {
        let mut answer = b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n".to_vec();
        answer.extend_from_slice(&[b'x'; 5000]);
        let url = server(Some(answer)).await;
        let Err(instant_acme::Error::Other(err)) = bare().request(get(&url)).await else {
            panic!("a 5000-byte answer passed a 1000-byte limit");
        };
        assert_eq!(err.to_string(), "the answer is larger than 1000 bytes");

        let small = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello".to_vec();
        let url = server(Some(small)).await;
        let res = bare().request(get(&url)).await.expect("an answer");
        assert_eq!(res.parts.status, http::StatusCode::OK);
    }
}
