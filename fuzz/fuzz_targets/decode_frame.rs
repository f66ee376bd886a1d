//! Fuzzes the frame decoder alone (`proto::decode`): link layers, IPv6 extension headers, every
//! tunnel (VXLAN, GENEVE, GRE, ERSPAN, MPLS, PPPoE) down to the depth limit, and the
//! reassembler. The first byte picks the link type, the second an extra VXLAN and GENEVE port
//! (so any UDP port may be a tunnel); the rest is frames with 2-byte length prefixes. Whatever
//! comes out must borrow from its frame and never panic. Seeds: `fuzz/make-seeds.py`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto::decode::defrag::Defragmenter;
use proto::decode::{decode_transport, DecodeConfig, Decoded, Decoder, PortList};
use proto::Timestamp;

const LINKTYPES: [i32; 8] = [0, 1, 101, 108, 113, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let [first, port, rest @ ..] = data else {
        return;
    };
    let linktype = LINKTYPES[*first as usize % LINKTYPES.len()];
    let extra = 4000 + u16::from(*port);
    let config = DecodeConfig {
        vxlan_ports: PortList::new(&[4789, extra]).expect("two ports"),
        geneve_ports: PortList::new(&[6081, extra.wrapping_add(1)]).expect("two ports"),
    };
    let mut decoder = Decoder::new(config);
    let mut defrag = Defragmenter::default();
    let mut rest = rest;
    let mut n = 0i64;
    while rest.len() >= 2 && n < 64 {
        let len = (u16::from_be_bytes([rest[0], rest[1]]) as usize).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        n += 1;
        match decoder.decode(linktype, frame) {
            Decoded::Packet(p) => {
                let range = frame.as_ptr_range();
                assert!(p.payload.is_empty() || range.contains(&p.payload.as_ptr()));
            }
            Decoded::Fragment(f) => {
                if let Some(d) = defrag.add(Timestamp(n * 1_000_000_000), &f) {
                    let _ = decode_transport(
                        d.src,
                        d.dst,
                        d.protocol,
                        &d.data,
                        f.vlans,
                        d.tunnel.digest(),
                    );
                }
            }
            Decoded::Skip(_) => {}
        }
    }
});
