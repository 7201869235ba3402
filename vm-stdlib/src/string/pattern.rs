//! Lua patterns: the matcher behind `find`, `match`, `gmatch` and `gsub`
//! (`lstrlib.c`'s `MatchState` and `match`).
//!
//! The matcher is pure: it reads a subject and a pattern as byte slices and
//! reports positions, so it never touches the VM and its callers decide
//! when to borrow the strings. Errors are [`PatternError`]s, turned into
//! Lua errors (with the caller's position) by the natives.
//!
//! PUC Lua's matcher backtracks by recursion, bounded at [`MAX_DEPTH`]
//! nested levels ("pattern too complex"). This one goes through the same
//! levels in the same order without recursion ([`MatchState::run`]): each
//! level past the first starts at a backtracking point (a `?`, a
//! repetition, a capture opened or closed: a [`Frame`]) kept on an
//! explicit stack, so that an attempt can stop anywhere and go on later.
//!
//! # Pausing an attempt
//!
//! One match attempt (one start position) can take time exponential in
//! the pattern's length, so the natives' steps may end inside one:
//!
//! 1. The caller sets a pause mark on the work
//!    ([`MatchState::set_pause`]). Once the work reaches it, the attempt
//!    stops at its next pause point (a level started, another try of a
//!    backtracking point, an item that scanned the subject: `%b` or a
//!    back-reference, a test of a long set in a repetition) and returns
//!    [`Attempt::Paused`].
//! 2. [`MatchState::saved`] writes its whole state as bytes, which the
//!    natives keep in their frames as a Lua string: the stack, the
//!    captures, the pattern steps paid for (`free`), and where the
//!    innermost level is. The work counted so far is the caller's.
//! 3. [`MatchState::resume`], on a new state for the same subject and
//!    pattern, reads the bytes back and goes on as if the attempt had not
//!    stopped: the same steps counted, the same result and captures, the
//!    same errors at the same points. It refuses bytes that are not such a
//!    state (checking every position they hold), so that no bytes make
//!    the matcher read outside the subject, the pattern or the captures.
//!
//! Between two pause points the matcher's work is at most linear in the
//! pattern's length (the items of a level, the levels given up on the way
//! back to a backtracking point: each item once) plus one scan of the
//! subject (a repetition's, a `%b`'s or a back-reference's), so an
//! attempt stops within that of its mark.
//!
//! A match counts its work ([`MatchState::work`]), which the natives
//! charge as bytes scanned (`cost`): the subject's side and the
//! pattern's side, in the same steps, a subject step weighing
//! [`SUBJECT_STEP_BYTES`] bytes and a pattern step one.
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
//!   scanned or tested. The item where a level stops (failing, or
//!   handing over to a repetition or a capture) is not counted: each
//!   level is started by a counted step (a position, a try, a test), or
//!   by a capture, at most 64 of them in a row.
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
//! The pattern steps past those paid for are counted when the level that
//! took them ends, or before the tests of a long set; each count is
//! checked against the cap ([`MatchState::set_work_cap`]), so a match
//! stops once its counted work passes the cap, within one pass over the
//! pattern and the pattern steps already paid for (at most
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

/// What a subject step weighs in bytes scanned (the cost model's unit,
/// `string/cost.rs`): a repetition's byte, a lazy or optional try, each
/// standing for a test, a branch and up to [`PATTERN_ALLOWANCE`] pattern
/// steps taken for free. At one byte, backtracking searches ran 250-500
/// ns per unit of fuel where instructions run about 10 (a hostile pass's
/// `("a*"):rep(6) .. "b"` and `".-.-b"`). Pattern steps, the bytes of a
/// long set and the positions tried weigh a byte each: they are plain
/// scans and tests.
const SUBJECT_STEP_BYTES: u64 = 8;

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
    /// capture; holds `n` (a byte, so that a matcher's result fits in
    /// two registers).
    InvalidCaptureIndex(u8),
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
    /// Bytes given to [`MatchState::resume`] that are not the state of a
    /// paused attempt (only our own [`MatchState::saved`] writes them).
    BadState,
    /// The allocator refused room for a result ([`append`]).
    NoMemory,
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
            PatternError::NoMemory => vm_core::MEMORY_MESSAGE.into(),
            PatternError::BadState => "corrupted state of a paused pattern match".into(),
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
                // `i` is below 33 for all callers.
                Err(PatternError::InvalidCaptureIndex(
                    u8::try_from(i + 1).unwrap_or(u8::MAX),
                ))
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

/// A backtracking point of a match attempt: what a level of PUC's
/// recursion (`match`) does when the rest of the pattern, tried in the
/// level above it, fails (see the module docs). Kept on
/// [`MatchState`]'s stack, innermost last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// `x?` took its item at `s` (`ep` is the `?`): the rest was tried
    /// from `s + 1`; then the level goes on from `s` without the item.
    Optional { s: usize, ep: usize },
    /// A greedy repetition (`*`, or `+` past its first item) from `s`
    /// (`ep` is the suffix): the rest was tried after `i` items; then
    /// after one fewer, down to none.
    Greedy { s: usize, ep: usize, i: usize },
    /// A lazy repetition (`-`) of the class `p..ep`: the rest was tried
    /// at `s`; then at `s + 1` if the class matches at `s`.
    Lazy { s: usize, p: usize, ep: usize },
    /// A capture was opened: it is dropped again.
    Open,
    /// Capture `l` was closed: it is open again.
    Close { l: usize },
}

/// Where a paused attempt goes on (with its stack of [`Frame`]s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resume {
    /// The innermost level, at subject position `s` and pattern position
    /// `p`.
    At { s: usize, p: usize },
    /// A greedy repetition of the long set `p..ep` from `s`, with `i`
    /// items taken so far ([`MatchState::long_set_run`]).
    Scan {
        s: usize,
        p: usize,
        ep: usize,
        i: usize,
    },
}

/// How a match attempt, or the part of it run since it was resumed,
/// ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The pattern matched, up to this subject position.
    Match(usize),
    /// The pattern does not match at the attempt's position.
    NoMatch,
    /// The work passed the pause mark ([`MatchState::set_pause`]): the
    /// attempt goes on from [`MatchState::saved`] with
    /// [`MatchState::resume`].
    Paused,
}

thread_local! {
    /// The stack of the last [`MatchState`] dropped on this thread, kept
    /// for the next one: a `gsub` calling a function for each match makes
    /// a state per match, and allocating each one's stack cost it about 2%
    /// (`bench/string_gsub.lua`).
    static SPARE_STACK: std::cell::Cell<Vec<Frame>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Drop for MatchState<'_> {
    fn drop(&mut self) {
        let stack = std::mem::take(&mut self.stack);
        // During the thread's teardown the stack is simply freed.
        let _ = SPARE_STACK.try_with(|spare| spare.set(stack));
    }
}

/// The state of a match of one pattern against one subject (`MatchState`).
///
/// `pat` excludes a leading anchor `^`, which the callers handle; a
/// pattern position equal to `pat.len()` is the end of the pattern.
pub(crate) struct MatchState<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    caps: Captures,
    /// The backtracking points of the current attempt, outermost first:
    /// one per level above the first, so at most [`MAX_DEPTH`] - 1.
    stack: Vec<Frame>,
    /// Steps counted since the state was made (see the module docs).
    work: u64,
    /// Pattern steps paid for by the current match attempt and its
    /// subject steps and not yet taken (see the module docs); below zero,
    /// the steps taken past those, counted at the next
    /// [`MatchState::settle`].
    free: i64,
    /// Past this much work, the match fails with [`PatternError::WorkCap`].
    cap: u64,
    /// Once the work reaches this mark, the attempt pauses at its next
    /// pause point; between two attempts the caller's work lowers it
    /// ([`MatchState::spend`]).
    pause: u64,
    /// Where the attempt goes on, once it has paused.
    resume: Resume,
}

impl<'a> MatchState<'a> {
    /// A state for matching `pat` (without its anchor) against `src`.
    pub(crate) fn new(src: &'a [u8], pat: &'a [u8]) -> Self {
        MatchState {
            src,
            pat,
            caps: Captures::new(),
            stack: SPARE_STACK
                .try_with(std::cell::Cell::take)
                .unwrap_or_default(),
            work: 0,
            free: 0,
            cap: u64::MAX,
            pause: u64::MAX,
            resume: Resume::At { s: 0, p: 0 },
        }
    }

    /// Makes a match fail with [`PatternError::WorkCap`] once the work
    /// passes `cap`: what an instruction limit pays for.
    pub(crate) fn set_work_cap(&mut self, cap: u64) {
        self.cap = cap;
    }

    /// Makes the attempt pause ([`Attempt::Paused`]) at its first pause
    /// point once the work reaches `mark` (see the module docs).
    #[inline]
    pub(crate) fn set_pause(&mut self, mark: u64) {
        self.pause = mark;
    }

    /// Between two attempts, counts `n` units of the caller's work (such
    /// as a position tried) against the pause mark: true when the work,
    /// with those, has reached it.
    #[inline]
    pub(crate) fn spend(&mut self, n: u64) -> bool {
        if self.work + n > self.pause {
            return true;
        }
        self.pause -= n;
        false
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
        self.tick((n as u64).saturating_mul(SUBJECT_STEP_BYTES))
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
    #[inline(never)] // out of the matcher's loop
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
    pub(crate) fn match_at(&mut self, s: usize) -> Result<Attempt, PatternError> {
        self.caps.level = 0;
        self.stack.clear();
        // The attempt's position (counted by the caller) pays for these.
        self.free = PATTERN_ALLOWANCE;
        self.run(s, 0)
    }

    /// The captures of the last successful match.
    pub(crate) fn captures(&self) -> &Captures {
        &self.caps
    }

    /// `match`, without recursion: runs the attempt from subject position
    /// `s` and pattern position `p` in its innermost level, its stack
    /// holding the levels around it.
    ///
    /// A level goes past the items that match (PUC's `goto init`) until
    /// it ends, or starts a level above it: a backtracking point, pushed
    /// on the stack ([`Frame`]). A level that fails hands back to the
    /// latest backtracking point ([`MatchState::backtrack`]). Starting a
    /// level, or a try of a backtracking point, and taking an item that
    /// scans the subject (`%b`, a back-reference) are pause points.
    fn run(&mut self, mut s: usize, mut p: usize) -> Result<Attempt, PatternError> {
        loop {
            let end = 'items: loop {
                'counted: {
                    let Some(&pc) = self.pat.get(p) else {
                        break 'items Some(s); // end of pattern: success
                    };
                    match pc {
                        b'(' => {
                            let position = self.pat.get(p + 1) == Some(&b')');
                            self.open_capture(s, position)?;
                            p += 1 + usize::from(position);
                            break 'counted;
                        }
                        b')' => {
                            self.close_capture(s)?;
                            p += 1;
                            break 'counted;
                        }
                        b'$' if p + 1 == self.pat.len() => {
                            break 'items (s == self.src.len()).then_some(s);
                        }
                        ESC => match self.pat.get(p + 1) {
                            Some(b'b') => {
                                let Some(e) = self.match_balance(s, p + 2)? else {
                                    break 'items None;
                                };
                                self.step_past();
                                (s, p) = (e, p + 4);
                                break 'counted;
                            }
                            Some(b'f') => {
                                p += 2;
                                if self.pat.get(p) != Some(&b'[') {
                                    return Err(PatternError::MissingFrontierSet);
                                }
                                let ep = self.class_end(p)?;
                                if ep - p > SHORT_SET {
                                    self.take_set_tests(1, p, ep)?;
                                }
                                if !self.at_frontier(s, p, ep) {
                                    break 'items None;
                                }
                                self.step_past();
                                p = ep;
                                continue 'items;
                            }
                            Some(&d @ b'0'..=b'9') => {
                                let Some(e) = self.match_capture(s, d)? else {
                                    break 'items None;
                                };
                                self.step_past();
                                (s, p) = (e, p + 2);
                                break 'counted;
                            }
                            _ => {} // a class such as `%a`: a single-character item
                        },
                        _ => {}
                    }
                    // A single-character class with an optional repetition
                    // suffix.
                    let ep = self.class_end(p)?;
                    if ep - p > SHORT_SET {
                        // A long set is a pattern step per byte (scanned,
                        // then tested once).
                        self.take_set_tests(1, p, ep)?;
                    }
                    let suffix = self.pat.get(ep).copied();
                    if !self.single_match(s, p, ep) {
                        if let Some(b'*' | b'?' | b'-') = suffix {
                            self.step_past();
                            p = ep + 1; // zero repetitions are enough
                            continue 'items;
                        }
                        break 'items None;
                    }
                    match suffix {
                        Some(b'?') => {
                            self.tick_subject(1)?;
                            self.push(Frame::Optional { s, ep })?;
                            (s, p) = (s + 1, ep + 1);
                        }
                        Some(b'+') => match self.greedy(s + 1, p, ep, 0)? {
                            Some(at) => (s, p) = at,
                            None => return Ok(Attempt::Paused),
                        },
                        Some(b'*') => match self.greedy(s, p, ep, 0)? {
                            Some(at) => (s, p) = at,
                            None => return Ok(Attempt::Paused),
                        },
                        Some(b'-') => {
                            // The try, and the test of a subject byte
                            // after it.
                            self.tick_subject(1)?;
                            self.step_past();
                            self.push(Frame::Lazy { s, p, ep })?;
                            p = ep + 1;
                        }
                        _ => {
                            self.step_past();
                            (s, p) = (s + 1, ep);
                            continue 'items;
                        }
                    }
                }
                // A level started, or an item scanned the subject.
                if self.work >= self.pause {
                    return Ok(self.pause_at(s, p));
                }
            };
            // This level's pattern steps, and those of the levels it
            // started, past the steps paid for.
            self.settle()?;
            if let Some(e) = end {
                return Ok(Attempt::Match(e));
            }
            let Some(at) = self.backtrack()? else {
                return Ok(Attempt::NoMatch);
            };
            (s, p) = at;
            if self.work >= self.pause {
                return Ok(self.pause_at(s, p));
            }
        }
    }

    /// Pauses the attempt at `s` and `p` in its innermost level.
    #[cold]
    fn pause_at(&mut self, s: usize, p: usize) -> Attempt {
        self.resume = Resume::At { s, p };
        Attempt::Paused
    }

    /// Starts a level above the current one, `f` its backtracking point:
    /// past [`MAX_DEPTH`] levels, "pattern too complex".
    #[inline(always)]
    fn push(&mut self, f: Frame) -> Result<(), PatternError> {
        if self.stack.len() >= MAX_DEPTH as usize - 1 {
            return Err(PatternError::TooComplex);
        }
        if self.stack.len() == self.stack.capacity() {
            self.grow_stack();
        }
        self.stack.push(f);
        Ok(())
    }

    /// Makes room on the stack: at first for a few dozen levels (most
    /// matches need a few), then twice as many.
    #[cold]
    #[inline(never)]
    fn grow_stack(&mut self) {
        self.stack.reserve(self.stack.len().max(32));
    }

    /// The innermost level has failed: goes back to the latest
    /// backtracking point with another try, and returns where that try
    /// starts (the rest of the pattern in a new level, or after a failed
    /// `?` the rest of that level); `None` when the attempt has failed.
    /// Each level given up ends there (its steps settled).
    #[inline]
    fn backtrack(&mut self) -> Result<Option<(usize, usize)>, PatternError> {
        while let Some(&top) = self.stack.last() {
            let at = self.stack.len() - 1;
            match top {
                Frame::Optional { s, ep } => {
                    self.stack.pop();
                    self.step_past();
                    return Ok(Some((s, ep + 1)));
                }
                Frame::Greedy { s, ep, i } if i > 0 => {
                    self.stack[at] = Frame::Greedy { s, ep, i: i - 1 };
                    return Ok(Some((s + i - 1, ep + 1)));
                }
                Frame::Greedy { .. } => {}
                Frame::Lazy { s, p, ep } => {
                    if ep - p > SHORT_SET {
                        self.take_set_tests(1, p, ep)?;
                    }
                    if self.single_match(s, p, ep) {
                        self.stack[at] = Frame::Lazy { s: s + 1, p, ep };
                        self.tick_subject(1)?;
                        self.step_past();
                        return Ok(Some((s + 1, ep + 1)));
                    }
                }
                Frame::Open => self.caps.level -= 1,
                Frame::Close { l } => self.caps.slots[l].len = CapLen::Unfinished,
            }
            self.stack.pop();
            self.settle()?;
        }
        Ok(None)
    }

    /// Opens capture number `level` at `s` (a position capture `()` when
    /// `position`) and starts the level that matches the rest.
    #[inline(always)]
    fn open_capture(&mut self, s: usize, position: bool) -> Result<(), PatternError> {
        if self.caps.level >= MAX_CAPTURES {
            return Err(PatternError::TooManyCaptures);
        }
        let len = if position {
            CapLen::Position
        } else {
            CapLen::Unfinished
        };
        self.caps.slots[self.caps.level] = Capture { init: s, len };
        self.caps.level += 1;
        // A capture's opening is a pattern step like any item.
        self.step_past();
        self.push(Frame::Open)
    }

    /// Closes the innermost open capture at `s` and starts the level that
    /// matches the rest.
    #[inline(always)]
    fn close_capture(&mut self, s: usize) -> Result<(), PatternError> {
        let l = self.capture_to_close()?;
        self.caps.slots[l].len = CapLen::Closed(s - self.caps.slots[l].init);
        // The closing, and the open captures looked through to find it.
        self.free -= (self.caps.level - l) as i64;
        self.push(Frame::Close { l })
    }

    /// The innermost capture still open.
    fn capture_to_close(&self) -> Result<usize, PatternError> {
        (0..self.caps.level)
            .rev()
            .find(|&l| self.caps.slots[l].len == CapLen::Unfinished)
            .ok_or(PatternError::InvalidPatternCapture)
    }

    /// Greedy repetition (`*`, and `+` after its first item) of the class
    /// `p..ep` from `s`, `from` items already taken: takes as many items
    /// as match, and starts the level that tries the rest after them
    /// (giving them back one at a time as it fails). Returns where that
    /// level starts, or `None` when the scan of a long set paused.
    #[inline(always)]
    fn greedy(
        &mut self,
        s: usize,
        p: usize,
        ep: usize,
        from: usize,
    ) -> Result<Option<(usize, usize)>, PatternError> {
        let mut i = from;
        if ep - p > SHORT_SET {
            match self.long_set_run(s, p, ep, from)? {
                Some(n) => i = n,
                None => return Ok(None),
            }
        } else {
            while self.single_match(s + i, p, ep) {
                i += 1;
            }
        }
        self.count_repetition(i)?;
        self.push(Frame::Greedy { s, ep, i })?;
        Ok(Some((s + i, ep + 1)))
    }

    /// The number of subject bytes from `s` in the long set `p..ep`
    /// (`from` of them known already), its pattern steps counted (and
    /// checked against the cap) test by test: each test may scan the
    /// whole set. Each test is a pause point; `None` when it paused.
    #[cold]
    #[inline(never)] // out of the matcher's loop
    fn long_set_run(
        &mut self,
        s: usize,
        p: usize,
        ep: usize,
        from: usize,
    ) -> Result<Option<usize>, PatternError> {
        let mut i = from;
        loop {
            self.take_set_tests(1, p, ep)?;
            if !self.single_match(s + i, p, ep) {
                return Ok(Some(i));
            }
            i += 1;
            if self.work >= self.pause {
                self.resume = Resume::Scan { s, p, ep, i };
                return Ok(None);
            }
        }
    }

    /// The state of the paused attempt, as bytes for the natives to keep
    /// in their frames (see [`MatchState::resume`]). Only after
    /// [`Attempt::Paused`].
    pub(crate) fn saved(&self) -> Vec<u8> {
        let mut out = vec![STATE_FORMAT];
        // Zigzag: small magnitudes of either sign in few bytes.
        put_uint(&mut out, ((self.free << 1) ^ (self.free >> 63)) as u64);
        match self.resume {
            Resume::At { s, p } => put_uints(&mut out, 0, &[s, p]),
            Resume::Scan { s, p, ep, i } => put_uints(&mut out, 1, &[s, p, ep, i]),
        }
        put_uint(&mut out, self.caps.level as u64);
        for c in &self.caps.slots[..self.caps.level] {
            match c.len {
                CapLen::Unfinished => put_uints(&mut out, 0, &[c.init]),
                CapLen::Position => put_uints(&mut out, 1, &[c.init]),
                CapLen::Closed(len) => put_uints(&mut out, 2, &[c.init, len]),
            }
        }
        put_uint(&mut out, self.stack.len() as u64);
        for &f in &self.stack {
            match f {
                Frame::Optional { s, ep } => put_uints(&mut out, 0, &[s, ep]),
                Frame::Greedy { s, ep, i } => put_uints(&mut out, 1, &[s, ep, i]),
                Frame::Lazy { s, p, ep } => put_uints(&mut out, 2, &[s, p, ep]),
                Frame::Open => put_uints(&mut out, 3, &[]),
                Frame::Close { l } => put_uints(&mut out, 4, &[l]),
            }
        }
        out
    }

    /// Goes on with the attempt at subject position `start` that paused
    /// with the state `saved` ([`MatchState::saved`]), as if it had not
    /// paused: the same steps counted, the same result. The work counted
    /// before the pause is not this state's.
    ///
    /// # Errors
    /// Those of the attempt; [`PatternError::BadState`] for bytes that are
    /// not the state of a paused attempt at `start` of this pattern
    /// against this subject.
    pub(crate) fn resume(&mut self, start: usize, saved: &[u8]) -> Result<Attempt, PatternError> {
        if self.load(saved).is_none() || !self.resumable(start) {
            self.caps.level = 0;
            self.stack.clear();
            return Err(PatternError::BadState);
        }
        let (s, p) = match self.resume {
            Resume::At { s, p } => (s, p),
            Resume::Scan { s, p, ep, i } => match self.greedy(s, p, ep, i)? {
                Some(at) => at,
                None => return Ok(Attempt::Paused),
            },
        };
        self.run(s, p)
    }

    /// Reads a state written by [`MatchState::saved`] (checked by
    /// [`MatchState::resumable`]); `None` if it is not one.
    fn load(&mut self, saved: &[u8]) -> Option<()> {
        let mut r = Reader(saved);
        if r.byte()? != STATE_FORMAT {
            return None;
        }
        let z = r.uint()?;
        self.free = (z >> 1) as i64 ^ -((z & 1) as i64);
        self.resume = match r.byte()? {
            0 => Resume::At {
                s: r.pos()?,
                p: r.pos()?,
            },
            1 => Resume::Scan {
                s: r.pos()?,
                p: r.pos()?,
                ep: r.pos()?,
                i: r.pos()?,
            },
            _ => return None,
        };
        let level = r.pos()?;
        if level > MAX_CAPTURES {
            return None;
        }
        for slot in &mut self.caps.slots[..level] {
            let kind = r.byte()?;
            let init = r.pos()?;
            let len = match kind {
                0 => CapLen::Unfinished,
                1 => CapLen::Position,
                2 => CapLen::Closed(r.pos()?),
                _ => return None,
            };
            *slot = Capture { init, len };
        }
        self.caps.level = level;
        let frames = r.pos()?;
        if frames >= MAX_DEPTH as usize {
            return None;
        }
        self.stack.clear();
        for _ in 0..frames {
            let f = match r.byte()? {
                0 => Frame::Optional {
                    s: r.pos()?,
                    ep: r.pos()?,
                },
                1 => Frame::Greedy {
                    s: r.pos()?,
                    ep: r.pos()?,
                    i: r.pos()?,
                },
                2 => Frame::Lazy {
                    s: r.pos()?,
                    p: r.pos()?,
                    ep: r.pos()?,
                },
                3 => Frame::Open,
                4 => Frame::Close { l: r.pos()? },
                _ => return None,
            };
            self.stack.push(f);
        }
        r.0.is_empty().then_some(())
    }

    /// Whether the state just loaded is one a paused attempt at `start`
    /// can be in, so that going on from it stays within the subject, the
    /// pattern and the captures: the subject positions of the frames, the
    /// captures and the resume point never go back, from `start` to at
    /// most the subject's end; each frame's pattern position is the item
    /// or suffix it stands for; the captures are those the `Open` frames
    /// opened, closed exactly when a `Close` frame closed them.
    fn resumable(&self, start: usize) -> bool {
        let (src, pat) = (self.src.len(), self.pat.len());
        let suffix = |ep: usize, of: &[u8]| self.pat.get(ep).is_some_and(|c| of.contains(c));
        let class = |p: usize, ep: usize| p < pat && self.class_end(p) == Ok(ep);
        let slots = &self.caps.slots;
        // The subject position reached so far.
        let mut pos = start;
        let (mut opened, mut closed) = (0, 0u64);
        for &f in &self.stack {
            let (from, to) = match f {
                Frame::Optional { s, ep } if suffix(ep, b"?") => (s, s.checked_add(1)),
                Frame::Greedy { s, ep, i } if suffix(ep, b"*+") => (s, s.checked_add(i)),
                Frame::Lazy { s, p, ep } if class(p, ep) && suffix(ep, b"-") => (s, Some(s)),
                Frame::Open if opened < self.caps.level => {
                    opened += 1;
                    (slots[opened - 1].init, Some(slots[opened - 1].init))
                }
                Frame::Close { l } if l < opened && closed & (1 << l) == 0 => {
                    let CapLen::Closed(len) = slots[l].len else {
                        return false;
                    };
                    closed |= 1 << l;
                    let end = slots[l].init.checked_add(len);
                    (end.unwrap_or(usize::MAX), end)
                }
                _ => return false,
            };
            match to {
                Some(to) if pos <= from && to <= src => pos = to,
                _ => return false,
            }
        }
        let captures_agree = (0..self.caps.level)
            .all(|l| matches!(slots[l].len, CapLen::Closed(_)) == (closed & (1 << l) != 0));
        let resume_ok = match self.resume {
            Resume::At { s, p } => pos <= s && s <= src && p <= pat,
            Resume::Scan { s, p, ep, i } => {
                pos <= s
                    && s.checked_add(i).is_some_and(|e| e <= src)
                    && class(p, ep)
                    && ep - p > SHORT_SET
                    && suffix(ep, b"*+")
            }
        };
        opened == self.caps.level && captures_agree && resume_ok && self.free >= i64::MIN / 4
    }

    /// A back-reference `%d` at `s`: the text of capture `d` again. A
    /// position capture never matches (its length is a sentinel in PUC
    /// Lua, larger than any subject).
    fn match_capture(&mut self, s: usize, d: u8) -> Step {
        let n = d - b'0';
        let Some(c) = usize::from(n)
            .checked_sub(1)
            .filter(|&l| l < self.caps.level)
            .map(|l| self.caps.slots[l])
        else {
            return Err(PatternError::InvalidCaptureIndex(n));
        };
        match c.len {
            CapLen::Unfinished => Err(PatternError::InvalidCaptureIndex(n)),
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
    /// The search did its share of work between two attempts; it goes on
    /// from this position.
    Paused(usize),
    /// The search did its share of work inside the attempt at this
    /// position, which goes on from this state ([`MatchState::saved`]).
    Suspended(usize, Vec<u8>),
}

/// The first match in `ms`'s subject starting at or after `init`, which
/// is at most the subject's length (the loops of `str_find_aux` and
/// `gmatch_aux`); with `anchor` (a leading `^` the caller split off) the
/// match must start at `init`, and a match ending at `skip` (`gmatch`'s
/// previous match's end) is passed over. With `resume`, the attempt at
/// `init` goes on from that state ([`Search::Suspended`]).
///
/// Each position tried is a step, added to the matcher's work; the
/// search pauses once that work reaches `until`, between two attempts or
/// inside one ([`MatchState::set_pause`]), and past the cap
/// ([`MatchState::set_work_cap`]) it fails with
/// [`PatternError::WorkCap`].
pub(crate) fn search(
    ms: &mut MatchState<'_>,
    init: usize,
    resume: Option<&[u8]>,
    anchor: bool,
    skip: Option<usize>,
    until: u64,
) -> Result<Search, PatternError> {
    let len = ms.src.len();
    if init > len {
        return Ok(Search::NotFound);
    }
    // The positions are counted when the search stops (a resumed
    // attempt's when it started). The work so far plus the positions
    // tried before an attempt reach `until` when the matcher's work
    // reaches the attempt's pause mark: one less at each position.
    let resumed = u64::from(resume.is_some());
    let positions = |start: usize| (start + 1 - init) as u64 - resumed;
    ms.set_pause(until.min(ms.cap));
    let mut start = init;
    let mut attempt = match resume {
        Some(saved) => ms.resume(start, saved),
        None => ms.match_at(start),
    };
    let paused = loop {
        match attempt {
            Ok(Attempt::Match(end)) if Some(end) != skip => {
                ms.work += positions(start);
                return Ok(Search::Found(Found {
                    start,
                    end,
                    caps: ms.caps,
                }));
            }
            Ok(Attempt::Match(_) | Attempt::NoMatch) => {}
            Ok(Attempt::Paused) => break Search::Suspended(start, ms.saved()),
            Err(e) => {
                ms.work += positions(start);
                return Err(e);
            }
        }
        if anchor || start == len {
            ms.work += positions(start);
            return Ok(Search::NotFound);
        }
        if ms.spend(1) {
            break Search::Paused(start + 1);
        }
        start += 1;
        attempt = ms.match_at(start);
    };
    ms.work += positions(start);
    if ms.work > ms.cap {
        return Err(PatternError::WorkCap);
    }
    Ok(paused)
}

/// The first byte of a saved state ([`MatchState::saved`]): its format.
const STATE_FORMAT: u8 = 1;

/// Appends `n` in LEB128 (seven bits a byte, low bits first).
fn put_uint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends the byte `tag`, then the numbers `ns`.
fn put_uints(out: &mut Vec<u8>, tag: u8, ns: &[usize]) {
    out.push(tag);
    for &n in ns {
        put_uint(out, n as u64);
    }
}

/// Reads what [`put_uint`] and [`put_uints`] write: `None` at the end of
/// the bytes or for a number that does not fit.
struct Reader<'b>(&'b [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn uint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return None;
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn pos(&mut self) -> Option<usize> {
        usize::try_from(self.uint()?).ok()
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
        append(out, &rest[..i])?;
        match rest.get(i + 1) {
            Some(&ESC) => append(out, &[ESC])?,
            Some(b'0') => append(out, &src[m.clone()])?,
            Some(&d @ b'1'..=b'9') => match caps.get(usize::from(d - b'1'), m.clone())? {
                CaptureValue::Str(r) => append(out, &src[r])?,
                CaptureValue::Position(n) => append(out, n.to_string().as_bytes())?,
            },
            _ => return Err(PatternError::InvalidReplacementEscape),
        }
        rest = &rest[i + 2..];
    }
    append(out, rest)
}

/// Appends `bytes` to a result that may outgrow the machine (`gsub`'s):
/// a growth the allocator refuses is [`PatternError::NoMemory`] rather
/// than an abort.
pub(crate) fn append(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), PatternError> {
    out.try_reserve(bytes.len())
        .map_err(|_| PatternError::NoMemory)?;
    out.extend_from_slice(bytes);
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
        let (anchor, pat) = split_anchor(pat.as_bytes());
        let mut ms = MatchState::new(src.as_bytes(), pat);
        let found = match search(&mut ms, 0, None, anchor, None, u64::MAX)? {
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

    /// The deepest matches run on a small Rust stack: the matcher keeps
    /// its backtracking points on the heap.
    #[test]
    fn deep_matches_fit_a_small_stack() {
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

    /// An attempt's outcome and its captures (as they are at its end).
    type Outcome = (Result<Attempt, PatternError>, Vec<(usize, CapLen)>);

    fn outcome(ms: &MatchState<'_>, r: Result<Attempt, PatternError>) -> Outcome {
        let caps = ms.caps.slots[..ms.caps.level].iter();
        (r, caps.map(|c| (c.init, c.len)).collect())
    }

    /// The attempt of `pat` at `start` of `src`, run whole under `cap`:
    /// its outcome and its work.
    fn attempt_whole(src: &[u8], pat: &[u8], start: usize, cap: u64) -> (Outcome, u64) {
        let mut ms = MatchState::new(src, pat);
        ms.set_work_cap(cap);
        let r = ms.match_at(start);
        (outcome(&ms, r), ms.work)
    }

    /// The same attempt paused whenever its work since it was last
    /// resumed reaches `mark` (0: at every pause point), each time resumed
    /// from its saved bytes by a new state under what is left of `cap`:
    /// its outcome, its work, and how often it paused.
    fn attempt_paused(
        src: &[u8],
        pat: &[u8],
        start: usize,
        cap: u64,
        mark: u64,
    ) -> (Outcome, u64, usize) {
        let (mut saved, mut work, mut pauses) = (None::<Vec<u8>>, 0, 0);
        loop {
            let mut ms = MatchState::new(src, pat);
            ms.set_work_cap(cap - work);
            ms.set_pause(mark);
            let r = match &saved {
                Some(state) => ms.resume(start, state),
                None => ms.match_at(start),
            };
            work += ms.work;
            if r != Ok(Attempt::Paused) {
                return (outcome(&ms, r), work, pauses);
            }
            saved = Some(ms.saved());
            pauses += 1;
        }
    }

    /// Pausing the attempt at `start` anywhere changes nothing: the same
    /// outcome, captures and work, errors included (those of the cap
    /// too). Returns the pauses at mark 0.
    fn pausing_changes_nothing(src: &[u8], pat: &[u8], start: usize) -> usize {
        let (whole, work) = attempt_whole(src, pat, start, u64::MAX);
        let mut pauses = 0;
        for cap in [u64::MAX, work / 2, work.saturating_sub(1)] {
            let (whole, work) = attempt_whole(src, pat, start, cap);
            for mark in [0, 1, 2, 5, 17, 100] {
                let paused = attempt_paused(src, pat, start, cap, mark);
                let case = (String::from_utf8_lossy(src), String::from_utf8_lossy(pat));
                assert_eq!(
                    (&paused.0, paused.1),
                    (&whole, work),
                    "{case:?} at {start}, mark {mark}, cap {cap}"
                );
                if mark == 0 && cap == u64::MAX {
                    pauses = paused.2;
                }
            }
        }
        assert_eq!(attempt_whole(src, pat, start, u64::MAX), (whole, work));
        pauses
    }

    /// Hand-picked attempts through every kind of backtracking point,
    /// long sets, back-references, `%b`, `%f`, and errors found late.
    #[test]
    fn paused_attempts_go_on_exactly() {
        let a = |n| "a".repeat(n);
        let long = format!("[{}a]", "bcdefghijklmnopqrstuvwxyz".repeat(2));
        let cases = [
            (a(12), "a-a-a-a-b".to_string()),
            (a(12), "(a*)(a-)(a*)b".into()),
            (a(10), format!("{}{}", "a?".repeat(10), a(10))),
            (a(12), "a+a+a+$".into()),
            (a(20), "(a-)(a-)%2%1%1$".into()),
            (a(20), "((a-)(a-))%3%2x".into()),
            ("(()(()))()(".into(), "(.-)%b()(.-)%b()(.-)z".into()),
            (" ab ab ab".into(), "%f[%a](.-)%f[%A](.-)%f[%a]()x".into()),
            (a(30), format!("{long}*{long}-{long}?{long}+b")),
            (a(30), format!("({long}-)({long}*)%2c")),
            (a(8), "(a-)(a-)(a-)%4".into()),
            (a(8), "(a-)(a-))".into()),
            (a(8), "(a-)(a-(".into()),
            (a(MAX_DEPTH as usize), "a?".repeat(MAX_DEPTH as usize)),
            (
                a(40),
                "(".repeat(MAX_CAPTURES) + "a*)" + &"a)".repeat(MAX_CAPTURES - 1),
            ),
        ];
        for (src, pat) in &cases {
            let pauses: usize = (0..=src.len())
                .map(|start| pausing_changes_nothing(src.as_bytes(), pat.as_bytes(), start))
                .sum();
            assert!(pauses > 10, "{pat:?}: {pauses} pauses");
        }
    }

    /// Pieces of random patterns: items, classes, long sets, quantifiers,
    /// captures, back-references, `%b`, `%f`, anchors, and fragments.
    const PIECES: &[&str] = &[
        "a",
        "b",
        ".",
        "%a",
        "[ab]",
        "[^b]",
        "*",
        "+",
        "-",
        "?",
        "^",
        "$",
        "(",
        ")",
        "()",
        "%1",
        "%2",
        "%bab",
        "%f[a]",
        "%f[^a]",
        "[abcdefghijklmnopqrstuvwxyz]",
        "[",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: std::env::var("VM_TEST_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1) * 256,
            ..Default::default()
        })]

        /// Random patterns at every position of random subjects: pausing
        /// anywhere changes nothing.
        #[test]
        fn random_attempts_go_on_exactly(
            src in proptest::collection::vec(proptest::sample::select(&b"aab()"[..]), 0..10),
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..9),
        ) {
            let pat = pieces.concat();
            for start in 0..=src.len() {
                pausing_changes_nothing(&src, pat.as_bytes(), start);
            }
        }

        /// Any bytes given as a saved state are refused or give an attempt
        /// that runs without a panic.
        #[test]
        fn any_saved_bytes_are_safe(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48),
            start in 0usize..12,
        ) {
            let mut ms = MatchState::new(b"a(ab)ba(b)a", b"(a-)%b()(.-)%1");
            ms.set_work_cap(100_000);
            let _ = ms.resume(start, &[&[STATE_FORMAT][..], &bytes].concat());
        }
    }

    /// The states of paused attempts, each byte changed or cut short, are
    /// refused or go on without a panic.
    #[test]
    fn damaged_saved_states_are_safe() {
        let (src, pat) = (b"aa(a(b)a)ab", b"(a-)(.-)%b()(a*)%2");
        let mut states = vec![];
        for start in 0..=src.len() {
            let mut ms = MatchState::new(src, pat);
            ms.set_pause(0);
            let mut r = ms.match_at(start);
            while r == Ok(Attempt::Paused) {
                states.push((start, ms.saved()));
                let saved = ms.saved();
                ms = MatchState::new(src, pat);
                ms.set_pause(0);
                r = ms.resume(start, &saved);
            }
        }
        assert!(states.len() > 50);
        for (start, state) in &states {
            for i in 0..state.len() {
                for b in [0, 1, 2, 4, 0x7f, 0x80, 0xff, state[i] ^ 1] {
                    let mut damaged = state.clone();
                    damaged[i] = b;
                    for bytes in [&damaged[..], &state[..i]] {
                        let mut ms = MatchState::new(src, pat);
                        ms.set_work_cap(100_000);
                        let _ = ms.resume(*start, bytes);
                    }
                }
            }
        }
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
