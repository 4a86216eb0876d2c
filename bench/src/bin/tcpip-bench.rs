//! Bulk throughput and connections per second over tcpip's user-space
//! stack (two stacks joined in memory, and a stack on a TAP device talking
//! to the kernel), beside the kernel's loopback in the same run; and the
//! memory an idle connection costs. Prints markdown tables.
//!
//! ```sh
//! cargo run --release -p bench --bin tcpip-bench              # in-memory and loopback
//! sudo target/release/tcpip-bench --tap                       # and TAP, in a namespace it makes
//! ```
//!
//! Options: `--bytes N` (bulk transfer size, default 2 GiB), `--conns N`
//! (connections per connection-rate run, default 5000), `--tap` (also TAP:
//! needs root and `/dev/net/tun`), `--rounds N` (default 3, median shown),
//! `--only TEXT` (only the runs whose name contains TEXT; TAP runs are not
//! filtered). The TAP part runs in a network namespace the bench makes and
//! deletes, with MTU 1500 then 9000 on both sides: it runs itself there
//! with `--tap-child --mtu N`.

use std::error::Error;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use tcpip::link::{MemLink, MemLinkConfig, TapLink};
use tcpip::{Config, Stack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type BoxError = Box<dyn Error + Send + Sync>;

/// A byte stream source and sink the runs can use on either side.
trait Conn: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> Conn for T {}

struct Options {
    bytes: u64,
    conns: usize,
    rounds: usize,
    tap: bool,
    tap_child: bool,
    /// The TAP device's MTU, in the TAP child.
    mtu: usize,
    /// Only the runs whose name contains this.
    only: Option<String>,
}

impl Options {
    fn wants(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| name.contains(only.as_str()))
    }

    /// Runs `f` for the rounds and prints its row, if `--only` selects it.
    async fn run<F, Fut>(&self, name: &str, unit: &str, f: F) -> Result<(), BoxError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<f64, BoxError>>,
    {
        if self.wants(name) {
            row(name, repeat(self.rounds, f).await?, unit);
        }
        Ok(())
    }
}

fn options() -> Result<Options, BoxError> {
    let mut o = Options {
        bytes: 2 << 30,
        conns: 5000,
        rounds: 3,
        tap: false,
        tap_child: false,
        mtu: 1500,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--tap" => o.tap = true,
            "--tap-child" => o.tap_child = true,
            "--bytes" => o.bytes = args.next().ok_or("--bytes N")?.parse()?,
            "--conns" => o.conns = args.next().ok_or("--conns N")?.parse()?,
            "--rounds" => o.rounds = args.next().ok_or("--rounds N")?.parse()?,
            "--mtu" => o.mtu = args.next().ok_or("--mtu N")?.parse()?,
            "--only" => o.only = Some(args.next().ok_or("--only TEXT")?),
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }
    Ok(o)
}

/// Writes `bytes` from `tx` to `rx`, which reads and discards; gives Gbit/s.
async fn bulk(mut tx: impl Conn, mut rx: impl Conn, bytes: u64) -> Result<f64, BoxError> {
    let started = Instant::now();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        loop {
            let n = rx.read(&mut buf).await?;
            if n == 0 {
                return Ok::<u64, std::io::Error>(total);
            }
            total += n as u64;
        }
    });
    let buf = vec![0x5au8; 256 * 1024];
    let mut sent = 0u64;
    while sent < bytes {
        let n = (bytes - sent).min(buf.len() as u64) as usize;
        tx.write_all(&buf[..n]).await?;
        sent += n as u64;
    }
    tx.shutdown().await?;
    let received = reader.await??;
    if received != bytes {
        return Err(format!("{received} bytes arrived of {bytes}").into());
    }
    Ok(bytes as f64 * 8.0 / started.elapsed().as_secs_f64() / 1e9)
}

/// The endpoints a run connects: a way to connect, and a way to accept.
trait Network: Clone + Send + Sync + 'static {
    fn connect(&self) -> impl Future<Output = Result<Box<dyn ConnBox>, BoxError>> + Send;
}

trait ConnBox: Conn {}
impl<T: Conn> ConnBox for T {}

#[derive(Clone)]
struct StackTo(Stack, SocketAddr);

impl Network for StackTo {
    async fn connect(&self) -> Result<Box<dyn ConnBox>, BoxError> {
        Ok(Box::new(self.0.connect(self.1).await?))
    }
}

#[derive(Clone)]
struct KernelTo(SocketAddr);

impl Network for KernelTo {
    async fn connect(&self) -> Result<Box<dyn ConnBox>, BoxError> {
        let stream = tokio::net::TcpStream::connect(self.0).await?;
        stream.set_nodelay(true)?;
        Ok(Box::new(stream))
    }
}

/// Echo of one byte per connection, then close.
async fn one_byte_server(stream: impl Conn) {
    let mut stream = stream;
    let mut byte = [0u8; 1];
    if stream.read_exact(&mut byte).await.is_ok() {
        let _ = stream.write_all(&byte).await;
        let _ = stream.shutdown().await;
    }
}

/// `total` connections, 32 at a time: connect, one byte each way, close.
async fn conn_rate(net: impl Network, total: usize) -> Result<f64, BoxError> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..32 {
        let net = net.clone();
        let count = total / 32 + usize::from(worker < total % 32);
        tasks.push(tokio::spawn(async move {
            for _ in 0..count {
                let mut c = net.connect().await?;
                c.write_all(b"x").await?;
                let mut byte = [0u8; 1];
                c.read_exact(&mut byte).await?;
            }
            Ok::<(), BoxError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Two stacks on one in-memory link of this MTU.
fn mem_pair(mtu: usize, skip_checksums: bool) -> Result<(Stack, Stack), BoxError> {
    let link = MemLinkConfig {
        mtu,
        skip_checksums,
        ..MemLinkConfig::default()
    };
    let (a, b) = MemLink::pair(link);
    let client = Stack::new(
        a,
        Config::new().address("10.0.0.1/24".parse()?).backlog(1024),
    )?;
    let server = Stack::new(
        b,
        Config::new().address("10.0.0.2/24".parse()?).backlog(1024),
    )?;
    Ok((client, server))
}

async fn mem_bulk(mtu: usize, skip_checksums: bool, bytes: u64) -> Result<f64, BoxError> {
    let (client, server) = mem_pair(mtu, skip_checksums)?;
    let addr: SocketAddr = "10.0.0.2:9".parse()?;
    let mut listener = server.listen(addr)?;
    let tx = client.connect(addr).await?;
    let (rx, _) = listener.accept().await?;
    bulk(tx, rx, bytes).await
}

async fn mem_rate(total: usize) -> Result<f64, BoxError> {
    let (client, server) = mem_pair(1500, false)?;
    let addr: SocketAddr = "10.0.0.2:7".parse()?;
    let mut listener = server.listen(addr)?;
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(one_byte_server(stream));
        }
    });
    let rate = conn_rate(StackTo(client, addr), total).await;
    accept.abort();
    rate
}

async fn loopback_bulk(bytes: u64) -> Result<f64, BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let tx = tokio::net::TcpStream::connect(addr).await?;
    let (rx, _) = listener.accept().await?;
    bulk(tx, rx, bytes).await
}

async fn loopback_rate(total: usize) -> Result<f64, BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(one_byte_server(stream));
        }
    });
    let rate = conn_rate(KernelTo(addr), total).await;
    accept.abort();
    rate
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Bytes of resident memory per idle connection (both ends counted: a
/// client socket on one stack and a server socket on the other).
async fn idle_rss(count: usize) -> Result<f64, BoxError> {
    let (client, server) = mem_pair(1500, false)?;
    let addr: SocketAddr = "10.0.0.2:8".parse()?;
    let mut listener = server.listen(addr)?;
    // One connection first, so that the stacks' own memory is counted out.
    let warm = (client.connect(addr).await?, listener.accept().await?);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss();
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        let stream = client.connect(addr).await?;
        let (accepted, _) = listener.accept().await?;
        held.push((stream, accepted));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let per = (rss().saturating_sub(before)) as f64 / count as f64;
    drop((held, warm));
    Ok(per)
}

fn row(name: &str, values: Vec<f64>, unit: &str) {
    let shown: Vec<String> = values.iter().map(|v| format!("{v:.2}")).collect();
    println!(
        "| {name} | {:.2} {unit} | {} |",
        median(values),
        shown.join(", ")
    );
}

async fn repeat<F, Fut>(rounds: usize, mut f: F) -> Result<Vec<f64>, BoxError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<f64, BoxError>>,
{
    let mut values = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        values.push(f().await?);
    }
    Ok(values)
}

async fn local(o: &Options) -> Result<(), BoxError> {
    println!("| run | median | rounds |\n|---|---|---|");
    // First, while the heap is fresh: buffers reused from earlier runs
    // would be counted whole.
    let rss_name = "RSS per idle connection (both ends, 1000 held, default 256 KiB buffers)";
    if o.wants(rss_name) {
        let per = idle_rss(1000).await? / 1024.0;
        println!("| {rss_name} | {per:.1} KiB | |");
    }
    let gib = o.bytes as f64 / (1u64 << 30) as f64;
    let name = format!("bulk {gib:.0} GiB, kernel loopback");
    o.run(&name, "Gbit/s", || loopback_bulk(o.bytes)).await?;
    for (mtu, skip) in [
        (1500, false),
        (1500, true),
        (9000, false),
        (65535, false),
        (65535, true),
    ] {
        let checksums = if skip { ", no checksums" } else { "" };
        let name = format!("bulk {gib:.0} GiB, two stacks in memory, MTU {mtu}{checksums}");
        o.run(&name, "Gbit/s", || mem_bulk(mtu, skip, o.bytes))
            .await?;
    }
    let name = format!("{} connections, kernel loopback", o.conns);
    o.run(&name, "conn/s", || loopback_rate(o.conns)).await?;
    let name = format!("{} connections, two stacks in memory", o.conns);
    o.run(&name, "conn/s", || mem_rate(o.conns)).await
}

/// Inside the namespace: a stack on tap0 at 10.77.0.2, the kernel at
/// 10.77.0.1; the kernel connects to the stack and back.
async fn tap_child(o: &Options) -> Result<(), BoxError> {
    let tap = TapLink::open_with_mtu("tap0", o.mtu)?;
    let config = Config::new().address("10.77.0.2/24".parse()?).backlog(1024);
    let stack = Stack::new(tap, config)?;
    let gib = o.bytes as f64 / (1u64 << 30) as f64;
    let prefix = format!("bulk {gib:.0} GiB over TAP, MTU {}", o.mtu);
    let at_stack: SocketAddr = "10.77.0.2:9".parse()?;
    let mut listener = stack.listen(at_stack)?;
    let mut values = Vec::new();
    for _ in 0..o.rounds {
        let tx = tokio::net::TcpStream::connect(at_stack).await?;
        let (rx, _) = listener.accept().await?;
        values.push(bulk(tx, rx, o.bytes).await?);
    }
    row(&format!("{prefix}, kernel to stack"), values, "Gbit/s");
    let kernel = tokio::net::TcpListener::bind("10.77.0.1:9").await?;
    let mut values = Vec::new();
    for _ in 0..o.rounds {
        let tx = stack.connect("10.77.0.1:9".parse()?).await?;
        let (rx, _) = kernel.accept().await?;
        values.push(bulk(tx, rx, o.bytes).await?);
    }
    row(&format!("{prefix}, stack to kernel"), values, "Gbit/s");
    if o.mtu == 1500 {
        tap_rate(o, &stack).await?;
    }
    Ok(())
}

async fn tap_rate(o: &Options, stack: &Stack) -> Result<(), BoxError> {
    let rate_addr: SocketAddr = "10.77.0.2:7".parse()?;
    let mut rate_listener = stack.listen(rate_addr)?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = rate_listener.accept().await {
            tokio::spawn(one_byte_server(stream));
        }
    });
    let values = repeat(o.rounds, || conn_rate(KernelTo(rate_addr), o.conns)).await?;
    let name = format!("{} connections over TAP, kernel to stack", o.conns);
    row(&name, values, "conn/s");
    Ok(())
}

fn ip(args: &[&str]) -> Result<(), BoxError> {
    let status = Command::new("ip").args(args).status()?;
    if !status.success() {
        return Err(format!("ip {args:?} failed").into());
    }
    Ok(())
}

/// Makes the namespace and its TAP device, runs this binary inside it
/// with `--tap-child`, and deletes the namespace.
fn tap(o: &Options) -> Result<(), BoxError> {
    let ns = format!("tcpip-bench-{}", std::process::id());
    ip(&["netns", "add", &ns])?;
    let run = || -> Result<(), BoxError> {
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        ip(&["-n", &ns, "tuntap", "add", "dev", "tap0", "mode", "tap"])?;
        ip(&["-n", &ns, "addr", "add", "10.77.0.1/24", "dev", "tap0"])?;
        ip(&["-n", &ns, "link", "set", "tap0", "up"])?;
        for mtu in ["1500", "9000"] {
            ip(&["-n", &ns, "link", "set", "tap0", "mtu", mtu])?;
            let (bytes, conns, rounds) = (
                o.bytes.to_string(),
                o.conns.to_string(),
                o.rounds.to_string(),
            );
            let status = Command::new("ip")
                .args(["netns", "exec", &ns])
                .arg(std::env::current_exe()?)
                .args(["--tap-child", "--mtu", mtu, "--bytes", &bytes])
                .args(["--conns", &conns, "--rounds", &rounds])
                .status()?;
            if !status.success() {
                return Err("the TAP run failed".into());
            }
        }
        Ok(())
    };
    let result = run();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    result
}

fn main() -> Result<(), BoxError> {
    let o = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if o.tap_child {
        return runtime.block_on(tap_child(&o));
    }
    runtime.block_on(local(&o))?;
    if o.tap {
        tap(&o)?;
    }
    Ok(())
}
