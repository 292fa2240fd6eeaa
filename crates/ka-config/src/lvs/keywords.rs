//! The keywords of each LVS block, in keepalived's registration order (check_parser.c and the
//! check_*.c install functions), for "did you mean" hints on unknown keywords.

/// Connection keywords shared by TCP, HTTP/SSL, SMTP (and host), DNS, UDP and PING checkers.
const CONN: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "connect_timeout",
    "fwmark",
];

/// Timing keywords shared by every checker but FILE_CHECK and BFD_CHECK.
const TIMING: &[&str] = &[
    "retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "alpha",
    "log_all_failures",
];

pub const SSL: &[&str] = &["password", "ca", "certificate", "key"];

pub const VIRTUAL_SERVER: &[&str] = &[
    "ip_family",
    "retry",
    "delay_before_retry",
    "warmup",
    "connect_timeout",
    "delay_loop",
    "inhibit_on_failure",
    "lb_algo",
    "lvs_sched",
    "hashed",
    "ops",
    "flag-1",
    "flag-2",
    "flag-3",
    "sh-port",
    "sh-fallback",
    "mh-port",
    "mh-fallback",
    "lb_kind",
    "lvs_method",
    "persistence_engine",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "ha_suspend",
    "smtp_alert",
    "virtualhost",
    "snmp_name",
    "alpha",
    "omega",
    "quorum_up",
    "quorum_down",
    "quorum",
    "hysteresis",
    "weight",
    "sorry_server",
    "sorry_server_inhibit",
    "sorry_server_lvs_method",
    "real_server",
];

pub const REAL_SERVER: &[&str] = &[
    "weight",
    "lvs_method",
    "uthreshold",
    "lthreshold",
    "inhibit_on_failure",
    "notify_up",
    "notify_down",
    "alpha",
    "retry",
    "delay_before_retry",
    "warmup",
    "connect_timeout",
    "delay_loop",
    "smtp_alert",
    "virtualhost",
    "snmp_name",
    "MISC_CHECK",
    "SMTP_CHECK",
    "TCP_CHECK",
    "PING_CHECK",
    "UDP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "DNS_CHECK",
    "FILE_CHECK",
    "BFD_CHECK",
];

/// `const` concatenation of keyword lists (the hint lists are `&'static` slices).
macro_rules! keywords {
    ($name:ident = $($part:expr),+ $(,)?) => {
        pub const $name: &[&str] = &{
            const LEN: usize = 0 $(+ $part.len())+;
            let mut out = [""; LEN];
            let mut n = 0;
            $(
                let part: &[&str] = $part;
                let mut i = 0;
                while i < part.len() {
                    out[n] = part[i];
                    n += 1;
                    i += 1;
                }
            )+
            let _ = n;
            out
        };
    };
}

keywords!(TCP_CHECK = CONN, TIMING);
keywords!(PING_CHECK = CONN, TIMING);
keywords!(
    HTTP_GET = CONN,
    TIMING,
    &[
        "nb_get_retry",
        "virtualhost",
        "http_protocol",
        "enable_sni",
        "fast_recovery",
        "url"
    ]
);
keywords!(
    MISC_CHECK = TIMING,
    &["misc_path", "misc_timeout", "misc_dynamic", "user"]
);
keywords!(SMTP_CHECK = &["helo_name"], CONN, TIMING, &["host"]);
keywords!(HOST = CONN, TIMING);
keywords!(DNS_CHECK = CONN, TIMING, &["type", "name"]);
keywords!(
    UDP_CHECK = CONN,
    TIMING,
    &["payload", "require_reply", "min_reply_length", "max_reply_length"]
);

pub const URL: &[&str] = &[
    "path",
    "digest",
    "status_code",
    "virtualhost",
    "regex",
    "regex_no_match",
    "regex_options",
    "regex_min_offset",
    "regex_max_offset",
    "regex_stack",
];
pub const FILE_CHECK: &[&str] = &["track_file", "weight"];
pub const BFD_CHECK: &[&str] = &["name", "alpha"];

/// The keyword list of the block named `context` (the name passed to `Cx::unknown_keyword`).
pub fn for_context(context: &str) -> Option<&'static [&'static str]> {
    Some(match context {
        "SSL" => SSL,
        "virtual_server" => VIRTUAL_SERVER,
        "real_server" => REAL_SERVER,
        "TCP_CHECK" => TCP_CHECK,
        "PING_CHECK" => PING_CHECK,
        "HTTP_GET" | "SSL_GET" => HTTP_GET,
        "url" => URL,
        "MISC_CHECK" => MISC_CHECK,
        "SMTP_CHECK" => SMTP_CHECK,
        "host" => HOST,
        "DNS_CHECK" => DNS_CHECK,
        "UDP_CHECK" => UDP_CHECK,
        "FILE_CHECK" => FILE_CHECK,
        "BFD_CHECK" => BFD_CHECK,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_complete() {
        assert_eq!(HTTP_GET.len(), CONN.len() + TIMING.len() + 6);
        assert!(HTTP_GET.contains(&"nb_get_retry"));
        assert!(!TCP_CHECK.contains(&"nb_get_retry"));
        assert!(MISC_CHECK.contains(&"retry") && !MISC_CHECK.contains(&"connect_timeout"));
        assert_eq!(for_context("SSL_GET"), Some(HTTP_GET));
        assert_eq!(for_context("vrrp_instance"), None);
    }
}
