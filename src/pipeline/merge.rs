//! The merge stage: takes the messages of every shard, puts them back into capture order (by the
//! sequence number of the item that produced each), and writes EVE. It owns what no shard can
//! know alone: the DNS answers of all flows, so it gives each `direct-ip` candidate its verdict
//! at the point of the capture where its flow started ([`crate::detect::direct_ip`]), and
//! completes each flow record's `alerted` with it; and the totals of all shards for `stats`.
//!
//! A shard reports its progress with every batch of messages: "every message for items before
//! sequence number N is in". Messages are released up to the smallest progress of all shards, so
//! the order (and every decision) is the same whatever the thread count.

use super::stats::stats_object;
use crate::counters::Counters;
use crate::detect::direct_ip::{ResolvedFlows, Verdict, Verdicts};
use crate::detect::dns_chain::ChainVerdicts;
use crate::detect::hidden::HiddenVerdicts;
use crate::detect::rules::threshold::{Spec, Thresholds};
use crate::detect::{Detection, Detector};
use crate::engine::output::{FlowRecord, OutBuf, OutKind, Output, ShardStats};
use crate::engine::SHUTDOWN_SEQ;
use crate::eve::{EveTypes, EventSink, EventType};
use proto::Timestamp;
use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Messages of one shard not written yet, with the lines and flow records they refer to.
#[derive(Default)]
struct Chunk {
    msgs: VecDeque<Output>,
    lines: Vec<u8>,
    records: Vec<FlowRecord>,
}

/// The merge stage, writing into `W`.
pub(crate) struct Merger<W: EventSink> {
    pub(crate) sink: W,
    queues: Vec<VecDeque<Chunk>>,
    progress: Vec<u64>,
    /// The `direct-ip` verdicts and the DNS answers they rest on.
    direct_ip: Verdicts,
    /// `hidden-destination` verdicts (DNS names by address, published ECH configurations).
    hidden: HiddenVerdicts,
    /// CNAME cloaking: flows judged by the DNS chains that resolved their server.
    chains: ChainVerdicts,
    /// The signatures in force at the item being handled (the allowlist judges
    /// `hidden-destination`); a reload's `OutKind::Detector` replaces them.
    detector: Arc<Detector>,
    /// The counts of thresholded rules.
    thresholds: Thresholds,
    /// Flows a thresholded rule alerted on (their flow record is `alerted`).
    rule_alerted: FxHashSet<u64>,
    /// A flow record being serialised.
    scratch: Vec<u8>,
    /// Events and alerts written.
    pub(crate) counters: Counters,
    /// `stats` snapshots of the shards by round (a shard's k-th snapshot is round k, its last
    /// one, at [`SHUTDOWN_SEQ`], the final round), summed until all shards have answered.
    stats: BTreeMap<u64, (ShardStats, usize)>,
    /// How many interval snapshots each shard has sent.
    stats_rounds: Vec<u64>,
    pressure_max: u64,
    /// The event types written.
    pub(crate) log: EveTypes,
}

impl<W: EventSink> Merger<W> {
    /// A merge stage for `shards` shards writing into `sink`; DNS answers count `dns_grace_secs`
    /// past their TTL, and flows that start before `direct_ip_from` are not checked for
    /// `direct-ip` (a live sensor's warm-up).
    pub(crate) fn new(
        sink: W,
        shards: usize,
        dns_grace_secs: u64,
        direct_ip_from: Option<Timestamp>,
        detector: Arc<Detector>,
    ) -> Self {
        Merger {
            sink,
            queues: (0..shards).map(|_| VecDeque::new()).collect(),
            progress: vec![0; shards],
            direct_ip: Verdicts::new(shards, dns_grace_secs, direct_ip_from),
            hidden: HiddenVerdicts::new(dns_grace_secs),
            chains: ChainVerdicts::new(dns_grace_secs),
            detector,
            thresholds: Thresholds::default(),
            rule_alerted: FxHashSet::default(),
            scratch: Vec::new(),
            counters: Counters::default(),
            stats: BTreeMap::new(),
            stats_rounds: vec![0; shards],
            pressure_max: 0,
            log: EveTypes::ALL,
        }
    }

    /// The `direct-ip` verdicts the shards read, so they skip alerts that would be dropped.
    pub(crate) fn marks(&self) -> &Arc<ResolvedFlows> {
        self.direct_ip.marks()
    }

    /// Takes messages of shard `shard`, which has now sent every message for items before
    /// sequence number `progress`, and writes what can be written.
    pub(crate) fn accept(&mut self, shard: usize, out: OutBuf, progress: u64) {
        if !out.msgs.is_empty() {
            self.queues[shard].push_back(Chunk {
                msgs: out.msgs.into(),
                lines: out.lines,
                records: out.records,
            });
        }
        self.progress[shard] = self.progress[shard].max(progress);
        self.release();
    }

    /// Handles messages at once: the caller guarantees capture order (a single shard).
    pub(crate) fn accept_in_order(&mut self, out: &mut OutBuf) {
        for m in out.msgs.drain(..) {
            self.handle(m, &out.lines, &mut out.records, 0);
        }
        out.clear();
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
                self.handle(m, &chunk.lines, &mut chunk.records, i);
            }
            if !chunk.msgs.is_empty() {
                self.queues[i].push_front(chunk);
            }
        }
    }

    /// Nothing to do until more messages come: deliver what was written.
    pub(crate) fn idle(&mut self) {
        self.sink.flush();
    }

    /// Messages held back, waiting for a slower shard.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.queues
            .iter()
            .flat_map(|q| q.iter())
            .map(|c| c.msgs.len())
            .sum()
    }

    fn handle(&mut self, m: Output, lines: &[u8], records: &mut [FlowRecord], shard: usize) {
        match m.kind {
            OutKind::Event(line) => self.write(line.get(lines), false),
            OutKind::Alert(detection, line) => {
                self.counters.alert(detection);
                self.write(line.get(lines), true);
            }
            OutKind::FlowStart(candidate) => {
                // A server that DNS chains which matter resolved: the flow's speculative
                // `direct-ip` alert is wanted (not marked resolved), to be judged by them.
                let chained =
                    self.chains
                        .on_flow_start(candidate.flow_id, candidate.server, candidate.ts);
                if self.direct_ip.on_flow_start(shard, &candidate, !chained) == Verdict::WarmUp {
                    self.counters.direct_ip_warmup += 1;
                }
            }
            OutKind::DirectIp {
                candidate,
                line,
                by_target,
                name,
            } => {
                let written = if by_target {
                    self.direct_ip.on_target_alert(&candidate)
                } else {
                    self.direct_ip.on_alert(&candidate)
                };
                if written {
                    self.counters.alert(Detection::DirectIp);
                    self.write(line.get(lines), true);
                } else if let Some(hit) = (!by_target)
                    .then(|| {
                        let signatures = &self.detector.signatures;
                        self.chains
                            .on_alert(candidate.flow_id, name.as_deref(), signatures)
                    })
                    .flatten()
                {
                    // Resolved, but through a chain that names an IOC or leaves the allowlist.
                    self.counters.alert(hit.detection);
                    let line = with_alert(line.get(lines), &hit);
                    self.write(&line, true);
                }
                self.counters.direct_ip_resolved_late = self.direct_ip.resolved_late;
            }
            OutKind::DnsAnswers {
                ts,
                addrs,
                answered,
                chain,
            } => {
                self.direct_ip.on_dns_answers(ts, &addrs);
                if let Some(chain) = &chain {
                    self.chains.on_dns_answers(ts, &addrs, chain);
                }
                if let Some(answered) = answered {
                    self.hidden.on_dns_answers(ts, &addrs, &answered);
                }
            }
            OutKind::Hidden { candidate, line } => {
                let allow = &self.detector.signatures.allow_domains;
                if let Some(indicator) = self.hidden.on_alert(&candidate, allow) {
                    let line = with_indicator(line.get(lines), &indicator);
                    self.counters.alert(Detection::HiddenDestination);
                    self.write(&line, true);
                }
            }
            OutKind::RuleAlert { check, line } => {
                if let Some(check) = check {
                    let thresholds = &mut self.thresholds;
                    let passes = |spec: &Option<Spec>, t: &mut Thresholds| {
                        spec.as_ref().is_none_or(|s| t.alerts(s, &check.at))
                    };
                    let filtered = passes(&check.detection_filter, thresholds);
                    if !(filtered && passes(&check.threshold, thresholds)) {
                        self.counters.rule_alerts_thresholded += 1;
                        return;
                    }
                    self.rule_alerted.insert(check.at.flow_id);
                }
                self.counters.rule_alerts += 1;
                self.write(line.get(lines), true);
            }
            OutKind::FlowEnd { flow_id, record } => {
                let hidden = self.hidden.on_flow_end(flow_id) | self.chains.on_flow_end(flow_id);
                let rule = self.rule_alerted.remove(&flow_id);
                let direct_ip = self.direct_ip.on_flow_end(shard, flow_id) || hidden || rule;
                if let Some(record) = record {
                    let mut line = std::mem::take(&mut self.scratch);
                    line.clear();
                    record.get(records).write(direct_ip, &mut line);
                    self.write(&line, false);
                    self.scratch = line;
                }
            }
            OutKind::Detector(detector) => self.detector = detector,
            OutKind::Stats(stats) => self.add_stats(m.seq, shard, *stats),
        }
    }

    fn write(&mut self, line: &[u8], is_alert: bool) {
        self.counters.events += 1;
        self.sink.line(line, is_alert);
    }

    /// Adds `stats`, the snapshot of shard `shard` at item `seq`, to its round; writes the
    /// round once every shard has answered. The shards of one dispatcher answer the same item;
    /// those of a fanout capture (one dispatcher each, [`super::fanout`]) each answer their own
    /// clock, so the k-th snapshots of all shards are summed, and the last ones, sent at
    /// [`SHUTDOWN_SEQ`]. The final round supersedes interval rounds some shard did not reach.
    fn add_stats(&mut self, seq: u64, shard: usize, stats: ShardStats) {
        let shards = self.queues.len();
        let round = if seq == SHUTDOWN_SEQ {
            u64::MAX
        } else {
            let next = &mut self.stats_rounds[shard];
            *next += 1;
            *next
        };
        let (sum, answered) = self.stats.entry(round).or_default();
        sum.add(&stats);
        *answered += 1;
        if *answered < shards {
            return;
        }
        if let Some((sum, _)) = self.stats.remove(&round) {
            if round == u64::MAX {
                self.stats.clear();
            }
            if self.log.logs(EventType::Stats) {
                self.write_stats(sum);
            }
        }
    }

    /// Writes a `stats` event of `total` (all shards and the dispatcher), adding the events and
    /// alerts this stage wrote.
    fn write_stats(&mut self, mut total: ShardStats) {
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

/// A shard's alert line with `edit` applied to the event (a rare alert the merge stage decides:
/// parsed and written again, key order kept); the line as it was if it does not parse.
fn edit_alert_line(line: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let Ok(mut ev) = serde_json::from_slice::<serde_json::Value>(line) else {
        return line.to_vec();
    };
    edit(&mut ev);
    serde_json::to_vec(&ev).unwrap_or_else(|_| line.to_vec())
}

/// `line` with the `alert` object of `hit` in place of its own (a speculative `direct-ip` alert
/// the DNS chains turned into another detection; the rest of the event, its app-layer object
/// included, stays).
fn with_alert(line: &[u8], hit: &crate::detect::Hit) -> Vec<u8> {
    let crate::eve::Object::Alert(alert) = crate::eve::Event::alert_object(hit) else {
        return line.to_vec();
    };
    edit_alert_line(line, |ev| {
        if let (Some(slot), Ok(alert)) = (ev.get_mut("alert"), serde_json::to_value(alert)) {
            *slot = alert;
        }
    })
}

/// `line` with `alert.metadata.indicator` replaced.
fn with_indicator(line: &[u8], indicator: &str) -> Vec<u8> {
    edit_alert_line(line, |ev| {
        if let Some(slot) = ev.pointer_mut("/alert/metadata/indicator") {
            *slot = serde_json::json!([indicator]);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> std::sync::Arc<crate::detect::Detector> {
        use crate::detect::{signatures::Signatures, Detector};
        std::sync::Arc::new(Detector::new(
            Signatures::builtin(),
            Detector::default_home_net(),
        ))
    }
    use crate::detect::direct_ip::Candidate;
    use crate::detect::signatures::Signatures;
    use crate::detect::Detector;
    use crate::engine::testkit::frames;
    use crate::engine::{Engine, EngineConfig, PacketInfo};
    use crate::flow::Timeouts;
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
        let mut m = Merger::new(Lines::default(), 2, 300, None, detector());
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
            let mut m = Merger::new(Lines::default(), 2, 300, None, detector());
            // Shard 0 runs ahead: its flow starts at `flow_seq` and alerts later.
            let mut flow = OutBuf::default();
            flow.msgs.push(Output {
                seq: flow_seq,
                kind: OutKind::FlowStart(Candidate {
                    flow_id: 42,
                    server: ip(),
                    ts: t,
                }),
            });
            flow.lines.extend_from_slice(b"alert");
            flow.msgs.push(Output {
                seq: flow_seq + 1,
                kind: OutKind::DirectIp {
                    by_target: false,
                    candidate: Candidate {
                        flow_id: 42,
                        server: ip(),
                        ts: t,
                    },
                    line: crate::engine::output::LineRef::new(0, 5),
                    name: None,
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
                    answered: None,
                    chain: None,
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

    /// A shard of `merger` (one of two).
    fn engine(merger: &Merger<Lines>, shard: usize) -> Engine {
        let detector = Detector::new(Signatures::builtin(), Detector::default_home_net());
        Engine::new(EngineConfig {
            detector: Arc::new(detector),
            timeouts: Timeouts::default(),
            flow_memcap: crate::flow::table::DEFAULT_MEMCAP,
            eve_types: EveTypes::ALL,
            shard,
            resolved: merger.marks().clone(),
            checksums: Default::default(),
        })
    }

    #[test]
    fn a_flow_record_is_alerted_when_the_merge_stage_wrote_its_direct_ip_alert() {
        // The SYN of tls-ip-literal.pcap alone, on shard 0 at sequence number 5; its held alert
        // is released when the input ends. Shard 1 sees a DNS answer for its server before the
        // SYN (3), after it but before the alert (8: a mirror's reordering), or after the alert.
        let syn = &frames("tls-ip-literal.pcap")[0];
        for (answer_seq, alerted) in [(3, false), (8, false), (u64::MAX, true)] {
            let mut m = Merger::new(Lines::default(), 2, 300, None, detector());
            let mut shard0 = engine(&m, 0);
            let mut out = OutBuf::default();
            let info = PacketInfo {
                seq: 5,
                ts: syn.ts,
                pcap_cnt: syn.index,
                wire_len: 74,
                checksums_trusted: true,
            };
            shard0.on_packet(&info, &syn.packet(), &proto::decode::Tunnel::NONE, &mut out);
            m.accept(0, std::mem::take(&mut out), 6);
            shard0.finish(SHUTDOWN_SEQ, &mut out, |_| {});
            m.accept(0, out, u64::MAX);
            let mut dns = OutBuf::default();
            dns.msgs.push(Output {
                seq: answer_seq,
                kind: OutKind::DnsAnswers {
                    ts: syn.ts,
                    addrs: vec![(ip(), 60)],
                    answered: None,
                    chain: None,
                },
            });
            m.accept(1, dns, u64::MAX);
            let events: Vec<Value> = m
                .sink
                .0
                .iter()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let types: Vec<&str> = events
                .iter()
                .map(|e| e["event_type"].as_str().unwrap())
                .collect();
            let expected: &[&str] = if alerted {
                &["alert", "flow"]
            } else {
                &["flow"]
            };
            assert_eq!(types, expected, "answer at {answer_seq}");
            let flow = events.last().unwrap();
            assert_eq!(flow["flow"]["alerted"], alerted, "answer at {answer_seq}");
            assert_eq!(m.counters.total_alerts(), u64::from(alerted));
        }
    }

    #[test]
    fn stats_of_shards_with_their_own_clocks_are_summed_by_round() {
        // Fanout: each shard's dispatcher asks for `stats` at its own items. Round k is the
        // k-th snapshot of every shard; the last ones (at SHUTDOWN_SEQ) are the final round,
        // which supersedes a round some shard never reached.
        let snapshot = |seq: u64, packets: u64| {
            let mut stats = ShardStats::default();
            stats.counters.packets = packets;
            let mut out = OutBuf::default();
            out.msgs.push(Output {
                seq,
                kind: OutKind::Stats(Box::new(stats)),
            });
            out
        };
        let pkts = |m: &Merger<Lines>| -> Vec<u64> {
            m.sink
                .0
                .iter()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .map(|v| v["decoder"]["pkts"].as_u64().unwrap())
                .collect()
        };
        let mut m = Merger::new(Lines::default(), 2, 300, None, detector());
        m.accept(0, snapshot(10, 1), 11);
        m.accept(0, snapshot(30, 2), 31);
        // Round 1 waits for shard 1, whose first snapshot comes at another item.
        assert!(m.sink.0.is_empty());
        m.accept(1, snapshot(20, 10), 21);
        assert_eq!(pkts(&m), [11]);
        m.accept(1, snapshot(25, 20), 41);
        assert_eq!(pkts(&m), [11, 22]);
        // Shard 0 reaches a third round, shard 1 does not before the end.
        m.accept(0, snapshot(40, 3), 41);
        m.accept(0, snapshot(SHUTDOWN_SEQ, 4), SHUTDOWN_SEQ);
        m.accept(1, snapshot(SHUTDOWN_SEQ, 40), SHUTDOWN_SEQ);
        m.accept(0, OutBuf::default(), u64::MAX);
        m.accept(1, OutBuf::default(), u64::MAX);
        assert_eq!(pkts(&m), [11, 22, 44]);
        assert!(m.stats.is_empty());
    }

    #[test]
    fn one_thread_and_two_log_the_same_events() {
        // Through the whole pipeline: the shards' messages interleave differently, the output
        // does not. The DNS flow of this capture alerts per query; its record says so.
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/npm-postinstall-ioc.pcap");
        let run = |threads: usize| -> Vec<String> {
            let detector = Detector::new(Signatures::builtin(), Detector::default_home_net());
            let mut config = super::super::PipelineConfig::new(Arc::new(detector));
            config.threads = threads;
            let (read, finished) = super::super::run(&config, Lines::default(), |input| {
                crate::capture::read_capture_file(&path, input)
            });
            read.expect("the capture reads");
            finished.sink.0
        };
        let one = run(1);
        assert_eq!(one, run(2));
        let flows: Vec<Value> = one
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["event_type"] == "flow")
            .collect();
        assert_eq!(flows.len(), 2);
        assert!(flows.iter().all(|f| f["flow"]["alerted"] == true));
    }
}
