//! The fanout route: several capture threads, each reading its own kernel rings (AF_PACKET
//! fanout, [`crate::capture::fanout`]: a flow's packets, both directions, always reach the same
//! ring) and running the whole per-packet path itself: its own [`Dispatcher`] (decode,
//! defragment, time, ticks, `stats`) and its own shard. One merge thread puts every shard's
//! messages back into sequence order and writes, as with [`super::threads`].
//!
//! Ordering: each dispatcher numbers its items by capture time ([`time_seq`]: nanoseconds since
//! the epoch, or one more than its last number when that is not higher), so the merge stage,
//! which releases messages in sequence order, interleaves the rings in capture order. Numbering
//! in the order the threads happened to read would not do: a ring hands its packets over a
//! block at a time (when full, or after the 10 ms block timeout), so a thread may read a
//! connection's ClientHello before another reads the DNS answer that preceded it, and
//! `direct-ip` would see the connection unresolved (the test of this module's first version
//! did). A thread that sends its messages reports as progress one more than its last number;
//! an idle one first raises its last number to the wall clock less [`LAG`] (its rings may still
//! hold what arrived since), every time it waits ([`IDLE_POLL`]), so the merge stage never
//! waits long on a quiet ring. A packet read later than [`LAG`] after its capture keeps its
//! thread's order but is placed after what other rings delivered meanwhile.
//!
//! What differs from one capture thread: each thread keeps its own packet clock (ticks and
//! `stats` intervals run per thread; the merge stage sums the k-th `stats` snapshot of every
//! thread, [`super::merge`]), a signature reload takes effect in each thread at its own next
//! item, and `pcap_cnt` counts the frames of each thread's rings.

use super::dispatch::{Dispatch, Dispatcher, Input, Raw, Route};
use super::threads::{run_merger, MergeMsg, WORKER_QUEUE};
use super::{finish_shard, reload_shard, shard_stats, totals, Finished, PipelineConfig};
use crate::capture::live::wall_clock_less;
use crate::counters::Counters;
use crate::detect::Detector;
use crate::engine::output::{OutBuf, ShardStats};
use crate::engine::{Engine, PacketInfo, SHUTDOWN_SEQ};
use crate::eve::EventSink;
use crossbeam_channel::Sender;
use proto::decode::{Packet, Tunnel};
use proto::Timestamp;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest a capture thread waits for packets before it reports its progress again.
pub const IDLE_POLL: Duration = Duration::from_millis(10);
/// How long after its capture a packet may still be read from its ring (the ring's 10 ms block
/// timeout, and the thread's wake-up): an idle thread vouches for its rings up to the wall
/// clock less this. Also what an idle ring delays the other rings' events by.
pub const LAG: Duration = Duration::from_millis(50);

/// The sequence number of an item at capture time `ts` in a fanout run: its nanoseconds
/// since the epoch (below [`SHUTDOWN_SEQ`] for centuries).
pub(crate) fn time_seq(ts: Timestamp) -> u64 {
    ts.0.max(0) as u64
}
/// Items a capture thread handles before it sends its messages and progress, when busy.
const FLUSH_ITEMS: u32 = 256;

/// A capture thread's route: straight into its own shard; messages to the merge thread.
struct FanoutRoute<'a> {
    shard: usize,
    engine: Engine,
    /// The dispatcher's last sequence number.
    last: &'a AtomicU64,
    out: OutBuf,
    merge: Sender<MergeMsg>,
    since_flush: u32,
    /// The dispatcher is finishing: its last `stats` snapshot belongs to the final round.
    finishing: bool,
}

impl FanoutRoute<'_> {
    /// Sends the messages held, with progress `progress`.
    fn send(&mut self, progress: u64) {
        let outputs = std::mem::take(&mut self.out);
        // A merge thread that is gone has panicked; its join reports it.
        let _ = self.merge.send(MergeMsg {
            shard: self.shard,
            outputs,
            progress,
        });
        self.since_flush = 0;
    }

    /// Sends the messages held: every item this thread numbered is done, and any number it
    /// takes from now on is above its last one.
    fn flush(&mut self) {
        let progress = self.last.load(Ordering::Relaxed) + 1;
        self.send(progress);
    }

    fn counted(&mut self) {
        self.since_flush += 1;
        if self.since_flush >= FLUSH_ITEMS {
            self.flush();
        }
    }
}

impl Route for FanoutRoute<'_> {
    fn packet(
        &mut self,
        info: &PacketInfo,
        pkt: &Packet<'_>,
        tunnel: &Tunnel,
        _raw: Raw<'_>,
        _cut: bool,
    ) {
        self.engine.on_packet(info, pkt, tunnel, &mut self.out);
        self.counted();
    }

    fn tick(&mut self, seq: u64, ts: Timestamp) {
        self.engine.on_tick(seq, ts, &mut self.out);
        self.counted();
    }

    fn stats(&mut self, seq: u64, ts: Timestamp, dispatcher: &Counters) {
        let seq = if self.finishing { SHUTDOWN_SEQ } else { seq };
        let message = shard_stats(&self.engine, seq, ts, Some(dispatcher));
        self.out.msgs.push(message);
        self.counted();
    }

    fn idle(&mut self) {
        // The rings hold nothing older than the lag any more: number from there on.
        let floor = time_seq(wall_clock_less(LAG));
        if self.last.load(Ordering::Relaxed) < floor {
            self.last.store(floor, Ordering::Relaxed);
        }
        self.flush();
    }

    fn reload(&mut self, seq: u64, detector: &Arc<Detector>) {
        let message = reload_shard(&mut self.engine, seq, detector);
        self.out.msgs.push(message);
        self.counted();
    }
}

/// What one capture thread hands back: the feed's result, its shard's and its dispatcher's
/// counters.
type Done<T> = (T, ShardStats, Counters);

/// One capture thread: `feed` reads `ring` into the pipeline until it returns; then the
/// thread's last `stats` snapshot, every flow of its shard ended, and its end of input.
fn capture_thread<R, T>(
    shard: usize,
    engine: Engine,
    config: &PipelineConfig,
    merge: Sender<MergeMsg>,
    ring: R,
    feed: &(dyn Fn(usize, R, &mut dyn Input) -> T + Sync),
) -> Done<T> {
    let last = Arc::new(AtomicU64::new(0));
    let mut dispatcher = Dispatcher::new(config.stats_interval, config.decode, config.checksums)
        .numbered_by_time(last.clone());
    let mut route = FanoutRoute {
        shard,
        engine,
        last: &last,
        out: OutBuf::default(),
        merge,
        since_flush: 0,
        finishing: false,
    };
    let result = feed(
        shard,
        ring,
        &mut Dispatch {
            dispatcher: &mut dispatcher,
            route: &mut route,
        },
    );
    route.finishing = true;
    dispatcher.finish(&mut route);
    // This thread takes no number any more: everything before the end of input is in.
    route.send(SHUTDOWN_SEQ);
    let FanoutRoute { engine, merge, .. } = route;
    let stats = finish_shard(shard, engine, &merge);
    (result, stats, dispatcher.counters)
}

/// The system would not start a thread: nothing was read; the rings and the sink come back.
pub struct Refused<W, R> {
    pub error: std::io::Error,
    pub rings: Vec<R>,
    pub sink: W,
}

/// Runs one capture thread per element of `rings` (`feed(thread, ring, input)` reads it) and a
/// merge thread; `control` runs on the caller's thread meanwhile (signals, reloads) and must
/// return once the feeds do. Returns every feed's result, in order, once every event is written.
pub fn run<W, R, T>(
    config: &PipelineConfig,
    sink: W,
    rings: Vec<R>,
    feed: &(dyn Fn(usize, R, &mut dyn Input) -> T + Sync),
    control: &mut dyn FnMut(),
) -> Result<(Vec<T>, Finished<W>), Refused<W, R>>
where
    W: EventSink + Send,
    R: Send,
    T: Send,
{
    let n = rings.len().max(1);
    let config = PipelineConfig {
        threads: n,
        ..config.clone()
    };
    let (merge_tx, merge_rx) = crossbeam_channel::bounded::<MergeMsg>(n * WORKER_QUEUE);
    let merger = config.merger(sink);
    let resolved = merger.marks().clone();
    // Each thread takes its rings once every thread (and the merge thread) has started; if one
    // cannot start, nobody takes them and they go back to the caller.
    let slots: Vec<Mutex<Option<R>>> = rings.into_iter().map(|r| Mutex::new(Some(r))).collect();
    let parked = Mutex::new(Some(merger));
    let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(n);
    let outcome = std::thread::scope(|scope| {
        let mut threads = Vec::with_capacity(n);
        let mut refusal = None;
        for (shard, slot) in slots.iter().enumerate() {
            let engine = Engine::new(config.shard_config(shard, &resolved));
            let (merge, go, config) = (merge_tx.clone(), go_rx.clone(), &config);
            let spawned = std::thread::Builder::new()
                .name(format!("capture-{shard}"))
                .spawn_scoped(scope, move || {
                    go.recv().ok()?;
                    let ring = slot.lock().ok()?.take()?;
                    Some(capture_thread(shard, engine, config, merge, ring, feed))
                });
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    refusal = Some(e);
                    break;
                }
            }
        }
        let merge_thread = match refusal {
            Some(_) => None,
            None => std::thread::Builder::new()
                .name("eve-merge".into())
                .spawn_scoped(scope, || {
                    let merger = parked.lock().ok().and_then(|mut m| m.take());
                    merger.map(|m| run_merger(m, merge_rx))
                })
                .map_err(|e| refusal = Some(e))
                .ok(),
        };
        drop(merge_tx);
        if let Some(error) = refusal {
            // Nobody starts: the threads see the channel closed and end without their rings.
            drop(go_tx);
            for t in threads {
                let _ = t.join();
            }
            return Err(error);
        }
        for _ in 0..n {
            let _ = go_tx.send(());
        }
        control();
        let done: Vec<Option<Done<T>>> = threads
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        let merger = merge_thread
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .and_then(|m| m);
        Ok((done, merger))
    });
    match outcome {
        Ok((done, Some(merger))) => {
            let mut results = Vec::with_capacity(n);
            let mut dispatchers = Counters::default();
            let mut shards = Vec::with_capacity(n);
            for (result, shard, dispatcher) in done.into_iter().flatten() {
                results.push(result);
                shards.push(shard);
                dispatchers.add(&dispatcher);
            }
            let counters = totals(&dispatchers, &shards, &merger.counters);
            Ok((
                results,
                Finished {
                    sink: merger.sink,
                    counters,
                    notes: Vec::new(),
                },
            ))
        }
        Ok((_, None)) => super::unreachable_merge_stage(),
        Err(error) => {
            let Some(merger) = parked.into_inner().ok().flatten() else {
                super::unreachable_merge_stage()
            };
            let rings = slots
                .into_iter()
                .filter_map(|s| s.into_inner().ok().flatten())
                .collect();
            Err(Refused {
                error,
                rings,
                sink: merger.sink,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Frame;
    use crate::engine::checksum::ChecksumValidation;
    use proto::decode::DecodeConfig;

    /// Records the sequence number of every item.
    #[derive(Default)]
    struct Seqs(Vec<u64>);

    impl Route for Seqs {
        fn packet(&mut self, info: &PacketInfo, _: &Packet<'_>, _: &Tunnel, _: Raw<'_>, _: bool) {
            self.0.push(info.seq);
        }
        fn tick(&mut self, seq: u64, _: Timestamp) {
            self.0.push(seq);
        }
        fn stats(&mut self, seq: u64, _: Timestamp, _: &Counters) {
            self.0.push(seq);
        }
        fn reload(&mut self, seq: u64, _: &Arc<Detector>) {
            self.0.push(seq);
        }
    }

    #[test]
    fn dispatchers_of_a_fanout_number_by_capture_time_and_never_go_back() {
        // An Ethernet frame of a UDP datagram 10.0.0.1:5000 -> 192.0.2.1:53, no payload.
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&[0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0]);
        frame.extend_from_slice(&[10, 0, 0, 1, 192, 0, 2, 1]);
        frame.extend_from_slice(&[0x13, 0x88, 0, 53, 0, 8, 0, 0]);
        let last = Arc::new(AtomicU64::new(0));
        let mut dispatcher = Dispatcher::new(0, DecodeConfig::default(), ChecksumValidation::Auto)
            .numbered_by_time(last.clone());
        let mut seqs = Seqs::default();
        let feed = |d: &mut Dispatcher, seqs: &mut Seqs, i: usize, ts: Timestamp| {
            let frame = Frame {
                index: i as u64 + 1,
                ts,
                linktype: 1,
                data: &frame,
                orig_len: frame.len() as u32,
            };
            d.on_frame(&frame, seqs);
        };
        let t = Timestamp(1_700_000_000_000_000_000);
        // First frame: a tick (a new second), then the packet, both at its time.
        feed(&mut dispatcher, &mut seqs, 0, t);
        assert_eq!(seqs.0, [time_seq(t), time_seq(t) + 1]);
        // A frame 1 ms later is numbered by its time.
        let later = Timestamp(t.0 + 1_000_000);
        feed(&mut dispatcher, &mut seqs, 1, later);
        assert_eq!(seqs.0[2], time_seq(later));
        // A frame read late, from before the last number: one more than the last.
        feed(&mut dispatcher, &mut seqs, 2, Timestamp(t.0 + 10));
        assert_eq!(seqs.0[3], time_seq(later) + 1);
        // The route raised the last number (an idle thread's floor): numbers go on above it.
        last.store(time_seq(later) + 5_000, Ordering::Relaxed);
        feed(&mut dispatcher, &mut seqs, 3, later);
        assert_eq!(seqs.0[4], time_seq(later) + 5_001);
        assert_eq!(last.load(Ordering::Relaxed), seqs.0[4]);
    }
}
