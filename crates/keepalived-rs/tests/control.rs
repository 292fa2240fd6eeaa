//! The daemon's reporting, from outside: `keepalived-rs ctl status|metrics|stats|json|reload`
//! over the control socket, global_defs' `metrics_listen` over HTTP, the SIGUSR2 and JSON-signal dump files, in a
//! namespace with a running VRRP pair. Metrics are checked with promtool and their values
//! after a forced failover; no answer or file may carry the password.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::time::Duration;
use support::topology::{wait_for, Impl, Lan};

const PASSWORD: &str = "s3cr3tpw";

/// The backup serves its metrics over HTTP, asked by global_defs' `metrics_listen`.
const BACKUP_METRICS: &str = "192.0.2.12:9650";

fn config(me: usize, priority: u8) -> String {
    let metrics = if me == 1 {
        format!("    metrics_listen {BACKUP_METRICS}\n")
    } else {
        String::new()
    };
    format!(
        "global_defs {{\n    router_id h{me}\n{metrics}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 61\n    priority {priority}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass {PASSWORD}\n    }}\n    virtual_ipaddress {{\n        192.0.2.99/24\n    }}\n}}\n"
    )
}

fn ctl(lan: &Lan, host: usize, action: &str) -> (i32, String) {
    let out = lan.hosts[host]
        .command(support::our_binary().to_str().unwrap())
        .args(["ctl", action])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Where the daemon (which inherits our environment) writes a dump: `$TMPDIR` when it is
/// absolute, else /tmp, as keepalived.
fn dump(file: &str) -> std::path::PathBuf {
    std::env::var_os("TMPDIR")
        .map(std::path::PathBuf::from)
        .filter(|d| d.is_absolute())
        .unwrap_or_else(|| "/tmp".into())
        .join(file)
}

/// One sample's value from Prometheus text.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn status_metrics_and_dumps_report_the_running_daemon() {
    if !support::can_run("control", &["ip", "keepalived"]) {
        return;
    }
    let mut lan = Lan::new(2);
    let a = lan.start(0, Impl::Ours, &config(0, 150));
    lan.start(1, Impl::Ours, &config(1, 100));
    assert!(
        wait_for(Duration::from_secs(8), || lan.holders("192.0.2.99") == vec![0]),
        "{}",
        lan.logs()
    );

    let (code, status) = ctl(&lan, 0, "status");
    assert_eq!(code, 0, "{status}");
    let json: serde_json::Value = serde_json::from_str(&status).expect("status is JSON");
    let inst = &json["vrrp"][0];
    assert_eq!(inst["data"]["iname"], "VI_1");
    assert_eq!(inst["data"]["state"], 2, "MASTER is keepalived's 2");
    assert_eq!(inst["extra"]["state_name"], "MASTER");
    assert!(inst["stats"]["advert_sent"].as_u64().unwrap() >= 1);
    support::check_schema(&status);
    let (_, backup) = ctl(&lan, 1, "status");
    let backup: serde_json::Value = serde_json::from_str(&backup).unwrap();
    assert_eq!(backup["vrrp"][0]["data"]["state"], 1, "{backup}");
    // The backup hears the master.
    assert_eq!(backup["vrrp"][0]["extra"]["peers"][0]["address"], "192.0.2.11");

    let (code, metrics) = ctl(&lan, 0, "metrics");
    assert_eq!(code, 0);
    assert_eq!(
        sample(
            &metrics,
            "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"61\",ip_address=\"192.0.2.99/24\"}"
        ),
        Some(2.0),
        "{metrics}"
    );
    support::check_prometheus_text(&metrics);

    // Dumps on keepalived's signals, private, without the password.
    for f in [
        dump("keepalived.stats"),
        dump("keepalived.json"),
        dump("keepalived.data"),
    ] {
        let _ = std::fs::remove_file(f);
    }
    lan.signal(a, "USR1");
    lan.signal(a, "USR2");
    lan.signal(a, "36");
    assert!(wait_for(Duration::from_secs(3), || {
        [
            dump("keepalived.stats"),
            dump("keepalived.json"),
            dump("keepalived.data"),
        ]
        .iter()
        .all(|f| std::path::Path::new(f).exists())
    }));
    let data = std::fs::read_to_string(dump("keepalived.data")).unwrap();
    assert!(
        data.contains(" VRRP Instance = VI_1\n") && data.contains("   State = MASTER\n"),
        "{data}"
    );
    let stats = std::fs::read_to_string(dump("keepalived.stats")).unwrap();
    assert!(
        stats.starts_with("VRRP Instance: VI_1\n  Advertisements:\n"),
        "{stats}"
    );
    let json_text = std::fs::read_to_string(dump("keepalived.json")).unwrap();
    let json_dump: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(json_dump[0]["data"]["iname"], "VI_1");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(dump("keepalived.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    for text in [&status, &metrics, &stats, &data, &json_dump.to_string()] {
        assert!(
            !text.contains(PASSWORD) && !text.contains(&PASSWORD[..8]),
            "password leaked"
        );
    }

    // A reload through the control socket is counted.
    let (code, said) = ctl(&lan, 0, "reload");
    assert_eq!(code, 0, "{said}");
    assert!(wait_for(Duration::from_secs(5), || {
        sample(
            &ctl(&lan, 0, "metrics").1,
            "keepalived_config_reloads_total{result=\"success\"}",
        ) == Some(1.0)
    }));

    // Failover: the backup's metrics say so.
    lan.signal(a, "KILL");
    assert!(wait_for(Duration::from_secs(8), || lan.holds(1, "192.0.2.99")));
    std::thread::sleep(Duration::from_millis(1200));
    let (_, m) = ctl(&lan, 1, "metrics");
    // The same series over HTTP, from the other host, at the configured address.
    let url = format!("http://{BACKUP_METRICS}/metrics");
    let fetched = lan.hosts[0]
        .command("python3")
        .args([
            "-c",
            "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())",
            &url,
        ])
        .output()
        .unwrap();
    let over_http = String::from_utf8_lossy(&fetched.stdout);
    assert!(
        fetched.status.success(),
        "{url}: {}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert_eq!(
        sample(&over_http, "keepalived_become_master_total{iname=\"VI_1\""),
        Some(1.0),
        "{over_http}"
    );
    assert_eq!(
        sample(&m, "keepalived_become_master_total{iname=\"VI_1\""),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "keepalived_vrrp_transitions_total{instance=\"VI_1\",from=\"BACKUP\",to=\"MASTER\"}"
        ),
        Some(1.0),
        "{m}"
    );
    let age = sample(
        &m,
        "keepalived_vrrp_peer_last_advert_age_seconds{instance=\"VI_1\",peer=\"192.0.2.11\"}",
    )
    .expect("the dead master is still listed");
    assert!(age >= 1.0, "its last advert ages: {age}");
}
