//! `paf-server`'s exit status and messages when it cannot start: 2 for bad
//! usage, 1 when serving fails (the address and the system's reason named).

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paf-server"))
        .args(args)
        .output()
        .expect("paf-server runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_usage_exits_2_with_a_reason() {
    let cases: &[(&[&str], &str)] = &[
        (&["--bogus"], "--bogus"),
        (&["--listen", "ftp://127.0.0.1:21"], "unknown scheme `ftp`"),
        (&["--listen", "tcp://example.com:80"], "not an IP address"),
        (&["--listen", "tcp://127.0.0.1:70000"], "not a port number"),
        (&["--listen", "8080"], "not an address to listen on"),
        (&["--listen", "tls://127.0.0.1:0"], "needs a certificate"),
        (&["--cert", "c.pem"], "--key"),
        (&["--self-signed"], "need a tls:// listener"),
        (
            &[
                "-l",
                "tls://127.0.0.1:0",
                "--self-signed",
                "--cert",
                "c",
                "--key",
                "k",
            ],
            "cannot be used with",
        ),
        (
            &["-l", "tcp://127.0.0.1:0", "--acme", "example.com"],
            "need a tls:// listener",
        ),
        (
            &["-l", "tls://127.0.0.1:0", "--acme", "example.com"],
            "http-01 needs a tcp:// listener",
        ),
        (
            &[
                "-l",
                "tls://127.0.0.1:0",
                "--acme",
                "example.com",
                "--self-signed",
            ],
            "cannot be used with",
        ),
        (&["--acme-email", "ops@example.com"], "--acme <NAME>"),
        (
            &[
                "-l",
                "tls://127.0.0.1:0",
                "--acme",
                "a.com",
                "--acme-challenge",
                "dns-01",
            ],
            "use http-01 or tls-alpn-01",
        ),
        (&["--grace", "soon"], "not a number of seconds"),
        // Durations that would overflow the clock are refused, not clamped.
        (&["--grace", "1.8e19"], "at most 31536000"),
        (&["--grace=-1"], "not a number of seconds"),
        (&["--grace", "NaN"], "not a number of seconds"),
        (&["--grace", "inf"], "not a number of seconds"),
        // No connection at all would serve nothing: refused, not clamped.
        (&["--max-connections", "0"], "0 is not in 1.."),
        (&["--max-connections=-3"], "--max-connections"),
    ];
    for (args, needle) in cases {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(needle),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let help = run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--listen",
        "--cert",
        "--key",
        "--self-signed",
        "--follow-symlinks",
        "--echo",
        "--grace",
        "--max-connections",
        "--quiet",
    ] {
        assert!(help.contains(option), "{option} missing from --help");
    }
}

#[test]
fn runtime_failures_exit_1_naming_the_cause() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = taken.local_addr().expect("its address").to_string();
    let in_use = run(&["-l", &format!("tcp://{addr}"), "."]);
    assert_eq!(in_use.status.code(), Some(1), "{}", stderr(&in_use));
    let message = stderr(&in_use);
    assert!(message.contains(&addr), "{message}");
    assert!(message.contains("os error"), "{message}");

    let missing = run(&["-l", "tcp://127.0.0.1:0", "/definitely/not/here"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("cannot serve /definitely/not/here"));

    let file = std::env::current_exe().expect("the test binary");
    let not_a_dir = run(&[
        "-l",
        "tcp://127.0.0.1:0",
        file.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(not_a_dir.status.code(), Some(1));
    assert!(stderr(&not_a_dir).contains("not a directory"));

    let bad_cert = run(&[
        "-l",
        "tls://127.0.0.1:0",
        "--cert",
        "/definitely/not/cert.pem",
        "--key",
        "/definitely/not/key.pem",
    ]);
    assert_eq!(bad_cert.status.code(), Some(1));
    assert!(
        stderr(&bad_cert).contains("/definitely/not/cert.pem"),
        "{}",
        stderr(&bad_cert)
    );

    let bad_name = run(&[
        "-l",
        "tls://127.0.0.1:0",
        "--acme",
        "not a name",
        "--acme-challenge",
        "tls-alpn-01",
    ]);
    assert_eq!(bad_name.status.code(), Some(1));
    let message = stderr(&bad_name);
    assert!(
        message.contains("--acme: names: `not a name` is not a DNS name"),
        "{message}"
    );
}
