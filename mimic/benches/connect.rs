//! Connecting over loopback TCP: bare tokio against mimic's resolution.
//!
//! Three ways to get a connected `TCP_NODELAY` stream to a local listener,
//! side by side in one group:
//!
//! - `tokio`: `TcpStream::connect` then `set_nodelay(true)`;
//! - `mimic/endpoint`: a context with the TCP registration and its endpoint
//!   set directly;
//! - `mimic/builtins`: the built-in context with a host (an IP literal) and a
//!   port, so the address and the endpoint are derived and the TLS layer is
//!   registered but not applicable.
//!
//! A std listener on its own thread accepts and drops every connection, so
//! the server closes first and keeps the `TIME_WAIT` state: the client's
//! ephemeral ports stay free however many iterations run. (A client that
//! closes first leaves its port in `TIME_WAIT`; the kernel's search for a
//! free port then skips more and more of them, and a loopback connect went
//! from about 40 µs to about 3 ms on the machine of `docs/benchmarks.md`.)
//! Before measuring, one connection per ephemeral port brings the kernel to
//! the steady state that every variant then runs in. Each iteration times
//! the connection (resolution included) and the drop of the stream, not the
//! wait for the server's close in between.
//!
//! Run with `cargo bench -p mimic --bench connect`.

use std::future::Future;
use std::hint::black_box;
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mimic::{Ctx, Flow, keys, tcp};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

/// Starts a listener on 127.0.0.1 that accepts and drops every connection
/// on a thread of its own, for the rest of the process.
fn spawn_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback listener");
    let addr = listener
        .local_addr()
        .expect("read the listener's local address");
    thread::Builder::new()
        .name("accept-and-drop".into())
        .spawn(move || {
            // Dropping an accepted stream closes it: the server sends its FIN
            // first. Accept errors (a reset before accept) are ignored.
            for stream in listener.incoming() {
                drop(stream);
            }
        })
        .expect("spawn the accept thread");
    addr
}

/// Waits for the server's close (end of stream), so that the client closes
/// second and no `TIME_WAIT` state stays on the client's ephemeral port.
async fn server_closed<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut byte = [0u8; 1];
    let read = stream
        .read(&mut byte)
        .await
        .expect("read the server's close");
    assert_eq!(read, 0, "the server sends no data");
}

/// Runs `iters` connections and gives the time spent connecting and
/// dropping the streams, without the waits for the server's close.
async fn measure<S, C, F>(iters: u64, mut connect: C) -> Duration
where
    S: AsyncRead + Unpin,
    C: FnMut() -> F,
    F: Future<Output = S>,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let mut stream = black_box(connect().await);
        total += start.elapsed();
        server_closed(&mut stream).await;
        let start = Instant::now();
        drop(black_box(stream));
        total += start.elapsed();
    }
    total
}

/// Connects once per port of the ephemeral range before measuring, so that
/// every variant meets the same kernel state: about one server `TIME_WAIT`
/// entry per client port, each reused by the next connection from that port.
fn prime(rt: &Runtime, addr: SocketAddr) {
    let ports = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| {
            let mut bounds = range.split_whitespace().map(str::parse::<u32>);
            match (bounds.next(), bounds.next()) {
                (Some(Ok(low)), Some(Ok(high))) if high >= low => Some(high - low + 1),
                _ => None,
            }
        })
        .unwrap_or(28_232);
    rt.block_on(async {
        for _ in 0..ports {
            let mut stream = TcpStream::connect(addr).await.expect("connect to prime");
            server_closed(&mut stream).await;
        }
    });
}

fn tcp_ctx(addr: SocketAddr) -> Ctx {
    Ctx::new()
        .with_protocol(&tcp::registration(tcp::Tcp::new()))
        .with(&tcp::ENDPOINT, addr.into())
}

fn builtins_ctx(addr: SocketAddr) -> Ctx {
    Ctx::new()
        .with_builtins()
        .with(&keys::HOST, addr.ip().to_string())
        .with(&keys::PORT, addr.port())
}

/// Resolves `ctx` once and checks that the flow is plain TCP to `addr`.
fn check(rt: &Runtime, ctx: &Ctx, addr: SocketAddr) {
    rt.block_on(async {
        let mut flow: Flow = ctx.resolve().await.expect("resolve the loopback context");
        assert_eq!(flow.info().protocol(), "tcp", "{:?}", flow.info());
        assert_eq!(
            flow.info().peer_addr(),
            Some(&mimic::flow::Addr::Inet(addr)),
            "{:?}",
            flow.info()
        );
        let stream: &TcpStream = flow.downcast_ref().expect("a TCP flow");
        assert!(stream.nodelay().expect("read TCP_NODELAY"), "nodelay is on");
        server_closed(&mut flow).await;
    });
}

fn connect(c: &mut Criterion) {
    let addr = spawn_server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a current-thread runtime");

    let endpoint = tcp_ctx(addr);
    let builtins = builtins_ctx(addr);
    check(&rt, &endpoint, addr);
    check(&rt, &builtins, addr);
    prime(&rt, addr);

    let mut group = c.benchmark_group("connect 127.0.0.1");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    group.bench_function("tokio", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            measure(iters, move || async move {
                let stream = TcpStream::connect(addr).await.expect("connect with tokio");
                stream.set_nodelay(true).expect("set TCP_NODELAY");
                stream
            })
        });
    });

    group.bench_function("mimic/endpoint", |b| {
        let ctx = &endpoint;
        b.to_async(&rt).iter_custom(|iters| {
            measure(iters, move || async move {
                ctx.resolve().await.expect("resolve the tcp endpoint")
            })
        });
    });

    group.bench_function("mimic/builtins", |b| {
        let ctx = &builtins;
        b.to_async(&rt).iter_custom(|iters| {
            measure(iters, move || async move {
                ctx.resolve().await.expect("resolve host and port")
            })
        });
    });

    group.finish();
}

criterion_group!(benches, connect);
criterion_main!(benches);
