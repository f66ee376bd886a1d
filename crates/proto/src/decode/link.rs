//! Link layers: finds where the network layer starts for each supported LINKTYPE and hands the
//! rest to etherparse's lax slicer. Linux cooked capture v2 (SLL2) and BSD loopback are read here
//! because etherparse has no slicer for them.

use super::SkipReason;
use etherparse::{EtherType, LaxSlicedPacket};

/// LINKTYPE_NULL: BSD loopback, 4-byte address family in the capturing host's byte order.
pub(crate) const LINKTYPE_NULL: i32 = 0;
/// LINKTYPE_ETHERNET.
pub(crate) const LINKTYPE_ETHERNET: i32 = 1;
/// LINKTYPE_RAW (raw IPv4 or IPv6); 12 and 14 are the historical DLT values for it.
pub(crate) const LINKTYPE_RAW: i32 = 101;
/// LINKTYPE_LOOP: OpenBSD loopback, address family in network byte order.
pub(crate) const LINKTYPE_LOOP: i32 = 108;
/// LINKTYPE_LINUX_SLL: Linux cooked capture v1.
pub(crate) const LINKTYPE_LINUX_SLL: i32 = 113;
/// LINKTYPE_IPV4 and LINKTYPE_IPV6.
pub(crate) const LINKTYPE_IPV4: i32 = 228;
pub(crate) const LINKTYPE_IPV6: i32 = 229;
/// LINKTYPE_LINUX_SLL2: Linux cooked capture v2 (`tcpdump -i any` on modern libpcap).
pub const LINKTYPE_LINUX_SLL2: i32 = 276;

const SLL_HEADER_LEN: usize = 16;
const SLL2_HEADER_LEN: usize = 20;

/// Slices a frame of the given link type down to its transport layer; with the raw IP bytes
/// when the link layer has no Ethernet type (raw IP, BSD loopback), where
/// [`LaxSlicedPacket::ether_payload`] gives none.
pub(crate) fn slice_link(
    linktype: i32,
    data: &[u8],
) -> Result<(LaxSlicedPacket<'_>, Option<&[u8]>), SkipReason> {
    match linktype {
        LINKTYPE_RAW | 12 | 14 | LINKTYPE_IPV4 | LINKTYPE_IPV6 => Ok((from_ip(data)?, Some(data))),
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let ip = data.get(4..).ok_or(SkipReason::TruncatedLink)?;
            Ok((slice_non_raw(linktype, data)?, Some(ip)))
        }
        _ => Ok((slice_non_raw(linktype, data)?, None)),
    }
}

fn slice_non_raw(linktype: i32, data: &[u8]) -> Result<LaxSlicedPacket<'_>, SkipReason> {
    match linktype {
        LINKTYPE_ETHERNET => {
            LaxSlicedPacket::from_ethernet(data).map_err(|_| SkipReason::TruncatedLink)
        }
        LINKTYPE_RAW | 12 | 14 | LINKTYPE_IPV4 | LINKTYPE_IPV6 => from_ip(data),
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let family = data.get(..4).ok_or(SkipReason::TruncatedLink)?;
            let family = [family[0], family[1], family[2], family[3]];
            let af = if linktype == LINKTYPE_LOOP {
                u32::from_be_bytes(family)
            } else {
                // DLT_NULL is host byte order of the capturing machine: accept either.
                let le = u32::from_le_bytes(family);
                if le <= 0xff {
                    le
                } else {
                    u32::from_be_bytes(family)
                }
            };
            match af {
                // AF_INET everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
                2 | 10 | 24 | 28 | 30 => from_ip(&data[4..]),
                _ => Err(SkipReason::NotIp),
            }
        }
        LINKTYPE_LINUX_SLL => {
            let header = data
                .get(..SLL_HEADER_LEN)
                .ok_or(SkipReason::TruncatedLink)?;
            let protocol = u16::from_be_bytes([header[14], header[15]]);
            Ok(LaxSlicedPacket::from_ether_type(
                EtherType(protocol),
                &data[SLL_HEADER_LEN..],
            ))
        }
        LINKTYPE_LINUX_SLL2 => {
            let header = data
                .get(..SLL2_HEADER_LEN)
                .ok_or(SkipReason::TruncatedLink)?;
            let protocol = u16::from_be_bytes([header[0], header[1]]);
            Ok(LaxSlicedPacket::from_ether_type(
                EtherType(protocol),
                &data[SLL2_HEADER_LEN..],
            ))
        }
        _ => Err(SkipReason::UnsupportedLinkType),
    }
}

fn from_ip(data: &[u8]) -> Result<LaxSlicedPacket<'_>, SkipReason> {
    LaxSlicedPacket::from_ip(data).map_err(|_| SkipReason::MalformedIp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal IPv4/UDP packet 10.0.0.1:1000 -> 192.0.2.1:53 with a 1-byte payload.
    fn ipv4_udp() -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 29, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 192, 0, 2, 1, // IPv4
            0x03, 0xe8, 0, 53, 0, 9, 0, 0, // UDP
        ];
        p.push(0xaa);
        p
    }

    #[test]
    fn sll2_header_is_skipped_by_its_protocol_field() {
        let mut frame = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        frame.extend(ipv4_udp());
        let (sliced, _) = slice_link(LINKTYPE_LINUX_SLL2, &frame).expect("sll2");
        assert!(sliced.transport.is_some());
    }

    #[test]
    fn bsd_null_accepts_both_byte_orders() {
        for family in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
            let mut frame = family.to_vec();
            frame.extend(ipv4_udp());
            assert!(slice_link(LINKTYPE_NULL, &frame)
                .expect("null")
                .0
                .transport
                .is_some());
        }
    }

    #[test]
    fn short_frames_are_truncated_not_panics() {
        for lt in [0, 1, 101, 108, 113, 228, 229, 276, 9999] {
            for len in 0..24 {
                let _ = slice_link(lt, &vec![0u8; len]);
            }
        }
    }
}
