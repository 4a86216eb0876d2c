//! The rounds: every selected scenario against each server in turn, then
//! the client scenarios with each client in turn, as many times as
//! `--rounds` asks, folded into the median. A failed run is recorded and
//! the others go on.

use std::collections::HashMap;
use std::path::Path;

use crate::runner::binaries::Binaries;
use crate::runner::context::Context;
use crate::runner::results::{LoadRun, Results};
use crate::runner::runs::{client_run, load_run, upload_run};
use crate::runner::scenario::{ClientScenario, Scenario, Which};
use crate::runner::stats::median;

/// Runs every round and folds each server's (and client's) rounds into
/// the median. The upload, when `upload` is given, runs in the first round
/// only.
pub(crate) fn run_rounds(
    context: &Context,
    binaries: &Binaries,
    upload: Option<&Path>,
) -> HashMap<Which, Results> {
    let mut rounds: HashMap<Which, Vec<Results>> = HashMap::new();
    if binaries.servers.is_empty() && binaries.clients.is_none() {
        return HashMap::new();
    }
    for round in 0..context.args.rounds.max(1) {
        eprintln!("bench: round {}", round + 1);
        // The upload measures memory, which does not vary: once is enough.
        let upload = if round == 0 { upload } else { None };
        for &(which, ref binary) in &binaries.servers {
            let result = bench_server(context, binaries, which, binary, upload);
            rounds.entry(which).or_default().push(result);
        }
        if let Some((server, load)) = &binaries.clients {
            // The clients take turns, the first one changing every round.
            let mut order = context.selection.client_kinds.clone();
            if round % 2 == 1 {
                order.reverse();
            }
            for (which, result) in bench_clients(context, server, load, &order) {
                rounds.entry(which).or_default().push(result);
            }
        }
    }
    rounds
        .into_iter()
        .map(|(which, rounds)| (which, median(rounds)))
        .collect()
}

/// Runs all the scenarios against one server, the clear-text ones on one
/// process and the TLS ones on another; failures are recorded, not
/// returned, so that the other server still runs.
fn bench_server(
    context: &Context,
    binaries: &Binaries,
    which: Which,
    binary: &Path,
    upload: Option<&Path>,
) -> Results {
    let mut results = Results::default();
    eprintln!("bench: == {} ({})", which.name(), binary.display());
    for tls in [false, true] {
        let scenarios: Vec<Scenario> = (context.selection.scenarios.iter())
            .copied()
            .filter(|scenario| scenario.tls() == tls)
            .collect();
        if !scenarios.is_empty() {
            let runs = load_runs(context, binaries, which, binary, tls, &scenarios);
            results.load.extend(runs);
        }
    }
    if let Some(file) = upload {
        // VmHWM is a lifetime peak: measure the upload on a fresh process.
        let run = context
            .start_server(binary, false)
            .and_then(|mut server| upload_run(context, &mut server, file))
            .map_err(|e| e.to_string());
        if let Err(error) = &run {
            eprintln!("bench: !!! {} upload failed: {error}", which.name());
        }
        results.upload = Some(run);
    }
    results
}

/// Runs `scenarios` against one process of a server, in its TLS mode when
/// `tls` is set.
fn load_runs(
    context: &Context,
    binaries: &Binaries,
    which: Which,
    binary: &Path,
    tls: bool,
    scenarios: &[Scenario],
) -> Vec<(Scenario, Result<LoadRun, String>)> {
    let mut server = match context.start_server(binary, tls) {
        Ok(server) => server,
        Err(error) => {
            let error = format!("server did not start: {error}");
            eprintln!("bench: !!! {}: {error}", which.name());
            return (scenarios.iter())
                .map(|&scenario| (scenario, Err(error.clone())))
                .collect();
        }
    };
    eprintln!("bench: {} listening on {}", which.name(), server.addr);
    let mut runs = Vec::new();
    for &scenario in scenarios {
        let run = load_run(context, binaries, &mut server, scenario).map_err(|e| e.to_string());
        if let Err(error) = &run {
            eprintln!(
                "bench: !!! {} {} failed: {error}",
                which.name(),
                scenario.name()
            );
        }
        runs.push((scenario, run));
    }
    runs
}

/// Runs the client scenarios of one round, each client in `order` in
/// turn: the clear-text ones against a fresh `server`, the TLS ones against
/// a fresh one in its TLS mode. Failures are recorded, not returned.
fn bench_clients(
    context: &Context,
    server: &Path,
    load: &Path,
    order: &[Which],
) -> Vec<(Which, Results)> {
    let mut results: Vec<(Which, Results)> = order
        .iter()
        .map(|&which| (which, Results::default()))
        .collect();
    for tls in [false, true] {
        let scenarios: Vec<ClientScenario> = (context.selection.clients.iter())
            .copied()
            .filter(|scenario| scenario.tls() == tls)
            .collect();
        if !scenarios.is_empty() {
            client_runs(context, server, load, tls, &scenarios, &mut results);
        }
    }
    results
}

/// Runs `scenarios` with each client of `results` in turn against one
/// process of `server`, in its TLS mode when `tls` is set.
fn client_runs(
    context: &Context,
    server: &Path,
    load: &Path,
    tls: bool,
    scenarios: &[ClientScenario],
    results: &mut [(Which, Results)],
) {
    let name = context.args.client_server.binary();
    eprintln!("bench: == clients against {name} ({})", server.display());
    let mut server = match context.start_server(server, tls) {
        Ok(server) => server,
        Err(error) => {
            let error = format!("{name} did not start: {error}");
            eprintln!("bench: !!! {error}");
            for (_, results) in results.iter_mut() {
                for &scenario in scenarios {
                    results.client.insert(scenario, Err(error.clone()));
                }
            }
            return;
        }
    };
    eprintln!("bench: {name} listening on {}", server.addr);
    for &scenario in scenarios {
        for (which, results) in results.iter_mut() {
            let run =
                client_run(context, &mut server, load, *which, scenario).map_err(|e| e.to_string());
            if let Err(error) = &run {
                eprintln!(
                    "bench: !!! {} {} failed: {error}",
                    which.name(),
                    scenario.name()
                );
            }
            results.client.insert(scenario, run);
        }
    }
}
