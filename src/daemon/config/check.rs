//! From the raw document to the typed configuration, table by table: each key that has a
//! command-line flag goes through the same check as the flag (`crate::settings`), the others
//! (`[privileges]`) are checked here, and a refusal is placed at the value in the file, with its
//! key.

use super::errors::{ConfigError, Doc};
use super::raw::{
    AsText, RawAttribute, RawCapture, RawConfig, RawDetect, RawEngine, RawPrivileges,
};
use super::{CaptureSection, DaemonConfig, DetectSection, EngineSection, PrivilegesSection};
use crate::output::attribute::AttributeMode;
use crate::settings;
use std::path::PathBuf;
use toml::Spanned;

/// `check` applied to the value `v` of `key`; a refusal is placed at the value.
pub(super) fn checked<V: AsText, T>(
    doc: &Doc<'_>,
    key: &str,
    v: &Spanned<V>,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    check(&v.get_ref().as_text()).map_err(|reason| doc.error(v.span(), key, reason))
}

/// A path that passes `check` and is absolute: the daemon runs from `/` under systemd, and a file
/// has no working directory of its own to be relative to.
pub(super) fn absolute(
    doc: &Doc<'_>,
    key: &str,
    v: &Spanned<String>,
    check: fn(&str) -> Result<PathBuf, String>,
) -> Result<PathBuf, ConfigError> {
    let path = checked(doc, key, v, check)?;
    if !path.is_absolute() {
        return Err(doc.error(
            v.span(),
            key,
            format!(
                "{:?} is relative; write an absolute path (under systemd the daemon runs from /)",
                v.get_ref()
            ),
        ));
    }
    Ok(path)
}

impl RawConfig {
    pub(super) fn check(self, doc: &Doc<'_>) -> Result<DaemonConfig, ConfigError> {
        let outputs = match &self.output {
            None => DaemonConfig::default().outputs,
            Some(list) => super::outputs::check(doc, list)?,
        };
        let sensor_name = match &self.sensor_name {
            None => None,
            Some(v) => Some(checked(doc, "sensor_name", v, settings::sensor_name)?),
        };
        Ok(DaemonConfig {
            sensor_name,
            capture: self.capture.check(doc)?,
            detect: self.detect.check(doc)?,
            engine: self.engine.check(doc)?,
            outputs,
            privileges: self.privileges.check(doc)?,
        })
    }
}

impl RawCapture {
    fn check(self, doc: &Doc<'_>) -> Result<CaptureSection, ConfigError> {
        let mut c = CaptureSection::default();
        if let Some(list) = &self.interfaces {
            c.interfaces = interfaces(doc, list)?;
        }
        if let Some(v) = &self.bpf {
            c.bpf = Some(checked(doc, "capture.bpf", v, settings::bpf)?);
        }
        if let Some(v) = &self.promisc {
            c.promisc = settings::promisc(*v.get_ref(), &c.interfaces)
                .map_err(|reason| doc.error(v.span(), "capture.promisc", reason))?;
        }
        if let Some(v) = &self.snaplen {
            c.snaplen = checked(doc, "capture.snaplen", v, settings::snaplen)?;
        }
        if let Some(v) = &self.buffer_size {
            c.buffer_size = checked(doc, "capture.buffer_size", v, settings::buffer_size)?;
        }
        if let Some(v) = &self.capture_threads {
            c.capture_threads =
                checked(doc, "capture.capture_threads", v, settings::capture_threads)?;
        }
        if let Some(v) = &self.attribute {
            c.attribute = match v.get_ref() {
                RawAttribute::Bool(true) => AttributeMode::Required,
                RawAttribute::Bool(false) => AttributeMode::Off,
                RawAttribute::Word(w) if w == "auto" => AttributeMode::Auto,
                RawAttribute::Word(w) => {
                    return Err(doc.error(
                        v.span(),
                        "capture.attribute",
                        format!("'{w}' is not true, false or \"auto\""),
                    ))
                }
            };
        }
        Ok(c)
    }
}

/// `capture.interfaces`: each name, then the list as a whole.
fn interfaces(
    doc: &Doc<'_>,
    list: &Spanned<Vec<Spanned<String>>>,
) -> Result<Vec<String>, ConfigError> {
    let key = "capture.interfaces";
    let names = list
        .get_ref()
        .iter()
        .map(|name| checked(doc, key, name, settings::interface))
        .collect::<Result<Vec<_>, _>>()?;
    settings::interfaces(&names).map_err(|(at, reason)| {
        let span = match at.and_then(|i| list.get_ref().get(i)) {
            Some(item) => item.span(),
            None => list.span(),
        };
        doc.error(span, key, reason)
    })?;
    Ok(names)
}

impl RawDetect {
    fn check(self, doc: &Doc<'_>) -> Result<DetectSection, ConfigError> {
        let mut d = DetectSection::default();
        if let Some(list) = &self.home_net {
            let key = "detect.home_net";
            let nets = list
                .get_ref()
                .iter()
                .map(|net| checked(doc, key, net, settings::home_net_prefix))
                .collect::<Result<Vec<_>, _>>()?;
            d.home_net =
                settings::home_net(nets).map_err(|reason| doc.error(list.span(), key, reason))?;
        }
        if let Some(list) = &self.signatures {
            d.signatures = list
                .iter()
                .map(|p| absolute(doc, "detect.signatures", p, settings::file_path))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = self.no_default_signatures {
            d.no_default_signatures = v;
        }
        if let Some(list) = &self.resolvers {
            let key = "detect.resolvers";
            let nets = list
                .get_ref()
                .iter()
                .map(|net| checked(doc, key, net, settings::resolver_prefix))
                .collect::<Result<Vec<_>, _>>()?;
            d.resolvers = Some(
                settings::resolvers(nets).map_err(|reason| doc.error(list.span(), key, reason))?,
            );
        }
        if let Some(p) = &self.egress_policy {
            d.egress_policy = Some(absolute(
                doc,
                "detect.egress_policy",
                p,
                settings::file_path,
            )?);
        }
        if let Some(p) = &self.inventory {
            d.inventory = Some(absolute(doc, "detect.inventory", p, settings::file_path)?);
        }
        if let Some(list) = &self.rules {
            d.rules.paths = list
                .iter()
                .map(|p| absolute(doc, "detect.rules", p, settings::file_path))
                .collect::<Result<_, _>>()?;
        }
        if let Some(list) = &self.rule_vars {
            d.rules.vars = list
                .iter()
                .map(|v| checked(doc, "detect.rule_vars", v, settings::rule_var))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = self.rules_strict {
            d.rules.strict = v;
        }
        if let Some(v) = &self.dns_grace {
            d.dns_grace = checked(doc, "detect.dns_grace", v, settings::dns_grace)?;
        }
        if let Some(v) = &self.warmup {
            d.warmup = checked(doc, "detect.warmup", v, settings::warmup)?;
        }
        if let Some(v) = self.log_lan_discovery {
            d.log_lan_discovery = v;
        }
        Ok(d)
    }
}

impl RawEngine {
    fn check(self, doc: &Doc<'_>) -> Result<EngineSection, ConfigError> {
        let mut e = EngineSection::default();
        if let Some(v) = &self.threads {
            e.threads = checked(doc, "engine.threads", v, settings::threads)?;
        }
        if let Some(v) = &self.flow_memcap {
            e.flow_memcap = checked(doc, "engine.flow_memcap", v, settings::flow_memcap)?;
        }
        for (key, raw, field) in [
            (
                "engine.tcp_new_timeout",
                &self.tcp_new_timeout,
                &mut e.tcp_new_timeout,
            ),
            (
                "engine.tcp_established_timeout",
                &self.tcp_established_timeout,
                &mut e.tcp_established_timeout,
            ),
            (
                "engine.tcp_closed_timeout",
                &self.tcp_closed_timeout,
                &mut e.tcp_closed_timeout,
            ),
            ("engine.udp_timeout", &self.udp_timeout, &mut e.udp_timeout),
        ] {
            if let Some(v) = raw {
                *field = checked(doc, key, v, settings::flow_timeout)?;
            }
        }
        if let Some(v) = &self.stats_interval {
            e.stats_interval = checked(doc, "engine.stats_interval", v, settings::stats_interval)?;
        }
        if let Some(v) = &self.eve_types {
            e.eve_types = checked(doc, "engine.eve_types", v, settings::eve_types)?;
        }
        if let Some(v) = &self.checksum_validation {
            e.checksum_validation = checked(
                doc,
                "engine.checksum_validation",
                v,
                settings::checksum_validation,
            )?;
        }
        if let Some(v) = &self.vxlan_ports {
            e.tunnel_ports.vxlan_ports =
                checked(doc, "engine.vxlan_ports", v, settings::tunnel_ports)?;
        }
        if let Some(v) = &self.geneve_ports {
            e.tunnel_ports.geneve_ports =
                checked(doc, "engine.geneve_ports", v, settings::tunnel_ports)?;
        }
        Ok(e)
    }
}

impl RawPrivileges {
    fn check(self, doc: &Doc<'_>) -> Result<PrivilegesSection, ConfigError> {
        let name = |v: &Spanned<String>, key: &str| {
            let n = v.get_ref();
            if n.is_empty() || n.contains(|c: char| c == ':' || c == '/' || c.is_whitespace()) {
                Err(doc.error(v.span(), key, format!("{n:?} is not a user or group name")))
            } else {
                Ok(n.clone())
            }
        };
        let user = self
            .user
            .as_ref()
            .map(|u| name(u, "privileges.user"))
            .transpose()?;
        let group = self
            .group
            .as_ref()
            .map(|g| name(g, "privileges.group"))
            .transpose()?;
        if let (None, Some(g)) = (&user, &self.group) {
            return Err(doc.error(
                g.span(),
                "privileges.group",
                "a group needs a user: set privileges.user too",
            ));
        }
        Ok(PrivilegesSection { user, group })
    }
}
