//! Embedding the VM in a Rust program: the six everyday tasks.
//!
//! Run with `cargo run -p vm-stdlib --example embedding`.

use vm_core::{Function, Outcome, Table, Vm};

/// Runs the six tasks (public so that a test runs it too).
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. A VM with the standard library.
    let mut vm = Vm::new();
    vm_stdlib::open_all(&mut vm)?;

    // 2. A typed Rust function, registered as a global.
    vm.set_global_function("hypot", |_, (a, b): (f64, f64)| a.hypot(b))?;

    // 3. Lua code that calls it.
    vm.exec(
        br#"config = { name = "demo", size = hypot(3, 4) }
            function greet(who) return "hello, " .. who end"#,
        "=setup",
    )?;

    // 4. A global table, read back with typed fields.
    let config: Table = vm.globals().get(&mut vm, "config")?;
    let name: String = config.get(&mut vm, "name")?;
    let size: f64 = config.get(&mut vm, "size")?;
    println!("{name}: {size}");

    // 5. A Lua function, called from Rust.
    let greet: Function = vm.globals().get(&mut vm, "greet")?;
    let text: String = greet.call(&mut vm, "Rust")?;
    println!("{text}");

    // 6. A run under an instruction budget, resumed slice after slice.
    let work = vm.load(
        b"local n = 0 for i = 1, 1e6 do n = n + i end return n",
        "=work",
    )?;
    let (mut outcome, mut slices) = (vm.start(work, &[], 100_000)?, 1);
    while let Outcome::OutOfFuel = outcome {
        outcome = vm.resume(vm.main_thread(), &[], 100_000)?;
        slices += 1;
    }
    if let Outcome::Return(values) = outcome {
        let n: i64 = vm.from_value(values[0])?;
        println!("sum {n} in {slices} slices");
    }
    Ok(())
}
