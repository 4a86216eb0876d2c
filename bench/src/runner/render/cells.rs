//! The text of the tables' cells: rates with thousands separators, ratios,
//! error counts, and what stands in for a run that did not happen.

use std::collections::HashMap;
use std::num::NonZeroUsize;

use crate::runner::results::Results;
use crate::runner::scenario::Which;

/// paf's value over hyper's, when both are there and hyper's is not zero.
pub(crate) fn ratio(paf: Option<f64>, hyper: Option<f64>) -> Option<f64> {
    match (paf, hyper) {
        (Some(paf), Some(hyper)) if hyper > 0.0 => Some(paf / hyper),
        _ => None,
    }
}

/// `1.23x`, or `—` for no ratio.
pub(crate) fn fmt_ratio(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "—".to_string(), |r| format!("{r:.2}x"))
}

/// The `paf/hyper` cell of a column: the ratio of paf's and hyper's
/// figures in `column`.
pub(crate) fn paf_over_hyper(column: &HashMap<Which, f64>) -> String {
    fmt_ratio(ratio(
        column.get(&Which::Paf).copied(),
        column.get(&Which::Hyper).copied(),
    ))
}

/// Thousands separators for req/s.
pub(crate) fn fmt_int(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An error count, flagged when not zero.
pub(crate) fn fmt_errors(errors: u64) -> String {
    if errors == 0 {
        "0".to_string()
    } else {
        format!("**{errors} !!!**")
    }
}

/// Markdown cell text for a server that did not run or failed.
pub(crate) fn absent(which: Which, results: Option<&Results>) -> String {
    match results {
        None => format!("— ({} not run)", which.binary()),
        Some(_) => "failed (see log)".to_string(),
    }
}

/// A runtime, for the report.
pub(crate) fn runtime_name(threads: Option<NonZeroUsize>) -> String {
    match threads {
        None => "current-thread Tokio runtime".to_string(),
        Some(n) if n.get() == 1 => "multi-thread Tokio runtime, 1 worker".to_string(),
        Some(n) => format!("multi-thread Tokio runtime, {n} workers"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands() {
        assert_eq!(fmt_int(0.4), "0");
        assert_eq!(fmt_int(999.0), "999");
        assert_eq!(fmt_int(166361.02), "166,361");
        assert_eq!(fmt_int(1234567.0), "1,234,567");
    }
}
