//! The flow table of one shard: flows live in a slab (one allocation, reused slots), an index of
//! 4-byte slot numbers finds them by 5-tuple, and every flow sits on one of four least-recently-
//! seen lists (TCP new, established, closed; UDP), so that expiry only looks at the flows that are
//! due and a full table evicts the flow that has been idle longest. Memory is accounted per flow
//! (slot, index share, and the app-layer buffers the caller reports) against a hard cap.

use super::{client_of, Direction, Flow, FlowKey, FlowMeta, TcpPhase, Timeouts};
use hashbrown::HashTable;
use proto::decode::{Packet, Proto};
use proto::Timestamp;
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;

/// Marks "no slot" in the list links.
const NIL: u32 = u32::MAX;
/// Bytes of index each flow is charged: a 4-byte slot number plus a control byte, doubled for the
/// table's load factor and growth headroom.
const INDEX_BYTES_PER_FLOW: usize = 16;
/// The smallest memcap accepted: room for a few hundred flows with full reassembly buffers.
pub(crate) const MIN_MEMCAP: usize = 1 << 20;
/// Default flow memcap: 256 MiB.
pub const DEFAULT_MEMCAP: usize = 256 << 20;

/// Which timeout (and which least-recently-seen list) applies to a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    TcpNew = 0,
    TcpEstablished = 1,
    TcpClosed = 2,
    Udp = 3,
}

impl Class {
    fn of(meta: &FlowMeta) -> Self {
        match (meta.proto, meta.tcp_phase) {
            (Proto::Udp, _) => Class::Udp,
            (Proto::Tcp, TcpPhase::New) => Class::TcpNew,
            (Proto::Tcp, TcpPhase::Established) => Class::TcpEstablished,
            (Proto::Tcp, TcpPhase::Closed) => Class::TcpClosed,
        }
    }
}

/// A slab slot: a live flow with its list links, or a free slot.
pub(crate) struct Slot<S> {
    flow: Option<Flow<S>>,
    prev: u32,
    /// Next on the flow's list, or next free slot.
    next: u32,
    class: Class,
    /// App-layer buffer bytes last reported for this flow.
    heap: u32,
}

#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
}

/// What the table has done, for the summary and `stats` events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TableStats {
    /// Flows created.
    pub(crate) created: u64,
    pub(crate) created_tcp: u64,
    pub(crate) created_udp: u64,
    /// Flows ended by their idle timeout.
    pub(crate) timed_out: u64,
    /// Flows evicted to stay under the memcap.
    pub(crate) evicted: u64,
    /// Most bytes in use at once.
    pub(crate) peak_memuse: u64,
    /// Flows ended by a new connection on their 5-tuple.
    pub(crate) tcp_reuse: u64,
}

/// Handle of a live flow, valid until the next call that may remove flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowHandle(u32);

/// The flows of one shard.
pub struct FlowTable<S> {
    index: HashTable<u32>,
    slots: Vec<Slot<S>>,
    free: u32,
    lists: [List; 4],
    timeouts: Timeouts,
    memcap: usize,
    memuse: usize,
    live: usize,
    /// Flows removed to make room, waiting for the caller to log them ([`FlowTable::take_evicted`]).
    evicted: Vec<Flow<S>>,
    /// Flows ended by a new connection on their 5-tuple ([`FlowTable::take_reused`]).
    reused: Vec<Flow<S>>,
    pub(crate) stats: TableStats,
}

impl<S> FlowTable<S> {
    /// A table with the default memcap.
    pub fn new(timeouts: Timeouts) -> Self {
        Self::with_memcap(timeouts, DEFAULT_MEMCAP)
    }

    /// A table that never holds more than `memcap` bytes of flows (the command line asks for at
    /// least [`MIN_MEMCAP`] in all, split between shards).
    pub(crate) fn with_memcap(timeouts: Timeouts, memcap: usize) -> Self {
        FlowTable {
            index: HashTable::new(),
            slots: Vec::new(),
            free: NIL,
            lists: [List {
                head: NIL,
                tail: NIL,
            }; 4],
            timeouts,
            // A shard's share may be small, but never too small for a few flows.
            memcap: memcap.max(64 * Self::flow_bytes()),
            memuse: 0,
            live: 0,
            evicted: Vec::new(),
            reused: Vec::new(),
            stats: TableStats::default(),
        }
    }

    /// Bytes one flow costs before its app-layer buffers.
    pub(crate) const fn flow_bytes() -> usize {
        std::mem::size_of::<Slot<S>>() + INDEX_BYTES_PER_FLOW
    }

    /// Number of live flows.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// The live flows, in slot order.
    #[cfg(test)]
    pub(crate) fn flows(&self) -> impl Iterator<Item = &Flow<S>> {
        self.slots.iter().filter_map(|s| s.flow.as_ref())
    }

    /// Bytes in use now (flows and their reported buffers).
    pub(crate) fn memuse(&self) -> usize {
        self.memuse
    }

    /// The memcap in bytes.
    pub(crate) fn memcap(&self) -> usize {
        self.memcap
    }

    /// The flow of `pkt` (`wire_len` bytes on the wire), created with `new_state` when it is new;
    /// with the packet's direction and whether the flow was just created. Counters, times and the
    /// flow's place on its list are updated. Creating a flow in a full table evicts the flow idle
    /// longest (collect it with [`FlowTable::take_evicted`]).
    pub fn lookup_or_create(
        &mut self,
        ts: Timestamp,
        pkt: &Packet<'_>,
        wire_len: u64,
        new_state: impl FnOnce() -> S,
    ) -> (FlowHandle, Direction, bool) {
        let key = FlowKey::of(pkt);
        let hash = key.symmetric_hash();
        let slots = &self.slots;
        let found = self
            .index
            .find(hash, |&i| slot_key(&slots[i as usize]) == Some(key))
            .copied();
        let (idx, created) = match found {
            Some(i) if self.is_reused(i, pkt) => {
                let old = self.remove(i);
                self.stats.tcp_reuse += 1;
                self.reused.push(old);
                (self.create(ts, pkt, key, hash, new_state), true)
            }
            Some(i) => (i, false),
            None => (self.create(ts, pkt, key, hash, new_state), true),
        };
        let slot = &mut self.slots[idx as usize];
        let flow = slot.flow.as_mut().expect("indexed slot is live");
        let dir = flow.meta.direction(pkt);
        let i = if dir == Direction::ToServer { 0 } else { 1 };
        flow.meta.pkts[i] += 1;
        flow.meta.bytes[i] += wire_len;
        flow.meta.last_ts = flow.meta.last_ts.max(ts);
        if let Some(tcp) = pkt.tcp {
            if tcp.rst || tcp.fin {
                flow.meta.tcp_phase = TcpPhase::Closed;
            } else if flow.meta.tcp_phase == TcpPhase::New && tcp.ack_flag && !tcp.syn {
                flow.meta.tcp_phase = TcpPhase::Established;
            }
        }
        let class = Class::of(&flow.meta);
        self.unlink(idx);
        self.push_back(idx, class);
        (FlowHandle(idx), dir, created)
    }

    /// Whether `pkt` opens a new connection on the 5-tuple of the flow in slot `idx`: a SYN
    /// without ACK, with another initial sequence number, on a flow that saw a FIN or RST.
    fn is_reused(&self, idx: u32, pkt: &Packet<'_>) -> bool {
        let Some(tcp) = pkt.tcp.filter(|t| t.syn && !t.ack_flag) else {
            return false;
        };
        self.slots[idx as usize].flow.as_ref().is_some_and(|f| {
            f.meta.tcp_phase == TcpPhase::Closed && f.meta.isn != NonZeroU32::new(tcp.seq)
        })
    }

    /// Whether flows replaced by a new connection wait to be logged.
    pub(crate) fn has_reused(&self) -> bool {
        !self.reused.is_empty()
    }

    /// Whether evicted flows wait to be logged.
    pub(crate) fn has_evicted(&self) -> bool {
        !self.evicted.is_empty()
    }

    /// Flows ended because a new connection reused their 5-tuple, since the last call.
    pub(crate) fn take_reused(&mut self) -> std::vec::Drain<'_, Flow<S>> {
        self.reused.drain(..)
    }

    /// The live flow behind `h`.
    pub(crate) fn get_mut(&mut self, h: FlowHandle) -> &mut Flow<S> {
        self.slots[h.0 as usize]
            .flow
            .as_mut()
            .expect("handle of a live flow")
    }

    /// Records that the flow behind `h` now holds `bytes` of app-layer buffers; evicts other
    /// flows, idle longest first, while the table is over its memcap.
    pub(crate) fn set_heap_bytes(&mut self, h: FlowHandle, bytes: usize) {
        let slot = &mut self.slots[h.0 as usize];
        let bytes = bytes.min(u32::MAX as usize) as u32;
        if slot.heap == bytes {
            return;
        }
        self.memuse = self.memuse - slot.heap as usize + bytes as usize;
        slot.heap = bytes;
        self.stats.peak_memuse = self.stats.peak_memuse.max(self.memuse as u64);
        while self.memuse > self.memcap {
            if !self.evict_oldest(Some(h.0)) {
                break;
            }
        }
    }

    /// Flows evicted for the memcap since the last call, oldest first.
    pub(crate) fn take_evicted(&mut self) -> std::vec::Drain<'_, Flow<S>> {
        self.evicted.drain(..)
    }

    /// Removes and returns a flow idle for longer than its timeout at `now`, if there is one
    /// (the longest idle of its state first).
    pub(crate) fn pop_expired(&mut self, now: Timestamp) -> Option<Flow<S>> {
        for class in [
            Class::TcpNew,
            Class::TcpEstablished,
            Class::TcpClosed,
            Class::Udp,
        ] {
            let head = self.lists[class as usize].head;
            if head == NIL {
                continue;
            }
            let last = self.slots[head as usize]
                .flow
                .as_ref()
                .map(|f| f.meta.last_ts)
                .unwrap_or_default();
            if now.secs_since(last) > self.timeout_of(class) {
                self.stats.timed_out += 1;
                return Some(self.remove(head));
            }
        }
        None
    }

    /// Removes and returns the flow idle longest (end of input: call until `None`).
    pub(crate) fn pop_oldest(&mut self) -> Option<Flow<S>> {
        let victim = self.oldest(None)?;
        Some(self.remove(victim))
    }

    fn timeout_of(&self, class: Class) -> u64 {
        match class {
            Class::TcpNew => self.timeouts.tcp_new,
            Class::TcpEstablished => self.timeouts.tcp_established,
            Class::TcpClosed => self.timeouts.tcp_closed,
            Class::Udp => self.timeouts.udp,
        }
    }

    fn create(
        &mut self,
        ts: Timestamp,
        pkt: &Packet<'_>,
        key: FlowKey,
        hash: u64,
        new_state: impl FnOnce() -> S,
    ) -> u32 {
        while self.memuse + Self::flow_bytes() > self.memcap {
            if !self.evict_oldest(None) {
                break;
            }
        }
        let (client, server) = if client_of(pkt) {
            ((pkt.src, pkt.src_port), (pkt.dst, pkt.dst_port))
        } else {
            ((pkt.dst, pkt.dst_port), (pkt.src, pkt.src_port))
        };
        let flow = Flow {
            meta: FlowMeta {
                id: flow_id(&key, ts),
                client,
                server,
                proto: pkt.proto,
                vlans: pkt.vlans,
                tunnel: pkt.tunnel,
                first_ts: ts,
                last_ts: ts,
                pkts: [0; 2],
                bytes: [0; 2],
                tcp_phase: TcpPhase::New,
                isn: pkt
                    .tcp
                    .filter(|t| t.syn && !t.ack_flag)
                    .and_then(|t| NonZeroU32::new(t.seq)),
            },
            state: new_state(),
        };
        let class = Class::of(&flow.meta);
        let idx = if self.free != NIL {
            let i = self.free;
            self.free = self.slots[i as usize].next;
            self.slots[i as usize] = Slot {
                flow: Some(flow),
                prev: NIL,
                next: NIL,
                class,
                heap: 0,
            };
            i
        } else {
            self.slots.push(Slot {
                flow: Some(flow),
                prev: NIL,
                next: NIL,
                class,
                heap: 0,
            });
            (self.slots.len() - 1) as u32
        };
        let slots = &self.slots;
        self.index.insert_unique(hash, idx, |&i| {
            slot_key(&slots[i as usize]).map_or(0, |k| k.symmetric_hash())
        });
        self.push_back(idx, class);
        self.live += 1;
        self.memuse += Self::flow_bytes();
        self.stats.created += 1;
        match pkt.proto {
            Proto::Tcp => self.stats.created_tcp += 1,
            Proto::Udp => self.stats.created_udp += 1,
        }
        self.stats.peak_memuse = self.stats.peak_memuse.max(self.memuse as u64);
        idx
    }

    /// Evicts the flow idle longest (never `keep`); `false` when there is none.
    fn evict_oldest(&mut self, keep: Option<u32>) -> bool {
        let Some(victim) = self.oldest(keep) else {
            return false;
        };
        let flow = self.remove(victim);
        self.stats.evicted += 1;
        self.evicted.push(flow);
        true
    }

    /// The slot of the flow idle longest, never `keep`.
    fn oldest(&self, keep: Option<u32>) -> Option<u32> {
        let mut best: Option<(Timestamp, u32)> = None;
        for list in &self.lists {
            let mut i = list.head;
            if Some(i) == keep && i != NIL {
                i = self.slots[i as usize].next;
            }
            if i == NIL {
                continue;
            }
            let last = self.slots[i as usize]
                .flow
                .as_ref()
                .map(|f| f.meta.last_ts)
                .unwrap_or_default();
            if best.is_none_or(|(t, _)| last < t) {
                best = Some((last, i));
            }
        }
        best.map(|(_, i)| i)
    }

    /// Takes the flow out of slot `idx`: off its list, out of the index, slot freed.
    fn remove(&mut self, idx: u32) -> Flow<S> {
        self.unlink(idx);
        let slot = &mut self.slots[idx as usize];
        let flow = slot.flow.take().expect("removing a live flow");
        let heap = slot.heap as usize;
        slot.heap = 0;
        slot.next = self.free;
        self.free = idx;
        let hash = FlowKey::of_meta(&flow.meta).symmetric_hash();
        if let Ok(entry) = self.index.find_entry(hash, |&i| i == idx) {
            entry.remove();
        }
        self.live -= 1;
        self.memuse -= Self::flow_bytes() + heap;
        flow
    }

    fn unlink(&mut self, idx: u32) {
        let (prev, next, class) = {
            let s = &self.slots[idx as usize];
            (s.prev, s.next, s.class)
        };
        let list = &mut self.lists[class as usize];
        if list.head != idx && prev == NIL {
            return; // not on a list
        }
        if prev == NIL {
            list.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[class as usize].tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let s = &mut self.slots[idx as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    fn push_back(&mut self, idx: u32, class: Class) {
        let tail = self.lists[class as usize].tail;
        {
            let s = &mut self.slots[idx as usize];
            s.class = class;
            s.prev = tail;
            s.next = NIL;
        }
        if tail == NIL {
            self.lists[class as usize].head = idx;
        } else {
            self.slots[tail as usize].next = idx;
        }
        self.lists[class as usize].tail = idx;
    }
}

fn slot_key<S>(slot: &Slot<S>) -> Option<FlowKey> {
    slot.flow.as_ref().map(|f| FlowKey::of_meta(&f.meta))
}

/// EVE `flow_id`: stable for a flow, from its key's hash and its first packet's time.
fn flow_id(key: &FlowKey, ts: Timestamp) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    ts.hash(&mut h);
    h.finish() & ((1 << 51) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::decode::TcpMeta;

    fn tcp(src: &str, sport: u16, dst: &str, dport: u16, syn: bool, ack: bool) -> Packet<'static> {
        Packet {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            src_port: sport,
            dst_port: dport,
            proto: Proto::Tcp,
            tcp: Some(TcpMeta {
                syn,
                ack_flag: ack,
                ..Default::default()
            }),
            payload: &[],
            vlans: proto::decode::Vlans::NONE,
            ip_header: &[],
            l4: &[],
            tunnel: None,
        }
    }

    fn syn_from_port(port: u16) -> Packet<'static> {
        tcp("10.0.0.1", port, "203.0.113.5", 443, true, false)
    }

    #[test]
    fn the_syn_sender_is_the_client_whatever_its_port() {
        let mut t: FlowTable<()> = FlowTable::new(Timeouts::default());
        let syn = tcp("203.0.113.5", 80, "10.0.0.1", 40000, true, false);
        let (h, dir, created) = t.lookup_or_create(Timestamp(0), &syn, 60, || ());
        assert!(created);
        assert_eq!(dir, Direction::ToServer);
        assert_eq!(t.get_mut(h).meta.client.1, 80);
    }

    #[test]
    fn a_syn_ack_seen_first_makes_its_receiver_the_client() {
        let mut t: FlowTable<()> = FlowTable::new(Timeouts::default());
        let synack = tcp("203.0.113.5", 443, "10.0.0.1", 40000, true, true);
        let (h, dir, _) = t.lookup_or_create(Timestamp(0), &synack, 60, || ());
        assert_eq!(dir, Direction::ToClient);
        assert_eq!(t.get_mut(h).meta.client.0.to_string(), "10.0.0.1");
    }

    #[test]
    fn mid_stream_pickup_guesses_by_well_known_port() {
        let mut t: FlowTable<()> = FlowTable::new(Timeouts::default());
        let data_from_server = tcp("203.0.113.5", 443, "10.0.0.1", 40000, false, true);
        let (h, dir, _) = t.lookup_or_create(Timestamp(0), &data_from_server, 60, || ());
        assert_eq!(dir, Direction::ToClient);
        assert_eq!(t.get_mut(h).meta.server.1, 443);
    }

    #[test]
    fn idle_flows_expire_on_packet_time_and_counters_add_up() {
        let mut t: FlowTable<()> = FlowTable::new(Timeouts::default());
        let syn = tcp("10.0.0.1", 40000, "203.0.113.5", 443, true, false);
        let reply = tcp("203.0.113.5", 443, "10.0.0.1", 40000, true, true);
        t.lookup_or_create(Timestamp(0), &syn, 60, || ());
        let (h, _, created) = t.lookup_or_create(Timestamp(0), &reply, 60, || ());
        assert!(!created);
        let meta = &t.get_mut(h).meta;
        assert_eq!((meta.pkts, meta.bytes), ([1, 1], [60, 60]));
        assert!(t.pop_expired(Timestamp(0).plus_secs(30)).is_none());
        assert_eq!(t.len(), 1);
        assert!(t.pop_expired(Timestamp(0).plus_secs(61)).is_some());
        assert_eq!((t.len(), t.memuse()), (0, 0));
        assert_eq!(t.stats.timed_out, 1);
    }

    #[test]
    fn each_state_has_its_own_timeout_and_a_closed_flow_behind_an_idle_one_still_expires() {
        let mut t: FlowTable<()> = FlowTable::new(Timeouts::default());
        // An established flow, idle since 0 (timeout 600 s) ...
        let est = tcp("10.0.0.1", 40001, "203.0.113.5", 443, false, true);
        t.lookup_or_create(Timestamp(0), &est, 60, || ());
        t.lookup_or_create(Timestamp(0), &est, 60, || ());
        // ... and a flow closed at 5 s (timeout 10 s).
        let fin = Packet {
            tcp: Some(TcpMeta {
                fin: true,
                ack_flag: true,
                ..Default::default()
            }),
            ..tcp("10.0.0.1", 40002, "203.0.113.5", 443, false, true)
        };
        t.lookup_or_create(Timestamp(0).plus_secs(5), &fin, 60, || ());
        let mut ended = Vec::new();
        while let Some(f) = t.pop_expired(Timestamp(0).plus_secs(16)) {
            ended.push(f.meta.client.1);
        }
        assert_eq!(ended, vec![40002]);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_full_table_evicts_the_flow_idle_longest_and_stays_under_its_cap() {
        let cap = MIN_MEMCAP;
        let per_flow = FlowTable::<()>::flow_bytes();
        let fits = cap / per_flow;
        let mut t: FlowTable<()> = FlowTable::with_memcap(Timeouts::default(), cap);
        let total = fits + 100;
        for i in 0..total {
            // Flow 0 stays busy: it is touched again and again, so it is never the victim.
            t.lookup_or_create(Timestamp(i as i64), &syn_from_port(1000), 60, || ());
            t.lookup_or_create(
                Timestamp(i as i64),
                &syn_from_port(2000 + i as u16),
                60,
                || (),
            );
            assert!(t.memuse() <= cap);
        }
        let evicted: Vec<u16> = t.take_evicted().map(|f| f.meta.client.1).collect();
        assert_eq!(evicted.len() as u64, t.stats.evicted);
        assert_eq!(evicted.len(), total + 1 - fits);
        // The oldest idle flows went first, in order; the busy flow stayed.
        assert_eq!(&evicted[..3], &[2000, 2001, 2002]);
        assert!(!evicted.contains(&1000));
        assert_eq!(t.len(), fits);
    }

    #[test]
    fn app_buffers_count_against_the_cap() {
        let mut t: FlowTable<()> = FlowTable::with_memcap(Timeouts::default(), MIN_MEMCAP);
        let (a, _, _) = t.lookup_or_create(Timestamp(0), &syn_from_port(1), 60, || ());
        let (b, _, _) = t.lookup_or_create(Timestamp(1), &syn_from_port(2), 60, || ());
        t.set_heap_bytes(a, 1000);
        assert_eq!(t.memuse(), 2 * FlowTable::<()>::flow_bytes() + 1000);
        // Flow b's buffers fill the cap: flow a, idle longest, is evicted; b stays.
        t.set_heap_bytes(b, MIN_MEMCAP - FlowTable::<()>::flow_bytes());
        assert_eq!(t.take_evicted().count(), 1);
        assert_eq!(t.len(), 1);
        assert_eq!(t.memuse(), MIN_MEMCAP);
    }

    #[test]
    fn slots_are_reused_after_flows_end() {
        let mut t: FlowTable<()> = FlowTable::new(Timeouts::default());
        for round in 0..3i64 {
            for port in 0..100 {
                t.lookup_or_create(
                    Timestamp(round * 1_000_000_000_000),
                    &syn_from_port(port),
                    60,
                    || (),
                );
            }
            let mut ended = 0;
            while t
                .pop_expired(Timestamp((round + 1) * 1_000_000_000_000))
                .is_some()
            {
                ended += 1;
            }
            assert_eq!((ended, t.len()), (100, 0));
        }
        assert_eq!(t.slots.len(), 100);
        assert_eq!(t.stats.created, 300);
        t.lookup_or_create(Timestamp(5), &syn_from_port(7), 60, || ());
        t.lookup_or_create(Timestamp(4), &syn_from_port(8), 60, || ());
        let order: Vec<u16> = std::iter::from_fn(|| t.pop_oldest())
            .map(|f| f.meta.client.1)
            .collect();
        assert_eq!(order, vec![7, 8], "in the order they were last seen");
    }

    #[test]
    fn a_new_syn_on_a_closed_flow_starts_a_new_flow() {
        let mut t: FlowTable<u32> = FlowTable::new(Timeouts::default());
        let syn = |seq| Packet {
            tcp: Some(TcpMeta {
                syn: true,
                seq,
                ..Default::default()
            }),
            ..syn_from_port(5000)
        };
        let (h, _, created) = t.lookup_or_create(Timestamp(0), &syn(100), 60, || 1);
        assert!(created);
        // A retransmitted SYN of an open flow is the same flow.
        let (h2, _, created) = t.lookup_or_create(Timestamp(1), &syn(100), 60, || 2);
        assert_eq!((h2, created), (h, false));
        let rst = Packet {
            tcp: Some(TcpMeta {
                rst: true,
                ..Default::default()
            }),
            ..syn_from_port(5000)
        };
        t.lookup_or_create(Timestamp(2), &rst, 60, || 3);
        // The same SYN again (same ISN) after the reset: still the old flow.
        let (_, _, created) = t.lookup_or_create(Timestamp(3), &syn(100), 60, || 4);
        assert!(!created);
        t.lookup_or_create(Timestamp(4), &rst, 60, || 5);
        // Another ISN: the old flow ends, a new one starts.
        let (h3, _, created) = t.lookup_or_create(Timestamp(5), &syn(9999), 60, || 6);
        assert!(created);
        let old: Vec<u32> = t.take_reused().map(|f| f.state).collect();
        assert_eq!(old, vec![1]);
        assert_eq!(t.get_mut(h3).state, 6);
        assert_eq!((t.len(), t.stats.tcp_reuse), (1, 1));
        assert_eq!(t.memuse(), FlowTable::<u32>::flow_bytes());
    }
}
