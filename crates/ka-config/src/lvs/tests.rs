//! Whole-configuration tests of the LVS parser and its validation: the seed cluster's
//! virtual server, keepalived's observed `-t` transcripts (research/specs/check_config.md §11)
//! and the messages of every block, with their line:column and class.

use super::*;
use crate::diag::Class;
use crate::Loaded;
use ka_units::Micros;
use std::net::IpAddr;

fn load(text: &str) -> Loaded {
    crate::load_str(text)
}

/// The checkers of `real_server 10.0.0.2 8080` whose block is `body`, under an address
/// virtual server 10.0.0.1:80 (TCP, rr, NAT), after validation; and every diagnostic.
pub(crate) fn checkers(body: &str) -> (Vec<Checker>, Vec<String>) {
    let l = load(&format!(
        "virtual_server 10.0.0.1 80 {{\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 8080 {{\n{body}\n }}\n}}\n"
    ));
    let found = l
        .config
        .lvs
        .virtual_servers
        .first()
        .and_then(|vs| vs.real_servers.first())
        .map(|rs| rs.checkers.clone())
        .unwrap_or_default();
    (found, diags(&l))
}

/// Loads `text` on a machine where `users` exist.
pub(crate) fn load_with_users(text: &str, users: &[&str]) -> Loaded {
    let mut host = crate::host::MemoryHost::new().with_file("/etc/keepalived/keepalived.conf", text);
    host.users.extend(users.iter().map(|u| u.to_string()));
    crate::load(
        std::path::Path::new("/etc/keepalived/keepalived.conf"),
        &crate::LoadOptions::default(),
        &host,
    )
}

/// Every diagnostic as `line:column Class message` (`-:-` when unplaced).
pub(crate) fn diags(l: &Loaded) -> Vec<String> {
    l.diagnostics
        .iter()
        .map(|d| {
            let at = d
                .span
                .as_ref()
                .map_or("-:-".to_string(), |s| format!("{}:{}", s.line, s.column));
            format!("{at} {:?} {}", d.class, d.message)
        })
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn secs(s: u64) -> Option<Micros> {
    Some(Micros::from_secs(s))
}

/// The virtual_server of /work/shared/seed-cluster/master.conf (lines 27-49), as written.
const SEED_VS: &str = "\
virtual_server 192.168.1.99 80 {            #配置LVS集群服务地址及端口
    delay_loop 6
    lb_algo lc                              #LVS请求分配算法,当前为LC,详见LVS文档
    lb_kind DR                              #LVS工作模式为DR
    persistence_timeout 50
    protocol TCP                            #LVS服务协议为TCP

    real_server 192.168.1.13 80 {           #Real Server 1 地址及端口
        weight 1                            #Real Server 1权重
        TCP_CHECK {                         #Real Server健康诊断方式为TCP_CHECK
            connect_timeout 3               #诊断间隔为3秒
            connect_port 80                 #诊断连接端口为80
        }
    }

    real_server 192.168.1.14 80 {           #Real Server 1 配置
        weight 1
        TCP_CHECK {
            connect_timeout 3
            connect_port 80
        }
    }
}
";

#[test]
fn seed_virtual_server_resolves_to_what_keepalived_runs() {
    let l = load(SEED_VS);
    assert!(l.diagnostics.is_empty(), "{:?}", diags(&l));
    assert_eq!(l.test_exit_code(), 0);
    let lvs = &l.config.lvs;
    assert!(lvs.have_checker_config);
    assert_eq!(lvs.virtual_servers.len(), 1);
    let vs = &lvs.virtual_servers[0];
    assert_eq!(
        vs.key,
        VsKey::Addr {
            ip: ip("192.168.1.99"),
            port: 80
        }
    );
    assert_eq!(vs.ip_family, Some(Family::Inet));
    assert_eq!(vs.delay_loop, Micros::from_secs(6));
    assert_eq!(vs.lvs_sched, Some(LbAlgo::Lc));
    assert_eq!(vs.forwarding.lvs_method, Some(LbKind::Dr));
    assert_eq!(vs.persistence_timeout_secs, 50);
    assert_eq!(vs.protocol, Some(Protocol::Tcp));
    assert_eq!(vs.connect_timeout, Micros::from_secs(5));
    assert_eq!((vs.quorum, vs.hysteresis), (1, 0));
    assert_eq!(vs.smtp_alert, Some(false));
    assert_eq!(vs.span.as_ref().map(|s| (s.line, s.column)), Some((1, 1)));
    assert_eq!(vs.real_servers.len(), 2);
    for (rs, addr, line) in [
        (&vs.real_servers[0], "192.168.1.13", 8),
        (&vs.real_servers[1], "192.168.1.14", 16),
    ] {
        assert_eq!((rs.ip, rs.port), (ip(addr), 80));
        assert_eq!(rs.span.as_ref().map(|s| s.line), Some(line));
        assert_eq!(rs.weight, Some(1));
        // Inherited from the virtual server by validation.
        assert_eq!(rs.forwarding.lvs_method, Some(LbKind::Dr));
        assert_eq!(rs.delay_loop, secs(6));
        assert_eq!(rs.connect_timeout, secs(5));
        assert_eq!(
            (rs.alpha, rs.inhibit_on_failure, rs.smtp_alert),
            (Some(false), Some(false), Some(true))
        );
        assert_eq!(rs.retry, None);
        assert_eq!(rs.checkers.len(), 1);
        let c = &rs.checkers[0];
        assert!(matches!(c.kind, CheckerKind::Tcp));
        let co = c.common.conn.as_ref().unwrap();
        assert_eq!((co.connect_ip, co.connect_port), (Some(ip(addr)), 80));
        assert_eq!(co.connect_timeout, secs(3));
        // Type defaults and the delay_loop chain (checker ← RS ← VS).
        assert_eq!(c.common.retry, Some(1));
        assert_eq!(c.common.delay_before_retry, secs(1));
        assert_eq!(c.common.delay_loop, secs(6));
        assert_eq!(c.common.warmup, secs(6));
        assert_eq!(c.common.alpha, Some(false));
    }
}

#[test]
fn seed_backup_conf_line_38_nb_get_retry_is_unknown_in_tcp_check() {
    // keepalived: "(.../backup.conf: Line 38) Unknown keyword 'nb_get_retry'".
    let text = std::fs::read_to_string("/work/shared/seed-cluster/backup.conf").unwrap_or_default();
    if text.is_empty() {
        return;
    }
    let l = load(&text);
    let d: Vec<_> = l
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("nb_get_retry"))
        .collect();
    assert_eq!(d.len(), 1, "{:?}", diags(&l));
    assert_eq!(d[0].class, Class::UnknownKeyword);
    assert_eq!(d[0].message, "Unknown keyword 'nb_get_retry'");
    assert_eq!(d[0].span.as_ref().map(|s| (s.line, s.column)), Some((38, 13)));
    // The rest of the TCP_CHECK still applies.
    let c = &l.config.lvs.virtual_servers[0].real_servers[0].checkers[0];
    assert_eq!(c.common.delay_before_retry, secs(3));
    assert_eq!(c.common.retry, Some(1));
}

/// Configurations and every diagnostic they give, in order, as `line:col Class message`.
#[test]
fn diagnostics_match_keepalived() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "nb_get_retry: unknown in TCP_CHECK, deprecated in HTTP_GET (§11)",
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n   nb_get_retry 3\n  }\n  HTTP_GET {\n   nb_get_retry 4\n   url {\n    path /\n   }\n  }\n }\n}\n",
            &[
                "7:4 UnknownKeyword Unknown keyword 'nb_get_retry'",
                "10:4 General nb_get_retry is deprecated - please use 'retry'",
            ],
        ),
        (
            "empty VS, fwmark with protocol, no port/proto, duplicate RS, quorum (§11)",
            "virtual_server 10.0.0.1 80 {\n}\nvirtual_server fwmark 1 {\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n}\nvirtual_server 10.0.0.3 {\n quorum 5\n hysteresis 7\n real_server 10.0.0.2 {\n }\n real_server 10.0.0.2 {\n }\n}\n",
            &[
                "1:1 General Virtual server [10.0.0.1]:none:80 has no real servers - ignoring",
                "3:1 General Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored",
                "3:1 General Virtual server FWM 1: no scheduler set, setting default 'wlc'",
                "3:1 General Virtual server FWM 1: no forwarding method set, setting default NAT",
                "8:1 General Virtual server [10.0.0.3]:none:0: no protocol set - defaulting to UDP",
                "8:1 General Virtual server [10.0.0.3]:udp:0: zero port only valid for persistent services - setting",
                "8:1 General Virtual server [10.0.0.3]:udp:0: no scheduler set, setting default 'wlc'",
                "8:1 General Virtual server [10.0.0.3]:udp:0: no forwarding method set, setting default NAT",
                "13:2 General VS [10.0.0.3]:udp:0: real server [10.0.0.2]:udp:0 is duplicated - removing second rs",
                "8:1 General Warning - quorum 5 for [10.0.0.3]:udp:0 exceeds total weight of real servers 1, reducing quorum to 1",
                "8:1 General Virtual server [10.0.0.3]:udp:0: hysteresis 7 >= quorum 1; setting hysteresis to 0",
            ],
        ),
        (
            "ops on TCP, RS equal to sorry server with other inhibit, quorum (§11)",
            "virtual_server 10.0.0.5 80 {\n protocol TCP\n ops\n lb_algo rr\n lb_kind NAT\n quorum 7\n sorry_server 10.0.0.3 90\n real_server 10.0.0.3 90 {\n  weight 6\n  inhibit_on_failure\n }\n}\n",
            &[
                "1:1 General Virtual server [10.0.0.5]:tcp:80: one packet scheduling requires UDP - resetting",
                "8:2 General Virtual server [10.0.0.5]:tcp:80: real server [10.0.0.3]:tcp:90 matches sorry server, but inhibit setting differs, setting on sorry server",
                "1:1 General Warning - quorum 7 for [10.0.0.5]:tcp:80 exceeds total weight of real servers 6, reducing quorum to 6",
            ],
        ),
        (
            "group with address and fwmark, ha_suspend, DR ports (§11)",
            "virtual_server_group G4 {\n 10.1.1.1 80\n fwmark 3\n}\nvirtual_server group G4 {\n ha_suspend\n persistence_timeout\n lb_kind DR\n sorry_server 10.0.0.4 83\n real_server 10.0.0.3 82 {\n }\n}\n",
            &[
                "5:1 General Virtual server [G4]:0: cannot use ha_suspend with fwmarks - clearing ha_suspend",
                "5:1 General Virtual server [G4]:0: no protocol set - defaulting to UDP",
                "5:1 General Virtual server [G4]:0: no scheduler set, setting default 'wlc'",
                "10:2 General WARNING - fwmark virtual server [G4]:0, real server [10.0.0.3]:udp:82 has port specified - port will be ignored",
                "9:2 General WARNING - fwmark virtual server [G4]:0, sorry server has port specified - port will be ignored",
                "10:2 General virtual server [G4]:0:[10.1.1.1,80] and real server [10.0.0.3]:udp:82 ports don't match",
                "9:2 General WARNING - virtual server [G4]:0, sorry server has port specified - port will be ignored",
            ],
        ),
        (
            "fwmark VS with a TUN real server port (§11)",
            "virtual_server fwmark 7 {\n lb_algo rr\n lb_kind TUN\n real_server 10.0.0.2 80 {\n }\n}\n",
            &["4:2 General WARNING - fwmark virtual server FWM 7, real server [10.0.0.2]:none:80 has port specified - clearing"],
        ),
        (
            "timers and numbers (§11)",
            "virtual_server 10.0.0.1 80 {\n delay_loop 6abc\n delay_loop 0\n delay_loop 1.0000001\n connect_timeout 0\n retry 0\n warmup -1\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n }\n}\n",
            &[
                "2:13 InvalidNumber invalid number '6abc'",
                "3:13 InvalidNumber number '0' outside range [0.000001, 18446744073709.551614]",
                "3:13 General virtual server delay loop '0' invalid - ignoring",
                "4:13 InvalidNumber number '1.0000001' has too many decimal places",
                "5:18 InvalidNumber number '0' outside range [0.000001, 4294.967295]",
                "5:18 General virtual server connect_timeout 0 invalid - ignoring",
                "6:8 InvalidNumber number '0' outside range [1, 4294967295]",
                "6:8 General retry value invalid - 0",
                "7:9 InvalidNumber negative number '-1'",
                "7:9 General virtual server warmup '-1' invalid - ignoring",
            ],
        ),
        (
            "virtual_server headers",
            "virtual_server 10.0.0.1 80x {\n real_server 10.0.0.2 80 {\n }\n}\nvirtual_server 1.2.3 {\n}\nvirtual_server fwmark 4294967296 {\n}\nvirtual_server host.example 80 {\n}\n",
            &[
                "1:25 InvalidNumber invalid number '80x'",
                "1:16 General Invalid virtual server IP address/port 10.0.0.1/80x - skipping",
                "5:16 General Invalid virtual server IP address 1.2.3 - skipping",
                "7:23 InvalidNumber number '4294967296' outside unsigned integer range",
                "7:23 General virtual server fwmark '4294967296' must be in [0, 4294967295] - ignoring",
                "9:16 General Invalid virtual server IP address/port host.example/80 - skipping",
            ],
        ),
        (
            "real_server headers and family",
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 0x50 {\n  TCP_CHECK {\n  }\n }\n real_server ::1 80 {\n }\n real_server ::2 80 {\n  lvs_method TUN\n }\n real_server bogus {\n }\n real_server 10.0.0.3 80 {\n }\n}\n",
            &[
                "5:23 InvalidNumber invalid number '0x50'",
                "5:14 General Invalid real server ip address/port 10.0.0.2/0x50 - skipping",
                "10:2 General Address family of virtual server and real server ::1 don't match - skipping real server.",
                "14:14 General Invalid real server ip address/port bogus/(null) - skipping",
            ],
        ),
        (
            "scheduler, flags and forwarding methods",
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo LC\n sh-port\n lb_algo mh\n mh-port\n sh-port\n lb_kind TUN type gue\n lb_kind TUN type gue port 6080 csum\n lb_kind FOO\n lb_kind TUN csum\n lb_kind TUN type gre remcsum\n lb_kind DR bogus\n lvs_method TUN port\n real_server 10.0.0.2 80 {\n  lvs_method NAT\n }\n}\n",
            &[
                "3:10 General Invalid lvs_scheduler 'LC' - ignoring",
                "4:2 General sh-port only applies to sh scheduler - ignoring",
                "8:2 General gue tunnels require port, otherwise cannot have port.",
                "10:10 General PARSER : unknown [FOO] routing method for virtual server.",
                "11:2 General ipip tunnels do not support checksum option.",
                "12:2 General gre tunnels do not support remote checksum option.",
                "13:13 General Invalid tunnel option bogus for virtual server.",
                "14:17 General Missing port for virtual server gue tunnel.",
            ],
        ),
        (
            "virtual server keywords",
            "virtual_server 10.0.0.1 80 {\n protocol tcp\n protocol ICMP\n lb_algo rr\n lb_kind NAT\n ip_family inet6\n ip_family ipx\n persistence_timeout 0\n persistence_granularity 255.255.255.0\n persistence_engine abcdefghijklmnopq\n quorum 0\n hysteresis x\n weight 0\n smtp_alert maybe\n virtualhost\n snmp_name a b\n sorry_server_inhibit\n sorry_server_lvs_method DR\n sorry_server bogus\n nb_get_retry 3\n real_server 10.0.0.2 80 {\n }\n}\n",
            &[
                "3:11 General Unknown protocol ICMP - ignoring",
                "6:12 General Virtual server specified family inet6 conflicts with server family",
                "7:12 General unknown address family ipx",
                "8:22 InvalidNumber number '0' outside range [1, 2678400]",
                "8:22 General persistence_timeout invalid",
                "10:21 General persistence_name too long, truncating - abcdefghijklmnopq",
                "11:9 InvalidNumber number '0' outside range [1, 4294967295]",
                "11:9 General Quorum 0 must be in [1, 4294967295]. Setting to 1.",
                "12:13 InvalidNumber invalid number 'x'",
                "12:13 General Hysteresis x must be in [0, 4294967295] - ignoring",
                "13:9 InvalidNumber number '0' outside range [1, 2147483647]",
                "13:9 General Virtual server weight 0 is outside range 1-2147483647",
                "14:13 General Invalid virtual_server smtp_alert parameter maybe",
                "15:13 General virtual server virtualhost missing",
                "16:2 General virtual server snmp_name missing or extra parameters",
                "17:2 General Ignoring sorry_server inhibit used before or without sorry_server",
                "18:2 General sorry_server forwarding used without sorry_server",
                "19:15 General Invalid sorry server IP address bogus - skipping",
                "20:2 UnknownKeyword Unknown keyword 'nb_get_retry'",
            ],
        ),
        (
            "real server keywords",
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n  weight -1\n  uthreshold x\n  lthreshold 5000000000\n  inhibit_on_failure sometimes\n  alpha 2\n  retry 0\n  delay_before_retry -2\n  warmup x\n  connect_timeout 4295\n  delay_loop 0\n  smtp_alert 1\n  virtualhost\n  snmp_name\n  lb_kind DR\n  connect_port 80\n }\n}\n",
            &[
                "6:10 InvalidNumber negative number '-1'",
                "6:10 General Real server weight -1 is outside range 0-2147483647",
                "7:14 InvalidNumber invalid number 'x'",
                "7:14 General Invalid real_server uthreshold 'x' - ignoring",
                "8:14 InvalidNumber number '5000000000' outside unsigned integer range",
                "8:14 General Invalid real_server lthreshold '5000000000' - ignoring",
                "9:22 General Invalid inhibit_on_failure parameter sometimes",
                "10:9 General Invalid alpha parameter 2",
                "11:9 InvalidNumber number '0' outside range [1, 4294967295]",
                "11:9 General retry value invalid - 0",
                "12:22 InvalidNumber negative number '-2'",
                "12:22 General real server delay_before_retry '-2' invalid - ignoring",
                "13:10 InvalidNumber invalid number 'x'",
                "14:19 InvalidNumber number '4295' outside range [0.000001, 4294.967295]",
                "14:19 General real server connect_timeout 4295 invalid - ignoring",
                "15:14 InvalidNumber number '0' outside range [0.000001, 18446744073709.551614]",
                "15:14 General real server delay_loop '0' invalid - ignoring",
                "16:14 General Invalid real_server smtp_alert parameter 1",
                "17:14 General real server virtualhost missing",
                "18:3 General real server snmp_name missing or extra parameters",
                "19:3 UnknownKeyword Unknown keyword 'lb_kind'",
                "20:3 UnknownKeyword Unknown keyword 'connect_port'",
            ],
        ),
        (
            "checker connection and timing keywords",
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n   connect_ip 10.0.0.300\n   connect_port 99z\n   bindto ::1\n   bind_port 0\n   bind_if abcdefghijklmnop\n   connect_timeout 0\n   fwmark -1\n   retry x\n   delay_before_retry y\n   warmup -3\n   delay_loop 0\n   alpha perhaps\n   log_all_failures 7\n  }\n }\n}\n",
            &[
                "7:15 General Invalid connect_ip address 10.0.0.300 - ignoring",
                "8:17 InvalidNumber invalid number '99z'",
                "8:17 General Invalid checker connect_port '99z'",
                "10:14 InvalidNumber number '0' outside range [1, 65535]",
                "10:14 General Invalid checker bind_port '0'",
                "11:12 General Interface name abcdefghijklmnop is too long - ignoring",
                "12:20 InvalidNumber number '0' outside range [0.000001, 4294.967295]",
                "12:20 General connect_timeout 0 invalid - ignoring",
                "13:11 InvalidNumber negative number '-1'",
                "13:11 General Invalid fwmark connection value '-1'",
                "14:10 InvalidNumber invalid number 'x'",
                "14:10 General Invalid retry connection value 'x'",
                "15:23 InvalidNumber invalid number 'y'",
                "16:11 InvalidNumber negative number '-3'",
                "16:11 General Invalid warmup connection value '-3'",
                "17:15 InvalidNumber number '0' outside range [0.000001, 18446744073709.551614]",
                "17:15 General delay_loop '0' is invalid - ignoring",
                "18:10 General Invalid alpha parameter perhaps",
                "19:21 General Invalid log_all_failures parameter 7",
            ],
        ),
        (
            "bindto must match the destination family; link-local needs bind_if",
            "virtual_server ::1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server ::2 80 {\n  TCP_CHECK {\n   bindto 10.0.0.9\n  }\n  TCP_CHECK {\n   connect_ip fe80::1\n  }\n  PING_CHECK {\n   connect_ip fe80::1\n   bind_if eth0\n  }\n }\n}\n",
            &[
                "7:11 General bindto address 10.0.0.9 does not match address family of connect_ip - skipping",
                "11:3 General Checker link local address fe80::1 requires a bind_if",
            ],
        ),
        (
            "HTTP_GET and url blocks",
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   http_protocol 2.0\n   http_protocol\n   virtualhost\n   enable_sni x\n   fast_recovery y\n   url {\n    digest 0123\n    status_code 99 200-199 abc 301-302\n   }\n   url {\n    path /x\n    digest 0123456789abcdef0123456789abcdeZ\n    digest 0123456789abcdef0123456789abcdef\n    virtualhost\n    regex_min_offset 1 2\n   }\n  }\n  SSL_GET {\n  }\n  HTTP_GET {\n   url {\n   }\n  }\n }\n}\n",
            &[
                "7:18 General Invalid http_protocol version 2.0",
                "8:17 General Missing http_protocol version",
                "9:15 General HTTP_GET virtualhost name missing",
                "10:15 General Invalid enable_sni parameter x",
                "11:18 General Invalid fast_recovery parameter y",
                "13:12 General digest '0123' character length should be 32 rather than 4",
                "14:17 General Invalid HTTP_GET status code '99'",
                "14:20 General Invalid HTTP_GET status code '200-199'",
                "14:28 General Invalid HTTP_GET status code 'abc'",
                "15:4 General HTTP/SSL_GET checker url has no path - ignoring",
                "18:12 General Unable to interpret hex digit in '0123456789abcdef0123456789abcdeZ' at offset 30/31",
                "20:16 General Missing HTTP_GET virtualhost name",
                "21:5 Info Missing or too may options for regex_min_offset",
                "25:3 General HTTP/SSL_GET checker has no urls specified - ignoring",
                "28:4 General HTTP/SSL_GET checker url has no path - ignoring",
                "29:3 General HTTP/SSL_GET checker has no urls specified - ignoring",
            ],
        ),
        (
            "MISC_CHECK",
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n  MISC_CHECK {\n   misc_timeout 4295\n   connect_timeout 3\n   fwmark 1\n   nb_get_retry 3\n  }\n  MISC_CHECK {\n   misc_path \"/bin/check 'a b'\"\n   user\n   user nosuchuser\n   retry 9\n  }\n }\n}\n",
            &[
                "7:17 InvalidNumber number '4295' outside range [0, 4294]",
                "7:17 General Invalid misc_timeout value '4295'",
                "8:4 UnknownKeyword Unknown keyword 'connect_timeout'",
                "9:4 UnknownKeyword Unknown keyword 'fwmark'",
                "10:4 UnknownKeyword Unknown keyword 'nb_get_retry'",
                "11:3 General No script path has been specified for MISC_CHECKER - skipping",
                "14:8 General No user specified for misc checker script '/bin/check' 'a b'",
                "15:4 Info Script user 'nosuchuser' does not exist",
                "15:4 General Failed to set uid/gid for misc checker script '/bin/check' 'a b' - removing",
            ],
        ),
        (
            "SMTP_CHECK, DNS_CHECK, UDP_CHECK",
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 25 {\n  SMTP_CHECK {\n   helo_name\n   nb_get_retry 1\n   host {\n    connect_ip fe80::2\n   }\n  }\n  DNS_CHECK {\n   type AXFR\n   name a.example.com\n   name www..example\n   name example.com\n   name again\n  }\n  UDP_CHECK {\n   payload\n   payload 0g\n   require_reply 01 zz\n   min_reply_length 70000\n   min_reply_length 10\n   max_reply_length 5\n  }\n }\n}\n",
            &[
                "7:13 General SMTP_CHECK helo name missing",
                "8:4 UnknownKeyword Unknown keyword 'nb_get_retry'",
                "11:4 General Checker link local address fe80::2 requires a bind_if",
                "14:9 General Unknown DNS check type AXFR - ignoring",
                "15:9 General DNS_CHECK name 'a.example.com' has empty label - ignoring",
                "16:9 General DNS_CHECK name 'www..example' has empty label - ignoring",
                "18:4 General DNS_CHECK name already specified - ignoring",
                "21:11 General UDP_CHECK payload requires a payload",
                "22:12 General Invalid hex string for UDP_CHECK payload",
                "23:18 General Invalid hex string for UDP_CHECK reply",
                "24:21 InvalidNumber number '70000' outside range [0, 65535]",
                "24:21 General UDP_CHECK min length 70000 not valid - must be between 0 & 65535",
                "27:3 General UDP_CHECK min_reply length 10 > max_reply_length 5 - will always fail",
            ],
        ),
        (
            "FILE_CHECK and BFD_CHECK need blocks defined earlier",
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n  FILE_CHECK {\n   track_file nope\n   weight 5 sideways\n   weight\n   alpha\n  }\n  BFD_CHECK {\n   name nope\n  }\n  BFD_CHECK {\n   warmup 3\n  }\n  BFD_CHECK {\n   name a b\n  }\n }\n}\n",
            &[
                "7:15 General track_file nope not found",
                "8:13 General unknown track file weight option sideways - ignoring",
                "9:10 General track file weight missing",
                "10:4 UnknownKeyword Unknown keyword 'alpha'",
                "11:3 General FILE_CHECK has no track_file specified - ignoring",
                "13:4 General ([10.0.0.2]:tcp:80) BFD_CHECK - BFD nope not configured",
                "16:4 UnknownKeyword Unknown keyword 'warmup'",
                "17:3 General ([10.0.0.2]:tcp:80) No name has been specified for BFD_CHECKER - skipping",
                "19:4 General ([10.0.0.2]:tcp:80) BFD_CHECK - No or too many names specified - skipping checker",
            ],
        ),
        (
            "SSL block",
            "SSL {\n password\n ca /etc/ca.pem\n ca /etc/ca2.pem\n cipher x\n}\nSSL {\n}\n",
            &[
                "2:10 General SSL password missing",
                "4:2 General SSL cafile already specified - replacing",
                "5:2 UnknownKeyword Unknown keyword 'cipher'",
                "7:1 General SSL context already specified - replacing",
            ],
        ),
        (
            "groups referred to by virtual servers",
            "virtual_server_group V6 {\n ae00::1 80\n}\nvirtual_server group NOPE {\n real_server 10.0.0.2 80 {\n }\n}\nvirtual_server group V6 {\n real_server 10.0.0.2 80 {\n }\n}\n",
            &[
                "4:1 Info Virtual server group NOPE specified but not configured - ignoring virtual server [NOPE]:0",
                "8:1 Info V6: address family doesn't match virtual server [V6]:0 - ignoring",
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (name, text, want) in cases {
        let got = diags(&load(text));
        if got != *want {
            failures.push(format!("{name}:\n  got:  {got:#?}\n  want: {want:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn missing_parameters_abort_like_keepalived() {
    let cases: &[(&str, &str)] = &[
        (
            "virtual_server 10.0.0.1 80 {\n lb_algo\n}\n",
            "*** Configuration line starting `lb_algo` is missing a parameter after keyword `lb_algo` at word position 2",
        ),
        (
            "virtual_server fwmark\n",
            "*** Configuration line starting `virtual_server` is missing a parameter after keyword `fwmark` at word position 3",
        ),
        (
            "virtual_server group {\n}\n",
            "*** Configuration line starting `virtual_server` is missing a parameter after keyword `group` at word position 3",
        ),
        ("virtual_server\n", "*** Configuration line starting `virtual_server` is missing a parameter after keyword `virtual_server` at word position 2"),
        (
            "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    path\n   }\n  }\n }\n}\n",
            "*** Configuration line starting `path` is missing a parameter after keyword `path` at word position 2",
        ),
        (
            "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  DNS_CHECK {\n   type\n  }\n }\n}\n",
            "*** Configuration line starting `type` is missing a parameter after keyword `type` at word position 2",
        ),
    ];
    for (text, msg) in cases {
        let l = load(text);
        assert_eq!(l.test_exit_code(), 2, "{text}");
        assert_eq!(l.diagnostics[0].message, *msg, "{text}");
        assert_eq!(l.diagnostics[0].class, Class::MissingParameter);
    }
}

/// A configuration using every LVS block, for the robustness tests below.
const EVERYTHING: &str = "\
SSL {
 password p
 ca /ca
 certificate /c
 key /k
}
track_file tf {
 file /run/tf
}
bfd_instance b1 {
 neighbor_ip 10.0.0.2
}
virtual_server_group G {
 10.1.1.1-9 80
 10.2.0.0/30 80
 fwmark 7 inet
}
virtual_server group G {
 lb_algo sh
 sh-port
 lb_kind TUN type gue port 6080 csum
 persistence_granularity 255.255.255.0
 quorum_up \"/bin/up 'x y'\"
 sorry_server 10.0.0.9 80
 sorry_server_lvs_method DR
 real_server 10.0.0.2 80 {
  notify_up /bin/up
  TCP_CHECK {
   connect_ip fe80::1
   bind_if eth0
  }
  HTTP_GET {
   url {
    path /
    digest 0123456789abcdef0123456789abcdef
    status_code 200-299 404
    regex \"^ok\"
   }
  }
  SMTP_CHECK {
   host {
    connect_ip 10.0.0.3
   }
  }
  MISC_CHECK {
   misc_path \"/bin/check a\"
  }
  DNS_CHECK {
   type A
   name www.example.com
  }
  UDP_CHECK {
   payload 01 02
   require_reply 0x
  }
  PING_CHECK {
  }
  FILE_CHECK {
   track_file tf
   weight -3 reverse
  }
  BFD_CHECK {
   name b1
  }
 }
}
virtual_server fwmark 0 {
 ops
 real_server ::1 {
 }
}
";

#[test]
fn everything_parses_into_every_checker_kind() {
    let l = load(EVERYTHING);
    let lvs_diags: Vec<String> = diags(&l)
        .into_iter()
        .filter(|d| !d.contains("bfd_instance") && !d.starts_with("1"))
        .collect();
    assert_eq!(
        lvs_diags,
        [
            "44:3 Info The SMTP_CHECK host block is deprecated. Please define additional checkers.",
            // The group has a fwmark: keepalived warns about the TUN servers' ports.
            "26:2 General WARNING - fwmark virtual server [G]:0, real server [10.0.0.2]:udp:80 has port specified - port will be ignored",
            "24:2 General WARNING - fwmark virtual server [G]:0, sorry server has port specified - port will be ignored",
            "67:1 General Virtual server []:none:0: no protocol set - defaulting to UDP",
            "67:1 General Virtual server []:udp:0: zero port only valid for persistent services - setting",
            "67:1 General Virtual server []:udp:0: no scheduler set, setting default 'wlc'",
            "67:1 General Virtual server []:udp:0: no forwarding method set, setting default NAT",
        ]
    );
    let vs = &l.config.lvs.virtual_servers[0];
    assert_eq!(vs.ip_family, Some(Family::Inet));
    assert_eq!(
        vs.sched_flags,
        SchedFlags {
            flag_1: false,
            flag_2: true,
            flag_3: false
        }
    );
    assert_eq!(
        vs.forwarding.tunnel,
        Tunnel {
            tun_type: TunnelType::Gue,
            port: 6080,
            csum: TunnelCsum::Csum
        }
    );
    assert_eq!(vs.persistence_timeout_secs, 360, "set by persistence_granularity");
    let kinds: Vec<&str> = vs.real_servers[0]
        .checkers
        .iter()
        .map(|c| c.kind.keyword())
        .collect();
    assert_eq!(
        kinds,
        [
            "TCP_CHECK",
            "HTTP_GET",
            "SMTP_CHECK",
            "MISC_CHECK",
            "DNS_CHECK",
            "UDP_CHECK",
            "PING_CHECK",
            "FILE_CHECK",
            "BFD_CHECK"
        ]
    );
    let scripts: Vec<&str> = l.config.lvs.scripts().iter().map(|s| s.keyword).collect();
    assert_eq!(scripts, ["misc_path", "quorum_up", "notify_up"]);
    // fwmark 0 is an address virtual server without address, as in keepalived.
    assert_eq!(l.config.lvs.virtual_servers[1].persistence_timeout_secs, 360);
    // It defaults to UDP first, so one-packet scheduling stays.
    assert!(l.config.lvs.virtual_servers[1].ops);
}

/// Every prefix and every one-line deletion of [`EVERYTHING`] loads without panicking, and the
/// model still serialises.
#[test]
fn damaged_configurations_never_panic() {
    let lines: Vec<&str> = EVERYTHING.lines().collect();
    let mut inputs = Vec::new();
    for i in 0..lines.len() {
        inputs.push(lines[..i].join("\n"));
        let mut without = lines.clone();
        without.remove(i);
        inputs.push(without.join("\n"));
        // Each line cut after each of its words.
        let words: Vec<&str> = lines[i].split_whitespace().collect();
        for n in 0..words.len() {
            let mut cut = lines.clone();
            let short = words[..n].join(" ");
            cut[i] = &short;
            inputs.push(cut.join("\n"));
        }
    }
    for text in inputs {
        let l = load(&text);
        let _ = l.test_exit_code();
        assert!(serde_json::to_string(&l.config.lvs).is_ok());
    }
}

mod prop {
    use proptest::prelude::*;

    /// Words the LVS parser reacts to, with some values, braces and line ends.
    const TOKENS: &[&str] = &[
        "virtual_server",
        "virtual_server_group",
        "real_server",
        "sorry_server",
        "SSL",
        "group",
        "fwmark",
        "TCP_CHECK",
        "HTTP_GET",
        "SSL_GET",
        "url",
        "MISC_CHECK",
        "SMTP_CHECK",
        "host",
        "DNS_CHECK",
        "UDP_CHECK",
        "PING_CHECK",
        "FILE_CHECK",
        "BFD_CHECK",
        "track_file",
        "bfd_instance",
        "path",
        "digest",
        "status_code",
        "regex",
        "regex_max_offset",
        "payload",
        "require_reply",
        "name",
        "type",
        "weight",
        "lb_kind",
        "lvs_method",
        "TUN",
        "NAT",
        "DR",
        "gue",
        "port",
        "csum",
        "lb_algo",
        "sh",
        "mh-port",
        "quorum",
        "hysteresis",
        "retry",
        "delay_loop",
        "connect_ip",
        "connect_port",
        "bindto",
        "bind_if",
        "misc_path",
        "user",
        "notify_up",
        "persistence_granularity",
        "persistence_timeout",
        "ip_family",
        "inet6",
        "protocol",
        "UDP",
        "10.0.0.1",
        "10.0.0.1-300",
        "10.0.0.0/33",
        "ae00::1-ffff0",
        "fe80::1",
        "::",
        "0",
        "00",
        "80",
        "-1",
        "4294967296",
        "1.5x",
        "\"a b\"",
        "'x",
        "\\",
        "x",
        "{",
        "}",
        "\n",
        "\n",
        "\n",
        "}\n",
        "{\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn token_soup_never_panics(picks in proptest::collection::vec(0..TOKENS.len(), 0..120)) {
            let text: String = picks.iter().map(|i| TOKENS[*i]).collect::<Vec<_>>().join(" ");
            let l = crate::load_str(&text);
            let _ = l.test_exit_code();
            prop_assert!(serde_json::to_string(&l.config.lvs).is_ok());
        }
    }
}

#[test]
fn a_misspelled_block_keyword_is_read_as_keepalived_reads_it() {
    let l = load(
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n  TCP_CHEK {\n   connect_port 81\n   weight 2\n  }\n }\n}\n",
    );
    assert_eq!(
        diags(&l),
        [
            "6:3 UnknownKeyword Unknown keyword 'TCP_CHEK'",
            "6:12 UnexpectedBlockStart Unexpected '{' - ignoring",
            "7:4 UnknownKeyword Unknown keyword 'connect_port'",
        ]
    );
    assert_eq!(
        l.diagnostics[0].help.as_deref(),
        Some("did you mean 'TCP_CHECK'? (keepalived ignores unknown keywords and goes on)")
    );
    // The block's lines are read at the real server's level, as keepalived does.
    let rs = &l.config.lvs.virtual_servers[0].real_servers[0];
    assert_eq!(rs.weight, Some(2));
    assert!(rs.checkers.is_empty());
}
