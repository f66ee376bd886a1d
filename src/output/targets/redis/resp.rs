//! RESP2, the Redis protocol, as far as this output needs it: commands written as arrays of
//! bulk strings, and replies read one at a time and reduced to "done" or the server's error.
//! Replies are never trusted: a line or bulk string longer than the caps, an array nested too
//! deep, or a type byte RESP2 does not have is a protocol error, never a panic or an unbounded
//! allocation.

use std::io::{self, Read};

/// The longest reply line (a simple string, an error, a length) read.
const MAX_LINE: usize = 64 * 1024;
/// The longest bulk string read (our commands' replies are short: a stream entry id).
const MAX_BULK: usize = 1024 * 1024;
/// Arrays nested deeper than this are refused.
const MAX_DEPTH: usize = 8;
/// Bytes asked of the connection per read.
const READ_CHUNK: usize = 16 * 1024;

/// Appends one command, `*N\r\n` then `$len\r\narg\r\n` per argument.
pub(crate) fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    header(out, b'*', args.len());
    for arg in args {
        header(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends one command made of `first` and then `last` (a command's fixed words, then its line).
pub(crate) fn command_then(out: &mut Vec<u8>, first: &[Vec<u8>], last: &[u8]) {
    header(out, b'*', first.len() + 1);
    for arg in first.iter().map(Vec::as_slice).chain([last]) {
        header(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// What one reply says about its command.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Done: `+OK`, an integer, a bulk string, an array (their value is not needed).
    Done,
    /// The server refused the command: its error line, e.g. `WRONGTYPE Operation against a key
    /// holding the wrong kind of value`.
    Error(String),
}

/// Replies read from one connection, with the bytes read past the last one.
pub(crate) struct Replies {
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    pos: usize,
}

impl Replies {
    pub(crate) fn new() -> Self {
        Replies {
            buf: Vec::with_capacity(READ_CHUNK),
            pos: 0,
        }
    }

    /// The next reply. An I/O error, the end of the stream or a malformed reply is an error:
    /// the connection cannot be trusted with more commands.
    pub(crate) fn next(&mut self, src: &mut impl Read) -> io::Result<Reply> {
        self.value(src, 0)
    }

    fn value(&mut self, src: &mut impl Read, depth: usize) -> io::Result<Reply> {
        let line = self.line(src)?;
        let (&kind, rest) = line
            .split_first()
            .ok_or_else(|| bad("an empty reply line"))?;
        match kind {
            b'+' | b':' => Ok(Reply::Done),
            b'-' => Ok(Reply::Error(String::from_utf8_lossy(rest).into_owned())),
            b'$' => {
                if let Some(len) = length(rest, MAX_BULK)? {
                    self.skip(src, len + 2)?;
                }
                Ok(Reply::Done)
            }
            b'*' => {
                if depth >= MAX_DEPTH {
                    return Err(bad("arrays nested too deep"));
                }
                let n = length(rest, usize::MAX)?.unwrap_or(0);
                for _ in 0..n {
                    // The elements' own errors (inside EXEC, say) are not ours to report.
                    self.value(src, depth + 1)?;
                }
                Ok(Reply::Done)
            }
            other => Err(bad(&format!("an unknown reply type {:?}", other as char))),
        }
    }

    /// The next line without its `\r\n`.
    fn line(&mut self, src: &mut impl Read) -> io::Result<Vec<u8>> {
        let mut searched = 0;
        loop {
            let unread = &self.buf[self.pos..];
            if let Some(at) = unread[searched..].windows(2).position(|w| w == b"\r\n") {
                let end = searched + at;
                let line = unread[..end].to_vec();
                self.pos += end + 2;
                return Ok(line);
            }
            if unread.len() > MAX_LINE {
                return Err(bad("a reply line longer than 64 KiB"));
            }
            searched = unread.len().saturating_sub(1);
            self.fill(src)?;
        }
    }

    /// Throws `n` bytes away.
    fn skip(&mut self, src: &mut impl Read, mut n: usize) -> io::Result<()> {
        loop {
            let take = n.min(self.buf.len() - self.pos);
            self.pos += take;
            n -= take;
            if n == 0 {
                return Ok(());
            }
            self.fill(src)?;
        }
    }

    /// Reads more bytes after what is unread (moved to the front first).
    fn fill(&mut self, src: &mut impl Read) -> io::Result<()> {
        self.buf.drain(..self.pos);
        self.pos = 0;
        let len = self.buf.len();
        self.buf.resize(len + READ_CHUNK, 0);
        let got = loop {
            match src.read(&mut self.buf[len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.buf.truncate(len + *got.as_ref().unwrap_or(&0));
        match got? {
            0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )),
            _ => Ok(()),
        }
    }
}

/// A bulk or array length: `None` for `-1` (null), an error past `max` or when not a number.
fn length(text: &[u8], max: usize) -> io::Result<Option<usize>> {
    if text == b"-1" {
        return Ok(None);
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<usize>().ok())
        .filter(|&n| n <= max)
        .map(Some)
        .ok_or_else(|| bad("a length that is not a number or too large"))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a Redis reply: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per read: every split point is exercised.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        command(&mut out, &[b"RPUSH", b"egress-ids", b"{\"a\":\"\r\n\"}"]);
        assert_eq!(
            out,
            b"*3\r\n$5\r\nRPUSH\r\n$10\r\negress-ids\r\n$10\r\n{\"a\":\"\r\n\"}\r\n"
        );
        let mut same = Vec::new();
        command_then(
            &mut same,
            &[b"RPUSH".to_vec(), b"egress-ids".to_vec()],
            b"{\"a\":\"\r\n\"}",
        );
        assert_eq!(same, out);
    }

    #[test]
    fn replies_of_every_kind_split_anywhere() {
        let wire = b"+OK\r\n:42\r\n$15\r\n1700000000000-0\r\n$-1\r\n*2\r\n$1\r\na\r\n*-1\r\n\
            -WRONGTYPE Operation against a key holding the wrong kind of value\r\n*0\r\n";
        let mut src = Trickle(wire);
        let mut replies = Replies::new();
        let got: Vec<Reply> = (0..6).map(|_| replies.next(&mut src).unwrap()).collect();
        assert_eq!(
            got[..5],
            [
                Reply::Done,
                Reply::Done,
                Reply::Done,
                Reply::Done,
                Reply::Done
            ]
        );
        assert_eq!(
            got[5],
            Reply::Error(
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            )
        );
        assert_eq!(replies.next(&mut src).unwrap(), Reply::Done);
        let e = replies.next(&mut src).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn hostile_replies_are_errors_not_panics() {
        let deep = "*1\r\n".repeat(MAX_DEPTH + 1);
        let long = format!("+{}", "x".repeat(MAX_LINE + 10));
        for wire in [
            "%1\r\n",
            "\r\n",
            "$99999999999999999999\r\n",
            "$2000000\r\n",
            "*x\r\n",
            "$-2\r\n",
            deep.as_str(),
            long.as_str(),
            "$5\r\nab",
        ] {
            let mut replies = Replies::new();
            let mut src = io::Cursor::new(wire.as_bytes());
            assert!(replies.next(&mut src).is_err(), "{wire:.40}");
        }
    }
}
