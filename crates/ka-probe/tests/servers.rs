//! Probes against real servers on loopback, each started by its test with its own files in a
//! temporary directory and killed by PID at the end (also on failure): nginx (HTTP_GET,
//! SSL_GET with a self-signed certificate made by openssl, genhash), dnsmasq (DNS_CHECK),
//! python3's smtpd (SMTP_CHECK) plus scripted peers, and MISC_CHECK scripts. Checkers come
//! from keepalived.conf text read as the daemon reads it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use ka_check::{MiscExit, Outcome};
use ka_probe::ProbeContext;
use md5::{Digest, Md5};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

const PAGE: &str = "<html><body>keepalived-rs test page</body></html>\n";

struct Nginx {
    proc: Option<Proc>,
    dir: std::path::PathBuf,
    http: u16,
    https: u16,
}

impl Nginx {
    fn start(dir: &Path) -> Nginx {
        let (http, https) = (free_port(), free_port());
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        std::fs::write(dir.join("www/index.html"), PAGE).unwrap();
        for (name, cn) in [("server", "ka-probe-server"), ("client", "ka-probe-client")] {
            let st = Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                ])
                .arg("-keyout")
                .arg(dir.join(format!("{name}.key")))
                .arg("-out")
                .arg(dir.join(format!("{name}.pem")))
                .args(["-days", "2", "-subj", &format!("/CN={cn}")])
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "openssl req for {name}");
        }
        let d = dir.display();
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    log_format probe '$remote_addr:$remote_port "$request" host="$http_host" sni="$ssl_server_name" client="$ssl_client_s_dn" $status';
    access_log {d}/access.log probe;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    default_type text/plain;
    server {{
        listen 127.0.0.1:{http};
        listen 127.0.0.1:{https} ssl;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        ssl_verify_client optional_no_ca;
        root {d}/www;
        location = /status/503 {{ return 503 "busy\n"; }}
        location = /sni {{ return 200 "sni=$ssl_server_name\n"; }}
    }}
}}
"#
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let mut n = Nginx {
            proc: None,
            dir: dir.to_path_buf(),
            http,
            https,
        };
        n.run();
        n
    }

    fn run(&mut self) {
        let proc = Proc::spawn(
            "nginx",
            Command::new("nginx")
                .arg("-e")
                .arg(self.dir.join("error.log"))
                .arg("-p")
                .arg(&self.dir)
                .arg("-c")
                .arg(self.dir.join("nginx.conf")),
        );
        wait_tcp(SocketAddr::from(([127, 0, 0, 1], self.http)), "nginx");
        wait_tcp(SocketAddr::from(([127, 0, 0, 1], self.https)), "nginx (TLS)");
        self.proc = Some(proc);
    }

    fn stop(&mut self) {
        if let Some(p) = self.proc.take() {
            p.stop();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }
}

/// A TCP peer for one connection at a time, run by `serve` on its own thread; the thread
/// ends after `max` connections or 30 s.
fn scripted_peer(max: usize, serve: impl Fn(std::net::TcpStream) + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(30);
        let mut served = 0;
        while served < max && Instant::now() < until {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    serve(s);
                    served += 1;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    port
}

const SEC: Duration = Duration::from_secs(1);

#[test]
fn http_get_and_ssl_get_against_nginx() {
    if !can_run("HTTP_GET/SSL_GET against nginx", false, &["nginx", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut nginx = Nginx::start(dir);
    let digest = format!("{:x}", Md5::digest(PAGE.as_bytes()));
    let (tx, silent_request) = std::sync::mpsc::channel::<Vec<u8>>();
    let silent = scripted_peer(1, move |mut s| {
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap_or(0);
        let _ = tx.send(buf[..n].to_vec());
        std::thread::sleep(Duration::from_secs(6));
    });
    let stalls = scripted_peer(1, |mut s| {
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\npartial");
        std::thread::sleep(Duration::from_secs(6));
    });
    // Headers, then one byte every 100 ms for ever.
    let trickles = scripted_peer(1, |mut s| {
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
        for _ in 0..100 {
            if s.write_all(b".").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let refused = free_port();
    let d = dir.display();
    let (plan, config) = plan(
        dir,
        &format!(
            r#"SSL {{
    certificate {d}/client.pem
    key {d}/client.key
}}
virtual_server 127.0.0.1 80 {{
    delay_loop 5
    protocol TCP
    virtualhost vs.example
    real_server 127.0.0.1 {http} {{
        HTTP_GET {{
            connect_timeout 2
            url {{
                path /index.html
                digest {digest}
            }}
            url {{
                path /status/503
            }}
            url {{
                path /index.html
                digest 00000000000000000000000000000000
            }}
            url {{
                path /index.html
                regex "test.page"
            }}
            url {{
                path /index.html
                regex "absent.words"
            }}
            url {{
                path /index.html
                regex "test.page"
                regex_no_match
            }}
            url {{
                path /status/503
                status_code 503
                virtualhost url.example
            }}
        }}
        SSL_GET {{
            connect_timeout 2
            connect_port {https}
            enable_sni
            virtualhost sni.example
            url {{
                path /sni
                regex "^sni=sni[.]example$"
                regex_options multiline
            }}
        }}
        SSL_GET {{
            connect_timeout 2
            connect_port {https}
            url {{
                path /index.html
                digest {digest}
            }}
        }}
        SSL_GET {{
            connect_timeout 2
            url {{
                path /index.html
            }}
        }}
    }}
    real_server 127.0.0.1 {silent} {{
        HTTP_GET {{
            connect_timeout 2
            url {{
                path /
            }}
        }}
    }}
    real_server 127.0.0.1 {stalls} {{
        HTTP_GET {{
            connect_timeout 2
            url {{
                path /
            }}
        }}
    }}
    real_server 127.0.0.1 {refused} {{
        HTTP_GET {{
            connect_timeout 2
            url {{
                path /
            }}
        }}
    }}
}}
virtual_server 127.0.0.1 82 {{
    protocol TCP
    real_server 127.0.0.1 {trickles} {{
        HTTP_GET {{
            connect_timeout 0.3
            url {{
                path /
            }}
        }}
    }}
}}
virtual_server 127.0.0.1 81 {{
    protocol TCP
    real_server 127.0.0.1 {http} {{
        HTTP_GET {{
            connect_timeout 2
            http_protocol 1.1
            url {{
                path /index.html
                digest {digest}
            }}
        }}
    }}
}}
"#,
            http = nginx.http,
            https = nginx.https
        ),
    );
    let ctx = ProbeContext::new(config.lvs.ssl.as_ref()).unwrap();
    let rt = runtime();
    let http = checker(&plan, 0, 0, 0);

    // Up: status 200 and the right digest.
    let (out, took) = timed_probe(&rt, &ctx, http, 0);
    assert_eq!(out, Outcome::Success);
    assert!(took < SEC, "{took:?}");
    // Wrong status, accepted status, wrong digest.
    assert_eq!(
        timed_probe(&rt, &ctx, http, 1).0,
        failure("HTTP status code error to")
    );
    assert_eq!(timed_probe(&rt, &ctx, http, 6).0, Outcome::Success);
    assert_eq!(timed_probe(&rt, &ctx, http, 2).0, failure("MD5 digest error to"));
    // Regex: found, absent, found but regex_no_match.
    assert_eq!(timed_probe(&rt, &ctx, http, 3).0, Outcome::Success);
    assert_eq!(timed_probe(&rt, &ctx, http, 4).0, failure("Regex match failed"));
    assert_eq!(timed_probe(&rt, &ctx, http, 5).0, failure("Regex match failed"));
    // The Host header: the url's virtualhost wins over the VS's; without either, ip:port.
    let log = nginx.log();
    assert!(
        log.contains(r#""GET /status/503 HTTP/1.0" host="url.example""#),
        "{log}"
    );
    assert!(
        log.contains(r#""GET /index.html HTTP/1.0" host="vs.example""#),
        "{log}"
    );

    // SSL_GET with SNI (checker virtualhost) and our client certificate.
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 0, 1), 0);
    assert_eq!(out, Outcome::Success);
    assert!(took < SEC, "{took:?}");
    // Without enable_sni no name is sent; the digest is computed over TLS too.
    assert_eq!(
        timed_probe(&rt, &ctx, checker(&plan, 0, 0, 2), 0).0,
        Outcome::Success
    );
    let log = nginx.log();
    assert!(
        log.contains(
            r#""GET /sni HTTP/1.0" host="sni.example" sni="sni.example" client="CN=ka-probe-client" 200"#
        ),
        "{log}"
    );
    assert!(
        log.contains(r#"sni="-" client="CN=ka-probe-client" 200"#),
        "{log}"
    );
    // No virtualhost anywhere: Host is the destination's ip:port; HTTP/1.1 closes.
    assert_eq!(
        timed_probe(&rt, &ctx, checker(&plan, 2, 0, 0), 0).0,
        Outcome::Success
    );
    let log = nginx.log();
    assert!(
        log.contains(&format!(
            r#""GET /index.html HTTP/1.1" host="127.0.0.1:{}""#,
            nginx.http
        )),
        "{log}"
    );

    // TLS to the plain HTTP port.
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 0, 3), 0);
    assert_eq!(out, failure("SSL handshake/communication error connecting to"));
    assert!(took < SEC, "{took:?}");

    // A server that accepts and never answers: a timeout at connect_timeout, not a hang.
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 1, 0), 0);
    assert_eq!(out, failure("Timeout WEB read"));
    assert_within(
        took,
        Duration::from_millis(1900),
        Duration::from_millis(3500),
        "silent server",
    );
    // keepalived's request, byte for byte.
    let request = silent_request.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        request,
        b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: vs.example\r\n\r\n"
    );
    // Headers, part of the body, then nothing: the read timeout.
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 2, 0), 0);
    assert_eq!(out, failure("Timeout HTTP read"));
    assert_within(
        took,
        Duration::from_millis(1900),
        Duration::from_millis(3500),
        "stalling server",
    );
    // Data trickling in for ever: every read is in time, the whole is bounded by
    // 10 connect_timeouts.
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 1, 0, 0), 0);
    assert_eq!(out, failure("Timeout HTTP read"));
    assert_within(
        took,
        Duration::from_millis(2900),
        Duration::from_millis(4500),
        "trickling server",
    );
    // Nothing listening: refused at once.
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 3, 0), 0);
    assert_eq!(out, failure("Connection failed"));
    assert!(took < SEC, "{took:?}");

    // nginx restarted: down while stopped, up again after.
    nginx.stop();
    let (out, took) = timed_probe(&rt, &ctx, http, 0);
    assert_eq!(out, failure("Connection failed"));
    assert!(took < SEC, "{took:?}");
    nginx.run();
    assert_eq!(timed_probe(&rt, &ctx, http, 0).0, Outcome::Success);

    // genhash prints the digest the `digest` keyword wants, and keepalived's verbose dump.
    let req = ka_probe::genhash::Request {
        server: SocketAddr::from(([127, 0, 0, 1], nginx.http)),
        path: "/index.html".into(),
        tls: false,
        sni: false,
        virtualhost: None,
        protocol: ka_config::lvs::checker::HttpProtocol::V1_0,
        timeout: Duration::from_secs(2),
        fwmark: 0,
        verbose: false,
    };
    let out = rt.block_on(ka_probe::genhash::run(&ctx, &req));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{digest}\n"));
    let tls_req = ka_probe::genhash::Request {
        server: SocketAddr::from(([127, 0, 0, 1], nginx.https)),
        tls: true,
        sni: true,
        virtualhost: Some("sni.example".into()),
        verbose: true,
        ..req.clone()
    };
    let out = rt.block_on(ka_probe::genhash::run(&ctx, &tls_req));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for part in [
        "-----------------------[    HTTP Header Buffer    ]-----------------------\n0000  48 54 54 50 2f 31 2e 31 - 20 32 30 30 20 4f 4b 0d   HTTP/1.1 200 OK.\n",
        "-----------------------[ HTTP Header Ascii Buffer ]-----------------------\nHTTP/1.1 200 OK\r\n",
        "-----------------------[        HTML Buffer        ]-----------------------\n0000  3c 68 74 6d 6c 3e",
        "-----------------------[    HTML hash resulting    ]-----------------------\n",
        "-----------------------[ HTML hash final resulting ]-----------------------\n",
        &format!("{digest}\n\nGlobal response time for [/index.html] = "),
    ] {
        assert!(text.contains(part), "missing {part:?} in\n{text}");
    }
    let refused_req = ka_probe::genhash::Request {
        server: SocketAddr::from(([127, 0, 0, 1], refused)),
        ..req
    };
    let out = rt.block_on(ka_probe::genhash::run(&ctx, &refused_req));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(text, "Connection failed\n");
}

fn dnsmasq(dir: &Path, port: u16) -> Proc {
    let p = Proc::spawn(
        "dnsmasq",
        Command::new("dnsmasq")
            .arg("--keep-in-foreground")
            .arg("--conf-file=/dev/null")
            .arg(format!("--port={port}"))
            .arg("--listen-address=127.0.0.1")
            .arg("--bind-interfaces")
            .arg("--no-resolv")
            .arg("--no-hosts")
            .arg(format!("--pid-file={}/dnsmasq.pid", dir.display()))
            .arg("--address=/up.example/192.0.2.10")
            .arg("--address=/nx.example/")
            .arg("--host-record=rec.example,192.0.2.11")
            .arg("--local=/rec.example/"),
    );
    // Ready when it answers.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let q = ka_probe::dns::query(7, "up.example", 1);
    let ready = wait_for(Duration::from_secs(10), || {
        let _ = sock.send_to(&q, ("127.0.0.1", port));
        let mut buf = [0u8; 512];
        sock.recv(&mut buf).is_ok()
    });
    assert!(ready, "dnsmasq did not answer on port {port}");
    p
}

#[test]
fn dns_check_against_dnsmasq() {
    if !can_run("DNS_CHECK against dnsmasq", true, &["dnsmasq"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_udp_port();
    let server = dnsmasq(dir, port);
    let closed = free_udp_port();
    // Bound, never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let (plan, _) = plan(
        dir,
        &format!(
            "virtual_server 127.0.0.1 53 {{
    protocol UDP
    real_server 127.0.0.1 {port} {{
        DNS_CHECK {{
            connect_timeout 2
            type A
            name up.example
        }}
        DNS_CHECK {{
            connect_timeout 2
            name up.example.
        }}
        DNS_CHECK {{
            connect_timeout 2
            type A
            name nx.example
        }}
        DNS_CHECK {{
            connect_timeout 2
            type AAAA
            name rec.example
        }}
    }}
    real_server 127.0.0.1 {closed} {{
        DNS_CHECK {{
            connect_timeout 2
            type A
            name up.example
        }}
    }}
    real_server 127.0.0.1 {silent_port} {{
        DNS_CHECK {{
            connect_timeout 2
            type A
            name up.example
        }}
    }}
}}
"
        ),
    );
    let ctx = ProbeContext::new(None).unwrap();
    let rt = runtime();
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 0, 0), 0);
    assert_eq!(out, Outcome::Success);
    assert!(took < SEC, "{took:?}");
    // SOA (the default type): dnsmasq refuses it for a name it only has an address for.
    assert_eq!(
        timed_probe(&rt, &ctx, checker(&plan, 0, 0, 1), 0).0,
        failure("read error occurred. (rcode = 5)")
    );
    // NOERROR without an answer still passes, as in keepalived.
    assert_eq!(
        timed_probe(&rt, &ctx, checker(&plan, 0, 0, 3), 0).0,
        Outcome::Success
    );
    assert_eq!(
        timed_probe(&rt, &ctx, checker(&plan, 0, 0, 2), 0).0,
        failure("read error occurred. (rcode = 3)")
    );
    // The query seen on the wire: RD, one question, the configured name and type.
    let mut buf = [0u8; 512];
    let probe_sock = std::thread::spawn(move || {
        silent.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = silent.recv(&mut buf).unwrap();
        buf[..n].to_vec()
    });
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 2, 0), 0);
    assert_eq!(out, failure("read timeout from socket"));
    assert_within(
        took,
        Duration::from_millis(1900),
        Duration::from_millis(3500),
        "silent DNS server",
    );
    let seen = probe_sock.join().unwrap();
    assert_eq!(&seen[2..12], &[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&seen[12..], b"\x02up\x07example\x00\x00\x01\x00\x01");
    // Nothing on the port: the ICMP port unreachable makes the read fail at once.
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 1, 0), 0);
    assert_eq!(
        out,
        failure("failed to read socket; errno 111 (Connection refused)")
    );
    assert!(took < SEC, "{took:?}");
    // The server goes away.
    server.stop();
    assert_eq!(
        timed_probe(&rt, &ctx, checker(&plan, 0, 0, 0), 0).0,
        failure("failed to read socket; errno 111 (Connection refused)")
    );
}

#[test]
fn smtp_check_against_python_smtpd_and_scripted_peers() {
    if !can_run("SMTP_CHECK against python3 smtpd", false, &[python3()]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    let _smtpd = Proc::spawn(
        "smtpd",
        Command::new(python3())
            .args(["-W", "ignore", "-m", "smtpd", "-n", "-c", "DebuggingServer"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null()),
    );
    wait_tcp(SocketAddr::from(([127, 0, 0, 1], port)), "smtpd");
    let multi = scripted_peer(1, |mut s| {
        let _ = s.write_all(b"220-first line\r\n220 second line\r\n");
        std::thread::sleep(Duration::from_millis(200));
    });
    let rejects = scripted_peer(1, |mut s| {
        let _ = s.write_all(b"554 no service here\r\n");
    });
    let bad_helo = scripted_peer(1, |mut s| {
        let _ = s.write_all(b"220 ok\r\n");
        let mut line = String::new();
        let _ = BufReader::new(s.try_clone().unwrap()).read_line(&mut line);
        let _ = s.write_all(b"502 HELO not implemented\r\n");
    });
    let silent = scripted_peer(1, |_s| std::thread::sleep(Duration::from_secs(6)));
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let recorder = scripted_peer(1, move |mut s| {
        // Split banner and a reply in pieces: lines are assembled across reads.
        let _ = s.write_all(b"22");
        std::thread::sleep(Duration::from_millis(50));
        let _ = s.write_all(b"0 recorder ready\r\n");
        let mut seen = Vec::new();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        let mut line = Vec::new();
        let _ = reader.read_until(b'\n', &mut line);
        seen.extend_from_slice(&line);
        let _ = s.write_all(b"250 hello\r\n");
        line.clear();
        let _ = reader.read_until(b'\n', &mut line);
        seen.extend_from_slice(&line);
        let _ = s.write_all(b"221 bye\r\n");
        let _ = tx.send(seen);
    });
    let refused = free_port();
    let (plan, _) = plan(
        dir,
        &format!(
            "virtual_server 127.0.0.1 25 {{
    protocol TCP
    real_server 127.0.0.1 {port} {{
        SMTP_CHECK {{
            connect_timeout 2
        }}
    }}
    real_server 127.0.0.1 {multi} {{
        SMTP_CHECK {{
            connect_timeout 2
        }}
    }}
    real_server 127.0.0.1 {rejects} {{
        SMTP_CHECK {{
            connect_timeout 2
        }}
    }}
    real_server 127.0.0.1 {bad_helo} {{
        SMTP_CHECK {{
            connect_timeout 2
        }}
    }}
    real_server 127.0.0.1 {silent} {{
        SMTP_CHECK {{
            connect_timeout 2
        }}
    }}
    real_server 127.0.0.1 {recorder} {{
        SMTP_CHECK {{
            connect_timeout 2
            helo_name probe.example
        }}
    }}
    real_server 127.0.0.1 {refused} {{
        SMTP_CHECK {{
            connect_timeout 2
        }}
    }}
}}
"
        ),
    );
    let ctx = ProbeContext::new(None).unwrap();
    let rt = runtime();
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 0, 0), 0);
    assert_eq!(out, Outcome::Success, "python3 smtpd");
    assert!(took < SEC, "{took:?}");
    assert_eq!(
        timed_probe(&rt, &ctx, checker(&plan, 0, 1, 0), 0).0,
        failure(&format!("Bad greeting banner from server [127.0.0.1]:{multi}"))
    );
    assert_eq!(
        timed_probe(&rt, &ctx, checker(&plan, 0, 2, 0), 0).0,
        failure(&format!("Bad greeting banner from server [127.0.0.1]:{rejects}"))
    );
    assert_eq!(
        timed_probe(&rt, &ctx, checker(&plan, 0, 3, 0), 0).0,
        failure(&format!("Bad HELO response from server [127.0.0.1]:{bad_helo}"))
    );
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 4, 0), 0);
    assert_eq!(
        out,
        failure(&format!("Read timeout from server [127.0.0.1]:{silent}"))
    );
    assert_within(
        took,
        Duration::from_millis(1900),
        Duration::from_millis(3500),
        "silent SMTP server",
    );
    assert_eq!(
        timed_probe(&rt, &ctx, checker(&plan, 0, 5, 0), 0).0,
        Outcome::Success
    );
    let seen = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(seen, b"HELO probe.example\r\nQUIT\r\n");
    let (out, took) = timed_probe(&rt, &ctx, checker(&plan, 0, 6, 0), 0);
    // On loopback the refusal comes after EINPROGRESS, as keepalived sees it.
    assert_eq!(
        out,
        failure(&format!("Could not connect to server [127.0.0.1]:{refused}"))
    );
    assert!(took < SEC, "{took:?}");
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn alive(pid: i32) -> bool {
    // A zombie is dead for our purpose.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

fn pids(file: &str) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

#[test]
fn misc_check_scripts() {
    if !can_run("MISC_CHECK scripts", false, &["sh", "sleep"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ok = script(dir, "ok.sh", "exit 0");
    let fails = script(dir, "fails.sh", "exit 1");
    // Starts a child of its own, then hangs: the whole group must go.
    let hang = script(dir, "hang.sh", "sleep 30 & echo $$ $! > \"$1\"\nwait");
    let stubborn = script(
        dir,
        "stubborn.sh",
        "trap '' TERM\necho $$ > \"$1\"\nwhile :; do sleep 1; done",
    );
    let weight = script(dir, "weight.sh", "exit 5");
    let hang_pids = dir.join("hang.pids").display().to_string();
    let stubborn_pids = dir.join("stubborn.pids").display().to_string();
    let loop_pids = dir.join("loop.pids").display().to_string();
    let (plan, _) = plan(
        dir,
        &format!(
            "virtual_server 127.0.0.1 80 {{
    delay_loop 3
    protocol TCP
    real_server 127.0.0.1 80 {{
        weight 10
        MISC_CHECK {{
            misc_path {ok}
        }}
        MISC_CHECK {{
            misc_path {fails}
        }}
        MISC_CHECK {{
            misc_path \"{hang} {hang_pids}\"
            misc_timeout 1
        }}
        MISC_CHECK {{
            misc_path \"{stubborn} {stubborn_pids}\"
            misc_timeout 1
        }}
        MISC_CHECK {{
            misc_path {weight}
            misc_dynamic
        }}
        MISC_CHECK {{
            misc_path \"{hang} {loop_pids}\"
        }}
    }}
}}
"
        ),
    );
    let ctx = ProbeContext::new(None).unwrap();
    let rt = runtime();
    let c = |n| checker(&plan, 0, 0, n);
    assert_eq!(
        timed_probe(&rt, &ctx, c(0), 0).0,
        Outcome::Misc(MiscExit::Exited(0))
    );
    assert_eq!(
        timed_probe(&rt, &ctx, c(1), 0).0,
        Outcome::Misc(MiscExit::Exited(1))
    );

    // Killed at misc_timeout, with its child.
    let (out, took) = timed_probe(&rt, &ctx, c(2), 0);
    assert_eq!(out, Outcome::Misc(MiscExit::TimedOut));
    assert_within(
        took,
        Duration::from_millis(900),
        Duration::from_millis(2500),
        "hanging script",
    );
    let started = pids(&hang_pids);
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(
        wait_for(Duration::from_secs(2), || started.iter().all(|p| !alive(*p))),
        "script or its child survived: {started:?}"
    );

    // Ignores SIGTERM: SIGKILL 2 s later.
    let (out, took) = timed_probe(&rt, &ctx, c(3), 0);
    assert_eq!(out, Outcome::Misc(MiscExit::TimedOut));
    assert_within(
        took,
        Duration::from_millis(2900),
        Duration::from_millis(4500),
        "script ignoring SIGTERM",
    );
    let started = pids(&stubborn_pids);
    assert!(wait_for(Duration::from_secs(2), || started
        .iter()
        .all(|p| !alive(*p))));

    // misc_dynamic: exit 5 is a success and asks for weight 5 - 2 = 3.
    let (out, _) = timed_probe(&rt, &ctx, c(4), 0);
    assert_eq!(out, Outcome::Misc(MiscExit::Exited(5)));
    let (plan4, rs, vs) = c(4);
    let mut st = ka_check::policy::CheckerState::initial(plan4);
    let names = ka_check::policy::Names {
        rs: &rs.name,
        vs: &vs.name,
    };
    let v = ka_check::policy::on_outcome(plan4, &mut st, &out, names, rs.weight, false);
    assert_eq!(v.cur_weight.map(|w| w + i64::from(rs.weight)), Some(3));

    // No misc_timeout: the virtual server's delay_loop (3 s) bounds the script.
    let (out, took) = timed_probe(&rt, &ctx, c(5), 0);
    assert_eq!(out, Outcome::Misc(MiscExit::TimedOut));
    assert_within(
        took,
        Duration::from_millis(2900),
        Duration::from_millis(4500),
        "delay_loop bound",
    );
    let started = pids(&loop_pids);
    assert!(wait_for(Duration::from_secs(2), || started
        .iter()
        .all(|p| !alive(*p))));
}
