//! `paf-server`'s file cache follows the disk: a file rewritten, replaced,
//! removed or swapped for a link is served as it is now (once the server's
//! watch thread has read the change: microseconds, waited for here up to
//! 5 s); and big files go by `sendfile(2)` with the access log still
//! counting their bytes.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Fetched, Server, TempDir, fetch, peer_tool};

/// Long enough for what was just written to count as settled, so that the
/// cache keeps it (it keeps nothing modified within the last second).
fn settle() {
    std::thread::sleep(Duration::from_millis(1100));
}

fn get(curl: &Path, url: &str) -> Fetched {
    fetch(curl, &[url])
}

/// The answer to `url` once it passes `check`, or the last one after 5 s.
fn soon(curl: &Path, url: &str, check: impl Fn(&Fetched) -> bool) -> Fetched {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let fetched = get(curl, url);
        if check(&fetched) || std::time::Instant::now() > until {
            return fetched;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn serve(dir: &TempDir, extra: &[&str]) -> Server {
    let mut args = vec!["-l", "tcp://127.0.0.1:0", dir.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[test]
fn cached_files_are_served_as_they_are_now() {
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let dir = TempDir::new("cache");
    let outside = TempDir::new("cache-outside");
    outside.write("a.txt", "secret\n");
    outside.write("d/f.txt", "secret");
    dir.write("a.txt", "one\n");
    dir.write("idx/index.html", "<p>one</p>");
    dir.write("d/f.txt", "inner");
    settle();
    let server = serve(&dir, &["-q"]);
    let url = |path: &str| format!("{}{path}", server.http());

    let first = get(&curl, &url("/a.txt"));
    let again = get(&curl, &url("/a.txt"));
    assert_eq!(
        (first.text(), again.text()),
        ("one\n".into(), "one\n".into())
    );
    assert_eq!(first.header("etag"), again.header("etag"));

    // Rewritten in place, with the same length.
    std::fs::write(dir.join("a.txt"), "two\n").unwrap();
    let rewritten = soon(&curl, &url("/a.txt"), |f| f.text() == "two\n");
    assert_eq!(rewritten.text(), "two\n");
    assert_ne!(rewritten.header("etag"), first.header("etag"));

    // Replaced by a rename, once the cache holds the second version.
    settle();
    assert_eq!(get(&curl, &url("/a.txt")).text(), "two\n");
    std::fs::write(dir.join("new.tmp"), "three\n").unwrap();
    std::fs::rename(dir.join("new.tmp"), dir.join("a.txt")).unwrap();
    let renamed = soon(&curl, &url("/a.txt"), |f| f.text() == "three\n");
    assert_eq!(renamed.text(), "three\n");

    // Removed, then a link leading outside in its place.
    std::fs::remove_file(dir.join("a.txt")).unwrap();
    assert_eq!(soon(&curl, &url("/a.txt"), |f| f.status == 404).status, 404);
    std::os::unix::fs::symlink(outside.join("a.txt"), dir.join("a.txt")).unwrap();
    let swapped = soon(&curl, &url("/a.txt"), |f| f.status == 403);
    assert_eq!(swapped.status, 403, "{}", swapped.text());

    // A directory swapped for a link to a directory outside.
    assert_eq!(get(&curl, &url("/d/f.txt")).text(), "inner");
    std::fs::rename(dir.join("d"), dir.join("d.old")).unwrap();
    std::os::unix::fs::symlink(outside.join("d"), dir.join("d")).unwrap();
    let swapped = soon(&curl, &url("/d/f.txt"), |f| f.status == 403);
    assert_eq!(swapped.status, 403, "{}", swapped.text());

    // A directory's index, changed, then removed: the listing shows.
    assert_eq!(get(&curl, &url("/idx/")).text(), "<p>one</p>");
    std::fs::write(dir.join("idx/index.html"), "<p>two!</p>").unwrap();
    let changed = soon(&curl, &url("/idx/"), |f| f.text() == "<p>two!</p>");
    assert_eq!(changed.text(), "<p>two!</p>");
    std::fs::remove_file(dir.join("idx/index.html")).unwrap();
    let listing = soon(&curl, &url("/idx/"), |f| f.text().contains("Index of"));
    let listing = listing.text();
    assert!(listing.contains("Index of /idx/"), "{listing}");
    // The slash decides: `/idx` is still a redirect.
    assert_eq!(get(&curl, &url("/idx")).status, 301);
}

#[test]
fn big_files_go_by_sendfile_and_are_logged_in_full() {
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let dir = TempDir::new("cache-big");
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    dir.write("big.bin", &big);
    let server = serve(&dir, &[]);
    let url = format!("{}/big.bin", server.http());

    let whole = fetch(&curl, &[&url]);
    assert_eq!(whole.status, 200);
    assert!(whole.body == big, "the whole file");
    let range = fetch(&curl, &["-r", "1000-1099999", &url]);
    assert_eq!(range.status, 206);
    assert!(range.body == big[1000..1_100_000], "the range");
    let over_h2 = fetch(&curl, &["--http2-prior-knowledge", &url]);
    assert_eq!(over_h2.version, "2");
    assert!(over_h2.body == big, "the whole file over HTTP/2");

    let log = server.stderr_with("HTTP/2\"");
    assert!(
        log.contains("\"GET /big.bin HTTP/1.1\" 200 1500000 "),
        "{log}"
    );
    assert!(
        log.contains("\"GET /big.bin HTTP/1.1\" 206 1099000 "),
        "{log}"
    );
    assert!(
        log.contains("\"GET /big.bin HTTP/2\" 200 1500000 "),
        "{log}"
    );
    assert!(!log.contains("incomplete"), "{log}");
}

/// Whether this process may make a mount namespace (`unshare -m`: root,
/// or the capability). When it may not: a loud skip, or a panic under
/// `PAF_REQUIRE_PEERS=1`.
fn may_mount() -> Option<std::path::PathBuf> {
    let unshare = peer_tool("unshare")?;
    let tried = std::process::Command::new(&unshare)
        .args(["-m", "--propagation", "private", "true"])
        .status();
    if tried.is_ok_and(|status| status.success()) {
        return Some(unshare);
    }
    testkit::unavailable("`unshare -m` is refused (not root?)");
    None
}

/// inotify says nothing of mounts: the cache follows the mount table too.
/// In a mount namespace of its own, a directory on a kept file's path gets
/// a bind mount over it, then loses it; each answer shows what is there.
#[test]
fn a_mount_over_a_directory_shows_at_once() {
    let (Some(curl), Some(unshare)) = (peer_tool("curl"), may_mount()) else {
        return;
    };
    let dir = TempDir::new("cache-mount");
    dir.write("site/d/a.txt", "old\n");
    dir.write("other/a.txt", "new\n");
    settle();
    let port = testkit::free_port();
    let url = format!("http://127.0.0.1:{port}/d/a.txt");
    let script = format!(
        r#"set -e
"$SERVER" -q "$DIR/site" -l tcp://127.0.0.1:{port} >/dev/null 2>&1 &
pid=$!
trap 'kill $pid' EXIT
for _ in $(seq 100); do "$CURL" -sf -o /dev/null {url} && break; sleep 0.05; done
"$CURL" -s {url}
mount --bind "$DIR/other" "$DIR/site/d"
"$CURL" -s {url}
umount "$DIR/site/d"
"$CURL" -s {url}
"#
    );
    let out = std::process::Command::new(unshare)
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env("SERVER", env!("CARGO_BIN_EXE_paf-server"))
        .env("DIR", dir.path())
        .env("CURL", curl)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Kept (settled, asked for twice), then mounted over, then uncovered.
    assert_eq!(stdout, "old\nnew\nold\n");
}
