//! TCP_CHECK, UDP_CHECK and PING_CHECK across a veth between two network namespaces the test
//! makes itself: the probes run in a fresh namespace of the test thread (192.0.2.1,
//! 2001:db8::1), the hosts live in a named namespace `kaprobe-<pid>-<n>`:
//!
//! * 192.0.2.2 / 2001:db8::2 answers (TCP listener, UDP responder, the kernel's echo reply);
//! * 192.0.2.3 rejects (no listener: RST and ICMP port unreachable; echo requests get an
//!   ICMP host unreachable from nftables);
//! * 192.0.2.4 drops everything (nftables).
//!
//! Each result is timed: a drop must take connect_timeout (2 s), a refusal must not.
//! Everything is removed at the end, also when an assertion fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use ka_check::Outcome;
use ka_probe::ProbeContext;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use support::*;

static LAB_SEQ: AtomicU32 = AtomicU32::new(0);

/// The hosts' namespace and its processes; removed when dropped.
struct Lab {
    ns: String,
    procs: Vec<Proc>,
    dir: tempfile::TempDir,
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Processes first (by PID), then the namespace.
        self.procs.clear();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

impl Lab {
    fn in_ns(&self, cmd: &str) {
        run_ok(&format!("ip netns exec {} sh -c '{cmd}'", self.ns));
    }
}

const SERVER: &str = r#"
import socket, sys, threading
log = open(sys.argv[1], "a", buffering=1)
def tcp(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 8080)); s.listen(64)
    while True:
        c, peer = s.accept()
        log.write("tcp %s:%d\n" % (peer[0], peer[1]))
        c.close()
def udp(family, addr):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, 5353))
    while True:
        data, peer = s.recvfrom(2048)
        log.write("udp %s %s\n" % (peer[0], data.hex()))
        s.sendto(b"OK:" + data[:8], peer)
for f, a in ((socket.AF_INET, "192.0.2.2"), (socket.AF_INET6, "2001:db8::2")):
    threading.Thread(target=tcp, args=(f, a), daemon=True).start()
    threading.Thread(target=udp, args=(f, a), daemon=True).start()
threading.Event().wait()
"#;

/// Runs `f` in a fresh namespace of its own thread, wired to a new hosts' namespace.
fn with_lab(f: impl FnOnce(&mut Lab) + Send + 'static) {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        let n = LAB_SEQ.fetch_add(1, Ordering::Relaxed);
        let ns = format!("kaprobe-{}-{n}", std::process::id());
        run_ok(&format!("ip netns add {ns}"));
        let mut lab = Lab {
            ns: ns.clone(),
            procs: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        };
        run_ok("ip link set lo up");
        run_ok("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
        run_ok(&format!("ip link add c0 type veth peer name s0 && ip link set s0 netns {ns}"));
        run_ok("ip addr add 192.0.2.1/24 dev c0 && ip addr add 2001:db8::1/64 dev c0 nodad && ip link set c0 up");
        lab.in_ns(
            "ip link set lo up && sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 && \
             ip addr add 192.0.2.2/24 dev s0 && ip addr add 192.0.2.3/24 dev s0 && ip addr add 192.0.2.4/24 dev s0 && \
             ip addr add 2001:db8::2/64 dev s0 nodad && ip addr add 2001:db8::3/64 dev s0 nodad && \
             ip addr add 2001:db8::4/64 dev s0 nodad && ip link set s0 up",
        );
        let rules = lab.dir.path().join("hosts.nft");
        std::fs::write(
            &rules,
            "table inet kaprobe {
    chain input {
        type filter hook input priority 0; policy accept;
        ip daddr 192.0.2.3 icmp type echo-request reject with icmp type host-unreachable
        ip6 daddr 2001:db8::3 icmpv6 type echo-request reject with icmpv6 type addr-unreachable
        ip daddr 192.0.2.4 drop
        ip6 daddr 2001:db8::4 drop
    }
}
",
        )
        .unwrap();
        run_ok(&format!("ip netns exec {ns} nft -f {}", rules.display()));
        let log = lab.dir.path().join("server.log");
        let server = Proc::spawn(
            "hosts server",
            Command::new("ip")
                .args(["netns", "exec", &ns, python3(), "-c", SERVER])
                .arg(&log),
        );
        lab.procs.push(server);
        let ready = wait_for(Duration::from_secs(10), || {
            TcpStream::connect_timeout(&SocketAddr::from(([192, 0, 2, 2], 8080)), Duration::from_millis(200)).is_ok()
                && TcpStream::connect_timeout(&"[2001:db8::2]:8080".parse().unwrap(), Duration::from_millis(200))
                    .is_ok()
        });
        assert!(ready, "the hosts' server did not start");
        f(&mut lab);
    })
    .join()
    .expect("lab thread");
}

async fn timed(f: impl std::future::Future<Output = Outcome>) -> (Outcome, Duration) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

const FAST: Duration = Duration::from_millis(500);

fn drop_bound(took: Duration, what: &str) {
    assert_within(
        took,
        Duration::from_millis(1950),
        Duration::from_millis(3500),
        what,
    );
}

#[test]
fn tcp_udp_and_ping_against_hosts_that_answer_reject_and_drop() {
    if !can_run(
        "TCP/UDP/PING_CHECK in namespaces",
        true,
        &["ip", "nft", "sysctl", python3()],
    ) {
        return;
    }
    with_lab(|lab| {
        let (plan, _) = plan(
            lab.dir.path(),
            "virtual_server 192.0.2.100 8080 {
    protocol TCP
    delay_loop 5
    real_server 192.0.2.2 8080 {
        TCP_CHECK {
            connect_timeout 2
        }
        TCP_CHECK {
            connect_timeout 2
            bindto 192.0.2.1
            bind_port 40123
            bind_if c0
            fwmark 66
        }
        TCP_CHECK {
            connect_timeout 2
            bind_if nosuch0
        }
        TCP_CHECK {
            connect_timeout 2
            connect_ip 192.0.2.3
        }
        TCP_CHECK {
            connect_timeout 2
            connect_ip 192.0.2.4
        }
        TCP_CHECK {
            connect_timeout 2
            connect_ip 198.51.100.9
        }
        PING_CHECK {
            connect_timeout 2
        }
        PING_CHECK {
            connect_timeout 2
            connect_ip 192.0.2.3
        }
        PING_CHECK {
            connect_timeout 2
            connect_ip 192.0.2.4
        }
        HTTP_GET {
            connect_timeout 2
            connect_ip 198.51.100.9
            url {
                path /
            }
        }
        SMTP_CHECK {
            connect_timeout 2
            connect_ip 198.51.100.9
        }
        DNS_CHECK {
            connect_timeout 2
            connect_ip 198.51.100.9
            connect_port 53
            type A
            name x.example
        }
        HTTP_GET {
            connect_timeout 2
            connect_ip 192.0.2.4
            url {
                path /
            }
        }
        SSL_GET {
            connect_timeout 2
            connect_ip 192.0.2.3
            url {
                path /
            }
        }
        SMTP_CHECK {
            connect_timeout 2
            connect_ip 192.0.2.4
        }
    }
}
virtual_server 192.0.2.100 5353 {
    protocol UDP
    real_server 192.0.2.2 5353 {
        UDP_CHECK {
            connect_timeout 2
        }
        UDP_CHECK {
            connect_timeout 2
            require_reply 4f4b3a
        }
        UDP_CHECK {
            connect_timeout 2
            require_reply 4f4bxx3b
        }
        UDP_CHECK {
            connect_timeout 2
            connect_ip 192.0.2.3
        }
        UDP_CHECK {
            connect_timeout 2
            connect_ip 192.0.2.4
        }
        UDP_CHECK {
            connect_timeout 2
            connect_ip 192.0.2.4
            require_reply
        }
        UDP_CHECK {
            connect_timeout 2
            payload 6b612d7273
        }
        UDP_CHECK {
            connect_timeout 2
            connect_ip 198.51.100.9
        }
    }
}
virtual_server 2001:db8::100 8080 {
    protocol TCP
    real_server 2001:db8::2 8080 {
        TCP_CHECK {
            connect_timeout 2
        }
        PING_CHECK {
            connect_timeout 2
        }
        UDP_CHECK {
            connect_timeout 2
            connect_port 5353
            require_reply 4f4b3a
        }
        TCP_CHECK {
            connect_timeout 2
            connect_ip 2001:db8::4
        }
    }
}
",
        );
        // fwmark: count marked packets leaving the probes' namespace.
        run_ok("nft add table inet kaprobe_client && nft add chain inet kaprobe_client out '{ type filter hook output priority 0; }' && nft add rule inet kaprobe_client out meta mark 66 tcp dport 8080 counter");
        let ctx = ProbeContext::new(None).unwrap();
        let rt = runtime();
        let c = |v, n| checker(&plan, v, 0, n);
        let probe = |v, n| ka_probe::probe(&ctx, c(v, n).0, c(v, n).1, c(v, n).2, 0);
        let rs = "[192.0.2.2]:tcp:8080";

        // TCP_CHECK: answers; with bindto/bind_port/bind_if/fwmark; a device that does not
        // exist (not the server's fault); RST; drop; no route.
        let (out, took) = rt.block_on(timed(probe(0, 0)));
        assert_eq!(out, Outcome::Success);
        assert!(took < FAST, "{took:?}");
        assert_eq!(rt.block_on(probe(0, 1)), Outcome::Success);
        let server_log = || std::fs::read_to_string(lab.dir.path().join("server.log")).unwrap();
        // The server logs each peer as it accepts it.
        assert!(
            wait_for(Duration::from_secs(3), || server_log()
                .contains("tcp 192.0.2.1:40123")),
            "{}",
            server_log()
        );
        let counters = String::from_utf8(
            Command::new("nft")
                .args(["list", "chain", "inet", "kaprobe_client", "out"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        assert!(!counters.contains("packets 0 "), "no marked packet: {counters}");
        assert_eq!(
            rt.block_on(probe(0, 2)),
            Outcome::LocalError {
                message: "TCP socket bind failed.".into()
            }
        );
        let (out, took) = rt.block_on(timed(probe(0, 3)));
        assert_eq!(out, failure(&format!("TCP connection to {rs} failed.")));
        assert!(took < FAST, "RST: {took:?}");
        let (out, took) = rt.block_on(timed(probe(0, 5)));
        assert_eq!(out, failure(&format!("TCP connection to {rs} failed.")));
        assert!(took < FAST, "no route: {took:?}");

        // No route: every type reports it at once, in its own words.
        for (n, want) in [
            (9, "HTTP_CHECK - network unreachable".to_string()),
            (
                10,
                "Network unreachable for server 198.51.100.9 - real server [192.0.2.2]:8080".to_string(),
            ),
            (11, "network unreachable for [198.51.100.9]:53".to_string()),
        ] {
            let (out, took) = rt.block_on(timed(probe(0, n)));
            assert_eq!(out, failure(&want));
            assert!(took < FAST, "no route: {took:?}");
        }
        let (out, took) = rt.block_on(timed(probe(1, 7)));
        assert_eq!(out, failure("UDP connection to [192.0.2.2]:udp:5353 failed."));
        assert!(took < FAST, "no route: {took:?}");
        // SSL_GET to a host that resets.
        let (out, took) = rt.block_on(timed(probe(0, 13)));
        assert_eq!(out, failure("Connection failed"));
        assert!(took < FAST, "RST: {took:?}");

        // UDP_CHECK: reply, reply matching the pattern, not matching, ICMP port unreachable,
        // a configured payload.
        let (out, took) = rt.block_on(timed(probe(1, 0)));
        assert_eq!(out, Outcome::Success);
        assert!(took < FAST, "{took:?}");
        assert_eq!(rt.block_on(probe(1, 1)), Outcome::Success);
        assert_eq!(
            rt.block_on(probe(1, 2)),
            failure("UDP check to [192.0.2.2]:udp:5353 reply data mismatch.")
        );
        let (out, took) = rt.block_on(timed(probe(1, 3)));
        assert_eq!(out, failure("UDP connection to [192.0.2.2]:udp:5353 failed."));
        assert!(took < FAST, "port unreachable: {took:?}");
        assert_eq!(rt.block_on(probe(1, 6)), Outcome::Success);
        // keepalived's default payload, then ours.
        let default_payload = format!("udp 192.0.2.1 {}", hex(b"keepalived check - keepalived ch"));
        assert!(
            wait_for(Duration::from_secs(3), || server_log().contains(&default_payload)
                && server_log().contains("udp 192.0.2.1 6b612d7273")),
            "{}",
            server_log()
        );

        // IPv6 answers.
        assert_eq!(rt.block_on(probe(2, 0)), Outcome::Success);
        assert_eq!(rt.block_on(probe(2, 2)), Outcome::Success);

        // PING_CHECK. This namespace allows no ping sockets (ping_group_range "1 0"): the
        // probe falls back to a raw socket.
        assert_eq!(ka_probe::ping::group_range().unwrap(), (1, 0));
        let (out, took) = rt.block_on(timed(probe(0, 6)));
        assert_eq!(out, Outcome::Success, "raw socket");
        assert!(took < FAST, "{took:?}");
        assert_eq!(rt.block_on(probe(2, 1)), Outcome::Success, "raw ICMPv6");
        let (out, took) = rt.block_on(timed(probe(0, 7)));
        assert_eq!(
            out,
            failure(&format!(
                "ICMP connection to {rs} of [192.0.2.100]:tcp:8080 failed."
            ))
        );
        assert!(took < FAST, "host unreachable (raw): {took:?}");
        // keepalived's widening, and its restoration.
        let widened = ka_probe::ping::widen_group_range().unwrap().expect("changed");
        assert_eq!((widened.original, widened.now), ((1, 0), (0, 0)));
        eprintln!("{}", widened.message());
        let (out, took) = rt.block_on(timed(probe(0, 6)));
        assert_eq!(out, Outcome::Success, "ping socket");
        assert!(took < FAST, "{took:?}");
        assert_eq!(rt.block_on(probe(2, 1)), Outcome::Success, "ICMPv6 ping socket");

        // Everything that must wait for connect_timeout, concurrently, each timed.
        let (
            (tcp_drop, t1),
            (udp_drop, t2),
            (udp_drop_reply, t3),
            (ping_drop, t4),
            (ping_reject, t5),
            (tcp6_drop, t6),
            (http_drop, t7),
            (smtp_drop, t8),
        ) = rt.block_on(async {
            tokio::join!(
                timed(probe(0, 4)),
                timed(probe(1, 4)),
                timed(probe(1, 5)),
                timed(probe(0, 8)),
                timed(probe(0, 7)),
                timed(probe(2, 3)),
                timed(probe(0, 12)),
                timed(probe(0, 14)),
            )
        });
        eprintln!("drops: tcp {t1:?}, udp {t2:?}, udp+require_reply {t3:?}, ping {t4:?}, ping rejected {t5:?}, tcp6 {t6:?}, http {t7:?}, smtp {t8:?}");
        assert_eq!(tcp_drop, failure(&format!("TCP connection to {rs} timeout.")));
        drop_bound(t1, "TCP drop");
        // Silence is a success for UDP_CHECK unless a reply is required.
        assert_eq!(udp_drop, Outcome::Success);
        drop_bound(t2, "UDP drop");
        assert_eq!(
            udp_drop_reply,
            failure("UDP connection to [192.0.2.2]:udp:5353 failed.")
        );
        drop_bound(t3, "UDP drop with require_reply");
        let ping_timeout = failure(&format!("ICMP connection to address {rs} timeout."));
        assert_eq!(ping_drop, ping_timeout);
        drop_bound(t4, "PING drop");
        // A ping socket is not told about the unreachable host (as keepalived's): a timeout.
        assert_eq!(ping_reject, ping_timeout);
        drop_bound(t5, "PING rejected on a ping socket");
        assert_eq!(
            tcp6_drop,
            failure("TCP connection to [2001:db8::2]:tcp:8080 timeout.")
        );
        drop_bound(t6, "TCP6 drop");
        assert_eq!(http_drop, failure("Timeout connecting"));
        drop_bound(t7, "HTTP drop");
        assert_eq!(
            smtp_drop,
            failure("Connection timeout to server [192.0.2.4]:8080")
        );
        drop_bound(t8, "SMTP drop");

        widened.restore().unwrap();
        assert_eq!(ka_probe::ping::group_range().unwrap(), (1, 0));
    });
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
