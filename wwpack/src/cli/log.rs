//! wwpack's log on stderr ([`ww_clidocs::log`]): each event one line, prefixed as its own
//! messages are (`wwpack: warning: ...`, `wwpack: error: ...`, `wwpack: info: ...`). The filter
//! comes from `WWPACK_LOG`, else `RUST_LOG` (tracing's `EnvFilter` syntax), else `warn`; `-q`
//! makes the overall level `error`, `-v` `info`, `-vv` `debug`, `-vvv` `trace`.

use ww_clidocs::log::{Log, LogArgs};

/// Installs the log (see the module docs).
pub fn init(flags: &LogArgs) {
    Log {
        name: "wwpack",
        vars: &["WWPACK_LOG", "RUST_LOG"],
        json: false,
    }
    .init(flags);
}
