//! `--listen` addresses, and the TLS identity for `tls://` ones.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use conduit::listener::{Identity, TlsAcceptor};

/// The port of a `tcp://` address given without one.
pub const DEFAULT_TCP_PORT: u16 = 8000;
/// The port of a `tls://` address given without one.
pub const DEFAULT_TLS_PORT: u16 = 8443;

/// Where to listen, as given to `--listen`:
///
/// - `tcp://ADDR[:PORT]`: clear text, HTTP/1.1 and HTTP/2 (prior knowledge
///   or `Upgrade: h2c`); `tcp://[::]:PORT` accepts IPv4 and IPv6;
/// - `tls://ADDR[:PORT]`: TLS, HTTP/2 or HTTP/1.1 by ALPN;
/// - `unix:///PATH` (or `unix:PATH`): a Unix socket, clear text;
/// - `ADDR:PORT`: the same as `tcp://ADDR:PORT`.
///
/// `ADDR` is an IP address (IPv6 in brackets) or `localhost`, which means
/// `127.0.0.1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenUri {
    /// Clear-text TCP.
    Tcp(SocketAddr),
    /// TLS over TCP.
    Tls(SocketAddr),
    /// A Unix socket.
    Unix(PathBuf),
}

impl FromStr for ListenUri {
    type Err = String;

    fn from_str(uri: &str) -> Result<ListenUri, String> {
        if let Some(path) = uri.strip_prefix("unix:") {
            // `unix:///abs`, `unix://rel` and `unix:rel` all name a path.
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("`unix:` needs a socket path, as in `unix:///tmp/paf.sock`".into());
            }
            return Ok(ListenUri::Unix(PathBuf::from(path)));
        }
        if let Some(authority) = uri.strip_prefix("tcp://") {
            return socket_addr(authority, DEFAULT_TCP_PORT).map(ListenUri::Tcp);
        }
        if let Some(authority) = uri.strip_prefix("tls://") {
            return socket_addr(authority, DEFAULT_TLS_PORT).map(ListenUri::Tls);
        }
        if let Some((scheme, _)) = uri.split_once("://") {
            return Err(format!(
                "unknown scheme `{scheme}`: use tcp://ADDR:PORT, tls://ADDR:PORT or unix:///PATH"
            ));
        }
        match uri.parse::<SocketAddr>() {
            Ok(addr) => Ok(ListenUri::Tcp(addr)),
            Err(_) => Err(format!(
                "`{uri}` is not an address to listen on: use tcp://ADDR:PORT, tls://ADDR:PORT, \
                 unix:///PATH or ADDR:PORT (such as 127.0.0.1:8000 or [::]:8080)"
            )),
        }
    }
}

/// `ADDR[:PORT][/]`.
fn socket_addr(authority: &str, default_port: u16) -> Result<SocketAddr, String> {
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    if let Ok(addr) = authority.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = match authority.rsplit_once(':') {
        // A colon inside brackets belongs to an IPv6 address.
        Some((host, port)) if !port.contains(']') && !host.is_empty() => {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("`{port}` is not a port number (0 to 65535)"))?;
            (host, port)
        }
        _ => (authority, default_port),
    };
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    match bare.parse::<IpAddr>() {
        Ok(ip) if host.starts_with('[') == ip.is_ipv6() => Ok(SocketAddr::new(ip, port)),
        Ok(_) => Err(format!(
            "`{host}`: IPv6 addresses go in brackets, as in [::1]"
        )),
        Err(_) => Err(format!(
            "`{host}` is not an IP address: listen on an address such as 127.0.0.1, 0.0.0.0 \
             or [::] (or localhost)"
        )),
    }
}

impl fmt::Display for ListenUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenUri::Tcp(addr) => write!(f, "tcp://{addr}"),
            ListenUri::Tls(addr) => write!(f, "tls://{addr}"),
            ListenUri::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

/// The certificate of the TLS listeners.
#[derive(Debug)]
pub(crate) struct Certificate {
    /// The acceptor every TLS listener shares.
    pub(crate) acceptor: TlsAcceptor,
    /// The file a self-signed certificate was written to, removed when
    /// dropped.
    pub(crate) written: Option<WrittenCert>,
}

/// The names a self-signed certificate is made for.
pub(crate) const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

impl Certificate {
    /// The certificate and key from PEM files.
    pub(crate) fn from_files(
        cert: &Path,
        key: &Path,
        alpn: &[&str],
    ) -> Result<Certificate, String> {
        let identity = Identity::from_pem_files(cert, key).map_err(|err| format!("{err:#}"))?;
        Certificate::new(identity, alpn, None)
    }

    /// A certificate made on the spot for `localhost`, `127.0.0.1` and
    /// `::1`, whose PEM is written to a new file in the temporary
    /// directory (for clients to trust); the key stays in memory.
    pub(crate) fn self_signed(alpn: &[&str]) -> Result<Certificate, String> {
        let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|s| s.to_string()).collect();
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|err| format!("cannot make a self-signed certificate: {err}"))?;
        let pem = certified.cert.pem();
        let identity = Identity::from_pem(
            pem.as_bytes(),
            certified.signing_key.serialize_pem().as_bytes(),
        )
        .map_err(|err| format!("{err:#}"))?;
        let written = WrittenCert::create(pem.as_bytes())?;
        Certificate::new(identity, alpn, Some(written))
    }

    /// The certificate an ACME manager provides and renews (none until it
    /// has one).
    pub(crate) fn acme(acme: &acme::Acme, alpn: &[&str]) -> Result<Certificate, String> {
        let config = acme
            .server_config(alpn)
            .map_err(|err| format!("--acme: {err:#}"))?;
        Ok(Certificate {
            acceptor: TlsAcceptor::from_config(config),
            written: None,
        })
    }

    fn new(
        identity: Identity,
        alpn: &[&str],
        written: Option<WrittenCert>,
    ) -> Result<Certificate, String> {
        let acceptor = TlsAcceptor::builder()
            .identity(identity)
            .alpn(alpn)
            .build()
            .map_err(|err| format!("{err:#}"))?;
        Ok(Certificate { acceptor, written })
    }
}

/// A certificate file this process wrote; removed when dropped.
#[derive(Debug)]
pub(crate) struct WrittenCert {
    /// Where.
    pub(crate) path: PathBuf,
}

impl WrittenCert {
    /// Writes `pem` to a file of its own in the temporary directory. The
    /// file is created, never opened if it exists (a link planted there is
    /// not followed).
    fn create(pem: &[u8]) -> Result<WrittenCert, String> {
        let dir = std::env::temp_dir();
        let pid = std::process::id();
        let mut last = None;
        for attempt in 0..100 {
            let path = dir.join(format!("paf-server-{pid}-{attempt}.pem"));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&path)
            {
                Ok(mut file) => {
                    let written = WrittenCert { path };
                    file.write_all(pem)
                        .map_err(|err| format!("cannot write {}: {err}", written.path.display()))?;
                    return Ok(written);
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => last = Some(err),
                Err(err) => return Err(format!("cannot create {}: {err}", path.display())),
            }
        }
        let err = last.map_or_else(String::new, |err| err.to_string());
        Err(format!(
            "cannot create a certificate file in {}: {err}",
            dir.display()
        ))
    }
}

impl Drop for WrittenCert {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listen_uris() {
        let tcp = |s: &str| ListenUri::Tcp(s.parse().expect("a socket address"));
        let tls = |s: &str| ListenUri::Tls(s.parse().expect("a socket address"));
        let cases = [
            ("tcp://127.0.0.1:8080", tcp("127.0.0.1:8080")),
            ("tcp://[::]:8080", tcp("[::]:8080")),
            ("tcp://[::1]:8080/", tcp("[::1]:8080")),
            ("tcp://0.0.0.0", tcp("0.0.0.0:8000")),
            ("tcp://[::]", tcp("[::]:8000")),
            ("tcp://localhost:9000", tcp("127.0.0.1:9000")),
            ("tls://0.0.0.0:8443", tls("0.0.0.0:8443")),
            ("tls://127.0.0.1", tls("127.0.0.1:8443")),
            ("127.0.0.1:0", tcp("127.0.0.1:0")),
            ("[::]:80", tcp("[::]:80")),
            ("unix:///tmp/s.sock", ListenUri::Unix("/tmp/s.sock".into())),
            ("unix:s.sock", ListenUri::Unix("s.sock".into())),
            ("unix://s.sock", ListenUri::Unix("s.sock".into())),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<ListenUri>(), Ok(want), "{text}");
        }
        for bad in [
            "http://127.0.0.1:80",
            "tcp://example.com:80",
            "tcp://127.0.0.1:99999",
            "tcp://::1:80",
            "tcp://[127.0.0.1]:80",
            "unix:",
            "unix://",
            "8080",
            "",
        ] {
            assert!(bad.parse::<ListenUri>().is_err(), "{bad}");
        }
        assert_eq!(tcp("[::]:8080").to_string(), "tcp://[::]:8080");
    }

    #[test]
    fn self_signed_certificate_is_written_and_removed() {
        let cert = Certificate::self_signed(&["h2", "http/1.1"]).expect("a certificate");
        let path = cert.written.as_ref().expect("written").path.clone();
        let pem = std::fs::read_to_string(&path).expect("the PEM file");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        drop(cert);
        assert!(!path.exists());
    }
}
