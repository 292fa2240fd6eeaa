//! nftables objects as text, and the difference between two versions of a table as the
//! fewest nft commands.
//!
//! A [`TableDef`] holds sets/maps (with their elements) and chains (with their rules) as nft
//! text. [`TableDef::full_text`] writes a whole table; [`diff`] writes element deltas, a
//! `flush chain` + `add rule`s for a chain whose rules changed, and additions/removals of
//! whole objects, ordered so that every command is valid where it stands in the
//! transaction (nothing is deleted while a rule or a verdict still refers to it).

use crate::render::{dest_comment, SlotKey, Target};
use ka_lb::{Dest, DestKey};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One element of a set or map: its key, an optional comment and, in a map, its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub key: String,
    pub comment: Option<String>,
    pub value: Option<String>,
}

impl Element {
    fn text(&self) -> String {
        let mut s = self.key.clone();
        if let Some(c) = &self.comment {
            // Comments are ours (no quotes in them), nft takes them up to 128 bytes.
            let _ = write!(s, " comment \"{c}\"");
        }
        if let Some(v) = &self.value {
            let _ = write!(s, " : {v}");
        }
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    Set,
    Map,
}

impl SetKind {
    fn word(self) -> &'static str {
        match self {
            SetKind::Set => "set",
            SetKind::Map => "map",
        }
    }
}

/// A named set or map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetDef {
    pub kind: SetKind,
    /// The declaration lines (`type ...`, `flags ...`), without elements.
    pub decl: Vec<String>,
    pub elements: BTreeMap<String, Element>,
    /// A slot table's elements, kept as values: a Maglev table has tens of thousands of them
    /// and a flap changes a few, so they are compared before any text is written.
    pub slots: BTreeMap<SlotKey, Target>,
    /// A real-server registry's elements (`addr . port comment "w=.. fwd=.."`), kept as values
    /// for the same reason.
    pub registry: BTreeMap<DestKey, Dest>,
    /// Part of the table's skeleton: never created or deleted by a diff, only its elements
    /// change (the service dispatch maps).
    pub fixed: bool,
}

impl SetDef {
    pub fn new(kind: SetKind, decl: Vec<String>) -> SetDef {
        SetDef {
            kind,
            decl,
            elements: BTreeMap::new(),
            slots: BTreeMap::new(),
            registry: BTreeMap::new(),
            fixed: false,
        }
    }

    pub fn insert(&mut self, e: Element) {
        self.elements.insert(e.key.clone(), e);
    }
}

/// A chain: its base-chain header (`type ... hook ...`), if any, and its rules.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ChainDef {
    pub header: Option<String>,
    pub rules: Vec<String>,
    /// Part of the skeleton: never created or deleted by a diff, only its rules change.
    pub fixed: bool,
}

/// One table (family + name) as nft text objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDef {
    pub family: &'static str,
    pub name: String,
    pub comment: Option<String>,
    pub sets: BTreeMap<String, SetDef>,
    pub chains: BTreeMap<String, ChainDef>,
}

impl TableDef {
    pub fn new(family: &'static str, name: &str) -> TableDef {
        TableDef {
            family,
            name: name.to_string(),
            comment: None,
            sets: BTreeMap::new(),
            chains: BTreeMap::new(),
        }
    }

    fn prefix(&self) -> String {
        format!("{} {}", self.family, self.name)
    }

    /// The table as an `nft -f` block (`table inet x { ... }`).
    pub fn block_text(&self, out: &mut String) {
        let _ = writeln!(out, "table {} {{", self.prefix());
        if let Some(c) = &self.comment {
            let _ = writeln!(out, "\tcomment \"{c}\"");
        }
        for (name, set) in &self.sets {
            let _ = writeln!(out, "\t{} {name} {{", set.kind.word());
            for d in &set.decl {
                let _ = writeln!(out, "\t\t{d}");
            }
            let n = set.elements.len() + set.slots.len() + set.registry.len();
            if n > 0 {
                let _ = writeln!(out, "\t\telements = {{");
                let texts = set
                    .elements
                    .values()
                    .map(Element::text)
                    .chain(set.slots.iter().map(|(k, t)| format!("{k} : {t}")))
                    .chain(set.registry.values().map(registry_text));
                for (i, e) in texts.enumerate() {
                    let sep = if i + 1 < n { "," } else { "" };
                    let _ = writeln!(out, "\t\t\t{e}{sep}");
                }
                let _ = writeln!(out, "\t\t}}");
            }
            let _ = writeln!(out, "\t}}");
        }
        for (name, chain) in &self.chains {
            let _ = writeln!(out, "\tchain {name} {{");
            if let Some(h) = &chain.header {
                let _ = writeln!(out, "\t\t{h}");
            }
            for r in &chain.rules {
                let _ = writeln!(out, "\t\t{r}");
            }
            let _ = writeln!(out, "\t}}");
        }
        let _ = writeln!(out, "}}");
    }

    /// Replaces the table atomically: the `add` makes the `delete` valid when the table does
    /// not exist yet, and both run in the same transaction as the new definition. Dynamic
    /// state of the old table (persistence entries) is lost; conntrack's NAT bindings stay.
    pub fn replace_text(&self, out: &mut String) {
        let _ = writeln!(out, "add table {}", self.prefix());
        let _ = writeln!(out, "delete table {}", self.prefix());
        self.block_text(out);
    }
}

fn registry_text(d: &Dest) -> String {
    format!("{} . {} comment \"{}\"", d.key.addr, d.key.port, dest_comment(d))
}

/// Elements per `add element`/`delete element` command: nft parses long lists fine, but a
/// bounded line keeps its error messages (which quote the line) readable.
const ELEMENTS_PER_COMMAND: usize = 1024;

fn element_commands(out: &mut String, verb: &str, prefix: &str, set: &str, items: &[String]) {
    for chunk in items.chunks(ELEMENTS_PER_COMMAND) {
        let _ = writeln!(out, "{verb} element {prefix} {set} {{ {} }}", chunk.join(", "));
    }
}

/// The commands that turn table `before` into `after` (same family and name), appended to
/// `out`. Both may be partial (only the services a change touched, plus the fixed objects
/// they share): objects absent from both are left alone.
pub fn diff(before: &TableDef, after: &TableDef, out: &mut String) {
    let p = after.prefix();
    let chain_changed =
        |name: &str, new: &ChainDef| before.chains.get(name).is_some_and(|old| old.rules != new.rules);
    // 1. Empty the chains that go away or change, so nothing refers to maps being deleted.
    for (name, old) in &before.chains {
        match after.chains.get(name) {
            None if !old.rules.is_empty() => {
                let _ = writeln!(out, "flush chain {p} {name}");
            }
            Some(new) if chain_changed(name, new) => {
                let _ = writeln!(out, "flush chain {p} {name}");
            }
            _ => {}
        }
    }
    // 2. Element deletions (a verdict element must go before the chain it jumps to).
    for (name, new) in &after.sets {
        let Some(old) = before.sets.get(name) else {
            continue;
        };
        if old.kind != new.kind || old.decl != new.decl {
            continue; // re-created below
        }
        let gone: Vec<String> = old
            .elements
            .iter()
            .filter(|(k, e)| new.elements.get(*k) != Some(e))
            .map(|(k, _)| k.clone())
            .chain(
                old.slots
                    .iter()
                    .filter(|(k, t)| new.slots.get(*k) != Some(t))
                    .map(|(k, _)| k.to_string()),
            )
            .chain(
                old.registry
                    .iter()
                    .filter(|(k, d)| new.registry.get(*k) != Some(d))
                    .map(|(k, _)| format!("{} . {}", k.addr, k.port)),
            )
            .collect();
        element_commands(out, "delete", &p, name, &gone);
    }
    // 3. Objects that go away (or are re-declared).
    for (name, old) in &before.chains {
        if !after.chains.contains_key(name) && !old.fixed {
            let _ = writeln!(out, "delete chain {p} {name}");
        }
    }
    for (name, old) in &before.sets {
        let redeclared = after
            .sets
            .get(name)
            .is_some_and(|new| new.kind != old.kind || new.decl != old.decl);
        if (redeclared || !after.sets.contains_key(name)) && !old.fixed {
            let _ = writeln!(out, "delete {} {p} {name}", old.kind.word());
        }
    }
    // 4. New objects.
    for (name, new) in &after.sets {
        let redeclared = before
            .sets
            .get(name)
            .is_some_and(|old| new.kind != old.kind || new.decl != old.decl);
        if (redeclared || !before.sets.contains_key(name)) && !new.fixed {
            let _ = writeln!(
                out,
                "add {} {p} {name} {{ {}; }}",
                new.kind.word(),
                new.decl.join("; ")
            );
        }
    }
    for (name, new) in &after.chains {
        if !before.chains.contains_key(name) && !new.fixed {
            match &new.header {
                Some(h) => {
                    let _ = writeln!(out, "add chain {p} {name} {{ {h} }}");
                }
                None => {
                    let _ = writeln!(out, "add chain {p} {name}");
                }
            }
        }
    }
    // 5. Element additions.
    for (name, new) in &after.sets {
        let old = before
            .sets
            .get(name)
            .filter(|old| old.kind == new.kind && old.decl == new.decl);
        let added: Vec<String> = new
            .elements
            .iter()
            .filter(|(k, e)| old.is_none_or(|o| o.elements.get(*k) != Some(e)))
            .map(|(_, e)| e.text())
            .chain(
                new.slots
                    .iter()
                    .filter(|(k, t)| old.is_none_or(|o| o.slots.get(*k) != Some(t)))
                    .map(|(k, t)| format!("{k} : {t}")),
            )
            .chain(
                new.registry
                    .iter()
                    .filter(|(k, d)| old.is_none_or(|o| o.registry.get(*k) != Some(d)))
                    .map(|(_, d)| registry_text(d)),
            )
            .collect();
        element_commands(out, "add", &p, name, &added);
    }
    // 6. Rules of new and changed chains.
    for (name, new) in &after.chains {
        if !before.chains.contains_key(name) || chain_changed(name, new) {
            for r in &new.rules {
                let _ = writeln!(out, "add rule {p} {name} {r}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(k: &str, v: &str) -> Element {
        Element {
            key: k.into(),
            comment: None,
            value: Some(v.into()),
        }
    }

    #[test]
    fn diff_orders_flushes_deletions_additions_and_rules() {
        let mut a = TableDef::new("inet", "t");
        let mut m = SetDef::new(SetKind::Map, vec!["typeof numgen inc mod 1 : ip daddr".into()]);
        m.insert(el("0", "198.51.100.1"));
        m.insert(el("1", "198.51.100.2"));
        a.sets.insert("sched_x".into(), m);
        a.chains.insert(
            "svc_x".into(),
            ChainDef {
                rules: vec!["dnat ip to numgen inc mod 2 map @sched_x".into()],
                ..ChainDef::default()
            },
        );
        let mut b = a.clone();
        b.sets.get_mut("sched_x").unwrap().elements.remove("1");
        b.chains.get_mut("svc_x").unwrap().rules = vec!["dnat ip to numgen inc mod 1 map @sched_x".into()];
        let mut out = String::new();
        diff(&a, &b, &mut out);
        assert_eq!(
            out,
            "flush chain inet t svc_x\n\
             delete element inet t sched_x { 1 }\n\
             add rule inet t svc_x dnat ip to numgen inc mod 1 map @sched_x\n"
        );
        let mut out = String::new();
        diff(&a, &a, &mut out);
        assert_eq!(out, "");
    }
}
