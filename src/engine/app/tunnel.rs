//! The app layer of flows that carry other traffic or a newer HTTP: a SOCKS handshake (its
//! target goes to the detections, then the tunnel is classified afresh, as after an HTTP
//! CONNECT) and cleartext HTTP/2 (prior knowledge, or after `Upgrade: h2c` answered by `101`):
//! each request's host, User-Agent and path go to the HTTP detections and out as an `http`
//! event with `app_proto: "http2"`, as Suricata logs HTTP/2.

use super::rules::HttpView;
use super::{queue_for_response, AppProto, FlowState};
use crate::detect::{HttpFacts, Scope, SocksTarget};
use crate::engine::context::Ctx;
use crate::eve::{EventType, Object};
use crate::flow::stream::Stream;
use crate::flow::{Direction, FlowMeta};
use proto::{h2, socks};
use std::collections::VecDeque;

/// Per-flow state of a tunnel protocol, kept in the flow's `AppData` box.
#[derive(Debug)]
pub(super) enum Tunnel {
    Socks(SocksState),
    H2(Box<H2State>),
}

/// A SOCKS handshake whose request was read: the proxy's reply decides what follows.
#[derive(Clone, Copy, Debug)]
pub(super) struct SocksState {
    version: socks::Version,
    command: socks::Command,
}

/// Both directions of an HTTP/2 connection and the requests waiting for their response.
#[derive(Debug)]
pub(super) struct H2State {
    client: h2::Decoder,
    server: h2::Decoder,
    /// The server direction can still be read (no gap, no error).
    server_ok: bool,
    pending: VecDeque<h2::Headers>,
}

impl H2State {
    fn new(client: h2::Decoder) -> Self {
        H2State {
            client,
            server: h2::Decoder::server(),
            server_ok: true,
            pending: VecDeque::new(),
        }
    }
}

impl Tunnel {
    /// The state the flow's other version starts with: a SOCKS handshake's (it waits for the
    /// same reply); none for HTTP/2, whose HPACK tables are not copied (that version stops).
    pub(super) fn fork(&self) -> Option<Tunnel> {
        match self {
            Tunnel::Socks(s) => Some(Tunnel::Socks(*s)),
            Tunnel::H2(_) => None,
        }
    }

    /// Bytes held on the heap (decoders, gathered header blocks, pending requests).
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Tunnel::Socks(_) => 0,
            Tunnel::H2(h) => {
                std::mem::size_of::<H2State>()
                    + h.client.heap_bytes()
                    + h.server.heap_bytes()
                    + h.pending.capacity() * std::mem::size_of::<h2::Headers>()
            }
        }
    }
}

impl FlowState {
    fn tunnel_mut(&mut self) -> Option<&mut Tunnel> {
        self.data.as_mut().and_then(|d| d.tunnel.as_mut())
    }

    fn set_tunnel(&mut self, tunnel: Option<Tunnel>) {
        self.data.get_or_insert_with(Box::default).tunnel = tunnel;
    }

    /// HTTP/2 from the first client byte (the preface was recognised).
    pub(super) fn start_h2_prior_knowledge(&mut self) {
        self.set_app(AppProto::Http2);
        self.set_tunnel(Some(Tunnel::H2(Box::new(H2State::new(
            h2::Decoder::client(),
        )))));
    }

    /// The server answered an `Upgrade: h2c` request with `101`: both sides speak HTTP/2 from
    /// here (the client starts with the preface).
    pub(super) fn upgrade_to_h2(&mut self) {
        self.start_h2_prior_knowledge();
    }

    /// The client side of a SOCKS handshake: the request, then the client's bytes wait for the
    /// proxy's reply. `true` when bytes were consumed.
    pub(super) fn socks_client_step(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        s: &mut Stream,
    ) -> bool {
        if self.tunnel_mut().is_some() {
            // The request is in; the tunnel's bytes wait for the reply.
            return false;
        }
        let (req, n) = match socks::client_handshake(s.data()) {
            socks::ClientStep::NeedMore => return false,
            socks::ClientStep::Invalid(_) => {
                ctx.counters.socks_parse_errors += 1;
                self.set_app(AppProto::Failed);
                self.bypass();
                return false;
            }
            socks::ClientStep::Request(req, n) => (req, n),
        };
        ctx.counters.socks_requests += 1;
        self.drop_resolved_direct_ip(ctx, meta);
        let host = req.target.host();
        let target = match req.target {
            socks::Target::Ip(ip) => SocksTarget::Ip(ip),
            socks::Target::Domain(_) => SocksTarget::Domain(&host),
        };
        let scope = ctx.scope(meta);
        let hits = if scope == Scope::Ignored {
            Vec::new()
        } else {
            ctx.detector.on_socks_target(scope, &target)
        };
        // SOCKS has no EVE object: the flow-start detections go now, without one, so that they
        // keep the flow's one alert per detection (the proxy's address), then the target's.
        if !hits.is_empty() {
            self.release_held(ctx, meta, None, None);
        }
        for hit in hits {
            ctx.alert(meta, &mut self.alerts, &hit, None);
        }
        let state = SocksState {
            version: req.version,
            command: req.command,
        };
        s.consume(n);
        self.set_tunnel(Some(Tunnel::Socks(state)));
        true
    }

    /// The proxy's side of a SOCKS handshake, once the request is known: a granted CONNECT
    /// starts the tunnel (classified afresh); anything else ends inspection. `true` when bytes
    /// were consumed.
    pub(super) fn socks_server_step(&mut self, ctx: &mut Ctx<'_>, s: &mut Stream) -> bool {
        let Some(Tunnel::Socks(state)) = self.tunnel_mut() else {
            // The request has not been read yet: the proxy's method choice waits with the rest.
            return false;
        };
        let command = state.command;
        match socks::server_reply(s.data(), state.version) {
            socks::ServerStep::NeedMore => false,
            socks::ServerStep::Invalid(_) => {
                ctx.counters.socks_parse_errors += 1;
                self.bypass();
                false
            }
            socks::ServerStep::Reply { granted, len, .. } => {
                s.consume(len);
                self.set_tunnel(None);
                if granted && command == socks::Command::Connect {
                    // What follows is the tunnel: classify it afresh.
                    self.app = AppProto::Unknown;
                } else {
                    self.bypass();
                }
                true
            }
        }
    }

    /// One HTTP/2 frame of `dir`. `true` when bytes were consumed.
    pub(super) fn h2_step(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        dir: Direction,
        s: &mut Stream,
    ) -> bool {
        let Some(Tunnel::H2(h)) = self.tunnel_mut() else {
            // The flow's other version starts without the decoders: it cannot follow.
            self.bypass();
            return false;
        };
        let to_server = dir == Direction::ToServer;
        if !to_server && !h.server_ok {
            let n = s.data().len();
            s.consume(n);
            return false;
        }
        let decoder = if to_server {
            &mut h.client
        } else {
            &mut h.server
        };
        match decoder.step(s.data()) {
            h2::Step::NeedMore => false,
            h2::Step::Skip(n) => {
                s.consume(n);
                true
            }
            h2::Step::Invalid(_) => {
                ctx.counters.h2_parse_errors += 1;
                if to_server {
                    self.bypass();
                } else {
                    h.server_ok = false;
                }
                false
            }
            h2::Step::Headers(headers, n) => {
                s.consume(n);
                if headers.is_request() && (to_server || headers.promised) {
                    self.on_h2_request(ctx, meta, headers);
                } else if let Some(status) = headers.status {
                    self.on_h2_response(ctx, meta, headers.stream_id, status);
                }
                true
            }
        }
    }

    /// A server direction gap: its HPACK table can no longer be followed.
    pub(super) fn h2_server_gap(&mut self) {
        if let Some(Tunnel::H2(h)) = self.tunnel_mut() {
            h.server_ok = false;
        }
    }

    fn on_h2_request(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, req: h2::Headers) {
        ctx.counters.h2_requests += 1;
        self.drop_resolved_direct_ip(ctx, meta);
        let host = req.hostname();
        let host_ip = host.as_deref().and_then(|h| h.parse().ok());
        // `:authority` and `host` may name different hosts (servers differ on which they use):
        // the detections check each.
        let host_field = h2::Headers {
            host: req.host.clone(),
            ..h2::Headers::default()
        }
        .hostname();
        let others: Vec<&str> = match (host.as_deref(), host_field.as_deref()) {
            (Some(a), Some(b)) if a != b => vec![a, b],
            _ => Vec::new(),
        };
        let facts = HttpFacts {
            host: host.as_deref(),
            host_ip,
            other_hosts: &others,
            connect_host: None,
            user_agent: req.user_agent.as_deref(),
            target: req.path.as_deref(),
        };
        let view = HttpView {
            method: req.method.as_deref(),
            target: req.path.as_deref(),
            host_raw: req.authority.as_deref().or(req.host.as_deref()),
            hostname: host.as_deref(),
            user_agent: req.user_agent.as_deref(),
            connect: req
                .method
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("CONNECT")),
        };
        self.judge_http_request(ctx, meta, &facts, &view, || Object::Json(req.eve(None)));
        if let Some(Tunnel::H2(h)) = self.tunnel_mut() {
            queue_for_response(ctx, meta, &mut h.pending, req, |r| r.eve(None));
        }
    }

    fn on_h2_response(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, stream_id: u32, status: u16) {
        let Some(Tunnel::H2(h)) = self.tunnel_mut() else {
            return;
        };
        // Interim responses (1xx) are followed by the final one on the same stream.
        if (100..200).contains(&status) {
            return;
        }
        let Some(i) = h.pending.iter().position(|r| r.stream_id == stream_id) else {
            return;
        };
        let Some(req) = h.pending.remove(i) else {
            return;
        };
        if ctx.logs(EventType::Http) {
            ctx.emit_app(
                meta,
                Direction::ToServer,
                EventType::Http,
                Object::Json(req.eve(Some(status))),
            );
        }
    }
}

impl FlowState {
    /// HTTP/2 requests still waiting for a response, as EVE objects (the flow ends).
    pub(super) fn take_pending_h2(&mut self) -> Vec<serde_json::Value> {
        match self.tunnel_mut() {
            Some(Tunnel::H2(h)) => h.pending.drain(..).map(|r| r.eve(None)).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Driven through a shard with the repository's captures of curl through a SOCKS proxy and
    //! of h2c clients, or with TCP packets carrying handshakes that break the rules.

    use super::super::AppProto;
    use crate::engine::testkit::{frames, Conversation, Shard};
    use crate::flow::Direction::{ToClient, ToServer};
    use proto::Timestamp;
    use serde_json::Value;

    fn alert_with<'a>(shard: &'a Shard, indicator: &str) -> &'a Value {
        shard
            .lines("alert")
            .into_iter()
            .find(|a| a["alert"]["metadata"]["indicator"][0] == indicator)
            .unwrap_or_else(|| panic!("no alert for {indicator}"))
    }

    #[test]
    fn socks_targets_alert_and_the_tunnels_are_classified_afresh() {
        let mut shard = Shard::new();
        shard.frames(&frames("socks-proxy.pcap"));
        shard.finish();
        assert_eq!(shard.engine.counters.socks_requests, 5);
        assert_eq!(shard.engine.counters.socks_parse_errors, 0);
        // SOCKS5 domain (with RFC 1929 auth) and SOCKS4a targets: the SOCKS target itself.
        for name in ["npm-health-check.io", "plain-crypto-js.net"] {
            let a = alert_with(&shard, name);
            assert!(
                a["alert"]["signature"]
                    .as_str()
                    .unwrap()
                    .ends_with("(SOCKS target)"),
                "{a}"
            );
            assert_eq!(a["dest_port"], 1080);
        }
        // --socks5 (an address target): the TLS inside the tunnel gives its SNI; the target
        // address was resolved, so no direct-ip.
        let a = alert_with(&shard, "pkg-validate.net");
        let a = if a["dest_port"] == 53 {
            shard
                .lines("alert")
                .into_iter()
                .find(|x| x["dest_port"] == 1080 && x["tls"]["sni"] == "pkg-validate.net")
                .expect("the tunnel's SNI alert")
        } else {
            a
        };
        assert_eq!(a["app_proto"], "tls");
        assert_eq!(
            alert_with(&shard, "github.com.evil-cdn.io")["alert"]["metadata"]["detection"][0],
            "non-registry-tls"
        );
        // --socks5 http://203.0.113.9/: an address target no DNS answer gave, behind a proxy
        // DNS did resolve: the one direct-ip, naming the target.
        let direct: Vec<_> = shard
            .lines("alert")
            .into_iter()
            .filter(|a| a["alert"]["metadata"]["detection"][0] == "direct-ip")
            .collect();
        assert_eq!(direct.len(), 1);
        assert_eq!(
            direct[0]["alert"]["metadata"]["indicator"][0],
            "203.0.113.9"
        );
        assert_eq!(direct[0]["dest_port"], 1080);
        // The flows: the tunnel's protocol, and socks as the original one.
        let flows: Vec<_> = shard
            .lines("flow")
            .into_iter()
            .filter(|f| f["dest_port"] == 1080)
            .collect();
        assert_eq!(flows.len(), 5);
        assert!(flows.iter().all(|f| f["app_proto_orig"] == "socks"));
        assert_eq!(flows.iter().filter(|f| f["app_proto"] == "tls").count(), 3);
        assert_eq!(flows.iter().filter(|f| f["app_proto"] == "http").count(), 2);
        // The plain HTTP requests inside the SOCKS4a and the last SOCKS5 tunnel are logged as HTTP.
        let hosts: Vec<&Value> = shard
            .lines("http")
            .into_iter()
            .map(|h| &h["http"]["hostname"])
            .collect();
        assert_eq!(hosts, ["plain-crypto-js.net", "203.0.113.9"]);
    }

    #[test]
    fn h2c_prior_knowledge_from_node_gives_an_http2_event_and_alerts() {
        let mut shard = Shard::new();
        shard.frames(&frames("h2c-node.pcap"));
        shard.finish();
        assert_eq!(shard.engine.counters.h2_requests, 1);
        let http = shard.lines("http");
        assert_eq!(http.len(), 1);
        let h = &http[0];
        assert_eq!(h["app_proto"], "http2");
        assert_eq!(h["http"]["hostname"], "npm-health-check.io");
        assert_eq!(h["http"]["url"], "/beacon");
        assert_eq!(h["http"]["http_method"], "POST");
        assert_eq!(h["http"]["http_user_agent"], "node");
        assert_eq!(h["http"]["status"], 200);
        assert_eq!(h["http"]["http2"]["stream_id"], 1);
        let alerts: Vec<_> = shard
            .lines("alert")
            .into_iter()
            .filter(|a| a["dest_port"] == 8080)
            .collect();
        assert_eq!(alerts.len(), 2);
        assert!(alerts
            .iter()
            .all(|a| a["app_proto"] == "http2" && a["http"]["protocol"] == "HTTP/2"));
        let flow = shard
            .lines("flow")
            .into_iter()
            .find(|f| f["dest_port"] == 8080)
            .unwrap();
        assert_eq!(flow["app_proto"], "http2");
    }

    #[test]
    fn upgrade_h2c_switches_to_http2_after_the_101() {
        let mut shard = Shard::new();
        shard.frames(&frames("h2c-upgrade.pcap"));
        shard.finish();
        let http = shard.lines("http");
        assert_eq!(http.len(), 2, "{http:?}");
        assert_eq!(http[0]["http"]["status"], 101);
        assert_eq!(http[0]["http"]["protocol"], "HTTP/1.1");
        assert_eq!(http[1]["app_proto"], "http2");
        assert_eq!(http[1]["http"]["url"], "/second");
        assert_eq!(http[1]["http"]["http2"]["stream_id"], 3);
        assert_eq!(http[1]["http"]["status"], 200);
        let flow = shard
            .lines("flow")
            .into_iter()
            .find(|f| f["dest_port"] == 8080)
            .unwrap();
        assert_eq!(
            (&flow["app_proto"], &flow["app_proto_orig"]),
            (&"http2".into(), &"http".into())
        );
        assert_eq!(shard.engine.counters.h2_parse_errors, 0);
    }

    /// Sends `client` then `server` bytes on a new flow to port 1080; the flow's app state.
    fn run(client: &[&[u8]], server: &[&[u8]]) -> (Shard, AppProto, bool) {
        let t = Timestamp::from_parts(1_795_315_148, 0, 1);
        let mut c = Conversation::new(("10.77.0.2", 40_000), ("198.51.100.80", 1080));
        let mut shard = Shard::new();
        for p in c.handshake() {
            shard.packet(t, 1, &p);
        }
        let mut n = 4;
        for i in 0..client.len().max(server.len()) {
            if let Some(b) = client.get(i) {
                shard.packet(t, n, &c.data(ToServer, b));
                n += 1;
            }
            if let Some(b) = server.get(i) {
                shard.packet(t, n, &c.data(ToClient, b));
                n += 1;
            }
        }
        let flow = shard.flows()[0];
        let (app, inspecting) = (flow.state.app, flow.state.inspecting);
        (shard, app, inspecting)
    }

    #[test]
    fn an_address_target_shares_the_flows_one_direct_ip_alert() {
        // No DNS at all: the proxy's address is unresolved, and so is the SOCKS5 target's.
        let (mut shard, _, _) = run(
            &[b"\x05\x01\x00", b"\x05\x01\x00\x01\xcb\x00\x71\x07\x01\xbb"],
            &[b"\x05\x00"],
        );
        shard.finish();
        assert_eq!(shard.detections(), ["direct-ip"]);
        // The flow-start alert (the proxy) is released at the request, before the target's.
        let a = shard.lines("alert")[0];
        assert_eq!(a["alert"]["metadata"]["indicator"][0], "198.51.100.80");
        assert_eq!(a["pcap_cnt"], 6);
    }

    #[test]
    fn an_unresolved_address_target_behind_a_resolved_proxy_is_direct_ip() {
        // DNS resolved the proxy (198.51.100.80), not the SOCKS5 target 203.0.113.7: the
        // target's address decides, and the alert names it.
        let t = Timestamp::from_parts(1_795_315_148, 0, 1);
        let mut c = Conversation::new(("10.77.0.2", 40_000), ("198.51.100.80", 1080));
        let mut shard = Shard::new();
        shard.answer(t, "198.51.100.80", 300);
        for p in c.handshake() {
            shard.packet(t, 1, &p);
        }
        shard.packet(t, 4, &c.data(ToServer, b"\x05\x01\x00"));
        shard.packet(t, 5, &c.data(ToClient, b"\x05\x00"));
        let request = b"\x05\x01\x00\x01\xcb\x00\x71\x07\x01\xbb";
        shard.packet(t, 6, &c.data(ToServer, request));
        shard.finish();
        assert_eq!(shard.detections(), ["direct-ip"]);
        let a = shard.lines("alert")[0];
        assert_eq!(a["alert"]["metadata"]["indicator"][0], "203.0.113.7");
        // Once DNS has resolved the target too, nothing.
        let mut c = Conversation::new(("10.77.0.2", 40_001), ("198.51.100.80", 1080));
        let mut shard = Shard::new();
        shard.answer(t, "198.51.100.80", 300);
        shard.answer(t, "203.0.113.7", 300);
        for p in c.handshake() {
            shard.packet(t, 1, &p);
        }
        shard.packet(t, 4, &c.data(ToServer, b"\x05\x01\x00"));
        shard.packet(t, 5, &c.data(ToClient, b"\x05\x00"));
        shard.packet(t, 6, &c.data(ToServer, request));
        shard.finish();
        assert!(shard.detections().is_empty(), "{:?}", shard.detections());
    }

    #[test]
    fn broken_socks_and_h2_are_counted_and_bypassed() {
        // A SOCKS5 greeting, then a request with address type 9.
        let (shard, app, inspecting) = run(
            &[b"\x05\x01\x00", b"\x05\x01\x00\x09\x01\x02\x03\x04\x00\x50"],
            &[b"\x05\x00"],
        );
        assert_eq!(shard.engine.counters.socks_parse_errors, 1);
        assert_eq!((app, inspecting), (AppProto::Failed, false));
        // A good request, then a reply that is not SOCKS.
        let (shard, _, inspecting) = run(
            &[b"\x05\x01\x00", b"\x05\x01\x00\x01\xcb\x00\x71\x14\x01\xbb"],
            &[b"\x05\x00", b"HTTP/1.1 400 Bad\r\n\r\n"],
        );
        assert_eq!(shard.engine.counters.socks_requests, 1);
        assert_eq!(shard.engine.counters.socks_parse_errors, 1);
        assert!(!inspecting);
        // A refused SOCKS4 request: no tunnel follows.
        let (shard, _, inspecting) = run(
            &[b"\x04\x01\x01\xbb\xcb\x00\x71\x14\x00"],
            &[b"\x00\x5b\x00\x00\x00\x00\x00\x00"],
        );
        assert_eq!(shard.engine.counters.socks_requests, 1);
        assert!(!inspecting);
        // The HTTP/2 preface, then a HEADERS frame whose HPACK index does not exist.
        let mut h2 = proto::h2::PREFACE.to_vec();
        h2.extend([0, 0, 1, 1, 4, 0, 0, 0, 1, 0xff]);
        let (shard, app, inspecting) = run(&[&h2], &[]);
        assert_eq!(shard.engine.counters.h2_parse_errors, 1);
        assert_eq!((app, inspecting), (AppProto::Http2, false));
        assert!(shard.lines("http").is_empty());
    }
}
