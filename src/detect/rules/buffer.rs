//! The buffers rules inspect, the transactions that carry them, and a transaction's view as
//! the engine hands it over: borrowed bytes, nothing copied unless a buffer must be normalised.

use std::net::IpAddr;

/// A buffer a rule's contents may inspect (Suricata's sticky buffers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Buffer {
    /// Each query name of a DNS request (no trailing dot, case as sent).
    DnsQuery,
    /// The TLS ClientHello's server name (case as sent).
    TlsSni,
    /// The QUIC ClientHello's server name.
    QuicSni,
    /// JA3 hash of a TLS or QUIC ClientHello.
    Ja3Hash,
    /// JA4 of a TLS or QUIC ClientHello.
    Ja4Hash,
    HttpMethod,
    /// The request target, normalised (path and query, `%XX` decoded, dot segments removed).
    HttpUri,
    /// The request target as sent.
    HttpUriRaw,
    /// The host name, lowercase, without port.
    HttpHost,
    /// The Host header as sent.
    HttpHostRaw,
    HttpUserAgent,
}

impl Buffer {
    pub(crate) const COUNT: usize = 11;

    pub(crate) const ALL: [Buffer; Buffer::COUNT] = [
        Buffer::DnsQuery,
        Buffer::TlsSni,
        Buffer::QuicSni,
        Buffer::Ja3Hash,
        Buffer::Ja4Hash,
        Buffer::HttpMethod,
        Buffer::HttpUri,
        Buffer::HttpUriRaw,
        Buffer::HttpHost,
        Buffer::HttpHostRaw,
        Buffer::HttpUserAgent,
    ];

    /// The buffer a sticky-buffer keyword selects.
    pub(crate) fn sticky(keyword: &str) -> Option<Buffer> {
        Some(match keyword {
            "dns.query" | "dns_query" => Buffer::DnsQuery,
            "tls.sni" | "tls_sni" => Buffer::TlsSni,
            "quic.sni" => Buffer::QuicSni,
            "ja3.hash" | "ja3_hash" => Buffer::Ja3Hash,
            "ja4.hash" => Buffer::Ja4Hash,
            "http.method" => Buffer::HttpMethod,
            "http.uri" => Buffer::HttpUri,
            "http.uri.raw" => Buffer::HttpUriRaw,
            "http.host" => Buffer::HttpHost,
            "http.host.raw" => Buffer::HttpHostRaw,
            "http.user_agent" => Buffer::HttpUserAgent,
            _ => return None,
        })
    }

    /// The buffer a legacy content modifier (`content:"x"; http_uri;`) moves its content to.
    pub(crate) fn legacy_modifier(keyword: &str) -> Option<Buffer> {
        Some(match keyword {
            "http_method" => Buffer::HttpMethod,
            "http_uri" => Buffer::HttpUri,
            "http_raw_uri" => Buffer::HttpUriRaw,
            "http_host" => Buffer::HttpHost,
            "http_raw_host" => Buffer::HttpHostRaw,
            "http_user_agent" => Buffer::HttpUserAgent,
            _ => return None,
        })
    }

    /// The keyword that names the buffer in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Buffer::DnsQuery => "dns.query",
            Buffer::TlsSni => "tls.sni",
            Buffer::QuicSni => "quic.sni",
            Buffer::Ja3Hash => "ja3.hash",
            Buffer::Ja4Hash => "ja4.hash",
            Buffer::HttpMethod => "http.method",
            Buffer::HttpUri => "http.uri",
            Buffer::HttpUriRaw => "http.uri.raw",
            Buffer::HttpHost => "http.host",
            Buffer::HttpHostRaw => "http.host.raw",
            Buffer::HttpUserAgent => "http.user_agent",
        }
    }

    /// The transactions that carry the buffer.
    pub(crate) fn apps(self) -> AppSet {
        match self {
            Buffer::DnsQuery => AppSet::DNS,
            Buffer::TlsSni => AppSet::TLS,
            Buffer::QuicSni => AppSet::QUIC,
            Buffer::Ja3Hash | Buffer::Ja4Hash => AppSet(AppSet::TLS.0 | AppSet::QUIC.0),
            _ => AppSet::HTTP,
        }
    }
}

/// The transactions rules inspect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum App {
    /// A DNS request (UDP or TCP).
    Dns,
    /// A TLS ClientHello.
    Tls,
    /// A QUIC ClientHello.
    Quic,
    /// An HTTP request (HTTP/1, or HTTP/2 in clear).
    Http,
}

impl App {
    pub(crate) const ALL: [App; 4] = [App::Dns, App::Tls, App::Quic, App::Http];

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of [`App`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct AppSet(pub(crate) u8);

impl AppSet {
    pub(crate) const DNS: AppSet = AppSet(1 << App::Dns as u8);
    pub(crate) const TLS: AppSet = AppSet(1 << App::Tls as u8);
    pub(crate) const QUIC: AppSet = AppSet(1 << App::Quic as u8);
    pub(crate) const HTTP: AppSet = AppSet(1 << App::Http as u8);
    pub(crate) const ALL: AppSet = AppSet(0b1111);

    pub(crate) fn contains(self, app: App) -> bool {
        self.0 & app.bit() != 0
    }

    pub(crate) fn and(self, other: AppSet) -> AppSet {
        AppSet(self.0 & other.0)
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The transport under a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Udp,
}

/// One transaction as rules see it.
#[derive(Clone, Debug)]
pub(crate) struct Tx<'a> {
    pub(crate) app: App,
    pub(crate) transport: Transport,
    pub(crate) client: (IpAddr, u16),
    pub(crate) server: (IpAddr, u16),
    /// TCP: the handshake completed; UDP: the server has answered on the flow.
    pub(crate) established: bool,
    single: [Option<&'a [u8]>; Buffer::COUNT],
    /// `dns.query`: one instance per query name.
    queries: Vec<&'a [u8]>,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(
        app: App,
        transport: Transport,
        client: (IpAddr, u16),
        server: (IpAddr, u16),
        established: bool,
    ) -> Self {
        Tx {
            app,
            transport,
            client,
            server,
            established,
            single: [None; Buffer::COUNT],
            queries: Vec::new(),
        }
    }

    /// Sets `buffer` (a DNS query name is added as one more instance).
    pub(crate) fn set(&mut self, buffer: Buffer, bytes: &'a [u8]) {
        match buffer {
            Buffer::DnsQuery => self.queries.push(bytes),
            other => self.single[other as usize] = Some(bytes),
        }
    }

    /// The instances of `buffer` (none: the buffer is absent).
    pub(crate) fn instances(&self, buffer: Buffer) -> &[&'a [u8]] {
        match buffer {
            Buffer::DnsQuery => &self.queries,
            other => match &self.single[other as usize] {
                Some(b) => std::slice::from_ref(b),
                None => &[],
            },
        }
    }
}
