//! The client against a scripted server: the exact bytes on the wire.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use paf::Body;
use paf::client::conn::{Builder, SendRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;

/// Fails a test that hangs instead of hanging the suite.
async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("test timed out")
}

/// The server's end of the pipe, read as text.
struct Peer {
    io: DuplexStream,
    buf: Vec<u8>,
}

impl Peer {
    /// Reads until `end` and returns everything up to and including it.
    async fn read_until(&mut self, end: &str) -> String {
        loop {
            if let Some(at) = self
                .buf
                .windows(end.len())
                .position(|w| w == end.as_bytes())
            {
                let rest = self.buf.split_off(at + end.len());
                let text = std::mem::replace(&mut self.buf, rest);
                return String::from_utf8(text).unwrap();
            }
            let mut chunk = [0; 8192];
            let n = self.io.read(&mut chunk).await.unwrap();
            let so_far = String::from_utf8_lossy(&self.buf);
            assert!(n > 0, "the client closed; received so far: {so_far:?}");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn head(&mut self) -> String {
        self.read_until("\r\n\r\n").await
    }

    /// One read: what the client wrote in one go.
    async fn read_once(&mut self) -> String {
        assert!(self.buf.is_empty());
        let mut chunk = vec![0; 64 * 1024];
        let n = self.io.read(&mut chunk).await.unwrap();
        String::from_utf8(chunk[..n].to_vec()).unwrap()
    }

    async fn send(&mut self, text: &str) {
        self.io.write_all(text.as_bytes()).await.unwrap();
    }

    /// Reads one request head, answers with `reply`, returns the head.
    async fn answer(&mut self, reply: &str) -> String {
        let head = self.head().await;
        self.send(reply).await;
        head
    }

    /// Waits until the client closes its end.
    async fn expect_eof(&mut self) {
        let mut chunk = [0; 1024];
        loop {
            match self.io.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

fn connect(builder: Builder) -> (SendRequest, JoinHandle<Result<(), paf::Error>>, Peer) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let (sender, connection) = builder.handshake(client);
    let peer = Peer {
        io: server,
        buf: Vec::new(),
    };
    (sender, tokio::spawn(connection), peer)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

const OK_HELLO: &str = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";

#[tokio::test]
async fn host_is_added_and_the_target_is_origin_form() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let mut req = get("http://a.example:8080/a/b?c=d");
        req.headers_mut()
            .insert("accept", HeaderValue::from_static("*/*"));
        let (res, head) = tokio::join!(sender.send(req), peer.answer(OK_HELLO));
        assert_eq!(
            head,
            "GET /a/b?c=d HTTP/1.1\r\nhost: a.example:8080\r\naccept: */*\r\n\r\n"
        );
        let res = res.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.into_body().text().await.unwrap(), "hello");
    })
    .await;
}

#[tokio::test]
async fn targets_and_hosts_in_every_form() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let mut own_host = get("http://a.example/x");
        own_host
            .headers_mut()
            .insert("host", HeaderValue::from_static("b.example"));
        let cases = [
            (
                get("http://user:pw@a.example"),
                "GET / HTTP/1.1\r\nhost: a.example\r\n\r\n",
            ),
            (
                get("http://a.example?q=1"),
                "GET /?q=1 HTTP/1.1\r\nhost: a.example\r\n\r\n",
            ),
            (
                get("/no-authority"),
                "GET /no-authority HTTP/1.1\r\nhost: \r\n\r\n",
            ),
            (own_host, "GET /x HTTP/1.1\r\nhost: b.example\r\n\r\n"),
        ];
        for (req, expected) in cases {
            let (res, head) = tokio::join!(sender.send(req), peer.answer(OK_HELLO));
            assert_eq!(head, expected);
            res.unwrap().into_body().drain().await.unwrap();
        }

        let (mut proxy, _conn, mut peer) = connect(Builder::new().absolute_form(true));
        let (res, head) = tokio::join!(
            proxy.send(get("http://a.example:81/p?q")),
            peer.answer(OK_HELLO)
        );
        assert_eq!(
            head,
            "GET http://a.example:81/p?q HTTP/1.1\r\nhost: a.example:81\r\n\r\n"
        );
        res.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_small_body_leaves_with_its_head_in_one_write() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let req = Request::post("http://a.example/upload")
            .body(Body::full("hello"))
            .unwrap();
        let (res, wire) = tokio::join!(sender.send(req), async {
            let wire = peer.read_once().await;
            peer.send(OK_HELLO).await;
            wire
        });
        assert_eq!(
            wire,
            "POST /upload HTTP/1.1\r\nhost: a.example\r\ncontent-length: 5\r\n\r\nhello"
        );
        res.unwrap();
    })
    .await;
}

#[tokio::test]
async fn empty_bodies_get_a_length_only_where_a_body_is_expected() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let cases = [
            (Method::GET, ""),
            (Method::HEAD, ""),
            (Method::DELETE, ""),
            (Method::OPTIONS, ""),
            (Method::POST, "content-length: 0\r\n"),
            (Method::PUT, "content-length: 0\r\n"),
            (Method::PATCH, "content-length: 0\r\n"),
        ];
        for (method, framing) in cases {
            let req = Request::builder()
                .method(method.clone())
                .uri("http://a.example/")
                .body(Body::empty())
                .unwrap();
            let (res, head) = tokio::join!(
                sender.send(req),
                peer.answer("HTTP/1.1 204 No Content\r\n\r\n")
            );
            assert_eq!(
                head,
                format!("{method} / HTTP/1.1\r\nhost: a.example\r\n{framing}\r\n")
            );
            assert_eq!(res.unwrap().status(), StatusCode::NO_CONTENT);
        }
    })
    .await;
}

#[tokio::test]
async fn a_streamed_body_goes_chunked_with_its_trailers() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let (mut tx, body) = Body::channel();
        let producer = tokio::spawn(async move {
            tx.send_data("hello").await?;
            tx.send_data(" world").await?;
            let mut trailers = HeaderMap::new();
            trailers.insert("x-checksum", HeaderValue::from_static("42"));
            tx.send_trailers(trailers).await
        });
        let req = Request::put("http://a.example/file").body(body).unwrap();
        let (res, wire) = tokio::join!(sender.send(req), async {
            let wire = peer.read_until("\r\n0\r\nx-checksum: 42\r\n\r\n").await;
            peer.send(OK_HELLO).await;
            wire
        });
        assert_eq!(
            wire,
            "PUT /file HTTP/1.1\r\nhost: a.example\r\ntransfer-encoding: chunked\r\n\r\n\
             5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: 42\r\n\r\n"
        );
        res.unwrap();
        producer.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_content_length_set_by_the_caller_is_kept_and_enforced() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let (mut tx, body) = Body::channel();
        tokio::spawn(async move { tx.send_data("hello").await });
        let req = Request::post("http://a.example/")
            .header("content-length", "5")
            .body(body)
            .unwrap();
        let (res, wire) = tokio::join!(sender.send(req), async {
            let wire = peer.read_until("hello").await;
            peer.send(OK_HELLO).await;
            wire
        });
        assert_eq!(
            wire,
            "POST / HTTP/1.1\r\nhost: a.example\r\ncontent-length: 5\r\n\r\nhello"
        );
        res.unwrap().into_body().drain().await.unwrap();

        // A body longer than announced: the request fails, the connection closes.
        let req = Request::post("http://a.example/")
            .header("content-length", "3")
            .body(Body::full("hello"))
            .unwrap();
        let err = sender.send(req).await.unwrap_err();
        assert!(err.is_user(), "{err:?}");
        assert!(format!("{err:#}").contains("content-length"), "{err}");
        assert!(sender.is_closed());
        peer.expect_eof().await;
    })
    .await;
}

#[tokio::test]
async fn head_responses_and_bodiless_statuses_have_no_body() {
    within(async {
        let (mut sender, conn, mut peer) = connect(Builder::new());
        let req = Request::head("http://a.example/big")
            .body(Body::empty())
            .unwrap();
        let (res, _) = tokio::join!(
            sender.send(req),
            peer.answer("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
        );
        let res = res.unwrap();
        assert_eq!(res.headers()["content-length"], "100");
        assert!(res.into_body().bytes().await.unwrap().is_empty());

        let responses = [
            "HTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\netag: \"x\"\r\n\r\n",
            OK_HELLO,
        ];
        for response in responses {
            let (res, _) =
                tokio::join!(sender.send(get("http://a.example/")), peer.answer(response));
            let body = res.unwrap().into_body().text().await.unwrap();
            let expected = if response == OK_HELLO { "hello" } else { "" };
            assert_eq!(body, expected);
        }
        // All on one connection, still open.
        assert!(sender.is_ready());
        drop(sender);
        conn.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test]
async fn interim_responses_are_skipped() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let req = Request::post("http://a.example/")
            .header("expect", "100-continue")
            .body(Body::full("data"))
            .unwrap();
        let (res, _) = tokio::join!(sender.send(req), async {
            peer.read_until("data").await;
            peer.send(
                "HTTP/1.1 100 Continue\r\n\r\n\
                 HTTP/1.1 103 Early Hints\r\nlink: </style.css>\r\n\r\n\
                 HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
            )
            .await;
        });
        let res = res.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        assert!(!res.headers().contains_key("link"));
        assert_eq!(res.into_body().text().await.unwrap(), "ok");
        assert!(sender.is_ready());
    })
    .await;
}

#[tokio::test]
async fn interim_responses_are_limited_per_request() {
    within(async {
        let interim = |n: usize| "HTTP/1.1 100 Continue\r\n\r\n".repeat(n) + OK_HELLO;
        // 32 per request, the default: each request counts its own.
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let (most, too_many) = (interim(32), interim(33));
        for _ in 0..2 {
            let (res, _) = tokio::join!(sender.send(get("http://a.example/")), peer.answer(&most));
            assert_eq!(res.unwrap().into_body().text().await.unwrap(), "hello");
        }
        // One more fails the request and closes the connection.
        let (res, _) = tokio::join!(
            sender.send(get("http://a.example/")),
            peer.answer(&too_many)
        );
        let err = res.unwrap_err();
        assert!(err.is_parse(), "{err:#}");
        assert_eq!(
            format!("{err:#}"),
            "invalid message head: more than 32 interim (1xx) responses to one request"
        );
        assert!(sender.is_closed());
        peer.expect_eof().await;

        let (mut sender, conn, mut peer) = connect(Builder::new().max_interim_responses(2));
        let three = interim(3);
        let (res, _) = tokio::join!(sender.send(get("http://a.example/")), peer.answer(&three));
        assert!(res.unwrap_err().is_parse());
        assert!(conn.await.unwrap().unwrap_err().is_parse());
    })
    .await;
}

#[tokio::test]
async fn a_close_delimited_body_ends_with_the_connection() {
    within(async {
        let (mut sender, conn, mut peer) = connect(Builder::new());
        let (res, _) = tokio::join!(
            sender.send(get("http://a.example/")),
            peer.answer("HTTP/1.1 200 OK\r\n\r\nuntil ")
        );
        let res = res.unwrap();
        assert!(
            sender.is_closed(),
            "a close-delimited body ends the connection"
        );
        peer.send("the end").await;
        drop(peer);
        assert_eq!(res.into_body().text().await.unwrap(), "until the end");
        conn.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_chunked_response_brings_its_trailers() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let (res, _) = tokio::join!(
            sender.send(get("http://a.example/")),
            peer.answer(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n\
                 5\r\nhello\r\n"
            )
        );
        let res = res.unwrap();
        assert_eq!(res.headers()["transfer-encoding"], "chunked");
        let (collected, _) = tokio::join!(res.into_body().collect(), async {
            peer.send("6\r\n world\r\n0\r\nx-sum: 7\r\n\r\n").await;
        });
        let collected = collected.unwrap();
        assert_eq!(collected.to_bytes(), "hello world");
        assert_eq!(collected.trailers().unwrap()["x-sum"], "7");
        assert!(sender.is_ready());
    })
    .await;
}

#[tokio::test]
async fn connection_close_ends_the_connection_after_the_response() {
    within(async {
        let (mut sender, conn, mut peer) = connect(Builder::new());
        let (res, _) = tokio::join!(
            sender.send(get("http://a.example/")),
            peer.answer("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 5\r\n\r\nhello")
        );
        let res = res.unwrap();
        assert!(sender.is_closed());
        assert!(!sender.is_ready());
        assert_eq!(res.into_body().text().await.unwrap(), "hello");
        conn.await.unwrap().unwrap();
        peer.expect_eof().await;

        let err = sender.send(get("http://a.example/")).await.unwrap_err();
        assert!(err.is_closed(), "{err:?}");
        assert!(sender.ready().await.is_err());
    })
    .await;
}

#[tokio::test]
async fn a_request_saying_close_is_the_last_one() {
    within(async {
        let (mut sender, conn, mut peer) = connect(Builder::new());
        let mut req = get("http://a.example/");
        req.headers_mut()
            .insert("connection", HeaderValue::from_static("close"));
        let (res, head) = tokio::join!(sender.send(req), peer.answer(OK_HELLO));
        assert_eq!(
            head,
            "GET / HTTP/1.1\r\nhost: a.example\r\nconnection: close\r\n\r\n"
        );
        assert!(sender.is_closed());
        assert_eq!(res.unwrap().into_body().text().await.unwrap(), "hello");
        conn.await.unwrap().unwrap();
        peer.expect_eof().await;
    })
    .await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    within(async {
        let (sender, _conn, mut peer) = connect(Builder::new().pipeline(true));
        let (mut a, mut b, mut c) = (sender.clone(), sender.clone(), sender);
        let post = Request::post("http://a.example/2")
            .body(Body::full("two"))
            .unwrap();
        let (ra, rb, rc, wire) = tokio::join!(
            a.send(get("http://a.example/1")),
            b.send(post),
            c.send(get("http://a.example/3")),
            async {
                // All three arrive before anything is answered.
                let mut wire = peer.head().await;
                wire += &peer.read_until("two").await;
                wire += &peer.head().await;
                peer.send(
                    "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none\
                     HTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\ntwo\
                     HTTP/1.1 202 Accepted\r\ncontent-length: 5\r\n\r\nthree",
                )
                .await;
                wire
            }
        );
        assert_eq!(
            wire,
            "GET /1 HTTP/1.1\r\nhost: a.example\r\n\r\n\
             POST /2 HTTP/1.1\r\nhost: a.example\r\ncontent-length: 3\r\n\r\ntwo\
             GET /3 HTTP/1.1\r\nhost: a.example\r\n\r\n"
        );
        let (ra, rb, rc) = (ra.unwrap(), rb.unwrap(), rc.unwrap());
        assert_eq!(
            [ra.status(), rb.status(), rc.status()],
            [StatusCode::OK, StatusCode::CREATED, StatusCode::ACCEPTED]
        );
        assert_eq!(rc.into_body().text().await.unwrap(), "three");
        assert_eq!(rb.into_body().text().await.unwrap(), "two");
        assert_eq!(ra.into_body().text().await.unwrap(), "one");
    })
    .await;
}

#[tokio::test]
async fn pipelined_requests_the_server_drops_are_unanswered() {
    within(async {
        // Answered with `connection: close`: the rest fail at once.
        let (sender, _conn, mut peer) = connect(Builder::new().pipeline(true));
        let (mut a, mut b) = (sender.clone(), sender);
        let (ra, rb, _) = tokio::join!(
            a.send(get("http://a.example/1")),
            b.send(get("http://a.example/2")),
            async {
                peer.head().await;
                peer.head().await;
                peer.send("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        );
        assert_eq!(ra.unwrap().status(), StatusCode::OK);
        let err = rb.unwrap_err();
        assert!(err.is_unanswered(), "{err:?}");

        // Answered, then the connection closes.
        let (sender, conn, mut peer) = connect(Builder::new().pipeline(true));
        let (mut a, mut b) = (sender.clone(), sender);
        let (ra, rb, _) = tokio::join!(
            a.send(get("http://a.example/1")),
            b.send(get("http://a.example/2")),
            async {
                peer.head().await;
                peer.head().await;
                peer.send("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
                drop(peer);
            }
        );
        assert_eq!(ra.unwrap().status(), StatusCode::OK);
        let err = rb.unwrap_err();
        assert!(err.is_unanswered(), "{err:?}");
        assert!(a.is_closed());
        assert!(conn.await.unwrap().unwrap_err().is_unanswered());
    })
    .await;
}

#[tokio::test]
async fn a_close_before_the_response_is_safe_to_retry() {
    within(async {
        let (mut sender, conn, mut peer) = connect(Builder::new());
        let (res, _) = tokio::join!(sender.send(get("http://a.example/")), async {
            peer.head().await;
            drop(peer);
        });
        let err = res.unwrap_err();
        assert!(err.is_unanswered(), "{err:?}");
        assert!(!err.is_incomplete() && !err.is_closed());
        assert_eq!(
            format!("{err:#}"),
            "connection closed before the response began"
        );
        assert!(sender.is_closed());
        assert!(conn.await.unwrap().is_err());
    })
    .await;
}

#[tokio::test]
async fn a_close_in_the_middle_of_a_response_is_incomplete() {
    within(async {
        // In the head.
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let (res, _) = tokio::join!(sender.send(get("http://a.example/")), async {
            peer.head().await;
            peer.send("HTTP/1.1 200 OK\r\ncontent-le").await;
            drop(peer);
        });
        let err = res.unwrap_err();
        assert!(err.is_incomplete(), "{err:?}");

        // After an interim response.
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let (res, _) = tokio::join!(sender.send(get("http://a.example/")), async {
            peer.head().await;
            peer.send("HTTP/1.1 100 Continue\r\n\r\n").await;
            drop(peer);
        });
        assert!(res.unwrap_err().is_incomplete());

        // In the body.
        let (mut sender, conn, mut peer) = connect(Builder::new());
        let (res, _) = tokio::join!(
            sender.send(get("http://a.example/")),
            peer.answer("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
        );
        let body = res.unwrap().into_body();
        drop(peer);
        let err = body.bytes().await.unwrap_err();
        assert!(err.is_incomplete(), "{err:?}");
        assert!(conn.await.unwrap().unwrap_err().is_incomplete());
    })
    .await;
}

#[tokio::test]
async fn a_malformed_response_is_a_parse_error() {
    within(async {
        let cases = [
            "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "SSH-2.0-OpenSSH_9.2\r\n\r\n",
        ];
        for response in cases {
            let (mut sender, conn, mut peer) = connect(Builder::new());
            let (res, _) =
                tokio::join!(sender.send(get("http://a.example/")), peer.answer(response));
            let err = res.unwrap_err();
            assert!(err.is_parse(), "{response:?}: {err:?}");
            assert!(std::error::Error::source(&err).is_some());
            assert!(sender.is_closed());
            assert!(conn.await.unwrap().unwrap_err().is_parse());
        }

        let (mut sender, _conn, mut peer) = connect(Builder::new().max_headers(2));
        let (res, _) = tokio::join!(
            sender.send(get("http://a.example/")),
            peer.answer("HTTP/1.1 200 OK\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n")
        );
        assert!(res.unwrap_err().is_parse());
    })
    .await;
}

#[tokio::test]
async fn an_early_refusal_stops_the_upload() {
    within(async {
        let (mut sender, conn, mut peer) = connect(Builder::new());
        let (mut tx, body) = Body::channel();
        tx.send_data("first piece").await.ok();
        let req = Request::post("http://a.example/").body(body);
        let send = tokio::spawn(async move {
            let res = sender.send(req.unwrap()).await;
            (sender, res)
        });
        peer.read_until("first piece").await;
        peer.send("HTTP/1.1 413 Content Too Large\r\ncontent-length: 8\r\n\r\ntoo big!")
            .await;
        let (sender, res) = send.await.unwrap();
        let res = res.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(sender.is_closed(), "the body was cut short");
        assert_eq!(res.into_body().text().await.unwrap(), "too big!");
        // The rest of the body is not wanted any more.
        assert!(tx.send_data("second piece").await.is_err());
        conn.await.unwrap().unwrap();
        peer.expect_eof().await;
    })
    .await;
}

#[tokio::test]
async fn an_unread_body_is_discarded_when_small_and_closes_the_connection_when_large() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let small = "x".repeat(10_000);
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", small.len());
        let (res, _) = tokio::join!(sender.send(get("http://a.example/")), peer.answer(&head));
        drop(res.unwrap());
        peer.send(&small).await;
        sender.ready().await.unwrap();

        let large = "y".repeat(200_000);
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", large.len());
        let (res, _) = tokio::join!(sender.send(get("http://a.example/")), peer.answer(&head));
        drop(res.unwrap());
        let (_, ready) = tokio::join!(peer.send(&large), sender.ready());
        assert!(ready.unwrap_err().is_closed());
    })
    .await;
}

#[tokio::test]
async fn queued_requests_fail_when_the_connection_dies() {
    within(async {
        let (sender, conn, mut peer) = connect(Builder::new());
        let (mut a, mut b) = (sender.clone(), sender.clone());
        let (ra, rb, _) = tokio::join!(
            a.send(get("http://a.example/1")),
            b.send(get("http://a.example/2")),
            async {
                peer.head().await;
                drop(peer);
            }
        );
        assert!(ra.unwrap_err().is_unanswered());
        // Never written: safe to send again, whatever the method.
        assert!(rb.unwrap_err().is_closed());
        conn.await.unwrap().unwrap_err();
        drop(sender);
    })
    .await;
}

#[tokio::test]
async fn the_connection_ends_when_every_handle_is_dropped() {
    within(async {
        let (sender, conn, mut peer) = connect(Builder::new());
        let clone = sender.clone();
        drop(sender);
        assert!(!conn.is_finished());
        drop(clone);
        conn.await.unwrap().unwrap();
        peer.expect_eof().await;

        // Not before the response body is read, though.
        let (mut sender, conn, mut peer) = connect(Builder::new());
        let (res, _) = tokio::join!(
            sender.send(get("http://a.example/")),
            peer.answer("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello")
        );
        drop(sender);
        let body = res.unwrap().into_body();
        peer.send("world").await;
        assert_eq!(body.text().await.unwrap(), "helloworld");
        conn.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_dropped_connection_fails_the_requests() {
    within(async {
        let (client, _server) = tokio::io::duplex(1024);
        let (mut sender, connection) = paf::client::conn::handshake(client);
        drop(connection);
        assert!(sender.is_closed());
        assert!(
            sender
                .send(get("http://a.example/"))
                .await
                .unwrap_err()
                .is_closed()
        );
    })
    .await;
}

#[tokio::test]
async fn readiness_follows_the_exchange() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        sender.ready().await.unwrap();
        assert!(sender.is_ready());
        let (res, _) = tokio::join!(
            sender.send(get("http://a.example/")),
            peer.answer("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello")
        );
        // Busy until the body is read.
        assert!(!sender.is_ready());
        let mut waiter = sender.clone();
        let ready = tokio::spawn(async move { waiter.ready().await });
        peer.send("world").await;
        res.unwrap().into_body().drain().await.unwrap();
        ready.await.unwrap().unwrap();
        assert!(sender.is_ready());
    })
    .await;
}

#[tokio::test]
async fn a_switch_hands_over_the_stream_with_the_early_bytes() {
    within(async {
        let (mut sender, conn, mut peer) = connect(Builder::new());
        let req = Request::get("http://a.example/chat")
            .header("connection", "upgrade")
            .header("upgrade", "echo")
            .body(Body::empty())
            .unwrap();
        let (res, head) = tokio::join!(sender.send(req), async {
            let head = peer.head().await;
            peer.send(
                "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n\
                 early bytes;",
            )
            .await;
            head
        });
        assert_eq!(
            head,
            "GET /chat HTTP/1.1\r\nhost: a.example\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n"
        );
        let mut res = res.unwrap();
        assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
        let mut upgraded = paf::upgrade::on(&mut res).await.unwrap();
        conn.await.unwrap().unwrap();
        assert!(sender.is_closed());

        let mut buf = vec![0; 12];
        upgraded.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, b"early bytes;");
        upgraded.write_all(b"ping").await.unwrap();
        assert_eq!(peer.read_until("ping").await, "ping");
        peer.send("pong").await;
        let mut buf = [0; 4];
        upgraded.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    })
    .await;
}

#[tokio::test]
async fn connect_uses_the_authority_and_opens_a_tunnel() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let req = Request::connect("a.example:443")
            .body(Body::empty())
            .unwrap();
        let (res, head) = tokio::join!(sender.send(req), async {
            let head = peer.head().await;
            peer.send("HTTP/1.1 200 Connection Established\r\n\r\n")
                .await;
            head
        });
        assert_eq!(
            head,
            "CONNECT a.example:443 HTTP/1.1\r\nhost: a.example:443\r\n\r\n"
        );
        let mut res = res.unwrap();
        let (mut tunnel, early) = paf::upgrade::on(&mut res).await.unwrap().into_parts();
        assert!(early.is_empty());
        tunnel.write_all(b"\x16\x03\x01").await.unwrap();
        assert_eq!(
            peer.read_until("\x16\x03\x01").await.as_bytes(),
            b"\x16\x03\x01"
        );
    })
    .await;
}

#[tokio::test]
async fn a_refused_connect_is_an_ordinary_response() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        let req = Request::connect("a.example:443")
            .body(Body::empty())
            .unwrap();
        let (res, _) = tokio::join!(
            sender.send(req),
            peer.answer(
                "HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 4\r\n\r\nauth"
            )
        );
        let mut res = res.unwrap();
        assert!(paf::upgrade::on(&mut res).await.unwrap_err().is_upgrade());
        assert_eq!(
            res.into_body().bytes().await.unwrap(),
            Bytes::from_static(b"auth")
        );
    })
    .await;
}

#[tokio::test]
async fn a_request_given_up_before_it_is_written_is_skipped() {
    within(async {
        let (sender, _conn, mut peer) = connect(Builder::new());
        let (mut a, mut b) = (sender.clone(), sender.clone());
        // The second waits behind the first and is dropped before its turn.
        let first = tokio::spawn(async move { a.send(get("http://a.example/1")).await });
        let head = peer.head().await;
        assert!(head.starts_with("GET /1 "));
        let second =
            tokio::time::timeout(Duration::from_millis(50), b.send(get("http://a.example/2")));
        assert!(second.await.is_err());
        peer.send(OK_HELLO).await;
        first
            .await
            .unwrap()
            .unwrap()
            .into_body()
            .drain()
            .await
            .unwrap();
        let mut c = sender.clone();
        let (res, head) = tokio::join!(c.send(get("http://a.example/3")), peer.answer(OK_HELLO));
        assert!(head.starts_with("GET /3 "), "{head}");
        res.unwrap();
    })
    .await;
}

/// What a pool relies on: once a caller sees the end of an exchange, the
/// handle already tells whether the connection can be reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_state_is_published_before_the_caller_sees_the_outcome() {
    within(async {
        let (mut sender, _conn, mut peer) = connect(Builder::new());
        for i in 0..200 {
            let response = match i % 3 {
                0 => "HTTP/1.1 204 No Content\r\n\r\n".to_owned(),
                1 => OK_HELLO.to_owned(),
                _ => "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
                    .to_owned(),
            };
            let (res, _) = tokio::join!(
                sender.send(get("http://a.example/")),
                peer.answer(&response)
            );
            res.unwrap().into_body().drain().await.unwrap();
            assert!(sender.is_ready(), "exchange {i}");
        }
        for _ in 0..50 {
            let (mut sender, _conn, mut peer) = connect(Builder::new());
            let (res, _) = tokio::join!(sender.send(get("http://a.example/")), async {
                peer.head().await;
                drop(peer);
            });
            assert!(res.unwrap_err().is_unanswered());
            assert!(sender.is_closed());
        }
    })
    .await;
}

/// Requests sent while the connection ends, from several threads: each
/// one gets an answer that says it may be sent again, rather than waiting
/// forever in the queue of a loop that is gone, or being dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_racing_the_end_of_the_connection_all_get_an_answer() {
    within(async {
        for round in 0..2000 {
            let (sender, conn, peer) = connect(Builder::new());
            let senders: Vec<_> = (0..4)
                .map(|_| {
                    let mut sender = sender.clone();
                    tokio::spawn(async move {
                        let sent = sender.send(get("http://a.example/"));
                        match tokio::time::timeout(Duration::from_secs(2), sent).await {
                            Ok(Err(err)) => err,
                            Ok(Ok(res)) => panic!("a response from nobody: {res:?}"),
                            Err(_) => panic!("a request waited forever in round {round}"),
                        }
                    })
                })
                .collect();
            // The server goes away as the requests arrive.
            drop(peer);
            for task in senders {
                let err = task.await.unwrap();
                assert!(err.is_closed() || err.is_unanswered(), "{err:?}");
            }
            assert!(sender.is_closed());
            conn.await.unwrap().ok();
        }
    })
    .await;
}
