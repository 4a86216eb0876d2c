//! What the stack's lock guards: the interface, its sockets, and the
//! bookkeeping of listeners and closing connections.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::task::Waker;
use std::time::Duration;

use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::{Socket, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::IpListenEndpoint;

use super::device::Syn;
use crate::config::Config;
use crate::rng::Rng;

/// How long a dropped connection may take to close before it is reset.
const LINGER: Duration = Duration::from_secs(30);

/// The keep-alive interval of a socket whose FIN is not acknowledged yet.
///
/// smoltcp 0.14 can stop its retransmission timer with only the FIN
/// unacknowledged: three duplicate ACKs start a fast retransmit, which has
/// no data to send, and sends nothing. With a keep-alive set, the idle timer
/// fires, and the fast retransmit still pending turns what would be a probe
/// into the FIN again. (Were that retransmit ever dropped, the probe, one
/// byte at the FIN's sequence number, would reach the peer as data. The
/// device never refuses a frame, so it is not dropped there; over Ethernet
/// smoltcp still drops a segment whose neighbour entry has expired, which
/// this guard does not cover.) Without it, both
/// ends of a simultaneous close over a lossy, reordering link can wait
/// forever for each other's FIN. Once the FIN is acknowledged the
/// configured keep-alive comes back; the timer already armed may still
/// send one probe a second later, which a quiet peer acknowledges.
const FIN_GUARD: Duration = Duration::from_secs(1);

/// How many closed sockets are kept to be used again: a new socket's
/// buffers cost an allocation and zeroing, a closed one's are ready.
const SPARE_SOCKETS: usize = 64;

/// How many SYNs past its backlog a listener holds, to answer as soon as
/// the application makes room; past that, SYNs are dropped and the peer
/// repeats them.
pub(crate) const HELD_SYNS: usize = 1024;

/// A listener's sockets: one armed in LISTEN whenever there is room, the
/// ones in handshake, and the established ones not accepted yet.
pub(crate) struct Listening {
    pub(crate) addr: SocketAddr,
    pub(crate) backlog: usize,
    pub(crate) armed: Vec<SocketHandle>,
    pub(crate) ready: VecDeque<SocketHandle>,
    pub(crate) waker: Option<Waker>,
    /// SYNs that came while the backlog was full, oldest first, with the
    /// time they came.
    held: VecDeque<(Syn, Vec<u8>, Instant)>,
}

impl Listening {
    fn takes(&self, syn: &Syn) -> bool {
        self.addr.port() == syn.dst.port()
            && (self.addr.ip().is_unspecified() || self.addr.ip() == syn.dst.ip())
    }
}

pub(crate) struct Core {
    pub(crate) iface: Interface,
    pub(crate) sockets: SocketSet<'static>,
    pub(crate) listeners: HashMap<u64, Listening>,
    next_listener: u64,
    /// Connections whose stream was dropped, closing, with the time by which
    /// they are reset if not closed.
    orphans: Vec<(SocketHandle, Instant)>,
    /// Connections whose FIN is not acknowledged yet, guarded by a
    /// keep-alive (see [`FIN_GUARD`]).
    closing: Vec<SocketHandle>,
    /// Closed sockets with nothing left to send, ready for a new connection.
    spare: Vec<SocketHandle>,
    pub(crate) dhcp: Option<SocketHandle>,
    pub(crate) dns: SocketHandle,
    /// How many servers the DNS socket asks.
    pub(crate) dns_servers: usize,
    pub(crate) config: Config,
    rng: Rng,
}

impl Core {
    pub(crate) fn new(
        iface: Interface,
        sockets: SocketSet<'static>,
        dhcp: Option<SocketHandle>,
        dns: SocketHandle,
        config: Config,
    ) -> Core {
        Core {
            iface,
            sockets,
            listeners: HashMap::new(),
            next_listener: 1,
            orphans: Vec::new(),
            closing: Vec::new(),
            spare: Vec::new(),
            dhcp,
            dns,
            dns_servers: config.dns_servers.len(),
            config,
            rng: Rng::new(Rng::entropy()),
        }
    }

    /// A closed TCP socket in the set, with the configured options: a spare
    /// one, or a new one with the configured buffers.
    pub(crate) fn socket(&mut self) -> SocketHandle {
        let handle = match self.spare.pop() {
            Some(handle) => handle,
            None => {
                let rx = tcp::SocketBuffer::new(vec![0; self.config.rx_buffer]);
                let tx = tcp::SocketBuffer::new(vec![0; self.config.tx_buffer]);
                self.sockets.add(tcp::Socket::new(rx, tx))
            }
        };
        let (nagle, timeout) = (self.config.nagle, self.config.connect_timeout);
        let socket = self.tcp(handle);
        socket.set_nagle_enabled(nagle);
        socket.set_timeout(Some(timeout.into()));
        socket.set_keep_alive(None);
        handle
    }

    /// Keeps a closed socket for a later connection, or frees it.
    pub(crate) fn release(&mut self, handle: SocketHandle) {
        self.closing.retain(|&closing| closing != handle);
        if self.spare.len() < SPARE_SOCKETS {
            self.spare.push(handle);
        } else {
            self.sockets.remove(handle);
        }
    }

    /// Options for a connection once established: no handshake timeout.
    pub(crate) fn established(&mut self, handle: SocketHandle) {
        let keepalive = self.config.keepalive.map(Into::into);
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        socket.set_timeout(None);
        socket.set_keep_alive(keepalive);
    }

    pub(crate) fn tcp(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }

    /// A local port no TCP socket uses, from the dynamic range.
    pub(crate) fn ephemeral_port(&mut self) -> Option<u16> {
        for _ in 0..64 {
            let port = 49152 + (self.rng.next_u64() % 16384) as u16;
            if !self.port_in_use(port) {
                return Some(port);
            }
        }
        (49152..=65535).find(|port| !self.port_in_use(*port))
    }

    pub(crate) fn port_in_use(&self, port: u16) -> bool {
        let listening = self.listeners.values().any(|l| l.addr.port() == port);
        listening
            || self.sockets.iter().any(|(_, socket)| match socket {
                Socket::Tcp(tcp) => tcp.local_endpoint().is_some_and(|e| e.port == port),
                _ => false,
            })
    }

    pub(crate) fn add_listener(&mut self, addr: SocketAddr, backlog: usize) -> u64 {
        let id = self.next_listener;
        self.next_listener += 1;
        self.listeners.insert(
            id,
            Listening {
                addr,
                backlog,
                armed: Vec::new(),
                ready: VecDeque::new(),
                waker: None,
                held: VecDeque::new(),
            },
        );
        self.refresh(id);
        id
    }

    /// Closes a listener: connections not accepted yet are reset.
    pub(crate) fn remove_listener(&mut self, id: u64) {
        let Some(listening) = self.listeners.remove(&id) else {
            return;
        };
        for handle in listening.armed.into_iter().chain(listening.ready) {
            self.tcp(handle).abort();
            self.orphans.push((handle, Instant::from_millis(0)));
        }
    }

    /// Whether a SYN must wait: it is for a listener with no room, and no
    /// socket of it is already in handshake with that peer.
    pub(crate) fn refuses(&self, syn: &Syn) -> bool {
        let Some(listening) = self.listeners.values().find(|l| l.takes(syn)) else {
            return false;
        };
        !self.has_room(listening)
            && !listening.armed.iter().any(|handle| {
                let socket = self.sockets.get::<tcp::Socket>(*handle);
                socket.remote_endpoint().map(SocketAddr::from) == Some(syn.src)
            })
    }

    /// Whether a socket of the listener is in LISTEN, free for a new peer.
    fn has_room(&self, listening: &Listening) -> bool {
        listening
            .armed
            .iter()
            .any(|handle| self.sockets.get::<tcp::Socket>(*handle).state() == tcp::State::Listen)
    }

    /// Holds a SYN the listener has no room for; a repeated SYN replaces
    /// the one held from the same peer. Past [`HELD_SYNS`] the SYN is
    /// dropped, and the peer repeats it.
    pub(crate) fn hold(&mut self, syn: Syn, frame: Vec<u8>, now: Instant) {
        let Some(listening) = self.listeners.values_mut().find(|l| l.takes(&syn)) else {
            return;
        };
        if let Some(held) = listening.held.iter_mut().find(|(s, _, _)| s.src == syn.src) {
            held.1 = frame;
        } else if listening.held.len() < HELD_SYNS {
            listening.held.push_back((syn, frame, now));
        }
    }

    /// A held SYN that the listener has room for now. SYNs held longer
    /// than the connect timeout are dropped: the peer has given up or
    /// repeated them.
    pub(crate) fn release_held(&mut self, now: Instant) -> Option<(Syn, Vec<u8>)> {
        let expiry: smoltcp::time::Duration = self.config.connect_timeout.into();
        let ids: Vec<u64> = self
            .listeners
            .iter()
            .filter(|(_, l)| !l.held.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let listening = &self.listeners[&id];
            if !self.has_room(listening) {
                continue;
            }
            let listening = self.listeners.get_mut(&id).expect("an id just listed");
            while let Some((syn, frame, at)) = listening.held.pop_front() {
                if at + expiry > now {
                    return Some((syn, frame));
                }
            }
        }
        None
    }

    /// The listener that a SYN went to, to re-arm it at once.
    pub(crate) fn listener_id_for(&self, syn: &Syn) -> Option<u64> {
        self.listeners
            .iter()
            .find_map(|(id, l)| l.takes(syn).then_some(*id))
    }

    pub(crate) fn refresh_all(&mut self) {
        let ids: Vec<u64> = self.listeners.keys().copied().collect();
        for id in ids {
            self.refresh(id);
        }
    }

    /// Moves established connections to the accept queue, drops failed
    /// handshakes, and arms a listening socket when there is room.
    pub(crate) fn refresh(&mut self, id: u64) {
        let Some(listening) = self.listeners.get_mut(&id) else {
            return;
        };
        let mut armed_listen = false;
        let mut promoted = Vec::new();
        let mut index = 0;
        while index < listening.armed.len() {
            let handle = listening.armed[index];
            match self.sockets.get::<tcp::Socket>(handle).state() {
                tcp::State::Listen => {
                    armed_listen = true;
                    index += 1;
                }
                tcp::State::SynReceived => index += 1,
                tcp::State::Closed => {
                    listening.armed.swap_remove(index);
                    self.orphans.push((handle, Instant::from_millis(0)));
                }
                _ => {
                    listening.armed.swap_remove(index);
                    listening.ready.push_back(handle);
                    promoted.push(handle);
                }
            }
        }
        if !promoted.is_empty()
            && let Some(waker) = listening.waker.take()
        {
            waker.wake();
        }
        let room = listening.armed.len() + listening.ready.len() < listening.backlog;
        let addr = listening.addr;
        if !armed_listen && room {
            let handle = self.socket();
            // The unspecified address of either family takes every address.
            let endpoint = IpListenEndpoint {
                addr: (!addr.ip().is_unspecified()).then(|| addr.ip().into()),
                port: addr.port(),
            };
            match self.tcp(handle).listen(endpoint) {
                Ok(()) => {
                    if let Some(listening) = self.listeners.get_mut(&id) {
                        listening.armed.push(handle);
                    }
                }
                Err(err) => {
                    tracing::warn!(%addr, ?err, "tcpip: cannot arm a listening socket");
                    self.release(handle);
                }
            }
        }
        for handle in promoted {
            self.established(handle);
        }
    }

    /// Closes a connection's sending half: its FIN goes out after the data,
    /// and is sent again until acknowledged (see [`FIN_GUARD`]).
    pub(crate) fn close(&mut self, handle: SocketHandle) {
        let socket = self.tcp(handle);
        let before = socket.state();
        socket.close();
        // Guarded once, when this call sent it into a FIN-sent state: a
        // second close (shutdown, then drop) finds it there already.
        if !fin_unacknowledged(before) && fin_unacknowledged(socket.state()) {
            socket.set_keep_alive(Some(FIN_GUARD.into()));
            self.closing.push(handle);
        }
    }

    /// Gives back the configured keep-alive to connections whose FIN was
    /// acknowledged.
    pub(crate) fn unguard_acknowledged_fins(&mut self) {
        let keepalive = self.config.keepalive.map(Into::into);
        let sockets = &mut self.sockets;
        self.closing.retain(|&handle| {
            let socket = sockets.get_mut::<tcp::Socket>(handle);
            let waiting = fin_unacknowledged(socket.state());
            if !waiting {
                socket.set_keep_alive(keepalive);
            }
            waiting
        });
    }

    /// Takes a dropped stream's socket: closes it gracefully; it is freed
    /// once closed.
    pub(crate) fn orphan(&mut self, handle: SocketHandle, now: Instant) {
        self.close(handle);
        self.orphans.push((handle, now + LINGER.into()));
    }

    /// Frees closed orphans, and resets those that took too long. A socket
    /// in TIME-WAIT is reset to be used again: its peer has closed too.
    pub(crate) fn reap(&mut self, now: Instant) {
        let mut index = 0;
        while index < self.orphans.len() {
            let (handle, deadline) = self.orphans[index];
            let socket = self.sockets.get_mut::<tcp::Socket>(handle);
            match socket.state() {
                // Freed once its reset, if any, is sent.
                tcp::State::Closed if socket.remote_endpoint().is_none() => {
                    self.orphans.swap_remove(index);
                    self.release(handle);
                    continue;
                }
                tcp::State::Closed => {}
                tcp::State::TimeWait => socket.abort(),
                _ if deadline <= now => socket.abort(),
                _ => {}
            }
            index += 1;
        }
    }
}

/// Whether a socket in `state` has sent a FIN its peer has not acknowledged.
fn fin_unacknowledged(state: tcp::State) -> bool {
    matches!(
        state,
        tcp::State::FinWait1 | tcp::State::Closing | tcp::State::LastAck
    )
}
