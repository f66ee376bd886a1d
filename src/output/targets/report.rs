//! What each output target did: lines written or alerts delivered, what was dropped and why,
//! retries, reconnects, the last error; one human line per target for the log and the summary.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

/// Which kind of output a [`TargetReport`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    File,
    Stdout,
    UnixSocket,
    Webhook,
    Redis,
}

/// Counters of one output target. `offered == written + dropped() + queued` always holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetReport {
    pub kind: TargetKind,
    /// `file /var/log/eve.json`, `stdout`, `unix-socket /run/eve.sock`, `webhook https://…`
    /// (a webhook URL without its user, password and query, which may hold secrets).
    pub(crate) name: String,
    /// Lines handed to the target (alerts only, for a webhook).
    pub offered: u64,
    /// Lines written to the file, stdout or socket; alerts a webhook answered with 2xx.
    pub written: u64,
    /// Dropped because the queue was full (socket, webhook).
    pub dropped_queue_full: u64,
    /// Dropped because of a failure: lines lost to a write error (file, stdout), alerts the
    /// webhook gave up on (every attempt failed, or the server refused them with a 4xx), lines
    /// offered after a writer thread stopped unexpectedly (socket, webhook).
    pub dropped_failed: u64,
    /// Still waiting when shutdown's deadline passed.
    pub(crate) dropped_at_finish: u64,
    /// Waiting in a buffer or queue (or being delivered) at the time of the report.
    pub queued: u64,
    /// Webhook: POSTs repeated after a failure. Unix socket, Redis: failed connection attempts.
    pub retries: u64,
    /// Unix socket, Redis: connections made again after one was lost. File: reopens (logrotate).
    pub reconnects: u64,
    /// Redis: lines sent again after a connection failed before the server's replies to them
    /// were read (the server may have stored them once already: at-least-once delivery).
    pub resent: u64,
    /// The last error seen, if any.
    pub last_error: Option<String>,
}

impl TargetReport {
    /// An empty report for the target `name`.
    pub(crate) fn new(kind: TargetKind, name: impl Into<String>) -> Self {
        TargetReport {
            kind,
            name: name.into(),
            offered: 0,
            written: 0,
            dropped_queue_full: 0,
            dropped_failed: 0,
            dropped_at_finish: 0,
            queued: 0,
            retries: 0,
            reconnects: 0,
            resent: 0,
            last_error: None,
        }
    }

    /// Every line or alert lost, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full + self.dropped_failed + self.dropped_at_finish
    }
}

/// Counters of every output target, in the order they were configured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputReport {
    pub targets: Vec<TargetReport>,
}

impl OutputReport {
    /// Lines and alerts lost over all targets.
    pub fn dropped(&self) -> u64 {
        self.targets.iter().map(TargetReport::dropped).sum()
    }

    /// Whether any target saw an error.
    pub fn has_errors(&self) -> bool {
        self.targets.iter().any(|t| t.last_error.is_some())
    }
}

/// `n noun` with the plural the count asks for.
struct Count(u64, &'static str, &'static str);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.0 == 1 { self.1 } else { self.2 };
        write!(f, "{} {noun}", self.0)
    }
}

impl fmt::Display for TargetReport {
    /// One line, e.g. `webhook http://127.0.0.1:9/x: 12 alerts delivered, 3 dropped (queue
    /// full 0, gave up 3, at shutdown 0), 17 retries; last error: connection refused`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.name)?;
        match self.kind {
            TargetKind::File | TargetKind::Stdout => {
                write!(f, "{} written", Count(self.written, "line", "lines"))?;
                write!(f, ", {} dropped", self.dropped())?;
                if self.dropped() > 0 {
                    write!(
                        f,
                        " (write error {}, at shutdown {})",
                        self.dropped_failed, self.dropped_at_finish
                    )?;
                }
                if self.kind == TargetKind::File && self.reconnects > 0 {
                    write!(f, ", {}", Count(self.reconnects, "reopen", "reopens"))?;
                }
            }
            TargetKind::UnixSocket => {
                write!(f, "{} written", Count(self.written, "line", "lines"))?;
                write!(f, ", {} dropped", self.dropped())?;
                if self.dropped() > 0 {
                    write!(
                        f,
                        " (queue full {}, at shutdown {}",
                        self.dropped_queue_full, self.dropped_at_finish
                    )?;
                    if self.dropped_failed > 0 {
                        write!(f, ", writer stopped {}", self.dropped_failed)?;
                    }
                    write!(f, ")")?;
                }
                write!(
                    f,
                    ", {}, {}",
                    Count(self.reconnects, "reconnect", "reconnects"),
                    Count(self.retries, "failed connect", "failed connects")
                )?;
            }
            TargetKind::Redis => {
                write!(f, "{} written", Count(self.written, "line", "lines"))?;
                write!(
                    f,
                    ", {} dropped (queue full {}, refused by the server {}, at shutdown {}), {}, {}, {} sent again",
                    self.dropped(),
                    self.dropped_queue_full,
                    self.dropped_failed,
                    self.dropped_at_finish,
                    Count(self.reconnects, "reconnect", "reconnects"),
                    Count(self.retries, "failed connect", "failed connects"),
                    self.resent
                )?;
            }
            TargetKind::Webhook => {
                write!(f, "{} delivered", Count(self.written, "alert", "alerts"))?;
                write!(
                    f,
                    ", {} dropped (queue full {}, gave up {}, at shutdown {}), {}",
                    self.dropped(),
                    self.dropped_queue_full,
                    self.dropped_failed,
                    self.dropped_at_finish,
                    Count(self.retries, "retry", "retries")
                )?;
            }
        }
        if self.queued > 0 {
            write!(f, ", {} queued", self.queued)?;
        }
        if let Some(e) = &self.last_error {
            write!(f, "; last error: {e}")?;
        }
        Ok(())
    }
}

impl fmt::Display for OutputReport {
    /// One line per target.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.targets.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

/// Counters shared between the pipeline thread (which offers) and a target's writer thread.
#[derive(Default)]
pub struct Counters {
    pub(crate) offered: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_failed: AtomicU64,
    pub(crate) dropped_at_finish: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) resent: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn set_error(&self, error: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error);
    }

    /// The counters now. What is neither written nor dropped is still queued (the counts that
    /// can only grow after `offered` are read first, so `queued` never goes below zero).
    pub(crate) fn snapshot(&self, kind: TargetKind, name: &str) -> TargetReport {
        let mut r = TargetReport::new(kind, name);
        r.written = self.written.load(Relaxed);
        r.dropped_queue_full = self.dropped_queue_full.load(Relaxed);
        r.dropped_failed = self.dropped_failed.load(Relaxed);
        r.dropped_at_finish = self.dropped_at_finish.load(Relaxed);
        r.retries = self.retries.load(Relaxed);
        r.reconnects = self.reconnects.load(Relaxed);
        r.resent = self.resent.load(Relaxed);
        r.offered = self.offered.load(Relaxed);
        r.queued = r.offered.saturating_sub(r.written + r.dropped());
        // A counter read a moment late may exceed `offered`; keep the identity exact.
        r.offered = r.offered.max(r.written + r.dropped());
        r.last_error = self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_holds_and_lines_read_well() {
        let c = Counters::default();
        Counters::add(&c.offered, 20);
        Counters::add(&c.written, 12);
        Counters::add(&c.dropped_failed, 3);
        Counters::add(&c.dropped_queue_full, 1);
        Counters::add(&c.retries, 17);
        c.set_error("connection refused".into());
        let r = c.snapshot(TargetKind::Webhook, "webhook http://127.0.0.1:9/x");
        assert_eq!(r.dropped(), 4);
        assert_eq!(r.queued, 4);
        assert_eq!(r.offered, r.written + r.dropped() + r.queued);
        assert_eq!(
            r.to_string(),
            "webhook http://127.0.0.1:9/x: 12 alerts delivered, 4 dropped (queue full 1, gave up \
             3, at shutdown 0), 17 retries, 4 queued; last error: connection refused"
        );

        let mut f = TargetReport::new(TargetKind::File, "file /var/log/eve.json");
        f.offered = 1;
        f.written = 1;
        f.reconnects = 1;
        let mut s = TargetReport::new(TargetKind::UnixSocket, "unix-socket /run/eve.sock");
        s.offered = 10;
        s.written = 7;
        s.dropped_queue_full = 3;
        s.reconnects = 2;
        s.retries = 1;
        let report = OutputReport {
            targets: vec![f, s],
        };
        assert_eq!(report.dropped(), 3);
        assert!(!report.has_errors());
        assert_eq!(
            report.to_string(),
            "file /var/log/eve.json: 1 line written, 0 dropped, 1 reopen\n\
             unix-socket /run/eve.sock: 7 lines written, 3 dropped (queue full 3, at shutdown 0), \
             2 reconnects, 1 failed connect"
        );
    }

    #[test]
    fn a_late_counter_never_breaks_the_identity() {
        let c = Counters::default();
        // The writer counted a line the reader has not seen offered yet.
        Counters::add(&c.written, 2);
        Counters::add(&c.offered, 1);
        let r = c.snapshot(TargetKind::UnixSocket, "unix-socket x");
        assert_eq!(r.queued, 0);
        assert_eq!(r.offered, r.written + r.dropped() + r.queued);
    }
}
