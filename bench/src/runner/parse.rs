//! Readers of the load generators' output: wrk's, h2load's,
//! `handshake-load`'s and `client-load`'s. They fill in the counts and rates; the server's CPU
//! figures are left at zero for the run to add.

use std::collections::HashMap;

use crate::Res;
use crate::runner::results::{ClientRun, LoadRun};

/// Reads wrk's `N requests in`, `Socket errors:`, `Non-2xx or 3xx
/// responses:` and `Requests/sec:` lines.
pub(crate) fn parse_wrk(out: &str) -> Res<LoadRun> {
    let mut rps = None;
    let mut completed = None;
    let mut errors = 0;
    let mut detail = Vec::new();
    for line in out.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("Requests/sec:") {
            rps = Some(value.trim().parse::<f64>()?);
        } else if line.contains(" requests in ") {
            completed = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok());
        } else if let Some(value) = line.strip_prefix("Socket errors:") {
            // connect 0, read 0, write 0, timeout 0
            for part in value.split(',') {
                if let Some(n) = part.split_whitespace().nth(1) {
                    errors += n.parse::<u64>()?;
                }
            }
            detail.push(line.to_string());
        } else if let Some(value) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += value.trim().parse::<u64>()?;
            detail.push(line.to_string());
        }
    }
    let total = completed.ok_or("no `requests in` line in wrk's output")?;
    Ok(LoadRun {
        rps: rps.ok_or("no `Requests/sec:` line in wrk's output")?,
        // wrk's count includes the non-2xx responses.
        completed: total.saturating_sub(errors),
        errors,
        error_detail: detail.join("; "),
        cpu_us_per_req: 0.0,
        load_busy: 0.0,
    })
}

/// Reads h2load's `Application protocol:`, `finished in ..., N req/s`,
/// `requests: ...` and `status codes: ...` lines. Every request must have
/// succeeded with a 2xx, over `protocol`.
pub(crate) fn parse_h2load(out: &str, requested: u64, protocol: &str) -> Res<LoadRun> {
    /// `requests: 10 total, 10 started, ...` → {"total": 10, ...}
    fn counts(list: &str) -> Res<HashMap<String, u64>> {
        let mut map = HashMap::new();
        for part in list.split(',') {
            let mut words = part.split_whitespace();
            if let (Some(n), Some(name)) = (words.next(), words.next()) {
                map.insert(name.to_string(), n.parse()?);
            }
        }
        Ok(map)
    }
    let mut rps = None;
    let mut requests = None;
    let mut statuses = None;
    let mut protocols = Vec::new();
    for line in out.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("Application protocol:") {
            protocols.push(name.trim());
        } else if line.starts_with("finished in") {
            rps = line
                .split(',')
                .find_map(|part| part.trim().strip_suffix(" req/s"))
                .map(|n| n.trim().parse::<f64>())
                .transpose()?;
        } else if let Some(list) = line.strip_prefix("requests:") {
            requests = Some((line.to_string(), counts(list)?));
        } else if let Some(list) = line.strip_prefix("status codes:") {
            statuses = Some((line.to_string(), counts(list)?));
        }
    }
    let (requests_line, requests) = requests.ok_or("no `requests:` line in h2load's output")?;
    let (statuses_line, statuses) = statuses.ok_or("no `status codes:` line in h2load's output")?;
    // One line per connection; a server that answered in another protocol
    // would be measuring something else.
    if let Some(other) = protocols.iter().find(|&&name| name != protocol) {
        return Err(format!("h2load spoke `{other}`, not `{protocol}`").into());
    }
    let count = |map: &HashMap<String, u64>, key: &str| map.get(key).copied().unwrap_or(0);
    // h2load counts 3xx as success and may count a 2xx whose stream then
    // failed: only requests that are both are good.
    let good = count(&requests, "succeeded")
        .saturating_sub(count(&statuses, "3xx"))
        .min(count(&statuses, "2xx"));
    Ok(LoadRun {
        rps: rps.ok_or("no `req/s` in h2load's `finished in` line")?,
        completed: good,
        errors: requested.saturating_sub(good),
        error_detail: format!("{requests_line}; {statuses_line}"),
        cpu_us_per_req: 0.0,
        load_busy: 0.0,
    })
}

/// Reads h2load's output over TLS: `TLS Protocol: TLSv1.3`, then as
/// [`parse_h2load`] over `h2`.
pub(crate) fn parse_h2load_tls13(out: &str, requested: u64) -> Res<LoadRun> {
    let protocol = out
        .lines()
        .find_map(|line| line.trim().strip_prefix("TLS Protocol:"))
        .ok_or("no `TLS Protocol:` line in h2load's output")?
        .trim();
    if protocol != "TLSv1.3" {
        return Err(format!("h2load negotiated {protocol}, not TLSv1.3").into());
    }
    parse_h2load(out, requested, "h2")
}

/// The `key=value` fields of the line of `tool`'s output that starts with
/// `first`, read as numbers by [`Fields::number`].
struct Fields<'a> {
    tool: &'static str,
    line: &'a str,
    values: HashMap<&'a str, &'a str>,
}

impl<'a> Fields<'a> {
    fn of(out: &'a str, tool: &'static str, first: &str) -> Res<Fields<'a>> {
        let line = out
            .lines()
            .find(|line| line.starts_with(first))
            .ok_or_else(|| format!("no result line in {tool}'s output"))?;
        let values = line
            .split_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .collect();
        Ok(Fields { tool, line, values })
    }

    fn number(&self, key: &str) -> Res<f64> {
        Ok(self
            .values
            .get(key)
            .ok_or_else(|| format!("no `{key}=` in {}'s output", self.tool))?
            .parse::<f64>()?)
    }
}

/// Reads `handshake-load`'s `handshakes=N secs=S rate=R errors=N` line:
/// the rate is handshakes per second.
pub(crate) fn parse_handshake_load(out: &str) -> Res<LoadRun> {
    parse_rate_line(out, "handshake-load", "handshakes")
}

/// Reads `download-load`'s `downloads=N bytes=B secs=S rate=R errors=N`
/// line: the rate is downloads per second.
pub(crate) fn parse_download_load(out: &str) -> Res<LoadRun> {
    parse_rate_line(out, "download-load", "downloads")
}

/// The line of `tool` that starts with `count=N`, with `rate=` and
/// `errors=` fields.
fn parse_rate_line(out: &str, tool: &'static str, count: &str) -> Res<LoadRun> {
    let fields = Fields::of(out, tool, &format!("{count}="))?;
    Ok(LoadRun {
        rps: fields.number("rate")?,
        completed: fields.number(count)? as u64,
        errors: fields.number("errors")? as u64,
        error_detail: fields.line.to_string(),
        cpu_us_per_req: 0.0,
        load_busy: 0.0,
    })
}

/// Reads `client-load`'s `client=... requests=N ... errors=N` line.
pub(crate) fn parse_client_load(out: &str) -> Res<ClientRun> {
    let fields = Fields::of(out, "client-load", "client=")?;
    Ok(ClientRun {
        rps: fields.number("rps")?,
        completed: fields.number("requests")? as u64,
        errors: fields.number("errors")? as u64,
        cpu_us_per_req: fields.number("cpu_us_per_req")?,
        client_busy: fields.number("cpu_busy")?,
        server_busy: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 3s test @ http://127.0.0.1:46407/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   383.24us   52.10us   2.10ms   90.00%
    Req/Sec   167.20k     3.00k  170.00k    80.00%
  499083 requests in 3.00s, 59.02MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 166361.02
Transfer/sec:     19.67MB
";

    const H2LOAD: &str = "Application protocol: h2c
finished in 346.47ms, 144312.10 req/s, 15.83MB/s
requests: 50000 total, 50000 started, 50000 done, 49990 succeeded, 10 failed, 10 errored, 0 timeout
status codes: 49985 2xx, 5 3xx, 0 4xx, 0 5xx
traffic: 5.48MB (5750000) total, 3.81MB (4000000) headers (space savings 0.00%), 648.44KB (664000) data
";

    #[test]
    fn wrk_output() -> Res<()> {
        let run = parse_wrk(WRK)?;
        assert_eq!(run.rps, 166361.02);
        assert_eq!(run.errors, 7);
        assert_eq!(run.completed, 499083 - 7);
        Ok(())
    }

    #[test]
    fn h2load_output() -> Res<()> {
        let run = parse_h2load(H2LOAD, 50000, "h2c")?;
        assert_eq!(run.rps, 144312.10);
        assert_eq!(run.errors, 15);
        assert_eq!(run.completed, 49985);
        assert!(parse_h2load(H2LOAD, 50000, "http/1.1").is_err());
        Ok(())
    }

    #[test]
    fn h2load_statuses() -> Res<()> {
        // Every request succeeded, but not all with a 2xx.
        let out = "Application protocol: h2c
finished in 1.00s, 100.00 req/s, 1.00KB/s
requests: 100 total, 100 started, 100 done, 100 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 98 2xx, 1 3xx, 1 4xx, 0 5xx
";
        let run = parse_h2load(out, 100, "h2c")?;
        assert_eq!(run.errors, 2);
        assert_eq!(run.completed, 98);
        Ok(())
    }

    #[test]
    fn tls_outputs() -> Res<()> {
        let tls = format!(
            "TLS Protocol: TLSv1.3\nCipher: TLS_AES_128_GCM_SHA256\n{}",
            H2LOAD.replace("h2c", "h2")
        );
        assert_eq!(parse_h2load_tls13(&tls, 50000)?.completed, 49985);
        assert!(parse_h2load_tls13(&tls.replace("TLSv1.3", "TLSv1.2"), 50000).is_err());
        assert!(parse_h2load_tls13(H2LOAD, 50000).is_err());
        let run = parse_handshake_load("handshakes=3000 secs=2.000 rate=1500.0 errors=1\n")?;
        assert_eq!((run.rps, run.completed, run.errors), (1500.0, 3000, 1));
        assert!(parse_handshake_load("rate=1\n").is_err());
        let out = "downloads=276 bytes=18522046464 secs=3.001 rate=91.96 errors=0\n";
        let run = parse_download_load(out)?;
        assert_eq!((run.rps, run.completed, run.errors), (91.96, 276, 0));
        assert!(parse_download_load("handshakes=1 rate=1 errors=0\n").is_err());
        Ok(())
    }

    #[test]
    fn client_load_output() -> Res<()> {
        let out = "client=paf proto=h2 requests=265120 secs=3.001 rps=88342.6 \
                   cpu_us_per_req=4.866 cpu_busy=0.430 errors=2\n";
        let run = parse_client_load(out)?;
        assert_eq!(run.rps, 88342.6);
        assert_eq!(run.completed, 265120);
        assert_eq!(run.errors, 2);
        assert_eq!(run.cpu_us_per_req, 4.866);
        assert_eq!(run.client_busy, 0.43);
        assert!(parse_client_load("client=paf rps=1\n").is_err());
        assert!(parse_client_load("").is_err());
        Ok(())
    }
}
