//! The Encrypted Client Hello extension (RFC 9849, type 0xfe0d) as a ClientHello carries it:
//! an outer hello names the HPKE suite, the server's ECH configuration id and carries the
//! encapsulated key and the encrypted inner hello; an inner hello (inside the encryption, never
//! seen on the wire) is a marker. GREASE ECH (RFC 9849 §6.2, sent by Chrome and Firefox to
//! every server) looks exactly like a real outer extension: telling them apart needs the DNS
//! answers that published the server's configurations, which the detection does.

use serde::Serialize;

/// The extension type.
pub const ECH_EXTENSION: u16 = 0xfe0d;

/// What one ECH extension says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Ech {
    /// An outer ClientHello's extension.
    Outer {
        /// HPKE KDF identifier (1 = HKDF-SHA256).
        kdf_id: u16,
        /// HPKE AEAD identifier (1 = AES-128-GCM, 3 = ChaCha20-Poly1305).
        aead_id: u16,
        /// The ECHConfig's `config_id` the client used.
        config_id: u8,
        /// Bytes of the encapsulated HPKE key (0 after a HelloRetryRequest).
        enc_length: usize,
        /// Bytes of the encrypted inner ClientHello.
        payload_length: usize,
    },
    /// The inner hello's marker (seen only if a client sends it in clear, which is wrong).
    Inner,
}

impl Ech {
    /// Parses the extension's body; `None` when it is malformed.
    pub fn parse(body: &[u8]) -> Option<Ech> {
        let (&kind, rest) = body.split_first()?;
        match kind {
            0 => {
                let kdf_id = u16::from_be_bytes(rest.get(0..2)?.try_into().ok()?);
                let aead_id = u16::from_be_bytes(rest.get(2..4)?.try_into().ok()?);
                let config_id = *rest.get(4)?;
                let enc_length = usize::from(u16::from_be_bytes(rest.get(5..7)?.try_into().ok()?));
                let at = 7 + enc_length;
                let payload_length =
                    usize::from(u16::from_be_bytes(rest.get(at..at + 2)?.try_into().ok()?));
                (rest.len() == at + 2 + payload_length && payload_length > 0).then_some(
                    Ech::Outer {
                        kdf_id,
                        aead_id,
                        config_id,
                        enc_length,
                        payload_length,
                    },
                )
            }
            1 if rest.is_empty() => Some(Ech::Inner),
            _ => None,
        }
    }

    /// The configuration id of an outer extension.
    pub fn config_id(&self) -> Option<u8> {
        match self {
            Ech::Outer { config_id, .. } => Some(*config_id),
            Ech::Inner => None,
        }
    }
}

/// The EVE `ech` object (an egress-ids extension of Suricata's `tls` and `quic` objects,
/// described in docs/eve-extensions.schema.json): the outer SNI beside the extension's fields,
/// with the HPKE algorithms named.
#[derive(Serialize)]
pub struct EchEve<'a> {
    #[serde(flatten)]
    ech: &'a Ech,
    #[serde(skip_serializing_if = "Option::is_none")]
    kdf: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aead: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outer_sni: Option<&'a str>,
}

impl<'a> EchEve<'a> {
    pub fn new(ech: &'a Ech, outer_sni: Option<&'a str>) -> Self {
        let (kdf, aead) = match ech {
            Ech::Outer {
                kdf_id, aead_id, ..
            } => (kdf_name(*kdf_id), aead_name(*aead_id)),
            Ech::Inner => (None, None),
        };
        EchEve {
            ech,
            kdf,
            aead,
            outer_sni,
        }
    }
}

/// HPKE KDF names (RFC 9180 §7.2).
fn kdf_name(id: u16) -> Option<&'static str> {
    Some(match id {
        1 => "HKDF-SHA256",
        2 => "HKDF-SHA384",
        3 => "HKDF-SHA512",
        _ => return None,
    })
}

/// HPKE AEAD names (RFC 9180 §7.3).
fn aead_name(id: u16) -> Option<&'static str> {
    Some(match id {
        1 => "AES-128-GCM",
        2 => "AES-256-GCM",
        3 => "ChaCha20Poly1305",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_and_inner_extensions_parse_and_malformed_ones_do_not() {
        let mut body = vec![0, 0, 1, 0, 1, 0x2a, 0, 32];
        body.extend([7; 32]);
        body.extend([0, 200]);
        body.extend([9; 200]);
        let ech = Ech::parse(&body).unwrap();
        assert_eq!(
            ech,
            Ech::Outer {
                kdf_id: 1,
                aead_id: 1,
                config_id: 0x2a,
                enc_length: 32,
                payload_length: 200
            }
        );
        let eve = serde_json::to_value(EchEve::new(&ech, Some("cover.example"))).unwrap();
        assert_eq!(
            eve,
            serde_json::json!({"type": "outer", "kdf_id": 1, "aead_id": 1, "config_id": 42,
                "enc_length": 32, "payload_length": 200, "kdf": "HKDF-SHA256",
                "aead": "AES-128-GCM", "outer_sni": "cover.example"})
        );
        assert_eq!(Ech::parse(&[1]), Some(Ech::Inner));
        for n in 0..body.len() {
            assert_eq!(Ech::parse(&body[..n]), None, "cut at {n}");
        }
        assert_eq!(Ech::parse(&[2]), None);
        assert_eq!(Ech::parse(&[1, 0]), None);
    }
}
