//! The line-level layer of keepalived's configuration reader (its `read_line`): comments,
//! `include`, `@id` conditionals, `$NAME` definitions, `~SEQ`/`~LST` line generators, and the
//! splitting of `{` and `}` onto lines of their own.
//!
//! The output is a stream of [`Line`]s that the tokenizer turns into words. Each line
//! remembers where it came from so that diagnostics can name file, line and column.

use crate::diag::{Class, Diagnostics, Span};
use crate::host::{expand_braces, FileKind, Host};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bounds that keep hostile or mistaken input (self-referencing definitions, huge sequences)
/// from running forever or exhausting memory.
pub const MAX_LINES: usize = 5_000_000;
const MAX_EXPANSIONS_PER_LINE: usize = 256;
/// keepalived reads lines into a 1024-byte buffer (its MAXBUF); substitution stops short of it.
const MAX_LINE_LEN: usize = 1024;
const MAX_INCLUDE_DEPTH: usize = 64;
const MAX_SEQ_DEPTH: usize = 32;

/// keepalived's include types: which include problems are errors.
const INCLUDE_R: u8 = 1;
const INCLUDE_M: u8 = 2;
const INCLUDE_W: u8 = 4;
const INCLUDE_B: u8 = 8;

/// Diagnostic code of an include that failed under `includer`/`m`/`w`/`b`/`a`: keepalived
/// refuses the configuration with exit code 6 (see [`crate::diag::exit_code_for_test`]).
pub const INCLUDE_FAILED: &str = "include-failed";

/// Where a line of text came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: u32,
    /// 1-based column (in characters) of the first character of the text in its source line.
    pub column: u32,
    /// True when each character of the text sits at `column + offset` in the source line, that
    /// is, no definition was substituted into it.
    pub exact: bool,
}

impl Origin {
    pub fn span(&self) -> Span {
        Span {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
        }
    }

    /// The span of the character at `char_offset` in the line's text.
    pub fn span_at(&self, char_offset: usize) -> Span {
        let column = if self.exact {
            self.column + char_offset as u32
        } else {
            self.column
        };
        Span {
            file: self.file.clone(),
            line: self.line,
            column,
        }
    }
}

/// One line after preprocessing: never empty, and a `{` or `}` is always alone on its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub origin: Origin,
}

/// Options that change which lines are kept.
#[derive(Clone, Debug, Default)]
pub struct PreprocessOptions {
    /// `-i/--config-id`: `@ID` lines are kept only when ID matches (default: short host name).
    pub config_id: Option<String>,
}

struct OpenFile {
    path: Arc<str>,
    dir: PathBuf,
    lines: Vec<String>,
    next: usize,
}

/// The files an `include` matched, read one after the other.
struct IncludeFrame {
    pending: VecDeque<PathBuf>,
    current: Option<OpenFile>,
}

struct Definition {
    name: String,
    /// For multi-line definitions, the lines are separated by '\n'.
    value: String,
    multiline: bool,
    builtin: Option<Builtin>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Builtin {
    Pwd,
    Instance,
    Random,
}

/// A `~SEQ` or `~LST` generator: repeats `text` once per value.
struct Generator {
    text: String,
    origin: Origin,
    kind: GeneratorKind,
}

enum GeneratorKind {
    Seq {
        var: String,
        next: i64,
        step: i64,
        last: i64,
        hex: bool,
    },
    Lst {
        vars: Vec<String>,
        sets: VecDeque<Vec<String>>,
    },
}

/// The continuation of a multi-line definition being expanded.
struct MultilineExpansion {
    rest: VecDeque<String>,
    origin: Origin,
    /// Generators opened before this expansion wait until it is finished.
    generator_depth: usize,
}

pub struct Preprocessor<'h> {
    host: &'h dyn Host,
    config_id: String,
    frames: Vec<IncludeFrame>,
    definitions: Vec<Definition>,
    generators: Vec<Generator>,
    multiline: Vec<MultilineExpansion>,
    residue: Option<(String, Origin)>,
    /// Open `{` not yet closed, for "Extra '}' found".
    block_depth: usize,
    /// Where the innermost open `{` was, for the missing-'}' report.
    open_braces: Vec<Span>,
    last_origin: Origin,
    lines_emitted: usize,
    rng_state: u64,
    /// Every file read, in order (for `--dump-conf` and reload checks).
    pub files_read: Vec<Arc<str>>,
}

impl<'h> Preprocessor<'h> {
    pub fn new(host: &'h dyn Host, options: &PreprocessOptions) -> Self {
        let config_id = options.config_id.clone().unwrap_or_else(|| host.short_hostname());
        let mut p = Preprocessor {
            host,
            config_id,
            frames: Vec::new(),
            definitions: Vec::new(),
            generators: Vec::new(),
            multiline: Vec::new(),
            residue: None,
            block_depth: 0,
            open_braces: Vec::new(),
            last_origin: Origin {
                file: Arc::from(""),
                line: 0,
                column: 1,
                exact: true,
            },
            lines_emitted: 0,
            rng_state: host.random_seed() | 1,
            files_read: Vec::new(),
        };
        for (name, value, builtin) in [
            ("_PWD", "", Some(Builtin::Pwd)),
            ("_INSTANCE", "", Some(Builtin::Instance)),
            ("_RANDOM", "", Some(Builtin::Random)),
            ("_HASH", "#", None),
            ("_BANG", "!", None),
        ] {
            p.definitions.push(Definition {
                name: name.into(),
                value: value.into(),
                multiline: false,
                builtin,
            });
        }
        p
    }

    /// Opens the main configuration file. Returns false (with a diagnostic) if it cannot be read.
    pub fn open_main(&mut self, path: &Path, diags: &mut Diagnostics) -> bool {
        let shown: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        self.last_origin = Origin {
            file: shown.clone(),
            line: 0,
            column: 1,
            exact: true,
        };
        let matches = self.glob_all(&path.to_string_lossy());
        let files: Vec<PathBuf> = matches
            .into_iter()
            .filter(|p| self.usable_file(p, diags, true))
            .collect();
        if files.is_empty() {
            diags.push(
                crate::diag::Diagnostic::new(
                    Class::FileNotFound,
                    "config-file-missing",
                    None,
                    format!("Unable to find configuration file {}", path.display()),
                )
                .with_help("check the path given with -f/--use-file"),
            );
            return false;
        }
        if files.len() > 1 {
            diags.report(
                Class::MultipleFiles,
                "multiple-config-files",
                None,
                format!(
                    "WARNING, multiple configuration file matches of {}, starting with {}",
                    path.display(),
                    files[0].display()
                ),
            );
        }
        self.frames.push(IncludeFrame {
            pending: files.into_iter().collect(),
            current: None,
        });
        true
    }

    /// Reports what is still open at the end of input.
    pub fn finish(&mut self, diags: &mut Diagnostics) {
        if self.block_depth > 0 {
            let span = self.open_braces.last().cloned();
            diags.push(
                crate::diag::Diagnostic::new(
                    Class::MissingBlockEnd,
                    "missing-close-brace",
                    span,
                    format!("There are {} missing '}}'s or extra '{{'s", self.block_depth),
                )
                .with_help("close every block with '}'; the span shows the innermost unclosed '{'"),
            );
        }
    }

    fn glob_all(&self, pattern: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for p in expand_braces(pattern) {
            if let Ok(found) = self.host.glob(&p) {
                out.extend(found);
            }
        }
        out
    }

    /// keepalived only reads regular, non-executable files.
    fn usable_file(&self, path: &Path, diags: &mut Diagnostics, main: bool) -> bool {
        match self.host.file_kind(path) {
            Some(FileKind::Regular { executable: false }) => true,
            Some(FileKind::Directory) => {
                let msg = format!(
                    "Configuration file '{}' is a directory - skipping",
                    path.display()
                );
                diags.report(
                    if main { Class::FileNotFound } else { Class::Info },
                    "include-directory",
                    Some(&self.last_origin.span()),
                    msg,
                );
                false
            }
            _ => {
                let msg = format!(
                    "Configuration file '{}' is not a regular non-executable file - skipping",
                    path.display()
                );
                diags.report(
                    if main { Class::FileNotFound } else { Class::Info },
                    "include-not-regular",
                    Some(&self.last_origin.span()),
                    msg,
                );
                false
            }
        }
    }

    /// The next physical line from the include stack, with its origin, or None at the end.
    fn next_physical(&mut self, diags: &mut Diagnostics) -> Option<(String, Origin)> {
        loop {
            let frame = self.frames.last_mut()?;
            if let Some(file) = &mut frame.current {
                if file.next < file.lines.len() {
                    let text = std::mem::take(&mut file.lines[file.next]);
                    file.next += 1;
                    let origin = Origin {
                        file: file.path.clone(),
                        line: file.next as u32,
                        column: 1,
                        exact: true,
                    };
                    self.last_origin = origin.clone();
                    return Some((text, origin));
                }
                frame.current = None;
            }
            match frame.pending.pop_front() {
                Some(path) => match self.host.read_file(&path) {
                    Ok(text) => {
                        let shown: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
                        self.files_read.push(shown.clone());
                        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                        let lines = text.lines().map(str::to_string).collect();
                        if let Some(frame) = self.frames.last_mut() {
                            frame.current = Some(OpenFile {
                                path: shown,
                                dir,
                                lines,
                                next: 0,
                            });
                        }
                    }
                    Err(e) => diags.report(
                        Class::Info,
                        "include-unreadable",
                        Some(&self.last_origin.span()),
                        format!(
                            "Configuration file '{}' open problem ({e}) - skipping",
                            path.display()
                        ),
                    ),
                },
                None => {
                    self.frames.pop();
                }
            }
        }
    }

    fn current_dir(&self) -> PathBuf {
        self.frames
            .iter()
            .rev()
            .find_map(|f| f.current.as_ref().map(|c| c.dir.clone()))
            .unwrap_or_default()
    }

    /// The next preprocessed line, or None at the end of all input.
    pub fn next_line(&mut self, diags: &mut Diagnostics) -> Option<Line> {
        loop {
            if self.lines_emitted >= MAX_LINES {
                diags.report(
                    Class::Fatal,
                    "too-many-lines",
                    Some(&self.last_origin.span()),
                    format!("configuration expands to more than {MAX_LINES} lines; stopping"),
                );
                self.frames.clear();
                self.generators.clear();
                self.multiline.clear();
                self.residue = None;
                return None;
            }
            let (text, origin, fresh) = if let Some((text, origin)) = self.residue.take() {
                (text, origin, false)
            } else if let Some(generated) = self.next_generated() {
                (generated.0, generated.1, false)
            } else if let Some(expanded) = self.next_multiline() {
                (expanded.0, expanded.1, false)
            } else {
                let (raw, origin) = self.next_physical(diags)?;
                (raw, origin, true)
            };

            let (mut text, mut origin) = if fresh {
                let raw = text.trim_end_matches(['\r', '\n']);
                match self.decomment(raw, &origin, diags) {
                    Some(d) => d,
                    None => continue,
                }
            } else {
                (text, origin)
            };

            if fresh && self.collecting_definition() {
                self.continue_definition(&text);
                continue;
            }
            if text.is_empty() {
                continue;
            }

            match self.transform(&mut text, &mut origin, diags) {
                Transformed::Consumed => continue,
                Transformed::Keep => {}
            }
            if text.is_empty() {
                continue;
            }
            if self.try_include(&text, &origin, diags) {
                continue;
            }
            self.lines_emitted += 1;
            return Some(self.split_braces(text, origin, diags));
        }
    }

    /// keepalived's `decomment`: strips leading blanks, a comment starting at `!` or `#`
    /// outside double quotes, trailing blanks; `\#` and `\!` stand for the characters
    /// themselves; a trailing `\` continues a multi-line definition and is kept.
    fn decomment(&self, raw: &str, origin: &Origin, diags: &mut Diagnostics) -> Option<(String, Origin)> {
        let leading = raw.chars().take_while(|c| *c == ' ' || *c == '\t').count();
        let body: Vec<char> = raw.chars().skip(leading).collect();
        let mut out = String::with_capacity(body.len());
        let mut exact = origin.exact;
        let mut in_quote = false;
        let mut comment_at: Option<usize> = None;
        let mut continuation = false;
        let mut i = 0;
        while i < body.len() {
            let c = body[i];
            match c {
                '"' if comment_at.is_none() => in_quote = !in_quote,
                '"' => {}
                '\\' => {
                    if i + 1 < body.len() {
                        let next = body[i + 1];
                        if !in_quote && (next == '#' || next == '!') {
                            if comment_at.is_none() {
                                out.push(next);
                                exact = false;
                            }
                        } else if comment_at.is_none() {
                            out.push(c);
                            out.push(next);
                        }
                        i += 2;
                        continue;
                    }
                    continuation = true;
                    break;
                }
                '!' | '#' if !in_quote && comment_at.is_none() => comment_at = Some(i),
                _ => {}
            }
            if comment_at.is_none() {
                out.push(c);
            }
            i += 1;
        }
        if in_quote {
            diags.report(
                Class::General,
                "unterminated-quote",
                Some(&origin.span_at(leading)),
                format!("Unterminated quote '{}'", raw.trim()),
            );
            if let Some(d) = diags.last_mut() {
                d.help = Some("close the string with '\"'".into());
            }
        }
        let trimmed_len = out.trim_end_matches([' ', '\t']).len();
        out.truncate(trimmed_len);
        if continuation {
            out.push('\\');
        }
        if out.is_empty() && !continuation {
            // Blank lines still end a multi-line definition.
            if self.collecting_definition() {
                return Some((String::new(), origin.clone()));
            }
            return None;
        }
        let origin = Origin {
            column: origin.column + leading as u32,
            exact,
            ..origin.clone()
        };
        Some((out, origin))
    }

    fn collecting_definition(&self) -> bool {
        self.definitions
            .last()
            .map(|d| d.multiline && d.value.ends_with('\\'))
            .unwrap_or(false)
    }

    /// Adds one more line to the multi-line definition being read. Lines of a multi-line
    /// definition end in `\`; the first line without one (or a blank line) ends it.
    fn continue_definition(&mut self, text: &str) {
        let Some(def) = self.definitions.last_mut() else {
            return;
        };
        // Drop the marker `\` left by the previous line.
        def.value.pop();
        let (line, more) = match text.strip_suffix('\\') {
            Some(rest) => (rest.trim_end_matches([' ', '\t']), true),
            None => (text, false),
        };
        if !line.is_empty() {
            if !def.value.is_empty() {
                def.value.push('\n');
            }
            def.value.push_str(line);
        }
        if more {
            def.value.push('\\');
        } else if def.value.is_empty() || !def.value.contains('\n') {
            // A "multi-line" definition that ended up with a single line behaves as a plain one.
            def.multiline = def.value.contains('\n');
        }
    }

    fn next_generated(&mut self) -> Option<(String, Origin)> {
        let waiting_depth = self.multiline.last().map(|m| m.generator_depth).unwrap_or(0);
        if self.generators.len() <= waiting_depth {
            return None;
        }
        let generator = self.generators.last_mut()?;
        let text = generator.text.clone();
        let origin = generator.origin.clone();
        let mut assignments: Vec<(String, String)> = Vec::new();
        let finished = match &mut generator.kind {
            GeneratorKind::Seq {
                var,
                next,
                step,
                last,
                hex,
            } => {
                let value = if *hex {
                    format!("{:x}", *next)
                } else {
                    next.to_string()
                };
                assignments.push((var.clone(), value));
                *next = next.saturating_add(*step);
                (*step > 0 && *next > *last) || (*step < 0 && *next < *last)
            }
            GeneratorKind::Lst { vars, sets } => {
                if let Some(values) = sets.pop_front() {
                    for (var, value) in vars.iter().zip(values) {
                        assignments.push((var.clone(), value));
                    }
                }
                sets.is_empty()
            }
        };
        if finished {
            self.generators.pop();
        }
        for (name, value) in assignments {
            self.set_definition(&name, &value);
        }
        Some((
            text,
            Origin {
                exact: false,
                ..origin
            },
        ))
    }

    fn next_multiline(&mut self) -> Option<(String, Origin)> {
        loop {
            let top = self.multiline.last_mut()?;
            if let Some(line) = top.rest.pop_front() {
                let origin = top.origin.clone();
                if top.rest.is_empty() {
                    self.multiline.pop();
                }
                return Some((line, origin));
            }
            self.multiline.pop();
        }
    }

    fn set_definition(&mut self, name: &str, value: &str) {
        if let Some(def) = self.definitions.iter_mut().find(|d| d.name == name) {
            def.value = value.to_string();
            def.multiline = false;
            def.builtin = None;
        } else {
            self.definitions.push(Definition {
                name: name.into(),
                value: value.into(),
                multiline: false,
                builtin: None,
            });
        }
    }

    /// Applies, in keepalived's order, `@id` conditionals, `$NAME=` definitions, `~SEQ`/`~LST`
    /// and `$NAME` substitution to one line.
    fn transform(&mut self, text: &mut String, origin: &mut Origin, diags: &mut Diagnostics) -> Transformed {
        let mut rounds = 0;
        loop {
            rounds += 1;
            if text.starts_with('@') {
                let (negate, skip) = if text.starts_with("@^") {
                    (true, 2)
                } else {
                    (false, 1)
                };
                let Some(space) = text[skip..].find([' ', '\t']) else {
                    return Transformed::Consumed;
                };
                let id = &text[skip..skip + space];
                let matches = id == self.config_id;
                if matches == negate {
                    return Transformed::Consumed;
                }
                let rest_start = skip + space;
                let rest = text[rest_start..].trim_start_matches([' ', '\t']);
                let removed = text.chars().count() - rest.chars().count();
                *text = rest.to_string();
                origin.column += removed as u32;
            }
            if text.starts_with('$') && self.try_define(text, origin) {
                return Transformed::Consumed;
            }
            if text.starts_with("~SEQ") || text.starts_with("~LST") {
                let ok = if text.starts_with("~SEQ") {
                    self.add_seq(text, origin, diags)
                } else {
                    self.add_lst(text, origin, diags)
                };
                if !ok {
                    let kind = &text[..4];
                    diags.report(
                        Class::General,
                        "invalid-generator",
                        Some(&origin.span()),
                        format!("Invalid {kind} specification '{text}'"),
                    );
                    if let Some(d) = diags.last_mut() {
                        d.help = Some(if kind == "~SEQ" {
                            "write ~SEQ(VAR, END), ~SEQ(VAR, START, END) or ~SEQ(VAR, START, STEP, END)"
                                .into()
                        } else {
                            "write ~LST(VAR, V1, V2, ...) or ~LST({VAR1,VAR2}, {A,B}, {C,D}, ...)".into()
                        });
                    }
                }
                return Transformed::Consumed;
            }
            if text.starts_with('~') {
                return Transformed::Keep;
            }
            if !text.contains('$') {
                return Transformed::Keep;
            }
            match self.replace_params(text, origin, diags) {
                Replaced::Nothing => return Transformed::Keep,
                Replaced::Stopped => {
                    origin.exact = false;
                    return Transformed::Keep;
                }
                Replaced::Changed => {
                    origin.exact = false;
                    // Substituted text may contain comments or a conditional.
                    let redo = self.decomment(text, origin, diags);
                    match redo {
                        Some((t, o)) => {
                            *text = t;
                            *origin = o;
                        }
                        None => return Transformed::Consumed,
                    }
                    if text.is_empty() {
                        return Transformed::Consumed;
                    }
                    if !(text.starts_with('@') || text.contains('$')) {
                        return Transformed::Keep;
                    }
                    if rounds > MAX_EXPANSIONS_PER_LINE {
                        return Transformed::Keep;
                    }
                }
            }
        }
    }

    /// `$NAME=VALUE` (blanks allowed before `=`). A value ending in `\` starts a multi-line
    /// definition.
    fn try_define(&mut self, text: &str, _origin: &Origin) -> bool {
        let body = &text[1..];
        let mut chars = body.char_indices();
        match chars.next() {
            Some((_, c)) if c.is_ascii_alphabetic() || c == '_' => {}
            _ => return false,
        }
        let name_end = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..name_end];
        let after = body[name_end..].trim_start_matches([' ', '\t']);
        let Some(value) = after.strip_prefix('=') else {
            return false;
        };
        let value = value.trim_start_matches([' ', '\t']);
        let (value, multiline) = match value.strip_suffix('\\') {
            Some(v) => {
                let v = v.trim_end_matches([' ', '\t']);
                (format!("{v}\\"), true)
            }
            None => (value.to_string(), false),
        };
        let def = Definition {
            name: name.to_string(),
            value,
            multiline,
            builtin: None,
        };
        if let Some(pos) = self.definitions.iter().position(|d| d.name == name) {
            // Redefinition keeps keepalived's lookup order but moves the entry last, so that a
            // multi-line continuation finds it.
            self.definitions.remove(pos);
        }
        self.definitions.push(def);
        true
    }

    fn builtin_value(&mut self, builtin: Builtin, params: Option<&str>) -> String {
        match builtin {
            Builtin::Pwd => self.current_dir().to_string_lossy().into_owned(),
            Builtin::Instance => self.config_id.clone(),
            Builtin::Random => {
                let mut nums = params
                    .unwrap_or("")
                    .split_whitespace()
                    .filter_map(|n| n.parse::<u64>().ok());
                let min = nums.next().unwrap_or(0);
                let max = nums.next().unwrap_or(32767).max(min);
                // xorshift64*: deterministic for a given seed, which is all ${_RANDOM} needs.
                self.rng_state ^= self.rng_state >> 12;
                self.rng_state ^= self.rng_state << 25;
                self.rng_state ^= self.rng_state >> 27;
                let r = self.rng_state.wrapping_mul(0x2545_F491_4F6C_DD1D);
                (min + r % (max - min + 1)).to_string()
            }
        }
    }

    /// keepalived's `replace_param`: replaces `$NAME` (followed by a blank, `,`, `)` or the end
    /// of line) and `${NAME}` with the definition's value, rescanning the substituted text.
    /// A multi-line definition may only be used at the end of a line: its first line replaces
    /// the reference and its other lines follow as lines of their own.
    fn replace_params(&mut self, text: &mut String, origin: &Origin, diags: &mut Diagnostics) -> Replaced {
        let mut pos = 0;
        let mut changed = false;
        let mut substitutions = 0;
        while let Some(rel) = text[pos..].find('$') {
            let at = pos + rel;
            if at + 1 >= text.len() {
                break;
            }
            match self.match_reference(&text[at + 1..]) {
                Some((def_index, consumed, params)) => {
                    substitutions += 1;
                    if substitutions > MAX_EXPANSIONS_PER_LINE {
                        // A definition that refers to itself without growing the line: stop
                        // where we are (keepalived would loop for ever here).
                        self.stop_substituting(text, origin, diags);
                        return Replaced::Stopped;
                    }
                    let def = &self.definitions[def_index];
                    let value = match def.builtin {
                        Some(b) => {
                            let params = params.map(str::to_string);
                            self.builtin_value(b, params.as_deref())
                        }
                        None => def.value.clone(),
                    };
                    let multiline = self.definitions[def_index].multiline;
                    let replacement = if multiline {
                        let mut lines = value.split('\n');
                        let first = lines.next().unwrap_or("").to_string();
                        let rest: VecDeque<String> = lines.map(str::to_string).collect();
                        if !rest.is_empty() {
                            self.multiline.push(MultilineExpansion {
                                rest,
                                origin: Origin {
                                    exact: false,
                                    ..origin.clone()
                                },
                                generator_depth: self.generators.len(),
                            });
                        }
                        first
                    } else {
                        value
                    };
                    let starts_generator = replacement.trim_start_matches([' ', '\t']).starts_with('~');
                    if text.len() - (1 + consumed) + replacement.len() >= MAX_LINE_LEN {
                        // keepalived's line buffer is 1024 bytes: it logs and keeps the line
                        // as substituted so far (which is how a self-referencing definition
                        // ends there).
                        self.stop_substituting(text, origin, diags);
                        return Replaced::Stopped;
                    }
                    text.replace_range(at..at + 1 + consumed, &replacement);
                    changed = true;
                    if starts_generator {
                        break;
                    }
                    // Rescan from the same place: substituted text may hold further references.
                    pos = at;
                }
                None => pos = at + 1,
            }
        }
        if changed {
            Replaced::Changed
        } else {
            Replaced::Nothing
        }
    }

    fn stop_substituting(&self, text: &str, origin: &Origin, diags: &mut Diagnostics) {
        let shown: String = text.chars().take(80).collect();
        diags.report(
            Class::Info,
            "definition-too-long",
            Some(&origin.span()),
            format!("Parameter substitution on line '{shown}...' would exceed maximum line length"),
        );
        if let Some(d) = diags.last_mut() {
            d.help = Some(
                "a definition probably refers to itself; keepalived keeps the line substituted so far".into(),
            );
        }
    }

    /// Matches a reference after a `$`: returns the definition, how many bytes the reference
    /// takes (after the `$`) and the parameters of `${_RANDOM MIN MAX}`.
    fn match_reference<'t>(&self, after_dollar: &'t str) -> Option<(usize, usize, Option<&'t str>)> {
        let braces = after_dollar.starts_with('{');
        let name_start = usize::from(braces);
        let rest = &after_dollar[name_start..];
        let first = rest.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        let after_name = &rest[name_len..];
        let (consumed, params, at_end) = if braces {
            let params_len = after_name
                .find(|c: char| !(c == ' ' || c.is_ascii_digit()))
                .unwrap_or(after_name.len());
            let params_text = &after_name[..params_len];
            if !after_name[params_len..].starts_with('}') {
                return None;
            }
            if !params_text.is_empty() && params_text.ends_with(' ') {
                return None;
            }
            let params = if params_text.trim().is_empty() {
                None
            } else {
                Some(params_text.trim())
            };
            let consumed = name_start + name_len + params_len + 1;
            (consumed, params, after_dollar.len() == consumed)
        } else {
            match after_name.chars().next() {
                None | Some(' ' | '\t' | ',' | ')') => {}
                Some(_) => return None,
            }
            (name_len, None, after_name.is_empty())
        };
        let index = self
            .definitions
            .iter()
            .position(|d| d.name == name && (at_end || !d.multiline))?;
        if params.is_some() && self.definitions[index].builtin != Some(Builtin::Random) {
            return None;
        }
        Some((index, consumed, params))
    }

    fn add_seq(&mut self, text: &str, origin: &Origin, diags: &mut Diagnostics) -> bool {
        let mut p = &text[4..];
        let hex = p.starts_with('x');
        if hex {
            p = &p[1..];
        }
        let p = p.trim_start_matches([' ', '\t']);
        let Some(p) = p.strip_prefix('(') else {
            return false;
        };
        let Some(close) = p.find(')') else { return false };
        let inside = &p[..close];
        let after = p[close + 1..].trim_start_matches([' ', '\t']).to_string();
        let mut parts = inside.splitn(2, ',');
        let var = parts.next().unwrap_or("").trim().to_string();
        let Some(numbers) = parts.next() else { return false };
        if var.is_empty() || var.contains([' ', '\t']) {
            return false;
        }
        // Numbers may themselves be definitions.
        let mut numbers = numbers.to_string();
        if numbers.contains('$') {
            let depth = self.multiline.len();
            let _ = self.replace_params(&mut numbers, origin, diags);
            if self.multiline.len() != depth {
                self.multiline.truncate(depth);
                return false;
            }
        }
        let values: Option<Vec<i64>> = numbers.split(',').map(|n| parse_c_long(n.trim())).collect();
        let Some(values) = values else { return false };
        let (start, step, end) = match values.as_slice() {
            [end] => (if *end < 0 { -1 } else { 1 }, if *end < 1 { -1 } else { 1 }, *end),
            [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
            [start, step, end] => {
                if *step == 0 || (start < end && *step < 0) || (start > end && *step > 0) {
                    return false;
                }
                (*start, *step, *end)
            }
            _ => return false,
        };
        if hex && (start < 0 || end < 0) {
            return false;
        }
        if self.generators.len() >= MAX_SEQ_DEPTH {
            return false;
        }
        // A sequence that is empty from the start generates nothing.
        if (step > 0 && start > end) || (step < 0 && start < end) {
            return true;
        }
        self.generators.push(Generator {
            text: after,
            origin: origin.clone(),
            kind: GeneratorKind::Seq {
                var,
                next: start,
                step,
                last: end,
                hex,
            },
        });
        true
    }

    fn add_lst(&mut self, text: &str, origin: &Origin, _diags: &mut Diagnostics) -> bool {
        let p = text[4..].trim_start_matches([' ', '\t']);
        let Some(p) = p.strip_prefix('(') else {
            return false;
        };
        let Some(close) = find_closing_paren(p) else {
            return false;
        };
        let inside = &p[..close];
        let after = p[close + 1..].trim_start_matches([' ', '\t']).to_string();
        let groups = split_lst_groups(inside);
        let Some((vars, values)) = groups.split_first() else {
            return false;
        };
        if vars.is_empty() || vars.iter().any(|v| v.is_empty()) || values.is_empty() {
            return false;
        }
        let mut sets = VecDeque::new();
        for set in values {
            if set.len() > vars.len() {
                return false;
            }
            let mut set = set.clone();
            set.resize(vars.len(), String::new());
            sets.push_back(set);
        }
        if self.generators.len() >= MAX_SEQ_DEPTH {
            return false;
        }
        self.generators.push(Generator {
            text: after,
            origin: origin.clone(),
            kind: GeneratorKind::Lst {
                vars: vars.clone(),
                sets,
            },
        });
        true
    }

    /// `include`, `includer`, `includem`, `includew`, `includeb`, `includea`: reads the files a
    /// glob matches, relative to the directory of the file that includes them.
    ///
    /// The variants decide which problems are errors (keepalived's include types): `r` a file
    /// that cannot be read, `m` a missing file or directory, `w` a wildcard matching nothing,
    /// `b` a missing brace alternative; `a` is all of them. Plain `include` only logs. An
    /// include error makes keepalived refuse the whole configuration (exit 6).
    fn try_include(&mut self, text: &str, origin: &Origin, diags: &mut Diagnostics) -> bool {
        let Some(rest) = text.strip_prefix("include") else {
            return false;
        };
        let (kind, pattern) = match rest.chars().next() {
            Some(' ' | '\t') => (0, rest.trim_start()),
            Some(c @ ('r' | 'm' | 'w' | 'b' | 'a')) if rest[1..].starts_with([' ', '\t']) => {
                let kind = match c {
                    'r' => INCLUDE_R,
                    'm' => INCLUDE_R | INCLUDE_M,
                    'w' => INCLUDE_R | INCLUDE_M | INCLUDE_W,
                    'b' => INCLUDE_R | INCLUDE_B,
                    _ => INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B,
                };
                (kind, rest[1..].trim_start())
            }
            _ => return false,
        };
        let pattern = pattern.trim_matches('"');
        let full = if Path::new(pattern).is_absolute() {
            pattern.to_string()
        } else {
            self.current_dir().join(pattern).to_string_lossy().into_owned()
        };
        if self.frames.len() >= MAX_INCLUDE_DEPTH {
            diags.report(
                Class::Fatal,
                "include-depth",
                Some(&origin.span()),
                format!("include nesting deeper than {MAX_INCLUDE_DEPTH} at '{pattern}' - not followed"),
            );
            if let Some(d) = diags.last_mut() {
                d.help = Some("an included file probably includes itself".into());
            }
            return true;
        }
        let report = |diags: &mut Diagnostics, problem: u8, message: String, help: String| {
            let failed = kind & problem != 0;
            diags.push(
                crate::diag::Diagnostic::new(
                    if failed { Class::FileNotFound } else { Class::Info },
                    if failed { INCLUDE_FAILED } else { "include-missing" },
                    Some(origin.span()),
                    message,
                )
                .with_token(pattern)
                .with_help(help),
            );
        };
        let matches = self.glob_all(&full);
        let has_wildcard = pattern.contains(['*', '?', '[']);
        let has_brace = pattern.contains('{');
        if matches.is_empty() {
            // keepalived tells "missing" (a literal file or the directory a wildcard scans does
            // not exist) from "no match" (the directory exists but nothing matches).
            let scanned_dir_exists = if has_wildcard {
                let literal: String = full
                    .chars()
                    .take_while(|c| !matches!(c, '*' | '?' | '[' | '{'))
                    .collect();
                let dir = Path::new(&literal)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                matches!(self.host.file_kind(&dir), Some(FileKind::Directory))
            } else {
                false
            };
            if !scanned_dir_exists {
                let problem = if has_brace { INCLUDE_B } else { INCLUDE_M };
                report(
                    diags,
                    problem,
                    format!("Config files missing '{pattern}'."),
                    format!("nothing at {full}"),
                );
            } else if kind & INCLUDE_W != 0 {
                report(
                    diags,
                    INCLUDE_W,
                    format!("No config files matched '{pattern}'."),
                    format!("the directory exists but nothing matches {full}"),
                );
            }
            return true;
        }
        let mut files = Vec::new();
        for path in matches {
            if self.usable_file(&path, diags, false) {
                files.push(path);
            } else if kind & INCLUDE_R != 0 {
                if let Some(d) = diags.last_mut() {
                    d.class = Class::FileNotFound;
                    d.code = INCLUDE_FAILED;
                }
            }
        }
        self.frames.push(IncludeFrame {
            pending: files.into_iter().collect(),
            current: None,
        });
        true
    }

    /// keepalived puts every `{` and `}` on a line of its own: text before a brace ends the
    /// line, and what follows the brace is read as the next line.
    fn split_braces(&mut self, text: String, origin: Origin, diags: &mut Diagnostics) -> Line {
        let brace_at = if text.starts_with(['{', '}']) {
            Some(0)
        } else {
            find_unquoted_brace(&text)
        };
        let (line_text, line_origin) = match brace_at {
            Some(0) => {
                let rest = text[1..].trim_start_matches([' ', '\t']);
                if !rest.is_empty() {
                    let skipped = text.chars().count() - rest.chars().count();
                    let rest_origin = Origin {
                        column: origin.column + skipped as u32,
                        ..origin.clone()
                    };
                    self.residue = Some((rest.to_string(), rest_origin));
                }
                (text[..1].to_string(), origin)
            }
            Some(at) => {
                let before_chars = text[..at].chars().count();
                let rest_origin = Origin {
                    column: origin.column + before_chars as u32,
                    ..origin.clone()
                };
                self.residue = Some((text[at..].to_string(), rest_origin));
                (text[..at].trim_end_matches([' ', '\t']).to_string(), origin)
            }
            None => (text, origin),
        };
        if line_text == "{" {
            self.block_depth += 1;
            self.open_braces.push(line_origin.span());
        } else if line_text == "}" {
            if self.block_depth == 0 {
                diags.push(
                    crate::diag::Diagnostic::new(
                        Class::UnexpectedBlockEnd,
                        "extra-close-brace",
                        Some(line_origin.span()),
                        "Extra '}' found",
                    )
                    .with_token("}")
                    .with_help("remove this '}' or add the '{' it closes"),
                );
            } else {
                self.block_depth -= 1;
                self.open_braces.pop();
            }
        }
        Line {
            text: line_text,
            origin: line_origin,
        }
    }
}

enum Transformed {
    Consumed,
    Keep,
}

enum Replaced {
    Nothing,
    Changed,
    /// Substitution had to stop (line too long, or a definition that never ends): the line
    /// stays as substituted so far, with no further rounds.
    Stopped,
}

/// The first `{` or `}` outside double quotes, as keepalived finds it.
fn find_unquoted_brace(text: &str) -> Option<usize> {
    let mut in_quote = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '{' | '}' if !in_quote => return Some(i),
            _ => {}
        }
    }
    None
}

fn find_closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ')' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Splits `~LST` arguments: `VAR, a, b` → [[VAR], [a], [b]]; `{V1,V2}, {a,b}, {c}` →
/// [[V1,V2], [a,b], [c]].
fn split_lst_groups(inside: &str) -> Vec<Vec<String>> {
    let mut groups = Vec::new();
    let mut rest = inside.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('{') {
            let end = after.find('}').unwrap_or(after.len());
            groups.push(after[..end].split(',').map(|s| s.trim().to_string()).collect());
            rest = after.get(end + 1..).unwrap_or("").trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            groups.push(vec![rest[..end].trim().to_string()]);
            rest = rest.get(end..).unwrap_or("");
        }
        rest = rest.trim_start().strip_prefix(',').unwrap_or(rest).trim_start();
    }
    groups
}

/// `strtol(s, _, 0)`: decimal, `0x` hex or leading-`0` octal, with an optional sign.
fn parse_c_long(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::MemoryHost;

    fn lines_of(host: &MemoryHost, main: &str, id: Option<&str>) -> (Vec<(String, u32, u32)>, Vec<String>) {
        let options = PreprocessOptions {
            config_id: id.map(str::to_string),
        };
        let mut pp = Preprocessor::new(host, &options);
        let mut diags = Diagnostics::default();
        assert!(pp.open_main(Path::new(main), &mut diags));
        let mut out = Vec::new();
        while let Some(line) = pp.next_line(&mut diags) {
            out.push((line.text, line.origin.line, line.origin.column));
        }
        pp.finish(&mut diags);
        (out, diags.into_vec().into_iter().map(|d| d.to_string()).collect())
    }

    fn texts(host: &MemoryHost, main: &str) -> Vec<String> {
        lines_of(host, main, None).0.into_iter().map(|l| l.0).collect()
    }

    #[test]
    fn comments_are_removed_even_after_utf8_text() {
        let host = MemoryHost::new().with_file(
            "/k.conf",
            "router_id LVS_11   #节点ID,每个节点\n! whole line\n  # another\n",
        );
        assert_eq!(
            lines_of(&host, "/k.conf", None).0,
            vec![("router_id LVS_11".to_string(), 1, 1)]
        );
    }

    #[test]
    fn braces_go_on_lines_of_their_own_with_columns() {
        let host = MemoryHost::new().with_file("/k.conf", "group { VI_1 VI_2 }\n");
        let (lines, _) = lines_of(&host, "/k.conf", None);
        assert_eq!(
            lines,
            vec![
                ("group".into(), 1, 1),
                ("{".into(), 1, 7),
                ("VI_1 VI_2".into(), 1, 9),
                ("}".into(), 1, 19)
            ]
        );
    }

    #[test]
    fn quoted_braces_and_escaped_comment_characters_stay() {
        let host =
            MemoryHost::new().with_file("/k.conf", "script \"echo {x} # y\"\npass ab\\#cd # comment\n");
        assert_eq!(
            texts(&host, "/k.conf"),
            vec!["script \"echo {x} # y\"", "pass ab#cd"]
        );
    }

    #[test]
    fn conditionals_follow_the_config_id() {
        let host =
            MemoryHost::new().with_file("/k.conf", "@high priority 170\n@low priority 85\n@^high other\n");
        assert_eq!(
            lines_of(&host, "/k.conf", Some("high"))
                .0
                .iter()
                .map(|l| l.0.as_str())
                .collect::<Vec<_>>(),
            vec!["priority 170"]
        );
        assert_eq!(
            lines_of(&host, "/k.conf", Some("low"))
                .0
                .iter()
                .map(|l| l.0.as_str())
                .collect::<Vec<_>>(),
            vec!["priority 85", "other"]
        );
        // The default config id is the host name.
        assert_eq!(texts(&host, "/k.conf"), vec!["other"]);
    }

    #[test]
    fn definitions_expand_plain_braced_and_multiline() {
        let text = "$IF=eth0\n$ADDRS=10.0.0.1 \\\n   10.0.0.2\ninterface $IF\ndev ${IF}x\nvip $ADDRS\nkeep $UNDEFINED\n";
        let host = MemoryHost::new().with_file("/k.conf", text);
        assert_eq!(
            texts(&host, "/k.conf"),
            vec![
                "interface eth0",
                "dev eth0x",
                "vip 10.0.0.1",
                "10.0.0.2",
                "keep $UNDEFINED"
            ]
        );
    }

    #[test]
    fn self_referencing_definitions_stop_at_the_line_length_like_keepalived() {
        let host = MemoryHost::new().with_file("/k.conf", "$A=x $A\nkey $A\n$B=$B\nb $B\nnext\n");
        let (lines, diags) = lines_of(&host, "/k.conf", None);
        let texts: Vec<&str> = lines.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert!(
            texts[0].starts_with("key x x x") && texts[0].len() < MAX_LINE_LEN,
            "{}",
            texts[0]
        );
        assert_eq!(&texts[1..], &["b $B", "next"]);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(
            diags.iter().all(|d| d.contains("note[definition-too-long]")),
            "{diags:?}"
        );
    }

    #[test]
    fn seq_and_lst_generate_lines() {
        let host = MemoryHost::new().with_file(
            "/k.conf",
            "~SEQ(n, 1, 3) vip 10.0.0.$n\n~SEQx(h, 9, 11) v6 fe80::$h\n~LST({a,b}, {1,2}, {3}) pair ${a}-${b}\n~SEQ(i, 2) ~SEQ(j, 1, 2) x${i}${j}\nkeepalived needs a separator: $i-\n",
        );
        assert_eq!(
            texts(&host, "/k.conf"),
            vec![
                "vip 10.0.0.1",
                "vip 10.0.0.2",
                "vip 10.0.0.3",
                "v6 fe80::9",
                "v6 fe80::a",
                "v6 fe80::b",
                "pair 1-2",
                "pair 3-",
                "x11",
                "x12",
                "x21",
                "x22",
                "keepalived needs a separator: $i-"
            ]
        );
    }

    #[test]
    fn invalid_seq_is_reported() {
        let host = MemoryHost::new().with_file("/k.conf", "~SEQ(n, 1, 0, 3) x\n");
        let (lines, diags) = lines_of(&host, "/k.conf", None);
        assert!(lines.is_empty());
        assert!(
            diags[0].starts_with("/k.conf:1:1: error[invalid-generator]"),
            "{diags:?}"
        );
    }

    #[test]
    fn includes_are_relative_to_the_including_file_and_sorted() {
        let host = MemoryHost::new()
            .with_file("/etc/ka/k.conf", "a\ninclude conf.d/*.conf\nz\n")
            .with_file("/etc/ka/conf.d/2.conf", "two\n")
            .with_file("/etc/ka/conf.d/1.conf", "one\ninclude ../leaf.inc\n")
            .with_file("/etc/ka/leaf.inc", "leaf\n");
        assert_eq!(
            texts(&host, "/etc/ka/k.conf"),
            vec!["a", "one", "leaf", "two", "z"]
        );
    }

    #[test]
    fn missing_include_is_logged_without_error_class_unless_includer() {
        let host = MemoryHost::new().with_file(
            "/k.conf",
            "include nothere.conf\nincluder alsonot.conf\nincludem third.conf\n",
        );
        let options = PreprocessOptions::default();
        let mut pp = Preprocessor::new(&host, &options);
        let mut diags = Diagnostics::default();
        pp.open_main(Path::new("/k.conf"), &mut diags);
        while pp.next_line(&mut diags).is_some() {}
        let classes: Vec<Class> = diags.as_slice().iter().map(|d| d.class).collect();
        // `includer` only treats unreadable files as errors; `includem` also missing ones.
        assert_eq!(classes, vec![Class::Info, Class::Info, Class::FileNotFound]);
        assert_eq!(
            crate::diag::exit_code_for_test(diags.as_slice()),
            crate::diag::exit::NO_CONFIG
        );
    }

    #[test]
    fn self_include_is_bounded() {
        let host = MemoryHost::new().with_file("/k.conf", "x\ninclude /k.conf\n");
        let (lines, diags) = lines_of(&host, "/k.conf", None);
        assert_eq!(lines.len(), MAX_INCLUDE_DEPTH);
        assert!(diags.iter().any(|d| d.contains("include-depth")));
    }

    #[test]
    fn brace_counting_reports_extra_and_missing() {
        let host = MemoryHost::new().with_file("/k.conf", "a {\n}\n}\nb {\n");
        let (_, diags) = lines_of(&host, "/k.conf", None);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags[0].starts_with("/k.conf:3:1: error[extra-close-brace]"));
        assert!(diags[1].starts_with("/k.conf:4:3: error[missing-close-brace]"));
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        let host = MemoryHost::new().with_file("/k.conf", "  script \"abc\n");
        let (_, diags) = lines_of(&host, "/k.conf", None);
        assert!(
            diags[0].starts_with("/k.conf:1:3: error[unterminated-quote]"),
            "{diags:?}"
        );
    }
}
