//! Initial packet protection (RFC 9001 §5, RFC 9369 §3.3): keys derived from the client's
//! Destination Connection ID with HKDF-SHA256 and the version's salt and labels; header
//! protection (AES-128 on a 16-byte sample) removed; the payload opened with AES-128-GCM, whose
//! tag check proves the keys and the header right. Crypto is `ring`'s.

use super::header::{LongPacket, VERSION_2};
use ring::aead::{self, quic as hp, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;

/// RFC 9001 §5.2.
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
/// RFC 9369 §3.3.1.
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
/// AEAD tag length of AES-128-GCM.
const TAG_LEN: usize = 16;
/// Header-protection sample length.
const SAMPLE_LEN: usize = 16;

/// Which endpoint's Initial keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// An output length for `ring`'s HKDF.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label<const N: usize>(prk: &hkdf::Prk, label: &[u8]) -> Option<[u8; N]> {
    let n = u16::try_from(N).ok()?;
    let full_len = u8::try_from(6 + label.len()).ok()?;
    let len = n.to_be_bytes();
    let info: [&[u8]; 5] = [&len, &[full_len], b"tls13 ", label, &[0]];
    let mut out = [0u8; N];
    prk.expand(&info, Len(N)).ok()?.fill(&mut out).ok()?;
    Some(out)
}

/// The Initial keys of one side for one Destination Connection ID.
pub struct InitialKeys {
    key: LessSafeKey,
    iv: [u8; 12],
    hp: hp::HeaderProtectionKey,
    /// The raw secrets, kept for the RFC vectors.
    #[cfg(test)]
    raw: ([u8; 16], [u8; 12], [u8; 16]),
}

impl std::fmt::Debug for InitialKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitialKeys")
    }
}

impl InitialKeys {
    /// Derives the keys `side` protects its Initial packets with, for `version` (1 or 2) and
    /// the client's first Destination Connection ID.
    pub fn new(version: u32, dcid: &[u8], side: Side) -> Option<InitialKeys> {
        let (salt, key_l, iv_l, hp_l): (&[u8], &[u8], &[u8], &[u8]) = if version == VERSION_2 {
            (&SALT_V2, b"quicv2 key", b"quicv2 iv", b"quicv2 hp")
        } else {
            (&SALT_V1, b"quic key", b"quic iv", b"quic hp")
        };
        let initial = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(dcid);
        let label: &[u8] = match side {
            Side::Client => b"client in",
            Side::Server => b"server in",
        };
        let secret: [u8; 32] = expand_label(&initial, label)?;
        let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &secret);
        let key: [u8; 16] = expand_label(&prk, key_l)?;
        let iv: [u8; 12] = expand_label(&prk, iv_l)?;
        let hp_key: [u8; 16] = expand_label(&prk, hp_l)?;
        Some(InitialKeys {
            key: LessSafeKey::new(UnboundKey::new(&aead::AES_128_GCM, &key).ok()?),
            iv,
            hp: hp::HeaderProtectionKey::new(&hp::AES_128, &hp_key).ok()?,
            #[cfg(test)]
            raw: (key, iv, hp_key),
        })
    }

    /// Removes the protection of one Initial/Handshake/0-RTT packet and opens its payload into
    /// `out` (cleared first). `largest` is the largest packet number opened so far in this
    /// space (for the full number, RFC 9000 Appendix A.3). Returns the packet number; `None`
    /// when the packet is too short or the tag does not verify (wrong keys, another
    /// connection, or tampering).
    pub fn open(&self, p: &LongPacket<'_>, largest: Option<u64>, out: &mut Vec<u8>) -> Option<u64> {
        let packet = p.packet;
        let sample_at = p.pn_offset + 4;
        let sample = packet.get(sample_at..sample_at + SAMPLE_LEN)?;
        let mask = self.hp.new_mask(sample).ok()?;
        let first = packet[0] ^ (mask[0] & 0x0f);
        let pn_len = usize::from(first & 0x03) + 1;
        let header_len = p.pn_offset + pn_len;
        if packet.len() < header_len + TAG_LEN {
            return None;
        }
        // One buffer: the unprotected header (the AAD), then the payload opened in place after it.
        out.clear();
        out.extend_from_slice(packet);
        out[0] = first;
        let mut truncated: u64 = 0;
        for i in 0..pn_len {
            out[p.pn_offset + i] ^= mask[1 + i];
            truncated = (truncated << 8) | u64::from(out[p.pn_offset + i]);
        }
        let pn = decode_packet_number(largest, truncated, 8 * pn_len as u32);
        let mut nonce = self.iv;
        for (n, b) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= b;
        }
        let (header, payload) = out.split_at_mut(header_len);
        let n = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&*header),
                payload,
            )
            .ok()?
            .len();
        out.truncate(header_len + n);
        out.drain(..header_len);
        Some(pn)
    }
}

/// The full packet number from its truncated encoding (RFC 9000 Appendix A.3).
fn decode_packet_number(largest: Option<u64>, truncated: u64, bits: u32) -> u64 {
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let win = 1u64 << bits;
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | truncated;
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::header::{self, Header, VERSION_1};
    use super::*;
    use crate::testutil::hex;

    /// RFC 9001 Appendix A / RFC 9369 Appendix A: the client's DCID.
    const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

    fn raw(v: u32, side: Side) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let k = InitialKeys::new(v, &DCID, side).unwrap();
        (k.raw.0.to_vec(), k.raw.1.to_vec(), k.raw.2.to_vec())
    }

    #[test]
    fn rfc_9001_appendix_a_1_keys() {
        assert_eq!(
            raw(VERSION_1, Side::Client),
            (
                hex("1f369613dd76d5467730efcbe3b1a22d"),
                hex("fa044b2f42a3fd3b46fb255c"),
                hex("9f50449e04a0e810283a1e9933adedd2")
            )
        );
        assert_eq!(
            raw(VERSION_1, Side::Server),
            (
                hex("cf3a5331653c364c88f0f379b6067e37"),
                hex("0ac1493ca1905853b0bba03e"),
                hex("c206b8d9b9f0f37644430b490eeaa314")
            )
        );
    }

    #[test]
    fn rfc_9369_appendix_a_1_keys() {
        assert_eq!(
            raw(VERSION_2, Side::Client),
            (
                hex("8b1a0bc121284290a29e0971b5cd045d"),
                hex("91f73e2351d8fa91660e909f"),
                hex("45b95e15235d6f45a6b19cbcb0294ba9")
            )
        );
        assert_eq!(
            raw(VERSION_2, Side::Server),
            (
                hex("82db637861d55e1d011f19ea71d5d2a7"),
                hex("dd13c276499c0249d3310652"),
                hex("edf6d05c83121201b436e16877593c3a")
            )
        );
    }

    #[test]
    fn rfc_9000_appendix_a_3_packet_number() {
        assert_eq!(
            decode_packet_number(Some(0xa82f30ea), 0x9b32, 16),
            0xa82f9b32
        );
        assert_eq!(decode_packet_number(None, 0, 8), 0);
        assert_eq!(decode_packet_number(Some(255), 1, 8), 257);
    }

    #[test]
    fn rfc_9001_appendix_a_2_header_protection_mask() {
        let k = InitialKeys::new(VERSION_1, &DCID, Side::Client).unwrap();
        let mask =
            k.hp.new_mask(&hex("d1b1c98dd7689fb8ec11d242b123dc9b"))
                .unwrap();
        assert_eq!(mask.to_vec(), hex("437b9aec36"));
    }

    /// Protects `payload` as `side`'s Initial packet number `pn` (4-byte encoding), the way a
    /// sender does (RFC 9001 §5.3-5.4): the reverse of [`InitialKeys::open`], for tests.
    pub(crate) fn protect(
        version: u32,
        dcid: &[u8],
        scid: &[u8],
        side: Side,
        pn: u32,
        payload: &[u8],
    ) -> Vec<u8> {
        let k = InitialKeys::new(version, dcid, side).unwrap();
        let type_bits: u8 = if version == VERSION_2 { 1 } else { 0 };
        let mut p = vec![0xc3 | (type_bits << 4)];
        p.extend(version.to_be_bytes());
        p.push(dcid.len() as u8);
        p.extend(dcid);
        p.push(scid.len() as u8);
        p.extend(scid);
        p.push(0); // no token
        let len = (4 + payload.len() + TAG_LEN) as u16;
        p.extend((0x4000 | len).to_be_bytes());
        let pn_offset = p.len();
        p.extend(pn.to_be_bytes());
        let mut nonce = k.raw.1;
        for (n, b) in nonce[4..].iter_mut().zip(u64::from(pn).to_be_bytes()) {
            *n ^= b;
        }
        let mut body = payload.to_vec();
        k.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&p[..]),
                &mut body,
            )
            .unwrap();
        p.extend(body);
        let mask =
            k.hp.new_mask(&p[pn_offset + 4..pn_offset + 4 + SAMPLE_LEN])
                .unwrap();
        p[0] ^= mask[0] & 0x0f;
        for i in 0..4 {
            p[pn_offset + i] ^= mask[1 + i];
        }
        p
    }

    #[test]
    fn a_protected_packet_opens_and_a_flipped_bit_does_not() {
        for v in [VERSION_1, VERSION_2] {
            let payload: Vec<u8> = (0..1100u32).map(|i| i as u8).collect();
            let p = protect(v, &DCID, &[1, 2, 3], Side::Client, 2, &payload);
            let Some(Header::Long(lp)) = header::parse(&p) else {
                panic!("long header")
            };
            assert_eq!(lp.kind, Some(header::LongType::Initial));
            let k = InitialKeys::new(v, lp.dcid, Side::Client).unwrap();
            let mut out = Vec::new();
            assert_eq!(k.open(&lp, None, &mut out), Some(2));
            assert_eq!(out, payload);
            let mut bad = p.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            let Some(Header::Long(lp)) = header::parse(&bad) else {
                panic!()
            };
            assert_eq!(k.open(&lp, None, &mut out), None);
            let server = InitialKeys::new(v, &DCID, Side::Server).unwrap();
            let Some(Header::Long(lp)) = header::parse(&p) else {
                panic!()
            };
            assert_eq!(
                server.open(&lp, None, &mut out),
                None,
                "the wrong side's keys"
            );
        }
    }
}
