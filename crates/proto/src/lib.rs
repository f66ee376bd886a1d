//! egress-ids' parsers: bytes in, typed values out. [`decode`] takes a captured frame down to
//! TCP/UDP (link layers, IP, fragments); [`tls`], [`dns`] and [`http`] parse application-layer
//! messages and build the EVE objects Suricata logs for them. No I/O, no threads, no unsafe code:
//! the engine and the fuzz targets use this crate alone, and no input may make it panic.
#![forbid(unsafe_code)]

pub mod decode;
pub mod dns;
pub mod h2;
pub mod http;
pub mod json;
pub mod quic;
pub mod socks;
#[cfg(test)]
mod testutil;
pub mod text;
pub mod time;
pub mod tls;

pub use time::Timestamp;
