//! egress-ids: a passive network IDS for CI subnets.
//!
//! The pipeline is `capture -> decode -> flow -> proto (app-layer) -> detect -> output`.
//! Each stage is a module with one job; [`engine`] wires them together for one shard of flows.

pub mod proto;
