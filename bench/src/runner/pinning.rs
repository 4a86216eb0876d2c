//! Where the servers and the load generators run: the server on the first
//! CPU(s), the load generator on the others, with `taskset -c`, so that
//! they do not compete for a core.

use std::fs;
use std::num::NonZeroUsize;
use std::path::Path;
use std::process::Command;
use std::thread;

use crate::runner::host::find_in_path;

/// Where the servers and the load generators run.
pub(crate) struct Pinning {
    /// `taskset -c` lists, when pinning.
    pub(crate) cpus: Option<(String, String)>,
    /// A sentence for the report.
    pub(crate) description: String,
}

impl Pinning {
    /// A command running a server on the server's CPUs.
    pub(crate) fn server(&self, program: &Path) -> Command {
        pinned(
            self.cpus.as_ref().map(|(server, _)| server.as_str()),
            program,
        )
    }

    /// A command running a load generator on the load generator's CPUs.
    pub(crate) fn load(&self, program: impl AsRef<Path>) -> Command {
        pinned(
            self.cpus.as_ref().map(|(_, load)| load.as_str()),
            program.as_ref(),
        )
    }
}

/// `program`, under `taskset -c CPUS` when there is a list.
fn pinned(cpus: Option<&str>, program: &Path) -> Command {
    match cpus {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpus).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// The CPUs this process may run on, from `/proc/self/status`.
fn allowed_cpus() -> Vec<usize> {
    let list = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
                .map(|list| list.trim().to_string())
        })
        .unwrap_or_default();
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|part| !part.is_empty()) {
        let range: Option<(usize, usize)> = match part.split_once('-') {
            Some((first, last)) => first.parse().ok().zip(last.parse().ok()),
            None => part.parse().ok().map(|cpu| (cpu, cpu)),
        };
        match range {
            Some((first, last)) => cpus.extend(first..=last),
            None => return fallback_cpus(),
        }
    }
    if cpus.is_empty() {
        fallback_cpus()
    } else {
        cpus
    }
}

/// CPUs 0 to N - 1, N as the standard library counts them, when
/// `/proc/self/status` says nothing usable.
fn fallback_cpus() -> Vec<usize> {
    let count = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    (0..count).collect()
}

/// Pins the server to its first `server_cpus` CPUs and the load generator
/// to the rest, when there are enough of them and `taskset` is there.
pub(crate) fn plan_pinning(server_cpus: usize) -> Pinning {
    let cpus = allowed_cpus();
    let list = |cpus: &[usize]| {
        cpus.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    if cpus.len() <= server_cpus {
        return Pinning {
            cpus: None,
            description: format!(
                "!!! {} CPU(s) for a server wanting {server_cpus}: not pinning; \
                 server and load generator share the CPUs",
                cpus.len()
            ),
        };
    }
    if find_in_path("taskset").is_none() {
        return Pinning {
            cpus: None,
            description: "!!! taskset not found: not pinning".to_string(),
        };
    }
    let (server, load) = cpus.split_at(server_cpus);
    let (server, load) = (list(server), list(load));
    Pinning {
        description: format!(
            "{} CPUs; server pinned to CPU {server} (`taskset -c {server}`), \
             load generator to CPU {load} (`taskset -c {load}`)",
            cpus.len()
        ),
        cpus: Some((server, load)),
    }
}
