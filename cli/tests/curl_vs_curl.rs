//! `paf-curl` and curl make the same requests against nginx and
//! `paf-server`, and give the same bytes and statuses.
//!
//! Every test runs `paf-curl` and checks what it gave; when curl is
//! installed, curl runs the same command line and must give the same.
//! nginx-backed tests are skipped loudly when nginx is missing (a failure
//! with `PAF_REQUIRE_PEERS=1`).
#![allow(clippy::unwrap_used)]

mod curl_support;
mod support;

use curl_support::{
    HELLO, Nginx, Opts, big_file, curl, curl_with, normalized_echo, normalized_head, paf_curl,
    paf_curl_with, same_as_curl, split_head,
};
use support::{Server, TempDir};

/// GET, HEAD with -I, -i, an error page, and 1 MiB through stdout.
#[test]
fn get_head_and_include_match_curl() {
    let Some(nginx) = Nginx::start() else { return };
    let curl = curl();
    let curl = curl.as_deref();
    let base = nginx.http();
    let hello = format!("{base}/hello.txt");

    let got = same_as_curl(
        curl,
        &["-s", &hello, "-w", "%{http_code} %{http_version}"],
        &Opts::default(),
        0,
    );
    assert_eq!(got.text(), format!("{HELLO}200 1.1"));

    let got = same_as_curl(
        curl,
        &["-s", &format!("{base}/big.bin")],
        &Opts::default(),
        0,
    );
    assert!(got.stdout == big_file(), "1 MiB body differs");

    let missing = format!("{base}/missing");
    let got = same_as_curl(
        curl,
        &["-s", &missing, "-w", "%{http_code}"],
        &Opts::default(),
        0,
    );
    assert!(got.text().ends_with("404"), "{}", got.text());

    let ours = paf_curl(&["-s", "-I", &hello]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let head = normalized_head(&ours.text());
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert!(
        head.contains(&format!("content-length: {}", HELLO.len())),
        "{head:?}"
    );
    if let Some(curl) = curl {
        let theirs = curl_with(curl, &["-s", "-I", &hello], &Opts::default());
        assert_eq!(head, normalized_head(&theirs.text()));
    }

    let ours = paf_curl(&["-s", "-i", &hello]);
    let (our_head, our_body) = split_head(&ours.stdout);
    assert_eq!(our_body, HELLO.as_bytes());
    if let Some(curl) = curl {
        let theirs = curl_with(curl, &["-s", "-i", &hello], &Opts::default());
        let (their_head, their_body) = split_head(&theirs.stdout);
        assert_eq!(normalized_head(&our_head), normalized_head(&their_head));
        assert_eq!(our_body, their_body);
    }
}

/// The request as the echo server saw it, for paf-curl and curl.
fn echo_both(curl: Option<&std::path::Path>, args: &[&str], opts: &Opts) -> Vec<u8> {
    let ours = paf_curl_with(args, opts);
    assert_eq!(ours.code, 0, "paf-curl {args:?}:\n{}", ours.stderr);
    if let Some(curl) = curl {
        let theirs = curl_with(curl, args, opts);
        assert_eq!(theirs.code, 0, "curl {args:?}:\n{}", theirs.stderr);
        assert_eq!(
            normalized_echo(&ours.stdout),
            normalized_echo(&theirs.stdout),
            "{args:?}: the echo differs\npaf-curl:\n{}\ncurl:\n{}",
            ours.text(),
            theirs.text()
        );
    }
    ours.stdout
}

/// -d (several, from a file, from stdin), --data-binary, --data-raw, -G,
/// -X, -H (set, remove, empty), -u, -e: the server sees the same request.
#[test]
fn requests_with_data_and_headers_match_curl() {
    let curl = curl();
    let curl = curl.as_deref();
    let server = Server::start(&["--echo", "-q", "-l", "tcp://127.0.0.1:0"]);
    let url = format!("{}/form", server.http());
    let dir = TempDir::new("curl-data");
    let file = dir.write("data.txt", "one=1\r\ntwo=2\n");
    let at_file = format!("@{}", file.display());
    let none = Opts::default();

    let echo = echo_both(curl, &["-s", "-d", "a=1", "-d", "b=2", &url], &none);
    let (line, fields, body) = normalized_echo(&echo);
    assert_eq!(line, "POST /form HTTP/1.1");
    assert!(fields.contains(&"content-type: application/x-www-form-urlencoded".to_string()));
    assert_eq!(body, b"a=1&b=2");

    let echo = echo_both(curl, &["-s", "--data-binary", &at_file, &url], &none);
    assert_eq!(normalized_echo(&echo).2, b"one=1\r\ntwo=2\n");
    let echo = echo_both(curl, &["-s", "-d", &at_file, "-d", "x=y", &url], &none);
    assert_eq!(normalized_echo(&echo).2, b"one=1two=2&x=y");
    let stdin = Opts {
        stdin: Some(b"from=stdin\n".to_vec()),
        ..Opts::default()
    };
    let echo = echo_both(curl, &["-s", "-d", "@-", &url], &stdin);
    assert_eq!(normalized_echo(&echo).2, b"from=stdin");
    let echo = echo_both(curl, &["-s", "--data-raw", "@not-a-file", &url], &none);
    assert_eq!(normalized_echo(&echo).2, b"@not-a-file");

    let echo = echo_both(curl, &["-s", "-G", "-d", "q=1", "-d", "r=2", &url], &none);
    let (line, fields, body) = normalized_echo(&echo);
    assert_eq!(line, "GET /form?q=1&r=2 HTTP/1.1");
    assert!(
        !fields.iter().any(|f| f.starts_with("content-")),
        "{fields:?}"
    );
    assert!(body.is_empty());

    let echo = echo_both(curl, &["-s", "-X", "PUT", "-d", "v=1", &url], &none);
    assert_eq!(normalized_echo(&echo).0, "PUT /form HTTP/1.1");
    let echo = echo_both(curl, &["-s", "-X", "DELETE", &url], &none);
    assert_eq!(normalized_echo(&echo).0, "DELETE /form HTTP/1.1");

    let echo = echo_both(
        curl,
        &[
            "-s",
            "-H",
            "X-Test: 1",
            "-H",
            "X-Test: 2",
            "-H",
            "Accept:",
            "-H",
            "X-Empty;",
            "-d",
            "z",
            "-H",
            "Content-Type: text/plain",
            &url,
        ],
        &none,
    );
    let fields = normalized_echo(&echo).1;
    assert!(fields.contains(&"x-test: 1".to_string()), "{fields:?}");
    assert!(fields.contains(&"x-test: 2".to_string()), "{fields:?}");
    assert!(fields.contains(&"x-empty: ".to_string()), "{fields:?}");
    assert!(
        fields.contains(&"content-type: text/plain".to_string()),
        "{fields:?}"
    );
    assert!(
        !fields.iter().any(|f| f.starts_with("accept:")),
        "{fields:?}"
    );

    let echo = echo_both(
        curl,
        &["-s", "-u", "ada:secret", "-e", "http://ref.example/", &url],
        &none,
    );
    let fields = normalized_echo(&echo).1;
    assert!(fields.contains(&"authorization: Basic YWRhOnNlY3JldA==".to_string()));
    assert!(fields.contains(&"referer: http://ref.example/".to_string()));

    let ours = paf_curl(&["-s", "-A", "agent/1.0", &url]);
    assert!(
        ours.text().contains("\nuser-agent: agent/1.0\n"),
        "{}",
        ours.text()
    );
    let ours = paf_curl(&["-s", "-H", "User-Agent: other/2", "-A", "agent/1.0", &url]);
    assert!(
        ours.text().contains("\nuser-agent: other/2\n"),
        "{}",
        ours.text()
    );
}

/// -T streams a file with PUT (its name appended to a URL ending in `/`),
/// or stdin chunked.
#[test]
fn uploads_match_curl() {
    let curl = curl();
    let curl = curl.as_deref();
    let server = Server::start(&["--echo", "-q", "-l", "tcp://127.0.0.1:0"]);
    let base = server.http();
    let dir = TempDir::new("curl-upload");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 241) as u8).collect();
    let file = dir.write("upload.bin", &content);
    let path = file.display().to_string();
    let none = Opts::default();

    let echo = echo_both(curl, &["-s", "-T", &path, &format!("{base}/up/")], &none);
    let (line, fields, body) = normalized_echo(&echo);
    assert_eq!(line, "PUT /up/upload.bin HTTP/1.1");
    assert!(
        fields.contains(&format!("content-length: {}", content.len())),
        "{fields:?}"
    );
    assert!(body == content, "the uploaded bytes differ");

    let echo = echo_both(
        curl,
        &["-s", "-T", &path, "-X", "POST", &format!("{base}/x")],
        &none,
    );
    assert_eq!(normalized_echo(&echo).0, "POST /x HTTP/1.1");

    let stdin = Opts {
        stdin: Some(b"streamed from stdin".to_vec()),
        ..Opts::default()
    };
    let echo = echo_both(curl, &["-s", "-T", "-", &format!("{base}/in")], &stdin);
    let (_, fields, body) = normalized_echo(&echo);
    assert!(
        fields.contains(&"transfer-encoding: chunked".to_string()),
        "{fields:?}"
    );
    assert_eq!(body, b"streamed from stdin");
}

/// -T of what is not a regular file (a pipe as `/dev/stdin`, a FIFO)
/// streams it chunked: its length (0) says nothing of its content.
#[test]
fn uploads_from_pipes_are_chunked() {
    let curl = curl();
    let curl = curl.as_deref();
    let server = Server::start(&["--echo", "-q", "-l", "tcp://127.0.0.1:0"]);
    let base = server.http();
    let stdin = Opts {
        stdin: Some(b"streamed from a pipe".to_vec()),
        ..Opts::default()
    };
    let echo = echo_both(
        curl,
        &["-s", "-T", "/dev/stdin", &format!("{base}/in")],
        &stdin,
    );
    let (line, fields, body) = normalized_echo(&echo);
    assert_eq!(line, "PUT /in HTTP/1.1");
    assert!(
        fields.contains(&"transfer-encoding: chunked".to_string()),
        "{fields:?}"
    );
    assert!(
        !fields.iter().any(|f| f.starts_with("content-length:")),
        "{fields:?}"
    );
    assert_eq!(body, b"streamed from a pipe");

    let dir = TempDir::new("curl-fifo");
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|status| status.success()) {
        eprintln!("mkfifo is not available: -T FIFO is not checked");
        return;
    }
    let writer = {
        let fifo = fifo.clone();
        // Opening blocks until paf-curl opens the other end.
        std::thread::spawn(move || std::fs::write(fifo, b"streamed from a FIFO"))
    };
    let fifo = fifo.display().to_string();
    let ours = paf_curl(&["-s", "-T", &fifo, &format!("{base}/up/")]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    writer.join().unwrap().unwrap();
    let (line, fields, body) = normalized_echo(&ours.stdout);
    assert_eq!(line, "PUT /up/fifo HTTP/1.1");
    assert!(
        fields.contains(&"transfer-encoding: chunked".to_string()),
        "{fields:?}"
    );
    assert_eq!(body, b"streamed from a FIFO");
}

/// The URL is read by its parts: -T appends the file's name to the path
/// (never to the query), -O takes the name from the path only, and a
/// `://` in the query of a URL without a scheme is not its scheme.
#[test]
fn urls_are_read_by_their_parts() {
    let curl = curl();
    let curl = curl.as_deref();
    let server = Server::start(&["--echo", "-q", "-l", "tcp://127.0.0.1:0"]);
    let base = server.http();
    let none = Opts::default();
    let dir = TempDir::new("curl-url-parts");
    let file = dir.write("a.txt", "hello");
    let path = file.display().to_string();

    let echo = echo_both(curl, &["-s", "-T", &path, &format!("{base}?x=1")], &none);
    assert_eq!(normalized_echo(&echo).0, "PUT /a.txt?x=1 HTTP/1.1");
    let echo = echo_both(
        curl,
        &["-s", "-T", &path, &format!("{base}/up/?x=/y")],
        &none,
    );
    assert_eq!(normalized_echo(&echo).0, "PUT /up/a.txt?x=/y HTTP/1.1");

    let bare = base.trim_start_matches("http://");
    let echo = echo_both(curl, &["-s", &format!("{bare}/a?next=http://x")], &none);
    assert_eq!(normalized_echo(&echo).0, "GET /a?next=http://x HTTP/1.1");

    // -m 0 and --connect-timeout 0: no limit, and the default.
    let echo = echo_both(
        curl,
        &[
            "-s",
            "-m",
            "0",
            "--connect-timeout",
            "0",
            &format!("{base}/t"),
        ],
        &none,
    );
    assert_eq!(normalized_echo(&echo).0, "GET /t HTTP/1.1");

    for (name, program) in [("paf-curl", None), ("curl", curl)] {
        if name == "curl" && program.is_none() {
            continue;
        }
        let out = TempDir::new("curl-remote-name");
        let opts = Opts {
            dir: Some(out.path()),
            ..Opts::default()
        };
        let run = |args: &[&str]| match program {
            Some(curl) => curl_with(curl, args, &opts),
            None => paf_curl_with(args, &opts),
        };
        for url in [
            format!("{base}?x=/evil"),
            format!("{base}/?x=/evil"),
            format!("{base}/dir/?x=/../evil"),
            format!("{base}#/evil"),
        ] {
            let got = run(&["-s", "-O", &url]);
            assert_eq!(got.code, 23, "{name} -O {url}: {}", got.stderr);
        }
        let got = run(&["-s", "-O", &format!("{base}/b.txt?x=/evil#/evil")]);
        assert_eq!(got.code, 0, "{name}: {}", got.stderr);
        let written: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(written, ["b.txt"], "{name}");
    }
}

/// Without -L a redirect is the response; with -L it is followed, and
/// `-w` counts it; --max-redirs stops it.
#[test]
fn redirects_match_curl() {
    let Some(nginx) = Nginx::start() else { return };
    let curl = curl();
    let curl = curl.as_deref();
    let first = format!("{}/redirect/1", nginx.http());
    let none = Opts::default();
    let w = "%{http_code} %{num_redirects} %{url_effective}";

    let got = same_as_curl(curl, &["-s", &first, "-w", w], &none, 0);
    assert!(
        got.text().ends_with(&format!("302 0 {first}")),
        "{}",
        got.text()
    );
    let got = same_as_curl(curl, &["-sL", &first, "-w", w], &none, 0);
    assert_eq!(
        got.text(),
        format!("{HELLO}200 2 {}/hello.txt", nginx.http())
    );
    same_as_curl(curl, &["-sL", "--max-redirs", "1", &first], &none, 47);
    same_as_curl(curl, &["-sL", "--max-redirs", "0", &first], &none, 47);
    // curl -iL writes every head on the way; paf-curl only the last one's.
    let got = same_as_curl(
        curl,
        &["-sIL", "-o", "/dev/null", &first, "-w", w],
        &none,
        0,
    );
    assert_eq!(got.text(), format!("200 2 {}/hello.txt", nginx.http()));
}

/// -o FILE and -O write the same files as curl's.
#[test]
fn output_files_match_curl() {
    let Some(nginx) = Nginx::start() else { return };
    let curl = curl();
    let url = format!("{}/big.bin", nginx.http());
    for (name, program) in [("paf-curl", None), ("curl", curl.as_deref())] {
        if name == "curl" && program.is_none() {
            continue;
        }
        let dir = TempDir::new("curl-output");
        let opts = Opts {
            dir: Some(dir.path()),
            ..Opts::default()
        };
        let run = |args: &[&str]| match program {
            Some(curl) => curl_with(curl, args, &opts),
            None => paf_curl_with(args, &opts),
        };
        let got = run(&["-s", "-o", "named.out", &url]);
        assert_eq!(got.code, 0, "{name}: {}", got.stderr);
        assert!(got.stdout.is_empty());
        assert!(std::fs::read(dir.path().join("named.out")).unwrap() == big_file());
        let got = run(&["-s", "-O", &url]);
        assert_eq!(got.code, 0, "{name}: {}", got.stderr);
        assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == big_file());
        let got = run(&[
            "-s",
            "-i",
            "-o",
            "with-head.out",
            &format!("{}/hello.txt", nginx.http()),
        ]);
        assert_eq!(got.code, 0, "{name}: {}", got.stderr);
        let written = std::fs::read(dir.path().join("with-head.out")).unwrap();
        assert!(written.starts_with(b"HTTP/1.1 200 OK\r\n"), "{name}");
        assert!(written.ends_with(HELLO.as_bytes()), "{name}");
    }
}

/// --unix-socket, --resolve and --connect-to reach the same server; so
/// does paf-curl's `http+unix://` URL.
#[test]
fn unix_socket_and_overrides_match_curl() {
    let Some(nginx) = Nginx::start() else { return };
    let curl = curl();
    let curl = curl.as_deref();
    let none = Opts::default();
    let socket = nginx.unix_socket().display().to_string();
    let got = same_as_curl(
        curl,
        &["-s", "--unix-socket", &socket, "http://localhost/hello.txt"],
        &none,
        0,
    );
    assert_eq!(got.text(), HELLO);
    let encoded = socket.replace('/', "%2F");
    let got = paf_curl(&["-s", &format!("http+unix://{encoded}/hello.txt")]);
    assert_eq!(
        (got.code, got.text()),
        (0, HELLO.to_string()),
        "{}",
        got.stderr
    );

    let resolve = format!("nowhere.invalid:{}:127.0.0.1", nginx.port);
    let url = format!("http://nowhere.invalid:{}/hello.txt", nginx.port);
    let got = same_as_curl(curl, &["-s", "--resolve", &resolve, &url], &none, 0);
    assert_eq!(got.text(), HELLO);
    let rule = format!("nowhere.invalid:80:127.0.0.1:{}", nginx.port);
    let got = same_as_curl(
        curl,
        &[
            "-s",
            "--connect-to",
            &rule,
            "http://nowhere.invalid/hello.txt",
        ],
        &none,
        0,
    );
    assert_eq!(got.text(), HELLO);
}

/// Over TLS: HTTP/2 by ALPN, --http1.1, --http2 (the default), --cacert,
/// and a client certificate the server sees.
#[test]
fn tls_and_http2_match_curl() {
    let Some(nginx) = Nginx::start() else { return };
    let curl = curl();
    let curl = curl.as_deref();
    let none = Opts::default();
    let ca = nginx.ca_file().display().to_string();
    let resolve = nginx.resolve();
    let hello = format!("{}/hello.txt", nginx.https());
    let w = "%{http_code} %{http_version}";
    let tls = |extra: &[&str]| {
        let mut args = vec!["-s", "--cacert", &ca, "--resolve", &resolve, "-w", w];
        args.extend_from_slice(extra);
        args.push(&hello);
        same_as_curl(curl, &args, &none, 0).text()
    };
    assert_eq!(tls(&[]), format!("{HELLO}200 2"));
    assert_eq!(tls(&["--http2"]), format!("{HELLO}200 2"));
    assert_eq!(tls(&["--http1.1"]), format!("{HELLO}200 1.1"));

    let ours = paf_curl(&["-s", "-i", "--cacert", &ca, "--resolve", &resolve, &hello]);
    assert!(
        ours.stdout.starts_with(b"HTTP/2 200 \r\n"),
        "{}",
        ours.text()
    );

    // In clear text, --http2 stays on HTTP/1.1 (curl's upgrade offer is
    // ignored by nginx; paf-curl makes none).
    let clear = format!("{}/hello.txt", nginx.http());
    let got = same_as_curl(curl, &["-s", "--http2", "-w", w, &clear], &none, 0);
    assert_eq!(got.text(), format!("{HELLO}200 1.1"));

    let (cert, key) = nginx.client_cert();
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let whoami = format!("{}/client-cert", nginx.https());
    let args = [
        "-s",
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        "--cert",
        &cert,
        "--key",
        &key,
        &whoami,
    ];
    let got = same_as_curl(curl, &args, &none, 0);
    assert_eq!(got.text(), "[CN=paf-curl client]\n");
}

/// --http2-prior-knowledge speaks HTTP/2 in clear text to paf-server,
/// which tells it by the preface.
#[test]
fn prior_knowledge_matches_curl() {
    let curl = curl();
    let site = TempDir::new("curl-h2c");
    site.write("page.txt", "prior knowledge\n");
    let server = Server::start(&[
        site.path().to_str().unwrap(),
        "-q",
        "-l",
        "tcp://127.0.0.1:0",
    ]);
    let url = format!("{}/page.txt", server.http());
    let args = [
        "-s",
        "--http2-prior-knowledge",
        "-w",
        " %{http_code} %{http_version}",
        &url,
    ];
    let got = same_as_curl(curl.as_deref(), &args, &Opts::default(), 0);
    assert_eq!(got.text(), "prior knowledge\n 200 2");
}

/// -w: the variables curl and paf-curl both have, after redirects and on
/// error pages.
#[test]
fn write_out_matches_curl() {
    let Some(nginx) = Nginx::start() else { return };
    let curl = curl();
    let format = "%{http_code}|%{http_version}|%{url_effective}|%{num_redirects}|\
                  %{size_download}|%{content_type}|%{response_code}\\n";
    for (path, follow) in [
        ("/hello.txt", false),
        ("/big.bin", false),
        ("/redirect/1", true),
        ("/teapot", false),
        ("", false),
    ] {
        let url = format!("{}{path}", nginx.http());
        let mut args = vec!["-s", "-o", "/dev/null", "-w", format, &url];
        if follow {
            args.push("-L");
        }
        let got = same_as_curl(curl.as_deref(), &args, &Opts::default(), 0);
        assert!(got.text().contains('|'), "{}", got.text());
    }
    let got = paf_curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{time_total}",
        &nginx.http(),
    ]);
    let secs: f64 = got.text().parse().unwrap();
    assert!((0.0..30.0).contains(&secs), "{secs}");
}

/// -x sends the request in absolute-form to the proxy (the echo server
/// shows what it received); --noproxy goes around it.
#[test]
fn proxy_matches_curl() {
    let curl = curl();
    let curl = curl.as_deref();
    let proxy = Server::start(&["--echo", "-q", "-l", "tcp://127.0.0.1:0"]);
    let proxy_url = proxy.http();
    let proxy_addr = proxy_url.trim_start_matches("http://").to_string();
    let site = TempDir::new("curl-proxy");
    site.write("direct.txt", "direct\n");
    let origin = Server::start(&[
        site.path().to_str().unwrap(),
        "-q",
        "-l",
        "tcp://127.0.0.1:0",
    ]);
    let none = Opts::default();

    let target = "http://origin.invalid/via/proxy?q=1";
    for args in [
        vec!["-s", "-x", proxy_addr.as_str(), target],
        vec!["-s", "--proxy", proxy_url.as_str(), target],
    ] {
        let ours = paf_curl(&args);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        let (line, fields, _) = normalized_echo(&ours.stdout);
        assert_eq!(line, format!("GET {target} HTTP/1.1"));
        assert!(
            fields.contains(&"host: origin.invalid".to_string()),
            "{fields:?}"
        );
        if let Some(curl) = curl {
            let theirs = curl_with(curl, &args, &none);
            assert_eq!(normalized_echo(&theirs.stdout).0, line);
        }
    }
    let direct = format!("{}/direct.txt", origin.http());
    let got = same_as_curl(
        curl,
        &["-s", "-x", &proxy_addr, "--noproxy", "127.0.0.1", &direct],
        &none,
        0,
    );
    assert_eq!(got.text(), "direct\n");
    let env = Opts {
        env: vec![("http_proxy", proxy_addr.as_str())],
        ..Opts::default()
    };
    let got = paf_curl_with(&["-s", target], &env);
    assert_eq!(
        normalized_echo(&got.stdout).0,
        format!("GET {target} HTTP/1.1")
    );
    let got = paf_curl_with(&["-s", "--noproxy", "*", &direct], &env);
    assert_eq!(got.text(), "direct\n");
}
