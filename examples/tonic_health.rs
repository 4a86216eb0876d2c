//! A tonic gRPC client over mimic, talking to tonic's health service
//! served by paf.
//!
//! paf serves `grpc.health.v1.Health` (tonic-health's `HealthServer`, a
//! tower service like any other) over HTTP/2 in clear text, on loopback
//! and on a Unix socket in a temporary directory. tonic's `HealthClient`
//! reaches each through `conduit::hyper::Connector`, checks a service that
//! is serving, and one that the server does not know (gRPC status
//! `NOT_FOUND`, sent in the response's trailers).
//!
//! ```sh
//! cargo run -p examples --example tonic_health
//! ```

use std::error::Error;
use std::time::Duration;

use conduit::hyper::Connector;
use conduit::listener::{TcpListener, UnixListener};
use conduit::serve::Server;
use conduit::{Destination, Resolver};
use paf::server::{Auto, Serve};
use testkit::TempDir;
use tonic::transport::{Channel, Endpoint};
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as Reported;
use tonic_health::pb::health_client::HealthClient;

/// The status `service` reports through `channel`.
async fn check(channel: Channel, service: &str) -> Result<Reported, tonic::Status> {
    let request = HealthCheckRequest {
        service: service.to_string(),
    };
    let res = HealthClient::new(channel).check(request).await?;
    Ok(res.into_inner().status())
}

/// Checks a known service and an unknown one through `channel`.
async fn check_all(channel: Channel, label: &str) -> Result<(), Box<dyn Error>> {
    let status = check(channel.clone(), "example.Greeter").await?;
    println!("{label}: example.Greeter is {status:?}");
    if status != Reported::Serving {
        return Err(format!("{label}: example.Greeter is {status:?}, not SERVING").into());
    }
    match check(channel, "example.Missing").await {
        Err(status) if status.code() == tonic::Code::NotFound => {
            println!(
                "{label}: example.Missing: {:?} ({})",
                status.code(),
                status.message()
            );
            Ok(())
        }
        other => Err(format!("{label}: example.Missing gave {other:?}, not NOT_FOUND").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("example.Greeter", ServingStatus::Serving)
        .await;

    // Removed with its socket however main returns.
    let dir = TempDir::new("tonic-health");
    let socket = dir.join("grpc.sock");
    // Auto answers HTTP/2's preface in clear text (prior knowledge), as
    // gRPC clients open their connections.
    let server = Server::builder()
        .listener(TcpListener::bind("127.0.0.1:0".parse()?)?)
        .listener(UnixListener::bind(&socket)?)
        .serve(Auto::new().handler(health));
    let tcp = format!("http://{}", server.local_addrs()[0]);
    println!(
        "paf serves grpc.health.v1.Health on {tcp} and {}",
        socket.display()
    );

    let resolver = Resolver::builder()
        .static_host("health.local", Destination::Unix(socket.clone()))
        .build()?;
    let connector =
        Connector::with_resolver(resolver).on_error(|err| eprintln!("connection failed:\n{err:#}"));
    let result = async {
        let channel = Endpoint::from_shared(tcp.clone())?
            .connect_with_connector(connector.clone())
            .await?;
        check_all(channel, &tcp).await?;
        let channel = Endpoint::from_static("http://health.local")
            .connect_with_connector(connector.clone())
            .await?;
        check_all(channel, "unix socket").await
    }
    .await;

    let shutdown = server.shutdown(Duration::from_secs(5)).await;
    println!(
        "shut down: {} finished, {} aborted",
        shutdown.finished, shutdown.aborted
    );
    result
}
