//! Displaying an error with its sources.

use std::error::Error as StdError;
use std::fmt;

/// Displays an error and every error of its [`source`](StdError::source)
/// chain, each with its plain `{}`, joined by `: `.
///
/// This is how mimic's and conduit's errors are meant to be read: their
/// `{}` is their own text only, `source()` carries the cause, and their
/// alternate form `{:#}` is this chain. Every level is printed exactly as
/// it displays itself; nothing is skipped or deduplicated, so an error that
/// repeats its source's text in its own shows it twice: the convention is
/// what keeps chains clean.
///
/// Use it to print any error whole, or to give an error of your own the
/// same `{:#}`:
///
/// ```
/// use std::{error::Error, fmt};
/// use mimic::report::Chain;
///
/// #[derive(Debug)]
/// struct Upload(std::io::Error);
///
/// impl fmt::Display for Upload {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         if f.alternate() {
///             return Chain(self).fmt(f);
///         }
///         f.write_str("upload failed")
///     }
/// }
///
/// impl Error for Upload {
///     fn source(&self) -> Option<&(dyn Error + 'static)> {
///         Some(&self.0)
///     }
/// }
///
/// let err = Upload(std::io::Error::other("disk full"));
/// assert_eq!(err.to_string(), "upload failed");
/// assert_eq!(format!("{err:#}"), "upload failed: disk full");
/// assert_eq!(Chain(&err).to_string(), "upload failed: disk full");
/// ```
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `write!` with a plain `{}` clears the alternate flag: each level
        // shows its own text only, so an error whose `{:#}` is this chain
        // does not recurse.
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(err) = next {
            write!(f, ": {err}")?;
            next = err.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Chain").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Layer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn StdError + 'static))
        }
    }

    #[test]
    fn every_level_once_in_order_even_when_texts_repeat() {
        let inner = Layer("refused", None);
        assert_eq!(Chain(&inner).to_string(), "refused");
        let err = Layer("a", Some(Box::new(Layer("a", Some(Box::new(inner))))));
        // No matching of texts: equal texts at two levels are two levels.
        assert_eq!(Chain(&err).to_string(), "a: a: refused");
    }
}
