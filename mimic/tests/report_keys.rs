//! Keys of one name told apart in reports: where each was declared, and
//! the value that sits under the wrong one.

use std::io;

use mimic::report::{NotBuilt, Outcome, SameName};
use mimic::{Ctx, Key, Protocol, Registration, keys};

/// A port key of one's own, named as mimic's `keys::PORT`.
static PORT: Key<u16> = Key::new("port");

/// The first missing input of the report, with its same-named key.
fn missing(err: &mimic::ResolveError, protocol: &str) -> Option<SameName> {
    let entry = err
        .report()
        .entries()
        .iter()
        .find(|e| e.protocol == protocol)?;
    match &entry.outcome {
        Outcome::NotBuilt(NotBuilt::Missing { same_name, .. }) => *same_name,
        _ => None,
    }
}

#[tokio::test]
async fn a_value_under_another_key_of_the_name_is_pointed_at() {
    let ctx = Ctx::new()
        .with_builtins()
        .with(&keys::HOST, "127.0.0.1".to_string())
        .with(&PORT, 8080);
    let err = ctx.resolve().await.expect_err("no port for tcp");
    let same = missing(&err, "tcp").expect("the other `port` is found");
    assert_eq!(same.missing, keys::PORT.declared());
    assert_eq!(same.other, PORT.declared());
    assert!(same.has_value);
    let line = format!(
        "missing input `port` (for `tcp endpoint`); a value is set under another key named \
         `port` (declared at {}; the missing one at {})",
        PORT.declared(),
        keys::PORT.declared()
    );
    assert!(err.to_string().contains(&line), "{err}");
    assert!(
        PORT.declared()
            .to_string()
            .starts_with("mimic/tests/report_keys.rs:")
    );
}

/// Without another key of the name, the line is as before.
#[tokio::test]
async fn a_missing_input_alone_reads_as_before() {
    let ctx = Ctx::new()
        .with_builtins()
        .with(&keys::HOST, "127.0.0.1".to_string());
    let err = ctx.resolve().await.expect_err("no port");
    assert_eq!(missing(&err, "tcp"), None);
    assert!(
        err.to_string()
            .contains("tcp (priority 20): not built: missing input `port` (for `tcp endpoint`)\n"),
        "{err}"
    );
}

struct Refuse;

impl Protocol for Refuse {
    type Endpoint = String;
    type Flow = tokio::io::DuplexStream;

    async fn connect(&self, endpoint: &String) -> io::Result<Self::Flow> {
        Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            endpoint.clone(),
        ))
    }
}

/// Each call makes another endpoint key.
fn registration() -> Registration<String> {
    Registration::new("unix-domain-socket", 10, Refuse)
}

/// Two registrations made by one line, one registered and the other's key
/// set: the report says both keys come from that line.
#[tokio::test]
async fn two_keys_made_by_one_line_are_told_apart() {
    let (registered, other) = (registration(), registration());
    assert_ne!(registered.endpoint(), other.endpoint());
    assert_eq!(
        registered.endpoint().declared(),
        other.endpoint().declared()
    );
    let ctx = Ctx::new()
        .with_protocol(&registered)
        .with(other.endpoint(), "/run/app.sock".to_string());
    let err = ctx
        .resolve()
        .await
        .expect_err("the registered key has no value");
    let same = missing(&err, "unix-domain-socket").expect("the other key is found");
    assert_eq!(same.missing, same.other);
    let declared = registered.endpoint().declared();
    assert!(
        declared
            .to_string()
            .starts_with("mimic/tests/report_keys.rs:")
    );
    let line = format!(
        "unix-domain-socket (priority 10): not built: missing input `unix-domain-socket`; \
         a value is set under another key named `unix-domain-socket` (both made at \
         {declared}, by two calls: make the key once and share it)"
    );
    assert!(err.to_string().contains(&line), "{err}");
}
