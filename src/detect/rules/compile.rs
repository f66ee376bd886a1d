//! One rule, compiled: its header, the programs it runs on each buffer, flow conditions,
//! flowbits, thresholds and what its alert says. Options are read in order, as Suricata reads
//! them: a sticky buffer keyword selects where the contents that follow go, a legacy modifier
//! (`http_uri`) moves the content before it, and content modifiers apply to the last content.

use super::buffer::{AppSet, Buffer, Transport, Tx};
use super::classification;
use super::content::Content;
use super::flowbits::{FlowbitNames, FlowbitOp, Flowbits};
use super::header::{Action, Header, RuleProto};
use super::inspect::{BufferProgram, NumberCmp, Transform};
use super::parse::{unquote, RawOption};
use super::pcre::{Pcre, PcreBuffer};
use super::threshold::Spec;
use super::vars::RuleVars;
use serde_json::value::RawValue;

/// What a buffer must hold.
#[derive(Debug)]
pub(crate) struct Program {
    pub(crate) buffer: Buffer,
    pub(crate) inspect: BufferProgram,
    /// `absent`: the buffer must be missing; `absent:or_else`: missing, or matching.
    pub(crate) absent: Option<Absent>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Absent {
    Only,
    OrElse,
}

impl Program {
    /// Whether the transaction's instances of the buffer satisfy the program (one instance
    /// matching is enough: `dns.query` holds one per query name).
    fn matches(&self, tx: &Tx<'_>) -> bool {
        let instances = tx.instances(self.buffer);
        if instances.is_empty() {
            return self.absent.is_some();
        }
        if self.absent == Some(Absent::Only) {
            return false;
        }
        instances.iter().any(|b| self.inspect.matches(b))
    }
}

/// `flow:` conditions on the transaction.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FlowCond {
    pub(crate) established: Option<bool>,
    /// `Some(true)`: to_server (from_client); `Some(false)`: to_client (from_server).
    pub(crate) to_server: Option<bool>,
}

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) sid: u32,
    pub(crate) gid: u32,
    pub(crate) rev: u32,
    pub(crate) msg: String,
    pub(crate) category: &'static str,
    pub(crate) severity: u8,
    /// `metadata` as Suricata logs it: `{key: [values]}`.
    pub(crate) metadata: Option<Box<RawValue>>,
    pub(crate) header: Header,
    pub(crate) apps: AppSet,
    pub(crate) transport: Option<Transport>,
    pub(crate) flow: FlowCond,
    pub(crate) programs: Vec<Program>,
    pub(crate) flowbits: Vec<FlowbitOp>,
    pub(crate) noalert: bool,
    pub(crate) threshold: Option<Spec>,
    pub(crate) detection_filter: Option<Spec>,
}

impl Rule {
    pub(crate) fn action(&self) -> Action {
        self.header.action
    }

    /// Whether `tx` matches everything but the flowbits' conditions.
    pub(crate) fn matches(&self, tx: &Tx<'_>) -> bool {
        self.apps.contains(tx.app)
            && self.transport.is_none_or(|t| t == tx.transport)
            && self.flow.to_server != Some(false)
            && self.flow.established.is_none_or(|e| e == tx.established)
            && self.header.matches(tx.client, tx.server)
            && self.programs.iter().all(|p| p.matches(tx))
    }

    /// Whether the flow's bits satisfy the rule's `isset`/`isnotset`.
    pub(crate) fn flowbits_hold(&self, bits: &Flowbits) -> bool {
        self.flowbits.iter().all(|op| op.holds(bits))
    }

    /// Whether the rule sets, unsets or toggles a flowbit (it runs before those that test).
    pub(crate) fn changes_flowbits(&self) -> bool {
        self.flowbits.iter().any(FlowbitOp::changes)
    }

    pub(crate) fn tests_flowbits(&self) -> bool {
        self.flowbits.iter().any(|op| !op.changes())
    }
}

/// A refused rule: why, and its sid when it was read before the fault.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) sid: Option<u32>,
    pub(crate) reason: String,
    /// The reason's kind, for the summary's counts (`unknown keyword "isdataat"`, ...).
    pub(crate) kind: String,
}

/// Compiles one statement's header words and options.
pub(crate) fn compile(
    header: &[&str],
    options: &[RawOption<'_>],
    vars: &RuleVars,
    names: &mut FlowbitNames,
) -> Result<Rule, Refused> {
    let sid = options
        .iter()
        .find(|o| o.name == "sid")
        .and_then(|o| o.value)
        .and_then(|v| v.trim().parse::<u32>().ok());
    let refuse = |kind: &str, reason: String| Refused {
        sid,
        reason,
        kind: kind.to_string(),
    };
    let header = Header::parse(header, vars).map_err(|e| refuse("header", e))?;
    let mut b = Builder::default();
    for opt in options {
        b.option(opt, names).map_err(|(kind, reason)| {
            let what = if kind.starts_with("unknown keyword") {
                kind.clone()
            } else {
                opt.name.to_string()
            };
            refuse(&kind, format!("{what}: {reason}"))
        })?;
    }
    b.finish(header, sid)
        .map_err(|(kind, reason)| refuse(&kind, reason))
}

type Fault = (String, String);

fn fault(kind: &str, reason: impl Into<String>) -> Fault {
    (kind.to_string(), reason.into())
}

/// Where the last content went: the packet payload list, or a buffer's program.
#[derive(Clone, Copy)]
enum Last {
    Payload,
    Buffer(usize),
}

#[derive(Default)]
struct Builder {
    msg: Option<String>,
    sid: Option<u32>,
    gid: Option<u32>,
    rev: Option<u32>,
    classtype: Option<(&'static str, u8)>,
    priority: Option<u8>,
    metadata: Vec<(String, String)>,
    flow: FlowCond,
    /// Contents and pcres written before any sticky buffer (a legacy modifier moves a content
    /// to its buffer; what stays refuses the rule).
    payload: BufferProgram,
    /// The buffer the last legacy modifier moved a content to.
    last_legacy: Option<Buffer>,
    programs: Vec<Program>,
    current: Option<usize>,
    last: Option<Last>,
    flowbits: Vec<FlowbitOp>,
    noalert: bool,
    threshold: Option<Spec>,
    detection_filter: Option<Spec>,
}

impl Builder {
    fn program(&mut self, buffer: Buffer) -> usize {
        if let Some(i) = self.programs.iter().position(|p| p.buffer == buffer) {
            return i;
        }
        self.programs.push(Program {
            buffer,
            inspect: BufferProgram::new(),
            absent: None,
        });
        self.programs.len() - 1
    }

    fn current_program(&mut self, keyword: &str) -> Result<&mut Program, Fault> {
        match self.current {
            Some(i) => Ok(&mut self.programs[i]),
            None => Err(fault(
                "no buffer",
                format!("{keyword} needs a sticky buffer before it (e.g. `http.uri;`)"),
            )),
        }
    }

    /// Applies a content modifier to the last content, wherever it went.
    fn modify_last(&mut self, keyword: &str, value: Option<&str>) -> Result<(), Fault> {
        let missing = || {
            fault(
                "syntax",
                format!("{keyword} modifies a content: write content first"),
            )
        };
        match self.last.ok_or_else(missing)? {
            Last::Payload => self
                .payload
                .modify_last(keyword, value)
                .map_err(|e| fault("content", e)),
            Last::Buffer(p) => self.programs[p]
                .inspect
                .modify_last(keyword, value)
                .map_err(|e| fault("content", e)),
        }
    }

    fn push_content(&mut self, c: Content) -> Result<(), Fault> {
        match self.current {
            Some(p) => {
                self.programs[p]
                    .inspect
                    .push_content(c)
                    .map_err(|e| fault("content", e))?;
                self.last = Some(Last::Buffer(p));
            }
            None => {
                self.payload
                    .push_content(c)
                    .map_err(|e| fault("content", e))?;
                self.last = Some(Last::Payload);
            }
        }
        Ok(())
    }

    fn option(&mut self, opt: &RawOption<'_>, names: &mut FlowbitNames) -> Result<(), Fault> {
        let name = opt.name;
        let value = opt.value;
        let need = || value.ok_or_else(|| fault("syntax", "needs a value"));
        let number = |v: &str| -> Result<u32, Fault> {
            v.trim()
                .parse()
                .map_err(|_| fault("syntax", format!("{v:?} is no number")))
        };
        if let Some(buffer) = Buffer::sticky(name) {
            let p = self.program(buffer);
            self.current = Some(p);
            return Ok(());
        }
        if let Some(buffer) = Buffer::legacy_modifier(name) {
            return self.move_last_content(buffer);
        }
        if let Some(t) = Transform::parse(name) {
            let p = self.current_program(name)?;
            return p.inspect.add_transform(t).map_err(|e| fault("syntax", e));
        }
        match name {
            "msg" => {
                self.msg =
                    Some(unquote(need()?).ok_or_else(|| fault("syntax", "write msg:\"text\""))?)
            }
            "sid" => self.sid = Some(number(need()?)?),
            "gid" => self.gid = Some(number(need()?)?),
            "rev" => self.rev = Some(number(need()?)?),
            "classtype" => {
                let class = need()?.trim();
                self.classtype = Some(classification::lookup(class).ok_or_else(|| {
                    fault(
                        "unknown classtype",
                        format!("{class:?} is not in Suricata's default classification table"),
                    )
                })?);
            }
            "priority" => {
                let p = number(need()?)?;
                if !(1..=255).contains(&p) {
                    return Err(fault("syntax", "priority is 1 to 255"));
                }
                self.priority = Some(p as u8);
            }
            "metadata" => {
                for pair in need()?.split(',') {
                    let pair = pair.trim();
                    if pair.is_empty() {
                        continue;
                    }
                    let (k, v) = pair.split_once(char::is_whitespace).ok_or_else(|| {
                        fault("syntax", format!("{pair:?}: metadata is `key value, ...`"))
                    })?;
                    self.metadata.push((k.trim().into(), v.trim().into()));
                }
            }
            "reference" | "target" => {
                need()?;
            }
            "flow" => self.flow(need()?)?,
            "content" => {
                let c = Content::parse(need()?).map_err(|e| fault("content", e))?;
                self.push_content(c)?;
            }
            _ if Content::is_modifier(name) => self.modify_last(name, value)?,
            "pcre" => {
                let (pcre, buffer) = Pcre::parse(need()?).map_err(|e| fault("pcre", e))?;
                self.push_pcre(pcre, buffer)?;
            }
            "bsize" => {
                let cmp = NumberCmp::parse(need()?).map_err(|e| fault("syntax", e))?;
                self.current_program(name)?.inspect.push_bsize(cmp);
            }
            "urilen" => {
                // The buffer's length (Suricata caps it at 65535; a request head here is
                // shorter than that).
                let (cmp, raw) =
                    NumberCmp::parse_urilen(need()?).map_err(|e| fault("syntax", e))?;
                let buffer = if raw {
                    Buffer::HttpUriRaw
                } else {
                    Buffer::HttpUri
                };
                let p = self.program(buffer);
                self.programs[p].inspect.push_bsize(cmp);
            }
            "absent" => {
                let absent = match value.map(str::trim) {
                    None => Absent::Only,
                    Some("or_else") => Absent::OrElse,
                    Some(other) => {
                        return Err(fault(
                            "syntax",
                            format!("{other:?}: absent takes or_else or nothing"),
                        ))
                    }
                };
                let p = self.current_program(name)?;
                p.absent = Some(absent);
            }
            "flowbits" => {
                match FlowbitOp::parse(need()?, names).map_err(|e| fault("flowbits", e))? {
                    None => self.noalert = true,
                    Some(op) => self.flowbits.push(op),
                }
            }
            "noalert" => self.noalert = true,
            "threshold" | "detection_filter" => {
                if self.threshold.is_some() || self.detection_filter.is_some() {
                    return Err(fault(
                        "threshold",
                        "a rule has one threshold or detection_filter (Suricata refuses both, and two of either)",
                    ));
                }
                let filter = name == "detection_filter";
                let spec = Spec::parse(need()?, filter).map_err(|e| fault("threshold", e))?;
                if filter {
                    self.detection_filter = Some(spec);
                } else {
                    self.threshold = Some(spec);
                }
            }
            other => {
                return Err(fault(
                    &format!("unknown keyword {other:?}"),
                    "egress-ids does not know this keyword (README: the rule language subset)",
                ))
            }
        }
        Ok(())
    }

    fn flow(&mut self, value: &str) -> Result<(), Fault> {
        for word in value.split(',').map(str::trim) {
            match word {
                "established" => self.flow.established = Some(true),
                "not_established" => self.flow.established = Some(false),
                "to_server" | "from_client" => self.flow.to_server = Some(true),
                "to_client" | "from_server" => self.flow.to_server = Some(false),
                "stateless" => {}
                other => {
                    return Err(fault(
                        "flow",
                        format!("{other:?}: egress-ids reads established, not_established, to_server, from_client, to_client, from_server and stateless"),
                    ))
                }
            }
        }
        Ok(())
    }

    /// `content:"x"; http_uri;`: the content before moves to the buffer, as Suricata's
    /// `DetectEngineContentModifierBufferSetup` moves it (with the relative marks it sets).
    fn move_last_content(&mut self, buffer: Buffer) -> Result<(), Fault> {
        let moved = match self.last {
            Some(Last::Payload) => self.payload.take_last_content(),
            _ => None,
        };
        let Some(c) = moved else {
            return Err(fault(
                "syntax",
                "a legacy buffer modifier follows a content that no sticky buffer selected",
            ));
        };
        let current = self.last_legacy == Some(buffer);
        let p = self.program(buffer);
        self.programs[p]
            .inspect
            .push_moved_content(c, current)
            .map_err(|e| fault("content", e))?;
        self.last_legacy = Some(buffer);
        self.last = Some(Last::Buffer(p));
        Ok(())
    }

    fn push_pcre(&mut self, pcre: Pcre, buffer: Option<PcreBuffer>) -> Result<(), Fault> {
        let buffer = match buffer {
            Some(PcreBuffer::Uri) => Buffer::HttpUri,
            Some(PcreBuffer::RawUri) => Buffer::HttpUriRaw,
            Some(PcreBuffer::UserAgent) => Buffer::HttpUserAgent,
            Some(PcreBuffer::Host) => Buffer::HttpHost,
            Some(PcreBuffer::RawHost) => Buffer::HttpHostRaw,
            Some(PcreBuffer::Method) => Buffer::HttpMethod,
            None => match self.current {
                Some(p) => {
                    self.programs[p].inspect.push_pcre(pcre);
                    return Ok(());
                }
                None => {
                    self.payload.push_pcre(pcre);
                    return Ok(());
                }
            },
        };
        let p = self.program(buffer);
        self.programs[p].inspect.push_pcre(pcre);
        Ok(())
    }

    fn finish(self, header: Header, sid: Option<u32>) -> Result<Rule, Fault> {
        let sid = sid.ok_or_else(|| fault("no sid", "the rule has no sid"))?;
        if !self.payload.items().is_empty() {
            return Err(fault(
                "packet payload",
                "content or pcre on the packet payload: egress-ids inspects the buffers of dns, tls, http and quic transactions (put a sticky buffer such as http.uri before it)",
            ));
        }
        if self.programs.is_empty() {
            return Err(fault(
                "no buffer",
                "the rule inspects no buffer: egress-ids matches rules on dns.query, tls.sni, quic.sni, ja3.hash, ja4.hash and http.* buffers, not on packets",
            ));
        }
        for p in &self.programs {
            p.inspect
                .validate()
                .map_err(|e| fault("content", format!("{}: {e}", p.buffer.name())))?;
        }
        if let Some(p) = self
            .programs
            .iter()
            .find(|p| p.absent == Some(Absent::Only) && !p.inspect.items().is_empty())
        {
            return Err(fault(
                "syntax",
                format!("{}: `absent` and a content on the same buffer never match; use `absent:or_else`", p.buffer.name()),
            ));
        }
        let proto_apps = match header.proto {
            RuleProto::Dns => AppSet::DNS,
            RuleProto::Tls => AppSet::TLS,
            RuleProto::Quic => AppSet::QUIC,
            RuleProto::Http => AppSet::HTTP,
            RuleProto::Tcp => AppSet(AppSet::DNS.0 | AppSet::TLS.0 | AppSet::HTTP.0),
            RuleProto::Udp => AppSet(AppSet::DNS.0 | AppSet::QUIC.0),
            RuleProto::Ip => AppSet::ALL,
        };
        let mut apps = proto_apps;
        for p in &self.programs {
            apps = apps.and(p.buffer.apps());
        }
        if apps.is_empty() {
            let buffers: Vec<_> = self.programs.iter().map(|p| p.buffer.name()).collect();
            return Err(fault(
                "protocol",
                format!(
                    "no transaction carries {} under the header's protocol",
                    buffers.join(" and ")
                ),
            ));
        }
        let transport = match header.proto {
            RuleProto::Tcp => Some(Transport::Tcp),
            RuleProto::Udp => Some(Transport::Udp),
            _ => None,
        };
        let (category, class_priority) = self.classtype.unwrap_or(("", 3));
        let metadata = (!self.metadata.is_empty()).then(|| metadata_json(&self.metadata));
        Ok(Rule {
            sid,
            gid: self.gid.unwrap_or(1),
            rev: self.rev.unwrap_or(0),
            msg: self.msg.unwrap_or_default(),
            category,
            severity: self.priority.unwrap_or(class_priority),
            metadata,
            header,
            apps,
            transport,
            flow: self.flow,
            programs: self.programs,
            flowbits: self.flowbits,
            noalert: self.noalert,
            threshold: self.threshold,
            detection_filter: self.detection_filter,
        })
    }
}

/// `{key: [values]}` in the rule's order of keys, values grouped.
fn metadata_json(pairs: &[(String, String)]) -> Box<RawValue> {
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        let entry = map
            .entry(k.clone())
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(values) = entry {
            values.push(serde_json::Value::String(v.clone()));
        }
    }
    serde_json::value::to_raw_value(&map).unwrap_or_else(|_| RawValue::NULL.to_owned())
}
