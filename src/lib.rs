//! egress-ids: a passive network IDS for CI subnets.
//!
//! Frames go `capture → pipeline (decode, dispatch) → engine (flows, app layer, detections) →
//! merge → output`; the parsers are the `proto` crate (`crates/proto`). The modules form one
//! chain, each importing only those before it:
//!
//! [`units`] → [`capture`] → [`flow`] → [`host`] → [`detect`] → [`counters`] → [`eve`] →
//! [`engine`] → [`pipeline`] → [`output`] → [`settings`] → [`options`] → [`replay`] →
//! [`privileges`] → [`sensor`] → [`daemon`] → [`inventory`] → [`run`]
//!
//! `tests/layers.rs` checks the chain; `docs/ARCHITECTURE.md` says what each module owns.

pub mod capture;
pub mod counters;
pub mod daemon;
pub mod detect;
pub mod engine;
pub mod eve;
pub mod flow;
pub mod host;
pub mod inventory;
pub mod options;
pub mod output;
pub mod pipeline;
pub mod privileges;
pub mod replay;
pub mod run;
pub mod sensor;
pub mod settings;
#[cfg(test)]
mod testutil;
pub mod units;
