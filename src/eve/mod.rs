//! The EVE event model: what an event is ([`Event`] and its objects, Suricata's names and
//! shapes), which event types a run writes ([`EveTypes`]), and where serialised lines go
//! ([`EventSink`]). The engine builds and serialises events; the output targets implement the sink.

pub(crate) mod event;
pub mod types;

pub use event::{parse_timestamp, Event, Object};
pub use types::{EveTypes, EventType};

use proto::Timestamp;
use serde_json::Value;

/// Where EVE lines go.
pub trait EventSink {
    /// One serialised event (JSON without the newline); alerts are to be delivered at once.
    fn line(&mut self, json: &[u8], is_alert: bool);
    /// A `stats` event at packet time `ts`.
    fn emit_stats(&mut self, ts: Timestamp, stats: Value);
    /// Delivers what was written (the pipeline is about to wait).
    fn flush(&mut self) {}
}
