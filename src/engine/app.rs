//! The app layer of one flow: which protocol its bytes speak (found by content, on any port), the
//! parser state for it, and when to stop looking (bypass). Parsed values go to the detections and
//! out as EVE events.

use super::context::{event, Ctx, FlowAlerts};
use super::output::{FlowRecord, OutKind};
use crate::detect::direct_ip::Held;
use crate::detect::dns_chain::NamedBy;
use crate::detect::hidden::AnsweredName;
use crate::detect::lan_discovery::{self, LanDiscovery};
use crate::detect::rules::buffer::App;
use crate::detect::rules::flowbits::Flowbits;
use crate::detect::{Detection, HelloFacts, HelloTransport, Hit, HttpFacts, Scope};
use crate::eve::EveTypes;
use crate::eve::EventType;
use crate::eve::Object;
use crate::flow::stream::{Added, Overlap, Stream, MAX_BUFFERED};
use crate::flow::{Direction, EndReason, FlowMeta};
use proto::decode::Packet;
use proto::{dns, h2, http, socks, tls};
use rules::{HelloView, HttpView};
use serde_json::Value;
use std::collections::VecDeque;

/// Bytes a classifier may wait for before it gives up on an unknown stream.
const CLASSIFY_LIMIT: usize = 64;
/// HTTP requests kept waiting for their response at most.
const MAX_PENDING_REQUESTS: usize = 32;
/// DNS ports: DNS is assumed there without a content probe, and a flow to one is no
/// `direct-ip` candidate (DNS, and mDNS and LLMNR ports towards an address outside the local
/// networks: on them, mDNS and LLMNR are LAN discovery, `AppProto::Lan`).
const DNS_PORTS: [u16; 3] = [53, 5353, 5355];

mod lan;
mod quic;
mod rules;
mod tunnel;

/// Which protocol a flow's client bytes speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AppProto {
    /// Not decided yet.
    Unknown,
    Tls,
    Http,
    Dns,
    Quic,
    /// A SOCKS4/4a/5 handshake (`tunnel.rs`); its tunnel is classified afresh.
    Socks,
    /// Cleartext HTTP/2, by prior knowledge or after `Upgrade: h2c` (`tunnel.rs`).
    Http2,
    /// LAN name discovery (mDNS, LLMNR, NetBIOS): counted, never a detection
    /// ([`lan_discovery`]).
    Lan(LanDiscovery),
    /// Nothing we parse: the flow is bypassed.
    Failed,
}

impl AppProto {
    /// EVE `app_proto`.
    pub(crate) fn eve_name(self) -> Option<&'static str> {
        match self {
            AppProto::Unknown => None,
            AppProto::Tls => Some("tls"),
            AppProto::Http => Some("http"),
            AppProto::Dns => Some("dns"),
            AppProto::Quic => Some("quic"),
            // Suricata has no SOCKS parser (it would say "failed"); Zeek's service is "socks".
            AppProto::Socks => Some("socks"),
            AppProto::Http2 => Some("http2"),
            // Suricata 8's names for its mDNS and LLMNR parsers; it has none for NetBIOS.
            AppProto::Lan(LanDiscovery::Mdns) => Some("mdns"),
            AppProto::Lan(LanDiscovery::Llmnr) => Some("llmnr"),
            AppProto::Lan(LanDiscovery::Nbns | LanDiscovery::NbDatagram) => Some("failed"),
            AppProto::Failed => Some("failed"),
        }
    }
}

/// Distinct packages a flow remembers having alerted `phantom-dependency` for.
const MAX_PHANTOMS_PER_FLOW: usize = 64;

/// HTTP transactions waiting for their response.
#[derive(Debug, Default)]
struct HttpState {
    pending: VecDeque<http::Request>,
    /// Responses can still be located on the server stream.
    responses_ok: bool,
    /// Requests can still be located on the client stream.
    requests_ok: bool,
}

/// What only some flows need, boxed so that the others do not pay for it: HTTP transactions
/// (HTTP flows), QUIC Initials (QUIC flows), a SOCKS handshake or an HTTP/2 connection
/// (`tunnel.rs`).
#[derive(Debug, Default)]
struct AppData {
    http: Option<HttpState>,
    quic: Option<quic::QuicFlow>,
    tunnel: Option<tunnel::Tunnel>,
    /// The flow's flowbits, when loaded rules use them.
    flowbits: Flowbits,
    /// The packages the flow's `phantom-dependency` alerts named: one alert per package and
    /// flow (a keep-alive connection asks for its metadata, then its tarball).
    phantoms: Vec<Box<str>>,
}

/// The TCP reassembly of a flow while it is inspected: both directions, and the flow's other
/// version once overlapping copies of its bytes disagreed (a receiver other than the Linux model
/// would have read that one): its parsers run too and their detections alert. Its buffers count
/// in the flow's heap bytes, so the memcap bounds them.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    /// `[to_server, to_client]`.
    dirs: [Stream; 2],
    /// The other version of the flow (it never has one of its own).
    alt: Option<Box<FlowState>>,
    /// The flow's `anomaly` event for the overlap is written (one per flow).
    anomaly_logged: bool,
}

/// Writes a `stream` `anomaly` event (Suricata's shape) on `meta`'s flow.
fn anomaly(ctx: &mut Ctx<'_>, meta: &FlowMeta, dir: Direction, name: &str) {
    if !ctx.logs(EventType::Anomaly) {
        return;
    }
    let mut ev = event(meta, dir, ctx.ts, ctx.pcap_cnt, EventType::Anomaly);
    ev.objects.push((
        EventType::Anomaly,
        Object::Json(serde_json::json!({"type": "stream", "event": name})),
    ));
    ctx.emit(ev);
}

/// App-layer state of one flow.
#[derive(Debug)]
pub(crate) struct FlowState {
    /// Protocol of the client bytes now (a CONNECT tunnel starts over at `Unknown`).
    pub(crate) app: AppProto,
    /// The first protocol recognised ("failed" when none was), for the flow log.
    pub(crate) first_app: Option<AppProto>,
    /// The last protocol recognised (differs from the first after a CONNECT tunnel).
    last_app: Option<AppProto>,
    /// TCP reassembly; `None` for UDP or once bypassed (unless the other version still reads).
    streams: Option<Box<Streams>>,
    /// Still inspecting (false = bypassed: later packets only count).
    pub(crate) inspecting: bool,
    /// A packet of the flow had a good checksum (see `checksum::Checksums::accepts`).
    pub(crate) checksum_good: bool,
    /// What the flow has alerted on.
    alerts: FlowAlerts,
    /// HTTP transactions or QUIC Initials; allocated for the flows that need them.
    data: Option<Box<AppData>>,
    dns_requests: u32,
    /// Flow-start detections (`ioc-ip`, `direct-ip`) held until the flow's first app-layer
    /// object exists, so that their alert carries it.
    held: Held,
}

impl Default for FlowState {
    fn default() -> Self {
        FlowState {
            app: AppProto::Unknown,
            first_app: None,
            last_app: None,
            streams: None,
            inspecting: true,
            checksum_good: false,
            alerts: FlowAlerts::default(),
            data: None,
            dns_requests: 0,
            held: Held::default(),
        }
    }
}

/// Queues an HTTP request (HTTP/1 or HTTP/2) until its response; when the queue is full the
/// oldest is logged now, without a status.
fn queue_for_response<R>(
    ctx: &mut Ctx<'_>,
    meta: &FlowMeta,
    pending: &mut VecDeque<R>,
    req: R,
    eve: impl Fn(&R) -> Value,
) {
    if pending.len() >= MAX_PENDING_REQUESTS {
        if let Some(old) = pending.pop_front() {
            if ctx.logs(EventType::Http) {
                let object = Object::Json(eve(&old));
                ctx.emit_app(meta, Direction::ToServer, EventType::Http, object);
            }
        }
    }
    pending.push_back(req);
}

/// Whether a TCP flow to `port` is DNS for the flow-start detections (no `direct-ip` for DNS).
pub(crate) fn is_dns_port(port: u16) -> bool {
    DNS_PORTS.contains(&port)
}

fn index(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

impl FlowState {
    fn set_app(&mut self, app: AppProto) {
        self.app = app;
        if app == AppProto::Unknown {
            return;
        }
        self.first_app.get_or_insert(app);
        if app != AppProto::Failed {
            self.last_app = Some(app);
        }
    }

    /// Whether flow-start detections wait for the flow's first app-layer object.
    pub(crate) fn has_held(&self) -> bool {
        self.held.is_waiting()
    }

    /// The flow's HTTP transactions, created on first use.
    fn http_mut(&mut self) -> &mut HttpState {
        self.data
            .get_or_insert_with(Box::default)
            .http
            .get_or_insert_with(|| HttpState {
                pending: VecDeque::new(),
                responses_ok: true,
                requests_ok: true,
            })
    }

    /// Bytes of buffers this flow holds beyond its table slot (reassembly, pending requests).
    pub(crate) fn heap_bytes(&self) -> usize {
        let streams = self.streams.as_ref().map_or(0, |s| {
            std::mem::size_of::<Streams>()
                + s.dirs[0].heap_bytes()
                + s.dirs[1].heap_bytes()
                + s.alt
                    .as_ref()
                    .map_or(0, |a| std::mem::size_of::<FlowState>() + a.heap_bytes())
        });
        let data = self.data.as_ref().map_or(0, |d| {
            std::mem::size_of::<AppData>()
                + d.http.as_ref().map_or(0, |h| {
                    h.pending.capacity() * std::mem::size_of::<http::Request>()
                })
                + d.quic.as_ref().map_or(0, |q| q.heap_bytes())
                + d.tunnel.as_ref().map_or(0, tunnel::Tunnel::heap_bytes)
        });
        streams + data
    }

    /// Holds the flow-start detections of a new flow (see [`Ctx::flow_start`]).
    /// A LAN discovery flow holds none: it is never egress, whatever its addresses or names.
    pub(crate) fn start(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, is_dns: bool) {
        let lan = match self.app {
            AppProto::Lan(kind) => Some(kind),
            _ => ctx
                .detector
                .lan_discovery(meta.proto, meta.client, meta.server),
        };
        if let Some(kind) = lan {
            self.set_app(AppProto::Lan(kind));
            return;
        }
        self.held = ctx.flow_start(meta, is_dns);
    }

    /// The flow's first app-layer object is about to be built: no object for a held
    /// `direct-ip` that the merge stage has already found resolved.
    fn drop_resolved_direct_ip(&mut self, ctx: &Ctx<'_>, meta: &FlowMeta) {
        self.held.drop_resolved(ctx.marks, meta.id);
    }

    /// Alerts the held flow-start detections, with the flow's app-layer object when there is one
    /// and the name its client sent for the server (SNI, Host), which the merge stage judges
    /// the server's DNS chains by ([`crate::detect::dns_chain`]).
    pub(crate) fn release_held(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        app: Option<(EventType, &Object)>,
        name: Option<(&str, NamedBy)>,
    ) {
        let released = self.held.take();
        ctx.release(meta, &mut self.alerts, released, app, name);
    }

    /// Releases held detections whose wait is over: the app layer will not produce an object
    /// (bypassed, not recognised) or the flow is old enough.
    pub(crate) fn release_held_if_due(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta) {
        if self.held.due(ctx.ts, meta.first_ts, self.inspecting) {
            self.release_held(ctx, meta, None, None);
        }
    }

    /// Stops inspecting: frees the buffers (the other version, if any, lives on); later packets
    /// only count.
    fn bypass(&mut self) {
        self.inspecting = false;
        if let Some(s) = self.streams.as_mut() {
            s.dirs = Default::default();
        }
    }

    /// Requests still waiting for a response (flushed without status when the flow ends).
    pub(crate) fn take_pending_http(&mut self) -> Vec<Value> {
        let mut pending: Vec<Value> = self
            .data
            .as_mut()
            .and_then(|d| d.http.take())
            .map(|h| h.pending.into_iter().map(|r| r.eve(None)).collect())
            .unwrap_or_default();
        pending.extend(self.take_pending_h2());
        pending
    }

    /// Whether the app layer reads the payload of packets going `dir` (a TLS server's bytes are
    /// never parsed).
    pub(crate) fn reads_payload(&self, dir: Direction) -> bool {
        !(dir == Direction::ToClient && self.app == AppProto::Tls)
    }

    /// Whether packets of the flow still matter to the app layer (this version or the other).
    pub(crate) fn wants_packets(&self) -> bool {
        self.inspecting || self.streams.as_ref().is_some_and(|s| s.alt.is_some())
    }

    /// A copy of the app-layer progress, for the flow's other version: no held detections
    /// (the primary releases them), no pending HTTP requests (the primary logs them).
    fn fork(&self) -> FlowState {
        FlowState {
            app: self.app,
            first_app: self.first_app,
            last_app: self.last_app,
            streams: None,
            inspecting: self.inspecting,
            checksum_good: self.checksum_good,
            alerts: self.alerts,
            data: self.data.as_ref().and_then(|d| {
                let http = d.http.as_ref().map(|h| HttpState {
                    pending: VecDeque::new(),
                    responses_ok: h.responses_ok,
                    requests_ok: h.requests_ok,
                });
                let tunnel = d.tunnel.as_ref().and_then(tunnel::Tunnel::fork);
                (http.is_some() || tunnel.is_some()).then(|| {
                    Box::new(AppData {
                        http,
                        tunnel,
                        ..AppData::default()
                    })
                })
            }),
            dns_requests: self.dns_requests,
            held: Held::default(),
        }
    }

    /// Handles one TCP packet of the flow: the Linux receiver model of each direction takes
    /// it ([`FlowState::receive`]), then the parsers read what was delivered. Where overlapping
    /// copies disagreed, the other version of the flow (`Streams::alt`) takes the packet too and
    /// its parsers' detections alert as well; it writes alerts only.
    pub(crate) fn on_tcp(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        dir: Direction,
        pkt: &Packet<'_>,
    ) {
        let Some(tcp) = pkt.tcp else { return };
        if !self.wants_packets() {
            return;
        }
        let mut streams = self.streams.take().unwrap_or_default();
        let mut alt = streams.alt.take();
        if self.inspecting {
            let seed = self.receive(ctx, meta, &mut streams, dir, pkt, tcp, alt.is_none());
            if let Some(seed) = seed {
                let mut fork = Box::new(self.fork());
                let mut dirs = streams.dirs.clone();
                dirs[index(dir)] = seed;
                fork.streams = Some(Box::new(Streams {
                    dirs,
                    ..Streams::default()
                }));
                self.after_receive(ctx, meta, &mut streams.dirs, dir, tcp);
                fork.run_as_alternate(ctx, &mut self.alerts, |f, c| {
                    f.after_receive_boxed(c, meta, dir, tcp)
                });
                alt = Some(fork);
            } else {
                self.after_receive(ctx, meta, &mut streams.dirs, dir, tcp);
                if let Some(a) = alt.as_mut() {
                    a.run_as_alternate(ctx, &mut self.alerts, |f, c| f.on_tcp(c, meta, dir, pkt));
                }
            }
        } else if let Some(a) = alt.as_mut() {
            a.run_as_alternate(ctx, &mut self.alerts, |f, c| f.on_tcp(c, meta, dir, pkt));
        }
        let alt = alt.filter(|a| a.wants_packets());
        if self.inspecting {
            streams.alt = alt;
            self.streams = Some(streams);
        } else if alt.is_some() {
            self.streams = Some(Box::new(Streams {
                alt,
                ..Streams::default()
            }));
        }
    }

    /// Runs `step` on this, the flow's other version, with a context that writes alerts only;
    /// its alerts and the primary's (`primary`) are shared, so a detection alerts once.
    fn run_as_alternate(
        &mut self,
        ctx: &mut Ctx<'_>,
        primary: &mut FlowAlerts,
        step: impl FnOnce(&mut FlowState, &mut Ctx<'_>),
    ) {
        let mut alt_ctx = Ctx {
            detector: ctx.detector,
            out: &mut *ctx.out,
            counters: &mut *ctx.counters,
            ts: ctx.ts,
            pcap_cnt: ctx.pcap_cnt,
            seq: ctx.seq,
            log: EveTypes::ALERT,
            marks: ctx.marks,
            tunnel: ctx.tunnel,
            rule_scratch: &mut *ctx.rule_scratch,
        };
        self.alerts.merge(*primary);
        step(self, &mut alt_ctx);
        primary.merge(self.alerts);
    }

    /// [`FlowState::after_receive`] on this state's own streams.
    fn after_receive_boxed(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        dir: Direction,
        tcp: proto::decode::TcpMeta,
    ) {
        if let Some(mut streams) = self.streams.take() {
            self.after_receive(ctx, meta, &mut streams.dirs, dir, tcp);
            if self.inspecting {
                self.streams = Some(streams);
            }
        }
    }

    /// What the receiver of `dir`'s bytes keeps of this segment (the model of Linux in
    /// [`Stream`]): SYN data held for the SYN-ACK, PAWS, the urgent byte, overlaps. When the
    /// segment carries other bytes than a copy held and `want_other` is set, returns the stream
    /// of `dir` as it is with the overlap resolved the other way.
    #[allow(clippy::too_many_arguments)]
    fn receive(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        streams: &mut Streams,
        dir: Direction,
        pkt: &Packet<'_>,
        tcp: proto::decode::TcpMeta,
        want_other: bool,
    ) -> Option<Stream> {
        let own = index(dir);
        let other = 1 - own;
        let dirs = &mut streams.dirs;
        let ts = if tcp.syn || dirs[own].paws.is_on() {
            proto::decode::tcp::timestamps(pkt.l4).map(|(val, _)| val)
        } else {
            None
        };
        let mut payload = pkt.payload;
        if tcp.syn {
            dirs[own].paws.on_syn(ts);
            if tcp.ack_flag {
                dirs[own].on_syn(tcp.seq, &[]);
                let peer = dirs[other].paws;
                dirs[own].paws.negotiated(&peer);
                let mine = dirs[own].paws;
                dirs[other].paws.negotiated(&mine);
                if dirs[other].on_syn_acked(tcp.ack) == Added::Dropped {
                    ctx.counters.stream_overflows += 1;
                }
            } else {
                dirs[own].on_syn(tcp.seq, payload);
                if !payload.is_empty() {
                    ctx.counters.tcp_syn_data += 1;
                }
                payload = &[];
            }
        } else if dirs[own].paws.rejects(ts, tcp.rst) {
            // Linux drops the whole segment, its ACK too.
            ctx.counters.tcp_paws_dropped += 1;
            return None;
        }
        let data_seq = if tcp.syn {
            tcp.seq.wrapping_add(1)
        } else {
            tcp.seq
        };
        let in_order = dirs[own].in_order(data_seq);
        if tcp.urg && dirs[own].urgent_pointer(tcp.seq, tcp.urg_ptr) {
            ctx.counters.tcp_urgent += 1;
        }
        // A TLS server's bytes (ServerHello, certificates) are never parsed: not copying them
        // saves most of a handshake's reassembly work.
        let unread = !self.reads_payload(dir);
        let mut seed = None;
        if unread {
            if !dirs[own].data().is_empty() {
                dirs[own].release();
            }
        } else if !payload.is_empty() {
            let overlap = dirs[own].overlap(data_seq, payload);
            let before = match overlap {
                Overlap::Different(at) => {
                    ctx.counters.tcp_overlap_different += 1;
                    if want_other && !streams.anomaly_logged {
                        streams.anomaly_logged = true;
                        anomaly(ctx, meta, dir, "stream.reassembly_overlap_different_data");
                    }
                    want_other.then(|| (dirs[own].clone(), at))
                }
                _ => None,
            };
            if dirs[own].add(data_seq, payload) == Added::Dropped {
                ctx.counters.stream_overflows += 1;
            }
            if let Some((mut s, at)) = before {
                s.add_other_version(data_seq, payload, at, &dirs[own]);
                seed = Some(s);
            }
        }
        dirs[own].paws.accepted(ts, in_order);
        if tcp.ack_flag {
            dirs[other].on_peer_ack(tcp.ack);
        }
        seed
    }

    /// After the receivers took a packet: holes, then the parsers.
    fn after_receive(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        dirs: &mut [Stream; 2],
        dir: Direction,
        tcp: proto::decode::TcpMeta,
    ) {
        let own = index(dir);
        let mut gap = [dirs[0].age_hole(), dirs[1].age_hole()];
        if tcp.fin || tcp.rst {
            gap[own] |= dirs[own].skip_gap();
        }
        self.parse_after_gaps(ctx, meta, dirs, gap);
    }

    /// The flow ends: bytes still waiting behind a hole will not be completed, so skip the holes
    /// and parse what is left (in the flow's other version too).
    pub(crate) fn on_flow_end(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta) {
        let Some(mut streams) = self.streams.take() else {
            return;
        };
        if let Some(mut alt) = streams.alt.take() {
            alt.run_as_alternate(ctx, &mut self.alerts, |f, c| f.on_flow_end(c, meta));
        }
        if !self.inspecting {
            return;
        }
        let dirs = &mut streams.dirs;
        let gap = [dirs[0].skip_gap(), dirs[1].skip_gap()];
        if gap != [false, false] {
            self.parse_after_gaps(ctx, meta, dirs, gap);
        }
    }

    /// Tells the app layer about skipped gaps, then parses both directions.
    fn parse_after_gaps(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        streams: &mut [Stream; 2],
        gap: [bool; 2],
    ) {
        for (i, skipped) in gap.iter().enumerate() {
            if *skipped {
                ctx.counters.tcp_gaps += 1;
                self.on_gap(i);
            }
        }
        self.parse_to_server(ctx, meta, &mut streams[0]);
        if self.inspecting {
            self.parse_to_client(ctx, meta, &mut streams[1]);
        }
    }

    /// After a gap in direction `i` (0 to the server, 1 to the client): a length-framed protocol
    /// (DNS) resynchronises; HTTP stops locating responses after a server-side gap; a gap in the
    /// client bytes of anything else ends inspection. Server bytes of other protocols are never
    /// parsed, so a gap there changes nothing.
    fn on_gap(&mut self, i: usize) {
        match (self.app, i) {
            (AppProto::Dns | AppProto::Lan(_), _) => {}
            (AppProto::Http, 1) => self.http_mut().responses_ok = false,
            (AppProto::Http2, 1) => self.h2_server_gap(),
            (_, 1) => {}
            _ => self.bypass(),
        }
    }

    fn parse_to_server(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, s: &mut Stream) {
        while self.inspecting {
            let data = s.data();
            if data.is_empty() {
                return;
            }
            let progressed = match self.app {
                AppProto::Unknown => match data
                    .iter()
                    .take_while(|b| matches!(b, b'\r' | b'\n'))
                    .count()
                {
                    // Blank lines before a request, or left after a CONNECT request, carry nothing.
                    0 => self.classify_tcp(meta, data),
                    blank => {
                        s.consume(blank);
                        true
                    }
                },
                AppProto::Tls => self.tls_step(ctx, meta, s),
                AppProto::Http => self.http_request_step(ctx, meta, s),
                // LLMNR over TCP (RFC 4795 section 2.4) is framed as DNS over TCP.
                AppProto::Dns | AppProto::Lan(_) => {
                    self.dns_tcp_step(ctx, meta, Direction::ToServer, s)
                }
                AppProto::Socks => self.socks_client_step(ctx, meta, s),
                AppProto::Http2 => self.h2_step(ctx, meta, Direction::ToServer, s),
                // QUIC is UDP: a TCP flow is never classified so.
                AppProto::Failed | AppProto::Quic => {
                    self.bypass();
                    false
                }
            };
            if !progressed {
                if s.data().len() >= MAX_BUFFERED {
                    ctx.counters.stream_overflows += 1;
                    self.bypass();
                }
                return;
            }
        }
    }

    fn parse_to_client(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, s: &mut Stream) {
        loop {
            if s.data().is_empty() || !self.inspecting {
                return;
            }
            let progressed = if matches!(self.app, AppProto::Dns | AppProto::Lan(_)) {
                self.dns_tcp_step(ctx, meta, Direction::ToClient, s)
            } else if self.app == AppProto::Socks {
                // The proxy's bytes wait for the client's request (see `tunnel.rs`).
                if !self.socks_server_step(ctx, s) {
                    return;
                }
                true
            } else if self.app == AppProto::Http2 {
                self.h2_step(ctx, meta, Direction::ToClient, s)
            } else if self
                .data
                .as_ref()
                .and_then(|d| d.http.as_ref())
                .is_some_and(|h| !h.pending.is_empty() && h.responses_ok)
            {
                self.http_response_step(ctx, meta, s)
            } else {
                // Nobody needs these bytes.
                let n = s.data().len();
                s.consume(n);
                return;
            };
            if !progressed {
                if s.data().len() >= MAX_BUFFERED {
                    ctx.counters.stream_overflows += 1;
                    self.http_mut().responses_ok = false;
                }
                return;
            }
        }
    }

    /// Decides the protocol of a client stream from its first bytes; `true` when decided.
    fn classify_tcp(&mut self, meta: &FlowMeta, data: &[u8]) -> bool {
        let tls = tls::probe(data);
        if tls == tls::Probe::Match {
            self.set_app(AppProto::Tls);
            return true;
        }
        let http = http::probe_request(data);
        if http == http::Probe::Match {
            self.set_app(AppProto::Http);
            return true;
        }
        let h2 = h2::probe(data);
        if h2 == h2::Probe::Match {
            self.start_h2_prior_knowledge();
            return true;
        }
        let dns_port = DNS_PORTS.contains(&meta.server.1);
        if dns_port {
            self.set_app(AppProto::Dns);
            return true;
        }
        // A SOCKS5 greeting is 3 bytes and the client then waits: decided before the length
        // test below (its bytes are no DNS-over-TCP length and header).
        let socks = socks::probe(data);
        if socks == socks::Probe::Match {
            self.set_app(AppProto::Socks);
            return true;
        }
        if dns::probe_tcp(data) {
            self.set_app(AppProto::Dns);
            return true;
        }
        let waiting = tls == tls::Probe::NeedMore
            || http == http::Probe::NeedMore
            || h2 == h2::Probe::NeedMore
            || socks == socks::Probe::NeedMore
            || data.len() < 14;
        // A request line of a method the probe does not know is matched by its shape, which
        // may take the whole line: wait for it as long as the probe says it may still be one.
        let limit = if http == http::Probe::NeedMore {
            http::MAX_PROBE_LINE
        } else {
            CLASSIFY_LIMIT
        };
        if waiting && data.len() < limit {
            return false;
        }
        self.set_app(AppProto::Failed);
        self.bypass();
        false
    }

    fn tls_step(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, s: &mut Stream) -> bool {
        match tls::next_step(s.data()) {
            tls::Step::NeedMore => false,
            tls::Step::Skip(n) => {
                s.consume(n);
                true
            }
            tls::Step::Hello(hello, n) => {
                s.consume(n);
                ctx.counters.tls_client_hellos += 1;
                self.drop_resolved_direct_ip(ctx, meta);
                let scope = ctx.scope(meta);
                let hits = ctx.detector.on_client_hello(
                    scope,
                    &HelloFacts {
                        client: meta.client.0,
                        server: meta.server.0,
                        server_port: meta.server.1,
                        transport: HelloTransport::Tcp,
                        sni: hello.sni.as_deref(),
                        other_names: &hello.other_names,
                        alpns: hello.alpns(),
                        ech_config: hello.ech.as_ref().and_then(|e| e.config_id()),
                    },
                );
                let rules = self.rules_on_hello(
                    ctx,
                    meta,
                    App::Tls,
                    HelloView {
                        sni: hello.sni.as_deref(),
                        hello: Some(&hello),
                    },
                );
                let logged = ctx.logs(EventType::Tls);
                if hits.is_empty() && rules.is_empty() && !self.held.is_waiting() {
                    // No alert carries the object: the event alone, its object written
                    // straight into the line, or nothing (no fingerprints either).
                    if logged {
                        let kind = (EventType::Tls, "tls");
                        let line = ctx
                            .app_line(meta, Direction::ToServer, kind, |out| hello.write_eve(out));
                        ctx.send(OutKind::Event(line));
                    }
                    return true;
                }
                let object = Object::Raw(hello.eve_json());
                let name = hello.sni.as_deref().map(NamedBy::sni);
                self.release_held(ctx, meta, Some((EventType::Tls, &object)), name);
                for rule in rules {
                    ctx.alert_rule(
                        meta,
                        &mut self.alerts,
                        rule,
                        Some((EventType::Tls, &object)),
                    );
                }
                for hit in hits {
                    ctx.alert(
                        meta,
                        &mut self.alerts,
                        &hit,
                        Some((EventType::Tls, &object)),
                    );
                }
                if logged {
                    ctx.emit_app(meta, Direction::ToServer, EventType::Tls, object);
                }
                true
            }
            tls::Step::End | tls::Step::Invalid(_) => {
                self.bypass();
                false
            }
        }
    }

    fn http_request_step(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, s: &mut Stream) -> bool {
        if !self.http_mut().requests_ok {
            let n = s.data().len();
            s.consume(n);
            return false;
        }
        let (req, consumed, more) = match http::next_request(s.data()) {
            http::RequestStep::NeedMore => return false,
            http::RequestStep::Invalid(_) => {
                self.http_mut().requests_ok = false;
                return true;
            }
            http::RequestStep::Request(r, n) => (r, n, true),
            http::RequestStep::BodyUnknown(r, n) => (r, n, false),
        };
        s.consume(consumed);
        self.http_mut().requests_ok = more;
        self.on_http_request(ctx, meta, req);
        true
    }

    fn on_http_request(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, req: http::Request) {
        ctx.counters.http_requests += 1;
        self.drop_resolved_direct_ip(ctx, meta);
        let connect = req.connect_target();
        let other_hosts = req.other_hostnames();
        let facts = HttpFacts {
            host: req.hostname(),
            host_ip: req.host_ip(),
            other_hosts: &other_hosts,
            connect_host: connect.as_ref().map(|(h, _)| h.as_str()),
            user_agent: req.user_agent.as_deref(),
            target: Some(req.uri()),
        };
        let view = HttpView {
            method: Some(&req.method),
            target: Some(req.uri()),
            host_raw: req.host_header(),
            hostname: req.hostname(),
            user_agent: req.user_agent.as_deref(),
            connect: connect.is_some(),
        };
        self.judge_http_request(ctx, meta, &facts, &view, || Object::Json(req.eve(None)));
        if connect.is_some() {
            // What follows the CONNECT request is the tunnel: classify it afresh.
            self.app = AppProto::Unknown;
            self.http_mut().requests_ok = true;
        }
        let pending = &mut self.http_mut().pending;
        queue_for_response(ctx, meta, pending, req, |r| r.eve(None));
    }

    /// The HTTP detections of one request (HTTP/1 or HTTP/2): the flow's held flow-start
    /// detections are released with its `http` object, which is built only if someone needs it.
    fn judge_http_request(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        facts: &HttpFacts<'_>,
        view: &HttpView<'_>,
        object: impl FnOnce() -> Object,
    ) {
        let scope = ctx.scope(meta);
        let hits = if scope == Scope::Ignored {
            Vec::new()
        } else {
            ctx.detector.on_http_request(scope, facts)
        };
        let rules = self.rules_on_http(ctx, meta, view);
        if !hits.is_empty() || !rules.is_empty() || self.held.is_waiting() {
            let object = object();
            let name = facts.host.map(|h| (h, NamedBy::Host));
            self.release_held(ctx, meta, Some((EventType::Http, &object)), name);
            for rule in rules {
                ctx.alert_rule(
                    meta,
                    &mut self.alerts,
                    rule,
                    Some((EventType::Http, &object)),
                );
            }
            for hit in hits {
                let app = Some((EventType::Http, &object));
                if hit.detection == Detection::PhantomDependency {
                    if self.first_phantom(&hit.indicator) {
                        ctx.alert_query(meta, &mut self.alerts, &hit, app);
                    }
                    continue;
                }
                ctx.alert(meta, &mut self.alerts, &hit, app);
            }
        }
    }

    /// Whether `package` is the first of its name among the flow's `phantom-dependency`
    /// alerts. Past [`MAX_PHANTOMS_PER_FLOW`] names every request alerts: repeats rather than
    /// a lost alert, and the flow's memory stays bounded.
    fn first_phantom(&mut self, package: &str) -> bool {
        let seen = &mut self.data.get_or_insert_with(Box::default).phantoms;
        if seen.iter().any(|p| **p == *package) {
            return false;
        }
        if seen.len() < MAX_PHANTOMS_PER_FLOW {
            seen.push(Box::from(package));
        }
        true
    }

    fn http_response_step(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, s: &mut Stream) -> bool {
        let http = self.http_mut();
        let Some(req) = http.pending.front() else {
            return false;
        };
        let (status, consumed) = match http::next_response(s.data(), &req.method) {
            http::ResponseStep::NeedMore => return false,
            http::ResponseStep::Invalid(_) => {
                http.responses_ok = false;
                return false;
            }
            http::ResponseStep::Response { status, consumed } => (status, Some(consumed)),
            http::ResponseStep::BodyUnknown { status } => (status, None),
        };
        if (100..200).contains(&status) && status != 101 {
            if let Some(n) = consumed {
                s.consume(n);
            }
            return true;
        }
        let Some(req) = http.pending.pop_front() else {
            return false;
        };
        if ctx.logs(EventType::Http) {
            ctx.emit_http(meta, &req, status);
        }
        match consumed {
            Some(n) => s.consume(n),
            None => http.responses_ok = false,
        }
        if status == 101 {
            if req.upgrade_h2c {
                // RFC 7540 section 3.2: stream 1 was this request; both sides speak HTTP/2 now.
                self.upgrade_to_h2();
            } else {
                // Another protocol (a WebSocket...): no HTTP/1 response follows.
                http.responses_ok = false;
            }
        }
        true
    }

    fn dns_tcp_step(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        dir: Direction,
        s: &mut Stream,
    ) -> bool {
        let (messages, consumed) = dns::split_tcp(s.data());
        for m in &messages {
            self.on_dns_message(ctx, meta, dir, m);
        }
        s.consume(consumed);
        consumed > 0
    }

    /// Handles one UDP packet of the flow; `first` is the flow's first packet.
    pub(crate) fn on_udp(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        dir: Direction,
        pkt: &Packet<'_>,
        first: bool,
    ) {
        if self.app == AppProto::Unknown {
            let port_says_dns =
                DNS_PORTS.contains(&meta.server.1) || DNS_PORTS.contains(&meta.client.1);
            let lan = ctx
                .detector
                .lan_discovery(meta.proto, meta.client, meta.server);
            if let Some(kind) = lan {
                self.set_app(AppProto::Lan(kind));
            } else if port_says_dns {
                self.set_app(AppProto::Dns);
            } else if let Some(q) = quic::QuicFlow::probe(dir, pkt.payload) {
                self.set_app(AppProto::Quic);
                self.data.get_or_insert_with(Box::default).quic = Some(q);
            } else if !lan_discovery::is_netbios(meta.client.1, meta.server.1)
                && dns::probe_udp(pkt.payload)
            {
                // NetBIOS names are encoded (RFC 1001 section 14.1): a name query is DNS-shaped
                // but no DNS, also towards an outside address.
                self.set_app(AppProto::Dns);
            } else {
                self.set_app(AppProto::Failed);
                self.inspecting = false;
            }
        }
        if first {
            self.start(ctx, meta, self.app == AppProto::Dns);
        }
        match self.app {
            AppProto::Dns if !pkt.payload.is_empty() => {
                self.on_dns_message(ctx, meta, dir, pkt.payload);
            }
            AppProto::Lan(kind) if !pkt.payload.is_empty() => {
                self.on_lan_message(ctx, meta, dir, pkt.payload, kind);
            }
            AppProto::Quic => self.on_quic(ctx, meta, dir, pkt.payload),
            _ => {}
        }
    }

    fn on_dns_message(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, dir: Direction, bytes: &[u8]) {
        if let AppProto::Lan(kind) = self.app {
            // LLMNR over TCP, framed as DNS.
            self.on_lan_message(ctx, meta, dir, bytes, kind);
            return;
        }
        let mut msg = match dns::parse_message(bytes) {
            Ok(m) => m,
            Err(_) => {
                ctx.counters.dns_parse_errors += 1;
                return;
            }
        };
        ctx.counters.dns_messages += 1;
        ctx.counters.dns_bad_records += u64::from(msg.bad_records);
        ctx.counters.dns_damaged += u64::from(msg.damaged.is_some());
        let tx_id = if msg.is_response {
            self.dns_requests.saturating_sub(1)
        } else {
            self.dns_requests = self.dns_requests.saturating_add(1);
            self.dns_requests - 1
        };
        self.drop_resolved_direct_ip(ctx, meta);
        let scope = ctx.scope(meta);
        // The names the response resolved through (CNAME cloaking), when they matter.
        // Without an alias in the answers the chain is the question's name alone, which matters
        // only when it is an IOC name (the flows to its addresses are judged by it): no chain
        // is built for the usual response.
        let chain = (msg.is_response
            && (msg.has_aliases()
                || msg
                    .queries
                    .first()
                    .is_some_and(|q| ctx.detector.is_ioc_domain(&q.name))))
        .then(|| ctx.detector.judge_chain(scope, &msg.answer_chain()))
        .flatten();
        let hits: Vec<Hit> = if msg.is_response {
            chain
                .as_deref()
                .and_then(|c| ctx.detector.on_dns_answer(c))
                .into_iter()
                .collect()
        } else {
            msg.queries
                .iter()
                .filter_map(|q| ctx.detector.on_dns_query(scope, &q.name))
                .collect()
        };
        // A query to a server other than the runners' resolvers (one alert per flow).
        let bypass = (!msg.is_response && dir == Direction::ToServer)
            .then(|| {
                ctx.detector
                    .on_dns_server(meta.client.0, meta.server.0, meta.server.1)
            })
            .flatten();
        let rules = if msg.is_response {
            Vec::new()
        } else {
            self.rules_on_dns(ctx, meta, msg.queries.iter().map(|q| q.name.as_str()))
        };
        let logged = ctx.logs(EventType::Dns);
        let shared = self.held.is_waiting() || !hits.is_empty() || !rules.is_empty();
        // The object is kept on its own only when an alert carries it too; the event alone
        // has it written straight into its line (now: the response's name is taken below),
        // and sent where the event was sent before.
        let object = (shared || bypass.is_some()).then(|| Object::Raw(msg.eve_json(tx_id.into())));
        let direct = (logged && object.is_none()).then(|| {
            ctx.app_line(meta, dir, (EventType::Dns, "dns"), |out| {
                msg.write_eve(tx_id.into(), out)
            })
        });
        if let Some(object) = &object {
            self.release_held(ctx, meta, Some((EventType::Dns, object)), None);
        }
        if msg.is_response {
            let addrs: Vec<_> = msg.answer_addrs().collect();
            let ech: Vec<(u8, u32)> = msg
                .ech_configs()
                .map(|(c, ttl)| (c.config_id, ttl))
                .collect();
            if !addrs.is_empty() || !ech.is_empty() {
                // The name asked (moved out of the message, which is done with) and the ECH
                // configurations: hidden-destination judges an ECH flow by them.
                let answered = msg.queries.first_mut().map(|q| {
                    let mut name = std::mem::take(&mut q.name);
                    name.make_ascii_lowercase();
                    Box::new(AnsweredName { name, ech })
                });
                let ts = ctx.ts;
                ctx.send(OutKind::DnsAnswers {
                    ts,
                    addrs,
                    answered,
                    chain,
                });
            }
        }
        if let Some(object) = &object {
            for rule in rules {
                ctx.alert_rule(meta, &mut self.alerts, rule, Some((EventType::Dns, object)));
            }
            for hit in &hits {
                ctx.alert_query(meta, &mut self.alerts, hit, Some((EventType::Dns, object)));
            }
            if let Some(hit) = &bypass {
                ctx.alert(meta, &mut self.alerts, hit, Some((EventType::Dns, object)));
            }
        }
        // Logged in the packet's own direction: a response travels from the side that answers.
        if let Some(line) = direct {
            ctx.send(OutKind::Event(line));
        } else if let Some(object) = object.filter(|_| logged) {
            ctx.emit_app(meta, dir, EventType::Dns, object);
        }
    }
}

/// The `flow` event of a flow that ended for `reason`.
pub(crate) fn flow_record(meta: &FlowMeta, state: &FlowState, reason: EndReason) -> FlowRecord {
    let mut ev = event(
        meta,
        Direction::ToServer,
        meta.last_ts,
        None,
        EventType::Flow,
    );
    ev.app_proto = state
        .last_app
        .or(state.first_app)
        .and_then(AppProto::eve_name);
    if state.last_app.is_some() && state.last_app != state.first_app {
        ev.app_proto_orig = state.first_app.and_then(AppProto::eve_name);
    }
    let flow = crate::eve::event::FlowObject {
        pkts_toserver: meta.pkts[0],
        pkts_toclient: meta.pkts[1],
        bytes_toserver: meta.bytes[0],
        bytes_toclient: meta.bytes[1],
        start: meta.first_ts,
        end: meta.last_ts,
        age: meta.last_ts.secs_since(meta.first_ts),
        state: meta.state(),
        reason,
        // The merge stage adds `direct-ip`, which only it can decide.
        alerted: state.alerts.raised(),
    };
    FlowRecord::new(ev, flow)
}

#[cfg(test)]
mod tests;
