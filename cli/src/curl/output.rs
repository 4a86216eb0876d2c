//! Where the transfer goes: the body and head to stdout or a file (-o,
//! -O, -i, -I, -D), the progress bar, and `-w`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderMap, StatusCode, Version};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::exit::{Failure, code};
use crate::util::version_name;

/// The response head as curl writes it for -i, -I and -D: the status
/// line, the fields, an empty line, each ending with CRLF.
pub fn head_text(version: Version, status: StatusCode, headers: &HeaderMap) -> String {
    let mut text = status_line(version, status);
    text.push_str("\r\n");
    for (name, value) in headers {
        let _ = write!(text, "{name}: ");
        text.push_str(&String::from_utf8_lossy(value.as_bytes()));
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text
}

/// `HTTP/1.1 200 OK`, or `HTTP/2 200 ` as curl writes HTTP/2's (which has
/// no reason phrase).
pub fn status_line(version: Version, status: StatusCode) -> String {
    match version {
        Version::HTTP_2 | Version::HTTP_3 => {
            format!("{} {} ", version_name(version), status.as_u16())
        }
        _ => format!(
            "{} {} {}",
            version_name(version),
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        ),
    }
}

/// `%{http_version}`: `1.1`, `2`.
pub fn version_number(version: Version) -> &'static str {
    version_name(version).trim_start_matches("HTTP/")
}

/// Where body bytes go.
pub enum Target {
    /// Standard output; `checked` refuses binary data on a terminal, as
    /// curl does unless told `-o -`.
    Stdout {
        /// Whether to refuse binary data on a terminal.
        checked: bool,
    },
    /// A file, created when the first byte is written (or at the end).
    File(PathBuf),
}

/// The output of a transfer: created lazily, counting what is written.
pub struct Sink {
    target: Target,
    file: Option<File>,
    /// Body bytes written (`%{size_download}`).
    pub body_bytes: u64,
    progress: Option<ProgressBar>,
}

impl Sink {
    /// An output to `target`, with a progress bar when `progress` is set.
    pub fn new(target: Target, progress: bool) -> Sink {
        let progress =
            progress.then(|| ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()));
        Sink {
            target,
            file: None,
            body_bytes: 0,
            progress,
        }
    }

    /// Announces the body's length to the progress bar.
    pub fn start_body(&mut self, length: Option<u64>) {
        let Some(bar) = &self.progress else {
            return;
        };
        match length {
            Some(len) => {
                bar.set_length(len);
                if let Ok(style) = ProgressStyle::with_template(
                    "{bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {elapsed:>4} [{wide_bar}] {eta}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
            }
            None => {
                if let Ok(style) = ProgressStyle::with_template(
                    "{spinner} {bytes:>10} {bytes_per_sec:>12} {elapsed:>4}",
                ) {
                    bar.set_style(style);
                }
            }
        }
    }

    /// Writes part of the head (-i, -I).
    pub fn write_head(&mut self, text: &str) -> Result<(), Failure> {
        self.write(text.as_bytes())
    }

    /// Writes a piece of the body.
    pub fn write_body(&mut self, data: &[u8]) -> Result<(), Failure> {
        if let Target::Stdout { checked: true } = self.target
            && self.body_bytes == 0
            && data.contains(&0)
            && std::io::stdout().is_terminal()
        {
            return Err(Failure::new(
                code::WRITE_ERROR,
                "Binary output can mess up your terminal. Use \"--output -\" to tell \
                 paf-curl to output it to your terminal anyway, or consider \
                 \"--output <FILE>\" to save to a file.",
            ));
        }
        self.write(data)?;
        self.body_bytes += data.len() as u64;
        if let Some(bar) = &self.progress {
            bar.inc(data.len() as u64);
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), Failure> {
        match &self.target {
            Target::Stdout { .. } => {
                let mut out = std::io::stdout().lock();
                out.write_all(data)
                    .and_then(|()| out.flush())
                    .map_err(|err| write_failure(None, &err))
            }
            Target::File(path) => {
                let file = match &mut self.file {
                    Some(file) => file,
                    None => self.file.insert(create(path)?),
                };
                file.write_all(data)
                    .map_err(|err| write_failure(Some(path), &err))
            }
        }
    }

    /// Ends the output: creates an empty file if nothing was written,
    /// and finishes the progress bar.
    pub fn finish(&mut self, complete: bool) -> Result<(), Failure> {
        if let Some(bar) = self.progress.take() {
            if complete {
                bar.finish();
            } else {
                bar.abandon();
            }
        }
        if let Target::File(path) = &self.target {
            if self.file.is_none() && complete {
                self.file = Some(create(path)?);
            }
            if let Some(file) = &mut self.file {
                file.flush()
                    .map_err(|err| write_failure(Some(path), &err))?;
            }
        }
        Ok(())
    }
}

fn create(path: &Path) -> Result<File, Failure> {
    File::create(path).map_err(|err| {
        Failure::new(
            code::WRITE_ERROR,
            format!("Failed to open the file {}: {err}", path.display()),
        )
    })
}

fn write_failure(path: Option<&Path>, err: &std::io::Error) -> Failure {
    let to = path.map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    Failure::new(
        code::WRITE_ERROR,
        format!("Failure writing output to destination ({to}): {err}"),
    )
}

/// Writes `-D FILE` (or stdout for `-`).
pub fn dump_head(path: &Path, head: &str) -> Result<(), Failure> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(head.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|err| write_failure(None, &err));
    }
    std::fs::write(path, head).map_err(|err| write_failure(Some(path), &err))
}

/// The values `-w` can print.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The status, or `None` when no response arrived.
    pub status: Option<StatusCode>,
    /// The response's protocol version.
    pub version: Option<Version>,
    /// The URL of the last request.
    pub url_effective: String,
    /// How many redirects were followed.
    pub num_redirects: usize,
    /// Body bytes received.
    pub size_download: u64,
    /// The response's header fields.
    pub headers: HeaderMap,
    /// From the start to the end of the transfer.
    pub time_total: Duration,
    /// The peer's and the local address of the connection.
    pub remote: Option<std::net::SocketAddr>,
    /// The local address of the connection.
    pub local: Option<std::net::SocketAddr>,
    /// The exit status.
    pub exit_code: u8,
    /// The error message, if the transfer failed.
    pub error: String,
}

/// Expands a `-w` format: `%{name}`, `%header{name}`, `%%`, and the
/// escapes `\n`, `\r`, `\t`, `\\`. Unknown variables are reported in
/// `warnings` and expand to nothing, as curl does.
pub fn write_out(format: &str, facts: &Facts, warnings: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%{")
            && let Some(end) = after.find('}')
        {
            let name = &after[..end];
            match variable(name, facts) {
                Some(value) => out.push_str(&value),
                None => warnings.push(format!("unknown --write-out variable: '{name}'")),
            }
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix("%header{")
            && let Some(end) = after.find('}')
        {
            let name = &after[..end];
            let values: Vec<_> = facts
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            out.push_str(&values.join(", "));
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('\\')
            && let Some(escaped) = after.chars().next()
        {
            match escaped {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '\\' => out.push('\\'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            rest = &after[escaped.len_utf8()..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn variable(name: &str, facts: &Facts) -> Option<String> {
    let value = match name {
        "http_code" | "response_code" => {
            format!("{:03}", facts.status.map_or(0, |s| s.as_u16()))
        }
        "http_version" => facts.version.map_or("0", version_number).to_string(),
        "url_effective" => facts.url_effective.clone(),
        "num_redirects" => facts.num_redirects.to_string(),
        "size_download" => facts.size_download.to_string(),
        "content_type" => facts
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default(),
        "time_total" => format!("{:.6}", facts.time_total.as_secs_f64()),
        "remote_ip" => facts.remote.map(|a| a.ip().to_string()).unwrap_or_default(),
        "remote_port" => facts
            .remote
            .map(|a| a.port().to_string())
            .unwrap_or_default(),
        "local_ip" => facts.local.map(|a| a.ip().to_string()).unwrap_or_default(),
        "local_port" => facts
            .local
            .map(|a| a.port().to_string())
            .unwrap_or_default(),
        "scheme" => facts
            .url_effective
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_uppercase())
            .unwrap_or_default(),
        "exitcode" => facts.exit_code.to_string(),
        "errormsg" => facts.error.clone(),
        _ => return None,
    };
    Some(value)
}

/// The `-w` format: the text, or a file's contents for `@FILE` (`@-`:
/// stdin).
pub fn read_format(format: &str) -> Result<String, Failure> {
    let Some(source) = format.strip_prefix('@') else {
        return Ok(format.to_string());
    };
    let mut text = String::new();
    let read = if source == "-" {
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text).map(|_| ())
    } else {
        std::fs::read_to_string(source).map(|t| text = t)
    };
    read.map_err(|err| {
        Failure::new(
            code::READ_ERROR,
            format!("cannot read the --write-out format from {source}: {err}"),
        )
    })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_written_as_curl_writes_them() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/plain".parse().expect("value"));
        assert_eq!(
            head_text(Version::HTTP_11, StatusCode::NOT_FOUND, &headers),
            "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n\r\n"
        );
        assert_eq!(
            head_text(Version::HTTP_2, StatusCode::OK, &HeaderMap::new()),
            "HTTP/2 200 \r\n\r\n"
        );
    }

    #[test]
    fn write_out_expands_variables_and_escapes() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/html".parse().expect("value"));
        headers.insert("x-a", "1".parse().expect("value"));
        let facts = Facts {
            status: Some(StatusCode::OK),
            version: Some(Version::HTTP_2),
            url_effective: "https://h/x".into(),
            num_redirects: 2,
            size_download: 42,
            headers,
            time_total: Duration::from_millis(1500),
            ..Facts::default()
        };
        let mut warnings = Vec::new();
        let out = write_out(
            "%{http_code} %{http_version} %{url_effective} %{num_redirects} \
             %{size_download} %{content_type} %{time_total} %{scheme} %header{x-a} \
             100%% %{nope}\\n\\t\\q",
            &facts,
            &mut warnings,
        );
        assert_eq!(
            out,
            "200 2 https://h/x 2 42 text/html 1.500000 HTTPS 1 100% \n\t\\q"
        );
        assert_eq!(warnings, ["unknown --write-out variable: 'nope'"]);
        let failed = write_out(
            "%{http_code} %{http_version}",
            &Facts::default(),
            &mut warnings,
        );
        assert_eq!(failed, "000 0");
    }
}
