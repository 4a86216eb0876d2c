//! One invocation of the runner, start to end: check the load tools, find
//! the binaries, run the rounds, print the report, and say whether every
//! run was clean. The top layer: it uses the others and none uses it.

use std::collections::HashMap;
use std::error::Error;
use std::io::Write as _;

use crate::runner::args::{Args, Selection};
use crate::runner::binaries::Binaries;
use crate::runner::context::Context;
use crate::runner::files::{FileResults, run_static, static_peers};
use crate::runner::host::find_in_path;
use crate::runner::render::render;
use crate::runner::results::Results;
use crate::runner::rounds::run_rounds;
use crate::runner::scenario::{Scenario, UPLOAD_BYTES, Which};

/// How a session ended; the binary turns it into the exit code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Every run went through without errors.
    Clean,
    /// A run failed, had errors or got a wrong upload reply.
    Problems,
    /// A load tool the selected scenarios need is not installed; nothing
    /// ran.
    MissingTools,
}

/// Runs everything the options select and prints the report to stdout,
/// the progress to stderr.
pub fn run(args: Args) -> Result<Outcome, Box<dyn Error>> {
    let selection = Selection::new(&args.only, args.skip_upload);
    let missing = missing_tools(&selection);
    if !missing.is_empty() {
        eprintln!(
            "bench: missing load tools: {} (Debian/Ubuntu: apt-get install wrk nghttp2-client curl)",
            missing.join(", ")
        );
        return Ok(Outcome::MissingTools);
    }
    let binaries = Binaries::find(&args, &selection)?;
    // Checked first, so that a missing peer fails before the other runs.
    let paf_server = if selection.static_files {
        static_peers(&binaries)?
    } else {
        None
    };
    let context = Context::new(args, selection)?;
    eprintln!("bench: {}", context.pinning.description);
    let upload_file = if context.selection.upload {
        Some(context.make_upload_file()?)
    } else {
        None
    };

    let results = run_rounds(&context, &binaries, upload_file.as_deref());
    let files = match &paf_server {
        Some(paf_server) => Some(run_static(&context, &binaries, paf_server)?),
        None => None,
    };

    // The servers, and the clients of the client scenarios.
    let selection = &context.selection;
    let wanted: Vec<Which> = (Which::CLIENTS.into_iter())
        .filter(|which| selection.servers.contains(which) || selection.client_kinds.contains(which))
        .collect();
    let wanted = &wanted;
    let mut report = render(&context, wanted, &results);
    if let Some(files) = &files {
        files.render(&mut report, &context);
    }
    let mut stdout = std::io::stdout();
    stdout.write_all(report.as_bytes())?;
    stdout.flush()?;

    let files_clean = files.as_ref().is_none_or(FileResults::clean);
    Ok(
        if report_problems(wanted, &context.selection, &results) && files_clean {
            Outcome::Clean
        } else {
            Outcome::Problems
        },
    )
}

/// The load tools the selected scenarios need that are not on the `PATH`.
fn missing_tools(selection: &Selection) -> Vec<&'static str> {
    let mut needed = Vec::new();
    let scenarios = &selection.scenarios;
    let wrk = [Scenario::Plain, Scenario::Pipelined, Scenario::TlsH1];
    if selection.static_files || scenarios.iter().any(|s| wrk.contains(s)) {
        needed.push("wrk");
    }
    let h2load = [Scenario::H2loadH1, Scenario::H2loadH2c, Scenario::TlsH2];
    if selection.static_files || scenarios.iter().any(|s| h2load.contains(s)) {
        needed.push("h2load");
    }
    if selection.upload {
        needed.push("curl");
    }
    needed
        .into_iter()
        .filter(|tool| find_in_path(tool).is_none())
        .collect()
}

/// Prints loud notes about errors; `true` when there were none.
fn report_problems(
    wanted: &[Which],
    selection: &Selection,
    results: &HashMap<Which, Results>,
) -> bool {
    let mut clean = true;
    for &which in wanted {
        let Some(results) = results.get(&which) else {
            continue;
        };
        clean &= client_problems(which, selection, results);
        clean &= load_problems(which, selection, results);
        clean &= upload_problems(which, results);
    }
    if !clean {
        eprintln!("bench: !!! some runs failed or had errors; see above");
    }
    clean
}

/// Notes the client scenarios' errors; `true` when there were none.
fn client_problems(which: Which, selection: &Selection, results: &Results) -> bool {
    let mut clean = true;
    for scenario in &selection.clients {
        match results.client.get(scenario) {
            Some(Ok(run)) if run.errors > 0 => {
                clean = false;
                eprintln!(
                    "bench: !!! {} {}: {} errors (see above)",
                    which.name(),
                    scenario.name(),
                    run.errors,
                );
            }
            Some(Err(_)) => clean = false,
            _ => {}
        }
    }
    clean
}

/// Notes the load scenarios' errors; `true` when there were none.
fn load_problems(which: Which, selection: &Selection, results: &Results) -> bool {
    let mut clean = true;
    for scenario in &selection.scenarios {
        match results.load.get(scenario) {
            Some(Ok(run)) if run.errors > 0 => {
                clean = false;
                eprintln!(
                    "bench: !!! {} {}: {} errors ({})",
                    which.name(),
                    scenario.name(),
                    run.errors,
                    run.error_detail
                );
            }
            Some(Err(_)) => clean = false,
            _ => {}
        }
    }
    clean
}

/// Notes a wrong upload reply; `true` when the upload did not fail.
fn upload_problems(which: Which, results: &Results) -> bool {
    match &results.upload {
        Some(Ok(upload)) if !upload.ok => {
            eprintln!(
                "bench: !!! {} upload: expected 200 \"{UPLOAD_BYTES}\", got {}",
                which.name(),
                upload.reply
            );
            false
        }
        Some(Err(_)) => false,
        _ => true,
    }
}
