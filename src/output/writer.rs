//! The EVE writer of replay and the stdout/file targets: JSON lines into any `Write`, alerts
//! flushed within a millisecond.

use crate::eve::event::StatsRecord;
use crate::eve::EventSink;
use proto::Timestamp;
use serde_json::Value;
use std::io::{self, Write};
use std::time::{Duration, Instant};

/// Writes events as JSON lines.
pub struct EveWriter {
    out: Box<dyn Write + Send>,
    /// The first write error, kept so the caller can report it (events after it are lost).
    pub(crate) error: Option<io::Error>,
    pub(crate) written: u64,
    /// An alert was written but not flushed yet.
    alert_pending: bool,
    last_flush: Instant,
}

/// Longest an alert waits in the buffer while more alerts keep coming.
pub(crate) const ALERT_FLUSH_INTERVAL: Duration = Duration::from_millis(1);

impl EveWriter {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        EveWriter {
            out,
            error: None,
            written: 0,
            alert_pending: false,
            last_flush: Instant::now()
                .checked_sub(ALERT_FLUSH_INTERVAL)
                .unwrap_or_else(Instant::now),
        }
    }

    /// Flushes buffered lines; returns the first error seen.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

impl EveWriter {
    fn write_bytes(&mut self, json: &[u8], flush: bool) {
        if self.error.is_some() {
            return;
        }
        let result = self
            .out
            .write_all(json)
            .and_then(|_| self.out.write_all(b"\n"))
            .and_then(|_| if flush { self.out.flush() } else { Ok(()) });
        match result {
            Ok(()) => self.written += 1,
            Err(e) => self.error = Some(e),
        }
    }
}

impl EventSink for EveWriter {
    fn emit_stats(&mut self, timestamp: Timestamp, stats: Value) {
        match StatsRecord::to_json(timestamp, stats) {
            Ok(json) => self.write_bytes(&json, false),
            Err(e) => self.error = Some(e.into()),
        }
    }

    /// An alert is flushed at once: it reaches the file or pipe within the packet that raised
    /// it, and an interrupted run never loses it in a buffer.
    fn line(&mut self, json: &[u8], is_alert: bool) {
        if !is_alert {
            self.write_bytes(json, false);
            return;
        }
        // A burst of alerts is delivered every millisecond rather than one write per alert.
        let due = self.last_flush.elapsed() >= ALERT_FLUSH_INTERVAL;
        self.write_bytes(json, due);
        if due {
            self.last_flush = Instant::now();
        } else {
            self.alert_pending = true;
        }
    }

    fn flush(&mut self) {
        if self.alert_pending && self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
            self.alert_pending = false;
            self.last_flush = Instant::now();
        }
    }
}
