//! No heap allocation per packet on the hot path: a real TLS flow from pcaps/ with 50,000 more
//! server segments spliced in (the bulk of a download, after the flow is bypassed) costs no more
//! than a handful of allocations in all, with one thread and with two. A counting global
//! allocator sees every allocation of every thread (the one place outside the memory-mapped
//! reader where unsafe code is allowed: a `GlobalAlloc` implementation cannot be written without it).
#![allow(unsafe_code)]

use egress_ids::capture::{read_capture_file, Frame};
use egress_ids::detect::{signatures::Signatures, Detector};
use egress_ids::output::EveWriter;
use egress_ids::pipeline::{run, Input, PipelineConfig};
use proto::Timestamp;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A captured frame, owned.
struct Owned {
    ts: Timestamp,
    linktype: i32,
    data: Vec<u8>,
    orig_len: u32,
}

const BULK: usize = 50_000;

/// The frames of `pcaps/benign-registry.pcap`, and the same with `BULK` copies of the TLS
/// server's largest segment spliced in after it (sequence numbers advanced, 1 us apart).
fn captures() -> (Vec<Owned>, Vec<Owned>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/benign-registry.pcap");
    let mut frames = Vec::new();
    read_capture_file(&path, &mut |f: &Frame<'_>| {
        frames.push(Owned {
            ts: f.ts,
            linktype: f.linktype,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
        })
    })
    .expect("read the capture");
    // Ethernet + IPv4 + TCP from port 443: (index, TCP header offset, payload length).
    let tcp_at = |d: &[u8]| -> Option<(usize, usize)> {
        if d.len() < 54 || d[12..14] != [0x08, 0x00] || d[23] != 6 {
            return None;
        }
        let tcp = 14 + usize::from(d[14] & 0x0f) * 4;
        let payload = d
            .len()
            .checked_sub(tcp + usize::from(d[tcp + 12] >> 4) * 4)?;
        (d.get(tcp..tcp + 2)? == [0x01, 0xbb]).then_some((tcp, payload))
    };
    let (at, tcp, len) = frames
        .iter()
        .enumerate()
        .filter_map(|(i, f)| tcp_at(&f.data).map(|(t, n)| (i, t, n)))
        .max_by_key(|(_, _, n)| *n)
        .expect("a TLS server segment");
    assert!(len > 500, "largest server segment only {len} bytes");
    let original: Vec<Owned> = frames
        .iter()
        .map(|f| Owned {
            ts: f.ts,
            linktype: f.linktype,
            data: f.data.clone(),
            orig_len: f.orig_len,
        })
        .collect();
    let template = Owned {
        ts: frames[at].ts,
        linktype: frames[at].linktype,
        data: frames[at].data.clone(),
        orig_len: frames[at].orig_len,
    };
    let seq0 = u32::from_be_bytes(template.data[tcp + 4..tcp + 8].try_into().unwrap());
    let bulk: Vec<Owned> = (1..=BULK)
        .map(|k| {
            let mut data = template.data.clone();
            let seq = seq0.wrapping_add((k * len) as u32);
            data[tcp + 4..tcp + 8].copy_from_slice(&seq.to_be_bytes());
            Owned {
                ts: Timestamp(template.ts.0 + k as i64 * 1_000),
                linktype: template.linktype,
                orig_len: data.len() as u32,
                data,
            }
        })
        .collect();
    let mut spliced: Vec<Owned> = frames.drain(..=at).collect();
    spliced.extend(bulk);
    spliced.extend(frames);
    (original, spliced)
}

/// Allocations made while `frames` run through the pipeline with `threads` workers.
fn allocations(frames: &[Owned], threads: usize) -> u64 {
    let detector = Detector::new(Signatures::builtin(), Detector::default_home_net());
    let mut config = PipelineConfig::new(Arc::new(detector));
    config.threads = threads;
    let sink = EveWriter::new(Box::new(std::io::sink()));
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let (_, finished) = run(&config, sink, |on_frame: &mut dyn Input| {
        for (i, f) in frames.iter().enumerate() {
            on_frame.frame(&Frame {
                index: i as u64 + 1,
                ts: f.ts,
                linktype: f.linktype,
                data: &f.data,
                orig_len: f.orig_len,
            });
        }
    });
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert!(finished.counters.packets >= frames.len() as u64);
    after - before
}

#[test]
fn bulk_packets_of_a_bypassed_flow_allocate_nothing() {
    let (original, spliced) = captures();
    for threads in [1, 2] {
        let base = allocations(&original, threads);
        let bulk = allocations(&spliced, threads);
        let extra = bulk.saturating_sub(base);
        eprintln!(
            "threads {threads}: {base} allocations for {} packets, {bulk} with {BULK} more",
            original.len()
        );
        // Thread start-up, batch buffers filling their recycling queue: a few hundred at most,
        // against 50,000 packets (one allocation per 100 packets would be 500).
        assert!(
            extra < (BULK / 100) as u64,
            "threads {threads}: {extra} allocations for {BULK} bulk packets"
        );
    }
}
