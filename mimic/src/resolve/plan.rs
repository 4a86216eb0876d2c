//! Turning a context into an ordered list of attempts.

use std::borrow::Cow;
use std::io;
use std::sync::Arc;

use tokio::time::Instant;

use super::eval::{Eval, Status};
use crate::ctx::Inner;
use crate::derive::{AnyValue, BoxFuture};
use crate::flow::Flow;
use crate::protocol::{ErasedLayer, ErasedProtocol, Kind, Over};
use crate::report::{Entry, NotBuilt, Outcome};

/// Ordering of a candidate: (priority, registration index), outermost first,
/// compared lexicographically.
type Rank = Vec<(i32, usize)>;

struct Step {
    name: &'static str,
    layer: Arc<dyn ErasedLayer>,
    endpoint: AnyValue,
}

struct Candidate {
    name: &'static str,
    protocol: Arc<dyn ErasedProtocol>,
    endpoint: AnyValue,
    /// Layers, innermost first.
    layers: Vec<Step>,
    rank: Rank,
}

impl Candidate {
    fn outermost(&self) -> &'static str {
        self.layers.last().map_or(self.name, |s| s.name)
    }
}

/// One connection attempt: a base endpoint and the layers over it.
pub(crate) struct Attempt {
    protocol: Arc<dyn ErasedProtocol>,
    endpoint: AnyValue,
    layers: Arc<Vec<Step>>,
    /// Protocol names, outermost first.
    names: Vec<&'static str>,
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

/// A row of the plan: a candidate's attempts, or a registration that gave none.
pub(crate) enum Row {
    Attempt(Attempt),
    NotBuilt(Entry),
}

fn not_built(name: &'static str, priority: i32, reason: NotBuilt) -> Entry {
    Entry {
        protocol: Cow::Borrowed(name),
        priority,
        endpoint: None,
        started: None,
        outcome: Outcome::NotBuilt(reason),
    }
}

/// Evaluates every registration's endpoint, applies layers, orders the
/// candidates and splits them into attempts. Protocols are built first, then
/// layers in registration order, so a layer wraps protocols registered after
/// it too, and a later layer wraps an earlier one.
pub(crate) async fn plan(inner: &Inner, deadline: Option<Instant>) -> Vec<Row> {
    let mut eval = Eval::new(inner, deadline);
    let mut rows: Vec<(Rank, Row)> = Vec::with_capacity(inner.protocols.len());
    let mut built: Vec<Candidate> = Vec::with_capacity(inner.protocols.len());

    for (index, reg) in inner.protocols.iter().enumerate() {
        let Kind::Protocol(protocol) = &reg.kind else {
            continue;
        };
        match eval.eval(reg.key, reg.key_name).await {
            Status::Ready(endpoint) => built.push(Candidate {
                name: reg.name,
                protocol: protocol.clone(),
                endpoint,
                layers: Vec::new(),
                rank: vec![(reg.priority, index)],
            }),
            Status::Absent(reason) => rows.push((
                vec![(reg.priority, index)],
                Row::NotBuilt(not_built(reg.name, reg.priority, reason)),
            )),
        }
    }

    for (index, reg) in inner.protocols.iter().enumerate() {
        let Kind::Layer(layer, over) = &reg.kind else {
            continue;
        };
        let rank = vec![(reg.priority, index)];
        let endpoint = match eval.eval(reg.key, reg.key_name).await {
            Status::Ready(endpoint) => endpoint,
            Status::Absent(reason) => {
                let entry = not_built(reg.name, reg.priority, reason);
                rows.push((rank, Row::NotBuilt(entry)));
                continue;
            }
        };
        let mut wrapped = 0;
        for candidate in &mut built {
            let applies = match over {
                Over::Any => true,
                Over::Only(names) => names.contains(&candidate.outermost()),
            };
            if applies {
                candidate.layers.push(Step {
                    name: reg.name,
                    layer: layer.clone(),
                    endpoint: endpoint.clone(),
                });
                candidate.rank.insert(0, (reg.priority, index));
                wrapped += 1;
            }
        }
        if wrapped == 0 {
            let entry = not_built(reg.name, reg.priority, NotBuilt::NothingToWrap);
            rows.push((rank, Row::NotBuilt(entry)));
        }
    }

    for candidate in built {
        let Candidate {
            name,
            protocol,
            endpoint,
            layers,
            rank,
        } = candidate;
        let mut names: Vec<&'static str> = layers.iter().rev().map(|s| s.name).collect();
        names.push(name);
        let label: Cow<'static, str> = match names[..] {
            [only] => Cow::Borrowed(only),
            _ => Cow::Owned(names.join("/")),
        };
        let priority = rank[0].0;
        let layers = Arc::new(layers);
        let wrap = |inner: String| {
            layers.iter().fold(inner, |inner, step| {
                format!("{} over {inner}", step.layer.describe(&step.endpoint))
            })
        };
        let pieces = protocol.split(&endpoint);
        let attempts: Vec<_> = pieces
            .into_iter()
            .map(|piece| Attempt {
                entry: Entry {
                    protocol: label.clone(),
                    priority,
                    endpoint: Some(wrap(protocol.describe(&piece))),
                    started: None,
                    outcome: Outcome::Planned,
                },
                protocol: protocol.clone(),
                endpoint: piece,
                layers: layers.clone(),
                names: names.clone(),
            })
            .collect();
        rows.extend(
            attempts
                .into_iter()
                .map(|a| (rank.clone(), Row::Attempt(a))),
        );
    }

    // Stable: equal ranks keep registration order, and a candidate's
    // attempts keep the order its protocol split them in.
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter().map(|(_, row)| row).collect()
}
