//! Client->server side: one request head at a time, with its Content-Length body framing.

use super::head::{self, Framing, Head};

/// One parsed request head, owned, ready for EVE and detection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// Method token as sent (e.g. "GET", "CONNECT").
    pub method: String,
    /// Request target as sent (origin form, absolute form, or the CONNECT authority), lossy UTF-8.
    pub(crate) uri: String,
    /// "HTTP/1.0" or "HTTP/1.1".
    pub(crate) protocol: String,
    /// Raw Host header value (repeated headers joined with ", ", as libhtp does).
    pub(crate) host_header: Option<String>,
    /// Each Host header's value on its own when there are several (servers differ on which
    /// one they use, so detection checks each); empty for one or none.
    pub(crate) host_headers: Vec<String>,
    /// User-Agent value: `Some("")` for an empty header, `None` when absent.
    pub user_agent: Option<String>,
    /// Content-Length when present and valid.
    pub(crate) content_length: Option<u64>,
    /// The request asks to switch to cleartext HTTP/2 (`Upgrade: h2c`, RFC 7540 section 3.2):
    /// after a `101` answer both sides speak HTTP/2 frames.
    pub upgrade_h2c: bool,
}

/// Answer of [`next_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestStep {
    /// The head is not complete yet.
    NeedMore,
    /// A request and the bytes it takes: skipped empty lines + head + Content-Length body. The
    /// count may exceed the bytes given when the body has not fully arrived.
    Request(Request, usize),
    /// A request whose body is chunked or otherwise unframed, and the bytes its head takes
    /// (with skipped empty lines): no further request can be located on this flow.
    BodyUnknown(Request, usize),
    /// Not an HTTP/1.x request head (or over [`super::MAX_HEADERS`] / [`super::MAX_HEAD_LEN`]).
    Invalid(&'static str),
}

/// Parses the next request head at the start of the client->server stream.
///
/// Empty lines before it are skipped (and counted in the consumed length). A request without
/// Content-Length or Transfer-Encoding has no body.
pub fn next_request(stream: &[u8]) -> RequestStep {
    let s = head::skip_empty_lines(stream);
    let skipped = stream.len() - s.len();
    match parse_head(s) {
        Head::NeedMore => RequestStep::NeedMore,
        Head::Invalid(why) => RequestStep::Invalid(why),
        Head::Complete((req, framing), n) => match framing {
            Framing::Absent => RequestStep::Request(req, head::consumed(skipped, n, 0)),
            Framing::Length(len) => RequestStep::Request(req, head::consumed(skipped, n, len)),
            Framing::Unframed => RequestStep::BodyUnknown(req, head::consumed(skipped, n, 0)),
        },
    }
}

/// Runs httparse on the head and builds the owned [`Request`] with its body framing. A head
/// with obsolete line folding (a header line that starts with a space or tab continues the one
/// before it, RFC 9112 section 5.2), which httparse drops or refuses in requests, is unfolded the way
/// servers that accept it read it (each fold becomes one space) and parsed again; the bytes
/// consumed are the folded head's.
fn parse_head(s: &[u8]) -> Head<(Request, Framing)> {
    let window = head::head_window(s);
    // httparse would drop a continuation line as an invalid header (or refuse the head).
    if let Some((unfolded, folded_len)) = head::unfold(window) {
        let mut headers = [httparse::EMPTY_HEADER; head::MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let status = parser_config().parse_request(&mut req, &unfolded);
        return match head::finish(status, &unfolded, || {
            (build(&req), head::framing(req.headers))
        }) {
            Head::Complete(value, _) => Head::Complete(value, folded_len),
            other => other,
        };
    }
    let mut headers = [httparse::EMPTY_HEADER; head::MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = parser_config().parse_request(&mut req, window);
    head::finish(status, window, || (build(&req), head::framing(req.headers)))
}

/// Lenient settings, closer to what servers (and libhtp) accept.
fn parser_config() -> httparse::ParserConfig {
    let mut cfg = httparse::ParserConfig::default();
    cfg.allow_multiple_spaces_in_request_line_delimiters(true)
        .ignore_invalid_headers_in_requests(true);
    cfg
}

/// Copies what EVE and detection need out of a complete httparse request.
fn build(req: &httparse::Request<'_, '_>) -> Request {
    let headers: &[httparse::Header<'_>] = req.headers;
    Request {
        method: req.method.unwrap_or_default().to_string(),
        uri: req.path.unwrap_or_default().to_string(),
        protocol: protocol_name(req.version),
        host_header: head::header_value(headers, "host"),
        host_headers: head::header_values(headers, "host"),
        user_agent: head::header_value(headers, "user-agent"),
        content_length: head::header_value(headers, "content-length")
            .and_then(|v| head::parse_content_length(&v)),
        upgrade_h2c: head::header_value(headers, "upgrade").is_some_and(|v| {
            v.split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("h2c"))
        }),
    }
}

/// `"HTTP/1.<minor>"` (httparse only accepts HTTP/1.0 and HTTP/1.1).
fn protocol_name(minor: Option<u8>) -> String {
    format!("HTTP/1.{}", minor.unwrap_or(1))
}
