//! A real nginx to test against: one process started with a generated
//! configuration in a temporary directory, killed when dropped.
//!
//! The site it serves:
//! - `/big.bin`: [`big_file`], 1 MiB of known bytes, with `content-length`;
//! - `/hello.txt`: [`HELLO`];
//! - `/ssi/page.shtml`: [`SSI_PAGE`] after server-side includes, sent
//!   chunked (the includes make its length unknown);
//! - `/whoami`: `"<connection number> <requests on it>\n"`, to tell whether
//!   requests shared a connection;
//! - anything else: 404.
//!
//! It serves the same site over TLS with HTTP/2 and HTTP/1.1 by ALPN, with a
//! certificate for `localhost` made for the occasion ([`Nginx::ca_pem`]).

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{TempDir, peer_tool};

/// The content of `/hello.txt`.
pub const HELLO: &str = "Hello from nginx!\n";

/// What `/ssi/page.shtml` expands to.
pub const SSI_PAGE: &str = "<p>before</p>\n<b>included part</b>\n<p>after</p>\n";

/// The content of `/big.bin`: 1 MiB that no off-by-one goes unnoticed in.
pub fn big_file() -> Vec<u8> {
    (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect()
}

/// A running nginx, listening on 127.0.0.1:`port`, and with TLS on
/// 127.0.0.1:`tls_port`.
pub struct Nginx {
    pub port: u16,
    pub tls_port: u16,
    cert_pem: String,
    child: Child,
    dir: TempDir,
}

impl Nginx {
    /// Starts nginx, or returns `None` (after a loud message) when it is not
    /// installed.
    pub fn start() -> Option<Nginx> {
        let binary = peer_tool("nginx")?;
        // The port is free when probed, but could be taken before nginx
        // binds it: try again with another.
        let mut log = String::new();
        for _ in 0..3 {
            let dir = TempDir::new("nginx");
            write_site(dir.path());
            let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
            let cert_pem = cert.cert.pem();
            fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
            fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
            let (port, tls_port) = (free_port(), free_port());
            let config = config(dir.path(), port, tls_port);
            fs::write(dir.path().join("nginx.conf"), config).unwrap();
            let stderr = fs::File::create(dir.path().join("stderr.log")).unwrap();
            let child = Command::new(&binary)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(dir.path().join("nginx.conf"))
                .arg("-e")
                .arg("stderr")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap();
            let mut nginx = Nginx {
                port,
                tls_port,
                cert_pem,
                child,
                dir,
            };
            if nginx.wait_until_listening() {
                return Some(nginx);
            }
            log = fs::read_to_string(nginx.dir.path().join("stderr.log")).unwrap_or_default();
        }
        panic!("nginx did not start:\n{log}");
    }

    /// The address nginx listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The TLS address (certificate for `localhost`, ALPN `h2` and
    /// `http/1.1`).
    pub fn tls_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.tls_port))
    }

    /// The TLS certificate, self-signed: the one root to trust.
    pub fn ca_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Waits until this nginx answers on its port; false when it exited
    /// (another process, maybe another test's nginx, took the port).
    fn wait_until_listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if let Some(id) = self.ask_id()
                && id == self.id()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// What `/__id` answers on the port, if anything does.
    fn ask_id(&self) -> Option<String> {
        let mut tcp = TcpStream::connect(self.addr()).ok()?;
        tcp.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        tcp.write_all(b"GET /__id HTTP/1.0\r\n\r\n").ok()?;
        let mut response = String::new();
        tcp.read_to_string(&mut response).ok()?;
        let (_, body) = response.split_once("\r\n\r\n")?;
        Some(body.to_owned())
    }

    /// The token this instance answers `/__id` with.
    fn id(&self) -> String {
        self.dir.path().display().to_string()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn write_site(dir: &Path) {
    let root = dir.join("root");
    fs::create_dir_all(root.join("ssi")).unwrap();
    fs::write(root.join("big.bin"), big_file()).unwrap();
    fs::write(root.join("hello.txt"), HELLO).unwrap();
    fs::write(
        root.join("ssi/page.shtml"),
        "<p>before</p>\n<!--# include file=\"part.html\" --><p>after</p>\n",
    )
    .unwrap();
    fs::write(root.join("ssi/part.html"), "<b>included part</b>\n").unwrap();
}

/// A configuration that touches nothing outside `dir`.
fn config(dir: &Path, port: u16, tls_port: u16) -> String {
    let dir = dir.display();
    format!(
        "daemon off;
master_process off;
worker_processes 1;
error_log stderr warn;
pid {dir}/nginx.pid;
events {{
    worker_connections 64;
}}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{
        text/html html shtml;
        text/plain txt;
    }}
    default_type application/octet-stream;
    keepalive_requests 1000;
    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{tls_port} ssl http2;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        root {dir}/root;
        location /ssi/ {{
            ssi on;
        }}
        location = /__id {{
            return 200 \"{dir}\";
        }}
        location = /whoami {{
            default_type text/plain;
            return 200 \"$connection $connection_requests\\n\";
        }}
    }}
}}
"
    )
}
