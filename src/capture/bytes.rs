//! Where a capture's bytes are held while they are read: the [`ByteSource`] the block loop reads
//! through (a memory-mapped file, or chunks read from a pipe), and the [`SharedBytes`] handle
//! that lets worker threads keep those bytes alive and read packets in place instead of copies.

use super::mapped::MappedCapture;
use std::sync::Arc;

/// Bytes of a capture that frames borrow, shared with the threads that handle them.
#[derive(Clone)]
pub struct SharedBytes {
    inner: Held,
}

#[derive(Clone)]
enum Held {
    /// A whole memory-mapped file.
    Mapped(Arc<MappedCapture>),
    /// A chunk read from a stream.
    Chunk(Arc<[u8]>),
}

impl SharedBytes {
    pub(crate) fn mapped(map: Arc<MappedCapture>) -> Self {
        SharedBytes {
            inner: Held::Mapped(map),
        }
    }

    pub(crate) fn chunk(chunk: Arc<[u8]>) -> Self {
        SharedBytes {
            inner: Held::Chunk(chunk),
        }
    }

    /// All the bytes held.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        match &self.inner {
            Held::Mapped(map) => map.bytes(),
            Held::Chunk(chunk) => chunk,
        }
    }

    /// Where `data` starts in these bytes, if it lies wholly inside them.
    #[inline]
    pub fn offset_of(&self, data: &[u8]) -> Option<usize> {
        let bytes = self.bytes();
        let start = (data.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
        (start + data.len() <= bytes.len()).then_some(start)
    }

    /// Whether both hold the same bytes.
    pub fn same(&self, other: &SharedBytes) -> bool {
        match (&self.inner, &other.inner) {
            (Held::Mapped(a), Held::Mapped(b)) => Arc::ptr_eq(a, b),
            (Held::Chunk(a), Held::Chunk(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl std::fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.bytes().len())
    }
}

/// The input of the block loop: the bytes not handled yet, and how to get more.
pub(crate) trait ByteSource {
    /// The bytes read and not consumed yet.
    fn data(&self) -> &[u8];
    /// Marks `n` bytes of [`ByteSource::data`] as handled.
    fn consume(&mut self, n: usize);
    /// Reads more bytes after those not consumed; `Ok(false)` at the end of the input. The
    /// bytes may move (into a new chunk): frames read before stay valid for whoever holds them.
    fn refill(&mut self) -> std::io::Result<bool>;
    /// What [`ByteSource::data`] lies in, to be kept by threads that read frames later.
    fn shared(&self) -> SharedBytes;
    /// Asks the CPU to fetch the block `at` bytes into [`ByteSource::data`] (the next one) while
    /// the current one is handled: records of a mapped file are far apart in memory that no
    /// cache holds yet.
    fn prefetch(&self, _at: usize) {}
    /// Whether the first `n` bytes of [`ByteSource::data`], a whole block, may be handed on (a
    /// mapped file may have been cut under the reader).
    fn still_there(&self, _n: usize) -> bool {
        true
    }
    /// The bytes at the front did not parse: a mapped file checks whether it was cut.
    fn on_damage(&mut self) {}
}
