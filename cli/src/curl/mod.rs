//! `paf-curl`: a curl work-alike on [`paf::Client`].
//!
//! [`main`] is the whole program: it reads curl's options, sends one
//! request, writes the response as curl does and exits with curl's status
//! for the outcome. `docs/cli.md` lists the options and where `paf-curl`
//! differs from curl.
//!
//! # Organization
//! - `mod.rs`: [`main`], [`run`] and the transfer.
//! - `args.rs`: the options (clap).
//! - `request.rs`: the client and the request built from them; `url.rs`:
//!   the URL's path and query, for `-O`, `-T` and `-G`.
//! - `output.rs`: the body and head to stdout or a file, the progress
//!   bar, `-w`.
//! - `verbose.rs`: `-v`; `cert.rs`: the certificate fields it shows.
//! - `exit.rs`: curl's exit statuses.
//!
//! # Diagnostics
//! `PAF_DEBUG=1` makes paf itself print every connection and head on
//! stderr. `RUST_LOG` sets the filter of the `tracing` log on stderr
//! (warnings only by default, errors only with `-s`).

mod args;
mod cert;
mod exit;
mod output;
mod request;
mod url;
mod verbose;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use http::Uri;
use http::header;
use mimic::flow::Addr;

pub use self::args::{Args, CommandLine, Data};
pub use self::exit::{Failure, code};

use self::output::{Facts, Sink, Target};
use self::request::Prepared;

/// The program, on the process's arguments.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// The program on `argv` (the program name first): parses the options,
/// makes the transfer, and returns curl's exit status for it.
pub fn run<I, T>(argv: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let line = match CommandLine::parse_from(argv) {
        Ok(line) => line,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(code::USAGE));
        }
    };
    init_tracing(&line.args);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let failure = runtime_failure(&err);
            let _ = writeln!(std::io::stderr().lock(), "paf-curl: {failure}");
            return ExitCode::from(failure.code);
        }
    };
    let status = runtime.block_on(transfer(&line));
    // The connection's task may still be running: no need to wait for it.
    runtime.shutdown_background();
    ExitCode::from(status)
}

/// The runtime could not start: curl's "failed to initialize" (2), not
/// the 1 of an unsupported protocol.
fn runtime_failure(err: &std::io::Error) -> Failure {
    Failure::new(
        code::FAILED_INIT,
        format!("Failed to initialize: cannot start the runtime: {err}"),
    )
}

/// The `tracing` subscriber: `RUST_LOG`'s filter, or warnings (errors
/// with `-s`). With `-k`, mimic's warning on each unverified connection
/// is left out: the program says it once.
fn init_tracing(args: &Args) {
    let default = match (args.silent, args.insecure) {
        (true, _) => "error",
        (false, true) => "warn,mimic::proto::tls=error",
        (false, false) => "warn",
    };
    crate::diagnostics::init_with(default);
}

/// Shows a failure as curl does: usage errors always, others unless `-s`
/// without `-S`.
fn report(failure: &Failure, args: &Args) {
    if failure.code == code::USAGE {
        let _ = args::usage_error(&failure.message).print();
    } else if !args.silent || args.show_error {
        let _ = writeln!(std::io::stderr().lock(), "paf-curl: {failure}");
    }
}

/// The whole transfer; returns the exit status.
async fn transfer(line: &CommandLine) -> u8 {
    let args = &line.args;
    let started = Instant::now();
    let format = match args
        .write_out
        .as_deref()
        .map(output::read_format)
        .transpose()
    {
        Ok(format) => format,
        Err(failure) => {
            report(&failure, args);
            return failure.code;
        }
    };
    let mut prepared = match request::prepare(line) {
        Ok(prepared) => prepared,
        Err(failure) => {
            report(&failure, args);
            return failure.code;
        }
    };
    let target = match target(args, &prepared.url) {
        Ok(target) => target,
        Err(failure) => {
            report(&failure, args);
            return failure.code;
        }
    };
    if args.insecure && !args.silent {
        let _ = writeln!(
            std::io::stderr().lock(),
            "paf-curl: warning: --insecure: the server's certificate is not verified; \
             anyone on the path can read and change this connection"
        );
    }
    let progress = matches!(target, Target::File(_))
        && !args.silent
        && !args.verbose
        && std::io::stderr().is_terminal();
    let mut sink = Sink::new(target, progress);
    if args.verbose {
        verbose::route(&prepared.url, &prepared.overrides);
    }
    let mut facts = Facts {
        url_effective: prepared.url.clone(),
        ..Facts::default()
    };
    let result = exchange(args, &mut prepared, &mut sink, &mut facts).await;
    let result = match result {
        Ok(()) => sink.finish(true),
        Err(failure) => {
            let _ = sink.finish(false);
            Err(failure)
        }
    };
    facts.time_total = started.elapsed();
    facts.size_download = sink.body_bytes;
    let status = match result {
        Ok(()) => 0,
        Err(failure) => {
            report(&failure, args);
            facts.error = failure.message;
            failure.code
        }
    };
    facts.exit_code = status;
    if let Some(format) = format {
        let mut warnings = Vec::new();
        let text = output::write_out(&format, &facts, &mut warnings);
        if !args.silent {
            for warning in warnings {
                eprintln!("paf-curl: {warning}");
            }
        }
        let mut out = std::io::stdout().lock();
        if out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
            && status == 0
        {
            return code::WRITE_ERROR;
        }
    }
    status
}

/// Where the body goes: -o FILE (`-` for stdout), -O, or stdout.
fn target(args: &Args, url: &str) -> Result<Target, Failure> {
    if let Some(path) = &args.output {
        if path.as_os_str() == "-" {
            return Ok(Target::Stdout { checked: false });
        }
        return Ok(Target::File(path.clone()));
    }
    if args.remote_name {
        return remote_name(url).map(Target::File);
    }
    Ok(Target::Stdout { checked: true })
}

/// `-O`: the last segment of the URL's path (never of its query or
/// fragment), as it is written.
fn remote_name(url: &str) -> Result<PathBuf, Failure> {
    let parts = url::Url::split(url);
    let name = parts.as_ref().map_or("", url::Url::file_name);
    if name.is_empty() || name == "." || name == ".." {
        return Err(Failure::new(
            code::WRITE_ERROR,
            "Remote file name has no length: -O needs a URL that ends with a file name",
        ));
    }
    Ok(PathBuf::from(name))
}

/// The `http` form of the request's URL, for `-v` (a Unix socket's URL
/// becomes `http://localhost/path`, as paf sends it).
fn shown_uri(url: &str) -> Uri {
    let unix = url
        .split_once("://")
        .is_some_and(|(scheme, _)| scheme.to_ascii_lowercase().ends_with("+unix"))
        || url.starts_with("unix:");
    if !unix && let Ok(uri) = url.parse::<Uri>() {
        return uri;
    }
    let path = url
        .parse::<conduit::Target>()
        .map(|t| t.path_and_query().to_string())
        .unwrap_or_else(|_| "/".to_string());
    format!("http://localhost{path}")
        .parse()
        .unwrap_or_else(|_| Uri::from_static("http://localhost/"))
}

fn inet(addr: Option<&Addr>) -> Option<std::net::SocketAddr> {
    match addr? {
        Addr::Inet(addr) => Some(*addr),
        _ => None,
    }
}

/// Sends the request and writes the response.
async fn exchange(
    args: &Args,
    prepared: &mut Prepared,
    sink: &mut Sink,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let method = prepared.method.clone();
    let first_uri = shown_uri(&prepared.url);
    let mut res = match prepared.send().await {
        Ok(res) => res,
        Err(err) => {
            if args.verbose {
                let version = if args.http2_prior_knowledge {
                    http::Version::HTTP_2
                } else {
                    http::Version::HTTP_11
                };
                verbose::request_head(prepared, &method, &first_uri, version);
                verbose::note("No response");
            }
            return Err(Failure::from_paf(&err));
        }
    };
    let status = res.status();
    facts.status = Some(status);
    facts.version = Some(res.version());
    facts.headers = res.headers().clone();
    facts.num_redirects = res.redirects().len();
    if !res.redirects().is_empty() {
        facts.url_effective = res.uri().to_string();
    } else if let Ok(uri) = prepared.url.parse::<Uri>() {
        // The URL as sent: `http://host` becomes `http://host/`.
        facts.url_effective = uri.to_string();
    }
    let info = res.connection();
    facts.remote = inet(info.peer_addr());
    facts.local = inet(info.local_addr());
    if args.verbose {
        verbose::connection(info, args.insecure);
        verbose::request_head(prepared, &method, &first_uri, res.version());
        verbose::redirects(res.redirects(), res.uri());
        verbose::response_head(&res);
    }
    if args.location
        && args.max_redirs == 0
        && status.is_redirection()
        && res.headers().contains_key(header::LOCATION)
    {
        return Err(Failure::new(
            code::TOO_MANY_REDIRECTS,
            "Maximum (0) redirects followed",
        ));
    }
    let failed = status.as_u16() >= 400;
    if failed && args.fail && !args.fail_with_body {
        return Err(http_error(status));
    }
    let head = output::head_text(res.version(), status, res.headers());
    if let Some(path) = &args.dump_header {
        output::dump_head(path, &head)?;
    }
    if args.include || args.head {
        sink.write_head(&head)?;
    }
    if !args.head {
        let length = res
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        sink.start_body(length);
        while let Some(chunk) = res.chunk().await.map_err(|err| Failure::from_paf(&err))? {
            sink.write_body(&chunk)?;
        }
    }
    if failed && args.fail_with_body {
        return Err(http_error(status));
    }
    Ok(())
}

fn http_error(status: http::StatusCode) -> Failure {
    Failure::new(
        code::HTTP_RETURNED_ERROR,
        format!("The requested URL returned error: {}", status.as_u16()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_names_come_from_the_last_segment() {
        assert_eq!(
            remote_name("http://h/a/b.txt?x=1#f").ok(),
            Some(PathBuf::from("b.txt"))
        );
        assert_eq!(
            remote_name("http+unix://%2Frun%2Fa.sock/v1/x.json").ok(),
            Some(PathBuf::from("x.json"))
        );
        for bad in [
            "http://h/",
            "http://h",
            "http://h/a/",
            "http://h/..",
            "http://h?x=/evil",
            "http://h/?x=/evil",
            "http://h#/evil",
            "http://h/a/?x=/../evil",
            "unix:/run/a.sock",
        ] {
            let failure = remote_name(bad).expect_err(bad);
            assert_eq!(failure.code, code::WRITE_ERROR);
        }
    }

    #[test]
    fn a_runtime_that_does_not_start_is_not_an_unsupported_protocol() {
        let failure = runtime_failure(&std::io::Error::other("no threads"));
        assert_eq!(failure.code, code::FAILED_INIT);
        assert_eq!(failure.code, 2);
        assert_ne!(failure.code, code::UNSUPPORTED_PROTOCOL);
        assert!(failure.message.contains("no threads"), "{failure}");
    }

    #[test]
    fn unix_socket_urls_are_shown_in_their_http_form() {
        assert_eq!(
            shown_uri("http+unix://%2Frun%2Fa.sock/v1?x=1").to_string(),
            "http://localhost/v1?x=1"
        );
        assert_eq!(
            shown_uri("https://example.com:8443/p").to_string(),
            "https://example.com:8443/p"
        );
    }
}
