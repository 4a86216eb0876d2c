//! tonic's client through conduit::hyper::Connector, to tonic-health's
//! service served by paf (HTTP/2 in clear text, and over TLS with ALPN h2)
//! and by tonic's own server: SERVING for a known service, NOT_FOUND (the
//! `grpc-status` trailer) for an unknown one.

mod support;

use std::time::Duration;

use conduit::hyper::{Connector, connect_error};
use conduit::serve::Server;
use paf::server::{Auto, Http2, Serve};
use tonic::transport::{Channel, Endpoint};
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as Reported;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::server::HealthReporter;

use support::tcp;

const KNOWN: &str = "test.Known";

async fn reporter() -> (
    HealthReporter,
    tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(KNOWN, ServingStatus::Serving)
        .await;
    (reporter, service)
}

async fn check(channel: Channel, service: &str) -> Result<Reported, tonic::Status> {
    let request = HealthCheckRequest {
        service: service.to_string(),
    };
    let res = HealthClient::new(channel).check(request).await?;
    Ok(res.into_inner().status())
}

/// SERVING for the known service and the server as a whole, NOT_FOUND for
/// an unknown one.
async fn assert_health(channel: Channel) {
    assert_eq!(
        check(channel.clone(), KNOWN).await.expect("known"),
        Reported::Serving
    );
    assert_eq!(
        check(channel.clone(), "").await.expect("the server"),
        Reported::Serving
    );
    let status = check(channel, "test.Unknown")
        .await
        .expect_err("an unknown service");
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
}

async fn channel(uri: String, connector: Connector) -> Channel {
    Endpoint::from_shared(uri)
        .expect("an endpoint URI")
        .connect_with_connector(connector)
        .await
        .expect("the channel connects")
}

#[tokio::test]
async fn served_by_paf_in_clear_text() {
    let (_reporter, health) = reporter().await;
    for server in [
        Server::builder()
            .listener(tcp())
            .serve(Auto::new().handler(health.clone())),
        Server::builder()
            .listener(tcp())
            .serve(Http2::new().handler(health.clone())),
    ] {
        let uri = format!("http://{}", server.local_addrs()[0]);
        assert_health(channel(uri, Connector::new()).await).await;
        assert_eq!(server.shutdown(Duration::from_secs(5)).await.aborted, 0);
    }
}

#[tokio::test]
async fn served_by_paf_over_tls_with_alpn_h2() {
    let (_reporter, health) = reporter().await;
    let (listener, cert_pem) = support::tls_listener(&["h2", "http/1.1"]);
    let server = Server::builder()
        .listener(listener)
        .serve(Auto::new().handler(health));
    let port = support::port(&server);
    let resolver = support::trusting(&cert_pem);
    // gRPC speaks HTTP/2 only: offer `h2` alone.
    let connector = Connector::with_resolver(resolver).alpn(["h2"]);
    assert_health(channel(format!("https://localhost:{port}"), connector).await).await;
    assert_eq!(server.shutdown(Duration::from_secs(5)).await.aborted, 0);
}

#[tokio::test]
async fn served_by_tonics_own_server() {
    let (_reporter, health) = reporter().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("the address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                async {
                    let _ = stopped.await;
                },
            ),
    );
    assert_health(channel(format!("http://{addr}"), Connector::new()).await).await;
    let _ = stop.send(());
    server
        .await
        .expect("the server task")
        .expect("tonic's server ends cleanly");
}

#[tokio::test]
async fn a_failed_connection_keeps_conduits_error() {
    let closed = tcp().local_socket_addr();
    let err = Endpoint::from_shared(format!("http://{closed}"))
        .expect("an endpoint URI")
        .connect_with_connector(Connector::new())
        .await
        .expect_err("nothing listens there");
    let conduit_err = connect_error(&err).expect("conduit's error is in tonic's chain");
    assert!(conduit_err.is_connect());
    assert!(
        conduit_err
            .report()
            .is_some_and(|r| !r.entries().is_empty())
    );
}
