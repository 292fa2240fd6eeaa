//! Prometheus metrics from the status snapshot, in the text exposition format.
//!
//! First, by default, exactly what mehdy/keepalived-exporter publishes (names, labels,
//! types, values), so that its Grafana dashboard and alert rules work unchanged against
//! keepalived-rs; then keepalived-rs's own series, named by Prometheus' conventions.

use super::status::{Histogram, Status};
use std::fmt::Write;

/// Escapes a label value (backslash, quote, newline).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

struct Out {
    text: String,
}

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", esc(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", fmt_value(value));
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram) {
        for (bound, n) in &h.buckets {
            let le = fmt_value(*bound);
            let mut l: Vec<(&str, &str)> = labels.to_vec();
            l.push(("le", &le));
            self.sample(&format!("{name}_bucket"), &l, *n as f64);
        }
        let mut l: Vec<(&str, &str)> = labels.to_vec();
        l.push(("le", "+Inf"));
        self.sample(&format!("{name}_bucket"), &l, h.count as f64);
        self.sample(&format!("{name}_sum"), labels, h.sum);
        self.sample(&format!("{name}_count"), labels, h.count as f64);
    }
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The words mehdy's exporter takes from a VIP line (`192.0.2.99/24 dev eth0 scope global`):
/// the address (first word) and the interface (third word).
fn vip_words(vip: &str) -> (String, String) {
    let words: Vec<&str> = vip.split_whitespace().collect();
    (
        words.first().map(|w| w.to_string()).unwrap_or_default(),
        words.get(2).map(|w| w.to_string()).unwrap_or_default(),
    )
}

/// Renders every metric.
pub fn render(s: &Status) -> String {
    let mut o = Out { text: String::new() };

    // ---- mehdy/keepalived-exporter's set ----
    o.family("keepalived_up", "gauge", "Status");
    o.sample("keepalived_up", &[], 1.0);

    for (name, excluded) in [
        ("keepalived_vrrp_state", false),
        ("keepalived_vrrp_excluded_state", true),
    ] {
        let help = if excluded {
            "State of vrrp with excluded VIP"
        } else {
            "State of vrrp"
        };
        o.family(name, "gauge", help);
        for i in &s.vrrp {
            let vrid = i.data.vrid.to_string();
            let vips = if excluded { &i.data.evips } else { &i.data.vips };
            let state = f64::from(i.data.state);
            if vips.is_empty() && !excluded {
                o.sample(
                    name,
                    &[
                        ("iname", &i.data.iname),
                        ("intf", &i.data.ifp_ifname),
                        ("vrid", &vrid),
                        ("ip_address", ""),
                    ],
                    state,
                );
            }
            for v in vips {
                let (addr, intf) = vip_words(v);
                o.sample(
                    name,
                    &[
                        ("iname", &i.data.iname),
                        ("intf", &intf),
                        ("vrid", &vrid),
                        ("ip_address", &addr),
                    ],
                    state,
                );
            }
        }
    }

    type Counter = fn(&super::status::InstanceStats) -> u64;
    let counters: [(&str, &str, Counter); 14] = [
        (
            "keepalived_advertisements_received_total",
            "Advertisements received",
            |t| t.advert_rcvd,
        ),
        (
            "keepalived_advertisements_sent_total",
            "Advertisements sent",
            |t| t.advert_sent,
        ),
        ("keepalived_become_master_total", "Became master", |t| {
            t.become_master
        }),
        ("keepalived_release_master_total", "Released master", |t| {
            t.release_master
        }),
        (
            "keepalived_packet_length_errors_total",
            "Packet length errors",
            |t| t.packet_len_err,
        ),
        (
            "keepalived_advertisements_interval_errors_total",
            "Advertisement interval errors",
            |t| t.advert_interval_err,
        ),
        ("keepalived_ip_ttl_errors_total", "TTL errors", |t| t.ip_ttl_err),
        (
            "keepalived_invalid_type_received_total",
            "Invalid type errors",
            |t| t.invalid_type_rcvd,
        ),
        (
            "keepalived_address_list_errors_total",
            "Address list errors",
            |t| t.addr_list_err,
        ),
        (
            "keepalived_authentication_invalid_total",
            "Authentication invalid",
            |t| t.invalid_authtype,
        ),
        (
            "keepalived_authentication_mismatch_total",
            "Authentication mismatch",
            |t| t.authtype_mismatch,
        ),
        (
            "keepalived_authentication_failure_total",
            "Authentication failure",
            |t| t.auth_failure,
        ),
        (
            "keepalived_priority_zero_received_total",
            "Priority zero received",
            |t| t.pri_zero_rcvd,
        ),
        ("keepalived_priority_zero_sent_total", "Priority zero sent", |t| {
            t.pri_zero_sent
        }),
    ];
    for (name, help, get) in counters {
        o.family(name, "counter", help);
        for i in &s.vrrp {
            let vrid = i.data.vrid.to_string();
            o.sample(
                name,
                &[
                    ("iname", &i.data.iname),
                    ("intf", &i.data.ifp_ifname),
                    ("vrid", &vrid),
                ],
                get(&i.stats) as f64,
            );
        }
    }
    o.family(
        "keepalived_gratuitous_arp_delay_total",
        "counter",
        "Gratuitous ARP delay",
    );
    for i in &s.vrrp {
        let vrid = i.data.vrid.to_string();
        o.sample(
            "keepalived_gratuitous_arp_delay_total",
            &[
                ("iname", &i.data.iname),
                ("intf", &i.data.ifp_ifname),
                ("vrid", &vrid),
            ],
            i.data.garp_delay as f64,
        );
    }
    o.family("keepalived_script_status", "gauge", "Tracker Script Status");
    for sc in &s.vrrp_scripts {
        o.sample(
            "keepalived_script_status",
            &[("name", &sc.name)],
            if sc.status == "GOOD" { 1.0 } else { 0.0 },
        );
    }

    // ---- keepalived-rs's own ----
    o.family(
        "keepalived_build_info",
        "gauge",
        "keepalived-rs version and data plane",
    );
    let backend = s.dataplane.as_ref().map(|d| d.backend.as_str()).unwrap_or("none");
    o.sample(
        "keepalived_build_info",
        &[("version", s.version), ("backend", backend)],
        1.0,
    );

    o.family(
        "keepalived_vrrp_instance_state",
        "gauge",
        "VRRP instance state as a state set: 1 for the current state",
    );
    for i in &s.vrrp {
        let vrid = i.data.vrid.to_string();
        for state in ["INIT", "BACKUP", "MASTER", "FAULT", "STOP"] {
            o.sample(
                "keepalived_vrrp_instance_state",
                &[
                    ("instance", &i.data.iname),
                    ("interface", &i.data.ifp_ifname),
                    ("vrid", &vrid),
                    ("family", &i.extra.family),
                    ("state", state),
                ],
                if i.extra.state_name == state { 1.0 } else { 0.0 },
            );
        }
    }
    o.family(
        "keepalived_vrrp_priority",
        "gauge",
        "VRRP priority (base: configured, effective: with trackers)",
    );
    for i in &s.vrrp {
        o.sample(
            "keepalived_vrrp_priority",
            &[("instance", &i.data.iname), ("kind", "base")],
            f64::from(i.data.base_priority),
        );
        o.sample(
            "keepalived_vrrp_priority",
            &[("instance", &i.data.iname), ("kind", "effective")],
            f64::from(i.data.effective_priority),
        );
    }
    o.family(
        "keepalived_vrrp_master_priority",
        "gauge",
        "Priority of the master last heard (0: none)",
    );
    for i in &s.vrrp {
        o.sample(
            "keepalived_vrrp_master_priority",
            &[("instance", &i.data.iname)],
            f64::from(i.data.master_priority),
        );
    }
    o.family(
        "keepalived_vrrp_transitions_total",
        "counter",
        "VRRP state transitions",
    );
    for i in &s.vrrp {
        for t in &i.extra.transitions {
            o.sample(
                "keepalived_vrrp_transitions_total",
                &[("instance", &i.data.iname), ("from", &t.from), ("to", &t.to)],
                t.count as f64,
            );
        }
    }
    o.family(
        "keepalived_vrrp_last_transition_timestamp_seconds",
        "gauge",
        "When the instance last changed state (seconds since the epoch; 0: never)",
    );
    for i in &s.vrrp {
        o.sample(
            "keepalived_vrrp_last_transition_timestamp_seconds",
            &[("instance", &i.data.iname)],
            i.data.last_transition,
        );
    }
    o.family(
        "keepalived_vrrp_adverts_dropped_total",
        "counter",
        "Adverts dropped, by reason",
    );
    for i in &s.vrrp {
        for (reason, n) in &i.extra.dropped {
            o.sample(
                "keepalived_vrrp_adverts_dropped_total",
                &[("instance", &i.data.iname), ("reason", reason)],
                *n as f64,
            );
        }
    }
    o.family(
        "keepalived_vrrp_peer_last_advert_age_seconds",
        "gauge",
        "Age of the last advert accepted from each advertiser (two masters hearing each other show here)",
    );
    for i in &s.vrrp {
        for p in &i.extra.peers {
            o.sample(
                "keepalived_vrrp_peer_last_advert_age_seconds",
                &[("instance", &i.data.iname), ("peer", &p.address)],
                p.last_advert_age_seconds,
            );
        }
    }
    o.family("keepalived_garp_sent_total", "counter", "Gratuitous ARPs sent");
    o.family(
        "keepalived_unsolicited_na_sent_total",
        "counter",
        "Unsolicited neighbour advertisements sent",
    );
    for i in &s.vrrp {
        o.sample(
            "keepalived_garp_sent_total",
            &[("instance", &i.data.iname)],
            i.extra.garp_sent as f64,
        );
        o.sample(
            "keepalived_unsolicited_na_sent_total",
            &[("instance", &i.data.iname)],
            i.extra.unsolicited_na_sent as f64,
        );
    }

    o.family(
        "keepalived_checker_realserver_up",
        "gauge",
        "Real server in the pool (1) or not (0)",
    );
    o.family(
        "keepalived_checker_realserver_weight",
        "gauge",
        "Weight the real server has when in the pool",
    );
    for vs in &s.virtual_servers {
        for rs in &vs.real_servers {
            let l = [
                ("virtual_server", vs.name.as_str()),
                ("real_server", rs.name.as_str()),
            ];
            o.sample(
                "keepalived_checker_realserver_up",
                &l,
                if rs.up { 1.0 } else { 0.0 },
            );
            o.sample("keepalived_checker_realserver_weight", &l, f64::from(rs.weight));
        }
    }
    o.family(
        "keepalived_checker_quorum_up",
        "gauge",
        "Virtual server has its quorum (1) or not (0)",
    );
    for vs in &s.virtual_servers {
        o.sample(
            "keepalived_checker_quorum_up",
            &[("virtual_server", &vs.name)],
            if vs.quorum_up { 1.0 } else { 0.0 },
        );
    }
    o.family(
        "keepalived_vrrp_packets_dropped_unattributed_total",
        "counter",
        "VRRP packets dropped before they could be matched to an instance, by reason",
    );
    for (reason, n) in &s.vrrp_unattributed_drops {
        o.sample(
            "keepalived_vrrp_packets_dropped_unattributed_total",
            &[("reason", reason)],
            *n as f64,
        );
    }
    if !s.announce.is_empty() {
        o.family(
            "keepalived_bgp_announced",
            "gauge",
            "bgp_announce address put on its interface for the routing daemon (1) or withdrawn (0)",
        );
        for a in &s.announce {
            o.sample(
                "keepalived_bgp_announced",
                &[("address", &a.address)],
                if a.announced { 1.0 } else { 0.0 },
            );
        }
        o.family(
            "keepalived_draining",
            "gauge",
            "keepalived-rs ctl drain is in effect",
        );
        o.sample("keepalived_draining", &[], if s.draining { 1.0 } else { 0.0 });
    }
    if !s.checks.is_empty() {
        o.family(
            "keepalived_checker_checks_total",
            "counter",
            "Health-check probes, by checker type and result (error: could not be attempted here)",
        );
        for (kind, c) in &s.checks {
            for (result, n) in [("success", c.success), ("failure", c.failure), ("error", c.error)] {
                o.sample(
                    "keepalived_checker_checks_total",
                    &[("type", kind), ("result", result)],
                    n as f64,
                );
            }
        }
        o.family(
            "keepalived_checker_duration_seconds",
            "histogram",
            "Time from a probe's start to its result, by checker type",
        );
        for (kind, c) in &s.checks {
            o.histogram(
                "keepalived_checker_duration_seconds",
                &[("type", kind)],
                &c.duration_seconds,
            );
        }
    }
    if let Some(d) = &s.dataplane {
        o.family(
            "keepalived_dataplane_applies_total",
            "counter",
            "Change sets applied to the data plane",
        );
        o.sample(
            "keepalived_dataplane_applies_total",
            &[("backend", &d.backend)],
            d.applies as f64,
        );
        o.family(
            "keepalived_dataplane_failures_total",
            "counter",
            "Data-plane writes that failed or did not stick",
        );
        o.sample(
            "keepalived_dataplane_failures_total",
            &[("backend", &d.backend)],
            d.failures as f64,
        );
        o.family(
            "keepalived_dataplane_changes_total",
            "counter",
            "Service and destination changes applied",
        );
        o.sample(
            "keepalived_dataplane_changes_total",
            &[("backend", &d.backend)],
            d.changes as f64,
        );
        o.family(
            "keepalived_dataplane_in_sync",
            "gauge",
            "The data plane holds the desired state (1) or not (0)",
        );
        o.sample(
            "keepalived_dataplane_in_sync",
            &[("backend", &d.backend)],
            if d.in_sync { 1.0 } else { 0.0 },
        );
        o.family(
            "keepalived_dataplane_apply_duration_seconds",
            "histogram",
            "Time to apply a change set and read it back",
        );
        o.histogram(
            "keepalived_dataplane_apply_duration_seconds",
            &[("backend", &d.backend)],
            &d.apply_seconds,
        );
    }
    o.family(
        "keepalived_config_last_reload_successful",
        "gauge",
        "The last configuration load or reload succeeded (1) or was refused (0)",
    );
    o.sample(
        "keepalived_config_last_reload_successful",
        &[],
        if s.config.last_reload_successful { 1.0 } else { 0.0 },
    );
    o.family(
        "keepalived_config_last_reload_success_timestamp_seconds",
        "gauge",
        "When the configuration was last loaded successfully",
    );
    o.sample(
        "keepalived_config_last_reload_success_timestamp_seconds",
        &[],
        s.config.last_success_unix,
    );
    o.family("keepalived_config_reloads_total", "counter", "Reloads, by result");
    o.sample(
        "keepalived_config_reloads_total",
        &[("result", "success")],
        s.config.reloads as f64,
    );
    o.sample(
        "keepalived_config_reloads_total",
        &[("result", "refused")],
        s.config.failed_reloads as f64,
    );
    o.text
}

/// node_exporter's IPVS collector series, from our nftables table read back (the listing
/// `keepalived-rs list` prints), so that LVS dashboards keep working after a move from IPVS
/// to nftables. Never rendered on the IPVS backend: node_exporter reads the kernel itself
/// there, and the series would be duplicated. Labels and their order are node_exporter's
/// (`local_address`, `local_port`, `remote_address`, `remote_port`, `proto`, `local_mark`).
/// The `node_ipvs_*_total` traffic counters are left out: our ruleset keeps no counters (the
/// same reason `list --stats` shows zeros), and a counter stuck at 0 would mislead.
pub fn render_node_ipvs(services: &[ka_lb::listing::ListedService]) -> String {
    use ka_lb::ServiceKey;
    let mut o = Out { text: String::new() };
    type Value = fn(&ka_lb::listing::ListedDest) -> f64;
    let series: [(&str, &str, Value); 3] = [
        (
            "node_ipvs_backend_connections_active",
            "The current active connections by local and remote address.",
            |d| d.active_conns as f64,
        ),
        (
            "node_ipvs_backend_connections_inactive",
            "The current inactive connections by local and remote address.",
            |d| d.inactive_conns as f64,
        ),
        (
            "node_ipvs_backend_weight",
            "The current backend weight by local and remote address.",
            |d| d.dest.weight as f64,
        ),
    ];
    for (name, help, value) in series {
        o.family(name, "gauge", help);
        for s in services {
            let (local_address, local_port, proto, local_mark) = match s.key {
                ServiceKey::Addr { protocol, addr, port } => {
                    (addr.to_string(), port.to_string(), protocol.name(), String::new())
                }
                ServiceKey::Fwmark { mark, .. } => (String::new(), "0".to_string(), "FWM", mark.to_string()),
            };
            for d in &s.dests {
                let remote_address = d.dest.key.addr.to_string();
                let remote_port = d.dest.key.port.to_string();
                o.sample(
                    name,
                    &[
                        ("local_address", &local_address),
                        ("local_port", &local_port),
                        ("remote_address", &remote_address),
                        ("remote_port", &remote_port),
                        ("proto", proto),
                        ("local_mark", &local_mark),
                    ],
                    value(d),
                );
            }
        }
    }
    o.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::status::{InstanceData, VrrpInstance};

    fn one_instance() -> Status {
        let mut s = Status::default();
        s.vrrp.push(VrrpInstance {
            data: InstanceData {
                iname: "VI_1".into(),
                ifp_ifname: "eth0".into(),
                vrid: 51,
                state: 2,
                vips: vec!["192.0.2.99/24 dev eth0 scope global set".into()],
                ..InstanceData::default()
            },
            ..VrrpInstance::default()
        });
        s.vrrp[0].stats.advert_sent = 4;
        s.vrrp[0].extra.state_name = "MASTER".into();
        s
    }

    #[test]
    fn the_exporter_names_and_labels_are_kept() {
        let text = render(&one_instance());
        assert!(text.contains(
            "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"192.0.2.99/24\"} 2\n"
        ));
        assert!(text
            .contains("keepalived_advertisements_sent_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 4\n"));
        assert!(text.contains("# TYPE keepalived_advertisements_sent_total counter\n"));
        assert!(text.contains("keepalived_up 1\n"));
        assert!(text.contains(
            "keepalived_vrrp_instance_state{instance=\"VI_1\",interface=\"eth0\",vrid=\"51\",family=\"\",state=\"MASTER\"} 1\n"
        ));
    }

    #[test]
    fn node_ipvs_series_have_node_exporters_names_and_labels() {
        use ka_lb::listing::{ListedDest, ListedService};
        use ka_lb::{Dest, DestKey, Forward, Protocol, ServiceKey};
        let service = |key: ServiceKey, weight: u32, active: u32| ListedService {
            key,
            scheduler: "rr".into(),
            flags: 0,
            timeout: 0,
            netmask: 0,
            pe_name: None,
            stats: Default::default(),
            dests: vec![ListedDest {
                active_conns: active,
                inactive_conns: 3,
                ..ListedDest::idle(Dest::new(
                    DestKey {
                        addr: "192.0.2.13".parse().unwrap(),
                        port: 80,
                    },
                    Forward::Route,
                    weight,
                ))
            }],
        };
        let text = render_node_ipvs(&[
            service(
                ServiceKey::Addr {
                    protocol: Protocol::Tcp,
                    addr: "192.0.2.99".parse().unwrap(),
                    port: 80,
                },
                3,
                7,
            ),
            service(
                ServiceKey::Fwmark {
                    family: ka_lb::Family::Ipv4,
                    mark: 5,
                },
                0,
                0,
            ),
        ]);
        assert!(text.contains("# TYPE node_ipvs_backend_weight gauge\n"));
        assert!(text.contains(
            "node_ipvs_backend_connections_active{local_address=\"192.0.2.99\",local_port=\"80\",remote_address=\"192.0.2.13\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\"} 7\n"
        ), "{text}");
        assert!(text.contains(
            "node_ipvs_backend_weight{local_address=\"\",local_port=\"0\",remote_address=\"192.0.2.13\",remote_port=\"80\",proto=\"FWM\",local_mark=\"5\"} 0\n"
        ), "{text}");
        assert!(text.contains("node_ipvs_backend_connections_inactive{local_address=\"192.0.2.99\""));
        assert_eq!(text.matches("# HELP").count(), 3);
    }

    #[test]
    fn checks_by_type_and_result_with_a_duration_histogram() {
        let mut s = one_instance();
        let mut tcp = crate::daemon::status::CheckStats {
            success: 5,
            failure: 2,
            ..Default::default()
        };
        tcp.duration_seconds.observe(0.0004);
        tcp.duration_seconds.observe(3.0);
        s.checks.insert("TCP_CHECK".into(), tcp);
        let text = render(&s);
        for line in [
            "keepalived_checker_checks_total{type=\"TCP_CHECK\",result=\"success\"} 5\n",
            "keepalived_checker_checks_total{type=\"TCP_CHECK\",result=\"failure\"} 2\n",
            "keepalived_checker_checks_total{type=\"TCP_CHECK\",result=\"error\"} 0\n",
            "keepalived_checker_duration_seconds_bucket{type=\"TCP_CHECK\",le=\"0.0005\"} 1\n",
            "keepalived_checker_duration_seconds_bucket{type=\"TCP_CHECK\",le=\"2.5\"} 1\n",
            "keepalived_checker_duration_seconds_bucket{type=\"TCP_CHECK\",le=\"5\"} 2\n",
            "keepalived_checker_duration_seconds_bucket{type=\"TCP_CHECK\",le=\"+Inf\"} 2\n",
            "keepalived_checker_duration_seconds_count{type=\"TCP_CHECK\"} 2\n",
        ] {
            assert!(text.contains(line), "missing {line}in\n{text}");
        }
        assert!(!render(&one_instance()).contains("keepalived_checker_checks_total"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
