//! The TCP and UDP sockets a process holds, as the kernel sees them: the socket inodes of
//! `/proc/<pid>/fd` matched against `/proc/net/{tcp,tcp6,udp,udp6}`. What proves that a node
//! listens on, and talks to, 127.0.0.1 only, whatever it says about itself.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One IP socket of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    /// `tcp`, `tcp6`, `udp` or `udp6`.
    pub table: &'static str,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The kernel's state number (TCP: 1 established, 10 listen; UDP: 7 unconnected).
    pub state: u8,
}

impl Socket {
    /// A TCP socket that accepts connections.
    pub fn listens(&self) -> bool {
        self.table.starts_with("tcp") && self.state == 0x0A
    }
}

/// Every TCP and UDP socket that process `pid` holds open.
pub fn sockets_of(pid: u32) -> Vec<Socket> {
    let fds = format!("/proc/{pid}/fd");
    let inodes: HashSet<String> = std::fs::read_dir(&fds)
        .unwrap_or_else(|e| panic!("read {fds}: {e}"))
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut out = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let file = format!("/proc/net/{table}");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue; // no IPv6 in this kernel
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && inodes.contains(f[9]) {
                out.push(Socket {
                    table,
                    local: address(f[1]).unwrap_or_else(|| panic!("{file}: bad address {}", f[1])),
                    remote: address(f[2]).unwrap_or_else(|| panic!("{file}: bad address {}", f[2])),
                    state: u8::from_str_radix(f[3], 16).unwrap_or(0),
                });
            }
        }
    }
    out
}

/// An address of `/proc/net/*`: the IP as hex words in host order, `:`, the port in hex.
fn address(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let ip = match words[..] {
        [w] => IpAddr::V4(Ipv4Addr::from(w.to_ne_bytes())),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_of_this_process_is_found_where_it_is_bound() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mine = sockets_of(std::process::id());
        let found: Vec<_> = mine.iter().filter(|s| s.local.port() == port).collect();
        assert_eq!(found.len(), 1, "{mine:?}");
        assert!(found[0].listens());
        assert_eq!(found[0].local, SocketAddr::from(([127, 0, 0, 1], port)));
    }
}
