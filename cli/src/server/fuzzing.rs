//! Entry points for the fuzz targets in `fuzz/`: how `paf-server` maps a
//! request path into the served directory.
//!
//! Compiled only with `--cfg fuzzing`, which cargo-fuzz sets; not part of
//! the API.

use std::path::PathBuf;

/// The path relative to the served directory that a request path names,
/// or the reason it is refused (`400`).
pub fn relative(path: &str) -> Result<PathBuf, String> {
    super::path::relative(path).map_err(|why| why.to_string())
}

/// The `Location` of the redirect that adds a `/` to a directory's path.
pub fn directory_location(relative: &std::path::Path, query: Option<&str>) -> String {
    super::files::directory_location(relative, query)
}
