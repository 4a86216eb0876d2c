//! The client half of the report: its header and one table per client
//! scenario, with `paf/hyper` and `paf/reqwest` rows.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::runner::args::Args;
use crate::runner::context::Context;
use crate::runner::host::cpu_model;
use crate::runner::render::cells::{
    fmt_errors, fmt_int, fmt_ratio, paf_over_hyper, ratio, runtime_name,
};
use crate::runner::results::Results;
use crate::runner::scenario::{CLIENT_LOAD, ClientScenario, Which};

/// The client scenarios' header and tables.
pub(crate) fn render_clients(
    out: &mut String,
    context: &Context,
    results: &HashMap<Which, Results>,
) {
    clients_header(out, context);
    for &scenario in &context.selection.clients {
        client_table(out, &context.args, scenario, results);
    }
}

/// The title, the machine and how `client-load` and the server run.
fn clients_header(out: &mut String, context: &Context) {
    let args = &context.args;
    let _ = writeln!(
        out,
        "## paf::Client vs hyper-util's legacy client and reqwest: GET hello world\n"
    );
    let _ = writeln!(
        out,
        "{}; {}. `{CLIENT_LOAD}` runs one client on a {}, \
         with {} tasks each sending `GET /` and reading the whole body, one request at a \
         time, through the one shared client; {} s of warm-up, then {} s measured. \
         The server is `{}` on a {}. The median of {} rounds, the clients taking turns.\n",
        cpu_model(),
        context.pinning.description,
        runtime_name(args.client_threads),
        args.client_concurrency,
        args.client_warmup,
        args.client_duration,
        args.client_server.binary(),
        runtime_name(args.threads),
        args.rounds.max(1),
    );
    let _ = writeln!(
        out,
        "Client CPU/req is the client process's user + system CPU time over the measured \
         window divided by the responses; busy is CPU time over wall time (for the server, \
         over the whole client run, warm-up included).\n"
    );
}

/// A client scenario's heading: what it is and the `client-load` option
/// that picks it.
fn client_title(args: &Args, scenario: ClientScenario) -> String {
    match scenario {
        ClientScenario::H1 => format!(
            "HTTP/1.1 keep-alive ({} connections): `{CLIENT_LOAD} --proto h1`",
            args.client_concurrency
        ),
        ClientScenario::H2 => format!(
            "HTTP/2, h2c prior knowledge ({} streams on one connection): \
             `{CLIENT_LOAD} --proto h2`",
            args.client_concurrency
        ),
        ClientScenario::TlsH1 => format!(
            "HTTP/1.1 keep-alive over TLS 1.3 ({} connections): \
             `{CLIENT_LOAD} --cert CERT --proto h1 --url https://ADDR/`",
            args.client_concurrency
        ),
        ClientScenario::TlsH2 => format!(
            "HTTP/2 over TLS 1.3, h2 by ALPN ({} streams): \
             `{CLIENT_LOAD} --cert CERT --proto h2 --url https://ADDR/`",
            args.client_concurrency
        ),
    }
}

/// One client scenario's table: a row per client and the `paf/hyper` row.
fn client_table(
    out: &mut String,
    args: &Args,
    scenario: ClientScenario,
    results: &HashMap<Which, Results>,
) {
    let _ = writeln!(out, "### {}\n", client_title(args, scenario));
    let _ = writeln!(
        out,
        "| client | req/s | client CPU/req (µs) | client busy | server busy | errors |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    let mut rps = HashMap::new();
    let mut cpu = HashMap::new();
    for which in Which::CLIENTS {
        let label = match which {
            Which::Paf => "paf::Client",
            Which::Hyper => "hyper-util",
            Which::Reqwest => "reqwest",
        };
        match results.get(&which).and_then(|r| r.client.get(&scenario)) {
            Some(Ok(run)) => {
                rps.insert(which, run.rps);
                cpu.insert(which, run.cpu_us_per_req);
                let _ = writeln!(
                    out,
                    "| {label} | {} | {:.2} | {:.0} % | {:.0} % | {} |",
                    fmt_int(run.rps),
                    run.cpu_us_per_req,
                    run.client_busy * 100.0,
                    run.server_busy * 100.0,
                    fmt_errors(run.errors),
                );
            }
            Some(Err(_)) => {
                let _ = writeln!(out, "| {label} | failed (see log) | — | — | — | — |");
            }
            None => {
                let _ = writeln!(out, "| {label} | — (not run) | — | — | — | — |");
            }
        }
    }
    let _ = writeln!(
        out,
        "| paf/hyper | {} | {} | | | |",
        paf_over_hyper(&rps),
        paf_over_hyper(&cpu),
    );
    let over_reqwest = |column: &HashMap<Which, f64>| {
        fmt_ratio(ratio(
            column.get(&Which::Paf).copied(),
            column.get(&Which::Reqwest).copied(),
        ))
    };
    let _ = writeln!(
        out,
        "| paf/reqwest | {} | {} | | | |\n",
        over_reqwest(&rps),
        over_reqwest(&cpu),
    );
}
