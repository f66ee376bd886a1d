//! One connection to the Redis server: TCP, TLS over TCP (rustls, the roots of a CA file or the
//! web PKI) or a Unix socket, opened with its handshake (`AUTH`, `SELECT`, then `PING`, whose
//! answer says the server is ready: a server still loading its append-only file answers
//! `LOADING`, and the connection is tried again later).

use super::resp::{self, Replies, Reply};
use super::url::{Address, RedisUrl};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Longest wait for a TCP connection to be accepted.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The TLS settings of a `rediss://` URL, built once when the output is opened.
pub(crate) fn tls_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("the CA file {} is not PEM: {e}", path.display()))?;
            let (added, _ignored) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "the CA file {} holds no usable certificate; give the PEM file of the CA that signed the server's certificate",
                    path.display()
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The byte stream under RESP.
pub(crate) enum Stream {
    Tcp(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    Unix(UnixStream),
}

impl Stream {
    /// Connects to the server of `url` (TLS not yet negotiated: that happens on the first
    /// write). The connection attempt and every read and write are bounded by `io_timeout`
    /// (at least a millisecond: zero is "no timeout" to the kernel).
    pub(crate) fn open(
        url: &RedisUrl,
        tls: Option<&Arc<ClientConfig>>,
        io_timeout: Duration,
    ) -> io::Result<Stream> {
        let io_timeout = io_timeout.max(Duration::from_millis(1));
        let stream = match &url.address {
            Address::Unix(path) => {
                let s = UnixStream::connect(path)?;
                s.set_read_timeout(Some(io_timeout))?;
                s.set_write_timeout(Some(io_timeout))?;
                return Ok(Stream::Unix(s));
            }
            Address::Tcp { host, port, tls } => (tcp(host, *port, io_timeout)?, *tls, host),
        };
        let (tcp, wants_tls, host) = stream;
        if !wants_tls {
            return Ok(Stream::Tcp(tcp));
        }
        let config = tls.ok_or_else(|| io::Error::other("no TLS settings for a rediss:// URL"))?;
        let name = ServerName::try_from(host.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
        Ok(Stream::Tls(Box::new(StreamOwned::new(conn, tcp))))
    }

    /// Bounds the next reads and writes by `timeout` (a millisecond at least: zero is "none").
    pub(crate) fn set_timeout(&self, timeout: Duration) -> io::Result<()> {
        let timeout = Some(timeout.max(Duration::from_millis(1)));
        match self {
            Stream::Tcp(s) => s
                .set_read_timeout(timeout)
                .and_then(|()| s.set_write_timeout(timeout)),
            Stream::Tls(s) => s
                .sock
                .set_read_timeout(timeout)
                .and_then(|()| s.sock.set_write_timeout(timeout)),
            Stream::Unix(s) => s
                .set_read_timeout(timeout)
                .and_then(|()| s.set_write_timeout(timeout)),
        }
    }
}

/// A TCP connection to the first address of `host` that accepts one.
fn tcp(host: &str, port: u16, io_timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"));
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(io_timeout)) {
            Ok(s) => {
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(io_timeout))?;
                s.set_write_timeout(Some(io_timeout))?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// Why a connection could not be used.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    Io(io::Error),
    /// The server answered the handshake with an error (wrong password, unknown database,
    /// still loading): the text for the report, without any secret.
    Refused(String),
}

/// Authenticates, selects the database and checks the server answers, in one round trip.
pub(crate) fn handshake(
    stream: &mut Stream,
    replies: &mut Replies,
    url: &RedisUrl,
) -> Result<(), HandshakeError> {
    let mut out = Vec::new();
    let mut steps = Vec::new();
    if let Some(password) = &url.password {
        match &url.user {
            Some(user) => resp::command(&mut out, &[b"AUTH", user.as_bytes(), password.as_bytes()]),
            None => resp::command(&mut out, &[b"AUTH", password.as_bytes()]),
        }
        steps.push("AUTH");
    }
    let db = itoa::Buffer::new().format(url.db).to_string();
    if url.db != 0 {
        resp::command(&mut out, &[b"SELECT", db.as_bytes()]);
        steps.push("SELECT");
    }
    resp::command(&mut out, &[b"PING"]);
    steps.push("PING");
    stream
        .write_all(&out)
        .and_then(|()| stream.flush())
        .map_err(HandshakeError::Io)?;
    let mut refused = None;
    for step in steps {
        match replies.next(stream).map_err(HandshakeError::Io)? {
            Reply::Done => {}
            // The first refusal is the cause (a failed AUTH makes PING answer NOAUTH).
            Reply::Error(e) if refused.is_none() => refused = Some(explain(step, &e, url)),
            Reply::Error(_) => {}
        }
    }
    refused.map_or(Ok(()), |r| Err(HandshakeError::Refused(r)))
}

/// The server's refusal of a handshake step, with what to do about it.
fn explain(step: &str, error: &str, url: &RedisUrl) -> String {
    let hint = match error.split(' ').next().unwrap_or_default() {
        "WRONGPASS" => "; check the user and password in the URL (redis://user:password@host)",
        "NOAUTH" if url.password.is_none() => {
            "; the server wants a password: put it in the URL (redis://user:password@host)"
        }
        "NOPERM" => "; the ACL user may not run this command or write this key",
        "LOADING" => "; the server is loading its data, retrying",
        _ if step == "SELECT" => "; check the database number in the URL",
        _ => "",
    };
    format!("{step} refused: {error}{hint}")
}

#[cfg(test)]
mod tests {
    use super::super::url::check_redis_url;
    use super::*;

    #[test]
    fn refusals_say_what_to_do_and_no_secret() {
        let url = check_redis_url("redis://eids:s3cret@127.0.0.1/3").unwrap();
        let e = explain(
            "AUTH",
            "WRONGPASS invalid username-password pair or user is disabled.",
            &url,
        );
        assert!(e.starts_with("AUTH refused: WRONGPASS"), "{e}");
        assert!(e.contains("check the user and password"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        let bare = check_redis_url("redis://127.0.0.1").unwrap();
        assert!(
            explain("PING", "NOAUTH Authentication required.", &bare).contains("put it in the URL")
        );
        assert!(explain("SELECT", "ERR DB index is out of range", &url).contains("database number"));
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = crate::testutil::scratch("redis-ca");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = tls_config(Some(&empty)).unwrap_err();
        assert!(e.contains("no usable certificate"), "{e}");
        let e = tls_config(Some(&dir.join("absent.pem"))).unwrap_err();
        assert!(e.contains("cannot read the CA file"), "{e}");
        assert!(tls_config(None).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
