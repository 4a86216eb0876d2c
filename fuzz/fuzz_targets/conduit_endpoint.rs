//! conduit's `Endpoint` text form, and `DOCKER_HOST`, which names one.
//!
//! Checks that an endpoint that reads shows as text that reads back as the
//! same endpoint (and shows the same again); and that a `DOCKER_HOST` that
//! reads gives an endpoint that round-trips likewise and a base URI that
//! conduit reads back to the same socket path or host and port.
#![no_main]

use conduit::{DockerHost, Endpoint, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(endpoint) = text.parse::<Endpoint>() {
        round_trips(&endpoint);
    }
    let docker = DockerHost::from_vars(|name| (name == "DOCKER_HOST").then(|| text.to_string()));
    if let Ok(docker) = docker {
        round_trips(docker.endpoint());
        base_uri_reads_back(&docker);
    }
});

/// An endpoint shows as text that reads back as itself, and shows the same.
fn round_trips(endpoint: &Endpoint) {
    let text = endpoint.to_string();
    match text.parse::<Endpoint>() {
        Ok(again) => {
            assert_eq!(&again, endpoint, "{text}");
            assert_eq!(again.to_string(), text);
        }
        Err(err) => panic!("{endpoint:?} shows as {text:?}, which does not read: {err:#}"),
    }
}

/// The URI requests to the daemon start with names where the daemon is.
fn base_uri_reads_back(docker: &DockerHost) {
    let uri = docker.base_uri();
    let target = match uri.parse::<Target>() {
        Ok(target) => target,
        Err(err) => panic!("{docker:?}: base URI {uri:?} does not read: {err:#}"),
    };
    assert_eq!(target.path_and_query(), "/", "{uri}: no request path");
    match docker.endpoint() {
        Endpoint::Unix(path) => {
            assert_eq!(target.unix_path(), Some(path.as_path()), "{uri}");
        }
        Endpoint::Tcp { host, port } => {
            let read = (target.host(), target.port());
            assert_eq!(read, (Some(host.as_str()), Some(*port)), "{uri}");
        }
        // `DOCKER_TLS_VERIFY` is not set here.
        other => panic!("DOCKER_HOST gave {other:?}"),
    }
}
