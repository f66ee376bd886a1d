//! QUIC flows in a shard: the client's Initials go to [`proto::quic::Initials`] until the
//! ClientHello is whole, which then meets the same detections as a TLS ClientHello and is
//! logged as Suricata's `quic` event; the server's Retry or Version Negotiation starts the
//! hello over. gQUIC gives its version, and its SNI and User-Agent where the CHLO is clear.

use super::rules::HelloView;
use super::{AppProto, FlowState};
use crate::detect::dns_chain::NamedBy;
use crate::detect::rules::buffer::App;
use crate::detect::rules::compile::Rule;
use crate::detect::{HelloFacts, HelloTransport, Hit};
use crate::engine::context::Ctx;
use crate::eve::{EventType, Object};
use crate::flow::{Direction, FlowMeta};
use proto::quic::{self, gquic, ClientStep, GquicEve, Initials, Probe, ServerStep};
use proto::tls::ClientHello;

/// Client datagrams of a QUIC flow read at most (a ClientHello takes one to three; a Retry
/// adds one or two).
const MAX_CLIENT_DATAGRAMS: u16 = 16;
/// Initials that no key opens before the flow is given up as not QUIC (or not readable).
const MAX_UNDECRYPTABLE: u16 = 3;

/// What the engine keeps for one QUIC flow (boxed in the flow: the size difference of the
/// variants costs nothing there).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum QuicFlow {
    Ietf {
        initials: Initials,
        datagrams: u16,
        undecryptable: u16,
    },
    Gquic {
        version: [u8; 4],
        datagrams: u16,
    },
}

impl QuicFlow {
    /// The state for a flow whose first datagram (from the client) is QUIC; `None` otherwise.
    pub(crate) fn probe(dir: Direction, first: &[u8]) -> Option<QuicFlow> {
        if dir != Direction::ToServer {
            return None;
        }
        match quic::probe(first) {
            Probe::Ietf(_) => Some(QuicFlow::Ietf {
                initials: Initials::default(),
                datagrams: 0,
                undecryptable: 0,
            }),
            Probe::Gquic(version) => Some(QuicFlow::Gquic {
                version,
                datagrams: 0,
            }),
            Probe::NoMatch => None,
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            QuicFlow::Ietf { initials, .. } => initials.heap_bytes(),
            QuicFlow::Gquic { .. } => 0,
        }
    }
}

/// A finished QUIC hello: the facts for the detections and the `quic` object.
struct Finished<'a> {
    facts: HelloFacts<'a>,
    /// The ClientHello (none for gQUIC, whose CHLO gives a server name alone).
    hello: Option<&'a ClientHello>,
    object: Object,
}

impl FlowState {
    /// Handles one UDP datagram of a QUIC flow.
    pub(super) fn on_quic(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        dir: Direction,
        payload: &[u8],
    ) {
        let Some(q) = self.data.as_mut().and_then(|d| d.quic.as_mut()) else {
            return;
        };
        match q {
            QuicFlow::Ietf {
                initials,
                datagrams,
                undecryptable,
            } => {
                if dir == Direction::ToClient {
                    match initials.on_server_datagram(payload) {
                        ServerStep::Retry | ServerStep::VersionNegotiation => {
                            ctx.counters.quic_restarts += 1;
                        }
                        // The server answered with its own Initial: the client's is done.
                        ServerStep::Other if initials.hello_given() => self.stop_quic(),
                        ServerStep::Other => {}
                    }
                    return;
                }
                *datagrams += 1;
                let over = *datagrams >= MAX_CLIENT_DATAGRAMS;
                match initials.on_client_datagram(payload) {
                    ClientStep::Pending => {}
                    ClientStep::Hello(h) => {
                        ctx.counters.quic_client_hellos += 1;
                        let object = Object::Raw(h.eve_json());
                        let facts = HelloFacts {
                            client: meta.client.0,
                            server: meta.server.0,
                            server_port: meta.server.1,
                            transport: HelloTransport::Quic,
                            sni: h.hello.sni.as_deref(),
                            other_names: &h.hello.other_names,
                            alpns: h.hello.alpns(),
                            ech_config: h.hello.ech.as_ref().and_then(|e| e.config_id()),
                        };
                        let hello = Some(&h.hello);
                        self.on_quic_hello(
                            ctx,
                            meta,
                            Finished {
                                facts,
                                hello,
                                object,
                            },
                        );
                    }
                    ClientStep::Undecryptable => {
                        ctx.counters.quic_undecryptable += 1;
                        *undecryptable += 1;
                        if *undecryptable >= MAX_UNDECRYPTABLE && !initials.hello_given() {
                            self.stop_quic();
                            return;
                        }
                    }
                    ClientStep::TooLong | ClientStep::Malformed | ClientStep::BadHello(_) => {
                        ctx.counters.quic_parse_errors += 1;
                        self.stop_quic();
                        return;
                    }
                }
                if over {
                    self.stop_quic();
                }
            }
            QuicFlow::Gquic { version, datagrams } => {
                if dir == Direction::ToClient {
                    return;
                }
                *datagrams += 1;
                let version = *version;
                let chlo = gquic::chlo(payload, version);
                // Encrypted handshakes (Q050+, T0xx) give their version alone, on the first
                // datagram; a cleartext CHLO may take a few.
                let give_up = *datagrams >= 4 || !gquic::has_clear_chlo(version);
                if chlo.is_none() && !give_up {
                    return;
                }
                if chlo.is_some() {
                    ctx.counters.quic_client_hellos += 1;
                }
                let object = Object::Raw(GquicEve::new(version, chlo.as_ref()).eve_json());
                let facts = HelloFacts {
                    client: meta.client.0,
                    server: meta.server.0,
                    server_port: meta.server.1,
                    transport: HelloTransport::Quic,
                    sni: chlo.as_ref().and_then(|c| c.sni.as_deref()),
                    other_names: &[],
                    alpns: &[],
                    ech_config: None,
                };
                if chlo.is_some() {
                    let hello = None;
                    self.on_quic_hello(
                        ctx,
                        meta,
                        Finished {
                            facts,
                            hello,
                            object,
                        },
                    );
                } else {
                    self.log_quic(ctx, meta, object, Vec::new(), Vec::new(), None);
                }
                self.stop_quic();
            }
        }
    }

    /// The detections and the event of a whole hello.
    fn on_quic_hello(&mut self, ctx: &mut Ctx<'_>, meta: &FlowMeta, done: Finished<'_>) {
        self.drop_resolved_direct_ip(ctx, meta);
        let scope = ctx.scope(meta);
        let hits = ctx.detector.on_client_hello(scope, &done.facts);
        let view = HelloView {
            sni: done.facts.sni,
            hello: done.hello,
        };
        let rules = self.rules_on_hello(ctx, meta, App::Quic, view);
        let name = done.facts.sni.map(NamedBy::sni);
        self.log_quic(ctx, meta, done.object, hits, rules, name);
    }

    /// Releases held detections and alerts `hits` and `rules` with the `quic` object; logs it.
    fn log_quic(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        object: Object,
        hits: Vec<Hit>,
        rules: Vec<&Rule>,
        name: Option<(&str, NamedBy)>,
    ) {
        self.release_held(ctx, meta, Some((EventType::Quic, &object)), name);
        for rule in rules {
            ctx.alert_rule(
                meta,
                &mut self.alerts,
                rule,
                Some((EventType::Quic, &object)),
            );
        }
        for hit in hits {
            ctx.alert(
                meta,
                &mut self.alerts,
                &hit,
                Some((EventType::Quic, &object)),
            );
        }
        if ctx.logs(EventType::Quic) {
            ctx.emit_app(meta, Direction::ToServer, EventType::Quic, object);
        }
    }

    /// The flow's QUIC handshake is read: no more inspection, buffers freed.
    fn stop_quic(&mut self) {
        self.data = None;
        if self.app == AppProto::Quic {
            self.bypass();
        }
    }
}
