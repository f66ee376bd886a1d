//! Whether a packet's checksums hold, checked only for packets the app layer reads (flows still
//! inspected), never on the bypass path. A receiver drops a packet with a wrong checksum, so an
//! IDS that inspects it reads bytes the receiver never got.
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

    /// Whether the receiver would take `pkt`; a wrong checksum is counted.
    pub(crate) fn accepts(&mut self, pkt: &Packet<'_>, counters: &mut Counters) -> bool {
        if self.mode == ChecksumValidation::No || self.gave_up || pkt.l4.is_empty() {
            return true;
        }
        let protocol = match pkt.proto {
            Proto::Tcp => 6,
            Proto::Udp => 17,
        };
        let ip_ok = ipv4_header_ok(pkt.ip_header);
        let l4 = transport_checksum(pkt.src, pkt.dst, protocol, pkt.l4);
        let l4_ok = match (l4, self.mode) {
            (None, _) | (Some(Checksum::Valid), _) => true,
            (Some(Checksum::Partial), mode) => mode == ChecksumValidation::Auto,
            (Some(Checksum::Invalid), _) => false,
        };
        let ok = ip_ok && l4_ok;
        if self.mode == ChecksumValidation::Auto && self.checked < SAMPLE {
            self.checked += 1;
            self.bad += u32::from(!ok);
            if self.bad > MAX_BAD_IN_SAMPLE {
                // The summary warns (once per run) when a shard gave up.
                self.gave_up = true;
                counters.checksums_untrusted += 1;
                return true;
            }
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
