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
//! cases on a 128 KiB stack), under 3 KiB in unoptimized builds (under
//! 600 KiB in all).
//!
//! A match counts its work ([`MatchState::work`]), which the natives
//! charge as bytes scanned (`cost`): the subject's side and the
//! pattern's side, in the same steps.
//!
//! - Subject steps: one per subject byte a repetition, a back-reference
//!   or a balance scans, one per try of a lazy (`-`) or optional (`?`)
//!   item, and (counted by the loops over positions) one per position
//!   tried.
//! - Pattern steps: one per item a match goes past (a byte, `.`, a class
//!   such as `%a`, a set, `%b`, `%f`, a back-reference, an item taken
//!   zero times or after a failed `?` try), one per subject byte a
//!   repetition tests against its item, and for a set of more than
//!   [`SHORT_SET`] bytes one more per byte of the set each time it is
//!   scanned or tested. The item where a level of the recursion stops
//!   (failing, or handing over to a repetition or a capture) is not
//!   counted: each level is started by a counted step (a position, a
//!   try, a test), or by a capture, at most 64 of them in a row.
//!
//! So that the small patterns of everyday use cost what they did (one
//! step per position), each match attempt, and each subject step it
//! counts, pays for [`PATTERN_ALLOWANCE`] pattern steps; only the pattern
//! steps past those paid for in the attempt are counted. The matcher's
//! work is therefore bounded by a constant times the steps counted,
//! whatever the lengths of the pattern, its sets and its literal runs: a
//! long set or literal run tried at each position pays for its length
//! every time. (Between two counted steps the matcher does an amount of
//! work bounded by [`PATTERN_ALLOWANCE`], [`SHORT_SET`] and
//! [`MAX_CAPTURES`], not by the pattern's length.)
//!
//! The pattern steps past those paid for are counted when the level of
//! the recursion that took them ends, or before the tests of a long set;
//! each count is checked against the cap ([`MatchState::set_work_cap`]),
//! so a match stops once its counted work passes the cap, within one
//! pass over the pattern and the pattern steps already paid for (at most
//! [`PATTERN_ALLOWANCE`] times the work counted).

use std::ops::Range;

/// Maximum number of captures in a pattern (`LUA_MAXCAPTURES`).
pub(crate) const MAX_CAPTURES: usize = 32;

/// Maximum nesting of the matcher's recursion (`MAXCCALLS` in
/// `lstrlib.c`).
pub(crate) const MAX_DEPTH: u32 = 200;

/// The escape character of patterns and replacement strings (`L_ESC`).
pub(crate) const ESC: u8 = b'%';

/// Pattern steps each match attempt and each subject step it counts pay
/// for (see the module docs): an attempt that goes past up to this many
/// items costs one step, its position.
const PATTERN_ALLOWANCE: i64 = 4;

/// Sets of more than this many bytes count a pattern step per byte each
/// time they are scanned or tested (see the module docs); a shorter one
/// is one item.
const SHORT_SET: usize = 16;

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
    /// Steps counted since the state was made (see the module docs).
    work: u64,
    /// Pattern steps paid for by the current match attempt and its
    /// subject steps and not yet taken (see the module docs); below zero,
    /// the steps taken past those, counted at the next
    /// [`MatchState::settle`].
    free: i64,
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
            free: 0,
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

    /// Counts `n` subject steps, which pay for `n` times
    /// [`PATTERN_ALLOWANCE`] pattern steps.
    #[inline]
    fn tick_subject(&mut self, n: usize) -> Result<(), PatternError> {
        self.free = self.free.saturating_add(n as i64 * PATTERN_ALLOWANCE);
        self.tick(n as u64)
    }

    /// Counts a greedy repetition that took `i` bytes: `i` subject steps,
    /// and `i + 1` pattern steps for the bytes tested (a long set's other
    /// bytes are counted as it is tested).
    #[inline]
    fn count_repetition(&mut self, i: usize) -> Result<(), PatternError> {
        self.tick_subject(i)?;
        self.free -= i as i64 + 1;
        Ok(())
    }

    /// Takes one pattern step (an item gone past, a test), counted at
    /// the next [`MatchState::settle`] unless paid for.
    #[inline]
    fn step_past(&mut self) {
        self.free -= 1;
    }

    /// Counts the pattern steps taken past those paid for, failing past
    /// the cap.
    #[inline]
    fn settle(&mut self) -> Result<(), PatternError> {
        if self.free < 0 {
            return self.settle_unpaid();
        }
        Ok(())
    }

    /// [`MatchState::settle`] when steps are to be counted.
    #[inline(never)]
    fn settle_unpaid(&mut self) -> Result<(), PatternError> {
        let unpaid = self.free.unsigned_abs();
        self.free = 0;
        self.tick(unpaid)
    }

    /// Takes the pattern steps of `tests` scans or tests of the long set
    /// `p..ep` (one per byte of the set), past the one step each is
    /// already, and counts those not paid for.
    #[cold]
    #[inline(never)] // out of the matcher's recursion, whose frame it would grow
    fn take_set_tests(&mut self, tests: usize, p: usize, ep: usize) -> Result<(), PatternError> {
        let steps = (ep - p - 1).saturating_mul(tests);
        self.free = self
            .free
            .saturating_sub(i64::try_from(steps).unwrap_or(i64::MAX));
        self.settle()
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
        // The attempt's position (counted by the caller) pays for these.
        self.free = PATTERN_ALLOWANCE;
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
                            self.step_past();
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
                        if ep - p > SHORT_SET {
                            self.take_set_tests(1, p, ep)?;
                        }
                        if self.at_frontier(s, p, ep) {
                            self.step_past();
                            p = ep;
                            continue;
                        }
                        break None;
                    }
                    Some(&d @ b'0'..=b'9') => match self.match_capture(s, d)? {
                        Some(e) => {
                            self.step_past();
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
            if ep - p > SHORT_SET {
                // A long set is a pattern step per byte (scanned, then
                // tested once).
                self.take_set_tests(1, p, ep)?;
            }
            let suffix = self.pat.get(ep).copied();
            if !self.single_match(s, p, ep) {
                if let Some(b'*' | b'?' | b'-') = suffix {
                    self.step_past();
                    p = ep + 1; // zero repetitions are enough
                    continue;
                }
                break None;
            }
            match suffix {
                Some(b'?') => {
                    self.tick_subject(1)?;
                    if let Some(e) = self.do_match(s + 1, ep + 1)? {
                        break Some(e);
                    }
                    self.step_past();
                    p = ep + 1;
                }
                Some(b'+') => break self.max_expand(s + 1, p, ep)?,
                Some(b'*') => break self.max_expand(s, p, ep)?,
                Some(b'-') => break self.min_expand(s, p, ep)?,
                _ => {
                    self.step_past();
                    (s, p) = (s + 1, ep);
                }
            }
        };
        self.depth += 1;
        // This level's pattern steps, and those of the levels it started,
        // past the steps paid for.
        self.settle()?;
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
        // A capture's opening is a pattern step like any item.
        self.step_past();
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
        // The closing, and the open captures looked through to find it.
        self.free -= (self.caps.level - l) as i64;
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
        if ep - p > SHORT_SET {
            i = self.long_set_run(s, p, ep)?;
        } else {
            while self.single_match(s + i, p, ep) {
                i += 1;
            }
        }
        self.count_repetition(i)?;
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

    /// The number of subject bytes from `s` in the long set `p..ep`, its
    /// pattern steps counted (and checked against the cap) test by test:
    /// each test may scan the whole set.
    #[cold]
    #[inline(never)] // out of the matcher's recursion, whose frame it would grow
    fn long_set_run(&mut self, s: usize, p: usize, ep: usize) -> Result<usize, PatternError> {
        let mut i = 0;
        loop {
            self.take_set_tests(1, p, ep)?;
            if !self.single_match(s + i, p, ep) {
                return Ok(i);
            }
            i += 1;
        }
    }

    /// Lazy repetition (`-`): tries the rest of the pattern first, and
    /// takes one more item each time that fails.
    #[inline(always)] // one Rust frame per recursion level
    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> Step {
        loop {
            // The try, and the test of a subject byte after it.
            self.tick_subject(1)?;
            self.step_past();
            if let Some(e) = self.do_match(s, ep + 1)? {
                return Ok(Some(e));
            }
            if ep - p > SHORT_SET {
                self.take_set_tests(1, p, ep)?;
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

/// Needles longer than this are searched for in linear time
/// ([`two_way`]); shorter ones by their first byte, then a comparison.
const SHORT_NEEDLE: usize = 32;

/// The first occurrence of `needle` in `hay` (`lmemfind`); the empty
/// needle is found at once. Its time is linear in `hay` (for a needle
/// of up to [`SHORT_NEEDLE`] bytes, at most that many comparisons per
/// byte of `hay`), which is what `find` pays for.
pub(crate) fn find_literal(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > SHORT_NEEDLE {
        return two_way(hay, needle);
    }
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

/// The first occurrence of `needle` (not empty) in `hay` by the Two-Way
/// algorithm of Crochemore and Perrin: at most about `2 * hay.len()`
/// byte comparisons, and no memory.
fn two_way(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let n = needle.len();
    let last_start = hay.len().checked_sub(n)?;
    // A critical factorization `needle[..crit] ++ needle[crit..]`: the
    // later of the two maximal suffixes, for either byte order.
    let (crit_less, period_less) = maximal_suffix(needle, false);
    let (crit_greater, period_greater) = maximal_suffix(needle, true);
    let (crit, period) = if crit_less > crit_greater {
        (crit_less, period_less)
    } else {
        (crit_greater, period_greater)
    };
    if needle[..crit] == needle[period..period + crit] {
        // `period` is the needle's period: after a shift by it, the
        // needle's first `n - period` bytes are known to match (`memory`).
        let (mut at, mut memory) = (0, 0);
        while at <= last_start {
            let window = &hay[at..at + n];
            let right = (crit.max(memory)..n).find(|&i| needle[i] != window[i]);
            if let Some(i) = right {
                at += i - crit + 1;
                memory = 0;
                continue;
            }
            if (memory..crit).rev().all(|i| needle[i] == window[i]) {
                return Some(at);
            }
            at += period;
            memory = n - period;
        }
    } else {
        // No short period: a shift past the larger half is safe.
        let shift = crit.max(n - crit) + 1;
        let mut at = 0;
        while at <= last_start {
            let window = &hay[at..at + n];
            let right = (crit..n).find(|&i| needle[i] != window[i]);
            if let Some(i) = right {
                at += i - crit + 1;
                continue;
            }
            if needle[..crit] == window[..crit] {
                return Some(at);
            }
            at += shift;
        }
    }
    None
}

/// The maximal suffix of `x` (not empty) for the byte order, reversed
/// when `greater`: where it starts, and its period.
fn maximal_suffix(x: &[u8], greater: bool) -> (usize, usize) {
    let (mut left, mut right, mut offset, mut period) = (0, 1, 0, 1);
    while let Some(&a) = x.get(right + offset) {
        let b = x[left + offset];
        if (a < b && !greater) || (a > b && greater) {
            // The suffix is smaller: its period is all of it so far.
            right += offset + 1;
            offset = 0;
            period = right - left;
        } else if a == b {
            // One more byte of the current period.
            if offset + 1 == period {
                right += offset + 1;
                offset = 0;
            } else {
                offset += 1;
            }
        } else {
            // The suffix is larger: it starts here.
            left = right;
            right += 1;
            offset = 0;
            period = 1;
        }
    }
    (left, period)
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

    /// The first occurrence, by trying every position.
    fn naive_find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        (0..=hay.len()).find(|&i| hay[i..].starts_with(needle))
    }

    /// All strings over `alphabet` of lengths up to `max`.
    fn all_strings(alphabet: &[u8], max: usize) -> Vec<Vec<u8>> {
        let mut all = vec![vec![]];
        let mut last = vec![vec![]];
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|s: &Vec<u8>| {
                    alphabet.iter().map(move |&c| {
                        let mut t = s.clone();
                        t.push(c);
                        t
                    })
                })
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    /// Two-Way finds what trying every position finds: every needle of up
    /// to 8 bytes over two or three letters in every haystack of up to 11
    /// (and 8) bytes.
    #[test]
    fn two_way_agrees_with_a_naive_search() {
        for (alphabet, needles, hays) in [(&b"ab"[..], 8, 11), (&b"abc"[..], 6, 8)] {
            let hays = all_strings(alphabet, hays);
            for needle in all_strings(alphabet, needles).iter().skip(1) {
                for hay in &hays {
                    assert_eq!(
                        two_way(hay, needle),
                        naive_find(hay, needle),
                        "{:?} in {:?}",
                        String::from_utf8_lossy(needle),
                        String::from_utf8_lossy(hay)
                    );
                }
            }
        }
    }

    /// Long needles (past `SHORT_NEEDLE`), periodic or not, found or not.
    #[test]
    fn long_literal_search() {
        let a = |n| "a".repeat(n);
        let cases = [
            (a(200) + "b" + &a(50), a(100) + "b"),
            (a(200), a(100) + "b"),
            (a(300), a(100)),
            ("xy".repeat(100) + "xyz", "xy".repeat(40) + "xyz"),
            ("abcab".repeat(50), "cababcabab".repeat(5)),
            ("abcab".repeat(50), "bcaba".repeat(9)),
            (a(40) + "b" + &a(40), a(39) + "b" + &a(40)),
            (a(40) + "b" + &a(40), "b".to_string() + &a(41)),
        ];
        for (hay, needle) in &cases {
            let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
            assert!(needle.len() > SHORT_NEEDLE);
            assert_eq!(find_literal(hay, needle), naive_find(hay, needle));
        }
    }
}
