//! On-demand evaluation of keys: values, derivations in dependency order,
//! memoised for one resolution, cycles reported with their path.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;

use crate::ctx::{Binding, Inner};
use crate::derive::{AnyValue, BoxFuture, Cause, Need};
use crate::key::KeyId;
use crate::report::NotBuilt;

#[derive(Clone)]
pub(crate) enum Status {
    Ready(AnyValue),
    Absent(NotBuilt),
}

pub(crate) struct Eval<'c> {
    inner: &'c Inner,
    deadline: Option<Instant>,
    memo: HashMap<KeyId, Status, crate::key::IdHash>,
    stack: Vec<(KeyId, &'static str)>,
}

#[derive(Debug)]
struct DeadlinePassed;

impl std::fmt::Display for DeadlinePassed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the overall deadline passed during the derivation")
    }
}

impl std::error::Error for DeadlinePassed {}

/// Puts `name` in front of the path of a reason that came from one of its inputs.
fn through(name: &'static str, reason: NotBuilt) -> NotBuilt {
    let prefixed = |mut path: Vec<&'static str>| {
        path.insert(0, name);
        path
    };
    match reason {
        NotBuilt::Missing { path } => NotBuilt::Missing {
            path: prefixed(path),
        },
        NotBuilt::NotApplicable { path } => NotBuilt::NotApplicable {
            path: prefixed(path),
        },
        NotBuilt::DerivationFailed { path, cause } => NotBuilt::DerivationFailed {
            path: prefixed(path),
            cause,
        },
        // Keys of the loop are in the path already; keys leading to it are not.
        NotBuilt::Cycle { path } if !path.contains(&name) => NotBuilt::Cycle {
            path: prefixed(path),
        },
        other => other,
    }
}

impl<'c> Eval<'c> {
    pub(crate) fn new(inner: &'c Inner, deadline: Option<Instant>) -> Self {
        Eval {
            inner,
            deadline,
            memo: HashMap::default(),
            stack: Vec::new(),
        }
    }

    /// The status of `id` when it is known without running a derivation:
    /// memoised, a plain value, or missing.
    fn ready(&self, id: KeyId, name: &'static str) -> Option<Status> {
        if let Some(status) = self.memo.get(&id) {
            return Some(status.clone());
        }
        match self.inner.bindings.get(&id).map(|b| &b.binding) {
            None => Some(Status::Absent(NotBuilt::Missing { path: vec![name] })),
            Some(Binding::Value(value)) => Some(Status::Ready(value.clone())),
            Some(Binding::Derive(_)) => None,
        }
    }

    pub(crate) async fn eval(&mut self, id: KeyId, name: &'static str) -> Status {
        match self.ready(id, name) {
            Some(status) => status,
            None => self.eval_boxed(id, name).await,
        }
    }

    fn eval_boxed<'a>(&'a mut self, id: KeyId, name: &'static str) -> BoxFuture<'a, Status> {
        Box::pin(async move {
            if let Some(status) = self.memo.get(&id) {
                return status.clone();
            }
            if let Some(pos) = self.stack.iter().position(|(k, _)| *k == id) {
                let mut path: Vec<_> = self.stack[pos..].iter().map(|(_, n)| *n).collect();
                path.push(name);
                return Status::Absent(NotBuilt::Cycle { path });
            }
            let inner: &'c Inner = self.inner;
            let status = match inner.bindings.get(&id).map(|b| &b.binding) {
                None => Status::Absent(NotBuilt::Missing { path: vec![name] }),
                Some(Binding::Value(value)) => Status::Ready(value.clone()),
                Some(Binding::Derive(derivation)) => {
                    self.stack.push((id, name));
                    let mut values = Vec::with_capacity(derivation.inputs().len());
                    let mut absent = None;
                    for input in derivation.inputs() {
                        let status = match self.ready(input.id, input.name) {
                            Some(status) => status,
                            None => self.eval_boxed(input.id, input.name).await,
                        };
                        match status {
                            Status::Ready(value) => values.push(Some(value)),
                            Status::Absent(
                                NotBuilt::Missing { .. } | NotBuilt::NotApplicable { .. },
                            ) if input.need == Need::Optional => values.push(None),
                            Status::Absent(reason) => {
                                absent = Some(through(name, reason));
                                break;
                            }
                        }
                    }
                    self.stack.pop();
                    match absent {
                        Some(reason) => Status::Absent(reason),
                        None => self.run(name, derivation.run(values)).await,
                    }
                }
            };
            self.memo.insert(id, status.clone());
            status
        })
    }

    async fn run(
        &self,
        name: &'static str,
        derived: BoxFuture<'static, crate::derive::Derived>,
    ) -> Status {
        let result = match self.deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, derived)
                .await
                .unwrap_or_else(|_| Err(Arc::new(DeadlinePassed) as Cause)),
            None => derived.await,
        };
        match result {
            Ok(Some(value)) => Status::Ready(value),
            Ok(None) => Status::Absent(NotBuilt::NotApplicable { path: vec![name] }),
            Err(cause) => Status::Absent(NotBuilt::DerivationFailed {
                path: vec![name],
                cause,
            }),
        }
    }
}
