//! EVE lines appended to a file, or written to stdout, from the pipeline's own thread through a
//! buffer: written out at least every 100 ms while lines keep coming, an alert within about a
//! millisecond, everything when the pipeline is about to wait. A file is reopened on request
//! (logrotate renames it, then the daemon gets SIGUSR1); if the path cannot be opened, lines
//! keep going to the old file. A write error is kept for the report and the target stops
//! writing (a later reopen may revive a file); nothing panics.

use super::report::{TargetKind, TargetReport};
use crate::output::writer::ALERT_FLUSH_INTERVAL;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest a line waits in the buffer while more lines keep coming.
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Bytes buffered before they are written whatever the time.
const BUFFER_BYTES: usize = 64 * 1024;
/// Permissions of a file this program creates (before the umask): alerts name internal hosts.
const FILE_MODE: u32 = 0o640;

/// A file or stdout.
pub(crate) struct StreamTarget {
    kind: TargetKind,
    name: String,
    /// The file to reopen on request; `None` for stdout.
    path: Option<PathBuf>,
    /// `None` after a write error or a failed reopen.
    out: Option<Box<dyn Write + Send>>,
    buf: Vec<u8>,
    /// Lines in `buf`.
    buf_lines: u64,
    /// An alert is in `buf`.
    alert_pending: bool,
    last_write: Instant,
    offered: u64,
    written: u64,
    dropped: u64,
    reopens: u64,
    last_error: Option<String>,
}

/// Opens `path` to append, creating it (mode 0640) if needed.
fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
}

impl StreamTarget {
    /// The file at `path`, appended to.
    pub(crate) fn file(path: &Path) -> io::Result<Self> {
        let file = open_append(path)?;
        Ok(Self::new(
            TargetKind::File,
            format!("file {}", path.display()),
            Some(path.to_path_buf()),
            Box::new(file),
        ))
    }

    /// Standard output.
    pub(crate) fn stdout() -> Self {
        Self::new(
            TargetKind::Stdout,
            "stdout".into(),
            None,
            Box::new(io::stdout()),
        )
    }

    fn new(
        kind: TargetKind,
        name: String,
        path: Option<PathBuf>,
        out: Box<dyn Write + Send>,
    ) -> Self {
        let now = Instant::now();
        StreamTarget {
            kind,
            name,
            path,
            out: Some(out),
            buf: Vec::with_capacity(BUFFER_BYTES),
            buf_lines: 0,
            alert_pending: false,
            // The first alert goes out at once.
            last_write: now.checked_sub(ALERT_FLUSH_INTERVAL).unwrap_or(now),
            offered: 0,
            written: 0,
            dropped: 0,
            reopens: 0,
            last_error: None,
        }
    }

    /// Buffers one line; writes the buffer out when it is full, or when [`FLUSH_INTERVAL`] has
    /// passed since the last write (no line waits longer while lines keep coming), or
    /// `ALERT_FLUSH_INTERVAL` with an alert waiting (as `EveWriter` does). One clock read a line.
    pub(crate) fn line(&mut self, json: &[u8], is_alert: bool) {
        self.offered += 1;
        if self.out.is_none() {
            self.dropped += 1;
            return;
        }
        if !self.buf.is_empty() && self.buf.len() + json.len() + 1 > BUFFER_BYTES {
            self.write_out();
            if self.out.is_none() {
                self.dropped += 1;
                return;
            }
        }
        self.buf.extend_from_slice(json);
        self.buf.push(b'\n');
        self.buf_lines += 1;
        self.alert_pending |= is_alert;
        let waited = self.last_write.elapsed();
        if waited >= FLUSH_INTERVAL || (self.alert_pending && waited >= ALERT_FLUSH_INTERVAL) {
            self.write_out();
        }
    }

    /// Writes out everything buffered.
    pub(crate) fn flush(&mut self) {
        if self.buf_lines > 0 {
            self.write_out();
        }
    }

    /// Writes the buffer to the file or stdout. On an error, the buffered lines are counted as
    /// dropped (some of them may have reached the output), the error is kept and the target
    /// stops writing.
    fn write_out(&mut self) {
        self.last_write = Instant::now();
        self.alert_pending = false;
        let result = match self.out.as_mut() {
            Some(out) => out.write_all(&self.buf).and_then(|()| out.flush()),
            None => Err(io::Error::other("the output is closed")),
        };
        match result {
            Ok(()) => self.written += self.buf_lines,
            Err(e) => {
                self.dropped += self.buf_lines;
                if self.out.take().is_some() {
                    self.last_error = Some(format!("write: {e}"));
                }
            }
        }
        self.buf.clear();
        self.buf_lines = 0;
        // One huge line must not keep a huge buffer.
        if self.buf.capacity() > 4 * BUFFER_BYTES {
            self.buf.shrink_to(BUFFER_BYTES);
        }
    }

    /// For a file: writes out what is buffered and opens the path again (a new file if
    /// logrotate moved the old one away). When the path cannot be opened (the unprivileged user
    /// may not create files in a root-owned directory: logrotate's `create` makes the new file
    /// first), lines keep going to the old file and the error is reported. A file stopped by an
    /// error gets another chance.
    pub(crate) fn reopen(&mut self) {
        let Some(path) = self.path.clone() else {
            return;
        };
        self.flush();
        match open_append(&path) {
            Ok(file) => {
                // Closes the old file.
                self.out = Some(Box::new(file));
                self.reopens += 1;
            }
            Err(e) => self.last_error = Some(format!("reopen: {e}")),
        }
    }

    pub(crate) fn report(&self) -> TargetReport {
        let mut r = TargetReport::new(self.kind, self.name.clone());
        r.offered = self.offered;
        r.written = self.written;
        r.dropped_failed = self.dropped;
        r.queued = self.buf_lines;
        r.reconnects = self.reopens;
        r.last_error = self.last_error.clone();
        r
    }
}

impl Drop for StreamTarget {
    /// Nothing buffered is left behind, even on an early return.
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::scratch;
    use std::fs;

    #[test]
    fn reopen_after_logrotate_moves_the_file() {
        let dir = scratch("reopen");
        let path = dir.join("eve.json");
        let mut t = StreamTarget::file(&path).unwrap();
        t.line(b"{\"n\":1}", false);
        t.line(b"{\"n\":2}", true);
        t.flush();
        // logrotate: rename, then ask for a reopen.
        let rotated = dir.join("eve.json.1");
        fs::rename(&path, &rotated).unwrap();
        t.line(b"{\"n\":3}", false);
        t.reopen();
        t.line(b"{\"n\":4}", false);
        t.flush();
        assert_eq!(
            fs::read_to_string(&rotated).unwrap(),
            "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"n\":4}\n");
        let r = t.report();
        assert_eq!((r.offered, r.written, r.dropped(), r.queued), (4, 4, 0, 0));
        assert_eq!(r.reconnects, 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !0o640, 0, "mode {mode:o}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn alerts_go_out_at_once_lines_within_the_interval() {
        let dir = scratch("interval");
        let path = dir.join("eve.json");
        let mut t = StreamTarget::file(&path).unwrap();
        t.line(b"{\"alert\":1}", true);
        let written = Instant::now();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"alert\":1}\n");
        t.line(b"{\"n\":1}", false);
        if written.elapsed() < FLUSH_INTERVAL / 2 {
            assert_eq!(t.report().queued, 1);
        }
        std::thread::sleep(FLUSH_INTERVAL + Duration::from_millis(20));
        t.line(b"{\"n\":2}", false);
        assert_eq!(t.report().queued, 0);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\"alert\":1}\n{\"n\":1}\n{\"n\":2}\n"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    /// A writer that fails after `ok` writes.
    struct Failing {
        ok: usize,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.ok -= 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_is_kept_counted_and_stops_the_target() {
        let mut t = StreamTarget::new(
            TargetKind::Stdout,
            "stdout".into(),
            None,
            Box::new(Failing { ok: 1 }),
        );
        t.line(b"{\"n\":1}", true); // written at once
        t.line(b"{\"n\":2}", false);
        t.line(b"{\"n\":3}", false);
        t.flush(); // fails: 2 lines lost
        t.line(b"{\"n\":4}", false); // the target has stopped
        t.flush();
        t.reopen(); // no path: nothing to revive
        let r = t.report();
        assert_eq!(
            (r.offered, r.written, r.dropped_failed, r.queued),
            (4, 1, 3, 0)
        );
        assert!(r.last_error.unwrap().contains("No space left"));
    }

    #[test]
    fn a_failed_reopen_keeps_the_old_file_until_the_next_one() {
        let dir = scratch("reopen-fail");
        let sub = dir.join("logs");
        fs::create_dir_all(&sub).unwrap();
        let path = sub.join("eve.json");
        let mut t = StreamTarget::file(&path).unwrap();
        t.line(b"{\"n\":0}", false);
        // logrotate moved the file away and the new path cannot be created.
        let moved = dir.join("eve.json.1");
        fs::rename(&path, &moved).unwrap();
        fs::remove_dir_all(&sub).unwrap();
        t.reopen();
        assert!(t.report().last_error.unwrap().starts_with("reopen: "));
        t.line(b"{\"n\":1}", false);
        t.flush();
        assert_eq!(t.report().dropped_failed, 0);
        assert_eq!(
            fs::read_to_string(&moved).unwrap(),
            "{\"n\":0}\n{\"n\":1}\n"
        );
        fs::create_dir_all(&sub).unwrap();
        t.reopen();
        t.line(b"{\"n\":2}", false);
        t.flush();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"n\":2}\n");
        let _ = fs::remove_dir_all(&dir);
    }
}
