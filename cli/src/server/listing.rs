//! Directory listings as HTML.
//!
//! Names are HTML-escaped for display and percent-encoded (every byte but
//! letters, digits and `-._~`) for links, so any file name, `<b>&x.txt`,
//! `a:b` or one that is not UTF-8, gives a safe, working relative link.
//! Directories come first and end with `/`; each entry shows its size and
//! modification time (UTC). Symbolic links are shown as what they point to
//! when they lead inside the served directory (or links are followed);
//! otherwise as themselves, so that nothing is told of what lies outside.
//!
//! The directory is opened and checked as `open.rs` says, then read
//! through its handle (on Linux), so what is listed is what was checked.

use std::fmt::Write as _;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use percent_encoding::{percent_decode_str, percent_encode};

use super::log::iso_time;
use super::open::{self, Kind};
use crate::util::SEGMENT;

/// One entry of a listing.
#[derive(Debug)]
struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    size: Option<u64>,
    modified: Option<std::time::SystemTime>,
}

/// The HTML listing of `dir` (canonical, under `root`), requested as
/// `url_path` (as sent, encoded, ending with `/`). Reads the directory on
/// the blocking pool.
pub(crate) async fn render(
    dir: &Path,
    url_path: &str,
    root: &Path,
    follow_symlinks: bool,
) -> io::Result<String> {
    let (dir, root) = (dir.to_path_buf(), root.to_path_buf());
    let entries = tokio::task::spawn_blocking(move || read(&dir, &root, follow_symlinks))
        .await
        .map_err(io::Error::other)??;
    Ok(html(url_path, &entries))
}

fn read(dir: &Path, root: &Path, follow_symlinks: bool) -> io::Result<Vec<Entry>> {
    let (handle, _) = open::open(dir, Kind::Directory, root, follow_symlinks)?;
    let through = open::handle_path(&handle);
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(through.as_deref().unwrap_or(dir))? {
        let entry = entry?;
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        let shown_as_target = !is_link
            || follow_symlinks
            || std::fs::canonicalize(entry.path()).is_ok_and(|real| real.starts_with(root));
        // A link is shown as what it leads to, if inside; a dangling one,
        // or one leading outside, as itself.
        let metadata = if shown_as_target {
            std::fs::metadata(entry.path()).or_else(|_| entry.metadata())
        } else {
            entry.metadata()
        };
        let (is_dir, size, modified) = match &metadata {
            Ok(m) => (
                m.is_dir(),
                m.is_file().then_some(m.len()),
                m.modified().ok(),
            ),
            Err(_) => (false, None, None),
        };
        entries.push(Entry {
            name: entry.file_name().as_bytes().to_vec(),
            is_dir,
            size,
            modified,
        });
    }
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(entries)
}

fn html(url_path: &str, entries: &[Entry]) -> String {
    let title = escape(&percent_decode_str(url_path).decode_utf8_lossy());
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Index of {title}</title>\n\
         <style>body{{font-family:sans-serif}}td,th{{padding:0 1em;text-align:left}}\
         td.size{{text-align:right;font-variant-numeric:tabular-nums}}</style>\n\
         </head>\n<body>\n<h1>Index of {title}</h1>\n<table>\n\
         <thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead>\n<tbody>\n"
    );
    if url_path != "/" {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in entries {
        let slash = if entry.is_dir { "/" } else { "" };
        let href: String = percent_encode(&entry.name, SEGMENT).collect();
        let name = escape(&String::from_utf8_lossy(&entry.name));
        let size = entry.size.map_or("-".to_string(), |n| n.to_string());
        let modified = entry.modified.map_or(String::new(), iso_time);
        let _ = writeln!(
            page,
            "<tr><td><a href=\"{href}{slash}\">{name}{slash}</a></td>\
             <td class=\"size\">{size}</td><td>{modified}</td></tr>"
        );
    }
    page.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    page
}

/// Text safe in HTML content and quoted attributes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Percent-encodes a path segment as a listing link would.
#[cfg(test)]
fn encode(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_encoded_and_names_escaped() {
        assert_eq!(encode("<b>&x.txt"), "%3Cb%3E%26x.txt");
        assert_eq!(encode("a:b c~d-e_f.g"), "a%3Ab%20c~d-e_f.g");
        assert_eq!(escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
        let entries = [
            Entry {
                name: b"sub".to_vec(),
                is_dir: true,
                size: None,
                modified: None,
            },
            Entry {
                name: b"<b>&x.txt".to_vec(),
                is_dir: false,
                size: Some(12),
                modified: Some(std::time::UNIX_EPOCH),
            },
            Entry {
                name: vec![b'a', 0xff],
                is_dir: false,
                size: Some(0),
                modified: None,
            },
        ];
        let page = html("/d%20ir/%3Cx%3E/", &entries);
        assert!(
            page.contains("<title>Index of /d ir/&lt;x&gt;/</title>"),
            "{page}"
        );
        assert!(page.contains("<a href=\"../\">../</a>"));
        assert!(page.contains("<a href=\"sub/\">sub/</a>"));
        assert!(page.contains(
            "<a href=\"%3Cb%3E%26x.txt\">&lt;b&gt;&amp;x.txt</a></td>\
             <td class=\"size\">12</td><td>1970-01-01 00:00:00</td>"
        ));
        assert!(page.contains("<a href=\"a%FF\">a\u{fffd}</a>"));
        assert!(!page.contains("<b>"));
        assert!(!html("/", &[]).contains("../"));
    }

    #[tokio::test]
    async fn lists_directories_first() {
        let dir = std::env::temp_dir().join(format!("paf-cli-listing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("zdir")).expect("create a temp dir");
        std::fs::write(dir.join("a.txt"), b"hello").expect("write a file");
        let dir = std::fs::canonicalize(&dir).expect("canonical");
        let page = render(&dir, "/x/", &dir, false).await.expect("listing");
        let _ = std::fs::remove_dir_all(&dir);
        let zdir = page
            .find("href=\"zdir/\"")
            .expect("the directory is listed");
        let file = page.find("href=\"a.txt\"").expect("the file is listed");
        assert!(zdir < file);
        assert!(page.contains("<td class=\"size\">5</td>"));
    }

    #[tokio::test]
    async fn links_leading_outside_tell_nothing_of_their_target() {
        let base =
            std::env::temp_dir().join(format!("paf-cli-listing-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(root.join("sub")).expect("create a temp dir");
        std::fs::create_dir_all(outside.join("secret-dir")).expect("create a temp dir");
        std::fs::write(outside.join("secret.bin"), vec![0u8; 98_765]).expect("write a file");
        std::fs::write(root.join("inner.txt"), vec![0u8; 4_321]).expect("write a file");
        let link = std::os::unix::fs::symlink;
        link(outside.join("secret.bin"), root.join("out.bin")).expect("a link");
        link(outside.join("secret-dir"), root.join("out-dir")).expect("a link");
        link(root.join("inner.txt"), root.join("sub/in.txt")).expect("a link");
        let root = std::fs::canonicalize(&root).expect("canonical");

        let page = render(&root, "/", &root, false).await;
        let sub = render(&root.join("sub"), "/sub/", &root, false).await;
        let followed = render(&root, "/", &root, true).await;
        let _ = std::fs::remove_dir_all(&base);
        let (page, sub, followed) = (
            page.expect("listing"),
            sub.expect("listing"),
            followed.expect("listing"),
        );
        // Outside: not a directory, no size.
        assert!(!page.contains("98765"), "{page}");
        assert!(page.contains("<a href=\"out.bin\">out.bin</a></td><td class=\"size\">-</td>"));
        assert!(page.contains("<a href=\"out-dir\">out-dir</a>"), "{page}");
        // Inside: as the target.
        assert!(sub.contains("<a href=\"in.txt\">in.txt</a></td><td class=\"size\">4321</td>"));
        // Followed: as the target too.
        assert!(
            followed.contains("<td class=\"size\">98765</td>"),
            "{followed}"
        );
        assert!(
            followed.contains("<a href=\"out-dir/\">out-dir/</a>"),
            "{followed}"
        );
    }
}
