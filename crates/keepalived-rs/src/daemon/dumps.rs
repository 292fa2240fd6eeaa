//! keepalived's dump files, which exporters and operators' scripts read: SIGUSR2 writes
//! `/tmp/keepalived.stats`, the JSON signal (SIGRTMIN+2, `keepalived --signum=JSON`) writes
//! `/tmp/keepalived.json`, with keepalived 2.2.7's layout (the same text anchors and keys),
//! mode 0600, written to a temporary file and renamed so that a reader never sees half of
//! one. The password is never written (keepalived 2.2.7 writes it in clear).

use super::status::Status;
use std::fmt::Write;
use std::path::Path;

pub const STATS_FILE: &str = "/tmp/keepalived.stats";
pub const JSON_FILE: &str = "/tmp/keepalived.json";

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
