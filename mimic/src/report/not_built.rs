//! Why a candidate's endpoint could not be built.

use std::fmt;
use std::panic::Location;

use super::{Cause, Chain};

/// Why an endpoint could not be built. Each path names keys from the
/// endpoint key down to the key at fault, which comes last.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum NotBuilt {
    /// A required key has no value and no derivation.
    Missing {
        /// From the endpoint key to the missing key.
        path: Vec<&'static str>,
        /// Another key of the missing key's name that the context binds:
        /// most likely the one that was meant.
        same_name: Option<SameName>,
    },
    /// A derivation said it does not apply (gave no value).
    NotApplicable {
        /// From the endpoint key to the key whose derivation gave nothing.
        path: Vec<&'static str>,
    },
    /// A derivation failed.
    DerivationFailed {
        /// From the endpoint key to the key whose derivation failed.
        path: Vec<&'static str>,
        /// The derivation's error.
        cause: Cause,
    },
    /// Derivations depend on each other in a loop.
    Cycle {
        /// From the endpoint key into the loop, whose first key is repeated
        /// at the end: `endpoint -> a -> b -> a`.
        path: Vec<&'static str>,
    },
    /// A layer whose endpoint was built found no candidate to wrap.
    NothingToWrap,
}

/// Another key with the name of a missing one, bound in the context: two
/// keys made apart (a `Key::new` of one's own for a key mimic declares, or
/// one [`Registration::new`](crate::Registration::new) per call) that the
/// report tells apart by where each was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SameName {
    /// The name both keys have.
    pub name: &'static str,
    /// Where the missing key was declared.
    pub missing: &'static Location<'static>,
    /// Where the other key was declared.
    pub other: &'static Location<'static>,
    /// Whether the other key has a value; otherwise a derivation.
    pub has_value: bool,
}

impl fmt::Display for SameName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, missing, other) = (self.name, self.missing, self.other);
        match self.has_value {
            true => write!(f, "a value is set under another key named `{name}`")?,
            false => write!(f, "a derivation gives another key named `{name}`")?,
        }
        if missing == other {
            // One line made both: a function that makes the key at each call.
            return write!(
                f,
                " (both made at {other}, by two calls: make the key once and share it)"
            );
        }
        write!(f, " (declared at {other}; the missing one at {missing})")
    }
}

struct Path<'a>(&'a [&'static str]);

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, key) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "`{key}`")?;
        }
        Ok(())
    }
}

/// ` (for `a` -> `b`)` when the key at fault is not the endpoint key itself.
struct Via<'a>(&'a [&'static str]);

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.split_last() {
            Some((_, via)) if !via.is_empty() => write!(f, " (for {})", Path(via)),
            _ => Ok(()),
        }
    }
}

fn last(path: &[&'static str]) -> &'static str {
    path.last().copied().unwrap_or("?")
}

impl fmt::Display for NotBuilt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotBuilt::Missing { path, same_name } => {
                write!(f, "missing input `{}`{}", last(path), Via(path))?;
                match same_name {
                    Some(same) => write!(f, "; {same}"),
                    None => Ok(()),
                }
            }
            NotBuilt::NotApplicable { path } => write!(
                f,
                "derivation of `{}` said not applicable{}",
                last(path),
                Via(path)
            ),
            NotBuilt::DerivationFailed { path, cause } => write!(
                f,
                "derivation of `{}` failed{}: {}",
                last(path),
                Via(path),
                Chain(&**cause)
            ),
            NotBuilt::Cycle { path } => {
                let start = path
                    .iter()
                    .position(|k| Some(k) == path.last())
                    .unwrap_or(0);
                write!(f, "cycle {}", Path(&path[start..]))?;
                if start > 0 {
                    write!(f, " (for {})", Path(&path[..start]))?;
                }
                Ok(())
            }
            NotBuilt::NothingToWrap => f.write_str("no candidate for this layer to wrap"),
        }
    }
}
