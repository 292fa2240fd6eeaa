//! The keywords each block knows, for "did you mean" hints on unknown keywords.

/// Keywords valid in the block called `context` (the name used in unknown-keyword hints).
pub fn for_context(context: &str) -> &'static [&'static str] {
    match context {
        "the top level" => crate::config::TOP_LEVEL_KEYWORDS,
        "global_defs" => crate::global_defs::KEYWORDS,
        other => crate::vrrp::keywords_for(other)
            .or_else(|| crate::lvs::keywords_for(other))
            .unwrap_or(&[]),
    }
}
