@0xf70d458ac3e7f0a1;
# The membrane primitives: epochs, sessions and the membrane a process grafts onto.
# Compiled by the `stem` crate; other crates refer to its generated code.

struct Epoch {
  # A period during which the capabilities a host hands out stay valid.
  seq @0 :UInt64;          # Increases by one at every new epoch.
  head @1 :Data;           # Opaque bytes naming the state the epoch was adopted at.
  adoptedBlock @2 :UInt64; # The block height (or 0) at which the epoch was adopted.
}

enum Status {
  ok @0;            # The session is valid in the current epoch.
  unauthorized @1;  # The caller may not do this under the current policy.
  internalError @2; # The host failed unexpectedly.
}

interface Signer {
  # Held by the grafting party; signs a nonce under a signing domain.
  sign @0 (domain :Text, nonce :UInt64) -> (sig :Data);
}

interface StatusPoller {
  pollStatus @0 () -> (status :Status);
  # Fails with a "staleEpoch" error once the session's epoch has passed.
}

struct Session(Extension) {
  issuedEpoch @0 :Epoch;          # The epoch the session was issued in.
  statusPoller @1 :StatusPoller;  # May be null when the host withholds it.
  extension @2 :Extension;        # What the platform grants in this session.
}

interface Membrane(SessionExt) {
  graft @0 (signer :Signer) -> (session :Session(SessionExt));
  # Issues a session in the current epoch. `signer` may be null (an anonymous graft).
  # Fails with "staleEpoch" when the membrane itself was issued in an epoch that has passed.
}
