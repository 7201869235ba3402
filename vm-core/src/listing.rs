//! Bytecode listings in the style of `luac -l` (`luac.c`'s `PrintFunction`).

use std::fmt::Write;

use crate::debug::chunk_id;
use crate::func::Proto;
use crate::heap::Heap;
use crate::number;
use crate::value::Value;

/// Lists `proto` and, recursively, its nested functions. With `full`, also
/// lists constants, locals and upvalues (`luac -l -l`).
///
/// ```
/// let mut vm = vm_core::Vm::new();
/// let f = vm.load(b"return 1 + 2", "=demo").unwrap();
/// let text = vm.listing(f, false).unwrap();
/// assert!(text.contains("RETURN"));
/// ```
pub(crate) fn listing(heap: &Heap, proto: &Proto, full: bool) -> String {
    let mut out = String::new();
    list_function(heap, proto, full, &mut out);
    out
}

fn constant_text(heap: &Heap, v: Value) -> String {
    match v {
        Value::Str(s) => format!("{:?}", String::from_utf8_lossy(heap.str_bytes(s))),
        Value::Int(i) => i.to_string(),
        Value::Num(f) => {
            let mut b = Vec::new();
            number::fmt_float(f, &mut b);
            String::from_utf8_lossy(&b).into_owned()
        }
        Value::Bool(b) => b.to_string(),
        Value::Nil => "nil".to_string(),
        other => other.type_name().to_string(),
    }
}

fn list_function(heap: &Heap, p: &Proto, full: bool, out: &mut String) {
    let kind = if p.line_defined == 0 {
        "main"
    } else {
        "function"
    };
    let _ = writeln!(
        out,
        "\n{kind} <{}:{},{}> ({} instructions)",
        chunk_id(&p.source),
        p.line_defined,
        p.last_line_defined,
        p.code.len()
    );
    let _ = writeln!(
        out,
        "{}{} params, {} slots, {} upvalues, {} locals, {} constants, {} functions",
        p.num_params,
        if p.is_vararg { "+" } else { "" },
        p.max_stack,
        p.upvalues.len(),
        p.locvars.len(),
        p.consts.len(),
        p.protos.len()
    );
    for (pc, op) in p.code.iter().enumerate() {
        let line = p.lines.get(pc).copied().unwrap_or(0);
        let operands: Vec<String> = op.operands().iter().map(|o| o.to_string()).collect();
        let _ = write!(
            out,
            "\t{}\t[{}]\t{:<9}\t{}",
            pc + 1,
            line,
            op.name(),
            operands.join(" ")
        );
        let k = match *op {
            crate::opcodes::Op::LoadK { bx, .. } => Some(bx),
            crate::opcodes::Op::GetField { c, .. }
            | crate::opcodes::Op::GetTabUp { c, .. }
            | crate::opcodes::Op::SelfOp { c, .. } => Some(c),
            crate::opcodes::Op::SetField { b, .. } | crate::opcodes::Op::SetTabUp { b, .. } => {
                Some(b)
            }
            _ => None,
        };
        if let Some(k) = k.and_then(|k| p.consts.get(k as usize)) {
            let _ = write!(out, "\t; {}", constant_text(heap, *k));
        }
        out.push('\n');
    }
    if full {
        let _ = writeln!(out, "constants ({}):", p.consts.len());
        for (i, k) in p.consts.iter().enumerate() {
            let _ = writeln!(out, "\t{i}\t{}", constant_text(heap, *k));
        }
        let _ = writeln!(out, "locals ({}):", p.locvars.len());
        for (i, l) in p.locvars.iter().enumerate() {
            let _ = writeln!(
                out,
                "\t{i}\t{}\t{}\t{}",
                l.name,
                l.start_pc + 1,
                l.end_pc + 1
            );
        }
        let _ = writeln!(out, "upvalues ({}):", p.upvalues.len());
        for (i, u) in p.upvalues.iter().enumerate() {
            let _ = writeln!(
                out,
                "\t{i}\t{}\t{}\t{}",
                u.name,
                u8::from(u.in_stack),
                u.index
            );
        }
    }
    for child in &p.protos {
        list_function(heap, child, full, out);
    }
}

impl crate::state::Vm {
    /// The listing of a Lua function value, as `luac -l` prints it; `None` for
    /// other values.
    pub fn listing(&self, f: Value, full: bool) -> Option<String> {
        match f {
            Value::LuaFn(cl) => Some(listing(&self.heap, &self.heap.lfns.get(cl)?.proto, full)),
            _ => None,
        }
    }
}
