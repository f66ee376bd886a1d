//! The buffers rules match in a request, as Suricata (libhtp) presents them: the request
//! target as sent, and normalised: the path and query of an absolute-form target, with `%XX`
//! decoded and `.`/`..` path segments removed.

use super::Request;

impl Request {
    /// The request target as sent (`http.uri.raw`).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The Host header's value as sent, repeated headers joined with ", " (`http.host.raw`).
    pub fn host_header(&self) -> Option<&str> {
        self.host_header.as_deref()
    }

    /// The normalised target (`http.uri`): an absolute-form target loses its scheme and
    /// authority; `%XX` escapes are decoded (an invalid one is kept as sent); dot segments
    /// of the path are removed (RFC 3986 section 5.2.4). A CONNECT authority is kept as is.
    pub fn uri_normalized(&self) -> Vec<u8> {
        normalize_target(&self.uri, self.method.eq_ignore_ascii_case("CONNECT"))
    }
}

/// A request target normalised as [`Request::uri_normalized`] says (`connect`: the target is a
/// CONNECT authority, kept as it is). HTTP/2's `:path` goes through the same.
pub fn normalize_target(target: &str, connect: bool) -> Vec<u8> {
    if connect {
        return target.as_bytes().to_vec();
    }
    let origin = match target.find("://") {
        Some(i) if !target[..i].contains('/') => {
            let rest = &target[i + 3..];
            rest.find('/').map_or("/", |p| &rest[p..])
        }
        _ => target,
    };
    let (path, query) = match origin.find('?') {
        Some(q) => (&origin[..q], Some(&origin[q + 1..])),
        None => (origin, None),
    };
    let mut out = remove_dot_segments(&percent_decode(path.as_bytes()));
    if let Some(query) = query {
        out.push(b'?');
        out.extend_from_slice(&percent_decode(query.as_bytes()));
    }
    out
}

/// `%XX` decoded; a `%` not followed by two hex digits stays as it is.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// RFC 3986 section 5.2.4 on a decoded path.
fn remove_dot_segments(path: &[u8]) -> Vec<u8> {
    let mut segments: Vec<&[u8]> = Vec::new();
    let absolute = path.first() == Some(&b'/');
    let body = if absolute { &path[1..] } else { path };
    let parts: Vec<&[u8]> = body.split(|&b| b == b'/').collect();
    let last = parts.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, part) in parts.iter().enumerate() {
        match *part {
            b"." => trailing_slash = i == last,
            b".." => {
                segments.pop();
                trailing_slash = i == last;
            }
            _ => {
                segments.push(part);
                trailing_slash = false;
            }
        }
    }
    let mut out = Vec::with_capacity(path.len());
    if absolute {
        out.push(b'/');
    }
    out.extend_from_slice(&segments.join(&b'/'));
    if trailing_slash && !out.ends_with(b"/") {
        out.push(b'/');
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::http::{next_request, RequestStep};

    fn uri(target: &str) -> String {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
        match next_request(raw.as_bytes()) {
            RequestStep::Request(r, _) => String::from_utf8(r.uri_normalized()).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn targets_are_decoded_and_dot_segments_removed() {
        assert_eq!(uri("/.%61spx?im=%41"), "/.aspx?im=A");
        assert_eq!(uri("/a/./b/../c"), "/a/c");
        assert_eq!(uri("/a/b/.."), "/a/");
        assert_eq!(uri("http://example.org:8080/x%2fy?q"), "/x/y?q");
        assert_eq!(uri("http://example.org"), "/");
        assert_eq!(uri("/100%"), "/100%");
        assert_eq!(uri("/%zz"), "/%zz");
        assert_eq!(uri("/index.html"), "/index.html");
    }
}
