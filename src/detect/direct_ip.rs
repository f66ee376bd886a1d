//! `direct-ip`: an egress flow (not DNS) to an address that no DNS answer seen before the flow's
//! first packet resolved, within the answer's TTL plus a grace period. The answer may sit in any
//! shard, so the verdict belongs to the merge stage, which sees every shard's messages in capture
//! order; the alert belongs to the shard, which has the flow's app-layer object. The whole
//! sequence lives here, in four steps:
//!
//! 1. **Flow start, on the shard** ([`Held::start`]): the flow-start detections (`ioc-ip`,
//!    `direct-ip`) are held, and a `direct-ip` [`Candidate`] is announced to the merge stage.
//! 2. **Verdict, in the merge stage** ([`Verdicts::on_flow_start`]): against the DNS answers
//!    ([`Verdicts::on_dns_answers`]) seen before the candidate in capture order; flows that start
//!    during a live sensor's warm-up are skipped. A flow found resolved (or skipped) is marked in
//!    [`ResolvedFlows`], which the shards read.
//! 3. **Release, on the shard**: the held detections are alerted with the flow's first app-layer
//!    object, or without one once the flow will have none, is [`HOLD_SECS`] old or ends
//!    ([`Held::due`], [`Held::take`]). A `direct-ip` whose flow is marked resolved is dropped
//!    there, before anything is built ([`Held::drop_resolved`], [`ShardMarks::take`]); otherwise
//!    its alert goes to the merge stage speculatively, since the shard may run ahead of the
//!    verdict.
//! 4. **Written or dropped, in the merge stage** ([`Verdicts::on_alert`]): a `direct-ip` alert is
//!    written only on a flow whose verdict was "unresolved" and that no answer seen since has
//!    resolved either: a SPAN port or a mirror may deliver the DNS answer just after the SYN it
//!    enabled, and the alert waited for the flow's first app-layer object anyway, so it is
//!    decided against every answer seen by then (this holds for the HTTP IP-literal Host hit
//!    too, which shares the flow's one `direct-ip` alert). [`Verdicts::on_flow_end`]
//!    says whether it was written, for the flow record's `alerted`, and forgets the flow.
//!
//! The marks only save work: a shard that has not seen its mark yet sends the alert and the merge
//! stage drops it, so the events are the same whatever the threads' timing.

use super::{Detection, DetectionSet};
use proto::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// Seconds a DNS answer keeps counting past its TTL, by default.
pub const DEFAULT_DNS_GRACE_SECS: u64 = 300;

/// Seconds of packet time a flow-start alert waits for the flow's first app-layer object.
pub(crate) const HOLD_SECS: u64 = 1;

/// A flow whose `direct-ip` the merge stage decides: announced at the flow's first packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) flow_id: u64,
    pub(crate) server: IpAddr,
    /// The flow's first packet.
    pub(crate) ts: Timestamp,
}

/// The flow-start detections of one flow, held on its shard until they can be alerted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Held(DetectionSet);

impl Held {
    /// A new flow to `server` (first packet at `ts`) where `detections` may fire: what to hold,
    /// and the candidate to announce when `direct-ip` is among them.
    pub(crate) fn start(
        detections: DetectionSet,
        flow_id: u64,
        server: IpAddr,
        ts: Timestamp,
    ) -> (Held, Option<Candidate>) {
        let candidate = detections
            .contains(Detection::DirectIp)
            .then_some(Candidate {
                flow_id,
                server,
                ts,
            });
        (Held(detections), candidate)
    }

    /// Whether detections wait for the flow's first app-layer object.
    pub(crate) fn is_waiting(self) -> bool {
        !self.0.is_empty()
    }

    /// The flow's first app-layer object is about to be built: a held `direct-ip` that the merge
    /// stage has already found resolved is dropped, so that nothing is built for it.
    pub(crate) fn drop_resolved(&mut self, marks: ShardMarks<'_>, flow_id: u64) {
        if self.0.contains(Detection::DirectIp) && marks.take(flow_id) {
            self.0.remove(Detection::DirectIp);
        }
    }

    /// Whether the wait is over without an object at packet time `now`: the app layer will
    /// produce none (no longer `inspecting`) or the flow, started at `first_ts`, is
    /// [`HOLD_SECS`] old.
    pub(crate) fn due(self, now: Timestamp, first_ts: Timestamp, inspecting: bool) -> bool {
        self.is_waiting() && (!inspecting || now.secs_since(first_ts) >= HOLD_SECS)
    }

    /// The held detections, to alert now; nothing is held afterwards.
    pub(crate) fn take(&mut self) -> DetectionSet {
        std::mem::take(&mut self.0)
    }
}

/// Flows the merge stage found resolved, one set per shard (each set touched once or twice per
/// flow), so that the shard skips their `direct-ip` alert.
#[derive(Debug)]
pub(crate) struct ResolvedFlows {
    shards: Vec<Mutex<FxHashSet<u64>>>,
}

impl ResolvedFlows {
    fn new(shards: usize) -> Self {
        ResolvedFlows {
            shards: (0..shards.max(1))
                .map(|_| Mutex::new(FxHashSet::default()))
                .collect(),
        }
    }

    fn set(&self, shard: usize) -> MutexGuard<'_, FxHashSet<u64>> {
        let i = shard.min(self.shards.len() - 1);
        // A poisoned set only means another thread panicked; its contents are still valid.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The marks of `shard`, as that shard reads them.
    pub(crate) fn shard(&self, shard: usize) -> ShardMarks<'_> {
        ShardMarks { flows: self, shard }
    }

    /// Flows marked now, all shards together.
    #[cfg(test)]
    fn len(&self) -> usize {
        (0..self.shards.len()).map(|i| self.set(i).len()).sum()
    }
}

/// One shard's view of [`ResolvedFlows`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShardMarks<'a> {
    flows: &'a ResolvedFlows,
    shard: usize,
}

impl ShardMarks<'_> {
    /// Whether flow `flow_id` was found resolved (the mark is taken: it is asked once).
    pub(crate) fn take(self, flow_id: u64) -> bool {
        self.flows.set(self.shard).remove(&flow_id)
    }
}

/// The merge stage's verdict on a [`Candidate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A DNS answer seen before the flow started resolved its server.
    Resolved,
    /// The flow started during the warm-up: not checked.
    WarmUp,
    /// No answer did: the flow's `direct-ip` alert stands.
    Unresolved,
}

/// The merge stage's side: the DNS answers of every shard and the verdicts reached.
#[derive(Debug)]
pub(crate) struct Verdicts {
    dns: DnsCache,
    /// Flows no answer had resolved at their start: their `direct-ip` stands unless an answer
    /// seen before the alert resolves them.
    unresolved: FxHashSet<u64>,
    /// `direct-ip` alerts dropped because the answer came after the flow's first packet.
    pub(crate) resolved_late: u64,
    /// Flows whose `direct-ip` alert was written.
    written: FxHashSet<u64>,
    marks: Arc<ResolvedFlows>,
    /// Flows that start before this time are not checked (a live sensor's warm-up: it has not
    /// seen the answers given before it started).
    from: Option<Timestamp>,
}

impl Verdicts {
    /// Verdicts for `shards` shards; answers count `grace_secs` past their TTL; flows that start
    /// before `from` are skipped.
    pub(crate) fn new(shards: usize, grace_secs: u64, from: Option<Timestamp>) -> Self {
        Verdicts {
            dns: DnsCache::new(grace_secs),
            unresolved: FxHashSet::default(),
            resolved_late: 0,
            written: FxHashSet::default(),
            marks: Arc::new(ResolvedFlows::new(shards)),
            from,
        }
    }

    /// The marks the shards read.
    pub(crate) fn marks(&self) -> &Arc<ResolvedFlows> {
        &self.marks
    }

    /// A DNS response resolved `addrs` (address, TTL) at `ts`.
    pub(crate) fn on_dns_answers(&mut self, ts: Timestamp, addrs: &[(IpAddr, u32)]) {
        for (ip, ttl) in addrs {
            self.dns.insert(*ip, *ttl, ts);
        }
    }

    /// Decides `candidate` of `shard` against the answers seen so far; a flow found resolved is
    /// marked for its shard only when `mark` (otherwise its speculative alert still comes).
    pub(crate) fn on_flow_start(
        &mut self,
        shard: usize,
        candidate: &Candidate,
        mark: bool,
    ) -> Verdict {
        let verdict = if self.from.is_some_and(|from| candidate.ts < from) {
            Verdict::WarmUp
        } else if self.dns.resolved(candidate.server, candidate.ts) {
            Verdict::Resolved
        } else {
            Verdict::Unresolved
        };
        if verdict == Verdict::Unresolved {
            self.unresolved.insert(candidate.flow_id);
        } else if mark {
            self.marks.set(shard).insert(candidate.flow_id);
        }
        verdict
    }

    /// A shard's `direct-ip` alert on the flow of `candidate`: whether it is written. An answer
    /// seen after the flow's start but before this alert resolves it too (capture reordering).
    pub(crate) fn on_alert(&mut self, candidate: &Candidate) -> bool {
        let flow_id = candidate.flow_id;
        if !self.unresolved.contains(&flow_id) {
            return false;
        }
        if self.dns.resolved(candidate.server, candidate.ts) {
            self.unresolved.remove(&flow_id);
            self.resolved_late += 1;
            return false;
        }
        self.written.insert(flow_id);
        true
    }

    /// A shard's `direct-ip` alert on a destination the client named by address (SOCKS,
    /// CONNECT, an IP-literal Host; `candidate.server` is that address, `candidate.ts` the
    /// request): written unless an answer seen by now resolved it or the flow has its one
    /// `direct-ip` alert already.
    pub(crate) fn on_target_alert(&mut self, candidate: &Candidate) -> bool {
        if self.written.contains(&candidate.flow_id)
            || self.dns.resolved(candidate.server, candidate.ts)
        {
            return false;
        }
        self.written.insert(candidate.flow_id);
        true
    }

    /// Flow `flow_id` of `shard` ended: whether its `direct-ip` alert was written. The flow is
    /// forgotten.
    pub(crate) fn on_flow_end(&mut self, shard: usize, flow_id: u64) -> bool {
        self.unresolved.remove(&flow_id);
        self.marks.set(shard).remove(&flow_id);
        self.written.remove(&flow_id)
    }
}

/// Most addresses remembered; past this, expired entries are purged, then the oldest half.
const MAX_ENTRIES: usize = 1 << 20;

/// Which addresses DNS answers have resolved, and until when (packet time): the answer's TTL
/// plus a grace period, since clients keep using an address a little past its TTL. Bounded.
#[derive(Debug)]
struct DnsCache {
    expiry: FxHashMap<IpAddr, Timestamp>,
    grace_secs: u64,
}

impl DnsCache {
    fn new(grace_secs: u64) -> Self {
        DnsCache {
            expiry: FxHashMap::default(),
            grace_secs,
        }
    }

    /// Records that `ip` was resolved at `now` with `ttl` seconds to live.
    fn insert(&mut self, ip: IpAddr, ttl: u32, now: Timestamp) {
        if self.expiry.len() >= MAX_ENTRIES && !self.expiry.contains_key(&ip) {
            self.expiry.retain(|_, until| *until >= now);
            if self.expiry.len() >= MAX_ENTRIES {
                let mut times: Vec<Timestamp> = self.expiry.values().copied().collect();
                let (_, median, _) = times.select_nth_unstable(MAX_ENTRIES / 2);
                let median = *median;
                self.expiry.retain(|_, until| *until > median);
            }
        }
        let until = now.plus_secs(ttl as u64 + self.grace_secs);
        let slot = self.expiry.entry(ip).or_insert(until);
        *slot = (*slot).max(until);
    }

    /// Whether some answer resolved `ip` and still counts at `now`.
    fn resolved(&self, ip: IpAddr, now: Timestamp) -> bool {
        self.expiry.get(&ip).is_some_and(|until| *until >= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "203.0.113.7";
    const T0: Timestamp = Timestamp(1_000_000_000_000);

    fn server() -> IpAddr {
        SERVER.parse().unwrap()
    }

    fn set(detections: &[Detection]) -> DetectionSet {
        let mut s = DetectionSet::default();
        for d in detections {
            s.insert(*d);
        }
        s
    }

    /// A shard's flow and the merge stage, driven step by step in capture order.
    struct Run {
        merge: Verdicts,
        shard: usize,
        flow_id: u64,
        held: Held,
        candidate: Option<Candidate>,
        /// The flow's first packet.
        start: Timestamp,
    }

    impl Run {
        /// A merge stage for two shards (answers count 10 s past their TTL) and a flow of
        /// shard 1 to [`SERVER`] that may raise `detections`, starting at `ts`.
        fn new(detections: &[Detection], ts: Timestamp, from: Option<Timestamp>) -> Run {
            let (held, candidate) = Held::start(set(detections), 42, server(), ts);
            Run {
                merge: Verdicts::new(2, 10, from),
                shard: 1,
                flow_id: 42,
                held,
                candidate,
                start: ts,
            }
        }

        fn answer(&mut self, ttl: u32, ts: Timestamp) {
            self.merge.on_dns_answers(ts, &[(server(), ttl)]);
        }

        /// The merge stage reaches the flow's start in the capture.
        fn verdict(&mut self) -> Verdict {
            let candidate = self.candidate.expect("a direct-ip candidate");
            self.merge.on_flow_start(self.shard, &candidate, true)
        }

        /// The flow's candidate, as its alert carries it.
        fn candidate(&self) -> Candidate {
            Candidate {
                flow_id: self.flow_id,
                server: server(),
                ts: self.start,
            }
        }

        fn marks(&self) -> ShardMarks<'_> {
            self.merge.marks().shard(self.shard)
        }

        /// The shard has the flow's first app-layer object: what it alerts with it.
        fn first_object(&mut self) -> DetectionSet {
            let marks = self.merge.marks().clone();
            self.held
                .drop_resolved(marks.shard(self.shard), self.flow_id);
            self.held.take()
        }

        /// The shard alerts `released`; the merge stage writes what stands. Returns the
        /// detections written.
        fn alert(&mut self, released: DetectionSet) -> Vec<Detection> {
            released
                .iter()
                .filter(|d| {
                    *d != Detection::DirectIp
                        || (!self.marks().take(self.flow_id)
                            && self.merge.on_alert(&self.candidate()))
                })
                .collect()
        }
    }

    #[test]
    fn an_answer_before_the_flow_resolves_it_and_the_shard_drops_the_alert_unbuilt() {
        let mut run = Run::new(&[Detection::DirectIp], T0.plus_secs(1), None);
        run.answer(60, T0);
        assert_eq!(run.verdict(), Verdict::Resolved);
        // The shard reads the mark before it builds the object: nothing is held any more.
        assert_eq!(run.first_object(), DetectionSet::default());
        assert_eq!(run.merge.marks().len(), 0, "the mark was taken");
        assert!(!run.merge.on_flow_end(1, 42));
    }

    #[test]
    fn an_unresolved_flow_keeps_its_alert_and_the_flow_record_says_so() {
        let mut run = Run::new(&[Detection::DirectIp], T0, None);
        // An answer for another address does not help.
        run.merge
            .on_dns_answers(T0, &[("203.0.113.8".parse().unwrap(), 60)]);
        assert_eq!(run.verdict(), Verdict::Unresolved);
        let released = run.first_object();
        assert_eq!(run.alert(released), [Detection::DirectIp]);
        assert!(run.merge.on_flow_end(1, 42), "alerted");
        // Forgotten: a second end (or a reused id) knows nothing of it.
        assert!(!run.merge.on_flow_end(1, 42));
        assert!(!run.merge.on_alert(&run.candidate()));
    }

    #[test]
    fn an_answer_after_the_flow_started_counts_until_the_alert() {
        // A SPAN port delivers the answer just after the SYN it enabled: the alert, decided
        // with the flow's first app-layer object, sees it.
        let mut run = Run::new(&[Detection::DirectIp], T0, None);
        assert_eq!(run.verdict(), Verdict::Unresolved);
        run.answer(60, T0.plus_secs(0));
        let released = run.first_object();
        assert_eq!(run.alert(released), [], "resolved late");
        assert_eq!(run.merge.resolved_late, 1);
        assert!(!run.merge.on_flow_end(1, 42), "not alerted");
    }

    #[test]
    fn an_answer_after_the_alert_does_not_count() {
        let mut run = Run::new(&[Detection::DirectIp], T0, None);
        assert_eq!(run.verdict(), Verdict::Unresolved);
        let released = run.first_object();
        assert_eq!(run.alert(released), [Detection::DirectIp]);
        // Same packet time, but later in the capture than the alert.
        run.answer(60, T0);
        // The next flow to the same server is resolved.
        let next = Candidate {
            flow_id: 43,
            server: server(),
            ts: T0.plus_secs(1),
        };
        assert_eq!(run.merge.on_flow_start(0, &next, true), Verdict::Resolved);
    }

    #[test]
    fn an_answer_counts_for_its_ttl_plus_the_grace_period() {
        // TTL 30 s + grace 10 s: resolved up to 40 s after the answer, inclusive.
        for (after, verdict) in [
            (0, Verdict::Resolved),
            (40, Verdict::Resolved),
            (41, Verdict::Unresolved),
        ] {
            let mut run = Run::new(&[Detection::DirectIp], T0.plus_secs(after), None);
            run.answer(30, T0);
            // A shorter later answer never shortens the lifetime.
            run.answer(0, T0.plus_secs(0));
            assert_eq!(run.verdict(), verdict, "{after} s after the answer");
        }
    }

    #[test]
    fn flows_that_start_during_the_warm_up_are_not_checked() {
        let from = Some(T0.plus_secs(60));
        let mut early = Run::new(&[Detection::DirectIp], T0.plus_secs(59), from);
        assert_eq!(early.verdict(), Verdict::WarmUp);
        assert_eq!(early.first_object(), DetectionSet::default());
        let mut late = Run::new(&[Detection::DirectIp], T0.plus_secs(60), from);
        assert_eq!(late.verdict(), Verdict::Unresolved);
    }

    #[test]
    fn a_shard_ahead_of_the_verdict_sends_the_alert_and_the_merge_stage_drops_it() {
        // The flow ends on its shard (the held alert is released without an object) before the
        // merge stage has reached the flow's start: no mark yet, so the alert travels.
        let mut run = Run::new(&[Detection::DirectIp], T0.plus_secs(1), None);
        assert!(run.held.is_waiting());
        let released = run.held.take();
        assert!(!run.held.is_waiting());
        assert!(!run.marks().take(42), "no verdict yet");
        // The merge stage then reaches the answer, the start, the alert and the end in order.
        run.answer(60, T0);
        assert_eq!(run.verdict(), Verdict::Resolved);
        assert!(!run.merge.on_alert(&run.candidate()), "dropped");
        assert!(!run.merge.on_flow_end(1, 42));
        assert_eq!(run.merge.marks().len(), 0, "the unread mark is forgotten");
        assert_eq!(released, set(&[Detection::DirectIp]));
    }

    #[test]
    fn held_detections_wait_for_the_first_object_for_one_second_at_most() {
        let (held, _) = Held::start(set(&[Detection::DirectIp]), 1, server(), T0);
        let half = Timestamp(T0.0 + 500_000_000);
        assert!(!held.due(half, T0, true), "still inspecting, 0.5 s old");
        assert!(held.due(T0.plus_secs(HOLD_SECS), T0, true), "1 s old");
        assert!(
            held.due(T0, T0, false),
            "the app layer will produce nothing"
        );
        assert!(
            !Held::default().due(T0.plus_secs(5), T0, false),
            "nothing held"
        );
    }

    #[test]
    fn ioc_ip_is_held_beside_direct_ip_but_never_decided_by_dns() {
        let mut run = Run::new(&[Detection::IocIp, Detection::DirectIp], T0, None);
        run.answer(60, T0);
        assert_eq!(run.verdict(), Verdict::Resolved);
        let released = run.first_object();
        assert_eq!(run.alert(released), [Detection::IocIp]);
        // Without `direct-ip` nothing is announced.
        let (held, candidate) = Held::start(set(&[Detection::IocIp]), 7, server(), T0);
        assert!(held.is_waiting() && candidate.is_none());
        let (held, candidate) = Held::start(DetectionSet::default(), 8, server(), T0);
        assert!(!held.is_waiting() && candidate.is_none());
    }

    #[test]
    fn a_direct_ip_alert_on_a_flow_never_announced_is_dropped() {
        // An HTTP request with an IP-literal Host on a flow that was not a candidate (its
        // server allowlisted, say): there is no "unresolved" verdict for it to stand on.
        let mut merge = Verdicts::new(1, 10, None);
        let c = Candidate {
            flow_id: 99,
            server: server(),
            ts: T0,
        };
        assert!(!merge.on_alert(&c));
        assert!(!merge.on_flow_end(0, 99));
    }

    #[test]
    fn marks_belong_to_their_shard() {
        let mut merge = Verdicts::new(2, 10, None);
        merge.on_dns_answers(T0, &[(server(), 60)]);
        let c = Candidate {
            flow_id: 5,
            server: server(),
            ts: T0,
        };
        assert_eq!(merge.on_flow_start(1, &c, true), Verdict::Resolved);
        assert!(!merge.marks().shard(0).take(5));
        assert!(merge.marks().shard(1).take(5));
        assert!(!merge.marks().shard(1).take(5), "taken once");
    }
}
