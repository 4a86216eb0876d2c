//! [`Acme`]: the certificate manager, from the cache or the CA to the
//! listeners, renewed for as long as it runs.

use std::fmt;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime};

use instant_acme::Account;
use rustls::ServerConfig;
use tokio::sync::Mutex;

use crate::account::{account, forget};
use crate::builder::AcmeBuilder;
use crate::cache::{Cache, Secrecy};
use crate::certificate::{CertificateInfo, Certified};
use crate::challenges::Challenges;
use crate::error::Error;
use crate::event::{Event, Reporter};
use crate::http01::Http01Layer;
use crate::issue::{Issued, PLACE_THE_ORDER, Request, issue};
use crate::resolver::CertResolver;
use crate::settings::Settings;
use crate::transport::PafHttp;

/// Gets a certificate for some names from an ACME CA, serves it through
/// [`CertResolver`], and renews it ahead of expiry.
///
/// Clones share everything. Typical use: build it, put
/// [`server_config`](Acme::server_config) in conduit's `TlsAcceptor` and
/// [`http01_layer`](Acme::http01_layer) in front of the handler, start
/// serving, then spawn [`run`](Acme::run).
///
/// ```no_run
/// use conduit::listener::{TcpListener, TlsAcceptor, TlsListener};
/// use conduit::serve::Server;
/// use paf::server::{Auto, Serve};
/// use tower_layer::Layer;
///
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// let acme = acme::Acme::builder()
///     .name("example.com")
///     .contact("ops@example.com")
///     .accept_terms()
///     .cache("/var/lib/paf/acme")
///     .build()?;
/// let auto = Auto::new();
/// let acceptor = TlsAcceptor::from_config(acme.server_config(&auto.alpn_protocols())?);
/// let site = paf::service_fn(|_req: http::Request<paf::Body>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(paf::Body::full("hello")))
/// });
/// let handler = acme.http01_layer().layer(site);
/// let _server = Server::builder()
///     .listener(TcpListener::bind("[::]:80".parse()?)?)
///     .listener(TlsListener::new(TcpListener::bind("[::]:443".parse()?)?, acceptor))
///     .serve(auto.handler(handler));
/// // Loads or orders the certificate, then renews it, for ever.
/// tokio::spawn(acme.run());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Acme {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    client: paf::Client,
    cache: Option<Cache>,
    challenges: Challenges,
    resolver: Arc<CertResolver>,
    events: Reporter,
    /// The account, once made or read; held while an order is in flight,
    /// so that orders never overlap.
    account: Mutex<Option<Account>>,
    current: std::sync::Mutex<Option<Certified>>,
}

impl fmt::Debug for Acme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acme")
            .field("settings", &self.inner.settings)
            .field("certificate", &self.certificate())
            .finish_non_exhaustive()
    }
}

impl AcmeBuilder {
    /// The manager. Fails on a setting that cannot work (no name, terms
    /// not accepted, a malformed contact or root); nothing is sent yet.
    pub fn build(self) -> Result<Acme, Error> {
        let settings = self.settings()?;
        let client = match self.client.clone() {
            Some(client) => client,
            None => PafHttp::client_with_roots(&self.root_pems()?)?,
        };
        let cache = settings
            .cache
            .as_deref()
            .map(|dir| Cache::new(dir, &settings.directory, &settings.names));
        let challenges = Challenges::default();
        Ok(Acme {
            inner: Arc::new(Inner {
                resolver: Arc::new(CertResolver::new(challenges.clone())),
                challenges,
                settings,
                client,
                cache,
                events: Reporter { hook: self.hook },
                account: Mutex::new(None),
                current: std::sync::Mutex::new(None),
            }),
        })
    }
}

impl Acme {
    /// A builder, to give the names, the CA and the rest.
    pub fn builder() -> AcmeBuilder {
        AcmeBuilder::default()
    }

    /// The resolver TLS listeners take their certificate from.
    pub fn resolver(&self) -> Arc<CertResolver> {
        self.inner.resolver.clone()
    }

    /// A rustls configuration for conduit's `TlsAcceptor::from_config`:
    /// the resolver's certificate, ALPN `alpn` plus `acme-tls/1`.
    pub fn server_config(&self, alpn: &[&str]) -> Result<Arc<ServerConfig>, Error> {
        self.inner.resolver.server_config(alpn)
    }

    /// The tower layer that answers HTTP-01 in front of a handler.
    pub fn http01_layer(&self) -> Http01Layer {
        Http01Layer::new(self.inner.challenges.clone())
    }

    /// The certificate being served, if any.
    pub fn certificate(&self) -> Option<CertificateInfo> {
        let current = self
            .inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        current.as_ref().map(|c| c.info.clone())
    }

    /// Serves the cached certificate, if the cache has one for these
    /// names that has not expired. Whether it did.
    pub fn load_cached(&self) -> Result<Option<CertificateInfo>, Error> {
        let Some(cache) = &self.inner.cache else {
            return Ok(None);
        };
        let (Some(chain), Some(key)) = (
            cache.read(&cache.cert_path())?,
            cache.read(&cache.key_path())?,
        ) else {
            return Ok(None);
        };
        let pems = String::from_utf8(chain)
            .ok()
            .zip(String::from_utf8(key).ok());
        let certified = pems
            .ok_or("not UTF-8".to_string())
            .and_then(|(chain, key)| {
                Certified::from_pem(chain, key).map_err(|err| format!("{err:#}"))
            });
        let certified = match certified {
            Ok(certified) if certified.info.not_after > SystemTime::now() => certified,
            Ok(_) => return Ok(None),
            Err(reason) => {
                let path = cache.cert_path();
                tracing::warn!(target: "acme", "{}: {reason}; ordering anew", path.display());
                return Ok(None);
            }
        };
        Ok(Some(self.install(certified, false)))
    }

    /// Orders a certificate now, whatever the current one's age, serves it
    /// once issued and caches it (a cache that cannot be written is logged,
    /// and the certificate served all the same). An account the CA no
    /// longer knows or accepts is replaced by a new one, and the order
    /// placed again, once. The error carries the CA's problem document,
    /// per challenge when a challenge failed.
    pub async fn order(&self) -> Result<CertificateInfo, Error> {
        let mut account = self.inner.account.lock().await;
        let issued = match self.issue(&mut account).await {
            Err(err) if unknown_account(&err) => {
                self.forget_account(&mut account, &err);
                self.issue(&mut account).await
            }
            issued => issued,
        };
        if let Err(err) = &issued
            && unknown_account(err)
        {
            self.forget_account(&mut account, err);
        }
        let issued = issued?;
        let certified = Certified::from_pem(issued.chain_pem, issued.key_pem)?;
        // Served even if the disk fails: a restart would order again, but
        // until then the certificate is good.
        if let Err(err) = self.store(&certified) {
            tracing::warn!(target: "acme", "the new certificate is not cached: {err:#}");
        }
        Ok(self.install(certified, true))
    }

    /// One order with the account in `slot`, made or read first if there
    /// is none.
    async fn issue(&self, slot: &mut Option<Account>) -> Result<Issued, Error> {
        let account = match slot {
            Some(account) => account,
            empty => empty.insert(self.account().await?),
        };
        let replaces = self.ari(account).await.and(self.current_ari_id());
        let request = Request {
            names: &self.inner.settings.names,
            kind: self.inner.settings.kind,
            challenges: &self.inner.challenges,
            replaces,
            patience: self.inner.settings.patience,
        };
        issue(account, request, &self.inner.events).await
    }

    /// Drops an account the CA no longer knows or accepts, from memory and
    /// from the cache, so that the next attempt registers a new one.
    fn forget_account(&self, slot: &mut Option<Account>, err: &Error) {
        tracing::warn!(target: "acme", "{err:#}; registering a new account");
        *slot = None;
        if let Some(cache) = &self.inner.cache
            && let Err(err) = forget(cache)
        {
            tracing::warn!(target: "acme", "{err:#}");
        }
    }

    /// Writes the key, then the chain, to the cache (the key first: a
    /// chain without its key is useless, and a mismatched pair is refused
    /// when read back).
    fn store(&self, certified: &Certified) -> Result<(), Error> {
        let Some(cache) = &self.inner.cache else {
            return Ok(());
        };
        let key = certified.key_pem.as_bytes();
        cache.write(&cache.key_path(), key, Secrecy::Private)?;
        let chain = certified.chain_pem.as_bytes();
        cache.write(&cache.cert_path(), chain, Secrecy::Public)
    }

    /// Serves the cached certificate, and orders a new one when there is
    /// none or its renewal time (two thirds of its lifetime) has passed.
    pub async fn ensure(&self) -> Result<CertificateInfo, Error> {
        match self.load_cached()? {
            Some(info) if info.two_thirds() > SystemTime::now() => Ok(info),
            _ => self.order().await,
        }
    }

    /// When the current certificate is due for renewal, and by which rule:
    /// the CA's renewal information (RFC 9773) when it offers it, else two
    /// thirds of the lifetime. `None` when there is no certificate yet.
    pub async fn renewal_due(&self) -> Option<(SystemTime, &'static str)> {
        let info = self.certificate()?;
        let account = self.inner.account.lock().await.clone();
        if let Some(account) = account
            && let Some(at) = self.ari(&account).await
        {
            return Some((at, "renewal information"));
        }
        Some((info.two_thirds(), "two thirds of the lifetime"))
    }

    /// Keeps a certificate in place for as long as it runs: the one
    /// served already, else the cached one, else a new one, then each
    /// renewal when due, with back-off after failures (reported as
    /// [`Event::Failed`]). Spawn it; it never returns.
    pub async fn run(self) {
        // A certificate already served (by `ensure` or `order`) may be
        // newer than the cache's, if it could not be cached.
        if !self.inner.resolver.has_certificate()
            && let Err(err) = self.load_cached()
        {
            tracing::warn!(target: "acme", "cannot read the cache: {err:#}");
        }
        let mut failures = 0;
        loop {
            let due = self.renewal_due().await;
            if let Some((at, by)) = due
                && at > SystemTime::now()
            {
                self.inner.events.emit(Event::RenewalScheduled { at, by });
                sleep_until(at).await;
            }
            match self.order().await {
                Ok(_) => failures = 0,
                Err(error) => {
                    failures += 1;
                    let retry_in = self.retry_in(failures, &error);
                    self.inner.events.emit(Event::Failed {
                        error: &error,
                        retry_in,
                    });
                    tokio::time::sleep(retry_in).await;
                }
            }
        }
    }

    /// The wait after `failures` failures in a row.
    fn retry_in(&self, failures: u32, error: &Error) -> Duration {
        let backoff = self.inner.settings.backoff;
        match error.is_transient() {
            true => backoff.after(failures),
            // Settings or the disk need a person: no point hurrying.
            false => backoff.max,
        }
    }

    /// Serves `certified` from now on.
    fn install(&self, certified: Certified, issued: bool) -> CertificateInfo {
        let info = certified.info.clone();
        self.inner.resolver.install(certified.key.clone());
        *self
            .inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(certified);
        self.inner.events.emit(Event::CertificateInstalled {
            names: &info.names,
            not_after: info.not_after,
            issued,
        });
        info
    }

    async fn account(&self) -> Result<Account, Error> {
        let http = Box::new(PafHttp::new(self.inner.client.clone()));
        let cache = self.inner.cache.as_ref();
        account(&self.inner.settings, cache, http, &self.inner.events).await
    }

    /// The current certificate's renewal identifier.
    fn current_ari_id(&self) -> Option<instant_acme::CertificateIdentifier<'static>> {
        let current = self
            .inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        current.as_ref()?.ari_id.clone()
    }

    /// A time in the CA's suggested renewal window for the current
    /// certificate; `None` when the CA offers no renewal information.
    async fn ari(&self, account: &Account) -> Option<SystemTime> {
        let id = self.current_ari_id()?;
        let (info, _) = account.renewal_info(&id).await.ok()?;
        let start = SystemTime::from(info.suggested_window.start);
        let end = SystemTime::from(info.suggested_window.end);
        let span = end.duration_since(start).unwrap_or(Duration::ZERO);
        // RFC 9773 asks for a random point, so that clients spread out.
        Some(start + span.mul_f64(jitter()))
    }
}

/// Whether the CA refused to place an order because it no longer knows
/// the account, or no longer accepts it (deactivated, revoked).
fn unknown_account(err: &Error) -> bool {
    let Error::Ca { during, problem } = err else {
        return false;
    };
    *during == PLACE_THE_ORDER
        && matches!(
            problem.short_kind(),
            Some("accountDoesNotExist" | "unauthorized")
        )
}

/// A number in [0, 1) that differs from run to run, without a random
/// number generator: the clock's nanoseconds.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos) / 1e9
}

/// Sleeps until the wall clock reaches `at`, checking it at least hourly
/// (a suspended machine does not advance tokio's clock).
async fn sleep_until(at: SystemTime) {
    while let Ok(left) = at.duration_since(SystemTime::now()) {
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(Duration::from_secs(3600))).await;
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use conduit::listener::TcpListener;
    use conduit::serve::Server;
    use http::{Method, Request, Response, StatusCode};
    use paf::Body;
    use paf::server::{Auto, Serve};
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    use super::*;
    use crate::error::Problem;

    /// 2030-01-01T00:00:00Z and a day later: the window the fake CA offers.
    const WINDOW: (u64, u64) = (1_893_456_000, 1_893_542_400);

    /// How the fake CA answers a new order, given its JSON payload.
    type Orders = fn(&str) -> (StatusCode, String);

    /// What the fake CA was asked: `METHOD /path`, and ` replaces` after
    /// new orders naming the certificate they replace.
    #[derive(Clone, Default)]
    struct Log(Arc<std::sync::Mutex<Vec<String>>>);

    impl Log {
        fn count(&self, line: &str) -> usize {
            let all = self.0.lock().expect("not poisoned");
            all.iter().filter(|l| *l == line).count()
        }

        fn all(&self) -> Vec<String> {
            self.0.lock().expect("not poisoned").clone()
        }
    }

    /// A CA that offers renewal information: a directory, nonces, accounts,
    /// one renewal window for every certificate, and new orders answered
    /// by `orders`.
    fn fake_ca(orders: Orders) -> (Server, String, Log) {
        let listener =
            TcpListener::bind("127.0.0.1:0".parse().expect("an address")).expect("a loopback port");
        let base = format!("http://{}", listener.local_socket_addr());
        let at = base.clone();
        let log = Log::default();
        let seen = log.clone();
        let handler = paf::service_fn(move |req: Request<Body>| {
            let (base, seen) = (at.clone(), seen.clone());
            async move {
                let (parts, body) = req.into_parts();
                let payload = payload(body).await;
                let replaces = if payload.contains("\"replaces\"") {
                    " replaces"
                } else {
                    ""
                };
                let line = format!("{} {}{replaces}", parts.method, parts.uri.path());
                seen.0.lock().expect("not poisoned").push(line);
                Ok::<_, Infallible>(answer(&base, &parts, &payload, orders))
            }
        });
        let server = Server::builder()
            .listener(listener)
            .serve(Auto::new().handler(handler));
        (server, base, log)
    }

    fn answer(
        base: &str,
        req: &http::request::Parts,
        payload: &str,
        orders: Orders,
    ) -> Response<Body> {
        let (status, body) = match (&req.method, req.uri.path()) {
            (&Method::GET, "/dir") => (
                StatusCode::OK,
                format!(
                    r#"{{"newNonce": "{base}/nonce", "newAccount": "{base}/account",
                    "newOrder": "{base}/order", "renewalInfo": "{base}/ari"}}"#
                ),
            ),
            (&Method::HEAD, "/nonce") => (StatusCode::OK, String::new()),
            (&Method::POST, "/account") => (StatusCode::CREATED, "{}".to_string()),
            (&Method::POST, "/order") => orders(payload),
            (&Method::GET, p) if p.starts_with("/ari/") => (
                StatusCode::OK,
                r#"{"suggestedWindow": {"start": "2030-01-01T00:00:00Z",
                "end": "2030-01-02T00:00:00Z"}}"#
                    .to_string(),
            ),
            _ => (StatusCode::NOT_FOUND, String::new()),
        };
        Response::builder()
            .status(status)
            .header("replay-nonce", "nonce")
            .header("location", format!("{base}/account/1"))
            .header("retry-after", "21600")
            .body(Body::full(body))
            .expect("a valid response")
    }

    /// A problem document of type `kind`.
    fn problem(status: StatusCode, kind: &str) -> (StatusCode, String) {
        let body = format!(
            r#"{{"type": "urn:ietf:params:acme:error:{kind}", "detail": "the fake CA says {kind}",
            "status": {}}}"#,
            status.as_u16()
        );
        (status, body)
    }

    /// The decoded payload of a JWS request body; empty for other bodies.
    async fn payload(body: Body) -> String {
        use http_body::Body as _;
        let mut body = std::pin::pin!(body);
        let mut bytes = Vec::new();
        while let Some(Ok(frame)) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            if let Ok(data) = frame.into_data() {
                bytes.extend_from_slice(&data);
            }
        }
        let jws: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let encoded = jws["payload"].as_str().unwrap_or_default();
        String::from_utf8_lossy(&base64url(encoded)).into_owned()
    }

    fn base64url(text: &str) -> Vec<u8> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            _ => 63,
        };
        let (mut bits, mut held, mut out) = (0u32, 0, Vec::new());
        for c in text.bytes() {
            bits = (bits << 6 | u32::from(value(c))) & 0xffff;
            held += 6;
            if held >= 8 {
                held -= 8;
                out.push((bits >> held) as u8);
            }
        }
        out
    }

    /// A manager for the fake CA at `base` for `a.test`.
    fn manager(base: &str, cache: Option<&std::path::Path>) -> Acme {
        let mut builder = Acme::builder()
            .directory(format!("{base}/dir"))
            .name("a.test")
            .accept_terms();
        if let Some(cache) = cache {
            builder = builder.cache(cache);
        }
        builder.build().expect("valid settings")
    }

    /// A certificate chain with an authority key identifier (which ARI
    /// needs), and its key.
    fn chain() -> (String, String) {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().expect("a CA key");
        let ca_cert = ca.self_signed(&ca_key).expect("a CA certificate");
        let issuer = Issuer::new(ca, ca_key);
        let mut leaf = CertificateParams::new(vec!["a.test".to_string()]).expect("parameters");
        leaf.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("a key");
        let cert = leaf.signed_by(&key, &issuer).expect("a certificate");
        (cert.pem() + &ca_cert.pem(), key.serialize_pem())
    }

    #[tokio::test]
    async fn renewal_follows_the_cas_window_when_it_offers_one() {
        let (_server, base, _log) = fake_ca(|_| (StatusCode::NOT_FOUND, String::new()));
        let acme = manager(&base, None);
        let (chain, key) = chain();
        acme.install(
            Certified::from_pem(chain, key).expect("a certificate"),
            false,
        );
        let account = acme.account().await.expect("an account at the fake CA");
        *acme.inner.account.lock().await = Some(account);

        let (at, by) = acme.renewal_due().await.expect("a certificate is served");
        assert_eq!(by, "renewal information");
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(WINDOW.0);
        let end = SystemTime::UNIX_EPOCH + Duration::from_secs(WINDOW.1);
        assert!(start <= at && at <= end, "{at:?}");
        let id = acme.current_ari_id().expect("an authority key identifier");
        assert!(!id.serial.is_empty());
    }

    #[tokio::test]
    async fn a_new_account_the_cache_cannot_keep_is_kept_in_memory() {
        let (_server, base, log) =
            fake_ca(|_| problem(StatusCode::TOO_MANY_REQUESTS, "rateLimited"));
        // Reads find nothing there, and no directory can be made, even by
        // root.
        let acme = manager(&base, Some(std::path::Path::new("/proc/self/acme-cache")));
        for _ in 0..2 {
            let err = acme.order().await.expect_err("the CA refuses orders");
            let kind = err.problem().and_then(Problem::short_kind);
            assert_eq!(kind, Some("rateLimited"), "{err:#}");
        }
        assert_eq!(log.count("POST /account"), 1, "{:?}", log.all());
        assert_eq!(log.count("POST /order"), 2, "{:?}", log.all());
    }

    #[tokio::test]
    async fn an_account_the_ca_no_longer_knows_is_registered_again() {
        static ORDERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let (_server, base, log) =
            fake_ca(
                |_| match ORDERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                    0 => problem(StatusCode::BAD_REQUEST, "accountDoesNotExist"),
                    _ => problem(StatusCode::TOO_MANY_REQUESTS, "rateLimited"),
                },
            );
        let dir = testkit::TempDir::new("acme-gone");
        let acme = manager(&base, Some(dir.path()));
        let account_file = acme.inner.cache.as_ref().expect("a cache").account_path();
        let err = acme.order().await.expect_err("the CA refuses orders");
        assert_eq!(
            err.problem().and_then(Problem::short_kind),
            Some("rateLimited")
        );
        // Registered, refused, registered again, and the new one cached.
        assert_eq!(log.count("POST /account"), 2, "{:?}", log.all());
        assert_eq!(log.count("POST /order"), 2, "{:?}", log.all());
        assert!(account_file.exists());
        // The new account is kept from then on.
        acme.order().await.expect_err("the CA refuses orders");
        assert_eq!(log.count("POST /account"), 2, "{:?}", log.all());
    }

    #[tokio::test]
    async fn an_account_still_unknown_after_registering_again_is_forgotten() {
        let (_server, base, log) = fake_ca(|_| problem(StatusCode::FORBIDDEN, "unauthorized"));
        let dir = testkit::TempDir::new("acme-unauth");
        let acme = manager(&base, Some(dir.path()));
        let account_file = acme.inner.cache.as_ref().expect("a cache").account_path();
        let err = acme.order().await.expect_err("the CA refuses the account");
        assert_eq!(
            err.problem().and_then(Problem::short_kind),
            Some("unauthorized")
        );
        assert_eq!(log.count("POST /account"), 2, "{:?}", log.all());
        assert!(!account_file.exists());
        assert!(acme.inner.account.lock().await.is_none());
    }

    #[tokio::test]
    async fn a_refused_replacement_is_ordered_again_as_a_new_certificate() {
        let (_server, base, log) = fake_ca(|payload| match payload.contains("replaces") {
            true => problem(StatusCode::CONFLICT, "alreadyReplaced"),
            false => problem(StatusCode::TOO_MANY_REQUESTS, "rateLimited"),
        });
        let acme = manager(&base, None);
        let (chain, key) = chain();
        let certified = Certified::from_pem(chain, key).expect("a certificate");
        acme.install(certified, false);
        let err = acme.order().await.expect_err("the CA refuses orders");
        assert_eq!(
            err.problem().and_then(Problem::short_kind),
            Some("rateLimited")
        );
        let orders: Vec<String> = log
            .all()
            .into_iter()
            .filter(|l| l.starts_with("POST /order"))
            .collect();
        assert_eq!(orders, ["POST /order replaces", "POST /order"]);
    }

    #[tokio::test]
    async fn run_keeps_a_certificate_newer_than_the_cached_one() {
        let (_server, base, _log) = fake_ca(|_| (StatusCode::NOT_FOUND, String::new()));
        let dir = testkit::TempDir::new("acme-newer");
        let acme = manager(&base, Some(dir.path()));
        let cache = acme.inner.cache.clone().expect("a cache");
        let (old_chain, old_key) = chain();
        cache
            .write(&cache.key_path(), old_key.as_bytes(), Secrecy::Private)
            .expect("written");
        cache
            .write(&cache.cert_path(), old_chain.as_bytes(), Secrecy::Public)
            .expect("written");
        let (chain, key) = chain();
        let newer = acme.install(
            Certified::from_pem(chain, key).expect("a certificate"),
            true,
        );

        let running = tokio::spawn(acme.clone().run());
        // `run` checks the cache first, then sleeps until renewal is due.
        tokio::time::sleep(Duration::from_millis(300)).await;
        running.abort();
        let served = acme.certificate().expect("a certificate");
        assert_eq!(served.serial, newer.serial);
    }
}
