//! Connections for a plan: taken from the pool, or opened through mimic
//! (one at a time for a route that may speak HTTP/2).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::Version;
use mimic::report::Outcome;

use super::Client;
use super::conn::Builder as ConnBuilder;
use super::plan::Plan;
use super::pool::{Conn, Pooled, Route};
use crate::error::{Error, Kind, Timeout};

impl Client {
    /// A connection for the plan: from the pool, or new.
    ///
    /// Futures are boxed off the common path (a pooled connection at hand):
    /// every request's future is as large as the largest it contains, and is
    /// moved (copied) at each `.await` around it.
    pub(super) async fn connection(
        &self,
        text: &str,
        plan: &Plan,
        fresh: bool,
    ) -> Result<Pooled, Error> {
        if !fresh && let Some(loan) = self.shared.pool.checkout(&plan.route) {
            return Ok(loan);
        }
        Box::pin(self.open(text, plan, fresh)).await
    }

    /// A new connection, one at a time for a route that speaks HTTP/2.
    async fn open(&self, text: &str, plan: &Plan, fresh: bool) -> Result<Pooled, Error> {
        let pool = &self.shared.pool;
        let gate = pool.gate(&plan.route, plan.may_h2);
        let mut turn = match &gate {
            Some(gate) => Some(gate.turn.clone().lock_owned().await),
            None => None,
        };
        if let Some(gate) = &gate {
            if !fresh && let Some(loan) = pool.checkout(&plan.route) {
                return Ok(loan);
            }
            // The connection opened meanwhile spoke HTTP/1.1, or could not be
            // opened: the others try side by side.
            if pool.speaks_http1(&plan.route) || gate.failed.load(Ordering::Acquire) {
                turn = None;
            }
        }
        let opened = self.connect(text, plan).await;
        if let Some(gate) = &gate {
            gate.failed.store(opened.is_err(), Ordering::Release);
        }
        let loan = pool.insert(&plan.route, opened?);
        drop(turn);
        Ok(loan)
    }

    async fn connect(&self, text: &str, plan: &Plan) -> Result<Conn, Error> {
        self.connect_with(text, plan, self.builder_for(plan)).await
    }

    /// The connection settings for the plan's route: a forward proxy's own,
    /// or the client's.
    pub(super) fn builder_for(&self, plan: &Plan) -> &ConnBuilder {
        match *plan.route {
            Route::Forward(_) => &self.shared.forward,
            _ => &self.shared.conn,
        }
    }

    /// A new connection for the plan, with these connection settings.
    pub(super) async fn connect_with(
        &self,
        text: &str,
        plan: &Plan,
        builder: &ConnBuilder,
    ) -> Result<Conn, Error> {
        let shared = &*self.shared;
        let ctx = match shared.timeouts.connect {
            Some(limit) => plan.ctx.clone().with_deadline(limit),
            None => plan.ctx.clone(),
        };
        let flow = ctx.resolve().await.map_err(|source| {
            let tls = source
                .report()
                .entries()
                .iter()
                .any(|e| matches!(e.outcome, Outcome::Failed { stage: "tls", .. }));
            let kind = if source.is_timeout() {
                Kind::Timeout(Timeout::Connect)
            } else if tls {
                Kind::Tls
            } else {
                Kind::Connect
            };
            Error::with(
                kind,
                conduit::Error::connect(
                    match &*plan.route {
                        Route::Direct(_) => text.to_string(),
                        Route::Forward(proxy) | Route::Tunnel { proxy, .. } => {
                            format!("{text}` through the proxy `{proxy}")
                        }
                    },
                    source,
                ),
            )
        })?;
        let info = Arc::new(flow.info().clone());
        let (sender, connection) = builder.handshake_flow(flow);
        tracing::debug!(route = %plan.route, version = ?sender.version(), "connected");
        let task = tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %format_args!("{err:#}"), "client connection ended with an error");
            }
        });
        let abort = (sender.version() != Version::HTTP_2).then(|| task.abort_handle());
        Ok(Conn {
            sender,
            info,
            abort,
        })
    }
}
