//! The static-file mode (`--only static`): the `cli` crate's `paf-server`
//! against nginx, serving a 1 KiB and a 64 MiB file from the same
//! document root with the same certificate, each pinned to the server's
//! CPU, the load generators on the others. Every round starts both servers
//! afresh and runs each row against one, then the other; the report gives
//! the median of the rounds.
//!
//! Organization:
//!
//! - `peers`: the two servers, the document root and nginx's configuration;
//! - `rows`: what the table measures, and one measurement of each row;
//! - this file: the rounds, the medians and the table.

mod peers;
mod rows;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::Res;
use crate::runner::binaries::Binaries;
use crate::runner::context::Context;
use crate::runner::host::{cpu_model, find_in_path, version_line};
use crate::runner::render::cells::{fmt_int, fmt_ratio, ratio};
use crate::runner::results::load_bound;
use crate::runner::stats::middle;

use peers::{Peer, PeerProcess, make_docroot, start_peer};
use rows::{Figure, Row, measure_row};

/// One row's outcome for one server: its figure, or why it failed.
type Outcome = Result<Figure, String>;

/// The medians of the static-file mode, by server and row.
pub(crate) struct FileResults {
    /// The medians.
    medians: HashMap<(Peer, Row), Outcome>,
    /// `paf-server --version`.
    paf_server_version: String,
}

/// `paf-server`, when both servers of the static-file mode are there;
/// `None`, said loudly, when nginx or `paf-server` is missing (an error
/// instead under `PAF_REQUIRE_PEERS=1`).
pub(crate) fn static_peers(binaries: &Binaries) -> Res<Option<PathBuf>> {
    let reason = match (find_in_path("nginx"), &binaries.paf_server) {
        (Some(_), Some(paf_server)) => return Ok(Some(paf_server.clone())),
        (None, _) => "nginx is not installed (Debian/Ubuntu: apt-get install nginx)",
        (Some(_), None) => "paf-server is missing",
    };
    if std::env::var_os("PAF_REQUIRE_PEERS").is_some_and(|v| v == "1") {
        return Err(format!("static mode: {reason} (PAF_REQUIRE_PEERS=1)").into());
    }
    eprintln!("bench: !!! SKIPPING the static-file mode: {reason}");
    Ok(None)
}

/// Runs the static-file mode's rounds with `paf-server` (from
/// [`static_peers`]) and nginx, and folds them into medians.
pub(crate) fn run_static(
    context: &Context,
    binaries: &Binaries,
    paf_server: &Path,
) -> Res<FileResults> {
    let docroot = make_docroot(&context.scratch.0)?;
    let mut rounds: HashMap<(Peer, Row), Vec<Outcome>> = HashMap::new();
    for round in 0..context.args.rounds.max(1) {
        eprintln!("bench: static round {}", round + 1);
        let mut order = Peer::ALL;
        if round % 2 == 1 {
            order.reverse();
        }
        for (peer, row, outcome) in one_round(context, binaries, paf_server, &docroot, order) {
            rounds.entry((peer, row)).or_default().push(outcome);
        }
    }
    let medians = rounds
        .into_iter()
        .map(|(key, outcomes)| (key, fold(outcomes)))
        .collect();
    let paf_server_version = version_line(&paf_server.to_string_lossy(), "--version");
    Ok(FileResults {
        medians,
        paf_server_version,
    })
}

/// One round: each load row against both servers in turn (in `order`),
/// then the idle memory of each on a fresh process.
///
/// Both servers run side by side for the load rows, idle but for the one
/// under load: a row's two runs are then seconds apart, not a minute, so
/// that a guest's slow drifts in speed fall on both alike.
fn one_round(
    context: &Context,
    binaries: &Binaries,
    paf_server: &Path,
    docroot: &Path,
    order: [Peer; 2],
) -> Vec<(Peer, Row, Outcome)> {
    let load: Vec<Row> = (Row::ALL.iter().copied())
        .filter(|&row| row != Row::IdleMemory)
        .collect();
    let mut outcomes = Vec::new();
    let mut running: Vec<(Peer, Result<PeerProcess, String>)> = (order.iter())
        .map(|&peer| (peer, start(context, paf_server, docroot, peer)))
        .collect();
    for &row in &load {
        for (peer, process) in &mut running {
            outcomes.push((*peer, row, measure(context, binaries, *peer, process, row)));
        }
    }
    drop(running);
    // Idle memory is measured on a fresh server, alone.
    for peer in order {
        let mut process = start(context, paf_server, docroot, peer);
        let row = Row::IdleMemory;
        outcomes.push((
            peer,
            row,
            measure(context, binaries, peer, &mut process, row),
        ));
    }
    outcomes
}

/// Starts `peer`, saying loudly when it does not.
fn start(
    context: &Context,
    paf_server: &Path,
    docroot: &Path,
    peer: Peer,
) -> Result<PeerProcess, String> {
    eprintln!("bench: starting {}", peer.name());
    start_peer(context, peer, paf_server, docroot).map_err(|error| {
        let error = format!("{} did not start: {error}", peer.name());
        eprintln!("bench: !!! {error}");
        error
    })
}

/// One row against `peer`'s process, or the reason it did not start.
fn measure(
    context: &Context,
    binaries: &Binaries,
    peer: Peer,
    process: &mut Result<PeerProcess, String>,
    row: Row,
) -> Outcome {
    let process = process.as_mut().map_err(|error| error.clone())?;
    let outcome = measure_row(context, binaries, process, row).map_err(|e| e.to_string());
    match &outcome {
        Ok(figure) => eprintln!(
            "bench: {} {row:?}: {:.2}, CPU {:.2} µs, load generator {:.0} % busy",
            peer.name(),
            figure.value,
            figure.cpu_us.unwrap_or(f64::NAN),
            figure.load_busy.unwrap_or(f64::NAN) * 100.0,
        ),
        Err(error) => eprintln!("bench: !!! {} {row:?} failed: {error}", peer.name()),
    }
    outcome
}

/// The median figure and CPU time of the rounds, their errors added up; a
/// failed round fails the whole.
fn fold(outcomes: Vec<Outcome>) -> Outcome {
    let (mut values, mut cpu, mut busy) = (Vec::new(), Vec::new(), Vec::new());
    let mut errors = 0;
    for outcome in outcomes {
        let figure = outcome?;
        values.push(figure.value);
        cpu.extend(figure.cpu_us);
        busy.extend(figure.load_busy);
        errors += figure.errors;
    }
    Ok(Figure {
        value: middle(values),
        errors,
        cpu_us: (!cpu.is_empty()).then(|| middle(cpu)),
        load_busy: (!busy.is_empty()).then(|| middle(busy)),
    })
}

impl FileResults {
    /// Whether every row ran without errors, noting the others loudly.
    pub(crate) fn clean(&self) -> bool {
        let mut clean = true;
        for ((peer, row), outcome) in &self.medians {
            match outcome {
                Ok(Figure { errors: 0, .. }) => {}
                Ok(Figure { errors, .. }) => {
                    clean = false;
                    eprintln!("bench: !!! {} {row:?}: {errors} errors", peer.name());
                }
                Err(_) => clean = false,
            }
        }
        clean
    }

    /// The table: a row per measurement, a column per server, and the
    /// `paf-server/nginx` ratio.
    pub(crate) fn render(&self, out: &mut String, context: &Context) {
        let _ = writeln!(out, "## paf-server vs nginx: static files\n");
        let _ = writeln!(
            out,
            "{}; {}. {}; {} (release build). Both serve the same document root \
             with the same certificate (ECDSA P-256; TLS 1.3); nginx runs as one process \
             with sendfile and no access log. wrk runs of {}, h2load {} requests; \
             the median of {} rounds, the servers taking turns row by row, both started afresh every round.\n",
            cpu_model(),
            context.pinning.description,
            version_line("nginx", "-v"),
            self.paf_server_version,
            context.args.duration,
            context.args.requests,
            context.args.rounds.max(1),
        );
        let _ = writeln!(
            out,
            "| scenario | paf-server | nginx | ratio | paf-server CPU (µs) | nginx CPU (µs) | ratio |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for row in Row::ALL {
            let _ = writeln!(out, "{}", self.table_row(row));
        }
        let _ = writeln!(
            out,
            "\nRatio is paf-server's figure over nginx's (above 1 is better for paf-server, \
             except for memory). CPU is the server's user + system time per request (per \
             download for 64 MiB, per handshake), the median of the rounds; its ratio is \
             paf-server's over nginx's (below 1 is better for paf-server).\n"
        );
        self.render_load_bound(out);
    }

    /// Names the rows whose load generator was the bottleneck for both
    /// servers: their ratio says how alike the servers look to it, not
    /// which is faster.
    fn render_load_bound(&self, out: &mut String) {
        let busy = |peer, row| match self.medians.get(&(peer, row)) {
            Some(Ok(figure)) => figure.load_busy,
            _ => None,
        };
        for row in Row::ALL {
            let (Some(paf), Some(nginx)) = (busy(Peer::PafServer, row), busy(Peer::Nginx, row))
            else {
                continue;
            };
            if load_bound(&[paf, nginx]) {
                let _ = writeln!(
                    out,
                    "**{}**: the load generator was busy {:.0} % of the time against \
                     paf-server and {:.0} % against nginx, on its one CPU: this row \
                     measures the load generator, and its ratio is within the noise of \
                     the machine; the servers' CPU per request compares them.\n",
                    row.label(),
                    paf * 100.0,
                    nginx * 100.0,
                );
            }
        }
    }

    /// One line of the table.
    fn table_row(&self, row: Row) -> String {
        let get = |peer| self.medians.get(&(peer, row));
        let figure = |value: f64| match row.decimals() {
            0 => fmt_int(value),
            decimals => format!("{value:.decimals$}"),
        };
        let cell = |peer| match get(peer) {
            Some(Ok(Figure {
                value, errors: 0, ..
            })) => figure(*value),
            Some(Ok(Figure { value, errors, .. })) => {
                format!("{} (**{errors} errors !!!**)", figure(*value))
            }
            Some(Err(_)) => "failed (see log)".to_string(),
            None => "—".to_string(),
        };
        let value = |peer| get(peer).and_then(|o| o.as_ref().ok()).map(|f| f.value);
        let cpu = |peer| {
            get(peer)
                .and_then(|o| o.as_ref().ok())
                .and_then(|f| f.cpu_us)
        };
        let cpu_cell = |peer| cpu(peer).map_or_else(|| "—".to_string(), |us| format!("{us:.2}"));
        let cpu_ratio = match (cpu(Peer::PafServer), cpu(Peer::Nginx)) {
            (Some(_), Some(_)) => fmt_ratio(ratio(cpu(Peer::PafServer), cpu(Peer::Nginx))),
            _ => String::new(),
        };
        format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.label(),
            cell(Peer::PafServer),
            cell(Peer::Nginx),
            fmt_ratio(ratio(value(Peer::PafServer), value(Peer::Nginx))),
            cpu_cell(Peer::PafServer),
            cpu_cell(Peer::Nginx),
            cpu_ratio,
        )
    }
}
