//! Connections kept for reuse, keyed by where they go.
//!
//! HTTP/1.1 connections are lent out one request at a time and come back
//! when the response body ends or is dropped ([`Pooled`]'s `Drop`). HTTP/2
//! connections are shared: every request to the endpoint goes on the least
//! busy one, and another is opened only when all are at the server's stream
//! limit.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use conduit::Endpoint;
use mimic::Info;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::conn::SendRequest;
use crate::timer::after;

/// How long a connection whose response body was dropped unread may take
/// to finish reading it before it is given up on: a backstop, as the
/// connection itself gives up after 2 s without progress.
const DRAIN_WAIT: Duration = Duration::from_secs(10);

/// Where a pooled connection goes; connections are shared only within one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Route {
    /// Straight to the endpoint.
    Direct(Endpoint),
    /// To a forward proxy, requests in absolute-form.
    Forward(Endpoint),
    /// Through a proxy's `CONNECT` tunnel to the endpoint.
    Tunnel {
        /// The proxy.
        proxy: Endpoint,
        /// Where the tunnel leads.
        target: Endpoint,
    },
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Direct(endpoint) => write!(f, "{endpoint}"),
            Route::Forward(proxy) => write!(f, "proxy {proxy}"),
            Route::Tunnel { proxy, target } => write!(f, "{target} through proxy {proxy}"),
        }
    }
}

/// The pool's limits.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub(crate) max_idle_per_route: usize,
    pub(crate) max_idle: usize,
    pub(crate) idle_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_idle_per_route: 32,
            max_idle: 512,
            idle_timeout: Some(Duration::from_secs(90)),
        }
    }
}

/// A connection and what is known of it.
#[derive(Clone)]
pub(crate) struct Conn {
    pub(crate) sender: SendRequest,
    pub(crate) info: Arc<Info>,
    /// Ends an HTTP/1.1 connection's task, closing its socket: one given
    /// up on in the middle of an exchange is closed at once rather than
    /// left to notice. (An HTTP/2 connection is shared: a stream given up
    /// on is reset, the connection stays.)
    pub(crate) abort: Option<AbortHandle>,
}

/// The turn to open a connection to a route, and whether the last attempt
/// failed: then the requests waiting for it try side by side, rather than
/// one after another, each through its connect timeout.
#[derive(Default)]
pub(crate) struct Gate {
    pub(crate) turn: Arc<tokio::sync::Mutex<()>>,
    pub(crate) failed: AtomicBool,
}

/// An HTTP/2 connection and when a request last took it, so that one
/// left without streams closes after the idle timeout too.
struct SharedConn {
    conn: Conn,
    used: Instant,
}

struct Idle {
    conn: Conn,
    /// When it stops being worth reusing: the idle timeout, or sooner when
    /// the server announced `Keep-Alive: timeout=`.
    expires: Option<Instant>,
}

/// FNV-1a: routes and origins are short and chosen by the application,
/// and the standard hasher costs more than the rest of a lookup.
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = self.0;
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// Maps keyed by routes or origins.
pub(crate) type FastHash = BuildHasherDefault<Fnv>;

#[derive(Default)]
struct Routes {
    /// HTTP/1.1 connections waiting for a request, most recent last.
    idle: HashMap<Arc<Route>, Vec<Idle>, FastHash>,
    /// HTTP/2 connections, shared by every request to the route.
    shared: HashMap<Arc<Route>, Vec<SharedConn>, FastHash>,
    /// What the last new connection of each route spoke.
    spoke: HashMap<Arc<Route>, http::Version, FastHash>,
    /// Turns to open a connection, for routes that speak (or may speak)
    /// HTTP/2: requests wait for one connection rather than each opening
    /// their own.
    gates: HashMap<Arc<Route>, Arc<Gate>, FastHash>,
    idle_count: usize,
    reaper: bool,
}

pub(crate) struct Pool {
    routes: Mutex<Routes>,
    limits: Limits,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes = self.lock();
        f.debug_struct("Pool")
            .field("idle", &routes.idle_count)
            .field(
                "http2",
                &routes.shared.values().map(Vec::len).sum::<usize>(),
            )
            .field("limits", &self.limits)
            .finish()
    }
}

/// A connection lent for one request.
pub(crate) struct Pooled {
    pub(crate) conn: Conn,
    route: Arc<Route>,
    pool: Weak<Pool>,
    /// Whether it came out of the pool rather than being opened for this
    /// request: only such a connection can have been closed by the server
    /// while it waited.
    pub(crate) reused: bool,
    /// `Keep-Alive: timeout=` of the response.
    pub(crate) keep_alive: Option<Duration>,
}

impl Pool {
    pub(crate) fn new(limits: Limits) -> Arc<Pool> {
        Arc::new(Pool {
            routes: Mutex::new(Routes::default()),
            limits,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Routes> {
        // A panic while holding the lock leaves plain data behind; go on.
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection to `route` that can take a request now, if one is kept.
    pub(crate) fn checkout(self: &Arc<Self>, route: &Arc<Route>) -> Option<Pooled> {
        let mut routes = self.lock();
        let now = Instant::now();
        if let Some(conns) = routes.shared.get_mut(route) {
            loop {
                let best = conns
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, c)| {
                        let sender = &c.conn.sender;
                        sender.active_requests() < sender.max_concurrent_requests()
                    })
                    .min_by_key(|(_, c)| c.conn.sender.active_requests());
                let Some((at, shared)) = best else { break };
                // Only the chosen one is checked: that costs a lock in `h2`.
                if !shared.conn.sender.is_closed() {
                    shared.used = now;
                    let conn = shared.conn.clone();
                    return Some(self.lend(conn, route.clone(), true));
                }
                conns.swap_remove(at);
            }
        }
        let mut found = None;
        let mut dropped = 0;
        if let Some(idle) = routes.idle.get_mut(route) {
            while let Some(entry) = idle.pop() {
                dropped += 1;
                let fresh = entry.expires.is_none_or(|at| at > now);
                if fresh && entry.conn.sender.is_ready() {
                    found = Some(entry.conn);
                    break;
                }
            }
        }
        routes.idle_count -= dropped;
        drop(routes);
        found.map(|conn| self.lend(conn, route.clone(), true))
    }

    /// The gate that makes requests to a route that speaks HTTP/2 (as its
    /// last connection did), or may (`may_h2`: prior knowledge, or ALPN
    /// offering `h2`, when nothing is known yet), wait for one new
    /// connection instead of opening one each.
    pub(crate) fn gate(&self, route: &Arc<Route>, may_h2: bool) -> Option<Arc<Gate>> {
        let mut routes = self.lock();
        let gated = match routes.spoke.get(route) {
            Some(&version) => version == http::Version::HTTP_2,
            None => may_h2,
        };
        gated.then(|| routes.gates.entry(route.clone()).or_default().clone())
    }

    /// Whether the route's last new connection spoke HTTP/1.1: its
    /// connections are not shared, so opening them needs no turn.
    pub(crate) fn speaks_http1(&self, route: &Route) -> bool {
        self.lock().spoke.get(route) == Some(&http::Version::HTTP_11)
    }

    /// Registers a new connection and lends it for a request.
    pub(crate) fn insert(self: &Arc<Self>, route: &Arc<Route>, conn: Conn) -> Pooled {
        let mut routes = self.lock();
        let version = conn.sender.version();
        let mut expires = false;
        if version == http::Version::HTTP_2 {
            routes
                .shared
                .entry(route.clone())
                .or_default()
                .push(SharedConn {
                    conn: conn.clone(),
                    used: Instant::now(),
                });
            expires = self.limits.idle_timeout.is_some();
        }
        routes.spoke.insert(route.clone(), version);
        self.ensure_reaper(routes, expires);
        self.lend(conn, route.clone(), false)
    }

    fn lend(self: &Arc<Self>, conn: Conn, route: Arc<Route>, reused: bool) -> Pooled {
        Pooled {
            conn,
            route,
            pool: Arc::downgrade(self),
            reused,
            keep_alive: None,
        }
    }

    /// Takes back an idle HTTP/1.1 connection.
    fn put_back(self: &Arc<Self>, route: Arc<Route>, conn: Conn, keep_alive: Option<Duration>) {
        let expires = match (self.limits.idle_timeout, keep_alive) {
            // A server that closes after `timeout=` seconds may already be
            // closing at the last of them: keep one second of margin.
            (_, Some(ka)) if ka <= Duration::from_secs(1) => return,
            (Some(idle), Some(ka)) => Some(after(idle.min(ka - Duration::from_secs(1)))),
            (None, Some(ka)) => Some(after(ka - Duration::from_secs(1))),
            (Some(idle), None) => Some(after(idle)),
            (None, None) => None,
        };
        let mut routes = self.lock();
        let Routes {
            idle, idle_count, ..
        } = &mut *routes;
        let list = idle.entry(route).or_default();
        let before = list.len();
        list.retain(|e| !e.conn.sender.is_closed());
        *idle_count -= before - list.len();
        if list.len() >= self.limits.max_idle_per_route {
            return;
        }
        list.push(Idle { conn, expires });
        *idle_count += 1;
        if *idle_count > self.limits.max_idle {
            evict_oldest(idle);
            *idle_count -= 1;
        }
        self.ensure_reaper(routes, expires.is_some());
    }

    /// Starts the reaper if something can expire and none runs. The flag is
    /// set only once a task is spawned, and cleared when it ends (its
    /// runtime shut down), so that a later call starts another.
    fn ensure_reaper(self: &Arc<Self>, mut routes: MutexGuard<'_, Routes>, expires: bool) {
        if !expires || routes.reaper {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        routes.reaper = true;
        drop(routes);
        self.start_reaper(&runtime);
    }

    /// Closes idle connections once they expire, so that an unused client
    /// holds no sockets open. Ends with the pool.
    fn start_reaper(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        struct Ended(Weak<Pool>);
        impl Drop for Ended {
            fn drop(&mut self) {
                if let Some(pool) = self.0.upgrade() {
                    pool.lock().reaper = false;
                }
            }
        }
        let pool = Arc::downgrade(self);
        let every = self
            .limits
            .idle_timeout
            .map_or(Duration::from_secs(1), |t| {
                (t / 4).max(Duration::from_millis(100))
            })
            .min(Duration::from_secs(5));
        runtime.spawn(async move {
            let _ended = Ended(pool.clone());
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(pool) = pool.upgrade() else { return };
                pool.reap(Instant::now());
            }
        });
    }

    fn reap(&self, now: Instant) {
        let mut routes = self.lock();
        let Routes {
            idle,
            shared,
            spoke,
            gates,
            idle_count,
            ..
        } = &mut *routes;
        for list in idle.values_mut() {
            list.retain(|e| e.expires.is_none_or(|at| at > now) && !e.conn.sender.is_closed());
        }
        idle.retain(|_, list| !list.is_empty());
        *idle_count = idle.values().map(Vec::len).sum();
        let idle_timeout = self.limits.idle_timeout;
        for conns in shared.values_mut() {
            conns.retain(|c| {
                let unused = c.conn.sender.active_requests() == 0
                    && idle_timeout.is_some_and(|t| now.saturating_duration_since(c.used) >= t);
                // Dropping the last handle closes the connection.
                !unused && !c.conn.sender.is_closed()
            });
        }
        shared.retain(|_, conns| !conns.is_empty());
        // What is known of a route goes with its last connection, so that a
        // client that meets many hosts does not grow without bound. A gate
        // somebody waits at stays.
        let pooled = |route: &Arc<Route>| idle.contains_key(route) || shared.contains_key(route);
        spoke.retain(|route, _| pooled(route));
        gates.retain(|route, gate| Arc::strong_count(gate) > 1 || pooled(route));
    }

    /// Idle HTTP/1.1 connections and open HTTP/2 connections, for tests
    /// and diagnostics.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let routes = self.lock();
        let idle = routes.idle.values().flatten();
        let h2 = routes.shared.values().flatten();
        (
            idle.filter(|e| !e.conn.sender.is_closed()).count(),
            h2.filter(|c| !c.conn.sender.is_closed()).count(),
        )
    }
}

fn evict_oldest(idle: &mut HashMap<Arc<Route>, Vec<Idle>, FastHash>) {
    let oldest = idle
        .iter()
        .filter_map(|(route, list)| list.first().map(|e| (route, e.expires)))
        .min_by_key(|(_, expires)| *expires)
        .map(|(route, _)| route.clone());
    if let Some(route) = oldest
        && let Some(list) = idle.get_mut(&route)
    {
        list.remove(0);
    }
}

impl Pooled {
    /// Gives the connection up: it goes back to no pool, and an HTTP/1.1
    /// connection is closed now, whatever it was doing (reading a body
    /// that timed out from a server gone silent, say).
    pub(crate) fn discard(mut self) {
        self.pool = Weak::new();
        if let Some(abort) = &self.conn.abort {
            abort.abort();
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if self.conn.sender.version() == http::Version::HTTP_2 {
            return;
        }
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        let sender = &self.conn.sender;
        if sender.is_closed() {
            return;
        }
        let route = self.route.clone();
        let keep_alive = self.keep_alive;
        if sender.is_ready() {
            pool.put_back(route, self.conn.clone(), keep_alive);
            return;
        }
        // The body was dropped before its end: the connection reads the
        // rest (a bounded amount, or it closes), then comes back.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut conn = self.conn.clone();
        let pool = Arc::downgrade(&pool);
        runtime.spawn(async move {
            let ready = tokio::time::timeout(DRAIN_WAIT, conn.sender.ready()).await;
            if let (Ok(Ok(())), Some(pool)) = (ready, pool.upgrade()) {
                pool.put_back(route, conn, keep_alive);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(n: u16) -> Route {
        Route::Direct(Endpoint::tcp("localhost", n))
    }

    #[test]
    fn routes_differ_by_endpoint_and_proxy() {
        let a = Route::Direct(Endpoint::Unix("/run/a.sock".into()));
        let b = Route::Direct(Endpoint::Unix("/run/b.sock".into()));
        assert_ne!(a, b);
        let tunnel = Route::Tunnel {
            proxy: Endpoint::tcp("proxy", 3128),
            target: Endpoint::tcp("localhost", 1),
        };
        assert_ne!(tunnel, route(1));
        assert_eq!(
            tunnel.to_string(),
            "tcp://localhost:1 through proxy tcp://proxy:3128"
        );
    }
}
