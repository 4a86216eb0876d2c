//! paf's server and client on two stacks joined in memory: HTTP/1.1, h2c,
//! TLS with h1 and h2, graceful shutdown.

mod support;

use std::time::Duration;

use http::Version;
use support::http::{NAME, certificate, client, serve};
use support::{SERVER, plain_pair, prompt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_h2c_and_tls_between_two_stacks() {
    let (client_stack, server_stack) = plain_pair();
    let (identity, ca) = certificate();
    let server = serve(&server_stack, identity);

    let h1 = client(&client_stack, &ca, SERVER)
        .http1_only()
        .build()
        .expect("a client");
    let res = prompt("h1", h1.get(format!("http://{NAME}/")))
        .await
        .expect("an answer");
    assert_eq!(res.version(), Version::HTTP_11);
    assert_eq!(res.connection().protocols().collect::<Vec<_>>(), ["tcpip"]);
    assert_eq!(res.text().await.expect("a body"), "hello over HTTP/1.1");

    let h2c = client(&client_stack, &ca, SERVER)
        .http2_prior_knowledge()
        .build()
        .expect("a client");
    let res = prompt("h2c", h2c.get(format!("http://{NAME}/")))
        .await
        .expect("an answer");
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.text().await.expect("a body"), "hello over HTTP/2.0");

    let tls = client(&client_stack, &ca, SERVER)
        .build()
        .expect("a client");
    let res = prompt("h2 over TLS", tls.get(format!("https://{NAME}/")))
        .await
        .expect("an answer");
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(
        res.connection().protocols().collect::<Vec<_>>(),
        ["tls", "tcpip"]
    );
    let alpn = res.connection().tls().and_then(|tls| tls.alpn.clone());
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(res.text().await.expect("a body"), "hello over HTTP/2.0");

    let tls_h1 = client(&client_stack, &ca, SERVER)
        .http1_only()
        .build()
        .expect("a client");
    let res = prompt(
        "h1 over TLS",
        tls_h1.get(format!("https://{NAME}/bytes/1000000")),
    )
    .await
    .expect("an answer");
    assert_eq!(res.version(), Version::HTTP_11);
    let body = res.bytes().await.expect("a body");
    assert_eq!(body.len(), 1_000_000);
    assert!(body.iter().all(|b| *b == b'x'));

    let report = server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.aborted, 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_a_request_in_flight_and_stops_listening() {
    let (client_stack, server_stack) = plain_pair();
    let (identity, ca) = certificate();
    let server = serve(&server_stack, identity);
    let h1 = client(&client_stack, &ca, SERVER)
        .http1_only()
        .build()
        .expect("a client");

    // A keep-alive connection is open when the shutdown starts.
    let res = prompt("first", h1.get(format!("http://{NAME}/")))
        .await
        .expect("an answer");
    res.text().await.expect("a body");
    let report = prompt("shutdown", server.shutdown(Duration::from_secs(5))).await;
    assert_eq!(report.aborted, 0, "{report:?}");

    let err = prompt("after shutdown", h1.get(format!("http://{NAME}/")))
        .await
        .expect_err("nothing listens any more");
    assert!(err.is_connect(), "{err:#}");
}
