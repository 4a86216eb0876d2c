//! The command line: curl's options, as far as `paf-curl` has them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};

/// The options of `paf-curl`. Names, short forms and meanings are curl's.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "paf-curl",
    version,
    about = "Transfers a URL over HTTP/1.1 or HTTP/2, as curl does, with paf's client",
    args_override_self = true,
    after_help = "Examples:\n  \
        paf-curl https://example.com/                       print the page\n  \
        paf-curl -sSfL -o page.html https://example.com/    save it, following redirects\n  \
        paf-curl -d name=ada -H 'X-Trace: 1' http://localhost:8000/form\n  \
        paf-curl -T photo.jpg http://localhost:8000/uploads/\n  \
        paf-curl --unix-socket /var/run/docker.sock http://localhost/version\n  \
        paf-curl -w '%{http_code} %{http_version}\\n' -o /dev/null -s https://example.com/\n\n\
        Exit status as curl's: 0 success, 2 bad usage, 6 host not resolved, 7 connection \
        failed, 22 HTTP error with --fail, 28 timeout, 35 TLS handshake, 60 certificate \
        not verified, 47 too many redirects; docs/cli.md lists them all.\n\
        PAF_DEBUG=1 prints paf's connections and heads on stderr; RUST_LOG=paf=debug \
        turns on paf's log."
)]
pub struct Args {
    /// The URL; `http://` is assumed when it has no scheme. `https://`,
    /// `http+unix://%2Fpath%2Fto.sock/path` and `unix:` URIs work too.
    #[arg(value_name = "URL")]
    pub url: String,

    /// The request method (default GET; POST with -d, PUT with -T, HEAD
    /// with -I).
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub request: Option<String>,

    /// A header field, `Name: value` (repeatable). `Name:` removes a field
    /// paf-curl would send (Accept, Content-Type...); `Name;` sends it empty;
    /// `@FILE` reads one field per line from FILE.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub header: Vec<String>,

    /// POST data (repeatable, joined with `&`): `@FILE` reads it from FILE
    /// without carriage returns and newlines, `@-` from stdin.
    #[arg(
        short = 'd',
        long = "data",
        visible_alias = "data-ascii",
        value_name = "DATA"
    )]
    pub data: Vec<String>,

    /// POST data as it is (repeatable): `@FILE` reads FILE byte for byte.
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Vec<String>,

    /// POST data as it is, with no `@` file (repeatable).
    #[arg(long = "data-raw", value_name = "DATA")]
    pub data_raw: Vec<String>,

    /// Sends the -d data in the URL's query string, with GET.
    #[arg(short = 'G', long = "get")]
    pub get: bool,

    /// Uploads FILE with PUT, streamed from the file (`-` for stdin). A URL
    /// that ends with `/` gets the file's name appended.
    #[arg(short = 'T', long = "upload-file", value_name = "FILE")]
    pub upload_file: Option<PathBuf>,

    /// Writes the body to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Writes the body to a file named as the URL's last path segment, in
    /// the current directory.
    #[arg(short = 'O', long = "remote-name")]
    pub remote_name: bool,

    /// Writes the response head before the body.
    #[arg(short = 'i', long = "include")]
    pub include: bool,

    /// Sends HEAD and writes the response head.
    #[arg(short = 'I', long = "head")]
    pub head: bool,

    /// Writes the response head to FILE (`-` for stdout).
    #[arg(short = 'D', long = "dump-header", value_name = "FILE")]
    pub dump_header: Option<PathBuf>,

    /// No progress bar, no warnings, no error messages.
    #[arg(short = 's', long = "silent")]
    pub silent: bool,

    /// With -s, still shows error messages.
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,

    /// Fails with exit status 22 on an HTTP status of 400 or more, and
    /// writes no body.
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,

    /// As --fail, but writes the body.
    #[arg(long = "fail-with-body")]
    pub fail_with_body: bool,

    /// Follows redirects.
    #[arg(short = 'L', long = "location")]
    pub location: bool,

    /// The most redirects -L follows (-1: no limit).
    #[arg(
        long = "max-redirs",
        value_name = "NUM",
        default_value_t = 50,
        allow_negative_numbers = true
    )]
    pub max_redirs: i64,

    /// The longest time for the whole transfer, in seconds (fractions
    /// allowed, at most a year; 0: no limit, as curl).
    #[arg(
        short = 'm',
        long = "max-time",
        value_name = "SECS",
        value_parser = crate::util::seconds
    )]
    pub max_time: Option<Duration>,

    /// The longest time to connect (DNS, TCP, TLS, proxy tunnel), in
    /// seconds (at most a year; default and 0: 300, as curl).
    #[arg(
        long = "connect-timeout",
        value_name = "SECS",
        value_parser = crate::util::seconds
    )]
    pub connect_timeout: Option<Duration>,

    /// The User-Agent to send.
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    pub user_agent: Option<String>,

    /// The Referer to send.
    #[arg(short = 'e', long = "referer", value_name = "URL")]
    pub referer: Option<String>,

    /// Basic authentication: `USER:PASSWORD` (no prompt: a missing password
    /// is empty).
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub user: Option<String>,

    /// Accepts any server certificate (insecure).
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,

    /// Trusts the CA certificates of this PEM file instead of the built-in
    /// (webpki) roots.
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// A client certificate chain (PEM); its key comes from --key, or from
    /// the same file.
    #[arg(short = 'E', long = "cert", value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// The private key (PEM) of --cert.
    #[arg(long = "key", value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Connects to this Unix socket, whatever the URL's host.
    #[arg(long = "unix-socket", value_name = "PATH")]
    pub unix_socket: Option<PathBuf>,

    /// Resolves HOST on PORT to ADDR without DNS (repeatable).
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR[,ADDR]")]
    pub resolve: Vec<String>,

    /// Connects to HOST2:PORT2 instead of HOST1:PORT1 (repeatable); empty
    /// fields match anything or keep the value.
    #[arg(long = "connect-to", value_name = "HOST1:PORT1:HOST2:PORT2")]
    pub connect_to: Vec<String>,

    /// Offers only HTTP/1.1.
    #[arg(long = "http1.1", overrides_with_all = ["http2", "http2_prior_knowledge"])]
    pub http1_1: bool,

    /// HTTP/2 where the server agrees to it by ALPN over TLS (the
    /// default); clear-text connections stay HTTP/1.1.
    #[arg(long = "http2", overrides_with_all = ["http1_1", "http2_prior_knowledge"])]
    pub http2: bool,

    /// HTTP/2 from the first byte on clear-text connections.
    #[arg(long = "http2-prior-knowledge", overrides_with_all = ["http1_1", "http2"])]
    pub http2_prior_knowledge: bool,

    /// What to write after the transfer: text with `%{http_code}`,
    /// `%{http_version}`, `%{url_effective}`, `%{num_redirects}`,
    /// `%{size_download}`, `%{content_type}`, `%{time_total}`... and `\n`;
    /// `@FILE` reads it from FILE.
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,

    /// Shows the connection, the request and the response heads on stderr.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Uses this HTTP proxy (`[http://][user:password@]host[:port]`) instead
    /// of the environment's.
    #[arg(short = 'x', long = "proxy", value_name = "URL")]
    pub proxy: Option<String>,

    /// Hosts that go around the proxy (NO_PROXY's syntax); replaces
    /// NO_PROXY.
    #[arg(long = "noproxy", value_name = "LIST")]
    pub noproxy: Option<String>,

    /// Accepted for compatibility: paf-curl reads no configuration file.
    #[arg(short = 'q', long = "disable")]
    pub disable: bool,

    /// Accepted for compatibility: the body is always written as it
    /// arrives.
    #[arg(short = 'N', long = "no-buffer")]
    pub no_buffer: bool,
}

/// One piece of request data, in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    /// `-d`: `@FILE` is read without CR and LF.
    Ascii(String),
    /// `--data-binary`: `@FILE` is read as it is.
    Binary(String),
    /// `--data-raw`: the text itself.
    Raw(String),
}

/// The parsed command line.
#[derive(Clone, Debug)]
pub struct CommandLine {
    /// The options.
    pub args: Args,
    /// -d, --data-binary and --data-raw in the order given.
    pub data: Vec<Data>,
}

impl CommandLine {
    /// Parses `argv` (program name first). A clap error carries its exit
    /// status: 2 for bad usage, 0 for `--help` and `--version`.
    pub fn parse_from<I, T>(argv: I) -> Result<CommandLine, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Args::command().try_get_matches_from(argv)?;
        let args = Args::from_arg_matches(&matches)?;
        let data = ordered_data(&matches);
        Ok(CommandLine { args, data })
    }
}

/// An error of bad usage that clap cannot see, printed as clap prints its
/// own (exit status 2).
pub fn usage_error(message: impl std::fmt::Display) -> clap::Error {
    Args::command().error(clap::error::ErrorKind::ArgumentConflict, message)
}

fn ordered_data(matches: &ArgMatches) -> Vec<Data> {
    let mut all: Vec<(usize, Data)> = Vec::new();
    let mut collect = |id: &str, make: fn(String) -> Data| {
        let (Some(indices), Some(values)) =
            (matches.indices_of(id), matches.get_many::<String>(id))
        else {
            return;
        };
        for (index, value) in indices.zip(values) {
            all.push((index, make(value.clone())));
        }
    };
    collect("data", Data::Ascii);
    collect("data_binary", Data::Binary);
    collect("data_raw", Data::Raw);
    all.sort_by_key(|(index, _)| *index);
    all.into_iter().map(|(_, data)| data).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<CommandLine, clap::Error> {
        CommandLine::parse_from(std::iter::once("paf-curl").chain(args.iter().copied()))
    }

    #[test]
    fn data_keeps_the_command_line_order() {
        let line = parse(&[
            "-d",
            "a=1",
            "--data-binary",
            "@f",
            "--data-raw",
            "@x",
            "-d",
            "b",
            "http://x/",
        ])
        .expect("valid");
        assert_eq!(
            line.data,
            vec![
                Data::Ascii("a=1".into()),
                Data::Binary("@f".into()),
                Data::Raw("@x".into()),
                Data::Ascii("b".into()),
            ]
        );
    }

    #[test]
    fn curl_style_flags_parse() {
        let line = parse(&[
            "-sSfL",
            "-m",
            "0.5",
            "--http1.1",
            "-H",
            "A: 1",
            "-H",
            "B;",
            "http://x/",
            "-s",
        ])
        .expect("valid");
        let args = line.args;
        assert!(args.silent && args.show_error && args.fail && args.location);
        assert_eq!(args.max_time, Some(Duration::from_millis(500)));
        assert!(args.http1_1);
        assert_eq!(args.header, ["A: 1", "B;"]);
        assert_eq!(args.url, "http://x/");
        assert_eq!(args.max_redirs, 50);
        let args = parse(&["--max-redirs", "-1", "--http1.1", "--http2", "u"])
            .expect("valid")
            .args;
        assert_eq!(args.max_redirs, -1);
        assert!(args.http2 && !args.http1_1);
    }

    #[test]
    fn bad_usage_exits_with_2() {
        for bad in [
            &["--bogus", "u"][..],
            &[],
            &["-m", "soon", "u"],
            &["--key", "k", "u"],
            &["-m", "1.8e19", "u"],
            &["--connect-timeout", "1.8e19", "u"],
            &["-m", "-1", "u"],
            &["--connect-timeout", "inf", "u"],
            &["-m", "NaN", "u"],
        ] {
            let err = parse(bad).expect_err("bad usage");
            assert_eq!(err.exit_code(), 2, "{bad:?}: {err}");
        }
        assert_eq!(parse(&["--help"]).expect_err("help").exit_code(), 0);
        assert_eq!(usage_error("no").exit_code(), 2);
    }
}
