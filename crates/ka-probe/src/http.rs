//! HTTP_GET and SSL_GET (keepalived's check_http.c, check_ssl.c, lib/html.c): one GET of
//! one url per probe, read to EOF, then judged on the status code, the MD5 digest of the
//! body and the regex, in keepalived's order and with its failure reasons.
//!
//! The request is byte-exact keepalived's (`GET <path> HTTP/1.x`, `User-Agent:
//! KeepAliveClient`, `Connection: close` for 1.0C/1.1, `Host`), the response is parsed with
//! keepalived's rules (status = the three digits after the first space, followed by a
//! space; headers must end within 4095 bytes; `Content-Length:` caps the hashed bytes but a
//! mismatch is not a failure), and each phase has the checker's connect_timeout.

use crate::conn::{tcp_connect, ConnectError};
use crate::{Endpoint, ProbeContext};
use ka_check::{Outcome, RsPlan, VsPlan};
use ka_config::lvs::checker::{HttpCheck, HttpProtocol, Url, UrlRegex};
use md5::{Digest, Md5};
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// keepalived's GET_BUFFER_LENGTH: the request is cut to 2047 bytes.
const REQUEST_MAX: usize = 2047;
/// keepalived's MAX_BUFFER_LENGTH − 1: the headers must end within this many bytes.
const HEADER_MAX: usize = 4095;
/// How much of the body is kept for `regex` (keepalived matches as it reads; we match once
/// at the end, over at most this much).
const REGEX_BODY_MAX: usize = 1 << 20;
const READ_CHUNK: usize = 4096;
/// The whole response must arrive within this many connect_timeouts...
const READ_TOTAL_PHASES: u32 = 10;
/// ...and is not read beyond this many bytes.
const READ_TOTAL_MAX: usize = 64 << 20;

/// keepalived's request, byte for byte.
pub fn request(path: &str, protocol: HttpProtocol, host: &str) -> Vec<u8> {
    let minor = if protocol == HttpProtocol::V1_1 { 1 } else { 0 };
    let connection = match protocol {
        HttpProtocol::V1_0 => "",
        HttpProtocol::V1_0C | HttpProtocol::V1_1 => "Connection: close\r\n",
    };
    let mut out = format!(
        "GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{connection}Host: {host}\r\n\r\n"
    )
    .into_bytes();
    out.truncate(REQUEST_MAX);
    out
}

/// The Host header: the virtual host as configured (no port), else the destination
/// `ip:port` (`[ip]:port` for IPv6).
pub fn host_header(virtualhost: Option<&str>, dst: SocketAddr) -> String {
    match (virtualhost, dst) {
        (Some(v), _) => v.to_string(),
        (None, SocketAddr::V4(a)) => format!("{}:{}", a.ip(), a.port()),
        (None, SocketAddr::V6(a)) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// keepalived's `extract_html`: the offset just past the first `\r\n\r\n`.
pub fn header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// keepalived's `extract_status_code`: skip to the first space (a `\r` first means no code);
/// then exactly three digits followed by a space. Anything else is 0.
pub fn status_code(buf: &[u8]) -> u16 {
    let Some(space) = buf.iter().position(|&b| b == b' ' || b == b'\r') else {
        return 0;
    };
    if buf[space] != b' ' {
        return 0;
    }
    let code = &buf[space + 1..];
    // keepalived also wants a byte after the trailing space (`buffer + 3 >= buf_end`).
    if code.len() <= 4 || code[3] != b' ' || !code[..3].iter().all(u8::is_ascii_digit) {
        return 0;
    }
    code[..3]
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'))
}

/// keepalived's `extract_content_length`: `Content-Length:` (case-sensitive) anywhere in the
/// first buffer, then a decimal number ending the line.
pub fn content_length(buf: &[u8]) -> Option<usize> {
    // strstr stops at a NUL byte.
    let text = buf.split(|&b| b == 0).next().unwrap_or(&[]);
    const NAME: &[u8] = b"Content-Length:";
    let at = text.windows(NAME.len()).position(|w| w == NAME)? + NAME.len();
    let rest = &text[at..];
    // strtoul: leading white space, an optional '+', digits.
    let rest = {
        let skip = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c'))
            .count();
        let r = &rest[skip..];
        r.strip_prefix(b"+").unwrap_or(r)
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    match rest.get(digits) {
        None | Some(b'\r') | Some(b'\n') => {}
        Some(_) => return None,
    }
    let mut value: usize = 0;
    for d in &rest[..digits] {
        // strtoul saturates at ULONG_MAX.
        value = value.saturating_mul(10).saturating_add(usize::from(d - b'0'));
    }
    Some(value)
}

/// Whether `code` is accepted by a url's `status_code` set (default 200-299).
pub fn status_accepted(url: &Url, code: u16) -> bool {
    if url.status_code.is_empty() {
        return (200..=299).contains(&code);
    }
    url.status_code.iter().any(|r| (r.lo..=r.hi).contains(&code))
}

/// A url's `digest` (hex) as bytes.
pub fn parse_digest(hex: &str) -> Option<[u8; 16]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A url's `regex` compiled with the PCRE2 options the Rust engine has an equivalent for.
pub fn compile_regex(r: &UrlRegex) -> Result<regex::bytes::Regex, String> {
    let mut b = regex::bytes::RegexBuilder::new(&r.pattern);
    // PCRE2 without PCRE2_UTF works on bytes.
    b.unicode(false);
    for option in &r.regex_options {
        match option.as_str() {
            "caseless" => {
                b.case_insensitive(true);
            }
            "multiline" => {
                b.multi_line(true);
            }
            "dotall" => {
                b.dot_matches_new_line(true);
            }
            "extended" => {
                b.ignore_whitespace(true);
            }
            "ungreedy" => {
                b.swap_greed(true);
            }
            "utf" | "ucp" => {
                b.unicode(true);
            }
            _ => {}
        }
    }
    b.build().map_err(|e| e.to_string())
}

/// What is looked for in a response besides its status.
pub(crate) struct Expect<'a> {
    pub digest: bool,
    pub regex: Option<(&'a regex::bytes::Regex, &'a UrlRegex)>,
}

/// A response read to its end.
#[derive(Debug, Default)]
pub(crate) struct Response {
    /// The headers ended within 4095 bytes.
    pub has_header: bool,
    pub status: u16,
    pub content_length: Option<usize>,
    /// Body bytes received.
    pub rx_bytes: usize,
    /// MD5 of the body, capped at Content-Length.
    pub digest: [u8; 16],
    pub regex_matched: bool,
}

/// keepalived's `http_process_response`, fed one read at a time.
struct Reader<'a> {
    expect: &'a Expect<'a>,
    head: Vec<u8>,
    extracted: bool,
    response: Response,
    md5: Md5,
    body: Vec<u8>,
    /// genhash -v: what keepalived prints while reading.
    dump: Option<&'a mut Vec<u8>>,
}

enum Flow {
    More,
    /// The header buffer is full without an end of headers: keepalived reads 0 bytes and
    /// takes it as the end of the stream.
    HeaderOverflow,
}

impl<'a> Reader<'a> {
    fn new(expect: &'a Expect<'a>, dump: Option<&'a mut Vec<u8>>) -> Reader<'a> {
        Reader {
            expect,
            head: Vec::new(),
            extracted: false,
            response: Response::default(),
            md5: Md5::new(),
            body: Vec::new(),
            dump,
        }
    }

    fn feed(&mut self, data: &[u8]) -> Flow {
        if self.extracted {
            self.body_bytes(data, false);
            return Flow::More;
        }
        if let Some(out) = self.dump.as_deref_mut() {
            out.extend_from_slice(HTTP_HEADER_HEXA.as_bytes());
        }
        let take = data.len().min(HEADER_MAX - self.head.len());
        self.head.extend_from_slice(&data[..take]);
        let Some(end) = header_end(&self.head) else {
            return if self.head.len() >= HEADER_MAX {
                Flow::HeaderOverflow
            } else {
                Flow::More
            };
        };
        self.extracted = true;
        self.response.has_header = true;
        self.response.status = status_code(&self.head);
        self.response.content_length = content_length(&self.head);
        if let Some(out) = self.dump.as_deref_mut() {
            dump_buffer(out, &self.head[..end]);
            out.extend_from_slice(HTTP_HEADER_ASCII.as_bytes());
            let text = &self.head[..end];
            let text = text.split(|&b| b == 0).next().unwrap_or(&[]);
            out.extend_from_slice(text);
            out.push(b'\n');
        }
        let mut first = self.head.split_off(end);
        first.extend_from_slice(&data[take..]);
        self.body_bytes(&first, true);
        Flow::More
    }

    fn body_bytes(&mut self, data: &[u8], first: bool) {
        if data.is_empty() {
            return;
        }
        let rx = self.response.rx_bytes;
        let hashed = match self.response.content_length {
            None => data.len(),
            Some(cl) if cl > rx => data.len().min(cl - rx),
            Some(_) => 0,
        };
        let capped_out = self.response.content_length.is_some_and(|cl| cl <= rx);
        if self.expect.digest && !capped_out {
            self.md5.update(&data[..hashed]);
            if let Some(out) = self.dump.as_deref_mut() {
                if first {
                    out.extend_from_slice(HTML_HEADER_HEXA.as_bytes());
                }
                dump_buffer(out, &data[..hashed]);
            }
        }
        self.response.rx_bytes = rx + data.len();
        if self.expect.regex.is_some() && self.body.len() < REGEX_BODY_MAX {
            let room = REGEX_BODY_MAX - self.body.len();
            self.body.extend_from_slice(&data[..data.len().min(room)]);
        }
    }

    fn finish(mut self, clean_eof: bool) -> Response {
        if self.expect.digest {
            self.response.digest = self.md5.finalize().into();
            if clean_eof {
                if let Some(out) = self.dump.as_deref_mut() {
                    out.push(b'\n');
                    out.extend_from_slice(HTML_HASH.as_bytes());
                    dump_buffer(out, &self.response.digest);
                    out.extend_from_slice(HTML_HASH_FINAL.as_bytes());
                }
            }
        }
        if let Some((re, cfg)) = self.expect.regex {
            self.response.regex_matched = regex_matches(re, cfg, &self.body);
        }
        self.response
    }
}

/// A match starting at or after `regex_min_offset` and no later than `regex_max_offset`.
fn regex_matches(re: &regex::bytes::Regex, cfg: &UrlRegex, body: &[u8]) -> bool {
    let Ok(start) = usize::try_from(cfg.regex_min_offset) else {
        return false;
    };
    if start > body.len() {
        return false;
    }
    match re.find_at(body, start) {
        None => false,
        Some(m) => match cfg.regex_max_offset {
            None => true,
            Some(max) => u64::try_from(m.start()).is_ok_and(|s| s <= max),
        },
    }
}

const HTTP_HEADER_HEXA: &str = "-----------------------[    HTTP Header Buffer    ]-----------------------\n";
const HTTP_HEADER_ASCII: &str =
    "-----------------------[ HTTP Header Ascii Buffer ]-----------------------\n";
const HTML_HEADER_HEXA: &str =
    "-----------------------[        HTML Buffer        ]-----------------------\n";
const HTML_HASH: &str = "-----------------------[    HTML hash resulting    ]-----------------------\n";
const HTML_HASH_FINAL: &str = "-----------------------[ HTML hash final resulting ]-----------------------\n";

/// keepalived's `dump_buffer`: offset, 16 bytes in hex (a `-` after 8), then the printable
/// characters.
pub fn dump_buffer(out: &mut Vec<u8>, buf: &[u8]) {
    let lines = buf.len().div_ceil(16);
    for line in 0..lines {
        let base = line * 16;
        out.extend_from_slice(format!("{:04} ", base & 0xffff).as_bytes());
        for i in base..base + 16 {
            match buf.get(i) {
                Some(b) => out.extend_from_slice(format!(" {b:02x}").as_bytes()),
                None => out.extend_from_slice(b"   "),
            }
            if (i + 1) % 16 == 8 {
                out.extend_from_slice(b" -");
            }
        }
        out.extend_from_slice(b"   ");
        for i in base..base + 16 {
            out.push(match buf.get(i) {
                Some(&b) if (0x20..=0x7e).contains(&b) => b,
                Some(_) => b'.',
                None => b' ',
            });
        }
        out.push(b'\n');
    }
}

/// Why a fetch did not produce a response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// `socket()` failed.
    Socket,
    /// An option or the bind failed (keepalived: "socket bind failed").
    Local,
    /// A failure with keepalived's reason text.
    Failed(&'static str),
}

/// One GET: connect (and TLS handshake within the same connect_timeout), write, read to EOF.
pub(crate) async fn fetch(
    ep: &Endpoint,
    request: &[u8],
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    expect: &Expect<'_>,
    dump: Option<&mut Vec<u8>>,
) -> Result<Response, FetchError> {
    let connect_deadline = crate::deadline_after(ep.timeout);
    let stream = match tcp_connect(ep).await {
        Ok(s) => s,
        Err(ConnectError::Socket(_)) => return Err(FetchError::Socket),
        Err(ConnectError::Local(_)) => return Err(FetchError::Local),
        Err(ConnectError::Unreachable(_)) => {
            return Err(FetchError::Failed("HTTP_CHECK - network unreachable"))
        }
        Err(ConnectError::Failed(_)) => return Err(FetchError::Failed("Connection failed")),
        Err(ConnectError::Timeout) => return Err(FetchError::Failed("Timeout connecting")),
    };
    let reader = Reader::new(expect, dump);
    match tls {
        None => exchange(stream, request, ep.timeout, false, reader).await,
        Some((config, name)) => {
            let connector = tokio_rustls::TlsConnector::from(config);
            match tokio::time::timeout_at(connect_deadline, connector.connect(name, stream)).await {
                Err(_) => Err(FetchError::Failed("Timeout connecting")),
                Ok(Err(_)) => Err(FetchError::Failed(
                    "SSL handshake/communication error connecting to",
                )),
                Ok(Ok(s)) => exchange(s, request, ep.timeout, true, reader).await,
            }
        }
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
    phase: Duration,
    tls: bool,
    mut reader: Reader<'_>,
) -> Result<Response, FetchError> {
    let write = async {
        stream.write_all(request).await?;
        stream.flush().await
    };
    match tokio::time::timeout(phase, write).await {
        Err(_) => return Err(FetchError::Failed("Timeout WEB write")),
        Ok(Err(_)) => return Err(FetchError::Failed("Cannot send get request to")),
        Ok(Ok(())) => {}
    }
    let mut buf = vec![0u8; READ_CHUNK];
    let mut first = true;
    // keepalived reads for as long as data keeps coming; a server trickling bytes or
    // streaming without end would hold the checker forever. Bounded here.
    let read_deadline = crate::deadline_after(phase.saturating_mul(READ_TOTAL_PHASES));
    let mut total: usize = 0;
    loop {
        let wait = phase.min(read_deadline.saturating_duration_since(tokio::time::Instant::now()));
        let n = match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Err(_) if first => return Err(FetchError::Failed("Timeout WEB read")),
            Err(_) if tls => return Err(FetchError::Failed("Timeout SSL read")),
            Err(_) => return Err(FetchError::Failed("Timeout HTTP read")),
            Ok(Ok(0)) => return Ok(reader.finish(true)),
            Ok(Ok(n)) => n,
            // Any TLS error ends the stream (a close without close_notify is fine): what was
            // received is judged.
            Ok(Err(_)) if tls => return Ok(reader.finish(false)),
            Ok(Err(_)) => return Err(FetchError::Failed("Read error with")),
        };
        first = false;
        if let Flow::HeaderOverflow = reader.feed(&buf[..n]) {
            return Ok(reader.finish(true));
        }
        total = total.saturating_add(n);
        if total >= READ_TOTAL_MAX {
            // Judged on what came, as at the end of the stream.
            return Ok(reader.finish(true));
        }
    }
}

/// The url's virtual host for the Host header: url, checker, real server, virtual server.
fn host_for<'a>(url: &'a Url, h: &'a HttpCheck, rs: &'a RsPlan, vs: &'a VsPlan) -> Option<&'a str> {
    url.virtualhost
        .as_deref()
        .or(h.virtualhost.as_deref())
        .or(rs.virtualhost.as_deref())
        .or(vs.virtualhost.as_deref())
}

/// SNI (only with `enable_sni`): url, checker, virtual server — never the real server's.
fn sni_for<'a>(url: &'a Url, h: &'a HttpCheck, vs: &'a VsPlan) -> Option<&'a str> {
    if !h.enable_sni {
        return None;
    }
    url.virtualhost
        .as_deref()
        .or(h.virtualhost.as_deref())
        .or(vs.virtualhost.as_deref())
}

pub(crate) async fn probe(
    ctx: &ProbeContext,
    h: &HttpCheck,
    ssl: bool,
    url_index: usize,
    ep: &Endpoint,
    rs: &RsPlan,
    vs: &VsPlan,
) -> Outcome {
    let Some(url) = h.url.get(url_index) else {
        // keepalived: no url at all = up without checking.
        return if h.url.is_empty() {
            Outcome::Success
        } else {
            Outcome::LocalError {
                message: format!("HTTP url {url_index} does not exist."),
            }
        };
    };
    let regex = match url.regex.as_ref().map(|r| ctx.regex(r).map(|re| (re, r))) {
        None => None,
        Some(Ok(pair)) => Some(pair),
        Some(Err(e)) => {
            return Outcome::LocalError {
                message: format!(
                    "Regex '{}' cannot be used: {e}.",
                    url.regex.as_ref().map(|r| r.pattern.as_str()).unwrap_or("")
                ),
            }
        }
    };
    let expect = Expect {
        digest: url.digest.is_some(),
        regex: regex.as_ref().map(|(re, cfg)| (re, *cfg)),
    };
    let req = request(
        &url.path,
        h.http_protocol,
        &host_header(host_for(url, h, rs, vs), ep.dst),
    );
    let tls = ssl.then(|| {
        (
            Arc::clone(&ctx.tls),
            crate::tls::server_name(sni_for(url, h, vs), ep.dst.ip()),
        )
    });
    let response = match fetch(ep, &req, tls, &expect, None).await {
        Ok(r) => r,
        Err(FetchError::Socket) => {
            return Outcome::LocalError {
                message: "WEB connection fail to create socket.".into(),
            }
        }
        Err(FetchError::Local) => {
            return Outcome::LocalError {
                message: "WEB socket bind failed.".into(),
            }
        }
        Err(FetchError::Failed(reason)) => {
            return Outcome::Failure {
                message: reason.to_string(),
            }
        }
    };
    judge(url, &response)
}

/// keepalived's `http_handle_response`, in its order.
pub(crate) fn judge(url: &Url, response: &Response) -> Outcome {
    let fail = |m: &str| Outcome::Failure {
        message: m.to_string(),
    };
    if !response.has_header {
        return fail("Read, no data received from ");
    }
    if !status_accepted(url, response.status) {
        return fail("HTTP status code error to");
    }
    if let Some(want) = &url.digest {
        if parse_digest(want) != Some(response.digest) {
            return fail("MD5 digest error to");
        }
    }
    if let Some(r) = &url.regex {
        if response.regex_matched == r.regex_no_match {
            return fail("Regex match failed");
        }
    }
    Outcome::Success
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes_are_keepalived_s() {
        let dst: SocketAddr = "192.0.2.1:8080".parse().unwrap();
        assert_eq!(
            request("/x?a=b c", HttpProtocol::V1_0, &host_header(None, dst)),
            b"GET /x?a=b c HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 192.0.2.1:8080\r\n\r\n"
        );
        let dst6: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        assert_eq!(
            request("/", HttpProtocol::V1_1, &host_header(None, dst6)),
            b"GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [2001:db8::1]:80\r\n\r\n"
        );
        assert_eq!(
            request("/", HttpProtocol::V1_0C, &host_header(Some("www.example.com"), dst6)),
            b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n"
        );
        let long = "/".repeat(5000);
        assert_eq!(request(&long, HttpProtocol::V1_0, "h").len(), 2047);
    }

    #[test]
    fn status_code_as_keepalived_reads_it() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK\r\n"), 200);
        assert_eq!(status_code(b"HTTP/1.0 404 Not Found\r\n\r\n"), 404);
        // No reason phrase: keepalived wants a space after the code.
        assert_eq!(status_code(b"HTTP/1.1 200\r\n\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1  200 OK\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1\r\n 200 OK"), 0);
        assert_eq!(status_code(b"HTTP/1.1 2x0 OK\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1 2000 OK\r\n"), 0);
        assert_eq!(status_code(b""), 0);
        assert_eq!(status_code(b"HTTP/1.1 200 "), 0);
    }

    #[test]
    fn content_length_is_case_sensitive_and_ends_the_line() {
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"),
            Some(12)
        );
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n"),
            None
        );
        assert_eq!(content_length(b"Content-Length: 12x\r\n"), None);
        assert_eq!(content_length(b"Content-Length:7"), Some(7));
        assert_eq!(
            content_length(b"Content-Length: 99999999999999999999999999\r\n"),
            Some(usize::MAX)
        );
    }

    #[test]
    fn digests_parse_from_config_hex() {
        let d = parse_digest("9b3a0c85a887a256d6939da88aabd8cd").unwrap();
        assert_eq!(hex(&d), "9b3a0c85a887a256d6939da88aabd8cd");
        assert_eq!(parse_digest("9B3A0C85A887A256D6939DA88AABD8CD"), Some(d));
        assert_eq!(parse_digest("xyz"), None);
        assert_eq!(parse_digest("é".repeat(16).as_str()), None);
    }

    fn read_all(chunks: &[&[u8]], expect: &Expect<'_>) -> Response {
        let mut r = Reader::new(expect, None);
        for c in chunks {
            if let Flow::HeaderOverflow = r.feed(c) {
                break;
            }
        }
        r.finish(true)
    }

    #[test]
    fn body_digest_is_capped_at_content_length_across_reads() {
        let e = Expect {
            digest: true,
            regex: None,
        };
        let r = read_all(
            &[
                b"HTTP/1.0 200 OK\r\nContent-Le",
                b"ngth: 5\r\n\r\nhel",
                b"lo world",
            ],
            &e,
        );
        assert!(r.has_header);
        assert_eq!(r.status, 200);
        assert_eq!(r.content_length, Some(5));
        assert_eq!(r.rx_bytes, 11);
        assert_eq!(r.digest, <[u8; 16]>::from(Md5::digest(b"hello")));
        // Without Content-Length everything is hashed.
        let r = read_all(&[b"HTTP/1.0 200 OK\r\n\r\nhello", b" world"], &e);
        assert_eq!(r.digest, <[u8; 16]>::from(Md5::digest(b"hello world")));
    }

    #[test]
    fn headers_longer_than_the_buffer_mean_no_data() {
        let e = Expect {
            digest: false,
            regex: None,
        };
        let big = vec![b'a'; 5000];
        let r = read_all(&[b"HTTP/1.0 200 OK\r\nX: ", &big], &e);
        assert!(!r.has_header);
        let url = Url::default();
        assert_eq!(
            judge(&url, &r),
            Outcome::Failure {
                message: "Read, no data received from ".into()
            }
        );
    }

    #[test]
    fn regex_offsets_and_no_match() {
        let cfg = UrlRegex {
            pattern: "ok".into(),
            regex_min_offset: 2,
            regex_max_offset: Some(4),
            ..UrlRegex::default()
        };
        let re = compile_regex(&cfg).unwrap();
        assert!(!regex_matches(&re, &cfg, b"ok......"));
        assert!(regex_matches(&re, &cfg, b"..ok...."));
        assert!(regex_matches(&re, &cfg, b"....ok.."));
        assert!(!regex_matches(&re, &cfg, b".....ok."));
        let caseless = UrlRegex {
            pattern: "HELLO".into(),
            regex_options: vec!["caseless".into()],
            ..UrlRegex::default()
        };
        assert!(regex_matches(
            &compile_regex(&caseless).unwrap(),
            &caseless,
            b"say hello"
        ));
    }

    #[test]
    fn judged_in_keepalived_order() {
        let url = Url {
            path: "/".into(),
            digest: Some("00000000000000000000000000000000".into()),
            ..Url::default()
        };
        let mut r = Response {
            has_header: true,
            status: 503,
            ..Response::default()
        };
        assert_eq!(
            judge(&url, &r),
            Outcome::Failure {
                message: "HTTP status code error to".into()
            }
        );
        r.status = 200;
        r.digest = [1; 16];
        assert_eq!(
            judge(&url, &r),
            Outcome::Failure {
                message: "MD5 digest error to".into()
            }
        );
        r.digest = [0; 16];
        assert_eq!(judge(&url, &r), Outcome::Success);
    }

    #[test]
    fn dump_buffer_matches_keepalived_layout() {
        let mut out = Vec::new();
        dump_buffer(&mut out, b"HTTP/1.0 200 OK\r\nab");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "0000  48 54 54 50 2f 31 2e 30 - 20 32 30 30 20 4f 4b 0d   HTTP/1.0 200 OK.\n\
             0016  0a 61 62                -                           .ab             \n"
        );
    }
}
