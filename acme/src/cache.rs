//! The cache directory: the account, the certificate chain and its key,
//! each written atomically, private ones readable by the owner only.
//!
//! Files are named after what they belong to, so that one directory can
//! serve several CAs and several certificates:
//! `account-<CA>.json`, `cert-<first name>-<hash>.pem` and
//! `key-<first name>-<hash>.pem`, where `<CA>` is the directory URL's
//! host and a hash of the URL, and `<hash>` covers the CA and the names
//! (host and name cut to 64 characters: the hashes keep them apart).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;

/// Where one certificate's files are kept.
#[derive(Clone, Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
    account: String,
    cert: String,
    key: String,
}

/// Whether a file holds a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Secrecy {
    /// Mode 0600.
    Private,
    /// Mode 0644.
    Public,
}

impl Cache {
    /// The cache in `dir` for the CA at `directory` and these `names`.
    pub(crate) fn new(dir: &Path, directory: &str, names: &[String]) -> Cache {
        let host = directory
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("ca");
        let ca = format!("{}-{:016x}", sanitize(host), fnv1a(directory.as_bytes()));
        let mut all = directory.to_string();
        for name in names {
            all.push('\n');
            all.push_str(name);
        }
        let first = names.first().map_or("none", String::as_str);
        let id = format!("{}-{:016x}", sanitize(first), fnv1a(all.as_bytes()));
        Cache {
            dir: dir.to_path_buf(),
            account: format!("account-{ca}.json"),
            cert: format!("cert-{id}.pem"),
            key: format!("key-{id}.pem"),
        }
    }

    /// The account file's path.
    pub(crate) fn account_path(&self) -> PathBuf {
        self.dir.join(&self.account)
    }

    /// The certificate chain's path.
    pub(crate) fn cert_path(&self) -> PathBuf {
        self.dir.join(&self.cert)
    }

    /// The private key's path.
    pub(crate) fn key_path(&self) -> PathBuf {
        self.dir.join(&self.key)
    }

    /// Reads a file; `None` when it does not exist.
    pub(crate) fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, Error> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Cache {
                path: path.to_path_buf(),
                action: "read",
                source,
            }),
        }
    }

    /// Replaces `path` with `bytes` atomically: readers see the old file
    /// or the new one, never a part, even if the machine stops midway.
    pub(crate) fn write(&self, path: &Path, bytes: &[u8], secrecy: Secrecy) -> Result<(), Error> {
        let failed = |action, source| Error::Cache {
            path: path.to_path_buf(),
            action,
            source,
        };
        // Only the owner needs to look inside: it holds the keys.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| failed("create the directory of", e))?;
        self.restrict();
        let mode = match secrecy {
            Secrecy::Private => 0o600,
            Secrecy::Public => 0o644,
        };
        // Unique per write, so that two managers of one process sharing
        // the directory never write through each other's temporary file.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
        let result = write_new(&tmp, bytes, mode).and_then(|()| fs::rename(&tmp, path));
        if let Err(err) = result {
            let _ = fs::remove_file(&tmp);
            return Err(failed("write", err));
        }
        // The rename itself must reach the disk too.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Makes a directory that existed before with a wider mode 0700.
    fn restrict(&self) {
        let Ok(meta) = fs::metadata(&self.dir) else {
            return;
        };
        if meta.permissions().mode() & 0o077 == 0 {
            return;
        }
        if let Err(err) = fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)) {
            let dir = self.dir.display();
            tracing::warn!(target: "acme", "{dir}: not made 0700 ({err}); others can look in");
        }
    }
}

/// Writes a fresh file with `mode` (never through an existing file or
/// link, so a secret cannot land in a file others can read) and syncs it.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let _ = fs::remove_file(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    // The umask may have taken bits away from a public file; a private
    // one must stay 0600 whatever the umask.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The longest part of a file name taken from a name or a host: with the
/// prefix, the hash and the extension, file names stay far below the
/// usual limit of 255 bytes. The hash keeps truncated names apart.
const MAX_NAME_PART: usize = 64;

/// Letters, digits, `.` and `-`, at most [`MAX_NAME_PART`] of them;
/// anything else becomes `_`.
fn sanitize(text: &str) -> String {
    text.chars()
        .take(MAX_NAME_PART)
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' => c,
            _ => '_',
        })
        .collect()
}

/// FNV-1a, 64 bits: a hash that stays the same across Rust releases (file
/// names must not change when the program is rebuilt).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_replaced_atomically_with_their_modes() {
        let dir = testkit::TempDir::new("acme-cache");
        let names = ["example.com".to_string()];
        let cache = Cache::new(&dir.join("c"), "https://ca.test:14000/dir", &names);
        assert!(
            cache.cert_path().ends_with(
                format!("cert-example.com-{:016x}.pem", {
                    fnv1a(b"https://ca.test:14000/dir\nexample.com")
                })
                .as_str()
            )
        );
        assert!(
            cache
                .account_path()
                .to_string_lossy()
                .contains("account-ca.test_14000-")
        );
        assert_eq!(cache.read(&cache.key_path()).expect("readable"), None);
        cache
            .write(&cache.key_path(), b"one", Secrecy::Private)
            .expect("written");
        cache
            .write(&cache.key_path(), b"two", Secrecy::Private)
            .expect("rewritten");
        let mode = fs::metadata(cache.key_path())
            .expect("the key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            cache.read(&cache.key_path()).expect("readable").as_deref(),
            Some(&b"two"[..])
        );
        cache
            .write(&cache.cert_path(), b"cert", Secrecy::Public)
            .expect("written");
        let mode = fs::metadata(cache.cert_path())
            .expect("the cert")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
        // No temporary file is left behind.
        let count = fs::read_dir(dir.join("c")).expect("the directory").count();
        assert_eq!(count, 2);
        let mode = fs::metadata(dir.join("c"))
            .expect("the directory")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn long_names_make_short_distinct_file_names() {
        let label = "a".repeat(63);
        let long = format!("{label}.{label}.{label}.{}", "b".repeat(60));
        let other = format!("{label}.{label}.{label}.{}", "c".repeat(60));
        let dir = Path::new("/cache");
        let directory = format!("https://{long}/dir");
        let one = Cache::new(dir, &directory, std::slice::from_ref(&long));
        let two = Cache::new(dir, &directory, std::slice::from_ref(&other));
        for path in [one.cert_path(), one.key_path(), one.account_path()] {
            let name = path.file_name().expect("a file name").len();
            assert!(name <= 100, "{} is {name} bytes", path.display());
        }
        assert_ne!(one.cert_path(), two.cert_path());
        assert_ne!(one.key_path(), two.key_path());
    }

    #[test]
    fn an_existing_directory_is_made_private() {
        let dir = testkit::TempDir::new("acme-mode");
        let cache_dir = dir.join("c");
        fs::create_dir(&cache_dir).expect("created");
        fs::set_permissions(&cache_dir, fs::Permissions::from_mode(0o755)).expect("0755");
        let cache = Cache::new(&cache_dir, "https://ca.test/dir", &["a.test".to_string()]);
        cache
            .write(&cache.key_path(), b"key", Secrecy::Private)
            .expect("written");
        let mode = fs::metadata(&cache_dir)
            .expect("the directory")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
