//! A capture read as a stream of large chunks: plain `read()` calls into reused, page-aligned
//! buffers, so the kernel copies the page cache (or a pipe) straight in, with no page tables to
//! build and tear down as a memory mapping needs, and resident memory stays a few chunks whatever
//! the file's size. Frames borrow the chunk they lie in; a chunk is shared ([`SharedBytes`]) so
//! that worker threads can handle its packets in place instead of copying them. A chunk is reused
//! once nothing holds it any more; a record cut by the end of a chunk is moved to the front of
//! the next one (at most one record is ever copied per chunk).

use super::bytes::{ByteSource, SharedBytes};
use std::io::{ErrorKind, Read};
use std::sync::Arc;

/// Bytes asked for per `read()`.
pub(crate) const CHUNK_SIZE: usize = 1 << 20;
/// Read destinations start at this alignment (the kernel's copy runs fastest into whole pages).
const ALIGN: usize = 4096;
/// Room kept before the read destination for the part of a record the last chunk cut.
const HEADROOM: usize = 64 << 10;
/// The length of a chunk of the usual size.
const STANDARD_LEN: usize = HEADROOM + CHUNK_SIZE + ALIGN;
/// Chunks kept for reuse while worker threads still hold them.
const MAX_SPARE: usize = 64;

/// Reads a byte stream chunk by chunk; [`ChunkReader::data`] is what has not been consumed.
pub(crate) struct ChunkReader<R> {
    source: R,
    chunk: Arc<[u8]>,
    /// The first byte not consumed.
    start: usize,
    /// One past the last byte read.
    end: usize,
    /// Chunks handed on earlier, reused once nothing else holds them.
    spare: Vec<Arc<[u8]>>,
    eof: bool,
}

impl<R: Read> ChunkReader<R> {
    pub(crate) fn new(source: R) -> Self {
        ChunkReader {
            source,
            chunk: new_chunk(CHUNK_SIZE),
            start: 0,
            end: 0,
            spare: Vec::new(),
            eof: false,
        }
    }

    /// Makes `fresh` (which nothing else holds) the current chunk, with the unread tail of the
    /// old one copied to its front (the caller then moves it where it belongs); the old one is
    /// kept for reuse.
    fn replace_chunk(&mut self, mut fresh: Arc<[u8]>) {
        let tail = self.end - self.start;
        if let Some(buf) = Arc::get_mut(&mut fresh) {
            buf[..tail].copy_from_slice(&self.chunk[self.start..self.end]);
        }
        self.start = 0;
        self.end = tail;
        let old = std::mem::replace(&mut self.chunk, fresh);
        if self.spare.len() < MAX_SPARE && old.len() == STANDARD_LEN {
            self.spare.push(old);
        }
    }

    /// A kept chunk that nothing holds any more.
    fn take_spare(&mut self) -> Option<Arc<[u8]>> {
        let free = self
            .spare
            .iter_mut()
            .position(|c| Arc::get_mut(c).is_some())?;
        Some(self.spare.swap_remove(free))
    }
}

impl<R: Read> ByteSource for ChunkReader<R> {
    #[inline]
    fn data(&self) -> &[u8] {
        &self.chunk[self.start..self.end]
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    // The unread tail moves to the front of a chunk: this one when nothing else holds it.
    fn refill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let tail = self.end - self.start;
        // The unread tail goes right before an aligned read destination, with a chunk's worth
        // of room after it.
        let needed = HEADROOM.max(tail) + ALIGN + CHUNK_SIZE;
        if self.chunk.len() < needed || Arc::get_mut(&mut self.chunk).is_none() {
            let fresh = if needed <= STANDARD_LEN {
                self.take_spare().unwrap_or_else(|| new_chunk(CHUNK_SIZE))
            } else {
                // A record larger than the headroom: a bigger chunk of its own.
                new_chunk(tail + CHUNK_SIZE)
            };
            self.replace_chunk(fresh);
        }
        let base = self.chunk.as_ptr() as usize;
        let dest = align_up(base + tail.max(HEADROOM), ALIGN) - base;
        let Some(buf) = Arc::get_mut(&mut self.chunk) else {
            unreachable!("a chunk nothing else holds")
        };
        buf.copy_within(self.start..self.end, dest - tail);
        self.start = dest - tail;
        self.end = dest;
        let n = loop {
            match self.source.read(&mut buf[dest..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        self.end += n;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn shared(&self) -> SharedBytes {
        SharedBytes::chunk(self.chunk.clone())
    }
}

/// A zeroed chunk with room for `size` bytes of reading after the headroom and the alignment.
fn new_chunk(size: usize) -> Arc<[u8]> {
    Arc::from(vec![0u8; HEADROOM + size + ALIGN])
}

fn align_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most `step` bytes per call, like a pipe.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Reads `data` in records of `record` bytes through a [`ChunkReader`], holding every
    /// `hold`-th chunk as a worker would; returns the records seen.
    fn records(data: &[u8], step: usize, record: usize, hold: usize) -> (Vec<Vec<u8>>, usize) {
        let mut reader = ChunkReader::new(Trickle { data, step });
        let mut out = Vec::new();
        let mut held = Vec::new();
        let mut refills = 0;
        loop {
            while reader.data().len() >= record {
                out.push(reader.data()[..record].to_vec());
                reader.consume(record);
            }
            refills += 1;
            if hold > 0 && refills % hold == 0 {
                held.push(reader.shared());
            }
            if !reader.refill().unwrap() {
                break;
            }
        }
        assert!(reader.data().len() < record, "a whole record left unread");
        (out, held.len())
    }

    #[test]
    fn records_cut_by_chunks_and_reads_come_out_whole_and_in_order() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        for (step, record, hold) in [
            (CHUNK_SIZE, 1500, 0),
            (65536, 1500, 3),
            (7, 100, 0),
            (CHUNK_SIZE, 200_000, 1),
        ] {
            let (out, _) = records(&data, step, record, hold);
            assert_eq!(out.len(), data.len() / record, "{step} {record}");
            for (i, r) in out.iter().enumerate() {
                assert_eq!(&r[..], &data[i * record..(i + 1) * record], "record {i}");
            }
        }
    }

    #[test]
    fn a_record_larger_than_a_chunk_is_read_whole() {
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
        let (out, _) = records(&data, CHUNK_SIZE, 2_400_000, 0);
        assert_eq!(out.len(), 2);
        assert_eq!(&out[1][..], &data[2_400_000..4_800_000]);
    }

    #[test]
    fn reads_land_on_page_boundaries_and_free_chunks_are_reused() {
        let data = vec![1u8; 8 * CHUNK_SIZE];
        let mut reader = ChunkReader::new(&data[..]);
        let mut chunks = std::collections::HashSet::new();
        while reader.refill().unwrap() {
            // The read destination is aligned (no tail: records of 1 byte are all consumed).
            assert_eq!(reader.data().as_ptr() as usize % ALIGN, 0);
            chunks.insert(reader.shared().bytes().as_ptr() as usize);
            let held = reader.shared();
            let n = reader.data().len();
            reader.consume(n);
            drop(held);
        }
        // Each held chunk is let go before the next read: two chunks take turns.
        assert!(chunks.len() <= 2, "{} chunks", chunks.len());
    }
}
