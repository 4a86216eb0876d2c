//! A failed resolution's whole report at debug level. Alone in its binary:
//! tracing caches which callsites are enabled, and a test running beside
//! it without a subscriber could leave this one's events disabled.

use std::io::Write;
use std::sync::{Arc, Mutex};

use mimic::{Ctx, keys};

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// What the debug log gets: a writer into a shared buffer.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("the log's lock")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// At debug level, a failed resolution logs every candidate whole.
#[tokio::test]
async fn the_debug_log_has_every_candidate() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let port = closed_port();
    let ctx = Ctx::new()
        .with_builtins()
        .with(&keys::HOST, "127.0.0.1".to_string())
        .with(&keys::PORT, port);
    let err = ctx.resolve().await.expect_err("refused");
    assert!(err.to_string().contains("never applicable"), "{err}");
    let text = String::from_utf8(log.0.lock().expect("the log's lock").clone()).expect("text");
    assert!(text.contains("mimic: nothing connected"), "{text}");
    for line in [
        "  1. tls (priority 0): not built: missing input `tls server name` (for `tls endpoint`)",
        "  2. unix (priority 10): not built: missing input `unix path`",
        "  3. tcp (priority 20) 127.0.0.1:",
    ] {
        assert!(text.contains(line), "no {line:?} in the log:\n{text}");
    }
}
