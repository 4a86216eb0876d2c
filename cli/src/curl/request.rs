//! From the command line to a client and a request: method, URL, header
//! fields, body, and the client's settings (TLS, overrides, redirects,
//! timeouts, proxies).

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use conduit::Overrides;
use http::Method;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use paf::client::{Proxies, Proxy, Redirect};
use paf::{Body, Client};

use super::args::{Args, CommandLine, Data};
use super::exit::{Failure, code};
use super::url::{self, Url};

/// curl's connect timeout when none (or 0) is given.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(300);

/// The `user-agent` sent unless -A or -H says otherwise.
pub const USER_AGENT: &str = concat!("paf-curl/", env!("CARGO_PKG_VERSION"));

/// What to send, and the client to send it with.
#[derive(Debug)]
pub struct Prepared {
    /// The client, configured from the options.
    pub client: Client,
    /// The method.
    pub method: Method,
    /// The URL as conduit reads it (a Unix socket URL included).
    pub url: String,
    /// The header fields, in the order they are sent (before `host`,
    /// which paf adds first, and the framing field, which it adds last).
    pub headers: HeaderMap,
    /// The body (taken by [`send`](Prepared::send)).
    pub payload: Payload,
    /// The body's length, when known before sending.
    pub body_len: Option<u64>,
    /// `--resolve`, `--connect-to`, `--unix-socket`.
    pub overrides: Overrides,
}

/// The request body.
#[derive(Debug)]
pub enum Payload {
    /// No body.
    Empty,
    /// Data from -d and its kin.
    Bytes(Bytes),
    /// `-T FILE`: streamed from the open file.
    File {
        /// The file, open.
        file: std::fs::File,
        /// The length of a regular file, sent as `content-length`; `None`
        /// for anything else (a pipe, a FIFO, a device), sent chunked.
        len: Option<u64>,
    },
    /// `-T -`: streamed from stdin, chunked.
    Stdin,
}

impl Payload {
    /// The body's length, when known before sending.
    pub fn len(&self) -> Option<u64> {
        match self {
            Payload::Empty => Some(0),
            Payload::Bytes(bytes) => Some(bytes.len() as u64),
            Payload::File { len, .. } => *len,
            Payload::Stdin => None,
        }
    }

    /// Whether there is no body at all.
    pub fn is_empty(&self) -> bool {
        matches!(self, Payload::Empty)
    }

    /// The body to send, streaming files; must run inside the runtime.
    pub fn into_body(self) -> Body {
        match self {
            Payload::Empty => Body::empty(),
            Payload::Bytes(bytes) => Body::full(bytes),
            Payload::File { file, .. } => {
                let file = tokio::fs::File::from_std(file);
                Body::from_stream(tokio_util::io::ReaderStream::new(file))
            }
            Payload::Stdin => {
                Body::from_stream(tokio_util::io::ReaderStream::new(tokio::io::stdin()))
            }
        }
    }
}

impl Prepared {
    /// Sends the request.
    pub async fn send(&mut self) -> Result<paf::client::Response, paf::Error> {
        let payload = std::mem::replace(&mut self.payload, Payload::Empty);
        self.client
            .call(
                self.method.clone(),
                &self.url,
                self.headers.clone(),
                payload.into_body(),
            )
            .await
    }
}

/// Reads the options into a client and a request. Fails with status 2 for
/// bad usage, 26 when a local file cannot be read, 49 for a bad
/// `--resolve` or `--connect-to`, 58 or 77 for unusable certificates.
pub fn prepare(line: &CommandLine) -> Result<Prepared, Failure> {
    let args = &line.args;
    let mut url = with_scheme(&args.url);
    let data = gather_data(&line.data)?;
    let method = method(args, data.is_some())?;
    let mut payload = Payload::Empty;
    if let Some(data) = data {
        if args.get {
            append_query(&mut url, &data);
        } else {
            payload = Payload::Bytes(Bytes::from(data));
        }
    }
    if let Some(path) = &args.upload_file {
        url = upload_url(&url, path);
        payload = open_upload(path)?;
    }
    let headers = headers(args, !payload.is_empty() && !args.get, &payload)?;
    let overrides = overrides(args)?;
    let client = client(args, overrides.clone())?;
    Ok(Prepared {
        client,
        method,
        url,
        headers,
        body_len: payload.len(),
        payload,
        overrides,
    })
}

/// `http://` in front of a URL without a scheme, as curl guesses.
fn with_scheme(url: &str) -> String {
    if url::has_scheme(url) {
        url.to_string()
    } else {
        format!("http://{url}")
    }
}

fn method(args: &Args, has_data: bool) -> Result<Method, Failure> {
    let implied = match (args.head, has_data && !args.get, &args.upload_file) {
        (true, true, _) => {
            return Err(Failure::usage(
                "you can only select one HTTP request method: you asked for both POST \
                 (using -d) and HEAD (using -I)",
            ));
        }
        (true, false, Some(_)) => {
            return Err(Failure::usage(
                "you can only select one HTTP request method: you asked for both PUT \
                 (using -T) and HEAD (using -I)",
            ));
        }
        (false, true, Some(_)) => {
            return Err(Failure::usage(
                "you can only select one HTTP request method: you asked for both PUT \
                 (using -T) and POST (using -d)",
            ));
        }
        (true, false, None) => Method::HEAD,
        (false, true, None) => Method::POST,
        (false, false, Some(_)) => Method::PUT,
        (false, false, None) => Method::GET,
    };
    match &args.request {
        Some(name) => Method::from_bytes(name.as_bytes())
            .map_err(|_| Failure::usage(format!("`{name}` is not a valid request method"))),
        None => Ok(implied),
    }
}

/// The -d, --data-binary and --data-raw pieces joined with `&`, or `None`
/// when there are none.
fn gather_data(pieces: &[Data]) -> Result<Option<Vec<u8>>, Failure> {
    if pieces.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for (n, piece) in pieces.iter().enumerate() {
        if n > 0 {
            out.push(b'&');
        }
        match piece {
            Data::Ascii(text) => match text.strip_prefix('@') {
                Some(source) => {
                    let bytes = read_source(source)?;
                    out.extend(bytes.into_iter().filter(|b| *b != b'\r' && *b != b'\n'));
                }
                None => out.extend_from_slice(text.as_bytes()),
            },
            Data::Binary(text) => match text.strip_prefix('@') {
                Some(source) => out.extend(read_source(source)?),
                None => out.extend_from_slice(text.as_bytes()),
            },
            Data::Raw(text) => out.extend_from_slice(text.as_bytes()),
        }
    }
    Ok(Some(out))
}

/// A file's contents, or stdin's for `-`.
fn read_source(source: &str) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    let read = if source == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(source).map(|data| bytes = data)
    };
    read.map_err(|err| read_failure(Path::new(source), &err))?;
    Ok(bytes)
}

fn read_failure(path: &Path, err: &std::io::Error) -> Failure {
    Failure::new(
        code::READ_ERROR,
        format!(
            "Failed to open/read local data from file/application: {}: {err}",
            path.display()
        ),
    )
}

/// `-G`: the data goes into the query string (before the fragment).
fn append_query(url: &mut String, data: &[u8]) {
    let data = String::from_utf8_lossy(data);
    match Url::split(url) {
        Some(mut parts) => {
            parts.query = Some(match parts.query.take() {
                Some(query) => format!("{query}&{data}"),
                None => data.into_owned(),
            });
            *url = parts.to_string();
        }
        // `unix:/path`: no path or query to speak of.
        None => {
            let separator = if url.contains('?') { '&' } else { '?' };
            *url = format!("{url}{separator}{data}");
        }
    }
}

/// A URL whose path is empty or ends with `/` gets the uploaded file's
/// name appended to its path (the query and fragment kept), as curl does.
fn upload_url(url: &str, path: &Path) -> String {
    if path == Path::new("-") {
        return url.to_string();
    }
    let Some(name) = path.file_name() else {
        return url.to_string();
    };
    let Some(mut parts) = Url::split(url) else {
        return url.to_string();
    };
    if !parts.file_name().is_empty() {
        return url.to_string();
    }
    if parts.path.is_empty() {
        parts.path.push('/');
    }
    parts.path.extend(percent_encoding::percent_encode(
        name.as_bytes(),
        crate::util::SEGMENT,
    ));
    parts.to_string()
}

/// `-T FILE`, open. A regular file is sent with its length; anything else
/// that can be read (a pipe, `/dev/stdin`, a FIFO) is streamed chunked,
/// as stdin is, since its length says nothing of what it will give.
fn open_upload(path: &Path) -> Result<Payload, Failure> {
    if path == Path::new("-") {
        return Ok(Payload::Stdin);
    }
    let file = std::fs::File::open(path).map_err(|err| read_failure(path, &err))?;
    let meta = file.metadata().map_err(|err| read_failure(path, &err))?;
    if meta.is_dir() {
        let err = std::io::Error::other("is a directory");
        return Err(read_failure(path, &err));
    }
    let len = meta.is_file().then_some(meta.len());
    Ok(Payload::File { file, len })
}

/// The header fields, `user-agent` included (unless `-H 'User-Agent:'`
/// removed it): the client adds none of its own.
fn headers(args: &Args, form: bool, payload: &Payload) -> Result<HeaderMap, Failure> {
    let mut map = HeaderMap::new();
    let agent = args.user_agent.as_deref().unwrap_or(USER_AGENT);
    map.insert(header::USER_AGENT, value(agent)?);
    map.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    if let Some(referer) = &args.referer {
        map.insert(header::REFERER, value(referer)?);
    }
    if let Some(user) = &args.user {
        let (name, password) = user.split_once(':').unwrap_or((user, ""));
        map.insert(
            header::AUTHORIZATION,
            paf::client::basic_auth(name, password),
        );
    }
    let mut removed: Vec<HeaderName> = Vec::new();
    let mut given: Vec<HeaderName> = Vec::new();
    for field in expand_header_files(&args.header)? {
        match parse_header(&field)? {
            (name, Some(value)) => {
                if !given.contains(&name) {
                    map.remove(&name);
                    given.push(name.clone());
                }
                map.append(name, value);
            }
            (name, None) => {
                map.remove(&name);
                removed.push(name);
            }
        }
    }
    let content_type_set =
        map.contains_key(header::CONTENT_TYPE) || removed.contains(&header::CONTENT_TYPE);
    if form && !content_type_set && matches!(payload, Payload::Bytes(_)) {
        map.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    if let Payload::File { len: Some(len), .. } = payload
        && !map.contains_key(header::CONTENT_LENGTH)
    {
        map.insert(header::CONTENT_LENGTH, HeaderValue::from(*len));
    }
    Ok(map)
}

/// -H values, with `@FILE` replaced by the file's lines.
fn expand_header_files(fields: &[String]) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for field in fields {
        match field.strip_prefix('@') {
            Some(source) => {
                let bytes = read_source(source)?;
                let text = String::from_utf8_lossy(&bytes);
                out.extend(
                    text.lines()
                        .map(|line| line.trim_end_matches('\r'))
                        .filter(|line| !line.trim().is_empty())
                        .map(str::to_string),
                );
            }
            None => out.push(field.clone()),
        }
    }
    Ok(out)
}

/// `Name: value` (a value), `Name:` (remove), `Name;` (empty value).
fn parse_header(field: &str) -> Result<(HeaderName, Option<HeaderValue>), Failure> {
    let bad = || {
        Failure::usage(format!(
            "`{field}` is not a header field: expected `Name: value`, `Name:` or `Name;`"
        ))
    };
    let colon = field.find(':');
    let semicolon = field.find(';');
    let (name, value) = match (colon, semicolon) {
        (Some(c), s) if s.is_none_or(|s| c < s) => {
            let value = field[c + 1..].trim();
            (&field[..c], (!value.is_empty()).then_some(value))
        }
        (_, Some(s)) if field[s + 1..].trim().is_empty() => (&field[..s], Some("")),
        _ => return Err(bad()),
    };
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    let value = match value {
        Some(text) => Some(HeaderValue::from_bytes(text.as_bytes()).map_err(|_| bad())?),
        None => None,
    };
    Ok((name, value))
}

fn value(text: &str) -> Result<HeaderValue, Failure> {
    HeaderValue::from_bytes(text.as_bytes())
        .map_err(|_| Failure::usage(format!("`{text}` cannot be sent in a header field")))
}

fn overrides(args: &Args) -> Result<Overrides, Failure> {
    let mut overrides = Overrides::new();
    if let Some(path) = &args.unix_socket {
        overrides = overrides.unix_socket(path);
    }
    for entry in &args.resolve {
        let entry = entry.strip_prefix('+').unwrap_or(entry);
        overrides = overrides.resolve(entry).map_err(|why| {
            Failure::new(
                code::SETOPT_OPTION_SYNTAX,
                format!("Couldn't parse --resolve entry: {why}"),
            )
        })?;
    }
    for rule in &args.connect_to {
        overrides = overrides.connect_to(rule).map_err(|why| {
            Failure::new(
                code::SETOPT_OPTION_SYNTAX,
                format!("Couldn't parse --connect-to entry: {why}"),
            )
        })?;
    }
    Ok(overrides)
}

fn client(args: &Args, overrides: Overrides) -> Result<Client, Failure> {
    let max_redirs = usize::try_from(args.max_redirs).unwrap_or(usize::MAX);
    let redirect = if args.location && max_redirs > 0 {
        Redirect::limit(max_redirs).allow_downgrade()
    } else {
        Redirect::none()
    };
    let mut builder = Client::builder()
        .overrides(overrides)
        .redirect(redirect)
        .timeout(max_time(args))
        .connect_timeout(Some(connect_timeout(args)))
        .proxies(proxies(args)?)
        .default_headers(HeaderMap::new());
    if let Some(tls) = tls(args)? {
        builder = builder.tls(tls);
    }
    if args.http1_1 {
        builder = builder.http1_only();
    }
    if args.http2_prior_knowledge {
        builder = builder.http2_prior_knowledge();
    }
    builder
        .build()
        .map_err(|err| Failure::new(code::USAGE, format!("{err:#}")))
}

/// `-m`: 0 is no limit, as in curl.
fn max_time(args: &Args) -> Option<Duration> {
    args.max_time.filter(|limit| !limit.is_zero())
}

/// `--connect-timeout`: 0 is the default (300 s), as in curl.
fn connect_timeout(args: &Args) -> Duration {
    args.connect_timeout
        .filter(|limit| !limit.is_zero())
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
}

fn proxies(args: &Args) -> Result<Proxies, Failure> {
    let no_proxy_env = || {
        ["no_proxy", "NO_PROXY"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    };
    let proxies = match &args.proxy {
        Some(text) if text.trim().is_empty() => return Ok(Proxies::none()),
        Some(text) => {
            let proxy = Proxy::new(text)
                .map_err(|err| Failure::new(code::COULDNT_RESOLVE_PROXY, format!("{err:#}")))?;
            let proxies = Proxies::none().http(proxy.clone()).https(proxy);
            match args.noproxy.clone().or_else(no_proxy_env) {
                Some(list) => proxies.no_proxy(&list),
                None => proxies,
            }
        }
        None => match &args.noproxy {
            Some(list) => Proxies::from_vars(|name| {
                if name.eq_ignore_ascii_case("no_proxy") {
                    None
                } else {
                    std::env::var(name).ok()
                }
            })
            .no_proxy(list),
            None => Proxies::from_env(),
        },
    };
    Ok(proxies)
}

/// The TLS layer for --cacert, --cert/--key and -k; `None` keeps paf's
/// default (the webpki roots).
fn tls(args: &Args) -> Result<Option<mimic::tls::Tls>, Failure> {
    if !args.insecure && args.cacert.is_none() && args.cert.is_none() {
        return Ok(None);
    }
    let mut builder = mimic::tls::Tls::builder();
    if let Some(ca) = &args.cacert {
        // As curl: the file replaces the default roots.
        builder = builder.without_webpki_roots().add_ca_file(ca);
    }
    if let Some(cert) = &args.cert {
        let key: &PathBuf = args.key.as_ref().unwrap_or(cert);
        builder = builder.client_cert_files(cert, key);
    }
    if args.insecure {
        builder = builder.danger_accept_invalid_certificates();
    }
    builder.build().map(Some).map_err(|err| {
        let message = format!("{err:#}");
        let about_ca = args
            .cacert
            .as_ref()
            .is_some_and(|ca| message.contains(&ca.display().to_string()));
        if about_ca {
            Failure::new(
                code::SSL_CACERT_BADFILE,
                format!("error setting certificate file: {message}"),
            )
        } else {
            Failure::new(
                code::SSL_CERTPROBLEM,
                format!("could not load the client certificate: {message}"),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_parse_as_curl_reads_them() {
        let (name, value) = parse_header("X-Test:  some value ").expect("valid");
        assert_eq!(name, "x-test");
        assert_eq!(value.expect("value"), "some value");
        let (name, value) = parse_header("Accept:").expect("valid");
        assert_eq!((name.as_str(), value), ("accept", None));
        let (name, value) = parse_header("X-Empty;").expect("valid");
        assert_eq!(name, "x-empty");
        assert_eq!(value.expect("empty value"), "");
        let (_, value) = parse_header("X-Semi: a;b").expect("valid");
        assert_eq!(value.expect("value"), "a;b");
        for bad in ["no separator", "Bad Name: x", ": x", "X; y"] {
            assert!(parse_header(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uploads_name_the_file_when_the_url_has_none() {
        let file = Path::new("/tmp/a b.txt");
        assert_eq!(upload_url("http://h/up/", file), "http://h/up/a%20b.txt");
        assert_eq!(upload_url("http://h", file), "http://h/a%20b.txt");
        assert_eq!(upload_url("http://h/x", file), "http://h/x");
        assert_eq!(upload_url("http://h/", Path::new("-")), "http://h/");
        // The name goes in the path, never in the query or the fragment.
        assert_eq!(upload_url("http://h?x=1", file), "http://h/a%20b.txt?x=1");
        assert_eq!(
            upload_url("http://h/up/?x=/y#f/", file),
            "http://h/up/a%20b.txt?x=/y#f/"
        );
        assert_eq!(upload_url("http://h#f", file), "http://h/a%20b.txt#f");
        assert_eq!(upload_url("http://h/x?y=/", file), "http://h/x?y=/");
        assert_eq!(
            upload_url("http+unix://%2Frun%2Fa.sock/up/", file),
            "http+unix://%2Frun%2Fa.sock/up/a%20b.txt"
        );
        assert_eq!(upload_url("unix:/run/a.sock", file), "unix:/run/a.sock");
    }

    #[test]
    fn only_regular_files_are_sent_with_a_length() {
        let dir = std::env::temp_dir().join(format!("paf-cli-upload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let regular = dir.join("a.txt");
        std::fs::write(&regular, b"hello").expect("a temp file");
        let opened = open_upload(&regular);
        let _ = std::fs::remove_dir_all(&dir);
        let payload = opened.expect("a regular file");
        assert_eq!(payload.len(), Some(5));
        // A character device: its length (0) says nothing of its content.
        let payload = open_upload(Path::new("/dev/null")).expect("/dev/null");
        assert_eq!(payload.len(), None);
        let headers = headers(&args(&["u"]), false, &payload).expect("headers");
        assert!(!headers.contains_key(header::CONTENT_LENGTH));
        assert!(open_upload(Path::new("/")).is_err());
    }

    fn args(argv: &[&str]) -> Args {
        CommandLine::parse_from(std::iter::once("paf-curl").chain(argv.iter().copied()))
            .expect("valid")
            .args
    }

    #[test]
    fn zero_timeouts_are_curls() {
        let none = args(&["u"]);
        assert_eq!(max_time(&none), None);
        assert_eq!(connect_timeout(&none), DEFAULT_CONNECT_TIMEOUT);
        let zero = args(&["-m", "0", "--connect-timeout", "0", "u"]);
        assert_eq!(max_time(&zero), None);
        assert_eq!(connect_timeout(&zero), DEFAULT_CONNECT_TIMEOUT);
        let set = args(&["-m", "1.5", "--connect-timeout", "2", "u"]);
        assert_eq!(max_time(&set), Some(Duration::from_millis(1500)));
        assert_eq!(connect_timeout(&set), Duration::from_secs(2));
    }

    #[test]
    fn get_data_goes_in_the_query() {
        let mut url = "http://h/p#frag".to_string();
        append_query(&mut url, b"a=1&b=2");
        assert_eq!(url, "http://h/p?a=1&b=2#frag");
        append_query(&mut url, b"c=3");
        assert_eq!(url, "http://h/p?a=1&b=2&c=3#frag");
        let mut url = "http://h/p#frag?x".to_string();
        append_query(&mut url, b"a=1");
        assert_eq!(url, "http://h/p?a=1#frag?x");
    }

    #[test]
    fn urls_without_scheme_are_http() {
        assert_eq!(with_scheme("localhost:8080/x"), "http://localhost:8080/x");
        assert_eq!(with_scheme("https://h/"), "https://h/");
        assert_eq!(with_scheme("unix:/run/x.sock"), "unix:/run/x.sock");
        // A `://` in the query is not a scheme.
        assert_eq!(
            with_scheme("127.0.0.1:8000/a?next=http://x"),
            "http://127.0.0.1:8000/a?next=http://x"
        );
    }
}
