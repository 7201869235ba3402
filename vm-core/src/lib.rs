//! vm-core: Lua 5.4 values, heap and collector, compiler and the stackless
//! interpreter.
//!
//! This crate starts no threads and touches no file system or clock: the
//! standard library (`vm-stdlib`) and the drivers (`vm-sched`, `vm-thread`,
//! `vm-cli`) add those on top of its public API.
//!
//! The public API is re-exported here, by concern:
//! - [`Vm`]: one Lua state (`lua.h`), its string hash keyed by a random
//!   secret ([`Vm::with_hash_seed`] fixes it for replays). [`Vm::load`] compiles a chunk,
//!   [`Vm::call`] runs a function, [`Vm::exec`] does both; raw globals,
//!   tables, strings and rooting ([`Vm::root`], [`RootId`]) are methods of
//!   `Vm`.
//! - Driving: [`Vm::start`] runs a call on the main thread and
//!   [`Vm::resume`] runs a coroutine ([`Vm::new_thread`]), each with an
//!   instruction budget; the [`Outcome`] says whether it returned, yielded,
//!   ran out of fuel or offloaded a [`Job`], and the next `resume`
//!   continues exactly where it stopped; [`Vm::cancel`] unwinds a parked
//!   run instead, its `__close` handlers run under a budget too
//!   ([`Cancelled`]). Limits: [`Vm::set_instruction_limit`],
//!   [`Vm::set_memory_limit`] ([`LIMIT_MESSAGE`], [`MEMORY_MESSAGE`]).
//! - Owned handles, for Rust code: [`Table`], [`Function`], [`LuaString`],
//!   [`Thread`] and [`AnyUserData`] keep their object alive while Rust
//!   holds them (clones share it; dropping the last one releases it, from
//!   any thread). Access is typed: [`Table::get`], [`Table::set`],
//!   [`Table::len`], [`Table::pairs`], [`Table::sequence_values`],
//!   [`Function::call`] with tuples of arguments and results,
//!   [`Vm::eval`], [`Vm::globals`]; [`Vm::create_function`] (or
//!   [`Vm::create_function_mut`] for an `FnMut`) makes a Rust closure a
//!   Lua function. A handle used with another VM is an `Err`. See
//!   `vm-stdlib/examples/embedding.rs` for a whole program.
//! - [`Value`]: a 16-byte `Copy` value, what natives work with (the stack
//!   roots their values); heap objects are raw handles
//!   ([`TableRef`], [`StrRef`], [`LuaFnRef`], [`NativeRef`], [`ThreadRef`],
//!   [`UserDataRef`]) into the VM's arenas. A raw handle stays valid while the
//!   object is reachable from Lua (a stack, a table, an owned handle, a
//!   root): one kept only by Rust goes stale at the next collection. Every
//!   function that takes values checks them ([`Vm::owns`]), so a stale,
//!   made-up or foreign handle is the error "bad handle" (reads find
//!   nothing), never a read of another object.
//! - Natives: a [`NativeFunction`] receives [`Args`] and answers with a
//!   [`Step`]: a return, a tail call, or a request that records a named
//!   [`Continuation`] on the native's frame, as `lua_callk` does
//!   ([`Vm::callk`], [`Vm::pcallk`], [`Vm::yieldk`], [`Vm::resumek`],
//!   [`Vm::offloadk`]); calls it requests run on the interpreter's own loop
//!   and come back to the continuation. Each native and continuation has
//!   an identity, unique in the process ([`NativeFunction::id`],
//!   [`Continuation::id`]; a native's [`NativeFunction::name`] is only the
//!   field [`Vm::register`] stores it under): a VM registers them by lists
//!   ([`NativeList`], [`Vm::register_natives`]) and finds them by identity
//!   ([`Vm::find_native`], [`Vm::find_continuation`]), the names a snapshot
//!   refers to them by ([`Vm::native_function`] tells a native value's).
//!   The auxiliary layer (`lauxlib.h`:
//!   [`Vm::check_integer`], [`Vm::opt_string`], [`Vm::arg_error`], ...)
//!   reads and checks arguments. Rust closures with typed arguments and
//!   results ([`Vm::create_function`]) convert through [`FromLua`],
//!   [`IntoLua`] and their multi-value forms; [`Tm`] names metamethod
//!   events.
//! - Errors: [`LuaError`] carries any Lua value; [`Vm::error_to_string`]
//!   renders it as the `lua` command does.
//! - Debugging: [`DebugInfo`] ([`Vm::level_info`]), tracebacks
//!   ([`Vm::traceback`]), chunk names ([`chunk_id`]), and call, return,
//!   line and count hooks ([`Vm::set_hook`], [`Hook`]).
//! - [`number`]: Lua's arithmetic and number conversions (`lvm.c`,
//!   `lobject.c`), pure functions over [`Value`], for natives.
//! - [`tools`]: the compiler on its own, prototypes and instructions, for
//!   testing and inspecting compiled code ([`Vm::listing`] is `luac -l`).
//!
//! The rest of the crate (heap, collector, interpreter, compiler
//! internals) is private: its invariants are kept by the functions above.
//!
//! ```
//! use vm_core::{Vm, Value};
//!
//! let mut vm = Vm::new();
//! let results = vm.exec(b"local x = 6 return x * 7", "=example").unwrap();
//! assert!(matches!(results[0], Value::Int(42)));
//! ```
//!
//! # Owned handles
//!
//! A raw [`Value`] names an object only while Lua reaches it: natives use
//! raw values because the stack roots them. Rust code outside natives
//! holds [`Table`], [`Function`], [`LuaString`], [`Thread`] and
//! [`AnyUserData`] instead, made by [`Vm::globals`], [`Vm::create_table`],
//! [`Vm::create_string`], [`Vm::create_userdata`], [`Vm::create_thread`],
//! [`Vm::create_function`], or converted from values ([`FromLua`]: a
//! field read with [`Table::get`], a result of [`Function::call`] or
//! [`Vm::eval`]).
//!
//! - A handle keeps its object alive while it, or any clone of it, lives;
//!   dropping the last clone releases it, from any thread (handles are
//!   `Send` and `Sync`, as the VM is `Send`).
//! - Every method takes the VM (`&mut vm`), which owns the heap, and
//!   checks that the handle is one of its own: a handle used with another
//!   VM is an `Err`.
//! - A handle stored where its own VM reaches it (captured by a Rust
//!   closure made a Lua function, or inside a userdata's payload) keeps
//!   its object alive as long as that closure or userdata lives, as a
//!   registry reference would: a cycle through Rust (a table holding the
//!   closure that holds the table) is never collected. Capture a
//!   [`RootId`] or look the object up instead where that matters.
//! - Making handles through the VM ([`Vm::create_table`], ...) is where a
//!   Rust loop's garbage is collected when no Lua runs, and checks the
//!   memory limit.
//!
//! # Typed conversions
//!
//! Conversions between Rust values and Lua values, and Rust closures as
//! Lua functions (the convenience layer of the embedding API, in the
//! spirit of `luaL_check*`/`lua_push*`).
//!
//! - [`IntoLua`] turns a Rust value into a [`Value`]; [`FromLua`] turns a
//!   `Value` back, with Lua's conversion rules (`lua_tointegerx`,
//!   `lua_tonumberx`, `lua_tolstring`, `lua_toboolean`).
//! - [`FromLuaArgs`] reads a native's arguments (a single [`FromLua`] type,
//!   a tuple of up to 8, or [`Variadic`]) and reports failures exactly as
//!   `luaL_argerror` does: `bad argument #2 to 'f' (number expected, got
//!   string)`.
//! - [`IntoLuaMulti`] pushes a native's results, or makes the arguments
//!   of a call from Rust: `()` for none, one value, a tuple, [`Variadic`],
//!   or a `Result` whose error becomes a Lua error. [`FromLuaMulti`] reads
//!   a call's results the same ways ([`Function::call`],
//!   [`Vm::eval`]).
//! - [`Vm::create_function`] wraps a Rust closure `Fn(&mut Vm, A) -> R` as a
//!   Lua function ([`Vm::create_function_mut`] for an `FnMut`,
//!   [`Vm::create_plain_function`] for a closure without the `&mut Vm`
//!   parameter); [`Vm::set_global_function`] also stores it in a
//!   global. The name given identifies the closure (it is not persistable);
//!   error messages name the function as Lua does, by how it was called or
//!   by its global name, else `?`.
//!
//! | Rust | to Lua | from Lua |
//! |------|--------|----------|
//! | `i8`..`i64`, `isize`, `u16`..`u64`, `usize` | integer (error if it does not fit) | integer, float with an exact integer value, numeric string; "value out of range" when it does not fit |
//! | `f64`, `f32` | float | number or numeric string |
//! | `bool` | boolean | any value, by truthiness (nil and false are false) |
//! | `String`, `&str` | string | string (must be UTF-8), or a number formatted as `tostring` does |
//! | `Vec<u8>`, `&[u8]` | string | string (any bytes) or number |
//! | `Option<T>` | nil for `None` | nil or absent is `None` |
//! | [`Value`] | itself | itself (absent is nil) |
//! | [`Table`], [`Function`], [`LuaString`], [`Thread`], [`AnyUserData`] | the object | a new handle on an object of that type, else "table expected, got number", ... |
//! | [`TableRef`], [`ThreadRef`], [`UserDataRef`], [`StrRef`] | the object | that type (a raw handle, for natives) |
//! | `Vec<T>` | a sequence table `{t[1], ..., t[n]}` | (not converted) |
//!
//! `u8` is deliberately neither: `Vec<u8>` is a byte string, not a table of
//! numbers.
//!
//! ## Example
//!
//! ```
//! use vm_core::Vm;
//!
//! let mut vm = Vm::new();
//! vm.set_global_function("add", |_, (a, b): (i64, i64)| a + b);
//! vm.set_global_function("div", |_, (a, b): (i64, i64)| -> Result<i64, String> {
//!     if b == 0 {
//!         Err("division by zero".to_string())
//!     } else {
//!         Ok(a / b)
//!     }
//! });
//!
//! let r = vm.exec(b"return add(2, 3), div(7, 2)", "=example").unwrap();
//! assert_eq!(vm.from_value::<i64>(r[0]).unwrap(), 5);
//! assert_eq!(vm.from_value::<i64>(r[1]).unwrap(), 3);
//!
//! // An `Err` is a Lua error, positioned like `luaL_error`'s.
//! let e = vm.exec(b"return div(1, 0)", "=example").unwrap_err();
//! assert_eq!(e.message(), Some("example:1: division by zero"));
//!
//! // Arguments are checked with Lua's own messages.
//! let e = vm.exec(b"return add(1, 'x')", "=example").unwrap_err();
//! assert_eq!(
//!     e.message(),
//!     Some("example:1: bad argument #2 to 'add' (number expected, got string)")
//! );
//! ```
//!
//! Rust closures are not persistable: their state is not Lua values, so
//! a VM holding one cannot be snapshotted. Natives that must
//! survive a snapshot are written as [`NativeFunction`]s.
//!
//! # Embedding: natives, continuations, budgets and offload
//!
//! A native that calls back into Lua returns the request made by
//! [`Vm::callk`] and finishes in its continuation, so the call can yield or
//! run out of fuel in the middle. A native that must block returns
//! [`Vm::offloadk`] with a [`Job`]: the driver runs it (here on a worker thread) and hands the
//! result back with [`Vm::complete_offload`].
//!
//! ```
//! use vm_core::{
//!     Args, Continuation, Job, JobValue, LuaResult, NativeFunction, Outcome, Status, Step,
//!     Value, Vm,
//! };
//!
//! // `twice(f, x)` returns f(f(x)): two calls through the interpreter.
//! static TWICE: NativeFunction = NativeFunction::new("twice", twice);
//! static TWICE_K: Continuation = Continuation::new("twice_k", twice_k);
//!
//! fn twice(vm: &mut Vm, args: Args) -> LuaResult<Step> {
//!     let (f, x) = (vm.arg(args, 1), vm.arg(args, 2));
//!     vm.push(f);
//!     vm.push(x);
//!     Ok(vm.callk(1, &TWICE_K, 1))
//! }
//!
//! // The continuation's state is the frame's values and `ctx`: the
//! // result of the call is at offset 2 (where the callee was pushed).
//! fn twice_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
//!     let r = vm.frame_get(args, 2);
//!     if ctx == 0 {
//!         return Ok(Step::Return(1));
//!     }
//!     vm.frame_truncate(args, 2);
//!     vm.push(vm.arg(args, 1));
//!     vm.push(r);
//!     Ok(vm.callk(1, &TWICE_K, 0))
//! }
//!
//! // `slow_square(n)` computes n * n in a job that may block.
//! static SLOW_SQUARE: NativeFunction = NativeFunction::new("slow_square", slow_square);
//! static JOB_DONE: Continuation = Continuation::new("job_done", job_done);
//!
//! fn slow_square(vm: &mut Vm, args: Args) -> LuaResult<Step> {
//!     let n = vm.check_integer(args, 1)?;
//!     let job = Job::new(move || Ok(vec![JobValue::Int(n * n)]));
//!     Ok(vm.offloadk(job, &JOB_DONE, 0))
//! }
//!
//! // The job's values were pushed above the arguments.
//! fn job_done(vm: &mut Vm, args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
//!     let n = vm.frame_top(args) - args.len();
//!     if status == Status::Error {
//!         return Err(vm.error("the job failed"));
//!     }
//!     Ok(Step::Return(n))
//! }
//!
//! let mut vm = Vm::new();
//! let g = vm.globals_ref();
//! vm.register(g, &[&TWICE, &SLOW_SQUARE]);
//! // A typed Rust closure needs no stack handling at all.
//! vm.set_global_function("add", |_, (a, b): (i64, i64)| a + b);
//!
//! let f = vm
//!     .load(b"local s = 0
//!             for i = 1, 100 do s = add(s, i) end
//!             return twice(function(x) return x * 3 end, s), slow_square(12)",
//!           "=embedded")
//!     .unwrap();
//!
//! // Drive the call 50 instructions at a time; run jobs on a worker thread.
//! let main = vm.main_thread();
//! let (mut slices, mut out) = (1, vm.start(f, &[], 50));
//! let results = loop {
//!     match out.unwrap() {
//!         Outcome::Return(values) => break values,
//!         Outcome::OutOfFuel => {}
//!         Outcome::Offload(job) => {
//!             let result = std::thread::spawn(move || job.run()).join().unwrap();
//!             vm.complete_offload(main, result).unwrap();
//!         }
//!         // (No native here waits for its driver, and the main thread
//!         // does not yield.)
//!         Outcome::Wait | Outcome::Yield(_) => unreachable!(),
//!     }
//!     slices += 1;
//!     out = vm.resume(main, &[], 50);
//! };
//! assert!(matches!(results[..], [Value::Int(45450), Value::Int(144)]));
//! assert!(slices > 5);
//! ```

mod alloc;
mod api;
mod arena;
mod auxlib;
mod call;
mod closethread;
mod compiler;
mod convert;
mod debug;
mod dump;
mod error;
mod finalize;
mod func;
mod gc;
mod handle;
mod heap;
mod hook;
mod lazy;
mod light;
mod limit;
mod listing;
mod load;
mod meta;
mod msgh;
mod names;
mod native;
mod newstate;
pub mod number;
mod opcodes;
mod raw;
mod resume;
mod state;
mod table;
pub mod tools;
mod transfer;
mod value;
mod verify;
mod vm;

pub use alloc::can_allocate;
pub use api::{Meta, RootId};
pub use convert::{
    ConvertError, FromLua, FromLuaArgs, FromLuaMulti, IntoLua, IntoLuaMulti, Variadic,
};
pub use debug::{chunk_id, DebugInfo};
pub use error::{LuaError, LuaResult};
pub use handle::{AnyUserData, Function, LuaString, Pairs, Sequence, Table, Thread};
pub use heap::RustFn;
pub use limit::{LIMIT_MESSAGE, MEMORY_MESSAGE};
pub use native::{
    Args, Continuation, ContinuationFn, Deliver, Job, JobResult, JobValue, NativeFn,
    NativeFunction, NativeList, Request, Status, Step,
};
pub use resume::{Cancelled, Outcome};
pub use state::{
    Extra, Hook, HookEvent, HookFn, HookMask, HookStep, Lazy, ThreadStatus, Tm, Vm, WarnHandler,
    MAX_CCALLS, MAX_STACK,
};
pub use transfer::Packet;
pub use value::{LuaFnRef, NativeRef, StrRef, TableRef, ThreadRef, UserDataRef, Value};
