//! The handler: static files or echo, every answer logged.

use std::convert::Infallible;
use std::sync::Arc;

use http::header::SERVER;
use http::{Request, Response};
use paf::Body;
use paf::body::FileRegion;

use super::echo;
use super::files::Files;
use super::log::{Entry, Logged};
use super::representation;

/// What the server answers with.
#[derive(Debug)]
pub(crate) enum Mode {
    /// Files from a directory.
    Files(Files),
    /// Every request, echoed.
    Echo,
}

/// The handler every connection gets a clone of.
#[derive(Clone, Debug)]
pub(crate) struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    access_log: bool,
}

impl App {
    /// A handler in `mode`, writing the access log unless told not to.
    pub(crate) fn new(mode: Mode, access_log: bool) -> App {
        App {
            inner: Arc::new(Inner { mode, access_log }),
        }
    }

    /// The answer to `req`.
    pub(crate) async fn call(self, req: Request<Body>) -> Result<Response<Logged>, Infallible> {
        let entry = self.inner.access_log.then(|| Entry::new(&req));
        let res = match &self.inner.mode {
            Mode::Echo => echo::respond(req),
            Mode::Files(files) => {
                let (parts, body) = req.into_parts();
                // Unread, the rest of a small body is discarded by the
                // connection; a large one closes it.
                drop(body);
                files.respond(&parts).await
            }
        };
        let status = res.status();
        // Bytes sent by `sendfile(2)` never pass through the body.
        let region = entry
            .as_ref()
            .and_then(|_| res.extensions().get::<FileRegion>().cloned());
        let mut res = res.map(|body| Logged::new(body, entry, status, region));
        // A file's answers carry it already: inserting into a cloned map,
        // which is full, would grow it even to replace a value.
        if !res.headers().contains_key(SERVER) {
            res.headers_mut().insert(SERVER, representation::server());
        }
        Ok(res)
    }
}
