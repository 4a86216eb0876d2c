//! Finding the binaries the runs start (`paf-hello`, `hyper-hello`,
//! `client-load`, `handshake-load`, and for the static-file mode
//! `download-load` and the `cli` crate's `paf-server`) next to the
//! runner's own executable, and building them with cargo, in the runner's
//! profile, when one is missing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use crate::Res;
use crate::runner::args::{Args, Selection};
use crate::runner::scenario::{
    CLIENT_LOAD, DOWNLOAD_LOAD, HANDSHAKE_LOAD, PAF_SERVER, Scenario, Which,
};

/// The binaries the selected runs need that were found.
pub(crate) struct Binaries {
    /// The servers of the load scenarios and the upload, in `Which::ALL`
    /// order; empty when none of those runs.
    pub(crate) servers: Vec<(Which, PathBuf)>,
    /// The server and `client-load` of the client scenarios; `None` when
    /// they do not run or one is missing.
    pub(crate) clients: Option<(PathBuf, PathBuf)>,
    /// `handshake-load`, when the handshakes or the static-file mode run.
    pub(crate) handshake_load: Option<PathBuf>,
    /// `paf-server`, when the static-file mode runs.
    pub(crate) paf_server: Option<PathBuf>,
    /// `download-load`, when the static-file mode runs.
    pub(crate) download_load: Option<PathBuf>,
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
        if selection.static_files || selection.scenarios.contains(&Scenario::Handshakes) {
            names.push(HANDSHAKE_LOAD);
        }
        if selection.static_files {
            names.extend([PAF_SERVER, DOWNLOAD_LOAD]);
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
        let paf_server = found.get(PAF_SERVER).cloned();
        if servers.is_empty() && clients.is_none() && paf_server.is_none() {
            return Err("no binary to benchmark".into());
        }
        Ok(Binaries {
            servers,
            clients,
            handshake_load: found.get(HANDSHAKE_LOAD).cloned(),
            paf_server,
            download_load: found.get(DOWNLOAD_LOAD).cloned(),
        })
    }
}

/// Finds the named binaries of this crate (`paf-hello`, `hyper-hello`,
/// `client-load`, `handshake-load`, `download-load`) and `paf-server`
/// next to this executable, building them when they are missing (unless
/// told not to). Missing ones are left out with a loud note.
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

    if !no_build {
        if names
            .iter()
            .any(|&name| name != PAF_SERVER && !path(name).is_file())
        {
            build_binaries(&profile, &["-p", "bench", "--bins"])?;
        }
        if names.contains(&PAF_SERVER) && !path(PAF_SERVER).is_file() {
            build_binaries(&profile, &["-p", "paf-cli", "--bin", PAF_SERVER])?;
        }
    }

    let mut found = HashMap::new();
    for &name in names {
        let binary = path(name);
        if binary.is_file() {
            found.insert(name, binary);
        } else {
            eprintln!(
                "bench: !!! {name} not found at {}: skipping what needs it \
                 (build it with `cargo build -p bench --release --bins` or, for \
                 paf-server, `cargo build -p paf-cli --release --bin paf-server`)",
                binary.display(),
            );
        }
    }
    Ok(found)
}

/// `cargo build WHAT` (`-p bench --bins`, say) in `profile` (the name of
/// the runner's directory); a failed build is noted, not fatal, since some
/// binaries may be there.
fn build_binaries(profile: &str, what: &[&str]) -> Res<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .args(what);
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
