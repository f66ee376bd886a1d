//! The names a DNS response leads through, in order: the question's name, then each alias the
//! answer section follows from it: a CNAME target, a DNAME's rewrite of the name (RFC 6672),
//! and the TargetName of an SVCB/HTTPS record (RFC 9460; AliasMode, or a ServiceMode record
//! whose target is another name). A resolver returns the whole chain in one response, so the
//! chain is what the client's name really resolved through: `cdn.example-assets.com CNAME
//! x.pkg-validate.net` shows the IOC name behind a benign one (CNAME cloaking).
//!
//! Names are lowercase, without a trailing dot. The walk is bounded ([`MAX_CHAIN`] names) and
//! stops at a loop.

use super::rdata::{rtype, Rdata};
use super::{Answer, DnsMessage};

/// Names in a chain at most (the question's name included). Resolvers give up on chains of
/// about a dozen aliases (BIND's `max-recursion-depth` counts 7 by default; Unbound follows at
/// most 11 CNAMEs).
pub(crate) const MAX_CHAIN: usize = 16;

/// Lowercase, no trailing dot.
fn normal(name: &str) -> String {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.to_ascii_lowercase()
}

/// Whether `name` is `owner` or below it, on a label boundary.
fn below<'n>(name: &'n str, owner: &str) -> Option<&'n str> {
    if owner.is_empty() {
        return Some(name);
    }
    let prefix = name.strip_suffix(owner)?;
    if prefix.is_empty() {
        Some(prefix)
    } else {
        prefix.strip_suffix('.')
    }
}

/// The next name after `current` that `record` leads to, if it is an alias of it.
fn next_name(record: &Answer, current: &str) -> Option<String> {
    let owner = normal(&record.name);
    match (&record.rdata, record.rtype) {
        (Rdata::Name(target), rtype::CNAME) if owner == current => Some(normal(target)),
        (Rdata::Dname(target), _) => dname_rewrite(current, &owner, &normal(target)),
        (Rdata::Svcb(svcb), rtype::SVCB | rtype::HTTPS) if owner == current => {
            let target = normal(&svcb.target);
            // "." (empty here) is the owner itself: no new name.
            (!target.is_empty()).then_some(target)
        }
        _ => None,
    }
}

/// `current` under a DNAME from `owner` to `target`: the labels below `owner` put in front of
/// `target`. The owner itself is not rewritten (RFC 6672 section 2.3).
fn dname_rewrite(current: &str, owner: &str, target: &str) -> Option<String> {
    let prefix = below(current, owner)?;
    if prefix.is_empty() {
        return None;
    }
    Some(if target.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}.{target}")
    })
}

impl DnsMessage {
    /// Whether the answer section holds a record that may alias a name (CNAME, DNAME, SVCB,
    /// HTTPS): without one, [`answer_chain`](Self::answer_chain) is the question's name alone.
    pub fn has_aliases(&self) -> bool {
        self.answers.iter().any(|a| {
            matches!(
                a.rtype,
                rtype::CNAME | rtype::DNAME | rtype::SVCB | rtype::HTTPS
            )
        })
    }

    /// The chain of names a response resolved through, from its first question's name (see the
    /// module doc). Empty for a query or a response without a question.
    pub fn answer_chain(&self) -> Vec<String> {
        let Some(first) = self.queries.first().filter(|_| self.is_response) else {
            return Vec::new();
        };
        let mut chain = vec![normal(&first.name)];
        while chain.len() < MAX_CHAIN {
            let current = chain.last().map(String::as_str).unwrap_or_default();
            let next = self
                .answers
                .iter()
                .find_map(|record| next_name(record, current));
            match next {
                Some(name) if !chain.contains(&name) => chain.push(name),
                _ => break,
            }
        }
        chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::svcb::Svcb;
    use crate::dns::Question;

    fn record(name: &str, rtype: u16, rdata: Rdata) -> Answer {
        Answer {
            name: name.into(),
            rtype,
            rclass: 1,
            ttl: 60,
            rdata,
            name_truncated: false,
            rdata_truncated: false,
        }
    }

    fn response(qname: &str, answers: Vec<Answer>) -> DnsMessage {
        DnsMessage {
            id: 1,
            flags: 0x8180,
            is_response: true,
            opcode: 0,
            rcode: 0,
            queries: vec![Question {
                name: qname.into(),
                rtype: 1,
                rclass: 1,
                name_truncated: false,
            }],
            answers,
            authorities: Vec::new(),
            additionals: Vec::new(),
            bad_records: 0,
            dropped_queries: 0,
            dropped_records: 0,
            damaged: None,
        }
    }

    fn cname(owner: &str, target: &str) -> Answer {
        record(owner, rtype::CNAME, Rdata::Name(target.into()))
    }

    fn a(owner: &str) -> Answer {
        record(owner, 1, Rdata::A("203.0.113.20".parse().unwrap()))
    }

    #[test]
    fn a_cname_chain_in_order_lowercase_whatever_the_record_order() {
        let msg = response(
            "CDN.Example-Assets.com",
            vec![
                a("edge.pkg-validate.net"),
                cname("x.pkg-validate.net.", "Edge.Pkg-Validate.NET."),
                cname("cdn.example-assets.com", "x.pkg-validate.net"),
            ],
        );
        assert_eq!(
            msg.answer_chain(),
            [
                "cdn.example-assets.com",
                "x.pkg-validate.net",
                "edge.pkg-validate.net"
            ]
        );
    }

    #[test]
    fn a_plain_answer_is_the_question_alone_and_a_query_has_none() {
        assert_eq!(
            response("a.example", vec![a("a.example")]).answer_chain(),
            ["a.example"]
        );
        let mut query = response("a.example", Vec::new());
        query.is_response = false;
        assert!(query.answer_chain().is_empty());
    }

    #[test]
    fn unrelated_records_are_not_followed_and_loops_stop() {
        let msg = response(
            "a.example",
            vec![
                cname("other.example", "pkg-validate.net"),
                cname("a.example", "b.example"),
                cname("b.example", "a.example"),
            ],
        );
        assert_eq!(msg.answer_chain(), ["a.example", "b.example"]);
    }

    #[test]
    fn dname_rewrites_the_labels_below_its_owner() {
        let msg = response(
            "www.assets.example",
            vec![
                record(
                    "assets.example",
                    rtype::DNAME,
                    Rdata::Dname("pkg-validate.net".into()),
                ),
                cname("www.assets.example", "www.pkg-validate.net"),
            ],
        );
        // The CNAME a resolver synthesises is found first; the DNAME gives the same name.
        assert_eq!(
            msg.answer_chain(),
            ["www.assets.example", "www.pkg-validate.net"]
        );
        let msg = response(
            "www.assets.example",
            vec![record(
                "assets.example",
                rtype::DNAME,
                Rdata::Dname("pkg-validate.net.".into()),
            )],
        );
        assert_eq!(
            msg.answer_chain(),
            ["www.assets.example", "www.pkg-validate.net"]
        );
        // The owner itself is not aliased by its DNAME.
        let msg = response(
            "assets.example",
            vec![record(
                "assets.example",
                rtype::DNAME,
                Rdata::Dname("pkg-validate.net".into()),
            )],
        );
        assert_eq!(msg.answer_chain(), ["assets.example"]);
    }

    #[test]
    fn https_target_names_are_followed() {
        let svcb = |target: &str| {
            Rdata::Svcb(Box::new(Svcb {
                priority: 0,
                target: target.into(),
                alpn: Vec::new(),
                port: None,
                ipv4hint: Vec::new(),
                ipv6hint: Vec::new(),
                ech: Vec::new(),
            }))
        };
        let msg = response(
            "shop.example",
            vec![record(
                "shop.example",
                rtype::HTTPS,
                svcb("c2.pkg-validate.net."),
            )],
        );
        assert_eq!(msg.answer_chain(), ["shop.example", "c2.pkg-validate.net"]);
        let msg = response(
            "shop.example",
            vec![record("shop.example", rtype::HTTPS, svcb("."))],
        );
        assert_eq!(msg.answer_chain(), ["shop.example"]);
    }

    #[test]
    fn a_long_chain_stops_at_the_bound() {
        let answers = (0..40)
            .map(|i| cname(&format!("n{i}.example"), &format!("n{}.example", i + 1)))
            .collect();
        assert_eq!(
            response("n0.example", answers).answer_chain().len(),
            MAX_CHAIN
        );
    }

    /// A response on the wire: `www.assets.example` A, answered by a DNAME of `assets.example`
    /// to `rdata` (record data bytes) and nothing else.
    fn dname_response(rdata: &[u8]) -> Vec<u8> {
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x03www\x06assets\x07example\x00\x00\x01\x00\x01");
        // Owner: "assets.example" by a pointer into the question (offset 16).
        m.extend_from_slice(&[0xc0, 16, 0, 39, 0, 1, 0, 0, 0, 60]);
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(rdata);
        m
    }

    #[test]
    fn dname_on_the_wire_is_followed_and_malformed_data_costs_only_the_record() {
        let msg =
            crate::dns::parse_message(&dname_response(b"\x0cpkg-validate\x03net\x00")).unwrap();
        assert_eq!(
            msg.answer_chain(),
            ["www.assets.example", "www.pkg-validate.net"]
        );
        for bad in [&b"\x05ab"[..], b"\x40aaaa", b"", b"\x01a\x00junk"] {
            let msg = crate::dns::parse_message(&dname_response(bad)).unwrap();
            assert_eq!(msg.answer_chain(), ["www.assets.example"], "{bad:?}");
        }
    }
}
