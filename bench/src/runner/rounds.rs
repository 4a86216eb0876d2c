//! The rounds: every selected scenario against each server, the servers
//! taking turns scenario by scenario, then the client scenarios with each
//! client in turn, as many times as `--rounds` asks, folded into the
//! median. A failed run is recorded and the others go on.
//!
//! Turns by scenario keep a scenario's runs seconds apart, so that the
//! guest's slow swings in speed hit every server alike; which one goes
//! first changes every round.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::runner::binaries::Binaries;
use crate::runner::context::Context;
use crate::runner::process::ServerProcess;
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
        let mut servers: Vec<&(Which, PathBuf)> = binaries.servers.iter().collect();
        if round % 2 == 1 {
            servers.reverse();
        }
        for (which, result) in bench_servers(context, binaries, &servers, upload) {
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

/// Runs all the scenarios against `servers` in turn, the clear-text ones
/// on one process of each and the TLS ones on another; failures are
/// recorded, not returned, so that the other servers still run.
fn bench_servers(
    context: &Context,
    binaries: &Binaries,
    servers: &[&(Which, PathBuf)],
    upload: Option<&Path>,
) -> Vec<(Which, Results)> {
    let mut results: Vec<(Which, Results)> = servers
        .iter()
        .map(|&&(which, _)| (which, Results::default()))
        .collect();
    for tls in [false, true] {
        let scenarios: Vec<Scenario> = (context.selection.scenarios.iter())
            .copied()
            .filter(|scenario| scenario.tls() == tls)
            .collect();
        if !scenarios.is_empty() {
            load_runs(context, binaries, servers, tls, &scenarios, &mut results);
        }
    }
    if let Some(file) = upload {
        for (&&(which, ref binary), (_, results)) in servers.iter().zip(results.iter_mut()) {
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
    }
    results
}

/// Starts one process of each of `servers` (in its TLS mode when `tls` is
/// set), all pinned alike and idle but for the one under load, and runs
/// `scenarios` with the servers taking turns.
fn load_runs(
    context: &Context,
    binaries: &Binaries,
    servers: &[&(Which, PathBuf)],
    tls: bool,
    scenarios: &[Scenario],
    results: &mut [(Which, Results)],
) {
    let mut processes: Vec<Result<ServerProcess, String>> = servers
        .iter()
        .map(|&&(which, ref binary)| {
            eprintln!("bench: == {} ({})", which.name(), binary.display());
            let started = context.start_server(binary, tls);
            match &started {
                Ok(server) => eprintln!("bench: {} listening on {}", which.name(), server.addr),
                Err(error) => {
                    eprintln!("bench: !!! {}: server did not start: {error}", which.name())
                }
            }
            started.map_err(|error| format!("server did not start: {error}"))
        })
        .collect();
    for &scenario in scenarios {
        for (process, (which, results)) in processes.iter_mut().zip(results.iter_mut()) {
            let run = match process {
                Ok(server) => {
                    load_run(context, binaries, server, scenario).map_err(|e| e.to_string())
                }
                Err(error) => Err(error.clone()),
            };
            report(*which, scenario, &run);
            results.load.insert(scenario, run);
        }
    }
}

/// Prints one run's figures as it ends, so that a round's spread can be
/// read from the log.
fn report(which: Which, scenario: Scenario, run: &Result<LoadRun, String>) {
    match run {
        Ok(run) => eprintln!(
            "bench: {} {}: {:.0}/s, CPU {:.2} µs each, {} errors",
            which.name(),
            scenario.name(),
            run.rps,
            run.cpu_us_per_req,
            run.errors
        ),
        Err(error) => eprintln!(
            "bench: !!! {} {} failed: {error}",
            which.name(),
            scenario.name()
        ),
    }
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
