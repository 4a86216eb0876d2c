//! In-memory flows: a [`Hub`] of named listeners and a protocol that
//! connects to them with tokio duplex pipes. For tests, and for a client and
//! a server in one process. The hub lives wherever you keep it (there is no
//! global one): give the same hub to the listener and to the protocol.
//!
//! ```
//! use mimic::{Ctx, mem};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let hub = mem::Hub::new();
//! let mut listener = hub.bind("echo")?;
//! tokio::spawn(async move {
//!     while let Ok(mut flow) = listener.accept().await {
//!         let mut buf = [0; 5];
//!         if flow.read_exact(&mut buf).await.is_ok() {
//!             let _ = flow.write_all(&buf).await;
//!         }
//!     }
//! });
//!
//! let ctx = Ctx::new()
//!     .with_protocol(&mem::registration(hub))
//!     .with(&mem::ADDRESS, "echo".to_string());
//! let mut flow = ctx.resolve().await?;
//! flow.write_all(b"hello").await?;
//! let mut buf = [0; 5];
//! flow.read_exact(&mut buf).await?;
//! assert_eq!(&buf, b"hello");
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::DuplexStream;
use tokio::sync::mpsc;

use crate::flow::Addr;
use crate::{Flow, Info, Key, Protocol, Registration};

/// The endpoint key of [`registration`]: a listener's name.
pub static ADDRESS: Key<String> = Key::new("mem address");

/// The priority of [`registration`]; lower is tried first.
pub const PRIORITY: i32 = 0;

/// How many connections may wait for `accept` before `connect` waits too.
const BACKLOG: usize = 128;

/// Buffer size of each direction of a pipe.
const PIPE_BUFFER: usize = 64 * 1024;

type Pending = (DuplexStream, String);

#[derive(Default)]
struct Listeners {
    by_name: HashMap<String, (u64, mpsc::Sender<Pending>)>,
    next_id: u64,
}

/// A set of named in-memory listeners.
#[derive(Clone, Default)]
pub struct Hub {
    listeners: Arc<Mutex<Listeners>>,
    connections: Arc<AtomicU64>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.lock().by_name.keys().cloned().collect();
        f.debug_struct("Hub").field("listeners", &names).finish()
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Hub {
        Hub::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Listeners> {
        // The map stays consistent even if a holder panicked: every update
        // is a single insert or remove.
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Listens on `name`. Fails with `AddrInUse` while another listener has it.
    pub fn bind(&self, name: &str) -> io::Result<Listener> {
        let mut listeners = self.lock();
        if listeners.by_name.contains_key(name) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("an in-memory listener named `{name}` exists already"),
            ));
        }
        listeners.next_id += 1;
        let id = listeners.next_id;
        let (tx, rx) = mpsc::channel(BACKLOG);
        listeners.by_name.insert(name.to_string(), (id, tx));
        Ok(Listener {
            hub: self.clone(),
            name: name.to_string(),
            id,
            rx,
        })
    }

    /// Connects to the listener `name`. Fails with `ConnectionRefused` when
    /// there is none.
    pub async fn connect(&self, name: &str) -> io::Result<DuplexStream> {
        let refused = || {
            io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("no in-memory listener named `{name}`"),
            )
        };
        let tx = self
            .lock()
            .by_name
            .get(name)
            .map(|(_, tx)| tx.clone())
            .ok_or_else(refused)?;
        let (ours, theirs) = tokio::io::duplex(PIPE_BUFFER);
        let n = self.connections.fetch_add(1, Ordering::Relaxed) + 1;
        tx.send((theirs, format!("client-{n}")))
            .await
            .map_err(|_| refused())?;
        Ok(ours)
    }
}

/// A listener bound in a [`Hub`]; dropping it frees the name.
pub struct Listener {
    hub: Hub,
    name: String,
    id: u64,
    rx: mpsc::Receiver<Pending>,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("name", &self.name)
            .finish()
    }
}

impl Listener {
    /// The name this listener is bound to.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits for the next connection. Its flow's local address is the
    /// listener's name and its peer a `client-N` name.
    pub async fn accept(&mut self) -> io::Result<Flow> {
        let (stream, client) =
            self.rx.recv().await.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotConnected, "in-memory hub closed")
            })?;
        let info = Info::new("mem")
            .with_local_addr(Addr::Mem(self.name.clone()))
            .with_peer_addr(Addr::Mem(client));
        Ok(Flow::new(stream, info))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut listeners = self.hub.lock();
        if listeners
            .by_name
            .get(&self.name)
            .is_some_and(|(id, _)| *id == self.id)
        {
            listeners.by_name.remove(&self.name);
        }
    }
}

/// The in-memory protocol over a [`Hub`].
#[derive(Clone, Debug)]
pub struct Mem {
    hub: Hub,
}

impl Mem {
    /// Connects to listeners of `hub`.
    pub fn new(hub: Hub) -> Mem {
        Mem { hub }
    }
}

impl Protocol for Mem {
    type Endpoint = String;
    type Flow = DuplexStream;

    async fn connect(&self, name: &String) -> io::Result<DuplexStream> {
        self.hub.connect(name).await
    }

    fn describe(&self, name: &String) -> String {
        format!("mem:{name}")
    }

    fn info(&self, name: &String, _: &DuplexStream) -> Info {
        Info::default().with_peer_addr(Addr::Mem(name.clone()))
    }
}

/// A registration of [`Mem`] over `hub`, named `mem`, at [`PRIORITY`], on [`ADDRESS`].
pub fn registration(hub: Hub) -> Registration<String> {
    Registration::with_key(&ADDRESS, "mem", PRIORITY, Mem::new(hub))
}
