//! Words and blocks: the tree every section parser walks.
//!
//! A line's first word is its keyword; a `{` line right after a statement opens that
//! statement's block, and `}` closes it. Which keywords may have blocks is the business of the
//! section parsers, which report a block where none belongs or a missing one.

use crate::diag::{Class, Diagnostic, Diagnostics, Span};
use crate::preprocess::{Line, Preprocessor};
use serde::Serialize;

/// One word of a line, as keepalived's `alloc_strvec` splits it: blank-separated, and a
/// double-quoted string (quotes removed, no escapes) is one word.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Word {
    pub text: String,
    pub span: Span,
    pub quoted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub words: Vec<Word>,
    /// The rest of the line from a `"` that is never closed: keepalived's word splitter drops
    /// it (after reporting it), but script keywords re-split the raw line and must see it to
    /// report the missing quote as keepalived does rather than a missing parameter.
    pub unterminated: Option<Box<Word>>,
    pub block: Option<Block>,
}

impl Statement {
    pub fn keyword(&self) -> &str {
        self.words.first().map(|w| w.text.as_str()).unwrap_or("")
    }

    pub fn span(&self) -> &Span {
        &self.words[0].span
    }

    /// Arguments after the keyword.
    pub fn args(&self) -> &[Word] {
        &self.words[1..]
    }

    pub fn arg(&self, i: usize) -> Option<&Word> {
        self.words.get(i + 1)
    }

    /// The words of the whole line, including an unterminated quoted tail: what keepalived's
    /// `alloc_strvec_quoted_escaped` re-reads for script commands.
    pub fn line_words(&self) -> Vec<Word> {
        let mut words = self.words.clone();
        words.extend(self.unterminated.iter().map(|w| (**w).clone()));
        words
    }

    /// Span of the last word: where a missing argument should have been.
    pub fn end_span(&self) -> Span {
        let last = self.words.last().unwrap_or(&self.words[0]);
        let len = last.text.chars().count() as u32 + if last.quoted { 2 } else { 0 };
        Span {
            column: last.span.column + len,
            ..last.span.clone()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub open: Span,
    /// Where the closing `}` is; None when input ended first.
    pub close: Option<Span>,
    pub statements: Vec<Statement>,
}

impl Block {
    /// Where "end of block" diagnostics go: the `}`, else the `{`.
    pub fn end_span(&self) -> &Span {
        self.close.as_ref().unwrap_or(&self.open)
    }
}

/// Splits one preprocessed line into words, plus the unterminated quoted tail if a `"` is
/// never closed (see [`Statement::unterminated`]).
pub fn split_words(line: &Line, diags: &mut Diagnostics) -> (Vec<Word>, Option<Box<Word>>) {
    let chars: Vec<char> = line.text.chars().collect();
    let mut words = Vec::new();
    let mut unterminated = None;
    let mut i = 0;
    let is_blank = |c: char| matches!(c, ' ' | '\t' | '\x0c' | '\n' | '\r' | '\x0b');
    while i < chars.len() {
        while i < chars.len() && is_blank(chars[i]) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        if chars[i] == '"' {
            match chars[i + 1..].iter().position(|c| *c == '"') {
                Some(len) => {
                    let text: String = chars[i + 1..i + 1 + len].iter().collect();
                    words.push(Word {
                        text,
                        span: line.origin.span_at(start),
                        quoted: true,
                    });
                    i += len + 2;
                }
                None => {
                    unterminated = Some(Box::new(Word {
                        text: chars[i..].iter().collect(),
                        span: line.origin.span_at(start),
                        quoted: false,
                    }));
                    diags.push(
                        Diagnostic::new(
                            Class::UnmatchedQuote,
                            "unmatched-quote",
                            Some(line.origin.span_at(start)),
                            format!("Unmatched quote: '{}'", line.text),
                        )
                        .with_help("close the string with '\"'"),
                    );
                    break;
                }
            }
        } else {
            while i < chars.len() && !is_blank(chars[i]) && chars[i] != '"' {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            words.push(Word {
                text,
                span: line.origin.span_at(start),
                quoted: false,
            });
        }
    }
    (words, unterminated)
}

/// Reads all lines from the preprocessor into a tree of statements.
pub fn build_tree(pp: &mut Preprocessor<'_>, diags: &mut Diagnostics) -> Vec<Statement> {
    // Each open block: its statements, where it opened, and whether it is transparent (a stray
    // '{' whose contents belong to the enclosing block).
    struct Open {
        statements: Vec<Statement>,
        open: Span,
        transparent: bool,
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut top: Vec<Statement> = Vec::new();
    // True when the last line read was a statement that may still receive a block.
    let mut last_can_take_block = false;

    while let Some(line) = pp.next_line(diags) {
        if line.text == "{" {
            let current = stack.last_mut().map(|o| &mut o.statements).unwrap_or(&mut top);
            let transparent = !(last_can_take_block && current.last().is_some_and(|s| s.block.is_none()));
            if transparent {
                diags.push(
                    Diagnostic::new(
                        Class::UnexpectedBlockStart,
                        "unexpected-open-brace",
                        Some(line.origin.span()),
                        "Unexpected '{' - ignoring",
                    )
                    .with_token("{")
                    .with_help("a '{' must follow the keyword that opens the block"),
                );
            }
            stack.push(Open {
                statements: Vec::new(),
                open: line.origin.span(),
                transparent,
            });
            last_can_take_block = false;
            continue;
        }
        if line.text == "}" {
            last_can_take_block = false;
            let Some(done) = stack.pop() else {
                // Already reported by the preprocessor ("Extra '}' found").
                continue;
            };
            let parent = stack.last_mut().map(|o| &mut o.statements).unwrap_or(&mut top);
            if done.transparent {
                parent.extend(done.statements);
            } else if let Some(owner) = parent.last_mut() {
                owner.block = Some(Block {
                    open: done.open,
                    close: Some(line.origin.span()),
                    statements: done.statements,
                });
            }
            continue;
        }
        let (words, unterminated) = split_words(&line, diags);
        if words.is_empty() {
            last_can_take_block = false;
            continue;
        }
        let current = stack.last_mut().map(|o| &mut o.statements).unwrap_or(&mut top);
        current.push(Statement {
            words,
            unterminated,
            block: None,
        });
        last_can_take_block = true;
    }
    // Blocks left open at the end of input keep what they had (the preprocessor reported them).
    while let Some(done) = stack.pop() {
        let parent = stack.last_mut().map(|o| &mut o.statements).unwrap_or(&mut top);
        if done.transparent {
            parent.extend(done.statements);
        } else if let Some(owner) = parent.last_mut() {
            owner.block = Some(Block {
                open: done.open,
                close: None,
                statements: done.statements,
            });
        }
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::MemoryHost;
    use crate::preprocess::PreprocessOptions;
    use std::path::Path;

    fn tree(text: &str) -> (Vec<Statement>, Vec<String>) {
        let host = MemoryHost::new().with_file("/k.conf", text);
        let mut pp = Preprocessor::new(&host, &PreprocessOptions::default());
        let mut diags = Diagnostics::default();
        pp.open_main(Path::new("/k.conf"), &mut diags);
        let t = build_tree(&mut pp, &mut diags);
        (t, diags.into_vec().iter().map(|d| d.to_string()).collect())
    }

    fn shape(stmts: &[Statement]) -> String {
        stmts
            .iter()
            .map(|s| {
                let words: Vec<&str> = s.words.iter().map(|w| w.text.as_str()).collect();
                match &s.block {
                    Some(b) => format!("{}{{{}}}", words.join(" "), shape(&b.statements)),
                    None => words.join(" "),
                }
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    #[test]
    fn blocks_open_on_same_or_next_line() {
        let (t, d) = tree("vrrp_instance VI_1 {\n state MASTER\n auth\n {\n  auth_type PASS }\n}\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(shape(&t), "vrrp_instance VI_1{state MASTER;auth{auth_type PASS}}");
        assert_eq!(t[0].block.as_ref().unwrap().close.as_ref().unwrap().line, 6);
    }

    #[test]
    fn quoted_words_keep_spaces() {
        let (t, _) = tree("script \"/bin/check --x 1\" weight 2\n");
        assert_eq!(t[0].words[1].text, "/bin/check --x 1");
        assert!(t[0].words[1].quoted);
        assert_eq!(t[0].words[2].span.column, 27);
    }

    #[test]
    fn stray_open_brace_is_reported_and_its_contents_kept() {
        let (t, d) = tree("a {\n b\n {\n c\n }\n}\n");
        assert_eq!(shape(&t), "a{b{c}}");
        assert!(d.is_empty());
        let (t, d) = tree("a {\n {\n c\n }\n}\n");
        assert_eq!(shape(&t), "a{c}");
        assert!(
            d[0].starts_with("/k.conf:2:2: error[unexpected-open-brace]"),
            "{d:?}"
        );
    }
}
