//! The server_name (SNI) `host_name` as EVE shows it and as detections read it.
//!
//! EVE text: Suricata's rule for byte strings (`SCJbSetStringFromBytes`, which its TLS logger
//! uses for `sni`): bytes that are valid UTF-8 are kept as they are (the JSON writer then
//! escapes control bytes, a NUL as `\u0000`); otherwise every ASCII byte is kept and every byte
//! from 0x80 up becomes the four characters `\xNN` (lowercase hex). A NUL does not cut the name.
//! The bytes can be read back from the text, but for the one case the rule leaves open: a name
//! holding the characters `\xNN` itself reads like one holding that byte (both are invalid).
//!
//! Host name: what a name must look like to be matched as it is, RFC 1123 section 2.1 with the
//! tolerance real traffic needs: labels of 1 to 63 letters, digits, hyphens or underscores
//! (`_dmarc`-style names and hyphens at a label's edge are seen in the wild and accepted by
//! browsers), separated by single dots, one trailing dot allowed, at most 253 octets without
//! it. Anything else (a NUL, a control byte, a space, a byte from 0x80 up, an empty label, a
//! longer name) makes the name invalid: EVE flags it (`sni_invalid`) and the detections match
//! the name's longest valid prefix ([`host_name_prefix`]).
//!
//! Both functions read the EVE text, not the raw bytes: the text equals the bytes up to the
//! first byte from 0x80 up, and that byte and its `\` are both outside a host name, so the
//! verdict and the prefix are the same as those of the bytes.

/// Longest host name (RFC 1035 section 2.3.4, without the trailing dot).
const MAX_NAME: usize = 253;
/// Longest label (RFC 1035 section 2.3.4).
const MAX_LABEL: usize = 63;

/// The EVE text of a server name's bytes (see the module doc).
pub(crate) use crate::text::bytes_text as text;

/// Whether `name` is a host name by the rule of the module doc.
pub fn is_host_name(name: &str) -> bool {
    let (prefix, whole) = scan(name);
    whole && !prefix.is_empty()
}

/// The longest prefix of `name` that is a host name, without a trailing dot; `name` itself
/// (minus a trailing dot) when it is one, `""` when not even its first label is.
///
/// A label ends at a dot or at the first byte that cannot be in a host name, so junk inside a
/// label keeps the part before it: `pkg-validate.net\0`, `pkg-validate.net.\0` and
/// `pkg-validate.net\x07junk` all give `pkg-validate.net`; an empty label ends the prefix
/// before it (`a..b` gives `a`), and so does a label that would make it longer than 253 octets.
pub fn host_name_prefix(name: &str) -> &str {
    scan(name).0
}

/// [`host_name_prefix`] and [`is_host_name`] in one pass: the longest valid prefix (no
/// trailing dot) and whether the whole name is a host name (trailing dot allowed).
pub fn scan(name: &str) -> (&str, bool) {
    let bytes = name.as_bytes();
    // End of the prefix accepted so far (after its last complete label).
    let mut good = 0;
    let mut start = 0;
    loop {
        let len = bytes[start..]
            .iter()
            .position(|&b| !is_label_byte(b))
            .unwrap_or(bytes.len() - start);
        let end = start + len;
        if len == 0 || len > MAX_LABEL || end > MAX_NAME {
            return (&name[..good], false);
        }
        good = end;
        match bytes.get(end) {
            None => return (&name[..good], true),
            Some(b'.') if end + 1 == bytes.len() => return (&name[..good], true),
            Some(b'.') => start = end + 1,
            Some(_) => return (&name[..good], false),
        }
    }
}

/// Letters, digits, hyphen and underscore: the bytes of a label.
fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_utf8_and_escapes_other_high_bytes_as_suricata_does() {
        assert_eq!(text(b"pkg-validate.net\0"), "pkg-validate.net\0");
        assert_eq!(text(b"a\x07junk"), "a\u{7}junk");
        assert_eq!(text("bücher.example".as_bytes()), "bücher.example");
        assert_eq!(
            text(b"evil.example\xff\xfe\x00"),
            "evil.example\\xff\\xfe\0"
        );
        assert_eq!(text(b"\x80"), "\\x80");
    }

    #[test]
    fn host_names_by_rfc_1123_with_underscore_and_trailing_dot() {
        for ok in [
            "pkg-validate.net",
            "pkg-validate.net.",
            "_dmarc.example.com",
            "a",
            "xn--bcher-kva.example",
            "10.0.0.1",
            "-edge-.example",
        ] {
            assert!(is_host_name(ok), "{ok:?}");
            assert_eq!(host_name_prefix(ok), ok.strip_suffix('.').unwrap_or(ok));
        }
        let label = "a".repeat(63);
        let long = [label.as_str(); 4].join("."); // 255 octets
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "a b",
            "a\0",
            "bücher.example",
            "a.b..",
            &long,
        ] {
            assert!(!is_host_name(bad), "{bad:?}");
        }
        assert!(!is_host_name(&format!("{}.b", "a".repeat(64))));
    }

    #[test]
    fn the_longest_valid_prefix_drops_the_junk_and_what_follows() {
        for (name, prefix) in [
            ("pkg-validate.net\0", "pkg-validate.net"),
            ("pkg-validate.net.\0", "pkg-validate.net"),
            ("pkg-validate.net\u{7}junk", "pkg-validate.net"),
            ("pkg-validate.net\\xff", "pkg-validate.net"),
            ("pkg-validate.net/x", "pkg-validate.net"),
            ("c2.pkg-validate.net:443", "c2.pkg-validate.net"),
            ("a..b", "a"),
            ("\0pkg-validate.net", ""),
            (".pkg-validate.net", ""),
            ("bücher.example", "b"),
        ] {
            assert_eq!(host_name_prefix(name), prefix, "{name:?}");
            assert!(!is_host_name(name), "{name:?}");
        }
        let label = "a".repeat(63);
        let long = [label.as_str(); 4].join(".");
        assert_eq!(host_name_prefix(&long).len(), 63 * 3 + 2);
    }
}
