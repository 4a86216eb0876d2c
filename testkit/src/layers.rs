//! The layering check: a crate's top-level modules sorted into layers,
//! bottom first, and every `crate::` path checked against them.
//!
//! A module may name modules of lower layers only: never one of its own
//! layer (siblings stay independent) nor one above (no upward import), so
//! no two modules can import each other in a circle. A module missing from
//! the table is an error too: a new module has to be given its place.
//! Code after `#[cfg(test)]` in a file is not checked (tests may reach
//! anywhere), nor are comments.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A `crate::` path that breaks the layering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The file, relative to the crate's `src`.
    pub file: PathBuf,
    /// The module the file belongs to.
    pub from: String,
    /// The module it names.
    pub to: String,
    /// Why that is not allowed.
    pub why: &'static str,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: `{}` uses `crate::{}`: {}",
            self.file.display(),
            self.from,
            self.to,
            self.why
        )
    }
}

/// Checks the crate whose sources are in `src` against `layers`, bottom
/// first. Returns every violation; an empty list is a pass.
pub fn check(src: &Path, layers: &[&[&str]]) -> io::Result<Vec<Violation>> {
    let layer_of = |module: &str| layers.iter().position(|layer| layer.contains(&module));
    let root = ["lib.rs", "main.rs"].map(|name| src.join(name));
    let root = root.iter().find(|path| path.is_file());
    let exports = match root {
        Some(path) => root_exports(&fs::read_to_string(path)?),
        None => HashMap::new(),
    };
    let mut violations = Vec::new();
    for (file, from) in sources(src)? {
        let text = fs::read_to_string(src.join(&file))?;
        let Some(from_layer) = layer_of(&from) else {
            violations.push(Violation {
                file,
                to: from.clone(),
                from,
                why: "the module has no place in the layer table",
            });
            continue;
        };
        for name in crate_paths(&text) {
            // `crate::Error` is `error::Error`, re-exported at the root.
            let to = match exports.get(&name) {
                Some(module) if !is_module(src, &name) => module.clone(),
                _ => name,
            };
            if to == from || !is_module(src, &to) {
                continue;
            }
            let why = match layer_of(&to) {
                None => "the named module has no place in the layer table",
                Some(to_layer) if to_layer > from_layer => "upward import",
                Some(to_layer) if to_layer == from_layer => "sideways import within a layer",
                Some(_) => continue,
            };
            violations.push(Violation {
                file: file.clone(),
                from: from.clone(),
                to,
                why,
            });
        }
    }
    Ok(violations)
}

/// Every `.rs` file under `src` but the crate root, with its top-level
/// module.
fn sources(src: &Path) -> io::Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap_or(&path).to_path_buf();
                if let Some(module) = top_module(&rel) {
                    files.push((rel, module));
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

/// `a` for `a.rs`, `a/mod.rs` and `a/b/c.rs`; none for the crate root.
fn top_module(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Whether `name` is a top-level module of the crate (not a re-exported
/// item such as `crate::Error`).
fn is_module(src: &Path, name: &str) -> bool {
    src.join(format!("{name}.rs")).is_file() || src.join(name).is_dir()
}

/// The names the crate root re-exports (`pub use error::{BoxError, Error};`),
/// each with the module it comes from.
pub fn root_exports(lib: &str) -> HashMap<String, String> {
    let mut exports = HashMap::new();
    for statement in lib.split(';') {
        let statement = statement.trim_start();
        let Some(at) = statement.find("use ") else {
            continue;
        };
        // `pub use` or `pub(crate) use`, after any attributes.
        let before = statement[..at].trim_end();
        let visibility = before.rsplit(['\n', ']']).next().unwrap_or_default().trim();
        if !visibility.starts_with("pub") {
            continue;
        }
        let path = statement[at + 4..].trim();
        let path = path.strip_prefix("self::").unwrap_or(path);
        let path = path.strip_prefix("crate::").unwrap_or(path);
        let Some(module) = first_segment(path) else {
            continue;
        };
        let leaves = match path.find('{') {
            Some(open) => path[open + 1..].trim_end_matches('}').split(',').collect(),
            None => vec![path],
        };
        for leaf in leaves {
            let name = leaf.rsplit(" as ").next().unwrap_or(leaf);
            let name = name.rsplit("::").next().unwrap_or(name).trim();
            if !name.is_empty() {
                exports.insert(name.to_string(), module.clone());
            }
        }
    }
    exports
}

/// The first segment of every `crate::` path in `text`, grouped imports
/// (`crate::{a::X, b}`) included, before any `#[cfg(test)]` and outside
/// comments.
pub fn crate_paths(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let code: String = code
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        // `$crate::` in macros and `other_crate::` are not this crate.
        if before.is_some_and(|c| c == '$' || c == '_' || c.is_alphanumeric()) {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                found.extend(first_segment(item.trim()));
            }
        } else {
            found.extend(first_segment(rest));
        }
    }
    found
}

fn first_segment(path: &str) -> Option<String> {
    let end = path
        .find(|c: char| !(c == '_' || c.is_alphanumeric()))
        .unwrap_or(path.len());
    (end > 0).then(|| path[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_from_uses_groups_and_expressions() {
        let text = "use crate::body::Body;\nuse crate::{error::Error, h1};\n\
                    let x = crate::timer::after(d); // crate::ignored\n\
                    $crate::macros; other_crate::x;\n#[cfg(test)]\nuse crate::tests_only;";
        let found: Vec<_> = crate_paths(text).into_iter().collect();
        assert_eq!(found, ["body", "error", "h1", "timer"]);
    }

    #[test]
    fn root_exports_name_their_modules() {
        let lib = "mod error;\npub use error::{BoxError, Error as E};\n\
                   pub use self::client::Client;\npub mod body;\n\
                   #[cfg(feature = \"dns\")]\npub use proto::dns;\nuse hidden::Thing;\n";
        let exports = root_exports(lib);
        assert_eq!(exports.get("BoxError").map(String::as_str), Some("error"));
        assert_eq!(exports.get("E").map(String::as_str), Some("error"));
        assert_eq!(exports.get("Client").map(String::as_str), Some("client"));
        assert_eq!(exports.get("dns").map(String::as_str), Some("proto"));
        assert_eq!(exports.get("body"), None);
        assert_eq!(exports.get("Thing"), None);
    }
}
