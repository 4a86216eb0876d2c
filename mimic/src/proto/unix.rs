//! Unix domain sockets.
//!
//! The endpoint key is [`PATH`]: set it to a socket path to make the `unix`
//! registration a candidate.
//!
//! ```no_run
//! use mimic::{Ctx, unix};
//!
//! # async fn run() -> Result<(), mimic::ResolveError> {
//! let ctx = Ctx::new()
//!     .with_protocol(&unix::registration())
//!     .with(&unix::PATH, "/var/run/docker.sock".into());
//! let flow = ctx.resolve().await?;
//! # let _ = flow; Ok(()) }
//! ```

use std::io;
use std::path::PathBuf;

use tokio::net::UnixStream;

use crate::flow::Addr;
use crate::{Info, Key, Protocol, Registration};

/// The endpoint key of the built-in Unix registration: a socket path.
pub static PATH: Key<PathBuf> = Key::new("unix path");

/// The priority of [`registration`]; lower is tried first.
pub const PRIORITY: i32 = 10;

/// The Unix domain socket protocol.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unix;

impl Protocol for Unix {
    type Endpoint = PathBuf;
    type Flow = UnixStream;

    async fn connect(&self, path: &PathBuf) -> io::Result<UnixStream> {
        UnixStream::connect(path).await
    }

    fn describe(&self, path: &PathBuf) -> String {
        format!("unix:{}", path.display())
    }

    fn info(&self, path: &PathBuf, flow: &UnixStream) -> Info {
        let named = |addr: io::Result<tokio::net::unix::SocketAddr>| {
            addr.ok()
                .and_then(|a| a.as_pathname().map(|p| Addr::Unix(p.to_path_buf())))
        };
        let mut info = Info::default();
        if let Some(local) = named(flow.local_addr()) {
            info = info.with_local_addr(local);
        }
        // The kernel reports the path a client connected to; fall back to
        // the endpoint for sockets it does not name.
        let peer = named(flow.peer_addr()).unwrap_or_else(|| Addr::Unix(path.clone()));
        info.with_peer_addr(peer)
    }
}

/// A registration of [`Unix`] named `unix`, at [`PRIORITY`], on [`PATH`].
pub fn registration() -> Registration<PathBuf> {
    Registration::with_key(&PATH, "unix", PRIORITY, Unix)
}
