//! iproute2's name tables as keepalived reads them (its lib/rttables.c): routing tables,
//! dsfield (TOS) values, realms, protocols, scopes and interface groups, each from its file
//! under `/etc/iproute2/` plus built-in names, and the fixed route types.

use crate::host::Host;
use std::path::Path;

/// Which iproute2 table a name is looked up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameTable {
    /// `rt_tables`: routing table ids (built-ins default 253, main 254, local 255).
    Tables,
    /// `rt_dsfield`: TOS / dsfield values.
    Dsfield,
    /// `rt_realms`.
    Realms,
    /// `rt_protos`: route protocols (built-ins kernel, static, boot, ...).
    Protos,
    /// `rt_scopes`: address/route scopes (built-ins global, host, link, site, nowhere).
    Scopes,
    /// `group`: interface groups.
    Groups,
}

impl NameTable {
    fn file(self) -> &'static str {
        match self {
            NameTable::Tables => "/etc/iproute2/rt_tables",
            NameTable::Dsfield => "/etc/iproute2/rt_dsfield",
            NameTable::Realms => "/etc/iproute2/rt_realms",
            NameTable::Protos => "/etc/iproute2/rt_protos",
            NameTable::Scopes => "/etc/iproute2/rt_scopes",
            NameTable::Groups => "/etc/iproute2/group",
        }
    }

    fn max(self) -> u64 {
        match self {
            NameTable::Tables => u64::from(u32::MAX),
            NameTable::Groups => i32::MAX as u64,
            _ => 255,
        }
    }

    fn builtins(self) -> &'static [(u32, &'static str)] {
        match self {
            NameTable::Tables => &[(253, "default"), (254, "main"), (255, "local")],
            NameTable::Protos => &[
                (0, "none"),
                (1, "redirect"),
                (2, "kernel"),
                (3, "boot"),
                (4, "static"),
                (8, "gated"),
                (9, "ra"),
                (10, "mrt"),
                (11, "zebra"),
                (12, "bird"),
                (42, "babel"),
                (13, "dnrouted"),
                (14, "xorp"),
                (15, "ntk"),
                (16, "dhcp"),
            ],
            NameTable::Scopes => &[
                (0, "global"),
                (255, "nowhere"),
                (254, "host"),
                (253, "link"),
                (200, "site"),
            ],
            _ => &[],
        }
    }
}

/// C's `strtoul(text, &end, 0)`: the value (wrapped to 32 bits as keepalived stores it, with
/// C's negation of a leading '-') and whether the whole text was a number.
pub(crate) fn strtoul_base0(text: &str) -> (u64, bool) {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if h.starts_with(|c: char| c.is_ascii_hexdigit()) {
            (16, h)
        } else {
            // "0x" with no hex digit: strtoul reads the "0" and stops at the 'x'.
            return (0, body.len() == 1);
        }
    } else if body.starts_with('0') {
        (8, body)
    } else {
        (10, body)
    };
    let len = digits.chars().take_while(|c| c.is_digit(radix)).count();
    if len == 0 {
        return (0, false);
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for c in digits[..len].chars() {
        let d = u64::from(c.to_digit(radix).unwrap_or(0));
        match value.checked_mul(u64::from(radix)).and_then(|v| v.checked_add(d)) {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    if overflow {
        value = u64::MAX;
    } else if neg {
        value = value.wrapping_neg();
    }
    (value, len == digits.len())
}

/// keepalived's `find_entry`: a number (any C base, whole word) up to the table's maximum,
/// else a name from the table's file, else a built-in name.
pub fn find(host: &dyn Host, table: NameTable, name: &str) -> Option<u32> {
    let (value, whole) = strtoul_base0(name);
    if whole && !name.is_empty() {
        // keepalived compares the value truncated to 32 bits with the maximum.
        let id = value as u32;
        return (u64::from(id) <= table.max()).then_some(id);
    }
    // The file's valid lines, in order; a built-in is added only when the file does not
    // already use its number.
    let mut entries: Vec<(u32, String)> = Vec::new();
    if let Ok(text) = host.read_file(Path::new(table.file())) {
        for line in text.lines() {
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            let [number, entry] = words.as_slice() else {
                continue;
            };
            let (id, whole) = strtoul_base0(number);
            if whole && !number.starts_with('-') && id <= table.max() {
                entries.push((id as u32, (*entry).to_string()));
            }
        }
    }
    if let Some((id, _)) = entries.iter().find(|(_, n)| n == name) {
        return Some(*id);
    }
    table
        .builtins()
        .iter()
        .filter(|(id, _)| !entries.iter().any(|(e, _)| e == id))
        .find(|(_, n)| *n == name)
        .map(|(id, _)| *id)
}

/// The route types keepalived knows by name (fixed, not read from a file).
const ROUTE_TYPES: &[(&str, u8)] = &[
    ("local", 2),
    ("nat", 10),
    ("broadcast", 3),
    ("brd", 3),
    ("anycast", 4),
    ("multicast", 5),
    ("prohibit", 8),
    ("unreachable", 7),
    ("blackhole", 6),
    ("xresolve", 11),
    ("unicast", 1),
    ("throw", 9),
];

/// keepalived's `find_rttables_rtntype`: a route type name, or a number 0..255.
pub fn route_type(text: &str) -> Option<u8> {
    if let Some((_, id)) = ROUTE_TYPES.iter().find(|(n, _)| *n == text) {
        return Some(*id);
    }
    if text.starts_with('-') {
        return None;
    }
    let (value, whole) = strtoul_base0(text);
    // strtoul on "" gives 0 with nothing left over, which keepalived accepts as type 0.
    (whole || text.is_empty())
        .then_some(value)
        .filter(|v| *v <= 255)
        .map(|v| v as u8)
}

/// The name of a route type number, as keepalived prints it.
pub fn route_type_name(id: u8) -> String {
    ROUTE_TYPES
        .iter()
        .find(|(_, n)| *n == id)
        .map(|(name, _)| (*name).to_string())
        .unwrap_or_else(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::MemoryHost;

    #[test]
    fn numbers_follow_strtoul() {
        assert_eq!(strtoul_base0("0x10"), (16, true));
        assert_eq!(strtoul_base0("010"), (8, true));
        assert_eq!(strtoul_base0("12a"), (12, false));
        assert_eq!(strtoul_base0("-1").0 as u32, u32::MAX);
        assert_eq!(strtoul_base0(""), (0, false));
    }

    #[test]
    fn names_come_from_files_then_builtins() {
        let host = MemoryHost::new().with_file(
            "/etc/iproute2/rt_tables",
            "# c\n100 web\n200 main\nbad line here\n",
        );
        assert_eq!(find(&host, NameTable::Tables, "web"), Some(100));
        assert_eq!(find(&host, NameTable::Tables, "main"), Some(200));
        assert_eq!(find(&host, NameTable::Tables, "local"), Some(255));
        let host = MemoryHost::new().with_file("/etc/iproute2/rt_tables", "254 mine\n");
        assert_eq!(find(&host, NameTable::Tables, "main"), None);
        assert_eq!(find(&host, NameTable::Tables, "nope"), None);
        assert_eq!(find(&host, NameTable::Scopes, "link"), Some(253));
        assert_eq!(find(&host, NameTable::Scopes, "256"), None);
        assert_eq!(find(&host, NameTable::Protos, "bird"), Some(12));
        assert_eq!(route_type("blackhole"), Some(6));
        assert_eq!(route_type("300"), None);
        assert_eq!(route_type_name(6), "blackhole");
    }
}
