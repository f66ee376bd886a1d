//! The host-mode daemon's configuration file: TOML sections for capture, detection, engine,
//! outputs and privileges, checked with `file:line:column` in every error.

pub mod config;

pub use config::{default_toml, DaemonConfig};
