//! What the app-layer handlers of one packet share: the detector, the shard's outbound messages
//! and counters, plus how to turn a flow and a direction into an EVE event.

use super::output::{FlowRecord, LineRef, OutBuf, OutKind, Output, RuleCheck};
use crate::counters::Counters;
use crate::detect::direct_ip::Candidate;
use crate::detect::direct_ip::{Held, ShardMarks};
use crate::detect::dns_chain::{FlowName, NamedBy};
use crate::detect::hidden::EchCandidate;
use crate::detect::rules::{self, compile::Rule, threshold::Match};
use crate::detect::{Detection, DetectionSet, Detector, Hit, Scope};
use crate::eve::Object;
use crate::eve::{EveTypes, Event, EventType};
use crate::flow::{Direction, FlowMeta};
use proto::decode::Tunnel;
use proto::Timestamp;

/// Per-packet context handed to the handlers.
pub(crate) struct Ctx<'a> {
    pub(crate) detector: &'a Detector,
    pub(crate) out: &'a mut OutBuf,
    pub(crate) counters: &'a mut Counters,
    pub(crate) ts: Timestamp,
    pub(crate) pcap_cnt: Option<u64>,
    /// Sequence number of the item being handled (see [`Output`]).
    pub(crate) seq: u64,
    /// The event types written.
    pub(crate) log: EveTypes,
    /// The flows of this shard whose `direct-ip` the merge stage found resolved.
    pub(crate) marks: ShardMarks<'a>,
    /// The tunnel of the packet being handled (`Tunnel::NONE` at a flow's end): an alert's
    /// `tunnel` object describes the packet that raised it, as in Suricata.
    pub(crate) tunnel: &'a Tunnel,
    /// The rules' matching scratch space (the shard's).
    pub(crate) rule_scratch: &'a mut rules::Scratch,
}

/// What a flow has alerted on.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FlowAlerts {
    /// Detections that had their one alert on this flow (a `direct-ip` among them may still be
    /// dropped by the merge stage).
    once: DetectionSet,
    /// An alert other than `direct-ip` was raised on the flow, per-query DNS alerts included.
    raised: bool,
    /// A `pass` rule matched: the flow raises no more alerts.
    passed: bool,
}

impl FlowAlerts {
    /// Whether an alert other than `direct-ip` was raised (the merge stage adds `direct-ip`).
    pub(crate) fn raised(self) -> bool {
        self.raised
    }

    /// Adds what `other` (the flow's other version, see `app::Streams`) alerted on.
    pub(crate) fn merge(&mut self, other: FlowAlerts) {
        for d in other.once.iter() {
            self.once.insert(d);
        }
        self.raised |= other.raised;
        self.passed |= other.passed;
    }

    /// A `pass` rule matched the flow: no alert from now on.
    pub(crate) fn pass(&mut self) {
        self.passed = true;
    }
}

/// An event of `event_type` on `meta`'s flow, travelling in `dir`.
pub(crate) fn event(
    meta: &FlowMeta,
    dir: Direction,
    ts: Timestamp,
    pcap_cnt: Option<u64>,
    event_type: EventType,
) -> Event {
    let (src, dst) = match dir {
        Direction::ToServer => (meta.client, meta.server),
        Direction::ToClient => (meta.server, meta.client),
    };
    Event {
        timestamp: ts,
        flow_id: meta.id,
        pcap_cnt,
        event_type,
        vlans: meta.vlans,
        src_ip: src.0,
        src_port: src.1,
        dest_ip: dst.0,
        dest_port: dst.1,
        proto: meta.proto.eve_name(),
        direction: None,
        app_proto: None,
        app_proto_orig: None,
        objects: Vec::new(),
        tunnel: Tunnel::NONE,
    }
}

impl Ctx<'_> {
    /// Hands a message to the merge stage.
    pub(crate) fn send(&mut self, kind: OutKind) {
        self.out.msgs.push(Output {
            seq: self.seq,
            kind,
        });
    }

    /// Emits an event.
    pub(crate) fn emit(&mut self, ev: Event) {
        let line = self.out.line(&ev);
        self.send(OutKind::Event(line));
    }

    /// Whether events of type `name` are written.
    pub(crate) fn logs(&self, t: EventType) -> bool {
        self.log.logs(t)
    }

    /// Flow `flow_id` ended; `record` is its `flow` event when flows are logged (the merge
    /// stage completes its `alerted`).
    pub(crate) fn flow_ended(&mut self, flow_id: u64, record: Option<FlowRecord>) {
        let record = record.map(|r| self.out.record(r));
        self.send(OutKind::FlowEnd { flow_id, record });
    }

    /// Emits an app-layer event (`tls`, `dns`, `http`) carrying `object`.
    pub(crate) fn emit_app(
        &mut self,
        meta: &FlowMeta,
        dir: Direction,
        kind: EventType,
        object: Object,
    ) {
        let mut ev = event(meta, dir, self.ts, self.pcap_cnt, kind);
        ev.app_proto = Some(app_proto(kind, &object));
        let line = self.out.line_with(&ev, &[(kind, &object)]);
        self.send(OutKind::Event(line));
    }

    /// The line of an app-layer event (`dns`, `http`) whose object `object` writes straight
    /// into it; [`Ctx::send`] it as an `OutKind::Event` where [`Ctx::emit_app`] would have sent
    /// it. `app_proto` is the event's (see [`app_proto`]).
    pub(crate) fn app_line(
        &mut self,
        meta: &FlowMeta,
        dir: Direction,
        (kind, app_proto): (EventType, &'static str),
        object: impl FnOnce(&mut Vec<u8>),
    ) -> LineRef {
        let mut ev = event(meta, dir, self.ts, self.pcap_cnt, kind);
        ev.app_proto = Some(app_proto);
        self.out.line_then(&ev, kind, object)
    }

    /// Emits the `http` event of request `req` answered with `status`, its object written
    /// straight into the line.
    pub(crate) fn emit_http(&mut self, meta: &FlowMeta, req: &proto::http::Request, status: u16) {
        let app_proto = if req.protocol() == "HTTP/2" {
            "http2"
        } else {
            "http"
        };
        let line = self.app_line(
            meta,
            Direction::ToServer,
            (EventType::Http, app_proto),
            |out| req.write_eve(Some(status), out),
        );
        self.send(OutKind::Event(line));
    }

    /// Alerts `hit` unless the flow had its alert for this detection already. `app` is the
    /// flow's app-layer object (`tls`, `http`, `dns`), which the alert carries.
    pub(crate) fn alert(
        &mut self,
        meta: &FlowMeta,
        alerts: &mut FlowAlerts,
        hit: &Hit,
        app: Option<(EventType, &Object)>,
    ) {
        // A target's `direct-ip` is judged on its own address: the merge stage keeps the flow's
        // one alert (a speculative flow-start one it dropped must not hide this one).
        if alerts.once.insert(hit.detection) || hit.target.is_some() {
            self.raise(meta, alerts, hit, app);
        }
    }

    /// Alerts `hit` of a DNS query: one alert per query, however many the flow carries.
    pub(crate) fn alert_query(
        &mut self,
        meta: &FlowMeta,
        alerts: &mut FlowAlerts,
        hit: &Hit,
        app: Option<(EventType, &Object)>,
    ) {
        self.raise(meta, alerts, hit, app);
    }

    /// Alerts the flow-start detections `released` (see [`Held`]), with the flow's app-layer
    /// object when there is one.
    pub(crate) fn release(
        &mut self,
        meta: &FlowMeta,
        alerts: &mut FlowAlerts,
        released: DetectionSet,
        app: Option<(EventType, &Object)>,
        name: Option<(&str, NamedBy)>,
    ) {
        for detection in released.iter() {
            let mut hit = Detector::flow_hit(detection, meta.server, meta.proto);
            if detection == Detection::DirectIp {
                hit.flow_name = name.map(|(name, by)| {
                    Box::new(FlowName {
                        name: name.into(),
                        by,
                    })
                });
            }
            self.alert(meta, alerts, &hit, app);
        }
    }

    fn raise(
        &mut self,
        meta: &FlowMeta,
        alerts: &mut FlowAlerts,
        hit: &Hit,
        app: Option<(EventType, &Object)>,
    ) {
        if alerts.passed {
            return;
        }
        let direct_ip = hit.detection == Detection::DirectIp;
        if direct_ip && hit.target.is_none() && self.marks.take(meta.id) {
            // The merge stage already found the server resolved: the alert would be dropped.
            return;
        }
        // The merge stage decides these two; the flow record learns from it.
        alerts.raised |= !direct_ip && hit.ech.is_none();
        let line = self.alert_line(meta, Event::alert_object(hit), app);
        if let Some(ech) = &hit.ech {
            // Real ECH or GREASE, allowlisted or not: the DNS answers of every shard decide.
            self.send(OutKind::Hidden {
                candidate: Box::new(EchCandidate {
                    flow_id: meta.id,
                    server: meta.server.0,
                    ts: self.ts,
                    sni: ech.sni.clone(),
                    config_id: ech.config_id,
                }),
                line,
            });
            return;
        }
        self.send(if direct_ip {
            // Stands only if no DNS answer seen by now resolved the server; the merge stage
            // knows every shard's answers.
            // A target named by address is judged on it, at the request.
            OutKind::DirectIp {
                candidate: Candidate {
                    flow_id: meta.id,
                    server: hit.target.unwrap_or(meta.server.0),
                    ts: if hit.target.is_some() {
                        self.ts
                    } else {
                        meta.first_ts
                    },
                },
                line,
                by_target: hit.target.is_some(),
                name: hit.flow_name.clone(),
            }
        } else {
            OutKind::Alert(hit.detection, line)
        });
    }

    /// The EVE line of an alert carrying `alert` and the flow's app-layer object.
    fn alert_line(
        &mut self,
        meta: &FlowMeta,
        alert: Object,
        app: Option<(EventType, &Object)>,
    ) -> LineRef {
        let mut ev = event(
            meta,
            Direction::ToServer,
            self.ts,
            self.pcap_cnt,
            EventType::Alert,
        );
        ev.direction = Some("to_server");
        ev.tunnel = *self.tunnel;
        ev.app_proto = app.map(|(kind, object)| app_proto(kind, object));
        match app {
            Some((kind, object)) => self
                .out
                .line_with(&ev, &[(EventType::Alert, &alert), (kind, object)]),
            None => self.out.line_with(&ev, &[(EventType::Alert, &alert)]),
        }
    }

    /// Alerts a match of `rule` (one per transaction), unless a `pass` rule passed the flow;
    /// a thresholded rule's alert is decided by the merge stage.
    pub(crate) fn alert_rule(
        &mut self,
        meta: &FlowMeta,
        alerts: &mut FlowAlerts,
        rule: &Rule,
        app: Option<(EventType, &Object)>,
    ) {
        if alerts.passed {
            return;
        }
        let line = self.alert_line(meta, Event::rule_alert_object(rule), app);
        let check = (rule.threshold.is_some() || rule.detection_filter.is_some()).then(|| {
            Box::new(RuleCheck {
                threshold: rule.threshold,
                detection_filter: rule.detection_filter,
                at: Match {
                    gid: rule.gid,
                    sid: rule.sid,
                    src: meta.client.0,
                    dst: meta.server.0,
                    flow_id: meta.id,
                    ts: self.ts,
                },
            })
        });
        alerts.raised |= check.is_none();
        self.send(OutKind::RuleAlert { check, line });
    }

    /// The scope of `meta`'s flow.
    pub(crate) fn scope(&self, meta: &FlowMeta) -> Scope {
        self.detector.scope(meta.client.0, meta.server.0)
    }

    /// The flow-start detections (`ioc-ip`, `direct-ip`, `egress-policy`) of a new flow, to hold until its first
    /// app-layer object; a `direct-ip` candidate is announced to the merge stage.
    pub(crate) fn flow_start(&mut self, meta: &FlowMeta, is_dns: bool) -> Held {
        let scope = self.scope(meta);
        let detections = self
            .detector
            .flow_start(scope, meta.server, meta.proto, is_dns);
        let (held, candidate) = Held::start(detections, meta.id, meta.server.0, meta.first_ts);
        if let Some(candidate) = candidate {
            self.send(OutKind::FlowStart(candidate));
        }
        held
    }
}

/// The `app_proto` of an event that carries `object` as its `kind`: the event type's name, but
/// `http2` for an HTTP/2 transaction (Suricata logs those as `http` events of an `http2` flow;
/// the object's `protocol` says which it is).
fn app_proto(kind: EventType, object: &Object) -> &'static str {
    match (kind, object) {
        (EventType::Http, Object::Json(v)) if v.get("protocol").is_some_and(|p| p == "HTTP/2") => {
            "http2"
        }
        _ => kind.name(),
    }
}
