//! The toolkit section parsers use: reading argument words the way keepalived's helpers do
//! (`read_unsigned`, `read_int`, `read_decimal_unsigned`, `check_true_false`), reporting
//! keepalived's message with file, line, column and a hint, and the common structural
//! errors (unknown keyword, missing or unexpected block).
//!
//! Number parsing follows keepalived's `-t` behaviour, which is the strict one: a value
//! keepalived would take leniently in a normal run ("12abc" → 12) is refused here in both
//! modes, so what `-t` says is what the daemon runs.

use crate::diag::{Class, Diagnostic, Diagnostics, Span};
use crate::host::Host;
use crate::syntax::{Block, Statement, Word};

/// Diagnostic code of keepalived's missing-parameter abort: keepalived exits with status 2 on
/// the spot (see [`crate::diag::exit_code_for_test`]).
pub const MISSING_PARAMETER_ABORT: &str = "missing-parameter";

pub struct Cx<'a> {
    pub diags: &'a mut Diagnostics,
    pub host: &'a dyn Host,
}

impl<'a> Cx<'a> {
    pub fn new(diags: &'a mut Diagnostics, host: &'a dyn Host) -> Self {
        Cx { diags, host }
    }

    /// Records a diagnostic and returns it so the caller can add a token or help text.
    pub fn report(
        &mut self,
        class: Class,
        code: &'static str,
        span: &Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::new(class, code, Some(span.clone()), message));
        self.diags.last_mut().expect("just pushed")
    }

    /// A diagnostic with no position: keepalived's post-parse messages, where we have no
    /// better place. Prefer [`Cx::report`] with the span of the item concerned.
    pub fn report_unplaced(
        &mut self,
        class: Class,
        code: &'static str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags.push(Diagnostic::new(class, code, None, message));
        self.diags.last_mut().expect("just pushed")
    }

    /// keepalived's "Unknown keyword 'X'" (class UNKNOWN_KEYWORD). `context` names the block,
    /// e.g. "vrrp_instance", for the hint. Prefer [`Cx::each_statement`], which also handles a
    /// block after the unknown keyword as keepalived does.
    pub fn unknown_keyword(&mut self, stmt: &Statement, context: &str) {
        let kw = stmt.keyword().to_string();
        let help = match suggest(&kw, context) {
            Some(s) => format!("did you mean '{s}'? (keepalived ignores unknown keywords and goes on)"),
            None => format!("'{kw}' is not a keyword of {context}; keepalived ignores the line and goes on"),
        };
        self.report(
            Class::UnknownKeyword,
            "unknown-keyword",
            stmt.span(),
            format!("Unknown keyword '{kw}'"),
        )
        .with_token_mut(&kw)
        .help = Some(help);
    }

    /// Walks statements, calling `handle` for each; `handle` returns false for a keyword it
    /// does not know. Unknown keywords are reported as keepalived reports them: "Unknown
    /// keyword", and when a block follows, "Unexpected '{'" with the block's contents read
    /// as if they stood at this level (keepalived ignores the brace), so that a misspelled
    /// block keyword gives the same messages at the same lines. At the top level keepalived
    /// also complains about the block's closing brace.
    pub fn each_statement(
        &mut self,
        statements: &[Statement],
        context: &str,
        handle: &mut dyn FnMut(&mut Cx<'a>, &Statement) -> bool,
    ) {
        for stmt in statements {
            if handle(self, stmt) {
                continue;
            }
            self.unknown_keyword(stmt, context);
            if let Some(block) = &stmt.block {
                self.report(
                    Class::UnexpectedBlockStart,
                    "unexpected-open-brace",
                    &block.open,
                    "Unexpected '{' - ignoring",
                )
                .with_token_mut("{")
                .help = Some(format!(
                    "'{}' is unknown, so keepalived reads what follows as part of {context}",
                    stmt.keyword()
                ));
                self.each_statement(&block.statements, context, handle);
                if context == "the top level" {
                    if let Some(close) = &block.close {
                        self.report(
                            Class::UnknownKeyword,
                            "unknown-keyword",
                            close,
                            "Unknown keyword '}'",
                        )
                        .with_token_mut("}")
                        .help = Some("this '}' closes the block of an unknown keyword".into());
                    }
                }
            }
        }
    }

    /// The block a block keyword needs, or a "Missing '{'" error.
    pub fn block<'s>(&mut self, stmt: &'s Statement) -> Option<&'s Block> {
        if stmt.block.is_none() {
            let kw = stmt.keyword().to_string();
            self.report(
                Class::MissingBlockStart,
                "missing-open-brace",
                &stmt.end_span(),
                "Missing '{' at beginning of configuration block",
            )
            .with_token_mut(&kw)
            .help = Some(format!("write '{kw} ... {{' and close the block with '}}'"));
        }
        stmt.block.as_ref()
    }

    /// Reports a block after a keyword that takes none (keepalived: "Unexpected '{'").
    pub fn no_block(&mut self, stmt: &Statement) {
        if let Some(block) = &stmt.block {
            let kw = stmt.keyword().to_string();
            self.report(
                Class::UnexpectedBlockStart,
                "unexpected-open-brace",
                &block.open,
                "Unexpected '{' - ignoring",
            )
            .with_token_mut("{")
            .help = Some(format!("'{kw}' does not take a block"));
        }
    }

    /// Word `index` (0 = keyword). Missing → keepalived's missing-parameter abort (exit 2).
    pub fn word<'s>(&mut self, stmt: &'s Statement, index: usize) -> Option<&'s Word> {
        if let Some(w) = stmt.words.get(index) {
            return Some(w);
        }
        let first = stmt.keyword().to_string();
        let message = match stmt.words.get(index.wrapping_sub(1)) {
            Some(prev) if index > 0 => format!(
                "*** Configuration line starting `{first}` is missing a parameter after keyword `{}` at word position {}",
                prev.text,
                index + 1
            ),
            _ => format!("*** Configuration line starting `{first}` is missing a parameter at word position {}", index + 1),
        };
        self.report(
            Class::MissingParameter,
            MISSING_PARAMETER_ABORT,
            &stmt.end_span(),
            message,
        )
        .help = Some(format!(
            "'{first}' needs a value here (keepalived stops reading the configuration at this line)"
        ));
        None
    }

    /// A missing value reported as a plain error, for keywords keepalived checks gracefully.
    pub fn missing_value(&mut self, stmt: &Statement, message: impl Into<String>, expected: &str) {
        self.report(
            Class::MissingParameter,
            "missing-value",
            &stmt.end_span(),
            message,
        )
        .help = Some(format!("expected {expected}"));
    }

    /// keepalived's `read_unsigned` on word `index`.
    pub fn unsigned(&mut self, stmt: &Statement, index: usize, min: u32, max: u32) -> Option<u32> {
        let word = self.word(stmt, index)?;
        match parse_unsigned(&word.text, min, max) {
            Ok(v) => Some(v),
            Err(msg) => {
                self.number_error(stmt, word, msg, &format!("a whole number from {min} to {max}"));
                None
            }
        }
    }

    /// keepalived's `read_int` on word `index`.
    pub fn int(&mut self, stmt: &Statement, index: usize, min: i32, max: i32) -> Option<i32> {
        let word = self.word(stmt, index)?;
        match parse_int(&word.text, min, max) {
            Ok(v) => Some(v),
            Err(msg) => {
                self.number_error(stmt, word, msg, &format!("a whole number from {min} to {max}"));
                None
            }
        }
    }

    /// keepalived's `read_decimal_unsigned` with `shift` decimal places: the result is the value
    /// times 10^shift. Time values in seconds use shift 6 and come back in microseconds.
    pub fn decimal(&mut self, stmt: &Statement, index: usize, min: u64, max: u64, shift: u32) -> Option<u64> {
        let word = self.word(stmt, index)?;
        let outcome = parse_decimal(&word.text, min, max, shift);
        if outcome.messages.is_empty() {
            // The common case: nothing to explain, so nothing to format.
            return outcome.value;
        }
        let expected = format!(
            "a number from {} to {}",
            format_fixed(min, shift),
            format_fixed(max, shift)
        );
        for msg in outcome.messages {
            self.number_error(stmt, word, msg, &expected);
        }
        outcome.value
    }

    /// A time in seconds with up to 6 decimals, in microseconds (keepalived's `read_timer`).
    pub fn seconds(&mut self, stmt: &Statement, index: usize, min_us: u64, max_us: u64) -> Option<u64> {
        self.decimal(stmt, index, min_us, max_us, 6)
    }

    fn number_error(&mut self, stmt: &Statement, word: &Word, message: String, expected: &str) {
        let kw = stmt.keyword().to_string();
        let text = word.text.clone();
        self.report(Class::InvalidNumber, "invalid-number", &word.span, message)
            .with_token_mut(&text)
            .help = Some(format!("'{kw}' expects {expected}"));
    }

    /// An optional boolean word (keepalived's `check_true_false`): absent means `default_if_absent`.
    /// Anything but true/on/yes/false/off/no is reported with `message` and yields None.
    pub fn bool_opt(&mut self, stmt: &Statement, index: usize, default_if_absent: bool) -> Option<bool> {
        let Some(word) = stmt.words.get(index) else {
            return Some(default_if_absent);
        };
        match check_true_false(&word.text) {
            Some(b) => Some(b),
            None => {
                let kw = stmt.keyword().to_string();
                let text = word.text.clone();
                self.report(
                    Class::General,
                    "invalid-boolean",
                    &word.span,
                    format!("Invalid value '{text}' for {kw}"),
                )
                .with_token_mut(&text)
                .help = Some("expected one of true, on, yes, false, off, no".into());
                None
            }
        }
    }

    /// Reports extra words after what a keyword takes, as a warning.
    pub fn extra_words(&mut self, stmt: &Statement, expected: usize) {
        if let Some(extra) = stmt.words.get(expected) {
            let kw = stmt.keyword().to_string();
            let text = extra.text.clone();
            self.report(
                Class::General,
                "extra-words",
                &extra.span,
                format!("{kw}: extra parameter '{text}' ignored"),
            )
            .with_token_mut(&text);
        }
    }
}

impl Diagnostic {
    /// In-place form of [`Diagnostic::with_token`] for use on `&mut Diagnostic`.
    pub fn with_token_mut(&mut self, token: &str) -> &mut Diagnostic {
        self.token = Some(token.to_string());
        self
    }
}

/// keepalived's `check_true_false`: exact, case-sensitive words.
pub fn check_true_false(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// Splits the digits `strtoul`/`strtol` would read from `s` (after blanks and an optional sign).
fn numeric_prefix(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// keepalived's `read_unsigned` (base 10), with its messages, in its `-t` (strict) form.
pub fn parse_unsigned(text: &str, min: u32, max: u32) -> Result<u32, String> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if trimmed.starts_with('-') {
        return Err(format!("negative number '{text}'"));
    }
    let unsigned = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let (digits, rest) = numeric_prefix(unsigned);
    if !rest.is_empty() {
        return Err(format!("invalid number '{text}'"));
    }
    let value: u64 = if digits.is_empty() {
        0
    } else {
        match digits.parse::<u64>() {
            Ok(v) if v <= u64::from(u32::MAX) => v,
            _ => return Err(format!("number '{text}' outside unsigned integer range")),
        }
    };
    if value < u64::from(min) || value > u64::from(max) {
        return Err(format!("number '{text}' outside range [{min}, {max}]"));
    }
    Ok(value as u32)
}

/// keepalived's `read_int` (base 10), with its messages.
pub fn parse_int(text: &str, min: i32, max: i32) -> Result<i32, String> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, body) = match trimmed.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let (digits, rest) = numeric_prefix(body);
    if !rest.is_empty() {
        return Err(format!("invalid number '{text}'"));
    }
    let magnitude: i64 = if digits.is_empty() {
        0
    } else {
        match digits.parse::<i64>() {
            Ok(v) if v <= i64::from(u32::MAX) => v,
            _ => return Err(format!("number '{text}' outside integer range")),
        }
    };
    let value = if negative { -magnitude } else { magnitude };
    if value < i64::from(i32::MIN) || value > i64::from(i32::MAX) {
        return Err(format!("number '{text}' outside integer range"));
    }
    if value < i64::from(min) || value > i64::from(max) {
        return Err(format!("number '{text}' outside range [{min}, {max}]"));
    }
    Ok(value as i32)
}

/// What `read_decimal_unsigned` makes of a word: a value keepalived accepts (possibly with a
/// complaint, e.g. too many decimal places, which it rounds) and the messages it prints.
#[derive(Debug, PartialEq, Eq)]
pub struct DecimalOutcome {
    pub value: Option<u64>,
    pub messages: Vec<String>,
}

/// keepalived's `read_decimal_unsigned(str, min, max, shift)` in its `-t` form, including its
/// quirks: extra decimals are rounded (with a message) and the value accepted; trailing junk
/// after digits is reported and the digits read are still used.
pub fn parse_decimal(text: &str, min: u64, max: u64, shift: u32) -> DecimalOutcome {
    let mut messages = Vec::new();
    if text.starts_with('-') {
        return DecimalOutcome {
            value: None,
            messages: vec![format!("negative number '{text}'")],
        };
    }
    let (int_part, frac_part) = match text.find('.') {
        Some(dot) => (&text[..dot], Some(&text[dot + 1..])),
        None => (text, None),
    };
    let shift_usize = shift as usize;
    let mut round_up = false;
    let mut frac: String = frac_part.unwrap_or("").to_string();
    if frac.chars().count() > shift_usize {
        messages.push(format!("number '{text}' has too many decimal places"));
        round_up = frac.chars().nth(shift_usize).is_some_and(|c| c >= '5');
        frac = frac.chars().take(shift_usize).collect();
    }
    while frac.chars().count() < shift_usize {
        frac.push('0');
    }
    let combined = format!("{int_part}{frac}");
    let trimmed = combined.trim_start_matches([' ', '\t']);
    let unsigned = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let (digits, rest) = numeric_prefix(unsigned);
    let mut value: u64 = if digits.is_empty() {
        0
    } else {
        match digits.parse::<u64>() {
            Ok(v) => v,
            Err(_) => {
                messages.push(format!("number '{text}' outside unsigned decimal range"));
                return DecimalOutcome {
                    value: None,
                    messages,
                };
            }
        }
    };
    if round_up {
        // keepalived adds 1 to an unsigned long long: it wraps rather than fails.
        value = value.wrapping_add(1);
    }
    if !rest.is_empty() {
        // keepalived reports the junk but keeps what it read if that is in range.
        messages.push(format!("invalid number '{text}'"));
        let value = (min..=max).contains(&value).then_some(value);
        return DecimalOutcome { value, messages };
    }
    if value < min || value > max {
        messages.push(format!(
            "number '{text}' outside range [{}, {}]",
            format_fixed(min, shift),
            format_fixed(max, shift)
        ));
        return DecimalOutcome {
            value: None,
            messages,
        };
    }
    DecimalOutcome {
        value: Some(value),
        messages,
    }
}

/// `value / 10^shift` printed with exactly `shift` decimals, as keepalived prints range bounds.
pub fn format_fixed(value: u64, shift: u32) -> String {
    if shift == 0 {
        return value.to_string();
    }
    let scale = 10u64.pow(shift);
    format!(
        "{}.{:0width$}",
        value / scale,
        value % scale,
        width = shift as usize
    )
}

/// Keywords known per block, for "did you mean" hints. Filled by the section parsers.
fn suggest(word: &str, context: &str) -> Option<&'static str> {
    let candidates = crate::keywords::for_context(context);
    let mut best: Option<(&'static str, usize)> = None;
    for c in candidates {
        let d = edit_distance(word, c);
        if d <= 2.max(word.len() / 4) && best.is_none_or(|(_, bd)| d < bd) {
            best = Some((c, d));
        }
    }
    best.map(|(c, _)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_messages_match_keepalived() {
        assert_eq!(parse_unsigned("42", 0, 255), Ok(42));
        assert_eq!(parse_unsigned("+5", 0, 255), Ok(5));
        assert_eq!(parse_unsigned("-1", 0, 255).unwrap_err(), "negative number '-1'");
        assert_eq!(
            parse_unsigned("12abc", 0, 255).unwrap_err(),
            "invalid number '12abc'"
        );
        assert_eq!(
            parse_unsigned("300", 1, 255).unwrap_err(),
            "number '300' outside range [1, 255]"
        );
        assert_eq!(
            parse_unsigned("99999999999", 0, u32::MAX).unwrap_err(),
            "number '99999999999' outside unsigned integer range"
        );
    }

    #[test]
    fn int_messages_match_keepalived() {
        assert_eq!(parse_int("-253", -253, 253), Ok(-253));
        assert_eq!(
            parse_int("-254", -253, 253).unwrap_err(),
            "number '-254' outside range [-253, 253]"
        );
        assert_eq!(parse_int("x", -253, 253).unwrap_err(), "invalid number 'x'");
    }

    #[test]
    fn decimal_follows_keepalived_including_quirks() {
        let us = |s: &str| parse_decimal(s, 1, u64::from(u32::MAX), 6);
        assert_eq!(us("1.5").value, Some(1_500_000));
        assert_eq!(us(".5").value, Some(500_000));
        assert_eq!(
            us("0").messages,
            vec!["number '0' outside range [0.000001, 4294.967295]".to_string()]
        );
        assert_eq!(us("0").value, None);
        // Too many decimals: reported, rounded, accepted.
        let r = us("0.0000005");
        assert_eq!((r.value, r.messages.len()), (Some(1), 1));
        // Trailing junk: reported, the digits read are kept (1.5x → "15x0000" → 15 µs).
        let r = us("1.5x");
        assert_eq!(r.value, Some(15));
        assert_eq!(r.messages, vec!["invalid number '1.5x'".to_string()]);
        assert_eq!(us("-1").messages, vec!["negative number '-1'".to_string()]);
    }

    #[test]
    fn fixed_point_bounds_print_like_keepalived() {
        assert_eq!(format_fixed(1, 6), "0.000001");
        assert_eq!(format_fixed(4_294_967_295, 6), "4294.967295");
        assert_eq!(format_fixed(7, 0), "7");
    }

    #[test]
    fn booleans_are_exact_words() {
        assert_eq!(check_true_false("on"), Some(true));
        assert_eq!(check_true_false("no"), Some(false));
        assert_eq!(check_true_false("True"), None);
    }
}

#[cfg(test)]
mod overflow_tests {
    use super::*;

    #[test]
    fn rounding_the_largest_value_does_not_panic() {
        // 18446744073709.551615 with a 7th decimal ≥ 5 rounds past u64::MAX.
        let r = parse_decimal("18446744073709.5516159", 1, u64::MAX, 6);
        assert_eq!(
            r.messages[0],
            "number '18446744073709.5516159' has too many decimal places"
        );
    }
}
