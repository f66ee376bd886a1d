//! The threaded route: the dispatcher (capture thread) packs items into batches, one open batch
//! per worker, and sends them over bounded channels; each worker owns one shard of the flow table
//! and hands its messages to the merge thread with its progress. Both directions of a flow hash
//! to the same worker. A frame is not copied: its item points into the capture's bytes (the
//! mapped file or the chunk it was read into), which the batch keeps alive ([`SharedBytes`]);
//! only a datagram reassembled from fragments (and a frame of a source that shares nothing) is
//! copied into the batch's own buffer. Batches and their buffers are recycled: no allocation per
//! packet.

use super::dispatch::{Raw, Route};
use super::merge::Merger;
use super::{finish_shard, reload_shard, shard_stats};
use crate::capture::SharedBytes;
use crate::counters::Counters;
use crate::detect::Detector;
use crate::engine::output::{OutBuf, ShardStats};
use crate::engine::{Engine, PacketInfo};
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
    /// Where the bytes are: [`IN_BATCH`] for the batch's own buffer, else an index into the
    /// batch's `held` sources.
    source: u32,
    start: usize,
    len: u32,
}

/// [`Item::source`] of bytes copied into the batch's own buffer.
const IN_BATCH: u32 = u32::MAX;

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
            source: IN_BATCH,
            start: 0,
            len: 0,
        }
    }
}

/// Items for one worker, with the bytes of their packets.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    items: Vec<Item>,
    /// Bytes copied in (reassembled datagrams).
    data: Vec<u8>,
    /// The capture bytes the items point into.
    held: Vec<SharedBytes>,
    /// The worker has every item before this sequence number once it has this batch.
    horizon: u64,
}

impl Batch {
    fn with_capacity() -> Self {
        Batch {
            items: Vec::with_capacity(BATCH_ITEMS),
            data: Vec::with_capacity(64 * 1024),
            held: Vec::new(),
            horizon: 0,
        }
    }

    /// Copies `bytes` into the batch: (source, start, length) of an item.
    fn push_bytes(&mut self, bytes: &[u8]) -> (u32, usize, u32) {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        (IN_BATCH, start, bytes.len() as u32)
    }

    /// Points at `bytes`, which lie in `shared` at `start`: (source, start, length) of an item.
    fn point_at(&mut self, shared: &SharedBytes, start: usize, bytes: &[u8]) -> (u32, usize, u32) {
        if !self.held.last().is_some_and(|last| last.same(shared)) {
            self.held.push(shared.clone());
        }
        ((self.held.len() - 1) as u32, start, bytes.len() as u32)
    }

    /// The bytes of `item`.
    #[inline]
    fn bytes_of(&self, item: &Item) -> &[u8] {
        let range = item.start..item.start + item.len as usize;
        match item.source {
            IN_BATCH => &self.data[range],
            held => &self.held[held as usize].bytes()[range],
        }
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
    /// What the frames being read lie in, when the source shares it.
    current: Option<SharedBytes>,
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
            current: None,
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
        let (kind, (source, start, len)) = match raw {
            Raw::Frame { linktype, data } => {
                let kind = ItemKind::Frame { linktype, cut };
                let shared = self.current.as_ref();
                match shared.and_then(|s| Some((s, s.offset_of(data)?))) {
                    Some((shared, start)) => (kind, batch.point_at(shared, start, data)),
                    None => (kind, batch.push_bytes(data)),
                }
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
            source,
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

    fn bytes(&mut self, bytes: &SharedBytes) {
        self.current = Some(bytes.clone());
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
        let mut items = std::mem::take(&mut batch.items);
        for item in items.drain(..) {
            let bytes = batch.bytes_of(&item);
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
                    let message = reload_shard(&mut engine, item.info.seq, &detector);
                    outputs.msgs.push(message);
                }
                ItemKind::Stats(dispatcher) => {
                    let (seq, ts) = (item.info.seq, item.info.ts);
                    let message = shard_stats(&engine, seq, ts, dispatcher.as_deref());
                    outputs.msgs.push(message);
                }
            }
        }
        let progress = batch.horizon;
        batch.items = items;
        batch.data.clear();
        // The capture's bytes are let go: the reader reuses a chunk once nothing holds it.
        batch.held.clear();
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
    // Every item is done.
    finish_shard(shard, engine, &merge)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::read_capture_file;
    use crate::pipeline::dispatch::{Dispatch, Dispatcher};

    /// Every batch item of `pcap` (relative to the repository), as the dispatcher packs them for
    /// two workers: (frames pointing into the capture, frames copied, datagrams copied).
    fn items_of(pcap: &str, from_stdin_like_stream: bool) -> (usize, usize, usize) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(pcap);
        let (tx0, rx0) = crossbeam_channel::unbounded();
        let (tx1, rx1) = crossbeam_channel::unbounded();
        let (_recycle_tx, recycle_rx) = crossbeam_channel::unbounded();
        let mut route = ThreadedRoute::new(vec![tx0, tx1], recycle_rx);
        let mut dispatcher = Dispatcher::new(0, DecodeConfig::default(), Default::default());
        let mut sink = Dispatch {
            dispatcher: &mut dispatcher,
            route: &mut route,
        };
        if from_stdin_like_stream {
            // A pipe: the chunk reader's chunks are shared instead of the mapping.
            let fifo = std::env::temp_dir().join(format!("threads-fifo-{}", std::process::id()));
            let _ = std::fs::remove_file(&fifo);
            nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            let writer = {
                let fifo = fifo.clone();
                std::thread::spawn(move || std::fs::write(fifo, bytes).unwrap())
            };
            read_capture_file(&fifo, &mut sink).unwrap();
            writer.join().unwrap();
            std::fs::remove_file(&fifo).unwrap();
        } else {
            read_capture_file(&path, &mut sink).unwrap();
        }
        route.flush_all();
        drop(route);
        let (mut pointed, mut copied, mut datagrams) = (0, 0, 0);
        for batch in rx0.try_iter().chain(rx1.try_iter()) {
            for item in &batch.items {
                match (&item.kind, item.source) {
                    (ItemKind::Frame { .. }, IN_BATCH) => copied += 1,
                    (ItemKind::Frame { .. }, _) => {
                        pointed += 1;
                        // The bytes the item points at are the frame's: they decode again.
                        assert!(!batch.bytes_of(item).is_empty());
                    }
                    (ItemKind::Datagram { .. }, _) => datagrams += 1,
                    _ => {}
                }
            }
            // Only reassembled datagrams are copied.
            assert_eq!(
                batch.data.is_empty(),
                !batch
                    .items
                    .iter()
                    .any(|i| matches!(i.kind, ItemKind::Datagram { .. }))
            );
        }
        (pointed, copied, datagrams)
    }

    #[test]
    fn batches_point_into_the_mapped_file_and_the_chunks_of_a_pipe() {
        for stream in [false, true] {
            let (pointed, copied, datagrams) = items_of("pcaps/npm-postinstall-ioc.pcap", stream);
            assert!(pointed > 10, "{pointed} frames pointed at ({stream})");
            assert_eq!(copied, 0, "no frame copied ({stream})");
            assert_eq!(datagrams, 0);
        }
        // Fragments are reassembled by the dispatcher: the datagram is copied, its first
        // fragments are not handed on at all.
        let (_, copied, datagrams) = items_of("pcaps/dns-fragmented-answer.pcap", false);
        assert_eq!(copied, 0);
        assert!(datagrams >= 1, "{datagrams}");
    }
}
