//! What a VM costs in memory, bare and with each library: the resident
//! bytes per VM of 2,000 VMs kept alive (what an idle agent pays before
//! it runs anything).
//!
//! ```sh
//! cargo run --release -p vm-stdlib --example vm_cost
//! ```

use vm_core::{LuaResult, Vm};

/// Resident memory of this process, in bytes (Linux).
fn resident() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

type Open = fn(&mut Vm) -> LuaResult<()>;

fn main() {
    let n = 2_000u64;
    let setups: [(&str, Open); 13] = [
        ("bare VM", |_| Ok(())),
        ("base", vm_stdlib::base::open_base),
        ("base + string", |vm| {
            vm_stdlib::base::open_base(vm)?;
            vm_stdlib::string::open_string(vm)
        }),
        ("base + table", |vm| {
            vm_stdlib::base::open_base(vm)?;
            vm_stdlib::table::open_table(vm)
        }),
        ("base + math", |vm| {
            vm_stdlib::base::open_base(vm)?;
            vm_stdlib::math::open_math(vm)
        }),
        ("base + io", |vm| {
            vm_stdlib::base::open_base(vm)?;
            vm_stdlib::io::open_io(vm)
        }),
        ("base + os", |vm| {
            vm_stdlib::base::open_base(vm)?;
            vm_stdlib::os::open_os(vm)
        }),
        ("base + debug", |vm| {
            vm_stdlib::base::open_base(vm)?;
            vm_stdlib::debug::open_debug(vm)
        }),
        ("base + coroutine", |vm| {
            vm_stdlib::base::open_base(vm)?;
            vm_stdlib::coroutine::open_coroutine(vm)
        }),
        ("base + utf8", |vm| {
            vm_stdlib::base::open_base(vm)?;
            vm_stdlib::utf8::open_utf8(vm)
        }),
        ("base + package", |vm| {
            vm_stdlib::base::open_base(vm)?;
            vm_stdlib::package::open_package(vm)
        }),
        ("sandbox profile", vm_stdlib::open_sandboxed),
        ("every library", vm_stdlib::open_all),
    ];
    // Each setup is measured in a process of its own (`vm_cost N`):
    // memory one frees stays mapped, and the next would reuse it.
    if let Some(k) = std::env::args()
        .nth(1)
        .and_then(|a| a.parse::<usize>().ok())
    {
        let Some(&(name, open)) = setups.get(k) else {
            return;
        };
        let before = resident();
        let vms: Vec<Box<Vm>> = (0..n)
            .map(|_| {
                let mut vm = Vm::new();
                open(&mut vm).expect("opens");
                vm
            })
            .collect();
        if let (Some(a), Some(b)) = (before, resident()) {
            println!("{name}: {} bytes per VM", b.saturating_sub(a) / n);
        }
        drop(vms);
        return;
    }
    let me = std::env::current_exe().expect("its own path");
    for k in 0..setups.len() {
        let status = std::process::Command::new(&me)
            .arg(k.to_string())
            .status()
            .expect("runs");
        assert!(status.success());
    }
}
