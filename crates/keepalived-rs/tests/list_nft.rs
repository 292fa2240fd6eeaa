//! `keepalived-rs list` on the nftables data plane, as root, in a network namespace of its
//! own: our table (rendered by `ka_nft` exactly as the daemon programs it, loaded with
//! `nft -f`) with NAT services of each kind — TCP with a quiescent real server, UDP,
//! persistence, IPv6, a firewall mark set by a rule of the test's own — and a DR service on a
//! veth link; local clients (python3) hold connections open, close others, send a datagram
//! and connect to a real server directly (a health check, which must not count). The whole
//! listing must be the expected text byte for byte in each view: the table read back,
//! ActiveConn/InActConn from conntrack, PersistConn from the persistence map, counters 0.
//! Client, real servers and VIPs are local addresses of the namespace: the `nat output` hook
//! translates locally generated connections as `prerouting` does forwarded ones.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use ka_lb::model::{service_flags, Dest, DestKey, Family, Forward, Protocol, Scheduler, Service, ServiceKey};
use ka_lb::LbState;
use ka_nft::{DrLink, Env, Mac};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use support::Netns;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn key(protocol: Protocol, addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol,
        addr: ip(addr),
        port,
    }
}

fn dest(addr: &str, port: u16, forward: Forward, weight: u32) -> Dest {
    Dest::new(DestKey { addr: ip(addr), port }, forward, weight)
}

fn add(state: &mut LbState, service: Service, dests: Vec<Dest>) {
    let s = state.upsert_service(service);
    for d in dests {
        s.dests.insert(d.key, d);
    }
}

const RS1: &str = "198.51.100.21";
const RS2: &str = "198.51.100.22";
const RS6: &str = "2001:db8::21";
const DR_RS: &str = "198.51.100.31";
const DR_MAC: &str = "02:00:5e:00:53:31";

fn desired() -> LbState {
    let mut s = LbState::default();
    let masq = Forward::Masq;
    // RS2 quiescent: every connection goes to RS1.
    add(
        &mut s,
        Service::new(key(Protocol::Tcp, "192.0.2.80", 80), Scheduler::Wrr),
        vec![dest(RS1, 80, masq, 3), dest(RS2, 80, masq, 0)],
    );
    add(
        &mut s,
        Service::new(key(Protocol::Tcp, "192.0.2.80", 81), Scheduler::Rr),
        vec![dest(RS2, 81, masq, 1)],
    );
    add(
        &mut s,
        Service {
            flags: service_flags::PERSISTENT,
            timeout: 300,
            netmask: 0xffff_ff00,
            ..Service::new(key(Protocol::Tcp, "192.0.2.80", 82), Scheduler::Rr)
        },
        vec![dest(RS1, 82, masq, 1)],
    );
    add(
        &mut s,
        Service::new(key(Protocol::Udp, "192.0.2.80", 53), Scheduler::Rr),
        vec![dest(RS1, 53, masq, 1)],
    );
    add(
        &mut s,
        Service::new(key(Protocol::Tcp, "2001:db8::80", 80), Scheduler::Rr),
        vec![dest(RS6, 80, masq, 1)],
    );
    add(
        &mut s,
        Service::new(
            ServiceKey::Fwmark {
                family: Family::Ipv4,
                mark: 7,
            },
            Scheduler::Sh,
        ),
        vec![dest(RS1, 0, masq, 1)],
    );
    add(
        &mut s,
        Service::new(key(Protocol::Tcp, "192.0.2.90", 80), Scheduler::Rr),
        vec![dest(DR_RS, 80, Forward::Route, 1)],
    );
    s
}

/// Real servers: TCP listeners that hold each connection until the client closes it, and a
/// UDP socket that reads datagrams.
const SERVERS: &str = r#"
import socket, sys, threading, time
def hold(c):
    while c.recv(4096):
        pass
    c.close()
def tcp(addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=hold, args=(c,), daemon=True).start()
def udp(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, port))
    while True:
        s.recvfrom(2048)
for spec in sys.argv[2:]:
    kind, addr, port = spec.split(",")
    threading.Thread(target=tcp if kind == "tcp" else udp, args=(addr, int(port)), daemon=True).start()
time.sleep(0.5)
open(sys.argv[1], "w").write("ready")
time.sleep(3600)
"#;

/// Clients: connections held open, connections closed, a datagram; then a file says done.
const CLIENTS: &str = r#"
import socket, sys, time
def connect(addr, port):
    c = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    c.settimeout(5); c.connect((addr, port)); return c
held = [connect("192.0.2.80", 80), connect("192.0.2.80", 80), connect("192.0.2.80", 81),
        connect("2001:db8::80", 80), connect("192.0.2.81", 9000),
        # a health check, straight to the real server
        connect("198.51.100.21", 80)]
for port in (80, 82, 82):
    c = connect("192.0.2.80", port); c.sendall(b"x"); c.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"q", ("192.0.2.80", 53))
time.sleep(1)
open(sys.argv[1], "w").write("done")
time.sleep(3600)
"#;

fn wait_for(file: &Path, what: &str) {
    let started = Instant::now();
    while !file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not get ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn list(ns: &Netns, args: &[&str]) -> String {
    let bin = support::our_binary();
    let mut all = vec![bin.to_str().unwrap(), "list"];
    all.extend_from_slice(args);
    let out = ns.exec(&all);
    assert!(
        out.status.success(),
        "keepalived-rs list {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "keepalived-rs list {args:?} warned"
    );
    String::from_utf8(out.stdout).unwrap()
}

fn header() -> String {
    format!(
        "keepalived-rs {} nftables data plane (table keepalived_rs_lb)\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[test]
fn nftables_listing_with_conntrack_counts() {
    if !support::can_run(
        "nftables_listing_with_conntrack_counts",
        &["nft", "python3", "ip"],
    ) {
        return;
    }
    let mut ns = Netns::new("kals");
    let dir = std::env::temp_dir().join(format!("ka-list-nft-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    for a in ["192.0.2.80/32", "192.0.2.81/32", RS1, RS2] {
        ns.exec_ok(&["ip", "addr", "add", a, "dev", "lo"]);
    }
    for a in ["2001:db8::80/128", RS6] {
        ns.exec_ok(&["ip", "addr", "add", a, "dev", "lo", "nodad"]);
    }
    // The DR link: a veth pair in the namespace; the real server's MAC is a permanent
    // neighbour entry (the daemon learns it from the neighbour table the same way).
    ns.add_dummy_like("kadr0");
    ns.exec_ok(&["ip", "addr", "add", "198.51.100.1/24", "dev", "kadr0"]);
    ns.exec_ok(&[
        "ip",
        "neigh",
        "add",
        DR_RS,
        "lladdr",
        DR_MAC,
        "dev",
        "kadr0",
        "nud",
        "permanent",
    ]);
    let link_json = ns.exec_ok(&["ip", "-j", "link", "show", "dev", "kadr0"]);
    let our_mac: Mac = serde_json::from_str::<serde_json::Value>(&link_json).unwrap()[0]["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let env = Env {
        dr: Some(DrLink {
            device: "kadr0".into(),
            mac: our_mac,
            neighbours: BTreeMap::from([(ip(DR_RS), DR_MAC.parse().unwrap())]),
        }),
        ..Env::default()
    };
    let ruleset = ka_nft::full_ruleset(&desired(), &env).unwrap();
    let rules = dir.join("lb.nft");
    std::fs::write(&rules, ruleset).unwrap();
    ns.exec_ok(&["nft", "-f", rules.to_str().unwrap()]);
    // The firewall mark of service 7, set by a rule of the operator's (here, the test's).
    let mark_rules = dir.join("mark.nft");
    std::fs::write(
        &mark_rules,
        "table inet ka_list_test {\n  chain set_mark {\n    type route hook output priority mangle; policy accept;\n    ip daddr 192.0.2.81 tcp dport 9000 meta mark set 7\n  }\n}\n",
    )
    .unwrap();
    ns.exec_ok(&["nft", "-f", mark_rules.to_str().unwrap()]);

    // Before any traffic: the table alone.
    let idle = list(&ns, &[]);
    assert!(idle.starts_with(&header()), "{idle}");
    assert!(
        idle.contains("  -> 198.51.100.21:80             Masq    3      0          0         \n"),
        "{idle}"
    );

    let servers = dir.join("servers.py");
    std::fs::write(&servers, SERVERS).unwrap();
    let ready = dir.join("servers.ready");
    ns.spawn(&[
        "python3",
        servers.to_str().unwrap(),
        ready.to_str().unwrap(),
        &format!("tcp,{RS1},80"),
        &format!("tcp,{RS1},82"),
        &format!("tcp,{RS1},9000"),
        &format!("tcp,{RS2},81"),
        &format!("tcp,{RS6},80"),
        &format!("udp,{RS1},53"),
    ]);
    wait_for(&ready, "the real servers");
    let clients = dir.join("clients.py");
    std::fs::write(&clients, CLIENTS).unwrap();
    let done = dir.join("clients.done");
    ns.spawn(&["python3", clients.to_str().unwrap(), done.to_str().unwrap()]);
    wait_for(&done, "the clients");

    let expected_plain = header()
        + concat!(
            "Prot LocalAddress:Port Scheduler Flags\n",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
            "TCP  192.0.2.80:80 wrr\n",
            "  -> 198.51.100.21:80             Masq    3      2          1         \n",
            "  -> 198.51.100.22:80             Masq    0      0          0         \n",
            "TCP  192.0.2.80:81 rr\n",
            "  -> 198.51.100.22:81             Masq    1      1          0         \n",
            "TCP  192.0.2.80:82 rr persistent 300 mask 255.255.255.0\n",
            "  -> 198.51.100.21:82             Masq    1      0          2         \n",
            "TCP  192.0.2.90:80 rr\n",
            "  -> 198.51.100.31:80             Route   1      0          0         \n",
            "UDP  192.0.2.80:53 rr\n",
            "  -> 198.51.100.21:53             Masq    1      0          1         \n",
            "TCP  [2001:db8::80]:80 rr\n",
            "  -> [2001:db8::21]:80            Masq    1      1          0         \n",
            "FWM  7 sh\n",
            "  -> 198.51.100.21:0              Masq    1      1          0         \n",
        );
    let plain = list(&ns, &[]);
    assert_eq!(plain, expected_plain, "plain listing:\n{plain}");
    // ipvsadm's spelling.
    let bin = support::our_binary();
    let out = ns.exec(&[bin.to_str().unwrap(), "-Ln"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected_plain);

    let persistent = list(&ns, &["--persistent-conn", "-t", "192.0.2.80:82"]);
    assert_eq!(
        persistent,
        concat!(
            "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n",
            "  -> RemoteAddress:Port\n",
            "TCP  192.0.2.80:82 rr persistent 300 mask 255.255.255.0\n",
            "  -> 198.51.100.21:82             1         1           0          2         \n",
        )
    );
    // No counters in our ruleset: zeros, in ipvsadm's columns.
    let stats = list(&ns, &["--stats", "-f", "7"]);
    assert_eq!(
        stats,
        concat!(
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
            "  -> RemoteAddress:Port\n",
            "FWM  7                                   0        0        0        0        0\n",
            "  -> 198.51.100.21:0                     0        0        0        0        0\n",
        )
    );
    // A service that is not there: ipvsadm's words and status.
    let out = ns.exec(&[bin.to_str().unwrap(), "list", "-u", "192.0.2.80:54"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "No such service\n");

    let _ = std::fs::remove_dir_all(&dir);
}

/// The daemon runs with one process-wide table; its output goes to a file.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `list` until it prints `expected` (the daemon's checks and conntrack take a moment).
fn list_until(ns: &Netns, expected: &str, log: &Path) {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(30) {
        let bin = support::our_binary();
        let out = ns.exec(&[bin.to_str().unwrap(), "list"]);
        last = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if last == expected {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "keepalived-rs list never printed\n{expected}last:\n{last}daemon log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

#[test]
fn the_daemons_nftables_table_is_what_list_shows() {
    if !support::can_run(
        "the_daemons_nftables_table_is_what_list_shows",
        &["nft", "python3", "ip"],
    ) {
        return;
    }
    let mut ns = Netns::new("kald");
    let dir = std::env::temp_dir().join(format!("ka-list-daemon-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for a in ["192.0.2.80/32", RS1, RS2] {
        ns.exec_ok(&["ip", "addr", "add", a, "dev", "lo"]);
    }
    let servers = dir.join("servers.py");
    std::fs::write(&servers, SERVERS).unwrap();
    let ready = dir.join("servers.ready");
    // RS2 has no server: its check fails and inhibit_on_failure leaves it at weight 0.
    ns.spawn(&[
        "python3",
        servers.to_str().unwrap(),
        ready.to_str().unwrap(),
        &format!("tcp,{RS1},80"),
    ]);
    wait_for(&ready, "the real server");
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        format!(
            "virtual_server 192.0.2.80 80 {{\n    delay_loop 1\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n\
             \x20   real_server {RS1} 80 {{\n        weight 2\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n\
             \x20   real_server {RS2} 80 {{\n        weight 1\n        inhibit_on_failure\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n        }}\n    }}\n}}\n"
        ),
    )
    .unwrap();
    let log = dir.join("daemon.log");
    let file = std::fs::File::create(&log).unwrap();
    let bin = support::our_binary();
    let _daemon = Daemon(
        ns.command(bin.to_str().unwrap())
            .args(["-n", "-l", "-C", "--dataplane", "nftables", "-f"])
            .arg(&conf)
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap(),
    );
    let table = |active: u32| {
        header()
            + "Prot LocalAddress:Port Scheduler Flags\n\
               \x20 -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
               TCP  192.0.2.80:80 wrr\n"
            + &format!("  -> 198.51.100.21:80             Masq    2      {active:<10} 0         \n")
            + "  -> 198.51.100.22:80             Masq    0      0          0         \n"
    };
    // `list` without --dataplane: our table exists, so it is what is listed. The health
    // checks' own connections to the real servers are not counted.
    list_until(&ns, &table(0), &log);
    let clients = dir.join("hold.py");
    std::fs::write(
        &clients,
        "import socket, sys, time\nc = socket.create_connection((\"192.0.2.80\", 80), 5)\nopen(sys.argv[1], \"w\").write(\"done\")\ntime.sleep(3600)\n",
    )
    .unwrap();
    let done = dir.join("hold.done");
    ns.spawn(&["python3", clients.to_str().unwrap(), done.to_str().unwrap()]);
    wait_for(&done, "the client");
    list_until(&ns, &table(1), &log);

    // The same numbers as node_exporter's IPVS series, for LVS dashboards. Scraped until
    // RS1's first check (delay_loop 1 s after the start) has been counted too.
    let count = |metrics: &str, result: &str| {
        let prefix = format!("keepalived_checker_checks_total{{type=\"TCP_CHECK\",result=\"{result}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let started = Instant::now();
    let metrics = loop {
        let out = ns.exec(&[bin.to_str().unwrap(), "ctl", "metrics"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let metrics = String::from_utf8_lossy(&out.stdout).into_owned();
        if count(&metrics, "success") >= 1.0 || started.elapsed() > Duration::from_secs(10) {
            break metrics;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let labels = |rs: &str| {
        format!("{{local_address=\"192.0.2.80\",local_port=\"80\",remote_address=\"{rs}\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\"}}")
    };
    for expected in [
        format!("node_ipvs_backend_connections_active{} 1\n", labels(RS1)),
        format!("node_ipvs_backend_weight{} 2\n", labels(RS1)),
        format!("node_ipvs_backend_weight{} 0\n", labels(RS2)),
        format!("node_ipvs_backend_connections_inactive{} 0\n", labels(RS2)),
    ] {
        assert!(metrics.contains(&expected), "missing {expected}in\n{metrics}");
    }
    // Both real servers' checks were counted: RS1's passed, RS2's (nothing listens) failed.
    assert!(
        count(&metrics, "success") >= 1.0 && count(&metrics, "failure") >= 1.0,
        "{metrics}"
    );
    assert!(metrics.contains("keepalived_checker_duration_seconds_count{type=\"TCP_CHECK\"} "));
    support::check_prometheus_text(&metrics);
    // The status answer, checks included, still matches the documented schema.
    let out = ns.exec(&[bin.to_str().unwrap(), "ctl", "status"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        status["checks"]["TCP_CHECK"]["success"].as_u64().unwrap() >= 1,
        "{status}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
