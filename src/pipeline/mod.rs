//! The packet pipeline: capture → [`dispatch`] (decode, defragment, number, time) → shards
//! ([`crate::engine`]: flows, app layer, detections) → [`merge`] (capture order, DNS-dependent
//! decisions, EVE). With one thread everything runs inline on the caller's thread; with N threads
//! the caller's thread dispatches to N worker threads over bounded channels ([`threads`]) and one
//! more thread merges and writes. Both give the same events.

pub(crate) mod dispatch;
pub mod fanout;
pub(crate) mod merge;
pub(crate) mod stats;
pub(crate) mod threads;

use crate::counters::Counters;
use crate::detect::direct_ip::ResolvedFlows;
use crate::detect::Detector;
use crate::engine::output::{OutBuf, OutKind, Output, ShardStats};
use crate::engine::ChecksumValidation;
use crate::engine::{Engine, EngineConfig, PacketInfo, SHUTDOWN_SEQ};
use crate::eve::{EveTypes, EventSink};
use crate::flow::table::DEFAULT_MEMCAP;
use crate::flow::Timeouts;
use crossbeam_channel::Sender;
pub use dispatch::Input;
use dispatch::{Dispatch, Dispatcher, Raw, Route};
use merge::Merger;
use proto::decode::{DecodeConfig, Packet, Tunnel};
use proto::Timestamp;
use std::sync::Arc;
use threads::{run_merger, run_worker, Batch, MergeMsg, ThreadedRoute, WORKER_QUEUE};

/// Default seconds of packet time between `stats` events (Suricata's default interval).
pub const DEFAULT_STATS_INTERVAL: u64 = 8;

/// How to run the pipeline.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub(crate) detector: Arc<Detector>,
    pub(crate) timeouts: Timeouts,
    /// Flow memory cap for all shards together, in bytes.
    pub(crate) flow_memcap: usize,
    /// Worker threads (1: everything on the caller's thread).
    pub threads: usize,
    pub(crate) dns_grace_secs: u64,
    /// Seconds of packet time between `stats` events (0: only the final one).
    pub stats_interval: u64,
    /// The event types written.
    pub(crate) eve_types: EveTypes,
    /// Flows that start before this packet time are not checked for `direct-ip` (the warm-up of
    /// a live sensor: it has not seen the DNS answers given before it started).
    pub(crate) direct_ip_from: Option<Timestamp>,
    /// Whether packets with wrong checksums are inspected.
    pub(crate) checksums: ChecksumValidation,
    /// The UDP ports decoded as tunnels.
    pub(crate) decode: DecodeConfig,
}

impl PipelineConfig {
    /// Every default, with `detector`.
    pub fn new(detector: Arc<Detector>) -> Self {
        PipelineConfig {
            detector,
            timeouts: Timeouts::default(),
            flow_memcap: DEFAULT_MEMCAP,
            threads: 1,
            dns_grace_secs: crate::detect::direct_ip::DEFAULT_DNS_GRACE_SECS,
            stats_interval: DEFAULT_STATS_INTERVAL,
            eve_types: EveTypes::ALL,
            direct_ip_from: None,
            checksums: ChecksumValidation::Auto,
            decode: DecodeConfig::default(),
        }
    }

    fn merger<W: EventSink>(&self, sink: W) -> Merger<W> {
        let shards = self.threads.max(1);
        let mut merger = Merger::new(
            sink,
            shards,
            self.dns_grace_secs,
            self.direct_ip_from,
            self.detector.clone(),
        );
        merger.log = self.eve_types;
        merger
    }

    fn shard_config(&self, shard: usize, resolved: &Arc<ResolvedFlows>) -> EngineConfig {
        EngineConfig {
            shard,
            resolved: resolved.clone(),
            detector: self.detector.clone(),
            timeouts: self.timeouts,
            flow_memcap: self.flow_memcap / self.threads.max(1),
            eve_types: self.eve_types,
            checksums: self.checksums,
        }
    }
}

/// What a finished run hands back.
pub struct Finished<W> {
    pub(crate) sink: W,
    /// Everything counted, all stages together.
    pub counters: Counters,
    /// What the run had to do differently (threads the system would not start).
    pub(crate) notes: Vec<String>,
}

/// Runs the pipeline: `feed` is called once with the sink that takes each captured frame;
/// its result is returned with the sink and the counters once every event is written.
pub fn run<W, T>(
    config: &PipelineConfig,
    sink: W,
    feed: impl FnOnce(&mut dyn Input) -> T,
) -> (T, Finished<W>)
where
    W: EventSink + Send,
{
    if config.threads <= 1 {
        run_inline(config, sink, feed)
    } else {
        run_threaded(config, sink, feed)
    }
}

/// Switches `engine` to `detector` at item `seq`, and the message that tells the merge stage:
/// it judges hidden-destination with the new signatures from that item on (with several shards,
/// every one says so; the first word counts).
fn reload_shard(engine: &mut Engine, seq: u64, detector: &Arc<Detector>) -> Output {
    engine.set_detector(detector.clone());
    Output {
        seq,
        kind: OutKind::Detector(detector.clone()),
    }
}

/// The `stats` message of `engine` at item `seq`, packet time `ts`, with the dispatcher's
/// counters when this shard carries them.
fn shard_stats(engine: &Engine, seq: u64, ts: Timestamp, dispatcher: Option<&Counters>) -> Output {
    let mut stats = engine.stats();
    stats.ts = ts;
    if let Some(d) = dispatcher {
        stats.counters.add(d);
    }
    Output {
        seq,
        kind: OutKind::Stats(Box::new(stats)),
    }
}

/// End of input for a shard that runs on a thread of its own: ends its flows and sends their
/// messages to the merge stage in pieces (each releasable once every shard is at the end), then
/// says it is done. Returns the shard's counters.
fn finish_shard(shard: usize, mut engine: Engine, merge: &Sender<MergeMsg>) -> ShardStats {
    let mut outputs = OutBuf::default();
    let stats = engine.finish(SHUTDOWN_SEQ, &mut outputs, |o| {
        let _ = merge.send(MergeMsg {
            shard,
            outputs: std::mem::take(o),
            progress: SHUTDOWN_SEQ,
        });
    });
    let _ = merge.send(MergeMsg {
        shard,
        outputs: OutBuf::default(),
        progress: u64::MAX,
    });
    stats
}

/// The single-threaded route: straight into the one shard, its messages straight to the merger.
struct InlineRoute<'a, W: EventSink> {
    engine: &'a mut Engine,
    merger: &'a mut Merger<W>,
    out: OutBuf,
}

impl<W: EventSink> InlineRoute<'_, W> {
    fn pass_on(&mut self) {
        if !self.out.is_empty() {
            self.merger.accept_in_order(&mut self.out);
        }
    }
}

impl<W: EventSink> Route for InlineRoute<'_, W> {
    fn packet(
        &mut self,
        info: &PacketInfo,
        pkt: &Packet<'_>,
        tunnel: &Tunnel,
        _raw: Raw<'_>,
        _cut: bool,
    ) {
        self.engine.on_packet(info, pkt, tunnel, &mut self.out);
        self.pass_on();
    }

    fn tick(&mut self, seq: u64, ts: Timestamp) {
        self.engine.on_tick(seq, ts, &mut self.out);
        self.pass_on();
    }

    fn idle(&mut self) {
        self.merger.idle();
    }

    fn reload(&mut self, seq: u64, detector: &Arc<Detector>) {
        let message = reload_shard(self.engine, seq, detector);
        self.out.msgs.push(message);
        self.pass_on();
    }

    fn stats(&mut self, seq: u64, ts: Timestamp, dispatcher: &Counters) {
        let message = shard_stats(self.engine, seq, ts, Some(dispatcher));
        self.out.msgs.push(message);
        self.pass_on();
    }
}

fn run_inline<W: EventSink + Send, T>(
    config: &PipelineConfig,
    sink: W,
    feed: impl FnOnce(&mut dyn Input) -> T,
) -> (T, Finished<W>) {
    let mut merger = config.merger(sink);
    let mut engine = Engine::new(config.shard_config(0, merger.marks()));
    let mut dispatcher = Dispatcher::new(config.stats_interval, config.decode, config.checksums);
    let mut route = InlineRoute {
        engine: &mut engine,
        merger: &mut merger,
        out: OutBuf::default(),
    };
    let result = feed(&mut Dispatch {
        dispatcher: &mut dispatcher,
        route: &mut route,
    });
    dispatcher.finish(&mut route);
    let mut out = OutBuf::default();
    let shard = engine.finish(SHUTDOWN_SEQ, &mut out, |o| merger.accept_in_order(o));
    let counters = totals(&dispatcher.counters, &[shard], &merger.counters);
    (
        result,
        Finished {
            sink: merger.sink,
            counters,
            notes: Vec::new(),
        },
    )
}

fn run_threaded<W: EventSink + Send, T>(
    config: &PipelineConfig,
    sink: W,
    feed: impl FnOnce(&mut dyn Input) -> T,
) -> (T, Finished<W>) {
    let n = config.threads;
    let (merge_tx, merge_rx) = crossbeam_channel::bounded::<MergeMsg>(n * WORKER_QUEUE);
    let (recycle_tx, recycle_rx) = crossbeam_channel::bounded::<Batch>(n * WORKER_QUEUE);
    // The merge stage waits here until its thread takes it, so that the sink is not lost if
    // the thread cannot start.
    let merger = config.merger(sink);
    let resolved = merger.marks().clone();
    let parked = std::sync::Mutex::new(Some(merger));
    let started = std::thread::scope(|scope| {
        let merge_thread = std::thread::Builder::new()
            .name("eve-merge".into())
            .spawn_scoped(scope, || {
                let merger = parked.lock().ok().and_then(|mut m| m.take());
                merger.map(|m| run_merger(m, merge_rx))
            });
        let merge_thread = match merge_thread {
            Ok(handle) => handle,
            Err(e) => return Err((e, feed)),
        };
        let (to_workers, workers) =
            match spawn_workers(scope, config, &resolved, &recycle_tx, &merge_tx) {
                Ok(started) => started,
                Err(e) => {
                    // Nothing was read yet: with every channel closed the merge thread ends;
                    // its merge stage goes back on the shelf for a run on this thread.
                    drop((merge_tx, recycle_tx));
                    if let Ok(Some(merger)) = merge_thread.join() {
                        if let Ok(mut slot) = parked.lock() {
                            *slot = Some(merger);
                        }
                    }
                    return Err((e, feed));
                }
            };
        drop((merge_tx, recycle_tx));
        let mut dispatcher =
            Dispatcher::new(config.stats_interval, config.decode, config.checksums);
        let mut route = ThreadedRoute::new(to_workers, recycle_rx);
        let result = feed(&mut Dispatch {
            dispatcher: &mut dispatcher,
            route: &mut route,
        });
        dispatcher.finish(&mut route);
        route.flush_all();
        drop(route);
        let shards: Vec<ShardStats> = workers
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        let merger = merge_thread
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        Ok((result, dispatcher.counters, shards, merger))
    });
    match started {
        Ok((result, dispatcher, shards, Some(merger))) => {
            let counters = totals(&dispatcher, &shards, &merger.counters);
            (
                result,
                Finished {
                    sink: merger.sink,
                    counters,
                    notes: Vec::new(),
                },
            )
        }
        Ok((_, _, _, None)) => unreachable_merge_stage(),
        Err((e, feed)) => {
            let Some(merger) = parked.into_inner().ok().flatten() else {
                unreachable_merge_stage()
            };
            run_after_refusal(config, merger.sink, feed, &e)
        }
    }
}

/// The channel into each worker and the worker threads of a threaded run.
type Workers<'scope> = (
    Vec<Sender<Batch>>,
    Vec<std::thread::ScopedJoinHandle<'scope, ShardStats>>,
);

/// Starts one worker thread per shard. If the system refuses one, the workers already started
/// are stopped (their channels closed) and joined, and the error is returned.
fn spawn_workers<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    config: &PipelineConfig,
    resolved: &Arc<ResolvedFlows>,
    recycle_tx: &Sender<Batch>,
    merge_tx: &Sender<MergeMsg>,
) -> Result<Workers<'scope>, std::io::Error> {
    let n = config.threads;
    let mut to_workers = Vec::with_capacity(n);
    let mut workers = Vec::with_capacity(n);
    for shard in 0..n {
        let (tx, rx) = crossbeam_channel::bounded::<Batch>(WORKER_QUEUE);
        to_workers.push(tx);
        let engine = Engine::new(config.shard_config(shard, resolved));
        let (recycle, merge) = (recycle_tx.clone(), merge_tx.clone());
        let decode = config.decode;
        let spawned = std::thread::Builder::new()
            .name(format!("worker-{shard}"))
            .spawn_scoped(scope, move || {
                run_worker(shard, engine, decode, rx, recycle, merge)
            });
        match spawned {
            Ok(handle) => workers.push(handle),
            Err(e) => {
                drop(to_workers);
                for w in workers {
                    let _ = w.join();
                }
                return Err(e);
            }
        }
    }
    Ok((to_workers, workers))
}

/// The system refused a thread before anything was read: the whole run goes on the caller's
/// thread, with a note saying so.
fn run_after_refusal<W: EventSink + Send, T>(
    config: &PipelineConfig,
    sink: W,
    feed: impl FnOnce(&mut dyn Input) -> T,
    refusal: &std::io::Error,
) -> (T, Finished<W>) {
    let one = PipelineConfig {
        threads: 1,
        ..config.clone()
    };
    let (result, mut finished) = run_inline(&one, sink, feed);
    finished.notes.push(format!(
        "the system refused to start {} threads ({refusal}); ran on one thread instead",
        config.threads + 1
    ));
    (result, finished)
}

/// The merge stage is parked until its thread takes it, and only that thread or a failed start
/// takes it back: it is never lost.
fn unreachable_merge_stage() -> ! {
    panic!("internal error: the merge stage went missing")
}

/// The run's counters: the dispatcher's, every shard's, and the merge stage's.
fn totals(dispatcher: &Counters, shards: &[ShardStats], merger: &Counters) -> Counters {
    let mut all = dispatcher.clone();
    for s in shards {
        all.add(&s.counters);
    }
    all.add(merger);
    all
}
