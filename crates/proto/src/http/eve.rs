//! The Suricata EVE `http` object of a request (keys and shapes of `properties.http` in
//! Suricata's `etc/schema.json`, which allows no other keys).

use super::Request;
use serde_json::{Map, Value};

impl Request {
    /// Suricata EVE `http` object: `hostname` (lowercased, when known), `http_port` (only when
    /// explicit), `url`, `http_user_agent` (only when the header is present, "" allowed),
    /// `http_method`, `protocol`, and `status` when given.
    pub fn eve(&self, status: Option<u16>) -> Value {
        self.eve_with_length(status, None)
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
