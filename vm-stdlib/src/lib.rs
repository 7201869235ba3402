//! vm-stdlib: the Lua 5.4 standard libraries, built only on `vm-core`'s
//! public API.
//!
//! Each library has an `open_*` function; [`open_all`] opens every library
//! listed in [`LIBRARIES`], each registered in `registry._LOADED` (so error
//! messages name `coroutine.create` as Lua does). Opening a library also
//! registers its natives and continuations by identity (its module's
//! `NATIVES`, such as [`base::NATIVES`]: `Vm::register_natives`), so that
//! the VM can find them by name (`Vm::find_native`), as a snapshot's
//! restore does. [`open_all_lazily`] installs the same libraries made on
//! first use (what the `vm` command, Lua tasks and agents use), so that
//! a VM pays only for what its program touches. Today: `base`,
//! `package` (`require` of Lua modules), `coroutine`, `string` (patterns,
//! `format`, `pack`, `dump`), `table`, `math`, `utf8`, `io`, `os` and
//! `debug` (hooks included).
//!
//! ```
//! let mut vm = vm_core::Vm::new();
//! vm_stdlib::open_all(&mut vm);
//! let r = vm.exec(b"return select('#', pcall(error, 'x'))", "=doc").unwrap();
//! assert!(matches!(r[0], vm_core::Value::Int(2)));
//! ```

/// Declares a library's `static` natives (`ID = "identity" as "name" =>
/// function;`: the name is the table field `Vm::register` stores it
/// under) and continuations (`ID = "identity" => function;`), and
/// `NATIVES`, the list of them all, which opening the library registers
/// (`Vm::register_natives`). Every native and continuation of a library
/// is declared here, so that none is missing from its list.
macro_rules! natives {
    (
        natives { $($id:ident = $key:literal as $name:literal => $f:path;)* }
        $(continuations { $($kid:ident = $kkey:literal => $kf:path;)* })?
    ) => {
        $(
            static $id: vm_core::NativeFunction =
                vm_core::NativeFunction::new($name, $f).with_id($key);
        )*
        $($(
            static $kid: vm_core::Continuation = vm_core::Continuation::new($kkey, $kf);
        )*)?
        /// Every native and continuation of this library (those that only
        /// ever appear on a stack or in a frame too), which opening the
        /// library registers (`Vm::register_natives`).
        pub static NATIVES: vm_core::NativeList = vm_core::NativeList {
            natives: &[$(&$id),*],
            continuations: &[$($(&$kid),*)?],
        };
    };
}

mod auxlib;
pub mod base;
mod chunkfile;
pub mod coroutine;
pub mod debug;
pub mod docall;
pub mod io;
pub mod math;
pub mod os;
pub mod package;
mod resumable;
pub mod string;
pub mod table;
pub mod utf8;

use vm_core::{Lazy, LuaResult, Vm};

/// A library: its name and the function that installs it.
pub type Library = (&'static str, fn(&mut Vm) -> LuaResult<()>);

/// Every library, in the order `open_all` opens them.
pub const LIBRARIES: &[Library] = &[
    ("_G", base::open_base),
    ("package", package::open_package),
    ("coroutine", coroutine::open_coroutine),
    ("table", table::open_table),
    ("string", string::open_string),
    ("math", math::open_math),
    ("utf8", utf8::open_utf8),
    ("io", io::open_io),
    ("os", os::open_os),
    ("debug", debug::open_debug),
];

/// Opens every standard library.
pub fn open_all(vm: &mut Vm) -> LuaResult<()> {
    for (_, open) in LIBRARIES {
        open(vm)?;
    }
    Ok(())
}

/// A library made on first use (`Vm::open_lazily`).
const fn lazy(
    name: &'static str,
    natives: &'static vm_core::NativeList,
    open: fn(&mut Vm) -> LuaResult<()>,
) -> Lazy {
    Lazy::Library {
        name,
        globals: &[],
        string_metatable: false,
        natives: Some(natives),
        open,
    }
}

/// The string library made on first use: it also fills the metatable of
/// strings.
const STRING: Lazy = Lazy::Library {
    name: "string",
    globals: &[],
    string_metatable: true,
    natives: Some(&string::NATIVES),
    open: string::open_string,
};

/// Every library but the base library, made on first use: what
/// [`open_all_lazily`] installs.
pub static LAZY_LIBRARIES: [Lazy; 9] = [
    Lazy::Library {
        name: "package",
        globals: &["require"],
        string_metatable: false,
        natives: Some(&package::NATIVES),
        open: package::open_package,
    },
    lazy("coroutine", &coroutine::NATIVES, coroutine::open_coroutine),
    lazy("table", &table::NATIVES, table::open_table),
    STRING,
    lazy("math", &math::NATIVES, math::open_math),
    lazy("utf8", &utf8::NATIVES, utf8::open_utf8),
    lazy("io", &io::NATIVES, io::open_io),
    lazy("os", &os::NATIVES, os::open_os),
    lazy("debug", &debug::NATIVES, debug::open_debug),
];

/// The sandbox profile's libraries but the base library, made on first
/// use: what [`open_sandboxed_lazily`] installs.
pub static SANDBOX_LAZY_LIBRARIES: [Lazy; 6] = [
    lazy("coroutine", &coroutine::NATIVES, coroutine::open_coroutine),
    lazy("table", &table::NATIVES, table::open_table),
    STRING,
    lazy("math", &math::NATIVES, math::open_math),
    lazy("utf8", &utf8::NATIVES, utf8::open_utf8),
    lazy("os", &os::SANDBOX_NATIVES, os::open_os_sandboxed),
];

/// Every standard library, as [`open_all`] opens them, but each global
/// made the first time a program touches it: a VM pays only for what it
/// uses (an idle agent's VM, a few hundred bytes of library instead of
/// tens of kilobytes). A program cannot tell the difference: reading a
/// global in any way (`_G.x`, `rawget`, `next`, `require`, a method of a
/// string) makes it first, and one that the program sets or removes
/// before that stays as the program left it. The natives of every
/// library are registered at once, so that values naming them can be
/// received or restored before the library is opened.
///
/// ```
/// let mut vm = vm_core::Vm::new();
/// vm_stdlib::open_all_lazily(&mut vm).unwrap();
/// let r = vm.exec(b"string = nil; return require('string').upper('x'), ('y'):upper()", "=doc").unwrap();
/// assert_eq!(vm.to_display(r[0]), "X");
/// assert_eq!(vm.to_display(r[1]), "Y");
/// ```
pub fn open_all_lazily(vm: &mut Vm) -> LuaResult<()> {
    vm.register_native_lists(&ALL_NATIVES)?;
    base::open_base_lazily(vm, false)?;
    vm.open_lazily(&LAZY_LIBRARIES)
}

/// Every library's natives (what [`open_all_lazily`] registers at once).
pub static ALL_NATIVES: [&vm_core::NativeList; 10] = [
    &base::NATIVES,
    &package::NATIVES,
    &coroutine::NATIVES,
    &table::NATIVES,
    &string::NATIVES,
    &math::NATIVES,
    &utf8::NATIVES,
    &io::NATIVES,
    &os::NATIVES,
    &debug::NATIVES,
];

/// The sandbox profile's natives (what [`open_sandboxed_lazily`]
/// registers at once).
pub static SANDBOX_NATIVES: [&vm_core::NativeList; 7] = [
    &base::SANDBOX_NATIVES,
    &coroutine::NATIVES,
    &table::NATIVES,
    &string::NATIVES,
    &math::NATIVES,
    &utf8::NATIVES,
    &os::SANDBOX_NATIVES,
];

/// The sandbox profile ([`open_sandboxed`]), made on first use as
/// [`open_all_lazily`] makes every library.
pub fn open_sandboxed_lazily(vm: &mut Vm) -> LuaResult<()> {
    vm.register_native_lists(&SANDBOX_NATIVES)?;
    base::open_base_lazily(vm, true)?;
    vm.open_lazily(&SANDBOX_LAZY_LIBRARIES)
}

/// The libraries of the sandbox profile, in the order `open_sandboxed`
/// opens them: nothing that reaches files, processes or the environment.
pub const SANDBOX_LIBRARIES: &[Library] = &[
    ("_G", base::open_base_sandboxed),
    ("coroutine", coroutine::open_coroutine),
    ("table", table::open_table),
    ("string", string::open_string),
    ("math", math::open_math),
    ("utf8", utf8::open_utf8),
    ("os", os::open_os_sandboxed),
];

/// Opens the sandbox profile: the base library without `dofile` and
/// `loadfile` and with a `load` of text chunks only; `coroutine`, `table`,
/// `string`, `math` and `utf8`; and of `os` only `clock`, `date`,
/// `difftime` and `time`. No `io`, no other `os` function, no binary
/// chunks (the verifier guards the interpreter against bad bytecode, but
/// a sandbox should not rely on one line of defence).
///
/// ```
/// let mut vm = vm_core::Vm::new();
/// vm_stdlib::open_sandboxed(&mut vm);
/// let r = vm.exec(b"return io == nil and os.execute == nil and os.time() > 0", "=s").unwrap();
/// assert!(r[0].truthy());
/// ```
pub fn open_sandboxed(vm: &mut Vm) -> LuaResult<()> {
    for (_, open) in SANDBOX_LIBRARIES {
        open(vm)?;
    }
    Ok(())
}
