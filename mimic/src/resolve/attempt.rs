//! One connection attempt: a base endpoint and the layers over it.

use std::borrow::Cow;
use std::io;
use std::sync::Arc;

use crate::derive::{AnyValue, BoxFuture};
use crate::flow::Flow;
use crate::protocol::{ErasedLayer, ErasedProtocol};
use crate::report::Entry;

/// A layer over a candidate, with its endpoint.
pub(crate) struct Step {
    pub(crate) name: &'static str,
    pub(crate) layer: Arc<dyn ErasedLayer>,
    pub(crate) endpoint: AnyValue,
}

/// One connection attempt: a base endpoint and the layers over it.
pub(crate) struct Attempt {
    pub(crate) protocol: Arc<dyn ErasedProtocol>,
    pub(crate) endpoint: AnyValue,
    pub(crate) layers: Arc<Vec<Step>>,
    /// Protocol names, outermost first.
    pub(crate) names: Vec<&'static str>,
    pub(crate) entry: Entry,
}

/// Where an attempt failed: the protocol name of the step, and why.
pub(crate) struct StepError {
    pub(crate) stage: &'static str,
    pub(crate) error: io::Error,
}

impl Attempt {
    pub(crate) fn connect(&self) -> BoxFuture<'static, Result<Flow, StepError>> {
        let protocol = self.protocol.clone();
        let endpoint = self.endpoint.clone();
        let layers = self.layers.clone();
        let names = self.names.clone();
        let description = self.entry.endpoint.clone();
        Box::pin(async move {
            let depth = names.len();
            let base = names[depth - 1];
            let mut flow = protocol
                .connect(endpoint)
                .await
                .map_err(|error| StepError { stage: base, error })?;
            let stack = |n: usize| {
                names[depth - n..]
                    .iter()
                    .map(|&p| Cow::Borrowed(p))
                    .collect()
            };
            flow.info_mut().set_protocols(stack(1));
            for (n, step) in layers.iter().enumerate() {
                flow = step
                    .layer
                    .clone()
                    .connect(step.endpoint.clone(), flow)
                    .await
                    .map_err(|error| StepError {
                        stage: step.name,
                        error,
                    })?;
                flow.info_mut().set_protocols(stack(n + 2));
            }
            if let Some(description) = description {
                flow.info_mut().set_endpoint(description);
            }
            Ok(flow)
        })
    }
}
