//! A fresh self-signed certificate for `localhost`, and TLS listeners
//! serving it on loopback ports.

use std::path::PathBuf;

use conduit::listener::{Identity, TcpListener, TlsAcceptor, TlsListener};

use super::TempDir;

/// A self-signed certificate for `localhost`, its PEM also written to a
/// temporary file for clients to trust (`curl --cacert`).
pub struct SelfSigned {
    dir: TempDir,
    identity: Identity,
}

impl SelfSigned {
    /// A new certificate and key for `localhost`.
    pub fn localhost() -> SelfSigned {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert_pem = cert.cert.pem();
        let key_pem = cert.signing_key.serialize_pem();
        let dir = TempDir::new("tls");
        std::fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
        let identity = Identity::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
        SelfSigned { dir, identity }
    }

    /// The PEM file of the certificate.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// A TLS listener on a loopback port, advertising `alpn` (most
    /// preferred first); also returns the port.
    pub fn listener<P: AsRef<[u8]>>(
        &self,
        alpn: impl IntoIterator<Item = P>,
    ) -> (TlsListener<TcpListener>, u16) {
        let acceptor = TlsAcceptor::builder()
            .identity(self.identity.clone())
            .alpn(alpn)
            .build()
            .unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = tcp.local_socket_addr().port();
        (TlsListener::new(tcp, acceptor), port)
    }
}

/// curl's `--resolve` value sending `localhost:port` to 127.0.0.1, so the
/// certificate's name matches.
pub fn resolve(port: u16) -> String {
    format!("localhost:{port}:127.0.0.1")
}
