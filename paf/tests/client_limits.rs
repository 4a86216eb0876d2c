//! What `paf::Client` refuses from a server: an endless run of interim
//! responses, a redirect to a scheme other than `http` and `https`, a body
//! larger than `bytes()` and `text()` take.
#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use paf::Client;
use paf::client::Proxies;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::server::PROMPT;

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("test timed out")
}

fn client() -> paf::ClientBuilder {
    Client::builder().proxies(Proxies::none())
}

async fn read_head(tcp: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf).await {
            Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
}

#[tokio::test]
async fn an_endless_run_of_interim_responses_fails_the_request() {
    // `100 Continue` for as long as the client reads them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicBool::new(false));
    let (count, done) = (sent.clone(), stopped.clone());
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        read_head(&mut tcp).await;
        let flood = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(1000);
        while tcp.write_all(&flood).await.is_ok() {
            count.fetch_add(1000, Ordering::SeqCst);
        }
        done.store(true, Ordering::SeqCst);
    });
    within(async {
        let client = client().build().unwrap();
        let err = client.get(format!("http://{addr}/")).await.unwrap_err();
        assert!(err.is_parse(), "{err:#}");
        assert!(format!("{err:#}").contains("interim"), "{err:#}");
        assert_eq!(client.pool_size(), (0, 0));
        // The client hung up: the server cannot write any more.
        let hung_up = async {
            while !stopped.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(PROMPT, hung_up)
            .await
            .expect("the client closes the connection");
        eprintln!(
            "the server wrote {} interim responses before the client hung up",
            sent.load(Ordering::SeqCst)
        );
    })
    .await;
}

/// Over HTTP/2 the `h2` crate skips interim responses without a bound (it
/// reads each one as it comes: memory does not grow): the client's read
/// timeout is what ends such a request, and the stream is reset.
#[tokio::test]
async fn an_http2_flood_of_interim_responses_ends_with_the_read_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let (reset_tx, reset) = tokio::sync::oneshot::channel();
    let count = sent.clone();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut conn = h2::server::handshake(tcp).await.unwrap();
        let (_req, mut respond) = conn.accept().await.unwrap().unwrap();
        tokio::spawn(async move { while conn.accept().await.is_some() {} });
        let reason = loop {
            if let Poll::Ready(reason) = respond.poll_reset(&mut Context::from_waker(Waker::noop()))
            {
                break reason.ok();
            }
            let head = http::Response::builder().status(100).body(()).unwrap();
            if respond.send_informational(head).is_err() {
                break None;
            }
            count.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
        };
        let _ = reset_tx.send(reason);
    });
    within(async {
        let client = client()
            .http2_prior_knowledge()
            .read_timeout(Some(Duration::from_millis(300)))
            .build()
            .unwrap();
        let err = client.get(format!("http://{addr}/")).await.unwrap_err();
        assert!(err.is_read_timeout(), "{err:#}");
        let sent = sent.load(Ordering::SeqCst);
        assert!(sent > 32, "only {sent} interim responses were sent");
        let reason = tokio::time::timeout(PROMPT, reset).await.unwrap().unwrap();
        assert_eq!(reason, Some(h2::Reason::CANCEL));
    })
    .await;
}
