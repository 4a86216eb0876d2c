//! Pebble, Let's Encrypt's ACME test server, with pebble-challtestsrv as
//! its DNS (every name resolves to 127.0.0.1), on free loopback ports.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::{Daemon, TempDir, free_port, peer_tool};

/// What a test asks of pebble.
#[derive(Clone, Copy, Debug, Default)]
pub struct PebbleConfig {
    /// The port pebble's validator connects to for HTTP-01.
    pub http_port: u16,
    /// The port pebble's validator connects to for TLS-ALPN-01.
    pub tls_port: u16,
    /// The lifetime of the certificates it issues, in seconds (pebble's
    /// default, five years, when `None`).
    pub validity_secs: Option<u64>,
}

/// A running pebble and its DNS, killed when dropped.
#[derive(Debug)]
pub struct Pebble {
    _dns: Daemon,
    _pebble: Daemon,
    /// The ACME directory URL.
    pub directory: String,
    /// The PEM certificate pebble's own HTTPS endpoints use: trust it to
    /// reach the directory and the management interface.
    pub tls_root: PathBuf,
    /// The management interface (`https://ADDR/roots/0` is the root that
    /// issued certificates chain to).
    pub management: SocketAddr,
}

impl Pebble {
    /// Starts challtestsrv and pebble, validation without sleeps and every
    /// nonce accepted (so runs are quick and repeatable). `None`, loudly,
    /// when either program is missing (a failure under
    /// `PAF_REQUIRE_PEERS=1`).
    ///
    /// # Panics
    /// When they cannot be started.
    pub fn start(config: PebbleConfig) -> Option<Pebble> {
        let pebble = peer_tool("pebble")?;
        let challtestsrv = peer_tool("pebble-challtestsrv")?;
        let mut last = String::new();
        // Free ports are probed, not reserved: another test may take one
        // meanwhile, so try again with new ones.
        for _ in 0..5 {
            match Pebble::try_start(&pebble, &challtestsrv, config) {
                Ok(started) => return Some(started),
                Err(err) => last = err,
            }
        }
        panic!("pebble did not start: {last}");
    }

    fn try_start(
        pebble: &PathBuf,
        challtestsrv: &PathBuf,
        config: PebbleConfig,
    ) -> Result<Pebble, String> {
        let dns_port = free_port();
        let dns = TempDir::new("challtestsrv");
        let mut command = Command::new(challtestsrv);
        command
            .args(["-dns01", &format!("127.0.0.1:{dns_port}")])
            .args(["-management", &format!("127.0.0.1:{}", free_port())])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""]);
        let dns = Daemon::start(command, dns, |_| listening(dns_port))?;

        let dir = TempDir::new("pebble");
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|err| format!("cannot make pebble's certificate: {err}"))?;
        dir.write("cert.pem", made.cert.pem());
        dir.write("key.pem", made.signing_key.serialize_pem());
        let (listen, management) = (free_port(), free_port());
        dir.write("config.json", config_json(config, listen, management));
        let mut command = Command::new(pebble);
        command
            .current_dir(dir.path())
            .args(["-config", "config.json"])
            .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0");
        let pebble = Daemon::start(command, dir, |_| listening(listen) && listening(management))?;
        Ok(Pebble {
            _dns: dns,
            tls_root: pebble.dir().join("cert.pem"),
            _pebble: pebble,
            directory: format!("https://127.0.0.1:{listen}/dir"),
            management: SocketAddr::from(([127, 0, 0, 1], management)),
        })
    }

    /// The URL of the root certificate issued certificates chain to.
    pub fn issuer_root_url(&self) -> String {
        format!("https://{}/roots/0", self.management)
    }
}

fn config_json(config: PebbleConfig, listen: u16, management: u16) -> String {
    let validity = config
        .validity_secs
        .map(|secs| format!(r#", "certificateValidityPeriod": {secs}"#))
        .unwrap_or_default();
    format!(
        r#"{{"pebble": {{"listenAddress": "127.0.0.1:{listen}",
 "managementListenAddress": "127.0.0.1:{management}",
 "certificate": "cert.pem", "privateKey": "key.pem",
 "httpPort": {}, "tlsPort": {}, "ocspResponderURL": "",
 "externalAccountBindingRequired": false{validity}}}}}"#,
        config.http_port, config.tls_port
    )
}

fn listening(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}
