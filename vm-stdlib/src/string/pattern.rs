//! Lua patterns: the matcher behind `find`, `match`, `gmatch` and `gsub`
//! (`lstrlib.c`'s `MatchState` and `match`).
//!
//! The matcher is pure: it reads a subject and a pattern as byte slices and
//! reports positions, so it never touches the VM and its callers decide
//! when to borrow the strings. Errors are [`PatternError`]s, turned into
//! Lua errors (with the caller's position) by the natives.
//!
//! Like PUC Lua, the matcher backtracks by recursion, and the recursion is
//! bounded: past [`MAX_DEPTH`] nested levels a match fails with "pattern
//! too complex". Each level is a single Rust frame ([`MatchState::do_match`];
//! the helpers that recurse are inlined into it): about 200 bytes when
//! optimized (the deepest match fits in 64 KiB; a test runs the worst
//! cases on a 128 KiB stack), about 2 KiB in unoptimized builds (under
//! 512 KiB in all).
//!
//! A match counts its work ([`MatchState::work`]: the bytes a repetition,
//! a back-reference or a balance scans; the loops over positions add one
//! step per position tried), which the natives charge as bytes scanned
//! (`cost`).
//! Between two counted steps the matcher does at most work proportional
//! to the pattern's length.

use std::ops::Range;

/// Maximum number of captures in a pattern (`LUA_MAXCAPTURES`).
pub(crate) const MAX_CAPTURES: usize = 32;

/// Maximum nesting of the matcher's recursion (`MAXCCALLS` in
/// `lstrlib.c`).
pub(crate) const MAX_DEPTH: u32 = 200;

/// The escape character of patterns and replacement strings (`L_ESC`).
pub(crate) const ESC: u8 = b'%';

/// Bytes that make a pattern more than a literal (`SPECIALS`).
const SPECIALS: &[u8] = b"^$*+?.([%-";

/// A malformed pattern, or one the matcher refuses; the messages are
/// PUC Lua 5.4.4's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatternError {
    /// A pattern ending with a lone `%`.
    EndsWithEscape,
    /// A set `[...]` without its `]`.
    MissingBracket,
    /// `%b` without its two delimiters.
    MissingBalanceArgs,
    /// `%f` not followed by a set.
    MissingFrontierSet,
    /// A back-reference `%n` (or a replacement `%n`) naming no closed
    /// capture; holds `n`.
    InvalidCaptureIndex(usize),
    /// A `)` closing no capture.
    InvalidPatternCapture,
    /// A capture still open when the match ended.
    UnfinishedCapture,
    /// More than [`MAX_CAPTURES`] captures.
    TooManyCaptures,
    /// Recursion deeper than [`MAX_DEPTH`].
    TooComplex,
    /// A `%` in a replacement string followed by neither a digit nor `%`.
    InvalidReplacementEscape,
    /// The match's work passed the cap it was given
    /// ([`MatchState::set_work_cap`]): the natives turn this into the
    /// instruction limit's error.
    WorkCap,
}

impl PatternError {
    /// The Lua error message (before position information).
    pub(crate) fn message(self) -> String {
        match self {
            PatternError::EndsWithEscape => "malformed pattern (ends with '%')".into(),
            PatternError::MissingBracket => "malformed pattern (missing ']')".into(),
            PatternError::MissingBalanceArgs => {
                "malformed pattern (missing arguments to '%b')".into()
            }
            PatternError::MissingFrontierSet => "missing '[' after '%f' in pattern".into(),
            PatternError::InvalidCaptureIndex(n) => format!("invalid capture index %{n}"),
            PatternError::InvalidPatternCapture => "invalid pattern capture".into(),
            PatternError::UnfinishedCapture => "unfinished capture".into(),
            PatternError::TooManyCaptures => "too many captures".into(),
            PatternError::TooComplex => "pattern too complex".into(),
            PatternError::InvalidReplacementEscape => {
                "invalid use of '%' in replacement string".into()
            }
            PatternError::WorkCap => "instruction limit exceeded".into(),
        }
    }
}

/// The outcome of one matching step: the end of the match, or `None`.
type Step = Result<Option<usize>, PatternError>;

/// What a capture slot holds (`len` in `lstrlib.c`, with its two sentinel
/// values as variants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CapLen {
    /// Opened by `(`, not yet closed (`CAP_UNFINISHED`).
    Unfinished,
    /// A position capture `()` (`CAP_POSITION`).
    Position,
    /// A closed capture of this many bytes.
    Closed(usize),
}

/// One capture: where it starts in the subject and what it holds.
#[derive(Clone, Copy, Debug)]
struct Capture {
    init: usize,
    len: CapLen,
}

/// A capture's value, as the natives push it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CaptureValue {
    /// A substring of the subject.
    Str(Range<usize>),
    /// A position capture: a 1-based subject position.
    Position(i64),
}

/// The captures of a match: owned positions, so that they outlive the
/// borrow of the subject (the natives copy them out, then make strings).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Captures {
    /// Number of captures opened so far (closed or not).
    level: usize,
    slots: [Capture; MAX_CAPTURES],
}

impl Captures {
    /// No captures.
    pub(crate) fn new() -> Captures {
        Captures {
            level: 0,
            slots: [Capture {
                init: 0,
                len: CapLen::Unfinished,
            }; MAX_CAPTURES],
        }
    }

    /// Makes these the captures `other` holds, copying only the slots in
    /// use.
    pub(crate) fn copy_from(&mut self, other: &Captures) {
        self.level = other.level;
        self.slots[..other.level].copy_from_slice(&other.slots[..other.level]);
    }

    /// Number of values a successful match yields (`push_captures`): its
    /// captures, or the whole match when the pattern has none and `whole`
    /// is true (`match`, `gmatch`, `gsub`; not `find`).
    pub(crate) fn count(&self, whole: bool) -> usize {
        if self.level == 0 && whole {
            1
        } else {
            self.level
        }
    }

    /// Capture `i` (0-based) of the match `m` (`get_onecapture`): capture
    /// 0 of a pattern without captures is the whole match.
    ///
    /// # Errors
    /// "invalid capture index" past the captures, "unfinished capture"
    /// for one never closed.
    pub(crate) fn get(&self, i: usize, m: Range<usize>) -> Result<CaptureValue, PatternError> {
        if i >= self.level {
            return if i == 0 {
                Ok(CaptureValue::Str(m))
            } else {
                Err(PatternError::InvalidCaptureIndex(i + 1))
            };
        }
        let c = self.slots[i];
        match c.len {
            CapLen::Unfinished => Err(PatternError::UnfinishedCapture),
            CapLen::Position => Ok(CaptureValue::Position(c.init as i64 + 1)),
            CapLen::Closed(len) => Ok(CaptureValue::Str(c.init..c.init + len)),
        }
    }
}

/// The state of a match of one pattern against one subject (`MatchState`).
///
/// `pat` excludes a leading anchor `^`, which the callers handle; a
/// pattern position equal to `pat.len()` is the end of the pattern.
pub(crate) struct MatchState<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    /// Recursion levels left before "pattern too complex".
    depth: u32,
    caps: Captures,
    /// Steps taken since the state was made (see the module docs).
    work: u64,
    /// Past this much work, the match fails with [`PatternError::WorkCap`].
    cap: u64,
}

impl<'a> MatchState<'a> {
    /// A state for matching `pat` (without its anchor) against `src`.
    pub(crate) fn new(src: &'a [u8], pat: &'a [u8]) -> Self {
        MatchState {
            src,
            pat,
            depth: MAX_DEPTH,
            caps: Captures::new(),
            work: 0,
            cap: u64::MAX,
        }
    }

    /// Makes a match fail with [`PatternError::WorkCap`] once the work
    /// passes `cap`: a single match can take time exponential in the
    /// pattern's length, and no budget can suspend it half-way, but an
    /// instruction limit can end it.
    pub(crate) fn set_work_cap(&mut self, cap: u64) {
        self.cap = cap;
    }

    /// Counts `n` steps of work, failing past the cap.
    #[inline]
    fn tick(&mut self, n: u64) -> Result<(), PatternError> {
        self.work += n;
        if self.work > self.cap {
            return Err(PatternError::WorkCap);
        }
        Ok(())
    }

    /// The matcher's steps so far: bytes scanned, for the cost model.
    pub(crate) fn work(&self) -> u64 {
        self.work
    }

    /// Matches the whole pattern at subject position `s`, forgetting the
    /// captures of any previous attempt (`reprepstate` then `match`).
    /// Returns the end of the match.
    pub(crate) fn match_at(&mut self, s: usize) -> Step {
        self.caps.level = 0;
        self.depth = MAX_DEPTH;
        self.do_match(s, 0)
    }

    /// The captures of the last successful match.
    pub(crate) fn captures(&self) -> &Captures {
        &self.caps
    }

    /// `match`: matches the pattern from position `p` against the subject
    /// from position `s`, returning the end of the match.
    ///
    /// Tail positions loop instead of recursing (PUC's `goto init`); only
    /// the backtracking points recurse, each costing one level of `depth`.
    fn do_match(&mut self, mut s: usize, mut p: usize) -> Step {
        if self.depth == 0 {
            return Err(PatternError::TooComplex);
        }
        self.depth -= 1;
        let end = loop {
            let Some(&pc) = self.pat.get(p) else {
                break Some(s); // end of pattern: success
            };
            match pc {
                b'(' => {
                    break if self.pat.get(p + 1) == Some(&b')') {
                        self.start_capture(s, p + 2, CapLen::Position)?
                    } else {
                        self.start_capture(s, p + 1, CapLen::Unfinished)?
                    };
                }
                b')' => break self.end_capture(s, p + 1)?,
                b'$' if p + 1 == self.pat.len() => break (s == self.src.len()).then_some(s),
                ESC => match self.pat.get(p + 1) {
                    Some(b'b') => match self.match_balance(s, p + 2)? {
                        Some(e) => {
                            (s, p) = (e, p + 4);
                            continue;
                        }
                        None => break None,
                    },
                    Some(b'f') => {
                        p += 2;
                        if self.pat.get(p) != Some(&b'[') {
                            return Err(PatternError::MissingFrontierSet);
                        }
                        let ep = self.class_end(p)?;
                        if self.at_frontier(s, p, ep) {
                            p = ep;
                            continue;
                        }
                        break None;
                    }
                    Some(&d @ b'0'..=b'9') => match self.match_capture(s, d)? {
                        Some(e) => {
                            (s, p) = (e, p + 2);
                            continue;
                        }
                        None => break None,
                    },
                    _ => {} // a class such as `%a`: a single-character item
                },
                _ => {}
            }
            // A single-character class with an optional repetition suffix.
            let ep = self.class_end(p)?;
            let suffix = self.pat.get(ep).copied();
            if !self.single_match(s, p, ep) {
                if let Some(b'*' | b'?' | b'-') = suffix {
                    p = ep + 1; // zero repetitions are enough
                    continue;
                }
                break None;
            }
            match suffix {
                Some(b'?') => {
                    self.tick(1)?;
                    if let Some(e) = self.do_match(s + 1, ep + 1)? {
                        break Some(e);
                    }
                    p = ep + 1;
                }
                Some(b'+') => break self.max_expand(s + 1, p, ep)?,
                Some(b'*') => break self.max_expand(s, p, ep)?,
                Some(b'-') => break self.min_expand(s, p, ep)?,
                _ => (s, p) = (s + 1, ep),
            }
        };
        self.depth += 1;
        Ok(end)
    }

    /// Opens capture number `level` at `s` and matches the rest from `p`;
    /// the capture is dropped again if that fails.
    #[inline(always)] // one Rust frame per recursion level
    fn start_capture(&mut self, s: usize, p: usize, len: CapLen) -> Step {
        if self.caps.level >= MAX_CAPTURES {
            return Err(PatternError::TooManyCaptures);
        }
        self.caps.slots[self.caps.level] = Capture { init: s, len };
        self.caps.level += 1;
        let end = self.do_match(s, p)?;
        if end.is_none() {
            self.caps.level -= 1;
        }
        Ok(end)
    }

    /// Closes the innermost open capture at `s` and matches the rest from
    /// `p`; the capture is reopened if that fails.
    #[inline(always)] // one Rust frame per recursion level
    fn end_capture(&mut self, s: usize, p: usize) -> Step {
        let l = self.capture_to_close()?;
        self.caps.slots[l].len = CapLen::Closed(s - self.caps.slots[l].init);
        let end = self.do_match(s, p)?;
        if end.is_none() {
            self.caps.slots[l].len = CapLen::Unfinished;
        }
        Ok(end)
    }

    /// The innermost capture still open.
    fn capture_to_close(&self) -> Result<usize, PatternError> {
        (0..self.caps.level)
            .rev()
            .find(|&l| self.caps.slots[l].len == CapLen::Unfinished)
            .ok_or(PatternError::InvalidPatternCapture)
    }

    /// Greedy repetition (`*`, and `+` after its first item): takes as
    /// many items as match, then gives them back one at a time until the
    /// rest of the pattern matches.
    #[inline(always)] // one Rust frame per recursion level
    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Step {
        let mut i = 0;
        while self.single_match(s + i, p, ep) {
            i += 1;
        }
        self.tick(i as u64)?;
        loop {
            if let Some(e) = self.do_match(s + i, ep + 1)? {
                return Ok(Some(e));
            }
            if i == 0 {
                return Ok(None);
            }
            i -= 1;
        }
    }

    /// Lazy repetition (`-`): tries the rest of the pattern first, and
    /// takes one more item each time that fails.
    #[inline(always)] // one Rust frame per recursion level
    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> Step {
        loop {
            self.tick(1)?;
            if let Some(e) = self.do_match(s, ep + 1)? {
                return Ok(Some(e));
            }
            if !self.single_match(s, p, ep) {
                return Ok(None);
            }
            s += 1;
        }
    }

    /// A back-reference `%d` at `s`: the text of capture `d` again. A
    /// position capture never matches (its length is a sentinel in PUC
    /// Lua, larger than any subject).
    fn match_capture(&mut self, s: usize, d: u8) -> Step {
        let l = usize::from(d - b'0');
        let Some(c) = l
            .checked_sub(1)
            .filter(|&l| l < self.caps.level)
            .map(|l| self.caps.slots[l])
        else {
            return Err(PatternError::InvalidCaptureIndex(l));
        };
        match c.len {
            CapLen::Unfinished => Err(PatternError::InvalidCaptureIndex(l)),
            CapLen::Position => Ok(None),
            CapLen::Closed(len) => {
                self.tick(len as u64)?;
                let text = &self.src[c.init..c.init + len];
                Ok(self.src[s..].starts_with(text).then_some(s + len))
            }
        }
    }

    /// `%bxy` at `s` (the delimiters at `p`): a balanced run from an `x` to
    /// its matching `y`.
    fn match_balance(&mut self, s: usize, p: usize) -> Step {
        let (Some(&open), Some(&close)) = (self.pat.get(p), self.pat.get(p + 1)) else {
            return Err(PatternError::MissingBalanceArgs);
        };
        if self.src.get(s) != Some(&open) {
            return Ok(None);
        }
        let mut depth = 1usize;
        for (i, &c) in self.src.iter().enumerate().skip(s + 1) {
            if c == close {
                depth -= 1;
                if depth == 0 {
                    self.tick((i - s) as u64)?;
                    return Ok(Some(i + 1));
                }
            } else if c == open {
                depth += 1;
            }
        }
        self.tick((self.src.len() - s) as u64)?;
        Ok(None) // the subject ends out of balance
    }

    /// `%f[set]` at `s` (the set spans `p..ep`): the previous byte is not
    /// in the set and the current one is; the subject's ends count as
    /// `'\0'`.
    fn at_frontier(&self, s: usize, p: usize, ep: usize) -> bool {
        let set = &self.pat[p..ep];
        let previous = s.checked_sub(1).map_or(0, |i| self.src[i]);
        let current = self.src.get(s).copied().unwrap_or(0);
        !match_set(previous, set) && match_set(current, set)
    }

    /// The end of the single-character class starting at `p` (`classend`):
    /// one byte, `%x`, or a set `[...]`.
    fn class_end(&self, p: usize) -> Result<usize, PatternError> {
        let pat = self.pat;
        let mut p = p + 1;
        match pat[p - 1] {
            ESC if p >= pat.len() => Err(PatternError::EndsWithEscape),
            ESC => Ok(p + 1),
            b'[' => {
                if pat.get(p) == Some(&b'^') {
                    p += 1;
                }
                // The first byte is part of the set even if it is a `]`.
                loop {
                    let Some(&c) = pat.get(p) else {
                        return Err(PatternError::MissingBracket);
                    };
                    p += 1;
                    if c == ESC && p < pat.len() {
                        p += 1; // an escaped byte, such as `%]`
                    }
                    if pat.get(p) == Some(&b']') {
                        return Ok(p + 1);
                    }
                }
            }
            _ => Ok(p),
        }
    }

    /// Whether the subject byte at `s` (if any) is in the class `p..ep`
    /// (`singlematch`).
    fn single_match(&self, s: usize, p: usize, ep: usize) -> bool {
        let Some(&c) = self.src.get(s) else {
            return false;
        };
        match self.pat[p] {
            b'.' => true,
            ESC => match_class(c, self.pat[p + 1]),
            b'[' => match_set(c, &self.pat[p..ep]),
            pc => pc == c,
        }
    }
}

/// Whether `c` is in the class `%cl` (`match_class`): the ASCII classes
/// of the C locale, complemented by an upper-case letter; any other `cl`
/// stands for itself.
fn match_class(c: u8, cl: u8) -> bool {
    let in_class = match cl.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        // C's `isspace`, which (unlike `is_ascii_whitespace`) has `\v`.
        b's' => c == b' ' || (b'\t'..=b'\r').contains(&c),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        b'z' => c == 0, // deprecated, kept by PUC Lua
        _ => return cl == c,
    };
    in_class == cl.is_ascii_lowercase()
}

/// Whether `c` is in the set `set`, `[` to `]` inclusive
/// (`matchbracketclass`): bytes, ranges `a-z`, classes `%a`, and a
/// leading `^` for the complement.
fn match_set(c: u8, set: &[u8]) -> bool {
    let (negated, items) = match set {
        [b'[', b'^', items @ .., b']'] => (true, items),
        [b'[', items @ .., b']'] => (false, items),
        _ => (false, &[][..]), // `class_end` only makes well-formed sets
    };
    let mut i = 0;
    while i < items.len() {
        let found = match items[i..] {
            [ESC, cl, ..] => {
                i += 2;
                match_class(c, cl)
            }
            // A `-` that is last in the set is a plain byte.
            [lo, b'-', hi, ..] => {
                i += 3;
                (lo..=hi).contains(&c)
            }
            [b, ..] => {
                i += 1;
                b == c
            }
            [] => false,
        };
        if found {
            return !negated;
        }
    }
    negated
}

/// A successful search: where the match starts and ends, and its
/// captures.
pub(crate) struct Found {
    /// First byte of the match.
    pub(crate) start: usize,
    /// One past the last byte of the match.
    pub(crate) end: usize,
    /// The match's captures.
    pub(crate) caps: Captures,
}

/// Splits a leading anchor `^` off a pattern: whether it was there, and
/// the rest.
pub(crate) fn split_anchor(pat: &[u8]) -> (bool, &[u8]) {
    match pat.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, pat),
    }
}

/// How a search ended.
// Made once per search and taken apart at once: boxing the match would
// cost an allocation per `find`.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Search {
    /// A match was found.
    Found(Found),
    /// No position has a match.
    NotFound,
    /// The search did its share of work; it goes on from this position.
    Paused(usize),
}

/// The first match of `pat` in `src` starting at or after `init`, which
/// is at most `src.len()` (the loop of `str_find_aux`); a leading `^`
/// anchors the match at `init`. Adds the matcher's steps to `work`, and
/// pauses after the attempt that takes them to `until` (at most `cap`).
pub(crate) fn search(
    src: &[u8],
    pat: &[u8],
    init: usize,
    work: &mut u64,
    until: u64,
    cap: u64,
) -> Result<Search, PatternError> {
    let (anchor, pat) = split_anchor(pat);
    let mut ms = MatchState::new(src, pat);
    ms.set_work_cap(cap.saturating_sub(*work));
    let r = search_from(&mut ms, init, anchor, until.saturating_sub(*work));
    *work += ms.work;
    r
}

fn search_from(
    ms: &mut MatchState<'_>,
    init: usize,
    anchor: bool,
    until: u64,
) -> Result<Search, PatternError> {
    // Each position tried is a step: counted from the loop's index, and
    // the work checked as `ms.work + start` against `check + init`.
    let check = until.min(ms.cap).saturating_add(init as u64);
    let mut r = Ok(Search::NotFound);
    let mut last = init;
    for start in init..=ms.src.len() {
        last = start;
        match ms.match_at(start) {
            Ok(Some(end)) => {
                r = Ok(Search::Found(Found {
                    start,
                    end,
                    caps: ms.caps,
                }));
                break;
            }
            Ok(None) => {}
            Err(e) => {
                r = Err(e);
                break;
            }
        }
        if anchor {
            break;
        }
        if ms.work + start as u64 >= check && start < ms.src.len() {
            r = Ok(Search::Paused(start + 1));
            break;
        }
    }
    ms.work += (last + 1 - init) as u64;
    match r {
        Ok(Search::Paused(_)) if ms.work > ms.cap => Err(PatternError::WorkCap),
        r => r,
    }
}

/// Appends the replacement string `repl` for the match `m` of `src` to
/// `out` (`add_s`): `%0` is the whole match, `%1`-`%9` a capture (a
/// position capture as its decimal number), `%%` a `%`.
///
/// # Errors
/// Any other use of `%`; a capture index the pattern does not have.
pub(crate) fn expand_replacement(
    out: &mut Vec<u8>,
    repl: &[u8],
    src: &[u8],
    m: Range<usize>,
    caps: &Captures,
) -> Result<(), PatternError> {
    let mut rest = repl;
    while let Some(i) = rest.iter().position(|&b| b == ESC) {
        out.extend_from_slice(&rest[..i]);
        match rest.get(i + 1) {
            Some(&ESC) => out.push(ESC),
            Some(b'0') => out.extend_from_slice(&src[m.clone()]),
            Some(&d @ b'1'..=b'9') => match caps.get(usize::from(d - b'1'), m.clone())? {
                CaptureValue::Str(r) => out.extend_from_slice(&src[r]),
                CaptureValue::Position(n) => out.extend_from_slice(n.to_string().as_bytes()),
            },
            _ => return Err(PatternError::InvalidReplacementEscape),
        }
        rest = &rest[i + 2..];
    }
    out.extend_from_slice(rest);
    Ok(())
}

/// Whether the pattern has none of the bytes that make it more than a
/// literal (`nospecials`), so that `find` may search for it directly.
pub(crate) fn is_literal(pat: &[u8]) -> bool {
    !pat.iter().any(|b| SPECIALS.contains(b))
}

/// The first occurrence of `needle` in `hay` (`lmemfind`); the empty
/// needle is found at once.
pub(crate) fn find_literal(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last_start {
        let at = from + hay[from..=last_start].iter().position(|&b| b == first)?;
        if hay[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `string.find(src, pat)`: where the first match starts and ends.
    fn find(src: &str, pat: &str) -> Result<Option<(usize, usize)>, PatternError> {
        let found = match search(
            src.as_bytes(),
            pat.as_bytes(),
            0,
            &mut 0,
            u64::MAX,
            u64::MAX,
        )? {
            Search::Found(f) => Some(f),
            _ => None,
        };
        Ok(found.map(|f| (f.start, f.end)))
    }

    #[test]
    fn classes_items_and_anchors() {
        assert_eq!(find("hello world", "o w"), Ok(Some((4, 7))));
        assert_eq!(find("abc123", "%d+"), Ok(Some((3, 6))));
        assert_eq!(find("abc", "^b"), Ok(None));
        assert_eq!(find("abc", "c$"), Ok(Some((2, 3))));
        assert_eq!(find("a$b", "$b"), Ok(Some((1, 3))));
        assert_eq!(find("x\x0by", "%s"), Ok(Some((1, 2))));
        assert_eq!(find("[]]", "[]]+"), Ok(Some((1, 3))));
        assert_eq!(find("a-z", "[a-]+"), Ok(Some((0, 2))));
        assert_eq!(find("THE (quick) fox", "%f[%a]%a+"), Ok(Some((0, 3))));
        assert_eq!(find("x(a(b)c)y", "%b()"), Ok(Some((1, 8))));
    }

    #[test]
    fn errors() {
        assert_eq!(find("a", "%"), Err(PatternError::EndsWithEscape));
        assert_eq!(find("a", "[a"), Err(PatternError::MissingBracket));
        assert_eq!(find("a", "[a%"), Err(PatternError::MissingBracket));
        assert_eq!(find("a", "%b"), Err(PatternError::MissingBalanceArgs));
        assert_eq!(find("a", "%fa"), Err(PatternError::MissingFrontierSet));
        assert_eq!(find("a", "(%1)"), Err(PatternError::InvalidCaptureIndex(1)));
        assert_eq!(find("a", "%0"), Err(PatternError::InvalidCaptureIndex(0)));
        assert_eq!(find("a", "a)"), Err(PatternError::InvalidPatternCapture));
        assert_eq!(
            find("a", &"(".repeat(33)),
            Err(PatternError::TooManyCaptures)
        );
        let deep = "a?".repeat(MAX_DEPTH as usize);
        assert_eq!(
            find(&"a".repeat(MAX_DEPTH as usize), &deep),
            Err(PatternError::TooComplex)
        );
    }

    /// The deepest matches stay well inside a small Rust stack (in
    /// optimized builds, such as the workspace's test profile).
    #[test]
    fn bounded_recursion_fits_a_small_stack() {
        let run = || {
            let n = MAX_DEPTH as usize;
            let subject = "a".repeat(n);
            for pat in [
                "a?".repeat(n),
                "(".repeat(31) + &"a?".repeat(n),
                "a-".repeat(n) + "$",
                "a*".repeat(n) + "b",
                "(a)".repeat(n / 4) + "%1*",
            ] {
                let _ = find(&subject[..n / 4], &pat);
                let _ = find(&subject, &pat);
            }
        };
        std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(run)
            .expect("spawn")
            .join()
            .expect("no stack overflow");
    }

    #[test]
    fn literal_search() {
        assert_eq!(find_literal(b"abcabc", b"ca"), Some(2));
        assert_eq!(find_literal(b"abc", b""), Some(0));
        assert_eq!(find_literal(b"", b""), Some(0));
        assert_eq!(find_literal(b"ab", b"abc"), None);
        assert_eq!(find_literal(b"aab", b"ab"), Some(1));
        assert!(is_literal(b"abc\0def"));
        assert!(!is_literal(b"abc\0.def"));
    }
}
