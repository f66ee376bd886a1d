//! A JSON writer that appends into a reused byte buffer, Suricata's `JsonBuilder` being the
//! model: no value tree, no `core::fmt`, no allocation of its own. Numbers go through `itoa`,
//! addresses are written digit by digit in Suricata's form, strings are escaped only where
//! they need it. The bytes are exactly serde_json's compact output for the same values (the
//! EVE lines stay what they were when serde_json wrote them): `"` and `\` escaped, the control
//! characters below 0x20 as `\b \t \n \f \r` or `\u00xx` (lowercase hex), everything else
//! (DEL and non-ASCII included) as it is.
//!
//! Commas are placed by looking at the last byte written: a key or an array element right
//! after `{` or `[` gets none, any other gets one. So an object is `open`, fields, `close`, and
//! nothing has to track whether a field was the first.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// What a byte becomes inside a JSON string: 0 as it is, `u` as `\u00xx`, else `\` and it.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Whether any of 8 bytes needs escaping (below 0x20, `"` or `\`), tested on the word at once.
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below n has its high bit set in (b - n) and clear in b (the classic "has less").
    let has_less = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH != 0;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    has_less(w, 0x20)
        || has_zero(w ^ (ONES * u64::from(b'"')))
        || has_zero(w ^ (ONES * u64::from(b'\\')))
}

/// Appends the contents of a JSON string (no quotes) for `s`.
pub fn escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Most strings (names, URLs, fingerprints) need no escape: checked a word at a time.
    let mut clean = 0;
    for chunk in bytes.chunks_exact(8) {
        let w = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        if word_needs_escape(w) {
            break;
        }
        clean += 8;
    }
    if bytes[clean..].iter().all(|&b| ESCAPE[usize::from(b)] == 0) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().skip(clean) {
        let e = ESCAPE[usize::from(b)];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if e == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0f)]);
        } else {
            out.push(b'\\');
            out.push(e);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends `s` as a JSON string.
#[inline]
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escaped(out, s);
    out.push(b'"');
}

/// Appends an integer.
#[inline]
pub fn int<T: itoa::Integer>(out: &mut Vec<u8>, v: T) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends `true` or `false`.
#[inline]
pub fn boolean(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// Appends the separator an array element or object key needs here: a comma unless it is the
/// first inside its `[` or `{`.
#[inline]
pub fn comma(out: &mut Vec<u8>) {
    if !matches!(out.last(), Some(b'{' | b'[') | None) {
        out.push(b',');
    }
}

/// Appends `"key":` (with the comma before it when needed). `key` is written as it is: the
/// keys of EVE are plain ASCII names.
#[inline]
pub fn key(out: &mut Vec<u8>, key: &str) {
    debug_assert!(key.bytes().all(|b| ESCAPE[usize::from(b)] == 0));
    comma(out);
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends a string field.
#[inline]
pub fn field_str(out: &mut Vec<u8>, k: &str, v: &str) {
    key(out, k);
    string(out, v);
}

/// Appends an integer field.
#[inline]
pub fn field_int<T: itoa::Integer>(out: &mut Vec<u8>, k: &str, v: T) {
    key(out, k);
    int(out, v);
}

/// Appends a boolean field.
#[inline]
pub fn field_bool(out: &mut Vec<u8>, k: &str, v: bool) {
    key(out, k);
    boolean(out, v);
}

/// Appends an array of strings.
pub fn strings<S: AsRef<str>>(out: &mut Vec<u8>, items: &[S]) {
    out.push(b'[');
    for s in items {
        comma(out);
        string(out, s.as_ref());
    }
    out.push(b']');
}

/// The decimal text of every byte value: its digits, then a `.`, in four bytes, and their count.
static OCTETS: [([u8; 4], u8); 256] = {
    let mut t = [([0u8; 4], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b >= 100 {
            ([b'0' + b / 100, b'0' + b / 10 % 10, b'0' + b % 10, b'.'], 3)
        } else if b >= 10 {
            ([b'0' + b / 10, b'0' + b % 10, b'.', 0], 2)
        } else {
            ([b'0' + b, b'.', 0, 0], 1)
        };
        i += 1;
    }
    t
};

/// Appends an IPv4 address in dotted decimal (no quotes): built in a 16-byte buffer from a
/// table of the 256 octets, appended at once.
#[inline]
pub fn ipv4_text(out: &mut Vec<u8>, a: Ipv4Addr) {
    let mut buf = [0u8; 16];
    let mut n = 0;
    for b in a.octets() {
        let (text, len) = OCTETS[usize::from(b)];
        buf[n..n + 4].copy_from_slice(&text);
        n += usize::from(len) + 1;
    }
    // The last octet's dot is not part of the address.
    out.extend_from_slice(&buf[..n - 1]);
}

/// Appends an IPv6 address as Suricata writes it (no quotes): fully expanded, eight groups of
/// four lowercase hex digits (`2001:0db8:0000:0000:0000:0000:0000:0001`), no `::`, an
/// IPv4-mapped address in hex too.
pub fn ipv6_text(out: &mut Vec<u8>, a: Ipv6Addr) {
    for (i, pair) in a.octets().chunks_exact(2).enumerate() {
        if i > 0 {
            out.push(b':');
        }
        for &b in pair {
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0f)]);
        }
    }
}

/// Appends an address as a JSON string in Suricata's form (see [`crate::text::SuricataIp`]).
#[inline]
pub fn ip(out: &mut Vec<u8>, a: IpAddr) {
    out.push(b'"');
    match a {
        IpAddr::V4(v4) => ipv4_text(out, v4),
        IpAddr::V6(v6) => ipv6_text(out, v6),
    }
    out.push(b'"');
}

/// Appends a value through serde_json: for rare or nested objects the writer has no typed
/// form of. Writing to memory cannot fail for the values EVE holds (strings, numbers, maps
/// with string keys); `null` stands in if it ever did.
pub fn serde<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

/// A JSON value already written (by this module's functions), kept to be copied into lines:
/// an EVE object that several events carry (an app-layer event and the alerts on it). Only
/// this crate's writers make one, and they write UTF-8 only (strings come from `&str`, all else
/// is ASCII), so the bytes are not checked again on the way into a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawJson(Vec<u8>);

impl RawJson {
    /// The value written into `buf` (taken whole) by this module's functions.
    pub(crate) fn from_buf(buf: Vec<u8>) -> RawJson {
        RawJson(buf)
    }

    /// The value of `v` written by serde_json.
    pub fn of_serde<T: serde::Serialize + ?Sized>(v: &T) -> RawJson {
        let mut buf = Vec::with_capacity(128);
        serde(&mut buf, v);
        RawJson(buf)
    }

    /// The JSON bytes, to copy into a line.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The JSON text (`null` were the bytes not UTF-8, which no writer of this crate makes).
    pub fn get(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("null")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via_serde<T: serde::Serialize + ?Sized>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }

    fn written(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut every_byte: String = (0u8..0x80).map(char::from).collect();
        every_byte.push_str("é漢\u{7f}\u{2028}\u{1F600}");
        for s in [
            "",
            "plain",
            "quote \" and backslash \\",
            "\u{8}\t\n\u{c}\r",
            "\u{0}\u{1}\u{1f}",
            "tab\tin the middle",
            "ends with a newline\n",
            "\"",
            every_byte.as_str(),
        ] {
            assert_eq!(written(|o| string(o, s)), via_serde(s), "{s:?}");
        }
        assert_eq!(written(|o| string(o, "a\u{1}b")), r#""a\u0001b""#);
        assert_eq!(written(|o| string(o, "\u{1b}")), r#""\u001b""#);
        // Non-ASCII and DEL are written as they are, as serde_json and Suricata's EVE do.
        assert_eq!(written(|o| string(o, "naïve\u{7f}")), "\"naïve\u{7f}\"");
    }

    #[test]
    fn the_word_test_finds_every_byte_that_needs_escaping() {
        for b in 0u8..=255 {
            for pos in 0..8 {
                let mut word = *b"abcdefgh";
                word[pos] = b;
                let needs = ESCAPE[usize::from(b)] != 0;
                assert_eq!(
                    word_needs_escape(u64::from_le_bytes(word)),
                    needs,
                    "{b:#x} at {pos}"
                );
            }
        }
        // Escapes after a clean first word, in the tail, and in long strings.
        for s in [
            "abcdefgh\"",
            "abcdefghijklmno\n",
            "0123456789abcdef\u{1}xyz",
            "tail\t",
        ] {
            assert_eq!(written(|o| string(o, s)), via_serde(s), "{s:?}");
        }
    }

    #[test]
    fn numbers_and_booleans() {
        assert_eq!(written(|o| int(o, 0u64)), "0");
        assert_eq!(written(|o| int(o, u64::MAX)), u64::MAX.to_string());
        assert_eq!(written(|o| int(o, -12i64)), "-12");
        assert_eq!(written(|o| boolean(o, true)), "true");
        assert_eq!(written(|o| boolean(o, false)), "false");
    }

    #[test]
    fn objects_and_arrays_place_their_commas() {
        let text = written(|o| {
            o.push(b'{');
            field_str(o, "a", "x");
            field_int(o, "n", 7u16);
            key(o, "empty");
            o.extend_from_slice(b"{}");
            key(o, "list");
            strings(o, &["h2", "http/1.1"]);
            key(o, "none");
            strings::<&str>(o, &[]);
            key(o, "inner");
            o.push(b'{');
            field_bool(o, "t", true);
            o.push(b'}');
            o.push(b'}');
        });
        assert_eq!(
            text,
            r#"{"a":"x","n":7,"empty":{},"list":["h2","http/1.1"],"none":[],"inner":{"t":true}}"#
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(via_serde(&v), text);
    }

    #[test]
    fn ipv4_in_dotted_decimal() {
        for a in [
            "0.0.0.0",
            "10.0.0.1",
            "192.168.100.255",
            "255.255.255.255",
            "1.20.3.199",
        ] {
            let v4: Ipv4Addr = a.parse().unwrap();
            assert_eq!(written(|o| ip(o, v4.into())), format!("\"{a}\""));
        }
        for n in [
            0u32, 9, 10, 99, 100, 109, 110, 199, 200, 249, 250, 0x0a0b0c0d,
        ] {
            let v4 = Ipv4Addr::from(n.wrapping_mul(0x0101_0101));
            assert_eq!(written(|o| ipv4_text(o, v4)), v4.to_string());
        }
        for b in 0..=255u8 {
            let v4 = Ipv4Addr::new(b, 255 - b, b / 7, b ^ 0x5a);
            assert_eq!(written(|o| ipv4_text(o, v4)), v4.to_string());
        }
    }

    #[test]
    fn ipv6_fully_expanded_as_suricata_writes_it() {
        let cases = [
            ("2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001"),
            ("::", "0000:0000:0000:0000:0000:0000:0000:0000"),
            ("::1", "0000:0000:0000:0000:0000:0000:0000:0001"),
            ("fe80::a:BC:d", "fe80:0000:0000:0000:0000:000a:00bc:000d"),
            (
                "fd00:1:2:3:4:5:6:7",
                "fd00:0001:0002:0003:0004:0005:0006:0007",
            ),
            // IPv4-mapped and -compatible: hex groups, never dotted.
            ("::ffff:10.0.0.1", "0000:0000:0000:0000:0000:ffff:0a00:0001"),
            ("::192.0.2.1", "0000:0000:0000:0000:0000:0000:c000:0201"),
            (
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ),
        ];
        for (input, expected) in cases {
            let v6: Ipv6Addr = input.parse().unwrap();
            assert_eq!(written(|o| ip(o, v6.into())), format!("\"{expected}\""));
            let text = crate::text::SuricataIp(v6.into()).to_string();
            assert_eq!(text, expected, "the Display form agrees");
        }
    }

    #[test]
    fn serde_fallback_and_raw_values() {
        let v = serde_json::json!({"k": ["a\n", 1, null]});
        assert_eq!(written(|o| serde(o, &v)), via_serde(&v));
        let raw = RawJson::of_serde(&v);
        assert_eq!(raw.get(), via_serde(&v));
        assert_eq!(raw.as_bytes(), via_serde(&v).as_bytes());
        assert_eq!(RawJson::from_buf(vec![0xff]).get(), "null");
    }
}
