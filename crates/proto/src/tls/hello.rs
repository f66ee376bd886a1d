//! ClientHello message decoding: one complete handshake message (or SSLv2-format hello) in,
//! an owned [`ClientHello`] with its JA3 and JA4 fingerprints out.
//!
//! tls-parser decodes the TLS ClientHello body and each extension; the SSLv2-compatible hello
//! (which tls-parser does not cover) is decoded here by hand, with bounds-checked reads only.

use std::cell::OnceCell;
use std::sync::Arc;
use tls_parser::{
    parse_tls_client_hello_extension, parse_tls_extension_unknown,
    parse_tls_handshake_client_hello, SNIType, TlsClientHelloContents, TlsExtension,
};

use super::ech::{Ech, ECH_EXTENSION};
use super::fingerprint;
use super::server_name;

/// Handshake message type of a ClientHello (TLS and SSLv2 alike).
pub(super) const CLIENT_HELLO: u8 = 1;

/// Why a ClientHello could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// The bytes end before the message does.
    #[error("ClientHello truncated")]
    Truncated,
    /// The handshake message type is not ClientHello (1).
    #[error("handshake message is not a ClientHello")]
    NotClientHello,
    /// The message is complete but its fields do not decode.
    #[error("malformed ClientHello: {0}")]
    Malformed(&'static str),
}

/// What one ClientHello offered, owned, with its fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// First `host_name` of the server_name extension, as sent, in Suricata's text (UTF-8 as is,
    /// other bytes from 0x80 up as `\xNN`: [`server_name`]); `None` when
    /// absent or empty.
    pub sni: Option<String>,
    /// Every other non-empty `host_name`: later entries of the list, and the entries of a
    /// repeated server_name extension. A server may act on any of them (RFC 6066 allows one
    /// per type, but nothing enforces it), so detection checks them all; EVE shows `sni`.
    pub other_names: Vec<String>,
    /// Whether a server_name extension (0) was present at all (JA4's `d`/`i` flag).
    pub(crate) sni_present: bool,
    /// ALPN protocol names in order (lossy UTF-8, for logging).
    pub(crate) alpns: Vec<String>,
    /// ClientHello.legacy_version, or the version field of an SSLv2-format hello.
    pub(crate) legacy_version: u16,
    /// Versions from the supported_versions extension (43), in order, GREASE kept.
    pub(crate) supported_versions: Vec<u16>,
    /// Cipher suites in order, GREASE kept (for SSLv2: the specs whose first byte is 0).
    pub(crate) cipher_suites: Vec<u16>,
    /// Extension types in order, GREASE kept.
    pub(crate) extensions: Vec<u16>,
    /// supported_groups (10) in order, GREASE kept.
    pub(crate) supported_groups: Vec<u16>,
    /// ec_point_formats (11) in order.
    pub(crate) ec_point_formats: Vec<u8>,
    /// signature_algorithms (13) in order, GREASE kept.
    pub(crate) signature_algorithms: Vec<u16>,
    /// True for an SSLv2-format (record header `0x80 len`) hello.
    pub(crate) sslv2_format: bool,
    /// JA3 and JA4, worked out on first use (only events and rules need them).
    pub(crate) fingerprints: OnceCell<Arc<Fingerprints>>,
    /// JA4's two ALPN characters, worked out from the raw first ALPN value.
    pub(crate) ja4_alpn: [char; 2],
    /// JA4's transport letter: `t` TLS over TCP, `q` QUIC.
    pub(crate) transport: char,
    /// The Encrypted Client Hello extension, when the hello has one (the first).
    pub ech: Option<Ech>,
}

/// A hello's fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprints {
    /// JA3 string; `None` for an SSLv2-format hello (JA3 is undefined there).
    pub(crate) ja3_string: Option<String>,
    /// MD5 of the JA3 string, lowercase hex.
    pub(crate) ja3_hash: Option<String>,
    /// JA4 (`t` prefix over TCP, `q` over QUIC).
    pub(crate) ja4: String,
}

impl ClientHello {
    pub(crate) fn fingerprints(&self) -> &Fingerprints {
        self.fingerprints.get_or_init(|| {
            super::recent::fingerprints(self, || {
                let ja3 = (!self.sslv2_format).then(|| fingerprint::ja3_string(self));
                Fingerprints {
                    ja3_hash: ja3.as_deref().map(fingerprint::md5_hex),
                    ja3_string: ja3,
                    ja4: self.ja4_for(self.transport),
                }
            })
        })
    }

    /// Marks the hello as carried by QUIC (JA4's `q`); before any fingerprint is asked for.
    pub(crate) fn set_quic(&mut self) {
        self.transport = 'q';
        self.fingerprints = OnceCell::new();
    }

    /// Whether the first server name is not a host name (EVE's `sni_invalid`; the detections
    /// match its [`host_name_prefix`](server_name::host_name_prefix)).
    pub fn sni_invalid(&self) -> bool {
        self.sni
            .as_deref()
            .is_some_and(|n| !server_name::is_host_name(n))
    }

    /// The ALPN protocols offered, in order.
    pub fn alpns(&self) -> &[String] {
        &self.alpns
    }

    /// JA3 string; `None` for an SSLv2-format hello (JA3 is undefined there).
    pub(crate) fn ja3_string(&self) -> Option<&str> {
        self.fingerprints().ja3_string.as_deref()
    }

    /// MD5 of [`Self::ja3_string`], lowercase hex.
    pub fn ja3_hash(&self) -> Option<&str> {
        self.fingerprints().ja3_hash.as_deref()
    }

    /// JA4 (`t` prefix over TCP, `q` over QUIC).
    pub fn ja4(&self) -> &str {
        &self.fingerprints().ja4
    }
}

/// Everything decoded from the extensions block.
#[derive(Default)]
struct Extensions {
    types: Vec<u16>,
    sni: Option<String>,
    other_names: Vec<String>,
    sni_present: bool,
    alpns: Vec<String>,
    ja4_alpn: Option<[char; 2]>,
    supported_versions: Vec<u16>,
    groups: Vec<u16>,
    point_formats: Vec<u8>,
    sig_algs: Vec<u16>,
    ech: Option<Ech>,
}

/// Parse one ClientHello handshake message: type byte 0x01, 3-byte length, body.
///
/// Bytes after the message are ignored. QUIC reuses this on its CRYPTO stream.
pub fn parse_client_hello_message(msg: &[u8]) -> Result<ClientHello, TlsError> {
    let (&kind, rest) = msg.split_first().ok_or(TlsError::Truncated)?;
    if kind != CLIENT_HELLO {
        return Err(TlsError::NotClientHello);
    }
    let len_bytes = rest.get(..3).ok_or(TlsError::Truncated)?;
    let len = be_u24(len_bytes);
    let body = rest.get(3..3 + len).ok_or(TlsError::Truncated)?;
    let (_, contents) = parse_tls_handshake_client_hello(body)
        .map_err(|_| TlsError::Malformed("ClientHello body does not decode"))?;
    Ok(from_contents(&contents))
}

/// Build the owned hello from tls-parser's borrowed view.
fn from_contents(ch: &TlsClientHelloContents<'_>) -> ClientHello {
    let exts = ch.ext.map(parse_extensions).unwrap_or_default();
    let hello = ClientHello {
        sni: exts.sni,
        other_names: exts.other_names,
        sni_present: exts.sni_present,
        alpns: exts.alpns,
        legacy_version: ch.version.0,
        supported_versions: exts.supported_versions,
        cipher_suites: ch.ciphers.iter().map(|c| c.0).collect(),
        extensions: exts.types,
        supported_groups: exts.groups,
        ec_point_formats: exts.point_formats,
        signature_algorithms: exts.sig_algs,
        sslv2_format: false,
        fingerprints: OnceCell::new(),
        ja4_alpn: exts.ja4_alpn.unwrap_or(['0', '0']),
        transport: 't',
        ech: exts.ech,
    };
    hello
}

/// Walk the extensions block. A malformed extension body still counts by its type; a broken
/// type/length frame ends the walk (what follows cannot be delimited).
fn parse_extensions(mut rest: &[u8]) -> Extensions {
    let mut out = Extensions::default();
    while let Some(ext_type) = rest.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) {
        match parse_tls_client_hello_extension(rest) {
            Ok((next, ext)) => {
                record_extension(&mut out, ext_type, &ext);
                rest = next;
            }
            Err(_) => match parse_tls_extension_unknown(rest) {
                Ok((next, _)) => {
                    note_type(&mut out, ext_type);
                    rest = next;
                }
                Err(_) => break,
            },
        }
    }
    out
}

/// Remember an extension's type (and the SNI flag, which depends on the type alone).
fn note_type(out: &mut Extensions, ext_type: u16) {
    out.types.push(ext_type);
    if ext_type == 0 {
        out.sni_present = true;
    }
}

/// Keep the parts of one decoded extension that the fingerprints and EVE use.
/// The first occurrence of a repeated extension wins.
fn record_extension(out: &mut Extensions, ext_type: u16, ext: &TlsExtension<'_>) {
    let first = !out.types.contains(&ext_type);
    note_type(out, ext_type);
    if let TlsExtension::SNI(names) = ext {
        for name in host_names(names) {
            if out.sni.is_none() {
                out.sni = Some(name);
            } else if out.sni.as_ref() != Some(&name) && !out.other_names.contains(&name) {
                out.other_names.push(name);
            }
        }
        return;
    }
    if !first {
        return;
    }
    match ext {
        TlsExtension::ALPN(protos) => {
            out.alpns = protos
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            out.ja4_alpn = fingerprint::ja4_alpn_chars(protos);
        }
        TlsExtension::SupportedVersions(v) => {
            out.supported_versions = v.iter().map(|x| x.0).collect();
        }
        TlsExtension::EllipticCurves(g) => out.groups = g.iter().map(|x| x.0).collect(),
        TlsExtension::EcPointFormats(f) => out.point_formats = f.to_vec(),
        TlsExtension::SignatureAlgorithms(s) => out.sig_algs = s.clone(),
        TlsExtension::Unknown(t, body) if t.0 == ECH_EXTENSION => out.ech = Ech::parse(body),
        _ => {}
    }
}

/// The non-empty `host_name` entries, in Suricata's text.
fn host_names<'a>(names: &'a [(SNIType, &[u8])]) -> impl Iterator<Item = String> + 'a {
    names
        .iter()
        .filter(|(t, name)| *t == SNIType::HostName && !name.is_empty())
        .map(|(_, name)| server_name::text(name))
}

/// Parse an SSLv2-format CLIENT-HELLO message body (starting at the msg-type byte, after the
/// 2-byte record header): type, version, three lengths, then cipher specs, session id, challenge.
pub(crate) fn parse_sslv2_client_hello(msg: &[u8]) -> Result<ClientHello, TlsError> {
    let head = msg.get(..9).ok_or(TlsError::Truncated)?;
    if head[0] != CLIENT_HELLO {
        return Err(TlsError::NotClientHello);
    }
    let field = |i: usize| usize::from(u16::from_be_bytes([head[i], head[i + 1]]));
    let version = u16::from_be_bytes([head[1], head[2]]);
    let (specs_len, sid_len, challenge_len) = (field(3), field(5), field(7));
    if specs_len % 3 != 0 {
        return Err(TlsError::Malformed(
            "SSLv2 cipher specs length is not a multiple of 3",
        ));
    }
    if !(16..=32).contains(&challenge_len) {
        return Err(TlsError::Malformed("SSLv2 challenge length out of range"));
    }
    let specs = msg.get(9..9 + specs_len).ok_or(TlsError::Truncated)?;
    if msg.len() < 9 + specs_len + sid_len + challenge_len {
        return Err(TlsError::Truncated);
    }
    let hello = ClientHello {
        sni: None,
        other_names: Vec::new(),
        sni_present: false,
        alpns: Vec::new(),
        legacy_version: version,
        supported_versions: Vec::new(),
        cipher_suites: sslv2_tls_ciphers(specs),
        extensions: Vec::new(),
        supported_groups: Vec::new(),
        ec_point_formats: Vec::new(),
        signature_algorithms: Vec::new(),
        sslv2_format: true,
        fingerprints: OnceCell::new(),
        ja4_alpn: ['0', '0'],
        transport: 't',
        ech: None,
    };
    Ok(hello)
}

/// The TLS cipher suites among SSLv2 3-byte cipher specs: those of the form `00 xx yy`.
fn sslv2_tls_ciphers(specs: &[u8]) -> Vec<u16> {
    specs
        .chunks_exact(3)
        .filter(|s| s[0] == 0)
        .map(|s| u16::from_be_bytes([s[1], s[2]]))
        .collect()
}

/// Big-endian 24-bit length from exactly three bytes.
pub(crate) fn be_u24(b: &[u8]) -> usize {
    b.iter()
        .take(3)
        .fold(0usize, |acc, &x| (acc << 8) | usize::from(x))
}
