//! `global_defs` against keepalived 2.2.7: values, defaults, ordering rules and the exact
//! diagnostics (line, column, class, message) of `keepalived -t`.

use super::*;
use crate::diag::{exit, Class};
use crate::Loaded;

fn load(text: &str) -> Loaded {
    crate::load_str(text)
}

/// `global_defs` with `body` as its lines (line 2 onwards).
fn block(body: &str) -> Loaded {
    load(&format!("global_defs {{\n{body}\n}}\n"))
}

fn values(body: &str) -> GlobalDefs {
    let l = block(body);
    let unexpected: Vec<String> = l
        .diagnostics
        .iter()
        .filter(|d| d.class.counts_for_exit_code())
        .map(|d| d.to_string())
        .collect();
    assert!(unexpected.is_empty(), "{body}: {unexpected:#?}");
    l.config.global_defs
}

/// Diagnostics keepalived counts, as (line, column, class, message).
fn problems(l: &Loaded) -> Vec<(u32, u32, Class, String)> {
    l.diagnostics
        .iter()
        .filter(|d| d.class.counts_for_exit_code())
        .map(|d| {
            let s = d.span.as_ref();
            (
                s.map_or(0, |s| s.line),
                s.map_or(0, |s| s.column),
                d.class,
                d.message.clone(),
            )
        })
        .collect()
}

#[test]
fn seed_cluster_garp_and_gna_interval_zero_are_invalid_numbers() {
    // Lines 1-9 of shared/seed-cluster/master.conf (its comments shortened).
    let text = "! Configuration File for keepalived\n\
                \n\
                global_defs {\n   \
                router_id LVS_11\n   \
                vrrp_skip_check_adv_addr\n   \
                vrrp_strict\n   \
                vrrp_garp_interval 0\n   \
                vrrp_gna_interval 0\n\
                }\n";
    let l = load(text);
    assert_eq!(
        problems(&l),
        vec![
            (
                7,
                23,
                Class::InvalidNumber,
                "vrrp_garp_interval '0' is invalid: number '0' outside range [0.000001, 4294.967295]"
                    .to_string()
            ),
            (
                8,
                22,
                Class::InvalidNumber,
                "vrrp_gna_interval '0' is invalid: number '0' outside range [0.000001, 4294.967295]"
                    .to_string()
            ),
        ]
    );
    assert_eq!(l.test_exit_code(), exit::ERRORS);
    for d in &l.diagnostics {
        assert!(d.help.is_some(), "no help: {d}");
    }
    let g = &l.config.global_defs;
    // Rejected: the defaults stay.
    assert_eq!(
        (g.vrrp_garp_interval, g.vrrp_gna_interval),
        (Micros::ZERO, Micros::ZERO)
    );
    assert_eq!(g.router_id, "LVS_11");
    assert!(g.vrrp_skip_check_adv_addr && g.vrrp_strict);
}

/// Expected diagnostics as (column on line 2, or 1000 + line elsewhere; class; message).
type Expected = &'static [(u32, Class, &'static str)];

/// One keyword line at line 2 of a `global_defs` block → keepalived's messages, each as
/// (column, class, message).
#[test]
fn keyword_errors_match_keepalived() {
    use Class::*;
    let cases: &[(&str, Expected)] = &[
        // spec §12 transcript
        ("vrrp_garp_master_repeat abc", &[(25, InvalidNumber, "vrrp_garp_master_repeat 'abc' invalid - ignoring: invalid number 'abc'")]),
        ("vrrp_garp_master_delay 10abc", &[(24, InvalidNumber, "vrrp_garp_master_delay '10abc' invalid - ignoring: invalid number '10abc'")]),
        ("smtp_connect_timeout -5", &[(22, InvalidNumber, "smtp_connect_timeout '-5' must be in [0, 4294] - ignoring: negative number '-5'")]),
        ("smtp_connect_timeout 0", &[(22, General, "smtp_conect_timeout must be greater than 0, setting to 1")]),
        ("vrrp_version 4", &[(14, InvalidNumber, "VRRP Error: Version must be either 2 or 3: number '4' outside range [2, 3]")]),
        ("vrrp_garp_interval 1.1234567", &[(20, InvalidNumber, "number '1.1234567' has too many decimal places")]),
        ("max_auto_priority 100", &[(19, InvalidNumber, "max_auto_priority '100' must be in [0, 99] (or -1 to disable) - ignoring: number '100' outside range [-1, 99]")]),
        ("vrrp_rlimit_rtime 1", &[]),
        ("vrrp_vmac_garp_intvl 10", &[(1, Deprecated, "Keyword \"vrrp_vmac_garp_intvl\" is deprecated - please use \"vrrp_garp_extra_if\"")]),
        ("lvs_process_name foo", &[]),
        ("vrrp_iptables", &[(1, General, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option")]),
        ("nftables_priority abc", &[(19, InvalidNumber, "invalid nftables chain priority 'abc': invalid number 'abc'")]),
        ("foo_bar", &[(1, UnknownKeyword, "Unknown keyword 'foo_bar'")]),
        ("foo {\nrouter_id\n}", &[(1, UnknownKeyword, "Unknown keyword 'foo'"), (5, UnexpectedBlockStart, "Unexpected '{' - ignoring"), (1003, General, "routerid name missing - ignoring")]),
        // missing parameters: keepalived's exit-2 abort, or its graceful messages
        ("smtp_server", &[(12, MissingParameter, "*** Configuration line starting `smtp_server` is missing a parameter after keyword `smtp_server` at word position 2")]),
        ("router_id", &[(10, General, "routerid name missing - ignoring")]),
        ("notification_email_from", &[(24, General, "emailfrom missing - ignoring")]),
        ("startup_script", &[(15, General, "startup script missing")]),
        ("startup_script_timeout", &[(23, General, "startup_script_timeout requires value")]),
        ("min_auto_priority_delay", &[(24, General, "min_auto_priority_delay requires delay time")]),
        ("vrrp_priority", &[(14, General, "No vrrp process priority specified")]),
        ("notify_fifo", &[(12, General, "No notify_fifo name specified")]),
        ("lvs_notify_fifo_script", &[(23, General, "No lvs_notify_fifo_script specified")]),
        ("tmp_config_directory", &[(21, General, "tmp_config_directory missing directory name")]),
        ("snmp_socket", &[(12, General, "SNMP error : snmp socket name missing")]),
        ("snmp_socket a b", &[(15, General, "Too many parameters specified for snmp_socket - ignoring")]),
        ("script_user", &[(12, General, "No script username specified")]),
        ("vrrp_rx_bufs_policy", &[(20, General, "vrrp_rx_bufs_policy missing")]),
        ("vrrp_rx_bufs_multiplier 2 3", &[(27, General, "Invalid vrrp_rx_bufs_multiplier")]),
        ("reload_time_file", &[(17, General, "reload_time_file invalid")]),
        ("lvs_timeouts tcp", &[(17, General, "lvs_timeouts requires at least one option")]),
        // booleans, each with keepalived's own wording
        ("smtp_alert maybe", &[(12, General, "Invalid value 'maybe' for global smtp_alert specified")]),
        ("checker_log_all_failures 2", &[(26, General, "Invalid value for checker_log_all_failures specified")]),
        ("vrrp_netlink_cmd_rcv_bufs_force x", &[(33, General, "Invalid value 'x' for global vrrp_netlink_cmd_rcv_bufs_force specified")]),
        ("data_use_instance True", &[(19, General, "Invalid value 'True' for global date_use_instance specified")]),
        ("vrrp_min_garp x", &[(15, General, "Invalid value for vrrp_min_garp specified")]),
        // numbers
        ("vrrp_startup_delay 0", &[(20, InvalidNumber, "vrrp_startup_delay '0' is invalid: number '0' outside range [0.001000, 4294.967295]")]),
        ("vrrp_garp_interval -1", &[(20, InvalidNumber, "vrrp_garp_interval '-1' is invalid: negative number '-1'")]),
        ("vrrp_garp_interval 1.5x", &[(20, InvalidNumber, "invalid number '1.5x'")]),
        ("vrrp_garp_master_repeat 0", &[(25, General, "vrrp_garp_master_repeat must be greater than 0, setting to 1")]),
        ("vrrp_garp_lower_prio_repeat 2147483648", &[(29, InvalidNumber, "Invalid vrrp_garp_lower_prio_repeat '2147483648': number '2147483648' outside range [0, 2147483647]")]),
        ("vrrp_down_timer_adverts 101", &[(25, InvalidNumber, "Invalid vrrp_down_timer_adverts [1:100] '101': number '101' outside range [1, 100]")]),
        ("checker_priority 30", &[(18, InvalidNumber, "Invalid checker process priority specified: number '30' outside range [-20, 19]")]),
        ("vrrp_rt_priority 0", &[(18, General, "vrrp process real-time priority 0 less than minimum 1 - setting to minimum")]),
        ("bfd_rt_priority 200", &[(17, General, "bfd process real-time priority 200 greater than maximum 99 - setting to maximum")]),
        ("vrrp_cpu_affinity 0 x", &[(21, InvalidNumber, "Invalid cpu_id:0 specified for vrrp process: invalid number 'x'")]),
        ("checker_rlimit_rttime 0", &[(23, InvalidNumber, "Invalid checker real-time limit - 0: number '0' outside range [1, 4294967295]")]),
        ("vrrp_netlink_monitor_rcv_bufs -1", &[(31, InvalidNumber, "vrrp_netlink_monitor_rcv_bufs size (-1) invalid: negative number '-1'")]),
        ("random_seed x", &[(13, InvalidNumber, "random_seed x invalid: invalid number 'x'")]),
        ("startup_script_timeout 0", &[(24, InvalidNumber, "startup_script_timeout '0' must be in [1, 1000] - ignoring: number '0' outside range [1, 1000]")]),
        ("vrrp_garp_extra_if all 0", &[(24, InvalidNumber, "vrrp_garp_extra_if '0' invalid - ignoring: number '0' outside range [1, 86400]")]),
        ("vrrp_garp_extra_if all", &[(23, General, "vrrp_garp_extra_if specified without time - ignoring")]),
        ("nftables_ipvs_start_fwmark 0", &[(28, InvalidNumber, "invalid ipvs nftables start_fwmark priority '0': number '0' outside range [1, 4294967295]")]),
        // addresses
        ("vrrp_mcast_group4 1.2.3", &[(19, General, "Can't parse vrrp_mcast_group4 [1.2.3]. Skipping")]),
        ("vrrp_mcast_group4 ff02::12", &[(19, General, "vrrp_mcast_group4 [ff02::12] is not IPv4. Skipping")]),
        ("vrrp_mcast_group4 10.0.0.1", &[(19, General, "vrrp_mcast_group4 [10.0.0.1] is not multicast. Skipping")]),
        ("vrrp_mcast_group6 ff05::12", &[(19, Warning, "vrrp_mcast_group6 [ff05::12] should be link-local multicast.")]),
        ("smtp_server 1.2.3.4 abc", &[(21, InvalidNumber, "Invalid smtp server 1.2.3.4 abc: invalid number 'abc'")]),
        ("smtp_server bad/host", &[(13, General, "Invalid smtp server bad/host 25")]),
        // miscellaneous
        ("dynamic_interfaces yes", &[(20, General, "Unknown dynamic_interfaces option 'yes'")]),
        ("lvs_flush_on_stop vs", &[(19, General, "Unknown lvs_flush_on_stop type vs")]),
        ("process_name abcdefghijklmnopq", &[(14, General, "Process name abcdefghijklmnopq more than 15 characters, truncating")]),
        ("umask IRUSR IWGRP", &[(13, General, "Invalid umask syntax IWGRP")]),
        ("umask IRUSRX", &[(7, General, "Invalid umask syntax IRUSRX")]),
        ("umask 0800", &[(7, General, "invalid umask value 0800")]),
        ("umask 0x1ff 3", &[(13, General, "Extra parameter(s) to umask option")]),
        ("umask IRUSR |", &[(14, General, "umask missing bit value")]),
        ("umask FOO", &[(7, General, "Unknown umask bit FOO")]),
        ("include_check +foo read", &[(15, General, "Unknown include_check type 'foo' - ignoring"), (20, General, "Duplicate include_check 'read' specified - ignoring")]),
        ("vrrp_rx_bufs_policy MTU 1000", &[(25, InvalidNumber, "Invalid vrrp_rx_bufs_policy 1000: invalid number 'MTU'")]),
        ("vrrp_rx_bufs_policy MTU ADVERT", &[(1, General, "Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT")]),
        ("lvs_timeouts tcp 1 x udp", &[(20, General, "Unknown option x specified for lvs_timeouts"), (25, General, "No value specified for lvs_timeout udp - ignoring")]),
        ("lvs_sync_daemon eth0 VI_1 5", &[(27, General, "Please use keyword \"id\" before lvs_sync_daemon SYNCID")]),
        ("lvs_sync_daemon eth0 VI_1 inst", &[(27, General, "lvs_sync_daemon vrrp instance has already been specified as VI_1 - ignoring")]),
        ("lvs_sync_daemon eth0123456789abcd", &[(17, General, "lvs_sync_daemon interface name 'eth0123456789abcd' too long - ignoring")]),
        ("lvs_sync_daemon eth0 group 10.1.1.1", &[(28, General, "lvs_sync_daemon group address 10.1.1.1 is not multicast - ignoring")]),
        ("notification_email", &[(1003, General, "Warning - empty notification_email block")]),
        ("notification_email {\n}", &[(1003, General, "Warning - empty notification_email block")]),
        ("notification_email x {\na@b\n}", &[(20, General, "Block notification_email has extra parameters x ...")]),
        ("startup_script \"/bin/true x\" nosuchuser", &[(16, General, "Invalid startup script")]),
        ("startup_script \"/bin/true 'x\"", &[(16, UnmatchedQuote, "String '/bin/true 'x': missing terminating '"), (16, General, "Invalid startup script")]),
        ("router_id a\n{\nrouter_id b\n}", &[(1003, UnexpectedBlockStart, "Unexpected '{' - ignoring")]),
    ];
    let mut failures = Vec::new();
    for (line, expected) in cases {
        let l = block(line);
        let got: Vec<(u32, Class, String)> = problems(&l)
            .into_iter()
            .map(|(ln, col, class, msg)| (if ln == 2 { col } else { 1000 + ln }, class, msg))
            .collect();
        let want: Vec<(u32, Class, String)> = expected
            .iter()
            .map(|(c, class, m)| (*c, *class, m.to_string()))
            .collect();
        if got != want {
            failures.push(format!("{line:?}\n  got:  {got:?}\n  want: {want:?}"));
        }
        for d in &l.diagnostics {
            if d.help.is_none() {
                failures.push(format!("{line:?}: no help on {d}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn defaults_are_keepalived_defaults() {
    let l = load("");
    let g = &l.config.global_defs;
    assert_eq!(g.router_id, "testhost", "router_id defaults to the host name");
    assert_eq!(g.vrrp_mcast_group4, Ipv4Addr::new(224, 0, 0, 18));
    assert_eq!(g.vrrp_mcast_group6.to_string(), "ff02::12");
    assert_eq!(g.vrrp_garp_master_delay, Micros::from_secs(5));
    assert_eq!(
        (g.vrrp_garp_master_repeat, g.vrrp_garp_master_refresh_repeat),
        (5, 1)
    );
    assert_eq!(
        (g.vrrp_garp_lower_prio_delay, g.vrrp_garp_lower_prio_repeat),
        (None, None)
    );
    assert_eq!(g.vrrp_down_timer_adverts, 3);
    assert_eq!(g.vrrp_version, 2);
    assert_eq!(
        (
            g.nftables_priority,
            g.nftables_ipvs_priority,
            g.nftables_ipvs_start_fwmark
        ),
        (-1, -1, 0)
    );
    assert_eq!(g.min_auto_priority_delay, Micros::from_secs(1));
    assert_eq!(g.vrrp_rlimit_rttime, Micros(10_000));
    assert_eq!(g.vrrp_rx_bufs_multiplier, 3);
    assert_eq!(g.umask, 0o177);
    assert_eq!(g.default_interface, "eth0");
    assert_eq!(g.dbus_service_name, "org.keepalived.Vrrp1");
    assert_eq!(
        (g.smtp_alert, g.smtp_server.clone(), g.smtp_connect_timeout),
        (None, None, Micros::ZERO)
    );
    assert_eq!(g.lvs_flush_on_stop, LvsFlushOnStop::NoFlush);
    assert_eq!(g.reload_file, None);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
}

#[test]
fn values_are_read_with_their_units() {
    let g = values(
        "router_id r1\n\
         vrrp_garp_interval 0.001\n\
         vrrp_gna_interval .5\n\
         vrrp_garp_master_delay 3\n\
         vrrp_garp_master_refresh 60\n\
         vrrp_garp_lower_prio_delay 2\n\
         vrrp_startup_delay 1.5\n\
         smtp_server 192.0.2.1 2525\n\
         smtp_connect_timeout 7\n\
         max_auto_priority\n\
         vrrp_rt_priority 50\n\
         checker_priority -5\n\
         bfd_cpu_affinity 3 1 3\n\
         vrrp_rlimit_rttime 1\n\
         vrrp_version 3\n\
         vrrp_mcast_group4 239.1.2.3/24\n\
         vrrp_garp_extra_if 10 all\n\
         umask IWGRP | IWOTH\n\
         lvs_timeouts tcp 900 udp 30\n\
         lvs_flush_on_stop VS\n\
         vrrp_rx_bufs_policy advert\n\
         vrrp_netlink_cmd_rcv_bufs 1048576\n\
         vrrp_netlink_cmd_rcv_bufs 0\n\
         smtp_alert off\n\
         dynamic_interfaces allow_if_changes\n\
         include_check -read +match",
    );
    assert_eq!(g.router_id, "r1");
    assert_eq!(g.vrrp_garp_interval, Micros(1_000));
    assert_eq!(g.vrrp_gna_interval, Micros(500_000));
    assert_eq!(g.vrrp_garp_master_delay, Micros::from_secs(3));
    assert_eq!(g.vrrp_garp_master_refresh, Micros::from_secs(60));
    assert_eq!(g.vrrp_garp_lower_prio_delay, Some(Micros::from_secs(2)));
    assert_eq!(g.vrrp_startup_delay, Micros(1_500_000));
    let smtp = g.smtp_server.clone().unwrap();
    assert_eq!(
        (smtp.port, smtp.address),
        (2525, Some("192.0.2.1".parse().unwrap()))
    );
    assert_eq!(g.smtp_connect_timeout, Micros::from_secs(7));
    // finish(): SMTP identity from the host name.
    assert_eq!(g.smtp_helo_name.as_deref(), Some("testhost"));
    assert_eq!(g.notification_email_from.as_deref(), Some("root@testhost"));
    assert_eq!(g.max_auto_priority, 99);
    assert_eq!((g.vrrp_rt_priority, g.checker_priority), (50, -5));
    assert_eq!(g.bfd_cpu_affinity, vec![1, 3]);
    assert_eq!(g.vrrp_rlimit_rttime, Micros(2), "1 becomes 2");
    assert_eq!(g.vrrp_version, 3);
    assert_eq!(g.vrrp_mcast_group4, Ipv4Addr::new(239, 1, 2, 3));
    assert_eq!(
        (g.vrrp_garp_extra_if, g.vrrp_garp_extra_if_all),
        (Micros::from_secs(10), true)
    );
    assert_eq!(g.umask, 0o022);
    assert_eq!(
        g.lvs_timeouts,
        LvsTimeouts {
            tcp_secs: 900,
            tcpfin_secs: 0,
            udp_secs: 30
        }
    );
    assert_eq!(g.lvs_flush_on_stop, LvsFlushOnStop::Vs);
    assert_eq!(g.vrrp_rx_bufs_policy, RxBufsPolicy::Advert);
    assert_eq!(
        g.vrrp_netlink_cmd_rcv_bufs_bytes, 1_048_576,
        "an explicit 0 changes nothing"
    );
    assert_eq!(g.smtp_alert, Some(false));
    assert!(g.dynamic_interfaces && g.dynamic_interfaces_allow_if_changes);
    assert_eq!(
        g.include_check,
        IncludeCheck {
            read: false,
            match_: true,
            wildcard_match: false,
            brace_match: false
        }
    );
}

#[test]
fn ordering_rules_follow_keepalived() {
    // vrrp_min_garp changes only what is still at its default.
    let g = values("vrrp_garp_master_repeat 3\nvrrp_min_garp");
    assert_eq!(
        (g.vrrp_garp_master_repeat, g.vrrp_garp_master_refresh_repeat),
        (3, 0)
    );
    assert_eq!(g.vrrp_garp_master_delay, Micros::ZERO);
    let g = values("vrrp_min_garp\nvrrp_garp_master_repeat 3");
    assert_eq!(g.vrrp_garp_master_repeat, 3);
    let g = values("vrrp_min_garp false");
    assert_eq!((g.vrrp_min_garp, g.vrrp_garp_master_repeat), (false, 5));
    // nftables resets the chain priority: it must come first.
    let g = values("nftables_priority 5\nnftables mytable");
    assert_eq!(
        (g.nftables.as_deref(), g.nftables_priority),
        (Some("mytable"), -1)
    );
    let g = values("nftables\nnftables_priority 5");
    assert_eq!(
        (g.nftables.as_deref(), g.nftables_priority),
        (Some("keepalived"), 5)
    );
    let g = values("nftables_ipvs_start_fwmark 7\nnftables_ipvs");
    assert_eq!(
        (g.nftables_ipvs.as_deref(), g.nftables_ipvs_start_fwmark),
        (Some("keepalived_ipvs"), 1000)
    );
    // vrrp_iptables takes the nftables table, so a later nftables is a duplicate.
    let l = block("vrrp_iptables\nnftables other");
    assert_eq!(l.config.global_defs.nftables.as_deref(), Some("keepalived"));
    assert_eq!(problems(&l)[1].3, "nftables already specified - ignoring");
    // First wins.
    let l = block("vmac_prefix a\nvmac_prefix b\nsnmp_socket udp:1.2.3.4:705\nsnmp_socket unix:/x");
    let g = &l.config.global_defs;
    assert_eq!(
        (g.vmac_prefix.as_deref(), g.snmp_socket.as_deref()),
        (Some("a"), Some("udp:1.2.3.4:705"))
    );
    assert_eq!(
        problems(&l).into_iter().map(|p| (p.0, p.3)).collect::<Vec<_>>(),
        vec![
            (
                3,
                "vmac prefix has already been specified - ignoring b".to_string()
            ),
            (
                5,
                "SNMP socket already set to udp:1.2.3.4:705 - ignoring".to_string()
            ),
        ]
    );
    // Last wins, and blocks accumulate.
    let l = load("global_defs {\nrouter_id a\nnotification_email {\nx@y\n}\n}\nglobal_defs {\nrouter_id b\nnotification_email {\nz@y w@y\n}\n}\n");
    let g = &l.config.global_defs;
    assert_eq!(g.router_id, "b");
    assert_eq!(g.notification_email, ["x@y", "z@y", "w@y"]);
    // An invalid smtp_server clears an earlier good one; a bad refresh resets it to 0.
    let l = block("smtp_server 192.0.2.1\nsmtp_server bad/host\nvrrp_garp_master_refresh 10\nvrrp_garp_master_refresh x");
    let g = &l.config.global_defs;
    assert_eq!(
        (g.smtp_server.clone(), g.vrrp_garp_master_refresh),
        (None, Micros::ZERO)
    );
    // An invalid nice value resets the setting to 0.
    let l = block("vrrp_priority -10\nvrrp_priority x");
    assert_eq!(l.config.global_defs.vrrp_priority, 0);
    // A startup script sets its timeout to 10 s only if none was given before.
    let g = values("startup_script_timeout 5\nstartup_script /bin/true");
    assert_eq!(g.startup_script_timeout, Micros::from_secs(5));
    let mut host = crate::host::MemoryHost::new().with_file(
        "/etc/keepalived/keepalived.conf",
        "global_defs {\nstartup_script \"/bin/echo 'a b' c\" root\nshutdown_script /bin/false\n}\n",
    );
    host.users.insert("root".into());
    let l = crate::load(
        std::path::Path::new("/etc/keepalived/keepalived.conf"),
        &crate::LoadOptions::default(),
        &host,
    );
    assert!(problems(&l).is_empty(), "{:?}", l.diagnostics);
    let g = l.config.global_defs;
    assert_eq!(g.startup_script_timeout, Micros::from_secs(10));
    let s = g.startup_script.unwrap();
    assert_eq!(s.args, ["/bin/echo", "a b", "c"]);
    assert_eq!(s.user.as_deref(), Some("root"));
    assert_eq!(
        g.shutdown_script.map(|s| s.args),
        Some(vec!["/bin/false".to_string()])
    );
    // rx_bufs policy accumulates across lines, then keepalived's conflict rule applies.
    let l = block("vrrp_rx_bufs_policy 4096\nvrrp_rx_bufs_policy MTU");
    assert_eq!(l.config.global_defs.vrrp_rx_bufs_policy, RxBufsPolicy::Size(4096));
    assert_eq!(
        problems(&l)[0].3,
        "Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy"
    );
}

#[test]
fn script_user_and_security_are_order_dependent() {
    // No keepalived_script user on the test host: the default is keepalived's own user,
    // unless script security was enabled before the first script needing it.
    let g = values("notify_fifo /run/f\nenable_script_security\nnotify_fifo_script /bin/s");
    assert!(g.notify_fifo.is_some() && g.notify_fifo_script.is_some());
    let l = block("enable_script_security\nnotify_fifo_script /bin/s\nvrrp_notify_fifo /run/v");
    assert_eq!(
        problems(&l),
        vec![(
            3,
            20,
            Class::General,
            "Unable to set default user keepalived_script for script".to_string()
        )]
    );
    let g = &l.config.global_defs;
    assert!(
        g.notify_fifo_script.is_none() && g.vrrp_notify_fifo.is_none(),
        "the failure is sticky"
    );
    // script_user naming a missing user.
    let l = block("script_user nobody");
    assert_eq!(
        problems(&l),
        vec![(
            2,
            13,
            Class::General,
            "Error setting global script uid/gid".to_string()
        )]
    );
}

#[test]
fn reload_file_and_router_id_are_resolved_after_parsing() {
    let l = load("global_defs {\nreload_file\n}\ninstance blue\n");
    let g = &l.config.global_defs;
    assert_eq!(
        g.reload_file.as_deref(),
        Some("/run/keepalived/keepalived_blue.reload")
    );
    assert!(l.config.process.use_pid_dir);
    let l = load("global_defs {\nreload_file\n}\n");
    assert_eq!(
        l.config.global_defs.reload_file.as_deref(),
        Some("/run/keepalived.reload")
    );
    let l = load("use_pid_dir\nglobal_defs {\nreload_file\nrouter_id \"\"\n}\n");
    let g = &l.config.global_defs;
    assert_eq!(
        g.reload_file.as_deref(),
        Some("/run/keepalived/keepalived.reload")
    );
    assert_eq!(g.router_id, "", "an explicit empty router_id is kept");
}

#[test]
fn top_level_process_keywords() {
    let l = load("net_namespace\ninstance a\ninstance b\nnet_namespace_ipvs\nchild_wait_time abc\n");
    assert_eq!(
        problems(&l),
        vec![
            (
                1,
                14,
                Class::General,
                "net_namespace name missing - ignoring".to_string()
            ),
            (
                3,
                10,
                Class::General,
                "Duplicate instance definition b - ignoring".to_string()
            ),
            (
                5,
                17,
                Class::InvalidNumber,
                "Invalid child_wait_time abc: invalid number 'abc'".to_string()
            ),
        ]
    );
    let p = &l.config.process;
    assert_eq!(
        (p.instance.as_deref(), p.net_namespace_ipvs.as_deref()),
        (Some("a"), Some(""))
    );
    assert_eq!(p.child_wait_time_secs, 5);
    assert!(p.use_pid_dir);
    // A duplicate net_namespace_ipvs without a name is keepalived's exit-2 abort.
    let l = load("net_namespace_ipvs a\nnet_namespace_ipvs\n");
    assert_eq!(l.test_exit_code(), exit::MISSING_PARAMETER);
}

#[test]
fn missing_parameter_aborts_with_exit_2() {
    for kw in [
        "process_name",
        "smtp_connect_timeout",
        "vrrp_mcast_group4",
        "vrrp_garp_interval",
        "vrrp_version",
        "nftables_priority",
        "bfd_rlimit_rttime",
        "umask",
        "vmac_prefix",
        "random_seed",
        "config_save_dir",
    ] {
        let l = block(kw);
        assert_eq!(l.test_exit_code(), exit::MISSING_PARAMETER, "{kw}");
    }
    let l = block("lvs_sync_daemon eth0 inst");
    assert_eq!(l.test_exit_code(), exit::MISSING_PARAMETER);
}

#[test]
fn notification_email_without_brace_swallows_the_rest() {
    let l = block("notification_email\na@b c@d\nrouter_id x");
    let g = &l.config.global_defs;
    assert_eq!(g.notification_email, ["a@b", "c@d", "router_id", "x"]);
    assert_eq!(g.router_id, "testhost");
    assert_eq!(
        l.test_exit_code(),
        exit::OK,
        "keepalived only logs the missing brace"
    );
}

#[test]
fn every_keyword_is_known_and_only_once() {
    let mut seen = std::collections::BTreeSet::new();
    for kw in KEYWORDS {
        assert!(seen.insert(*kw), "{kw} twice");
        let l = block(&format!("{kw} 1"));
        assert!(
            !l.diagnostics.iter().any(|d| d.class == Class::UnknownKeyword),
            "{kw} unknown"
        );
    }
    assert_eq!(KEYWORDS.len(), 125, "keepalived 2.2.7 (Debian build) has 125");
    // Not in this build, or not in this block.
    for kw in ["vrrp_ipsets", "linkbeat_use_polling", "instance"] {
        let l = block(kw);
        assert_eq!(problems(&l)[0].3, format!("Unknown keyword '{kw}'"));
    }
}

#[test]
fn deep_or_hostile_input_does_not_panic() {
    let mut text = String::from("global_defs {\nrouter_id a\n");
    for _ in 0..2000 {
        text.push_str("{\nrouter_id b\n");
    }
    let _ = load(&text);
    for line in [
        "umask 99999999999999999999999",
        "vrrp_cpu_affinity 99999999999999999999999",
        "startup_script \"\\x\"",
        "startup_script '\\",
        "lvs_sync_daemon e group",
        "vrrp_garp_interval 99999999999999999999999.9999999",
        "process_name é€€€€€€€€€€€€€",
        "smtp_server :: 0",
        "include_check - +",
    ] {
        let _ = block(line);
    }
}

#[test]
fn metrics_listen_is_our_extension_with_a_placed_error() {
    assert_eq!(
        values("metrics_listen 127.0.0.1:9650").metrics_listen,
        Some("127.0.0.1:9650".parse().unwrap())
    );
    assert_eq!(
        values("metrics_listen [::1]:9650").metrics_listen,
        Some("[::1]:9650".parse().unwrap())
    );
    assert_eq!(values("").metrics_listen, None);
    let bad = block("metrics_listen 127.0.0.1");
    assert_eq!(bad.config.global_defs.metrics_listen, None);
    assert_eq!(
        problems(&bad),
        vec![(
            2,
            16,
            Class::General,
            "metrics_listen: '127.0.0.1' is not an ADDRESS:PORT - ignoring".to_string()
        )]
    );
    let missing = block("metrics_listen");
    assert_eq!(missing.config.global_defs.metrics_listen, None);
    assert_eq!(problems(&missing).len(), 1);
}
