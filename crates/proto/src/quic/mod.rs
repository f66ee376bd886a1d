//! QUIC client Initials: recognised on any UDP port, decrypted (v1 RFC 9001, v2 RFC 9369), their
//! CRYPTO frames put back together by offset across packets and coalesced datagrams, and the
//! ClientHello handed to the TLS parser; a Retry or Version Negotiation from the server starts
//! over with new keys. Google QUIC: the version, and for Q043-Q046 the cleartext CHLO.
//!
//! This is the one place where two protocol modules meet: QUIC carries TLS, so [`Initials`]
//! gives its CRYPTO bytes to [`crate::tls`].

pub mod crypto;
mod eve;
pub mod gquic;
pub mod header;
pub mod keys;

pub use eve::{Extension, GquicEve, QuicEve};

use crate::tls::{self, ClientHello, TlsError};
use crypto::{CryptoStream, FrameError};
use header::{Header, LongPacket, LongType, VERSION_1, VERSION_2};
use keys::{InitialKeys, Side};

/// A client's Initial datagram is at least this long (RFC 9000 §14.1).
pub const MIN_INITIAL_DATAGRAM: usize = 1200;
/// Long-header packets walked in one datagram at most.
const MAX_COALESCED: usize = 8;

/// What the first client datagram of a UDP flow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// A v1/v2 Initial of a full-size datagram.
    Ietf(u32),
    /// Google QUIC with this version (`Q046`).
    Gquic([u8; 4]),
    /// Not QUIC as far as the bytes tell.
    NoMatch,
}

/// Recognises QUIC from a client datagram: a long header with the fixed bit, a v1/v2 Initial in
/// a datagram of at least 1,200 bytes, or a gQUIC version.
pub fn probe(d: &[u8]) -> Probe {
    if let Some(v) = gquic::client_version(d) {
        return Probe::Gquic(v);
    }
    if d.len() < MIN_INITIAL_DATAGRAM || d[0] & 0xc0 != 0xc0 {
        return Probe::NoMatch;
    }
    match header::parse(d) {
        Some(Header::Long(p)) if p.kind == Some(LongType::Initial) => Probe::Ietf(p.version),
        _ => Probe::NoMatch,
    }
}

/// The ClientHello of a QUIC connection, with what the `quic` EVE object needs.
#[derive(Debug)]
pub struct Hello {
    pub version: u32,
    pub hello: ClientHello,
    /// The extensions in order, with the values Suricata lists.
    pub extensions: Vec<Extension>,
}

/// What one client datagram completed.
#[derive(Debug)]
pub enum ClientStep {
    /// Nothing complete yet, or nothing new (the hello was already given).
    Pending,
    /// The ClientHello is whole.
    Hello(Box<Hello>),
    /// An Initial that neither the flow's keys nor its own DCID's keys open.
    Undecryptable,
    /// CRYPTO data past [`crypto::MAX_CRYPTO_BYTES`].
    TooLong,
    /// Frames that cannot be delimited.
    Malformed,
    /// CRYPTO bytes that the TLS parser refuses.
    BadHello(TlsError),
}

/// What a server datagram means for the client's Initials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerStep {
    /// A Retry: the client starts over with the new connection ID (new keys).
    Retry,
    /// Version Negotiation: the client starts over in another version.
    VersionNegotiation,
    Other,
}

/// The Initial keys in use, and the connection ID they came from.
#[derive(Debug)]
struct Keys {
    version: u32,
    dcid: Vec<u8>,
    keys: InitialKeys,
}

/// One flow's client Initials: keys, the CRYPTO stream, and whether the hello was given.
#[derive(Debug, Default)]
pub struct Initials {
    keys: Option<Keys>,
    crypto: CryptoStream,
    /// Scratch for one decrypted payload.
    plain: Vec<u8>,
    largest_pn: Option<u64>,
    hello_given: bool,
}

impl Initials {
    /// Heap bytes held (for the flow memory cap).
    pub fn heap_bytes(&self) -> usize {
        self.crypto.capacity()
            + self.plain.capacity()
            + self.keys.as_ref().map_or(0, |k| k.dcid.capacity())
    }

    /// Whether the ClientHello was given (until a Retry starts over).
    pub fn hello_given(&self) -> bool {
        self.hello_given
    }

    /// Starts over (Retry, Version Negotiation, a new connection on the same addresses).
    fn reset(&mut self) {
        self.keys = None;
        self.crypto.clear();
        self.largest_pn = None;
        self.hello_given = false;
    }

    /// Reads one datagram from the server: a Retry or Version Negotiation resets the state.
    pub fn on_server_datagram(&mut self, d: &[u8]) -> ServerStep {
        match header::parse(d) {
            Some(Header::Long(p)) if p.version == 0 => {
                self.reset();
                ServerStep::VersionNegotiation
            }
            Some(Header::Long(p)) if p.kind == Some(LongType::Retry) => {
                self.reset();
                ServerStep::Retry
            }
            _ => ServerStep::Other,
        }
    }

    /// Reads one datagram from the client: every coalesced Initial in it is opened and its
    /// CRYPTO frames added; the ClientHello is returned once it is whole.
    pub fn on_client_datagram(&mut self, mut d: &[u8]) -> ClientStep {
        let mut opened_any = false;
        let mut undecryptable = false;
        for _ in 0..MAX_COALESCED {
            let Some(Header::Long(p)) = header::parse(d) else {
                break;
            };
            d = &d[p.packet.len().min(d.len())..];
            if p.kind != Some(LongType::Initial)
                || !(p.version == VERSION_1 || p.version == VERSION_2)
            {
                if p.kind.is_none() {
                    break;
                }
                continue;
            }
            match self.open(&p) {
                Some(()) => opened_any = true,
                None => {
                    undecryptable = true;
                    continue;
                }
            }
            match self.crypto.add_frames(&self.plain) {
                Ok(_) => {}
                Err(FrameError::TooLong) => return ClientStep::TooLong,
                Err(FrameError::Malformed) => return ClientStep::Malformed,
            }
            if d.is_empty() {
                break;
            }
        }
        if !opened_any {
            return if undecryptable {
                ClientStep::Undecryptable
            } else {
                ClientStep::Pending
            };
        }
        if self.hello_given {
            return ClientStep::Pending;
        }
        let version = self.keys.as_ref().map_or(VERSION_1, |k| k.version);
        let Some(msg) = self.crypto.first_message() else {
            return ClientStep::Pending;
        };
        self.hello_given = true;
        match tls::parse_client_hello_message(msg) {
            Ok(mut hello) => {
                hello.set_quic();
                let extensions = eve::extensions_of(msg);
                ClientStep::Hello(Box::new(Hello {
                    version,
                    hello,
                    extensions,
                }))
            }
            Err(e) => ClientStep::BadHello(e),
        }
    }

    /// Opens one client Initial into `self.plain`: with the flow's keys, else with keys from the
    /// packet's own DCID (the first packet, or a new attempt after a Retry the capture lacks).
    fn open(&mut self, p: &LongPacket<'_>) -> Option<()> {
        if let Some(k) = self.keys.as_ref().filter(|k| k.version == p.version) {
            if let Some(pn) = k.keys.open(p, self.largest_pn, &mut self.plain) {
                self.largest_pn = Some(self.largest_pn.map_or(pn, |l| l.max(pn)));
                return Some(());
            }
        }
        let keys = InitialKeys::new(p.version, p.dcid, Side::Client)?;
        let pn = keys.open(p, None, &mut self.plain)?;
        if self.keys.is_some() {
            // Another connection attempt on the same addresses: start its hello afresh.
            self.reset();
        }
        self.keys = Some(Keys {
            version: p.version,
            dcid: p.dcid.to_vec(),
            keys,
        });
        self.largest_pn = Some(pn);
        Some(())
    }
}

/// The EVE `version` text of a QUIC version, as Suricata writes it (`1`, `v2`, `Q046`, hex).
pub fn version_name(v: u32) -> String {
    let b = v.to_be_bytes();
    if gquic::is_gquic_version(b) {
        return String::from_utf8_lossy(&b).into_owned();
    }
    match v {
        VERSION_2 => "v2".to_owned(),
        _ => format!("{v:x}"),
    }
}

#[cfg(test)]
mod tests;
