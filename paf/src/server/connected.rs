//! What a handler learns about the connection a request came on.

use std::sync::Arc;

use mimic::Info;
use mimic::flow::{Addr, TlsInfo};

/// The connection a request came on, in the request's extensions.
///
/// ```
/// use http::Request;
/// use paf::Body;
/// use paf::server::Connected;
///
/// fn client_of(req: &Request<Body>) -> String {
///     req.extensions()
///         .get::<Connected>()
///         .and_then(Connected::peer_addr)
///         .map_or_else(|| "unknown".to_owned(), ToString::to_string)
/// }
/// # let _ = client_of;
/// ```
#[derive(Clone, Debug)]
pub struct Connected {
    info: Arc<Info>,
}

impl Connected {
    pub(crate) fn new(info: Info) -> Connected {
        Connected {
            info: Arc::new(info),
        }
    }

    /// The client's address.
    pub fn peer_addr(&self) -> Option<&Addr> {
        self.info.peer_addr()
    }

    /// The server's address the client connected to.
    pub fn local_addr(&self) -> Option<&Addr> {
        self.info.local_addr()
    }

    /// The TLS session (version, cipher, ALPN, server name), if any.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.info.tls()
    }

    /// Everything the flow knows about itself.
    pub fn info(&self) -> &Info {
        &self.info
    }
}
