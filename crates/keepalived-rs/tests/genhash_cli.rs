//! `keepalived-rs genhash` as keepalived's genhash behaves: the digest line and exit 0, the
//! failure reason on stdout and still exit 0, usage errors on stderr with exit 1, and the
//! `-T`/`--genhash` spellings. The web server is a tiny one in the test, on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

const BODY: &[u8] = b"genhash body\n";
/// MD5 of BODY (md5sum).
const BODY_MD5: &str = "030a33b012f59aa6adcc7eb51ada98b1";

fn serve(connections: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let head = format!("HTTP/1.0 404 Not Found\r\nContent-Length: {}\r\n\r\n", BODY.len());
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(BODY);
        }
    });
    port
}

fn genhash(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn genhash_prints_the_digest_and_keepalived_s_errors() {
    let port = serve(3).to_string();
    // The status is not checked: a 404's body is hashed too.
    let out = genhash(&["genhash", "-s", "127.0.0.1", "-p", &port, "-u", "/x"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), format!("{BODY_MD5}\n"));
    let out = genhash(&[
        "-T",
        "--server=127.0.0.1",
        "--port",
        &port,
        "--url",
        "/x",
        "-P",
        "1.1",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), format!("{BODY_MD5}\n"));
    let out = genhash(&["-l", "--genhash", "-s", "127.0.0.1", "-p", &port, "-u", "/x"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), format!("{BODY_MD5}\n"));
    assert!(text(&out.stderr)
        .contains("Warning -- `--genhash` not used as first option, previous options ignored"));

    // A refused connection: the reason on stdout, exit 0 as keepalived.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let out = genhash(&["genhash", "-s", "127.0.0.1", "-p", &closed, "-u", "/", "-t", "2"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "Connection failed\n");

    // Usage errors: message, usage text, exit 1.
    for (args, message) in [
        (
            vec!["genhash", "-s", "www.example.com", "-p", "80", "-u", "/"],
            "server should be an IP, not www.example.com\n",
        ),
        (
            vec!["genhash", "-s", "127.0.0.1", "-p", "70000", "-u", "/"],
            "invalid port number '70000'\n",
        ),
        (
            vec!["genhash", "-s", "127.0.0.1", "-p", "80", "-u", "/", "-P", "2"],
            "invalid HTTP protocol version '2'\n",
        ),
        (
            vec!["genhash", "-s", "127.0.0.1", "-p", "80", "-u", "/", "-t", "x"],
            "invalid timeout 'x'\n",
        ),
        (
            vec!["genhash", "-s", "127.0.0.1", "-p", "80", "-u", "/", "stray"],
            "Unexpected argument(s): stray\n",
        ),
        (
            vec!["genhash", "-s", "127.0.0.1", "-p", "80", "-u", "/", "-x"],
            "Unknown option -x\n",
        ),
        (
            vec!["genhash", "-s", "127.0.0.1", "-p", "80", "-u", "/", "--nope"],
            "Unknown option --nope\n",
        ),
        (
            vec!["genhash", "-s", "127.0.0.1", "-p"],
            "Missing parameter for option -p\n",
        ),
        (vec!["genhash", "-s", "127.0.0.1", "-p", "80"], ""),
    ] {
        let out = genhash(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(err.starts_with(&format!("{message}Usage: ")), "{args:?}: {err}");
        assert!(err.contains(" genhash COMMAND [OPTIONS]\n"), "{err}");
        assert!(out.stdout.is_empty());
    }
}
