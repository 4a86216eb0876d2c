//! What is known about a connection.

use std::borrow::Cow;
use std::sync::Arc;

use super::{Addr, TlsInfo};
use crate::report::Report;

/// What is known about a connection: its protocol stack, its addresses,
/// TLS parameters, and how the resolution that produced it went.
#[derive(Clone, Debug, Default)]
pub struct Info {
    protocols: Vec<Cow<'static, str>>,
    endpoint: Option<String>,
    local: Option<Addr>,
    peer: Option<Addr>,
    tls: Option<TlsInfo>,
    report: Option<Arc<Report>>,
}

impl Info {
    /// Information about a flow of `protocol`.
    pub fn new(protocol: impl Into<Cow<'static, str>>) -> Info {
        Info {
            protocols: vec![protocol.into()],
            ..Info::default()
        }
    }

    /// The outermost protocol's name, such as `tls` for TLS over TCP.
    pub fn protocol(&self) -> &str {
        self.protocols.first().map_or("", |p| p)
    }

    /// Every protocol of the stack, outermost first: `["tls", "tcp"]`.
    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        self.protocols.iter().map(|p| &**p)
    }

    /// The endpoint connected to, as the resolution report describes it.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The local address, when the protocol has one.
    pub fn local_addr(&self) -> Option<&Addr> {
        self.local.as_ref()
    }

    /// The peer's address, when the protocol has one.
    pub fn peer_addr(&self) -> Option<&Addr> {
        self.peer.as_ref()
    }

    /// TLS parameters, when a TLS layer is part of the stack.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// The report of the resolution that produced this flow: every candidate
    /// and how it ended, the winner included.
    pub fn report(&self) -> Option<&Report> {
        self.report.as_deref()
    }

    /// Sets the local address.
    pub fn with_local_addr(mut self, addr: impl Into<Addr>) -> Info {
        self.local = Some(addr.into());
        self
    }

    /// Sets the peer address.
    pub fn with_peer_addr(mut self, addr: impl Into<Addr>) -> Info {
        self.peer = Some(addr.into());
        self
    }

    /// Sets the TLS parameters.
    pub fn with_tls(mut self, tls: TlsInfo) -> Info {
        self.tls = Some(tls);
        self
    }

    /// Puts `protocol` on top of the stack, for a layer over this flow.
    pub fn push_protocol(&mut self, protocol: impl Into<Cow<'static, str>>) {
        self.protocols.insert(0, protocol.into());
    }

    pub(crate) fn set_endpoint(&mut self, endpoint: String) {
        self.endpoint = Some(endpoint);
    }

    pub(crate) fn set_report(&mut self, report: Arc<Report>) {
        self.report = Some(report);
    }

    pub(crate) fn set_protocols(&mut self, protocols: Vec<Cow<'static, str>>) {
        self.protocols = protocols;
    }
}
