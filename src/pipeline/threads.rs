//! The threaded route: the dispatcher (capture thread) packs items into batches, one open batch
//! per worker, and sends them over bounded channels; each worker owns one shard of the flow table
//! and hands its messages to the merge thread with its progress. Both directions of a flow hash
//! to the same worker. Batches and their byte buffers are recycled: no allocation per packet.

use super::dispatch::{Raw, Route};
use super::merge::Merger;
use crate::counters::Counters;
use crate::detect::Detector;
use crate::engine::output::{OutBuf, OutKind, Output, ShardStats};
use crate::engine::{Engine, PacketInfo, SHUTDOWN_SEQ};
use crate::eve::EventSink;
use crate::flow::FlowKey;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use proto::decode::{DecodeConfig, Decoded, Decoder, Packet, Tunnel, Vlans};
use proto::Timestamp;
use std::net::IpAddr;
use std::sync::Arc;

/// Items per batch (a batch is also sent when its bytes reach [`BATCH_BYTES`]).
pub(crate) const BATCH_ITEMS: usize = 256;
const BATCH_BYTES: usize = 256 * 1024;
/// Every this many items, every worker's open batch is sent, even if short, so that the merge
/// stage hears from every worker often and can write what it holds.
const FLUSH_EVERY: u64 = 8192;
/// Batches queued per worker before the dispatcher waits.
pub(crate) const WORKER_QUEUE: usize = 16;

/// The worker of a flow with symmetric hash `hash` among `workers`.
pub(crate) fn worker_of(hash: u64, workers: usize) -> usize {
    // The high half of the hash: the flow table indexes with the low bits.
    (((hash >> 32) * workers as u64) >> 32) as usize
}

/// What an item of a batch is.
#[derive(Debug)]
enum ItemKind {
    /// A frame of `linktype`, its bytes in the batch buffer.
    Frame {
        linktype: i32,
        cut: bool,
    },
    /// A reassembled datagram, its transport bytes in the batch buffer.
    Datagram {
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        vlans: Vlans,
        tunnel: Box<Tunnel>,
    },
    Tick,
    /// A `stats` snapshot request; the first worker's carries the dispatcher's counters.
    Stats(Option<Box<Counters>>),
    /// New signatures from here on.
    Reload(Arc<Detector>),
}

#[derive(Debug)]
struct Item {
    info: PacketInfo,
    kind: ItemKind,
    start: u32,
    len: u32,
}

impl Item {
    /// An item that is not a packet (a tick, a stats request) at `seq`, packet time `ts`.
    fn timer(seq: u64, ts: Timestamp, kind: ItemKind) -> Self {
        Item {
            info: PacketInfo {
                seq,
                ts,
                pcap_cnt: 0,
                wire_len: 0,
                checksums_trusted: true,
            },
            kind,
            start: 0,
            len: 0,
        }
    }
}

/// Items for one worker, with the bytes of their packets.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    items: Vec<Item>,
    data: Vec<u8>,
    /// The worker has every item before this sequence number once it has this batch.
    horizon: u64,
}

impl Batch {
    fn with_capacity() -> Self {
        Batch {
            items: Vec::with_capacity(BATCH_ITEMS),
            data: Vec::with_capacity(64 * 1024),
            horizon: 0,
        }
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> (u32, u32) {
        let start = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        (start, bytes.len() as u32)
    }

    fn is_full(&self) -> bool {
        self.items.len() >= BATCH_ITEMS || self.data.len() >= BATCH_BYTES
    }
}

/// What a worker tells the merge thread.
pub(crate) struct MergeMsg {
    pub(crate) shard: usize,
    pub(crate) outputs: OutBuf,
    pub(crate) progress: u64,
}

/// The dispatcher's side of the threaded pipeline.
pub(crate) struct ThreadedRoute {
    to_workers: Vec<Sender<Batch>>,
    open: Vec<Batch>,
    recycled: Receiver<Batch>,
    last_seq: u64,
    since_flush: u64,
}

impl ThreadedRoute {
    pub(crate) fn new(to_workers: Vec<Sender<Batch>>, recycled: Receiver<Batch>) -> Self {
        let open = to_workers.iter().map(|_| Batch::with_capacity()).collect();
        ThreadedRoute {
            to_workers,
            open,
            recycled,
            last_seq: 0,
            since_flush: 0,
        }
    }

    fn send(&mut self, w: usize) {
        let fresh = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Batch::with_capacity());
        let mut batch = std::mem::replace(&mut self.open[w], fresh);
        batch.horizon = self.last_seq + 1;
        // A worker that is gone has panicked; its join reports it.
        let _ = self.to_workers[w].send(batch);
    }

    /// Sends every open batch (also empty ones: they carry progress).
    pub(crate) fn flush_all(&mut self) {
        for w in 0..self.open.len() {
            self.send(w);
        }
        self.since_flush = 0;
    }

    fn counted(&mut self, seq: u64) {
        self.last_seq = seq;
        self.since_flush += 1;
        if self.since_flush >= FLUSH_EVERY {
            self.flush_all();
        }
    }
}

impl Route for ThreadedRoute {
    fn packet(
        &mut self,
        info: &PacketInfo,
        pkt: &Packet<'_>,
        _tunnel: &Tunnel,
        raw: Raw<'_>,
        cut: bool,
    ) {
        // The worker decodes the bytes again and takes the tunnel from its own decoder.
        let w = worker_of(FlowKey::of(pkt).symmetric_hash(), self.open.len());
        let batch = &mut self.open[w];
        let (kind, (start, len)) = match raw {
            Raw::Frame { linktype, data } => {
                (ItemKind::Frame { linktype, cut }, batch.push_bytes(data))
            }
            Raw::Datagram(d, vlans) => (
                ItemKind::Datagram {
                    src: d.src,
                    dst: d.dst,
                    protocol: d.protocol,
                    vlans,
                    tunnel: Box::new(d.tunnel),
                },
                batch.push_bytes(&d.data),
            ),
        };
        batch.items.push(Item {
            info: *info,
            kind,
            start,
            len,
        });
        let full = batch.is_full();
        self.last_seq = info.seq;
        if full {
            self.send(w);
        }
        self.counted(info.seq);
    }

    fn tick(&mut self, seq: u64, ts: Timestamp) {
        for batch in &mut self.open {
            batch.items.push(Item::timer(seq, ts, ItemKind::Tick));
        }
        self.counted(seq);
    }

    fn stats(&mut self, seq: u64, ts: Timestamp, dispatcher: &Counters) {
        for (w, batch) in self.open.iter_mut().enumerate() {
            let own = (w == 0).then(|| Box::new(dispatcher.clone()));
            batch.items.push(Item::timer(seq, ts, ItemKind::Stats(own)));
        }
        self.counted(seq);
    }

    fn idle(&mut self) {
        self.flush_all();
    }

    fn reload(&mut self, seq: u64, detector: &Arc<Detector>) {
        for batch in &mut self.open {
            let kind = ItemKind::Reload(detector.clone());
            batch
                .items
                .push(Item::timer(seq, Timestamp::default(), kind));
        }
        self.counted(seq);
    }
}

/// A worker thread's loop: runs its shard over every batch, then ends its flows when the
/// dispatcher hangs up. Returns the shard's counters.
pub(crate) fn run_worker(
    shard: usize,
    mut engine: Engine,
    decode: DecodeConfig,
    batches: Receiver<Batch>,
    recycle: Sender<Batch>,
    merge: Sender<MergeMsg>,
) -> ShardStats {
    // Decodes again what the dispatcher decoded (and counted) already.
    let mut decoder = Decoder::new(decode);
    for mut batch in batches.iter() {
        let mut outputs = OutBuf::default();
        for item in batch.items.drain(..) {
            let bytes = &batch.data[item.start as usize..(item.start + item.len) as usize];
            match item.kind {
                ItemKind::Frame { linktype, cut } => {
                    // The dispatcher decoded this frame already: it is a TCP/UDP packet.
                    if let Decoded::Packet(mut pkt) = decoder.decode(linktype, bytes) {
                        if cut {
                            pkt.payload = &[];
                        }
                        engine.on_packet(&item.info, &pkt, decoder.tunnel(), &mut outputs);
                    }
                }
                ItemKind::Datagram {
                    src,
                    dst,
                    protocol,
                    vlans,
                    tunnel,
                } => {
                    if let Decoded::Packet(pkt) =
                        decoder.datagram(src, dst, protocol, bytes, vlans, *tunnel)
                    {
                        engine.on_packet(&item.info, &pkt, decoder.tunnel(), &mut outputs);
                    }
                }
                ItemKind::Tick => engine.on_tick(item.info.seq, item.info.ts, &mut outputs),
                ItemKind::Reload(detector) => {
                    // The merge stage judges hidden-destination with the new signatures from
                    // this item on (every shard says so; the first word counts).
                    outputs.msgs.push(Output {
                        seq: item.info.seq,
                        kind: OutKind::Detector(detector.clone()),
                    });
                    engine.set_detector(detector);
                }
                ItemKind::Stats(dispatcher) => {
                    let mut stats = engine.stats();
                    stats.ts = item.info.ts;
                    if let Some(d) = dispatcher {
                        stats.counters.add(&d);
                    }
                    outputs.msgs.push(Output {
                        seq: item.info.seq,
                        kind: OutKind::Stats(Box::new(stats)),
                    });
                }
            }
        }
        let progress = batch.horizon;
        batch.data.clear();
        let _ = recycle.try_send(batch);
        if merge
            .send(MergeMsg {
                shard,
                outputs,
                progress,
            })
            .is_err()
        {
            break;
        }
    }
    // Every item is done: the end-of-input messages go out in pieces, each releasable as soon
    // as every shard has reached the end of input.
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

/// The merge thread's loop: until every worker hangs up. Whenever it would wait, it first
/// delivers what it wrote (alerts reach the file even when traffic stops).
pub(crate) fn run_merger<W: EventSink>(
    mut merger: Merger<W>,
    messages: Receiver<MergeMsg>,
) -> Merger<W> {
    loop {
        let m = match messages.try_recv() {
            Ok(m) => m,
            Err(TryRecvError::Empty) => {
                merger.idle();
                match messages.recv() {
                    Ok(m) => m,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        merger.accept(m.shard, m.outputs, m.progress);
    }
    merger
}
