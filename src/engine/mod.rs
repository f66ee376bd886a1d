//! The engine of one shard: takes frames in capture order, decodes them, tracks flows, runs the
//! app-layer parsers and the detections, and emits EVE events. Time is packet time only, so a
//! replay gives the same events however fast it runs.

pub mod app;
pub mod context;

use crate::capture::{Frame, Timestamp};
use crate::decode::defrag::Defragmenter;
use crate::decode::{decode_frame, decode_transport, Decoded, Packet, Proto};
use crate::detect::dns_cache::DnsCache;
use crate::detect::Detector;
use crate::flow::{Direction, Flow, FlowTable, Timeouts};
use crate::output::summary::Counters;
use crate::output::EventSink;
use app::{flow_event, FlowState};
use context::Ctx;
use std::sync::Arc;

/// Seconds a DNS answer keeps counting past its TTL, by default.
pub const DEFAULT_DNS_GRACE_SECS: u64 = 300;

/// Settings of an engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub detector: Arc<Detector>,
    pub timeouts: Timeouts,
    pub dns_grace_secs: u64,
}

/// One shard's state.
pub struct Engine {
    config: EngineConfig,
    flows: FlowTable<FlowState>,
    defrag: Defragmenter,
    dns: DnsCache,
    pub counters: Counters,
    last_sweep: Timestamp,
    now: Timestamp,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        let dns = DnsCache::new(config.dns_grace_secs);
        let flows = FlowTable::new(config.timeouts);
        Engine {
            config,
            flows,
            defrag: Defragmenter::default(),
            dns,
            counters: Counters::default(),
            last_sweep: Timestamp::default(),
            now: Timestamp::default(),
        }
    }

    /// Processes one captured frame.
    pub fn process_frame(&mut self, frame: &Frame<'_>, sink: &mut dyn EventSink) {
        self.counters.packets += 1;
        self.counters.bytes += frame.data.len() as u64;
        self.advance_clock(frame.ts, sink);
        // A packet cut by the snaplen keeps its headers (flow tracking, address detections) but
        // its payload is incomplete: it is ignored rather than fed to reassembly.
        let cut = (frame.data.len() as u64) < frame.orig_len as u64;
        if cut {
            self.counters.snaplen_cut += 1;
        }
        match decode_frame(frame.linktype, frame.data) {
            Decoded::Packet(mut pkt) => {
                if cut {
                    pkt.payload = &[];
                }
                self.process_packet(&pkt, frame, sink)
            }
            Decoded::Skip(reason) => self.counters.skip(reason.name()),
            Decoded::Fragment(_) if cut => self.counters.skip("cut_fragment"),
            Decoded::Fragment(frag) => {
                self.counters.ip_fragments += 1;
                let before = self.defrag.stats.too_large + self.defrag.stats.evicted;
                if let Some(dgram) = self.defrag.add(frame.ts, &frag) {
                    self.counters.ip_reassembled += 1;
                    match decode_transport(
                        dgram.src,
                        dgram.dst,
                        dgram.protocol,
                        &dgram.data,
                        frag.vlan,
                        frag.vlan_count,
                    ) {
                        Decoded::Packet(pkt) => self.process_packet(&pkt, frame, sink),
                        Decoded::Skip(reason) => self.counters.skip(reason.name()),
                        Decoded::Fragment(_) => self.counters.skip("nested_fragment"),
                    }
                }
                self.counters.ip_fragments_dropped +=
                    self.defrag.stats.too_large + self.defrag.stats.evicted - before;
            }
        }
    }

    /// Moves packet time forward and expires idle flows once per second of it.
    fn advance_clock(&mut self, ts: Timestamp, sink: &mut dyn EventSink) {
        if ts > self.now {
            self.now = ts;
        }
        if self.now.secs_since(self.last_sweep) >= 1 {
            self.last_sweep = self.now;
            let now = self.now;
            let mut ended = Vec::new();
            self.flows.expire(now, |f| ended.push(f));
            for flow in ended {
                self.end_flow(flow, "timeout", sink);
            }
            let before = self.defrag.stats.timed_out;
            self.defrag.expire(now);
            self.counters.ip_fragments_dropped += self.defrag.stats.timed_out - before;
        }
    }

    fn process_packet(&mut self, pkt: &Packet<'_>, frame: &Frame<'_>, sink: &mut dyn EventSink) {
        let (flow, dir, created) =
            self.flows
                .lookup_or_create(frame.ts, pkt, frame.orig_len as u64, FlowState::default);
        if created {
            self.counters.flows += 1;
        }
        let mut ctx = Ctx {
            detector: &self.config.detector,
            dns: &mut self.dns,
            sink,
            counters: &mut self.counters,
            ts: frame.ts,
            pcap_cnt: Some(frame.index),
        };
        let Flow { meta, state } = flow;
        match pkt.proto {
            Proto::Tcp => {
                if created {
                    let is_dns = [53, 5353].contains(&meta.server.1);
                    let hits = ctx.flow_start(meta, is_dns);
                    state.hold(hits);
                }
                state.on_tcp(&mut ctx, meta, dir, pkt);
            }
            Proto::Udp => state.on_udp(&mut ctx, meta, dir, pkt, created),
        }
        state.release_held_if_due(&mut ctx, meta);
    }

    /// Logs a finished flow: its held alerts, its unanswered HTTP requests, then the flow record.
    fn end_flow(
        &mut self,
        mut flow: Flow<FlowState>,
        reason: &'static str,
        sink: &mut dyn EventSink,
    ) {
        let mut ctx = Ctx {
            detector: &self.config.detector,
            dns: &mut self.dns,
            sink: &mut *sink,
            counters: &mut self.counters,
            ts: flow.meta.last_ts,
            pcap_cnt: None,
        };
        flow.state.on_flow_end(&mut ctx, &flow.meta);
        flow.state.release_held(&mut ctx, &flow.meta, None);
        for object in flow.state.take_pending_http() {
            ctx.emit_app(&flow.meta, Direction::ToServer, "http", object);
        }
        ctx.emit(flow_event(&flow.meta, &flow.state, reason));
    }

    /// Ends every flow (end of input) and returns the counters.
    pub fn finish(&mut self, sink: &mut dyn EventSink) -> &Counters {
        let mut ended = Vec::new();
        self.flows.drain(|f| ended.push(f));
        for flow in ended {
            self.end_flow(flow, "shutdown", sink);
        }
        &self.counters
    }
}
