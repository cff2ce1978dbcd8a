//! The boot peers of an image: `boot/<peer-id>` files of the union root, each holding the peer's
//! multiaddrs, one per line. `Host.peers` answers with them.

use std::path::Path;

/// A peer named in `boot/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootPeer {
    /// The libp2p peer ID (the file name).
    pub id: String,
    /// Its multiaddrs, in file order.
    pub addrs: Vec<String>,
}

/// The peers of `root/boot/`, sorted by peer ID. No `boot/` directory means no peers. wwpack
/// validated the files when it built the image; this still reads them leniently: entries that
/// are not regular files or whose names are not UTF-8 are skipped, lines are trimmed, blank
/// lines and `#` comments dropped.
pub fn read_boot_peers(root: &Path) -> std::io::Result<Vec<BootPeer>> {
    let dir = root.join("boot");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(with_path(&dir, e)),
    };
    let mut peers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| with_path(&dir, e))?;
        let path = entry.path();
        if !entry
            .file_type()
            .map_err(|e| with_path(&path, e))?
            .is_file()
        {
            continue;
        }
        let Ok(id) = entry.file_name().into_string() else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|e| with_path(&path, e))?;
        let addrs = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        peers.push(BootPeer { id, addrs });
    }
    peers.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(peers)
}

fn with_path(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sorted_trimmed_peers_and_skips_the_rest() {
        let root = tempfile::tempdir().expect("temp dir");
        let boot = root.path().join("boot");
        std::fs::create_dir_all(boot.join("subdir")).expect("mkdir");
        std::fs::write(
            boot.join("12D3KooWB"),
            "/ip4/1.2.3.4/tcp/1\r\n\n  /dns4/x/tcp/2  \n# note\n",
        )
        .expect("write");
        std::fs::write(boot.join("12D3KooWA"), "/ip4/5.6.7.8/udp/3/quic-v1").expect("write");
        std::os::unix::fs::symlink("12D3KooWA", boot.join("12D3KooWC")).expect("symlink");
        let peers = read_boot_peers(root.path()).expect("read");
        assert_eq!(
            peers,
            vec![
                BootPeer {
                    id: "12D3KooWA".into(),
                    addrs: vec!["/ip4/5.6.7.8/udp/3/quic-v1".into()]
                },
                BootPeer {
                    id: "12D3KooWB".into(),
                    addrs: vec!["/ip4/1.2.3.4/tcp/1".into(), "/dns4/x/tcp/2".into()]
                },
            ]
        );
    }

    #[test]
    fn no_boot_directory_is_no_peers() {
        let root = tempfile::tempdir().expect("temp dir");
        assert_eq!(read_boot_peers(root.path()).expect("read"), vec![]);
    }
}
