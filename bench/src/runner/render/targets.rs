//! The report's last section: paf's targets, checked against hyper (and
//! hyper-util) for the scenarios that ran.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::runner::args::Selection;
use crate::runner::render::cells::ratio;
use crate::runner::results::{LoadRun, Results};
use crate::runner::scenario::{Scenario, Which};

/// Target: paf's pipelined req/s over hyper's.
const TARGET_PIPELINED_RATIO: f64 = 1.25;
/// Target: paf's CPU per request over hyper's, plain keep-alive run.
const TARGET_PLAIN_CPU_RATIO: f64 = 1.0;
/// Target: paf's peak RSS during the 100 MiB upload, in KiB.
const TARGET_UPLOAD_RSS_KIB: u64 = 16 * 1024;
/// Target: paf's h2c req/s over hyper's.
const TARGET_H2C_RATIO: f64 = 1.0;
/// Target: `paf::Client`'s req/s over hyper-util's, in the client
/// scenarios.
const TARGET_CLIENT_RATIO: f64 = 1.1;

/// The targets of the scenarios that ran, checked when paf ran.
pub(crate) fn render_targets(
    out: &mut String,
    wanted: &[Which],
    selection: &Selection,
    results: &HashMap<Which, Results>,
) {
    let _ = writeln!(out, "### Targets\n");
    if !wanted.contains(&Which::Paf) || !results.contains_key(&Which::Paf) {
        let _ = writeln!(out, "Not checked: paf did not run.\n");
        return;
    }
    client_targets(out, selection, results);
    load_targets(out, selection, results);
    if selection.upload {
        upload_target(out, results);
    }
    let _ = writeln!(out);
}

/// `PASS (1.23x)`, `FAIL (...)` or `not measured`.
fn verdict(value: Option<f64>, pass: impl Fn(f64) -> bool, unit: &str) -> String {
    match value {
        Some(v) => format!("{} ({v:.2}{unit})", if pass(v) { "PASS" } else { "FAIL" }),
        None => "not measured".to_string(),
    }
}

/// `paf::Client`'s req/s over hyper-util's, per client scenario.
fn client_targets(out: &mut String, selection: &Selection, results: &HashMap<Which, Results>) {
    for &scenario in &selection.clients {
        let client = |which: Which| {
            results
                .get(&which)
                .and_then(|r| r.client.get(&scenario))
                .and_then(|run| run.as_ref().ok())
                .map(|run| run.rps)
        };
        let _ = writeln!(
            out,
            "- {} req/s at least {TARGET_CLIENT_RATIO}x hyper-util's: {}",
            scenario.name(),
            verdict(
                ratio(client(Which::Paf), client(Which::Hyper)),
                |r| r >= TARGET_CLIENT_RATIO,
                "x"
            )
        );
    }
}

/// The pipelined rate, the plain CPU per request and the h2c rate, against
/// hyper's.
fn load_targets(out: &mut String, selection: &Selection, results: &HashMap<Which, Results>) {
    let paf_over_hyper = |scenario: Scenario, figure: fn(&LoadRun) -> f64| {
        let load = |which: Which| {
            results
                .get(&which)
                .and_then(|r| r.load.get(&scenario))
                .and_then(|run| run.as_ref().ok())
                .map(figure)
        };
        ratio(load(Which::Paf), load(Which::Hyper))
    };
    let ran = |scenario| selection.scenarios.contains(&scenario);
    if ran(Scenario::Pipelined) {
        let pipelined = paf_over_hyper(Scenario::Pipelined, |r| r.rps);
        let _ = writeln!(
            out,
            "- pipelined req/s at least {TARGET_PIPELINED_RATIO}x hyper's: {}",
            verdict(pipelined, |r| r >= TARGET_PIPELINED_RATIO, "x")
        );
    }
    if ran(Scenario::Plain) {
        let plain_cpu = paf_over_hyper(Scenario::Plain, |r| r.cpu_us_per_req);
        let _ = writeln!(
            out,
            "- plain keep-alive server CPU/req not above hyper's: {}",
            verdict(plain_cpu, |r| r <= TARGET_PLAIN_CPU_RATIO, "x")
        );
    }
    if ran(Scenario::H2loadH2c) {
        let h2c = paf_over_hyper(Scenario::H2loadH2c, |r| r.rps);
        let _ = writeln!(
            out,
            "- h2load-h2c req/s at least hyper's: {}",
            verdict(h2c, |r| r >= TARGET_H2C_RATIO, "x")
        );
    }
}

/// paf's peak RSS during the upload.
fn upload_target(out: &mut String, results: &HashMap<Which, Results>) {
    let rss = results
        .get(&Which::Paf)
        .and_then(|r| r.upload.as_ref())
        .and_then(|run| run.as_ref().ok())
        .map(|run| run.peak_rss_kib as f64 / 1024.0);
    let _ = writeln!(
        out,
        "- 100 MiB upload peak RSS under {} MiB: {}",
        TARGET_UPLOAD_RSS_KIB / 1024,
        verdict(
            rss,
            |mib| mib < (TARGET_UPLOAD_RSS_KIB as f64 / 1024.0),
            " MiB"
        )
    );
}
