//! paf-server's mapping from a request path to a file under the served
//! directory, and the redirect that adds a `/` to a directory's path.
//!
//! The input is tried as a request target (what the server takes the path
//! from) and as a bare path.
//!
//! Checks that a path that is accepted maps to normal components only, so
//! that joined to the served root it stays under it (with `..` resolved
//! lexically, as the kernel would); and that the redirect's `Location` is
//! a path on the same server (never `//host`) that a request can carry and
//! that maps back to the same file.
#![no_main]

use std::path::{Component, Path, PathBuf};

use http::Uri;
use libfuzzer_sys::fuzz_target;
use paf_cli::server::fuzzing::{directory_location, relative};

fuzz_target!(|data: &[u8]| {
    if let Ok(uri) = Uri::try_from(data) {
        check(uri.path(), uri.query());
    }
    if let Ok(path) = std::str::from_utf8(data) {
        check(path, None);
    }
});

fn check(path: &str, query: Option<&str>) {
    let Ok(mapped) = relative(path) else {
        return;
    };
    assert!(
        mapped
            .components()
            .all(|c| matches!(c, Component::Normal(_))),
        "{path:?} maps to {mapped:?}"
    );
    let root = Path::new("/srv/www");
    let joined = lexical(&root.join(&mapped));
    assert!(
        joined.starts_with(root),
        "{path:?} leaves the root: {joined:?}"
    );

    let location = directory_location(&mapped, query);
    assert!(
        location.starts_with('/') && !location.starts_with("//"),
        "{path:?} redirects to {location:?}"
    );
    let uri = match Uri::try_from(location.as_str()) {
        Ok(uri) => uri,
        Err(err) => panic!("{path:?} redirects to {location:?}, not a request target: {err}"),
    };
    assert_eq!(uri.query(), query, "{location:?}");
    assert_eq!(
        relative(uri.path()),
        Ok(mapped),
        "{path:?} redirects to {location:?}, another file"
    );
}

/// `path` with `.` and `..` resolved without the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
