//! The server half of the report: its header, one table per load scenario
//! and the upload's table, each with a `paf/hyper` row.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::runner::args::{Args, wrk_duration_secs};
use crate::runner::context::Context;
use crate::runner::host::{cpu_model, version_line};
use crate::runner::render::cells::{absent, fmt_errors, fmt_int, paf_over_hyper, runtime_name};
use crate::runner::results::{Results, load_bound};
use crate::runner::scenario::{
    CONNECTIONS, H2C_CONNECTIONS, H2C_STREAMS, HANDSHAKE_LOAD, HANDSHAKE_TASKS, PIPELINE_DEPTH,
    Scenario, TLS_H2_CONNECTIONS, TLS_H2_STREAMS, UPLOAD_BYTES, Which,
};

/// The server scenarios' header and tables.
pub(crate) fn render_servers(
    out: &mut String,
    context: &Context,
    results: &HashMap<Which, Results>,
) {
    servers_header(out, context);
    for &scenario in &context.selection.scenarios {
        load_table(out, &context.args, scenario, results);
    }
    if context.selection.upload {
        upload_table(out, results);
    }
}

/// The title, the machine, the settings and the load tools' versions.
fn servers_header(out: &mut String, context: &Context) {
    let args = &context.args;
    let runtime = runtime_name(args.threads);
    let _ = writeln!(out, "## paf vs hyper: HTTP/1.1 and HTTP/2 hello world\n");
    let _ = writeln!(
        out,
        "{}; {}. Servers on a {runtime}. {CONNECTIONS} HTTP/1.1 connections, \
         {H2C_CONNECTIONS} h2c connections of {H2C_STREAMS} streams; wrk runs of {}, \
         h2load {} requests, each after an unmeasured warm-up (1 s of wrk, a tenth of the \
         requests of h2load); the median of {} rounds, the servers running side by side and \
         taking turns scenario by scenario, the first one changing every round.",
        cpu_model(),
        context.pinning.description,
        args.duration,
        args.requests,
        args.rounds.max(1),
    );
    let _ = writeln!(
        out,
        "{}; {}; {}.\n",
        version_line("wrk", "-v"),
        version_line("h2load", "--version"),
        version_line("curl", "--version")
            .split(" (")
            .next()
            .unwrap_or("curl")
    );
    let _ = writeln!(
        out,
        "CPU/req is the server's user + system CPU time during the run divided by the \
         completed requests.\n"
    );
}

/// A load scenario's heading: what it is and the command that runs it.
fn load_title(args: &Args, scenario: Scenario) -> String {
    match scenario {
        Scenario::Plain => format!(
            "Plain keep-alive: `wrk -t1 -c{CONNECTIONS} -d{} http://ADDR/`",
            args.duration
        ),
        Scenario::Pipelined => format!(
            "Pipelined, {PIPELINE_DEPTH} deep: `wrk -t1 -c{CONNECTIONS} -d{} -s bench/pipeline.lua http://ADDR/ -- {PIPELINE_DEPTH}`",
            args.duration
        ),
        Scenario::H2loadH1 => format!(
            "h2load, HTTP/1.1: `h2load -n {} --h1 -c {CONNECTIONS} -t 1 http://ADDR/`",
            args.requests
        ),
        Scenario::H2loadH2c => format!(
            "h2load, h2c prior knowledge: \
             `h2load -n {} -c {H2C_CONNECTIONS} -m {H2C_STREAMS} -t 1 http://ADDR/`",
            args.requests
        ),
        Scenario::TlsH1 => format!(
            "TLS 1.3, HTTP/1.1 keep-alive: `wrk -t1 -c{CONNECTIONS} -d{} https://ADDR/`",
            args.duration
        ),
        Scenario::TlsH2 => format!(
            "TLS 1.3, h2 by ALPN: \
             `h2load -n {} -c {TLS_H2_CONNECTIONS} -m {TLS_H2_STREAMS} -t 1 https://ADDR/`",
            args.requests
        ),
        Scenario::Handshakes => format!(
            "Full TLS 1.3 handshakes, one request per connection, no resumption: \
             `{HANDSHAKE_LOAD} --concurrency {HANDSHAKE_TASKS} --duration {}`",
            wrk_duration_secs(&args.duration)
        ),
    }
}

/// One load scenario's table: a row per server and the `paf/hyper` row.
fn load_table(
    out: &mut String,
    args: &Args,
    scenario: Scenario,
    results: &HashMap<Which, Results>,
) {
    let _ = writeln!(out, "### {}\n", load_title(args, scenario));
    if scenario == Scenario::Handshakes {
        let _ = writeln!(
            out,
            "| server | handshakes/s | server CPU/handshake (µs) | load generator busy | errors |"
        );
    } else {
        let _ = writeln!(
            out,
            "| server | req/s | server CPU/req (µs) | load generator busy | errors |"
        );
    }
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    let mut rps = HashMap::new();
    let mut cpu = HashMap::new();
    let mut busy = Vec::new();
    for which in Which::ALL {
        let entry = results.get(&which);
        match entry.and_then(|r| r.load.get(&scenario)) {
            Some(Ok(run)) => {
                rps.insert(which, run.rps);
                cpu.insert(which, run.cpu_us_per_req);
                busy.push(run.load_busy);
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.2} | {:.0} % | {} |",
                    which.name(),
                    fmt_int(run.rps),
                    run.cpu_us_per_req,
                    run.load_busy * 100.0,
                    fmt_errors(run.errors),
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "| {} | {} | — | — | — |",
                    which.name(),
                    absent(which, entry)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "| paf/hyper | {} | {} | | |\n",
        paf_over_hyper(&rps),
        paf_over_hyper(&cpu),
    );
    if busy.len() == Which::ALL.len() && load_bound(&busy) {
        let _ = writeln!(
            out,
            "The load generator was busy all its run against both servers: it, not \
             the servers, set the rate, and CPU/req is what compares them.\n"
        );
    }
}

/// The upload's table: rate, CPU and peak RSS per server, and whether the
/// reply was right.
fn upload_table(out: &mut String, results: &HashMap<Which, Results>) {
    let mib = (UPLOAD_BYTES / (1024 * 1024)) as f64;
    let _ = writeln!(
        out,
        "### Upload, {mib:.0} MiB streamed: `curl -sS --http1.1 -X POST -T FILE http://ADDR/upload` (fresh server)\n"
    );
    let _ = writeln!(
        out,
        "| server | MiB/s | server CPU (ms) | peak RSS (MiB) | reply ok |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---|");
    let mut speed = HashMap::new();
    let mut cpu = HashMap::new();
    let mut rss = HashMap::new();
    for which in Which::ALL {
        let entry = results.get(&which);
        match entry.and_then(|r| r.upload.as_ref()) {
            Some(Ok(run)) => {
                let mib_s = mib / run.secs;
                let rss_mib = run.peak_rss_kib as f64 / 1024.0;
                speed.insert(which, mib_s);
                cpu.insert(which, run.cpu_ms);
                rss.insert(which, rss_mib);
                let reply = if run.ok {
                    "yes".to_string()
                } else {
                    format!("**no !!!** {}", run.reply)
                };
                let _ = writeln!(
                    out,
                    "| {} | {mib_s:.0} | {:.0} | {rss_mib:.1} | {reply} |",
                    which.name(),
                    run.cpu_ms
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "| {} | {} | — | — | — |",
                    which.name(),
                    absent(which, entry)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "| paf/hyper | {} | {} | {} | |\n",
        paf_over_hyper(&speed),
        paf_over_hyper(&cpu),
        paf_over_hyper(&rss),
    );
}
