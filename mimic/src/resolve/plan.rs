//! Turning a context into an ordered list of attempts, in three phases:
//! [`protocols`] builds a candidate per protocol whose endpoint can be built,
//! [`layers`] wraps them in the layers that apply, and [`attempts`] splits
//! each candidate into the attempts its protocol asks for. [`plan`] runs the
//! phases and orders the result.

use std::borrow::Cow;
use std::sync::Arc;

use tokio::time::Instant;

use super::attempt::{Attempt, Step};
use super::eval::{Eval, Status};
use crate::ctx::{Binding, Inner};
use crate::derive::AnyValue;
use crate::key::KeyId;
use crate::protocol::{ErasedProtocol, Kind, Over, Registered};
use crate::report::{Entry, NotBuilt, Outcome};

/// Ordering of a candidate: (priority, registration index), outermost first,
/// compared lexicographically.
type Rank = Vec<(i32, usize)>;

/// A protocol whose endpoint was built, with the layers wrapping it so far.
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

/// A row of the plan: a candidate's attempts, or a registration that gave none.
pub(crate) enum Row {
    Attempt(Attempt),
    NotBuilt(Entry),
}

/// Rows with the rank they are ordered by.
type Ranked = Vec<(Rank, Row)>;

/// The row of a registration whose endpoint `key` was not built.
fn not_built(inner: &Inner, reg: &Registered, reason: NotBuilt) -> Entry {
    let applicable = !never_applicable(inner, reg.key.id, &reason);
    Entry {
        protocol: Cow::Borrowed(reg.name),
        priority: reg.priority,
        endpoint: None,
        started: None,
        outcome: Outcome::NotBuilt(reason),
        applicable,
    }
}

/// Whether a registration that was not built was never in play: an input
/// is missing and nothing its endpoint derives from has a value. A value
/// under a key of the same name is a mix-up, to be shown whole.
fn never_applicable(inner: &Inner, key: KeyId, reason: &NotBuilt) -> bool {
    match reason {
        NotBuilt::Missing {
            same_name: None, ..
        } => !has_input(inner, key, &mut Vec::new()),
        _ => false,
    }
}

/// Whether `key` has a value, or derives from a key that has one; `seen`
/// ends a loop.
fn has_input(inner: &Inner, key: KeyId, seen: &mut Vec<KeyId>) -> bool {
    if seen.contains(&key) {
        return false;
    }
    seen.push(key);
    match inner.bindings.get(&key).map(|b| &b.binding) {
        Some(Binding::Value(_)) => true,
        Some(Binding::Derive(derivation)) => derivation
            .inputs()
            .iter()
            .any(|input| has_input(inner, input.key.id, seen)),
        None => false,
    }
}

/// Evaluates every registration's endpoint, applies layers, orders the
/// candidates and splits them into attempts. Protocols are built first, then
/// layers in registration order, so a layer wraps protocols registered after
/// it too, and a later layer wraps an earlier one.
pub(crate) async fn plan(inner: &Inner, deadline: Option<Instant>) -> Vec<Row> {
    let mut eval = Eval::new(inner, deadline);
    let mut rows: Ranked = Vec::with_capacity(inner.protocols.len());
    let mut built = protocols(inner, &mut eval, &mut rows).await;
    layers(inner, &mut eval, &mut built, &mut rows).await;
    for candidate in built {
        rows.extend(attempts(candidate));
    }
    // Stable: equal ranks keep registration order, and a candidate's
    // attempts keep the order its protocol split them in.
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter().map(|(_, row)| row).collect()
}

/// Phase 1: a candidate for every protocol whose endpoint can be built; a
/// row saying why for the others.
async fn protocols(inner: &Inner, eval: &mut Eval<'_>, rows: &mut Ranked) -> Vec<Candidate> {
    let mut built = Vec::with_capacity(inner.protocols.len());
    for (index, reg) in inner.protocols.iter().enumerate() {
        let Kind::Protocol(protocol) = &reg.kind else {
            continue;
        };
        let rank = vec![(reg.priority, index)];
        match eval.eval(reg.key).await {
            Status::Ready(endpoint) => built.push(Candidate {
                name: reg.name,
                protocol: protocol.clone(),
                endpoint,
                layers: Vec::new(),
                rank,
            }),
            Status::Absent(reason) => {
                let entry = not_built(inner, reg, reason);
                rows.push((rank, Row::NotBuilt(entry)));
            }
        }
    }
    built
}

/// Phase 2: every layer whose endpoint can be built wraps the candidates it
/// applies to; a layer that cannot, or that finds nothing to wrap, gets a row
/// saying so.
async fn layers(inner: &Inner, eval: &mut Eval<'_>, built: &mut [Candidate], rows: &mut Ranked) {
    for (index, reg) in inner.protocols.iter().enumerate() {
        let Kind::Layer(layer, over) = &reg.kind else {
            continue;
        };
        let rank = vec![(reg.priority, index)];
        let endpoint = match eval.eval(reg.key).await {
            Status::Ready(endpoint) => endpoint,
            Status::Absent(reason) => {
                let entry = not_built(inner, reg, reason);
                rows.push((rank, Row::NotBuilt(entry)));
                continue;
            }
        };
        let mut wrapped = 0;
        for candidate in built.iter_mut() {
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
            let entry = not_built(inner, reg, NotBuilt::NothingToWrap);
            rows.push((rank, Row::NotBuilt(entry)));
        }
    }
}

/// Phase 3: a candidate's attempts, one per piece its protocol splits the
/// endpoint into, each described through its layers for the report.
fn attempts(candidate: Candidate) -> impl Iterator<Item = (Rank, Row)> {
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
    let pieces = protocol.split(&endpoint);
    pieces.into_iter().map(move |piece| {
        let described = layers
            .iter()
            .fold(protocol.describe(&piece), |inner, step| {
                format!("{} over {inner}", step.layer.describe(&step.endpoint))
            });
        let attempt = Attempt {
            entry: Entry {
                protocol: label.clone(),
                priority,
                endpoint: Some(described),
                started: None,
                outcome: Outcome::Planned,
                applicable: true,
            },
            protocol: protocol.clone(),
            endpoint: piece,
            layers: layers.clone(),
            names: names.clone(),
        };
        (rank.clone(), Row::Attempt(attempt))
    })
}
