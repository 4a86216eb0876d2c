//! An axum `Router` served unchanged by the HTTP/1.1 server, queried by curl.
//!
//! The tests skip loudly when curl is not installed (and fail when
//! `PAF_REQUIRE_PEERS=1`).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::StatusCode;
use axum::routing::{get, post};
use paf::server::Http1;
use serde::{Deserialize, Serialize};
use support::server::TestServer;
use support::{TempDir, peer_tool};
use tokio::process::Command;

/// How long one curl run may take before the test fails.
const CURL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize, Serialize, PartialEq)]
struct Order {
    item: String,
    count: u32,
    tags: Vec<String>,
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "root" }))
        .route(
            "/users/{id}",
            get(|UrlPath(id): UrlPath<String>| async move { format!("user {id}") }),
        )
        .route(
            "/json",
            post(|axum::Json(order): axum::Json<Order>| async move { axum::Json(order) }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such route") })
}

/// Runs `curl --http1.1 -sS <args> -w '\n%{http_code}'`; returns the body
/// and the status code.
async fn curl(tool: &Path, args: &[&str]) -> (String, u16) {
    let out = tokio::time::timeout(
        CURL_TIMEOUT,
        Command::new(tool)
            .args(["--http1.1", "-sS"])
            .args(args)
            .args(["-w", "\n%{http_code}"])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("curl did not finish in time")
    .unwrap();
    assert!(
        out.status.success(),
        "curl failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (body.to_owned(), code.parse().unwrap())
}

#[tokio::test]
async fn an_axum_router_serves_its_routes_unchanged() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    // The Router itself is the handler: no adapter in between.
    let server = TestServer::start(Http1::new(), app());

    assert_eq!(
        curl(&tool, &[&server.url("/")]).await,
        ("root".to_owned(), 200)
    );
    assert_eq!(
        curl(&tool, &[&server.url("/users/42")]).await,
        ("user 42".to_owned(), 200)
    );
    // Percent-encoded path segments are decoded by the extractor.
    assert_eq!(
        curl(&tool, &[&server.url("/users/j%C3%B6rg")]).await,
        ("user jörg".to_owned(), 200)
    );
    assert_eq!(
        curl(&tool, &[&server.url("/nowhere")]).await,
        ("no such route".to_owned(), 404)
    );
    // A known path with the wrong method.
    let (_, code) = curl(&tool, &["-X", "DELETE", &server.url("/")]).await;
    assert_eq!(code, 405);
}

#[tokio::test]
async fn an_axum_router_reads_and_writes_json() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let server = TestServer::start(Http1::new(), app());
    let url = server.url("/json");
    let order = Order {
        item: "widget".to_owned(),
        // Large enough that the body does not come with the head.
        tags: (0..10_000).map(|i| format!("tag-{i}")).collect(),
        count: 3,
    };
    let dir = TempDir::new("axum-json");
    let file = dir.path().join("order.json");
    let sent = serde_json::to_string(&order).unwrap();
    assert!(sent.len() > 64 * 1024);
    std::fs::write(&file, &sent).unwrap();
    let sent = format!("@{}", file.display());

    let json = ["-H", "content-type: application/json", "--data-binary"];
    let (body, code) = curl(&tool, &[&json[..], &[&sent, &url]].concat()).await;
    assert_eq!(code, 200, "{body}");
    let echoed: Order = serde_json::from_str(&body).unwrap();
    assert_eq!(echoed, order);

    // The same body chunked.
    let chunked = ["-H", "transfer-encoding: chunked"];
    let (body, code) = curl(
        &tool,
        &[&json[..], &[&sent], &chunked[..], &[&url]].concat(),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(serde_json::from_str::<Order>(&body).unwrap(), order);

    // Malformed JSON and the wrong content type are the extractor's to refuse.
    let (_, code) = curl(&tool, &[&json[..], &["{\"item\": ", &url]].concat()).await;
    assert_eq!(code, 400);
    let (_, code) = curl(&tool, &["--data-binary", &sent, &url]).await;
    assert_eq!(code, 415);
}
