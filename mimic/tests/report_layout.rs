//! How a report reads: what was attempted first, candidates never in play
//! summed up on one line, and a headline that counts the lines below it.

use mimic::{Ctx, keys, tls};

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn clear_text(port: u16) -> Ctx {
    Ctx::new()
        .with_builtins()
        .with(&keys::HOST, "127.0.0.1".to_string())
        .with(&keys::PORT, port)
}

/// TLS and Unix sockets have no input for a clear-text TCP connection:
/// one line names them, and nothing reads as if TLS had been expected.
#[tokio::test]
async fn candidates_without_input_are_summed_up_after_the_attempts() {
    let port = closed_port();
    let err = clear_text(port).resolve().await.expect_err("refused");
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        "could not connect: all 1 attempted candidates failed"
    );
    let attempt = format!("  1. tcp (priority 20) 127.0.0.1:{port}: tcp failed after ");
    assert!(lines[1].starts_with(&attempt), "{text}");
    assert_eq!(lines[2], "  never applicable (no input set): tls, unix");
    assert!(!text.contains("tls server name"), "{text}");
}

/// `explain` and `Report::full` show every candidate whole, in order.
#[tokio::test]
async fn explain_and_full_show_every_candidate() {
    let port = closed_port();
    let plan = clear_text(port).explain().await.to_string();
    let expected = [
        "  1. tls (priority 0): not built: missing input `tls server name` (for `tls endpoint`)",
        "  2. unix (priority 10): not built: missing input `unix path`",
        &format!("  3. tcp (priority 20) 127.0.0.1:{port}: would be tried"),
    ];
    assert_eq!(plan, format!("{}\n", expected.join("\n")));
    let err = clear_text(port).resolve().await.expect_err("refused");
    let full = err.report().full().to_string();
    assert!(
        full.starts_with(&format!("{}\n{}\n", expected[0], expected[1])),
        "{full}"
    );
}

/// A candidate with some input but not all is in play: numbered, after the
/// attempts, and counted in the headline.
#[tokio::test]
async fn a_candidate_with_some_input_is_shown_and_counted() {
    let port = closed_port();
    // ALPN without a server name: TLS was asked for, half-way. The TLS
    // layer then wraps nothing and TCP is tried bare.
    let ctx = clear_text(port).with(&tls::ALPN, vec![b"h2".to_vec()]);
    let err = ctx.resolve().await.expect_err("refused");
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "could not connect: all 1 attempted candidates failed; 1 more could not be built",
        "{text}"
    );
    assert!(lines[1].starts_with("  1. tcp (priority 20) "), "{text}");
    assert_eq!(
        lines[2],
        "  2. tls (priority 0): not built: missing input `tls server name` (for `tls endpoint`)"
    );
    assert_eq!(lines[3], "  never applicable (no input set): unix");
    assert_eq!(lines.len(), 4, "{text}");
}
