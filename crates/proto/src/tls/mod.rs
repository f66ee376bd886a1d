//! TLS client side: finds the ClientHello in a client-to-server TCP byte stream (on any port),
//! reassembles it across TLS records, decodes it (SNI, ALPN, versions, ciphers, extensions) and
//! fingerprints it with JA3 and JA4; also reads SSLv2-compatible hellos.
//!
//! Pure functions over borrowed bytes: [`probe`] says whether a stream looks like TLS,
//! [`next_step`] walks it one record (or one complete hello) at a time, and
//! [`parse_client_hello_message`] decodes one handshake message, wherever
//! its bytes came from (a TCP stream here; a decrypted QUIC CRYPTO frame can hand it the same bytes).
//! Nothing here panics on any input; a hello is reassembled up to [`MAX_HELLO_LEN`] bytes.

pub mod ech;
mod fingerprint;
mod hello;
mod recent;
pub mod server_name;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod vectors;

pub use fingerprint::{is_grease, version_name};
pub use hello::{parse_client_hello_message, ClientHello, TlsError};

use hello::{be_u24, parse_sslv2_client_hello, CLIENT_HELLO};

/// Largest ClientHello handshake message (header included) that is reassembled.
pub(crate) const MAX_HELLO_LEN: usize = 64 * 1024;
/// Largest TLS record body accepted (2^14 plus the ciphertext expansion allowance).
const MAX_RECORD_LEN: usize = (1 << 14) + 2048;
/// Largest stream span (headers included) walked while reassembling one hello.
const MAX_HELLO_SPAN: usize = 2 * MAX_HELLO_LEN;
/// TLS record header length.
const RECORD_HEADER_LEN: usize = 5;

/// TLS record content types.
const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
const HEARTBEAT: u8 = 24;

/// Result of a quick look at the start of a client-to-server stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Starts like a TLS ClientHello record or an SSLv2-format ClientHello.
    Match,
    /// Not TLS.
    NoMatch,
    /// Too few bytes to tell yet.
    NeedMore,
}

/// One step over the contiguous client-to-server bytes, starting at a record boundary.
// `Hello` is large, but a flow yields one or two and the engine's API takes it unboxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Not enough bytes yet for the next ClientHello or record.
    NeedMore,
    /// A complete ClientHello (possibly spread over several records), and the bytes consumed.
    Hello(ClientHello, usize),
    /// A handshake record that does not start a ClientHello, consumed (always > 0 bytes).
    Skip(usize),
    /// A non-handshake record (ChangeCipherSpec, Alert, ApplicationData, Heartbeat): stop.
    End,
    /// Not TLS, or malformed beyond repair.
    Invalid(&'static str),
}

impl ClientHello {
    /// The Suricata EVE `tls` object: `sni`, `version`, `ja3{hash,string}`, `ja4`,
    /// `client_alpns`, each only when it has a value. `version` names the highest version
    /// offered (supported_versions without GREASE, else the legacy version), Suricata style.
    pub fn eve(&self) -> serde_json::Value {
        fingerprint::eve(self)
    }

    /// The same object as [`ClientHello::eve`], serialised directly.
    pub fn eve_json(&self) -> crate::json::RawJson {
        let mut out = Vec::with_capacity(512);
        self.write_eve(&mut out);
        crate::json::RawJson::from_buf(out)
    }

    /// Appends the same object as [`ClientHello::eve_json`] to `out`.
    pub fn write_eve(&self, out: &mut Vec<u8>) {
        fingerprint::TlsEve::of(self).write(out);
    }

    /// JA4 with the given transport letter: 't' TLS over TCP, 'q' QUIC, 'd' DTLS.
    pub(crate) fn ja4_for(&self, transport: char) -> String {
        fingerprint::ja4(self, transport)
    }
}

/// Quick content probe on the start of a client-to-server stream: a handshake record header
/// `0x16 0x03 0x00..=0x04` whose body starts with handshake type 1, or an SSLv2-format
/// ClientHello (`0x80|len_hi len_lo 0x01` and an SSL 2/SSL 3/TLS version).
pub fn probe(stream: &[u8]) -> Probe {
    match stream.first() {
        None => Probe::NeedMore,
        Some(&HANDSHAKE) => probe_record(stream),
        Some(&b) if b & 0x80 != 0 => probe_sslv2(stream),
        Some(_) => Probe::NoMatch,
    }
}

/// Check `pattern[i](byte i)` over the bytes present; NeedMore if all present ones pass but
/// some are missing.
fn probe_bytes(stream: &[u8], checks: &[&dyn Fn(u8) -> bool]) -> Probe {
    for (i, check) in checks.iter().enumerate() {
        match stream.get(i) {
            None => return Probe::NeedMore,
            Some(&b) if !check(b) => return Probe::NoMatch,
            Some(_) => {}
        }
    }
    Probe::Match
}

/// Probe a TLS record header plus the first handshake byte.
fn probe_record(stream: &[u8]) -> Probe {
    // An empty handshake record is TLS framing without a hello yet (Suricata calls it TLS too).
    if matches!(stream.get(..5), Some(&[HANDSHAKE, 3, minor, 0, 0]) if minor <= 4) {
        return Probe::Match;
    }
    if matches!(stream.get(3..5), Some([0, 0])) {
        return Probe::NoMatch;
    }
    probe_bytes(
        stream,
        &[
            &|b| b == HANDSHAKE,
            &|b| b == 3,
            &|b| b <= 4,
            &|_| true,
            &|_| true,
            &|b| b == CLIENT_HELLO,
        ],
    )
}

/// Probe an SSLv2-format ClientHello header: length >= 9, msg type 1, version 0x0002 or 0x03xx.
fn probe_sslv2(stream: &[u8]) -> Probe {
    if matches!(stream.get(..2), Some(&[hi, lo]) if sslv2_len(hi, lo) < 9) {
        return Probe::NoMatch;
    }
    let major_ok = |b: u8| b == 0 || b == 3;
    match probe_bytes(
        stream,
        &[&|_| true, &|_| true, &|b| b == CLIENT_HELLO, &major_ok],
    ) {
        Probe::Match => probe_sslv2_minor(stream),
        other => other,
    }
}

/// The minor version byte of an SSLv2-format hello: 2 with major 0, 0..=4 with major 3.
fn probe_sslv2_minor(stream: &[u8]) -> Probe {
    match (stream.get(3), stream.get(4)) {
        (Some(0), Some(2)) => Probe::Match,
        (Some(3), Some(&minor)) if minor <= 4 => Probe::Match,
        (_, None) => Probe::NeedMore,
        _ => Probe::NoMatch,
    }
}

/// Record length of an SSLv2 2-byte header.
fn sslv2_len(hi: u8, lo: u8) -> usize {
    usize::from(hi & 0x7f) << 8 | usize::from(lo)
}

/// One step over the client-to-server bytes, which must start at a record boundary.
pub fn next_step(stream: &[u8]) -> Step {
    match stream.first() {
        None => Step::NeedMore,
        Some(&b) if b & 0x80 != 0 => sslv2_step(stream),
        Some(&HANDSHAKE) => handshake_step(stream),
        Some(&CHANGE_CIPHER_SPEC) if stream.get(1) == Some(&3) => change_cipher_spec_step(stream),
        Some(&(CHANGE_CIPHER_SPEC | ALERT | APPLICATION_DATA | HEARTBEAT)) => match stream.get(1) {
            Some(&major) if major != 3 => Step::Invalid("TLS record with a bad version"),
            _ => Step::End,
        },
        Some(_) => Step::Invalid("not a TLS record"),
    }
}

/// A ChangeCipherSpec record. In TLS 1.3 a client in middlebox-compatibility mode sends a dummy
/// one right before its second ClientHello (the answer to a HelloRetryRequest, RFC 8446 D.4),
/// and that ClientHello may name another server: the record is skipped when a plaintext
/// ClientHello follows. Anything else after it (TLS 1.2's encrypted Finished) ends the walk.
fn change_cipher_spec_step(stream: &[u8]) -> Step {
    const HEADER: usize = 5;
    let Some(ccs_len) = stream
        .get(3..5)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    else {
        return Step::NeedMore;
    };
    let next = &stream[(HEADER + ccs_len).min(stream.len())..];
    // The next record's header and its message's type and length.
    let Some(head) = next.get(..HEADER + 4) else {
        // The record, or what follows it, is not all here yet.
        return Step::NeedMore;
    };
    let record_len = usize::from(u16::from_be_bytes([head[3], head[4]]));
    let msg_len = usize::from(head[6]) << 16 | usize::from(head[7]) << 8 | usize::from(head[8]);
    if head[0] == HANDSHAKE && head[1] == 3 && head[5] == CLIENT_HELLO && msg_len + 4 <= record_len
    {
        Step::Skip(HEADER + ccs_len)
    } else {
        Step::End
    }
}

/// An SSLv2-format record: a CLIENT-HELLO is decoded, anything else is not inspected.
fn sslv2_step(stream: &[u8]) -> Step {
    let Some(&[hi, lo, kind]) = stream.get(..3) else {
        return Step::NeedMore;
    };
    if kind != CLIENT_HELLO {
        return Step::Invalid("SSLv2 record that is not a CLIENT-HELLO");
    }
    let end = 2 + sslv2_len(hi, lo);
    let Some(msg) = stream.get(2..end) else {
        return Step::NeedMore;
    };
    match parse_sslv2_client_hello(msg) {
        Ok(hello) => Step::Hello(hello, end),
        Err(_) => Step::Invalid("malformed SSLv2 CLIENT-HELLO"),
    }
}

/// Why a record walk stopped before it had a result.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// The stream ends too early.
    NeedMore,
    /// The bytes are not usable TLS.
    Invalid(&'static str),
}

impl From<Stop> for Step {
    fn from(stop: Stop) -> Step {
        match stop {
            Stop::NeedMore => Step::NeedMore,
            Stop::Invalid(why) => Step::Invalid(why),
        }
    }
}

/// A parsed TLS record header.
#[derive(Clone, Copy)]
struct RecordHeader {
    content_type: u8,
    body_len: usize,
}

/// Read and sanity-check the record header at `pos`.
fn record_header(stream: &[u8], pos: usize) -> Result<RecordHeader, Stop> {
    let Some(&[content_type, major, _, hi, lo]) = stream.get(pos..pos + RECORD_HEADER_LEN) else {
        return Err(Stop::NeedMore);
    };
    if major != 3 {
        return Err(Stop::Invalid("TLS record with a bad version"));
    }
    let body_len = usize::from(u16::from_be_bytes([hi, lo]));
    if body_len > MAX_RECORD_LEN {
        return Err(Stop::Invalid("TLS record longer than 2^14 + 2048"));
    }
    Ok(RecordHeader {
        content_type,
        body_len,
    })
}

/// A handshake record at the start of `stream`: a ClientHello start is reassembled, any other
/// handshake record is skipped whole.
fn handshake_step(stream: &[u8]) -> Step {
    let hdr = match record_header(stream, 0) {
        Ok(h) => h,
        Err(stop) => return stop.into(),
    };
    let record_end = RECORD_HEADER_LEN + hdr.body_len;
    if hdr.body_len == 0 {
        return Step::Skip(RECORD_HEADER_LEN);
    }
    match stream.get(RECORD_HEADER_LEN) {
        None => Step::NeedMore,
        Some(&CLIENT_HELLO) => reassemble_hello(stream),
        Some(_) if stream.len() < record_end => Step::NeedMore,
        Some(_) => Step::Skip(record_end),
    }
}

/// Where a complete handshake message lies in the stream.
struct Located {
    /// Message length including its 4-byte header.
    msg_len: usize,
    /// End of the last record holding part of the message.
    stream_end: usize,
}

/// Walk the handshake records from the start until the ClientHello is complete, without
/// copying.
fn locate_hello(stream: &[u8]) -> Result<Located, Stop> {
    let mut pos = 0;
    let mut header = [0u8; 4];
    let mut have = 0; // fragment bytes seen so far (complete records only count fully)
    loop {
        let hdr = record_header(stream, pos)?;
        if hdr.content_type != HANDSHAKE {
            return Err(Stop::Invalid(
                "ClientHello interrupted by a non-handshake record",
            ));
        }
        let body_start = pos + RECORD_HEADER_LEN;
        let body_end = body_start + hdr.body_len;
        let body = stream
            .get(body_start..body_end.min(stream.len()))
            .unwrap_or(&[]);
        fill_header(&mut header, have, body);
        let msg_len = (have + body.len() >= 4).then(|| 4 + be_u24(&header[1..]));
        if msg_len.is_some_and(|n| n > MAX_HELLO_LEN) {
            return Err(Stop::Invalid("ClientHello longer than 64 KiB"));
        }
        if stream.len() < body_end {
            return Err(Stop::NeedMore);
        }
        have += hdr.body_len;
        pos = body_end;
        if let Some(msg_len) = msg_len.filter(|&n| have >= n) {
            return Ok(Located {
                msg_len,
                stream_end: pos,
            });
        }
        if pos > MAX_HELLO_SPAN {
            return Err(Stop::Invalid("ClientHello spread over too many records"));
        }
    }
}

/// Copy the handshake header bytes still missing (of 4) from the start of `body`.
fn fill_header(header: &mut [u8; 4], have: usize, body: &[u8]) {
    for (slot, &b) in header.iter_mut().skip(have).zip(body) {
        *slot = b;
    }
}

/// Reassemble and decode a ClientHello that starts at the first record of `stream`.
fn reassemble_hello(stream: &[u8]) -> Step {
    let located = match locate_hello(stream) {
        Ok(l) => l,
        Err(stop) => return stop.into(),
    };
    let parsed = match stream.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + located.msg_len) {
        // Common case: the whole message sits in the first record; borrow it.
        Some(msg) if first_record_holds(stream, located.msg_len) => parse_client_hello_message(msg),
        _ => parse_client_hello_message(&gather(stream, located.msg_len)),
    };
    match parsed {
        Ok(hello) => Step::Hello(hello, located.stream_end),
        Err(_) => Step::Invalid("malformed ClientHello"),
    }
}

/// Whether the first record's body is at least `msg_len` bytes long.
fn first_record_holds(stream: &[u8], msg_len: usize) -> bool {
    record_header(stream, 0).is_ok_and(|h| h.body_len >= msg_len)
}

/// Concatenate record bodies from the start of `stream` until `msg_len` bytes are collected
/// (the records were already checked by [`locate_hello`]).
fn gather(stream: &[u8], msg_len: usize) -> Vec<u8> {
    let mut msg = Vec::with_capacity(msg_len);
    let mut pos = 0;
    while msg.len() < msg_len {
        let Ok(hdr) = record_header(stream, pos) else {
            break;
        };
        let body_start = pos + RECORD_HEADER_LEN;
        let Some(body) = stream.get(body_start..body_start + hdr.body_len) else {
            break;
        };
        let take = body.len().min(msg_len - msg.len());
        msg.extend_from_slice(body.get(..take).unwrap_or(&[]));
        pos = body_start + hdr.body_len;
    }
    msg
}
