//! The EVE `quic` object, Suricata's shape: `version`, `sni`, `ja3`, `ja4` (`q` prefix) and the
//! ClientHello's `extensions` (name, type, and for SNI, ALPN, supported versions and signature
//! algorithms their values); for gQUIC `ua` and `cyu`.

use super::{gquic::Chlo, version_name, Hello};
use crate::tls::ech::EchEve;
use crate::tls::server_name;
use serde::Serialize;
use tls_parser::{
    parse_tls_client_hello_extension, parse_tls_handshake_client_hello, SNIType, TlsExtension,
    TlsVersion,
};

/// One extension as the `quic.extensions` array lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Extension {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'static str>,
    #[serde(rename = "type")]
    kind: u16,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    values: Vec<String>,
}

/// The extensions of a ClientHello handshake message, in order (none when it does not parse).
pub(crate) fn extensions_of(msg: &[u8]) -> Vec<Extension> {
    let Some(body) = msg.get(4..) else {
        return Vec::new();
    };
    let Ok((_, ch)) = parse_tls_handshake_client_hello(body) else {
        return Vec::new();
    };
    let mut rest = ch.ext.unwrap_or_default();
    let mut out = Vec::new();
    while let Some(kind) = rest.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) {
        let Ok((next, ext)) = parse_tls_client_hello_extension(rest) else {
            break;
        };
        rest = next;
        let values = match &ext {
            TlsExtension::SNI(names) => names
                .iter()
                .filter(|(t, _)| *t == SNIType::HostName)
                .map(|(_, n)| server_name::text(n))
                .collect(),
            TlsExtension::ALPN(protos) => protos
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect(),
            TlsExtension::SupportedVersions(v) => v.iter().map(|x| version_text(*x)).collect(),
            TlsExtension::SignatureAlgorithms(s) => s.iter().map(u16::to_string).collect(),
            _ => Vec::new(),
        };
        out.push(Extension {
            name: extension_name(kind),
            kind,
            values,
        });
    }
    out
}

/// A TLS version as Suricata's QUIC logger writes it (tls-parser's names).
fn version_text(v: TlsVersion) -> String {
    v.to_string()
}

/// The `quic` object of an IETF QUIC ClientHello.
#[derive(Serialize)]
pub struct QuicEve<'a> {
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sni: Option<&'a str>,
    /// egress-ids' extension: the SNI is not a host name (`tls::server_name`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sni_invalid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3: Option<Ja3<'a>>,
    ja4: &'a str,
    #[serde(skip_serializing_if = "<[Extension]>::is_empty")]
    extensions: &'a [Extension],
    #[serde(skip_serializing_if = "Option::is_none")]
    ech: Option<EchEve<'a>>,
}

#[derive(Serialize)]
struct Ja3<'a> {
    hash: &'a str,
    string: &'a str,
}

impl<'a> QuicEve<'a> {
    pub fn of(h: &'a Hello) -> Self {
        QuicEve {
            version: version_name(h.version),
            sni: h.hello.sni.as_deref(),
            sni_invalid: h.hello.sni_invalid(),
            ja3: match (h.hello.ja3_hash(), h.hello.ja3_string()) {
                (Some(hash), Some(string)) => Some(Ja3 { hash, string }),
                _ => None,
            },
            ja4: h.hello.ja4(),
            extensions: &h.extensions,
            ech: h
                .hello
                .ech
                .as_ref()
                .map(|e| EchEve::new(e, h.hello.sni.as_deref())),
        }
    }
}

impl Hello {
    /// The EVE `quic` object, serialised.
    pub fn eve_json(&self) -> crate::json::RawJson {
        crate::json::RawJson::of_serde(&QuicEve::of(self))
    }
}

/// The `quic` object of a gQUIC flow: its version, and what a cleartext CHLO said.
#[derive(Serialize)]
pub struct GquicEve<'a> {
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sni: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ua: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cyu: Vec<Ja3<'a>>,
}

impl<'a> GquicEve<'a> {
    /// `version` and, when the CHLO was read, its SNI, UAID and `cyu`.
    pub fn new(version: [u8; 4], chlo: Option<&'a Chlo>) -> Self {
        GquicEve {
            version: version_name(u32::from_be_bytes(version)),
            sni: chlo.and_then(|c| c.sni.as_deref()),
            ua: chlo.and_then(|c| c.uaid.as_deref()),
            cyu: chlo
                .map(|c| Ja3 {
                    hash: &c.cyu_hash,
                    string: &c.cyu_string,
                })
                .into_iter()
                .collect(),
        }
    }

    /// Serialised.
    pub fn eve_json(&self) -> crate::json::RawJson {
        crate::json::RawJson::of_serde(self)
    }
}

/// Suricata's names of TLS extension types in `quic.extensions`.
fn extension_name(t: u16) -> Option<&'static str> {
    Some(match t {
        0 => "server_name",
        1 => "max_fragment_length",
        2 => "client_certificate_url",
        3 => "trusted_ca_keys",
        4 => "truncated_hmac",
        5 => "status_request",
        6 => "user_mapping",
        7 => "client_authz",
        8 => "server_authz",
        9 => "cert_type",
        10 => "supported_groups",
        11 => "ec_point_formats",
        12 => "srp",
        13 => "signature_algorithms",
        14 => "use_srtp",
        15 => "heartbeat",
        16 => "alpn",
        17 => "status_request_v2",
        18 => "signed_certificate_timestamp",
        19 => "client_certificate_type",
        20 => "server_certificate_type",
        21 => "padding",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        24 => "token_binding",
        25 => "cached_info",
        26 => "tls_lts",
        27 => "compress_certificate",
        28 => "record_size_limit",
        29 => "pwd_protect",
        30 => "pwd_clear",
        31 => "password_salt",
        32 => "ticket_pinning",
        33 => "tls_cert_with_extern_psk",
        34 => "delegated_credentials",
        35 => "session_ticket",
        36 => "tlmsp",
        37 => "tlmsp_proxying",
        38 => "tlmsp_delegate",
        39 => "supported_ekt_ciphers",
        41 => "pre_shared_key",
        42 => "early_data",
        43 => "supported_versions",
        44 => "cookie",
        45 => "psk_key_exchange_modes",
        47 => "certificate_authorities",
        48 => "oid_filters",
        49 => "post_handshake_auth",
        50 => "signature_algorithms_cert",
        51 => "key_share",
        52 => "transparency_info",
        53 => "connection_id_deprecated",
        54 => "connection_id",
        55 => "external_id_hash",
        56 => "external_session_id",
        57 => "quic_transport_parameters",
        58 => "ticket_request",
        59 => "dnssec_chain",
        13172 => "next_protocol_negotiation",
        65281 => "renegotiation_info",
        _ => return None,
    })
}
