//! The Redis output's URL: `redis://[[user]:password@]host[:port][/db]`, `rediss://` for TLS,
//! `unix:///path/to/redis.sock` (the forms redis-cli `-u` and the client libraries take; a Unix
//! socket URL carries no user, password or database: the socket file's permissions guard it). The
//! user and password are percent-decoded (`%40` for `@`); a URL is only ever shown without them
//! ([`RedisUrl`]'s `Display`, [`shown_url`]).

use super::super::socket::check_socket_path;
use std::fmt;
use std::path::PathBuf;

/// Redis' own port.
const DEFAULT_PORT: u16 = 6379;

/// Where the server is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Address {
    /// A host name or address and a port; `tls` for `rediss://`.
    Tcp { host: String, port: u16, tls: bool },
    /// A Unix stream socket.
    Unix(PathBuf),
}

/// A checked Redis URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RedisUrl {
    pub(crate) address: Address,
    /// The ACL user (Redis 6 and later); `None` is `AUTH password` alone (the `default` user).
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    /// The database `SELECT`ed after connecting (0 is Redis' default, not selected).
    pub(crate) db: u32,
}

impl fmt::Debug for RedisUrl {
    /// As `Display`: the password never reaches a log, not even a debug one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for RedisUrl {
    /// The URL without user and password: `rediss://cache.example:6380/2`, `unix:///run/r.sock`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.address {
            Address::Unix(path) => write!(f, "unix://{}", path.display())?,
            Address::Tcp { host, port, tls } => {
                let scheme = if *tls { "rediss" } else { "redis" };
                if host.contains(':') {
                    write!(f, "{scheme}://[{host}]:{port}")?;
                } else {
                    write!(f, "{scheme}://{host}:{port}")?;
                }
            }
        }
        if self.db != 0 {
            write!(f, "/{}", self.db)?;
        }
        Ok(())
    }
}

/// A usable Redis URL, or why not and what to write instead, with the URL shown without the
/// secrets it may hold. The one check of every Redis URL: command line, daemon file, and here.
pub(crate) fn check_redis_url(url: &str) -> Result<RedisUrl, String> {
    parse(url).map_err(|reason| {
        format!(
            "{:?} is not a usable Redis URL: {reason}; write redis://[user:password@]host[:port][/db], rediss://… for TLS, or unix:///path/to/redis.sock",
            shown_url(url)
        )
    })
}

fn parse(url: &str) -> Result<RedisUrl, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("it has no scheme".into());
    };
    if rest.contains(['?', '#']) {
        return Err("it has a query or fragment, which no setting here reads".into());
    }
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "redis" => false,
        "rediss" => true,
        "unix" => return unix(rest),
        other => return Err(format!("the scheme {other}:// is not supported")),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(info) => {
            let Some((user, password)) = info.split_once(':') else {
                return Err(
                    "it names a user without a password; write user:password@ or :password@".into(),
                );
            };
            let user = decode(user).ok_or("the user has a bad %-escape")?;
            let password = decode(password).ok_or("the password has a bad %-escape")?;
            if password.is_empty() {
                return Err("the password is empty".into());
            }
            ((!user.is_empty()).then_some(user), Some(password))
        }
    };
    let (host, port) = host_and_port(host_port)?;
    let db = match path.trim_start_matches('/') {
        "" => 0,
        n => n
            .parse::<u32>()
            .map_err(|_| format!("the path /{n} is not a database number"))?,
    };
    Ok(RedisUrl {
        address: Address::Tcp { host, port, tls },
        user,
        password,
        db,
    })
}

/// `unix:///path`: an absolute path that can be a socket address.
fn unix(rest: &str) -> Result<RedisUrl, String> {
    if !rest.starts_with('/') {
        return Err(
            "a unix:// URL takes an absolute path, e.g. unix:///run/redis/redis.sock".into(),
        );
    }
    let path = PathBuf::from(rest);
    check_socket_path(&path)?;
    Ok(RedisUrl {
        address: Address::Unix(path),
        user: None,
        password: None,
        db: 0,
    })
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn host_and_port(text: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(v6) = text.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or("the [IPv6 address] is not closed")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("junk after the [IPv6 address]")?),
        };
        (host, port)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err("it has no host".into());
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
    {
        return Err(format!("the host {host:?} has characters no host name has"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("the port {p:?} is not 1 to 65535")),
            Ok(p) => p,
        },
    };
    Ok((host.to_string(), port))
}

/// Percent-decoding; `None` on a bad escape or a result that is not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `url` for an error message, as written but without user and password, whether it parses or
/// not.
pub(crate) fn shown_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16, tls: bool) -> Address {
        Address::Tcp {
            host: host.into(),
            port,
            tls,
        }
    }

    #[test]
    fn urls_parse_as_redis_cli_reads_them() {
        let u = check_redis_url("redis://127.0.0.1").unwrap();
        assert_eq!(
            (u.address, u.user, u.password, u.db),
            (tcp("127.0.0.1", 6379, false), None, None, 0)
        );
        let u = check_redis_url("rediss://eids:p%40ss%3Aw@cache.example:6380/2").unwrap();
        assert_eq!(u.address, tcp("cache.example", 6380, true));
        assert_eq!(u.user.as_deref(), Some("eids"));
        assert_eq!(u.password.as_deref(), Some("p@ss:w"));
        assert_eq!(u.db, 2);
        assert_eq!(u.to_string(), "rediss://cache.example:6380/2");
        assert_eq!(format!("{u:?}"), "rediss://cache.example:6380/2");
        let u = check_redis_url("redis://:only@[::1]:7000/").unwrap();
        assert_eq!(u.address, tcp("::1", 7000, false));
        assert_eq!(
            (u.user.as_deref(), u.password.as_deref()),
            (None, Some("only"))
        );
        assert_eq!(u.to_string(), "redis://[::1]:7000");
        let u = check_redis_url("unix:///run/redis/redis.sock").unwrap();
        assert_eq!(u.address, Address::Unix("/run/redis/redis.sock".into()));
        assert_eq!(u.to_string(), "unix:///run/redis/redis.sock");
    }

    #[test]
    fn bad_urls_are_refused_without_showing_secrets() {
        for (bad, why) in [
            ("127.0.0.1:6379", "no scheme"),
            ("http://h", "scheme http://"),
            ("redis://", "no host"),
            ("redis://h:0", "not 1 to 65535"),
            ("redis://h:99999", "not 1 to 65535"),
            ("redis://h/x", "not a database number"),
            ("redis://h?db=1", "query"),
            ("redis://u@h", "without a password"),
            ("redis://u:@h", "password is empty"),
            ("redis://u:%zz@h", "bad %-escape"),
            ("redis://h h", "characters"),
            ("redis://[::1", "not closed"),
            ("unix://run/r.sock", "absolute path"),
        ] {
            let e = check_redis_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let e = check_redis_url("redis://eids:s3cret@h:0/1").unwrap_err();
        assert!(
            e.starts_with("\"redis://h:0/1\" is not a usable Redis URL"),
            "{e}"
        );
        assert!(!e.contains("s3cret") && !e.contains("eids"), "{e}");
        let long = format!("unix:///{}", "x".repeat(200));
        assert!(check_redis_url(&long)
            .unwrap_err()
            .contains("at most 107 bytes"));
    }
}
