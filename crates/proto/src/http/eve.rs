//! The Suricata EVE `http` object of a request (keys and shapes of `properties.http` in
//! Suricata's `etc/schema.json`, which allows no other keys).

use super::Request;
use crate::json;
use serde_json::{Map, Value};

impl Request {
    /// Suricata EVE `http` object: `hostname` (lowercased, when known), `http_port` (only when
    /// explicit), `url`, `http_user_agent` (only when the header is present, "" allowed),
    /// `http_method`, `protocol`, and `status` when given.
    pub fn eve(&self, status: Option<u16>) -> Value {
        self.eve_with_length(status, None)
    }

    /// The request line's protocol (`HTTP/1.1`; `HTTP/2` for a request of an HTTP/2 stream).
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Appends the object [`Request::eve`] builds, written directly (the same bytes).
    pub fn write_eve(&self, status: Option<u16>, out: &mut Vec<u8>) {
        out.push(b'{');
        if let Some(host) = self.hostname() {
            json::key(out, "hostname");
            out.push(b'"');
            // Lowercased as it is written: ASCII case only, as `to_ascii_lowercase`.
            let start = out.len();
            json::escaped(out, host);
            out[start..].make_ascii_lowercase();
            out.push(b'"');
        }
        if let Some(port) = self.port() {
            json::field_int(out, "http_port", port);
        }
        json::field_str(out, "url", &self.uri);
        if let Some(ua) = &self.user_agent {
            json::field_str(out, "http_user_agent", ua);
        }
        json::field_str(out, "http_method", &self.method);
        json::field_str(out, "protocol", &self.protocol);
        if let Some(status) = status {
            json::field_int(out, "status", status);
        }
        out.push(b'}');
    }

    /// [`Request::eve`] plus `length`, the response body length, when known.
    pub(crate) fn eve_with_length(&self, status: Option<u16>, length: Option<u64>) -> Value {
        let mut m = Map::new();
        if let Some(host) = self.hostname_normalized() {
            m.insert("hostname".into(), host.into());
        }
        if let Some(port) = self.port() {
            m.insert("http_port".into(), port.into());
        }
        m.insert("url".into(), self.uri.clone().into());
        if let Some(ua) = &self.user_agent {
            m.insert("http_user_agent".into(), ua.clone().into());
        }
        m.insert("http_method".into(), self.method.clone().into());
        m.insert("protocol".into(), self.protocol.clone().into());
        if let Some(status) = status {
            m.insert("status".into(), status.into());
        }
        if let Some(length) = length {
            m.insert("length".into(), length.into());
        }
        Value::Object(m)
    }
}
