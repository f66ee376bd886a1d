//! `egress-ids run -- CMD`: watches one command on this host, as a CI step. The live pipeline
//! captures the host's interfaces from before the command starts; the command runs in a cgroup
//! v2 leaf of its own with this process as its subreaper ([`child`]); signals reach it; when it
//! and what it left behind are done, the capture drains and stops, and [`report`] says what
//! called home. The exit status is the command's own, or [`EXIT_CALLED_HOME`] when an alert was
//! raised (unless `--audit`).

pub mod child;
pub mod learn;
pub mod lockfiles;
pub mod report;

use crate::eve::EventSink;
use crate::options::AnalysisOptions;
use crate::output::attribute::MaybeAttributing;
use crate::output::sensor_name::HostField;
use crate::output::writer::EveWriter;
use crate::sensor::{self, SensorError, SensorOptions};
use child::{ChildError, Step};
use nix::sys::signal::Signal;
use proto::Timestamp;
use serde_json::Value;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The exit status of `run` when the step raised an alert (without `--audit`): distinct from
/// egress-ids' own 0/1/2.
pub const EXIT_CALLED_HOME: u8 = 3;

/// Alerts kept for the report (more are counted).
const MAX_REPORTED: usize = 1000;

/// What `run` does.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The interfaces (default `any`) and the analysis; the warm-up is 0: every DNS answer the
    /// command gets is seen, since capture starts before it.
    pub sensor: SensorOptions,
    /// Also write every EVE event here.
    pub eve: Option<PathBuf>,
    /// Report, but keep the command's exit status.
    pub audit: bool,
    /// Write the names the step reached to this allowlist (merged when it exists).
    pub learn: Option<PathBuf>,
    /// After the command ends: how long packets still arrive (its last sends are in flight).
    pub drain: Duration,
    /// How long to wait for the processes the command left running.
    pub linger: Duration,
    pub command: Vec<OsString>,
}

impl RunOptions {
    /// The defaults for `command` with `analysis`.
    pub fn new(analysis: AnalysisOptions, command: Vec<OsString>) -> Self {
        RunOptions {
            sensor: SensorOptions {
                captures: Vec::new(),
                analysis,
                warmup_secs: 0,
                attribute: crate::output::attribute::AttributeMode::Auto,
                capture_threads: 1,
            },
            eve: None,
            audit: false,
            learn: None,
            drain: Duration::from_millis(300),
            linger: Duration::from_secs(2),
            command,
        }
    }
}

/// Why `run` could not watch the command (exit code 2; the command may not have run).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Sensor(#[from] SensorError),
    #[error(transparent)]
    Child(#[from] ChildError),
    #[error("{path}: cannot write EVE: {source}")]
    Eve {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot forward signals to the command: {0}")]
    Signals(std::io::Error),
    #[error(transparent)]
    Learn(#[from] learn::LearnError),
    #[error(transparent)]
    Preflight(#[from] lockfiles::PreflightError),
    /// `--inventory`: a lockfile names packages the inventory lacks; the command was not
    /// started (exit [`EXIT_CALLED_HOME`]).
    #[error("{unknown} package(s) absent from the organisation's inventory: the command was not started")]
    PhantomDependencies { unknown: usize },
}

/// What a watched step did.
pub struct RunOutcome {
    /// The command's own exit status.
    pub status: std::io::Result<ExitStatus>,
    /// Alerts (EVE alert objects, in capture order), at most [`MAX_REPORTED`].
    pub alerts: Vec<Value>,
    pub alerts_total: u64,
    pub counters: crate::counters::Counters,
    pub elapsed: Duration,
    /// Pids still running in the step's cgroup after the linger.
    pub left_running: Vec<u32>,
    /// Why the step had no cgroup of its own, when it had none.
    pub no_cgroup: Option<String>,
    pub capture_error: Option<String>,
    /// With `--learn`: the allowlist written (this run merged into what the file held).
    pub learned: Option<learn::Learned>,
    /// Why the alerts carry no `process`, when the host collector could not start.
    pub no_attribution: Option<String>,
    /// The command's pid: the report's process chains stop there.
    pub step_pid: u32,
}

impl RunOutcome {
    /// The exit status `run` gives: the command's own, or [`EXIT_CALLED_HOME`] when the step
    /// raised an alert (not with `audit`). A command killed by a signal gives 128 + signal.
    pub fn exit_code(&self, audit: bool) -> u8 {
        if self.alerts_total > 0 && !audit {
            return EXIT_CALLED_HOME;
        }
        use std::os::unix::process::ExitStatusExt;
        match &self.status {
            Ok(s) => s
                .code()
                .map(|c| c.clamp(0, 255) as u8)
                .or_else(|| s.signal().map(|n| (128 + n).clamp(0, 255) as u8))
                .unwrap_or(1),
            Err(_) => 1,
        }
    }
}

/// The EVE lines of the step: written to the `--eve` file when there is one, alerts kept.
struct StepSink {
    file: Option<HostField<EveWriter>>,
    alerts: Vec<Value>,
    alerts_total: u64,
    /// With `--learn`: the names of the step's events.
    learned: Option<learn::Learned>,
}

impl EventSink for StepSink {
    fn line(&mut self, json: &[u8], is_alert: bool) {
        if let Some(f) = &mut self.file {
            f.line(json, is_alert);
        }
        if let (Some(learned), false) = (&mut self.learned, is_alert) {
            if let Ok(v) = serde_json::from_slice::<Value>(json) {
                learned.observe(&v);
            }
        }
        if is_alert {
            self.alerts_total += 1;
            if self.alerts.len() < MAX_REPORTED {
                if let Ok(v) = serde_json::from_slice::<Value>(json) {
                    self.alerts.push(v);
                }
            }
        }
    }

    fn emit_stats(&mut self, ts: Timestamp, stats: Value) {
        if let Some(f) = &mut self.file {
            f.emit_stats(ts, stats);
        }
    }

    fn flush(&mut self) {
        if let Some(f) = &mut self.file {
            f.flush();
        }
    }
}

/// Runs the command of `opts` under watch. `log` gets the sensor's messages.
pub fn run(opts: &RunOptions, log: &(dyn Fn(&str) + Sync)) -> Result<RunOutcome, RunError> {
    // --inventory: the lockfiles first; an unknown package stops the step before it starts.
    let preflight = match &opts.sensor.analysis.inventory {
        Some(inventory) => {
            let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            let p = lockfiles::preflight(inventory, &dir)?;
            for line in p.report.lines() {
                log(line);
            }
            Some(p)
        }
        None => None,
    };
    if let Some(p) = preflight.as_ref().filter(|p| p.unknown > 0 && !opts.audit) {
        if let Some(path) = &opts.eve {
            let eve_error = |source| RunError::Eve {
                path: path.clone(),
                source,
            };
            let f = std::fs::File::create(path).map_err(eve_error)?;
            let mut w = EveWriter::new(Box::new(std::io::BufWriter::new(f)));
            for line in &p.lines {
                w.line(line, true);
            }
            w.finish().map_err(eve_error)?;
        }
        return Err(RunError::PhantomDependencies { unknown: p.unknown });
    }
    let mut sensor_opts = opts.sensor.clone();
    if sensor_opts.captures.is_empty() {
        sensor_opts.captures = vec![crate::capture::live::LiveConfig::new("any")];
    }
    let detector = sensor_opts
        .analysis
        .build_detector()
        .map_err(SensorError::from)?;
    let (refusals, notes) = detector.rule_notes();
    for line in refusals.iter().chain(&notes) {
        log(line);
    }
    let captures = sensor::open_captures(&sensor_opts)?;
    let file = match &opts.eve {
        None => None,
        Some(path) => {
            let f = std::fs::File::create(path).map_err(|source| RunError::Eve {
                path: path.clone(),
                source,
            })?;
            let w: Box<dyn Write + Send> = Box::new(std::io::BufWriter::new(f));
            Some(HostField::new(
                EveWriter::new(w),
                sensor_opts.analysis.sensor_name.as_ref(),
            ))
        }
    };
    // The host collector, before the command starts: every exec and connect of the step is
    // seen. Where BPF is unavailable the step runs unattributed, and the report says why.
    let (collector, no_attribution) = match crate::host::Collector::start() {
        Ok(c) => (Some(std::sync::Arc::new(c)), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let mut sink = StepSink {
        file,
        alerts: Vec::new(),
        alerts_total: 0,
        learned: opts.learn.as_ref().map(|_| learn::Learned::default()),
    };
    // --audit: the lockfile alerts are the step's first (the command still runs).
    for line in preflight.iter().flat_map(|p| &p.lines) {
        sink.line(line, true);
    }
    let sink = MaybeAttributing::new(sink, collector);
    let ancestry_root = sink.ancestry_root();
    let signals = sensor::signals::Signals::new();
    let started = Instant::now();
    let mut forwarded = signal_hook::iterator::Signals::new([
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ])
    .map_err(RunError::Signals)?;
    let forward_handle = forwarded.handle();
    std::thread::scope(|scope| {
        let pipeline = scope.spawn(|| {
            sensor::run(&sensor_opts, detector, captures, sink, &signals, &|m| {
                log(m)
            })
        });
        let step = Step::start(&opts.command);
        let mut step = match step {
            Ok(s) => s,
            Err(e) => {
                signals.stop.store(true, Ordering::SeqCst);
                let _ = pipeline.join();
                forward_handle.close();
                return Err(RunError::from(e));
            }
        };
        let pid = step.pid();
        if let Some(root) = &ancestry_root {
            root.store(pid, Ordering::Relaxed);
        }
        let forwarder = scope.spawn(move || {
            for sig in forwarded.forever() {
                if let Ok(s) = Signal::try_from(sig) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), s);
                }
            }
        });
        let (status, left_running) = step.wait(opts.linger);
        forward_handle.close();
        let _ = forwarder.join();
        std::thread::sleep(opts.drain);
        signals.stop.store(true, Ordering::SeqCst);
        let outcome = pipeline
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let mut sink = outcome.sink.into_inner();
        if let (Some(f), Some(path)) = (&mut sink.file, &opts.eve) {
            f.inner_mut().finish().map_err(|source| RunError::Eve {
                path: path.clone(),
                source,
            })?;
        }
        let origin = format!(
            "{} after `{}`",
            now_utc(),
            opts.command
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let learned = match (&opts.learn, sink.learned.take()) {
            (Some(path), Some(learned)) if sink.alerts_total == 0 => {
                Some(learned.save(path, &origin)?)
            }
            _ => None,
        };
        Ok(RunOutcome {
            step_pid: pid,
            no_attribution,
            learned,
            status,
            alerts: sink.alerts,
            alerts_total: sink.alerts_total,
            counters: outcome.counters,
            elapsed: started.elapsed(),
            left_running,
            no_cgroup: step.no_leaf.take(),
            capture_error: outcome.capture_error.map(|e| e.to_string()),
        })
    })
}

/// The wall-clock time, to the minute, for the learned file's head.
fn now_utc() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}
