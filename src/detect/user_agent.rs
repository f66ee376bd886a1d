//! Recognises Node.js-family HTTP clients by their User-Agent: node-fetch, axios, undici, got and
//! Node itself (Node's built-in fetch sends `node`; npm sends `npm/... node/v20...`). Tokens are
//! found with one Aho-Corasick pass and must stand on word boundaries (`got` never matches
//! `gotham`).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Node.js-family User-Agent tokens.
pub(crate) const NODE_UA_TOKENS: [&str; 5] = ["node-fetch", "axios", "undici", "got", "node"];

/// Matcher for [`NODE_UA_TOKENS`].
#[derive(Debug, Clone)]
pub(crate) struct NodeUserAgents {
    matcher: AhoCorasick,
}

impl Default for NodeUserAgents {
    fn default() -> Self {
        let matcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(NODE_UA_TOKENS)
            .expect("static patterns build");
        NodeUserAgents { matcher }
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

impl NodeUserAgents {
    /// The Node.js-family token `ua` carries, if any.
    pub(crate) fn family(&self, ua: &str) -> Option<&'static str> {
        let bytes = ua.as_bytes();
        self.matcher.find_iter(ua).find_map(|m| {
            let before_ok = m.start() == 0 || !is_word_byte(bytes[m.start() - 1]);
            let after_ok = m.end() == bytes.len() || !is_word_byte(bytes[m.end()]);
            (before_ok && after_ok).then(|| NODE_UA_TOKENS[m.pattern().as_usize()])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_family_user_agents() {
        let m = NodeUserAgents::default();
        assert_eq!(
            m.family("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)"),
            Some("node-fetch")
        );
        assert_eq!(m.family("axios/1.7.9"), Some("axios"));
        assert_eq!(m.family("node"), Some("node"));
        assert_eq!(m.family("undici"), Some("undici"));
        assert_eq!(
            m.family("got (https://github.com/sindresorhus/got)"),
            Some("got")
        );
        assert_eq!(
            m.family("npm/11.1.0 node/v20.20.2 linux x64 workspaces/false"),
            Some("node")
        );
        assert_eq!(m.family("curl/7.88.1"), None);
        assert_eq!(m.family("Gotham/1.0 nodejsx"), None);
        assert_eq!(m.family(""), None);
    }
}
