//! `paf::Client` through HTTP proxies: `http` in absolute-form to a forward
//! proxy, `https` in a `CONNECT` tunnel with TLS to the origin inside it,
//! proxy credentials, `NO_PROXY` exceptions, connection reuse through the
//! tunnel, and the errors of a proxy that refuses, stays silent or is down.
//!
//! The tests against a real tinyproxy are skipped (loudly) when it is not
//! installed; `PAF_REQUIRE_PEERS=1` makes that a failure. The others use a
//! small proxy written here and always run.
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conduit::listener::TcpListener;
use conduit::serve::Server;
use http::{Request, Response, StatusCode, Version};
use mimic::flow::Addr;
use paf::client::{Proxies, Proxy};
use paf::server::{Auto, Serve};
use paf::{Body, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::tinyproxy::{self, Tinyproxy};
use support::tls::SelfSigned;

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("test timed out")
}

/// What the origin server saw: `<method> <target> <version> via=<Via>
/// proxy-auth=<Proxy-Authorization> body=<body>`, `-` for an absent field.
async fn origin(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let field = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string()
    };
    let head = format!(
        "{} {} {:?} via={} proxy-auth={}",
        parts.method,
        parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        parts.version,
        field("via"),
        field("proxy-authorization"),
    );
    let body = body.text().await.unwrap_or_default();
    Ok(Response::new(Body::full(format!("{head} body={body}"))))
}

fn serve(listener: impl conduit::listener::Listener) -> Server {
    Server::builder()
        .listener(listener)
        .serve(Auto::new().handler(paf::service_fn(origin)))
}

/// The origin in clear text on 127.0.0.1.
struct HttpOrigin {
    addr: SocketAddr,
    _server: Server,
}

impl HttpOrigin {
    fn start() -> HttpOrigin {
        let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = tcp.local_socket_addr();
        HttpOrigin {
            addr,
            _server: serve(tcp),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// The origin over TLS on 127.0.0.1, a certificate for `localhost`, ALPN
/// `h2` and `http/1.1`.
struct TlsOrigin {
    port: u16,
    cert: SelfSigned,
    _server: Server,
}

impl TlsOrigin {
    fn start() -> TlsOrigin {
        let cert = SelfSigned::localhost();
        let (listener, port) = cert.listener(["h2", "http/1.1"]);
        TlsOrigin {
            port,
            _server: serve(listener),
            cert,
        }
    }

    /// `https://localhost:<port><path>`: the client does not resolve
    /// `localhost` when proxied; the proxy does.
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    fn trust(&self) -> mimic::tls::Tls {
        mimic::tls::Tls::builder()
            .without_webpki_roots()
            .add_ca_file(self.cert.cert_path())
            .build()
            .unwrap()
    }
}

fn proxy(url: &str) -> Proxy {
    Proxy::new(url).unwrap()
}

/// Both schemes through `url`.
fn through(url: &str) -> Proxies {
    Proxies::none().http(proxy(url)).https(proxy(url))
}

fn client(proxies: Proxies, origin: &TlsOrigin) -> paf::ClientBuilder {
    Client::builder()
        .proxies(proxies)
        .tls(origin.trust())
        .connect_timeout(Some(Duration::from_secs(10)))
}

fn protocols(res: &paf::client::Response) -> Vec<String> {
    res.connection().protocols().map(str::to_string).collect()
}

fn peer(res: &paf::client::Response) -> Option<SocketAddr> {
    match res.connection().peer_addr() {
        Some(Addr::Inet(addr)) => Some(addr.to_owned()),
        _ => None,
    }
}

fn alpn(res: &paf::client::Response) -> Option<Vec<u8>> {
    res.connection().tls().and_then(|tls| tls.alpn.clone())
}

/// The error of a request that must fail.
async fn failure(result: Result<paf::client::Response, paf::Error>) -> paf::Error {
    match result {
        Ok(res) => panic!(
            "expected an error, got {} {:?}",
            res.status(),
            res.text().await
        ),
        Err(err) => err,
    }
}

// ---------------------------------------------------------------------
// Against tinyproxy.
// ---------------------------------------------------------------------

#[tokio::test]
async fn http_goes_to_tinyproxy_in_absolute_form() {
    let Some(tp) = Tinyproxy::start() else { return };
    let origin = HttpOrigin::start();
    let tls = TlsOrigin::start();
    within(async {
        let client = client(through(&tp.url()), &tls).build().unwrap();
        let res = client.get(origin.url("/hello?x=1")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(protocols(&res), ["tcp"]);
        assert_eq!(peer(&res), Some(tp.addr()), "connected to the proxy");
        let text = res.text().await.unwrap();
        assert!(text.starts_with("GET /hello?x=1 "), "{text}");
        assert!(
            text.contains(tinyproxy::VIA_NAME),
            "no Via from the proxy: {text}"
        );

        let res = client
            .post(origin.url("/submit"), "a body through the proxy")
            .await
            .unwrap();
        let text = res.text().await.unwrap();
        assert!(text.starts_with("POST /submit "), "{text}");
        assert!(text.ends_with("body=a body through the proxy"), "{text}");

        let port = origin.addr.port();
        assert_eq!(
            tp.requests(),
            [
                format!("GET http://127.0.0.1:{port}/hello?x=1 HTTP/1.1"),
                format!("POST http://127.0.0.1:{port}/submit HTTP/1.1"),
            ],
            "{}",
            tp.log()
        );
    })
    .await;
}

/// `https` through tinyproxy's tunnel with ALPN `h2` (or `http/1.1` only).
async fn https_through_tinyproxy(http1_only: bool) {
    let Some(tp) = Tinyproxy::start() else { return };
    let origin = TlsOrigin::start();
    within(async {
        let mut builder = client(through(&tp.url()), &origin);
        if http1_only {
            builder = builder.http1_only();
        }
        let client = builder.build().unwrap();
        let res = client.get(origin.url("/secure")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(protocols(&res), ["tls", "http-connect", "tcp"]);
        assert_eq!(peer(&res), Some(tp.addr()), "connected to the proxy");
        let tls = res.connection().tls().unwrap();
        assert_eq!(tls.server_name.as_deref(), Some("localhost"));
        let (version, alpn_id, shown) = if http1_only {
            (Version::HTTP_11, &b"http/1.1"[..], "HTTP/1.1")
        } else {
            (Version::HTTP_2, &b"h2"[..], "HTTP/2.0")
        };
        assert_eq!(res.version(), version);
        assert_eq!(alpn(&res).as_deref(), Some(alpn_id));
        let text = res.text().await.unwrap();
        // The tunnel is opaque: the proxy adds nothing to the request.
        assert_eq!(
            text,
            format!("GET /secure {shown} via=- proxy-auth=- body=")
        );
        assert_eq!(
            tp.requests(),
            [format!("CONNECT localhost:{} HTTP/1.1", origin.port)],
            "{}",
            tp.log()
        );
    })
    .await;
}

#[tokio::test]
async fn https_goes_through_a_tinyproxy_tunnel_with_h2() {
    https_through_tinyproxy(false).await;
}

#[tokio::test]
async fn https_goes_through_a_tinyproxy_tunnel_with_http1_only() {
    https_through_tinyproxy(true).await;
}

#[tokio::test]
async fn tinyproxy_credentials_right_and_wrong() {
    let Some(tp) = Tinyproxy::with_basic_auth("ada", "lovelace") else {
        return;
    };
    let http = HttpOrigin::start();
    let origin = TlsOrigin::start();
    within(async {
        let good = client(through(&tp.url_with("ada", "lovelace")), &origin)
            .build()
            .unwrap();
        let res = good.get(origin.url("/in")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        assert!(text.contains("proxy-auth=-"), "credentials leaked: {text}");
        let res = good.get(http.url("/in")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        assert!(text.starts_with("GET /in "), "{text}");

        let bad = client(through(&tp.url_with("ada", "babbage")), &origin)
            .build()
            .unwrap();
        let err = failure(bad.get(origin.url("/in")).await).await;
        assert!(err.is_connect() && !err.is_tls(), "{err}");
        let shown = format!("{err:#}");
        // tinyproxy answers wrong credentials with 401, missing ones with 407.
        assert!(shown.contains("401") || shown.contains("407"), "{shown}");
        assert!(shown.contains("rejected the credentials"), "{shown}");
        assert!(!shown.contains("babbage"), "the password is shown: {shown}");
        // For `http` the proxy's answer is the response.
        let res = bad.get(http.url("/in")).await.unwrap();
        assert!(
            matches!(res.status().as_u16(), 401 | 407),
            "{}",
            res.status()
        );

        let none = client(through(&tp.url()), &origin).build().unwrap();
        let err = failure(none.get(origin.url("/in")).await).await;
        let shown = format!("{err:#}");
        assert!(
            shown.contains("407 Proxy Authentication Required")
                && shown.contains("requires credentials"),
            "{shown}"
        );
        let res = none.get(http.url("/in")).await.unwrap();
        assert_eq!(res.status(), StatusCode::PROXY_AUTHENTICATION_REQUIRED);

        // Only the requests with the right credentials reached an origin.
        let log = tp.log();
        assert_eq!(tp.connects().len(), 3, "{log}");
    })
    .await;
}

#[tokio::test]
async fn no_proxy_exceptions_bypass_tinyproxy() {
    let Some(tp) = Tinyproxy::start() else { return };
    let http = HttpOrigin::start();
    let origin = TlsOrigin::start();
    within(async {
        let connections = tp.connections();
        let proxies = through(&tp.url()).no_proxy("example.invalid, 127.0.0.0/8, LOCALHOST");
        let client = client(proxies, &origin).build().unwrap();

        let res = client.get(http.url("/direct")).await.unwrap();
        assert_eq!(protocols(&res), ["tcp"]);
        assert_eq!(peer(&res), Some(http.addr));
        let text = res.text().await.unwrap();
        assert!(text.contains("via=-"), "{text}");

        let res = client.get(origin.url("/direct")).await.unwrap();
        assert_eq!(protocols(&res), ["tls", "tcp"]);
        assert_eq!(res.version(), Version::HTTP_2);
        let text = res.text().await.unwrap();
        assert!(text.starts_with("GET /direct "), "{text}");

        assert_eq!(tp.requests(), Vec::<String>::new(), "{}", tp.log());
        assert_eq!(tp.connections(), connections, "{}", tp.log());
    })
    .await;
}

/// Two `https` requests, one tunnel.
async fn one_tunnel_for_two_requests(http1_only: bool) {
    let Some(tp) = Tinyproxy::start() else { return };
    let origin = TlsOrigin::start();
    within(async {
        let mut builder = client(through(&tp.url()), &origin);
        if http1_only {
            builder = builder.http1_only();
        }
        let client = builder.build().unwrap();
        for path in ["/one", "/two", "/three"] {
            let res = client.get(origin.url(path)).await.unwrap();
            assert_eq!(protocols(&res), ["tls", "http-connect", "tcp"]);
            let text = res.text().await.unwrap();
            assert!(text.starts_with(&format!("GET {path} ")), "{text}");
        }
        assert_eq!(
            tp.connects(),
            [format!("CONNECT localhost:{} HTTP/1.1", origin.port)],
            "{}",
            tp.log()
        );
        let (idle, shared) = client.pool_size();
        assert_eq!((idle, shared), if http1_only { (1, 0) } else { (0, 1) });
    })
    .await;
}

#[tokio::test]
async fn a_tinyproxy_tunnel_is_reused_by_h2() {
    one_tunnel_for_two_requests(false).await;
}

#[tokio::test]
async fn a_tinyproxy_tunnel_is_reused_by_http1() {
    one_tunnel_for_two_requests(true).await;
}

// ---------------------------------------------------------------------
// Against a proxy written here.
// ---------------------------------------------------------------------

/// How the in-process proxy answers `CONNECT`.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// `200 Connection established`, then the bytes both ways.
    Tunnel,
    /// The same as an HTTP/1.0 proxy says it, with a field.
    Tunnel10,
    /// This status line and an empty body.
    Status(&'static str),
    /// Nothing: reads until the client hangs up.
    Silent,
    /// Closes the connection at once.
    Close,
}

/// A `CONNECT` proxy on 127.0.0.1 with tokio: each head it received, and
/// how many client connections ended.
struct ConnectProxy {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    ended: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConnectProxy {
    async fn start(answer: Answer) -> ConnectProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let ended = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let (heads, ended) = (heads.clone(), ended.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let (heads, ended) = (heads.clone(), ended.clone());
                    tokio::spawn(async move {
                        relay(client, answer, &heads).await;
                        ended.fetch_add(1, Ordering::SeqCst);
                    });
                }
            }
        });
        ConnectProxy {
            addr,
            heads,
            ended,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

async fn relay(mut client: TcpStream, answer: Answer, heads: &Mutex<Vec<String>>) {
    let mut buf = Vec::new();
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0; 4096];
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    heads.lock().unwrap().push(head.clone());
    match answer {
        Answer::Tunnel | Answer::Tunnel10 => {
            let target = head.split(' ').nth(1).unwrap_or_default().to_string();
            let Ok(mut upstream) = TcpStream::connect(target.as_str()).await else {
                let _ = client
                    .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                    .await;
                return;
            };
            let established: &[u8] = match answer {
                Answer::Tunnel10 => {
                    b"HTTP/1.0 200 Connection established\r\nProxy-agent: test/1.0\r\n\r\n"
                }
                _ => b"HTTP/1.1 200 Connection established\r\n\r\n",
            };
            if client.write_all(established).await.is_err() {
                return;
            }
            if upstream.write_all(&buf[end..]).await.is_err() {
                return;
            }
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
        Answer::Status(line) => {
            let answer = format!("HTTP/1.1 {line}\r\ncontent-length: 6\r\n\r\nno way");
            let _ = client.write_all(answer.as_bytes()).await;
            let _ = client.shutdown().await;
        }
        Answer::Silent => {
            let mut rest = [0; 1024];
            while let Ok(1..) = client.read(&mut rest).await {}
        }
        Answer::Close => {}
    }
}

/// `header: value` of a head, case-insensitively.
fn field<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn https_through_connect_proxy(http1_only: bool) {
    let fake = ConnectProxy::start(Answer::Tunnel).await;
    let origin = TlsOrigin::start();
    within(async {
        let mut builder = client(Proxies::none().https(proxy(&fake.url())), &origin);
        if http1_only {
            builder = builder.http1_only();
        }
        let client = builder.build().unwrap();
        for path in ["/a", "/b"] {
            let res = client.get(origin.url(path)).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(protocols(&res), ["tls", "http-connect", "tcp"]);
            assert_eq!(peer(&res), Some(fake.addr));
            let expected = if http1_only {
                Version::HTTP_11
            } else {
                Version::HTTP_2
            };
            assert_eq!(res.version(), expected);
            let text = res.text().await.unwrap();
            assert!(text.starts_with(&format!("GET {path} ")), "{text}");
        }
        let heads = fake.heads();
        assert_eq!(heads.len(), 1, "one tunnel for both requests: {heads:?}");
        let authority = format!("localhost:{}", origin.port);
        assert!(
            heads[0].starts_with(&format!("CONNECT {authority} HTTP/1.1\r\n")),
            "{heads:?}"
        );
        assert_eq!(field(&heads[0], "host"), Some(authority.as_str()));
        assert_eq!(field(&heads[0], "proxy-authorization"), None);
    })
    .await;
}

#[tokio::test]
async fn https_through_an_in_process_connect_proxy_with_h2() {
    https_through_connect_proxy(false).await;
}

#[tokio::test]
async fn https_through_an_in_process_connect_proxy_with_http1_only() {
    https_through_connect_proxy(true).await;
}

#[tokio::test]
async fn an_http10_answer_opens_the_tunnel_too() {
    let fake = ConnectProxy::start(Answer::Tunnel10).await;
    let origin = TlsOrigin::start();
    within(async {
        let client = client(through(&fake.url()), &origin).build().unwrap();
        let res = client.get(origin.url("/old")).await.unwrap();
        assert_eq!(protocols(&res), ["tls", "http-connect", "tcp"]);
        assert_eq!(res.version(), Version::HTTP_2);
        let text = res.text().await.unwrap();
        assert!(text.starts_with("GET /old HTTP/2.0 "), "{text}");
    })
    .await;
}

#[tokio::test]
async fn connect_carries_the_proxy_credentials() {
    let fake = ConnectProxy::start(Answer::Tunnel).await;
    let origin = TlsOrigin::start();
    within(async {
        let url = format!("http://ada:p%40ss@{}", fake.addr);
        let client = client(Proxies::none().https(proxy(&url)), &origin)
            .build()
            .unwrap();
        let res = client.get(origin.url("/")).await.unwrap();
        let text = res.text().await.unwrap();
        assert!(text.contains("proxy-auth=-"), "credentials leaked: {text}");
        let heads = fake.heads();
        // base64("ada:p@ss")
        assert_eq!(
            field(&heads[0], "proxy-authorization"),
            Some("Basic YWRhOnBAc3M="),
            "{heads:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_refused_connect_names_the_status() {
    let origin = TlsOrigin::start();
    for (line, hint) in [
        ("403 Forbidden", "403 Forbidden"),
        ("407 Proxy Authentication Required", "requires credentials"),
        ("502 Bad Gateway", "502 Bad Gateway"),
    ] {
        let fake = ConnectProxy::start(Answer::Status(line)).await;
        within(async {
            let client = client(through(&fake.url()), &origin).build().unwrap();
            let err = failure(client.get(origin.url("/")).await).await;
            assert!(err.is_connect() && !err.is_tls(), "{err}");
            let shown = format!("{err:#}");
            assert!(shown.contains(hint), "{line}: {shown}");
            assert!(
                shown.contains(&format!("CONNECT localhost:{}", origin.port)),
                "{shown}"
            );
            let report = err.report().expect("a connect error has a report");
            assert!(
                report.to_string().contains("http-connect"),
                "the report names the tunnel: {report}"
            );
            assert_eq!(client.pool_size(), (0, 0));
        })
        .await;
    }
}

#[tokio::test]
async fn connect_names_an_ipv6_origin_in_brackets() {
    let fake = ConnectProxy::start(Answer::Status("403 Forbidden")).await;
    let origin = TlsOrigin::start();
    within(async {
        let client = client(through(&fake.url()), &origin).build().unwrap();
        let err = failure(client.get("https://[::1]:8443/").await).await;
        assert!(format!("{err:#}").contains("CONNECT [::1]:8443"), "{err}");
        let heads = fake.heads();
        assert!(
            heads[0].starts_with("CONNECT [::1]:8443 HTTP/1.1\r\n"),
            "{heads:?}"
        );
        assert_eq!(field(&heads[0], "host"), Some("[::1]:8443"));
        // The default port of `https`.
        let err = failure(client.get("https://origin.invalid/").await).await;
        assert!(
            format!("{err:#}").contains("CONNECT origin.invalid:443"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_proxy_that_hangs_up_is_a_connect_error() {
    let fake = ConnectProxy::start(Answer::Close).await;
    let origin = TlsOrigin::start();
    within(async {
        let client = client(through(&fake.url()), &origin).build().unwrap();
        let err = failure(client.get(origin.url("/")).await).await;
        assert!(err.is_connect(), "{err}");
        let shown = format!("{err:#}");
        assert!(shown.contains("no answer from the proxy"), "{shown}");
    })
    .await;
}

#[tokio::test]
async fn a_silent_proxy_times_out_and_is_hung_up_on() {
    let fake = ConnectProxy::start(Answer::Silent).await;
    let origin = TlsOrigin::start();
    within(async {
        let client = client(through(&fake.url()), &origin)
            .connect_timeout(Some(Duration::from_millis(300)))
            .build()
            .unwrap();
        let err = failure(client.get(origin.url("/")).await).await;
        assert!(err.is_connect_timeout(), "{err}");
        // The abandoned attempt does not keep the connection to the proxy.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while fake.ended.load(Ordering::SeqCst) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the connection to the proxy was left open"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(fake.heads().len(), 1);
    })
    .await;
}

/// A forward proxy that answers itself: it shows the request as received.
#[tokio::test]
async fn http_requests_use_absolute_form_and_proxy_credentials() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = {
        let seen = seen.clone();
        paf::service_fn(move |req: Request<Body>| {
            let seen = seen.clone();
            async move {
                let auth = req
                    .headers()
                    .get("proxy-authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_string();
                let host = req
                    .headers()
                    .get("host")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_string();
                seen.lock().unwrap().push(format!(
                    "{} {} host={host} auth={auth}",
                    req.method(),
                    req.uri()
                ));
                Ok::<_, Infallible>(Response::new(Body::full("from the proxy")))
            }
        })
    };
    let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = tcp.local_socket_addr();
    let _server = Server::builder()
        .listener(tcp)
        .serve(paf::server::Http1::new().handler(service));
    within(async {
        let url = format!("http://user:secret@{addr}");
        let client = Client::builder()
            .proxies(Proxies::none().http(proxy(&url)))
            .build()
            .unwrap();
        // The name does not resolve: only the proxy needs to reach it.
        let res = client
            .get("http://origin.invalid:8080/a/b?c=d")
            .await
            .unwrap();
        assert_eq!(protocols(&res), ["tcp"]);
        assert_eq!(peer(&res), Some(addr));
        assert_eq!(res.text().await.unwrap(), "from the proxy");
        let res = client.get("http://origin.invalid/").await.unwrap();
        res.drain().await.unwrap();
        // base64("user:secret")
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "GET http://origin.invalid:8080/a/b?c=d host=origin.invalid:8080 \
                 auth=Basic dXNlcjpzZWNyZXQ=",
                "GET http://origin.invalid/ host=origin.invalid auth=Basic dXNlcjpzZWNyZXQ=",
            ]
        );
        // One connection to the proxy served both.
        assert_eq!(client.pool_size(), (1, 0));

        // `https` is not sent to an `http`-only proxy.
        let err = failure(client.get("https://origin.invalid/").await).await;
        assert!(err.is_connect(), "{err}");
        assert_eq!(seen.lock().unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_proxy_that_is_down_is_named_in_the_error() {
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let origin = TlsOrigin::start();
    within(async {
        let client = client(through(&format!("http://{down}")), &origin)
            .build()
            .unwrap();
        for uri in [origin.url("/"), "http://origin.invalid/".to_string()] {
            let err = failure(client.get(&uri).await).await;
            assert!(err.is_connect() && !err.is_tls(), "{uri}: {err}");
            let shown = format!("{err:#}");
            assert!(shown.contains(&down.to_string()), "{uri}: {shown}");
            let report = err.report().expect("a connect error has a report");
            assert!(
                report.to_string().contains(&down.to_string()),
                "{uri}: {report}"
            );
        }
    })
    .await;
}
