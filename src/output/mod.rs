//! Where events end up: the EVE writer ([`writer`]), the live sensor's targets (file, stdout,
//! Unix socket, webhook: [`targets`]) and the end-of-run summary on stderr ([`summary`]).

pub mod attribute;
pub mod summary;
pub mod targets;
pub(crate) mod writer;

pub use writer::EveWriter;
