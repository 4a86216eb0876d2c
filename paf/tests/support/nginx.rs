//! A real nginx to test against: one process started with a generated
//! configuration in a temporary directory, killed when dropped.
//!
//! The site it serves:
//! - `/big.bin`: [`big_file`], 1 MiB of known bytes, with `content-length`;
//! - `/medium.bin`: [`medium_file`], 16 KiB: more than one read, less than
//!   what a client drains of a body dropped unread;
//! - `/hello.txt`: [`HELLO`];
//! - `/ssi/page.shtml`: [`SSI_PAGE`] after server-side includes, sent
//!   chunked (the includes make its length unknown);
//! - `/ssi/medium.shtml`: [`medium_text`], 16 KiB, chunked the same way;
//! - `/whoami`: `"<connection number> <requests on it>\n"`, to tell whether
//!   requests shared a connection;
//! - `/echo` (any method): the request body, sent back (it must fit on one
//!   header line: nginx reflects it through a proxied request's field);
//! - anything else: 404.
//!
//! It serves the same site over TLS with HTTP/2 and HTTP/1.1 by ALPN, with a
//! certificate for `localhost` made for the occasion ([`Nginx::ca_pem`]),
//! and on a Unix socket ([`Nginx::unix_socket`]).
//!
//! [`Options`] add directives (`keepalive_requests 1;`) and an access log
//! that names each request's connection ([`Nginx::access_log`]).

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use testkit::{Daemon, free_port, start_nginx};

use super::{TempDir, peer_tool};

/// The content of `/hello.txt`.
pub const HELLO: &str = "Hello from nginx!\n";

/// What `/ssi/page.shtml` expands to.
pub const SSI_PAGE: &str = "<p>before</p>\n<b>included part</b>\n<p>after</p>\n";

/// The content of `/big.bin`: 1 MiB that no off-by-one goes unnoticed in.
pub fn big_file() -> Vec<u8> {
    (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect()
}

/// The content of `/medium.bin`: 16 KiB of known bytes.
pub fn medium_file() -> Vec<u8> {
    (0..16 * 1024u32).map(|i| (i % 253) as u8).collect()
}

/// What `/ssi/medium.shtml` expands to: 16 KiB of numbered lines.
pub fn medium_text() -> String {
    (0..512).map(|i| format!("{i:031}\n")).collect()
}

/// What to change in the configuration.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Directives added at the end of the `server` block, where they
    /// override the defaults (`keepalive_requests 1;`).
    pub server: String,
    /// Whether to log each request to [`Nginx::access_log`].
    pub access_log: bool,
}

/// A running nginx, listening on 127.0.0.1:`port`, with TLS on
/// 127.0.0.1:`tls_port`, and on a Unix socket.
pub struct Nginx {
    pub port: u16,
    pub tls_port: u16,
    cert_pem: String,
    daemon: Daemon,
}

/// One line of the access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    /// nginx's serial number of the connection.
    pub connection: u64,
    /// How many requests the connection had carried, this one included.
    pub requests: u64,
    pub status: u16,
    /// The request line, such as `GET /hello.txt HTTP/1.1`.
    pub request: String,
}

impl Nginx {
    /// Starts nginx, or returns `None` (after a loud message) when it is not
    /// installed.
    pub fn start() -> Option<Nginx> {
        Nginx::start_with(Options::default())
    }

    /// Starts nginx with `options`, or returns `None` (after a loud message)
    /// when it is not installed.
    pub fn start_with(options: Options) -> Option<Nginx> {
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
            let config = config(dir.path(), port, tls_port, &options);
            fs::write(dir.path().join("nginx.conf"), config).unwrap();
            match start_nginx(&binary, dir, port) {
                Ok(daemon) => {
                    return Some(Nginx {
                        port,
                        tls_port,
                        cert_pem,
                        daemon,
                    });
                }
                Err(stderr) => log = stderr,
            }
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

    /// The Unix socket nginx also listens on (plain HTTP/1.1).
    pub fn unix_socket(&self) -> PathBuf {
        self.daemon.dir().join("nginx.sock")
    }

    /// The requests logged so far ([`Options::access_log`]), oldest first.
    pub fn access_log(&self) -> Vec<Logged> {
        let text = fs::read_to_string(self.daemon.dir().join("access.log")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let mut fields = line.splitn(4, ' ');
                let mut number = || fields.next().unwrap().parse::<u64>().unwrap();
                let (connection, requests, status) = (number(), number(), number());
                Logged {
                    connection,
                    requests,
                    status: status as u16,
                    request: fields.next().unwrap().trim_matches('"').to_owned(),
                }
            })
            .collect()
    }

    /// What this instance answers `/__id` with, on every listener: a token
    /// no other instance shares.
    pub fn id(&self) -> String {
        self.daemon.dir().display().to_string()
    }
}

fn write_site(dir: &Path) {
    let root = dir.join("root");
    fs::create_dir_all(root.join("ssi")).unwrap();
    fs::write(root.join("big.bin"), big_file()).unwrap();
    fs::write(root.join("medium.bin"), medium_file()).unwrap();
    fs::write(root.join("hello.txt"), HELLO).unwrap();
    fs::write(
        root.join("ssi/page.shtml"),
        "<p>before</p>\n<!--# include file=\"part.html\" --><p>after</p>\n",
    )
    .unwrap();
    fs::write(root.join("ssi/part.html"), "<b>included part</b>\n").unwrap();
    fs::write(root.join("ssi/medium.txt"), medium_text()).unwrap();
    fs::write(
        root.join("ssi/medium.shtml"),
        "<!--# include file=\"medium.txt\" -->",
    )
    .unwrap();
}

/// A configuration that touches nothing outside `dir`.
fn config(dir: &Path, port: u16, tls_port: u16, options: &Options) -> String {
    // A socket path longer than `sun_path` holds would keep nginx from
    // starting, for every test.
    let socket = dir.join("nginx.sock");
    let unix = if socket.as_os_str().len() < 100 {
        format!("listen unix:{};", socket.display())
    } else {
        String::new()
    };
    let dir = dir.display();
    let access_log = if options.access_log {
        format!("access_log {dir}/access.log connections;")
    } else {
        String::new()
    };
    let extra = &options.server;
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
    log_format connections '$connection $connection_requests $status \"$request\"';
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
        {unix}
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
        location = /echo {{
            client_body_in_single_buffer on;
            client_body_buffer_size 64k;
            proxy_set_header X-Echo $request_body;
            proxy_pass_request_body off;
            proxy_set_header Content-Length \"\";
            proxy_pass http://127.0.0.1:{port}/__echo;
        }}
        location = /__echo {{
            default_type text/plain;
            return 200 \"$http_x_echo\";
        }}
        {access_log}
        {extra}
    }}
}}
"
    )
}
