//! `paf-server` serving files, checked with curl: listings, index files,
//! content types, HEAD, methods, ranges, validators, traversal, symbolic
//! links, `--echo` and the access log.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use support::{Fetched, Server, TempDir, fetch, peer_tool};

/// A directory with a few files, and curl.
fn site() -> Option<(PathBuf, TempDir)> {
    let curl = peer_tool("curl")?;
    let dir = TempDir::new("site");
    dir.write("a.txt", "hello\n");
    dir.write("<b>&x.txt", "escaped\n");
    dir.write("data.json", "{\"a\":1}");
    dir.write("style.css", "body{}");
    dir.write("blob.unknownext", [0u8, 1, 2]);
    dir.write("digits.txt", "0123456789");
    dir.write("sub/inner.txt", "inner");
    dir.write("withindex/index.html", "<h1>index</h1>");
    dir.write("withindex/other.txt", "other");
    Some((curl, dir))
}

fn serve(dir: &TempDir, extra: &[&str]) -> Server {
    let root = dir.path().to_str().unwrap();
    let mut args = vec!["-l", "tcp://127.0.0.1:0", root];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn get(curl: &std::path::Path, url: &str, extra: &[&str]) -> Fetched {
    let mut args: Vec<&str> = extra.to_vec();
    args.push(url);
    fetch(curl, &args)
}

#[test]
fn listing_escapes_names_and_encodes_links() {
    let Some((curl, dir)) = site() else { return };
    let server = serve(&dir, &[]);
    let base = server.http();

    let root = get(&curl, &format!("{base}/"), &[]);
    assert_eq!(root.status, 200);
    assert_eq!(
        root.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = root.text();
    assert!(
        page.contains("<a href=\"%3Cb%3E%26x.txt\">&lt;b&gt;&amp;x.txt</a>"),
        "{page}"
    );
    assert!(!page.contains("<b>&x"), "a raw name leaked: {page}");
    assert!(page.contains("<a href=\"sub/\">sub/</a>"), "{page}");
    assert!(page.contains("<td class=\"size\">10</td>"), "sizes: {page}");
    // Directories first.
    assert!(page.find("sub/").unwrap() < page.find("a.txt").unwrap());
    assert!(!page.contains("href=\"../\""), "no parent link at the root");

    // The link works.
    let escaped = get(&curl, &format!("{base}/%3Cb%3E%26x.txt"), &[]);
    assert_eq!(
        (escaped.status, escaped.text().as_str()),
        (200, "escaped\n")
    );

    let sub = get(&curl, &format!("{base}/sub/"), &[]);
    assert!(sub.text().contains("<title>Index of /sub/</title>"));
    assert!(sub.text().contains("<a href=\"../\">../</a>"));
    assert!(sub.text().contains("<a href=\"inner.txt\">inner.txt</a>"));
}

#[test]
fn index_html_and_redirect_to_the_slash_form() {
    let Some((curl, dir)) = site() else { return };
    let server = serve(&dir, &[]);
    let base = server.http();

    let bare = get(&curl, &format!("{base}/withindex?x=1"), &[]);
    assert_eq!(bare.status, 301);
    assert_eq!(bare.header("location"), Some("/withindex/?x=1"));

    let followed = get(&curl, &format!("{base}/withindex"), &["-L"]);
    assert_eq!(followed.status, 200);
    assert_eq!(followed.text(), "<h1>index</h1>");
    assert_eq!(
        followed.header("content-type"),
        Some("text/html; charset=utf-8")
    );

    let sub = get(&curl, &format!("{base}/sub"), &[]);
    assert_eq!((sub.status, sub.header("location")), (301, Some("/sub/")));
    // The location is the checked path, re-encoded: never `//host/`,
    // which a browser would take for another server.
    std::fs::create_dir(dir.path().join("evil.com")).unwrap();
    for (path, want) in [
        ("//evil.com", "/evil.com/"),
        ("///evil.com?x=//y", "/evil.com/?x=//y"),
        ("//./evil.com", "/evil.com/"),
        ("/sub/.", "/sub/"),
        ("/%3Cb%3E%26dir", "/%3Cb%3E%26dir/"),
    ] {
        if path.contains("dir") {
            std::fs::create_dir_all(dir.path().join("<b>&dir")).unwrap();
        }
        let got = get(&curl, &format!("{base}{path}"), &["--path-as-is"]);
        assert_eq!(
            (got.status, got.header("location")),
            (301, Some(want)),
            "{path}"
        );
    }
    // A file asked for as a directory does not exist.
    assert_eq!(get(&curl, &format!("{base}/a.txt/"), &[]).status, 404);
    assert_eq!(get(&curl, &format!("{base}/missing"), &[]).status, 404);
}

#[test]
fn content_types_and_head() {
    let Some((curl, dir)) = site() else { return };
    let server = serve(&dir, &[]);
    let base = server.http();

    for (path, want) in [
        ("a.txt", "text/plain; charset=utf-8"),
        ("data.json", "application/json"),
        ("style.css", "text/css; charset=utf-8"),
        ("blob.unknownext", "application/octet-stream"),
    ] {
        let got = get(&curl, &format!("{base}/{path}"), &[]);
        assert_eq!(got.status, 200, "{path}");
        assert_eq!(got.header("content-type"), Some(want), "{path}");
    }

    let full = get(&curl, &format!("{base}/a.txt"), &[]);
    let head = get(&curl, &format!("{base}/a.txt"), &["-I"]);
    assert_eq!(head.status, 200);
    for name in [
        "content-length",
        "content-type",
        "etag",
        "last-modified",
        "accept-ranges",
    ] {
        assert!(full.header(name).is_some(), "{name}");
        assert_eq!(head.header(name), full.header(name), "{name}");
    }
    assert_eq!(head.header("content-length"), Some("6"));

    // No body after a HEAD: the next response on the connection is intact.
    let addr = base.strip_prefix("http://").unwrap();
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.write_all(
        b"HEAD /a.txt HTTP/1.1\r\nhost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .unwrap();
    let mut both = String::new();
    tcp.read_to_string(&mut both).unwrap();
    assert_eq!(both.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{both}");
    assert!(both.ends_with("\r\n\r\nhello\n"), "{both}");
    assert_eq!(both.matches("hello").count(), 1, "{both}");

    let listing = get(&curl, &format!("{base}/"), &[]);
    let listing_head = get(&curl, &format!("{base}/"), &["-I"]);
    assert_eq!(
        listing_head.header("content-length").map(str::to_string),
        Some(listing.body.len().to_string())
    );
}

#[test]
fn other_methods_get_405_with_allow() {
    let Some((curl, dir)) = site() else { return };
    let server = serve(&dir, &[]);
    let base = server.http();
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let got = get(&curl, &format!("{base}/a.txt"), &["-X", method]);
        assert_eq!(got.status, 405, "{method}");
        assert_eq!(got.header("allow"), Some("GET, HEAD"), "{method}");
    }
    // Never read by the server, a request body does not get in the way.
    let post = get(&curl, &format!("{base}/"), &["--data-binary", "x=1"]);
    assert_eq!(post.status, 405);
}

#[test]
fn ranges() {
    let Some((curl, dir)) = site() else { return };
    let server = serve(&dir, &[]);
    let url = format!("{}/digits.txt", server.http());

    for (range, body, content_range) in [
        ("2-4", "234", "bytes 2-4/10"),
        ("7-", "789", "bytes 7-9/10"),
        ("-2", "89", "bytes 8-9/10"),
        ("5-100", "56789", "bytes 5-9/10"),
    ] {
        let got = get(&curl, &url, &["-r", range]);
        assert_eq!(got.status, 206, "{range}");
        assert_eq!(got.text(), body, "{range}");
        assert_eq!(got.header("content-range"), Some(content_range), "{range}");
        assert_eq!(
            got.header("content-length").map(str::to_string),
            Some(body.len().to_string())
        );
    }

    let unsatisfiable = get(&curl, &url, &["-r", "10-20"]);
    assert_eq!(unsatisfiable.status, 416);
    assert_eq!(unsatisfiable.header("content-range"), Some("bytes */10"));

    // Several ranges: multipart/byteranges.
    let multi = get(&curl, &url, &["-r", "0-1,8-"]);
    assert_eq!(multi.status, 206);
    let content_type = multi.header("content-type").unwrap();
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap();
    let want = format!(
        "--{boundary}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-range: bytes 0-1/10\r\n\r\n01\
         \r\n--{boundary}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-range: bytes 8-9/10\r\n\r\n89\
         \r\n--{boundary}--\r\n"
    );
    assert_eq!(multi.text(), want);
    assert_eq!(
        multi.header("content-length").map(str::to_string),
        Some(want.len().to_string())
    );

    // If-Range with the Last-Modified date: not while the file is less
    // than a second old (it could change again within that second with
    // the same date), then honoured. The file's time is set a minute
    // ahead, so that no slow run can make it a second old meanwhile.
    let fresh = dir.write("fresh.txt", "0123456789");
    let fresh_url = format!("{}/fresh.txt", server.http());
    let set_modified = |time: std::time::SystemTime| {
        std::fs::File::options()
            .write(true)
            .open(&fresh)
            .unwrap()
            .set_modified(time)
            .unwrap();
    };
    set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60));
    let date = get(&curl, &fresh_url, &["-I"])
        .header("last-modified")
        .unwrap()
        .to_string();
    let too_soon = get(
        &curl,
        &fresh_url,
        &["-r", "0-0", "-H", &format!("If-Range: {date}")],
    );
    assert_eq!(
        (too_soon.status, too_soon.text().as_str()),
        (200, "0123456789")
    );
    set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600));
    let date = get(&curl, &fresh_url, &["-I"])
        .header("last-modified")
        .unwrap()
        .to_string();
    let settled = get(
        &curl,
        &fresh_url,
        &["-r", "0-0", "-H", &format!("If-Range: {date}")],
    );
    assert_eq!((settled.status, settled.text().as_str()), (206, "0"));

    // If-Range: honoured for the current ETag only.
    let etag = get(&curl, &url, &["-I"])
        .header("etag")
        .unwrap()
        .to_string();
    let current = get(
        &curl,
        &url,
        &["-r", "0-0", "-H", &format!("If-Range: {etag}")],
    );
    assert_eq!((current.status, current.text().as_str()), (206, "0"));
    let stale = get(&curl, &url, &["-r", "0-0", "-H", "If-Range: \"old\""]);
    assert_eq!((stale.status, stale.text().as_str()), (200, "0123456789"));

    // A malformed header is ignored; a HEAD gets the whole representation.
    let malformed = get(&curl, &url, &["-H", "Range: bytes=5-1"]);
    assert_eq!(malformed.status, 200);
    let head = get(&curl, &url, &["-I", "-r", "0-1"]);
    assert_eq!(head.status, 200);
}

#[test]
fn validators_and_conditional_requests() {
    let Some((curl, dir)) = site() else { return };
    let server = serve(&dir, &[]);
    let url = format!("{}/a.txt", server.http());

    let first = get(&curl, &url, &[]);
    let etag = first.header("etag").unwrap().to_string();
    let modified = first.header("last-modified").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let cases: &[(&str, String, u16)] = &[
        ("If-None-Match", etag.clone(), 304),
        ("If-None-Match", format!("W/{etag}"), 304),
        ("If-None-Match", "\"other\"".to_string(), 200),
        ("If-None-Match", "*".to_string(), 304),
        ("If-Modified-Since", modified.clone(), 304),
        (
            "If-Modified-Since",
            "Mon, 01 Jan 2001 00:00:00 GMT".to_string(),
            200,
        ),
        ("If-Match", etag.clone(), 200),
        ("If-Match", "\"other\"".to_string(), 412),
        ("If-Unmodified-Since", modified.clone(), 200),
        (
            "If-Unmodified-Since",
            "Mon, 01 Jan 2001 00:00:00 GMT".to_string(),
            412,
        ),
    ];
    for (name, value, want) in cases {
        let got = get(&curl, &url, &["-H", &format!("{name}: {value}")]);
        assert_eq!(got.status, *want, "{name}: {value}");
        if *want == 304 {
            assert!(got.body.is_empty());
            assert_eq!(got.header("etag"), Some(etag.as_str()));
            assert_eq!(got.header("last-modified"), Some(modified.as_str()));
        }
    }

    // A change gives new validators.
    std::thread::sleep(std::time::Duration::from_millis(20));
    dir.write("a.txt", "changed\n");
    let changed = get(&curl, &url, &["-H", &format!("If-None-Match: {etag}")]);
    assert_eq!(
        (changed.status, changed.text().as_str()),
        (200, "changed\n")
    );
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
}

#[test]
fn traversal_is_refused() {
    let Some((curl, dir)) = site() else { return };
    let server = serve(&dir, &[]);
    let base = server.http();
    for path in [
        "/../etc/passwd",
        "/../../../../../../etc/passwd",
        "/sub/../../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/.%2e/etc/passwd",
        "/..%2fetc%2fpasswd",
        "/sub%2f..%2f..%2fetc%2fpasswd",
        "/..%5c..%5cetc%5cpasswd",
        "/..\\..\\etc\\passwd",
        "/a.txt%00.html",
    ] {
        let got = get(&curl, &format!("{base}{path}"), &["--path-as-is"]);
        assert_eq!(got.status, 400, "{path}: {}", got.text());
        assert!(!got.text().contains("root:"), "{path}");
    }
    // What a browser sends after normalising is fine.
    assert_eq!(
        get(&curl, &format!("{base}//sub//inner.txt"), &[]).status,
        200
    );
}

#[test]
fn symlinks_outside_are_refused_unless_followed() {
    let Some((curl, dir)) = site() else { return };
    let outside = TempDir::new("outside");
    outside.write("secret.txt", "secret");
    std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("s.txt"))
        .unwrap();
    // Inside the root, a link is just another name.
    std::os::unix::fs::symlink("a.txt", dir.path().join("alias.txt")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dir.path().join("sub/index.html"),
    )
    .unwrap();

    let server = serve(&dir, &[]);
    let base = server.http();
    for path in ["/etc/passwd", "/etc/", "/out/secret.txt", "/s.txt"] {
        let got = get(&curl, &format!("{base}{path}"), &[]);
        assert_eq!(got.status, 403, "{path}");
        assert!(!got.text().contains("secret") && !got.text().contains("root:"));
    }
    assert_eq!(
        get(&curl, &format!("{base}/alias.txt"), &[]).text(),
        "hello\n"
    );
    // An index.html leading outside is not served: the listing is.
    let sub = get(&curl, &format!("{base}/sub/"), &[]);
    assert!(sub.text().contains("Index of /sub/"), "{}", sub.text());
    // Listings tell nothing of what links outside lead to: not its type,
    // not its size.
    let root = get(&curl, &format!("{base}/"), &[]).text();
    assert!(
        root.contains("<a href=\"s.txt\">s.txt</a></td><td class=\"size\">-</td>"),
        "{root}"
    );
    assert!(root.contains("<a href=\"out\">out</a>"), "{root}");
    assert!(!root.contains("href=\"out/\""), "{root}");
    // Links inside are shown as their target.
    assert!(
        root.contains("<a href=\"alias.txt\">alias.txt</a></td><td class=\"size\">6</td>"),
        "{root}"
    );
    drop(server);

    let server = serve(&dir, &["--follow-symlinks"]);
    let base = server.http();
    assert_eq!(
        get(&curl, &format!("{base}/out/secret.txt"), &[]).text(),
        "secret"
    );
    assert_eq!(get(&curl, &format!("{base}/s.txt"), &[]).text(), "secret");
    if std::path::Path::new("/etc/passwd").is_file() {
        let passwd = get(&curl, &format!("{base}/etc/passwd"), &[]);
        assert_eq!(passwd.status, 200);
        assert!(passwd.text().contains("root:"));
    }
    // Following links never lets `..` through.
    let up = get(&curl, &format!("{base}/out/../a.txt"), &["--path-as-is"]);
    assert_eq!(up.status, 400);
}

#[test]
fn echo_answers_every_method() {
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let server = Server::start(&["-l", "tcp://127.0.0.1:0", "--echo"]);
    let url = format!("{}/path?q=1", server.http());

    let post = get(
        &curl,
        &url,
        &[
            "--http1.1",
            "-H",
            "X-Custom: yes",
            "--data-binary",
            "the body",
        ],
    );
    assert_eq!(post.status, 200);
    assert_eq!(
        post.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let text = post.text();
    assert!(text.starts_with("POST /path?q=1 HTTP/1.1\n"), "{text}");
    assert!(text.contains("\nx-custom: yes\n"), "{text}");
    assert!(text.contains("\ncontent-length: 8\n"), "{text}");
    assert!(text.ends_with("\n\nthe body"), "{text}");

    for method in ["PUT", "DELETE", "PATCH", "OPTIONS", "BREW"] {
        let got = get(&curl, &url, &["-X", method]);
        assert_eq!(got.status, 200, "{method}");
        assert!(got.text().starts_with(&format!("{method} ")), "{method}");
    }

    let h2 = get(&curl, &url, &["--http2-prior-knowledge"]);
    assert_eq!(h2.version, "2");
    assert!(
        h2.text().starts_with("GET http://127.0.0.1:"),
        "{}",
        h2.text()
    );
    assert!(
        h2.text()
            .lines()
            .next()
            .unwrap()
            .ends_with("/path?q=1 HTTP/2")
    );
}

#[test]
fn access_log_has_one_line_per_request() {
    let Some((curl, dir)) = site() else { return };
    let server = serve(&dir, &[]);
    let base = server.http();
    get(&curl, &format!("{base}/a.txt"), &[]);
    get(&curl, &format!("{base}/missing?x=%22"), &[]);
    get(
        &curl,
        &format!("{base}/digits.txt"),
        &["--http2-prior-knowledge", "-r", "0-3"],
    );
    let log = server.stderr_with("\"GET /digits.txt HTTP/2\"");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    let line = lines
        .iter()
        .find(|l| l.contains("/a.txt"))
        .expect("a line for /a.txt");
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(
        line.contains(" +0000] \"GET /a.txt HTTP/1.1\" 200 6 "),
        "{line}"
    );
    assert!(line.ends_with("ms"), "{line}");
    assert!(
        log.contains("\"GET /missing?x=%22 HTTP/1.1\" 404 "),
        "{log}"
    );
    assert!(log.contains("\"GET /digits.txt HTTP/2\" 206 4 "), "{log}");

    let quiet = serve(&dir, &["--quiet"]);
    get(&curl, &format!("{}/a.txt", quiet.http()), &[]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(quiet.stderr(), "");
}

#[test]
fn paf_debug_turns_on_debug_messages() {
    let dir = TempDir::new("debug");
    std::os::unix::fs::symlink("/", dir.path().join("root")).unwrap();
    let root = dir.path().to_str().unwrap();
    let server = Server::start_with_env(
        &["-l", "tcp://127.0.0.1:0", "-q", root],
        &[("PAF_DEBUG", "1")],
    );
    let addr = server.http();
    let addr = addr.strip_prefix("http://").unwrap();
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.write_all(b"GET /root/ HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 403 "), "{response}");
    let stderr = server.stderr_with("outside the root");
    assert!(
        stderr.contains("DEBUG") && stderr.contains("outside the root"),
        "{stderr}"
    );
}
