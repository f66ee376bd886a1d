//! The host-mode daemon's setup: its configuration file ([`config`]) and how it gives up root
//! once its capture is open ([`privileges`]).

pub mod config;
pub mod privileges;

pub use config::{default_toml, ConfigError, DaemonConfig};
pub use privileges::{
    current_credentials, drop_capabilities, drop_privileges, Credentials, PrivilegeError,
    PrivilegeReport, RunAs,
};
