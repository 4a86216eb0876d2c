//! The access log: one line per request on stderr, written when the
//! response body has been sent (or abandoned), in the Common Log Format
//! with the duration added:
//!
//! ```text
//! 127.0.0.1 - - [21/Nov/2026:02:55:02 +0000] "GET /big.iso HTTP/1.1" 200 1073741824 1234ms
//! ```
//!
//! The remote address is the client's IP address, or `unix` for a Unix
//! socket; the byte count is that of the body; a body cut short (the
//! client went away, the shutdown deadline passed) is marked `incomplete`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use mimic::flow::Addr;
use paf::Body;
use paf::body::FileRegion;
use paf::server::Connected;

use crate::util::{MONTHS, version_name};

/// What the access log line of a request says, gathered as it arrives.
#[derive(Debug)]
pub(crate) struct Entry {
    remote: String,
    request_line: String,
    time: SystemTime,
    start: Instant,
}

impl Entry {
    /// Starts the entry of a request, now.
    pub(crate) fn new<B>(req: &Request<B>) -> Entry {
        let connected = req.extensions().get::<Connected>();
        let peer = connected.and_then(Connected::peer_addr);
        let local = connected.and_then(Connected::local_addr);
        let remote = match (peer, local) {
            (Some(Addr::Inet(addr)), _) => addr.ip().to_string(),
            // Clients of a Unix socket are usually unnamed.
            (Some(Addr::Unix(_)), _) | (None, Some(Addr::Unix(_))) => "unix".to_string(),
            (Some(other), _) => escape(&other.to_string()),
            (None, _) => "-".to_string(),
        };
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().to_string(), ToString::to_string);
        Entry {
            remote,
            request_line: format!(
                "{} {} {}",
                escape(req.method().as_str()),
                escape(&target),
                version_name(req.version())
            ),
            time: SystemTime::now(),
            start: Instant::now(),
        }
    }

    fn line(&self, status: StatusCode, bytes: u64, complete: bool) -> String {
        let mut line = format!(
            "{} - - [{}] \"{}\" {} {} {}ms",
            self.remote,
            clf_time(self.time),
            self.request_line,
            status.as_u16(),
            bytes,
            self.start.elapsed().as_millis()
        );
        if !complete {
            line.push_str(" incomplete");
        }
        line.push('\n');
        line
    }
}

/// A response body that counts what is sent and writes the access log
/// line when it ends or is dropped.
#[derive(Debug)]
pub(crate) struct Logged {
    body: Body,
    /// `None` once the line is written, or when the log is off.
    /// Boxed: a response body is moved several times on its way out, and
    /// most servers run with the log off.
    entry: Option<Box<(Entry, StatusCode)>>,
    sent: u64,
    /// Where the connection may send the body from instead.
    region: Option<FileRegion>,
}

impl Logged {
    /// Logs `body` as the answer to `entry` with `status`; `entry` is
    /// `None` when the access log is off. `region` is the file region the
    /// response names for `sendfile(2)`, if any.
    pub(crate) fn new(
        body: Body,
        entry: Option<Entry>,
        status: StatusCode,
        region: Option<FileRegion>,
    ) -> Logged {
        Logged {
            body,
            entry: entry.map(|entry| Box::new((entry, status))),
            sent: 0,
            region,
        }
    }

    fn write(&mut self, complete: bool) {
        if let Some(logged) = self.entry.take() {
            let (entry, status) = *logged;
            let by_region = self.region.as_ref().map_or(0, FileRegion::sent);
            let line = entry.line(status, self.sent + by_region, complete);
            // One write of the whole line: lines from concurrent requests
            // never interleave.
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

impl HttpBody for Logged {
    type Data = Bytes;
    type Error = paf::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, paf::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.sent += data.len() as u64;
                }
            }
            Poll::Ready(None) => this.write(true),
            Poll::Ready(Some(Err(_))) => this.write(false),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let complete = self.body.is_end_stream()
            || (self.region.as_ref()).is_some_and(|region| region.sent() == region.len());
        self.write(complete);
    }
}

/// Non-printable bytes, quotes and backslashes as `\xNN`.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'"' && byte != b'\\' {
            escaped.push(char::from(byte));
        } else {
            let _ = write!(escaped, "\\x{byte:02x}");
        }
    }
    escaped
}

/// A UTC time broken down: year, month (1-12), day, hour, minute, second.
fn civil(time: SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
    )
}

/// `21/Nov/2026:02:55:02 +0000`.
fn clf_time(time: SystemTime) -> String {
    let (year, month, day, hour, minute, second) = civil(time);
    let month = MONTHS[(month - 1) as usize];
    format!("{day:02}/{month}/{year}:{hour:02}:{minute:02}:{second:02} +0000")
}

/// `2026-11-21 02:55:02`, in UTC, for directory listings.
pub(crate) fn iso_time(time: SystemTime) -> String {
    let (year, month, day, hour, minute, second) = civil(time);
    format!("{year}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::Version;

    use super::*;

    #[test]
    fn formats_times() {
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(clf_time(at(0)), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(at(951_782_400)), "29/Feb/2000:00:00:00 +0000");
        assert_eq!(clf_time(at(1_700_000_000)), "14/Nov/2023:22:13:20 +0000");
        assert_eq!(iso_time(at(4_102_444_799)), "2099-12-31 23:59:59");
        assert_eq!(iso_time(at(1_709_251_199)), "2024-02-29 23:59:59");
    }

    #[test]
    fn escapes_what_could_break_a_line() {
        assert_eq!(escape("/a b?c=\"d\"\\\n"), "/a b?c=\\x22d\\x22\\x5c\\x0a");
        assert_eq!(escape("/caf\u{e9}"), "/caf\\xc3\\xa9");
    }

    #[test]
    fn a_line_has_every_field() {
        let req = Request::get("/x?y=1")
            .version(Version::HTTP_2)
            .body(())
            .expect("a valid request");
        let entry = Entry::new(&req);
        let line = entry.line(StatusCode::PARTIAL_CONTENT, 42, false);
        assert!(line.starts_with("- - - ["), "{line}");
        assert!(line.contains("] \"GET /x?y=1 HTTP/2\" 206 42 "), "{line}");
        assert!(line.ends_with("ms incomplete\n"), "{line}");
    }
}
