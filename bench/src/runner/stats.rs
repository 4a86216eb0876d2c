//! Folding the rounds of a server (and of the client of the same name) into
//! the one result the report gives: the median of each figure, errors
//! added up.

use std::collections::HashMap;

use crate::runner::results::{ClientRun, LoadRun, Results};
use crate::runner::scenario::{ClientScenario, Scenario};

/// The middle value (the upper one of an even count).
pub(crate) fn middle(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Folds the rounds of one client scenario: the median of each figure;
/// errors add up. A failed round fails the whole.
fn median_client(runs: Vec<Result<ClientRun, String>>) -> Result<ClientRun, String> {
    let mut ok = Vec::new();
    for run in runs {
        ok.push(run?);
    }
    if ok.is_empty() {
        return Err("no run".to_string());
    }
    let of = |figure: fn(&ClientRun) -> f64| middle(ok.iter().map(figure).collect());
    Ok(ClientRun {
        rps: of(|r| r.rps),
        completed: ok.iter().map(|r| r.completed).sum(),
        errors: ok.iter().map(|r| r.errors).sum(),
        cpu_us_per_req: of(|r| r.cpu_us_per_req),
        client_busy: of(|r| r.client_busy),
        server_busy: of(|r| r.server_busy),
    })
}

/// Folds the rounds of one load scenario: the median requests per second
/// and the median CPU per request; errors and their details add up. A
/// failed round fails the whole.
fn median_load(runs: Vec<Result<LoadRun, String>>) -> Result<LoadRun, String> {
    let mut ok = Vec::new();
    let mut failure = None;
    for run in runs {
        match run {
            Ok(run) => ok.push(run),
            Err(error) => failure = failure.or(Some(error)),
        }
    }
    match failure {
        Some(error) => Err(error),
        None if ok.is_empty() => Err("no run".to_string()),
        None => {
            let rps = middle(ok.iter().map(|r| r.rps).collect());
            let cpu_us_per_req = middle(ok.iter().map(|r| r.cpu_us_per_req).collect());
            let load_busy = middle(ok.iter().map(|r| r.load_busy).collect());
            let errors = ok.iter().map(|r| r.errors).sum();
            let completed = ok.iter().map(|r| r.completed).sum();
            let error_detail = ok
                .iter()
                .map(|r| r.error_detail.as_str())
                .filter(|d| !d.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            Ok(LoadRun {
                rps,
                completed,
                errors,
                error_detail,
                cpu_us_per_req,
                load_busy,
            })
        }
    }
}

/// Folds the rounds of one server into one result: per scenario, the
/// median requests per second and the median CPU per request; errors add up.
/// The client scenarios of the client of the same name likewise.
pub(crate) fn median(rounds: Vec<Results>) -> Results {
    let mut merged = Results::default();
    let mut per_scenario: HashMap<Scenario, Vec<Result<LoadRun, String>>> = HashMap::new();
    let mut per_client: HashMap<ClientScenario, Vec<Result<ClientRun, String>>> = HashMap::new();
    for round in rounds {
        if merged.upload.is_none() {
            merged.upload = round.upload;
        }
        for (scenario, run) in round.load {
            per_scenario.entry(scenario).or_default().push(run);
        }
        for (scenario, run) in round.client {
            per_client.entry(scenario).or_default().push(run);
        }
    }
    for (scenario, runs) in per_client {
        merged.client.insert(scenario, median_client(runs));
    }
    for (scenario, runs) in per_scenario {
        merged.load.insert(scenario, median_load(runs));
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        let run = |rps: f64, errors: u64| ClientRun {
            rps,
            completed: 10,
            errors,
            cpu_us_per_req: rps / 10.0,
            client_busy: 1.0,
            server_busy: 0.5,
        };
        let merged = median_client(vec![Ok(run(3.0, 0)), Ok(run(1.0, 1)), Ok(run(2.0, 0))]);
        let merged = merged.ok();
        assert_eq!(merged.as_ref().map(|r| r.rps), Some(2.0));
        assert_eq!(merged.as_ref().map(|r| r.errors), Some(1));
        assert_eq!(merged.as_ref().map(|r| r.completed), Some(30));
        assert!(median_client(vec![Ok(run(1.0, 0)), Err("x".into())]).is_err());
    }
}
