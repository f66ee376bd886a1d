//! The frames of a decrypted Initial payload (RFC 9000 §19: PADDING, PING, ACK, CRYPTO,
//! CONNECTION_CLOSE) and the CRYPTO stream they carry, put back together by offset: a
//! ClientHello may span several Initial packets, its frames shuffled between PING and PADDING.

use super::header::varint;

/// CRYPTO bytes buffered per flow at most; an offset beyond it is not kept (counted).
pub const MAX_CRYPTO_BYTES: usize = 32 * 1024;

/// Why the frames of a payload could not all be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A frame type an Initial packet may not carry, or one cut short: the rest is unreadable.
    Malformed,
    /// A CRYPTO frame reaches past [`MAX_CRYPTO_BYTES`].
    TooLong,
}

/// The CRYPTO stream of one direction: bytes by offset, and which ranges have arrived.
#[derive(Clone, Debug, Default)]
pub struct CryptoStream {
    bytes: Vec<u8>,
    /// Received ranges, sorted and disjoint.
    have: Vec<(usize, usize)>,
}

impl CryptoStream {
    /// Forgets everything (a Retry or Version Negotiation starts the handshake over).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.have.clear();
    }

    /// Bytes held (for the memory cap).
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Stores `data` at `offset` (first copy wins: a retransmission carries the same bytes).
    fn insert(&mut self, offset: usize, data: &[u8]) -> Result<(), FrameError> {
        let end = offset.checked_add(data.len()).ok_or(FrameError::TooLong)?;
        if end > MAX_CRYPTO_BYTES {
            return Err(FrameError::TooLong);
        }
        if data.is_empty() {
            return Ok(());
        }
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        // Write only the parts no earlier frame covered.
        let mut at = offset;
        for &(s, e) in &self.have {
            if e <= at || s >= end {
                continue;
            }
            if s > at {
                self.bytes[at..s].copy_from_slice(&data[at - offset..s - offset]);
            }
            at = at.max(e);
        }
        if at < end {
            self.bytes[at..end].copy_from_slice(&data[at - offset..]);
        }
        self.have.push((offset, end));
        self.have.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.have.len());
        for &(s, e) in &self.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
        Ok(())
    }

    /// The bytes contiguous from offset 0.
    pub fn contiguous(&self) -> &[u8] {
        match self.have.first() {
            Some(&(0, e)) => &self.bytes[..e],
            _ => &[],
        }
    }

    /// The first handshake message when all of it has arrived (type, 3-byte length, body).
    pub fn first_message(&self) -> Option<&[u8]> {
        let b = self.contiguous();
        let len = b
            .get(1..4)
            .map(|l| usize::from(l[0]) << 16 | usize::from(l[1]) << 8 | usize::from(l[2]))?;
        b.get(..4 + len)
    }

    /// Reads the frames of one decrypted Initial payload; CRYPTO data goes into the stream.
    /// Returns how many CRYPTO frames there were.
    pub fn add_frames(&mut self, mut p: &[u8]) -> Result<usize, FrameError> {
        let mut crypto = 0;
        while let Some(&t) = p.first() {
            match t {
                // PADDING, PING
                0x00 | 0x01 => p = &p[1..],
                // ACK, ACK with ECN counts
                0x02 | 0x03 => p = skip_ack(&p[1..], t == 0x03).ok_or(FrameError::Malformed)?,
                // CRYPTO
                0x06 => {
                    let (offset, r) = varint(&p[1..]).ok_or(FrameError::Malformed)?;
                    let (len, r) = varint(r).ok_or(FrameError::Malformed)?;
                    let len = usize::try_from(len).map_err(|_| FrameError::Malformed)?;
                    let data = r.get(..len).ok_or(FrameError::Malformed)?;
                    let offset = usize::try_from(offset).map_err(|_| FrameError::TooLong)?;
                    self.insert(offset, data)?;
                    crypto += 1;
                    p = &r[len..];
                }
                // CONNECTION_CLOSE (transport): error, frame type, reason phrase
                0x1c => {
                    let (_, r) = varint(&p[1..]).ok_or(FrameError::Malformed)?;
                    let (_, r) = varint(r).ok_or(FrameError::Malformed)?;
                    let (len, r) = varint(r).ok_or(FrameError::Malformed)?;
                    let len = usize::try_from(len).map_err(|_| FrameError::Malformed)?;
                    p = r.get(len..).ok_or(FrameError::Malformed)?;
                }
                _ => return Err(FrameError::Malformed),
            }
        }
        Ok(crypto)
    }
}

/// Skips the body of an ACK frame (after its type byte).
fn skip_ack(p: &[u8], ecn: bool) -> Option<&[u8]> {
    let (_, p) = varint(p)?; // largest acknowledged
    let (_, p) = varint(p)?; // delay
    let (ranges, mut p) = varint(p)?;
    let (_, r) = varint(p)?; // first range
    p = r;
    // Each range is two varints of at least one byte: a bound the payload enforces.
    if ranges > p.len() as u64 {
        return None;
    }
    for _ in 0..ranges {
        let (_, r) = varint(p)?;
        let (_, r) = varint(r)?;
        p = r;
    }
    if ecn {
        for _ in 0..3 {
            p = varint(p)?.1;
        }
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crypto_frame(offset: u16, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0x06];
        f.extend((0x4000 | offset).to_be_bytes());
        f.extend((0x4000 | data.len() as u16).to_be_bytes());
        f.extend(data);
        f
    }

    #[test]
    fn shuffled_frames_across_packets_make_one_message() {
        let msg: Vec<u8> = [&[1u8, 0, 0, 10][..], b"0123456789"].concat();
        let mut s = CryptoStream::default();
        // Packet 1: PING, the last part, PADDING; packet 2: ACK, the first part, the middle.
        let p1 = [&[0x01u8][..], &crypto_frame(9, &msg[9..]), &[0, 0, 0]].concat();
        assert_eq!(s.add_frames(&p1), Ok(1));
        assert_eq!(s.first_message(), None);
        let ack = [0x02u8, 0x05, 0x00, 0x01, 0x00, 0x01, 0x00];
        let p2 = [
            &ack[..],
            &crypto_frame(0, &msg[..5]),
            &crypto_frame(4, &msg[4..9]),
        ]
        .concat();
        assert_eq!(s.add_frames(&p2), Ok(2));
        assert_eq!(s.first_message(), Some(&msg[..]));
    }

    #[test]
    fn a_retransmitted_copy_does_not_overwrite_and_limits_hold() {
        let mut s = CryptoStream::default();
        s.add_frames(&crypto_frame(0, b"abcd")).unwrap();
        s.add_frames(&crypto_frame(2, b"XXYY")).unwrap();
        assert_eq!(s.contiguous(), b"abcdYY");
        // Offset 32,768 (a 4-byte varint), one byte: past the cap.
        assert_eq!(
            s.add_frames(&[0x06, 0x80, 0x00, 0x80, 0x00, 0x01, b'a']),
            Err(FrameError::TooLong)
        );
        assert_eq!(s.add_frames(&[0x08, 0]), Err(FrameError::Malformed));
        assert_eq!(
            s.add_frames(&[0x06, 0x00, 0x05, 1]),
            Err(FrameError::Malformed)
        );
        assert_eq!(
            s.add_frames(&[0x02, 0, 0, 0xff, 0]),
            Err(FrameError::Malformed)
        );
    }
}
