//! The `bench` runner: it starts `paf-hello` and `hyper-hello` (in clear
//! text and over TLS), loads each with `wrk`, `h2load`, `handshake-load`
//! and `curl`, runs `client-load` with the paf, hyper-util and reqwest
//! clients against one of them, compares `paf-server` with nginx serving
//! files when asked, and prints the medians of the rounds as markdown
//! tables. Linux only (it reads `/proc`). See `bench/README.md`.
//!
//! The modules, from the bottom layer up; each uses only modules listed
//! before it:
//!
//! - `scenario`: the servers, clients and scenarios, and their fixed
//!   parameters;
//! - `args`: the command line and what `--only` selects; `results`: the
//!   records of the runs;
//! - `parse`: the load tools' output; `stats`: the medians of the rounds;
//!   `host`: the machine (`PATH`, clock tick, CPU model, tool versions);
//! - `pinning`: `taskset` lists for the servers and the load generators;
//!   `binaries`: finding and building the binaries the runs start;
//! - `process`: the servers as child processes;
//! - `context`: the fixed parts of every run and the scratch directory;
//! - `runs`: one run of a load tool against a server;
//! - `rounds`: every run of every round, folded into medians; `render`:
//!   the report;
//! - `files`: the static-file mode (`paf-server` against nginx), its
//!   rounds and its table;
//! - `session`: one invocation, start to end.

mod args;
mod binaries;
mod context;
mod files;
mod host;
mod parse;
mod pinning;
mod process;
mod render;
mod results;
mod rounds;
mod runs;
mod scenario;
mod session;
mod stats;

pub use args::Args;
pub use session::{Outcome, run};
