//! Compares the paf and hyper HTTP/1.1 and HTTP/2 (h2c) servers
//! (`paf-hello`, `hyper-hello`) with `wrk`, `h2load` and `curl`, and the
//! paf and hyper-util clients (`client-load`) against one of those servers,
//! and prints the results as markdown tables. Linux only (it reads
//! `/proc`). See `bench/README.md`; the work is in `bench::runner`.
//!
//! ```text
//! cargo build -p bench --release --bins && cargo run -p bench --release --bin bench
//! ```

use std::process::ExitCode;

use clap::Parser;

use bench::runner::{self, Args, Outcome};

fn main() -> ExitCode {
    match runner::run(Args::parse()) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::FAILURE,
        Ok(Outcome::MissingTools) => ExitCode::from(2),
        Err(error) => {
            eprintln!("bench: {error}");
            ExitCode::FAILURE
        }
    }
}
