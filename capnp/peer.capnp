@0xe9fe986adf4a182e;
# What a process may do on its host: the node it runs on and the processes it starts.
# Compiled by the `wetware-capnp` crate (capnp/).

interface Host {
  # The node the process runs on.
  id @0 () -> (peerId :Text);
  # The node's libp2p peer ID (an ed25519 identity, base58btc).
  addrs @1 () -> (addrs :List(Text));
  # The multiaddrs the node listens on (none in this release: it does not listen).
  peers @2 () -> (peers :List(PeerInfo));
  # The peers named in the image's boot/ directory.
  connect @3 (peer :PeerInfo) -> ();
  # Dials a peer. Fails with "not supported in this release".
  executor @4 () -> (executor :Executor);
}

struct PeerInfo {
  id @0 :Text;           # libp2p peer ID
  addrs @1 :List(Text);  # multiaddrs
}

struct EnvVar {
  name @0 :Text;
  value @1 :Text;
}

interface Executor {
  runBytes @0 (wasm :Data, args :List(Text), env :List(EnvVar)) -> (process :Process);
  # Starts a WASI 0.2 command component as a child process with its own RPC connection.
  # `args` follow the program name. Fails, leaving the caller's session intact, when the bytes
  # are not a WASI command component.
  echo @1 (message :Text) -> (response :Text);
  # Returns the message: a liveness check of the RPC path.
}

# Process and ByteStream belong to the process they were made for, not to a session: they are
# not guarded by the epoch (Host and Executor are).
interface Process {
  stdin @0 () -> (stream :ByteStream);   # Write-only; close it to send end of stream.
  stdout @1 () -> (stream :ByteStream);  # Read-only.
  stderr @2 () -> (stream :ByteStream);  # Read-only.
  wait @3 () -> (exitCode :Int32);
  # Waits for the process to end and returns its exit status (0-255); may be called more than
  # once. Fails when the process did not exit but trapped or could not start.
}

interface ByteStream {
  read @0 (maxBytes :UInt32) -> (data :Data);
  # Up to maxBytes bytes, waiting for at least one; empty means end of stream.
  write @1 (data :Data) -> ();
  # Returns once the bytes are accepted (backpressure: a full pipe makes it wait).
  close @2 () -> ();
}
