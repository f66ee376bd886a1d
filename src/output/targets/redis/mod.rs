//! EVE lines into Redis, as Suricata's `eve-log` `filetype: redis` writes them: pushed onto a
//! list (`LPUSH`, Suricata's default, or `RPUSH`), published on a channel (`PUBLISH`), or added
//! to a stream (`XADD key MAXLEN ~ N * eve LINE`, the field named `eve` as Suricata names it),
//! one command per line, the line without its newline.
//!
//! A writer thread owns the connection ([`conn`]), so that a slow or absent server never holds
//! up the pipeline: lines wait in a bounded queue (a full queue drops the new line and counts it).
//! The thread sends what is queued as one pipelined batch of up to `batch_size` commands
//! (Suricata's `pipelining: batch-size`), then reads one reply per command. A line counts as
//! written only once the server's reply to it was read: an error reply (`WRONGTYPE`, `OOM`, an
//! ACL refusal) drops that line and counts it, with the server's message as the last error.
//!
//! When the connection fails (the server went away, a timeout) the lines whose replies were not
//! read stay at the head of the queue and are sent again, in order, once a new connection is made
//! (with backoff, reset by the first batch answered in full, and `AUTH`/`SELECT`/`PING` first). Delivery is therefore **at least once**: a
//! command the server executed but whose reply was lost is executed twice, so after a server
//! crash a consumer may see some lines of one batch twice (at most `batch_size`, counted as
//! `resent`). Nothing is lost that the report does not count as dropped; what the server
//! acknowledged but did not persist (no `appendfsync always`) is the server's to keep.

mod conn;
mod resp;
mod url;

pub(crate) use url::check_redis_url;

use super::backoff::Backoff;
use super::queue::{Stop, Worker};
use super::report::{Counters, TargetKind, TargetReport};
use super::OutputError;
use conn::{handshake, tls_config, HandshakeError, Stream};
use crossbeam_channel::Receiver;
use resp::{Replies, Reply};
use rustls::ClientConfig;
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use url::{Address, RedisUrl};

/// First delay between connection attempts; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest one read or write may block on a server that does not answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// What is done with each line: the Redis command, as Suricata's `mode` names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedisMode {
    /// `LPUSH key line` (Suricata's `list` and `lpush`, its default): the newest line first, a
    /// consumer takes the oldest with `RPOP`/`BRPOP`.
    #[default]
    Lpush,
    /// `RPUSH key line`: the oldest line first, taken with `LPOP`/`BLPOP`.
    Rpush,
    /// `PUBLISH key line` (`channel`, `publish`): to the subscribers connected at that moment.
    Publish,
    /// `XADD key [MAXLEN ~|= n] * eve line` (`stream`, `xadd`).
    Xadd,
}

impl RedisMode {
    /// The names `mode` takes, as Suricata takes them.
    pub const NAMES: &'static str = "list, lpush, rpush, channel, publish, stream or xadd";
}

impl FromStr for RedisMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "list" | "lpush" => Ok(RedisMode::Lpush),
            "rpush" => Ok(RedisMode::Rpush),
            "channel" | "publish" => Ok(RedisMode::Publish),
            "stream" | "xadd" => Ok(RedisMode::Xadd),
            _ => Err(format!(
                "unknown Redis mode {text:?}; use {}",
                RedisMode::NAMES
            )),
        }
    }
}

impl fmt::Display for RedisMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedisMode::Lpush => "lpush",
            RedisMode::Rpush => "rpush",
            RedisMode::Publish => "publish",
            RedisMode::Xadd => "xadd",
        })
    }
}

/// How EVE lines are written into Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisSpec {
    /// `redis://[user:password@]host[:port][/db]`, `rediss://…`, `unix:///path`.
    pub(crate) url: String,
    pub mode: RedisMode,
    /// The list, channel or stream. Suricata's default is `suricata`; ours is
    /// [`RedisSpec::DEFAULT_KEY`], so that a Redis both write to keeps the two apart.
    pub key: String,
    /// Stream mode: the length `XADD` trims the stream to (0: never trimmed). Suricata's
    /// default, 100000.
    pub stream_maxlen: u64,
    /// Stream mode: trim to exactly `stream_maxlen` (`MAXLEN =`) rather than about it
    /// (`MAXLEN ~`, Suricata's default, which trims whole nodes and costs less).
    pub stream_trim_exact: bool,
    /// Commands sent in one pipelined batch at most (what is queued, up to this many).
    pub batch_size: usize,
    /// Lines waiting at most; beyond it new lines are dropped and counted.
    pub queue: usize,
    /// The PEM file of the CA that signed a `rediss://` server's certificate (a private CA);
    /// without it the web PKI's roots are trusted.
    pub ca_file: Option<PathBuf>,
}

impl RedisSpec {
    /// The key used when none is given.
    pub const DEFAULT_KEY: &'static str = "egress-ids";

    /// Lines into Redis at `url` with the default mode, key and batching.
    pub fn new(url: impl Into<String>) -> Self {
        RedisSpec {
            url: url.into(),
            mode: RedisMode::Lpush,
            key: Self::DEFAULT_KEY.to_string(),
            stream_maxlen: 100_000,
            stream_trim_exact: false,
            batch_size: 64,
            queue: 4096,
            ca_file: None,
        }
    }
}

/// The pipeline's side of a Redis output.
pub(crate) struct RedisTarget {
    name: String,
    worker: Worker<Vec<u8>>,
}

impl RedisTarget {
    /// Checks the settings, reads the CA file, starts the writer thread (no connection is made
    /// yet: a server that is down at start is connected to later).
    pub(crate) fn open(spec: &RedisSpec) -> Result<Self, OutputError> {
        let url = check_redis_url(&spec.url).map_err(OutputError::RedisUrl)?;
        let settings = |reason: String| OutputError::RedisSettings {
            url: url.to_string(),
            reason,
        };
        if spec.key.is_empty() {
            return Err(settings("the key is empty".into()));
        }
        if spec.queue == 0 || spec.batch_size == 0 {
            return Err(settings(
                "the queue and the batch must hold at least 1 line".into(),
            ));
        }
        let tls = match &url.address {
            Address::Tcp { tls: true, .. } => {
                Some(tls_config(spec.ca_file.as_deref()).map_err(settings)?)
            }
            _ if spec.ca_file.is_some() => {
                return Err(settings(
                    "a CA file is only used with TLS; write rediss:// in the URL".into(),
                ))
            }
            _ => None,
        };
        let name = format!("redis {url} {} {}", spec.mode, spec.key);
        let counters = Arc::new(Counters::default());
        let writer = RedisWriter {
            url,
            tls,
            prefix: prefix(spec),
            batch_size: spec.batch_size,
            counters: Arc::clone(&counters),
            session: None,
            backoff: Backoff::new(FIRST_BACKOFF, MAX_BACKOFF),
            connected_before: false,
            out: Vec::new(),
        };
        let worker = Worker::spawn("eve-redis", spec.queue, counters, move |queue, stop| {
            writer.run(queue, stop)
        })
        .map_err(|source| OutputError::Thread {
            target: name.clone(),
            source,
        })?;
        Ok(RedisTarget { name, worker })
    }

    /// Queues one line (without a newline: each Redis element is one line).
    pub(crate) fn line(&self, json: &[u8]) {
        self.worker.offer(json.to_vec());
    }

    pub(crate) fn worker(&mut self) -> &mut Worker<Vec<u8>> {
        &mut self.worker
    }

    pub(crate) fn report(&self) -> TargetReport {
        self.worker.counters.snapshot(TargetKind::Redis, &self.name)
    }
}

/// Every argument of a line's command but the line itself.
fn prefix(spec: &RedisSpec) -> Vec<Vec<u8>> {
    let key = spec.key.as_bytes().to_vec();
    match spec.mode {
        RedisMode::Lpush => vec![b"LPUSH".to_vec(), key],
        RedisMode::Rpush => vec![b"RPUSH".to_vec(), key],
        RedisMode::Publish => vec![b"PUBLISH".to_vec(), key],
        RedisMode::Xadd if spec.stream_maxlen == 0 => {
            vec![b"XADD".to_vec(), key, b"*".to_vec(), b"eve".to_vec()]
        }
        RedisMode::Xadd => vec![
            b"XADD".to_vec(),
            key,
            b"MAXLEN".to_vec(),
            if spec.stream_trim_exact { b"=" } else { b"~" }.to_vec(),
            spec.stream_maxlen.to_string().into_bytes(),
            b"*".to_vec(),
            b"eve".to_vec(),
        ],
    }
}

/// An open, authenticated connection and its reply reader.
struct Session {
    stream: Stream,
    replies: Replies,
}

/// The writer thread.
struct RedisWriter {
    url: RedisUrl,
    tls: Option<Arc<ClientConfig>>,
    prefix: Vec<Vec<u8>>,
    batch_size: usize,
    counters: Arc<Counters>,
    session: Option<Session>,
    backoff: Backoff,
    /// A connection was made before (the next one is a reconnect).
    connected_before: bool,
    /// The commands of one batch, reused.
    out: Vec<u8>,
}

/// Lines taken from the queue and not yet acknowledged, oldest first.
struct Pending {
    lines: VecDeque<Vec<u8>>,
    /// How many of the first lines were sent on a connection that failed before their replies
    /// came: sending them again may repeat them.
    sent_before: usize,
}

impl RedisWriter {
    /// Writes queued lines until the queue closes or the deadline passes; returns how many
    /// lines it holds unacknowledged.
    fn run(mut self, queue: &Receiver<Vec<u8>>, stop: &mut Stop) -> u64 {
        let mut pending = Pending {
            lines: VecDeque::with_capacity(self.batch_size),
            sent_before: 0,
        };
        loop {
            if pending.lines.is_empty() {
                match stop.next(queue) {
                    Some(line) => pending.lines.push_back(line),
                    None => return 0,
                }
            }
            while pending.lines.len() < self.batch_size {
                match queue.try_recv() {
                    Ok(line) => pending.lines.push_back(line),
                    Err(_) => break,
                }
            }
            if stop.passed() {
                return pending.lines.len() as u64;
            }
            if self.session.is_none() && !self.connect(stop) {
                if !stop.sleep(self.backoff.next_delay()) {
                    return pending.lines.len() as u64;
                }
                continue;
            }
            match self.send(&mut pending, stop) {
                Ok(()) => self.backoff.reset(),
                Err(e) => {
                    self.counters.set_error(format!("send: {e}"));
                    self.session = None;
                    // A server that drops every batch is not hammered either.
                    if !stop.sleep(self.backoff.next_delay()) {
                        return pending.lines.len() as u64;
                    }
                }
            }
        }
    }

    /// One connection attempt with its handshake; false (and the error kept) when it failed.
    fn connect(&mut self, stop: &mut Stop) -> bool {
        let timeout = stop.remaining().unwrap_or(IO_TIMEOUT).min(IO_TIMEOUT);
        let attempt = Stream::open(&self.url, self.tls.as_ref(), timeout)
            .map_err(HandshakeError::Io)
            .and_then(|mut stream| {
                let mut replies = Replies::new();
                handshake(&mut stream, &mut replies, &self.url)?;
                Ok(Session { stream, replies })
            });
        match attempt {
            Ok(session) => {
                if self.connected_before {
                    Counters::add(&self.counters.reconnects, 1);
                }
                self.connected_before = true;
                self.session = Some(session);
                true
            }
            Err(e) => {
                Counters::add(&self.counters.retries, 1);
                self.counters.set_error(match e {
                    HandshakeError::Io(e) => format!("connect: {e}"),
                    HandshakeError::Refused(reason) => reason,
                });
                false
            }
        }
    }

    /// Sends the pending lines as one batch and reads a reply per line; each reply read
    /// settles its line (written, or refused and dropped). An I/O error leaves the lines not
    /// yet settled pending, marked as sent.
    fn send(&mut self, pending: &mut Pending, stop: &mut Stop) -> io::Result<()> {
        let Some(session) = self.session.as_mut() else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        let n = pending.lines.len();
        Counters::add(&self.counters.resent, pending.sent_before.min(n) as u64);
        pending.sent_before = n;
        self.out.clear();
        for line in &pending.lines {
            resp::command_then(&mut self.out, &self.prefix, line);
        }
        if let Some(left) = stop.remaining() {
            session.stream.set_timeout(left.min(IO_TIMEOUT))?;
        }
        session.stream.write_all(&self.out)?;
        session.stream.flush()?;
        for _ in 0..n {
            let reply = session.replies.next(&mut session.stream)?;
            pending.lines.pop_front();
            pending.sent_before -= 1;
            match reply {
                Reply::Done => Counters::add(&self.counters.written, 1),
                Reply::Error(e) => {
                    Counters::add(&self.counters.dropped_failed, 1);
                    self.counters
                        .set_error(format!("the server refused a line: {e}"));
                }
            }
        }
        if self.out.capacity() > 1 << 20 {
            // One huge batch must not keep its memory for ever.
            self.out = Vec::new();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_take_suricatas_names_and_build_its_commands() {
        for (name, mode) in [
            ("list", RedisMode::Lpush),
            ("lpush", RedisMode::Lpush),
            ("rpush", RedisMode::Rpush),
            ("channel", RedisMode::Publish),
            ("publish", RedisMode::Publish),
            ("stream", RedisMode::Xadd),
            ("xadd", RedisMode::Xadd),
        ] {
            assert_eq!(name.parse::<RedisMode>(), Ok(mode));
        }
        assert!("LIST"
            .parse::<RedisMode>()
            .unwrap_err()
            .contains("use list, lpush"));
        let mut spec = RedisSpec::new("redis://h");
        let words = |spec: &RedisSpec| {
            prefix(spec)
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(words(&spec), "LPUSH egress-ids");
        spec.mode = RedisMode::Xadd;
        assert_eq!(words(&spec), "XADD egress-ids MAXLEN ~ 100000 * eve");
        spec.stream_trim_exact = true;
        spec.stream_maxlen = 5;
        assert_eq!(words(&spec), "XADD egress-ids MAXLEN = 5 * eve");
        spec.stream_maxlen = 0;
        assert_eq!(words(&spec), "XADD egress-ids * eve");
        spec.mode = RedisMode::Publish;
        spec.key = "eve".into();
        assert_eq!(words(&spec), "PUBLISH eve");
    }

    #[test]
    fn settings_are_checked_at_open() {
        let mut spec = RedisSpec::new("redis://u:pw@127.0.0.1:9");
        spec.queue = 0;
        let e = RedisTarget::open(&spec).err().unwrap().to_string();
        assert!(
            e.contains("redis://127.0.0.1:9") && e.contains("queue"),
            "{e}"
        );
        assert!(!e.contains("pw"), "{e}");
        let mut spec = RedisSpec::new("redis://127.0.0.1:9");
        spec.ca_file = Some("/etc/ssl/ca.pem".into());
        let e = RedisTarget::open(&spec).err().unwrap().to_string();
        assert!(e.contains("write rediss://"), "{e}");
        let e = RedisTarget::open(&RedisSpec::new("http://h"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a usable Redis URL"), "{e}");
    }

    #[test]
    fn a_server_that_is_down_is_retried_and_the_rest_counted_at_shutdown() {
        // A port nothing listens on (free a moment ago).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut target =
            RedisTarget::open(&RedisSpec::new(format!("redis://127.0.0.1:{port}"))).unwrap();
        for i in 0..3 {
            target.line(format!("{{\"n\":{i}}}").as_bytes());
        }
        std::thread::sleep(Duration::from_millis(250));
        let deadline = std::time::Instant::now() + Duration::from_millis(200);
        target.worker().begin_finish(deadline);
        target.worker().join(deadline).unwrap();
        let r = target.report();
        assert_eq!(
            (r.offered, r.written, r.dropped_at_finish),
            (3, 0, 3),
            "{r}"
        );
        assert!(r.retries >= 2, "{r}");
        assert!(
            r.last_error
                .as_deref()
                .unwrap_or_default()
                .starts_with("connect: "),
            "{r}"
        );
    }
}
