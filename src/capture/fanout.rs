//! AF_PACKET fanout: one interface read through several libpcap handles, each with its own
//! TPACKET_V3 ring, the kernel spreading the packets over them by a symmetric flow hash
//! (`PACKET_FANOUT_HASH`: both directions of a connection reach the same ring) with IPv4
//! fragments reassembled first (`PACKET_FANOUT_FLAG_DEFRAG`: a datagram's fragments carry no
//! ports, so without it they would land on any ring). One capture thread reads each ring
//! (`egress-ids live --capture-threads N`).
//!
//! Joining the group is one `setsockopt(SOL_PACKET, PACKET_FANOUT)` on each handle's socket,
//! which neither libpcap nor nix offers: the only `unsafe` of this module, one block.
//!
//! Until a handle joins, its socket receives every packet of the interface, so the first
//! packets after the open would be in several rings. Each handle therefore discards what was
//! captured before the last one joined (`LiveCapture::start`): the capture starts there.
#![allow(unsafe_code)]

use super::live::{wall_clock, LiveCapture, LiveConfig, LiveError};
use std::os::fd::AsRawFd;

/// `PACKET_FANOUT` of `<linux/if_packet.h>` (a socket option at level `SOL_PACKET`).
const PACKET_FANOUT: libc::c_int = 18;
/// Fanout mode: by the kernel's symmetric flow hash.
const PACKET_FANOUT_HASH: u32 = 0;
/// Fanout flag: reassemble IPv4 fragments before hashing.
const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;

/// The `PACKET_FANOUT` option's value: the group id in the low 16 bits, mode and flags above.
pub(crate) fn fanout_arg(group: u16) -> u32 {
    u32::from(group) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16)
}

/// A fanout group id for interface `ifindex` in process `pid`. Groups are per network
/// namespace and shared by every process that names the same id: the id mixes both, so two
/// sensors (or two interfaces of one) do not join each other's group.
pub(crate) fn group_id(pid: u32, ifindex: u32) -> u16 {
    // Fibonacci hashing of (pid, ifindex); the high 16 bits.
    let mixed = (u64::from(pid) << 32 | u64::from(ifindex)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 48) as u16
}

/// Makes the socket under `cap` a member of fanout group `group`.
fn join(cap: &LiveCapture, group: u16) -> std::io::Result<()> {
    let fd = cap.as_raw_fd();
    let arg = fanout_arg(group);
    // SAFETY: `fd` is the open packet socket libpcap holds for `cap`, which outlives this call;
    // the option value is a 4-byte integer read by the kernel from `&arg`, which lives on this
    // stack frame for the whole call, and its length is passed exactly.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            PACKET_FANOUT,
            (&arg as *const u32).cast::<libc::c_void>(),
            std::mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Opens `config.interface` `rings` times and joins the handles into one fanout group; every
/// handle drops the frames captured before the last one joined.
pub(crate) fn open_fanout(
    config: &LiveConfig,
    rings: usize,
) -> Result<Vec<LiveCapture>, LiveError> {
    let ifindex = if config.interface == "any" {
        0
    } else {
        nix::net::if_::if_nametoindex(config.interface.as_str()).unwrap_or(0)
    };
    let group = group_id(std::process::id(), ifindex);
    let mut captures = Vec::with_capacity(rings);
    for _ in 0..rings {
        let cap = LiveCapture::open(config)?;
        join(&cap, group).map_err(|source| LiveError::Fanout {
            interface: config.interface.clone(),
            source,
        })?;
        captures.push(cap);
    }
    let start = wall_clock();
    for cap in &mut captures {
        cap.set_start(start);
    }
    Ok(captures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_value_holds_the_group_then_hash_mode_with_defrag() {
        // <linux/if_packet.h>: PACKET_FANOUT_HASH 0, PACKET_FANOUT_FLAG_DEFRAG 0x8000, shifted
        // into the high half as packet(7) says.
        assert_eq!(fanout_arg(0x1234), 0x8000_1234);
        assert_eq!(fanout_arg(0), 0x8000_0000);
        assert_eq!(fanout_arg(u16::MAX), 0x8000_FFFF);
        assert_eq!(fanout_arg(7) >> 16 & 0xff, PACKET_FANOUT_HASH);
    }

    #[test]
    fn group_ids_differ_by_interface_and_by_process() {
        let a = group_id(4242, 2);
        assert_eq!(a, group_id(4242, 2));
        assert_ne!(a, group_id(4242, 3));
        assert_ne!(a, group_id(4243, 2));
        // Over many neighbouring pids and interfaces, collisions stay rare.
        let mut ids: Vec<u16> = (1000..1100)
            .flat_map(|pid| (1..5).map(move |i| group_id(pid, i)))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert!(ids.len() > 390, "{} distinct of 400", ids.len());
    }
}
