//! `-v`: what curl's verbose mode shows, on stderr. `* ` lines tell where
//! the connection goes and what it is, `> ` lines the request head, `< `
//! lines the response head.
//!
//! paf's client connects inside the request, so the connection and the
//! request head are shown once the response head has arrived; only the
//! route, which needs no I/O, is shown before.

use std::fmt::Write as _;
use std::io::Write as _;

use conduit::{Overrides, Resolver};
use http::header::{self, HeaderMap};
use http::{Method, Uri, Version};
use mimic::Info;

use super::cert;
use super::output::status_line;
use super::request::Prepared;
use crate::util::version_name;

/// Writes `text` to stderr, each line after `mark`.
fn emit(mark: &str, text: &str) {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        let _ = writeln!(out, "{mark}{line}");
    }
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

/// Where conduit's rules send the URL: the rules that applied and the
/// endpoint. No I/O.
pub fn route(url: &str, overrides: &Overrides) {
    match Resolver::new().resolve_with(url, overrides) {
        Ok(resolution) => {
            emit("* ", &format!("Route of {resolution}"));
        }
        Err(err) => emit("* ", &format!("No route for {url}: {err:#}")),
    }
}

/// The redirects followed on the way to the response.
pub fn redirects(redirects: &[Uri], final_uri: &Uri) {
    if redirects.is_empty() {
        return;
    }
    let mut chain: Vec<String> = redirects.iter().map(ToString::to_string).collect();
    chain.push(final_uri.to_string());
    emit(
        "* ",
        &format!(
            "Followed {} redirect{}: {} (PAF_DEBUG=1 shows each exchange)",
            redirects.len(),
            if redirects.len() == 1 { "" } else { "s" },
            chain.join(" -> ")
        ),
    );
}

/// The connection a response came on: the candidates mimic tried, the
/// protocols, addresses, TLS, and the server's certificate.
pub fn connection(info: &Info, insecure: bool) {
    let mut text = String::new();
    if let Some(report) = info.report() {
        let entries = report.entries();
        let tried: Vec<_> = entries.iter().filter(|e| e.started.is_some()).collect();
        for entry in tried {
            let _ = writeln!(text, "  Trying {entry}");
        }
    }
    let protocols: Vec<&str> = info.protocols().collect();
    let _ = write!(text, "Connected over {}", protocols.join("/"));
    if let Some(endpoint) = info.endpoint() {
        let _ = write!(text, " to {endpoint}");
    }
    let mut addrs = Vec::new();
    if let Some(peer) = info.peer_addr() {
        addrs.push(format!("peer {peer}"));
    }
    if let Some(local) = info.local_addr() {
        addrs.push(format!("local {local}"));
    }
    if !addrs.is_empty() {
        let _ = write!(text, " ({})", addrs.join(", "));
    }
    text.push('\n');
    if let Some(tls) = info.tls() {
        let _ = writeln!(text, "TLS connection using {tls}");
        match tls.peer_certificates.first() {
            Some(der) => {
                let _ = writeln!(text, "Server certificate:");
                match cert::summarize(der) {
                    Some(summary) => {
                        let _ = writeln!(text, " subject: {}", summary.subject);
                        let _ = writeln!(text, " start date: {}", summary.start);
                        let _ = writeln!(text, " expire date: {}", summary.expire);
                        if !summary.alt_names.is_empty() {
                            let _ =
                                writeln!(text, " subjectAltName: {}", summary.alt_names.join(", "));
                        }
                        let _ = writeln!(text, " issuer: {}", summary.issuer);
                    }
                    None => {
                        let _ =
                            writeln!(text, " ({} bytes of DER that could not be read)", der.len());
                    }
                }
                let verdict = if insecure {
                    " SSL certificate verify result: not checked (--insecure)"
                } else {
                    " SSL certificate verify ok."
                };
                let _ = writeln!(text, "{verdict}");
            }
            None => {
                let _ = writeln!(text, "No server certificate");
            }
        }
    }
    emit("* ", &text);
}

/// The request head as the connection sent it: the request line, `host`
/// (which paf adds first unless given), the fields, and the framing field
/// (which paf adds last).
pub fn request_head(prepared: &Prepared, method: &Method, uri: &Uri, version: Version) {
    let target = match uri.path_and_query() {
        Some(path) if path.as_str().starts_with('/') => path.as_str().to_string(),
        Some(path) => format!("/{}", path.as_str()),
        None => "/".to_string(),
    };
    let mut text = format!("{method} {target} {}\n", version_name(version));
    let headers: &HeaderMap = &prepared.headers;
    if !headers.contains_key(header::HOST) {
        let host = uri
            .authority()
            .map_or("", |a| a.as_str().rsplit('@').next().unwrap_or(""));
        let _ = writeln!(text, "host: {host}");
    }
    for (name, value) in headers {
        let shown = if value.is_sensitive() {
            "<hidden>".into()
        } else {
            String::from_utf8_lossy(value.as_bytes())
        };
        let _ = writeln!(text, "{name}: {shown}");
    }
    let framed = headers.contains_key(header::CONTENT_LENGTH)
        || headers.contains_key(header::TRANSFER_ENCODING);
    if !framed {
        match prepared.body_len {
            Some(0) if bodiless(method) => {}
            Some(len) => {
                let _ = writeln!(text, "content-length: {len}");
            }
            None if version == Version::HTTP_2 => {}
            None => text.push_str("transfer-encoding: chunked\n"),
        }
    }
    text.push('\n');
    emit("> ", &text);
}

fn bodiless(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ]
    .contains(method)
}

/// The response head.
pub fn response_head(res: &paf::client::Response) {
    let mut text = status_line(res.version(), res.status());
    text.push('\n');
    for (name, value) in res.headers() {
        let _ = writeln!(
            text,
            "{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    text.push('\n');
    emit("< ", &text);
}

/// A free-form `* ` line.
pub fn note(text: &str) {
    emit("* ", text);
}
