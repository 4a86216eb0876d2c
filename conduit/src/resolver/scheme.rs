//! Scheme defaults: port, TLS and ALPN; `/etc/services` for more ports.

use std::collections::BTreeMap;

/// What a scheme implies when the URI does not say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheme {
    /// The default port.
    pub port: u16,
    /// Whether connections are TLS.
    pub tls: bool,
    /// The application protocols to offer over TLS, most preferred first.
    pub alpn: Vec<Vec<u8>>,
}

impl Scheme {
    /// A clear-text scheme on `port`.
    pub fn plain(port: u16) -> Scheme {
        Scheme {
            port,
            tls: false,
            alpn: Vec::new(),
        }
    }

    /// A TLS scheme on `port` offering `alpn`.
    pub fn tls(port: u16, alpn: &[&[u8]]) -> Scheme {
        Scheme {
            port,
            tls: true,
            alpn: alpn.iter().map(|p| p.to_vec()).collect(),
        }
    }
}

pub(crate) fn builtin() -> BTreeMap<String, Scheme> {
    BTreeMap::from([
        ("http".to_string(), Scheme::plain(80)),
        ("https".to_string(), Scheme::tls(443, &[b"h2", b"http/1.1"])),
        ("ws".to_string(), Scheme::plain(80)),
        ("wss".to_string(), Scheme::tls(443, &[b"http/1.1"])),
    ])
}

/// The TCP services of an `/etc/services` file: `(name, port)` for every
/// name and alias of each `port/tcp` line.
pub(crate) fn parse_services(text: &str) -> Vec<(String, u16)> {
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(name), Some(port_proto)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((port, "tcp")) = port_proto.split_once('/') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        for name in std::iter::once(name).chain(words) {
            found.push((name.to_ascii_lowercase(), port));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_lines_give_tcp_names_and_aliases() {
        let text = "# comment\nftp\t\t21/tcp\nhttp-alt 8080/tcp webcache # alias\nntp 123/udp\nbroken x/tcp\n\nimaps 993/tcp\n";
        assert_eq!(
            parse_services(text),
            [
                ("ftp".to_string(), 21),
                ("http-alt".to_string(), 8080),
                ("webcache".to_string(), 8080),
                ("imaps".to_string(), 993)
            ]
        );
    }
}
