//! Output: EVE JSON events and the end-of-run summary.

pub mod eve;
pub mod summary;
pub mod targets;
pub mod types;

pub use eve::{EveWriter, Event, EventSink};
pub use types::EveTypes;
