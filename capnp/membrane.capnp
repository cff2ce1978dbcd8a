@0xa85a31744ba7aa89;
# What a Wetware process is granted: the bootstrap capability of every process's RPC
# connection is a `Membrane(WetwareSession)` (Stem.Membrane). Compiled by `wetware-capnp`.

using Stem = import "stem.capnp";
using Peer = import "peer.capnp";

struct WetwareSession {
  host @0 :Peer.Host;
  executor @1 :Peer.Executor;
}

using WetwareMembrane = Stem.Membrane(WetwareSession);
