//! Displaying an error with its sources.

use std::error::Error as StdError;
use std::fmt;

/// Displays an error followed by its sources, `: `-separated, skipping a
/// source whose text the outer message already contains (errors that show
/// their cause and also return it from `source`).
///
/// ```
/// let io = std::io::Error::other("refused");
/// assert_eq!(mimic::Chain(&io).to_string(), "refused");
/// ```
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        while let Some(err) = next {
            let text = err.to_string();
            if !shown.contains(&text) {
                write!(f, ": {text}")?;
                shown = text;
            }
            next = err.source();
        }
        Ok(())
    }
}
