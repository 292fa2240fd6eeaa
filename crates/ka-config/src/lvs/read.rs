//! Keyword values as keepalived's checker handlers read them: the number reader's own message
//! first (from [`Cx`]), then the handler's message naming the keyword, which is what tells the
//! user the keyword was ignored.

use super::code;
use crate::cx::{check_true_false, Cx};
use crate::diag::{Class, Span};
use crate::syntax::Statement;
use ka_units::Micros;

/// keepalived's `read_timer` maximum when called with 0: the largest timer value.
pub(crate) const TIMER_MAX_US: u64 = u64::MAX - 1;
/// Connection timeouts are stored in an unsigned 32-bit count of µs.
pub(crate) const CONNECT_TIMEOUT_MAX_US: u64 = u32::MAX as u64;

/// Reports a GENERAL_ERROR with keepalived's `message` and our `help`, at `span`.
pub(crate) fn error(
    cx: &mut Cx<'_>,
    code: &'static str,
    span: &Span,
    message: String,
    help: impl Into<String>,
) {
    cx.report(Class::General, code, span, message).help = Some(help.into());
}

/// Like [`error`], pointing at a word and naming it as the offending token.
pub(crate) fn error_at_word(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    index: usize,
    message: String,
    help: impl Into<String>,
) {
    let (span, token) = match stmt.words.get(index) {
        Some(w) => (w.span.clone(), Some(w.text.clone())),
        None => (stmt.end_span(), None),
    };
    let d = cx.report(Class::General, code::INVALID_VALUE, &span, message);
    if let Some(t) = token {
        d.with_token_mut(&t);
    }
    d.help = Some(help.into());
}

/// A value keepalived wanted and did not find, which it reports (GENERAL_ERROR) and goes on.
pub(crate) fn missing(cx: &mut Cx<'_>, stmt: &Statement, message: String, help: impl Into<String>) {
    let kw = stmt.keyword().to_string();
    cx.report(Class::General, code::MISSING_VALUE, &stmt.end_span(), message)
        .with_token_mut(&kw)
        .help = Some(help.into());
}

/// Something keepalived only logs (class Info: shown, but no effect on the exit code).
pub(crate) fn logged(cx: &mut Cx<'_>, span: &Span, message: String, help: impl Into<String>) {
    cx.report(Class::Info, code::LOGGED, span, message).help = Some(help.into());
}

/// Word `index` as text; a missing word is keepalived's missing-parameter abort.
pub(crate) fn text(cx: &mut Cx<'_>, stmt: &Statement, index: usize) -> Option<String> {
    cx.word(stmt, index).map(|w| w.text.clone())
}

/// The text of word `index` for a message, as keepalived would print it.
pub(crate) fn word_text(stmt: &Statement, index: usize) -> String {
    stmt.words.get(index).map(|w| w.text.clone()).unwrap_or_default()
}

/// `read_unsigned` on word `index`, then the handler's `message(word)` if it fails.
/// A missing word is the missing-parameter abort (no handler message: keepalived has stopped).
pub(crate) fn unsigned(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    index: usize,
    min: u32,
    max: u32,
    message: impl FnOnce(&str) -> String,
) -> Option<u32> {
    stmt.words.get(index)?;
    let v = cx.unsigned(stmt, index, min, max);
    if v.is_none() {
        let w = word_text(stmt, index);
        error_at_word(
            cx,
            stmt,
            index,
            message(&w),
            format!("expected a whole number from {min} to {max}"),
        );
    }
    v
}

/// Like [`unsigned`] but a missing word is reported as keepalived's abort too.
pub(crate) fn unsigned_required(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    index: usize,
    min: u32,
    max: u32,
    message: impl FnOnce(&str) -> String,
) -> Option<u32> {
    cx.word(stmt, index)?;
    unsigned(cx, stmt, index, min, max, message)
}

/// `read_int` on word `index` (which must exist), then `message(word)` if it fails.
pub(crate) fn int_required(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    index: usize,
    min: i32,
    max: i32,
    message: impl FnOnce(&str) -> String,
) -> Option<i32> {
    cx.word(stmt, index)?;
    let v = cx.int(stmt, index, min, max);
    if v.is_none() {
        let w = word_text(stmt, index);
        error_at_word(
            cx,
            stmt,
            index,
            message(&w),
            format!("expected a whole number from {min} to {max}"),
        );
    }
    v
}

/// `read_timer` (seconds with up to 6 decimals) on word `index`, then `message(word)` if it
/// fails. A missing word is keepalived's missing-parameter abort.
pub(crate) fn timer(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    index: usize,
    min_us: u64,
    max_us: u64,
    message: impl FnOnce(&str) -> String,
) -> Option<Micros> {
    cx.word(stmt, index)?;
    let v = cx.seconds(stmt, index, min_us, max_us);
    if v.is_none() {
        let w = word_text(stmt, index);
        let help = format!(
            "expected a time in seconds from {} to {}",
            crate::cx::format_fixed(min_us, 6),
            crate::cx::format_fixed(max_us, 6)
        );
        error_at_word(cx, stmt, index, message(&w), help);
    }
    v.map(Micros)
}

/// An optional boolean (`check_true_false`): absent means true. Anything else than
/// true/on/yes/false/off/no gives the handler's `message(word)` and None.
pub(crate) fn boolean(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    index: usize,
    message: impl FnOnce(&str) -> String,
) -> Option<bool> {
    let Some(word) = stmt.words.get(index) else {
        return Some(true);
    };
    match check_true_false(&word.text) {
        Some(b) => Some(b),
        None => {
            let w = word.text.clone();
            error_at_word(
                cx,
                stmt,
                index,
                message(&w),
                "expected one of true, on, yes, false, off, no (or nothing, meaning true)",
            );
            None
        }
    }
}

/// C's `strtoul(s, &end, radix)` on a 64-bit system: leading blanks and one sign are skipped,
/// base 16 accepts a `0x` prefix, a '-' negates (wrapping), overflow saturates (ERANGE).
/// Returns the value, the unread rest, and whether it overflowed. With no digits at all the
/// value is 0 and the rest is the whole input, as in C.
pub(crate) fn strtoul(s: &str, radix: u32) -> (u64, &str, bool) {
    let trimmed = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, body) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let body = if radix == 16 {
        match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_hexdigit()) => rest,
            _ => body,
        }
    } else {
        body
    };
    let end = body.find(|c: char| !c.is_digit(radix)).unwrap_or(body.len());
    if end == 0 {
        return (0, s, false);
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for c in body[..end].chars() {
        let d = u64::from(c.to_digit(radix).unwrap_or(0));
        match value.checked_mul(u64::from(radix)).and_then(|v| v.checked_add(d)) {
            Some(v) => value = v,
            None => {
                overflow = true;
                value = u64::MAX;
            }
        }
    }
    if negative && !overflow {
        value = value.wrapping_neg();
    }
    (value, &body[end..], overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_matches_c() {
        assert_eq!(strtoul("200", 10), (200, "", false));
        assert_eq!(strtoul("200-299", 10), (200, "-299", false));
        assert_eq!(strtoul("x", 10), (0, "x", false));
        assert_eq!(strtoul("0x1f", 16), (31, "", false));
        assert_eq!(strtoul("ff", 16), (255, "", false));
        assert_eq!(strtoul("-1", 10).0, u64::MAX);
        assert!(strtoul("99999999999999999999999", 10).2);
        assert_eq!(strtoul("", 10), (0, "", false));
    }
}
