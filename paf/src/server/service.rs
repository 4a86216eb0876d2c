//! Handlers: any `tower_service::Service` over `http` types, or a closure.

use std::future::Future;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::body::Body;

/// Turns an async closure into a handler.
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response};
/// use paf::Body;
///
/// let hello = paf::service_fn(|_req: Request<Body>| async {
///     Ok::<_, Infallible>(Response::new(Body::full("Hello, world!")))
/// });
/// # let _ = hello;
/// ```
pub fn service_fn<F, Fut, B, E>(f: F) -> ServiceFn<F>
where
    F: FnMut(Request<Body>) -> Fut,
    Fut: Future<Output = Result<Response<B>, E>>,
{
    ServiceFn { f }
}

/// A handler made from a closure by [`service_fn`].
#[derive(Clone, Copy, Debug)]
pub struct ServiceFn<F> {
    f: F,
}

impl<F, Fut, B, E> Service<Request<Body>> for ServiceFn<F>
where
    F: FnMut(Request<Body>) -> Fut,
    Fut: Future<Output = Result<Response<B>, E>>,
{
    type Response = Response<B>;
    type Error = E;
    type Future = Fut;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Fut {
        (self.f)(req)
    }
}
