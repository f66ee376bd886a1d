//! The dispatcher: first stage after the capture. It decodes each frame down to TCP/UDP,
//! reassembles IP fragments (a fragment's shard is only known once the datagram is whole),
//! numbers every item, keeps packet time, and hands packets and timer ticks to a [`Route`]:
//! straight into the one shard of a single-threaded run, or into batches for worker threads.

use super::fanout::time_seq;
use crate::capture::{CaptureCounters, Frame, FrameSink, LiveSink, SharedBytes};
use crate::counters::Counters;
use crate::detect::Detector;
use crate::engine::checksum::{ChecksumSample, ChecksumValidation};
use crate::engine::PacketInfo;
use proto::decode::defrag::{Datagram, DefragStats, Defragmenter};
use proto::decode::{DecodeConfig, Decoded, Decoder, Packet, SkipReason, Tunnel, Vlans};
use proto::Timestamp;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The bytes a packet was decoded from, for routes that copy it to another thread.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Raw<'a> {
    /// A captured frame of `linktype`.
    Frame { linktype: i32, data: &'a [u8] },
    /// A datagram reassembled from IP fragments (the transport header and payload).
    Datagram(&'a Datagram, Vlans),
}

/// Where the dispatcher sends its items.
pub(crate) trait Route {
    /// A decoded packet and the tunnel it came through; `cut` when the snaplen cut it (its
    /// payload is then empty).
    fn packet(
        &mut self,
        info: &PacketInfo,
        pkt: &Packet<'_>,
        tunnel: &Tunnel,
        raw: Raw<'_>,
        cut: bool,
    );
    /// Packet time reached `ts` (a new second): time to expire flows.
    fn tick(&mut self, seq: u64, ts: Timestamp);
    /// Time for a `stats` event; `dispatcher` holds the dispatcher's own counters.
    fn stats(&mut self, seq: u64, ts: Timestamp, dispatcher: &Counters);
    /// The input is waiting for more: pass on whatever is held.
    fn idle(&mut self) {}
    /// The frames that follow lie in `bytes` (see [`FrameSink::chunk`]).
    fn bytes(&mut self, _bytes: &SharedBytes) {}
    /// From item `seq` on, detect with `detector`.
    fn reload(&mut self, seq: u64, detector: &Arc<Detector>);
}

/// The pipeline's input: frames, the clock and counters of a live source, and reloads.
pub trait Input: LiveSink {
    /// Detect with `detector` from the next packet on, in every shard at the same point.
    fn reload(&mut self, detector: Arc<Detector>);
}

/// A dispatcher and its route, as the sink of a capture source.
pub(crate) struct Dispatch<'a, R: Route> {
    pub(crate) dispatcher: &'a mut Dispatcher,
    pub(crate) route: &'a mut R,
}

impl<R: Route> FrameSink for Dispatch<'_, R> {
    fn frame(&mut self, frame: &Frame<'_>) {
        self.dispatcher.on_frame(frame, self.route);
    }

    fn chunk(&mut self, bytes: &SharedBytes) {
        self.route.bytes(bytes);
    }

    fn idle(&mut self) {
        self.route.idle();
    }
}

impl<R: Route> LiveSink for Dispatch<'_, R> {
    fn clock(&mut self, now: Timestamp) {
        // A live run's uptime counts from its start, with or without packets.
        self.dispatcher.counters.first_ts.get_or_insert(now);
        self.dispatcher.advance_clock(now, self.route);
        self.route.idle();
    }

    fn capture_counters(&mut self, iface: &str, counters: CaptureCounters) {
        match self.dispatcher.counters.capture.get_mut(iface) {
            Some(c) => *c = counters,
            None => {
                self.dispatcher
                    .counters
                    .capture
                    .insert(iface.to_owned(), counters);
            }
        }
    }
}

impl<R: Route> Input for Dispatch<'_, R> {
    fn reload(&mut self, detector: Arc<Detector>) {
        let seq = self.dispatcher.next_seq(Timestamp::default());
        self.route.reload(seq, &detector);
    }
}

/// Datagrams the reassembler dropped while adding fragments (too large, evicted, overlapping,
/// lengths refused).
fn dropped(s: &DefragStats) -> u64 {
    s.too_large + s.evicted + s.overlaps + s.invalid
}

/// Decodes, defragments, numbers and times the input.
pub(crate) struct Dispatcher {
    decoder: Decoder,
    defrag: Defragmenter,
    pub(crate) counters: Counters,
    /// Sequence number of the last item handed out.
    seq: u64,
    /// With several dispatchers (AF_PACKET fanout, [`super::fanout`]): numbers follow capture
    /// time ([`time_seq`]) and the last one handed out is kept here, where the route may raise
    /// it. `None`: one more than the last.
    by_time: Option<Arc<AtomicU64>>,
    clock: Timestamp,
    last_tick_secs: i64,
    /// Seconds of packet time between `stats` events (0: none).
    stats_interval: u64,
    next_stats: Option<Timestamp>,
    /// `checksum-validation auto`'s sample of the input.
    checksums: ChecksumSample,
}

impl Dispatcher {
    pub(crate) fn new(
        stats_interval: u64,
        decode: DecodeConfig,
        checksums: ChecksumValidation,
    ) -> Self {
        Dispatcher {
            decoder: Decoder::new(decode),
            checksums: ChecksumSample::new(checksums),
            defrag: Defragmenter::default(),
            counters: Counters::default(),
            seq: 0,
            by_time: None,
            clock: Timestamp::default(),
            last_tick_secs: i64::MIN,
            stats_interval,
            next_stats: None,
        }
    }

    /// A dispatcher whose sequence numbers follow capture time, the last one kept in `last`:
    /// those of several dispatchers then interleave in capture order.
    pub(crate) fn numbered_by_time(mut self, last: Arc<AtomicU64>) -> Self {
        self.by_time = Some(last);
        self
    }

    /// The sequence number of an item at packet time `ts`.
    fn next_seq(&mut self, ts: Timestamp) -> u64 {
        self.seq = match &self.by_time {
            None => self.seq + 1,
            Some(last) => {
                let seq = (last.load(Ordering::Relaxed) + 1).max(time_seq(ts));
                last.store(seq, Ordering::Relaxed);
                seq
            }
        };
        self.seq
    }

    /// Handles one captured frame.
    pub(crate) fn on_frame(&mut self, frame: &Frame<'_>, route: &mut impl Route) {
        self.counters.packets += 1;
        self.counters.first_ts.get_or_insert(frame.ts);
        self.counters.bytes += frame.data.len() as u64;
        self.advance_clock(frame.ts, route);
        // A packet cut by the snaplen keeps its headers (flow tracking, address detections) but
        // its payload is incomplete: it is ignored rather than fed to reassembly.
        let decoded = self.decoder.decode(frame.linktype, frame.data);
        // A tunnel's inner packet cut short (a mirror session's truncation) is a snaplen cut too.
        let cut = (frame.data.len() as u64) < frame.orig_len as u64 || self.decoder.inner_cut();
        if cut {
            self.counters.snaplen_cut += 1;
        }
        match decoded {
            Decoded::Packet(mut pkt) => {
                if cut {
                    pkt.payload = &[];
                }
                let info = self.info(frame, &pkt);
                let raw = Raw::Frame {
                    linktype: frame.linktype,
                    data: frame.data,
                };
                route.packet(&info, &pkt, self.decoder.tunnel(), raw, cut);
            }
            Decoded::Skip(reason) => self.counters.skip(reason),
            Decoded::Fragment(_) if cut => self.counters.skip(SkipReason::CutFragment),
            Decoded::Fragment(frag) => {
                self.counters.ip_fragments += 1;
                let before = dropped(&self.defrag.stats);
                let overlaps = self.defrag.stats.overlaps;
                if let Some(dgram) = self.defrag.add(frame.ts, &frag) {
                    self.counters.ip_reassembled += 1;
                    match self.decoder.datagram(
                        dgram.src,
                        dgram.dst,
                        dgram.protocol,
                        &dgram.data,
                        frag.vlans,
                        dgram.tunnel,
                    ) {
                        Decoded::Packet(pkt) => {
                            let info = self.info(frame, &pkt);
                            let raw = Raw::Datagram(&dgram, frag.vlans);
                            route.packet(&info, &pkt, self.decoder.tunnel(), raw, false);
                        }
                        Decoded::Skip(reason) => self.counters.skip(reason),
                        Decoded::Fragment(_) => self.counters.skip(SkipReason::NestedFragment),
                    }
                }
                self.counters.ip_fragments_dropped += dropped(&self.defrag.stats) - before;
                if self.defrag.stats.overlaps > overlaps {
                    let family = usize::from(frag.src.is_ipv6());
                    self.counters.ip_fragment_overlaps[family] += 1;
                }
            }
        }
    }

    /// End of input: a last `stats` snapshot for the route, and the last sequence number used.
    pub(crate) fn finish(&mut self, route: &mut impl Route) -> u64 {
        self.sync_counters();
        let seq = self.next_seq(self.clock);
        route.stats(seq, self.clock, &self.counters);
        seq
    }

    fn info(&mut self, frame: &Frame<'_>, pkt: &Packet<'_>) -> PacketInfo {
        PacketInfo {
            seq: self.next_seq(frame.ts),
            ts: frame.ts,
            pcap_cnt: frame.index,
            wire_len: frame.orig_len,
            checksums_trusted: self.checksums.observe(pkt, &mut self.counters),
        }
    }

    /// Moves packet time forward; each new second is a tick (flow and fragment expiry), and
    /// every `stats_interval` seconds a `stats` snapshot.
    fn advance_clock(&mut self, ts: Timestamp, route: &mut impl Route) {
        if ts > self.clock {
            self.clock = ts;
        }
        if self.clock.secs() <= self.last_tick_secs {
            return;
        }
        self.last_tick_secs = self.clock.secs();
        let seq = self.next_seq(self.clock);
        route.tick(seq, self.clock);
        let before = self.defrag.stats.timed_out;
        self.defrag.expire(self.clock);
        self.counters.ip_fragments_dropped += self.defrag.stats.timed_out - before;
        if self.stats_interval == 0 {
            return;
        }
        let due = *self
            .next_stats
            .get_or_insert(self.clock.plus_secs(self.stats_interval));
        if self.clock >= due {
            self.next_stats = Some(self.clock.plus_secs(self.stats_interval));
            self.sync_counters();
            let seq = self.next_seq(self.clock);
            route.stats(seq, self.clock, &self.counters);
        }
    }

    /// Brings the counts the decoder and the reassembler keep into the dispatcher's counters.
    fn sync_counters(&mut self) {
        self.counters.encap = self.decoder.stats;
        self.counters.ip_fragment_duplicates = self.defrag.stats.duplicates;
        self.counters.ip_fragments_refused = self.defrag.stats.refused;
    }
}
