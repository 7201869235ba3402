//! The declarations of debug hooks (`lua_Hook`, `lua_sethook`'s arguments,
//! and the hook fields of `lstate.h`'s `lua_State`): the public hook types
//! and `HookState`, the per-thread hook and tracing state that `Thread`
//! holds. The tracing protocol, and the only code that writes a
//! `HookState`'s tracing fields, is in `hook.rs`.

use crate::error::LuaResult;
use crate::state::Vm;
use crate::value::Value;

/// What a hook is called for (`lua_Debug.event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEvent {
    /// A function is called.
    Call,
    /// A Lua function is entered by a tail call.
    TailCall,
    /// A function returns.
    Return,
    /// The interpreter starts a new line (the line number).
    Line(u32),
    /// `count` instructions were executed.
    Count,
}

impl HookEvent {
    /// The name the debug library passes to Lua hooks.
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::Call => "call",
            HookEvent::TailCall => "tail call",
            HookEvent::Return => "return",
            HookEvent::Line(_) => "line",
            HookEvent::Count => "count",
        }
    }
}

/// A hook function (`lua_Hook`). It runs with the hooked function at
/// stack level 0 ([`Vm::level_info`]); an error it returns is raised where
/// the event happened. It may ask for a call ([`HookStep::Call`]).
pub type HookFn = fn(&mut Vm, HookEvent) -> LuaResult<HookStep>;

/// What a hook function asks for when it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookStep {
    /// Nothing: the hooked code goes on.
    Done,
    /// Call the function the hook pushed below its `nargs` arguments (with
    /// [`Vm::push`]) and drop its results. The call runs under the
    /// instruction budget (it is suspended and resumed like any Lua code)
    /// but cannot yield; an error it raises is raised where the event
    /// happened. This is how a hook runs Lua code (`debug.sethook`).
    Call {
        /// The number of arguments above the function.
        nargs: usize,
    },
}

/// Which events call the hook, besides the count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HookMask {
    /// Function calls (`LUA_MASKCALL`).
    pub call: bool,
    /// Function returns (`LUA_MASKRET`).
    pub ret: bool,
    /// New lines (`LUA_MASKLINE`).
    pub line: bool,
}

/// A thread's hook (`lua_sethook`'s arguments).
#[derive(Clone, Copy, Debug)]
pub struct Hook {
    /// The function called on each event.
    pub func: HookFn,
    /// The call, return and line events it wants.
    pub mask: HookMask,
    /// Call it every `count` instructions too (0: never).
    pub count: u32,
    /// A value for the hook function (the debug library keeps the Lua
    /// function to call here), kept alive by the thread. New threads
    /// inherit the function, mask and count, not this value.
    pub data: Value,
}

/// An instruction (frame index and pc) traced only for its return event
/// when it next runs: one running again after a `__close` handler
/// (`finish_op`), whose line and count were traced, or the `RETURN` after
/// a tail call of a native (`tail`), which PUC Lua returns from within
/// the `TAILCALL`, at its line. Keyed by pc too, so that a mark left by a
/// frame an error unwound cannot apply to another instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Redo {
    pub(crate) frame: usize,
    pub(crate) pc: usize,
    pub(crate) tail: bool,
}

/// The events of one site already reported by a hook that ran as a frame
/// (`run_hook`): when the site runs again, it reports only later ones.
/// A site is a frame and the pc of its traced instruction (`hook::NATIVE` for
/// a native frame's call and return); unwinding the frame forgets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Done {
    pub(crate) frame: usize,
    pub(crate) pc: usize,
    pub(crate) stage: Stage,
}

/// The events of one site, in the order they are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    Call,
    Count,
    Line,
    Return,
}

/// The hook running on a thread (hooks do not nest): its event, the hooked
/// frame, the stack top to give back, and whether the hooked Lua frame's
/// pc was moved past the traced instruction while it runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Active {
    pub(crate) event: HookEvent,
    pub(crate) frame: usize,
    pub(crate) top: usize,
    pub(crate) bump: bool,
}

/// A thread's hook and the state tracing needs. Fields other than `hook`
/// are read and written by `hook.rs` alone.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HookState {
    pub(crate) hook: Option<Hook>,
    /// Instructions until the next count event.
    pub(crate) countdown: u32,
    /// Events are off (`!allowhook`) while a hook or a finalizer runs on
    /// this thread; its instructions still count for the count hook.
    pub(crate) events_off: bool,
    /// The frame and pc of the last traced instruction (`L->oldpc`; the
    /// pc is `None` when the next one must fire a line event).
    pub(crate) last_frame: usize,
    pub(crate) old_pc: Option<usize>,
    /// An instruction to trace only for its return event (`Redo`).
    pub(crate) redo: Option<Redo>,
    /// While a call or return hook runs: the hooked frame, and the first
    /// value transferred (as a local index) and how many (`getinfo`'s
    /// `r`).
    pub(crate) transfer: Option<(usize, usize, usize)>,
    /// The hook running, from its runner's push to its return.
    pub(crate) active: Option<Active>,
    /// The events already reported at the site the hook left.
    pub(crate) done: Option<Done>,
}

impl HookState {
    /// No hook, nothing traced: what a thread holds until a hook is set
    /// (or a finalizer turns events off).
    const NONE: HookState = HookState {
        hook: None,
        countdown: 0,
        events_off: false,
        last_frame: 0,
        old_pc: None,
        redo: None,
        transfer: None,
        active: None,
        done: None,
    };

    /// The state a new thread starts with: its creator's hook.
    pub(crate) fn inherited(&self) -> HookState {
        HookState {
            hook: self.hook.map(|h| Hook {
                data: Value::Nil,
                ..h
            }),
            countdown: self.hook.map_or(0, |h| h.count),
            ..HookState::default()
        }
    }
}

impl crate::state::Unused for HookState {
    fn none() -> &'static HookState {
        static NONE: HookState = HookState::NONE;
        &NONE
    }
}
