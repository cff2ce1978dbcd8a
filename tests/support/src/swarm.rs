//! Several real js-ipfs nodes on 127.0.0.1, connected to each other in a given topology: a
//! [`Swarm`] starts them (in parallel), links them (`swarm/connect`), stops and restarts one
//! (same repo, same ports, its links dialled again) and stops them all when dropped, also when
//! a test fails half-way. Every wait is bounded. [`loopback_only`] checks, from the node's own
//! answers and from the kernel's socket tables, that a node listens on and talks to 127.0.0.1
//! only.

use std::cell::Cell;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::ipfs_node::IpfsNode;
use crate::sockets::{sockets_of, Socket};

/// How the nodes of a [`Swarm`] are linked; a link `(a, b)` is node `a` dialling node `b`.
#[derive(Debug, Clone)]
pub enum Topology {
    /// 0 – 1 – 2 – ... : each node linked to the next.
    Chain,
    /// Node 0 in the middle, linked to every other; the others not to each other.
    Star,
    /// No links: the test makes its own ([`Swarm::link`]).
    Apart,
    /// These links.
    Links(Vec<(usize, usize)>),
}

impl Topology {
    /// The links of this topology over `n` nodes.
    pub fn links(&self, n: usize) -> Vec<(usize, usize)> {
        match self {
            Topology::Chain => (1..n).map(|i| (i, i - 1)).collect(),
            Topology::Star => (1..n).map(|i| (i, 0)).collect(),
            Topology::Apart => Vec::new(),
            Topology::Links(links) => links.clone(),
        }
    }
}

/// How long [`Swarm::await_links`] waits for both ends of every link to list each other.
const LINK_WAIT: Duration = Duration::from_secs(20);

/// Real js-ipfs nodes on 127.0.0.1 with swarm listeners, linked as a [`Topology`] says; all
/// stopped on drop.
pub struct Swarm {
    nodes: Vec<IpfsNode>,
    links: Vec<(usize, usize)>,
    running: Vec<Cell<bool>>,
}

impl Swarm {
    /// Starts `n` nodes (in parallel) and links them as `topology` says; returns once every
    /// link is up at both ends. A node that does not start fails the test, and the nodes that
    /// did start are stopped.
    pub fn start(n: usize, topology: Topology) -> Swarm {
        let started: Vec<std::thread::Result<IpfsNode>> = std::thread::scope(|s| {
            let starting: Vec<_> = (0..n).map(|_| s.spawn(IpfsNode::start_listening)).collect();
            starting.into_iter().map(|t| t.join()).collect()
        });
        let mut nodes = Vec::with_capacity(n);
        let mut failed = None;
        for node in started {
            match node {
                Ok(node) => nodes.push(node),
                Err(why) => failed = Some(why),
            }
        }
        if let Some(why) = failed {
            drop(nodes); // stops the ones that started
            std::panic::resume_unwind(why);
        }
        let mut swarm = Swarm {
            running: nodes.iter().map(|_| Cell::new(true)).collect(),
            nodes,
            links: Vec::new(),
        };
        for (a, b) in topology.links(n) {
            swarm.link(a, b);
        }
        swarm.await_links();
        swarm
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &IpfsNode {
        &self.nodes[i]
    }

    /// Every node, in order.
    pub fn nodes(&self) -> &[IpfsNode] {
        &self.nodes
    }

    /// The links, `(dialler, dialled)`.
    pub fn links(&self) -> &[(usize, usize)] {
        &self.links
    }

    /// Whether node `i` runs (it was not [`stop`](Swarm::stop)ped, or was restarted since).
    pub fn is_running(&self, i: usize) -> bool {
        self.running[i].get()
    }

    /// Links node `a` to node `b` (`a` dials `b`); kept as a link of the swarm, dialled again
    /// when either end restarts.
    pub fn link(&mut self, a: usize, b: usize) {
        assert!(a != b, "a node cannot be linked to itself ({a})");
        self.nodes[a].connect(&self.nodes[b]);
        self.links.push((a, b));
    }

    /// Stops node `i` (its repo, identity, blocks and ports are kept for
    /// [`restart`](Swarm::restart)).
    pub fn stop(&self, i: usize) {
        self.nodes[i].stop();
        self.running[i].set(false);
    }

    /// Starts node `i` again on the same repo and ports and dials its links to the nodes that
    /// run; returns once they are up at both ends.
    pub fn restart(&self, i: usize) {
        self.nodes[i].restart();
        self.running[i].set(true);
        for &(a, b) in &self.links {
            let other = if a == i {
                b
            } else if b == i {
                a
            } else {
                continue;
            };
            if self.is_running(other) {
                self.nodes[i].connect(&self.nodes[other]);
            }
        }
        self.await_links();
    }

    /// Waits (at most 20 s) until both ends of every link between running nodes list each
    /// other among their peers; panics naming the first link that is not up.
    pub fn await_links(&self) {
        let deadline = Instant::now() + LINK_WAIT;
        loop {
            let down = self
                .links
                .iter()
                .find(|&&(a, b)| self.is_running(a) && self.is_running(b) && !self.linked(a, b));
            let Some(&(a, b)) = down else { return };
            assert!(
                Instant::now() < deadline,
                "the link {a} ({}) – {b} ({}) is not up at both ends after {LINK_WAIT:?}",
                self.nodes[a].url,
                self.nodes[b].url
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether nodes `a` and `b` both list the other among their peers.
    pub fn linked(&self, a: usize, b: usize) -> bool {
        let (na, nb) = (&self.nodes[a], &self.nodes[b]);
        na.peers().contains(&nb.peer_id()) && nb.peers().contains(&na.peer_id())
    }
}

/// What makes `node` (running) reachable from, or talk to, anything but 127.0.0.1: each
/// address in its config, listen and announced addresses that is not on 127.0.0.1, and each of
/// its daemon's sockets (from the kernel) that is bound to, listens on or is connected to
/// another address. Empty for a node on loopback only. Also checks that the kernel shows its
/// API listener (and its swarm listener, if it has one), so that an empty answer cannot come
/// from looking at the wrong process.
pub fn loopback_only(node: &IpfsNode) -> Vec<String> {
    let mut wrong = Vec::new();
    let config = node.config();
    let addresses = &config["Addresses"];
    for key in ["API", "Gateway", "RPC"] {
        let a = addresses[key].as_str().unwrap_or("");
        if !a.is_empty() && !on_loopback(a) {
            wrong.push(format!("config Addresses.{key} = {a}"));
        }
    }
    let configured = addresses["Swarm"].as_array().cloned().unwrap_or_default();
    for a in configured.iter().map(|a| a.as_str().unwrap_or("?")) {
        if !on_loopback(a) {
            wrong.push(format!("config Addresses.Swarm has {a}"));
        }
    }
    for a in node.listen_addrs() {
        if !on_loopback(&a) {
            wrong.push(format!("listens on {a} (swarm/addrs/local)"));
        }
    }
    for a in node.announced_addrs() {
        if !on_loopback(&a) {
            wrong.push(format!("announces {a} (id)"));
        }
    }
    let sockets = sockets_of(node.pid());
    wrong.extend(off_loopback(&sockets));
    let mut expected = vec![node.api_port()];
    expected.extend(node.swarm_port());
    for port in expected {
        if !sockets
            .iter()
            .any(|s| s.listens() && s.local.port() == port)
        {
            wrong.push(format!(
                "no listener on port {port} among the sockets of pid {}: {sockets:?}",
                node.pid()
            ));
        }
    }
    wrong
}

/// Whether a multiaddr is a TCP address on 127.0.0.1 (optionally with its `/p2p/ID`).
pub fn on_loopback(multiaddr: &str) -> bool {
    let mut parts = multiaddr.split('/').skip(1);
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("ip4"), Some("127.0.0.1"), Some("tcp"), Some(port)) if port.parse::<u16>().is_ok()
    ) && matches!(
        (parts.next(), parts.next(), parts.next()),
        (None, None, None) | (Some("p2p"), Some(_), None)
    )
}

/// The sockets of `sockets` that are not on 127.0.0.1: any UDP socket, a TCP socket bound to
/// another address, or connected to one.
pub fn off_loopback(sockets: &[Socket]) -> Vec<String> {
    let loopback = |ip: IpAddr| ip == IpAddr::from([127, 0, 0, 1]);
    sockets
        .iter()
        .filter(|s| {
            s.table.starts_with("udp")
                || !loopback(s.local.ip())
                || !(s.listens() || loopback(s.remote.ip()))
        })
        .map(|s| {
            format!(
                "socket {} {} -> {} (state {})",
                s.table, s.local, s.remote, s.state
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn topologies_link_the_nodes_they_say() {
        assert_eq!(Topology::Chain.links(3), [(1, 0), (2, 1)]);
        assert_eq!(Topology::Star.links(4), [(1, 0), (2, 0), (3, 0)]);
        assert!(Topology::Apart.links(3).is_empty());
        assert_eq!(Topology::Links(vec![(0, 2)]).links(3), [(0, 2)]);
    }

    #[test]
    fn only_tcp_addresses_on_127_0_0_1_are_loopback() {
        for a in [
            "/ip4/127.0.0.1/tcp/4001",
            "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWMVUT7JqMFx43NA912H9d5idBJDe9kxqXwAaJEYqQaT2m",
        ] {
            assert!(on_loopback(a), "{a}");
        }
        for a in [
            "/ip4/0.0.0.0/tcp/4001",
            "/ip4/10.0.0.1/tcp/4001",
            "/ip6/::1/tcp/4001",
            "/ip4/127.0.0.1/udp/4001/quic",
            "/ip4/127.0.0.1/tcp/4001/ws",
            "/ip4/127.0.0.1/tcp/x",
            "",
        ] {
            assert!(!on_loopback(a), "{a}");
        }
    }

    #[test]
    fn sockets_off_loopback_are_named() {
        let sock = |table, local: &str, remote: &str, state| Socket {
            table,
            local: local.parse::<SocketAddr>().unwrap(),
            remote: remote.parse::<SocketAddr>().unwrap(),
            state,
        };
        let fine = [
            sock("tcp", "127.0.0.1:4001", "0.0.0.0:0", 0x0A),
            sock("tcp", "127.0.0.1:50000", "127.0.0.1:4002", 1),
        ];
        assert!(off_loopback(&fine).is_empty());
        let wrong = [
            sock("tcp", "0.0.0.0:4001", "0.0.0.0:0", 0x0A),
            sock("tcp6", "[::]:4001", "[::]:0", 0x0A),
            sock("tcp", "127.0.0.1:50000", "10.1.2.3:4001", 1),
            sock("udp", "127.0.0.1:5353", "0.0.0.0:0", 7),
        ];
        assert_eq!(off_loopback(&wrong).len(), 4, "{:?}", off_loopback(&wrong));
    }
}
