//! SVCB (64) and HTTPS (65) record data (RFC 9460): priority, target name, and the parameters
//! that say where and how a client connects: ALPN, port, address hints, and the `ech` parameter
//! (RFC 9848) whose ECHConfigList holds the configuration ids and public names an ECH client
//! uses. The ids and names let the detections tell real ECH from GREASE.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::names::bytes_to_string;

/// SvcParamKeys read (RFC 9460 §14.3.2).
const KEY_ALPN: u16 = 1;
const KEY_PORT: u16 = 3;
const KEY_IPV4HINT: u16 = 4;
const KEY_ECH: u16 = 5;
const KEY_IPV6HINT: u16 = 6;
/// ECHConfig version of RFC 9849.
const ECH_VERSION: u16 = 0xfe0d;

/// One ECHConfig of an `ech` parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EchConfig {
    pub config_id: u8,
    pub public_name: String,
}

/// SVCB/HTTPS record data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Svcb {
    pub priority: u16,
    /// TargetName as text; `.` means the owner name.
    pub target: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipv4hint: Vec<Ipv4Addr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipv6hint: Vec<Ipv6Addr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ech: Vec<EchConfig>,
}

/// A cursor over record data.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

/// Parses SVCB/HTTPS record data (its TargetName is never compressed, RFC 9460 §2.2); `None`
/// when it is malformed.
pub fn parse(rdata: &[u8]) -> Option<Svcb> {
    let mut r = Reader(rdata);
    let mut out = Svcb {
        priority: r.u16()?,
        ..Svcb::default()
    };
    let mut labels: Vec<String> = Vec::new();
    loop {
        let n = usize::from(r.u8()?);
        if n == 0 {
            break;
        }
        if n > 63 || labels.len() >= 128 {
            return None;
        }
        labels.push(bytes_to_string(r.take(n)?));
    }
    out.target = if labels.is_empty() {
        ".".to_owned()
    } else {
        labels.join(".")
    };
    while !r.0.is_empty() {
        let key = r.u16()?;
        let len = usize::from(r.u16()?);
        let mut v = Reader(r.take(len)?);
        match key {
            KEY_ALPN => {
                while !v.0.is_empty() {
                    let n = usize::from(v.u8()?);
                    out.alpn.push(bytes_to_string(v.take(n)?));
                }
            }
            KEY_PORT => out.port = Some(v.u16()?),
            KEY_IPV4HINT => {
                while !v.0.is_empty() {
                    let b: [u8; 4] = v.take(4)?.try_into().ok()?;
                    out.ipv4hint.push(Ipv4Addr::from(b));
                }
            }
            KEY_IPV6HINT => {
                while !v.0.is_empty() {
                    let b: [u8; 16] = v.take(16)?.try_into().ok()?;
                    out.ipv6hint.push(Ipv6Addr::from(b));
                }
            }
            KEY_ECH => out.ech = ech_config_list(v.0)?,
            _ => {}
        }
    }
    Some(out)
}

/// The ECHConfigs of an ECHConfigList (RFC 9849 §4); configurations of other versions are
/// skipped by their length.
fn ech_config_list(b: &[u8]) -> Option<Vec<EchConfig>> {
    let mut r = Reader(b);
    let len = usize::from(r.u16()?);
    let mut list = Reader(r.take(len)?);
    let mut out = Vec::new();
    while !list.0.is_empty() {
        let version = list.u16()?;
        let len = usize::from(list.u16()?);
        let mut c = Reader(list.take(len)?);
        if version != ECH_VERSION {
            continue;
        }
        let config_id = c.u8()?;
        let _kem = c.u16()?;
        let key_len = usize::from(c.u16()?);
        c.take(key_len)?;
        let suites_len = usize::from(c.u16()?);
        c.take(suites_len)?;
        let _max_name_len = c.u8()?;
        let name_len = usize::from(c.u8()?);
        let public_name = bytes_to_string(c.take(name_len)?);
        out.push(EchConfig {
            config_id,
            public_name,
        });
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An ECHConfigList with one RFC 9849 configuration.
    pub(crate) fn ech_config_list_bytes(config_id: u8, public_name: &str) -> Vec<u8> {
        let mut c = vec![config_id, 0x00, 0x20, 0x00, 0x20];
        c.extend([0x11; 32]); // X25519 public key
        c.extend([0x00, 0x04, 0x00, 0x01, 0x00, 0x01]); // HKDF-SHA256 / AES-128-GCM
        c.push(0);
        c.push(public_name.len() as u8);
        c.extend(public_name.as_bytes());
        c.extend([0x00, 0x00]);
        let mut config = vec![0xfe, 0x0d];
        config.extend((c.len() as u16).to_be_bytes());
        config.extend(c);
        let mut list = (config.len() as u16).to_be_bytes().to_vec();
        list.extend(config);
        list
    }

    /// HTTPS rdata: priority 1, target ".", alpn h2,h3, ipv4hint, ech.
    pub(crate) fn https_rdata(v4: [u8; 4], config_id: u8, public_name: &str) -> Vec<u8> {
        let mut r = vec![0x00, 0x01, 0x00];
        r.extend([0x00, 0x01, 0x00, 0x06, 2, b'h', b'2', 2, b'h', b'3']);
        r.extend([0x00, 0x04, 0x00, 0x04]);
        r.extend(v4);
        let ech = ech_config_list_bytes(config_id, public_name);
        r.extend([0x00, 0x05]);
        r.extend((ech.len() as u16).to_be_bytes());
        r.extend(ech);
        r
    }

    #[test]
    fn an_https_record_with_hints_and_ech_parses() {
        let r = https_rdata([203, 0, 113, 40], 0x2a, "cover.example");
        let s = parse(&r).unwrap();
        assert_eq!(s.priority, 1);
        assert_eq!(s.target, ".");
        assert_eq!(s.alpn, ["h2", "h3"]);
        assert_eq!(s.ipv4hint, [Ipv4Addr::new(203, 0, 113, 40)]);
        assert_eq!(
            s.ech,
            [EchConfig {
                config_id: 0x2a,
                public_name: "cover.example".into()
            }]
        );
        for n in 0..r.len() {
            let _ = parse(&r[..n]);
        }
        // AliasMode with a target.
        let alias = [
            0, 0, 3, b'c', b'd', b'n', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0,
        ];
        let s = parse(&alias).unwrap();
        assert_eq!((s.priority, s.target.as_str()), (0, "cdn.example"));
        assert_eq!(parse(&[0, 1, 64]), None, "label longer than 63");
    }
}
