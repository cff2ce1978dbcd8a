//! The guests: the cargo workspace in `guests/`, read with `cargo metadata` and built for
//! `wasm32-wasip2`, one `cargo build` invocation per wave of a [`crate::plan::Plan`].
//!
//! A guest may embed the artifacts of other guests; it declares them in its own `Cargo.toml`:
//!
//! ```toml
//! [package.metadata.wwpack]
//! embeds = ["child-echo"]
//! ```
//!
//! and reads them with `include_bytes!(env!("WWPACK_ARTIFACT_CHILD_ECHO"))` (see
//! [`artifact_env_var`]): the build of each wave gets the absolute path of every artifact of the
//! earlier waves in such a variable, so no guest needs a path into the target directory. Cargo
//! records both the variable and the included file in its dep-info, so an embedder is rebuilt
//! whenever an artifact it embeds changes.
//!
//! [`graph`] reads the workspace (`cargo metadata`) into the guests and their embeds;
//! [`cargo`] runs the build. Between them, [`crate::plan`] cuts the graph into waves: the plan
//! uses the graph, the build ([`crate::build`]) uses the plan and the invocation, and neither
//! half of this module knows the plan.

pub mod cargo;
pub mod graph;

pub use cargo::{artifact_env_var, TARGET};
pub use graph::{Guest, Workspace};
