//! egress-ids: a passive network IDS for CI subnets.
//!
//! The pipeline is `capture -> decode -> flow -> proto (app-layer) -> detect -> output`.
//! Each stage is a module with one job; [`engine`] wires them together for one shard of flows,
//! and [`replay`] drives the engine over capture files.

pub mod capture;
pub mod counters;
pub mod daemon;

pub mod detect;
pub mod engine;
pub mod eve;
pub mod flow;
pub mod options;
pub mod output;
pub mod pipeline;
pub mod privileges;

pub mod replay;
pub mod sensor;
pub mod settings;
#[cfg(test)]
mod testutil;
pub mod units;
