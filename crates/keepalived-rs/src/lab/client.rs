//! The lab's client: a steady stream of HTTP requests to the VIP from the client namespace,
//! each from the next of the client's addresses (so that the seed's persistence spreads
//! them over both real servers), answered with the real server's name. Every result is
//! recorded with its (monotonic) time.

use super::topology::{client_addr, ns_name, CLIENT_ADDRESSES, CLIENT_SETS, VIP};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{Read, Write};
use std::net::{SocketAddr, SocketAddrV4};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Time between requests.
pub const INTERVAL: Duration = Duration::from_millis(25);
/// A request not answered within this is a failure.
pub const TIMEOUT: Duration = Duration::from_millis(400);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The body named this real server.
    From(String),
    /// Refused, timed out, reset or garbled.
    Failed(String),
}

#[derive(Clone, Debug)]
pub struct Sample {
    pub at: Instant,
    pub answer: Answer,
}

/// Everything the client has seen.
#[derive(Default)]
pub struct Record {
    pub samples: Vec<Sample>,
}

impl Record {
    /// Answers per real server and failures since `since`.
    pub fn counts_since(&self, since: Instant) -> (Vec<(String, usize)>, usize) {
        let mut per: Vec<(String, usize)> = Vec::new();
        let mut failed = 0;
        for s in self.samples.iter().filter(|s| s.at >= since) {
            match &s.answer {
                Answer::From(name) => match per.iter_mut().find(|(n, _)| n == name) {
                    Some((_, c)) => *c += 1,
                    None => per.push((name.clone(), 1)),
                },
                Answer::Failed(_) => failed += 1,
            }
        }
        per.sort();
        (per, failed)
    }
}

pub struct Client {
    pub record: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
    /// First address of the set in use.
    base: Arc<AtomicU8>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Client {
    /// Starts the request loop in the client namespace.
    pub fn start() -> Result<Client, String> {
        let ns_path = format!("/run/netns/{}", ns_name("client"));
        let ns = std::fs::File::open(&ns_path).map_err(|e| format!("{ns_path}: {e}"))?;
        let record = Arc::new(Mutex::new(Record::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let base = Arc::new(AtomicU8::new(0));
        let (r, s, b) = (record.clone(), stop.clone(), base.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("lab-client".into())
            .spawn(move || {
                // This thread, and only it, lives in the client's network namespace.
                let entered = nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("enter the client namespace: {e}"));
                let failed = entered.is_err();
                let _ = ready_tx.send(entered);
                if failed {
                    return;
                }
                let mut n: u8 = 0;
                let mut next = Instant::now();
                while !s.load(Ordering::Relaxed) {
                    let answer = request(b.load(Ordering::Relaxed) + n);
                    n = (n + 1) % CLIENT_ADDRESSES;
                    if let Ok(mut rec) = r.lock() {
                        rec.samples.push(Sample {
                            at: Instant::now(),
                            answer,
                        });
                    }
                    next += INTERVAL;
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    } else {
                        next = now;
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("the client thread did not start".into()),
        }
        Ok(Client {
            record,
            stop,
            base,
            thread: Some(thread),
        })
    }

    /// Sends from the next set of addresses: new clients, without persistence entries.
    pub fn use_fresh_addresses(&self) {
        let next = (self.base.load(Ordering::Relaxed) + CLIENT_ADDRESSES) % (CLIENT_ADDRESSES * CLIENT_SETS);
        self.base.store(next, Ordering::Relaxed);
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One `GET /` from client address `n`.
fn request(n: u8) -> Answer {
    match try_request(n) {
        Ok(name) => Answer::From(name),
        Err(e) => Answer::Failed(e),
    }
}

fn try_request(n: u8) -> Result<String, String> {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(|e| e.to_string())?;
    sock.bind(&SockAddr::from(SocketAddrV4::new(client_addr(n), 0)))
        .map_err(|e| e.to_string())?;
    let vip = SockAddr::from(SocketAddr::from((VIP, 80)));
    sock.connect_timeout(&vip, TIMEOUT).map_err(|e| kind(&e))?;
    let mut stream: std::net::TcpStream = sock.into();
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
        .map_err(|e| kind(&e))?;
    let mut body = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                body.extend_from_slice(&buf[..k]);
                if body.len() > 64 * 1024 {
                    return Err("answer too long".into());
                }
            }
            Err(e) => return Err(kind(&e)),
        }
    }
    let text = String::from_utf8_lossy(&body);
    let content = text.split("\r\n\r\n").nth(1).unwrap_or("").trim();
    if content.starts_with("rs") && content.len() <= 8 {
        Ok(content.to_string())
    } else {
        Err(format!(
            "unexpected answer {:?}",
            text.lines().next().unwrap_or("")
        ))
    }
}

fn kind(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timeout".into(),
        std::io::ErrorKind::ConnectionRefused => "refused".into(),
        std::io::ErrorKind::ConnectionReset => "reset".into(),
        _ => e.to_string(),
    }
}
