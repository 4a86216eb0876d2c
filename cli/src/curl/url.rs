//! The URL cut into the parts paf-curl reads or changes: whether it has a
//! scheme, its path (for `-O` and `-T`) and its query (for `-G`).
//!
//! The cuts are conduit's ([`conduit::Target`]): the authority ends at the
//! first `/`, `?` or `#` after `scheme://`, the path at the first `?` or
//! `#`, the query at the first `#`. So a `://`, `/` or `?` inside the
//! query or the fragment is never taken for part of the path, and
//! `http+unix://%2Fpath%2Fto.sock/path` URLs, which [`http::Uri`] cannot
//! read, are cut as well.

use std::fmt;

/// A URL of the `scheme://authority/path?query#fragment` form, in parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// `scheme://authority`, as written.
    pub origin: String,
    /// The path, as written: empty, or starting with `/`.
    pub path: String,
    /// The query, without its `?`.
    pub query: Option<String>,
    /// The fragment, without its `#`.
    pub fragment: Option<String>,
}

impl Url {
    /// The parts of `url`, or `None` when it does not start with
    /// `scheme://` (a `unix:/path` URL, or no scheme at all).
    pub fn split(url: &str) -> Option<Url> {
        let (scheme, rest) = url.split_once("://")?;
        if !is_scheme(scheme) {
            return None;
        }
        let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (origin, tail) = url.split_at(scheme.len() + 3 + authority_len);
        let (tail, fragment) = match tail.split_once('#') {
            Some((tail, fragment)) => (tail, Some(fragment.to_string())),
            None => (tail, None),
        };
        let (path, query) = match tail.split_once('?') {
            Some((path, query)) => (path, Some(query.to_string())),
            None => (tail, None),
        };
        Some(Url {
            origin: origin.to_string(),
            path: path.to_string(),
            query,
            fragment,
        })
    }

    /// The last segment of the path (empty when the path is empty or ends
    /// with `/`).
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        f.write_str(&self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        if let Some(fragment) = &self.fragment {
            write!(f, "#{fragment}")?;
        }
        Ok(())
    }
}

/// Whether `url` names its scheme: `scheme://...`, or `unix:`.
pub fn has_scheme(url: &str) -> bool {
    let unix = url
        .get(..5)
        .is_some_and(|start| start.eq_ignore_ascii_case("unix:"));
    unix || url
        .split_once("://")
        .is_some_and(|(scheme, _)| is_scheme(scheme))
}

/// RFC 3986's `scheme`: a letter, then letters, digits, `+`, `-`, `.`.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> (String, String, Option<String>, Option<String>) {
        let url = Url::split(url).expect(url);
        (url.origin, url.path, url.query, url.fragment)
    }

    #[test]
    fn cuts_where_conduit_cuts() {
        let s = |s: &str| s.to_string();
        assert_eq!(
            parts("http://h:1/a/b?x=/evil#/frag"),
            (
                s("http://h:1"),
                s("/a/b"),
                Some(s("x=/evil")),
                Some(s("/frag"))
            )
        );
        assert_eq!(
            parts("http://h?x=/evil"),
            (s("http://h"), s(""), Some(s("x=/evil")), None)
        );
        assert_eq!(
            parts("http://h#/a/b"),
            (s("http://h"), s(""), None, Some(s("/a/b")))
        );
        assert_eq!(
            parts("http+unix://%2Frun%2Fa.sock/v1/x.json?all=1"),
            (
                s("http+unix://%2Frun%2Fa.sock"),
                s("/v1/x.json"),
                Some(s("all=1")),
                None
            )
        );
        for url in [
            "http://h:1/a/b?x=/evil#/frag",
            "http://h?x=/evil",
            "https://u:p@[::1]:8443/",
            "http+unix://%2Frun%2Fa.sock/v1?all=1",
        ] {
            let split = Url::split(url).expect(url);
            assert_eq!(split.to_string(), url);
            // The path and query as conduit reads them.
            let target: conduit::Target = url.parse().expect(url);
            let query = split.query.map(|q| format!("?{q}")).unwrap_or_default();
            let path = if split.path.is_empty() {
                "/"
            } else {
                &split.path
            };
            assert_eq!(target.path_and_query(), format!("{path}{query}"), "{url}");
        }
        assert_eq!(Url::split("unix:/run/a.sock"), None);
        assert_eq!(Url::split("127.0.0.1:8000/a?next=http://x"), None);
    }

    #[test]
    fn file_names_come_from_the_path_only() {
        let name = |url: &str| Url::split(url).expect(url).file_name().to_string();
        assert_eq!(name("http://h/a/b.txt?x=/evil#/frag"), "b.txt");
        assert_eq!(name("http://h?x=/evil"), "");
        assert_eq!(name("http://h#/evil"), "");
        assert_eq!(name("http://h/a/?x=/evil"), "");
    }

    #[test]
    fn schemes_are_found_at_the_start_only() {
        assert!(has_scheme("http://h/"));
        assert!(has_scheme("HTTPS://h/"));
        assert!(has_scheme("http+unix://%2Fa.sock/"));
        assert!(has_scheme("unix:/run/a.sock"));
        assert!(!has_scheme("127.0.0.1:8000/a?next=http://x"));
        assert!(!has_scheme("localhost:8080/x"));
        assert!(!has_scheme("h/path#x://y"));
        assert!(!has_scheme("://h"));
    }
}
