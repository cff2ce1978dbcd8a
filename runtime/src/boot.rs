//! The boot peers of an image: `boot/<peer-id>` files of the union, each holding the peer's
//! multiaddrs, one per line. `Host.peers` answers with them.
//!
//! They are read from the union (each file from its verified cache entry), never by a path
//! through the materialized root, so a `boot` that is a symlink in the image cannot make the
//! host read one of its own files for the guest. They are checked by the rules `wwpack build`
//! applies, with its messages ([`ww_image::fhs::boot_peers`]): a bad boot file stops the boot.

use std::path::Path;

use ww_content::tree::Tree;
use ww_image::union::Union;

use crate::error::BootError;
use crate::root::UnionRoot;

/// A peer named in `boot/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootPeer {
    /// The libp2p peer ID (the file name).
    pub id: String,
    /// Its multiaddrs, in file order.
    pub addrs: Vec<String>,
}

/// The peers of the union's `boot/`, sorted by peer ID. No `boot/` directory means no peers.
pub fn read_boot_peers(root: &UnionRoot) -> Result<Vec<BootPeer>, BootError> {
    peers_of(root.union())
}

/// The peers of the `boot/` of a host directory holding one image (read as a layer: its
/// symlinks are not followed).
pub fn peers_of_dir(dir: &Path) -> Result<Vec<BootPeer>, BootError> {
    let layer = Tree::scan(dir).map_err(|e| BootError::Host(e.to_string()))?;
    let label = dir.display().to_string();
    let union =
        Union::of([(label.as_str(), &layer)]).map_err(|e| BootError::Union(e.to_string()))?;
    peers_of(&union)
}

fn peers_of(union: &Union) -> Result<Vec<BootPeer>, BootError> {
    let peers = ww_image::fhs::boot_peers(union).map_err(BootError::Union)?;
    Ok(peers
        .into_iter()
        .map(|(id, addrs)| BootPeer { id, addrs })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

    #[test]
    fn reads_sorted_peers_and_refuses_what_build_refuses() {
        let root = tempfile::tempdir().expect("temp dir");
        let boot = root.path().join("boot");
        std::fs::create_dir_all(&boot).expect("mkdir");
        std::fs::write(boot.join(A), "/ip4/1.2.3.4/tcp/1\n/dns4/x/tcp/2\n").expect("write");
        let peers = peers_of_dir(root.path()).expect("read");
        assert_eq!(
            peers,
            vec![BootPeer {
                id: A.into(),
                addrs: vec!["/ip4/1.2.3.4/tcp/1".into(), "/dns4/x/tcp/2".into()]
            }]
        );

        // A symlink in boot/ is refused (the host never reads through it).
        std::os::unix::fs::symlink("/etc/passwd", boot.join("12D3KooWLink")).expect("symlink");
        let err = peers_of_dir(root.path()).unwrap_err().to_string();
        assert!(err.contains("is a symlink"), "{err}");
    }

    #[test]
    fn a_boot_symlink_is_refused_and_never_followed() {
        let root = tempfile::tempdir().expect("temp dir");
        let elsewhere = tempfile::tempdir().expect("temp dir");
        std::fs::write(elsewhere.path().join(A), "/ip4/9.9.9.9/tcp/9\n").expect("write");
        std::os::unix::fs::symlink(elsewhere.path(), root.path().join("boot")).expect("symlink");
        let err = peers_of_dir(root.path()).unwrap_err().to_string();
        assert!(
            err.contains("`boot`") && err.contains("must be a directory"),
            "{err}"
        );
    }

    #[test]
    fn no_boot_directory_is_no_peers() {
        let root = tempfile::tempdir().expect("temp dir");
        assert_eq!(peers_of_dir(root.path()).expect("read"), vec![]);
    }
}
