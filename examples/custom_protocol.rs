//! A protocol of your own beside the built-ins: `scrambled`, TCP whose bytes
//! are XORed with a one-byte key in both directions (a toy scrambler).
//!
//! The example starts a server on 127.0.0.1 that speaks the same scrambling,
//! registers `scrambled` with a priority that puts it before the built-in `tcp`,
//! resolves, exchanges a line, then prints the flow's information, the
//! resolution report, and the user's stream type recovered by a downcast.
//!
//! Run it with `cargo run -p examples --example custom_protocol`.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use mimic::flow::Addr;
use mimic::{Ctx, Info, Protocol, Registration, keys, req};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The key both ends scramble with.
const SECRET: u8 = 0x5a;

/// Lower numbers are tried first: before the built-in `unix` (10) and `tcp` (20).
const PRIORITY: i32 = 5;

/// A stream whose bytes are XORed with `key`, both ways.
struct ScrambledStream<S> {
    inner: S,
    key: u8,
    scratch: Vec<u8>,
}

impl<S> ScrambledStream<S> {
    fn new(inner: S, key: u8) -> Self {
        ScrambledStream {
            inner,
            key,
            scratch: Vec::new(),
        }
    }

    fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ScrambledStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let start = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        for byte in &mut buf.filled_mut()[start..] {
            *byte ^= this.key;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ScrambledStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // XOR works byte by byte, so a partial write needs no bookkeeping:
        // the caller passes the rest again and it is scrambled again.
        let this = self.get_mut();
        let key = this.key;
        this.scratch.clear();
        this.scratch.extend(buf.iter().map(|byte| byte ^ key));
        Pin::new(&mut this.inner).poll_write(cx, &this.scratch)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The `scrambled` protocol: connect over TCP, then scramble.
struct Scrambled {
    key: u8,
}

impl Protocol for Scrambled {
    type Endpoint = SocketAddr;
    type Flow = ScrambledStream<TcpStream>;

    async fn connect(&self, addr: &SocketAddr) -> io::Result<Self::Flow> {
        let stream = TcpStream::connect(addr).await?;
        Ok(ScrambledStream::new(stream, self.key))
    }

    fn describe(&self, addr: &SocketAddr) -> String {
        addr.to_string()
    }

    fn info(&self, _: &SocketAddr, flow: &Self::Flow) -> Info {
        let mut info = Info::default();
        if let Ok(local) = flow.get_ref().local_addr() {
            info = info.with_local_addr(local);
        }
        if let Ok(peer) = flow.get_ref().peer_addr() {
            info = info.with_peer_addr(peer);
        }
        info
    }
}

/// Answers one line, upper-cased, through the same scrambling.
async fn serve_one(listener: TcpListener) -> io::Result<()> {
    let (stream, _) = listener.accept().await?;
    let mut stream = BufReader::new(ScrambledStream::new(stream, SECRET));
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    stream.write_all(line.to_uppercase().as_bytes()).await?;
    stream.shutdown().await
}

/// An address, or `-` when there is none.
fn show(addr: Option<&Addr>) -> String {
    addr.map_or_else(|| "-".to_string(), Addr::to_string)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let server = listener.local_addr()?;
    println!("scrambled server listening on {server}\n");
    tokio::spawn(async move {
        if let Err(e) = serve_one(listener).await {
            eprintln!("server: {e}");
        }
    });

    // The built-ins make `tcp` a candidate for HOST and PORT; deriving the
    // `scrambled` endpoint from the same keys makes it one too, tried first.
    let scrambled = Registration::new("scrambled", PRIORITY, Scrambled { key: SECRET });
    let ctx = Ctx::new()
        .with_builtins()
        .with_protocol(&scrambled)
        .derive(
            scrambled.endpoint(),
            (req(&keys::ADDRS), req(&keys::PORT)),
            |(addrs, port)| async move {
                Ok::<_, Infallible>(addrs.first().map(|ip| SocketAddr::new(*ip, port)))
            },
        )
        .with(&keys::HOST, server.ip().to_string())
        .with(&keys::PORT, server.port());

    let mut flow = ctx.resolve().await?;
    let message = "hello through the scrambler";
    flow.write_all(format!("{message}\n").as_bytes()).await?;
    let mut reply = String::new();
    BufReader::new(&mut flow).read_line(&mut reply).await?;
    println!("sent      {message:?}");
    println!("received  {:?}\n", reply.trim_end());

    let info = flow.info();
    let protocols: Vec<_> = info.protocols().collect();
    println!("flow");
    println!("  protocols  {}", protocols.join(" over "));
    println!("  endpoint   {}", info.endpoint().unwrap_or("-"));
    println!("  local      {}", show(info.local_addr()));
    println!("  peer       {}\n", show(info.peer_addr()));
    if let Some(report) = info.report() {
        println!("report\n{report}");
    }

    // The flow is the user's own type underneath.
    let stream = flow
        .downcast_ref::<ScrambledStream<TcpStream>>()
        .ok_or("the flow is not an ScrambledStream<TcpStream>")?;
    println!(
        "downcast to ScrambledStream<TcpStream>: key {:#04x}, TCP socket {} -> {}",
        stream.key,
        stream.get_ref().local_addr()?,
        stream.get_ref().peer_addr()?,
    );
    Ok(())
}
