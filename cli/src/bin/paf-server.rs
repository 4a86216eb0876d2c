//! `paf-server`: serves a directory over HTTP/1.1 and HTTP/2. See
//! `paf-server --help` and `docs/cli.md`.

fn main() -> std::process::ExitCode {
    paf_cli::server::main()
}
