//! A replay's progress on a terminal: bytes and packets read, alerts so far, rate and time left,
//! redrawn on one stderr line a few times a second by a thread of its own.
//!
//! The reading side pays almost nothing: [`CountingFrames`] adds to two local counters per frame
//! and publishes them (relaxed atomic stores) every [`PUBLISH_EVERY`] frames and when the source
//! waits; [`CountingAlerts`] adds one per alert line. The drawing thread only reads the atomics.
//! Whether to draw at all is the caller's choice (the command line: a terminal, not CI, or
//! `--progress`).

use crate::capture::{Frame, FrameSink, SharedBytes};
use crate::eve::EventSink;
use proto::Timestamp;
use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Frames between two publications of the reader's counters.
pub const PUBLISH_EVERY: u64 = 4096;
/// How often the line is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(200);
/// A pcap record's header: the bytes a frame takes in the file besides its data (pcapng's
/// blocks take a little more; the figure is for the rate and the estimate of what is left).
const RECORD_HEADER: u64 = 16;

/// What has been read and raised so far, and how much there is.
#[derive(Debug, Default)]
pub struct Progress {
    packets: AtomicU64,
    bytes: AtomicU64,
    alerts: AtomicU64,
    /// The inputs' total size in bytes (0 when unknown: standard input).
    total: u64,
    done: AtomicBool,
}

impl Progress {
    pub fn new(total_bytes: u64) -> Arc<Progress> {
        Arc::new(Progress {
            total: total_bytes,
            ..Progress::default()
        })
    }

    /// (packets, bytes, alerts) as last published.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.packets.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
            self.alerts.load(Ordering::Relaxed),
        )
    }
}

/// A [`FrameSink`] that counts what passes through it on to `inner`.
pub struct CountingFrames<'a, S: ?Sized> {
    inner: &'a mut S,
    progress: &'a Progress,
    packets: u64,
    bytes: u64,
}

impl<'a, S: ?Sized> CountingFrames<'a, S> {
    pub fn new(inner: &'a mut S, progress: &'a Progress) -> Self {
        let (packets, bytes, _) = progress.snapshot();
        CountingFrames {
            inner,
            progress,
            packets,
            bytes,
        }
    }

    fn publish(&self) {
        self.progress.packets.store(self.packets, Ordering::Relaxed);
        self.progress.bytes.store(self.bytes, Ordering::Relaxed);
    }
}

impl<S: FrameSink + ?Sized> FrameSink for CountingFrames<'_, S> {
    fn frame(&mut self, frame: &Frame<'_>) {
        self.packets += 1;
        self.bytes += frame.data.len() as u64 + RECORD_HEADER;
        if self.packets.is_multiple_of(PUBLISH_EVERY) {
            self.publish();
        }
        self.inner.frame(frame);
    }

    fn chunk(&mut self, chunk: &SharedBytes) {
        self.inner.chunk(chunk);
    }

    fn idle(&mut self) {
        self.publish();
        self.inner.idle();
    }
}

impl<S: ?Sized> Drop for CountingFrames<'_, S> {
    fn drop(&mut self) {
        self.publish();
    }
}

/// An [`EventSink`] that counts the alert lines it hands on.
pub struct CountingAlerts<W> {
    pub inner: W,
    progress: Arc<Progress>,
}

impl<W> CountingAlerts<W> {
    pub fn new(inner: W, progress: Arc<Progress>) -> Self {
        CountingAlerts { inner, progress }
    }
}

impl<W: EventSink> EventSink for CountingAlerts<W> {
    fn line(&mut self, json: &[u8], is_alert: bool) {
        if is_alert {
            self.progress.alerts.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.line(json, is_alert);
    }

    fn emit_stats(&mut self, ts: Timestamp, stats: Value) {
        self.inner.emit_stats(ts, stats);
    }

    fn flush(&mut self) {
        self.inner.flush();
    }
}

/// `1.5 GiB`, `312.0 MiB`, `12.0 KiB`.
fn size(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// The line for `snapshot` after `elapsed`: what was read of how much, packets, alerts, rate,
/// and the time left while the total is known.
pub fn render(total: u64, (packets, bytes, alerts): (u64, u64, u64), elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = bytes as f64 / secs;
    let mut line = format!("replay: {}", size(bytes as f64));
    if total > 0 {
        let share = (bytes as f64 / total as f64).min(1.0);
        line += &format!(" of {} ({:.0} %)", size(total as f64), share * 100.0);
    }
    line += &format!(", {packets} packets, {alerts} alerts, {}/s", size(rate));
    let left = total.saturating_sub(bytes) as f64 / rate.max(1.0);
    if left >= 0.5 {
        line += &format!(", about {left:.0} s left");
    }
    line
}

/// Draws `progress` on stderr until [`finish`] is called; the line is cleared at the end.
pub fn draw(progress: Arc<Progress>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut err = std::io::stderr();
        loop {
            // Woken early by `finish`.
            std::thread::park_timeout(REDRAW_EVERY);
            if progress.done.load(Ordering::Relaxed) {
                break;
            }
            let line = render(progress.total, progress.snapshot(), started.elapsed());
            let _ = write!(err, "\r\x1b[K{line}");
            let _ = err.flush();
        }
        let _ = write!(err, "\r\x1b[K");
        let line = render(progress.total, progress.snapshot(), started.elapsed());
        let _ = writeln!(err, "{line}");
    })
}

/// Stops the drawing thread after its last line.
pub fn finish(progress: &Progress, bar: JoinHandle<()>) {
    progress.done.store(true, Ordering::Relaxed);
    bar.thread().unpark();
    let _ = bar.join();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_how_far_and_how_long() {
        let line = render(1 << 30, (1000, 1 << 29, 3), Duration::from_secs(1));
        assert_eq!(
            line,
            "replay: 512.0 MiB of 1.0 GiB (50 %), 1000 packets, 3 alerts, 512.0 MiB/s, about 1 s left"
        );
        let piped = render(0, (10, 2048, 0), Duration::from_secs(2));
        assert_eq!(piped, "replay: 2.0 KiB, 10 packets, 0 alerts, 1.0 KiB/s");
        // At the end (the file's header is not counted): no time left to tell.
        let end = render(1024 + 24, (4, 1024, 0), Duration::from_secs(1));
        assert_eq!(
            end,
            "replay: 1.0 KiB of 1.0 KiB (98 %), 4 packets, 0 alerts, 1.0 KiB/s"
        );
    }

    #[test]
    fn frames_are_counted_and_published_when_the_source_waits_or_ends() {
        let progress = Progress::new(0);
        let mut seen = 0u64;
        let mut inner = |_: &Frame<'_>| seen += 1;
        {
            let mut counting = CountingFrames::new(&mut inner, &progress);
            let data = [0u8; 60];
            for i in 0..10 {
                counting.frame(&Frame {
                    index: i,
                    ts: Timestamp::default(),
                    linktype: 1,
                    data: &data,
                    orig_len: 60,
                });
            }
            assert_eq!(progress.snapshot().0, 0, "not yet published");
            counting.idle();
            assert_eq!(progress.snapshot(), (10, 760, 0));
        }
        assert_eq!(seen, 10);
    }
}
