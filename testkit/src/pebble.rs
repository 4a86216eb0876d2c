//! Pebble, Let's Encrypt's ACME test server, with pebble-challtestsrv as
//! its DNS (every name resolves to 127.0.0.1, or the address asked for),
//! on free loopback ports or inside a network namespace.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Daemon, TempDir, free_port, peer_tool};

/// What a test asks of pebble.
#[derive(Clone, Debug, Default)]
pub struct PebbleConfig {
    /// The port pebble's validator connects to for HTTP-01.
    pub http_port: u16,
    /// The port pebble's validator connects to for TLS-ALPN-01.
    pub tls_port: u16,
    /// The lifetime of the certificates it issues, in seconds (pebble's
    /// default, five years, when `None`).
    pub validity_secs: Option<u64>,
    /// Where pebble and its DNS listen (127.0.0.1 when `None`).
    pub bind: Option<Ipv4Addr>,
    /// The address the DNS gives for every name (127.0.0.1 when `None`).
    pub answer: Option<Ipv4Addr>,
    /// A network namespace to run both in (`ip netns exec`); readiness is
    /// then probed with curl inside it.
    pub netns: Option<String>,
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
    /// when either program or curl (which probes them) is missing (a
    /// failure under `PAF_REQUIRE_PEERS=1`).
    ///
    /// Both are killed when this process dies, even by `SIGKILL`, if the
    /// thread that started them is gone by then: start them on the test's
    /// own thread.
    ///
    /// # Panics
    /// When they cannot be started.
    pub fn start(config: PebbleConfig) -> Option<Pebble> {
        let pebble = peer_tool("pebble")?;
        let challtestsrv = peer_tool("pebble-challtestsrv")?;
        let probe = Probe {
            netns: config.netns.clone(),
            curl: peer_tool("curl")?,
        };
        let mut last = String::new();
        // Free ports are probed, not reserved: another test may take one
        // meanwhile, so try again with new ones.
        for _ in 0..5 {
            match Pebble::try_start(&pebble, &challtestsrv, &probe, &config) {
                Ok(started) => return Some(started),
                Err(err) => last = err,
            }
        }
        panic!("pebble did not start: {last}");
    }

    fn try_start(
        pebble: &Path,
        challtestsrv: &Path,
        probe: &Probe,
        config: &PebbleConfig,
    ) -> Result<Pebble, String> {
        let bind = config.bind.unwrap_or(Ipv4Addr::LOCALHOST);
        let answer = config.answer.unwrap_or(Ipv4Addr::LOCALHOST);
        let (dns_port, dns_management) = (free_port(), free_port());
        let mut command = probe.command(challtestsrv);
        command
            .args(["-dns01", &format!("{bind}:{dns_port}")])
            .args(["-management", &format!("{bind}:{dns_management}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-defaultIPv4", &answer.to_string(), "-defaultIPv6", ""]);
        // Any answer will do: its management interface has no index.
        let dns_url = format!("http://{bind}:{dns_management}/");
        let dns = Daemon::start(command, TempDir::new("challtestsrv"), |_| {
            probe.answers(&dns_url, None, "")
        })?;

        let dir = TempDir::new("pebble");
        let names = vec!["localhost".into(), "127.0.0.1".into(), bind.to_string()];
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|err| format!("cannot make pebble's certificate: {err}"))?;
        dir.write("cert.pem", made.cert.pem());
        dir.write("key.pem", made.signing_key.serialize_pem());
        let listen = SocketAddr::new(bind.into(), free_port());
        let management = SocketAddr::new(bind.into(), free_port());
        dir.write("config.json", config_json(config, listen, management));
        let mut command = probe.command(pebble);
        command
            .current_dir(dir.path())
            .args(["-config", "config.json"])
            .args(["-dnsserver", &format!("{bind}:{dns_port}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0");
        let directory = format!("https://{listen}/dir");
        let roots = format!("https://{management}/roots/0");
        // Checked against this pebble's own certificate: another pebble
        // that took the port meanwhile does not pass.
        let pebble = Daemon::start(command, dir, |dir| {
            let cert = dir.join("cert.pem");
            probe.answers(&directory, Some(&cert), "newNonce")
                && probe.answers(&roots, Some(&cert), "BEGIN CERTIFICATE")
        })?;
        Ok(Pebble {
            _dns: dns,
            tls_root: pebble.dir().join("cert.pem"),
            _pebble: pebble,
            directory,
            management,
        })
    }

    /// The URL of the root certificate issued certificates chain to.
    pub fn issuer_root_url(&self) -> String {
        format!("https://{}/roots/0", self.management)
    }
}

/// How programs are started (here, or inside a namespace) and asked
/// whether they are ready (with curl, which runs where they do).
struct Probe {
    netns: Option<String>,
    curl: PathBuf,
}

impl Probe {
    /// A command running `program` where the servers run, killed when the
    /// thread that spawns it exits.
    fn command(&self, program: &Path) -> Command {
        let mut command = match &self.netns {
            None => Command::new(program),
            Some(name) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", name]).arg(program);
                command
            }
        };
        die_with_parent(&mut command);
        command
    }

    /// Whether `url` answers (over HTTPS, with the certificate in `cacert`)
    /// with a body containing `expected`.
    fn answers(&self, url: &str, cacert: Option<&Path>, expected: &str) -> bool {
        let mut curl = self.command(&self.curl);
        curl.args(["-s", "--max-time", "1"]);
        if let Some(cacert) = cacert {
            curl.arg("--cacert").arg(cacert);
        }
        curl.arg(url).output().is_ok_and(|out| {
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains(expected)
        })
    }
}

/// Has the kernel kill the command's process when the thread that spawned
/// it exits (the whole test process, killed or not, included), so that a
/// test binary stopped by `SIGKILL` leaves no server behind.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the hook runs in the child between fork and exec, and calls
    // only prctl, getppid and _exit, which are async-signal-safe; it
    // allocates nothing and touches no lock.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died before prctl: nothing would signal us.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

fn config_json(config: &PebbleConfig, listen: SocketAddr, management: SocketAddr) -> String {
    let validity = config
        .validity_secs
        .map(|secs| format!(r#", "certificateValidityPeriod": {secs}"#))
        .unwrap_or_default();
    format!(
        r#"{{"pebble": {{"listenAddress": "{listen}",
 "managementListenAddress": "{management}",
 "certificate": "cert.pem", "privateKey": "key.pem",
 "httpPort": {}, "tlsPort": {}, "ocspResponderURL": "",
 "externalAccountBindingRequired": false{validity}}}}}"#,
        config.http_port, config.tls_port
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// The state letter of process `pid` (`Z` once killed and not yet
    /// waited for).
    fn state(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(") ")?.1.chars().next()
    }

    #[test]
    fn pebble_dies_with_the_thread_that_started_it() {
        let config = PebbleConfig {
            http_port: free_port(),
            tls_port: free_port(),
            ..PebbleConfig::default()
        };
        let started = std::thread::spawn(move || Pebble::start(config)).join();
        let Some(pebble) = started.expect("the starting thread finishes") else {
            return;
        };
        let pids = [pebble._pebble.child.id(), pebble._dns.child.id()];
        let deadline = Instant::now() + Duration::from_secs(5);
        while pids.iter().any(|&pid| state(pid) != Some('Z')) {
            assert!(Instant::now() < deadline, "still running: {pids:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
