//! Diagnostics on stderr: a `tracing` subscriber configured from the
//! environment.
//!
//! - `RUST_LOG`, when set, is the filter (`paf=debug`, `conduit=trace,warn`...).
//! - Otherwise `PAF_DEBUG=1` turns on debug messages of paf, conduit,
//!   mimic and the tools themselves.
//! - Otherwise only warnings and errors are shown.

use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is unset and `PAF_DEBUG=1`.
pub const DEBUG_FILTER: &str = "paf=debug,conduit=debug,mimic=debug,paf_cli=debug";

/// The filter used when neither `RUST_LOG` nor `PAF_DEBUG` is set.
pub const DEFAULT_FILTER: &str = "warn";

/// Installs the subscriber, writing to stderr, with [`DEFAULT_FILTER`] when
/// neither variable is set. Does nothing if one is already installed.
pub fn init() {
    init_with(DEFAULT_FILTER);
}

/// [`init`] with another filter for when neither variable is set.
pub fn init_with(default: &str) {
    let filter = filter(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("PAF_DEBUG").ok().as_deref(),
        default,
    );
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The filter for the values of `RUST_LOG` and `PAF_DEBUG`. An invalid
/// `RUST_LOG` is reported and the default used instead.
fn filter(rust_log: Option<&str>, paf_debug: Option<&str>, default: &str) -> EnvFilter {
    if let Some(spec) = rust_log.filter(|spec| !spec.trim().is_empty()) {
        match EnvFilter::try_new(spec) {
            Ok(filter) => return filter,
            Err(err) => eprintln!("warning: ignoring RUST_LOG={spec:?}: {err}"),
        }
    }
    let spec = match paf_debug {
        Some(value) if value != "0" && !value.is_empty() => DEBUG_FILTER,
        _ => default,
    };
    EnvFilter::new(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_wins_then_paf_debug_then_warn() {
        assert_eq!(
            filter(Some("paf=trace"), Some("1"), DEFAULT_FILTER).to_string(),
            "paf=trace"
        );
        assert_eq!(
            filter(None, Some("1"), DEFAULT_FILTER).to_string(),
            EnvFilter::new(DEBUG_FILTER).to_string()
        );
        assert_eq!(filter(None, Some("0"), DEFAULT_FILTER).to_string(), "warn");
        assert_eq!(filter(Some(""), None, DEFAULT_FILTER).to_string(), "warn");
        assert_eq!(filter(None, None, DEFAULT_FILTER).to_string(), "warn");
    }
}
