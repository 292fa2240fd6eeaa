//! The health-check probes, at the I/O edge: one call runs one probe of one checker the way
//! keepalived 2.2.7 runs it and reports a [`ka_check::Outcome`] for the pure engine
//! ([`ka_check::Engine::probe_done`]).
//!
//! * Every probe ends: each phase (connect, TLS handshake, write, each read) is bounded by the
//!   checker's `connect_timeout` as in keepalived (DNS_CHECK: one deadline for the whole
//!   request; MISC_CHECK: `misc_timeout`, else the virtual server's `delay_loop`).
//! * Network data is never trusted: no panics, no unwraps, bounded buffers.
//! * Failure messages are keepalived's words, in the form the engine expects per type (see
//!   [`ka_check::policy::Outcome`]): TCP/UDP/PING the whole log line, HTTP the reason,
//!   DNS/SMTP the text after their prefix. Local errors (socket, bind) are `LocalError`: the
//!   engine does not count them and tries again after `delay_loop` ("Rescheduling").
//!
//! Deliberate differences from keepalived:
//! * stream sockets do not get `SO_LINGER {on, 5 s}`: with it, `close()` blocks until the
//!   peer acknowledges our FIN (up to 5 s for a peer that vanished), which would stall every
//!   other checker sharing the runtime;
//! * TLS is rustls (TLS 1.2 and 1.3 only; keepalived's OpenSSL also speaks 1.0/1.1);
//! * `regex` uses Rust's regex engine (PCRE2 syntax beyond it, e.g. look-around or
//!   backreferences, is a local error); the body is matched whole after EOF, up to 1 MiB;
//! * a MISC_CHECK script that cannot be started is a local error (keepalived's child exits
//!   0, so the check passes);
//! * a response that never ends (HTTP data trickling in, an SMTP line without end) is cut:
//!   keepalived keeps reading as long as each read comes within connect_timeout; here an
//!   HTTP response must also arrive within 10 connect_timeouts and 64 MiB, an SMTP line
//!   within 10 connect_timeouts.

mod conn;
pub mod dns;
pub mod genhash;
pub mod http;
mod misc;
pub mod ping;
pub mod smtp;
mod tcp;
pub mod tls;
pub mod udp;

use ka_check::{CheckerPlan, Outcome, RsPlan, VsPlan};
use ka_config::lvs::checker::CheckerKind;
use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV6};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use tls::SslError;

/// What all probes share, built once: the TLS client configuration (keepalived's global
/// SSL_CTX) and the ICMP echo sequence counter that all PING_CHECKs share.
pub struct ProbeContext {
    tls: Arc<rustls::ClientConfig>,
    ping_sequence: AtomicU16,
    /// Compiled url regexes by (pattern, options): compiled once, not per probe.
    regexes: Mutex<HashMap<RegexKey, Result<regex::bytes::Regex, String>>>,
}

/// A url regex's pattern and `regex_options`.
type RegexKey = (String, Vec<String>);

/// More distinct regexes than any configuration has: the cache starts over (reloads may
/// leave old ones behind).
const REGEX_CACHE_MAX: usize = 4096;

impl ProbeContext {
    /// `ssl`: the configuration's `SSL { }` block. keepalived loads it only when an SSL_GET
    /// exists; pass `None` otherwise, so a broken block nobody uses does not stop the
    /// checkers. Errors carry keepalived's log lines ([`SslError::log_lines`]); keepalived's
    /// checker process exits on them.
    pub fn new(ssl: Option<&ka_config::lvs::ssl::Ssl>) -> Result<ProbeContext, SslError> {
        Ok(ProbeContext {
            tls: tls::client_config(ssl)?,
            ping_sequence: AtomicU16::new(0),
            regexes: Mutex::new(HashMap::new()),
        })
    }

    /// A url's regex, compiled (once).
    fn regex(&self, r: &ka_config::lvs::checker::UrlRegex) -> Result<regex::bytes::Regex, String> {
        let key = (r.pattern.clone(), r.regex_options.clone());
        let Ok(mut cache) = self.regexes.lock() else {
            return http::compile_regex(r);
        };
        if let Some(found) = cache.get(&key) {
            return found.clone();
        }
        let compiled = http::compile_regex(r);
        if cache.len() >= REGEX_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, compiled.clone());
        compiled
    }

    /// keepalived's global `seq_no`: the next ICMP echo sequence number.
    fn next_ping_sequence(&self) -> u16 {
        self.ping_sequence.fetch_add(1, Ordering::Relaxed)
    }
}

/// Whether a plan has an SSL_GET (keepalived's `ssl_required`): only then is the `SSL`
/// block loaded.
pub fn needs_tls(plan: &ka_check::CheckPlan) -> bool {
    plan.virtual_servers.iter().any(|vs| {
        vs.real_servers.iter().any(|rs| {
            rs.checkers
                .iter()
                .any(|c| matches!(c.kind(), CheckerKind::Ssl(_)))
        })
    })
}

/// Runs one probe of `checker` (of real server `rs` in virtual server `vs`). `url`: for
/// HTTP_GET/SSL_GET, the index of the url to fetch ([`ka_check::ProbeRequest::url`]).
///
/// FILE_CHECK and BFD_CHECK are event driven and have no probe: they report a local error.
pub async fn probe(
    ctx: &ProbeContext,
    checker: &CheckerPlan,
    rs: &RsPlan,
    vs: &VsPlan,
    url: usize,
) -> Outcome {
    match checker.kind() {
        CheckerKind::Tcp => tcp::probe(&Endpoint::of(checker, rs), rs).await,
        CheckerKind::Http(h) => http::probe(ctx, h, false, url, &Endpoint::of(checker, rs), rs, vs).await,
        CheckerKind::Ssl(h) => http::probe(ctx, h, true, url, &Endpoint::of(checker, rs), rs, vs).await,
        CheckerKind::Smtp(s) => smtp::probe(&s.helo_name, &Endpoint::of(checker, rs), rs).await,
        CheckerKind::Dns(d) => dns::probe(d, &Endpoint::of(checker, rs), rs).await,
        CheckerKind::Udp(u) => udp::probe(u, &Endpoint::of(checker, rs), rs).await,
        CheckerKind::Ping => ping::probe(ctx, &Endpoint::of(checker, rs), rs, vs).await,
        CheckerKind::Misc(m) => {
            let timeout = if m.misc_timeout_secs > 0 {
                Duration::from_secs(u64::from(m.misc_timeout_secs))
            } else {
                vs.delay_loop.to_std()
            };
            misc::probe(&m.misc_path, timeout).await
        }
        CheckerKind::File(_) | CheckerKind::Bfd(_) => Outcome::LocalError {
            message: format!("{} has no probe (event driven).", checker.kind().keyword()),
        },
    }
}

/// Where and how a checker connects (keepalived's `conn_opts_t`), resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `connect_ip`/`connect_port`, else the real server's address and port.
    pub dst: SocketAddr,
    /// `bindto` with `bind_port` (keepalived binds only when `bindto` is given).
    pub bind: Option<SocketAddr>,
    /// `bind_if`: SO_BINDTODEVICE, and the scope of an IPv6 link-local destination.
    pub bind_if: Option<String>,
    /// `fwmark`: SO_MARK when non-zero.
    pub fwmark: u32,
    /// `connect_timeout`, per phase.
    pub timeout: Duration,
}

impl Endpoint {
    pub fn of(checker: &CheckerPlan, rs: &RsPlan) -> Endpoint {
        let co = checker.config.common.conn.as_ref();
        let ip = co.and_then(|c| c.connect_ip).unwrap_or(rs.addr);
        let port = co.map(|c| c.connect_port).filter(|p| *p != 0).unwrap_or(rs.port);
        let bind_if = co.and_then(|c| c.bind_if.clone());
        let scope = bind_if.as_deref().map(interface_index).unwrap_or(0);
        Endpoint {
            dst: scoped(SocketAddr::new(ip, port), scope),
            bind: co
                .and_then(|c| c.bindto.map(|a| SocketAddr::new(a, c.bind_port)))
                .map(|a| scoped(a, scope)),
            bind_if,
            fwmark: co.map(|c| c.fwmark).unwrap_or(0),
            timeout: checker.connect_timeout.to_std(),
        }
    }

    /// A plain destination with a timeout (genhash, tests).
    pub fn to(dst: SocketAddr, timeout: Duration) -> Endpoint {
        Endpoint {
            dst,
            bind: None,
            bind_if: None,
            fwmark: 0,
            timeout,
        }
    }

    /// keepalived's `inet_sockaddrtopair`: `[ip]:port`.
    pub fn pair(&self) -> String {
        format!("[{}]:{}", self.dst.ip(), self.dst.port())
    }
}

/// An IPv6 link-local address needs the interface it is on.
fn scoped(addr: SocketAddr, scope: u32) -> SocketAddr {
    match addr {
        SocketAddr::V6(a) if scope != 0 && a.ip().is_unicast_link_local() => {
            SocketAddr::V6(SocketAddrV6::new(*a.ip(), a.port(), a.flowinfo(), scope))
        }
        other => other,
    }
}

fn interface_index(name: &str) -> u32 {
    nix::net::if_::if_nametoindex(name).unwrap_or(0)
}

/// `now + d`, saturating far in the future instead of overflowing.
fn deadline_after(d: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

/// libc's `strerror` text of an I/O error (keepalived's `%m`), without Rust's "(os error N)".
fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon runs probes on a multi-threaded runtime: the future must be Send.
    #[test]
    fn probe_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let config = ka_config::load_str(
            "virtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 192.0.2.2 80 {\n  TCP_CHECK {\n  }\n }\n}\n",
        )
        .config;
        let plan = ka_check::plan::build(&config);
        let vs = &plan.virtual_servers[0];
        let rs = &vs.real_servers[0];
        let ctx = ProbeContext::new(None).unwrap();
        let future = probe(&ctx, &rs.checkers[0], rs, vs, 0);
        assert_send(&future);
        assert!(!needs_tls(&plan));
        let ep = Endpoint::of(&rs.checkers[0], rs);
        assert_eq!(ep.dst, "192.0.2.2:80".parse().unwrap());
        assert_eq!(ep.timeout, Duration::from_secs(5));
        assert_eq!(ep.bind, None);
    }
}
