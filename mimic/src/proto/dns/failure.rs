//! Why a lookup failed, in words a user can act on: hickory's errors show
//! its internals (`no records found for Query { name: Name("dockr."), ... }`).

use std::error::Error as StdError;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;

/// The name servers a lookup asked, for messages: `None` when unknown (a
/// resolver built by the caller), empty when none is configured.
pub(super) type Servers = Option<std::sync::Arc<[SocketAddr]>>;

/// Why the resolver gave no address. The leaf of a
/// [`LookupError`](super::LookupError)'s chain.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) why: Why,
    servers: Servers,
}

#[derive(Debug)]
pub(super) enum Why {
    /// NXDOMAIN: the name does not exist.
    NoSuchName,
    /// The name exists, without an A or AAAA record.
    NoAddress,
    /// The server answered with an error code.
    Code(ResponseCode),
    /// No answer in time.
    TimedOut(Duration),
    /// No name server could be used.
    NoServer,
    /// The answer held no address (a resolver that gave an empty list).
    Empty,
    /// Anything else, in hickory's words.
    Other(NetError),
}

impl Failure {
    pub(super) fn new(err: NetError, servers: Servers, elapsed: Duration) -> Failure {
        let why = match err {
            NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. })) => {
                match response_code {
                    ResponseCode::NXDomain => Why::NoSuchName,
                    ResponseCode::NoError => Why::NoAddress,
                    code => Why::Code(code),
                }
            }
            NetError::Dns(DnsError::ResponseCode(code)) => Why::Code(code),
            NetError::Timeout => Why::TimedOut(elapsed),
            NetError::NoConnections => Why::NoServer,
            other => Why::Other(other),
        };
        Failure { why, servers }
    }

    pub(super) fn empty(servers: Servers) -> Failure {
        Failure {
            why: Why::Empty,
            servers,
        }
    }
}

/// `10.0.0.1 or 127.0.0.1:5353`: ports shown when not 53.
struct Listed<'a>(&'a [SocketAddr]);

impl fmt::Display for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, server) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(" or ")?;
            }
            match server.port() {
                53 => write!(f, "{}", server.ip())?,
                _ => write!(f, "{server}")?,
            }
        }
        Ok(())
    }
}

/// ` from 10.0.0.1`, or nothing when the servers are unknown.
struct From<'a>(&'a Servers);

impl fmt::Display for From<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_deref() {
            Some(servers) if !servers.is_empty() => write!(f, " from {}", Listed(servers)),
            _ => Ok(()),
        }
    }
}

/// `5 s`, or `300 ms` under a second.
struct Took(Duration);

impl fmt::Display for Took {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_millis() {
            ms @ 0..1000 => write!(f, "{ms} ms"),
            ms => write!(f, "{} s", (ms + 500) / 1000),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = From(&self.servers);
        match &self.why {
            Why::NoSuchName => write!(f, "the name does not exist (NXDOMAIN{from})"),
            Why::NoAddress => write!(f, "the name has no A or AAAA record (NOERROR{from})"),
            Why::Code(ResponseCode::ServFail) => {
                write!(f, "the DNS server failed to answer (SERVFAIL{from})")
            }
            Why::Code(ResponseCode::Refused) => {
                write!(f, "the DNS server refused the query (REFUSED{from})")
            }
            Why::Code(code) => write!(
                f,
                "the DNS server answered `{code}` ({}{from})",
                u16::from(*code)
            ),
            Why::TimedOut(took) => match self.servers.as_deref() {
                Some(s) if !s.is_empty() => {
                    write!(f, "no answer{from}: timed out after {}", Took(*took))
                }
                _ => write!(
                    f,
                    "no answer from the DNS server: timed out after {}",
                    Took(*took)
                ),
            },
            Why::NoServer => match self.servers.as_deref() {
                Some([]) => f.write_str("no DNS server is configured"),
                Some(s) => write!(f, "no DNS server could be used ({})", Listed(s)),
                None => f.write_str("no DNS server could be used"),
            },
            Why::Empty => write!(f, "the answer held no address{from}"),
            Why::Other(err) => write!(f, "{err}"),
        }
    }
}

/// hickory's errors show their own source's text in theirs: the chain
/// stops here, so that nothing is said twice.
impl StdError for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(list: &[&str]) -> Servers {
        let addrs: Vec<SocketAddr> = list.iter().map(|s| s.parse().expect("address")).collect();
        Some(addrs.into())
    }

    #[test]
    fn texts_name_the_answer_and_the_servers() {
        let one = servers(&["10.0.0.1:53"]);
        let two = servers(&["10.0.0.1:53", "127.0.0.1:5353"]);
        let text = |why, servers: &Servers| {
            Failure {
                why,
                servers: servers.clone(),
            }
            .to_string()
        };
        let cases = [
            (
                Why::NoSuchName,
                &one,
                "the name does not exist (NXDOMAIN from 10.0.0.1)",
            ),
            (
                Why::NoSuchName,
                &two,
                "the name does not exist (NXDOMAIN from 10.0.0.1 or 127.0.0.1:5353)",
            ),
            (Why::NoSuchName, &None, "the name does not exist (NXDOMAIN)"),
            (
                Why::NoAddress,
                &one,
                "the name has no A or AAAA record (NOERROR from 10.0.0.1)",
            ),
            (
                Why::Code(ResponseCode::ServFail),
                &one,
                "the DNS server failed to answer (SERVFAIL from 10.0.0.1)",
            ),
            (
                Why::Code(ResponseCode::Refused),
                &one,
                "the DNS server refused the query (REFUSED from 10.0.0.1)",
            ),
            (
                Why::TimedOut(Duration::from_millis(5_010)),
                &one,
                "no answer from 10.0.0.1: timed out after 5 s",
            ),
            (
                Why::TimedOut(Duration::from_millis(300)),
                &None,
                "no answer from the DNS server: timed out after 300 ms",
            ),
            (Why::NoServer, &servers(&[]), "no DNS server is configured"),
            (
                Why::NoServer,
                &one,
                "no DNS server could be used (10.0.0.1)",
            ),
        ];
        for (why, servers, expected) in cases {
            assert_eq!(text(why, servers), expected);
        }
    }
}
