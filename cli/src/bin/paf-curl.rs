//! `paf-curl`: a curl work-alike on `paf::Client`. See `paf-curl --help`
//! and `docs/cli.md`.

fn main() -> std::process::ExitCode {
    paf_cli::curl::main()
}
