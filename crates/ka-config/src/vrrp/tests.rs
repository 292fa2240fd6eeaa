//! Whole-configuration tests of the VRRP side. Expected messages, lines and exit codes were
//! checked against keepalived 2.2.7 `-t` (Debian build) unless a comment says otherwise.

use crate::cx::Cx;
use crate::diag::{Class, Diagnostics};
use crate::host::MemoryHost;
use crate::syntax::Statement;
use crate::vrrp::instance::InitialState;
use crate::vrrp::AddressFamily;
use ka_units::Micros;
use std::path::Path;

/// Parses `text` into statements and runs `f` with a fresh [`Cx`], for block-level tests
/// that look at a parser's output before validation.
pub(crate) fn with_cx<R>(text: &str, f: impl FnOnce(&mut Cx<'_>, &[Statement]) -> R) -> (R, Vec<String>) {
    let host = MemoryHost::new().with_file("/k.conf", text);
    let mut diags = Diagnostics::default();
    let mut pp = crate::preprocess::Preprocessor::new(&host, &Default::default());
    pp.open_main(Path::new("/k.conf"), &mut diags);
    let tree = crate::syntax::build_tree(&mut pp, &mut diags);
    let r = {
        let mut cx = Cx::new(&mut diags, &host);
        f(&mut cx, &tree)
    };
    let msgs = diags.into_vec().iter().map(|d| d.message.clone()).collect();
    (r, msgs)
}

/// A diagnostic as "line:column Class message" (no position: "- Class message").
pub(crate) fn show(d: &crate::diag::Diagnostic) -> String {
    let pos = d
        .span
        .as_ref()
        .map_or_else(|| "-".to_string(), |s| format!("{}:{}", s.line, s.column));
    format!("{pos} {:?} {}", d.class, d.message)
}

/// Loads `text` as /k.conf on a machine with `ifaces` (None: interfaces not checked).
pub(crate) fn load(text: &str, ifaces: Option<&[&str]>) -> crate::Loaded {
    let mut host = MemoryHost::new().with_file("/k.conf", text);
    if let Some(i) = ifaces {
        host = host.with_interfaces(i);
    }
    crate::load(Path::new("/k.conf"), &Default::default(), &host)
}

/// The diagnostics keepalived would print (not our notes), shown with [`show`].
pub(crate) fn errors(l: &crate::Loaded) -> Vec<String> {
    l.diagnostics
        .iter()
        .filter(|d| d.class.counts_for_exit_code())
        .map(show)
        .collect()
}

/// Diff harness: `KA_DIFF=/path/to/keepalived.conf cargo test -p ka-config --lib
/// diff_harness -- --ignored --nocapture` prints what keepalived-rs says as `KA|LINE|message`
/// and `KA|EXIT|n`, checking interfaces against this machine like `keepalived -t` does, so
/// that it can be compared line by line with `keepalived -t -f FILE` (whose messages read
/// `(FILE: Line N) message`). The expectations in this file were obtained that way.
#[test]
#[ignore]
fn diff_harness() {
    let Ok(path) = std::env::var("KA_DIFF") else {
        return;
    };
    let host = crate::host::SystemHost {
        check_interfaces: true,
    };
    let l = crate::load(Path::new(&path), &Default::default(), &host);
    for d in &l.diagnostics {
        if !d.class.counts_for_exit_code() {
            continue;
        }
        let line = d
            .span
            .as_ref()
            .map_or_else(|| "-".to_string(), |s| s.line.to_string());
        println!("KA|{line}|{}", d.message);
    }
    println!("KA|EXIT|{}", l.test_exit_code());
}

#[test]
fn class_of_general_errors_is_keepalived_s() {
    let l = load("vrrp_instance VI_1 {\n virtual_router_id 300\n}\n", None);
    let d = &l.diagnostics;
    assert_eq!(d[0].class, Class::InvalidNumber);
    assert_eq!(d[1].class, Class::General);
}

/// The interfaces of the machine most tests run on.
const IFACES: &[&str] = &["eth0", "eth1", "ifb0", "lo"];

/// The seed cluster's master (Debian keepalived 2.2.7 accepts it with exit 5 because of the
/// strict-mode adjustments).
const SEED: &str = "! Configuration File for keepalived

global_defs {
   router_id LVS_11
   vrrp_skip_check_adv_addr
   vrrp_strict
   vrrp_garp_interval 0
   vrrp_gna_interval 0
}

vrrp_instance VI_1 {
    state MASTER
    interface enp0s3
    virtual_router_id 51
    priority 101
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass keepsync
    }
    virtual_ipaddress {
        192.168.1.99
    }
}
";

#[test]
fn seed_instance_under_vrrp_strict() {
    let l = load(SEED, Some(&["enp0s3"]));
    let e = errors(&l);
    // keepalived prints these two after parsing, without a line: we place them on the
    // instance.
    assert!(
        e.contains(&"11:1 General (VI_1) State MASTER must match being address owner".to_string()),
        "{e:?}"
    );
    assert!(
        e.contains(&"11:1 General (VI_1) Strict mode does not support authentication. Ignoring.".to_string())
    );
    let pos_state = e.iter().position(|m| m.contains("State MASTER")).unwrap();
    let pos_auth = e.iter().position(|m| m.contains("authentication")).unwrap();
    assert!(pos_state < pos_auth, "keepalived reports the state first");
    assert_eq!(l.test_exit_code(), 5);
    let v = &l.config.vrrp.vrrp_instance[0];
    assert_eq!((v.virtual_router_id, v.priority, v.version), (51, 101, 2));
    assert_eq!(v.advert_int, ka_units::Centiseconds::ONE_SECOND);
    assert_eq!(v.state, Some(InitialState::Backup));
    assert_eq!(v.auth_type, None);
    assert!(v.has_auth_pass, "the password was read, but is not used");
    assert_eq!(v.strict_mode, Some(true));
    assert_eq!(v.accept, Some(false));
    assert_eq!(v.lower_prio_no_advert, Some(true));
    assert_eq!(v.higher_prio_send_advert, Some(false));
    assert_eq!(v.garp_lower_prio_repeat, Some(0));
    assert_eq!(v.garp_lower_prio_delay, Some(Micros::ZERO));
    assert!(v.skip_check_adv_addr);
    assert_eq!(v.mcast_dst_ip, Some("224.0.0.18".parse().unwrap()));
    assert_eq!(v.family, Some(AddressFamily::Ipv4));
    assert_eq!(
        v.virtual_ipaddress[0].addr,
        "192.168.1.99".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(v.unicast_ttl, Some(255));
    assert!(l.config.vrrp.rejected.is_none());
}

#[test]
fn old_sync_group_syntax_without_group_block() {
    // keepalived.conf.vrrp.lvs_syncd: members listed without `group { }`.
    let conf = "! Configuration File for keepalived

vrrp_sync_group VG1 {
  VI_2
  VI_3
}

vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {
        192.168.200.19
    }
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        [
            "4:3 UnknownKeyword Unknown keyword 'VI_2'",
            "5:3 UnknownKeyword Unknown keyword 'VI_3'",
            "3:1 General Sync group VG1 has no virtual router(s). removing",
        ]
    );
    assert!(l.config.vrrp.vrrp_sync_group.is_empty());
    assert_eq!(l.test_exit_code(), 5);
}

#[test]
fn routes_sample() {
    // keepalived.conf.vrrp.routes, with the missing interfaces renamed to existing ones.
    let conf = "vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.200.16
    }
    virtual_routes {
        src 192.168.100.1 192.168.109.0/24 via 192.168.200.254 dev eth1
        192.168.111.0/24 dev eth1
        192.168.112.0/24 via 192.168.100.254
        192.168.113.0/24 via 192.168.100.252 or 192.168.100.253
\tblackhole 192.168.113.1/32
        0.0.0.0/0 gw 192.168.0.1 table 100  # To set a default gateway into table 100.
    }
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        [
            "12:9 General Warning - cannot track route 192.168.112.0/24 with no interface specified, not tracking",
            "13:46 General \"or\" for routes is deprecated. Please use \"nexthop\"",
            "13:9 General Warning - cannot track route 192.168.113.0/24 with no interface specified, not tracking",
            "14:2 General Warning - cannot track route 192.168.113.1/32 with no interface specified, not tracking",
            "15:19 General \"gw\" for routes is deprecated. Please use \"via\"",
            "15:9 General Warning - cannot track route 0.0.0.0/0 with no interface specified, not tracking",
        ]
    );
    let r = &l.config.vrrp.vrrp_instance[0].virtual_routes;
    assert_eq!(r.len(), 6);
    assert_eq!(r[0].src, Some("192.168.100.1".parse().unwrap()));
    assert_eq!(r[0].dev.as_deref(), Some("eth1"));
    assert!(!r[0].no_track);
    assert_eq!(r[3].nexthops.len(), 2);
    assert_eq!(r[4].r#type, 6);
    assert_eq!((r[5].table, r[5].no_track, r[5].protocol), (100, true, Some(18)));
}

#[test]
fn rules_sample() {
    // keepalived.conf.vrrp.rules: rules without preference, and an invalid address.
    let conf = "static_rules {
    from 192.168.100.0/24 table 1
    to 192.168.100./24 table 1
}

vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.168.200.16
    }
    virtual_rules {
        from 192.168.200.0/24 table 2
        to 192.168.200./24 table 2
    }
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        [
            "2:5 General Rule has no preference specified - setting to 16384. This is probably not what you want.",
            "3:8 General VRRP parsed invalid IP 192.168.100./24. skipping IP...",
            "3:8 General Invalid rule to address 192.168.100./24",
            "13:9 General Rule has no preference specified - setting to 16383. This is probably not what you want.",
            "14:12 General VRRP parsed invalid IP 192.168.200./24. skipping IP...",
            "14:12 General Invalid rule to address 192.168.200./24",
        ]
    );
    assert_eq!(l.config.vrrp.static_rules[0].preference, 16384);
    assert_eq!(l.config.vrrp.vrrp_instance[0].virtual_rules[0].preference, 16383);
}

#[test]
fn track_script_of_a_removed_script() {
    // keepalived.conf.conditional_conf run without -i: the `script` lines are filtered out,
    // so the vrrp_script is removed and the instance cannot track it.
    let conf = "@high net_namespace high

vrrp_script check_VI_0 {
@high\tscript /etc/keepalived/scripts/check_high_VI_0.sh
\tinterval 1
\trise 3
}

vrrp_instance VI_0 {
\tinterface eth0
\tvirtual_router_id 1
\tversion 3
\ttrack_script {
\t\tcheck_VI_0
\t}
\ttrack_interface {
\t\teth3
\t}
\tvirtual_ipaddress {
\t\t10.1.0.254/32
\t}
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        [
            "7:1 General No script set for vrrp_script check_VI_0 - removing",
            "14:3 General (VI_0) track script check_VI_0 not found, ignoring...",
            "17:3 General (VI_0) tracked interface eth3 doesn't exist",
            "17:3 BadInterface Non-existent interface specified in configuration",
        ]
    );
    assert_eq!(
        l.config.vrrp.rejected.as_deref(),
        Some("Non-existent interface specified in configuration")
    );
}

#[test]
fn duplicate_vrid_on_an_interface() {
    let conf = "vrrp_instance A {
 interface eth0
 virtual_router_id 51
 virtual_ipaddress {
  10.0.0.1
 }
}
vrrp_instance B {
 interface eth0
 virtual_router_id 51
 virtual_ipaddress {
  10.0.0.2
 }
}
vrrp_instance C {
 interface eth0
 virtual_router_id 51
 mcast_dst_ip 224.0.0.19
 virtual_ipaddress {
  10.0.0.3
 }
}
vrrp_instance D {
 interface eth1
 virtual_router_id 51
 virtual_ipaddress {
  10.0.0.4
 }
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        ["8:1 General A and B both use VRID 51 with IPv4 on interface eth0"]
    );
    assert!(
        l.config.vrrp.rejected.is_some(),
        "keepalived refuses a VRID conflict"
    );
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.class == Class::Lint && d.code == "vrrp-config-rejected"));
}

/// One configuration line inside a minimal valid instance, and what keepalived says about it.
fn instance_with(line: &str) -> Vec<String> {
    let conf = format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{line}\n virtual_ipaddress {{\n  10.0.0.1\n }}\n}}\n"
    );
    errors(&load(&conf, Some(IFACES)))
}

#[test]
fn instance_keyword_messages() {
    // Line 4 is the tested line; the instance is at 1:1. All checked with keepalived -t.
    let cases: &[(&str, &[&str])] = &[
        (" virtual_router_id 0", &[
            "4:20 InvalidNumber number '0' outside range [1, 255]",
            "4:20 General (VI_1): VRID '0' not valid - must be between 1 & 255",
        ]),
        (" virtual_router_id 256", &[
            "4:20 InvalidNumber number '256' outside range [1, 255]",
            "4:20 General (VI_1): VRID '256' not valid - must be between 1 & 255",
        ]),
        (" priority 0", &[
            "4:11 InvalidNumber number '0' outside range [1, 255]",
            "4:11 General (VI_1) Priority not valid! must be between 1 & 255. Using default 100",
        ]),
        (" priority 256", &[
            "4:11 InvalidNumber number '256' outside range [1, 255]",
            "4:11 General (VI_1) Priority not valid! must be between 1 & 255. Using default 100",
        ]),
        (" state master", &["4:8 General (VI_1) unknown state 'master', defaulting to BACKUP"]),
        (" state MASTER\n state BACKUP", &[
            "5:8 General (VI_1) state previously set as MASTER - ignoring BACKUP",
        ]),
        (" advert_int 0", &[
            "4:13 InvalidNumber number '0' outside range [0.010000, 255.000000]",
            "4:13 General (VI_1) Advert interval (0) not valid! Must be > 0 - ignoring",
        ]),
        (" advert_int 1.5", &["1:1 General (VI_1) VRRPv2 advertisement interval 1.500000s must be an integer. rounding"]),
        (" version 3\n advert_int 0.015", &[
            "1:1 General (VI_1) VRRPv3 advertisement interval 0.015000s must be in units of 10ms - rounding",
        ]),
        (" version 4", &[
            "4:10 InvalidNumber number '4' outside range [2, 3]",
            "4:10 General (VI_1): Version must be either 2 or 3",
        ]),
        (" version 3\n version 2", &[
            "5:10 General (VI_1) vrrp_version 2 conflicts with configured or deduced version 3; ignoring.",
        ]),
        (" unicast_ttl 10", &["8:1 General (VI_1): Cannot use unicast_ttl without unicast peers - resetting"]),
        (" interface averyveryverylongname", &[
            "4:12 General Interface name 'averyveryverylongname' too long - ignoring",
        ]),
        (" interface lo", &[
            "4:12 General (VI_1) cannot use a loopback interface (lo) for vrrp - ignoring",
            "1:1 General (VI_1) Unknown interface!",
        ]),
        (" preempt_delay 2000", &[
            "4:16 InvalidNumber number '2000' outside range [0.000000, 1000.000000]",
            "4:16 General (VI_1) Preempt_delay not valid! must be between 0-1000",
        ]),
        (" garp_master_repeat 0", &["4:21 General (VI_1): garp_master_repeat must be greater than 0, setting to 1"]),
        (" skip_check_adv_addr maybe", &["4:22 General (VI_1) invalid skip_check_adv_addr maybe specified"]),
        (" strict_mode maybe", &["4:14 General (VI_1) invalid strict_mode maybe specified"]),
        (" smtp_alert maybe", &["4:13 General Invalid vrrp_instance smtp_alert parameter maybe"]),
        (" kernel_rx_buf_size 1 2", &["4:2 General (VI_1) invalid kernel_rx_buf_size specified"]),
        (" garp_extra_if all", &["4:2 General (VI_1): garp_extra_if specified without time - ignoring"]),
        (" vmac_garp_intvl 5", &["4:2 Deprecated Keyword \"vmac_garp_intvl\" is deprecated - please use \"garp_extra_if\""]),
        (" native_ipv6", &[
            "6:3 General (VI_1): address family must match VRRP instance [10.0.0.1] - ignoring",
            "1:1 General (VI_1) No VIP specified; at least one is required",
        ]),
        (" mcast_dst_ip 10.0.0.1", &["4:15 General (VI_1) mcast_dst_ip 10.0.0.1 not multicast. Skipping..."]),
        (" mcast_src_ip 10.0.0.300", &[
            "4:15 General Configuration error: VRRP instance[VI_1] malformed src address[10.0.0.300]. Skipping...",
        ]),
        (" check_unicast_src", &[
            "1:1 Deprecated (VI_1) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.",
        ]),
        (" priority 255\n nopreempt", &["1:1 General (VI_1) nopreempt is incompatible with priority 255. resetting nopreempt"]),
        (" state MASTER\n priority 100\n preempt_delay 5", &[
            "1:1 General (VI_1) Warning - preempt delay will not work with initial state MASTER - clearing",
        ]),
        (" strict_mode\n down_timer_adverts 5", &[
            "1:1 General (VI_1) down_timer_adverts is incompatible with strict mode - resetting",
        ]),
        (" version 3\n authentication {\n  auth_type PASS\n  auth_pass x\n }", &[
            "1:1 General (VI_1) VRRP version 3 does not support authentication. Ignoring.",
        ]),
        (" authentication {\n  auth_type PASS\n }", &[
            "1:1 General (VI_1) Authentication specified but no password given. Ignoring",
        ]),
        (" authentication {\n  auth_type FOO\n  auth_pass 0123456789\n }", &[
            "5:13 General (VI_1) unknown authentication type 'FOO'",
            "6:13 General Truncating auth_pass to 8 characters",
        ]),
        (" bogus_keyword", &["4:2 UnknownKeyword Unknown keyword 'bogus_keyword'"]),
    ];
    let mut checked = 0;
    for (line, want) in cases {
        let got = instance_with(line);
        assert_eq!(got, *want, "line: {line:?}");
        checked += want.len();
    }
    assert!(checked >= 40, "{checked}");
}

#[test]
fn unicast_peers() {
    let conf = "vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 51
 unicast_src_ip 10.0.0.5
 unicast_peer {
  10.0.0.6 min_ttl 10 max_ttl 5
  10.0.0.7 min_ttl
  10.0.0.8 foo 3
  10.0.0
  fe80::1
 }
 virtual_ipaddress {
  10.0.0.1
 }
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        [
            "6:3 General (VI_1) min_ttl 10 > max_ttl 5 - all packets will be discarded",
            "7:12 General (VI_1) min_ttl is missing a value",
            "8:12 General (VI_1) unknown unicast_peer option foo",
            "9:3 General Configuration error: VRRP instance[VI_1] malformed unicast peer address[10.0.0]. Skipping...",
            "10:3 General Configuration error: VRRP instance[VI_1] and unicast peer address[fe80::1] MUST be of the same family !!! Skipping...",
        ]
    );
    let v = &l.config.vrrp.vrrp_instance[0];
    assert!(v.unicast && v.check_unicast_src);
    assert_eq!(v.unicast_peer.len(), 3);
    assert_eq!((v.unicast_peer[0].min_ttl, v.unicast_peer[0].max_ttl), (10, 5));
    assert_eq!(v.mcast_dst_ip, None, "unicast instances have no multicast group");
}

#[test]
fn sync_groups() {
    let conf = "vrrp_sync_group G1 {
 group {
  VI_1 VI_2
  VI_X
 }
}
vrrp_sync_group G2 {
 group {
  VI_2
 }
}
vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 51
 virtual_ipaddress {
  10.0.0.1
 }
}
vrrp_instance VI_2 {
 interface eth0
 virtual_router_id 52
 virtual_ipaddress {
  10.0.0.2
 }
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        [
            "4:3 General Virtual router VI_X specified in sync group G1 doesn't exist - ignoring",
            "9:3 General Virtual router VI_2 cannot exist in more than one sync group; ignoring G2",
            "7:1 General Sync group G2, no matching virtual router found in group declaration - removing",
        ]
    );
    let sg = &l.config.vrrp.vrrp_sync_group;
    assert_eq!(sg.len(), 1);
    assert_eq!(sg[0].members, ["VI_1", "VI_2"]);
    assert_eq!(l.config.vrrp.vrrp_instance[1].sync_group.as_deref(), Some("G1"));
}

#[test]
fn missing_parameter_stops_everything() {
    let conf = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id\n priority 500\n}\n";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        ["3:19 MissingParameter *** Configuration line starting `virtual_router_id` is missing a parameter after keyword `virtual_router_id` at word position 2"]
    );
    assert_eq!(l.test_exit_code(), 2);
}

#[test]
fn vrrp_blocks_see_global_defs_written_after_them() {
    // keepalived's VRRP process reads the instances after the parent read global_defs.
    let conf = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1\n }\n}\nglobal_defs {\n vrrp_strict\n vrrp_down_timer_adverts 5\n}\n";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        ["1:1 General (VI_1) down_timer_adverts is incompatible with strict mode - resetting"]
    );
}

#[test]
fn v3_checksum_as_v2_is_accepted_with_a_lint() {
    let l = load(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n v3_checksum_as_v2\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
        Some(IFACES),
    );
    assert!(errors(&l).is_empty());
    assert!(l.config.vrrp.vrrp_instance[0].v3_checksum_as_v2);
    assert_eq!(l.test_exit_code(), 0);
    assert!(l.diagnostics.iter().any(|d| d.class == Class::Lint));
}

#[test]
fn keyword_lists_for_hints() {
    assert!(super::keywords_for("vrrp_instance")
        .unwrap()
        .contains(&"virtual_router_id"));
    assert_eq!(
        super::keywords_for("authentication").unwrap(),
        ["auth_type", "auth_pass"]
    );
    assert!(super::keywords_for("vrrp_sync_group").unwrap().contains(&"group"));
    assert!(super::keywords_for("virtual_server").is_none());
    let l = load(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_routr_id 51\n}\n",
        Some(IFACES),
    );
    let d = l
        .diagnostics
        .iter()
        .find(|d| d.code == "unknown-keyword")
        .unwrap();
    assert!(d.help.as_deref().unwrap_or("").contains("virtual_router_id"));
}

#[test]
fn never_panics_on_odd_input() {
    for text in [
        "vrrp_instance",
        "vrrp_instance VI_1 {\n virtual_ipaddress {\n  { }\n }\n}",
        "vrrp_instance VI_1 {\n virtual_routes {\n  nexthop\n  to\n  encap\n  encap mpls 1/2/3\n  10.0.0.0/8 nexthop via inet6 fe80::1 nexthop\n }\n}",
        "vrrp_instance VI_1 {\n virtual_rules {\n  fwmark /\n  uidrange -\n  sport ---\n  type\n }\n}",
        "static_ipaddress {\n 10.0.0.1/ brd + peer\n ::/0 brd -\n}",
        "garp_group {\n interfaces {\n  eth0\n }\n}\ngarp_group {\n garp_interval 1\n interfaces {\n  eth0\n }\n}",
        "vrrp_sync_group G {\n group {\n }\n group {\n }\n track_interface {\n }\n}\n}\n}",
        "vrrp_instance V {\n use_vmac ::::: : x\n use_ipvlan 1.2.3.4/99 ::1/200\n}",
    ] {
        let l = load(text, Some(IFACES));
        let _ = serde_json::to_string(&l.config);
        let _ = l.test_exit_code();
    }
}

mod prop {
    use proptest::prelude::*;

    /// Words that reach the interesting corners of the VRRP parsers.
    const VOCAB: &[&str] = &[
        "vrrp_instance",
        "VI_1",
        "VI_2",
        "vrrp_sync_group",
        "G",
        "group",
        "vrrp_script",
        "s",
        "script",
        "track_script",
        "track_interface",
        "track_file",
        "track_process",
        "track_bfd",
        "weight",
        "reverse",
        "interface",
        "eth0",
        "lo",
        "virtual_router_id",
        "priority",
        "state",
        "MASTER",
        "BACKUP",
        "advert_int",
        "0.015",
        "1.5",
        "255",
        "0",
        "-1",
        "300",
        "x",
        "virtual_ipaddress",
        "virtual_ipaddress_excluded",
        "10.0.0.1/24",
        "fe80::1",
        "brd",
        "+",
        "-",
        "peer",
        "dev",
        "label",
        "scope",
        "link",
        "use_vmac",
        "02:00:00:00:00",
        "use_ipvlan",
        "unicast_peer",
        "min_ttl",
        "max_ttl",
        "virtual_routes",
        "virtual_rules",
        "via",
        "nexthop",
        "encap",
        "ip",
        "ip6",
        "mpls",
        "ila",
        "id",
        "dst",
        "table",
        "from",
        "to",
        "goto",
        "preference",
        "fwmark",
        "0x10/0xff",
        "inet6",
        "inet",
        "or",
        "default",
        "blackhole",
        "rtt",
        "1s",
        "lock",
        "mtu",
        "authentication",
        "auth_type",
        "PASS",
        "AH",
        "auth_pass",
        "strict_mode",
        "version",
        "3",
        "2",
        "garp_group",
        "interfaces",
        "garp_interval",
        "track_group",
        "static_ipaddress",
        "static_routes",
        "static_rules",
        "track_group",
        "no_track",
        "notify",
        "\"/bin/x a\"",
        "vrrp_track_process",
        "process",
        "quorum",
        "quorum_max",
        "track_file",
        "file",
        "init_file",
        "interface_up_down_delays",
        "linkbeat_interfaces",
        "bfd_instance",
        "{",
        "}",
    ];

    fn config() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::collection::vec(0..VOCAB.len(), 1..6), 0..40).prop_map(|lines| {
            lines
                .iter()
                .map(|l| l.iter().map(|i| VOCAB[*i]).collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn any_vrrp_text_loads_without_panicking(text in config()) {
            let l = super::load(&text, Some(super::IFACES));
            let _ = serde_json::to_string(&l.config);
            let _ = l.test_exit_code();
        }
    }
}

/// Prints what a configuration gives, to write expectations (`cargo test ... -- --nocapture`).
#[allow(dead_code)]
fn dump(text: &str) {
    for e in errors(&load(text, Some(IFACES))) {
        println!("{e:?},");
    }
}

#[test]
fn second_group_block_leaves_the_sync_group() {
    // keepalived skips the second `group { }` and reads the rest of the block at the top
    // level, so `global_tracking` is lost and the `}` is an unknown keyword.
    let conf = "vrrp_sync_group G1 {
 group {
  VI_1 VI_2
 }
 group {
  VI_3
 }
 global_tracking
}
vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 51
 track_interface {
  ifb0 weight 10
 }
 virtual_ipaddress {
  10.0.0.1
 }
}
vrrp_instance VI_2 {
 interface eth0
 virtual_router_id 52
 virtual_ipaddress {
  10.0.0.2
 }
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        [
            "5:2 General Group list already specified for sync group G1",
            "8:2 UnknownKeyword Unknown keyword 'global_tracking'",
            "9:1 UnknownKeyword Unknown keyword '}'",
            "10:1 General (VI_1) ignoring ifb0 tracked interface weight due to SYNC group",
        ]
    );
    assert!(!l.config.vrrp.vrrp_sync_group[0].sync_group_tracking_weight);
    assert_eq!(l.config.vrrp.vrrp_instance[0].track_interface[0].weight, 0);
}

#[test]
fn garp_groups_track_groups_and_static_entries() {
    let conf = "track_group TG1 {
 group {
  VI_1 VI_X
 }
}
track_group TG1 {
}
garp_group {
 garp_interval 0.001
 interface eth0
}
garp_group {
 gna_interval 2
 interfaces {
  eth0 ifb0
  eth1
 }
}
garp_group {
 interface eth1
}
static_ipaddress {
 192.168.1.1/24 track_group TG1
 192.168.1.2/24 dev ifb0 track_group TGX
 192.168.1.6/24 use_vmac
}
static_routes {
 10.10.0.0/16 via 10.0.0.1 track_group TG1
}
static_rules {
 from 10.0.0.0/8 table 5 track_group TG1 preference 101
}
interface_up_down_delays {
 eth0 5 3
 eth9 1
}
linkbeat_interfaces {
 ifb0 FOO
}
vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 51
 virtual_ipaddress {
  10.0.0.1
 }
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        [
            "6:13 General track_group TG1 already defined",
            "17:2 General garp_group already specified for ifb0 - ignoring",
            "20:12 General garp_group already specified for eth1 - ignoring",
            "21:1 General garp group 0 does not have any delay set - removing",
            "24:38 General track_group TGX not found",
            "25:17 General Unknown configuration entry 'use_vmac' for ip address - ignoring",
            "28:2 General Warning - cannot track route 10.10.0.0/16 with no interface specified, not tracking",
            "28:2 General Static route cannot have track group if no oif specified",
            "31:2 General Static rule cannot have track_group if dev/iif not specified",
            "35:2 Fatal unknown interface eth9 specified for up/down delay",
            "38:7 General extra characters FOO in linkbeat interface",
        ]
    );
    let v = &l.config.vrrp;
    assert_eq!(v.garp_group.len(), 2);
    assert_eq!(v.garp_group[1].aggregation_group, 1);
    assert_eq!(v.garp_group[1].interfaces, ["ifb0", "eth1"]);
    assert_eq!(
        v.static_ipaddress[0].dev.as_deref(),
        Some("eth0"),
        "default_interface"
    );
    assert_eq!(v.static_ipaddress[0].track_group.as_deref(), Some("TG1"));
    assert_eq!(v.track_group[0].members, ["VI_1"]);
    // eth0's 5 s down delay is lowered below (3 - 1) adverts of 1 s.
    assert_eq!(v.interface_up_down_delays[0].down.0, 2_000_000 - 1_000_000 / 256);
}

#[test]
fn vmac_and_ipvlan() {
    let conf = "vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 51
 use_vmac vrrp.51 02:11:22:33:44
 promote_secondaries
 virtual_ipaddress {
  10.0.0.1
  10.0.1.1 dev eth0 use_vmac
 }
}
vrrp_instance VI_2 {
 interface eth0
 virtual_router_id 52
 use_vmac vrrp.51 01:11:22:33:44:55 00:00:5e:00:01:02
 use_vmac a/b
 strict_mode
 vmac_xmit_base
 virtual_ipaddress {
  10.0.0.2
 }
}
vrrp_instance VI_3 {
 interface eth0
 virtual_router_id 53
 use_ipvlan ipv1 fe80::9 bridge private
 virtual_ipaddress {
  10.0.0.3
 }
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        [
            "14:11 General (VI_2) VRRP instance VI_1 is already using vrrp.51 - ignoring name",
            "14:19 General VMAC MAC address is multicast 01:11:22:33:44:55 - ignoring",
            "15:11 General VMAC interface name 'a/b' too long or invalid characters - ignoring",
            // The ipvlan address makes VI_3 an IPv6 instance, so its IPv4 VIP is refused.
            "25:33 General (VI_3) ipvlan type already specified - ignoring 'private'",
            "27:3 General (VI_3): address family must match VRRP instance [10.0.0.3] - ignoring",
            "1:1 General (VI_1) promote_secondaries is automatically set for vmacs - ignoring",
            "1:1 General (VI_1) use_vmac specified for VIP/eVIP 10.0.1.1 and vrrp instance",
            "11:1 General (VI_2) xmit_base is incompatible with strict mode - resetting",
            "22:1 General (VI_3) No VIP specified; at least one is required",
        ]
    );
    assert!(l.config.vrrp.rejected.is_some());
    let v = &l.config.vrrp.vrrp_instance;
    let m = v[0].use_vmac.as_ref().unwrap();
    assert_eq!(
        m.mac,
        Some([2, 0x11, 0x22, 0x33, 0x44, 51]),
        "the sixth octet is the VRID"
    );
    assert_eq!(
        v[1].use_vmac.as_ref().unwrap().ifname.as_deref(),
        Some("vrrp.52"),
        "generated"
    );
    assert_eq!(
        v[2].src_ip,
        Some("fe80::9".parse().unwrap()),
        "the ipvlan address is the source"
    );
}

#[test]
fn ipv6_instances() {
    let conf = "vrrp_instance V6a {
 interface eth0
 virtual_router_id 51
 version 2
 virtual_ipaddress {
  2001:db8::1/64
  10.0.0.1
 }
}
vrrp_instance V6b {
 interface eth0
 virtual_router_id 52
 strict_mode
 version 2
 virtual_ipaddress {
  2001:db8::2
 }
}
";
    let l = load(conf, Some(IFACES));
    assert_eq!(
        errors(&l),
        [
            "7:3 General (V6a): address family must match VRRP instance [10.0.0.1] - ignoring",
            "10:1 General (V6b) cannot use IPv6 with VRRP version 2; setting version 3",
            "10:1 General (V6b) the first IPv6 VIP address must be link local",
        ]
    );
    let v = &l.config.vrrp.vrrp_instance;
    // keepalived keeps VRRPv2 for IPv6 when `version 2` came first and not strict.
    assert_eq!((v[0].version, v[1].version), (2, 3));
    assert_eq!(v[0].mcast_dst_ip, Some("ff02::12".parse().unwrap()));
    assert_eq!(v[0].virtual_ipaddress[0].preferred_lft, Some(u32::MAX));
    assert_eq!(
        v[1].virtual_ipaddress[0].preferred_lft,
        Some(0),
        "a /128 is added deprecated"
    );
}
