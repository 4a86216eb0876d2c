//! The rounds: every selected scenario against each server in turn, then
//! the client scenarios with each client in turn, as many times as
//! `--rounds` asks, folded into the median. A failed run is recorded and
//! the others go on.

use std::collections::HashMap;
use std::path::Path;

use crate::runner::binaries::Binaries;
use crate::runner::context::Context;
use crate::runner::results::Results;
use crate::runner::runs::{client_run, load_run, upload_run};
use crate::runner::scenario::Which;
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
    for round in 0..context.args.rounds.max(1) {
        eprintln!("bench: round {}", round + 1);
        // The upload measures memory, which does not vary: once is enough.
        let upload = if round == 0 { upload } else { None };
        for &(which, ref binary) in &binaries.servers {
            let result = bench_server(context, which, binary, upload);
            rounds.entry(which).or_default().push(result);
        }
        if let Some((server, load)) = &binaries.clients {
            // The clients take turns, the first one changing every round.
            let mut order = context.selection.servers.clone();
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

/// Runs all the scenarios against one server; failures are recorded, not
/// returned, so that the other server still runs.
fn bench_server(context: &Context, which: Which, binary: &Path, upload: Option<&Path>) -> Results {
    let mut results = Results::default();
    eprintln!("bench: == {} ({})", which.name(), binary.display());
    match context.start_server(binary) {
        Ok(mut server) => {
            eprintln!("bench: {} listening on {}", which.name(), server.addr);
            for &scenario in &context.selection.scenarios {
                let run = load_run(context, &mut server, scenario).map_err(|e| e.to_string());
                if let Err(error) = &run {
                    eprintln!(
                        "bench: !!! {} {} failed: {error}",
                        which.name(),
                        scenario.name()
                    );
                }
                results.load.insert(scenario, run);
            }
        }
        Err(error) => {
            let error = format!("server did not start: {error}");
            eprintln!("bench: !!! {}: {error}", which.name());
            for &scenario in &context.selection.scenarios {
                results.load.insert(scenario, Err(error.clone()));
            }
        }
    }
    if let Some(file) = upload {
        // VmHWM is a lifetime peak: measure the upload on a fresh process.
        let run = context
            .start_server(binary)
            .and_then(|mut server| upload_run(context, &mut server, file))
            .map_err(|e| e.to_string());
        if let Err(error) = &run {
            eprintln!("bench: !!! {} upload failed: {error}", which.name());
        }
        results.upload = Some(run);
    }
    results
}

/// Runs the client scenarios of one round against a fresh `server`, each
/// client in `order` in turn; failures are recorded, not returned.
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
    let name = context.args.client_server.binary();
    eprintln!("bench: == clients against {name} ({})", server.display());
    match context.start_server(server) {
        Ok(mut server) => {
            eprintln!("bench: {name} listening on {}", server.addr);
            for &scenario in &context.selection.clients {
                for (which, results) in &mut results {
                    let run = client_run(context, &mut server, load, *which, scenario)
                        .map_err(|e| e.to_string());
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
        Err(error) => {
            let error = format!("{name} did not start: {error}");
            eprintln!("bench: !!! {error}");
            for (_, results) in &mut results {
                for &scenario in &context.selection.clients {
                    results.client.insert(scenario, Err(error.clone()));
                }
            }
        }
    }
    results
}
