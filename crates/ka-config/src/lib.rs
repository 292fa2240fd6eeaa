//! The keepalived.conf language, as keepalived 2.2.x reads it.
//!
//! Reading goes in layers, each in its own module:
//! - [`preprocess`]: comments, `include`, `@id` conditionals, `$NAME` definitions, `~SEQ`/`~LST`;
//! - [`syntax`]: words and `{ }` blocks;
//! - the section parsers (`global_defs`, VRRP, LVS/checkers) build the typed [`model`];
//! - validation applies keepalived's rules and adjustments and adds migration lints.
//!
//! Every problem becomes a [`diag::Diagnostic`] naming file, line and column.

pub mod diag;
pub mod host;
pub mod preprocess;
pub mod syntax;
