//! How egress-ids is configured: the daemon's file (`config`), the settings the flags and the
//! file share, and the command-line options. One test binary, one module per topic.

#[path = "../common/mod.rs"]
mod common;

mod config;
mod options;
mod settings;
