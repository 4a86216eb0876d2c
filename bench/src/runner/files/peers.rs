//! The two file servers of the static-file mode, `paf-server` and nginx:
//! the document root they share, nginx's configuration, and starting
//! either one pinned to the server's CPU, listening on a clear-text and a
//! TLS port of the loopback interface.

use std::fs;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Res;
use crate::runner::context::Context;
use crate::runner::process::{ServerProcess, free_port, start_listening};

/// The small file's size.
pub(crate) const SMALL_BYTES: usize = 1024;
/// The large file's size.
pub(crate) const LARGE_BYTES: u64 = 64 * 1024 * 1024;
/// The small file's URL path.
pub(crate) const SMALL_PATH: &str = "/1k.bin";
/// The large file's URL path.
pub(crate) const LARGE_PATH: &str = "/64m.bin";

/// The file servers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Peer {
    /// The `cli` crate's `paf-server`.
    PafServer,
    /// The system's nginx.
    Nginx,
}

impl Peer {
    /// Both, in the order they are printed.
    pub(crate) const ALL: [Peer; 2] = [Peer::PafServer, Peer::Nginx];

    /// The name the log and the tables use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Peer::PafServer => "paf-server",
            Peer::Nginx => "nginx",
        }
    }
}

/// A running file server and its two addresses.
pub(crate) struct PeerProcess {
    /// The process; its `addr` is the clear-text one.
    pub(crate) process: ServerProcess,
    /// The TLS address.
    pub(crate) tls: SocketAddr,
}

/// Writes the 1 KiB and 64 MiB files to `scratch/docroot`.
pub(crate) fn make_docroot(scratch: &Path) -> Res<PathBuf> {
    let root = scratch.join("docroot");
    fs::create_dir_all(&root)?;
    fs::write(
        root.join(SMALL_PATH.trim_start_matches('/')),
        [b'a'; SMALL_BYTES],
    )?;
    let mut large = std::io::BufWriter::new(fs::File::create(
        root.join(LARGE_PATH.trim_start_matches('/')),
    )?);
    let chunk = vec![b'b'; 1024 * 1024];
    for _ in 0..LARGE_BYTES / chunk.len() as u64 {
        large.write_all(&chunk)?;
    }
    large.flush()?;
    // paf-server keeps in memory only files unmodified for a second: the
    // first round should not be the one that waits for that.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    Ok(root)
}

/// Starts `peer` on two free ports, pinned to the server's CPU, and waits
/// until both accept connections.
pub(crate) fn start_peer(
    context: &Context,
    peer: Peer,
    paf_server: &Path,
    docroot: &Path,
) -> Res<PeerProcess> {
    let plain = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    let tls = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    let (cert, key) = context.certificate()?;
    let command = match peer {
        Peer::PafServer => {
            let mut command = context.pinning.server(paf_server);
            command
                .arg(docroot)
                .args(["-q", "--max-connections", "100000", "-l"])
                .arg(format!("tcp://{plain}"))
                .arg("-l")
                .arg(format!("tls://{tls}"))
                .arg("--cert")
                .arg(cert)
                .arg("--key")
                .arg(key);
            command
        }
        Peer::Nginx => nginx_command(context, plain, tls, docroot)?,
    };
    let process = start_listening(command, &[plain, tls])?;
    Ok(PeerProcess { process, tls })
}

/// Writes nginx's configuration to a fresh directory and returns the
/// pinned command that runs it in the foreground, as one process.
fn nginx_command(
    context: &Context,
    plain: SocketAddr,
    tls: SocketAddr,
    docroot: &Path,
) -> Res<Command> {
    let dir = context.scratch.0.join(format!("nginx-{}", plain.port()));
    fs::create_dir_all(&dir)?;
    let (cert, key) = context.certificate()?;
    let conf = nginx_conf(
        &dir,
        plain,
        tls,
        docroot,
        (cert, key),
        nginx_has_http2_directive(),
    );
    let conf_path = dir.join("nginx.conf");
    fs::write(&conf_path, conf)?;
    let mut command = context.pinning.server(Path::new("nginx"));
    command
        .arg("-p")
        .arg(&dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf_path);
    Ok(command)
}

/// nginx's configuration: one process (`master_process off`), sendfile,
/// no access log, keep-alive without a request limit, a clear-text server
/// on `plain` and a TLS 1.3 (`h2`, `http/1.1`) one on `tls`, both serving
/// `docroot`. `http2_directive` is nginx 1.25.1's `http2 on;`, which
/// replaced the `http2` parameter of `listen`.
fn nginx_conf(
    dir: &Path,
    plain: SocketAddr,
    tls: SocketAddr,
    docroot: &Path,
    (cert, key): (&Path, &Path),
    http2_directive: bool,
) -> String {
    let dir = dir.display();
    let root = docroot.display();
    let (listen_h2, http2_on) = if http2_directive {
        ("", "http2 on;")
    } else {
        (" http2", "")
    };
    format!(
        "worker_processes 1;
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile 100000;
events {{ worker_connections 50000; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    default_type application/octet-stream;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen {plain};
        root {root};
    }}
    server {{
        listen {tls} ssl{listen_h2};
        {http2_on}
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;
        ssl_session_tickets off;
        ssl_session_cache off;
        root {root};
    }}
}}
",
        cert = cert.display(),
        key = key.display(),
    )
}

/// Whether the installed nginx is 1.25.1 or later (from `nginx -v`).
fn nginx_has_http2_directive() -> bool {
    let banner = crate::runner::host::version_line("nginx", "-v");
    let version = banner.rsplit('/').next().unwrap_or("");
    let parts: Vec<u32> = version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|part| part.parse().ok())
        .take(3)
        .collect();
    parts.as_slice() >= [1, 25, 1].as_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_listen_syntax() {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 8443));
        let paths = (Path::new("/c.pem"), Path::new("/k.pem"));
        let old = nginx_conf(Path::new("/d"), addr, addr, Path::new("/r"), paths, false);
        assert!(old.contains("listen 127.0.0.1:8443 ssl http2;"));
        assert!(!old.contains("http2 on;"));
        let new = nginx_conf(Path::new("/d"), addr, addr, Path::new("/r"), paths, true);
        assert!(new.contains("listen 127.0.0.1:8443 ssl;"));
        assert!(new.contains("http2 on;"));
    }
}
