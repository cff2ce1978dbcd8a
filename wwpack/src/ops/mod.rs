//! The verbs of `wwpack`, one module per verb or family of verbs: each does the work through the
//! library ([`crate::build`], [`crate::diff`], [`ww_content`]) and prints what the command line
//! shows, with the plumbing of [`crate::cli`]. `main.rs` only parses arguments and calls them.

pub mod build;
pub mod content;
pub mod diff;
pub mod init;
pub mod oci;
pub mod pin;
pub mod publish;
pub mod pull;
pub mod push;
pub mod registry;
pub mod store;
pub mod verify;
