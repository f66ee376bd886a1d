//! The live sensor with several capture threads (`--capture-threads N`): each interface was
//! opened N times as one AF_PACKET fanout group ([`crate::capture::fanout`]); thread k reads
//! ring k of every interface through its own dispatcher and shard
//! ([`crate::pipeline::fanout`]). This thread meanwhile answers the signals: a reload is loaded
//! here once and taken up by every capture thread at its next turn; a stop (or one thread's
//! capture error) ends every thread, each analysing what its rings hold.

use super::{outcome, reload_signatures, run_one, Reloads, SensorOptions, SensorOutcome, Signals};
use crate::capture::live::{run_live_every, LiveCapture};
use crate::detect::Detector;
use crate::eve::EventSink;
use crate::pipeline::fanout::{Refused, IDLE_POLL, LAG};
use crate::pipeline::{self, Input, PipelineConfig};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the signal thread tells the capture threads.
#[derive(Default)]
struct Shared {
    /// A capture thread failed: every thread stops.
    failed: AtomicBool,
    /// Reloads published so far, and the last one's signatures.
    generation: AtomicU64,
    detector: Mutex<Option<Arc<Detector>>>,
}

/// One capture thread's rings and what they counted.
struct Ring {
    interface: String,
    packets: u64,
    drops: u64,
    before_start: u64,
}

/// Splits `captures` (each interface's `n` rings in a row) into `n` sets: ring k of every
/// interface.
fn per_thread(captures: Vec<LiveCapture>, n: usize) -> Vec<Vec<LiveCapture>> {
    let mut sets: Vec<Vec<LiveCapture>> = (0..n).map(|_| Vec::new()).collect();
    for (i, cap) in captures.into_iter().enumerate() {
        sets[i % n].push(cap);
    }
    sets
}

pub(super) fn run<W: EventSink + Send>(
    opts: &SensorOptions,
    config: &PipelineConfig,
    captures: Vec<LiveCapture>,
    sink: W,
    signals: &Signals,
    log: &dyn Fn(&str),
    started: Instant,
) -> SensorOutcome<W> {
    let n = opts.capture_threads.max(1);
    let shared = Shared::default();
    let feed = |_thread: usize, mut rings: Vec<LiveCapture>, input: &mut dyn Input| {
        let mut seen = 0;
        let result = run_live_every(&mut rings, input, IDLE_POLL, LAG, |input| {
            let generation = shared.generation.load(Ordering::Acquire);
            if generation != seen {
                seen = generation;
                let detector = shared.detector.lock().ok().and_then(|d| d.clone());
                if let Some(detector) = detector {
                    input.reload(detector);
                }
            }
            if signals.stopping() || shared.failed.load(Ordering::Relaxed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        if result.is_err() {
            shared.failed.store(true, Ordering::Relaxed);
        }
        let report: Vec<Ring> = rings
            .iter_mut()
            .map(|r| {
                let c = r.counters();
                Ring {
                    interface: r.interface().to_owned(),
                    packets: c.kernel_packets,
                    drops: c.kernel_drops,
                    before_start: r.before_start(),
                }
            })
            .collect();
        (result, report)
    };
    let mut reloads = Reloads::default();
    let mut control = || {
        // Until the stop signal or a capture thread's failure; the capture threads watch the
        // same flags.
        while !(signals.stopping() || shared.failed.load(Ordering::Relaxed)) {
            std::thread::sleep(IDLE_POLL);
            if signals.take_reload() {
                if let Some(detector) = reload_signatures(opts, &mut reloads, log) {
                    if let Ok(mut slot) = shared.detector.lock() {
                        *slot = Some(detector);
                    }
                    shared.generation.fetch_add(1, Ordering::Release);
                }
            }
        }
    };
    log(&format!(
        "{n} capture threads (AF_PACKET fanout), each with its own shard; --threads does not apply"
    ));
    let sets = per_thread(captures, n);
    match pipeline::fanout::run(config, sink, sets, &feed, &mut control) {
        Ok((reports, finished)) => {
            let mut result = Ok(());
            for (thread, (r, rings)) in reports.into_iter().enumerate() {
                for ring in rings {
                    let early = if ring.before_start > 0 {
                        format!(", {} captured before the start dropped", ring.before_start)
                    } else {
                        String::new()
                    };
                    log(&format!(
                        "capture thread {thread}: {} ring: {} packets, {} dropped by the kernel{early}",
                        ring.interface, ring.packets, ring.drops
                    ));
                }
                if let Err(e) = r {
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
            }
            outcome(result, finished, reloads, started, log)
        }
        Err(Refused { error, rings, sink }) => {
            log(&format!(
                "the system refused to start {} threads ({error}); every ring is read on one thread instead",
                n + 1
            ));
            let captures: Vec<LiveCapture> = rings.into_iter().flatten().collect();
            let (result, finished) =
                run_one(opts, config, captures, sink, signals, log, &mut reloads);
            outcome(result, finished, reloads, started, log)
        }
    }
}
