//! The registry of natives and continuations by identity
//! (`Vm::register_natives`, `Vm::find_native`, `Vm::find_continuation`):
//! what a snapshot's restore looks natives up in. Registering the same
//! `static` again is harmless; registering another one under an identity
//! taken (by a native or a continuation) is an error that registers
//! nothing of the list.

use vm_core::{Args, Continuation, LuaResult, NativeFunction, NativeList, Status, Step, Value, Vm};

fn ret0(_vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    Ok(Step::Return(0))
}

fn ret1(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    vm.push(Value::Int(1));
    Ok(Step::Return(1))
}

fn k0(_vm: &mut Vm, _args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    Ok(Step::Return(0))
}

static F: NativeFunction = NativeFunction::new("f", ret0).with_id("test.f");
static G: NativeFunction = NativeFunction::with_cost("g", ret1, 7).with_id("test.g");
static F_K: Continuation = Continuation::new("test.f_k", k0);
/// Another native under `F`'s identity (same name, same function even).
static F_AGAIN: NativeFunction = NativeFunction::new("f", ret0).with_id("test.f");
/// A continuation under `G`'s identity.
static G_AS_K: Continuation = Continuation::new("test.g", k0);
/// A native whose identity is its name.
static PLAIN: NativeFunction = NativeFunction::new("plain", ret0);
/// A native under the identity of one of vm-core's own.
static HOOK: NativeFunction = NativeFunction::new("hook", ret0).with_id("core.hook");

static LIB: NativeList = NativeList {
    natives: &[&F, &G],
    continuations: &[&F_K],
};

/// The message of a registration that failed.
fn refused(vm: &mut Vm, list: &'static NativeList) -> String {
    let e = vm.register_natives(list).expect_err("a conflict");
    e.message().expect("a message").to_string()
}

#[test]
fn constructors_keep_the_name_and_set_the_identity() {
    assert_eq!((F.id, F.name, F.cost), ("test.f", "f", 1));
    assert_eq!((G.id, G.name, G.cost), ("test.g", "g", 7));
    assert_eq!((PLAIN.id, PLAIN.name), ("plain", "plain"));
    assert_eq!(F_K.id, "test.f_k");
}

#[test]
fn registered_natives_and_continuations_are_found_by_identity() {
    let mut vm = Vm::new();
    assert!(vm.find_native("test.f").is_none());
    vm.register_natives(&LIB).unwrap();
    assert!(std::ptr::eq(vm.find_native("test.f").unwrap(), &F));
    assert!(std::ptr::eq(vm.find_native("test.g").unwrap(), &G));
    assert!(std::ptr::eq(
        vm.find_continuation("test.f_k").unwrap(),
        &F_K
    ));
    // One namespace, two kinds: a native is no continuation and back.
    assert!(vm.find_continuation("test.f").is_none());
    assert!(vm.find_native("test.f_k").is_none());
    // Names are not identities, and nothing else is there.
    assert!(vm.find_native("f").is_none());
    assert!(vm.find_native("").is_none());
    assert!(vm.find_native("test.h").is_none());
    // A VM finds only what it registered (the index of identities is the
    // process's).
    assert!(Vm::new().find_native("test.f").is_none());
}

#[test]
fn registering_the_same_statics_again_is_harmless() {
    let mut vm = Vm::new();
    vm.register_natives(&LIB).unwrap();
    vm.register_natives(&LIB).unwrap();
    // Another list sharing some of them.
    static MORE: NativeList = NativeList {
        natives: &[&G, &PLAIN, &PLAIN],
        continuations: &[&F_K],
    };
    vm.register_natives(&MORE).unwrap();
    assert!(std::ptr::eq(vm.find_native("plain").unwrap(), &PLAIN));
    assert!(std::ptr::eq(vm.find_native("test.g").unwrap(), &G));
}

#[test]
fn another_native_under_a_taken_identity_is_refused() {
    let mut vm = Vm::new();
    vm.register_natives(&LIB).unwrap();
    static CLASH: NativeList = NativeList {
        natives: &[&PLAIN, &F_AGAIN],
        continuations: &[],
    };
    let msg = refused(&mut vm, &CLASH);
    assert!(msg.contains("Vm::register_natives"), "{msg}");
    assert!(msg.contains("'test.f'"), "{msg}");
    assert!(msg.contains("native"), "{msg}");
    // Nothing of the refused list was registered; the first one stays.
    assert!(vm.find_native("plain").is_none());
    assert!(std::ptr::eq(vm.find_native("test.f").unwrap(), &F));
}

#[test]
fn natives_and_continuations_share_one_namespace() {
    let mut vm = Vm::new();
    vm.register_natives(&LIB).unwrap();
    static CLASH: NativeList = NativeList {
        natives: &[],
        continuations: &[&G_AS_K],
    };
    let msg = refused(&mut vm, &CLASH);
    assert!(msg.contains("'test.g'"), "{msg}");
    assert!(msg.contains("continuation"), "{msg}");
    assert!(vm.find_continuation("test.g").is_none());
    assert!(std::ptr::eq(vm.find_native("test.g").unwrap(), &G));
}

#[test]
fn a_list_clashing_with_itself_is_refused_whole() {
    let mut vm = Vm::new();
    static SELF_CLASH: NativeList = NativeList {
        natives: &[&PLAIN, &F, &F_AGAIN],
        continuations: &[&F_K],
    };
    let msg = refused(&mut vm, &SELF_CLASH);
    assert!(msg.contains("'test.f'"), "{msg}");
    for id in ["plain", "test.f"] {
        assert!(vm.find_native(id).is_none(), "{id}");
    }
    assert!(vm.find_continuation("test.f_k").is_none());
    // The VM goes on as before.
    vm.register_natives(&LIB).unwrap();
    assert!(std::ptr::eq(vm.find_native("test.f").unwrap(), &F));
}

#[test]
fn vm_cores_own_natives_are_registered_in_every_vm() {
    let mut vm = Vm::new();
    for id in [
        "core.finalizers",
        "core.hook",
        "core.message_handler",
        "core.main_closer",
        "core.closer",
    ] {
        let f = vm.find_native(id).unwrap_or_else(|| panic!("{id}"));
        assert_eq!(f.id, id);
        assert!(vm.find_continuation(&format!("{id}_k")).is_some(), "{id}_k");
    }
    static CLASH: NativeList = NativeList {
        natives: &[&HOOK],
        continuations: &[],
    };
    let msg = refused(&mut vm, &CLASH);
    assert!(msg.contains("'core.hook'"), "{msg}");
}

#[test]
fn a_native_value_tells_its_native() {
    let mut vm = Vm::new();
    let f = vm.new_native(&F);
    assert!(std::ptr::eq(vm.native_function(f).unwrap(), &F));
    let g = vm.new_native_closure(&G, vec![Value::Int(1)]).unwrap();
    assert!(std::ptr::eq(vm.native_function(g).unwrap(), &G));
    // A Rust closure has no identity; nor has anything but a native.
    let c = vm.create_function("c", |_, a: i64| a);
    assert!(vm.native_function(c.value()).is_none());
    let lua = vm.load(b"return 1", "=lua").unwrap();
    assert!(vm.native_function(lua).is_none());
    assert!(vm.native_function(Value::Int(1)).is_none());
    // Nor has a native closure of another VM; a native without upvalues
    // is a value, not an object (as PUC's light C functions): the same
    // in every VM.
    assert!(Vm::new().native_function(g).is_none());
    assert!(std::ptr::eq(Vm::new().native_function(f).unwrap(), &F));
    assert!(Vm::new().owns(f));
}
