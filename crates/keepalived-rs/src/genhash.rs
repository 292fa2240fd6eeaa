//! `keepalived-rs genhash ...`, `keepalived-rs --genhash|-T ...`, or the binary run as
//! `genhash`: keepalived's genhash, with its options (GNU getopt_long rules: clustered short
//! options, `--long=value`, unambiguous long prefixes, non-options are an error), messages,
//! usage text and exit codes (1 for usage errors, 0 otherwise — also when the fetch fails).

use ka_config::lvs::checker::HttpProtocol;
use ka_probe::genhash::{self, Request};
use std::ffi::OsString;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// keepalived's TIMER_HZ: `-t` is in seconds, stored in µs in an unsigned int.
const TIMER_HZ: u32 = 1_000_000;

/// Runs genhash if the command line asks for it; `None` otherwise.
pub fn dispatch(argv: &[OsString]) -> Option<i32> {
    let args: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let prog = args.first().cloned().unwrap_or_else(|| "keepalived-rs".into());
    let base = std::path::Path::new(&prog)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base == "genhash" {
        return Some(run(&prog, "", &args[1..]));
    }
    if args.get(1).map(String::as_str) == Some("genhash") {
        return Some(run(&prog, " genhash", &args[2..]));
    }
    let at = args.iter().skip(1).position(|a| a == "-T" || a == "--genhash")? + 1;
    if at > 1 {
        eprintln!(
            "Warning -- `{}` not used as first option, previous options ignored",
            args[at]
        );
    }
    Some(run(&prog, " --genhash", &args[at + 1..]))
}

fn usage(prog: &str, how: &str) {
    eprint!(
        "Usage: {prog}{how} COMMAND [OPTIONS]\n\
         Commands:\n   -s server-address -p port -u url\n   -S -s server-address -p port -u url\n   -h\n\n\
         Options:\n\
         Either long or short options are allowed.\n   \
         --use-ssl         -S       Use SSL connection to remote server.\n   \
         --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).\n   \
         --server          -s       Use the specified remote server address.\n   \
         --port            -p       Use the specified remote server port.\n   \
         --url             -u       Use the specified remote server url.\n   \
         --use-virtualhost -V       Use the specified virtualhost in GET query.\n   \
         --verbose         -v       Use verbose mode output.\n   \
         --help            -h       Display this short inlined help screen.\n   \
         --fwmark          -m       Use the specified FW mark.\n   \
         --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.\n                                \
         1.0c means 1.0 with 'Connection: close'\n   \
         --timeout         -t       Timeout in seconds\n"
    );
}

/// (long name, short letter, takes an argument)
const OPTIONS: &[(&str, char, bool)] = &[
    ("help", 'h', false),
    ("verbose", 'v', false),
    ("use-ssl", 'S', false),
    ("use-sni", 'I', false),
    ("server", 's', true),
    ("use-virtualhost", 'V', true),
    ("port", 'p', true),
    ("url", 'u', true),
    ("fwmark", 'm', true),
    ("protocol", 'P', true),
    ("timeout", 't', true),
];

#[derive(Debug)]
enum Parsed {
    Run(Request),
    /// Print the usage text and exit 1 (messages already printed).
    Usage,
}

/// C's strtoul after keepalived's `strspn(" \t")`: digits only, saturating like the C call.
fn unsigned(text: &str) -> Option<u64> {
    let start = text.trim_start_matches([' ', '\t']);
    if start.starts_with('-') {
        return None;
    }
    let digits = start.strip_prefix('+').unwrap_or(start);
    if digits.is_empty() {
        // strtoul("") is 0 with nothing left over.
        return if start.is_empty() { Some(0) } else { None };
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<u64>().unwrap_or(u64::MAX))
}

fn parse(args: &[String]) -> Parsed {
    if args.len() < 2 {
        return Parsed::Usage;
    }
    let mut server: Option<IpAddr> = None;
    let mut port: Option<u16> = None;
    let mut path: Option<String> = None;
    let mut req = Request {
        server: SocketAddr::new(IpAddr::from([0, 0, 0, 0]), 0),
        path: String::new(),
        tls: false,
        sni: false,
        virtualhost: None,
        protocol: HttpProtocol::V1_0,
        timeout: genhash::DEFAULT_TIMEOUT,
        fwmark: 0,
        verbose: false,
    };
    let mut bad_option = false;
    let mut extra: Vec<String> = Vec::new();
    let mut i = 0;
    // Each option: (letter, its argument, how to name it in a message).
    let mut found: Vec<(char, Option<String>)> = Vec::new();
    while i < args.len() {
        let word = &args[i];
        i += 1;
        if word == "--" {
            extra.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let exact = OPTIONS.iter().find(|o| o.0 == name);
            let prefixed: Vec<_> = OPTIONS.iter().filter(|o| o.0.starts_with(name)).collect();
            let option = exact.or(if prefixed.len() == 1 {
                prefixed.first().copied()
            } else {
                None
            });
            let Some(&(full, letter, takes)) = option else {
                eprintln!("Unknown option {word}");
                bad_option = true;
                continue;
            };
            if !takes {
                if inline.is_some() {
                    eprintln!("Unknown option {word}");
                    bad_option = true;
                } else {
                    found.push((letter, None));
                }
                continue;
            }
            let value = inline.or_else(|| {
                let v = args.get(i).cloned();
                if v.is_some() {
                    i += 1;
                }
                v
            });
            match value {
                Some(v) => found.push((letter, Some(v))),
                None => {
                    eprintln!("Missing parameter for option --{full}");
                    bad_option = true;
                }
            }
            continue;
        }
        if word.len() > 1 && word.starts_with('-') {
            let letters: Vec<char> = word.chars().skip(1).collect();
            let mut k = 0;
            while k < letters.len() {
                let c = letters[k];
                k += 1;
                let Some(&(_, letter, takes)) = OPTIONS.iter().find(|o| o.1 == c) else {
                    eprintln!("Unknown option -{c}");
                    bad_option = true;
                    continue;
                };
                if !takes {
                    found.push((letter, None));
                    continue;
                }
                let rest: String = letters[k..].iter().collect();
                k = letters.len();
                if !rest.is_empty() {
                    found.push((letter, Some(rest)));
                } else if let Some(v) = args.get(i) {
                    found.push((letter, Some(v.clone())));
                    i += 1;
                } else {
                    eprintln!("Missing parameter for option -{c}");
                    bad_option = true;
                }
            }
            continue;
        }
        // GNU getopt moves non-options to the end; keepalived refuses them afterwards.
        extra.push(word.clone());
    }
    for (letter, value) in found {
        let v = value.unwrap_or_default();
        match letter {
            'h' => bad_option = true,
            'v' => req.verbose = true,
            'S' => req.tls = true,
            'I' => req.sni = true,
            's' => match v.parse::<IpAddr>() {
                Ok(ip) => server = Some(ip),
                Err(_) => {
                    eprintln!("server should be an IP, not {v}");
                    return Parsed::Usage;
                }
            },
            'V' => req.virtualhost = Some(v),
            'p' => {
                let t = v.trim_start();
                let n = t
                    .strip_prefix('+')
                    .unwrap_or(t)
                    .parse::<i64>()
                    .ok()
                    .filter(|_| !t.starts_with("+-") && !t.starts_with("++"));
                match n.and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0) {
                    Some(p) => port = Some(p),
                    None => {
                        eprintln!("invalid port number '{v}'");
                        return Parsed::Usage;
                    }
                }
            }
            'u' => path = Some(v),
            'm' => match unsigned(&v) {
                // keepalived keeps the low 32 bits of the unsigned long.
                Some(m) => req.fwmark = m as u32,
                None => {
                    eprintln!("invalid fwmark '{v}'");
                    return Parsed::Usage;
                }
            },
            'P' => {
                req.protocol = match v.as_str() {
                    "1.0" => HttpProtocol::V1_0,
                    "1.0c" | "1.0C" => HttpProtocol::V1_0C,
                    "1.1" => HttpProtocol::V1_1,
                    _ => {
                        eprintln!("invalid HTTP protocol version '{v}'");
                        return Parsed::Usage;
                    }
                }
            }
            't' => match unsigned(&v).filter(|_| !v.trim_start_matches([' ', '\t']).is_empty()) {
                // keepalived multiplies in an unsigned int: large values wrap, as there.
                Some(secs) => {
                    req.timeout = Duration::from_micros(u64::from((secs as u32).wrapping_mul(TIMER_HZ)))
                }
                None => {
                    eprintln!("invalid timeout '{v}'");
                    return Parsed::Usage;
                }
            },
            _ => bad_option = true,
        }
    }
    if bad_option {
        return Parsed::Usage;
    }
    if !extra.is_empty() {
        eprintln!("Unexpected argument(s): {}", extra.join(" "));
        return Parsed::Usage;
    }
    match (server, port, path) {
        (Some(ip), Some(p), Some(u)) => {
            req.server = SocketAddr::new(ip, p);
            req.path = u;
            Parsed::Run(req)
        }
        _ => Parsed::Usage,
    }
}

/// `args`: the words after the program name (or after `genhash`/`--genhash`).
pub fn run(prog: &str, how: &str, args: &[String]) -> i32 {
    let req = match parse(args) {
        Parsed::Run(r) => r,
        Parsed::Usage => {
            usage(prog, how);
            return 1;
        }
    };
    let ctx = match ka_probe::ProbeContext::new(None) {
        Ok(c) => c,
        Err(_) => {
            eprintln!("Cannot initialize SSL context.");
            usage(prog, how);
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("genhash: cannot start: {e}");
            return 1;
        }
    };
    let out = runtime.block_on(genhash::run(&ctx, &req));
    let _ = std::io::stdout().write_all(&out.stdout);
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(&out.stderr);
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_as_getopt_long_reads_them() {
        let Parsed::Run(r) = parse(&words(
            "-s 192.0.2.1 -p 8080 -u /a -u /b -vS --use-virtualhost=www -P1.1 --time 3 -I",
        )) else {
            panic!("should run");
        };
        assert_eq!(r.server, "192.0.2.1:8080".parse().unwrap());
        assert_eq!(r.path, "/b", "the last url wins");
        assert!(r.verbose && r.tls && r.sni);
        assert_eq!(r.virtualhost.as_deref(), Some("www"));
        assert_eq!(r.protocol, HttpProtocol::V1_1);
        assert_eq!(r.timeout, Duration::from_secs(3));
    }

    #[test]
    fn usage_errors() {
        for bad in [
            "-s 192.0.2.1 -p 80",
            "-s host.example -p 80 -u /",
            "-s 192.0.2.1 -p 0 -u /",
            "-s 192.0.2.1 -p 80x -u /",
            "-s 192.0.2.1 -p 80 -u / extra",
            "-s 192.0.2.1 -p 80 -u / -x",
            "-s 192.0.2.1 -p 80 -u / -h",
            "-s 192.0.2.1 -p 80 -u / -P 2.0",
            "-s 192.0.2.1 -p 80 -u / -t -1",
            "-s 192.0.2.1 -p 80 -u / -t",
            "-h",
        ] {
            assert!(matches!(parse(&words(bad)), Parsed::Usage), "{bad}");
        }
    }
}
