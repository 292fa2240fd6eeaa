//! HTTP_GET and SSL_GET with their `url { }` blocks (keepalived's check_http.c).

use super::{conn_or_timing_keyword, link_local_check, Checker, CheckerKind, NewChecker};
use crate::cx::Cx;
use crate::lvs::{code, read, ParseState};
use crate::script;
use crate::syntax::Statement;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct HttpCheck {
    /// `virtualhost`: Host header (and SNI) unless a url sets its own.
    pub virtualhost: Option<String>,
    /// `http_protocol`: default 1.0.
    pub http_protocol: HttpProtocol,
    /// `enable_sni` (SSL_GET only): default false.
    pub enable_sni: bool,
    /// `fast_recovery`: default false.
    pub fast_recovery: bool,
    /// The `url` blocks, in order (at least one).
    pub url: Vec<Url>,
}

impl Default for HttpCheck {
    fn default() -> Self {
        HttpCheck {
            virtualhost: None,
            http_protocol: HttpProtocol::V1_0,
            enable_sni: false,
            fast_recovery: false,
            url: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum HttpProtocol {
    #[serde(rename = "1.0")]
    V1_0,
    /// HTTP/1.0 with `Connection: close`.
    #[serde(rename = "1.0C")]
    V1_0C,
    /// HTTP/1.1 (keepalived also sends `Connection: close`).
    #[serde(rename = "1.1")]
    V1_1,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Url {
    /// `path`: required.
    pub path: String,
    /// `digest`: MD5 of the body, lower-case hex.
    pub digest: Option<String>,
    /// `status_code`: accepted codes; 200-299 when none is given.
    pub status_code: Vec<StatusRange>,
    /// `virtualhost` for this url.
    pub virtualhost: Option<String>,
    /// `regex` and its settings.
    pub regex: Option<UrlRegex>,
}

/// An inclusive range of HTTP status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    pub lo: u16,
    pub hi: u16,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UrlRegex {
    /// `regex`: a PCRE2 pattern (keepalived compiles it when the url ends; we do not check
    /// the pattern's syntax).
    pub pattern: String,
    /// `regex_no_match`: the check succeeds when the pattern does *not* match.
    pub regex_no_match: bool,
    /// `regex_options`: PCRE2 option names.
    pub regex_options: Vec<String>,
    /// `regex_min_offset`.
    pub regex_min_offset: u64,
    /// `regex_max_offset`; None: no limit.
    pub regex_max_offset: Option<u64>,
    /// `regex_stack START MAX`: PCRE2 JIT stack sizes.
    pub regex_stack: Option<(u64, u64)>,
}

/// The PCRE2 options `regex_options` knows; other words are ignored silently.
pub const REGEX_OPTIONS: &[&str] = &[
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ucp",
    "ungreedy",
    "utf",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

const STATUS_MIN: u64 = 100;
const STATUS_MAX: u64 = 599;

pub(crate) fn new_kind(keyword: &str) -> CheckerKind {
    if keyword == "SSL_GET" {
        CheckerKind::Ssl(HttpCheck::default())
    } else {
        CheckerKind::Http(HttpCheck::default())
    }
}

fn http_mut(checker: &mut Checker) -> Option<&mut HttpCheck> {
    match &mut checker.kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => Some(h),
        _ => None,
    }
}

pub(crate) fn parse(
    cx: &mut Cx<'_>,
    statements: &[Statement],
    mut new: NewChecker,
    state: &mut ParseState,
) -> Option<Checker> {
    let context = new.checker.kind.keyword();
    cx.each_statement(statements, context, &mut |cx, s| {
        if conn_or_timing_keyword(cx, s, &mut new.checker.common) {
            return true;
        }
        if s.keyword() == "nb_get_retry" {
            cx.no_block(s);
            // keepalived reports this as an error (GENERAL_ERROR), then takes the value.
            read::error(
                cx,
                code::DEPRECATED,
                s.span(),
                "nb_get_retry is deprecated - please use 'retry'".into(),
                "write 'retry N' instead",
            );
            let msg = |w: &str| format!("Invalid nb_get_retry value '{w}'");
            if let Some(v) = read::unsigned_required(cx, s, 1, 0, u32::MAX, msg) {
                new.checker.common.retry = Some(v);
            }
            return true;
        }
        let Some(http) = http_mut(&mut new.checker) else {
            return false;
        };
        match s.keyword() {
            "virtualhost" => {
                cx.no_block(s);
                match s.words.get(1) {
                    Some(w) => http.virtualhost = Some(w.text.clone()),
                    None => read::missing(
                        cx,
                        s,
                        "HTTP_GET virtualhost name missing".into(),
                        "expected a host name",
                    ),
                }
            }
            "http_protocol" => {
                cx.no_block(s);
                match s.words.get(1).map(|w| w.text.as_str()) {
                    None => read::missing(
                        cx,
                        s,
                        "Missing http_protocol version".into(),
                        "expected 1.0, 1.0C or 1.1",
                    ),
                    Some("1.0") => http.http_protocol = HttpProtocol::V1_0,
                    Some("1.1") => http.http_protocol = HttpProtocol::V1_1,
                    Some("1.0C" | "1.0c") => http.http_protocol = HttpProtocol::V1_0C,
                    Some(other) => {
                        let msg = format!("Invalid http_protocol version {other}");
                        read::error_at_word(cx, s, 1, msg, "expected 1.0, 1.0C or 1.1");
                    }
                }
            }
            "enable_sni" => {
                cx.no_block(s);
                if let Some(b) = read::boolean(cx, s, 1, |w| format!("Invalid enable_sni parameter {w}")) {
                    http.enable_sni = b;
                }
            }
            "fast_recovery" => {
                cx.no_block(s);
                if let Some(b) = read::boolean(cx, s, 1, |w| format!("Invalid fast_recovery parameter {w}")) {
                    http.fast_recovery = b;
                }
            }
            "url" => {
                if let Some(url) = parse_url(cx, s, state) {
                    http.url.push(url);
                }
            }
            _ => return false,
        }
        true
    });
    if http_mut(&mut new.checker).is_none_or(|h| h.url.is_empty()) {
        // keepalived then runs the link-local check on whatever checker precedes this one
        // (and crashes if there is none); we only drop this one.
        read::error(
            cx,
            code::REMOVED,
            &new.end,
            "HTTP/SSL_GET checker has no urls specified - ignoring".into(),
            "add a 'url { path /... }' block",
        );
        return None;
    }
    link_local_check(cx, &new).then_some(new.checker)
}

/// A url being read: the pieces keepalived checks together when the block ends.
#[derive(Default)]
struct UrlDraft {
    path: Option<String>,
    digest: Option<String>,
    codes: Vec<bool>,
    virtualhost: Option<String>,
    no_match: bool,
    options: Vec<String>,
    min_offset: u64,
    /// keepalived stores the max offset plus one, 0 meaning none; so does this.
    max_offset_plus_one: u64,
    stack: Option<(u64, u64)>,
}

fn parse_url(cx: &mut Cx<'_>, stmt: &Statement, state: &mut ParseState) -> Option<Url> {
    let block = cx.block(stmt);
    let statements = block.map(|b| b.statements.as_slice()).unwrap_or(&[]);
    let end = block
        .map(|b| b.end_span().clone())
        .unwrap_or_else(|| stmt.end_span());
    let mut url = UrlDraft {
        codes: vec![false; (STATUS_MAX - STATUS_MIN + 1) as usize],
        ..UrlDraft::default()
    };
    cx.each_statement(statements, "url", &mut |cx, s| {
        if !crate::lvs::keywords::URL.contains(&s.keyword()) {
            return false;
        }
        cx.no_block(s);
        match s.keyword() {
            "path" => {
                if let Some(p) = read::text(cx, s, 1) {
                    url.path = Some(p);
                }
            }
            "digest" => parse_digest(cx, s, &mut url),
            "status_code" => parse_status_codes(cx, s, &mut url.codes),
            "virtualhost" => match s.words.get(1) {
                Some(w) => url.virtualhost = Some(w.text.clone()),
                None => read::missing(
                    cx,
                    s,
                    "Missing HTTP_GET virtualhost name".into(),
                    "expected a host name",
                ),
            },
            "regex" => {
                let line = script::reconstruct_line(&s.words);
                let words = match script::split_quoted_escaped(&line) {
                    Ok(w) => w,
                    Err(e) => {
                        let at = s.span().clone();
                        script::report_script_error(cx, &at, &script::ScriptError::Line(e));
                        return true;
                    }
                };
                if words.len() == 2 {
                    state.pending_regex = words.into_iter().nth(1);
                } else {
                    read::logged(
                        cx,
                        s.span(),
                        "regex missing or too many fields".into(),
                        "write the pattern as one (quoted) word: regex \"^OK\"",
                    );
                }
            }
            "regex_no_match" => url.no_match = true,
            "regex_options" => {
                for w in s.args() {
                    if REGEX_OPTIONS.contains(&w.text.as_str()) && !url.options.contains(&w.text) {
                        url.options.push(w.text.clone());
                    }
                }
            }
            "regex_min_offset" => url.min_offset = regex_offset(cx, s, "min").unwrap_or(0),
            "regex_max_offset" => {
                url.max_offset_plus_one = regex_offset(cx, s, "max").map_or(1, |v| v.wrapping_add(1));
            }
            "regex_stack" => parse_regex_stack(cx, s, &mut url),
            _ => return false,
        }
        true
    });
    // keepalived's url_check, at the url's closing brace.
    let Some(path) = url.path else {
        read::error(
            cx,
            code::REMOVED,
            &end,
            "HTTP/SSL_GET checker url has no path - ignoring".into(),
            "add 'path /...' to the url block",
        );
        return None;
    };
    let mut status_code = ranges(&url.codes);
    if status_code.is_empty() {
        status_code.push(StatusRange { lo: 200, hi: 299 });
    }
    let mut regex = None;
    if let Some(pattern) = state.pending_regex.take() {
        regex = Some(UrlRegex {
            pattern,
            regex_no_match: url.no_match,
            regex_options: url.options,
            regex_min_offset: url.min_offset,
            regex_max_offset: url.max_offset_plus_one.checked_sub(1),
            regex_stack: url.stack,
        });
    } else if !url.options.is_empty()
        || url.no_match
        || url.min_offset != 0
        || url.max_offset_plus_one != 0
        || url.stack.is_some()
    {
        read::logged(
            cx,
            &end,
            "regex parameters specified without regex".into(),
            "add 'regex PATTERN' or remove the regex_* keywords",
        );
    }
    if let Some(r) = regex.as_mut() {
        if let Some(max) = r.regex_max_offset {
            if r.regex_min_offset >= max.wrapping_add(1) {
                read::logged(
                    cx,
                    &end,
                    format!(
                        "regex min offset {} > regex_max_offset {max} - ignoring",
                        r.regex_min_offset
                    ),
                    "both offsets are ignored",
                );
                r.regex_min_offset = 0;
                r.regex_max_offset = None;
            }
        }
    }
    Some(Url {
        path,
        digest: url.digest,
        status_code,
        virtualhost: url.virtualhost,
        regex,
    })
}

/// `digest HEX32`: the first one stays; 32 hex characters, checked from the last pair back as
/// keepalived does, so its message names the last bad pair.
fn parse_digest(cx: &mut Cx<'_>, s: &Statement, url: &mut UrlDraft) {
    let Some(digest) = read::text(cx, s, 1) else {
        return;
    };
    if url.digest.is_some() {
        let msg = format!("Digest '{digest}' is a duplicate");
        read::error(
            cx,
            code::DUPLICATE,
            s.span(),
            msg,
            "a url has one digest; the first is kept",
        );
        return;
    }
    let bytes = digest.as_bytes();
    if bytes.len() != 32 {
        let msg = format!(
            "digest '{digest}' character length should be 32 rather than {}",
            bytes.len()
        );
        read::error_at_word(cx, s, 1, msg, "expected the 32 hex digits of an MD5 sum");
        return;
    }
    for i in (0..16).rev() {
        let pair = &bytes[2 * i..2 * i + 2];
        if !pair.iter().all(u8::is_ascii_hexdigit) {
            let shown = String::from_utf8_lossy(&bytes[..2 * i + 2]);
            let msg = format!(
                "Unable to interpret hex digit in '{shown}' at offset {}/{}",
                2 * i,
                2 * i + 1
            );
            read::error_at_word(cx, s, 1, msg, "expected the 32 hex digits of an MD5 sum");
            return;
        }
    }
    url.digest = Some(digest.to_ascii_lowercase());
}

/// `status_code N|LO-HI ...`: every valid word adds codes; an invalid word is skipped.
fn parse_status_codes(cx: &mut Cx<'_>, s: &Statement, codes: &mut [bool]) {
    for (i, w) in s.words.iter().enumerate().skip(1) {
        let (lo, rest, o1) = read::strtoul(&w.text, 10);
        let (hi, rest, o2) = match rest.strip_prefix('-') {
            Some(r) => read::strtoul(r, 10),
            None => (lo, rest, o1),
        };
        let ok = |v: u64| (STATUS_MIN..=STATUS_MAX).contains(&v);
        if !rest.is_empty() || o1 || o2 || !ok(lo) || !ok(hi) || lo > hi {
            let msg = format!("Invalid HTTP_GET status code '{}'", w.text);
            read::error_at_word(
                cx,
                s,
                i,
                msg,
                "expected codes or ranges from 100 to 599, e.g. 200 301-302",
            );
            continue;
        }
        for code in lo..=hi {
            if let Some(slot) = usize::try_from(code - STATUS_MIN)
                .ok()
                .and_then(|i| codes.get_mut(i))
            {
                *slot = true;
            }
        }
    }
}

fn ranges(codes: &[bool]) -> Vec<StatusRange> {
    let mut out: Vec<StatusRange> = Vec::new();
    for (i, set) in codes.iter().enumerate() {
        if !*set {
            continue;
        }
        let code = u16::try_from(STATUS_MIN as usize + i).unwrap_or(u16::MAX);
        match out.last_mut() {
            Some(r) if r.hi + 1 == code => r.hi = code,
            _ => out.push(StatusRange { lo: code, hi: code }),
        }
    }
    out
}

/// `regex_min_offset N` / `regex_max_offset N`; keepalived only logs problems.
fn regex_offset(cx: &mut Cx<'_>, s: &Statement, which: &str) -> Option<u64> {
    if s.words.len() != 2 {
        let msg = format!("Missing or too may options for regex_{which}_offset");
        read::logged(cx, s.span(), msg, "expected one number");
        return None;
    }
    let w = read::word_text(s, 1);
    let (v, rest, _) = read::strtoul(&w, 10);
    if !rest.is_empty() {
        let msg = format!("Invalid regex_{which}_offset {w} specified");
        read::logged(cx, s.span(), msg, "expected a whole number");
        return None;
    }
    Some(v)
}

fn parse_regex_stack(cx: &mut Cx<'_>, s: &Statement, url: &mut UrlDraft) {
    if s.words.len() != 3 {
        read::logged(
            cx,
            s.span(),
            "regex_stack requires start and max values".into(),
            "regex_stack START MAX",
        );
        return;
    }
    let (start, rest, _) = read::strtoul(&s.words[1].text, 10);
    if !rest.is_empty() {
        read::logged(
            cx,
            s.span(),
            "regex_stack invalid start value".into(),
            "expected a whole number",
        );
        return;
    }
    let (max, rest, _) = read::strtoul(&s.words[2].text, 10);
    if !rest.is_empty() {
        read::logged(
            cx,
            s.span(),
            "regex_stack invalid max value".into(),
            "expected a whole number",
        );
        return;
    }
    if start > max {
        read::logged(
            cx,
            s.span(),
            "regex stack start cannot exceed max value".into(),
            "START must not exceed MAX",
        );
        return;
    }
    url.stack = Some((start, max));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::tests::checkers;
    use ka_units::Micros;

    fn http(c: &Checker) -> &HttpCheck {
        match &c.kind {
            CheckerKind::Http(h) | CheckerKind::Ssl(h) => h,
            other => panic!("not HTTP: {other:?}"),
        }
    }

    #[test]
    fn every_keyword_reaches_the_model() {
        let (c, d) = checkers(
            "  SSL_GET {
   connect_ip 10.0.0.9
   connect_port 8443
   bindto 10.0.0.1
   bind_port 4000
   bind_if eth0
   fwmark 7
   connect_timeout 2.5
   nb_get_retry 4
   delay_loop 10
   virtualhost www.example.com
   http_protocol 1.0c
   enable_sni
   fast_recovery yes
   log_all_failures
   url {
    path /health
    digest 0123456789ABCDEF0123456789ABCDEF
    status_code 200 301-302 204
    virtualhost other.example.com
    regex \"^OK\\s\"
    regex_no_match
    regex_options caseless multiline bogus
    regex_min_offset 2
    regex_max_offset 100
    regex_stack 32768 65536
   }
   url {
    path /
   }
  }",
        );
        assert_eq!(
            d,
            vec!["14:4 General nb_get_retry is deprecated - please use 'retry'"]
        );
        assert_eq!(c.len(), 1);
        assert!(matches!(c[0].kind, CheckerKind::Ssl(_)));
        let co = c[0].common.conn.as_ref().unwrap();
        assert_eq!(co.connect_ip, Some("10.0.0.9".parse().unwrap()));
        assert_eq!((co.connect_port, co.bind_port, co.fwmark), (8443, 4000, 7));
        assert_eq!(co.bindto, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(co.bind_if.as_deref(), Some("eth0"));
        assert_eq!(co.connect_timeout, Some(Micros(2_500_000)));
        assert_eq!(c[0].common.retry, Some(4));
        // HTTP's own default delay_before_retry; warmup follows the checker's delay_loop.
        assert_eq!(c[0].common.delay_before_retry, Some(Micros::from_secs(3)));
        assert_eq!(c[0].common.warmup, Some(Micros::from_secs(10)));
        assert!(c[0].common.log_all_failures);
        let h = http(&c[0]);
        assert_eq!(h.virtualhost.as_deref(), Some("www.example.com"));
        assert_eq!(h.http_protocol, HttpProtocol::V1_0C);
        assert!(h.enable_sni && h.fast_recovery);
        assert_eq!(h.url.len(), 2);
        let u = &h.url[0];
        assert_eq!(u.path, "/health");
        assert_eq!(u.digest.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        assert_eq!(
            u.status_code,
            vec![
                StatusRange { lo: 200, hi: 200 },
                StatusRange { lo: 204, hi: 204 },
                StatusRange { lo: 301, hi: 302 }
            ]
        );
        assert_eq!(u.virtualhost.as_deref(), Some("other.example.com"));
        let r = u.regex.as_ref().unwrap();
        assert_eq!(r.pattern, "^OKs");
        assert!(r.regex_no_match);
        assert_eq!(r.regex_options, vec!["caseless", "multiline"]);
        assert_eq!(
            (r.regex_min_offset, r.regex_max_offset, r.regex_stack),
            (2, Some(100), Some((32768, 65536)))
        );
        assert_eq!(h.url[1].status_code, vec![StatusRange { lo: 200, hi: 299 }]);
        assert!(h.url[1].regex.is_none());
    }

    #[test]
    fn regex_quirks() {
        // A pattern in a url dropped for having no path goes to the next url (keepalived keeps
        // it in a global).
        let (c, d) = checkers("  HTTP_GET {\n   url {\n    regex abc\n   }\n   url {\n    path /\n   }\n  }");
        assert_eq!(
            d,
            vec!["9:4 General HTTP/SSL_GET checker url has no path - ignoring"]
        );
        assert_eq!(
            http(&c[0]).url[0].regex.as_ref().map(|r| r.pattern.as_str()),
            Some("abc")
        );
        // min > max: both offsets are dropped, with keepalived's log line (min == max is fine).
        let (c, d) = checkers(
            "  HTTP_GET {\n   url {\n    path /\n    regex abc\n    regex_min_offset 6\n    regex_max_offset 5\n   }\n  }",
        );
        assert_eq!(
            d,
            vec!["12:4 Info regex min offset 6 > regex_max_offset 5 - ignoring"]
        );
        let r = http(&c[0]).url[0].regex.clone().unwrap();
        assert_eq!((r.regex_min_offset, r.regex_max_offset), (0, None));
        let (_, d) = checkers("  HTTP_GET {\n   url {\n    path /\n    regex a b\n   }\n  }");
        assert_eq!(d, vec!["9:5 Info regex missing or too many fields"]);
    }

    #[test]
    fn ssl_get_requires_an_ssl_context() {
        let l = crate::load_str(
            "SSL {\n password secret\n key /k.pem\n}\nvirtual_server 10.0.0.1 443 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 443 {\n  SSL_GET {\n   url {\n    path /\n   }\n  }\n }\n}\n",
        );
        assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
        assert!(l.config.lvs.ssl_required());
        let ssl = l.config.lvs.ssl.as_ref().unwrap();
        assert!(ssl.has_password());
        assert_eq!(ssl.key.as_deref(), Some("/k.pem"));
        // The password never reaches a dump.
        let json = serde_json::to_string(&l.config.lvs).unwrap();
        assert!(!json.contains("secret"), "{json}");
        assert!(json.contains("\"kind\":{\"SSL_GET\""), "{json}");
    }
}
