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
    let base: Open = vm_stdlib::base::open_base;
    // Each setup: its name and the libraries it opens, in order.
    let setups: [(&str, &[Open]); 15] = [
        ("bare VM", &[]),
        ("base", &[base]),
        ("base + string", &[base, vm_stdlib::string::open_string]),
        ("base + table", &[base, vm_stdlib::table::open_table]),
        ("base + math", &[base, vm_stdlib::math::open_math]),
        ("base + io", &[base, vm_stdlib::io::open_io]),
        ("base + os", &[base, vm_stdlib::os::open_os]),
        ("base + debug", &[base, vm_stdlib::debug::open_debug]),
        (
            "base + coroutine",
            &[base, vm_stdlib::coroutine::open_coroutine],
        ),
        ("base + utf8", &[base, vm_stdlib::utf8::open_utf8]),
        ("base + package", &[base, vm_stdlib::package::open_package]),
        ("sandbox profile", &[vm_stdlib::open_sandboxed]),
        ("every library", &[vm_stdlib::open_all]),
        (
            "sandbox profile, lazily",
            &[vm_stdlib::open_sandboxed_lazily],
        ),
        ("every library, lazily", &[vm_stdlib::open_all_lazily]),
    ];
    // Each setup is measured in a process of its own (`vm_cost N`):
    // memory one frees stays mapped, and the next would reuse it.
    if let Some(k) = std::env::args()
        .nth(1)
        .and_then(|a| a.parse::<usize>().ok())
    {
        let Some(&(name, libs)) = setups.get(k) else {
            return;
        };
        let before = resident();
        let vms: Vec<Box<Vm>> = (0..n)
            .map(|_| {
                let mut vm = Vm::new();
                for open in libs {
                    open(&mut vm).expect("opens");
                }
                vm
            })
            .collect();
        if let (Some(a), Some(b)) = (before, resident()) {
            // (A closed standard output ends the report, not in a panic.)
            let line = format!("{name}: {} bytes per VM\n", b.saturating_sub(a) / n);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes());
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
        if !status.success() {
            return;
        }
    }
}
