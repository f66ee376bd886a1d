//! Google QUIC before IETF QUIC: the version of a Q0xx/T0xx packet, and for Q043-Q046 (whose
//! handshake is sent with null encryption) the CHLO message in clear: SNI, UAID (the User-Agent)
//! and Suricata's `cyu` fingerprint (the version number and the CHLO's tags, MD5-hashed).

use md5::{Digest, Md5};

/// The versions whose CHLO is cleartext.
const CLEAR_CHLO: [&[u8; 4]; 4] = [b"Q043", b"Q044", b"Q045", b"Q046"];
/// Tags in one CHLO at most (real ones have ~25).
const MAX_TAGS: usize = 128;

/// A version string `Q0xx` or `T0xx` (`Q050`, `T051`).
pub fn is_gquic_version(v: [u8; 4]) -> bool {
    matches!(v[0], b'Q' | b'T') && v[1..].iter().all(u8::is_ascii_digit)
}

/// The version of a gQUIC packet from the client: long header (Q046+: the IETF invariant
/// layout) or the older public header (flags with the version bit 0x01, an 8-byte CID).
pub fn client_version(d: &[u8]) -> Option<[u8; 4]> {
    let first = *d.first()?;
    let v: [u8; 4] = if first & 0x80 != 0 {
        d.get(1..5)?.try_into().ok()?
    } else if first & 0x09 == 0x09 {
        d.get(9..13)?.try_into().ok()?
    } else {
        return None;
    };
    is_gquic_version(v).then_some(v)
}

/// What a cleartext CHLO says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chlo {
    pub sni: Option<String>,
    pub uaid: Option<String>,
    /// `cyu` string: version digits, then the tags joined by `-`.
    pub cyu_string: String,
    pub cyu_hash: String,
}

/// Whether `version` sends its CHLO in clear (Q043-Q046).
pub fn has_clear_chlo(version: [u8; 4]) -> bool {
    CLEAR_CHLO.contains(&&version)
}

/// Finds and reads the CHLO of a Q043-Q046 client packet; `None` for other versions or when
/// the packet holds no whole CHLO.
pub fn chlo(d: &[u8], version: [u8; 4]) -> Option<Chlo> {
    if !has_clear_chlo(version) {
        return None;
    }
    let at = d.windows(4).position(|w| w == b"CHLO")?;
    let m = &d[at..];
    let n = usize::from(u16::from_le_bytes(m.get(4..6)?.try_into().ok()?));
    if n > MAX_TAGS {
        return None;
    }
    let index = m.get(8..8 + 8 * n)?;
    let values = &m[8 + 8 * n..];
    let mut out = Chlo::default();
    let mut tags: Vec<String> = Vec::with_capacity(n);
    let mut start = 0usize;
    for e in index.chunks_exact(8) {
        let tag = &e[..4];
        let end = usize::try_from(u32::from_le_bytes(e[4..].try_into().ok()?)).ok()?;
        let value = values.get(start..end)?;
        start = end;
        let name: String = tag
            .iter()
            .take_while(|&&b| b != 0)
            .map(|&b| char::from(b))
            .collect();
        match &name[..] {
            "SNI" => out.sni = Some(String::from_utf8_lossy(value).into_owned()),
            "UAID" => out.uaid = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
        tags.push(name);
    }
    let digits = std::str::from_utf8(&version[1..])
        .ok()?
        .trim_start_matches('0');
    out.cyu_string = format!("{digits},{}", tags.join("-"));
    out.cyu_hash = Md5::digest(out.cyu_string.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chlo_bytes(tags: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut m = b"CHLO".to_vec();
        m.extend((tags.len() as u16).to_le_bytes());
        m.extend([0, 0]);
        let mut end = 0u32;
        for (t, v) in tags {
            end += v.len() as u32;
            m.extend(*t);
            m.extend(end.to_le_bytes());
        }
        for (_, v) in tags {
            m.extend(*v);
        }
        m
    }

    #[test]
    fn a_q046_chlo_gives_sni_uaid_and_cyu() {
        let mut d = vec![0xc3];
        d.extend(b"Q046");
        d.extend([0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1]);
        d.extend([0u8; 12]);
        d.extend([0xa0, 0x01, 0x00, 0x40]);
        d.extend(chlo_bytes(&[
            (b"PAD\0", &[0; 3]),
            (b"SNI\0", b"accounts.google.com"),
            (b"UAID", b"Chrome/79"),
        ]));
        let v = client_version(&d).unwrap();
        assert_eq!(&v, b"Q046");
        let c = chlo(&d, v).unwrap();
        assert_eq!(c.sni.as_deref(), Some("accounts.google.com"));
        assert_eq!(c.uaid.as_deref(), Some("Chrome/79"));
        assert_eq!(c.cyu_string, "46,PAD-SNI-UAID");
        assert_eq!(chlo(&d, *b"Q050"), None, "Q050 encrypts its handshake");
        assert_eq!(chlo(&d[..d.len() - 2], v), None, "cut");
    }

    #[test]
    fn versions() {
        assert!(is_gquic_version(*b"Q043") && is_gquic_version(*b"T051"));
        assert!(!is_gquic_version([0, 0, 0, 1]) && !is_gquic_version(*b"Qxyz"));
        let mut old = vec![0x09];
        old.extend([0; 8]);
        old.extend(b"Q043");
        assert_eq!(client_version(&old), Some(*b"Q043"));
    }
}
