//! Unix socket listeners: stale files, live files, modes, cleanup.
#![cfg(unix)]

mod support;

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use conduit::listener::{Listener, UnixListener};
use conduit::serve::Server;
use mimic::flow::Addr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use support::{PROMPT, TempDir};

#[tokio::test]
async fn accepts_and_describes_the_flow() {
    let dir = TempDir::new("unix-accept");
    let path = dir.join("s.sock");
    let mut listener = UnixListener::bind(&path).expect("bind");
    assert_eq!(listener.local_addr(), Addr::Unix(path.clone()));
    let mut client = UnixStream::connect(&path).await.expect("connect");
    let mut flow = tokio::time::timeout(PROMPT, listener.accept())
        .await
        .expect("accept in time")
        .expect("accept")
        .await
        .expect("flow");
    assert_eq!(flow.info().protocols().collect::<Vec<_>>(), ["unix"]);
    assert_eq!(flow.info().local_addr(), Some(&Addr::Unix(path.clone())));
    // An unnamed client has no address to report.
    assert_eq!(flow.info().peer_addr(), None);
    client.write_all(b"hi").await.expect("write");
    let mut buf = [0; 2];
    flow.read_exact(&mut buf).await.expect("read");
    assert_eq!(&buf, b"hi");
}

#[tokio::test]
async fn removes_a_stale_socket_file() {
    let dir = TempDir::new("unix-stale");
    let path = dir.join("s.sock");
    // A socket file nobody listens on, as a crashed server leaves behind.
    let dead = std::os::unix::net::UnixListener::bind(&path).expect("bind the old one");
    drop(dead);
    assert!(path.exists(), "the stale file is there");
    let mut listener = UnixListener::bind(&path).expect("bind over a stale file");
    let _client = UnixStream::connect(&path).await.expect("connect");
    let flow = tokio::time::timeout(PROMPT, listener.accept())
        .await
        .expect("accept in time")
        .expect("accept")
        .await
        .expect("flow");
    assert_eq!(flow.info().protocol(), "unix");
}

#[tokio::test]
async fn leaves_a_live_socket_alone() {
    let dir = TempDir::new("unix-live");
    let path = dir.join("s.sock");
    let live = std::os::unix::net::UnixListener::bind(&path).expect("bind the live one");
    let err = UnixListener::bind(&path).expect_err("someone is listening");
    assert!(err.is_listen() && err.is_addr_in_use(), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot listen on unix:{}: a running server is listening there; \
             stop it or choose another path",
            path.display()
        )
    );
    // No cause beyond the error's own text.
    assert_eq!(format!("{err:#}"), err.to_string());
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::AddrInUse);
    // The live server still has its file and its clients.
    assert!(path.exists());
    let _client = std::os::unix::net::UnixStream::connect(&path).expect("still reachable");
    live.accept().expect("the live server accepts");
}

#[tokio::test]
async fn refuses_to_replace_a_file_that_is_not_a_socket() {
    let dir = TempDir::new("unix-file");
    let path = dir.join("data.txt");
    std::fs::write(&path, b"precious").expect("write a file");
    let err = UnixListener::bind(&path).expect_err("not a socket");
    assert!(err.is_listen() && err.is_addr_in_use(), "{err:?}");
    assert_eq!(
        format!("{err:#}"),
        format!(
            "cannot listen on unix:{}: the path exists and is not a socket; \
             it was left alone, remove it or choose another path",
            path.display()
        )
    );
    assert_eq!(std::fs::read(&path).expect("still there"), b"precious");
}

#[tokio::test]
async fn applies_the_permission_mode() {
    for mode in [0o600, 0o660, 0o666] {
        let dir = TempDir::new("unix-mode");
        let path = dir.join("s.sock");
        let _listener = UnixListener::builder(&path)
            .mode(mode)
            .backlog(8)
            .bind()
            .expect("bind");
        let actual = std::fs::symlink_metadata(&path)
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(actual, mode, "mode {mode:#o}");
    }
}

#[tokio::test]
async fn removes_its_file_when_dropped() {
    let dir = TempDir::new("unix-drop");
    let path = dir.join("s.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    assert!(path.exists());
    drop(listener);
    assert!(!path.exists(), "the socket file is removed");
}

#[tokio::test]
async fn leaves_a_replacement_file_alone_when_dropped() {
    let dir = TempDir::new("unix-replaced");
    let path = dir.join("s.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    // An operator (or a new server) replaced the file meanwhile.
    std::fs::remove_file(&path).expect("remove");
    let successor = std::os::unix::net::UnixListener::bind(&path).expect("successor binds");
    drop(listener);
    assert!(path.exists(), "the successor's file is not removed");
    drop(successor);
}

#[tokio::test]
async fn server_shutdown_removes_the_file() {
    let dir = TempDir::new("unix-shutdown");
    let path = dir.join("s.sock");
    let server = Server::builder()
        .listener(UnixListener::bind(&path).expect("bind"))
        .serve(|_flow, _drain| async {});
    assert_eq!(server.local_addrs(), [Addr::Unix(path.clone())]);
    assert!(path.exists());
    let report = server.shutdown(Duration::from_secs(1)).await;
    assert_eq!(report.aborted, 0);
    assert!(!path.exists(), "shutdown removes the socket file");
}
