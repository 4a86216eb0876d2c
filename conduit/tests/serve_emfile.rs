//! Out of file descriptors: the accept loop pauses instead of spinning, and
//! service resumes when descriptors are freed.
//!
//! The server runs in a child process (this test binary again, running
//! `emfile_child`) with a low descriptor limit; the parent floods it with
//! connections and asks it for the CPU time it used meanwhile.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use conduit::listener::TcpListener;
use conduit::serve::{Failure, Server};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const CHILD_ENV: &str = "CONDUIT_EMFILE_CHILD";
/// The child's descriptor limit; the flood is several times larger.
const FD_LIMIT: usize = 64;
const FLOOD: usize = 200;
const MEASURE_FOR: Duration = Duration::from_secs(1);
/// CPU time allowed over `MEASURE_FOR`, in clock ticks (normally 10 ms):
/// a spinning accept loop burns all 100 of them.
const MAX_TICKS: u64 = 20;
const PROMPT: Duration = Duration::from_secs(20);

/// Reads this process's CPU time from a `/proc/self/stat` opened while
/// descriptors were still available.
struct CpuClock(std::fs::File);

impl CpuClock {
    fn open() -> CpuClock {
        CpuClock(std::fs::File::open("/proc/self/stat").expect("open /proc/self/stat"))
    }

    /// User plus system CPU time, in clock ticks.
    fn ticks(&mut self) -> u64 {
        use std::io::{Read, Seek};
        let mut stat = String::new();
        self.0.rewind().expect("rewind /proc/self/stat");
        self.0
            .read_to_string(&mut stat)
            .expect("read /proc/self/stat");
        // Fields after the command name, which is in parentheses: state is
        // field 3, utime field 14, stime field 15.
        let (_, rest) = stat.rsplit_once(") ").expect("stat format");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields[11].parse().expect("utime");
        let stime: u64 = fields[12].parse().expect("stime");
        utime + stime
    }
}

fn say(line: String) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").expect("write to the parent");
    out.flush().expect("flush to the parent");
}

/// The server side; does nothing unless started by the parent test.
#[test]
fn emfile_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let tcp = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind");
        let addr = tcp.local_socket_addr();
        let exhausted = Arc::new(AtomicUsize::new(0));
        let counter = exhausted.clone();
        let server = Server::builder()
            .listener(tcp)
            .on_error(move |error| {
                if let Failure::Accept { error, .. } = error
                    && error.raw_os_error() == Some(libc::EMFILE)
                {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
            .serve(|mut flow, _drain| async move {
                if flow.write_all(b"hi").await.is_ok() {
                    let mut buf = [0; 16];
                    while let Ok(n) = flow.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                    }
                }
            });
        say(format!("ADDR {addr}"));
        let mut commands = BufReader::new(tokio::io::stdin()).lines();
        let mut clock = CpuClock::open();
        let mut since = clock.ticks();
        while let Some(command) = commands.next_line().await.expect("read a command") {
            match command.as_str() {
                "MEASURE" => since = clock.ticks(),
                "REPORT" => say(format!(
                    "CPU {} EMFILE {}",
                    clock.ticks() - since,
                    exhausted.load(Ordering::Relaxed)
                )),
                "EXIT" => break,
                other => panic!("unknown command {other}"),
            }
        }
        let report = server.shutdown(Duration::from_secs(2)).await;
        say(format!("DONE {report:?}"));
    });
}

#[tokio::test]
async fn out_of_descriptors_the_accept_loop_backs_off_and_recovers() {
    let exe = std::env::current_exe().expect("test executable");
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {FD_LIMIT} && exec \"$0\" \"$@\""))
        .arg(exe)
        .args(["--exact", "emfile_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the child");
    let mut stdin = child.stdin.take().expect("child stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();
    let mut expect_line = async |prefix: &str| -> String {
        loop {
            let line = tokio::time::timeout(PROMPT, lines.next_line())
                .await
                .expect("the child answers in time")
                .expect("read the child")
                .unwrap_or_else(|| panic!("the child exited before saying {prefix}"));
            // The harness may have started the line (`test emfile_child ... `).
            if let Some(at) = line.find(prefix) {
                return line[at + prefix.len()..].to_string();
            }
        }
    };

    let addr: std::net::SocketAddr = expect_line("ADDR ").await.parse().expect("address");

    // Far more connections than the child has descriptors: the system queues
    // them all, and the child runs out of descriptors accepting them.
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        flood.push(TcpStream::connect(addr).await.expect("flood connect"));
    }
    // The first ones are served: the accept loop is running.
    let mut hi = [0; 2];
    flood[0].read_exact(&mut hi).await.expect("first greeting");

    stdin.write_all(b"MEASURE\n").await.expect("command");
    tokio::time::sleep(MEASURE_FOR).await; // the measured interval, not a synchronization
    stdin.write_all(b"REPORT\n").await.expect("command");
    let report = expect_line("CPU ").await;
    let (ticks, emfile) = report.split_once(" EMFILE ").expect("report format");
    let ticks: u64 = ticks.parse().expect("ticks");
    let emfile: usize = emfile.parse().expect("EMFILE count");
    eprintln!("while out of descriptors: {ticks} ticks of CPU, {emfile} EMFILE reports");
    assert!(
        emfile > 0,
        "the child never ran out of descriptors: the test proves nothing"
    );
    assert!(
        ticks <= MAX_TICKS,
        "the accept loop used {ticks} ticks of CPU in {MEASURE_FOR:?} while out of descriptors"
    );
    // Backing off, it tried a few times, not thousands.
    assert!(
        emfile < 50,
        "{emfile} accept attempts while out of descriptors"
    );

    // Free the descriptors: new clients are served again.
    drop(flood);
    let mut client = TcpStream::connect(addr)
        .await
        .expect("connect after the flood");
    tokio::time::timeout(PROMPT, client.read_exact(&mut hi))
        .await
        .expect("served again once descriptors are free")
        .expect("greeting");
    assert_eq!(&hi, b"hi");
    drop(client);

    stdin.write_all(b"EXIT\n").await.expect("command");
    let done = expect_line("DONE ").await;
    assert!(done.contains("aborted: 0"), "{done}");
    let status = tokio::time::timeout(PROMPT, child.wait())
        .await
        .expect("the child exits in time")
        .expect("child status");
    assert!(status.success(), "child: {status}");
}
