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

/// The names among `known` closest to `name`, closest first, at most
/// three: those a typing slip away (an edit distance of at most a third of
/// the name's length, and at least 1), or that start with `name` or that
/// `name` starts with (`postgres` for `postgresql`).
pub(crate) fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Vec<String> {
    let limit = (name.chars().count() / 3).max(1);
    let mut near: Vec<(usize, &str)> = known
        .filter(|k| *k != name)
        .filter_map(|k| {
            let d = distance(name, k);
            let prefix =
                k.len() > 1 && name.len() > 1 && (k.starts_with(name) || name.starts_with(k));
            (d <= limit || prefix).then_some((d, k))
        })
        .collect();
    near.sort();
    near.dedup();
    near.into_iter()
        .take(3)
        .map(|(_, k)| k.to_string())
        .collect()
}

/// The optimal string alignment distance: insertions, deletions,
/// substitutions and swaps of neighbours (`htpt` for `http`) count one.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names_are_a_slip_away_or_share_a_prefix() {
        let known = [
            "http", "https", "ws", "wss", "unix", "postgres", "ftp", "gopher",
        ];
        let near = |name| closest(name, known.iter().copied());
        assert_eq!(near("htps"), ["https"]);
        assert_eq!(near("htpts"), ["https"]);
        assert_eq!(near("hhtp"), ["http"]);
        assert_eq!(near("postgresql"), ["postgres"]);
        assert_eq!(near("ftp2"), ["ftp"]);
        assert_eq!(near("w"), ["ws"]);
        assert!(near("zzzzzz").is_empty());
        assert!(
            near("http").iter().all(|k| k != "http"),
            "the name itself is not a suggestion"
        );
    }

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
