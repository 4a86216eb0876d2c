//! The cheap load generator of the static mode's large-file row: threads
//! that each keep one HTTP/1.1 connection and, in a loop, ask for `PATH`
//! and move the body to `/dev/null` with `splice` (socket to pipe, pipe to
//! `/dev/null`), so that no byte is copied into this process.
//!
//! ```text
//! download-load --addr 127.0.0.1:8080 --path /large.bin \
//!     [--connections 4] [--warmup 1] [--duration 5]
//! ```
//!
//! wrk reads every byte into its own buffer: on a 64 MiB download over
//! loopback that copy costs it more CPU than the server's `sendfile`, so
//! with one CPU for the load the row measured wrk. Here the pages only
//! change hands.
//!
//! The result is one line on stdout, `key=value` pairs separated by
//! spaces: `downloads` (whole bodies received in the measured window),
//! `bytes` (their bytes), `secs`, `rate` (downloads per second) and
//! `errors` (warm-up included). The first error, if any, goes to stderr.
//! Linux only (`splice`).

use std::error::Error;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bench::load::Failures;
use clap::Parser;
use rustix::pipe::{SpliceFlags, fcntl_setpipe_size, pipe, splice};

/// Command-line options.
#[derive(Parser)]
#[command(about = "Count whole downloads per second, bodies spliced to /dev/null")]
struct Args {
    /// The server's address (clear-text HTTP/1.1).
    #[arg(long)]
    addr: SocketAddr,
    /// The path every request asks for.
    #[arg(long)]
    path: String,
    /// Connections, each on a thread of its own, one request at a time.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Seconds of load before the measured window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds of the measured window.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
}

/// The pipe's size: each `splice` moves up to this much.
const PIPE_BYTES: usize = 1 << 20;
/// The most a response head may take.
const HEAD_LIMIT: usize = 16 * 1024;

/// What the threads share.
#[derive(Default)]
struct Counters {
    /// Whole bodies received.
    downloads: AtomicU64,
    /// Their bytes.
    bytes: AtomicU64,
    /// Failures, warm-up included.
    failures: Failures,
    /// Set when the window is over.
    stop: AtomicBool,
}

fn main() -> ExitCode {
    bench::load::exit_code("download-load", run(Args::parse()))
}

fn run(args: Args) -> Result<bool, Box<dyn Error>> {
    if args.connections == 0 {
        return Err("--connections must be at least 1".into());
    }
    let request: Arc<[u8]> = format!("GET {} HTTP/1.1\r\nhost: localhost\r\n\r\n", args.path)
        .into_bytes()
        .into();
    let counters = Arc::new(Counters::default());
    let threads: Vec<_> = (0..args.connections)
        .map(|_| {
            let (addr, request, counters) = (args.addr, request.clone(), counters.clone());
            thread::spawn(move || connection(addr, &request, &counters))
        })
        .collect();
    thread::sleep(Duration::from_secs_f64(args.warmup.max(0.0)));
    let load = |c: &Counters| {
        (
            c.downloads.load(Ordering::Relaxed),
            c.bytes.load(Ordering::Relaxed),
        )
    };
    let ((downloads_from, bytes_from), start) = (load(&counters), Instant::now());
    thread::sleep(Duration::from_secs_f64(args.duration.max(0.001)));
    let ((downloads_to, bytes_to), secs) = (load(&counters), start.elapsed().as_secs_f64());
    counters.stop.store(true, Ordering::Relaxed);
    for thread in threads {
        // A thread that panicked counted nothing more; its error is below.
        let _ = thread.join();
    }
    let errors = counters.failures.report("download-load");
    let downloads = downloads_to - downloads_from;
    println!(
        "downloads={downloads} bytes={} secs={secs:.3} rate={:.2} errors={errors}",
        bytes_to - bytes_from,
        downloads as f64 / secs
    );
    Ok(errors == 0 && downloads > 0)
}

/// One connection's loop, reconnecting after a failure.
fn connection(addr: SocketAddr, request: &[u8], counters: &Counters) {
    while !counters.stop.load(Ordering::Relaxed) {
        if let Err(error) = downloads(addr, request, counters) {
            counters.failures.record(error);
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Downloads on one connection until told to stop or something fails.
fn downloads(addr: SocketAddr, request: &[u8], counters: &Counters) -> Result<(), Box<dyn Error>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let sink = Sink::new()?;
    let mut head = vec![0u8; HEAD_LIMIT];
    while !counters.stop.load(Ordering::Relaxed) {
        stream.write_all(request)?;
        let (length, early) = read_head(&mut stream, &mut head)?;
        if early > length {
            return Err("the server sent more than the body".into());
        }
        sink.take(&stream, length - early)?;
        counters.downloads.fetch_add(1, Ordering::Relaxed);
        counters.bytes.fetch_add(length, Ordering::Relaxed);
    }
    Ok(())
}

/// Reads a `200` response's head into `buf`: the body's length, and how
/// many of its bytes came in with the head.
fn read_head(stream: &mut TcpStream, buf: &mut [u8]) -> Result<(u64, u64), Box<dyn Error>> {
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            return Err("the response head is too large".into());
        }
        let n = stream.read(&mut buf[filled..])?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        filled += n;
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(end) = response.parse(&buf[..filled])? else {
            continue;
        };
        if response.code != Some(200) {
            return Err(format!("status {:?}, not 200", response.code).into());
        }
        let length = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .ok_or("no content-length")?;
        let length: u64 = std::str::from_utf8(length.value)?.trim().parse()?;
        return Ok((length, (filled - end) as u64));
    }
}

/// A pipe, and `/dev/null` to empty it into.
struct Sink {
    read: OwnedFd,
    write: OwnedFd,
    null: File,
}

impl Sink {
    fn new() -> Result<Sink, Box<dyn Error>> {
        let (read, write) = pipe()?;
        // Without the room (a capped `pipe-max-size`), splices move less.
        let _ = fcntl_setpipe_size(&write, PIPE_BYTES);
        let null = File::options().write(true).open("/dev/null")?;
        Ok(Sink { read, write, null })
    }

    /// Moves `len` bytes from `stream` to `/dev/null` through the pipe.
    fn take(&self, stream: &TcpStream, mut len: u64) -> Result<(), Box<dyn Error>> {
        let flags = SpliceFlags::MOVE;
        while len > 0 {
            let want = usize::try_from(len).unwrap_or(usize::MAX).min(PIPE_BYTES);
            let moved = splice(stream, None, &self.write, None, want, flags)?;
            if moved == 0 {
                return Err("the server closed the connection in the body".into());
            }
            let mut left = moved;
            while left > 0 {
                match splice(&self.read, None, &self.null, None, left, flags)? {
                    0 => return Err("/dev/null took nothing".into()),
                    n => left -= n,
                }
            }
            len -= moved as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Answers each of `count` requests with a `len`-byte body, the head
    /// and the body's first bytes in one write.
    fn serve(listener: TcpListener, len: usize, count: usize) -> thread::JoinHandle<()> {
        thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("a connection");
            let body = vec![b'x'; len];
            let mut request = [0u8; 1024];
            for _ in 0..count {
                let n = stream.read(&mut request).expect("a request");
                assert!(request[..n].starts_with(b"GET /f HTTP/1.1\r\n"));
                let mut first =
                    format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n").into_bytes();
                first.extend_from_slice(&body[..100]);
                stream.write_all(&first).expect("the head");
                stream.write_all(&body[100..]).expect("the body");
            }
        })
    }

    #[test]
    fn bodies_are_taken_whole_and_the_next_response_reads() -> Result<(), Box<dyn Error>> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let len = 3 * PIPE_BYTES + 7;
        let server = serve(listener, len, 2);
        let mut stream = TcpStream::connect(addr)?;
        let (sink, mut head) = (Sink::new()?, vec![0u8; HEAD_LIMIT]);
        for _ in 0..2 {
            stream.write_all(b"GET /f HTTP/1.1\r\nhost: localhost\r\n\r\n")?;
            let (length, early) = read_head(&mut stream, &mut head)?;
            assert_eq!(length, len as u64);
            assert!(early <= length, "{early} bytes came with the head");
            sink.take(&stream, length - early)?;
        }
        server.join().map_err(|_| "the server panicked")?;
        // Nothing is left: the server closed, and the stream reads its end.
        assert_eq!(stream.read(&mut head)?, 0);
        Ok(())
    }

    #[test]
    fn a_body_cut_short_is_an_error() -> Result<(), Box<dyn Error>> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("a connection");
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).expect("a request");
            let cut = b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\nonly this";
            stream.write_all(cut).expect("the head");
        });
        let mut stream = TcpStream::connect(addr)?;
        stream.write_all(b"GET /f HTTP/1.1\r\nhost: localhost\r\n\r\n")?;
        let mut head = vec![0u8; HEAD_LIMIT];
        let (length, early) = read_head(&mut stream, &mut head)?;
        server.join().map_err(|_| "the server panicked")?;
        let error = Sink::new()?
            .take(&stream, length - early)
            .expect_err("cut short");
        assert!(error.to_string().contains("closed"), "{error}");
        Ok(())
    }
}
