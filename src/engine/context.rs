//! What the app-layer handlers of one packet share: the detector, the shard's outbound messages
//! and counters, plus how to turn a flow and a direction into an EVE event.

use super::output::{alerted_offset, OutBuf, OutKind, Output};
use super::verdicts::ResolvedFlows;
use crate::counters::Counters;
use crate::detect::{Detection, Detector, Hit, Scope};
use crate::eve::Object;
use crate::eve::{EveTypes, Event};
use crate::flow::{Direction, FlowMeta};
use proto::decode::Proto;
use proto::Timestamp;

/// Per-packet context handed to the handlers.
pub struct Ctx<'a> {
    pub detector: &'a Detector,
    pub out: &'a mut OutBuf,
    pub counters: &'a mut Counters,
    pub ts: Timestamp,
    pub pcap_cnt: Option<u64>,
    /// Sequence number of the item being handled (see [`Output`]).
    pub seq: u64,
    /// The event types written.
    pub log: EveTypes,
    /// This shard's number and the `direct-ip` verdicts already reached.
    pub shard: usize,
    pub resolved: &'a ResolvedFlows,
}

/// An event of `event_type` on `meta`'s flow, travelling in `dir`.
pub fn event(
    meta: &FlowMeta,
    dir: Direction,
    ts: Timestamp,
    pcap_cnt: Option<u64>,
    event_type: &'static str,
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
        vlan: meta.vlan[..meta.vlan_count as usize].to_vec(),
        src_ip: src.0,
        src_port: src.1,
        dest_ip: dst.0,
        dest_port: dst.1,
        proto: match meta.proto {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        },
        direction: None,
        app_proto: None,
        app_proto_orig: None,
        objects: Vec::new(),
    }
}

impl Ctx<'_> {
    /// Hands a message to the merge stage.
    pub fn send(&mut self, kind: OutKind) {
        self.out.msgs.push(Output {
            seq: self.seq,
            kind,
        });
    }

    /// Emits an event.
    pub fn emit(&mut self, ev: Event) {
        let line = self.out.line(&ev);
        self.send(OutKind::Event(line));
    }

    /// Whether events of type `name` are written.
    pub fn logs(&self, name: &str) -> bool {
        self.log.logs(name)
    }

    /// Emits the `flow` event of a finished flow (the merge stage may still mark it alerted).
    pub fn emit_flow_end(&mut self, flow_id: u64, ev: Event) {
        let line = self.out.line(&ev);
        let alerted_at = alerted_offset(line.get(&self.out.lines));
        self.send(OutKind::FlowEnd {
            flow_id,
            line,
            alerted_at,
        });
    }

    /// Emits an app-layer event (`tls`, `dns`, `http`) carrying `object`.
    pub fn emit_app(&mut self, meta: &FlowMeta, dir: Direction, key: &'static str, object: Object) {
        let mut ev = event(meta, dir, self.ts, self.pcap_cnt, key);
        ev.objects.push((key, object));
        ev.app_proto = Some(key);
        self.emit(ev);
    }

    /// Emits an alert for `hit` unless the flow already alerted on its detection (`alerted` is the
    /// flow's mask; DNS queries pass `None`: one alert per query). `app` is the flow's app-layer
    /// object the alert carries.
    pub fn alert(
        &mut self,
        meta: &FlowMeta,
        alerted: Option<&mut u8>,
        hit: &Hit,
        app_proto: Option<&'static str>,
        app: Option<(&'static str, &Object)>,
    ) {
        if let Some(mask) = alerted {
            if *mask & hit.detection.bit() != 0 {
                return;
            }
            *mask |= hit.detection.bit();
        }
        if hit.detection == Detection::DirectIp && self.resolved.take(self.shard, meta.id) {
            // The merge stage already found the server resolved: the alert would be dropped.
            return;
        }
        let mut ev = event(meta, Direction::ToServer, self.ts, self.pcap_cnt, "alert");
        ev.direction = Some("to_server");
        ev.app_proto = app_proto;
        ev.objects.push(("alert", Event::alert_object(hit)));
        if let Some((key, object)) = app {
            ev.objects.push((key, object.clone()));
        }
        if hit.detection == Detection::DirectIp {
            // Stands only if no DNS answer resolved the server before the flow started; the
            // merge stage knows every shard's answers.
            let flow_id = meta.id;
            let line = self.out.line(&ev);
            self.send(OutKind::DirectIp { flow_id, line });
        } else {
            let line = self.out.line(&ev);
            self.send(OutKind::Alert(hit.detection, line));
        }
    }

    /// The scope of `meta`'s flow.
    pub fn scope(&self, meta: &FlowMeta) -> Scope {
        self.detector.scope(meta.client.0, meta.server.0)
    }

    /// The flow-start detections (`ioc-ip`, `direct-ip`) that may fire for this flow. A
    /// `direct-ip` candidate is announced to the merge stage, which decides it against the DNS
    /// answers seen before this point of the capture.
    pub fn flow_start(&mut self, meta: &FlowMeta, is_dns: bool) -> u8 {
        let scope = self.scope(meta);
        let hits = self
            .detector
            .flow_start_mask(scope, meta.server.0, is_dns, false);
        if hits & Detection::DirectIp.bit() != 0 {
            self.send(OutKind::FlowStart {
                flow_id: meta.id,
                server: meta.server.0,
                ts: meta.first_ts,
            });
        }
        hits
    }
}
