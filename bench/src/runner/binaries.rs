//! Finding the binaries the runs start (`paf-hello`, `hyper-hello`,
//! `client-load`) next to the runner's own executable, and building them
//! with cargo, in the runner's profile, when one is missing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use crate::Res;
use crate::runner::args::{Args, Selection};
use crate::runner::scenario::{CLIENT_LOAD, Which};

/// The binaries the selected runs need that were found.
pub(crate) struct Binaries {
    /// The servers of the load scenarios and the upload, in `Which::ALL`
    /// order; empty when none of those runs.
    pub(crate) servers: Vec<(Which, PathBuf)>,
    /// The server and `client-load` of the client scenarios; `None` when
    /// they do not run or one is missing.
    pub(crate) clients: Option<(PathBuf, PathBuf)>,
}

impl Binaries {
    /// Locates (and builds, unless `--no-build`) what the selection needs;
    /// fails when nothing is left to run.
    pub(crate) fn find(args: &Args, selection: &Selection) -> Res<Binaries> {
        let mut names = Vec::new();
        if selection.servers_work() {
            names.extend(selection.servers.iter().map(|which| which.binary()));
        }
        if !selection.clients.is_empty() {
            names.extend([args.client_server.binary(), CLIENT_LOAD]);
        }
        names.sort_unstable();
        names.dedup();
        let found = locate_binaries(&names, args.no_build)?;
        let servers: Vec<(Which, PathBuf)> = if selection.servers_work() {
            selection
                .servers
                .iter()
                .filter_map(|&which| found.get(which.binary()).map(|path| (which, path.clone())))
                .collect()
        } else {
            Vec::new()
        };
        let clients = if selection.clients.is_empty() {
            None
        } else {
            match (
                found.get(args.client_server.binary()),
                found.get(CLIENT_LOAD),
            ) {
                (Some(server), Some(load)) => Some((server.clone(), load.clone())),
                _ => {
                    eprintln!("bench: !!! skipping the client scenarios: a binary is missing");
                    None
                }
            }
        };
        if servers.is_empty() && clients.is_none() {
            return Err("no binary to benchmark".into());
        }
        Ok(Binaries { servers, clients })
    }
}

/// Finds the named binaries of this crate (`paf-hello`, `hyper-hello`,
/// `client-load`) next to this executable, building them when they are
/// missing (unless told not to). Missing ones are left out with a loud
/// note.
fn locate_binaries(names: &[&'static str], no_build: bool) -> Res<HashMap<&'static str, PathBuf>> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or("the runner's executable has no parent directory")?
        .to_path_buf();
    let profile = dir
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("")
        .to_string();
    if profile != "release" {
        eprintln!(
            "bench: !!! the runner is not in a `release` directory ({}); \
             use `cargo run -p bench --release --bin bench` for meaningful numbers",
            dir.display()
        );
    }
    let path = |name: &str| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));

    if names.iter().any(|name| !path(name).is_file()) && !no_build {
        build_binaries(&profile)?;
    }

    let mut found = HashMap::new();
    for &name in names {
        let binary = path(name);
        if binary.is_file() {
            found.insert(name, binary);
        } else {
            eprintln!(
                "bench: !!! {name} not found at {}: skipping what needs it \
                 (build it with `cargo build -p bench --release --bins`)",
                binary.display(),
            );
        }
    }
    Ok(found)
}

/// `cargo build -p bench --bins` in `profile` (the name of the runner's
/// directory); a failed build is noted, not fatal, since some binaries may
/// be there.
fn build_binaries(profile: &str) -> Res<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .args(["-p", "bench", "--bins"]);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    eprintln!("bench: a binary is missing; running {command:?}");
    let status = command.status()?;
    if !status.success() {
        eprintln!("bench: !!! the build failed ({status}); going on with what is there");
    }
    Ok(())
}
