//! What the engine guarantees on replay: the same events whatever the threads, bounded flow
//! memory under a flood, QUIC, and the names an ECH flow is judged by. One test binary, one
//! module per topic.

#[path = "../common/mod.rs"]
mod common;

mod hidden_names;
mod memcap;
mod quic;
mod threads;
