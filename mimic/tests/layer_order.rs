//! Where a layer goes in the stack: `Ctx::with_protocol_before` puts it
//! beneath TLS (as a proxy tunnel must be), while a layer added after the
//! built-ins wraps TLS. Checked on the wire, not just in the flow's info: the
//! layer writes a marker byte, and the server reads it either before the TLS
//! handshake or inside the TLS session.

use std::io;
use std::sync::{Arc, Mutex};

use mimic::{Ctx, Flow, Info, Key, Layer, Registration, mem, tls};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

/// The marker layer's endpoint: the byte it writes.
static MARKER: Key<u8> = Key::new("marker byte");

/// Writes its byte on the inner flow, then passes the flow through; notes
/// whether the flow it was given was already TLS.
#[derive(Clone, Default)]
struct Marker {
    saw_tls_beneath: Arc<Mutex<Vec<bool>>>,
}

impl Layer for Marker {
    type Endpoint = u8;
    type Flow = Flow;

    async fn connect(&self, byte: &u8, mut inner: Flow) -> io::Result<Flow> {
        self.saw_tls_beneath
            .lock()
            .expect("not poisoned")
            .push(inner.info().tls().is_some());
        inner.write_all(&[*byte]).await?;
        Ok(inner)
    }

    fn info(&self, _byte: &u8, _flow: &Flow, inner: Info) -> Info {
        inner
    }
}

fn registration(marker: Marker) -> Registration<u8> {
    Registration::layer_with_key(&MARKER, "mylayer", tls::PRIORITY, marker)
}

struct Pki {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

fn pki() -> Pki {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("self-signed certificate");
    let chain = vec![CertificateDer::from(cert.cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("certificate and key");
    Pki {
        ca_pem: cert.cert.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    }
}

/// Where the server expects the marker byte.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// In clear text, before the TLS handshake.
    BeforeTls,
    /// As the first byte inside the TLS session.
    InsideTls,
}

/// Accepts one connection on `name`, reads the marker where `expect` says,
/// and answers `marker:<byte>` inside TLS; any other first byte fails the
/// handshake or the read.
fn serve(hub: &mem::Hub, name: &str, acceptor: TlsAcceptor, expect: Expect) {
    let mut listener = hub.bind(name).expect("bind");
    tokio::spawn(async move {
        let Ok(mut flow) = listener.accept().await else {
            return;
        };
        let mut byte = [0];
        if let Expect::BeforeTls = expect
            && flow.read_exact(&mut byte).await.is_err()
        {
            return;
        }
        let Ok(mut session) = acceptor.accept(flow).await else {
            return;
        };
        if let Expect::InsideTls = expect
            && session.read_exact(&mut byte).await.is_err()
        {
            return;
        }
        let answer = format!("marker:{}", char::from(byte[0]));
        let _ = session.write_all(answer.as_bytes()).await;
        let _ = session.shutdown().await;
    });
}

/// A context with `mem` to `name` and the TLS layer trusting `pki`, in the
/// order `with_builtins` and a resolver's base context have: protocols, then
/// `tls` last.
fn base(hub: &mem::Hub, name: &str, pki: &Pki) -> Ctx {
    let tls = tls::Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(pki.ca_pem.clone())
        .build()
        .expect("client TLS configuration");
    tls.install(Ctx::new().with_protocol(&mem::registration(hub.clone())))
        .with(&mem::ADDRESS, name.to_string())
        .with(&tls::SERVER_NAME, "localhost".to_string())
}

async fn read_answer<S: AsyncRead + AsyncWrite + Unpin>(flow: &mut S) -> String {
    let mut answer = String::new();
    flow.read_to_string(&mut answer)
        .await
        .expect("the server answers");
    answer
}

#[tokio::test]
async fn with_protocol_before_puts_a_layer_beneath_tls() {
    let pki = pki();
    let hub = mem::Hub::new();
    serve(&hub, "origin", pki.acceptor.clone(), Expect::BeforeTls);
    let marker = Marker::default();
    let ctx = base(&hub, "origin", &pki)
        .with_protocol_before(&registration(marker.clone()), "tls")
        .with(&MARKER, b'B');
    let mut flow = ctx.resolve().await.expect("mylayer beneath tls connects");

    let info = flow.info();
    assert_eq!(
        info.protocols().collect::<Vec<_>>(),
        ["tls", "mylayer", "mem"]
    );
    assert_eq!(info.protocol(), "tls");
    assert!(info.tls().is_some(), "the outermost layer is TLS");
    assert_eq!(
        *marker.saw_tls_beneath.lock().expect("not poisoned"),
        [false]
    );
    assert_eq!(read_answer(&mut flow).await, "marker:B");
}

#[tokio::test]
async fn a_layer_added_after_the_builtins_wraps_tls() {
    let pki = pki();
    let hub = mem::Hub::new();
    serve(&hub, "origin", pki.acceptor.clone(), Expect::InsideTls);
    let marker = Marker::default();
    let ctx = base(&hub, "origin", &pki)
        .with_protocol(&registration(marker.clone()))
        .with(&MARKER, b'A');
    let mut flow = ctx.resolve().await.expect("mylayer over tls connects");

    assert_eq!(
        flow.info().protocols().collect::<Vec<_>>(),
        ["mylayer", "tls", "mem"]
    );
    assert_eq!(
        *marker.saw_tls_beneath.lock().expect("not poisoned"),
        [true]
    );
    assert_eq!(read_answer(&mut flow).await, "marker:A");
}

#[tokio::test]
async fn the_plan_shows_the_same_order() {
    let pki = pki();
    let hub = mem::Hub::new();
    let beneath = base(&hub, "origin", &pki)
        .with_protocol_before(&registration(Marker::default()), "tls")
        .with(&MARKER, b'B');
    let over = base(&hub, "origin", &pki)
        .with_protocol(&registration(Marker::default()))
        .with(&MARKER, b'A');
    let label = |report: mimic::report::Report| {
        let entries = report.entries();
        assert_eq!(entries.len(), 1, "one candidate: {report}");
        entries[0].protocol.to_string()
    };
    assert_eq!(label(beneath.explain().await), "tls/mylayer/mem");
    assert_eq!(label(over.explain().await), "mylayer/tls/mem");
    // The description reads outermost first, too.
    let report = beneath.explain().await;
    let endpoint = report.entries()[0].endpoint.clone().unwrap_or_default();
    let (tls_at, marker_at) = (endpoint.find("localhost"), endpoint.find("66"));
    assert!(
        tls_at.is_some() && marker_at.is_some() && tls_at < marker_at,
        "{endpoint}"
    );
}

#[tokio::test]
async fn registering_before_an_absent_name_appends() {
    let pki = pki();
    let hub = mem::Hub::new();
    serve(&hub, "origin", pki.acceptor.clone(), Expect::InsideTls);
    let marker = Marker::default();
    let ctx = base(&hub, "origin", &pki)
        .with_protocol_before(&registration(marker.clone()), "no-such-protocol")
        .with(&MARKER, b'Z');
    let mut flow = ctx.resolve().await.expect("connects");
    assert_eq!(
        flow.info().protocols().collect::<Vec<_>>(),
        ["mylayer", "tls", "mem"]
    );
    assert_eq!(read_answer(&mut flow).await, "marker:Z");
}

#[tokio::test]
async fn registering_again_moves_rather_than_duplicates() {
    let pki = pki();
    let hub = mem::Hub::new();
    serve(&hub, "origin", pki.acceptor.clone(), Expect::BeforeTls);
    let marker = Marker::default();
    let registration = registration(marker.clone());
    // Wrapping TLS first, then moved beneath it: one layer, beneath.
    let ctx = base(&hub, "origin", &pki)
        .with_protocol(&registration)
        .with_protocol_before(&registration, "tls")
        .with(&MARKER, b'M');
    let debug = format!("{ctx:?}");
    assert_eq!(debug.matches("mylayer").count(), 1, "{debug}");
    let mut flow = ctx.resolve().await.expect("connects");
    assert_eq!(
        flow.info().protocols().collect::<Vec<_>>(),
        ["tls", "mylayer", "mem"]
    );
    assert_eq!(
        *marker.saw_tls_beneath.lock().expect("not poisoned"),
        [false]
    );
    assert_eq!(read_answer(&mut flow).await, "marker:M");
}
