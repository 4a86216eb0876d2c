//! The HTTP/1.1 server against a real client: curl.
//!
//! Every test skips loudly when curl is not installed (and fails when
//! `PAF_REQUIRE_PEERS=1`).
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Method, Request, Response, StatusCode, Version};
use paf::Body;
use paf::server::{Connected, Http1, Serve};
use support::server::TestServer;
use support::tls::{SelfSigned, resolve};
use support::{TempDir, peer_tool};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How long one curl run may take before the test fails.
const CURL_TIMEOUT: Duration = Duration::from_secs(30);
/// What "promptly" means: under curl's own 1 s wait for `100 Continue`.
const PROMPTLY: Duration = Duration::from_millis(900);

/// `curl --http1.1 -sS`, killed if the test gives up on it.
fn curl(tool: &Path) -> Command {
    let mut cmd = Command::new(tool);
    cmd.args(["--http1.1", "-sS"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs curl to completion, failing the test after `limit`.
async fn run(cmd: &mut Command, limit: Duration) -> Output {
    tokio::time::timeout(limit, cmd.output())
        .await
        .expect("curl did not finish in time")
        .expect("curl could not be started")
}

/// Asserts curl succeeded; returns its stdout.
fn success(out: &Output) -> String {
    assert!(
        out.status.success(),
        "curl failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Splits `curl -i` output into the response head and body.
fn split_response(text: &str) -> (&str, &str) {
    text.split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {text:?}"))
}

/// The value of the field `name` in a response head, if present.
fn field<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

/// Writes `size` bytes of a repeatable pseudo-random pattern to `path`.
fn write_pattern(path: &Path, size: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let data: Vec<u8> = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(path, &data).unwrap();
    data
}

/// Streams the request body back as the response body.
async fn echo(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(req.into_body()))
}

/// Counts the request body's bytes frame by frame, keeping none of them.
async fn count_body(mut body: Body) -> Result<u64, paf::Error> {
    let mut total = 0;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            total += data.len() as u64;
        }
    }
    Ok(total)
}

/// Replies with the number of request body bytes.
async fn count(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(match count_body(req.into_body()).await {
        Ok(n) => Response::new(Body::full(n.to_string())),
        Err(err) => paf::respond::error(StatusCode::BAD_REQUEST, err.to_string()),
    })
}

#[tokio::test]
async fn get_has_status_body_length_and_date() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let server = TestServer::hello();
    let out = run(curl(&tool).arg("-i").arg(server.url("/")), CURL_TIMEOUT).await;
    let text = success(&out);
    let (head, body) = split_response(&text);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(body, "Hello, world!");
    assert_eq!(field(head, "content-length"), Some("13"), "{head}");
    assert_eq!(field(head, "transfer-encoding"), None, "{head}");
    let date = field(head, "date").unwrap_or_else(|| panic!("no date in {head}"));
    let date = httpdate::parse_http_date(date).unwrap();
    let skew = date
        .duration_since(SystemTime::now())
        .unwrap_or_else(|err| err.duration());
    assert!(
        skew < Duration::from_secs(5),
        "date {date:?} is off by {skew:?}"
    );
}

#[tokio::test]
async fn head_reports_the_length_and_sends_no_body() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let methods = Arc::new(Mutex::new(Vec::new()));
    let seen = methods.clone();
    let server = TestServer::start(
        Http1::new(),
        paf::service_fn(move |req: Request<Body>| {
            seen.lock().unwrap().push(req.method().clone());
            async { Ok::<_, Infallible>(Response::new(Body::full(vec![b'x'; 5000]))) }
        }),
    );
    // Two HEADs on one connection: body bytes after the first response
    // would be read as the second response's head, and curl would fail.
    let out = run(
        curl(&tool)
            .arg("-I")
            .args([server.url("/a"), server.url("/b")])
            .args(["-w", "[%{http_code} %{num_connects} %{size_download}]\n"]),
        CURL_TIMEOUT,
    )
    .await;
    let text = success(&out);
    let parts: Vec<&str> = text.split("\r\n\r\n").collect();
    assert_eq!(parts.len(), 3, "{text:?}");
    let (first, second) = (parts[0], parts[1]);
    assert!(first.starts_with("HTTP/1.1 200 OK"), "{first}");
    assert_eq!(field(first, "content-length"), Some("5000"), "{first}");
    assert!(second.starts_with("[200 1 0]\nHTTP/1.1 200 OK"), "{text:?}");
    assert_eq!(field(second, "content-length"), Some("5000"), "{second}");
    assert_eq!(
        parts[2], "[200 0 0]\n",
        "the second HEAD reused the connection"
    );
    assert_eq!(*methods.lock().unwrap(), [Method::HEAD, Method::HEAD]);
}

#[tokio::test]
async fn head_of_a_body_of_unknown_length_claims_no_length() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    // The GET response would be chunked: its length is not known, so the
    // HEAD response must not state one (RFC 9110 §8.6: a content-length in
    // a HEAD response is the length the GET response would have).
    let server = TestServer::start(
        Http1::new(),
        paf::service_fn(|_req: Request<Body>| async {
            let pieces = ["streamed ", "body"].map(Ok::<_, Infallible>);
            let body = Body::from_stream(futures_util::stream::iter(pieces));
            Ok::<_, Infallible>(Response::new(body))
        }),
    );
    let get = success(&run(curl(&tool).arg("-i").arg(server.url("/")), CURL_TIMEOUT).await);
    let (get_head, get_body) = split_response(&get);
    assert_eq!(get_body, "streamed body");
    assert_eq!(
        field(get_head, "transfer-encoding"),
        Some("chunked"),
        "{get_head}"
    );

    let head = success(&run(curl(&tool).arg("-I").arg(server.url("/")), CURL_TIMEOUT).await);
    let (head, rest) = split_response(&head);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(rest, "");
    assert_eq!(
        field(head, "content-length"),
        None,
        "a HEAD response states a length the GET response does not have:\n{head}"
    );
}

#[tokio::test]
async fn a_one_mebibyte_post_is_echoed_intact() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let dir = TempDir::new("curl-echo");
    let input = dir.path().join("input");
    let output = dir.path().join("output");
    let data = write_pattern(&input, 1024 * 1024);
    let server = TestServer::start(Http1::new(), paf::service_fn(echo));
    let out = run(
        curl(&tool)
            .arg("--data-binary")
            .arg(format!("@{}", input.display()))
            .args(["-H", "content-type: application/octet-stream"])
            .arg("-o")
            .arg(&output)
            .args(["-w", "%{http_code} %{size_upload} %{size_download}"])
            .arg(server.url("/echo")),
        CURL_TIMEOUT,
    )
    .await;
    assert_eq!(success(&out), "200 1048576 1048576");
    let echoed = std::fs::read(&output).unwrap();
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data, "the echoed bytes differ from the sent ones");
}

#[tokio::test]
async fn an_expect_continue_post_is_echoed_intact() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    // The echo handler answers before it reads the body, so its final
    // response takes the place of `100 Continue`: curl sends the body after
    // its own wait for `100 Continue` (1 s), and the echo must still be
    // exact, on a connection the server then closes.
    let dir = TempDir::new("curl-echo-expect");
    let input = dir.path().join("input");
    let output = dir.path().join("output");
    let data = write_pattern(&input, 256 * 1024);
    let server = TestServer::start(Http1::new(), paf::service_fn(echo));
    let out = run(
        curl(&tool)
            .arg("--data-binary")
            .arg(format!("@{}", input.display()))
            .args(["-H", "Expect: 100-continue", "-i"])
            .arg("-o")
            .arg(&output)
            .args(["-w", "%{http_code} %{size_upload}"])
            .arg(server.url("/echo")),
        CURL_TIMEOUT,
    )
    .await;
    assert_eq!(success(&out), "200 262144");
    let echoed = std::fs::read(&output).unwrap();
    let (head, body) = echoed
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| (&echoed[..at], &echoed[at + 4..]))
        .unwrap();
    let head = String::from_utf8_lossy(head);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(field(&head, "content-length"), Some("262144"), "{head}");
    assert_eq!(field(&head, "connection"), Some("close"), "{head}");
    assert!(
        body == data,
        "the echoed bytes differ from the sent ones; the first ones: {:?}",
        String::from_utf8_lossy(&body[..body.len().min(64)])
    );
}

#[tokio::test]
async fn a_chunked_upload_from_stdin_is_counted_without_delay() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    const SIZE: usize = 2 * 1024 * 1024;
    let framing = Arc::new(Mutex::new(Vec::new()));
    let seen = framing.clone();
    let server = TestServer::start(
        Http1::new(),
        paf::service_fn(move |req: Request<Body>| {
            let headers = req.headers();
            let text = |name| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
            seen.lock()
                .unwrap()
                .push((text(TRANSFER_ENCODING), text(CONTENT_LENGTH)));
            count(req)
        }),
    );
    let started = Instant::now();
    let mut child = curl(&tool)
        .args(["-v", "-T", "-"])
        .args(["-w", "\n%{http_code}"])
        .arg(server.url("/upload"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = tokio::spawn(async move {
        let piece = vec![b'u'; 64 * 1024];
        for _ in 0..SIZE / piece.len() {
            stdin.write_all(&piece).await.unwrap();
        }
        // Dropping stdin ends the upload.
    });
    let out = tokio::time::timeout(CURL_TIMEOUT, child.wait_with_output())
        .await
        .expect("curl did not finish in time")
        .unwrap();
    let elapsed = started.elapsed();
    feeder.await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(success(&out), format!("{SIZE}\n200"), "{stderr}");
    assert!(
        stderr.contains("> Transfer-Encoding: chunked"),
        "curl did not send a chunked body: {stderr}"
    );
    assert!(
        stderr.contains("> Expect: 100-continue") && stderr.contains("< HTTP/1.1 100 Continue"),
        "no 100 Continue exchange: {stderr}"
    );
    assert_eq!(
        *framing.lock().unwrap(),
        [(Some("chunked".to_owned()), None)],
        "the handler saw other framing fields"
    );
    // curl waits up to 1 s for `100 Continue` when it sent an expectation.
    assert!(
        elapsed < PROMPTLY,
        "the upload took {elapsed:?}; curl's log: {stderr}"
    );
}

#[tokio::test]
async fn a_hundred_megabyte_upload_is_streamed_through() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    const MIB: usize = 1024 * 1024;
    let dir = TempDir::new("curl-large");
    let input = dir.path().join("zeros");
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        let zeros = vec![0; MIB];
        for _ in 0..100 {
            file.write_all(&zeros).unwrap();
        }
        file.flush().unwrap();
    }
    let server = TestServer::start(Http1::new(), paf::service_fn(count));
    let out = run(
        curl(&tool)
            .arg("-T")
            .arg(&input)
            .args(["-w", "\n%{http_code}"])
            .arg(server.url("/large")),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(success(&out), "104857600\n200");
}

#[tokio::test]
async fn two_requests_share_one_kept_alive_connection() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let peers = Arc::new(Mutex::new(Vec::new()));
    let seen = peers.clone();
    let server = TestServer::start(
        Http1::new(),
        paf::service_fn(move |req: Request<Body>| {
            let peer = req
                .extensions()
                .get::<Connected>()
                .and_then(Connected::peer_addr)
                .map(ToString::to_string);
            seen.lock().unwrap().push(peer);
            let path = req.uri().path().to_owned();
            async move { Ok::<_, Infallible>(Response::new(Body::full(path))) }
        }),
    );
    let out = run(
        curl(&tool)
            .arg("-v")
            .args([server.url("/one"), server.url("/two")])
            .args(["-w", " %{num_connects}\n"]),
        CURL_TIMEOUT,
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(success(&out), "/one 1\n/two 0\n", "{stderr}");
    assert!(
        stderr.contains("Re-using existing connection"),
        "curl opened a new connection: {stderr}"
    );
    let peers = peers.lock().unwrap();
    assert_eq!(peers.len(), 2);
    assert!(peers[0].is_some(), "no peer address");
    assert_eq!(peers[0], peers[1], "the requests came from different peers");
}

#[tokio::test]
async fn an_http10_client_gets_a_complete_close_delimited_stream() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let versions = Arc::new(Mutex::new(Vec::new()));
    let seen = versions.clone();
    let server = TestServer::start(
        Http1::new(),
        paf::service_fn(move |req: Request<Body>| {
            seen.lock().unwrap().push(req.version());
            // A body of unknown length, produced piece by piece.
            let (mut tx, body) = Body::channel();
            tokio::spawn(async move {
                for piece in ["alpha ", "beta ", "gamma ", "delta"] {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    tx.send_data(piece).await.unwrap();
                }
            });
            async { Ok::<_, Infallible>(Response::new(body)) }
        }),
    );
    let mut cmd = Command::new(&tool);
    cmd.args(["--http1.0", "-sS", "-i", "-v"])
        .arg(server.url("/stream"))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = run(&mut cmd, CURL_TIMEOUT).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let text = success(&out);
    assert!(stderr.contains("> GET /stream HTTP/1.0"), "{stderr}");
    let (head, body) = split_response(&text);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(field(head, "transfer-encoding"), None, "{head}");
    assert_eq!(field(head, "content-length"), None, "{head}");
    assert_eq!(body, "alpha beta gamma delta");
    assert_eq!(*versions.lock().unwrap(), [Version::HTTP_10]);

    // A body of unknown length from a stream, the same way.
    let server = TestServer::start(
        Http1::new(),
        paf::service_fn(|_req: Request<Body>| async {
            let pieces = (0..100).map(|i| Ok::<_, Infallible>(format!("{i:03}\n")));
            let body = Body::from_stream(futures_util::stream::iter(pieces));
            Ok::<_, Infallible>(Response::new(body))
        }),
    );
    let mut cmd = Command::new(&tool);
    cmd.args(["--http1.0", "-sS", "-i"])
        .arg(server.url("/"))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let text = success(&run(&mut cmd, CURL_TIMEOUT).await);
    let (head, body) = split_response(&text);
    assert_eq!(field(head, "transfer-encoding"), None, "{head}");
    let expected: String = (0..100).map(|i| format!("{i:03}\n")).collect();
    assert_eq!(body, expected);
}

#[tokio::test]
async fn an_http10_client_asking_for_keep_alive_gets_it() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let server = TestServer::hello();
    let mut cmd = Command::new(&tool);
    cmd.args(["--http1.0", "-sS", "-i", "-H", "Connection: keep-alive"])
        .args([server.url("/a"), server.url("/b")])
        .args(["-w", "[%{num_connects}]"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let text = success(&run(&mut cmd, CURL_TIMEOUT).await);
    let (first, rest) = text.split_once("[1]").unwrap_or_else(|| panic!("{text:?}"));
    let (head, body) = split_response(first);
    assert_eq!(body, "Hello, world!");
    assert_eq!(field(head, "connection"), Some("keep-alive"), "{head}");
    assert_eq!(field(head, "content-length"), Some("13"), "{head}");
    let (head, body) = split_response(rest);
    assert_eq!(
        body, "Hello, world![0]",
        "the second request reused the connection"
    );
    assert_eq!(field(head, "connection"), Some("keep-alive"), "{head}");
}

#[tokio::test]
async fn a_refused_upload_is_answered_before_its_body_is_sent() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let dir = TempDir::new("curl-expect");
    let input = dir.path().join("input");
    write_pattern(&input, 4 * 1024 * 1024);
    let server = TestServer::start(
        Http1::new(),
        paf::service_fn(|_req: Request<Body>| async {
            let res = Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header("www-authenticate", "Basic realm=\"test\"")
                .body(Body::full("who are you?"))
                .unwrap();
            Ok::<_, Infallible>(res)
        }),
    );
    for flag in ["-T", "--data-binary"] {
        let file = if flag == "-T" {
            input.display().to_string()
        } else {
            format!("@{}", input.display())
        };
        let started = Instant::now();
        let out = run(
            curl(&tool)
                .args([flag, &file])
                .args(["-H", "Expect: 100-continue", "-v"])
                .args(["-w", "\n%{http_code} %{size_upload}"])
                .arg(server.url("/private")),
            CURL_TIMEOUT,
        )
        .await;
        let elapsed = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(success(&out), "who are you?\n401 0", "{flag}: {stderr}");
        assert!(elapsed < PROMPTLY, "{flag}: took {elapsed:?}: {stderr}");
    }
}

#[tokio::test]
async fn the_handler_sees_the_connection_addresses() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let server = TestServer::start(
        Http1::new(),
        paf::service_fn(|req: Request<Body>| async move {
            let connected = req.extensions().get::<Connected>().cloned();
            let text = match connected {
                Some(c) => format!(
                    "{} {}",
                    c.peer_addr().map(ToString::to_string).unwrap_or_default(),
                    c.local_addr().map(ToString::to_string).unwrap_or_default()
                ),
                None => "no Connected extension".to_owned(),
            };
            Ok::<_, Infallible>(Response::new(Body::full(text)))
        }),
    );
    let out = run(
        curl(&tool)
            .args(["-w", "\n%{local_ip}:%{local_port}"])
            .arg(server.url("/")),
        CURL_TIMEOUT,
    )
    .await;
    let text = success(&out);
    let (body, curl_end) = text.split_once('\n').unwrap();
    assert!(curl_end.starts_with("127.0.0.1:"), "{curl_end}");
    assert_eq!(body, format!("{curl_end} {}", server.addr));
}

/// Answers with what `Connected` tells of the TLS session.
async fn tls_details(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let connected = req.extensions().get::<Connected>();
    let tls = connected.and_then(Connected::tls);
    let text = match tls {
        Some(tls) => format!(
            "{} {} {}",
            tls.version.as_deref().unwrap_or("-"),
            tls.alpn
                .as_deref()
                .map_or("-".into(), String::from_utf8_lossy),
            tls.server_name.as_deref().unwrap_or("-"),
        ),
        None => "no tls".to_owned(),
    };
    Ok(paf::respond::text(text))
}

#[tokio::test]
async fn tls_details_reach_the_handler_over_https() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let cert = SelfSigned::localhost();
    let (listener, port) = cert.listener(["http/1.1"]);
    let server = conduit::serve::Server::builder()
        .listener(listener)
        .serve(Http1::new().handler(paf::service_fn(tls_details)));

    let out = run(
        curl(&tool)
            .args(["--resolve", &resolve(port), "--cacert"])
            .arg(cert.cert_path())
            .arg(format!("https://localhost:{port}/")),
        CURL_TIMEOUT,
    )
    .await;
    let body = success(&out);
    let parts: Vec<&str> = body.split(' ').collect();
    assert!(parts[0].starts_with("TLSv1_"), "{body}");
    assert_eq!(parts[1..], ["http/1.1", "localhost"], "{body}");
    server.shutdown(Duration::from_secs(1)).await;
}
