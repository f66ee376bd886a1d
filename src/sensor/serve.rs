//! Starting and stopping a sensor, in the order privileges demand: signatures checked, signal
//! handlers installed, captures and outputs opened (as root), file outputs handed to the run-as
//! user, privileges dropped, and only then packets read. At the end the outputs are drained
//! within a deadline and everything is reported.

use super::{open_captures, run, SensorError, SensorOptions, Signals};
use crate::capture::live::LiveError;
use crate::counters::Counters;
use crate::output::sensor_name::HostField;
use crate::output::targets::{OutputError, OutputReport, OutputSpec, Outputs};
use crate::privileges::{drop_capabilities, PrivilegeError, RunAs};
use std::time::Duration;

/// Longest wait at shutdown for sockets and webhooks to take what is queued.
pub(crate) const OUTPUT_DRAIN: Duration = Duration::from_secs(5);

/// What happens to the process's privileges once captures and outputs are open.
#[derive(Debug)]
pub enum Privileges {
    /// Nothing (`egress-ids live`, run by hand).
    Keep,
    /// Clear every capability, keep the user.
    DropCapabilities,
    /// Become this user and clear every capability.
    Switch(RunAs),
}

/// Why a sensor could not start (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Sensor(#[from] SensorError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Privileges(#[from] PrivilegeError),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("process attribution was asked for (--attribute, capture.attribute = true) but cannot start: {0}")]
    Attribution(crate::host::Unavailable),
}

/// What a stopped sensor reports.
pub struct Stopped {
    pub counters: Counters,
    pub elapsed: Duration,
    pub outputs: OutputReport,
    /// Set when capture ended on an error rather than a stop signal.
    pub capture_error: Option<LiveError>,
}

/// Starts the sensor, runs it until SIGTERM/SIGINT (or a capture error) and stops it.
pub fn serve(
    opts: &SensorOptions,
    outputs: &[OutputSpec],
    privileges: Privileges,
    log: &dyn Fn(&str),
) -> Result<Stopped, StartError> {
    let detector = opts.analysis.build_detector().map_err(SensorError::from)?;
    let (refusals, notes) = detector.rule_notes();
    for line in refusals.iter().chain(&notes) {
        log(line);
    }
    let signals = Signals::register().map_err(StartError::Signals)?;
    // Loading BPF needs the privileges given up below; first, so that a collector asked for
    // and unavailable is the error given.
    let collector = crate::output::attribute::start_collector(opts.attribute, log)
        .map_err(StartError::Attribution)?;
    let captures = open_captures(opts)?;
    let sink = Outputs::open(outputs, signals.reopen.clone())?;
    let sink = HostField::new(sink, opts.analysis.sensor_name.as_ref());
    let sink = crate::output::attribute::MaybeAttributing::new(sink, collector);
    match &privileges {
        Privileges::Keep => {}
        Privileges::DropCapabilities => log(&drop_capabilities()?.to_string()),
        Privileges::Switch(user) => {
            for spec in outputs {
                if let OutputSpec::File { path } = spec {
                    user.chown(path)?;
                }
            }
            log(&user.switch()?.to_string());
        }
    }
    // With fanout, each interface's rings are in a row: one line per interface.
    let rings = opts.capture_threads.max(1);
    for c in captures.iter().step_by(rings) {
        let fanout = if rings > 1 {
            format!(", {rings} rings (AF_PACKET fanout)")
        } else {
            String::new()
        };
        log(&format!(
            "capturing on {} (link type {}{fanout}); direct-ip warm-up {} s",
            c.interface(),
            c.linktype(),
            opts.warmup_secs
        ));
    }
    let outcome = run(opts, detector, captures, sink, &signals, log);
    log(&format!(
        "stopping: every captured packet analysed, every flow ended; {} signature reloads, {} refused",
        outcome.reloads, outcome.reload_failures
    ));
    if let Some(counts) = outcome.sink.attribution() {
        log(&counts.to_string());
    }
    Ok(Stopped {
        counters: outcome.counters,
        elapsed: outcome.elapsed,
        outputs: outcome.sink.into_inner().into_inner().finish(OUTPUT_DRAIN),
        capture_error: outcome.capture_error,
    })
}
