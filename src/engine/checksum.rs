//! Whether a packet's checksums hold, checked only for packets the app layer reads (flows still
//! inspected), never on the bypass path. A receiver drops a packet with a wrong checksum, so an
//! IDS that inspects it reads bytes the receiver never got.
//!
//! `yes` checks IPv4 headers, TCP and UDP. `auto` checks TCP, the bytes a stream is built
//! from (as Suricata's stream engine does: captures edited by hand often leave UDP checksums
//! stale), and takes a zero IPv4 header checksum as one never filled in.
//!
//! Under `auto` a flow none of whose packets had a good checksum yet is read anyway: a capture
//! rewritten without fixing its checksums (anonymised addresses) would otherwise lose every
//! flow, and a real connection cannot start without a SYN the server accepted.
//!
//! Captures made on the sending host (a runner's own interface, a veth) hold packets whose
//! checksum the NIC was to fill in (offload): they carry only the pseudo-header sum. `auto`
//! accepts that value; and if more than 10% of the first 1000 packets checked are still wrong,
//! the capture's checksums cannot be trusted (some capture paths zero or garble them): checks
//! stop, and the summary warns once (Suricata's `checksum-checks: auto` does the same). Each shard decides
//! on its own packets.

use crate::counters::Counters;
use proto::decode::tcp::{ipv4_header_ok, transport_checksum, Checksum};
use proto::decode::{Packet, Proto};

/// The `checksum-validation` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChecksumValidation {
    /// Check, accept offloaded (pseudo-header-only) checksums, stop if most are wrong.
    #[default]
    Auto,
    /// Check every packet read; a wrong or offloaded checksum drops it.
    Yes,
    /// Never check.
    No,
}

impl ChecksumValidation {
    /// The setting's words.
    pub const NAMES: [&'static str; 3] = ["auto", "yes", "no"];

    /// Parses `auto`, `yes` or `no`.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "auto" => Some(Self::Auto),
            "yes" => Some(Self::Yes),
            "no" => Some(Self::No),
            _ => None,
        }
    }
}

/// Packets `auto` checks before it decides whether the capture's checksums can be trusted.
const SAMPLE: u32 = 1000;
/// More wrong checksums than this in the sample (10%) and `auto` stops checking.
const MAX_BAD_IN_SAMPLE: u32 = SAMPLE / 10;

/// One shard's checksum checks.
#[derive(Debug)]
pub(crate) struct Checksums {
    mode: ChecksumValidation,
    checked: u32,
    bad: u32,
    /// `auto` found the capture's checksums untrustworthy.
    gave_up: bool,
}

impl Checksums {
    pub(crate) fn new(mode: ChecksumValidation) -> Self {
        Checksums {
            mode,
            checked: 0,
            bad: 0,
            gave_up: false,
        }
    }

    /// Whether the receiver would take `pkt`; a wrong checksum is counted. `flow_good`: a packet
    /// of the flow had a good checksum (set here); under `auto` a flow whose packets all had
    /// wrong ones is read anyway (a capture rewritten without fixing its checksums, such as an
    /// anonymised one; a real connection cannot start without a good SYN).
    pub(crate) fn accepts(
        &mut self,
        pkt: &Packet<'_>,
        counters: &mut Counters,
        flow_good: &mut bool,
    ) -> bool {
        if self.mode == ChecksumValidation::No || self.gave_up || pkt.l4.is_empty() {
            return true;
        }
        let auto = self.mode == ChecksumValidation::Auto;
        let protocol = match pkt.proto {
            Proto::Tcp => 6,
            // `auto` checks what the stream is built from, as Suricata's stream engine does:
            // captures edited by hand often leave UDP checksums stale.
            Proto::Udp if auto => return true,
            Proto::Udp => 17,
        };
        // A zero IPv4 header checksum was never filled in (capture tools, some loopbacks).
        let unfilled = pkt.ip_header.get(10..12) == Some(&[0, 0][..]);
        let ip_ok = (auto && unfilled) || ipv4_header_ok(pkt.ip_header);
        let l4 = transport_checksum(pkt.src, pkt.dst, protocol, pkt.l4);
        let l4_ok = match (l4, self.mode) {
            (None, _) | (Some(Checksum::Valid), _) => true,
            (Some(Checksum::Partial), _) => auto,
            (Some(Checksum::Invalid), _) => false,
        };
        let ok = ip_ok && l4_ok;
        if ok {
            *flow_good = true;
        }
        if auto && self.checked < SAMPLE {
            self.checked += 1;
            self.bad += u32::from(!ok);
            if self.bad > MAX_BAD_IN_SAMPLE {
                // The summary warns (once per run) when a shard gave up.
                self.gave_up = true;
                counters.checksums_untrusted += 1;
                return true;
            }
        }
        if !ok && auto && !*flow_good {
            return true;
        }
        if !ip_ok {
            counters.ipv4_invalid_checksum += 1;
        } else if !l4_ok {
            match pkt.proto {
                Proto::Tcp => counters.tcp_invalid_checksum += 1,
                Proto::Udp => counters.udp_invalid_checksum += 1,
            }
        }
        ok
    }
}
