//! The engine of one shard: takes the decoded packets of its flows in capture order, tracks the
//! flows, runs the app-layer parsers and the detections, and hands EVE events and facts to the
//! merge stage ([`output`]). Time is packet time only (timer ticks come from the dispatcher), so
//! a replay gives the same events however fast it runs and however many shards share the work.

pub(crate) mod app;
pub mod checksum;
pub(crate) mod context;
pub(crate) mod output;
#[cfg(test)]
pub(crate) mod testkit;

use crate::counters::Counters;
use crate::detect::direct_ip::ResolvedFlows;
use crate::detect::Detector;
use crate::eve::EveTypes;
use crate::eve::EventType;
use crate::eve::Object;
use crate::flow::{Direction, EndReason, Flow, FlowTable, Timeouts};
use app::{flow_record, FlowState};
pub use checksum::ChecksumValidation;
use checksum::Checksums;
use context::Ctx;
use output::{OutBuf, ShardStats};
use proto::decode::{Packet, Proto, Tunnel};
use proto::Timestamp;
use std::sync::Arc;

/// Flows one timer tick ends at most.
pub(crate) const MAX_EXPIRED_PER_TICK: usize = 1 << 16;
/// Messages gathered at the end of input before they are handed on.
const FLUSH_MESSAGES: usize = 1024;
/// Sequence number of everything the end of input produces (after every item).
pub(crate) const SHUTDOWN_SEQ: u64 = u64::MAX - 1;

/// Settings of a shard.
#[derive(Clone, Debug)]
pub(crate) struct EngineConfig {
    pub(crate) detector: Arc<Detector>,
    pub(crate) timeouts: Timeouts,
    /// This shard's share of the flow memcap, in bytes.
    pub(crate) flow_memcap: usize,
    /// The event types written.
    pub(crate) eve_types: EveTypes,
    /// This shard's number, and the `direct-ip` verdicts the merge stage shares.
    pub(crate) shard: usize,
    pub(crate) resolved: Arc<ResolvedFlows>,
    /// Whether packets with wrong checksums are read.
    pub(crate) checksums: ChecksumValidation,
}

/// Where a packet sits in the input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PacketInfo {
    /// Sequence number of the item (see [`output::Output`]).
    pub(crate) seq: u64,
    pub(crate) ts: Timestamp,
    /// Position in its capture file (EVE `pcap_cnt`).
    pub(crate) pcap_cnt: u64,
    /// Length on the wire.
    pub(crate) wire_len: u32,
    /// The dispatcher's sample still trusts the input's checksums (`checksum::ChecksumSample`).
    pub(crate) checksums_trusted: bool,
}

/// One shard's state.
pub(crate) struct Engine {
    detector: Arc<Detector>,
    log: EveTypes,
    shard: usize,
    resolved: Arc<ResolvedFlows>,
    flows: FlowTable<FlowState>,
    counters: Counters,
    now: Timestamp,
    checksums: Checksums,
    rule_scratch: crate::detect::rules::Scratch,
}

impl Engine {
    pub(crate) fn new(config: EngineConfig) -> Self {
        Engine {
            detector: config.detector,
            log: config.eve_types,
            shard: config.shard,
            resolved: config.resolved,
            flows: FlowTable::with_memcap(config.timeouts, config.flow_memcap),
            counters: Counters::default(),
            now: Timestamp::default(),
            checksums: Checksums::new(config.checksums),
            rule_scratch: Default::default(),
        }
    }

    /// Detects with `detector` from now on (a signature reload); flows keep their state.
    pub(crate) fn set_detector(&mut self, detector: Arc<Detector>) {
        self.detector = detector;
    }

    /// Handles one decoded packet of this shard's flows.
    pub(crate) fn on_packet(
        &mut self,
        info: &PacketInfo,
        pkt: &Packet<'_>,
        tunnel: &Tunnel,
        out: &mut OutBuf,
    ) {
        self.now = self.now.max(info.ts);
        let (handle, dir, created) =
            self.flows
                .lookup_or_create(info.ts, pkt, info.wire_len as u64, FlowState::default);
        if created {
            self.counters.flows += 1;
            // A flow is only ever replaced by a new one on its 5-tuple.
            self.end_reused(info.seq, out);
        }
        let mut ctx = Ctx {
            detector: &self.detector,
            out,
            counters: &mut self.counters,
            ts: info.ts,
            pcap_cnt: Some(info.pcap_cnt),
            seq: info.seq,
            log: self.log,
            marks: self.resolved.shard(self.shard),
            tunnel,
            rule_scratch: &mut self.rule_scratch,
        };
        let Flow { meta, state } = self.flows.get_mut(handle);
        let heap_before = state.heap_bytes();
        if created && pkt.proto == Proto::Tcp {
            state.start(&mut ctx, meta, app::is_dns_port(meta.server.1));
        }
        if created || state.wants_packets() || state.has_held() {
            // The receiver drops a packet with a wrong checksum: the app layer must not read it
            // (checked only here, for the packets of flows still read).
            // Payload the app layer will not read (a TLS server's) needs no checksum either.
            let ignored = !pkt.payload.is_empty() && !state.reads_payload(dir);
            let read = (created || state.wants_packets())
                && (ignored
                    || self.checksums.accepts(
                        pkt,
                        info.checksums_trusted,
                        ctx.counters,
                        &mut state.checksum_good,
                    ));
            if !read && created && pkt.proto == Proto::Udp {
                state.start(&mut ctx, meta, app::is_dns_port(meta.server.1));
            }
            if read {
                match pkt.proto {
                    Proto::Tcp => state.on_tcp(&mut ctx, meta, dir, pkt),
                    Proto::Udp => state.on_udp(&mut ctx, meta, dir, pkt, created),
                }
            }
            state.release_held_if_due(&mut ctx, meta);
        }
        let heap_after = state.heap_bytes();
        if heap_after != heap_before || created {
            self.flows.set_heap_bytes(handle, heap_after);
        }
        if created || heap_after > heap_before {
            self.end_evicted(info.seq, out);
        }
    }

    /// Packet time reached `ts`: ends the flows idle past their timeout, at most
    /// [`MAX_EXPIRED_PER_TICK`] of them (the rest at the next tick), so that a flood's mass
    /// expiry cannot pile up unbounded output.
    pub(crate) fn on_tick(&mut self, seq: u64, ts: Timestamp, out: &mut OutBuf) {
        self.now = self.now.max(ts);
        for _ in 0..MAX_EXPIRED_PER_TICK {
            let Some(flow) = self.flows.pop_expired(self.now) else {
                break;
            };
            self.end_flow(flow, EndReason::Timeout, seq, out);
        }
    }

    /// This shard's counters now.
    pub(crate) fn stats(&self) -> ShardStats {
        let mut counters = self.counters.clone();
        counters.flows_timed_out = self.flows.stats.timed_out;
        counters.flows_evicted = self.flows.stats.evicted;
        counters.flow_memcap = self.flows.memcap() as u64;
        counters.flow_peak_memuse = self.flows.stats.peak_memuse;
        ShardStats {
            ts: self.now,
            counters,
            table: self.flows.stats,
            active: self.flows.len() as u64,
            memuse: self.flows.memuse() as u64,
            memcap: self.flows.memcap() as u64,
        }
    }

    /// Ends every flow (end of input), idle longest first, handing the output to `flush` in
    /// bounded pieces; returns the shard's counters.
    pub(crate) fn finish(
        &mut self,
        seq: u64,
        out: &mut OutBuf,
        mut flush: impl FnMut(&mut OutBuf),
    ) -> ShardStats {
        while let Some(flow) = self.flows.pop_oldest() {
            self.end_flow(flow, EndReason::Shutdown, seq, out);
            if out.msgs.len() >= FLUSH_MESSAGES {
                flush(out);
            }
        }
        flush(out);
        self.stats()
    }

    /// Logs the flows a new connection on their 5-tuple ended.
    fn end_reused(&mut self, seq: u64, out: &mut OutBuf) {
        if !self.flows.has_reused() {
            return;
        }
        let reused: Vec<Flow<FlowState>> = self.flows.take_reused().collect();
        for flow in reused {
            self.counters.tcp_reuse += 1;
            self.end_flow(flow, EndReason::TcpReuse, seq, out);
        }
    }

    /// Logs the flows the table evicted to stay under its memcap.
    fn end_evicted(&mut self, seq: u64, out: &mut OutBuf) {
        if !self.flows.has_evicted() {
            return;
        }
        let evicted: Vec<Flow<FlowState>> = self.flows.take_evicted().collect();
        for flow in evicted {
            self.end_flow(flow, EndReason::Forced, seq, out);
        }
    }

    /// Logs a finished flow: its held alerts, its unanswered HTTP requests, then the flow record.
    fn end_flow(
        &mut self,
        mut flow: Flow<FlowState>,
        reason: EndReason,
        seq: u64,
        out: &mut OutBuf,
    ) {
        let mut ctx = Ctx {
            detector: &self.detector,
            out,
            counters: &mut self.counters,
            ts: flow.meta.last_ts,
            pcap_cnt: None,
            seq,
            log: self.log,
            marks: self.resolved.shard(self.shard),
            tunnel: &proto::decode::Tunnel::NONE,
            rule_scratch: &mut self.rule_scratch,
        };
        flow.state.on_flow_end(&mut ctx, &flow.meta);
        flow.state.release_held(&mut ctx, &flow.meta, None, None);
        if ctx.logs(EventType::Http) {
            for object in flow.state.take_pending_http() {
                ctx.emit_app(
                    &flow.meta,
                    Direction::ToServer,
                    EventType::Http,
                    Object::Json(object),
                );
            }
        }
        let record = ctx
            .logs(EventType::Flow)
            .then(|| flow_record(&flow.meta, &flow.state, reason));
        ctx.flow_ended(flow.meta.id, record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_costs_176_bytes_or_less_before_its_buffers() {
        let (slot, state, meta) = (
            FlowTable::<FlowState>::flow_bytes(),
            std::mem::size_of::<FlowState>(),
            std::mem::size_of::<crate::flow::FlowMeta>(),
        );
        // 256 MiB hold 1.5 million flows: the address pair, counters and times (meta), the app
        // layer's state (buffers boxed, allocated only while inspecting), list links and index.
        assert!(
            slot <= 176,
            "flow slot {slot} bytes (state {state}, meta {meta})"
        );
        assert!(state <= 32, "app state {state} bytes");
        assert_eq!(FlowState::default().heap_bytes(), 0);
    }
}
