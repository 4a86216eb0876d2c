//! What a run measures: the records the parsers fill in, the medians fold
//! and the report prints.

use std::collections::HashMap;

use crate::runner::scenario::{ClientScenario, Scenario};

/// Whether runs whose load generator was busy these shares of their time
/// measured it rather than the servers: 95 % or more in every one.
pub(crate) fn load_bound(shares: &[f64]) -> bool {
    !shares.is_empty() && shares.iter().all(|&share| share >= 0.95)
}

/// One load run against one server.
pub(crate) struct LoadRun {
    /// Completed requests per second, as the load generator reports it.
    pub(crate) rps: f64,
    /// Requests that completed successfully.
    pub(crate) completed: u64,
    /// Failed requests, socket errors and unexpected status codes.
    pub(crate) errors: u64,
    /// What the errors were, from the load generator's output.
    pub(crate) error_detail: String,
    /// Server CPU time (user + system) per completed request.
    pub(crate) cpu_us_per_req: f64,
    /// The load generator's CPU time over the run's wall time: near 1, the
    /// run measured the load generator rather than the server.
    pub(crate) load_busy: f64,
}

/// The upload run against one server.
pub(crate) struct UploadRun {
    /// Whether the server answered 200 with the right byte count.
    pub(crate) ok: bool,
    /// The status code and body it answered.
    pub(crate) reply: String,
    /// Wall time of the upload.
    pub(crate) secs: f64,
    /// Server CPU time (user + system) during the upload.
    pub(crate) cpu_ms: f64,
    /// The server's peak resident set size (VmHWM), fresh process.
    pub(crate) peak_rss_kib: u64,
}

/// One client scenario run of one client.
pub(crate) struct ClientRun {
    /// Responses per second over the measured window.
    pub(crate) rps: f64,
    /// Responses read whole and as expected in the window.
    pub(crate) completed: u64,
    /// Failed requests and unexpected responses, warm-up included.
    pub(crate) errors: u64,
    /// The client process's CPU time (user + system) per response.
    pub(crate) cpu_us_per_req: f64,
    /// The client process's CPU time over the window's wall time.
    pub(crate) client_busy: f64,
    /// The server's CPU time over the whole `client-load` run (warm-up and
    /// start-up included, so a little low).
    pub(crate) server_busy: f64,
}

/// Everything measured for one server, and for the client of the same
/// name. `None` means not run.
#[derive(Default)]
pub(crate) struct Results {
    /// The load scenarios' runs; a failed run holds its error.
    pub(crate) load: HashMap<Scenario, Result<LoadRun, String>>,
    /// The upload, when it ran.
    pub(crate) upload: Option<Result<UploadRun, String>>,
    /// The client scenarios' runs of the client of the same name.
    pub(crate) client: HashMap<ClientScenario, Result<ClientRun, String>>,
}
