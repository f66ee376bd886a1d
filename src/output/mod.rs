//! Where events end up: the EVE writer ([`writer`]), the live sensor's targets (file, stdout,
//! Unix socket, webhook: [`targets`]), the sensor's name in every record ([`sensor_name`]), the
//! end-of-run summary on stderr ([`summary`]) and a replay's progress line on a terminal
//! ([`progress`]).

pub mod attribute;
pub mod progress;
pub mod sensor_name;
pub mod summary;
pub mod targets;
pub(crate) mod writer;

pub use writer::EveWriter;
