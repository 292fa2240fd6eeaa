//! keepalived's genhash (check_genhash.c): fetch one url as HTTP_GET/SSL_GET would and print
//! the MD5 digest of its body, the value for a url's `digest`. The status code is not
//! checked. The output is keepalived's, byte for byte, including the `-v` dump.

use crate::http::{self, Expect, FetchError};
use crate::{Endpoint, ProbeContext};
use ka_config::lvs::checker::HttpProtocol;
use std::net::SocketAddr;
use std::time::Duration;

/// keepalived's default: `connection_to = UINT_MAX` µs (about 71 minutes).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_micros(u32::MAX as u64);

#[derive(Clone, Debug)]
pub struct Request {
    pub server: SocketAddr,
    pub path: String,
    /// `-S`.
    pub tls: bool,
    /// `-I`: send the virtual host as SNI.
    pub sni: bool,
    /// `-V`: the Host header (and SNI with `-I`).
    pub virtualhost: Option<String>,
    pub protocol: HttpProtocol,
    pub timeout: Duration,
    /// `-m`: SO_MARK.
    pub fwmark: u32,
    /// `-v`.
    pub verbose: bool,
}

/// How the fetch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The body's MD5, lower-case hex.
    Digest(String),
    /// The headers never ended.
    NoData,
    /// keepalived's reason (`Timeout connecting`, `Connection failed`, ...).
    Failed(String),
}

#[derive(Clone, Debug)]
pub struct Output {
    pub answer: Answer,
    /// What genhash prints on stdout (dump, digest or reason, response time).
    pub stdout: Vec<u8>,
    /// What it prints on stderr.
    pub stderr: Vec<u8>,
}

pub async fn run(ctx: &ProbeContext, req: &Request) -> Output {
    let started = std::time::Instant::now();
    let mut ep = Endpoint::to(req.server, req.timeout);
    ep.fwmark = req.fwmark;
    let host = http::host_header(req.virtualhost.as_deref(), req.server);
    let request = http::request(&req.path, req.protocol, &host);
    let tls = req.tls.then(|| {
        let sni = if req.sni { req.virtualhost.as_deref() } else { None };
        (
            std::sync::Arc::clone(&ctx.tls),
            crate::tls::server_name(sni, req.server.ip()),
        )
    });
    let expect = Expect {
        digest: true,
        regex: None,
    };
    let mut dump = Vec::new();
    let fetched = http::fetch(&ep, &request, tls, &expect, req.verbose.then_some(&mut dump)).await;
    let mut stdout = if req.verbose { dump } else { Vec::new() };
    let mut stderr = Vec::new();
    let answer = match fetched {
        Ok(r) if !r.has_header => {
            stderr.extend_from_slice(b"no data received from remote webserver\n");
            Answer::NoData
        }
        Ok(r) => {
            let hex = http::hex(&r.digest);
            stdout.extend_from_slice(hex.as_bytes());
            stdout.push(b'\n');
            Answer::Digest(hex)
        }
        Err(e) => {
            let reason = match e {
                FetchError::Failed(reason) => reason.to_string(),
                // keepalived logs these through its logger and prints nothing.
                FetchError::Socket => "WEB connection fail to create socket.".to_string(),
                FetchError::Local => "WEB socket bind failed.".to_string(),
            };
            if matches!(e, FetchError::Failed(_)) {
                stdout.extend_from_slice(reason.as_bytes());
                stdout.push(b'\n');
            } else {
                stderr.extend_from_slice(reason.as_bytes());
                stderr.push(b'\n');
            }
            Answer::Failed(reason)
        }
    };
    if req.verbose {
        stdout.extend_from_slice(
            format!(
                "\nGlobal response time for [{}] = {} usecs\n",
                req.path,
                started.elapsed().as_micros()
            )
            .as_bytes(),
        );
    }
    Output {
        answer,
        stdout,
        stderr,
    }
}
