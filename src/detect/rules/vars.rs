//! Rule variables: `$HOME_NET` (from `--home-net`), `$EXTERNAL_NET` (`!$HOME_NET`), Suricata's
//! default address and port groups, and those given with `--rule-var NAME=VALUE`.

use ipnet::IpNet;
use std::collections::HashMap;

/// Suricata's default address groups (suricata.yaml), beside HOME_NET and EXTERNAL_NET.
const ADDRESS_GROUPS: [(&str, &str); 13] = [
    ("EXTERNAL_NET", "!$HOME_NET"),
    ("HTTP_SERVERS", "$HOME_NET"),
    ("SMTP_SERVERS", "$HOME_NET"),
    ("SQL_SERVERS", "$HOME_NET"),
    ("DNS_SERVERS", "$HOME_NET"),
    ("TELNET_SERVERS", "$HOME_NET"),
    ("AIM_SERVERS", "$EXTERNAL_NET"),
    ("DC_SERVERS", "$HOME_NET"),
    ("DNP3_SERVER", "$HOME_NET"),
    ("DNP3_CLIENT", "$HOME_NET"),
    ("MODBUS_CLIENT", "$HOME_NET"),
    ("MODBUS_SERVER", "$HOME_NET"),
    ("ENIP_CLIENT", "$HOME_NET"),
];

/// Suricata's default port groups (suricata.yaml).
const PORT_GROUPS: [(&str, &str); 12] = [
    ("HTTP_PORTS", "80"),
    ("SHELLCODE_PORTS", "!80"),
    ("ORACLE_PORTS", "1521"),
    ("SSH_PORTS", "22"),
    ("DNP3_PORTS", "20000"),
    ("MODBUS_PORTS", "502"),
    ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
    ("FTP_PORTS", "21"),
    ("GENEVE_PORTS", "6081"),
    ("VXLAN_PORTS", "4789"),
    ("TEREDO_PORTS", "3544"),
    ("SIP_PORTS", "[5060,5061]"),
];

/// The variables rules are read with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleVars {
    addresses: HashMap<String, String>,
    ports: HashMap<String, String>,
}

impl RuleVars {
    /// Suricata's defaults with `home_net` as HOME_NET.
    pub fn new(home_net: &[IpNet]) -> Self {
        let home: Vec<String> = home_net.iter().map(ToString::to_string).collect();
        let mut addresses: HashMap<String, String> = ADDRESS_GROUPS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        addresses.insert("HOME_NET".into(), format!("[{}]", home.join(",")));
        addresses.insert("ENIP_SERVER".into(), "$HOME_NET".into());
        let ports = PORT_GROUPS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RuleVars { addresses, ports }
    }

    /// Sets `NAME=VALUE` (`--rule-var`): a port group when the name ends in `_PORTS` or
    /// names one already, an address group otherwise.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (name, value) = assignment
            .split_once('=')
            .map(|(n, v)| (n.trim().trim_start_matches('$'), v.trim()))
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
            .ok_or_else(|| format!("--rule-var {assignment:?}: write NAME=VALUE"))?;
        if name.ends_with("_PORTS") || self.ports.contains_key(name) {
            self.ports.insert(name.into(), value.into());
        } else {
            self.addresses.insert(name.into(), value.into());
        }
        Ok(())
    }

    pub(crate) fn address(&self, name: &str) -> Option<&str> {
        self.addresses.get(name).map(String::as_str)
    }

    pub(crate) fn port(&self, name: &str) -> Option<&str> {
        self.ports.get(name).map(String::as_str)
    }
}
