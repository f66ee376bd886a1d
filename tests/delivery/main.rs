//! How egress-ids' output reaches people and machines: the man pages and shell completions, the
//! log shippers' example configurations, and the sensor name in every EVE record. One test
//! binary, one module per topic.

#[path = "../common/mod.rs"]
mod common;

mod manual;
mod sensor_name;
mod shipping;
