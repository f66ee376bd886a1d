//! Application-layer parsers, one folder per protocol: bytes in, typed values out, then what EVE logs.

pub mod dns;
pub mod http;
pub mod tls;
