//! Derivations: computing a key from other keys (OCaml mimic's `fold`).
//!
//! [`Ctx::derive`](crate::Ctx::derive) binds a key to an async function of
//! other keys; this module names its inputs.
//!
//! # Organization
//! - [`req`], [`opt`], [`dft`]: a required input, an optional one, one with
//!   a default (also at the crate root).
//! - [`Req`], [`Opt`], [`Dft`]: what they return.
//! - [`Args`]: one input or a tuple of up to eight, as `derive` takes them.
//!
//! ```
//! use std::net::{IpAddr, SocketAddr};
//! use mimic::{Ctx, Key, dft, req};
//!
//! static IP: Key<IpAddr> = Key::new("ip");
//! static PORT: Key<u16> = Key::new("port");
//! static ADDR: Key<SocketAddr> = Key::new("addr");
//!
//! let ctx = Ctx::new().derive(&ADDR, (req(&IP), dft(&PORT, 80)), |(ip, port)| async move {
//!     Ok::<_, std::io::Error>(Some(SocketAddr::new(ip, port)))
//! });
//! # let _ = ctx;
//! ```

use std::any::Any;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::key::{Key, Named};
use crate::report::Cause;
use sealed::Input;

/// A type-erased value stored in a context.
pub(crate) type AnyValue = Arc<dyn Any + Send + Sync>;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a derivation function gave: a value, "not applicable", or an error.
pub(crate) type Derived = Result<Option<AnyValue>, Cause>;

/// How a derivation needs one of its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// Without it the derivation does not run.
    Required,
    /// The derivation runs either way.
    Optional,
}

/// A derivation with its types erased, as stored in a context.
pub(crate) trait Derivation: Send + Sync {
    fn inputs(&self) -> &[Input];
    /// Runs with one value per input, in the order of `inputs`; `None` for
    /// an absent optional input.
    fn run(&self, values: Vec<Option<AnyValue>>) -> BoxFuture<'static, Derived>;
}

mod sealed {
    use super::{AnyValue, Named, Need};

    /// One input of a derivation, as the resolver sees it. Public in a
    /// private module: the sealed traits name it, users cannot.
    #[derive(Clone, Debug)]
    pub struct Input {
        pub(crate) key: Named,
        pub(crate) need: Need,
    }

    pub trait Arg: Send + Sync + 'static {
        type Output: Send + 'static;
        fn input(&self) -> Input;
        /// `None` when a required value is absent or of the wrong type.
        fn take(&self, value: Option<AnyValue>) -> Option<Self::Output>;
    }

    pub trait Args: Send + Sync + 'static {
        type Values: Send + 'static;
        fn inputs(&self) -> Vec<Input>;
        fn take(&self, values: &mut std::vec::IntoIter<Option<AnyValue>>) -> Option<Self::Values>;
    }
}

/// The inputs of a derivation: one of [`req`], [`opt`] or [`dft`], or a
/// tuple of up to eight of them. The function receives the matching values:
/// `T` for `req` and `dft`, `Option<T>` for `opt`, in a tuple of the same
/// shape.
pub trait Args: sealed::Args {}

impl<A: sealed::Args> Args for A {}

/// A required input: without it the derivation does not run and the key is
/// reported as missing.
pub fn req<T: Clone + Send + Sync + 'static>(key: &Key<T>) -> Req<T> {
    Req(key.clone())
}

/// An optional input: the function gets `None` when it is absent.
pub fn opt<T: Clone + Send + Sync + 'static>(key: &Key<T>) -> Opt<T> {
    Opt(key.clone())
}

/// An input with a default used when it is absent.
pub fn dft<T: Clone + Send + Sync + 'static>(key: &Key<T>, default: T) -> Dft<T> {
    Dft(key.clone(), default)
}

/// A required input; see [`req`].
#[derive(Debug)]
pub struct Req<T>(Key<T>);

/// An optional input; see [`opt`].
#[derive(Debug)]
pub struct Opt<T>(Key<T>);

/// An input with a default; see [`dft`].
#[derive(Debug)]
pub struct Dft<T>(Key<T>, T);

fn input<T>(key: &Key<T>, need: Need) -> Input {
    Input {
        key: key.named(),
        need,
    }
}

fn cast<T: Clone + 'static>(value: Option<AnyValue>) -> Option<T> {
    value.and_then(|v| v.downcast_ref::<T>().cloned())
}

impl<T: Clone + Send + Sync + 'static> sealed::Arg for Req<T> {
    type Output = T;
    fn input(&self) -> Input {
        input(&self.0, Need::Required)
    }
    fn take(&self, value: Option<AnyValue>) -> Option<T> {
        cast(value)
    }
}

impl<T: Clone + Send + Sync + 'static> sealed::Arg for Opt<T> {
    type Output = Option<T>;
    fn input(&self) -> Input {
        input(&self.0, Need::Optional)
    }
    fn take(&self, value: Option<AnyValue>) -> Option<Option<T>> {
        Some(cast(value))
    }
}

impl<T: Clone + Send + Sync + 'static> sealed::Arg for Dft<T> {
    type Output = T;
    fn input(&self) -> Input {
        input(&self.0, Need::Optional)
    }
    fn take(&self, value: Option<AnyValue>) -> Option<T> {
        Some(cast(value).unwrap_or_else(|| self.1.clone()))
    }
}

macro_rules! single_arg {
    ($($ty:ident),*) => {$(
        impl<T: Clone + Send + Sync + 'static> sealed::Args for $ty<T> {
            type Values = <Self as sealed::Arg>::Output;
            fn inputs(&self) -> Vec<Input> {
                vec![sealed::Arg::input(self)]
            }
            fn take(&self, values: &mut std::vec::IntoIter<Option<AnyValue>>) -> Option<Self::Values> {
                sealed::Arg::take(self, values.next().flatten())
            }
        }
    )*};
}

single_arg!(Req, Opt, Dft);

macro_rules! tuple_args {
    ($($name:ident),*) => {
        impl<$($name: sealed::Arg),*> sealed::Args for ($($name,)*) {
            type Values = ($($name::Output,)*);
            fn inputs(&self) -> Vec<Input> {
                #[allow(non_snake_case)]
                let ($($name,)*) = self;
                vec![$($name.input()),*]
            }
            fn take(&self, values: &mut std::vec::IntoIter<Option<AnyValue>>) -> Option<Self::Values> {
                #[allow(non_snake_case)]
                let ($($name,)*) = self;
                Some(($($name.take(values.next().flatten())?,)*))
            }
        }
    };
}

impl sealed::Args for () {
    type Values = ();
    fn inputs(&self) -> Vec<Input> {
        Vec::new()
    }
    fn take(&self, _: &mut std::vec::IntoIter<Option<AnyValue>>) -> Option<()> {
        Some(())
    }
}

tuple_args!(A);
tuple_args!(A, B);
tuple_args!(A, B, C);
tuple_args!(A, B, C, D);
tuple_args!(A, B, C, D, E);
tuple_args!(A, B, C, D, E, F);
tuple_args!(A, B, C, D, E, F, G);
tuple_args!(A, B, C, D, E, F, G, H);

/// A derivation built from typed arguments and an async function.
pub(crate) struct FnDerivation<A, F> {
    args: A,
    inputs: Vec<Input>,
    f: Arc<F>,
}

impl<A: sealed::Args, F> FnDerivation<A, F> {
    pub(crate) fn new(args: A, f: F) -> Self {
        let inputs = args.inputs();
        FnDerivation {
            args,
            inputs,
            f: Arc::new(f),
        }
    }
}

/// Raised when a required input could not be read back as its type; the
/// context's typed API makes this unreachable, but a report beats a panic.
#[derive(Debug)]
struct InputMismatch;

impl std::fmt::Display for InputMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an input value did not have the type of its key")
    }
}

impl StdError for InputMismatch {}

impl<A, F, Fut, T, E> Derivation for FnDerivation<A, F>
where
    A: sealed::Args,
    F: Fn(A::Values) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<T>, E>> + Send + 'static,
    T: Send + Sync + 'static,
    E: Into<Box<dyn StdError + Send + Sync>>,
{
    fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    fn run(&self, values: Vec<Option<AnyValue>>) -> BoxFuture<'static, Derived> {
        let Some(values) = self.args.take(&mut values.into_iter()) else {
            return Box::pin(async { Err(Arc::new(InputMismatch) as Cause) });
        };
        let fut = (self.f)(values);
        Box::pin(async move {
            match fut.await {
                Ok(Some(value)) => Ok(Some(Arc::new(value) as AnyValue)),
                Ok(None) => Ok(None),
                Err(e) => Err(Cause::from(e.into())),
            }
        })
    }
}
