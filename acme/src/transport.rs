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

/// paf's client, as instant-acme sees it.
pub(crate) struct PafHttp {
    client: Client,
}

impl PafHttp {
    pub(crate) fn new(client: Client) -> PafHttp {
        PafHttp { client }
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
            .map_err(|err| Error::setting("trusted roots", format!("{err:#}")))?;
        Client::builder()
            .tls(tls)
            .connect_timeout(Some(Duration::from_secs(30)))
            .timeout(Some(Duration::from_secs(60)))
            .max_response_body(Some(MAX_ANSWER))
            .user_agent(concat!("paf-acme/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| Error::setting("HTTP client", format!("{err:#}")))
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>>;

impl HttpClient for PafHttp {
    fn request(&self, req: Request<BodyWrapper<Bytes>>) -> Answer {
        let client = self.client.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            // Given whole, so that the request carries `content-length`
            // (some CAs refuse a POST without it) and can be retried.
            let req = Request::from_parts(parts, Body::full(whole(body).await));
            let res = client.request(req).await.map_err(other)?;
            let (parts, _) = http::Response::new(()).into_parts();
            let mut head = parts;
            head.status = res.status();
            head.version = res.version();
            head.headers = res.headers().clone();
            let body = res.bytes().await.map_err(other)?;
            Ok(BytesResponse {
                parts: head,
                body: Box::new(body),
            })
        })
    }
}

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
