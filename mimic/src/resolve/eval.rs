//! On-demand evaluation of keys: values, derivations in dependency order,
//! memoised for one resolution, cycles reported with their path.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;

use crate::ctx::{Binding, Inner};
use crate::derive::{AnyValue, BoxFuture, Derivation, Need};
use crate::key::KeyId;
use crate::report::{Cause, NotBuilt};

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

    /// The status of `id` when it is known without running a derivation
    /// (memoised, a plain value, or missing); otherwise the derivation to run.
    fn ready(&self, id: KeyId, name: &'static str) -> Result<Status, &'c Arc<dyn Derivation>> {
        if let Some(status) = self.memo.get(&id) {
            return Ok(status.clone());
        }
        let inner: &'c Inner = self.inner;
        match inner.bindings.get(&id).map(|b| &b.binding) {
            None => Ok(Status::Absent(NotBuilt::Missing { path: vec![name] })),
            Some(Binding::Value(value)) => Ok(Status::Ready(value.clone())),
            Some(Binding::Derive(derivation)) => Err(derivation),
        }
    }

    /// Evaluates `id`; only running a derivation allocates.
    pub(crate) async fn eval(&mut self, id: KeyId, name: &'static str) -> Status {
        match self.ready(id, name) {
            Ok(status) => status,
            Err(derivation) => self.derive(id, name, derivation).await,
        }
    }

    /// Computes the inputs of `derivation` and runs it; boxed because inputs
    /// recurse through [`eval`](Self::eval).
    fn derive<'a>(
        &'a mut self,
        id: KeyId,
        name: &'static str,
        derivation: &'c Arc<dyn Derivation>,
    ) -> BoxFuture<'a, Status> {
        Box::pin(async move {
            // A key on the stack is being derived: reaching it again is a loop.
            if let Some(pos) = self.stack.iter().position(|(k, _)| *k == id) {
                let mut path: Vec<_> = self.stack[pos..].iter().map(|(_, n)| *n).collect();
                path.push(name);
                return Status::Absent(NotBuilt::Cycle { path });
            }
            self.stack.push((id, name));
            let mut values = Vec::with_capacity(derivation.inputs().len());
            let mut absent = None;
            for input in derivation.inputs() {
                match self.eval(input.id, input.name).await {
                    Status::Ready(value) => values.push(Some(value)),
                    Status::Absent(NotBuilt::Missing { .. } | NotBuilt::NotApplicable { .. })
                        if input.need == Need::Optional =>
                    {
                        values.push(None)
                    }
                    Status::Absent(reason) => {
                        absent = Some(through(name, reason));
                        break;
                    }
                }
            }
            self.stack.pop();
            let status = match absent {
                Some(reason) => Status::Absent(reason),
                None => self.run(name, derivation.run(values)).await,
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
