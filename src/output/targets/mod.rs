//! Where a live sensor's EVE lines go: files, stdout, a Unix stream socket, an HTTP webhook for
//! alerts, Redis (a list, a channel or a stream). [`OutputSpec`] says what to open; [`Outputs`] opens them all and fans every line out
//! to each one, and [`OutputReport`] says what each did.
//!
//! Files and stdout are written from the pipeline's thread through a buffer; the socket, the
//! webhook and Redis each have a writer thread behind a bounded queue, so none can hold up the
//! pipeline.

mod backoff;
mod file;
mod queue;
mod redis;
mod report;
mod socket;
mod webhook;

pub(crate) use redis::check_redis_url;
pub use redis::{RedisMode, RedisSpec};
pub use report::{OutputReport, TargetKind, TargetReport};
pub(crate) use socket::check_socket_path;
pub(crate) use webhook::check_webhook_url;

use crate::eve::{event::StatsRecord, EventSink};
use file::StreamTarget;
use proto::Timestamp;
use redis::RedisTarget;
use socket::SocketTarget;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use webhook::WebhookTarget;

/// One configured output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputSpec {
    /// EVE lines appended to a file; reopened on request (logrotate).
    File { path: PathBuf },
    /// EVE lines on standard output.
    Stdout,
    /// EVE lines sent to a Unix stream socket that another program listens on; reconnects.
    UnixSocket { path: PathBuf },
    /// Alerts POSTed as JSON to an HTTP(S) URL.
    Webhook(WebhookSpec),
    /// EVE lines into a Redis list, channel or stream; reconnects.
    Redis(RedisSpec),
}

/// How alerts are delivered to a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSpec {
    pub(crate) url: String,
    /// Alerts waiting for delivery at most; beyond it new alerts are dropped and counted.
    pub queue: usize,
    /// Timeout of one POST.
    pub timeout: Duration,
    /// Delivery attempts per alert before it is dropped and counted.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl WebhookSpec {
    /// A webhook at `url` with the default queue and retry policy.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookSpec {
            url: url.into(),
            queue: 1024,
            timeout: Duration::from_secs(5),
            max_attempts: 8,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// An output that cannot be opened: what, why, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "cannot open EVE output file {}: {source}; check that its directory exists and that the \
         sensor's user (after privileges are dropped) may write there",
        path.display()
    )]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The reason says what to write instead.
    #[error("cannot send EVE to Unix socket {}: {reason}", path.display())]
    UnixSocket { path: PathBuf, reason: String },
    /// The reason shows the URL without secrets and says what to write instead.
    #[error("webhook: {0}")]
    WebhookUrl(String),
    #[error("webhook {url}: {reason}; fix the webhook settings")]
    WebhookSettings { url: String, reason: String },
    /// The reason shows the URL without secrets and says what to write instead.
    #[error("redis: {0}")]
    RedisUrl(String),
    #[error("redis {url}: {reason}; fix the redis settings")]
    RedisSettings { url: String, reason: String },
    #[error(
        "cannot start the writer thread of {target}: {source}; the system is short of threads or \
         memory"
    )]
    Thread {
        target: String,
        #[source]
        source: io::Error,
    },
}

/// One open output.
enum Target {
    /// A file or stdout, written from the pipeline's thread.
    Stream(StreamTarget),
    Socket(SocketTarget),
    Webhook(WebhookTarget),
    Redis(RedisTarget),
}

/// Every configured output: each EVE line goes to each of them (alerts only, to a webhook).
pub struct Outputs {
    targets: Vec<Target>,
    /// Set (by a SIGUSR1 handler) to have files closed and opened again.
    reopen: Arc<AtomicBool>,
}

impl Outputs {
    /// Opens every target; an error names the target (path/URL) and what to do. A Unix socket
    /// whose listener is not up yet is not an error (it connects later); a file that cannot be
    /// opened is. Setting `reopen` has every file reopened at the next line or flush.
    pub fn open(specs: &[OutputSpec], reopen: Arc<AtomicBool>) -> Result<Outputs, OutputError> {
        let mut targets = Vec::with_capacity(specs.len());
        for spec in specs {
            targets.push(match spec {
                OutputSpec::File { path } => {
                    Target::Stream(StreamTarget::file(path).map_err(|source| {
                        OutputError::File {
                            path: path.clone(),
                            source,
                        }
                    })?)
                }
                OutputSpec::Stdout => Target::Stream(StreamTarget::stdout()),
                OutputSpec::UnixSocket { path } => Target::Socket(SocketTarget::open(path)?),
                OutputSpec::Webhook(spec) => Target::Webhook(WebhookTarget::open(spec)?),
                OutputSpec::Redis(spec) => Target::Redis(RedisTarget::open(spec)?),
            });
        }
        Ok(Outputs { targets, reopen })
    }

    /// Flushes everything, lets the socket, webhook and Redis threads deliver what is queued for at
    /// most `deadline` (together, not each), stops them, and reports. What is still queued
    /// then is counted as dropped.
    pub fn finish(mut self, deadline: Duration) -> OutputReport {
        self.check_reopen();
        let until = Instant::now()
            .checked_add(deadline)
            .unwrap_or_else(Instant::now);
        for target in &mut self.targets {
            match target {
                Target::Stream(t) => t.flush(),
                Target::Socket(t) => t.worker().begin_finish(until),
                Target::Webhook(t) => t.worker().begin_finish(until),
                Target::Redis(t) => t.worker().begin_finish(until),
            }
        }
        let mut report = OutputReport::default();
        for target in &mut self.targets {
            let (joined, mut r) = match target {
                Target::Stream(t) => (Ok(()), t.report()),
                Target::Socket(t) => (t.worker().join(until), t.report()),
                Target::Webhook(t) => (t.worker().join(until), t.report()),
                Target::Redis(t) => (t.worker().join(until), t.report()),
            };
            if let Err(e) = joined {
                // What the thread still held is lost with it.
                r.dropped_at_finish += r.queued;
                r.queued = 0;
                r.last_error = Some(e);
            }
            report.targets.push(r);
        }
        report
    }

    /// Counters so far (for periodic logging).
    pub fn report(&self) -> OutputReport {
        OutputReport {
            targets: self
                .targets
                .iter()
                .map(|target| match target {
                    Target::Stream(t) => t.report(),
                    Target::Socket(t) => t.report(),
                    Target::Webhook(t) => t.report(),
                    Target::Redis(t) => t.report(),
                })
                .collect(),
        }
    }

    /// Reopens the files if asked to since the last look.
    fn check_reopen(&mut self) {
        // A plain load first: the flag is read for every line and almost never set.
        if self.reopen.load(Ordering::Relaxed) && self.reopen.swap(false, Ordering::AcqRel) {
            for target in &mut self.targets {
                if let Target::Stream(t) = target {
                    t.reopen();
                }
            }
        }
    }
}

impl EventSink for Outputs {
    fn line(&mut self, json: &[u8], is_alert: bool) {
        self.check_reopen();
        for target in &mut self.targets {
            match target {
                Target::Stream(t) => t.line(json, is_alert),
                Target::Socket(t) => t.line(json),
                Target::Redis(t) => t.line(json),
                Target::Webhook(t) if is_alert => t.alert(json),
                Target::Webhook(_) => {}
            }
        }
    }

    /// Serialised once, then written like any other line.
    fn emit_stats(&mut self, ts: Timestamp, stats: serde_json::Value) {
        // Serialising a `Value` into memory cannot fail (its map keys are strings, a `Vec`
        // takes any bytes); were it to, the stats record is skipped and the next one comes.
        if let Ok(json) = StatsRecord::to_json(ts, stats) {
            self.line(&json, false);
        }
    }

    fn flush(&mut self) {
        self.check_reopen();
        for target in &mut self.targets {
            if let Target::Stream(t) = target {
                t.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::EveWriter;
    use crate::testutil::scratch;
    use std::fs;

    #[test]
    fn one_reopen_flag_reopens_every_file_and_is_cleared() {
        fn assert_send<T: Send>() {}
        assert_send::<Outputs>();

        let dir = scratch("outputs-flag");
        let (a, b) = (dir.join("a.json"), dir.join("b.json"));
        let flag = Arc::new(AtomicBool::new(false));
        let specs = [
            OutputSpec::File { path: a.clone() },
            OutputSpec::File { path: b.clone() },
        ];
        let mut out = Outputs::open(&specs, Arc::clone(&flag)).unwrap();
        out.line(b"{\"n\":1}", false);
        for p in [&a, &b] {
            fs::rename(p, p.with_extension("old")).unwrap();
        }
        flag.store(true, Ordering::SeqCst);
        out.line(b"{\"n\":2}", false);
        assert!(!flag.load(Ordering::SeqCst));
        let report = out.finish(Duration::from_secs(1));
        for p in [&a, &b] {
            assert_eq!(
                fs::read_to_string(p.with_extension("old")).unwrap(),
                "{\"n\":1}\n"
            );
            assert_eq!(fs::read_to_string(p).unwrap(), "{\"n\":2}\n");
        }
        assert!(report
            .targets
            .iter()
            .all(|t| t.reconnects == 1 && t.written == 2));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn stats_records_match_the_eve_writer() {
        let dir = scratch("outputs-stats");
        let ts = Timestamp::from_parts(1_774_958_400, 5, 1_000_000);
        let stats = serde_json::json!({"capture": {"kernel_packets": 3}, "uptime": 2});
        let theirs = dir.join("eve-writer.json");
        let mut w = EveWriter::new(Box::new(fs::File::create(&theirs).unwrap()));
        w.emit_stats(ts, stats.clone());
        w.finish().unwrap();
        let ours = dir.join("outputs.json");
        let mut out = Outputs::open(
            &[OutputSpec::File { path: ours.clone() }],
            Arc::new(AtomicBool::new(false)),
        )
        .unwrap();
        out.emit_stats(ts, stats);
        out.finish(Duration::from_secs(1));
        let text = fs::read_to_string(&ours).unwrap();
        assert_eq!(text, fs::read_to_string(&theirs).unwrap());
        assert!(text.starts_with(
            "{\"timestamp\":\"2026-03-31T12:00:00.000005+0000\",\"event_type\":\"stats\""
        ));
        let _ = fs::remove_dir_all(&dir);
    }
}
