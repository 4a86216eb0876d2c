//! The tcpip_tap example on a TAP device in a network namespace each test
//! makes for itself, against real peers there: curl (HTTP/1.1, h2c, TLS
//! with h2), ping, nginx for paf's client on the stack, dnsmasq for DHCP
//! and DNS. All traffic stays inside the namespace.
//!
//! Needs root and `/dev/net/tun`: without them each test says so loudly
//! and passes, unless `PAF_REQUIRE_PEERS=1`, under which it fails.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use testkit::netns::{Netns, example, tap_allowed};
use testkit::{Daemon, TempDir, peer_tool};

/// The kernel's side of the TAP device, and the stack's address.
const KERNEL: &str = "10.77.0.1";
const STACK: &str = "10.77.0.2";

/// The example running in the namespace; killed when dropped.
struct Stack(Child);

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the example serving in `ns`, and waits for its "serving" line.
fn serve(ns: &Netns, args: &[&str]) -> Stack {
    let mut child = ns
        .command(example("tcpip_tap"))
        .args(["--tap", "tap0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stack = Stack(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the example says it is serving within 20 s");
    assert!(line.contains("serving on"), "{line}");
    stack
}

/// Runs the example as a client in `ns`: `--fetch url`.
fn fetch(ns: &Netns, args: &[&str], url: &str) -> String {
    let out = Command::new("timeout")
        .arg("30")
        .args(["ip", "netns", "exec", ns.name()])
        .arg(example("tcpip_tap"))
        .args(["--tap", "tap0", "--fetch", url])
        .args(args)
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "fetching {url} through the stack failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn curl(ns: &Netns, curl: &Path, args: &[&str]) -> String {
    let mut all = vec!["-sS", "--max-time", "20"];
    all.extend_from_slice(args);
    let out = ns.run(curl, &all);
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ping` from the kernel's side: three echoes, none lost.
fn ping_answered(ns: &Netns, ping: &Path) {
    let out = ns.run(ping, &["-c", "3", "-W", "5", STACK]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(" 0% packet loss"),
        "{text}"
    );
}

#[test]
fn curl_speaks_h1_h2c_and_tls_h2_to_paf_on_the_stack_and_ping_is_answered() {
    let (Some(curl_bin), Some(ping)) = (peer_tool("curl"), peer_tool("ping")) else {
        return;
    };
    if !tap_allowed() {
        return;
    }
    let ns = Netns::with_tap("tcpip-curl", &format!("{KERNEL}/24"));
    let dir = TempDir::new("tcpip-tap");
    let cert = dir.join("cert.pem");
    let cert_arg = cert.to_str().expect("a UTF-8 temporary path");
    let _stack = serve(
        &ns,
        &["--cidr", &format!("{STACK}/24"), "--cert-out", cert_arg],
    );

    ping_answered(&ns, &ping);
    let h1 = curl(
        &ns,
        &curl_bin,
        &[
            "--http1.1",
            "-w",
            "\n%{http_version} %{size_download}",
            &format!("http://{STACK}/bytes/1000000"),
        ],
    );
    assert!(
        h1.ends_with("\n1.1 1000000"),
        "{}",
        &h1[h1.len().saturating_sub(40)..]
    );
    let h2c = curl(
        &ns,
        &curl_bin,
        &["--http2-prior-knowledge", &format!("http://{STACK}/")],
    );
    assert!(h2c.contains("over HTTP/2.0"), "{h2c}");
    let resolve = format!("tcpip.test:443:{STACK}");
    let tls = curl(
        &ns,
        &curl_bin,
        &[
            "--http2",
            "--cacert",
            cert_arg,
            "--resolve",
            &resolve,
            "-w",
            "\n%{http_version}",
            "https://tcpip.test/",
        ],
    );
    assert!(
        tls.contains("over HTTP/2.0") && tls.ends_with("\n2"),
        "{tls}"
    );
}

/// nginx in the namespace on the kernel's side, serving `hello.txt`.
fn nginx(ns: &Netns, binary: &Path) -> Daemon {
    let dir = TempDir::new("tcpip-nginx");
    let root = dir.path().display().to_string();
    dir.write("www/hello.txt", "Hello from nginx on the kernel's side!\n");
    let conf = format!(
        "daemon off; master_process off; pid {root}/nginx.pid; error_log stderr;\n\
         events {{}}\n\
         http {{ access_log off; client_body_temp_path {root}; proxy_temp_path {root};\n\
           fastcgi_temp_path {root}; uwsgi_temp_path {root}; scgi_temp_path {root};\n\
           server {{ listen {KERNEL}:8080; root {root}/www; }} }}\n"
    );
    dir.write("nginx.conf", conf);
    let mut command = ns.command(binary);
    command
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(dir.join("nginx.conf"));
    Daemon::start(command, dir, |dir| dir.join("nginx.pid").exists())
        .unwrap_or_else(|stderr| panic!("nginx did not start: {stderr}"))
}

#[test]
fn pafs_client_on_the_stack_fetches_from_nginx_on_the_kernel_side() {
    let Some(nginx_bin) = peer_tool("nginx") else {
        return;
    };
    if !tap_allowed() {
        return;
    }
    let ns = Netns::with_tap("tcpip-nginx", &format!("{KERNEL}/24"));
    let _nginx = nginx(&ns, &nginx_bin);
    let out = fetch(
        &ns,
        &["--cidr", &format!("{STACK}/24")],
        &format!("http://{KERNEL}:8080/hello.txt"),
    );
    assert!(out.starts_with("200 OK HTTP/1.1 over [\"tcpip\"]"), "{out}");
    assert!(
        out.contains("Hello from nginx on the kernel's side!"),
        "{out}"
    );
}

#[test]
fn dhcp_and_dns_from_dnsmasq_bring_the_stack_to_nginx_by_name() {
    let (Some(dnsmasq), Some(nginx_bin)) = (peer_tool("dnsmasq"), peer_tool("nginx")) else {
        return;
    };
    if !tap_allowed() {
        return;
    }
    let ns = Netns::with_tap("tcpip-dhcp", &format!("{KERNEL}/24"));
    let _nginx = nginx(&ns, &nginx_bin);
    let dir = TempDir::new("tcpip-dnsmasq");
    let leases = dir.join("leases");
    let pid = dir.join("dnsmasq.pid");
    let mut command = ns.command(dnsmasq);
    command
        .args([
            "--keep-in-foreground",
            "--log-facility=-",
            "--conf-file=/dev/null",
        ])
        .args([
            "--interface=tap0",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
        ])
        .arg("--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,1h")
        .arg(format!("--dhcp-option=option:router,{KERNEL}"))
        .arg(format!("--dhcp-option=option:dns-server,{KERNEL}"))
        .arg(format!("--address=/web.test/{KERNEL}"))
        .arg(format!("--dhcp-leasefile={}", leases.display()))
        .arg(format!("--pid-file={}", pid.display()));
    let _dnsmasq = Daemon::start(command, dir, |dir| dir.join("dnsmasq.pid").exists())
        .unwrap_or_else(|stderr| panic!("dnsmasq did not start: {stderr}"));

    let out = fetch(&ns, &["--dhcp"], "http://web.test:8080/hello.txt");
    assert!(
        out.contains("Hello from nginx on the kernel's side!"),
        "{out}"
    );
    let leases = std::fs::read_to_string(&leases).expect("dnsmasq wrote its leases");
    assert!(leases.contains("10.77.0."), "no lease given: {leases}");
}
