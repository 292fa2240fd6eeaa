//! What the configuration reader needs from the machine it runs on: files, globs, interface
//! names, the host name. [`SystemHost`] reads the real system; [`MemoryHost`] serves tests and
//! the fuzzer from memory so that parsing stays deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The kind of a path, as far as the include logic cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Regular { executable: bool },
    Directory,
    Other,
}

/// Ownership and permission bits of a file, for keepalived's script-security rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSecurity {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

pub trait Host {
    /// The whole file as text; invalid UTF-8 is replaced, never fatal.
    fn read_file(&self, path: &Path) -> Result<String, String>;
    /// Paths matching a shell glob (no braces: the caller expands those), sorted.
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String>;
    fn file_kind(&self, path: &Path) -> Option<FileKind>;
    /// `Some(exists)` when interfaces can be checked here, `None` to skip the check.
    fn interface_exists(&self, name: &str) -> Option<bool>;
    /// Whether the interface is a loopback device (keepalived refuses those for VRRP).
    fn interface_is_loopback(&self, name: &str) -> bool {
        name == "lo"
    }
    /// Short host name: the default `router_id` and `-i/--config-id`.
    fn short_hostname(&self) -> String;
    fn user_exists(&self, name: &str) -> bool;
    fn file_security(&self, path: &Path) -> Option<FileSecurity>;
    /// Seed for `${_RANDOM}` when the configuration sets no `random_seed`.
    fn random_seed(&self) -> u64;
}

/// Reads the real file system and network interfaces.
#[derive(Debug, Default, Clone)]
pub struct SystemHost {
    /// When false, interface names are not checked (keepalived checks them during `-t`).
    pub check_interfaces: bool,
}

impl Host for SystemHost {
    fn read_file(&self, path: &Path) -> Result<String, String> {
        std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| e.to_string())
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        let options = glob::MatchOptions {
            require_literal_leading_dot: true,
            ..Default::default()
        };
        let paths = glob::glob_with(pattern, options).map_err(|e| e.to_string())?;
        let mut out: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        out.sort();
        Ok(out)
    }

    fn file_kind(&self, path: &Path) -> Option<FileKind> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).ok()?;
        Some(if meta.is_file() {
            FileKind::Regular {
                executable: meta.permissions().mode() & 0o111 != 0,
            }
        } else if meta.is_dir() {
            FileKind::Directory
        } else {
            FileKind::Other
        })
    }

    fn interface_exists(&self, name: &str) -> Option<bool> {
        if !self.check_interfaces {
            return None;
        }
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Some(false);
        }
        Some(Path::new("/sys/class/net").join(name).exists())
    }

    fn interface_is_loopback(&self, name: &str) -> bool {
        // Type 772 is ARPHRD_LOOPBACK.
        std::fs::read_to_string(Path::new("/sys/class/net").join(name).join("type"))
            .map(|t| t.trim() == "772")
            .unwrap_or(name == "lo")
    }

    fn short_hostname(&self) -> String {
        let full = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        full.trim().split('.').next().unwrap_or_default().to_string()
    }

    fn user_exists(&self, name: &str) -> bool {
        std::fs::read_to_string("/etc/passwd")
            .map(|p| p.lines().any(|l| l.split(':').next() == Some(name)))
            .unwrap_or(false)
    }

    fn file_security(&self, path: &Path) -> Option<FileSecurity> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        Some(FileSecurity {
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode(),
        })
    }

    fn random_seed(&self) -> u64 {
        // Not security relevant: ${_RANDOM} only needs varying values between runs.
        std::process::id() as u64
    }
}

/// An in-memory machine for tests and fuzzing.
#[derive(Debug, Default, Clone)]
pub struct MemoryHost {
    pub files: BTreeMap<PathBuf, String>,
    /// Interfaces that exist; `None` skips interface checks.
    pub interfaces: Option<BTreeSet<String>>,
    pub hostname: String,
    pub users: BTreeSet<String>,
    pub security: BTreeMap<PathBuf, FileSecurity>,
}

impl MemoryHost {
    pub fn new() -> Self {
        MemoryHost {
            hostname: "testhost".into(),
            ..Default::default()
        }
    }

    pub fn with_file(mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        self.files.insert(path.into(), text.into());
        self
    }

    pub fn with_interfaces(mut self, names: &[&str]) -> Self {
        self.interfaces = Some(names.iter().map(|s| s.to_string()).collect());
        self
    }
}

impl Host for MemoryHost {
    fn read_file(&self, path: &Path) -> Result<String, String> {
        self.files
            .get(&normalize_lexically(path))
            .cloned()
            .ok_or_else(|| "No such file or directory".to_string())
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        let pattern = normalize_lexically(Path::new(pattern));
        let pat = glob::Pattern::new(&pattern.to_string_lossy()).map_err(|e| e.to_string())?;
        let options = glob::MatchOptions {
            require_literal_separator: true,
            ..Default::default()
        };
        Ok(self
            .files
            .keys()
            .filter(|p| pat.matches_path_with(p, options))
            .cloned()
            .collect())
    }

    fn file_kind(&self, path: &Path) -> Option<FileKind> {
        if self.files.contains_key(path) {
            Some(FileKind::Regular { executable: false })
        } else if self.files.keys().any(|p| p.starts_with(path)) {
            Some(FileKind::Directory)
        } else {
            None
        }
    }

    fn interface_exists(&self, name: &str) -> Option<bool> {
        self.interfaces.as_ref().map(|set| set.contains(name))
    }

    fn short_hostname(&self) -> String {
        self.hostname.clone()
    }

    fn user_exists(&self, name: &str) -> bool {
        self.users.contains(name)
    }

    fn file_security(&self, path: &Path) -> Option<FileSecurity> {
        self.security.get(path).copied()
    }

    fn random_seed(&self) -> u64 {
        1
    }
}

/// Resolves `.` and `..` without touching the file system (the real glob lets the kernel do it).
fn normalize_lexically(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Expands csh-style braces as keepalived's glob(GLOB_BRACE) does: `a{b,c}d` → `abd`, `acd`.
/// Nested braces expand from the outside in. Unbalanced braces are left as they are.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let bytes = pattern.as_bytes();
    let mut open = None;
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => {
                if depth == 0 {
                    open = Some(i);
                }
                depth += 1;
            }
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    if let Some(start) = open {
                        let (prefix, inner, suffix) =
                            (&pattern[..start], &pattern[start + 1..i], &pattern[i + 1..]);
                        let mut out = Vec::new();
                        for alt in split_top_level_commas(inner) {
                            for rest in expand_braces(&format!("{prefix}{alt}{suffix}")) {
                                out.push(rest);
                            }
                        }
                        return out;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    vec![pattern.to_string()]
}

fn split_top_level_commas(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand_like_csh() {
        assert_eq!(expand_braces("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(expand_braces("x{1,{2,3}}"), vec!["x1", "x2", "x3"]);
        assert_eq!(expand_braces("plain*.conf"), vec!["plain*.conf"]);
        assert_eq!(expand_braces("broken{a,b"), vec!["broken{a,b"]);
    }

    #[test]
    fn memory_glob_matches_one_directory_level() {
        let host = MemoryHost::new()
            .with_file("/e/a.conf", "")
            .with_file("/e/b.conf", "")
            .with_file("/e/d/c.conf", "");
        let got = host.glob("/e/*.conf").unwrap();
        assert_eq!(got, vec![PathBuf::from("/e/a.conf"), PathBuf::from("/e/b.conf")]);
    }
}
