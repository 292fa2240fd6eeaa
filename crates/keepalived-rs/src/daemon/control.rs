//! The control socket (`/run/keepalived-rs/control.sock`, mode 0600: root only) and the
//! optional metrics listener (`--metrics-listen ADDR:PORT`). Both speak just enough HTTP/1.0
//! for `curl --unix-socket` and Prometheus: one request per connection, a bounded request
//! size and time, then the answer and close.
//!
//! Paths: `GET /status` (JSON: keepalived's dump keys per instance, plus ours),
//! `GET /metrics` (Prometheus text), `GET /stats` (keepalived.stats text), `GET
//! /keepalived.json` (keepalived.json), `POST /reload` (as SIGHUP), `POST /drain` and `POST
//! /resume` (withdraw / re-announce the `bgp_announce` addresses).

use super::status::{read_when_free, Shared};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

pub const DEFAULT_SOCKET: &str = "/run/keepalived-rs/control.sock";

/// The socket of the daemon of this network namespace: [`DEFAULT_SOCKET`] in the host's,
/// `control-net<inode>.sock` in another (so daemons in several namespaces, and `ctl` run with
/// `ip netns exec`, each find their own).
pub fn default_socket() -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let ino = |p: &Path| std::fs::metadata(p).ok().map(|m| m.ino());
    let Some(mine) = ino(Path::new("/proc/self/ns/net")) else {
        return PathBuf::from(DEFAULT_SOCKET);
    };
    // A named namespace (`ip netns`) is recognised by its mount under /run/netns; otherwise
    // compare with init's, where /proc/1 can be read (not in every sandbox).
    let named = std::fs::read_dir("/run/netns")
        .map(|d| d.flatten().any(|e| ino(&e.path()) == Some(mine)))
        .unwrap_or(false);
    let other_than_init = ino(Path::new("/proc/1/ns/net")).is_some_and(|init| init != mine);
    if named || other_than_init {
        PathBuf::from(format!("/run/keepalived-rs/control-net{mine}.sock"))
    } else {
        PathBuf::from(DEFAULT_SOCKET)
    }
}
/// A request larger than this, or slower than [`REQUEST_TIME`], is dropped.
const MAX_REQUEST: usize = 8192;
const REQUEST_TIME: Duration = Duration::from_secs(5);

/// What a request may ask the daemon to do.
#[derive(Debug, Clone, Copy)]
pub enum Request {
    Reload,
    /// `ctl drain` (true) / `ctl resume` (false).
    Drain(bool),
}

/// Serves the control socket until the task is dropped. The old socket file (from a crash)
/// is replaced; the new one is made 0600 before anyone can connect (umask).
pub fn serve_socket(
    path: PathBuf,
    status: Shared,
    requests: mpsc::UnboundedSender<Request>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(&path);
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = tokio::net::UnixListener::bind(&path);
    nix::sys::stat::umask(old);
    let listener = bound?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (status, requests) = (status.clone(), requests.clone());
            tokio::spawn(async move {
                let _ = tokio::time::timeout(REQUEST_TIME, answer(stream, &status, Some(&requests))).await;
            });
        }
    }))
}

/// Serves `GET /metrics` on a TCP address (nothing listens unless asked).
pub async fn serve_metrics(
    addr: std::net::SocketAddr,
    status: Shared,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let status = status.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(REQUEST_TIME, answer(stream, &status, None)).await;
            });
        }
    }))
}

/// Reads one request and writes the answer. `control`: None on the metrics listener, which
/// only serves `/metrics`.
async fn answer<S>(
    mut stream: S,
    status: &Shared,
    control: Option<&mpsc::UnboundedSender<Request>>,
) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_REQUEST {
            return respond(&mut stream, 413, "text/plain", "request too large\n").await;
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let mut words = text.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    match (method, path, control) {
        ("GET", "/metrics", _) => {
            let (mut body, on_nftables) = read_when_free(status, |s| {
                (
                    super::metrics::render(s),
                    s.dataplane.as_ref().is_some_and(|d| d.backend == "nftables"),
                )
            })
            .await
            .unwrap_or_default();
            if on_nftables {
                body.push_str(&node_ipvs_from_nftables().await);
            }
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
            )
            .await
        }
        ("GET", "/status", Some(_)) => {
            let body = read_when_free(status, |s| serde_json::to_string_pretty(s).ok())
                .await
                .flatten()
                .unwrap_or_else(|| "{}".into());
            respond(&mut stream, 200, "application/json", &(body + "\n")).await
        }
        ("GET", "/stats", Some(_)) => {
            let body = read_when_free(status, super::dumps::stats_text)
                .await
                .unwrap_or_default();
            respond(&mut stream, 200, "text/plain", &body).await
        }
        ("GET", "/keepalived.json", Some(_)) => {
            let body = read_when_free(status, super::dumps::json_text)
                .await
                .unwrap_or_default();
            respond(&mut stream, 200, "application/json", &(body + "\n")).await
        }
        ("POST", "/reload", Some(requests)) => {
            let _ = requests.send(Request::Reload);
            respond(&mut stream, 202, "text/plain", "reloading\n").await
        }
        ("POST", "/drain", Some(requests)) => {
            let _ = requests.send(Request::Drain(true));
            respond(
                &mut stream,
                202,
                "text/plain",
                "draining: bgp_announce addresses withdrawn\n",
            )
            .await
        }
        ("POST", "/resume", Some(requests)) => {
            let _ = requests.send(Request::Drain(false));
            respond(
                &mut stream,
                202,
                "text/plain",
                "resumed: bgp_announce addresses announced when fit\n",
            )
            .await
        }
        _ => {
            respond(
                &mut stream,
                404,
                "text/plain",
                "not found: GET /status, /metrics, /stats, /keepalived.json; POST /reload, /drain, /resume\n",
            )
            .await
        }
    }
}

/// node_exporter-shaped `node_ipvs_*` series read from our nftables table at scrape time
/// (the conntrack dump is not worth keeping up to date between scrapes). Empty when the
/// table cannot be read: the rest of the metrics still go out.
async fn node_ipvs_from_nftables() -> String {
    let read = tokio::task::spawn_blocking(|| {
        ka_net::listing::nft_table(ka_nft::render::DEFAULT_TABLE, String::new(), false)
    })
    .await;
    match read {
        Ok(Ok(table)) => super::metrics::render_node_ipvs(&table.services),
        Ok(Err(e)) => {
            crate::debug!("node_ipvs metrics: cannot read the nftables table: {e}");
            String::new()
        }
        Err(_) => String::new(),
    }
}

async fn respond<S: tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    code: u16,
    kind: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        202 => "Accepted",
        404 => "Not Found",
        413 => "Payload Too Large",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.0 {code} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// The client side, for `keepalived-rs ctl`: one request over the socket, the body back.
pub fn request(socket: &Path, method: &str, path: &str) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| format!("{}: {e} (is keepalived-rs running?)", socket.display()))?;
    s.set_read_timeout(Some(REQUEST_TIME))
        .map_err(|e| e.to_string())?;
    s.write_all(format!("{method} {path} HTTP/1.0\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, body.to_string()))
}
