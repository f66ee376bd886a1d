//! The Suricata EVE `http` object of an HTTP/2 request (Suricata logs HTTP/2 transactions as
//! `event_type: "http"` with `app_proto: "http2"`; keys of `properties.http` in its schema).

use super::Headers;
use serde_json::{Map, Value};

impl Headers {
    /// The EVE `http` object of this request, with the response's `status` when known:
    /// `hostname`, `http_port` (only when explicit), `url` (`:path`), `http_user_agent`,
    /// `http_method`, `protocol: "HTTP/2"`, `status`, and `http2.stream_id`.
    pub fn eve(&self, status: Option<u16>) -> Value {
        let mut m = Map::new();
        if let Some(host) = self.hostname() {
            m.insert("hostname".into(), host.into());
        }
        if let Some(port) = self.port() {
            m.insert("http_port".into(), port.into());
        }
        if let Some(path) = &self.path {
            m.insert("url".into(), path.clone().into());
        }
        if let Some(ua) = &self.user_agent {
            m.insert("http_user_agent".into(), ua.clone().into());
        }
        if let Some(method) = &self.method {
            m.insert("http_method".into(), method.clone().into());
        }
        m.insert("protocol".into(), "HTTP/2".into());
        if let Some(status) = status {
            m.insert("status".into(), status.into());
        }
        let mut h2 = Map::new();
        h2.insert("stream_id".into(), self.stream_id.into());
        m.insert("http2".into(), Value::Object(h2));
        Value::Object(m)
    }
}
