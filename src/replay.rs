//! Replay: runs the pipeline over capture files in order, as one continuous stream of packets, and
//! writes EVE to a file or stdout. Every input is checked before any output is written.

use crate::capture::file::check_capture_file;
use crate::capture::{read_capture_file, CaptureError};
use crate::detect::signatures::{SignatureError, Signatures};
use crate::detect::Detector;
use crate::engine::DEFAULT_DNS_GRACE_SECS;
use crate::flow::table::DEFAULT_MEMCAP;
use crate::flow::Timeouts;
use crate::output::summary::Counters;
use crate::output::{EveTypes, EveWriter};
use crate::pipeline::{PipelineConfig, DEFAULT_STATS_INTERVAL};
use ipnet::IpNet;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where EVE lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EveTarget {
    File(PathBuf),
    Stdout,
}

/// What to replay and how.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub pcaps: Vec<PathBuf>,
    pub eve: EveTarget,
    pub signature_paths: Vec<PathBuf>,
    pub replace_default_signatures: bool,
    /// HOME_NET; `None` for the default.
    pub home_net: Option<Vec<IpNet>>,
    pub dns_grace_secs: u64,
    /// Worker threads (1: single-threaded).
    pub threads: usize,
    pub timeouts: Timeouts,
    /// Flow memory cap in bytes, all workers together.
    pub flow_memcap: usize,
    /// Seconds of packet time between `stats` events (0: only the final one).
    pub stats_interval: u64,
    /// The event types written.
    pub eve_types: EveTypes,
}

/// The default thread count: one worker per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl ReplayOptions {
    /// Options for `pcaps` with every default.
    pub fn new(pcaps: Vec<PathBuf>) -> Self {
        ReplayOptions {
            pcaps,
            eve: EveTarget::File(PathBuf::from("eve.json")),
            signature_paths: Vec::new(),
            replace_default_signatures: false,
            home_net: None,
            dns_grace_secs: DEFAULT_DNS_GRACE_SECS,
            threads: default_threads(),
            timeouts: Timeouts::default(),
            flow_memcap: DEFAULT_MEMCAP,
            stats_interval: DEFAULT_STATS_INTERVAL,
            eve_types: EveTypes::ALL,
        }
    }
}

/// Why a replay could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Signatures(#[from] SignatureError),
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("{path}: cannot write EVE output: {source}")]
    Eve {
        path: String,
        source: std::io::Error,
    },
    #[error("no capture file given; usage: egress-ids replay [OPTIONS] PCAP...")]
    NoInput,
}

/// What a finished replay reports.
#[derive(Debug)]
pub struct ReplayOutcome {
    pub counters: Counters,
    pub elapsed: Duration,
    /// Damaged inputs: file, byte offset, and what was kept.
    pub warnings: Vec<String>,
}

/// Builds the detector from the options' signatures and home networks.
pub fn build_detector(opts: &ReplayOptions) -> Result<Detector, SignatureError> {
    let signatures = Signatures::load(&opts.signature_paths, opts.replace_default_signatures)?;
    let home = opts
        .home_net
        .clone()
        .unwrap_or_else(Detector::default_home_net);
    Ok(Detector::new(signatures, home))
}

/// Replays the captures of `opts`.
pub fn replay(opts: &ReplayOptions) -> Result<ReplayOutcome, ReplayError> {
    if opts.pcaps.is_empty() {
        return Err(ReplayError::NoInput);
    }
    let detector = build_detector(opts)?;
    for path in &opts.pcaps {
        check_capture_file(path)?;
    }
    let (out, eve_name): (Box<dyn Write + Send>, String) = match &opts.eve {
        EveTarget::Stdout => (Box::new(BufWriter::new(std::io::stdout())), "stdout".into()),
        EveTarget::File(path) => {
            let file = std::fs::File::create(path).map_err(|source| ReplayError::Eve {
                path: path.display().to_string(),
                source,
            })?;
            (
                Box::new(BufWriter::with_capacity(1 << 16, file)),
                path.display().to_string(),
            )
        }
    };
    let started = Instant::now();
    let config = PipelineConfig {
        detector: Arc::new(detector),
        timeouts: opts.timeouts,
        flow_memcap: opts.flow_memcap,
        threads: opts.threads.max(1),
        dns_grace_secs: opts.dns_grace_secs,
        stats_interval: opts.stats_interval,
        eve_types: opts.eve_types,
    };
    let (read, finished) = crate::pipeline::run(&config, EveWriter::new(out), |on_frame| {
        let mut warnings = Vec::new();
        for path in &opts.pcaps {
            let report = read_capture_file(path, on_frame)?;
            if let Some(damage) = report.damage {
                warnings.push(format!(
                    "{}: {damage}; kept the events of the {} complete packets before it",
                    path.display(),
                    report.frames
                ));
            }
        }
        Ok::<_, CaptureError>(warnings)
    });
    let mut writer = finished.sink;
    let counters = finished.counters;
    writer.finish().map_err(|source| ReplayError::Eve {
        path: eve_name,
        source,
    })?;
    let warnings = read?;
    Ok(ReplayOutcome {
        counters,
        elapsed: started.elapsed(),
        warnings,
    })
}
