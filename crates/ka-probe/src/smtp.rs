//! SMTP_CHECK (keepalived's check_smtp.c): banner `220`, `HELO <name>`, `250`, `QUIT`, any
//! line. Each step waits up to connect_timeout. Messages name the checker's destination
//! (`[ip]:port`), not the real server.

use crate::conn::{tcp_connect, ConnectError};
use crate::Endpoint;
use ka_check::{Outcome, RsPlan};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// keepalived's SMTP_BUFF_MAX.
const BUFFER: usize = 512;
/// A line must arrive within this many connect_timeouts.
const LINE_PHASES: u32 = 10;

/// keepalived's `smtp_get_status`: the line must start with exactly three digits followed by
/// a space or its end; anything else (a `220-` continuation, `220\r`) is no status.
pub fn status(line: &[u8]) -> Option<u16> {
    let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits != 3 {
        return None;
    }
    match line.get(3) {
        None | Some(b' ') => {}
        Some(_) => return None,
    }
    Some(
        line[..3]
            .iter()
            .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0')),
    )
}

enum Step {
    Fail(String),
}

/// Reads until a newline; returns the line before it (the rest of that read is dropped, as
/// keepalived drops it).
async fn read_line(stream: &mut TcpStream, phase: Duration, who: &str) -> Result<Vec<u8>, Step> {
    let mut buf: Vec<u8> = Vec::with_capacity(BUFFER);
    let mut chunk = [0u8; BUFFER];
    // keepalived waits for a newline as long as bytes keep coming; a peer that never sends
    // one would hold the checker forever. Bounded here.
    let deadline = crate::deadline_after(phase.saturating_mul(LINE_PHASES));
    loop {
        let phase = phase.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        // keepalived wraps a full buffer by starting again.
        if buf.len() >= BUFFER - 1 {
            buf.clear();
        }
        let room = BUFFER - 1 - buf.len();
        let n = match tokio::time::timeout(phase, stream.read(&mut chunk[..room])).await {
            Err(_) => return Err(Step::Fail(format!("Read timeout from server {who}"))),
            Ok(Ok(0)) | Ok(Err(_)) => return Err(Step::Fail(format!("Read failure from server {who}"))),
            Ok(Ok(n)) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        // The buffer is a C string: a NUL hides what follows.
        let text = buf.split(|&b| b == 0).next().unwrap_or(&[]);
        if let Some(nl) = text.iter().position(|&b| b == b'\n') {
            buf.truncate(nl);
            return Ok(buf);
        }
    }
}

async fn write_line(stream: &mut TcpStream, line: &[u8], phase: Duration, who: &str) -> Result<(), Step> {
    match tokio::time::timeout(phase, stream.write_all(line)).await {
        Err(_) => Err(Step::Fail(format!("Write timeout to server {who}"))),
        Ok(Err(_)) => Err(Step::Fail(format!("Write failure to server {who}"))),
        Ok(Ok(())) => Ok(()),
    }
}

async fn dialogue(stream: &mut TcpStream, helo: &str, phase: Duration, who: &str) -> Result<(), Step> {
    let banner = read_line(stream, phase, who).await?;
    if status(&banner) != Some(220) {
        return Err(Step::Fail(format!("Bad greeting banner from server {who}")));
    }
    // keepalived formats into its 512-byte buffer.
    let mut hello = format!("HELO {helo}\r\n").into_bytes();
    hello.truncate(BUFFER - 1);
    write_line(stream, &hello, phase, who).await?;
    let reply = read_line(stream, phase, who).await?;
    if status(&reply) != Some(250) {
        return Err(Step::Fail(format!("Bad HELO response from server {who}")));
    }
    write_line(stream, b"QUIT\r\n", phase, who).await?;
    // Any line will do; 221 is not checked.
    read_line(stream, phase, who).await?;
    Ok(())
}

pub(crate) async fn probe(helo: &str, ep: &Endpoint, rs: &RsPlan) -> Outcome {
    let who = ep.pair();
    let fail = |m: String| Outcome::Failure { message: m };
    let mut stream = match tcp_connect(ep).await {
        Ok(s) => s,
        Err(ConnectError::Socket(_)) => {
            return Outcome::LocalError {
                message: "SMTP_CHECK connection failed to create socket.".into(),
            }
        }
        Err(ConnectError::Local(_)) => {
            return Outcome::LocalError {
                message: "SMTP_CHECK socket bind failed.".into(),
            }
        }
        Err(ConnectError::Unreachable(_)) => {
            return fail(format!(
                "Network unreachable for server {} - real server [{}]:{}",
                ep.dst.ip(),
                rs.addr,
                rs.port
            ))
        }
        Err(ConnectError::Failed(_)) => return fail(format!("Could not connect to server {who}")),
        Err(ConnectError::Timeout) => return fail(format!("Connection timeout to server {who}")),
    };
    match dialogue(&mut stream, helo, ep.timeout, &who).await {
        Ok(()) => Outcome::Success,
        Err(Step::Fail(m)) => fail(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(status(b"220 mail.example.com ESMTP"), Some(220));
        assert_eq!(status(b"220"), Some(220));
        assert_eq!(status(b"250 OK\r"), Some(250));
        assert_eq!(status(b"220-multi line"), None);
        assert_eq!(status(b"220\r"), None);
        assert_eq!(status(b"2200 x"), None);
        assert_eq!(status(b" 220 x"), None);
        assert_eq!(status(b""), None);
        assert_eq!(status(b"22"), None);
    }
}
