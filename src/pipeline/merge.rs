//! The merge stage: takes the messages of every shard, puts them back into capture order (by the
//! sequence number of the item that produced each), and writes EVE. It owns what no shard can
//! know alone: the DNS answers of all flows, so it decides each `direct-ip` candidate at the point
//! of the capture where its flow started; and the totals of all shards for `stats` events.
//!
//! A shard reports its progress with every batch of messages: "every message for items before
//! sequence number N is in". Messages are released up to the smallest progress of all shards, so
//! the order (and every decision) is the same whatever the thread count.

use super::stats::stats_object;
use crate::counters::Counters;
use crate::detect::dns_cache::DnsCache;
use crate::detect::Detection;
use crate::engine::output::{OutBuf, OutKind, Output, ShardStats};
use crate::engine::verdicts::ResolvedFlows;
use crate::engine::SHUTDOWN_SEQ;
use crate::eve::{EveTypes, EventSink};
use proto::Timestamp;
use rustc_hash::FxHashSet;
use std::collections::VecDeque;
use std::sync::Arc;

/// Messages of one shard not written yet, with the lines they refer to.
#[derive(Default)]
struct Chunk {
    msgs: VecDeque<Output>,
    lines: Vec<u8>,
}

/// The merge stage, writing into `W`.
pub struct Merger<W: EventSink> {
    pub sink: W,
    queues: Vec<VecDeque<Chunk>>,
    progress: Vec<u64>,
    dns: DnsCache,
    /// Flows whose `direct-ip` stands (no DNS answer resolved the server before they started).
    unresolved: FxHashSet<u64>,
    /// Flows whose `direct-ip` alert was written.
    alerted: FxHashSet<u64>,
    /// Events and alerts written.
    pub counters: Counters,
    /// `stats` snapshots of the shards at one tick, summed until all shards have answered.
    stats: Option<(u64, ShardStats, usize)>,
    pressure_max: u64,
    /// The event types written.
    pub log: EveTypes,
    /// Verdicts shared with the shards, so they skip alerts that would be dropped.
    pub resolved: Arc<ResolvedFlows>,
    /// Flows that start before this time are not checked for `direct-ip` (live warm-up).
    pub direct_ip_from: Option<Timestamp>,
}

impl<W: EventSink> Merger<W> {
    /// A merge stage for `shards` shards writing into `sink`.
    pub fn new(sink: W, shards: usize, dns_grace_secs: u64) -> Self {
        Merger {
            sink,
            queues: (0..shards).map(|_| VecDeque::new()).collect(),
            progress: vec![0; shards],
            dns: DnsCache::new(dns_grace_secs),
            unresolved: FxHashSet::default(),
            alerted: FxHashSet::default(),
            counters: Counters::default(),
            stats: None,
            pressure_max: 0,
            log: EveTypes::ALL,
            resolved: Arc::new(ResolvedFlows::new(shards)),
            direct_ip_from: None,
        }
    }

    /// Takes messages of shard `shard`, which has now sent every message for items before
    /// sequence number `progress`, and writes what can be written.
    pub fn accept(&mut self, shard: usize, out: OutBuf, progress: u64) {
        if !out.msgs.is_empty() {
            self.queues[shard].push_back(Chunk {
                msgs: out.msgs.into(),
                lines: out.lines,
            });
        }
        self.progress[shard] = self.progress[shard].max(progress);
        self.release();
    }

    /// Handles messages at once: the caller guarantees capture order (a single shard).
    pub fn accept_in_order(&mut self, out: &mut OutBuf) {
        for m in out.msgs.drain(..) {
            self.handle(m, &out.lines, 0);
        }
        out.lines.clear();
    }

    /// Writes every message before the smallest progress, in sequence order.
    fn release(&mut self) {
        let horizon = self.progress.iter().copied().min().unwrap_or(0);
        // Bounded: every turn takes one message off a queue.
        loop {
            let next = self
                .queues
                .iter()
                .enumerate()
                .filter_map(|(i, q)| q.front().and_then(|c| c.msgs.front()).map(|m| (m.seq, i)))
                .filter(|(seq, _)| {
                    *seq < horizon || (*seq == SHUTDOWN_SEQ && horizon >= SHUTDOWN_SEQ)
                })
                .min();
            let Some((_, i)) = next else { break };
            let Some(mut chunk) = self.queues[i].pop_front() else {
                break;
            };
            if let Some(m) = chunk.msgs.pop_front() {
                self.handle(m, &chunk.lines, i);
            }
            if !chunk.msgs.is_empty() {
                self.queues[i].push_front(chunk);
            }
        }
    }

    /// Nothing to do until more messages come: deliver what was written.
    pub fn idle(&mut self) {
        self.sink.flush();
    }

    /// Messages held back, waiting for a slower shard.
    pub fn queued(&self) -> usize {
        self.queues
            .iter()
            .flat_map(|q| q.iter())
            .map(|c| c.msgs.len())
            .sum()
    }

    fn handle(&mut self, m: Output, lines: &[u8], shard: usize) {
        match m.kind {
            OutKind::Event(line) => self.write(line.get(lines), false),
            OutKind::Alert(detection, line) => {
                self.counters.alert(detection);
                self.write(line.get(lines), true);
            }
            OutKind::FlowStart {
                flow_id,
                server,
                ts,
            } => {
                let warming_up = self.direct_ip_from.is_some_and(|from| ts < from);
                if warming_up {
                    self.counters.direct_ip_warmup += 1;
                }
                if warming_up || self.dns.resolved(server, ts) {
                    self.resolved.mark(shard, flow_id);
                } else {
                    self.unresolved.insert(flow_id);
                }
            }
            OutKind::DirectIp { flow_id, line } => {
                if self.unresolved.contains(&flow_id) {
                    self.alerted.insert(flow_id);
                    self.counters.alert(Detection::DirectIp);
                    self.write(line.get(lines), true);
                }
            }
            OutKind::DnsAnswers { ts, addrs } => {
                for (ip, ttl) in addrs {
                    self.dns.insert(ip, ttl, ts);
                }
            }
            OutKind::FlowEnd {
                flow_id,
                line,
                alerted_at,
            } => {
                self.unresolved.remove(&flow_id);
                self.resolved.forget(shard, flow_id);
                let line = line.get(lines);
                match alerted_at {
                    Some(at) if self.alerted.remove(&flow_id) => {
                        let at = at as usize;
                        let mut patched = Vec::with_capacity(line.len());
                        patched.extend_from_slice(&line[..at]);
                        patched.extend_from_slice(b"true");
                        patched.extend_from_slice(&line[at + b"false".len()..]);
                        self.write(&patched, false);
                    }
                    _ => self.write(line, false),
                }
            }
            OutKind::FlowDone { flow_id } => {
                self.unresolved.remove(&flow_id);
                self.resolved.forget(shard, flow_id);
                self.alerted.remove(&flow_id);
            }
            OutKind::Stats(shard) => self.add_stats(m.seq, *shard),
        }
    }

    fn write(&mut self, line: &[u8], is_alert: bool) {
        self.counters.events += 1;
        self.sink.line(line, is_alert);
    }

    fn add_stats(&mut self, seq: u64, shard: ShardStats) {
        let shards = self.queues.len();
        let (_, sum, answered) = self
            .stats
            .get_or_insert_with(|| (seq, ShardStats::default(), 0));
        sum.add(&shard);
        *answered += 1;
        if *answered < shards {
            return;
        }
        if let Some((_, sum, _)) = self.stats.take() {
            if self.log.contains(EveTypes::STATS) {
                self.write_stats(sum);
            }
        }
    }

    /// Writes a `stats` event of `total` (all shards and the dispatcher), adding the events and
    /// alerts this stage wrote.
    pub fn write_stats(&mut self, mut total: ShardStats) {
        total.counters.events += self.counters.events;
        for (d, n) in &self.counters.alerts {
            *total.counters.alerts.entry(*d).or_default() += n;
        }
        let pressure = (total.memuse * 100)
            .checked_div(total.memcap)
            .unwrap_or_default();
        self.pressure_max = self.pressure_max.max(pressure);
        let ts = total.ts;
        let uptime = ts.secs_since(total.counters.first_ts.unwrap_or(ts));
        let object = stats_object(&total, uptime, pressure, self.pressure_max);
        self.counters.events += 1;
        self.sink.emit_stats(ts, object);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Timestamp;
    use serde_json::Value;

    /// Collects the lines written.
    #[derive(Default)]
    struct Lines(Vec<String>);

    impl EventSink for Lines {
        fn line(&mut self, json: &[u8], _is_alert: bool) {
            self.0.push(String::from_utf8_lossy(json).into_owned());
        }
        fn emit_stats(&mut self, _ts: Timestamp, stats: Value) {
            self.0.push(stats.to_string());
        }
    }

    /// A message kind made from the line it carries.
    type Kind = fn(crate::engine::output::LineRef) -> OutKind;

    /// Messages `(seq, line, kind)` and their lines.
    fn buf(msgs: Vec<(u64, &str, Kind)>) -> OutBuf {
        let mut out = OutBuf::default();
        for (seq, text, kind) in msgs {
            let start = out.lines.len();
            out.lines.extend_from_slice(text.as_bytes());
            let line = crate::engine::output::LineRef::new(start, text.len());
            out.msgs.push(Output {
                seq,
                kind: kind(line),
            });
        }
        out
    }

    fn ip() -> std::net::IpAddr {
        "203.0.113.7".parse().unwrap()
    }

    #[test]
    fn shards_are_written_in_capture_order_once_every_shard_has_caught_up() {
        let mut m = Merger::new(Lines::default(), 2, 300);
        m.accept(
            0,
            buf(vec![(2, "a2", OutKind::Event), (6, "a6", OutKind::Event)]),
            7,
        );
        // Shard 1 has not reported: nothing may be written yet.
        assert!(m.sink.0.is_empty());
        assert_eq!(m.queued(), 2);
        m.accept(1, buf(vec![(4, "b4", OutKind::Event)]), 5);
        assert_eq!(m.sink.0, ["a2", "b4"]);
        m.accept(1, OutBuf::default(), 10);
        assert_eq!(m.sink.0, ["a2", "b4", "a6"]);
        assert_eq!(m.counters.events, 3);
    }

    #[test]
    fn direct_ip_is_decided_by_the_answers_before_the_flow_even_from_a_slower_shard() {
        let t = Timestamp(1_000_000_000_000);
        for (answer_seq, flow_seq, alerted) in [(3, 5, false), (8, 5, true)] {
            let mut m = Merger::new(Lines::default(), 2, 300);
            // Shard 0 runs ahead: its flow starts at `flow_seq` and alerts later.
            let mut flow = OutBuf::default();
            flow.msgs.push(Output {
                seq: flow_seq,
                kind: OutKind::FlowStart {
                    flow_id: 42,
                    server: ip(),
                    ts: t,
                },
            });
            flow.lines.extend_from_slice(b"alert");
            flow.msgs.push(Output {
                seq: flow_seq + 1,
                kind: OutKind::DirectIp {
                    flow_id: 42,
                    line: crate::engine::output::LineRef::new(0, 5),
                },
            });
            m.accept(0, flow, 20);
            // Shard 1's DNS answer arrives afterwards, but sits at `answer_seq` in the capture.
            let mut dns = OutBuf::default();
            dns.msgs.push(Output {
                seq: answer_seq,
                kind: OutKind::DnsAnswers {
                    ts: t,
                    addrs: vec![(ip(), 60)],
                },
            });
            m.accept(1, dns, 20);
            let written = m.sink.0.iter().any(|l| l == "alert");
            assert_eq!(
                written, alerted,
                "answer at {answer_seq}, flow at {flow_seq}"
            );
            assert_eq!(m.counters.total_alerts(), u64::from(alerted));
        }
    }
}
