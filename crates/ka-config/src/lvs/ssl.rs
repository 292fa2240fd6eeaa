//! The top-level `SSL { password; ca; certificate; key }` block: the TLS context SSL_GET
//! checkers use.

use super::{code, read, LvsConfig};
use crate::cx::Cx;
use crate::diag::Span;
use crate::syntax::Statement;
use serde::Serialize;

/// SSL settings. Every file is optional; keepalived loads the certificate chain, the key
/// (PEM), then the CA file, with verify depth 1, only when an SSL_GET checker exists.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Ssl {
    #[serde(skip)]
    pub span: Option<Span>,
    /// `password`: the private key's pass phrase. A secret: never serialised.
    #[serde(skip)]
    pub password: Option<String>,
    /// `ca`: CA file.
    pub ca: Option<String>,
    /// `certificate`: certificate (chain) file.
    pub certificate: Option<String>,
    /// `key`: private key file.
    pub key: Option<String>,
}

impl Ssl {
    /// Whether a password is set (the value itself is not exposed in dumps).
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }
}

pub(crate) fn parse(cx: &mut Cx<'_>, stmt: &Statement, lvs: &mut LvsConfig) {
    if lvs.ssl.is_some() {
        read::error(
            cx,
            code::DUPLICATE,
            stmt.span(),
            "SSL context already specified - replacing".into(),
            "keepalived keeps only the last SSL block; merge them into one",
        );
    }
    let mut ssl = Ssl {
        span: Some(stmt.span().clone()),
        ..Ssl::default()
    };
    let statements = cx.block(stmt).map(|b| b.statements.as_slice()).unwrap_or(&[]);
    cx.each_statement(statements, "SSL", &mut |cx, s| {
        let (field, noun) = match s.keyword() {
            "password" => (&mut ssl.password, "password"),
            "ca" => (&mut ssl.ca, "cafile"),
            "certificate" => (&mut ssl.certificate, "certfile"),
            "key" => (&mut ssl.key, "keyfile"),
            _ => return false,
        };
        cx.no_block(s);
        let Some(value) = s.words.get(1) else {
            read::missing(
                cx,
                s,
                format!("SSL {noun} missing"),
                "expected a file name (or the password)",
            );
            return true;
        };
        if field.is_some() {
            read::error(
                cx,
                code::DUPLICATE,
                s.span(),
                format!("SSL {noun} already specified - replacing"),
                "the last one is used",
            );
        }
        *field = Some(value.text.clone());
        true
    });
    lvs.ssl = Some(ssl);
}
