//! ka-net against the real kernel, each test in a fresh network namespace of its own
//! (unshare(CLONE_NEWNET) in a dedicated thread: it disappears with the thread).
//! Needs root; skipped with a loud message otherwise (a failure under KA_REQUIRE_TOOLS).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use ka_net::frame_socket::FrameSocket;
use ka_net::monitor::{self, NetEvent};
use ka_net::netlink::{AddressSpec, Netlink, RouteSpec, RuleSpec};
use ka_net::vrrp_socket::{default_group, RecvSocket, SendSocket};
use ka_units::Centiseconds;
use ka_wire::rx::{self, emit_ipv4_advert, Received};
use ka_wire::vrrp::{
    encode_addresses, pass_auth_data, Addresses, AuthType, ChecksumMode, Family, Repr, Version,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::time::Duration;

fn root() -> bool {
    let ok = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("KA_REQUIRE_TOOLS").is_some() {
            panic!("ka-net kernel tests need root (KA_REQUIRE_TOOLS is set)");
        }
        eprintln!("\n*** SKIPPED ka-net kernel tests: need root ***\n");
    }
    ok
}

/// Runs `f` in a new network namespace with two veth ends, `a0` (192.0.2.1/24,
/// 2001:db8::1/64) and `b0` (192.0.2.2/24, 2001:db8::2/64), on a current-thread runtime.
fn in_fresh_netns<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        let sh = |cmd: &str| {
            let st = Command::new("sh").arg("-c").arg(cmd).status().unwrap();
            assert!(st.success(), "{cmd}");
        };
        sh("ip link set lo up");
        sh("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
        sh("ip link add a0 type veth peer name b0");
        sh("ip addr add 192.0.2.1/24 dev a0 && ip addr add 2001:db8::1/64 dev a0");
        sh("ip addr add 192.0.2.2/24 dev b0 && ip addr add 2001:db8::2/64 dev b0");
        sh("ip link set a0 up && ip link set b0 up");
        // Both ends live in one namespace, so b0 sees a0's packets as coming from a local
        // address; let it accept them (keepalived sets accept_local on VMACs for the same
        // reason).
        sh("sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.b0.rp_filter=0 net.ipv4.conf.b0.accept_local=1");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(f());
    })
    .join()
    .expect("test thread");
}

fn ifindex(name: &str) -> u32 {
    // /sys shows the namespace it was mounted in; the ioctl answers for ours.
    nix::net::if_::if_nametoindex(name).unwrap()
}

/// Packets received by an interface, from /proc/net/dev as a child process in our namespace
/// sees it.
fn rx_packets(name: &str) -> u64 {
    let out = Command::new("cat").arg("/proc/net/dev").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{name}:")))
        .unwrap()
        .to_string();
    line.split(':')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

fn link_local(name: &str) -> Ipv6Addr {
    let out = Command::new("ip")
        .args(["-6", "-o", "addr", "show", "dev", name, "scope", "link"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let addr = text
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .unwrap();
    addr.split('/').next().unwrap().parse().unwrap()
}

async fn recv_one(sock: &mut RecvSocket, buf: &mut [u8]) -> ka_net::vrrp_socket::RecvMeta {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            std::future::poll_fn(|cx| sock.poll_readable(cx)).await.unwrap();
            if let Some(meta) = sock.try_recv(buf).unwrap() {
                return meta;
            }
        }
    })
    .await
    .expect("advert within 5 s")
}

#[test]
fn ipv4_advert_crosses_a_veth_with_ttl_255_and_validates() {
    if !root() {
        return;
    }
    in_fresh_netns(|| async {
        let (ia, ib) = (ifindex("a0"), ifindex("b0"));
        let mut rx_sock =
            RecvSocket::open(Family::Ipv4, "b0", ib, Some(default_group(Family::Ipv4))).unwrap();
        let tx = SendSocket::open(Family::Ipv4, "a0", ia, None).unwrap();
        // The receiving side's own sender, which must not queue what arrives.
        let other_sender = SendSocket::open(Family::Ipv4, "b0", ib, None).unwrap();
        let vip = encode_addresses(Family::Ipv4, &["192.0.2.99".parse().unwrap()]);
        let repr = Repr {
            version: Version::V2,
            vrid: 51,
            priority: 101,
            interval: Centiseconds::ONE_SECOND,
            auth_type: AuthType::Pass,
            auth_data: pass_auth_data(b"keepsync"),
            addresses: Addresses::new(Family::Ipv4, &vip).unwrap(),
        };
        let mut out = [0u8; 64];
        let n = emit_ipv4_advert(
            &mut out,
            &repr,
            Ipv4Addr::new(192, 0, 2, 1),
            ka_wire::vrrp::MULTICAST_V4,
            255,
            0,
            false,
        )
        .unwrap();
        tx.send(&out[..n], IpAddr::V4(ka_wire::vrrp::MULTICAST_V4))
            .unwrap();
        let mut buf = [0u8; 2048];
        let meta = recv_one(&mut rx_sock, &mut buf).await;
        let got = &buf[..meta.len];
        assert_eq!(got[8], 255, "TTL 255 on the wire");
        assert_eq!(got[1], 0xc0, "TOS internet control");
        let received = Received {
            family: Family::Ipv4,
            bytes: got,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            hop_limit: None,
        };
        let at = rx::locate(&received).unwrap();
        assert_eq!(at.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        let packet = ka_wire::vrrp::Packet::new_checked(at.vrrp, Family::Ipv4).unwrap();
        assert!(packet.checksum_ok(ChecksumMode::Plain));
        assert_eq!(Repr::parse(&packet).unwrap(), repr);
        // Nothing else queued (our own multicast does not loop back).
        assert!(rx_sock.try_recv(&mut buf).unwrap().is_none());
        // A sender's socket takes no copy of the adverts the machine receives.
        assert!(
            !other_sender.has_queued(),
            "the send socket queued a received advert"
        );
    });
}

#[test]
fn ipv6_advert_gets_kernel_checksum_hop_limit_and_destination() {
    if !root() {
        return;
    }
    in_fresh_netns(|| async {
        let (ia, ib) = (ifindex("a0"), ifindex("b0"));
        let src = link_local("a0");
        let mut rx_sock =
            RecvSocket::open(Family::Ipv6, "b0", ib, Some(default_group(Family::Ipv6))).unwrap();
        let tx = SendSocket::open(Family::Ipv6, "a0", ia, Some(IpAddr::V6(src))).unwrap();
        let vip = encode_addresses(Family::Ipv6, &["2001:db8::99".parse().unwrap()]);
        let repr = Repr {
            version: Version::V3,
            vrid: 54,
            priority: 200,
            interval: Centiseconds::new(10),
            auth_type: AuthType::None,
            auth_data: [0; 8],
            addresses: Addresses::new(Family::Ipv6, &vip).unwrap(),
        };
        let mut out = [0u8; 64];
        // Checksum left for the kernel to fill in (we pass a wrong pseudo-header on purpose).
        let n = repr.emit(&mut out, ChecksumMode::Plain).unwrap();
        tx.send(&out[..n], default_group(Family::Ipv6)).unwrap();
        let mut buf = [0u8; 2048];
        let meta = recv_one(&mut rx_sock, &mut buf).await;
        assert_eq!(meta.src, Some(IpAddr::V6(src)));
        assert_eq!(meta.dst, Some(default_group(Family::Ipv6)));
        assert_eq!(meta.hop_limit, Some(255));
        let packet = ka_wire::vrrp::Packet::new_checked(&buf[..meta.len], Family::Ipv6).unwrap();
        let mode = ChecksumMode::PseudoHeader {
            src: IpAddr::V6(src),
            dst: default_group(Family::Ipv6),
        };
        assert!(
            packet.checksum_ok(mode),
            "the kernel computed the RFC 8200 checksum"
        );
        assert_eq!(Repr::parse(&packet).unwrap(), repr);
    });
}

#[test]
fn netlink_adds_and_removes_addresses_routes_rules_and_reports_them() {
    if !root() {
        return;
    }
    in_fresh_netns(|| async {
        let nl = Netlink::connect().unwrap();
        let mut events = monitor::subscribe().unwrap();
        let ia = ifindex("a0");
        let links = nl.links().await.unwrap();
        let a0 = links.iter().find(|l| l.name == "a0").unwrap();
        assert!(a0.is_up() && a0.mac.is_some());
        let vip = AddressSpec {
            index: ia,
            addr: "192.0.2.99".parse().unwrap(),
            prefix_len: 32,
            broadcast: None,
            label: Some("a0:vip".into()),
            scope: 0,
            peer: None,
            flags: 0,
            preferred_lft: None,
        };
        nl.add_address(&vip).await.unwrap();
        let addrs = nl.addresses().await.unwrap();
        let found = addrs.iter().find(|a| a.addr == vip.addr).unwrap();
        assert_eq!(
            (found.index, found.prefix_len, found.label.as_deref()),
            (ia, 32, Some("a0:vip"))
        );
        // Adding twice is refused (EEXIST), as `ip addr add` does.
        assert!(nl.add_address(&vip).await.is_err());
        let v6 = AddressSpec {
            addr: "2001:db8::99".parse().unwrap(),
            prefix_len: 128,
            label: None,
            flags: ka_net::netlink::IFA_F_NODAD,
            preferred_lft: Some(0),
            ..vip.clone()
        };
        nl.add_address(&v6).await.unwrap();
        let shown = String::from_utf8_lossy(
            &Command::new("ip")
                .args(["-6", "addr", "show", "dev", "a0"])
                .output()
                .unwrap()
                .stdout,
        )
        .into_owned();
        assert!(
            shown.contains("2001:db8::99/128") && shown.contains("deprecated"),
            "{shown}"
        );

        let route = RouteSpec {
            dst: Some(("198.51.100.0".parse().unwrap(), 24)),
            gateway: Some("192.0.2.2".parse().unwrap()),
            oif: Some(ia),
            table: Some(100),
            metric: Some(5),
            ..Default::default()
        };
        nl.add_route(&route).await.unwrap();
        let shown = String::from_utf8_lossy(
            &Command::new("ip")
                .args(["route", "show", "table", "100"])
                .output()
                .unwrap()
                .stdout,
        )
        .into_owned();
        assert!(
            shown.contains("198.51.100.0/24 via 192.0.2.2 dev a0") && shown.contains("metric 5"),
            "{shown}"
        );
        let rule = RuleSpec {
            from: Some(("192.0.2.0".parse().unwrap(), 24)),
            table: Some(100),
            priority: Some(1000),
            ..Default::default()
        };
        nl.add_rule(&rule).await.unwrap();
        let shown =
            String::from_utf8_lossy(&Command::new("ip").args(["rule", "show"]).output().unwrap().stdout)
                .into_owned();
        assert!(shown.contains("1000:\tfrom 192.0.2.0/24 lookup 100"), "{shown}");
        nl.del_rule(&rule).await.unwrap();
        nl.del_route(&route).await.unwrap();
        nl.del_address(&v6).await.unwrap();
        nl.del_address(&vip).await.unwrap();
        assert!(!nl.addresses().await.unwrap().iter().any(|a| a.addr == vip.addr));

        // The monitor saw the VIP come and go.
        let mut seen_add = false;
        let mut seen_del = false;
        while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(500), events.recv()).await {
            match e {
                NetEvent::AddressAdded(a) if a.addr == vip.addr => seen_add = true,
                NetEvent::AddressRemoved(a) if a.addr == vip.addr => seen_del = true,
                _ => {}
            }
        }
        assert!(seen_add && seen_del);
    });
}

#[test]
fn macvlan_with_virtual_mac_and_link_events() {
    if !root() {
        return;
    }
    in_fresh_netns(|| async {
        let nl = Netlink::connect().unwrap();
        let mut events = monitor::subscribe().unwrap();
        let ia = ifindex("a0");
        let mac = ka_wire::MacAddr::vrrp_virtual(51, false);
        nl.add_macvlan(
            "vrrp.51",
            ia,
            mac,
            netlink_packet_route::link::MacVlanMode::Private,
        )
        .await
        .unwrap();
        let links = nl.links().await.unwrap();
        let v = links.iter().find(|l| l.name == "vrrp.51").unwrap();
        assert_eq!(v.mac, Some(mac));
        assert_eq!(v.kind.as_deref(), Some("macvlan"));
        assert_eq!(v.parent, Some(ia));
        nl.set_link_up(v.index, true).await.unwrap();
        nl.set_link_up(ia, false).await.unwrap();
        let mut saw_down = false;
        while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(500), events.recv()).await {
            if let NetEvent::Link(l) = e {
                if l.index == ia && !l.is_up() {
                    saw_down = true;
                }
            }
        }
        assert!(saw_down, "a0 going down is reported");
        nl.delete_link(v.index).await.unwrap();
        assert!(!nl.links().await.unwrap().iter().any(|l| l.name == "vrrp.51"));
    });
}

#[test]
fn gratuitous_arp_frame_leaves_the_interface() {
    if !root() {
        return;
    }
    in_fresh_netns(|| async {
        let ia = ifindex("a0");
        // Count frames received by the other end of the veth before and after.
        let rx_before = rx_packets("b0");
        let sock = FrameSocket::open().unwrap();
        let mac = ka_wire::MacAddr([2, 0, 0, 0, 0, 1]);
        let mut frame = [0u8; ka_wire::arp::FRAME_LEN];
        ka_wire::arp::Repr::gratuitous(mac, Ipv4Addr::new(192, 0, 2, 99))
            .emit_frame(&mut frame)
            .unwrap();
        for _ in 0..3 {
            sock.send(ia, &frame).unwrap();
        }
        let mut na = [0u8; ka_wire::ndisc::FRAME_LEN];
        ka_wire::ndisc::Repr::unsolicited("2001:db8::99".parse::<Ipv6Addr>().unwrap(), mac, false)
            .emit_frame(&mut na, mac)
            .unwrap();
        sock.send(ia, &na).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rx_after = rx_packets("b0");
        assert!(rx_after >= rx_before + 4, "{rx_before} -> {rx_after}");
    });
}
