//! `keepalived-rs realserver`: the seed's DR real-server preparation as a command, in a
//! namespace of its own: idempotent `up`, `status`, and `down` restoring what was there.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use support::Netns;

fn rs(ns: &Netns, args: &[&str]) -> (i32, String) {
    let out = ns
        .command(support::our_binary().to_str().unwrap())
        .arg("realserver")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn realserver_up_is_idempotent_and_down_restores() {
    if !support::can_run("realserver", &["ip"]) {
        return;
    }
    let ns = Netns::new("kr");
    let sysctl = |name: &str| {
        ns.exec_ok(&["cat", &format!("/proc/sys/net/ipv4/conf/all/{name}")])
            .trim()
            .to_string()
    };
    // Something of the operator's own to restore: arp_announce was 1.
    ns.exec_ok(&["sysctl", "-qw", "net.ipv4.conf.all.arp_announce=1"]);

    let (code, out) = rs(&ns, &["--vip", "192.0.2.99", "status"]);
    assert_eq!(code, 3, "not up yet: {out}");
    let (code, out) = rs(&ns, &["--vip", "192.0.2.99", "up"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        (sysctl("arp_ignore"), sysctl("arp_announce")),
        ("1".into(), "2".into())
    );
    let (code, out) = rs(&ns, &["--vip", "192.0.2.99", "up"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("added"), "second up changes nothing: {out}");
    let (code, out) = rs(&ns, &["--vip", "2001:db8::99", "up"]);
    assert_eq!(code, 0, "{out}");
    let lo = ns.exec_ok(&["ip", "-br", "addr", "show", "dev", "lo"]);
    assert!(
        lo.contains("192.0.2.99/32") && lo.contains("2001:db8::99/128"),
        "{lo}"
    );
    let (code, out) = rs(&ns, &["--vip", "192.0.2.99", "status"]);
    assert_eq!(code, 0, "{out}");

    // One VIP down: its address goes, the shared sysctls stay for the other.
    let (code, out) = rs(&ns, &["--vip", "192.0.2.99", "down"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(sysctl("arp_ignore"), "1");
    // The last one down: everything as it was, the operator's arp_announce 1 included.
    let (code, out) = rs(&ns, &["--vip", "2001:db8::99", "down"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        (sysctl("arp_ignore"), sysctl("arp_announce")),
        ("0".into(), "1".into())
    );
    let lo = ns.exec_ok(&["ip", "-br", "addr", "show", "dev", "lo"]);
    assert!(!lo.contains("192.0.2.99") && !lo.contains("2001:db8::99"), "{lo}");
    let (code, out) = rs(&ns, &["--vip", "192.0.2.99", "down"]);
    assert_eq!(code, 0, "down twice is fine: {out}");
}
