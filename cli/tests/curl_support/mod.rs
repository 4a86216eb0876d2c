//! Helpers for the `paf-curl` tests: running `paf-curl` and curl side by
//! side, an nginx to talk to, and small scripted servers for the failures
//! (a server that never answers, a redirect loop, a connection closed
//! early).
#![allow(dead_code, clippy::unwrap_used)]

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{Daemon, free_port, start_nginx};

use crate::support::{TempDir, peer_tool};

/// The longest a `paf-curl` or curl run may take before it is killed and
/// the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// What a run of `paf-curl` or curl gave.
#[derive(Clone, Debug)]
pub struct Run {
    /// The exit status (-1 when killed by a signal).
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// How to run a command.
#[derive(Clone, Debug, Default)]
pub struct Opts<'a> {
    /// The working directory.
    pub dir: Option<&'a Path>,
    /// Extra environment variables.
    pub env: Vec<(&'a str, &'a str)>,
    /// What stdin gives.
    pub stdin: Option<Vec<u8>>,
}

/// The environment variables that would change where requests go or what
/// the programs print.
const CLEARED: &[&str] = &[
    "http_proxy",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "PAF_DEBUG",
    "RUST_LOG",
    "CURL_HOME",
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
];

fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = from.read_to_end(&mut all);
        all
    })
}

fn wait(child: &mut Child, program: &Path, args: &[&str]) -> i32 {
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} {args:?} ran for more than {RUN_LIMIT:?}",
                program.display()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The `paf-curl` binary of this build.
pub fn paf_curl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_paf-curl"))
}

/// Runs `paf-curl` with `args`.
pub fn paf_curl(args: &[&str]) -> Run {
    paf_curl_with(args, &Opts::default())
}

/// Runs `paf-curl` with `args` and `opts`.
pub fn paf_curl_with(args: &[&str], opts: &Opts) -> Run {
    run_curlish(&paf_curl_bin(), args, opts)
}

/// Runs curl (found by [`peer_tool`]) with `args` and `opts`.
pub fn curl_with(curl: &Path, args: &[&str], opts: &Opts) -> Run {
    run_curlish(curl, args, opts)
}

/// curl gets `-q` first, to read no `.curlrc`.
fn run_curlish(program: &Path, args: &[&str], opts: &Opts) -> Run {
    let is_curl = program != paf_curl_bin();
    let mut all: Vec<&str> = Vec::new();
    if is_curl {
        all.push("-q");
    }
    all.extend_from_slice(args);
    run_plain(program, &all, opts)
}

fn run_plain(program: &Path, args: &[&str], opts: &Opts) -> Run {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if opts.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in CLEARED {
        cmd.env_remove(name);
    }
    cmd.envs(opts.env.iter().copied());
    if let Some(dir) = opts.dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = &opts.stdin {
        let mut stdin = child.stdin.take().unwrap();
        let input = input.clone();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let code = wait(&mut child, program, args);
    Run {
        code,
        stdout: stdout.join().unwrap(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
    }
}

/// Runs the same arguments through curl (when given) and `paf-curl`, and
/// checks that both exit with `code` and write the same stdout. Returns
/// `paf-curl`'s run.
pub fn same_as_curl(curl: Option<&Path>, args: &[&str], opts: &Opts, code: i32) -> Run {
    let ours = paf_curl_with(args, opts);
    assert_eq!(
        ours.code, code,
        "paf-curl {args:?}: exit status\nstderr:\n{}",
        ours.stderr
    );
    if let Some(curl) = curl {
        let theirs = curl_with(curl, args, opts);
        assert_eq!(
            theirs.code, code,
            "curl {args:?}: exit status\nstderr:\n{}",
            theirs.stderr
        );
        assert!(
            ours.stdout == theirs.stdout,
            "{args:?}: stdout differs\npaf-curl:\n{}\ncurl:\n{}",
            ours.text(),
            theirs.text()
        );
    }
    ours
}

/// A response head as compared between the two: the status line, then
/// `name: value` lines in lowercase names, sorted, without the fields that
/// differ from one response to the next (`date`).
pub fn normalized_head(head: &str) -> Vec<String> {
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    let status = lines.next().unwrap_or_default().trim_end().to_string();
    let mut fields: Vec<String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| format!("{}: {}", n.trim().to_ascii_lowercase(), v.trim()))
        .filter(|l| !l.starts_with("date:"))
        .collect();
    fields.sort();
    let mut out = vec![status];
    out.extend(fields);
    out
}

/// Splits `-i` output into the head and the body.
pub fn split_head(out: &[u8]) -> (String, Vec<u8>) {
    let at = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head ending with an empty line");
    (
        String::from_utf8_lossy(&out[..at + 4]).into_owned(),
        out[at + 4..].to_vec(),
    )
}

/// What `paf-server --echo` answered: the request line, the header lines
/// sorted without `user-agent` (each program names itself) and `expect`
/// (curl asks for `100 Continue` before uploads; paf sends the body
/// without waiting), and the body.
pub fn normalized_echo(out: &[u8]) -> (String, Vec<String>, Vec<u8>) {
    let at = out
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("an echo with an empty line after the head");
    let head = String::from_utf8_lossy(&out[..at]).into_owned();
    let mut lines = head.lines();
    let request = lines.next().unwrap_or_default().to_string();
    let mut fields: Vec<String> = lines
        .filter(|l| !l.starts_with("user-agent:") && !l.starts_with("expect:"))
        .map(str::to_string)
        .collect();
    fields.sort();
    (request, fields, out[at + 2..].to_vec())
}

/// curl, or `None` (after a loud message) when it is not installed.
pub fn curl() -> Option<PathBuf> {
    peer_tool("curl")
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    free_port()
}

/// A server that accepts connections and never answers.
pub fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

/// A server that answers every request on every connection with
/// `response`, read after the request head; `None` closes the connection
/// without answering. With `close`, the connection is closed after one
/// answer.
pub fn scripted_server(response: Option<&'static [u8]>, close: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve_scripted(stream, response, close));
        }
    });
    addr
}

fn serve_scripted(mut stream: TcpStream, response: Option<&[u8]>, close: bool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut pending = Vec::new();
    let mut buf = [0; 4096];
    loop {
        while !pending.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        }
        let end = pending.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        pending.drain(..end);
        let Some(response) = response else {
            return;
        };
        if stream.write_all(response).is_err() || close {
            return;
        }
    }
}

/// A running nginx: HTTP/1.1 on `port`, TLS with HTTP/2 and HTTP/1.1 by
/// ALPN on `tls_port` (a certificate for `localhost`, [`Nginx::ca_file`]),
/// and a Unix socket. The site:
/// - `/hello.txt`: [`HELLO`]; `/big.bin`: [`big_file`];
/// - `/redirect/1` -> 302 `/redirect/2` -> 301 `/hello.txt`;
/// - `/loop`: 302 to itself;
/// - `/teapot`: 418 with a body;
/// - `/client-cert` (TLS): the subject of the client's certificate;
/// - anything else: 404.
pub struct Nginx {
    pub port: u16,
    pub tls_port: u16,
    daemon: Daemon,
}

/// The content of `/hello.txt`.
pub const HELLO: &str = "Hello from nginx!\n";

/// The content of `/big.bin`: 1 MiB of known bytes.
pub fn big_file() -> Vec<u8> {
    (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect()
}

impl Nginx {
    /// Starts nginx, or returns `None` (after a loud message) when it is
    /// not installed.
    pub fn start() -> Option<Nginx> {
        let binary = peer_tool("nginx")?;
        let mut log = String::new();
        for _ in 0..3 {
            let dir = TempDir::new("curl-nginx");
            write_site(dir.path());
            let (port, tls_port) = (closed_port(), closed_port());
            fs::write(
                dir.path().join("nginx.conf"),
                config(dir.path(), port, tls_port),
            )
            .unwrap();
            match start_nginx(&binary, dir, port) {
                Ok(daemon) => {
                    return Some(Nginx {
                        port,
                        tls_port,
                        daemon,
                    });
                }
                Err(stderr) => log = stderr,
            }
        }
        panic!("nginx did not start:\n{log}");
    }

    /// `http://127.0.0.1:PORT`, without a trailing `/`.
    pub fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `https://localhost:TLS_PORT`, to be used with [`Nginx::resolve`].
    pub fn https(&self) -> String {
        format!("https://localhost:{}", self.tls_port)
    }

    /// The `--resolve` entry that sends `localhost:TLS_PORT` to 127.0.0.1.
    pub fn resolve(&self) -> String {
        format!("localhost:{}:127.0.0.1", self.tls_port)
    }

    /// The certificate to trust (`--cacert`).
    pub fn ca_file(&self) -> PathBuf {
        self.daemon.dir().join("cert.pem")
    }

    /// A client certificate and key (`--cert`, `--key`), subject
    /// `CN=paf-curl client`.
    pub fn client_cert(&self) -> (PathBuf, PathBuf) {
        (
            self.daemon.dir().join("client.pem"),
            self.daemon.dir().join("client-key.pem"),
        )
    }

    /// The Unix socket nginx listens on.
    pub fn unix_socket(&self) -> PathBuf {
        self.daemon.dir().join("nginx.sock")
    }
}

fn write_site(dir: &Path) {
    let root = dir.join("root");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("big.bin"), big_file()).unwrap();
    fs::write(root.join("hello.txt"), HELLO).unwrap();
    let server = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    fs::write(dir.join("cert.pem"), server.cert.pem()).unwrap();
    fs::write(dir.join("key.pem"), server.signing_key.serialize_pem()).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "paf-curl client");
    let key = rcgen::KeyPair::generate().unwrap();
    let client = params.self_signed(&key).unwrap();
    fs::write(dir.join("client.pem"), client.pem()).unwrap();
    fs::write(dir.join("client-key.pem"), key.serialize_pem()).unwrap();
}

fn config(dir: &Path, port: u16, tls_port: u16) -> String {
    let socket = dir.join("nginx.sock");
    let unix = if socket.as_os_str().len() < 100 {
        format!("listen unix:{};", socket.display())
    } else {
        String::new()
    };
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
        text/plain txt;
    }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{tls_port} ssl http2;
        {unix}
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        ssl_verify_client optional_no_ca;
        root {dir}/root;
        location = /__id {{
            return 200 \"{dir}\";
        }}
        location = /redirect/1 {{
            return 302 /redirect/2;
        }}
        location = /redirect/2 {{
            return 301 /hello.txt;
        }}
        location = /loop {{
            return 302 /loop;
        }}
        location = /teapot {{
            default_type text/plain;
            return 418 \"short and stout\\n\";
        }}
        location = /client-cert {{
            default_type text/plain;
            return 200 \"[$ssl_client_s_dn]\\n\";
        }}
    }}
}}
"
    )
}
