//! keepalived's dump files, which exporters and operators' scripts read: SIGUSR1 writes
//! `/tmp/keepalived.data` (the VRRP sections, with the lines exporters parse), SIGUSR2
//! `/tmp/keepalived.stats`, the JSON signal (SIGRTMIN+2, `keepalived --signum=JSON`) writes
//! `/tmp/keepalived.json`, with keepalived 2.2.7's layout (the same text anchors and keys),
//! mode 0600, written to a temporary file and renamed so that a reader never sees half of
//! one. The password is never written (keepalived 2.2.7 writes it in clear). `$TMPDIR`, when
//! absolute, replaces `/tmp`, as in keepalived.

use super::status::Status;
use std::fmt::Write;
use std::path::Path;

pub const DATA_FILE: &str = "keepalived.data";
pub const STATS_FILE: &str = "keepalived.stats";
pub const JSON_FILE: &str = "keepalived.json";

/// Where a dump file goes: `$TMPDIR` when it is an absolute path, else `/tmp`, as
/// keepalived's `set_tmp_dir`/`make_tmp_filename` decide.
pub fn dump_path(file: &str, tmpdir: Option<&std::ffi::OsStr>) -> std::path::PathBuf {
    let dir = tmpdir
        .map(Path::new)
        .filter(|d| d.is_absolute())
        .unwrap_or(Path::new("/tmp"));
    dir.join(file)
}

/// `/tmp/keepalived.stats`.
pub fn stats_text(s: &Status) -> String {
    let mut o = String::new();
    for i in &s.vrrp {
        let t = &i.stats;
        let _ = writeln!(o, "VRRP Instance: {}", i.data.iname);
        let _ = writeln!(o, "  Advertisements:");
        let _ = writeln!(o, "    Received: {}", t.advert_rcvd);
        let _ = writeln!(o, "    Sent: {}", t.advert_sent);
        let _ = writeln!(o, "  Became master: {}", t.become_master);
        let _ = writeln!(o, "  Released master: {}", t.release_master);
        let _ = writeln!(o, "  Packet Errors:");
        let _ = writeln!(o, "    Length: {}", t.packet_len_err);
        let _ = writeln!(o, "    TTL: {}", t.ip_ttl_err);
        let _ = writeln!(o, "    Invalid Type: {}", t.invalid_type_rcvd);
        let _ = writeln!(o, "    Advertisement Interval: {}", t.advert_interval_err);
        let _ = writeln!(o, "    Address List: {}", t.addr_list_err);
        let _ = writeln!(o, "  Authentication Errors:");
        let _ = writeln!(o, "    Invalid Type: {}", t.invalid_authtype);
        let _ = writeln!(o, "    Type Mismatch: {}", t.authtype_mismatch);
        let _ = writeln!(o, "    Failure: {}", t.auth_failure);
        let _ = writeln!(o, "  Priority Zero:");
        let _ = writeln!(o, "    Received: {}", t.pri_zero_rcvd);
        let _ = writeln!(o, "    Sent: {}", t.pri_zero_sent);
    }
    o
}

fn state_word(n: u8) -> &'static str {
    match n {
        1 => "BACKUP",
        2 => "MASTER",
        3 => "FAULT",
        _ => "INIT",
    }
}

/// `/tmp/keepalived.data`: keepalived's "VRRP Topology" and "VRRP Scripts" sections, line
/// for line where keepalived-rs has the value (the anchors mehdy/keepalived-exporter
/// parses: ` VRRP Instance = `, `   State = `, `   Wantstate = `, `   Interface = `,
/// `   Virtual Router ID = `, `   Virtual IP (N):`, ` VRRP Script = `, `   Status = `).
pub fn data_text(s: &Status) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "------< VRRP Topology >------");
    for i in &s.vrrp {
        let d = &i.data;
        let _ = writeln!(o, " VRRP Instance = {}", d.iname);
        let _ = writeln!(o, "   VRRP Version = {}", d.version);
        let _ = writeln!(o, "   State = {}", state_word(d.state));
        let _ = writeln!(o, "   Wantstate = {}", state_word(d.wantstate));
        let _ = writeln!(o, "   Last transition = {:.6}", d.last_transition);
        let _ = writeln!(o, "   Interface = {}", d.ifp_ifname);
        if !d.vmac_ifname.is_empty() {
            let _ = writeln!(o, "   Use VMAC, i/f {}", d.vmac_ifname);
        }
        let _ = writeln!(o, "   Gratuitous ARP delay = {}", d.garp_delay);
        let _ = writeln!(o, "   Gratuitous ARP repeat = {}", d.garp_rep);
        let _ = writeln!(o, "   Gratuitous ARP refresh = {}", d.garp_refresh);
        let _ = writeln!(o, "   Gratuitous ARP refresh repeat = {}", d.garp_refresh_rep);
        let _ = writeln!(
            o,
            "   Gratuitous ARP lower priority delay = {}",
            d.garp_lower_prio_delay
        );
        let _ = writeln!(
            o,
            "   Gratuitous ARP lower priority repeat = {}",
            d.garp_lower_prio_rep
        );
        let _ = writeln!(o, "   Virtual Router ID = {}", d.vrid);
        let _ = writeln!(o, "   Priority = {}", d.base_priority);
        let _ = writeln!(o, "   Effective priority = {}", d.effective_priority);
        let _ = writeln!(
            o,
            "   Advert interval = {} {}",
            d.adver_int,
            if d.version == 2 { "sec" } else { "milli-sec" }
        );
        let _ = writeln!(
            o,
            "   Accept = {}",
            if d.accept == 1 { "enabled" } else { "disabled" }
        );
        let _ = writeln!(
            o,
            "   Preempt = {}",
            if d.nopreempt { "disabled" } else { "enabled" }
        );
        let auth = match d.auth_type {
            1 => "SIMPLE_PASSWORD",
            2 => "IPSEC_AH",
            _ => "NONE",
        };
        let _ = writeln!(o, "   Authentication type = {auth}");
        if d.auth_type != 0 {
            // keepalived 2.2.7 prints the password here; we never do.
            let _ = writeln!(o, "   Password = {}", d.auth_data);
        }
        let _ = writeln!(o, "   Virtual IP ({}):", d.vips.len());
        for v in &d.vips {
            let _ = writeln!(o, "     {v}");
        }
        if !d.evips.is_empty() {
            let _ = writeln!(o, "   Virtual IP Excluded ({}):", d.evips.len());
            for v in &d.evips {
                let _ = writeln!(o, "     {v}");
            }
        }
    }
    let _ = writeln!(o, "------< VRRP Scripts >------");
    for sc in &s.vrrp_scripts {
        let _ = writeln!(o, " VRRP Script = {}", sc.name);
        let _ = writeln!(o, "   Command = '{}'", sc.command);
        let _ = writeln!(o, "   Interval = {} sec", sc.interval_seconds);
        let _ = writeln!(o, "   Timeout = {} sec", sc.timeout_seconds);
        let _ = writeln!(o, "   Rise = {}", sc.rise);
        let _ = writeln!(o, "   Fall = {}", sc.fall);
        let _ = writeln!(o, "   Status = {}", sc.status);
        let _ = writeln!(o, "   State = idle");
    }
    o
}

/// `/tmp/keepalived.json` (keepalived's JSON version 1: an array of `{data, stats}`).
pub fn json_text(s: &Status) -> String {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        data: &'a super::status::InstanceData,
        stats: &'a super::status::InstanceStats,
    }
    let entries: Vec<Entry<'_>> = s
        .vrrp
        .iter()
        .map(|i| Entry {
            data: &i.data,
            stats: &i.stats,
        })
        .collect();
    serde_json::to_string(&entries).unwrap_or_else(|_| "[]".into())
}

/// Writes `text` to `path` atomically, mode 0600.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dump_files_follow_tmpdir_like_keepalived() {
        use std::ffi::OsStr;
        assert_eq!(
            super::dump_path(super::STATS_FILE, None),
            std::path::Path::new("/tmp/keepalived.stats")
        );
        assert_eq!(
            super::dump_path(super::JSON_FILE, Some(OsStr::new("/run/ka"))),
            std::path::Path::new("/run/ka/keepalived.json")
        );
        assert_eq!(
            super::dump_path(super::DATA_FILE, Some(OsStr::new("relative"))),
            std::path::Path::new("/tmp/keepalived.data")
        );
    }

    use super::*;
    use crate::daemon::status::{InstanceData, VrrpInstance};

    fn status() -> Status {
        let mut s = Status::default();
        s.vrrp.push(VrrpInstance {
            data: InstanceData {
                iname: "VI_1".into(),
                auth_type: 1,
                auth_data: "********".into(),
                ..InstanceData::default()
            },
            ..VrrpInstance::default()
        });
        s.vrrp[0].stats.advert_sent = 3;
        s.vrrp[0].stats.become_master = 1;
        s
    }

    /// The layout of keepalived 2.2.7's own file (captured from it: notes/keepalived-2.2.7-dumps).
    #[test]
    fn stats_have_keepalived_layout() {
        let expected = "VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n    Sent: 3\n  Became master: 1\n  Released master: 0\n  Packet Errors:\n    Length: 0\n    TTL: 0\n    Invalid Type: 0\n    Advertisement Interval: 0\n    Address List: 0\n  Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    Failure: 0\n  Priority Zero:\n    Received: 0\n    Sent: 0\n";
        assert_eq!(stats_text(&status()), expected);
    }

    #[test]
    fn data_has_the_lines_exporters_parse() {
        let mut s = status();
        s.vrrp[0].data.state = 2;
        s.vrrp[0].data.vrid = 51;
        s.vrrp[0].data.ifp_ifname = "eth0".into();
        s.vrrp[0].data.vips = vec!["192.0.2.99/24 dev eth0 scope global set".into()];
        s.vrrp_scripts.push(crate::daemon::status::VrrpScript {
            name: "chk".into(),
            status: "GOOD".into(),
            ..Default::default()
        });
        let d = data_text(&s);
        for line in [
            " VRRP Instance = VI_1\n",
            "   State = MASTER\n",
            "   Interface = eth0\n",
            "   Virtual Router ID = 51\n",
            "   Virtual IP (1):\n     192.0.2.99/24 dev eth0 scope global set\n",
            " VRRP Script = chk\n",
            "   Status = GOOD\n",
            "   Password = ********\n",
        ] {
            assert!(d.contains(line), "{line:?} missing in\n{d}");
        }
    }

    #[test]
    fn json_has_keepalived_keys_in_order_and_no_password() {
        let j = json_text(&status());
        assert!(
            j.starts_with("[{\"data\":{\"iname\":\"VI_1\",\"dont_track_primary\":0,"),
            "{j}"
        );
        assert!(
            j.contains("\"stats\":{\"advert_rcvd\":0,\"advert_sent\":3,"),
            "{j}"
        );
        assert!(j.contains("\"auth_data\":\"********\""));
        assert!(!j.contains("extra"));
    }

    #[test]
    fn files_are_private_and_whole() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("kars-dump-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("keepalived.stats");
        write_atomically(&p, "x\n").unwrap();
        let meta = std::fs::metadata(&p).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "x\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
