//! Unix domain socket listeners.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use mimic::flow::Addr;
use mimic::{Flow, Info};
use socket2::{Domain, SockAddr, Socket, Type};

use super::{Connecting, Listener};
use crate::error::{Error, Listen};

/// The default length of the queue of connections waiting to be accepted.
const DEFAULT_BACKLOG: i32 = 1024;

/// A listener on a Unix domain socket file.
///
/// Binding takes care of the file: a stale socket left by a server that
/// died is removed, but only after checking that nothing answers on it; a
/// live server's socket, or a path that is not a socket, makes binding fail
/// and is left alone. The permission mode, when one is set, is applied
/// before the socket starts listening, so no client can connect under the
/// default mode. When the listener is dropped it removes its file, if the
/// file is still the one it created.
///
/// Accepted flows have the protocol `unix`, the socket path as local
/// address, and the client's path as peer address when the client bound
/// one (most clients do not, and then there is no peer address).
#[derive(Debug)]
pub struct UnixListener {
    inner: tokio::net::UnixListener,
    path: PathBuf,
    /// Device and inode of the socket file this listener created.
    created: Option<(u64, u64)>,
}

impl UnixListener {
    /// Binds to `path` with the default options.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with IO enabled.
    pub fn bind(path: impl AsRef<Path>) -> Result<UnixListener, Error> {
        UnixListener::builder(path).bind()
    }

    /// Options for a listener on `path`.
    pub fn builder(path: impl AsRef<Path>) -> UnixListenerBuilder {
        UnixListenerBuilder {
            path: path.as_ref().to_path_buf(),
            mode: None,
            backlog: DEFAULT_BACKLOG,
        }
    }

    /// The socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Listener for UnixListener {
    async fn accept(&mut self) -> io::Result<Connecting> {
        let (stream, peer) = self.inner.accept().await?;
        let mut info = Info::new("unix").with_local_addr(Addr::Unix(self.path.clone()));
        if let Some(peer) = peer.as_pathname() {
            info = info.with_peer_addr(Addr::Unix(peer.to_path_buf()));
        }
        Ok(Connecting::ready(Flow::new(stream, info)))
    }

    fn local_addr(&self) -> Addr {
        Addr::Unix(self.path.clone())
    }
}

impl Drop for UnixListener {
    fn drop(&mut self) {
        let Some(created) = self.created else { return };
        // Another server may have replaced the file since: leave it alone.
        match fs::symlink_metadata(&self.path) {
            Ok(meta) if (meta.dev(), meta.ino()) == created => {
                if let Err(err) = fs::remove_file(&self.path) {
                    tracing::warn!(path = %self.path.display(), %err, "conduit: cannot remove socket file");
                }
            }
            Ok(_) => tracing::debug!(
                path = %self.path.display(),
                "conduit: socket file was replaced; not removing it"
            ),
            Err(_) => {}
        }
    }
}

/// Options of a [`UnixListener`], then [`bind`](UnixListenerBuilder::bind).
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `bind` is called"]
pub struct UnixListenerBuilder {
    path: PathBuf,
    mode: Option<u32>,
    backlog: i32,
}

impl UnixListenerBuilder {
    /// The permission bits of the socket file, such as `0o660` for the
    /// owner and group (connecting needs write permission). By default the
    /// process umask decides.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// The length of the queue of connections not accepted yet (default
    /// 1024; the system may cap it).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self
    }

    /// Clears a stale socket file, binds, applies the mode and listens.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with IO enabled.
    pub fn bind(self) -> Result<UnixListener, Error> {
        let path = self.path;
        let fail = |step: &'static str, source| bind_failed(&path, step, source);
        remove_stale(&path)?;
        let socket =
            Socket::new(Domain::UNIX, Type::STREAM, None).map_err(|e| fail("socket", e))?;
        let addr = SockAddr::unix(&path).map_err(|e| fail("socket address", e))?;
        socket.bind(&addr).map_err(|e| fail("bind", e))?;
        // From here on the file is ours: `guard` removes it on any failure.
        let meta = fs::symlink_metadata(&path).map_err(|e| fail("stat", e))?;
        let guard = FileGuard {
            path: &path,
            created: (meta.dev(), meta.ino()),
            armed: true,
        };
        if let Some(mode) = self.mode {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(|source| {
                Listen::Permissions {
                    path: path.clone(),
                    mode,
                    source,
                }
            })?;
        }
        socket
            .set_nonblocking(true)
            .map_err(|e| fail("O_NONBLOCK", e))?;
        socket.listen(self.backlog).map_err(|e| fail("listen", e))?;
        let std: std::os::unix::net::UnixListener = socket.into();
        let inner = tokio::net::UnixListener::from_std(std).map_err(|e| fail("register", e))?;
        let created = guard.disarm();
        Ok(UnixListener {
            inner,
            path,
            created: Some(created),
        })
    }
}

fn bind_failed(path: &Path, step: &'static str, source: io::Error) -> Error {
    let addr = Addr::Unix(path.to_path_buf());
    Listen::Bind { addr, step, source }.into()
}

/// Removes the socket file at `path` if nothing listens on it.
fn remove_stale(path: &Path) -> Result<(), Error> {
    let fail = |step: &'static str, source| bind_failed(path, step, source);
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(fail("stat", err)),
    };
    if !meta.file_type().is_socket() {
        let path = path.to_path_buf();
        return Err(Listen::NotASocket { path }.into());
    }
    // A non-blocking connect answers at once: refused means nobody listens.
    let probe = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(|e| fail("socket", e))?;
    probe
        .set_nonblocking(true)
        .map_err(|e| fail("O_NONBLOCK", e))?;
    let addr = SockAddr::unix(path).map_err(|e| fail("socket address", e))?;
    match probe.connect(&addr) {
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "conduit: removing stale socket file");
            match fs::remove_file(path) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => {
                    Err(fail("remove stale socket", err))
                }
                _ => Ok(()),
            }
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        // Connected, or queued behind a full backlog: someone is there.
        Ok(()) => Err(in_use(path)),
        Err(err)
            if err.kind() == io::ErrorKind::WouldBlock
                || err.raw_os_error() == Some(libc::EINPROGRESS) =>
        {
            Err(in_use(path))
        }
        Err(err) => Err(fail("probe existing socket", err)),
    }
}

fn in_use(path: &Path) -> Error {
    let path = path.to_path_buf();
    Listen::UnixInUse { path }.into()
}

/// Removes a socket file created by a bind that failed later on.
struct FileGuard<'a> {
    path: &'a Path,
    created: (u64, u64),
    armed: bool,
}

impl FileGuard<'_> {
    fn disarm(mut self) -> (u64, u64) {
        self.armed = false;
        self.created
    }
}

impl Drop for FileGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(self.path);
        }
    }
}
