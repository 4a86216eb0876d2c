//! Docker's conventions: `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`.

use std::path::PathBuf;

use mimic::tls::Tls;

use crate::endpoint::Endpoint;
use crate::error::{Error, Kind};
use crate::target::Target;

/// The default Docker socket.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Where the Docker daemon is, as the environment says.
///
/// - `DOCKER_HOST` unset: `unix:///var/run/docker.sock`.
/// - `unix:///path`: that socket.
/// - `tcp://host:port` (port defaults to 2375, or 2376 with TLS): TCP; with
///   `DOCKER_TLS_VERIFY` set to anything but `0` or empty, TLS checked
///   against `ca.pem` with the client certificate `cert.pem` and `key.pem`
///   from `DOCKER_CERT_PATH` (default `~/.docker`).
///
/// Requests go to [`base_uri`](DockerHost::base_uri) joined with the API
/// path, with a [`Resolver`](crate::Resolver) built with
/// [`docker`](crate::ResolverBuilder::docker). No magic host name is needed.
#[derive(Clone, Debug)]
pub struct DockerHost {
    endpoint: Endpoint,
    tls: Option<Tls>,
}

impl DockerHost {
    /// Reads the process environment.
    pub fn from_env() -> Result<DockerHost, Error> {
        DockerHost::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads variables through `var`, for tests and for configuration that
    /// does not live in the environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<DockerHost, Error> {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let verify = set("DOCKER_TLS_VERIFY").is_some_and(|v| v != "0");
        let host = set("DOCKER_HOST").unwrap_or_else(|| format!("unix://{DEFAULT_SOCKET}"));
        if let Some(path) = host.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(Error::docker(format!(
                    "DOCKER_HOST `{host}`: the socket path must be absolute"
                )));
            }
            return Ok(DockerHost {
                endpoint: Endpoint::Unix(PathBuf::from(path)),
                tls: None,
            });
        }
        let Some(address) = host.strip_prefix("tcp://") else {
            return Err(Error::docker(format!(
                "DOCKER_HOST `{host}`: expected unix:///path or tcp://host:port"
            )));
        };
        let address = address.trim_end_matches('/');
        let (host_name, port) = crate::target::split_host_port(address)
            .ok_or_else(|| Error::docker(format!("DOCKER_HOST `{host}`: bad host or port")))?;
        let port = port.unwrap_or(if verify { 2376 } else { 2375 });
        let tcp = Endpoint::tcp(host_name.clone(), port);
        if !verify {
            return Ok(DockerHost {
                endpoint: tcp,
                tls: None,
            });
        }
        let dir = match set("DOCKER_CERT_PATH") {
            Some(dir) => PathBuf::from(dir),
            None => set("HOME")
                .map(|home| PathBuf::from(home).join(".docker"))
                .ok_or_else(|| {
                    Error::docker(
                        "DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME is",
                    )
                })?,
        };
        let tls = Tls::builder()
            .without_webpki_roots()
            .add_ca_file(dir.join("ca.pem"))
            .client_cert_files(dir.join("cert.pem"), dir.join("key.pem"))
            .build()
            .map_err(|tls| Kind::Docker {
                why: format!(
                    "DOCKER_TLS_VERIFY is set and the TLS files in {} are unusable",
                    dir.display()
                ),
                tls: Some(tls),
            })?;
        Ok(DockerHost {
            endpoint: Endpoint::tls(host_name, tcp),
            tls: Some(tls),
        })
    }

    /// Where the daemon is.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The TLS layer with Docker's CA and client certificate, when TLS is on.
    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// The URI to put API paths after: `http+unix://%2Fvar%2Frun%2Fdocker.sock`,
    /// `http://host:2375` or `https://host:2376`.
    pub fn base_uri(&self) -> String {
        match &self.endpoint {
            Endpoint::Unix(path) => Target::unix_socket_uri(path, ""),
            Endpoint::Tls { inner, .. } => format!("https{}", &inner.to_string()[3..]),
            other => format!("http{}", &other.to_string()[3..]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (`fuzz/corpus/conduit_endpoint/query-in-socket-path`):
    /// a `?` in the socket path was left in the base URI, where it began a
    /// query and cut the path short.
    #[test]
    fn the_base_uri_names_the_socket_whatever_its_path_holds() {
        for path in [
            "/ru\u{1}?x",
            "/run/a#b",
            "/tmp/100%/d s@:x.sock",
            "/caf\u{e9}",
        ] {
            let docker = DockerHost::from_vars(|name| {
                (name == "DOCKER_HOST").then(|| format!("unix://{path}"))
            })
            .expect("an absolute socket path");
            let base = docker.base_uri();
            let target: Target = base.parse().expect("the base URI reads");
            assert_eq!(
                target.unix_path(),
                Some(std::path::Path::new(path)),
                "{base}"
            );
            assert_eq!(target.path_and_query(), "/", "{base}");
        }
    }
}
