//! Cleartext HTTP/2 (h2c, RFC 9113): the client connection preface, a frame walker over one
//! direction of a connection, and HPACK (RFC 7541) decoding of its header blocks into the
//! request facts the detections read (`:method`, `:scheme`, `:authority`, `:path`, `host`,
//! `user-agent`) or a response's `:status`, plus the EVE `http` object Suricata logs for HTTP/2.
//!
//! The engine feeds each direction of a TCP stream (reassembled, in order):
//!
//! * [`probe`]: does the client->server stream start with the preface (prior knowledge)?
//! * [`Decoder::step`]: the next frame. HEADERS (with its PADDED and PRIORITY flags), its
//!   CONTINUATION frames and PUSH_PROMISE are gathered into one header block (at most
//!   [`MAX_HEADER_BLOCK`] bytes) and HPACK-decoded; SETTINGS is checked; every other frame is
//!   skipped without being buffered (**the count may exceed the bytes given**, as for HTTP/1
//!   bodies: the caller skips the rest as it arrives).
//!
//! `Upgrade: h2c` is an HTTP/1 request answered by `101`; the client then sends the preface and
//! frames, so the same [`Decoder`] (made with [`Decoder::client`]) reads it from there.
//!
//! HPACK is `loona-hpack` (the maintained fork of `hpack`, which has had no release since 2016).
//! A decoder keeps the dynamic table across the header blocks of its direction, so each
//! direction of a connection has its own and no block may be skipped: after an error the
//! direction cannot be read any more. No function panics on any input.

mod eve;
#[cfg(test)]
mod tests;

/// The client connection preface (RFC 9113 section 3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Most bytes of one header block (HEADERS and CONTINUATION payloads) buffered; a larger block
/// makes the direction [`Step::Invalid`].
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// Largest HPACK dynamic table a peer may ask for with a size update (the default is 4096).
pub const MAX_TABLE_SIZE: usize = 64 * 1024;
/// Longest value kept of a field (longer ones are cut, on a character boundary).
pub const MAX_VALUE: usize = 8 * 1024;

const FRAME_HEADER: usize = 9;

/// Frame types (RFC 9113 section 6).
mod kind {
    pub(super) const HEADERS: u8 = 0x1;
    pub(super) const SETTINGS: u8 = 0x4;
    pub(super) const PUSH_PROMISE: u8 = 0x5;
    pub(super) const CONTINUATION: u8 = 0x9;
}

/// Frame flags.
mod flag {
    pub(super) const END_HEADERS: u8 = 0x4;
    pub(super) const PADDED: u8 = 0x8;
    pub(super) const PRIORITY: u8 = 0x20;
}

/// Answer of [`probe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The stream starts with the preface.
    Match,
    /// It does not.
    NoMatch,
    /// A prefix of the preface so far.
    NeedMore,
}

/// Does this client->server stream start with the HTTP/2 connection preface?
pub fn probe(stream: &[u8]) -> Probe {
    let n = stream.len().min(PREFACE.len());
    if stream[..n] != PREFACE[..n] {
        Probe::NoMatch
    } else if n == PREFACE.len() {
        Probe::Match
    } else {
        Probe::NeedMore
    }
}

/// A frame's 9-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length (24 bits).
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    /// Stream identifier (the reserved bit cleared).
    pub stream_id: u32,
}

impl FrameHeader {
    /// The header at the start of `b`, when 9 bytes are there.
    pub fn parse(b: &[u8]) -> Option<FrameHeader> {
        let h = b.get(..FRAME_HEADER)?;
        Some(FrameHeader {
            len: u32::from_be_bytes([0, h[0], h[1], h[2]]),
            kind: h[3],
            flags: h[4],
            stream_id: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
        })
    }

    fn total(&self) -> usize {
        FRAME_HEADER + self.len as usize
    }
}

/// The fields of one decoded header block that egress-ids reads. Pseudo-header fields and the
/// regular ones are kept apart as sent (`:authority` and `host` may differ).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// The stream the block belongs to (for PUSH_PROMISE: the promised stream).
    pub stream_id: u32,
    pub method: Option<String>,
    pub scheme: Option<String>,
    pub authority: Option<String>,
    pub path: Option<String>,
    /// The `host` field (HTTP/1 style), when sent.
    pub host: Option<String>,
    pub user_agent: Option<String>,
    /// A response's `:status`.
    pub status: Option<u16>,
    /// The block came in a PUSH_PROMISE (a request the server made up).
    pub promised: bool,
}

impl Headers {
    /// Whether the block is a request (it has `:method`).
    pub fn is_request(&self) -> bool {
        self.method.is_some()
    }

    /// The host the request names: `:authority`, else `host`, without a port (an IPv6
    /// literal keeps its brackets off), lowercased.
    pub fn hostname(&self) -> Option<String> {
        let raw = self
            .authority
            .as_deref()
            .filter(|a| !a.is_empty())
            .or(self.host.as_deref())?;
        // userinfo@ is not allowed in :authority, but strip it as a server would.
        let raw = raw.rsplit('@').next().unwrap_or(raw);
        let host = if let Some(rest) = raw.strip_prefix('[') {
            rest.split(']').next().unwrap_or(rest)
        } else {
            raw.split(':').next().unwrap_or(raw)
        };
        (!host.is_empty()).then(|| host.to_ascii_lowercase())
    }

    /// The explicit port of `:authority` (else `host`), when there is one.
    pub fn port(&self) -> Option<u16> {
        let raw = self
            .authority
            .as_deref()
            .filter(|a| !a.is_empty())
            .or(self.host.as_deref())?;
        let after = match raw.rfind(']') {
            Some(i) => &raw[i + 1..],
            None => raw,
        };
        after.rsplit_once(':')?.1.parse().ok()
    }

    fn set(&mut self, name: &[u8], value: &[u8]) {
        let slot = match name {
            b":method" => &mut self.method,
            b":scheme" => &mut self.scheme,
            b":authority" => &mut self.authority,
            b":path" => &mut self.path,
            b"host" => &mut self.host,
            b"user-agent" => &mut self.user_agent,
            b":status" => {
                self.status = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
                return;
            }
            _ => return,
        };
        if slot.is_none() {
            let v = &value[..value.len().min(MAX_VALUE)];
            *slot = Some(String::from_utf8_lossy(v).into_owned());
        }
    }
}

/// Answer of [`Decoder::step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The next frame (or the preface) is not complete yet.
    NeedMore,
    /// A frame (or the preface, or a header-block fragment gathered for later) and its length;
    /// nothing to report. The count may exceed the bytes given.
    Skip(usize),
    /// A complete header block, decoded, and the length of the frame that completed it.
    Headers(Headers, usize),
    /// Not HTTP/2 as we can follow it: a bad preface, a frame that breaks the framing rules, a
    /// header block over [`MAX_HEADER_BLOCK`] or an HPACK error. The direction cannot be read on.
    Invalid(&'static str),
}

/// A header block being gathered from HEADERS/PUSH_PROMISE and CONTINUATION frames.
#[derive(Debug)]
struct Pending {
    stream_id: u32,
    /// For PUSH_PROMISE: the promised stream.
    promised: Option<u32>,
    block: Vec<u8>,
}

/// One direction of an HTTP/2 connection: the preface still expected (client side), the
/// header block being gathered, and the HPACK dynamic table.
pub struct Decoder {
    preface: bool,
    pending: Option<Pending>,
    hpack: loona_hpack::Decoder<'static>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("preface", &self.preface)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    fn new(preface: bool) -> Decoder {
        let mut hpack = loona_hpack::Decoder::new();
        hpack.set_max_allowed_table_size(MAX_TABLE_SIZE);
        Decoder {
            preface,
            pending: None,
            hpack,
        }
    }

    /// The client->server direction: the preface comes first.
    pub fn client() -> Decoder {
        Decoder::new(true)
    }

    /// The server->client direction: frames from the first byte.
    pub fn server() -> Decoder {
        Decoder::new(false)
    }

    /// Bytes this decoder holds on the heap beyond its own size: the block being gathered and,
    /// as an upper bound, a full default-size dynamic table.
    pub fn heap_bytes(&self) -> usize {
        self.pending.as_ref().map_or(0, |p| p.block.capacity()) + 4096
    }

    /// Reads the next frame at the start of this direction's stream.
    pub fn step(&mut self, stream: &[u8]) -> Step {
        if self.preface {
            return match probe(stream) {
                Probe::Match => {
                    self.preface = false;
                    Step::Skip(PREFACE.len())
                }
                Probe::NeedMore => Step::NeedMore,
                Probe::NoMatch => Step::Invalid("not the HTTP/2 connection preface"),
            };
        }
        let Some(h) = FrameHeader::parse(stream) else {
            return Step::NeedMore;
        };
        let carries_block = matches!(
            h.kind,
            kind::HEADERS | kind::PUSH_PROMISE | kind::CONTINUATION
        );
        if let Some(p) = &self.pending {
            if h.kind != kind::CONTINUATION || h.stream_id != p.stream_id {
                return Step::Invalid("a header block interrupted by another frame");
            }
        } else if h.kind == kind::CONTINUATION {
            return Step::Invalid("CONTINUATION without a header block");
        }
        if !carries_block {
            return match h.kind {
                kind::SETTINGS if h.len % 6 != 0 || h.stream_id != 0 => {
                    Step::Invalid("bad SETTINGS frame")
                }
                _ => Step::Skip(h.total()),
            };
        }
        if h.stream_id == 0 {
            return Step::Invalid("header block on stream 0");
        }
        if h.len as usize > MAX_HEADER_BLOCK {
            return Step::Invalid("header block over the limit");
        }
        let Some(payload) = stream.get(FRAME_HEADER..h.total()) else {
            return Step::NeedMore;
        };
        let (fragment, promised) = match fragment(&h, payload) {
            Ok(f) => f,
            Err(why) => return Step::Invalid(why),
        };
        let p = self.pending.get_or_insert_with(|| Pending {
            stream_id: h.stream_id,
            promised,
            block: Vec::new(),
        });
        if p.block.len() + fragment.len() > MAX_HEADER_BLOCK {
            return Step::Invalid("header block over the limit");
        }
        p.block.extend_from_slice(fragment);
        if h.flags & flag::END_HEADERS == 0 {
            return Step::Skip(h.total());
        }
        let Some(p) = self.pending.take() else {
            return Step::Invalid("no header block");
        };
        let mut headers = Headers {
            stream_id: p.promised.unwrap_or(p.stream_id),
            promised: p.promised.is_some(),
            ..Headers::default()
        };
        match self
            .hpack
            .decode_with_cb(&p.block, |name, value| headers.set(&name, &value))
        {
            Ok(()) => Step::Headers(headers, h.total()),
            Err(_) => Step::Invalid("HPACK decoding error"),
        }
    }
}

/// The header-block fragment of a HEADERS, PUSH_PROMISE or CONTINUATION payload (padding and
/// priority taken off), and the promised stream of a PUSH_PROMISE.
fn fragment<'a>(
    h: &FrameHeader,
    payload: &'a [u8],
) -> Result<(&'a [u8], Option<u32>), &'static str> {
    let mut p = payload;
    let mut pad = 0;
    if h.kind != kind::CONTINUATION && h.flags & flag::PADDED != 0 {
        let (&n, rest) = p.split_first().ok_or("PADDED frame without a pad length")?;
        pad = usize::from(n);
        p = rest;
    }
    let mut promised = None;
    if h.kind == kind::HEADERS && h.flags & flag::PRIORITY != 0 {
        p = p.get(5..).ok_or("PRIORITY flag without its 5 bytes")?;
    }
    if h.kind == kind::PUSH_PROMISE {
        let id = p.get(..4).ok_or("PUSH_PROMISE without a promised stream")?;
        promised = Some(u32::from_be_bytes([id[0], id[1], id[2], id[3]]) & 0x7fff_ffff);
        p = &p[4..];
    }
    let end = p
        .len()
        .checked_sub(pad)
        .ok_or("padding longer than the frame")?;
    Ok((&p[..end], promised))
}
