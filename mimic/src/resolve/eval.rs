//! On-demand evaluation of keys: values, derivations in dependency order,
//! memoised for one resolution, cycles reported with their path.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;

use crate::ctx::{Binding, Inner};
use crate::derive::{AnyValue, BoxFuture, Derivation, Need};
use crate::key::{KeyId, Named};
use crate::report::{Cause, NotBuilt, SameName};

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
        NotBuilt::Missing { path, same_name } => NotBuilt::Missing {
            path: prefixed(path),
            same_name,
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

    /// The status of `key` when it is known without running a derivation
    /// (memoised, a plain value, or missing); otherwise the derivation to run.
    fn ready(&self, key: Named) -> Result<Status, &'c Arc<dyn Derivation>> {
        if let Some(status) = self.memo.get(&key.id) {
            return Ok(status.clone());
        }
        let inner: &'c Inner = self.inner;
        match inner.bindings.get(&key.id).map(|b| &b.binding) {
            None => Ok(Status::Absent(NotBuilt::Missing {
                path: vec![key.name],
                same_name: self.same_name(key),
            })),
            Some(Binding::Value(value)) => Ok(Status::Ready(value.clone())),
            Some(Binding::Derive(derivation)) => Err(derivation),
        }
    }

    /// Another bound key named as the missing `key`, a value first: the
    /// likely mix-up behind a missing input. Only looked for when one is
    /// missing, so a resolution that builds pays nothing.
    fn same_name(&self, key: Named) -> Option<SameName> {
        let others = self.inner.bindings.values();
        let other = others
            .filter(|b| b.key.name == key.name && b.key.id != key.id)
            .min_by_key(|b| matches!(b.binding, Binding::Derive(_)))?;
        Some(SameName {
            name: key.name,
            missing: key.declared,
            other: other.key.declared,
            has_value: matches!(other.binding, Binding::Value(_)),
        })
    }

    /// Evaluates `key`; only running a derivation allocates.
    pub(crate) async fn eval(&mut self, key: Named) -> Status {
        match self.ready(key) {
            Ok(status) => status,
            Err(derivation) => self.derive(key.id, key.name, derivation).await,
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
                match self.eval(input.key).await {
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
