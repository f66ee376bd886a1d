//! IPv6 extension headers in any order RFC 8200 allows, walked by hand: Hop-by-Hop Options
//! (first only, as RFC 8200 section 4.1 requires and Linux enforces), Destination Options,
//! Routing, Fragment, Authentication Header, Mobility, HIP, Shim6 and the experimental numbers,
//! before and after the Fragment header. A Fragment header ends the walk (the rest is fragment
//! data; after reassembly the datagram's payload may start with more extension headers, which
//! [`walk`] then continues from). An atomic fragment (offset 0, no more fragments, RFC 6946) is
//! walked through. What cannot be walked is skipped with a [`SkipReason`] that names it.

use super::SkipReason;

/// Extension headers walked at most in one packet; more is [`SkipReason::Ipv6ExtensionHeaders`].
const MAX_HEADERS: usize = 16;

const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const ESP: u8 = 50;
const AH: u8 = 51;
const DESTINATION: u8 = 60;
const MOBILITY: u8 = 135;
const HIP: u8 = 139;
const SHIM6: u8 = 140;
const EXPERIMENT_1: u8 = 253;
const EXPERIMENT_2: u8 = 254;

/// Where the walk ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Walked<'a> {
    /// The upper-layer protocol and its bytes.
    Upper { protocol: u8, payload: &'a [u8] },
    /// A fragment: its id, the protocol of the header after the Fragment header, its offset in
    /// bytes, whether more follow, and its data.
    Fragment {
        id: u32,
        protocol: u8,
        offset: u32,
        more: bool,
        data: &'a [u8],
    },
}

/// Whether `protocol` is an IPv6 extension header (the walk has work to do).
pub(crate) fn is_extension(protocol: u8) -> bool {
    matches!(
        protocol,
        HOP_BY_HOP
            | ROUTING
            | FRAGMENT
            | ESP
            | AH
            | DESTINATION
            | MOBILITY
            | HIP
            | SHIM6
            | EXPERIMENT_1
            | EXPERIMENT_2
    )
}

/// Walks the extension headers from `next` over `data`. `after_fixed_header` says whether
/// `data` follows the fixed header (where Hop-by-Hop may stand), or a Fragment header's
/// reassembled payload (where it may not).
pub(crate) fn walk(
    mut next: u8,
    mut data: &[u8],
    after_fixed_header: bool,
) -> Result<Walked<'_>, SkipReason> {
    for i in 0..MAX_HEADERS {
        let len = match next {
            HOP_BY_HOP if i == 0 && after_fixed_header => generic_len(data)?,
            HOP_BY_HOP => return Err(SkipReason::Ipv6HopByHopNotFirst),
            ROUTING | DESTINATION | MOBILITY | HIP | SHIM6 | EXPERIMENT_1 | EXPERIMENT_2 => {
                generic_len(data)?
            }
            AH => {
                // RFC 4302: the length is in 4-byte words, minus 2.
                let words = usize::from(*data.get(1).ok_or(SkipReason::Ipv6ExtensionHeaders)?);
                (words + 2) * 4
            }
            ESP => return Err(SkipReason::Ipv6Esp),
            FRAGMENT => {
                let h = data.get(..8).ok_or(SkipReason::Ipv6ExtensionHeaders)?;
                let field = u16::from_be_bytes([h[2], h[3]]);
                let offset = u32::from(field & 0xfff8);
                let more = field & 1 != 0;
                if offset != 0 || more {
                    return Ok(Walked::Fragment {
                        id: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                        protocol: h[0],
                        offset,
                        more,
                        data: &data[8..],
                    });
                }
                8
            }
            protocol => {
                return Ok(Walked::Upper {
                    protocol,
                    payload: data,
                })
            }
        };
        let header = data.get(..len).ok_or(SkipReason::Ipv6ExtensionHeaders)?;
        next = header[0];
        data = &data[len..];
    }
    Err(SkipReason::Ipv6ExtensionHeaders)
}

/// The length of a header whose second byte counts 8-byte units past the first 8 bytes.
fn generic_len(data: &[u8]) -> Result<usize, SkipReason> {
    let units = usize::from(*data.get(1).ok_or(SkipReason::Ipv6ExtensionHeaders)?);
    Ok((units + 1) * 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header of kind `next`-chained: next header, length, padding to `units`.
    fn ext(next: u8, units: u8) -> Vec<u8> {
        let mut h = vec![next, units];
        h.resize((usize::from(units) + 1) * 8, 0);
        h
    }

    fn frag(next: u8, offset: u16, more: bool, id: u32) -> Vec<u8> {
        let mut h = vec![next, 0];
        h.extend((offset | u16::from(more)).to_be_bytes());
        h.extend(id.to_be_bytes());
        h
    }

    #[test]
    fn every_order_rfc_8200_allows_reaches_the_upper_layer() {
        // Hop-by-Hop, Destination, Routing (16 bytes), AH (12 bytes), Destination, then UDP.
        let mut all = ext(DESTINATION, 0);
        all.extend(ext(ROUTING, 0));
        all.extend(ext(AH, 1));
        all.extend([DESTINATION, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        all.extend(ext(17, 0));
        all.extend(b"udp!");
        assert_eq!(
            walk(HOP_BY_HOP, &all, true).unwrap(),
            Walked::Upper {
                protocol: 17,
                payload: b"udp!"
            }
        );
    }

    #[test]
    fn a_fragment_header_ends_the_walk_and_its_payload_walks_on() {
        let mut d = ext(FRAGMENT, 0);
        d.extend(frag(DESTINATION, 0, true, 7));
        d.extend(ext(17, 0));
        d.extend(b"udp");
        let w = walk(DESTINATION, &d, true).unwrap();
        let Walked::Fragment {
            id,
            protocol,
            offset,
            more,
            data,
        } = w
        else {
            panic!("{w:?}")
        };
        assert_eq!((id, protocol, offset, more), (7, DESTINATION, 0, true));
        // After reassembly the Destination Options header leads the payload.
        assert_eq!(
            walk(protocol, data, false).unwrap(),
            Walked::Upper {
                protocol: 17,
                payload: b"udp"
            }
        );
    }

    #[test]
    fn an_atomic_fragment_is_walked_through() {
        let mut d = frag(6, 0, false, 9);
        d.extend(b"tcp");
        assert_eq!(
            walk(FRAGMENT, &d, true).unwrap(),
            Walked::Upper {
                protocol: 6,
                payload: b"tcp"
            }
        );
    }

    #[test]
    fn what_cannot_be_walked_is_named() {
        let mut d = ext(HOP_BY_HOP, 0);
        d.extend(ext(17, 0));
        assert_eq!(
            walk(DESTINATION, &d, true),
            Err(SkipReason::Ipv6HopByHopNotFirst)
        );
        assert_eq!(walk(ESP, b"spi.....", true), Err(SkipReason::Ipv6Esp));
        assert_eq!(
            walk(DESTINATION, &[17, 3, 0, 0], true),
            Err(SkipReason::Ipv6ExtensionHeaders)
        );
        let looped: Vec<u8> = (0..MAX_HEADERS + 1)
            .flat_map(|_| ext(DESTINATION, 0))
            .collect();
        assert_eq!(
            walk(DESTINATION, &looped, true),
            Err(SkipReason::Ipv6ExtensionHeaders)
        );
        for len in 0..looped.len() {
            let _ = walk(HOP_BY_HOP, &looped[..len], true);
        }
    }
}
