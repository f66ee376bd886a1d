//! SOCKS4, SOCKS4a and SOCKS5 client handshakes (RFC 1928, RFC 1929, the SOCKS4 and SOCKS4a
//! protocol notes) and the proxy's reply: where a proxied connection goes, and where the tunnel
//! starts.
//!
//! The engine feeds each direction of a TCP stream (reassembled, in order):
//!
//! * [`probe`]: does the client->server stream start like a SOCKS handshake?
//! * [`client_handshake`]: the whole client side, read from the client's bytes alone: SOCKS4
//!   `04 cmd port ip userid 00` (SOCKS4a: ip `0.0.0.x` and `hostname 00` after the userid), or
//!   SOCKS5 greeting `05 n methods`, optional username/password sub-negotiation
//!   `01 ulen user plen pass`, then the request `05 cmd 00 atyp addr port`. The client sends the
//!   request only after the proxy answered the greeting, so the caller keeps buffering while
//!   this says [`ClientStep::NeedMore`].
//! * [`server_reply`]: the proxy's side (SOCKS4 `00 5a port ip`; SOCKS5 method selection,
//!   sub-negotiation status, then `05 rep 00 atyp addr port`): whether the request was granted
//!   and how many bytes precede the tunnel.
//!
//! Zero-copy: the target name and the user borrow the input. No function panics on any input.

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest SOCKS4 user id or SOCKS4a host name looked for before the stream is refused (the
/// protocol sets no limit; SOCKS5 caps names at 255 bytes).
pub const MAX_FIELD: usize = 255;

/// Answer of [`probe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The stream starts with a SOCKS4 request or a SOCKS5 greeting.
    Match,
    /// Not SOCKS.
    NoMatch,
    /// Too few bytes to tell.
    NeedMore,
}

/// The protocol version of a handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// SOCKS4: the target is an IPv4 address.
    V4,
    /// SOCKS4a: the target is a host name the proxy resolves.
    V4a,
    /// SOCKS5 (RFC 1928).
    V5,
}

impl Version {
    /// The version as people write it (`"4"`, `"4a"`, `"5"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V4 => "4",
            Version::V4a => "4a",
            Version::V5 => "5",
        }
    }
}

/// What the client asks the proxy to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Open a TCP connection to the target (the tunnel follows a success reply).
    Connect,
    /// Accept one connection from the target.
    Bind,
    /// SOCKS5 UDP ASSOCIATE: datagrams go through the proxy, not this stream.
    UdpAssociate,
}

impl Command {
    fn from_byte(b: u8, version: u8) -> Option<Command> {
        match (b, version) {
            (1, _) => Some(Command::Connect),
            (2, _) => Some(Command::Bind),
            (3, 5) => Some(Command::UdpAssociate),
            _ => None,
        }
    }

    /// The command's name (`"connect"`, `"bind"`, `"udp-associate"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Connect => "connect",
            Command::Bind => "bind",
            Command::UdpAssociate => "udp-associate",
        }
    }
}

/// Where the client asks the proxy to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// An address: the client resolved the name itself (SOCKS4, SOCKS5 atyp 1 or 4).
    Ip(IpAddr),
    /// A host name the proxy resolves (SOCKS4a, SOCKS5 atyp 3), as sent.
    Domain(&'a [u8]),
}

impl Target<'_> {
    /// The host as text: the address, or the name (lossy UTF-8).
    pub fn host(&self) -> Cow<'_, str> {
        match self {
            Target::Ip(ip) => Cow::Owned(ip.to_string()),
            Target::Domain(name) => String::from_utf8_lossy(name),
        }
    }
}

/// A client handshake, complete up to its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub version: Version,
    pub command: Command,
    pub target: Target<'a>,
    pub port: u16,
    /// SOCKS4 user id or RFC 1929 user name, when the client sent one (empty ones are `None`).
    pub user: Option<&'a [u8]>,
}

/// Answer of [`client_handshake`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStep<'a> {
    /// The request has not arrived yet (after a SOCKS5 greeting the client waits for the
    /// proxy's choice of method).
    NeedMore,
    /// The handshake and the bytes it took: the client's tunnel bytes start after them.
    Request(Request<'a>, usize),
    /// Not a SOCKS handshake we can follow (a bad version, command or address type, a GSSAPI
    /// exchange, a field over [`MAX_FIELD`] bytes).
    Invalid(&'static str),
}

/// Answer of [`server_reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerStep {
    /// The reply is not complete yet.
    NeedMore,
    /// The proxy's last handshake message: `granted` (SOCKS4 `5a`, SOCKS5 `00`), the reply code,
    /// and the bytes the server's handshake took (its tunnel bytes follow). A refused method
    /// (SOCKS5 `ff`) or failed authentication is a reply that is not granted.
    Reply { granted: bool, code: u8, len: usize },
    /// Not a SOCKS reply.
    Invalid(&'static str),
}

/// Byte reader over a handshake: `None` means the input ended (need more).
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8]) -> Self {
        Cursor { data, at: 0 }
    }

    fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.data.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Bytes up to a NUL (not included; the NUL is consumed). `Err` when no NUL comes within
    /// [`MAX_FIELD`] bytes, `Ok(None)` when the input ends first.
    fn nul_terminated(&mut self) -> Result<Option<&'a [u8]>, ()> {
        let rest = self.data.get(self.at..).unwrap_or_default();
        match rest.iter().take(MAX_FIELD + 1).position(|&b| b == 0) {
            Some(n) => {
                self.at += n + 1;
                Ok(Some(&rest[..n]))
            }
            None if rest.len() > MAX_FIELD => Err(()),
            None => Ok(None),
        }
    }
}

/// A SOCKS5 authentication method byte that a client may offer: the IANA-assigned ones
/// (0x00-0x09) and the private range (0x80-0xfe).
fn valid_method(m: u8) -> bool {
    m <= 0x09 || (0x80..=0xfe).contains(&m)
}

/// A byte a SOCKS4 user id or SOCKS4a host name holds (printable ASCII).
fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// Does this client->server TCP stream start like a SOCKS handshake?
///
/// SOCKS4/4a: `04`, command 1 or 2, a port, an address and a printable user id up to its NUL.
/// SOCKS5: `05 n` and `n` (at least one) valid method bytes, then nothing yet or the next
/// client message (`01` sub-negotiation or `05` request).
pub fn probe(stream: &[u8]) -> Probe {
    match stream.first() {
        None => Probe::NeedMore,
        Some(4) => probe_v4(stream),
        Some(5) => probe_v5(stream),
        Some(_) => Probe::NoMatch,
    }
}

fn probe_v4(s: &[u8]) -> Probe {
    match s.get(1) {
        None => return Probe::NeedMore,
        Some(1 | 2) => {}
        Some(_) => return Probe::NoMatch,
    }
    if s.len() < 8 {
        return Probe::NeedMore;
    }
    let user = &s[8..];
    let field = &user[..user.len().min(MAX_FIELD + 1)];
    match field.iter().position(|&b| b == 0) {
        Some(n) if field[..n].iter().all(|&b| printable(b)) => Probe::Match,
        None if field.iter().all(|&b| printable(b)) && user.len() <= MAX_FIELD => Probe::NeedMore,
        _ => Probe::NoMatch,
    }
}

fn probe_v5(s: &[u8]) -> Probe {
    let Some(&n) = s.get(1) else {
        return Probe::NeedMore;
    };
    if n == 0 {
        return Probe::NoMatch;
    }
    let methods = &s[2..s.len().min(2 + usize::from(n))];
    if !methods.iter().all(|&m| valid_method(m)) {
        return Probe::NoMatch;
    }
    if methods.len() < usize::from(n) {
        return Probe::NeedMore;
    }
    match s.get(2 + usize::from(n)) {
        None | Some(1 | 5) => Probe::Match,
        Some(_) => Probe::NoMatch,
    }
}

/// Parses the client side of a handshake at the start of the client->server stream (see the
/// module doc for the forms).
pub fn client_handshake(stream: &[u8]) -> ClientStep<'_> {
    let mut c = Cursor::new(stream);
    let parsed = match stream.first() {
        Some(4) => client_v4(&mut c),
        Some(5) => client_v5(&mut c),
        Some(_) => Err("not SOCKS version 4 or 5"),
        None => Ok(None),
    };
    match parsed {
        Ok(Some(req)) => ClientStep::Request(req, c.at),
        Ok(None) => ClientStep::NeedMore,
        Err(why) => ClientStep::Invalid(why),
    }
}

/// `Ok(None)`: need more bytes.
type Parsed<T> = Result<Option<T>, &'static str>;

/// Unwraps a cursor read: `None` (input ended) returns `Ok(None)` from the calling parser.
macro_rules! need {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return Ok(None),
        }
    };
}

fn client_v4<'a>(c: &mut Cursor<'a>) -> Parsed<Request<'a>> {
    let _version = need!(c.u8());
    let command = Command::from_byte(need!(c.u8()), 4).ok_or("SOCKS4 command not 1 or 2")?;
    let port = need!(c.u16());
    let ip = need!(c.take(4));
    let ip = Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]);
    let user = need!(c.nul_terminated().map_err(|()| "SOCKS4 user id too long")?);
    // SOCKS4a: 0.0.0.x with x != 0 says a host name follows the user id.
    let octets = ip.octets();
    let (version, target) = if octets[..3] == [0, 0, 0] && octets[3] != 0 {
        let name = need!(c
            .nul_terminated()
            .map_err(|()| "SOCKS4a host name too long")?);
        if name.is_empty() {
            return Err("SOCKS4a empty host name");
        }
        (Version::V4a, Target::Domain(name))
    } else {
        (Version::V4, Target::Ip(IpAddr::V4(ip)))
    };
    Ok(Some(Request {
        version,
        command,
        target,
        port,
        user: (!user.is_empty()).then_some(user),
    }))
}

fn client_v5<'a>(c: &mut Cursor<'a>) -> Parsed<Request<'a>> {
    let _version = need!(c.u8());
    let n = need!(c.u8());
    if n == 0 {
        return Err("SOCKS5 greeting without methods");
    }
    let methods = need!(c.take(usize::from(n)));
    if !methods.iter().all(|&m| valid_method(m)) {
        return Err("SOCKS5 greeting with an invalid method");
    }
    let mut user = None;
    match need!(c.data.get(c.at).copied()) {
        // RFC 1929 username/password sub-negotiation.
        1 => {
            c.at += 1;
            let ulen = need!(c.u8());
            let name = need!(c.take(usize::from(ulen)));
            let plen = need!(c.u8());
            let _password = need!(c.take(usize::from(plen)));
            user = (!name.is_empty()).then_some(name);
        }
        5 => {}
        _ => return Err("SOCKS5 greeting followed by neither a request nor RFC 1929 auth"),
    }
    if need!(c.u8()) != 5 {
        return Err("SOCKS5 request version not 5");
    }
    let command = Command::from_byte(need!(c.u8()), 5).ok_or("SOCKS5 command not 1, 2 or 3")?;
    if need!(c.u8()) != 0 {
        return Err("SOCKS5 request reserved byte not 0");
    }
    let target = need!(address(c)?);
    let port = need!(c.u16());
    Ok(Some(Request {
        version: Version::V5,
        command,
        target,
        port,
        user,
    }))
}

/// A SOCKS5 address: `atyp` then 4 bytes (IPv4), a length-prefixed name, or 16 bytes (IPv6).
fn address<'a>(c: &mut Cursor<'a>) -> Parsed<Target<'a>> {
    Ok(Some(match need!(c.u8()) {
        1 => {
            let b = need!(c.take(4));
            Target::Ip(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
        }
        3 => {
            let len = need!(c.u8());
            if len == 0 {
                return Err("SOCKS5 empty domain name");
            }
            Target::Domain(need!(c.take(usize::from(len))))
        }
        4 => {
            let b = need!(c.take(16));
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Target::Ip(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => return Err("SOCKS5 address type not 1, 3 or 4"),
    }))
}

/// Parses the proxy's side of a `version` handshake at the start of the server->client stream.
pub fn server_reply(stream: &[u8], version: Version) -> ServerStep {
    let mut c = Cursor::new(stream);
    let parsed = match version {
        Version::V4 | Version::V4a => server_v4(&mut c),
        Version::V5 => server_v5(&mut c),
    };
    match parsed {
        Ok(Some((granted, code))) => ServerStep::Reply {
            granted,
            code,
            len: c.at,
        },
        Ok(None) => ServerStep::NeedMore,
        Err(why) => ServerStep::Invalid(why),
    }
}

fn server_v4(c: &mut Cursor<'_>) -> Parsed<(bool, u8)> {
    if need!(c.u8()) != 0 {
        return Err("SOCKS4 reply version not 0");
    }
    let code = need!(c.u8());
    if !(0x5a..=0x5d).contains(&code) {
        return Err("SOCKS4 reply code not 5a-5d");
    }
    let _ = need!(c.take(6));
    Ok(Some((code == 0x5a, code)))
}

fn server_v5(c: &mut Cursor<'_>) -> Parsed<(bool, u8)> {
    if need!(c.u8()) != 5 {
        return Err("SOCKS5 method selection version not 5");
    }
    match need!(c.u8()) {
        0 => {}
        2 => {
            // RFC 1929 status: version 1, 0 = success.
            if need!(c.u8()) != 1 {
                return Err("RFC 1929 status version not 1");
            }
            let status = need!(c.u8());
            if status != 0 {
                return Ok(Some((false, status)));
            }
        }
        0xff => return Ok(Some((false, 0xff))),
        _ => return Err("SOCKS5 method we do not follow (GSSAPI or private)"),
    }
    if need!(c.u8()) != 5 {
        return Err("SOCKS5 reply version not 5");
    }
    let code = need!(c.u8());
    if code > 8 {
        return Err("SOCKS5 reply code over 8");
    }
    if need!(c.u8()) != 0 {
        return Err("SOCKS5 reply reserved byte not 0");
    }
    let _bound = need!(address(c)?);
    let _port = need!(c.u16());
    Ok(Some((code == 0, code)))
}
