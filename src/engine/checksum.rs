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
//! accepts that value; and if more than 10% of the first 1000 TCP packets are still wrong, the
//! capture's checksums cannot be trusted (some capture paths zero or garble them): checks stop,
//! and the summary warns once (Suricata's `checksum-checks: auto` does the same). The dispatcher
//! takes that sample ([`ChecksumSample`]) over the whole input in capture order and tells each
//! packet whether checks still hold, so every thread count decides alike.

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

/// TCP packets `auto` checks before it decides whether the capture's checksums can be trusted.
const SAMPLE: u32 = 1000;
/// More wrong checksums than this in the sample (10%) and `auto` stops checking.
const MAX_BAD_IN_SAMPLE: u32 = SAMPLE / 10;

/// What a packet's checksums say, under `mode` (`No` is never asked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Good,
    BadIpv4Header,
    BadTransport,
}

fn verdict(pkt: &Packet<'_>, mode: ChecksumValidation) -> Verdict {
    let auto = mode == ChecksumValidation::Auto;
    let protocol = match pkt.proto {
        Proto::Tcp => 6,
        // `auto` checks what the stream is built from, as Suricata's stream engine does:
        // captures edited by hand often leave UDP checksums stale.
        Proto::Udp if auto => return Verdict::Good,
        Proto::Udp => 17,
    };
    // A zero IPv4 header checksum was never filled in (capture tools, some loopbacks).
    let unfilled = pkt.ip_header.get(10..12) == Some(&[0, 0][..]);
    if !((auto && unfilled) || ipv4_header_ok(pkt.ip_header)) {
        return Verdict::BadIpv4Header;
    }
    match transport_checksum(pkt.src, pkt.dst, protocol, pkt.l4) {
        None | Some(Checksum::Valid) => Verdict::Good,
        Some(Checksum::Partial) if auto => Verdict::Good,
        Some(Checksum::Partial) | Some(Checksum::Invalid) => Verdict::BadTransport,
    }
}

/// `auto`'s sample of the input's first TCP packets, taken by the dispatcher in capture order.
#[derive(Debug)]
pub(crate) struct ChecksumSample {
    mode: ChecksumValidation,
    checked: u32,
    bad: u32,
    /// The sample showed the capture's checksums cannot be trusted.
    untrusted: bool,
}

impl ChecksumSample {
    pub(crate) fn new(mode: ChecksumValidation) -> Self {
        ChecksumSample {
            mode,
            checked: 0,
            bad: 0,
            untrusted: false,
        }
    }

    /// Takes `pkt` into the sample while it lasts; whether checksums are still to be checked.
    /// The moment the sample turns against the capture is counted (the summary warns).
    pub(crate) fn observe(&mut self, pkt: &Packet<'_>, counters: &mut Counters) -> bool {
        if self.mode != ChecksumValidation::Auto
            || self.untrusted
            || self.checked >= SAMPLE
            || pkt.proto != Proto::Tcp
            || pkt.l4.is_empty()
        {
            return !self.untrusted;
        }
        self.checked += 1;
        self.bad += u32::from(verdict(pkt, self.mode) != Verdict::Good);
        if self.bad > MAX_BAD_IN_SAMPLE {
            self.untrusted = true;
            counters.checksums_untrusted += 1;
        }
        !self.untrusted
    }
}

/// One shard's checksum checks.
#[derive(Debug)]
pub(crate) struct Checksums {
    mode: ChecksumValidation,
}

impl Checksums {
    pub(crate) fn new(mode: ChecksumValidation) -> Self {
        Checksums { mode }
    }

    /// Whether the receiver would take `pkt`; a wrong checksum is counted. `trusted`: the
    /// dispatcher's sample still trusts the capture's checksums ([`ChecksumSample`]).
    /// `flow_good`: a packet of the flow had a good checksum (set here); under `auto` a flow
    /// whose packets all had wrong ones is read anyway (a capture rewritten without fixing its
    /// checksums, such as an anonymised one; a real connection cannot start without a good
    /// SYN).
    pub(crate) fn accepts(
        &mut self,
        pkt: &Packet<'_>,
        trusted: bool,
        counters: &mut Counters,
        flow_good: &mut bool,
    ) -> bool {
        if self.mode == ChecksumValidation::No || !trusted || pkt.l4.is_empty() {
            return true;
        }
        let result = verdict(pkt, self.mode);
        if result == Verdict::Good {
            *flow_good = true;
            return true;
        }
        if self.mode == ChecksumValidation::Auto && !*flow_good {
            return true;
        }
        match (result, pkt.proto) {
            (Verdict::BadIpv4Header, _) => counters.ipv4_invalid_checksum += 1,
            (_, Proto::Tcp) => counters.tcp_invalid_checksum += 1,
            (_, Proto::Udp) => counters.udp_invalid_checksum += 1,
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::decode::{TcpMeta, Vlans};

    /// A bare TCP header from 10.0.0.1 to 192.0.2.1 whose checksum is `kind`.
    fn header(kind: Checksum) -> Vec<u8> {
        let mut h = vec![
            0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 1, 0, 0, 0, 0, 0,
        ];
        let words = |b: &[u8]| -> u32 {
            b.chunks(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                .sum()
        };
        let fold = |mut s: u32| {
            while s > 0xffff {
                s = (s & 0xffff) + (s >> 16);
            }
            s as u16
        };
        let pseudo = words(&[10, 0, 0, 1, 192, 0, 2, 1]) + 6 + h.len() as u32;
        let field = match kind {
            Checksum::Valid => !fold(pseudo + words(&h)),
            Checksum::Partial => fold(pseudo),
            Checksum::Invalid => 0x1234,
        };
        h[16..18].copy_from_slice(&field.to_be_bytes());
        h
    }

    fn packet(l4: &[u8]) -> Packet<'_> {
        Packet {
            src: "10.0.0.1".parse().unwrap(),
            dst: "192.0.2.1".parse().unwrap(),
            src_port: 40000,
            dst_port: 443,
            proto: Proto::Tcp,
            tcp: Some(TcpMeta::default()),
            payload: &[],
            vlans: Vlans::NONE,
            tunnel: None,
            ip_header: &[],
            l4,
        }
    }

    #[test]
    fn each_mode_takes_what_its_receiver_would() {
        let (valid, partial, invalid) = (
            header(Checksum::Valid),
            header(Checksum::Partial),
            header(Checksum::Invalid),
        );
        let mut c = Counters::default();
        let mut yes = Checksums::new(ChecksumValidation::Yes);
        let mut good = false;
        assert!(yes.accepts(&packet(&valid), true, &mut c, &mut good));
        assert!(!yes.accepts(&packet(&partial), true, &mut c, &mut good));
        assert!(!yes.accepts(&packet(&invalid), true, &mut c, &mut good));
        assert_eq!(c.tcp_invalid_checksum, 2);
        let mut auto = Checksums::new(ChecksumValidation::Auto);
        // A flow with no good checksum yet is read whatever its checksums.
        let mut good = false;
        assert!(auto.accepts(&packet(&invalid), true, &mut c, &mut good));
        assert!(auto.accepts(&packet(&partial), true, &mut c, &mut good) && good);
        assert!(!auto.accepts(&packet(&invalid), true, &mut c, &mut good));
        assert_eq!(c.tcp_invalid_checksum, 3);
        let mut no = Checksums::new(ChecksumValidation::No);
        assert!(no.accepts(&packet(&invalid), true, &mut c, &mut true));
    }

    #[test]
    fn auto_stops_checking_when_over_a_tenth_of_its_sample_is_wrong() {
        let (valid, invalid) = (header(Checksum::Valid), header(Checksum::Invalid));
        let mut c = Counters::default();
        let mut sample = ChecksumSample::new(ChecksumValidation::Auto);
        for _ in 0..800 {
            assert!(sample.observe(&packet(&valid), &mut c));
        }
        for _ in 0..MAX_BAD_IN_SAMPLE {
            assert!(sample.observe(&packet(&invalid), &mut c));
        }
        assert_eq!(c.checksums_untrusted, 0);
        // One more: over 10% of the first 1000; from now on nothing is checked.
        assert!(!sample.observe(&packet(&invalid), &mut c));
        assert!(!sample.observe(&packet(&valid), &mut c));
        assert_eq!(c.checksums_untrusted, 1);
        // A shard told so reads what it would have refused.
        let mut auto = Checksums::new(ChecksumValidation::Auto);
        assert!(auto.accepts(&packet(&invalid), false, &mut c, &mut true));
        // The sample ends after 1000 TCP packets: later ones cannot turn it.
        let mut sample = ChecksumSample::new(ChecksumValidation::Auto);
        for _ in 0..SAMPLE {
            assert!(sample.observe(&packet(&valid), &mut c));
        }
        for _ in 0..SAMPLE {
            assert!(sample.observe(&packet(&invalid), &mut c));
        }
        // `yes` never stops.
        let mut yes = ChecksumSample::new(ChecksumValidation::Yes);
        for _ in 0..SAMPLE {
            assert!(yes.observe(&packet(&invalid), &mut c));
        }
    }
}
