//! The fixed parts of every run: the options, the selection, the pinning,
//! the clock tick, and a scratch directory for the files the load tools
//! read (`pipeline.lua`, the upload, the TLS certificate and key).

use std::ffi::OsStr;
use std::fs;
use std::io::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use crate::Res;
use crate::runner::args::{Args, Selection};
use crate::runner::host::clock_ticks;
use crate::runner::pinning::{Pinning, plan_pinning};
use crate::runner::process::{ServerProcess, start_server};
use crate::runner::scenario::UPLOAD_BYTES;

/// The wrk script for the pipelined run, written to the scratch directory.
const PIPELINE_LUA: &str = include_str!("../../pipeline.lua");

/// A scratch directory, removed when dropped.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The fixed parts of every run.
pub(crate) struct Context {
    /// The command line.
    pub(crate) args: Args,
    /// What `--only` leaves to run.
    pub(crate) selection: Selection,
    /// Where servers and load generators run.
    pub(crate) pinning: Pinning,
    /// Clock ticks per second, the unit of `/proc/PID/stat`'s CPU times.
    pub(crate) clock_ticks: f64,
    /// Where the files below live.
    pub(crate) scratch: Scratch,
    /// wrk's script for the pipelined run.
    pub(crate) pipeline_lua: PathBuf,
    /// The certificate and key (PEM) of the TLS scenarios, made once per
    /// invocation when one runs.
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
}

impl Context {
    /// Plans the pinning for the servers' threads and writes
    /// `pipeline.lua` to a fresh scratch directory.
    pub(crate) fn new(args: Args, selection: Selection) -> Res<Context> {
        let pinning = plan_pinning(args.threads.map_or(1, NonZeroUsize::get));
        let clock_ticks = clock_ticks();
        let dir = std::env::temp_dir().join(format!("paf-bench-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let scratch = Scratch(dir);
        let pipeline_lua = scratch.0.join("pipeline.lua");
        fs::write(&pipeline_lua, PIPELINE_LUA)?;
        let tls = if selection.needs_certificate() {
            Some(crate::tls::write_self_signed(&scratch.0)?)
        } else {
            None
        };
        Ok(Context {
            args,
            selection,
            pinning,
            clock_ticks,
            scratch,
            pipeline_lua,
            tls,
        })
    }

    /// Starts a server as `--threads` asks, pinned; in its TLS mode when
    /// `tls` is set.
    pub(crate) fn start_server(&self, binary: &Path, tls: bool) -> Res<ServerProcess> {
        let mut extra: Vec<&OsStr> = Vec::new();
        if tls {
            let (cert, key) = self.certificate()?;
            extra.extend([
                OsStr::new("--tls-cert"),
                cert.as_os_str(),
                OsStr::new("--tls-key"),
                key.as_os_str(),
            ]);
        }
        start_server(&self.pinning, self.args.threads, binary, &extra)
    }

    /// The certificate and key of the TLS scenarios.
    pub(crate) fn certificate(&self) -> Res<(&Path, &Path)> {
        let (cert, key) = self
            .tls
            .as_ref()
            .ok_or("no certificate was made for this selection")?;
        Ok((cert, key))
    }

    /// Writes a file of `UPLOAD_BYTES` zeros to the scratch directory.
    pub(crate) fn make_upload_file(&self) -> Res<PathBuf> {
        let path = self.scratch.0.join("upload.bin");
        let mut file = std::io::BufWriter::new(fs::File::create(&path)?);
        let chunk = vec![0u8; 1024 * 1024];
        let mut written = 0;
        while written < UPLOAD_BYTES {
            file.write_all(&chunk)?;
            written += chunk.len() as u64;
        }
        file.flush()?;
        Ok(path)
    }
}
