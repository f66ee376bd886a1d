//! Loaded Suricata rules on a flow's transactions: each transaction's buffers are handed over
//! borrowed (a normalised buffer is computed only when some rule reads it), the flow's
//! flowbits kept, a `pass` match remembered; the caller raises the alerts with its app-layer
//! object.

use super::super::context::Ctx;
use super::FlowState;
use crate::detect::rules::buffer::{App, Buffer, Transport, Tx};
use crate::detect::rules::compile::Rule;
use crate::detect::rules::RuleSet;
use crate::flow::{FlowMeta, TcpPhase};
use proto::decode::Proto;
use proto::tls::ClientHello;

/// The fields of an HTTP request (HTTP/1 or HTTP/2) rules read.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct HttpView<'a> {
    pub(super) method: Option<&'a str>,
    /// The target as sent (HTTP/2: `:path`).
    pub(super) target: Option<&'a str>,
    /// The Host header as sent (HTTP/2: `:authority`, else `host`).
    pub(super) host_raw: Option<&'a str>,
    /// The host name without port, any case.
    pub(super) hostname: Option<&'a str>,
    pub(super) user_agent: Option<&'a str>,
    pub(super) connect: bool,
}

/// A ClientHello as rules read it (gQUIC: a server name alone).
#[derive(Clone, Copy, Debug)]
pub(super) struct HelloView<'a> {
    pub(super) sni: Option<&'a str>,
    pub(super) hello: Option<&'a ClientHello>,
}

/// Whether the flow is established as Suricata's `flow:established` means it: TCP past the
/// handshake, UDP once the server answered.
fn established(meta: &FlowMeta) -> bool {
    match meta.proto {
        Proto::Tcp => meta.tcp_phase != TcpPhase::New,
        _ => meta.pkts[1] > 0,
    }
}

fn new_tx<'a>(meta: &FlowMeta, app: App) -> Tx<'a> {
    let transport = match meta.proto {
        Proto::Tcp => Transport::Tcp,
        _ => Transport::Udp,
    };
    Tx::new(app, transport, meta.client, meta.server, established(meta))
}

impl FlowState {
    /// The rules that alert on `tx`; a `pass` match passes the flow (nothing alerts on it
    /// from then on).
    fn run_rules<'d>(
        &mut self,
        ctx: &mut Ctx<'d>,
        rules: &'d RuleSet,
        tx: &Tx<'_>,
    ) -> Vec<&'d Rule> {
        let bits = rules
            .uses_flowbits()
            .then(|| &mut self.data.get_or_insert_with(Box::default).flowbits);
        let verdict = rules.inspect(tx, bits, ctx.rule_scratch);
        if verdict.pass {
            self.alerts.pass();
        }
        verdict.alerts
    }

    /// The rules that alert on a TLS or QUIC ClientHello.
    pub(super) fn rules_on_hello<'d>(
        &mut self,
        ctx: &mut Ctx<'d>,
        meta: &FlowMeta,
        app: App,
        view: HelloView<'_>,
    ) -> Vec<&'d Rule> {
        let Some(rules) = ctx.detector.rules.as_ref().filter(|r| r.inspects(app)) else {
            return Vec::new();
        };
        let mut tx = new_tx(meta, app);
        let sni_buffer = if app == App::Quic {
            Buffer::QuicSni
        } else {
            Buffer::TlsSni
        };
        if let Some(sni) = view.sni {
            tx.set(sni_buffer, sni.as_bytes());
        }
        if let Some(hello) = view.hello {
            if rules.needs(Buffer::Ja3Hash) {
                if let Some(ja3) = hello.ja3_hash() {
                    tx.set(Buffer::Ja3Hash, ja3.as_bytes());
                }
            }
            if rules.needs(Buffer::Ja4Hash) {
                tx.set(Buffer::Ja4Hash, hello.ja4().as_bytes());
            }
        }
        self.run_rules(ctx, rules, &tx)
    }

    /// The rules that alert on an HTTP request.
    pub(super) fn rules_on_http<'d>(
        &mut self,
        ctx: &mut Ctx<'d>,
        meta: &FlowMeta,
        view: &HttpView<'_>,
    ) -> Vec<&'d Rule> {
        let Some(rules) = ctx
            .detector
            .rules
            .as_ref()
            .filter(|r| r.inspects(App::Http))
        else {
            return Vec::new();
        };
        let uri = view
            .target
            .filter(|_| rules.needs(Buffer::HttpUri))
            .map(|t| proto::http::normalize_target(t, view.connect));
        let host = view
            .hostname
            .filter(|_| rules.needs(Buffer::HttpHost))
            .map(str::to_ascii_lowercase);
        let mut tx = new_tx(meta, App::Http);
        let fields = [
            (Buffer::HttpMethod, view.method.map(str::as_bytes)),
            (Buffer::HttpUri, uri.as_deref()),
            (Buffer::HttpUriRaw, view.target.map(str::as_bytes)),
            (Buffer::HttpHost, host.as_deref().map(str::as_bytes)),
            (Buffer::HttpHostRaw, view.host_raw.map(str::as_bytes)),
            (Buffer::HttpUserAgent, view.user_agent.map(str::as_bytes)),
        ];
        for (buffer, bytes) in fields {
            if let Some(bytes) = bytes {
                tx.set(buffer, bytes);
            }
        }
        self.run_rules(ctx, rules, &tx)
    }

    /// The rules that alert on a DNS request with `names` as its query names.
    pub(super) fn rules_on_dns<'d, 'n>(
        &mut self,
        ctx: &mut Ctx<'d>,
        meta: &FlowMeta,
        names: impl Iterator<Item = &'n str>,
    ) -> Vec<&'d Rule> {
        let Some(rules) = ctx.detector.rules.as_ref().filter(|r| r.inspects(App::Dns)) else {
            return Vec::new();
        };
        let mut tx = new_tx(meta, App::Dns);
        for name in names {
            tx.set(Buffer::DnsQuery, name.as_bytes());
        }
        self.run_rules(ctx, rules, &tx)
    }
}
