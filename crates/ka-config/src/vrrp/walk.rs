//! Reading the statements of a block the way keepalived's parser does, where our syntax tree
//! and keepalived's line-by-line reading disagree:
//!
//! - an unknown keyword followed by a block: keepalived reports the keyword, ignores the `{`
//!   ("Unexpected '{' - ignoring") and reads the block's lines at the current level, so the
//!   block's `}` closes the *enclosing* block;
//! - a block skipped inside another block (a second `group { }` in a sync group): after the
//!   skipped block keepalived leaves the enclosing block.
//!
//! Either way, what follows is read one level up. For the VRRP blocks that level is the top
//! level, where these keywords are unknown and each stray `}` is "Unknown keyword '}'".

use crate::cx::Cx;
use crate::diag::{Class, Span};
use crate::syntax::{Block, Statement};
use std::collections::VecDeque;

/// One step of keepalived's reading: a line with a keyword, or a `}`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ev<'s> {
    Stmt(&'s Statement),
    /// A closing brace (None: the input ended before it).
    Close(Option<&'s Span>),
}

/// The events of a block's contents followed by its own `}`.
pub(crate) fn events(block: &Block) -> VecDeque<Ev<'_>> {
    let mut q: VecDeque<Ev<'_>> = block.statements.iter().map(Ev::Stmt).collect();
    q.push_back(Ev::Close(block.close.as_ref()));
    q
}

/// What a keyword handler tells the walker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The keyword is known and was handled.
    Known,
    /// Not a keyword of this block.
    Unknown,
    /// keepalived skipped the statement's block and leaves the enclosing block now.
    LeaveBlock,
}

/// How a block level ended: the events keepalived reads at the enclosing level, and the
/// `}` where it ended (where keepalived runs the block's end handler).
pub(crate) struct Walked<'s> {
    pub rest: VecDeque<Ev<'s>>,
    pub end: Option<&'s Span>,
}

/// Reads the events of one block level. `handle` sees each keyword line with the queue, so
/// that a nested block can give back what keepalived reads at this level after it.
pub(crate) fn walk<'s>(
    cx: &mut Cx<'_>,
    mut queue: VecDeque<Ev<'s>>,
    context: &str,
    handle: &mut dyn FnMut(&mut Cx<'_>, &'s Statement, &mut VecDeque<Ev<'s>>) -> Step,
) -> Walked<'s> {
    while let Some(ev) = queue.pop_front() {
        let st = match ev {
            // This `}` ends the block; anything after it belongs to the enclosing level.
            Ev::Close(end) => return Walked { rest: queue, end },
            Ev::Stmt(st) => st,
        };
        if super::aborted(cx) {
            return Walked {
                rest: VecDeque::new(),
                end: None,
            };
        }
        match handle(cx, st, &mut queue) {
            Step::Known => {}
            Step::LeaveBlock => {
                let end = st.block.as_ref().and_then(|b| b.close.as_ref());
                return Walked { rest: queue, end };
            }
            Step::Unknown => unknown_with_block(cx, st, context, &mut queue),
        }
    }
    Walked {
        rest: queue,
        end: None,
    }
}

/// Gives back to the enclosing level what a nested block did not read.
pub(crate) fn give_back<'s>(queue: &mut VecDeque<Ev<'s>>, rest: VecDeque<Ev<'s>>) {
    for ev in rest.into_iter().rev() {
        queue.push_front(ev);
    }
}

/// [`walk`] as an iterator, for parsers written as loops.
pub(crate) struct Reader<'s> {
    queue: VecDeque<Ev<'s>>,
    /// Where the block ended, once it has.
    pub end: Option<&'s Span>,
    ended: bool,
    /// The statement returned last, unless it was reported unknown: if it has a block, that
    /// block is stray (these blocks' keywords take none) and is read at this level next.
    pending: Option<&'s Statement>,
}

impl<'s> Reader<'s> {
    pub fn new(block: &'s Block) -> Reader<'s> {
        Reader {
            queue: events(block),
            end: block.close.as_ref().or(Some(&block.open)),
            ended: false,
            pending: None,
        }
    }

    /// The next keyword line of this block, None once keepalived leaves the block.
    pub fn next_statement(&mut self, cx: &mut Cx<'_>) -> Option<&'s Statement> {
        if let Some(prev) = self.pending.take() {
            stray_block(cx, prev, &mut self.queue);
        }
        if self.ended {
            return None;
        }
        match self.queue.pop_front() {
            Some(Ev::Stmt(st)) => {
                self.pending = Some(st);
                Some(st)
            }
            Some(Ev::Close(end)) => {
                self.ended = true;
                self.end = end.or(self.end);
                None
            }
            None => {
                self.ended = true;
                None
            }
        }
    }

    /// Reports `st` as unknown here, reading a block after it at this level.
    pub fn unknown(&mut self, cx: &mut Cx<'_>, st: &'s Statement, context: &str) {
        self.pending = None;
        unknown_with_block(cx, st, context, &mut self.queue);
    }

    /// The `}` keepalived's end handler runs at.
    pub fn end_span(&self) -> Option<&'s Span> {
        self.end
    }

    /// Reads what is left at the top level (see [`finish_at_top_level`]).
    pub fn finish(self, cx: &mut Cx<'_>) {
        finish_at_top_level(cx, self.queue);
    }
}

/// A block after a keyword that takes none: keepalived ignores the `{` and reads the
/// block's lines at this level, so its `}` ends the enclosing block.
pub(crate) fn stray_block<'s>(cx: &mut Cx<'_>, st: &'s Statement, queue: &mut VecDeque<Ev<'s>>) {
    if let Some(block) = &st.block {
        cx.report(
            Class::UnexpectedBlockStart,
            "unexpected-open-brace",
            &block.open,
            "Unexpected '{' - ignoring",
        )
        .with_token_mut("{")
        .help = Some(format!(
            "'{}' does not take a block: keepalived ignores this '{{' and its '}}' ends the enclosing block",
            st.keyword()
        ));
        for ev in events(block).into_iter().rev() {
            queue.push_front(ev);
        }
    }
}

/// "Unknown keyword", and for a following block "Unexpected '{'" with its contents read at
/// this level.
fn unknown_with_block<'s>(cx: &mut Cx<'_>, st: &'s Statement, context: &str, queue: &mut VecDeque<Ev<'s>>) {
    cx.unknown_keyword(st, context);
    if let Some(block) = &st.block {
        cx.report(
            Class::UnexpectedBlockStart,
            "unexpected-open-brace",
            &block.open,
            "Unexpected '{' - ignoring",
        )
        .with_token_mut("{")
        .help = Some(format!(
            "'{}' is unknown, so keepalived ignores this '{{' and its '}}' ends the enclosing block",
            st.keyword()
        ));
        for ev in events(block).into_iter().rev() {
            queue.push_front(ev);
        }
    }
}

/// Reads what a VRRP block left over at the top level: every keyword is unknown there (the
/// VRRP blocks' keywords are not top-level ones) and every `}` too.
pub(crate) fn finish_at_top_level<'s>(cx: &mut Cx<'_>, mut queue: VecDeque<Ev<'s>>) {
    while let Some(ev) = queue.pop_front() {
        if super::aborted(cx) {
            return;
        }
        match ev {
            Ev::Close(None) => {}
            Ev::Close(Some(span)) => {
                cx.report(
                    Class::UnknownKeyword,
                    "unknown-keyword",
                    span,
                    "Unknown keyword '}'",
                )
                .with_token_mut("}")
                .help = Some("keepalived already left the block this '}' was meant to close".into());
            }
            Ev::Stmt(st) => unknown_with_block(cx, st, "the top level", &mut queue),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::vrrp::tests::{errors, load};

    #[test]
    fn misspelled_block_ends_the_instance_like_keepalived() {
        // keepalived 2.2.7: the '}' of the unknown block closes vrrp_instance, so the
        // virtual_ipaddress block is read at the top level and lost.
        let conf = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n authentification {\n  auth_type PASS\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n";
        let l = load(conf, None);
        assert_eq!(
            errors(&l),
            [
                "4:2 UnknownKeyword Unknown keyword 'authentification'",
                "4:19 UnexpectedBlockStart Unexpected '{' - ignoring",
                "5:3 UnknownKeyword Unknown keyword 'auth_type'",
                "7:2 UnknownKeyword Unknown keyword 'virtual_ipaddress'",
                "7:20 UnexpectedBlockStart Unexpected '{' - ignoring",
                "8:3 UnknownKeyword Unknown keyword '10.0.0.1'",
                "9:2 UnknownKeyword Unknown keyword '}'",
                "10:1 UnknownKeyword Unknown keyword '}'",
                "1:1 General (VI_1) No VIP specified; at least one is sensible",
                "1:1 Warning (VI_1) No VIP specified; at least one is sensible",
            ]
        );
        assert!(l.config.vrrp.vrrp_instance[0].virtual_ipaddress.is_empty());
    }
}
