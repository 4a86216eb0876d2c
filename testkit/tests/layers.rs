//! The layer order of each library crate, written once, and the check that
//! every module imports only from the layers below its own.

use std::path::{Path, PathBuf};

use testkit::TempDir;
use testkit::layers::check;

/// paf, bottom first.
const PAF: &[&[&str]] = &[
    // The error type.
    &["error"],
    // Shared pieces: timers, the date cache, the shutdown flag, replayed
    // bytes, PAF_DEBUG, discarding after an early answer, the servers'
    // protocol-error hook (which hands over an error).
    &[
        "date",
        "debug",
        "linger",
        "protocol_error",
        "rewind",
        "signal",
        "timer",
    ],
    // Bodies of both protocols; taking over a connection.
    &["body", "upgrade"],
    // The protocols, which do not know each other.
    &["h1", "h2"],
    // What users call: serving, sending, ready-made responses.
    &["server", "client", "respond"],
    // Entry points for the fuzz targets, only under `cfg(fuzzing)`.
    &["fuzzing"],
];

/// conduit, bottom first.
const CONDUIT: &[&[&str]] = &[
    &["error"],
    &["target", "shutdown", "listener"],
    &["endpoint"],
    &["resolver", "serve"],
    // hyper interop (feature `hyper`): the connector over the resolver,
    // hyper's servers on the accept loop.
    &["hyper"],
];

/// mimic, bottom first.
const MIMIC: &[&[&str]] = &[
    &["key"],
    // Well-known keys; what reports are made of.
    &["keys", "report"],
    // Derivations; flows.
    &["derive", "flow"],
    // Protocols and layers; the resolution error.
    &["protocol", "error"],
    &["ctx"],
    &["resolve"],
    // The built-in protocols, and the context that registers them.
    &["proto"],
    &["builtins"],
];

/// tcpip, bottom first.
const TCPIP: &[&[&str]] = &[
    // The error type; the random draws.
    &["error", "rng"],
    // What a stack is configured with, and what carries its frames.
    &["config", "link"],
    // The interface, its sockets and the driver task.
    &["stack"],
    // What runs on the stack: TCP, DNS.
    &["tcp", "dns"],
    // mimic's protocol and derivation.
    &["protocol"],
];

/// acme, bottom first.
const ACME: &[&[&str]] = &[
    &["kind"],
    &["error"],
    // Events, settings, the cache directory, certificates read from PEM,
    // the challenge answers in place, the HTTP client over paf.
    &[
        "event",
        "settings",
        "cache",
        "certificate",
        "challenges",
        "transport",
    ],
    // What servers plug in (the HTTP-01 layer, the certificate resolver),
    // and the builder.
    &["http01", "resolver", "builder"],
    // The account; one order.
    &["account", "issue"],
    // The manager: loading, ordering, installing, renewing.
    &["manager"],
];

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

fn assert_layered(name: &str, layers: &[&[&str]]) {
    let violations = match check(&crate_src(name), layers) {
        Ok(violations) => violations,
        Err(err) => panic!("cannot read {name}'s sources: {err}"),
    };
    let lines: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(
        lines.is_empty(),
        "{name}'s modules break the layer order (testkit/tests/layers.rs):\n{}",
        lines.join("\n")
    );
}

#[test]
fn paf_runs_one_way() {
    assert_layered("paf", PAF);
}

#[test]
fn conduit_runs_one_way() {
    assert_layered("conduit", CONDUIT);
}

#[test]
fn mimic_runs_one_way() {
    assert_layered("mimic", MIMIC);
}

#[test]
fn tcpip_runs_one_way() {
    assert_layered("tcpip", TCPIP);
}

#[test]
fn acme_runs_one_way() {
    assert_layered("acme", ACME);
}

/// A copy of paf's layout where `body` names `h2`: the check must fail.
#[test]
fn an_upward_import_fails_the_check() {
    let dir = TempDir::new("layers");
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("a directory in the temporary tree");
        }
        std::fs::write(path, text).expect("a file in the temporary tree");
    };
    write(
        "lib.rs",
        "mod body;\nmod error;\nmod h2;\npub use error::Error;\n",
    );
    write("error.rs", "pub struct Error;\n");
    write("h2/mod.rs", "use crate::body::Body;\nuse crate::Error;\n");
    write(
        "body/mod.rs",
        "use crate::Error;\npub struct Body(crate::h2::Recv);\n#[cfg(test)]\nuse crate::h2::Tested;\n",
    );
    let layers: &[&[&str]] = &[&["error"], &["body"], &["h2"]];
    let violations = check(dir.path(), layers).expect("the temporary tree is readable");
    let found: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        ["body/mod.rs: `body` uses `crate::h2`: upward import"]
    );

    // Siblings in one layer must not know each other either.
    let flat: &[&[&str]] = &[&["error"], &["body", "h2"]];
    let violations = check(dir.path(), flat).expect("the temporary tree is readable");
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(
        violations
            .iter()
            .all(|v| v.why == "sideways import within a layer")
    );

    // A module left out of the table is named.
    let partial: &[&[&str]] = &[&["error"], &["body"]];
    let violations = check(dir.path(), partial).expect("the temporary tree is readable");
    assert!(violations.iter().any(|v| v.to == "h2"), "{violations:?}");
}
