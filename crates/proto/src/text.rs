//! Values as Suricata writes them in EVE: addresses (IPv6 fully expanded, 8 groups of 4
//! lowercase hex digits) and any `Display` value as a JSON string, formatted straight into the
//! output without an intermediate `String`.

use serde::{Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;

/// An address as Suricata writes it: `10.0.0.1`, `2001:0db8:0000:0000:0000:0000:0000:0001`.
#[derive(Clone, Copy, Debug)]
pub struct SuricataIp(pub IpAddr);

impl fmt::Display for SuricataIp {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                write!(
                    f,
                    "{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}",
                    s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
                )
            }
        }
    }
}

/// A `Display` value serialised as a JSON string.
#[derive(Clone, Copy, Debug)]
pub struct JsonText<T>(pub T);

impl<T: fmt::Display> Serialize for JsonText<T> {
    #[inline]
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Bytes as Suricata writes a byte string in EVE (`SCJbSetStringFromBytes`: TLS server names,
/// DNS names and record text): valid UTF-8 as it is (the JSON writer escapes control bytes, a
/// NUL as `\u0000`); otherwise every ASCII byte as it is and every byte from 0x80 up as the
/// four characters `\xNN` (lowercase hex).
pub(crate) fn bytes_text(bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        if b.is_ascii() {
            out.push(char::from(b));
        } else {
            out.push_str("\\x");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_look_like_suricata() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            SuricataIp(v6).to_string(),
            "2001:0db8:0000:0000:0000:0000:0000:0001"
        );
        assert_eq!(
            SuricataIp("10.0.0.1".parse().unwrap()).to_string(),
            "10.0.0.1"
        );
        assert_eq!(
            serde_json::to_string(&JsonText(SuricataIp(v6))).unwrap(),
            "\"2001:0db8:0000:0000:0000:0000:0000:0001\""
        );
    }
}
