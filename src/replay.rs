//! Replay: runs the pipeline over capture files in order, as one continuous stream of packets, and
//! writes EVE to a file or stdout. Every input is checked before any output is written.

use crate::capture::file::check_capture_file;
use crate::capture::{read_capture, CaptureError, Paging};
use crate::counters::Counters;
use crate::detect::signatures::SignatureError;
use crate::options::AnalysisOptions;
use crate::output::progress::{self, CountingAlerts, CountingFrames, Progress};
use crate::output::sensor_name::HostField;
use crate::output::EveWriter;
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
    pub(crate) pcaps: Vec<PathBuf>,
    pub eve: EveTarget,
    pub analysis: AnalysisOptions,
    /// Draw a progress line on stderr while reading (the command line decides: a terminal,
    /// not CI, or `--progress`).
    pub progress: bool,
}

impl ReplayOptions {
    /// Options for `pcaps` with every default.
    pub fn new(pcaps: Vec<PathBuf>) -> Self {
        ReplayOptions {
            pcaps,
            eve: EveTarget::File(PathBuf::from("eve.json")),
            analysis: AnalysisOptions::default(),
            progress: false,
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
    /// Damaged inputs: file, byte offset, and what was kept; refused rules.
    pub warnings: Vec<String>,
    /// What was loaded (the rules' summary line).
    pub notes: Vec<String>,
}

/// Replays the captures of `opts`.
pub fn replay(opts: &ReplayOptions) -> Result<ReplayOutcome, ReplayError> {
    if opts.pcaps.is_empty() {
        return Err(ReplayError::NoInput);
    }
    let detector = opts.analysis.build_detector()?;
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
    let (refusals, notes) = detector.rule_notes();
    let started = Instant::now();
    let config = opts.analysis.pipeline_config(Arc::new(detector));
    let total: u64 = opts
        .pcaps
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    let progress = Progress::new(total);
    let bar = opts.progress.then(|| progress::draw(progress.clone()));
    let writer = HostField::new(EveWriter::new(out), opts.analysis.sensor_name.as_ref());
    let sink = CountingAlerts::new(writer, progress.clone());
    // With worker threads the reading thread is the one to keep free: the mapping's page-table
    // work goes to a thread of its own. One thread means one core.
    let paging = if config.threads > 1 {
        Paging::Background
    } else {
        Paging::Inline
    };
    let (read, finished) = crate::pipeline::run(&config, sink, |on_frame| {
        let mut warnings = Vec::new();
        let mut on_frame = CountingFrames::new(on_frame, &progress);
        for path in &opts.pcaps {
            let report = read_capture(path, paging, &mut on_frame)?;
            if let Some(damage) = report.damage {
                warnings.push(format!(
                    "{}: {damage}; kept the events of the {} packets read",
                    path.display(),
                    report.frames
                ));
            }
        }
        Ok::<_, CaptureError>(warnings)
    });
    if let Some(bar) = bar {
        progress::finish(&progress, bar);
    }
    let mut writer = finished.sink.inner.into_inner();
    let counters = finished.counters;
    writer.finish().map_err(|source| ReplayError::Eve {
        path: eve_name,
        source,
    })?;
    let mut warnings = refusals;
    warnings.extend(read?);
    warnings.extend(finished.notes);
    Ok(ReplayOutcome {
        counters,
        elapsed: started.elapsed(),
        warnings,
        notes,
    })
}
