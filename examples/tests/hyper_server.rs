//! hyper's servers on conduit's listeners through conduit::hyper::handler:
//! hyper-util's auto builder and hyper's http1 and http2 builders, TCP and
//! Unix listeners, and a graceful shutdown that lets a request in flight
//! finish.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use conduit::hyper::Connector;
use conduit::listener::{TcpListener, UnixListener};
use conduit::serve::Server;
use conduit::{Destination, Resolver};
use http::{Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::{http1, http2};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use testkit::TempDir;
use tokio::sync::Notify;

type HttpClient = Client<Connector, Empty<Bytes>>;

/// `/slow` says it started through `started`, then answers after 300 ms;
/// other paths answer at once with the version.
fn service(
    started: Arc<Notify>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send,
> + Clone
+ Send
+ Sync
+ 'static {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let started = started.clone();
        async move {
            if req.uri().path() == "/slow" {
                started.notify_one();
                tokio::time::sleep(Duration::from_millis(300)).await;
                return Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("slow done"))));
            }
            let text = format!("{:?}", req.version());
            Ok(Response::new(Full::new(Bytes::from(text))))
        }
    })
}

fn client(connector: Connector, h2: bool) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .http2_only(h2)
        .build(connector)
}

async fn get(client: &HttpClient, uri: &str) -> (StatusCode, Version, String) {
    let res = client
        .get(uri.parse().expect("a URI"))
        .await
        .unwrap_or_else(|e| panic!("GET {uri}: {e:?}"));
    let (status, version) = (res.status(), res.version());
    let body = res
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes();
    (status, version, String::from_utf8_lossy(&body).into_owned())
}

fn tcp() -> TcpListener {
    TcpListener::bind("127.0.0.1:0".parse().expect("an address")).expect("bind")
}

#[tokio::test]
async fn auto_serves_http1_and_h2c_on_tcp_and_unix() {
    let dir = TempDir::new("hyper-server-auto");
    let socket = dir.join("hyper.sock");
    let builder = auto::Builder::new(TokioExecutor::new());
    let server = Server::builder()
        .listener(tcp())
        .listener(UnixListener::bind(&socket).expect("bind the socket"))
        .serve(conduit::hyper::handler(builder, service(Arc::default())));
    let uri = format!("http://{}/", server.local_addrs()[0]);

    let (status, version, body) = get(&client(Connector::new(), false), &uri).await;
    assert_eq!(
        (status, version, body.as_str()),
        (StatusCode::OK, Version::HTTP_11, "HTTP/1.1")
    );
    let (_, version, body) = get(&client(Connector::new(), true), &uri).await;
    assert_eq!((version, body.as_str()), (Version::HTTP_2, "HTTP/2.0"));

    let resolver = Resolver::builder()
        .static_host("hyper.local", Destination::Unix(socket.clone()))
        .build()
        .expect("the resolver builds");
    let (_, _, body) = get(
        &client(Connector::with_resolver(resolver), false),
        "http://hyper.local/",
    )
    .await;
    assert_eq!(body, "HTTP/1.1");

    let report = server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.aborted, 0);
    assert!(!socket.exists(), "the socket file is removed");
}

#[tokio::test]
async fn hypers_own_builders_serve_too() {
    let h1 = Server::builder()
        .listener(tcp())
        .serve(conduit::hyper::handler(
            http1::Builder::new(),
            service(Arc::default()),
        ));
    let h2 = Server::builder()
        .listener(tcp())
        .serve(conduit::hyper::handler(
            http2::Builder::new(TokioExecutor::new()),
            service(Arc::default()),
        ));
    let (_, version, _) = get(
        &client(Connector::new(), false),
        &format!("http://{}/", h1.local_addrs()[0]),
    )
    .await;
    assert_eq!(version, Version::HTTP_11);
    let (_, version, _) = get(
        &client(Connector::new(), true),
        &format!("http://{}/", h2.local_addrs()[0]),
    )
    .await;
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(h1.shutdown(Duration::from_secs(5)).await.aborted, 0);
    assert_eq!(h2.shutdown(Duration::from_secs(5)).await.aborted, 0);
}

/// Shutdown begins while `/slow` is being answered: the answer arrives
/// whole, the connection then ends without being aborted, and the
/// listener is closed.
async fn in_flight_request_finishes(h2: bool) {
    let started = Arc::new(Notify::new());
    let server = Server::builder()
        .listener(tcp())
        .serve(conduit::hyper::handler(
            auto::Builder::new(TokioExecutor::new()),
            service(started.clone()),
        ));
    let addr = server.local_addrs()[0].to_string();
    let client = client(Connector::new(), h2);
    let uri = format!("http://{addr}/slow");
    let request = tokio::spawn(async move { get(&client, &uri).await });
    started.notified().await;

    let began = Instant::now();
    let report = server.shutdown(Duration::from_secs(5)).await;
    let (status, _, body) = request.await.expect("the request task");
    assert_eq!((status, body.as_str()), (StatusCode::OK, "slow done"));
    assert_eq!((report.finished, report.aborted), (1, 0));
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "shutdown waited for the deadline"
    );
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn graceful_shutdown_lets_an_http1_request_finish() {
    in_flight_request_finishes(false).await;
}

#[tokio::test]
async fn graceful_shutdown_lets_an_h2_request_finish() {
    in_flight_request_finishes(true).await;
}
