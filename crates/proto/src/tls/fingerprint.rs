//! JA3 and JA4 client fingerprints, version names and the EVE `tls` object of a [`ClientHello`].
//!
//! JA3 follows the Salesforce definition; JA4 (TLS client) follows FoxIO's JA4 specification
//! (BSD-3-Clause). Where its prose and the reference implementations disagree (a non-ASCII
//! first ALPN value; the `_` before an empty signature-algorithm list) it follows the
//! implementations, whose values the test vectors (FoxIO's and suricata-verify's) record.

use md5::Md5;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::ech::EchEve;
use super::ClientHello;
use crate::json;

/// JA4's value for an empty cipher or extension list.
const EMPTY_JA4_HASH: &str = "000000000000";
/// Extension types left out of JA4's extension hash (they are in JA4_a already).
const SNI: u16 = 0x0000;
const ALPN: u16 = 0x0010;

/// A GREASE value (RFC 8701): both bytes equal and of the form 0x?A.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// `items` without GREASE values.
fn degrease(items: &[u16]) -> impl Iterator<Item = u16> + '_ {
    items.iter().copied().filter(|&v| !is_grease(v))
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends the lowercase hex of some bytes.
fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 0x0f)]));
    }
}

/// MD5 of `s`, lowercase hex (JA3 hash).
pub(crate) fn md5_hex(s: &str) -> String {
    let mut out = String::with_capacity(32);
    push_hex(&mut out, &Md5::digest(s.as_bytes()));
    out
}

/// First 12 hex characters of a SHA-256.
fn sha256_12(hasher: Sha256) -> String {
    let mut out = String::with_capacity(12);
    push_hex(&mut out, &hasher.finalize()[..6]);
    out
}

/// Feeds u16 values as 4-digit lowercase hex joined with ',' to a hash, without a string:
/// through a stack buffer, so that the hash takes whole blocks.
fn hash_hex_join(hasher: &mut Sha256, items: impl Iterator<Item = u16>) {
    let mut buf = [0u8; 320];
    let mut n = 0;
    for (i, v) in items.enumerate() {
        if n + 5 > buf.len() {
            hasher.update(&buf[..n]);
            n = 0;
        }
        if i > 0 {
            buf[n] = b',';
            n += 1;
        }
        let [a, b] = v.to_be_bytes();
        buf[n] = HEX_DIGITS[usize::from(a >> 4)];
        buf[n + 1] = HEX_DIGITS[usize::from(a & 0x0f)];
        buf[n + 2] = HEX_DIGITS[usize::from(b >> 4)];
        buf[n + 3] = HEX_DIGITS[usize::from(b & 0x0f)];
        n += 4;
    }
    hasher.update(&buf[..n]);
}

/// Up to 64 values on the stack, more on the heap: the sorted lists of JA4 without an
/// allocation for any real hello.
enum Sorted {
    Inline([u16; 64], usize),
    Heap(Vec<u16>),
}

impl Sorted {
    /// The values of `items` that `keep` accepts, sorted.
    fn of(items: impl Iterator<Item = u16>, keep: impl Fn(u16) -> bool) -> Sorted {
        let mut buf = [0u16; 64];
        let mut n = 0;
        let mut items = items.filter(|&v| keep(v));
        for v in items.by_ref() {
            if n == buf.len() {
                let mut all = buf.to_vec();
                all.push(v);
                all.extend(items);
                all.sort_unstable();
                return Sorted::Heap(all);
            }
            buf[n] = v;
            n += 1;
        }
        buf[..n].sort_unstable();
        Sorted::Inline(buf, n)
    }

    fn as_slice(&self) -> &[u16] {
        match self {
            Sorted::Inline(buf, n) => &buf[..*n],
            Sorted::Heap(v) => v,
        }
    }
}

/// Appends numbers in decimal joined with '-'.
fn push_dash_join<T: itoa::Integer>(out: &mut String, items: impl Iterator<Item = T>) {
    let mut digits = itoa::Buffer::new();
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push('-');
        }
        out.push_str(digits.format(v));
    }
}

/// Appends u16 values as 4-digit lowercase hex joined with ','.
#[cfg(test)]
fn push_hex_join(out: &mut String, items: impl Iterator<Item = u16>) {
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_hex(out, &v.to_be_bytes());
    }
}

/// JA3 string: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`.
pub(crate) fn ja3_string(h: &ClientHello) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(itoa::Buffer::new().format(h.legacy_version));
    out.push(',');
    push_dash_join(&mut out, degrease(&h.cipher_suites));
    out.push(',');
    push_dash_join(&mut out, degrease(&h.extensions));
    out.push(',');
    push_dash_join(&mut out, degrease(&h.supported_groups));
    out.push(',');
    push_dash_join(&mut out, h.ec_point_formats.iter().copied());
    out
}

/// The version a client offered at most: highest non-GREASE supported_versions entry, else
/// the legacy (or SSLv2 hello) version.
pub(crate) fn offered_version(h: &ClientHello) -> u16 {
    degrease(&h.supported_versions)
        .max()
        .unwrap_or(h.legacy_version)
}

/// JA4's two-character version code.
fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// JA4's ALPN characters from the ALPN protocol list: the first non-GREASE value decides.
///
/// Empty list or value: `None` ("00"). Both end bytes ASCII alphanumeric: those two characters
/// (a one-byte value gives its character twice). An end byte that is not ASCII becomes '9', as
/// FoxIO's implementations and their `tls-non-ascii-alpn` vector do. Otherwise (an ASCII
/// punctuation or control end byte) the spec's rule: first and last characters of the value's hex.
pub(crate) fn ja4_alpn_chars(protos: &[&[u8]]) -> Option<[char; 2]> {
    let first = protos.iter().find(|p| !is_grease_alpn(p))?;
    let (&a, &z) = (first.first()?, first.last()?);
    if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() {
        return Some([char::from(a), char::from(z)]);
    }
    if !a.is_ascii() || !z.is_ascii() {
        let keep = |b: u8| if b.is_ascii() { char::from(b) } else { '9' };
        return Some([keep(a), keep(z)]);
    }
    Some([nibble_char(a >> 4), nibble_char(z & 0x0f)])
}

/// A 2-byte ALPN value that is a GREASE code point.
fn is_grease_alpn(p: &[u8]) -> bool {
    matches!(p, [a, b] if is_grease(u16::from_be_bytes([*a, *b])))
}

/// Lowercase hex digit of a nibble.
fn nibble_char(n: u8) -> char {
    char::from_digit(u32::from(n & 0x0f), 16).unwrap_or('0')
}

/// JA4 for `transport` ('t' TCP, 'q' QUIC, 'd' DTLS).
pub(crate) fn ja4(h: &ClientHello, transport: char) -> String {
    let two_digits = |out: &mut String, n: usize| {
        let n = n.min(99) as u8;
        out.push(char::from(b'0' + n / 10));
        out.push(char::from(b'0' + n % 10));
    };
    let mut out = String::with_capacity(36);
    out.push(transport);
    out.push_str(ja4_version(offered_version(h)));
    out.push(if h.sni_present { 'd' } else { 'i' });
    two_digits(&mut out, degrease(&h.cipher_suites).count());
    two_digits(&mut out, degrease(&h.extensions).count());
    out.push(h.ja4_alpn[0]);
    out.push(h.ja4_alpn[1]);
    out.push('_');
    out.push_str(&ja4_b(&h.cipher_suites));
    out.push('_');
    out.push_str(&ja4_c(h));
    out
}

/// JA4_b: hash of the sorted cipher list (GREASE left out).
fn ja4_b(ciphers: &[u16]) -> String {
    let sorted = Sorted::of(ciphers.iter().copied(), |v| !is_grease(v));
    if sorted.as_slice().is_empty() {
        return EMPTY_JA4_HASH.to_owned();
    }
    let mut hasher = Sha256::new();
    hash_hex_join(&mut hasher, sorted.as_slice().iter().copied());
    sha256_12(hasher)
}

/// JA4_c: hash of the sorted extensions (without SNI and ALPN), `_`, then the signature
/// algorithms in their original order.
///
/// The `_` is kept even with no signature algorithms: the spec's prose drops it, but FoxIO's
/// Python implementation and Suricata keep it, and the corpus value for a TLS 1.0 hello
/// without signature_algorithms (`t10i070600_c50f5591e341_ce66f3b797c1`) needs it.
fn ja4_c(h: &ClientHello) -> String {
    let keep = |e: u16| !is_grease(e) && e != SNI && e != ALPN;
    let sorted = Sorted::of(h.extensions.iter().copied(), keep);
    if sorted.as_slice().is_empty() {
        return EMPTY_JA4_HASH.to_owned();
    }
    let mut hasher = Sha256::new();
    hash_hex_join(&mut hasher, sorted.as_slice().iter().copied());
    hasher.update(b"_");
    hash_hex_join(&mut hasher, degrease(&h.signature_algorithms));
    sha256_12(hasher)
}

/// Suricata's name for a protocol version ("TLS 1.2", "TLSv1", "TLS 1.3 draft-28", ...),
/// `0x%04x` for values it has no name for.
pub fn version_name(v: u16) -> String {
    let name = match v {
        0x0002 | 0x0200 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv1",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        0x7f01 => "TLS 1.3 draft-<16",
        0x7f10..=0x7f1c => return format!("TLS 1.3 draft-{}", v & 0xff),
        0xfb14..=0xfb17 | 0xfb1a => return format!("TLS 1.3 draft-{}-fb", v & 0xff),
        _ => return format!("0x{v:04x}"),
    };
    name.to_owned()
}

/// The EVE `tls` object for a hello: `sni`, `version`, `ja3{hash,string}`, `ja4`,
/// `client_alpns`; keys without a value are left out.
/// The EVE `tls` object of a hello as a typed record: the same JSON as [`eve`], serialised
/// without building a value tree.
#[derive(serde::Serialize)]
pub(crate) struct TlsEve<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sni: Option<&'a str>,
    /// egress-ids' extension: the SNI is not a host name ([`server_name`](super::server_name)).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sni_invalid: bool,
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3: Option<Ja3<'a>>,
    ja4: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    client_alpns: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    ech: Option<EchEve<'a>>,
}

#[derive(serde::Serialize)]
struct Ja3<'a> {
    hash: &'a str,
    string: &'a str,
}

impl<'a> TlsEve<'a> {
    /// Appends the object: the same bytes serde_json writes for it.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        if let Some(sni) = self.sni {
            json::field_str(out, "sni", sni);
        }
        if self.sni_invalid {
            json::field_bool(out, "sni_invalid", true);
        }
        json::field_str(out, "version", &self.version);
        if let Some(ja3) = &self.ja3 {
            json::key(out, "ja3");
            out.push(b'{');
            json::field_str(out, "hash", ja3.hash);
            json::field_str(out, "string", ja3.string);
            out.push(b'}');
        }
        json::field_str(out, "ja4", self.ja4);
        if !self.client_alpns.is_empty() {
            json::key(out, "client_alpns");
            json::strings(out, self.client_alpns);
        }
        if let Some(ech) = &self.ech {
            json::key(out, "ech");
            json::serde(out, ech);
        }
        out.push(b'}');
    }

    pub(crate) fn of(h: &'a ClientHello) -> Self {
        TlsEve {
            sni: h.sni.as_deref(),
            sni_invalid: h.sni_invalid(),
            version: version_name(offered_version(h)),
            ja3: match (h.ja3_hash(), h.ja3_string()) {
                (Some(hash), Some(string)) => Some(Ja3 { hash, string }),
                _ => None,
            },
            ja4: h.ja4(),
            client_alpns: &h.alpns,
            ech: h.ech.as_ref().map(|e| EchEve::new(e, h.sni.as_deref())),
        }
    }
}

pub(crate) fn eve(h: &ClientHello) -> Value {
    let mut m = Map::new();
    if let Some(sni) = &h.sni {
        m.insert("sni".into(), json!(sni));
    }
    if h.sni_invalid() {
        m.insert("sni_invalid".into(), json!(true));
    }
    m.insert("version".into(), json!(version_name(offered_version(h))));
    if let (Some(hash), Some(string)) = (h.ja3_hash(), h.ja3_string()) {
        m.insert("ja3".into(), json!({ "hash": hash, "string": string }));
    }
    m.insert("ja4".into(), json!(h.ja4()));
    if !h.alpns.is_empty() {
        m.insert("client_alpns".into(), json!(h.alpns));
    }
    if let Some(ech) = &h.ech {
        m.insert("ech".into(), json!(EchEve::new(ech, h.sni.as_deref())));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grease_values_are_recognised() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && is_grease(0x6a6a));
        assert!(!is_grease(0x0a1a) && !is_grease(0x0303) && !is_grease(0x000a));
    }

    #[test]
    fn alpn_chars_follow_spec_and_foxio_vectors() {
        let c = |v: &[&[u8]]| ja4_alpn_chars(v).map(|[a, b]| format!("{a}{b}"));
        assert_eq!(c(&[]), None);
        assert_eq!(c(&[b""]), None);
        assert_eq!(c(&[b"h2", b"http/1.1"]), Some("h2".into()));
        assert_eq!(c(&[b"http/1.1"]), Some("h1".into()));
        assert_eq!(c(&[b"x"]), Some("xx".into()));
        assert_eq!(c(&[&[0x1a, 0x1a], b"h3"]), Some("h3".into()));
        // FoxIO tls-non-ascii-alpn vector: 0xba 0xad -> "99".
        assert_eq!(c(&[&[0xba, 0xad]]), Some("99".into()));
        assert_eq!(c(&[&[0x78, 0xad]]), Some("x9".into()));
        // ASCII but not alphanumeric: hex of the value, first and last characters.
        assert_eq!(c(&[b"h2-"]), Some("6d".into()));
        assert_eq!(c(&[&[0x30, 0x01, 0x31, 0x2f]]), Some("3f".into()));
    }

    #[test]
    fn version_names_match_suricata() {
        assert_eq!(version_name(0x0301), "TLSv1");
        assert_eq!(version_name(0x0303), "TLS 1.2");
        assert_eq!(version_name(0x0304), "TLS 1.3");
        assert_eq!(version_name(0x7f1c), "TLS 1.3 draft-28");
        assert_eq!(version_name(0xfb1a), "TLS 1.3 draft-26-fb");
        assert_eq!(version_name(0x0300), "SSLv3");
        assert_eq!(version_name(0x0002), "SSLv2");
        assert_eq!(version_name(0x1234), "0x1234");
    }

    #[test]
    fn ja4_spec_example_hashes() {
        let ciphers = [
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
            0x009c, 0x009d, 0x002f, 0x0035,
        ];
        assert_eq!(ja4_b(&ciphers), "8daaf6152771");
        assert_eq!(ja4_b(&[]), EMPTY_JA4_HASH);
        // GREASE is left out, and a list longer than the inline buffer gives the same hash
        // as the string it stands for.
        assert_eq!(ja4_b(&[0x0a0a, 0x1301, 0x2a2a]), ja4_b(&[0x1301]));
        let many: Vec<u16> = (0..200u16).rev().collect();
        let mut text = String::new();
        push_hex_join(&mut text, 0..200u16);
        let expected = {
            let mut out = String::new();
            push_hex(&mut out, &Sha256::digest(text.as_bytes())[..6]);
            out
        };
        assert_eq!(ja4_b(&many), expected);
        let sorted = Sorted::of(many.iter().copied(), |v| v % 2 == 0);
        assert_eq!(
            sorted.as_slice(),
            (0..200u16).step_by(2).collect::<Vec<_>>()
        );
    }
}
