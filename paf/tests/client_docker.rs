//! `paf::Client` against Podman's Docker-compatible API on a Unix socket,
//! and the `docker` example against the same. Skipped (loudly) when Podman
//! is not installed; `PAF_REQUIRE_PEERS=1` makes that a failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use paf::Client;
use paf::client::Response;
use serde_json::{Value, json};
use support::podman::Podman;

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("test timed out")
}

/// A client that reaches the instance as `DOCKER_HOST` would say.
fn client_for(podman: &Podman) -> Client {
    let host = podman.docker_host();
    let docker =
        conduit::DockerHost::from_vars(|name| (name == "DOCKER_HOST").then(|| host.clone()))
            .unwrap();
    let resolver = conduit::Resolver::builder()
        .docker(&docker)
        .build()
        .unwrap();
    Client::builder().resolver(resolver).build().unwrap()
}

async fn json(res: Response) -> Value {
    let bytes = res.bytes().await.unwrap();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// A volume name no other test or run uses.
fn unique_name(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("paf-{tag}-{}-{nanos}", std::process::id())
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// Creates then removes the volume `name`, checking each answer.
async fn volume_round_trip(client: &Client, base: &str, name: &str) {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let res = client
        .call(
            Method::POST,
            format!("{base}/volumes/create"),
            headers,
            json!({ "Name": name }).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(json(res).await["Name"], name);

    let res = client.get(format!("{base}/volumes/{name}")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let volume = json(res).await;
    assert_eq!(volume["Name"], name);
    assert_eq!(volume["Driver"], "local");

    let res = client
        .delete(format!("{base}/volumes/{name}"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.bytes().await.unwrap().len(), 0);
}

/// Every event of the feed, parsed line by line as the pieces arrive, each
/// with whether it came before the Unix time `until`.
async fn read_events(mut res: Response, until: i64) -> Vec<(Value, bool)> {
    let mut events = Vec::new();
    let mut pending = Vec::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let event: Value = serde_json::from_slice(&line).unwrap_or_else(|e| {
                panic!("bad event line ({e}): {}", String::from_utf8_lossy(&line))
            });
            events.push((event, unix_now() < until));
        }
    }
    assert!(
        pending.iter().all(u8::is_ascii_whitespace),
        "the feed ended in the middle of a line: {}",
        String::from_utf8_lossy(&pending)
    );
    events
}

/// The actions of the volume events about `name`, in order.
fn volume_actions<'a>(events: impl IntoIterator<Item = &'a Value>, name: &str) -> Vec<String> {
    events
        .into_iter()
        .filter(|e| e["Type"] == "volume" && e["Actor"]["Attributes"]["name"] == name)
        .map(|e| e["Action"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn ping_answers_ok_over_the_socket() {
    let Some(podman) = Podman::start() else {
        return;
    };
    within(async {
        let client = client_for(&podman);
        let res = client
            .get(format!("{}/_ping", podman.base_uri()))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.version(), http::Version::HTTP_11);
        assert!(res.connection().protocols().any(|p| p == "unix"));
        assert_eq!(res.text().await.unwrap(), "OK");

        // The default client reaches the socket from the URI alone.
        let res = Client::new()
            .get(format!("{}/_ping", podman.base_uri()))
            .await
            .unwrap();
        assert_eq!(res.text().await.unwrap(), "OK");
    })
    .await;
}

#[tokio::test]
async fn version_info_and_images_are_json() {
    let Some(podman) = Podman::start() else {
        return;
    };
    within(async {
        let client = client_for(&podman);
        let base = podman.base_uri();

        let res = client.get(format!("{base}/version")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let version = json(res).await;
        let api = version["ApiVersion"].as_str().unwrap();
        assert!(api.starts_with("1."), "ApiVersion {api}");
        assert!(!version["Version"].as_str().unwrap().is_empty());

        let info = json(client.get(format!("{base}/info")).await.unwrap()).await;
        assert_eq!(info["Driver"], "vfs");
        assert_eq!(info["ServerVersion"], version["Version"]);
        assert_eq!(info["Images"], 0);

        let res = client.get(format!("{base}/images/json")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(json(res).await, json!([]));

        let res = client
            .get(format!("{base}/containers/json?all=1"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(json(res).await, json!([]));
    })
    .await;
}

#[tokio::test]
async fn a_volume_is_created_read_and_removed() {
    let Some(podman) = Podman::start() else {
        return;
    };
    within(async {
        let client = client_for(&podman);
        let base = podman.base_uri();
        let name = unique_name("volume");
        volume_round_trip(&client, &base, &name).await;

        let res = client.get(format!("{base}/volumes/{name}")).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let error = json(res).await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(&name), "message: {message}");

        // Removing it again is an error too, with a message.
        let res = client
            .delete(format!("{base}/volumes/{name}"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(json(res).await["message"].is_string());
    })
    .await;
}

#[tokio::test]
async fn events_stream_line_by_line_and_end_at_until() {
    let Some(podman) = Podman::start() else {
        return;
    };
    within(async {
        let client = client_for(&podman);
        let base = podman.base_uri();

        // Past events, up to a time just ahead: they all come, then the
        // feed ends by itself.
        let past = unique_name("past");
        volume_round_trip(&client, &base, &past).await;
        let now = unix_now();
        let (since, until) = (now - 60, now + 2);
        let res = client
            .get(format!("{base}/events?since={since}&until={until}"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let events = read_events(res, until).await;
        assert!(unix_now() >= until, "the feed ended before `until`");
        let events: Vec<Value> = events.into_iter().map(|(e, _)| e).collect();
        assert_eq!(volume_actions(&events, &past), ["create", "remove"]);
        for event in &events {
            let time = event["time"].as_i64().unwrap();
            assert!(
                (since..=until).contains(&time),
                "event out of range: {event}"
            );
        }

        // Events that happen while the feed is open arrive as they happen,
        // well before it ends.
        let live = unique_name("live");
        let until = unix_now() + 3;
        let res = client
            .get(format!("{base}/events?until={until}"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let (events, ()) = tokio::join!(read_events(res, until), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            volume_round_trip(&client, &base, &live).await;
        });
        let live_events: Vec<&(Value, bool)> = events
            .iter()
            .filter(|(e, _)| e["Actor"]["Attributes"]["name"] == live.as_str())
            .collect();
        assert_eq!(
            volume_actions(live_events.iter().map(|(e, _)| e), &live),
            ["create", "remove"]
        );
        assert!(
            live_events.iter().all(|(_, early)| *early),
            "the events were held back until the feed ended"
        );
    })
    .await;
}

#[tokio::test]
async fn requests_reuse_one_connection_to_the_socket() {
    let Some(podman) = Podman::start() else {
        return;
    };
    within(async {
        let client = client_for(&podman);
        let base = podman.base_uri();
        assert_eq!(client.pool_size(), (0, 0));
        for _ in 0..3 {
            let res = client.get(format!("{base}/_ping")).await.unwrap();
            assert_eq!(res.text().await.unwrap(), "OK");
            assert_eq!(client.pool_size(), (1, 0));
        }
        let res = client.head(format!("{base}/_ping")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.unwrap().len(), 0);
        assert_eq!(client.pool_size(), (1, 0));

        let version = json(client.get(format!("{base}/version")).await.unwrap()).await;
        assert!(version["Version"].is_string());
        let res = client.get(format!("{base}/volumes/nope")).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        res.drain().await.unwrap();
        volume_round_trip(&client, &base, &unique_name("pool")).await;
        assert_eq!(client.pool_size(), (1, 0));

        // A clone shares the pool, and the connection.
        let clone = client.clone();
        let res = clone.get(format!("{base}/_ping")).await.unwrap();
        assert_eq!(res.text().await.unwrap(), "OK");
        assert_eq!(client.pool_size(), (1, 0));
    })
    .await;
}

/// Builds the `docker` example with the cargo that runs this test; its
/// executable.
async fn build_example() -> std::path::PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = tokio::process::Command::new(cargo);
    command
        .args(["build", "-q", "-p", "examples", "--example", "docker"])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    // Long enough for a build from scratch.
    let out = tokio::time::timeout(Duration::from_secs(600), command.output())
        .await
        .expect("building the example timed out")
        .unwrap();
    assert!(out.status.success(), "building the example: {}", out.status);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "docker")
        .find_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
        .expect("cargo named no executable for the example")
}

/// Runs the example with `DOCKER_HOST=docker_host`.
async fn run_example(
    binary: &std::path::Path,
    docker_host: &str,
    args: &[&str],
) -> std::process::Output {
    let mut command = tokio::process::Command::new(binary);
    command
        .args(args)
        .env("DOCKER_HOST", docker_host)
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(20), command.output())
        .await
        .expect("the example timed out")
        .unwrap()
}

/// The standard output of a run that succeeded.
fn succeeded(out: &std::process::Output, args: &[&str]) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "example {args:?}: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_docker_example_talks_to_podman() {
    let Some(podman) = Podman::start() else {
        return;
    };
    let binary = build_example().await;
    let client = client_for(&podman);
    let base = podman.base_uri();
    let version = json(client.get(format!("{base}/version")).await.unwrap()).await;
    let version = version["Version"].as_str().unwrap().to_string();
    let name = unique_name("example");
    volume_round_trip(&client, &base, &name).await;
    let host = podman.docker_host();

    let args = ["version"];
    let out = succeeded(&run_example(&binary, &host, &args).await, &args);
    assert!(
        out.contains(&format!("Server version: {version}")),
        "output:\n{out}"
    );

    // Podman stops reading its event log when `until` passes, even before
    // it has sent every event before it: `until` must not pass before the
    // example has asked.
    let now = unix_now();
    let (since, until) = ((now - 60).to_string(), (now + 2).to_string());
    let args = ["events", "--since", &since, "--until", &until];
    let out = succeeded(&run_example(&binary, &host, &args).await, &args);
    for action in ["create", "remove"] {
        assert!(
            out.contains(&format!("volume {action} {name}")),
            "output:\n{out}"
        );
    }

    // A daemon that cannot be reached: the report, and status 1.
    let missing = podman.socket().with_file_name("missing.sock");
    let out = run_example(
        &binary,
        &format!("unix://{}", missing.display()),
        &["version"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot connect") && stderr.contains("missing.sock"),
        "stderr:\n{stderr}"
    );
}
