//! From a request's path to a path relative to the served directory.
//!
//! Decoding is strict: every segment is percent-decoded on its own, and a
//! request is refused (with `400 Bad Request`) when a segment decodes to
//! `..`, or contains a `/` (`%2F`), a `\` or a NUL byte. Empty segments and
//! `.` are skipped. What comes out has only normal components, so joining
//! it to the served directory stays inside it, symbolic links aside (the
//! caller checks those on the resolved path).

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use percent_encoding::percent_decode_str;

/// Why a request path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadPath {
    /// The path does not start with `/` (an `OPTIONS *`, say).
    NotAbsolute,
    /// A segment is `..`, plain or percent-encoded.
    ParentSegment,
    /// A segment holds an encoded `/`, a `\` or a NUL byte.
    ForbiddenByte,
}

impl fmt::Display for BadPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadPath::NotAbsolute => "the path does not start with `/`",
            BadPath::ParentSegment => "the path has a `..` segment",
            BadPath::ForbiddenByte => "the path has an encoded `/`, a `\\` or a NUL byte",
        })
    }
}

/// The relative path a request path names, made of normal components
/// only (empty for the root).
pub(crate) fn relative(path: &str) -> Result<PathBuf, BadPath> {
    let rest = path.strip_prefix('/').ok_or(BadPath::NotAbsolute)?;
    let mut relative = PathBuf::new();
    for segment in rest.split('/') {
        let decoded: Vec<u8> = percent_decode_str(segment).collect();
        match &decoded[..] {
            b"" | b"." => continue,
            b".." => return Err(BadPath::ParentSegment),
            bytes if bytes.iter().any(|b| matches!(b, b'/' | b'\\' | 0)) => {
                return Err(BadPath::ForbiddenByte);
            }
            bytes => relative.push(OsStr::from_bytes(bytes)),
        }
    }
    Ok(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_normal_paths() {
        let cases = [
            ("/", ""),
            ("/a/b.txt", "a/b.txt"),
            ("/a//./b/", "a/b"),
            ("/%3Cb%3E%26x.txt", "<b>&x.txt"),
            ("/caf%C3%A9", "café"),
            ("/100%", "100%"),
            ("/a..b/...", "a..b/..."),
        ];
        for (path, want) in cases {
            assert_eq!(relative(path), Ok(PathBuf::from(want)), "{path}");
        }
        assert_eq!(
            relative("/%FF").map(|p| p.as_os_str().as_bytes().to_vec()),
            Ok(vec![0xff])
        );
    }

    #[test]
    fn refuses_traversal_and_odd_bytes() {
        let cases = [
            ("*", BadPath::NotAbsolute),
            ("", BadPath::NotAbsolute),
            ("/../etc/passwd", BadPath::ParentSegment),
            ("/a/../../etc", BadPath::ParentSegment),
            ("/%2e%2e/etc/passwd", BadPath::ParentSegment),
            ("/%2E%2E", BadPath::ParentSegment),
            ("/.%2e/x", BadPath::ParentSegment),
            ("/..%2fetc%2fpasswd", BadPath::ForbiddenByte),
            ("/a%2F..%2F..%2Fetc", BadPath::ForbiddenByte),
            ("/..\\etc", BadPath::ForbiddenByte),
            ("/a%5C..%5Cb", BadPath::ForbiddenByte),
            ("/a%00.txt", BadPath::ForbiddenByte),
        ];
        for (path, want) in cases {
            assert_eq!(relative(path), Err(want), "{path}");
        }
    }
}
