//! EVE lines to a Unix stream socket that another program listens on (like Suricata's
//! `unix_stream` output): this side connects as a client. A writer thread owns the connection so
//! that a slow, absent or stuck listener never holds up the packet pipeline: lines wait in a
//! bounded queue (a full queue drops and counts), the thread connects, writes, and after a failed
//! connect or a write error (EPIPE, reset, a write timeout) connects again with backoff.
//!
//! A line whose write failed is sent again, whole, on the next connection, so nothing the
//! thread knows to be undelivered is lost. Lines the kernel accepted but the listener never read
//! before it went away cannot be known and are not counted. Writing to a closed socket raises
//! SIGPIPE, which the Rust runtime ignores: the write returns EPIPE instead.

use super::backoff::Backoff;
use super::queue::{Stop, Worker};
use super::report::{Counters, TargetKind, TargetReport};
use super::OutputError;
use crossbeam_channel::Receiver;
use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Lines waiting for the socket at most.
const QUEUE_LINES: usize = 4096;
/// First delay between connection attempts; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest one write may block on a listener that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest path a Unix socket address holds: `sun_path` is 108 bytes, the closing NUL included.
const MAX_SOCKET_PATH: usize = 107;

/// A path that can be a Unix socket address, or why not and what to write instead. The one check
/// of every socket path: command line, daemon file, and here.
pub(crate) fn check_socket_path(path: &Path) -> Result<(), String> {
    let bytes = path.as_os_str().as_encoded_bytes();
    if bytes.contains(&0) {
        return Err(format!(
            "{path:?} holds a NUL byte; write a path without it"
        ));
    }
    if bytes.len() > MAX_SOCKET_PATH {
        return Err(format!(
            "{path:?} is {} bytes; a Unix socket path is at most {MAX_SOCKET_PATH} bytes, e.g. /run/egress-ids/eve.sock",
            bytes.len()
        ));
    }
    std::os::unix::net::SocketAddr::from_pathname(path)
        .map(drop)
        .map_err(|e| format!("{path:?} cannot be a socket address: {e}"))
}

/// The pipeline's side of a Unix socket output.
pub(crate) struct SocketTarget {
    name: String,
    worker: Worker<Vec<u8>>,
}

impl SocketTarget {
    /// Starts the writer thread; the listener need not be up yet. Fails only when the path can
    /// never be a socket address or the thread cannot start.
    pub(crate) fn open(path: &Path) -> Result<Self, OutputError> {
        check_socket_path(path).map_err(|reason| OutputError::UnixSocket {
            path: path.to_path_buf(),
            reason,
        })?;
        let name = format!("unix-socket {}", path.display());
        let counters = Arc::new(Counters::default());
        let writer = SocketWriter::new(path.to_path_buf(), Arc::clone(&counters));
        let worker = Worker::spawn(
            "eve-unix-socket",
            QUEUE_LINES,
            counters,
            move |queue, stop| writer.run(queue, stop),
        )
        .map_err(|source| OutputError::Thread {
            target: name.clone(),
            source,
        })?;
        Ok(SocketTarget { name, worker })
    }

    /// Queues one line (the newline is added here).
    pub(crate) fn line(&self, json: &[u8]) {
        let mut line = Vec::with_capacity(json.len() + 1);
        line.extend_from_slice(json);
        line.push(b'\n');
        self.worker.offer(line);
    }

    pub(crate) fn worker(&mut self) -> &mut Worker<Vec<u8>> {
        &mut self.worker
    }

    pub(crate) fn report(&self) -> TargetReport {
        self.worker
            .counters
            .snapshot(TargetKind::UnixSocket, &self.name)
    }
}

/// The writer thread: one connection at a time.
struct SocketWriter {
    path: PathBuf,
    counters: Arc<Counters>,
    conn: Option<UnixStream>,
    backoff: Backoff,
    /// A connection was made before (the next one is a reconnect).
    connected_before: bool,
}

impl SocketWriter {
    fn new(path: PathBuf, counters: Arc<Counters>) -> Self {
        SocketWriter {
            path,
            counters,
            conn: None,
            backoff: Backoff::new(FIRST_BACKOFF, MAX_BACKOFF),
            connected_before: false,
        }
    }

    /// Writes queued lines until the queue closes or the deadline passes; returns how many
    /// lines it holds undelivered (0 or 1).
    fn run(mut self, queue: &Receiver<Vec<u8>>, stop: &mut Stop) -> u64 {
        let mut head: Option<Vec<u8>> = None;
        loop {
            let line = match head.take() {
                Some(line) => line,
                None => match stop.next(queue) {
                    Some(line) => line,
                    None => return 0,
                },
            };
            if stop.passed() {
                return 1;
            }
            if self.conn.is_none() && !self.connect() {
                head = Some(line);
                if !stop.sleep(self.backoff.next_delay()) {
                    return 1;
                }
                continue;
            }
            match self.write(&line, stop) {
                Ok(()) => Counters::add(&self.counters.written, 1),
                Err(e) => {
                    self.counters.set_error(format!("write: {e}"));
                    // Closed; the line goes whole onto the next connection.
                    self.conn = None;
                    head = Some(line);
                }
            }
        }
    }

    /// One connection attempt; false (and the error kept) when it failed.
    fn connect(&mut self) -> bool {
        let conn = UnixStream::connect(&self.path)
            .and_then(|c| c.set_write_timeout(Some(WRITE_TIMEOUT)).map(|()| c));
        match conn {
            Ok(conn) => {
                if self.connected_before {
                    Counters::add(&self.counters.reconnects, 1);
                }
                self.connected_before = true;
                self.backoff.reset();
                self.conn = Some(conn);
                true
            }
            Err(e) => {
                Counters::add(&self.counters.retries, 1);
                self.counters.set_error(format!("connect: {e}"));
                false
            }
        }
    }

    /// Writes one whole line; during shutdown a write never blocks past the deadline.
    fn write(&mut self, line: &[u8], stop: &mut Stop) -> io::Result<()> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        if let Some(left) = stop.remaining() {
            // A zero timeout means "none" to the kernel; a millisecond is the least.
            conn.set_write_timeout(Some(left.clamp(Duration::from_millis(1), WRITE_TIMEOUT)))?;
        }
        conn.write_all(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::os::unix::net::UnixListener;
    use std::time::Instant;

    /// Accepts one connection, waiting at most `limit`.
    fn accept_within(listener: &UnixListener, limit: Duration) -> UnixStream {
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + limit;
        loop {
            match listener.accept() {
                Ok((conn, _)) => {
                    conn.set_nonblocking(false).unwrap();
                    return conn;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("no connection within {limit:?}: {e}"),
            }
        }
    }

    #[test]
    fn a_path_too_long_for_a_socket_is_refused_at_open() {
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(200)));
        assert!(SocketTarget::open(&long).is_err());
    }

    #[test]
    fn lines_reach_a_listener_that_comes_up_late() {
        let dir = std::env::temp_dir().join(format!("egress-ids-sock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("late.sock");
        let mut target = SocketTarget::open(&path).unwrap();
        target.line(br#"{"n":1}"#);
        target.line(br#"{"n":2}"#);
        std::thread::sleep(Duration::from_millis(150));
        let listener = UnixListener::bind(&path).unwrap();
        let reader = std::thread::spawn(move || {
            let conn = accept_within(&listener, Duration::from_secs(5));
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            BufReader::new(conn)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        target.worker().begin_finish(deadline);
        target.worker().join(deadline).unwrap();
        let got = reader.join().unwrap();
        assert_eq!(got, [r#"{"n":1}"#, r#"{"n":2}"#]);
        let r = target.report();
        assert_eq!((r.offered, r.written, r.dropped(), r.queued), (2, 2, 0, 0));
        assert!(r.retries >= 1, "{r}");
        assert_eq!(r.reconnects, 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
