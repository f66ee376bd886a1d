//! The live sensor (`egress-ids live` and `egress-ids daemon`): live captures into the same
//! pipeline as replay, answering signals, with the `direct-ip` warm-up. Timers and DNS-answer
//! lifetimes run on packet time, which an idle link moves on with the wall clock.

mod fanout;
pub mod serve;
pub mod signals;

use crate::capture::live::{run_live, wall_clock, LiveCapture, LiveConfig, LiveError};
use crate::counters::Counters;
use crate::detect::signatures::SignatureError;
use crate::detect::Detector;
use crate::eve::EventSink;
use crate::options::AnalysisOptions;
use crate::pipeline::{self, Input};
pub use signals::Signals;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to capture and how to analyse it.
#[derive(Clone, Debug)]
pub struct SensorOptions {
    pub captures: Vec<LiveConfig>,
    pub analysis: AnalysisOptions,
    /// Seconds after start during which new flows are not checked for `direct-ip`: the DNS
    /// answers given before the start were not seen (default `settings::DEFAULT_WARMUP_SECS`).
    pub warmup_secs: u64,
    /// On a runner: name the process behind each alert and flow (the host's eBPF collector).
    pub attribute: crate::output::attribute::AttributeMode,
    /// Capture threads: 1 reads every interface on one thread; N opens each interface N times
    /// as one AF_PACKET fanout group, one thread (and one shard) per ring ([`fanout`]).
    pub capture_threads: usize,
}

/// Why the sensor could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error(transparent)]
    Signatures(#[from] SignatureError),
    #[error(transparent)]
    Capture(#[from] LiveError),
    #[error("no interface given; use -i IFACE (or `any`)")]
    NoInterface,
}

/// What a stopped sensor reports.
pub struct SensorOutcome<W> {
    pub counters: Counters,
    pub elapsed: Duration,
    pub sink: W,
    /// Signature reloads that took effect, and those refused (the old set stayed).
    pub reloads: u32,
    pub reload_failures: u32,
    /// Set when capture ended on an error rather than a stop signal.
    pub capture_error: Option<LiveError>,
}

/// Opens every configured interface (needs CAP_NET_RAW, promiscuous mode included; see
/// [`crate::privileges`]): call it before dropping privileges.
pub fn open_captures(opts: &SensorOptions) -> Result<Vec<LiveCapture>, SensorError> {
    if opts.captures.is_empty() {
        return Err(SensorError::NoInterface);
    }
    if opts.capture_threads > 1 {
        let mut all = Vec::new();
        for config in &opts.captures {
            all.extend(crate::capture::fanout::open_fanout(
                config,
                opts.capture_threads,
            )?);
        }
        return Ok(all);
    }
    Ok(opts
        .captures
        .iter()
        .map(LiveCapture::open)
        .collect::<Result<_, _>>()?)
}

/// Runs the pipeline over `captures` until `signals.stop` is set (or capture fails), then
/// analyses what was captured, ends every flow and writes every event into `sink`. On
/// `signals.reload` it loads the signatures again; a bad file keeps the old set and is reported
/// through `log` with its path, line and reason.
pub fn run<W: EventSink + Send>(
    opts: &SensorOptions,
    detector: Detector,
    captures: Vec<LiveCapture>,
    sink: W,
    signals: &Signals,
    log: &dyn Fn(&str),
) -> SensorOutcome<W> {
    let started = Instant::now();
    let mut config = opts.analysis.pipeline_config(Arc::new(detector));
    config.direct_ip_from = Some(wall_clock().plus_secs(opts.warmup_secs));
    let mut reloads = Reloads::default();
    if opts.capture_threads > 1 {
        return fanout::run(opts, &config, captures, sink, signals, log, started);
    }
    let (result, finished) = run_one(opts, &config, captures, sink, signals, log, &mut reloads);
    outcome(result, finished, reloads, started, log)
}

/// Signature reloads that took effect and those refused.
#[derive(Clone, Copy, Debug, Default)]
struct Reloads {
    done: u32,
    refused: u32,
}

/// Loads the signatures again (SIGHUP); logs what was loaded, or why not (the old set stays).
fn reload_signatures(
    opts: &SensorOptions,
    reloads: &mut Reloads,
    log: &dyn Fn(&str),
) -> Option<Arc<Detector>> {
    match opts.analysis.build_detector() {
        Ok(detector) => {
            reloads.done += 1;
            let s = &detector.signatures;
            let policy = detector.egress_policy_rules().map_or(String::new(), |n| {
                format!(", an egress policy of {n} rules")
            });
            let inventory = detector.inventory().map_or(String::new(), |i| {
                format!(", an inventory of {}", i.describe())
            });
            log(&format!(
                "signatures reloaded: {} IOC domains, {} IOC addresses, {} allowed domains, {} allowed addresses, {} DoH endpoints{policy}{inventory}",
                s.ioc_domains.len(),
                s.ioc_ips.len(),
                s.allow_domains.len(),
                s.allow_ips.len(),
                s.doh_endpoints.len()
            ));
            let (refusals, notes) = detector.rule_notes();
            for line in refusals.iter().chain(&notes) {
                log(line);
            }
            Some(Arc::new(detector))
        }
        Err(e) => {
            reloads.refused += 1;
            log(&format!(
                "signature reload refused, the old signatures stay: {e}"
            ));
            None
        }
    }
}

/// Every capture read on this thread, into the pipeline of `config`.
fn run_one<W: EventSink + Send>(
    opts: &SensorOptions,
    config: &pipeline::PipelineConfig,
    mut captures: Vec<LiveCapture>,
    sink: W,
    signals: &Signals,
    log: &dyn Fn(&str),
    reloads: &mut Reloads,
) -> (Result<(), LiveError>, pipeline::Finished<W>) {
    pipeline::run(config, sink, |input: &mut dyn Input| {
        run_live(&mut captures, input, |input| {
            if signals.take_reload() {
                if let Some(detector) = reload_signatures(opts, reloads, log) {
                    input.reload(detector);
                }
            }
            if signals.stopping() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    })
}

/// What the sensor reports once the pipeline finished.
fn outcome<W>(
    result: Result<(), LiveError>,
    finished: pipeline::Finished<W>,
    reloads: Reloads,
    started: Instant,
    log: &dyn Fn(&str),
) -> SensorOutcome<W> {
    for note in &finished.notes {
        log(note);
    }
    SensorOutcome {
        counters: finished.counters,
        elapsed: started.elapsed(),
        sink: finished.sink,
        reloads: reloads.done,
        reload_failures: reloads.refused,
        capture_error: result.err(),
    }
}
