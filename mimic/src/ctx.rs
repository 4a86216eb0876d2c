use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::derive::{AnyValue, Args, Derivation, FnDerivation};
use crate::key::{Key, KeyId, Named};
use crate::protocol::{Registered, Registration};

/// How candidates are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// Start the best candidate; start the next one after `stagger`, or at
    /// once when a running attempt fails; the first to connect wins and the
    /// others are dropped. With several addresses for one TCP endpoint this
    /// is RFC 8305's Happy Eyeballs.
    Race {
        /// The delay between two starts (RFC 8305's Connection Attempt Delay).
        stagger: Duration,
    },
    /// Try one candidate at a time, in order.
    Sequential,
}

impl Default for Strategy {
    /// A race with RFC 8305's recommended 250 ms stagger.
    fn default() -> Self {
        Strategy::Race {
            stagger: Duration::from_millis(250),
        }
    }
}

/// A value or the rule to compute it.
#[derive(Clone)]
pub(crate) enum Binding {
    Value(AnyValue),
    Derive(Arc<dyn Derivation>),
}

#[derive(Clone)]
pub(crate) struct Bound {
    pub(crate) key: Named,
    pub(crate) binding: Binding,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    pub(crate) strategy: Option<Strategy>,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) deadline: Option<Duration>,
}

#[derive(Clone, Default)]
pub(crate) struct Inner {
    pub(crate) bindings: HashMap<KeyId, Bound, crate::key::IdHash>,
    pub(crate) protocols: Vec<Arc<Registered>>,
    pub(crate) options: Options,
}

/// A typed context: values, derivation rules and protocol registrations.
///
/// [`resolve`](Ctx::resolve) connects it and [`explain`](Ctx::explain) plans
/// without connecting; both live with the resolver, which reads contexts
/// (this module knows nothing of resolution).
///
/// A context is immutable once built and cheap to clone (it is shared);
/// each builder method gives a new context and leaves clones untouched.
/// There is no global state: everything a resolution uses is in the context.
///
/// **Precedence.** Each key has at most one binding, a value or a
/// derivation. [`with`](Ctx::with) and [`derive`](Ctx::derive) replace any
/// binding the key had, and in [`merge`](Ctx::merge) the argument's bindings
/// win. [`get`](Ctx::get) and resolution read the same binding, so they
/// never disagree. A registration replaces one that is the same, or that
/// has the same name on the same endpoint key (installing a configured TLS
/// layer replaces the built-in one), and goes to the end of the
/// registration order.
///
/// ```no_run
/// use mimic::{Ctx, keys};
///
/// # async fn run() -> Result<(), mimic::ResolveError> {
/// let ctx = Ctx::new()
///     .with_builtins()
///     .with_system_dns()
///     .with(&keys::HOST, "localhost".to_string())
///     .with(&keys::PORT, 8080);
/// let flow = ctx.resolve().await?;
/// println!("connected over {} to {:?}", flow.info().protocol(), flow.info().peer_addr());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Ctx {
    pub(crate) inner: Arc<Inner>,
}

impl Ctx {
    /// An empty context.
    pub fn new() -> Ctx {
        Ctx::default()
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.inner)
    }

    /// Binds `key` to `value`, replacing any value or derivation it had.
    pub fn with<T: Send + Sync + 'static>(mut self, key: &Key<T>, value: T) -> Ctx {
        let bound = Bound {
            key: key.named(),
            binding: Binding::Value(Arc::new(value)),
        };
        self.inner_mut().bindings.insert(key.id(), bound);
        self
    }

    /// The value bound to `key`, if it has one. Derivations are not run:
    /// their results exist only during a resolution.
    pub fn get<T: Send + Sync + 'static>(&self, key: &Key<T>) -> Option<&T> {
        match &self.inner.bindings.get(&key.id())?.binding {
            Binding::Value(value) => value.downcast_ref(),
            Binding::Derive(_) => None,
        }
    }

    /// Whether `key` has a value or a derivation.
    pub fn contains<T>(&self, key: &Key<T>) -> bool {
        self.inner.bindings.contains_key(&key.id())
    }

    /// Removes any value or derivation of `key`.
    pub fn without<T>(mut self, key: &Key<T>) -> Ctx {
        if self.contains(key) {
            self.inner_mut().bindings.remove(&key.id());
        }
        self
    }

    /// Binds `key` to a derivation: during a resolution that needs `key`,
    /// the inputs in `args` are computed first (in dependency order, each at
    /// most once per resolution), then `f` runs with their values.
    ///
    /// `f` gives `Ok(Some(value))`, `Ok(None)` for "not applicable", or an
    /// error; both of the latter are reported for every candidate that
    /// needed the key. An absent required input means `f` does not run and
    /// the input is reported as missing. An optional input whose derivation
    /// failed fails this derivation too: errors are never swallowed.
    ///
    /// ```
    /// use std::net::{IpAddr, SocketAddr};
    /// use mimic::{Ctx, Key, dft, req};
    ///
    /// static IP: Key<IpAddr> = Key::new("ip");
    /// static PORT: Key<u16> = Key::new("port");
    /// static ADDR: Key<SocketAddr> = Key::new("addr");
    ///
    /// let ctx = Ctx::new()
    ///     .with(&IP, [127, 0, 0, 1].into())
    ///     .derive(&ADDR, (req(&IP), dft(&PORT, 80)), |(ip, port)| async move {
    ///         Ok::<_, std::io::Error>(Some(SocketAddr::new(ip, port)))
    ///     });
    /// # let _ = ctx;
    /// ```
    pub fn derive<T, A, F, Fut, E>(mut self, key: &Key<T>, args: A, f: F) -> Ctx
    where
        T: Send + Sync + 'static,
        A: Args,
        F: Fn(A::Values) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<T>, E>> + Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        let bound = Bound {
            key: key.named(),
            binding: Binding::Derive(Arc::new(FnDerivation::new(args, f))),
        };
        self.inner_mut().bindings.insert(key.id(), bound);
        self
    }

    /// Adds a protocol or layer registration. Its candidates exist when its
    /// endpoint key has a value or a derivation that gives one.
    pub fn with_protocol<E: Send + Sync + 'static>(self, registration: &Registration<E>) -> Ctx {
        self.register(registration, None)
    }

    /// Adds a registration just before the one named `before`, or last when
    /// there is none, so that a layer goes beneath it: a proxy tunnel
    /// registered before `tls` carries TLS, instead of being wrapped in it.
    pub fn with_protocol_before<E: Send + Sync + 'static>(
        self,
        registration: &Registration<E>,
        before: &str,
    ) -> Ctx {
        self.register(registration, Some(before))
    }

    /// Adds a registration in place of one it replaces, before the one
    /// named `before`, or last.
    fn register<E: Send + Sync + 'static>(
        mut self,
        registration: &Registration<E>,
        before: Option<&str>,
    ) -> Ctx {
        let registered = registration.registered().clone();
        let protocols = &mut self.inner_mut().protocols;
        protocols.retain(|r| !r.replaced_by(&registered));
        let at = before
            .and_then(|name| protocols.iter().position(|r| r.name == name))
            .unwrap_or(protocols.len());
        protocols.insert(at, registered);
        self
    }

    /// Combines two contexts; `other` wins: its bindings replace this
    /// context's for the same keys, its registrations come after this
    /// context's (one it replaces takes `other`'s position),
    /// and its resolution options override the ones it sets.
    pub fn merge(mut self, other: &Ctx) -> Ctx {
        if Arc::ptr_eq(&self.inner, &other.inner) {
            return self;
        }
        let inner = self.inner_mut();
        for (id, bound) in &other.inner.bindings {
            inner.bindings.insert(*id, bound.clone());
        }
        for registered in &other.inner.protocols {
            inner.protocols.retain(|r| !r.replaced_by(registered));
            inner.protocols.push(registered.clone());
        }
        let theirs = other.inner.options;
        let ours = &mut inner.options;
        ours.strategy = theirs.strategy.or(ours.strategy);
        ours.attempt_timeout = theirs.attempt_timeout.or(ours.attempt_timeout);
        ours.deadline = theirs.deadline.or(ours.deadline);
        self
    }

    /// Sets how candidates are connected (default: a race with a 250 ms stagger).
    pub fn with_strategy(mut self, strategy: Strategy) -> Ctx {
        self.inner_mut().options.strategy = Some(strategy);
        self
    }

    /// Limits each connection attempt, handshakes of layers included.
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Ctx {
        self.inner_mut().options.attempt_timeout = Some(timeout);
        self
    }

    /// Limits the whole resolution: derivations and every attempt.
    pub fn with_deadline(mut self, deadline: Duration) -> Ctx {
        self.inner_mut().options.deadline = Some(deadline);
        self
    }

    /// The strategy in force.
    pub fn strategy(&self) -> Strategy {
        self.inner.options.strategy.unwrap_or_default()
    }
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self
            .inner
            .bindings
            .values()
            .map(|b| match b.binding {
                Binding::Value(_) => b.key.name.to_string(),
                Binding::Derive(_) => format!("{} (derived)", b.key.name),
            })
            .collect();
        keys.sort();
        let protocols: Vec<_> = self.inner.protocols.iter().map(|r| r.name).collect();
        f.debug_struct("Ctx")
            .field("keys", &keys)
            .field("protocols", &protocols)
            .field("options", &self.inner.options)
            .finish()
    }
}
