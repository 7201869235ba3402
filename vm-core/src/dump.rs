//! Binary chunks (`ldump.c`, `lundump.c`): what `string.dump` writes and
//! `load` reads back.
//!
//! The format is this VM's own (its instructions are not PUC Lua's), behind
//! PUC's signature so that `load` tells binary from text the same way:
//!
//! ```text
//! header   "\x1bLua" 0x54 FORMAT DATA(6 bytes) OPSIZE INT(8) NUM(8)
//! function source? line_defined last_line_defined num_params is_vararg
//!          max_stack code consts upvalues protos lines locvars upnames
//! ```
//!
//! Integers in the body are LEB128 varints (operands zigzag-encoded); a
//! string is its length plus one (0 for "none") and its bytes. Nested
//! functions whose source equals their parent's omit it, as PUC's do.
//!
//! Loading trusts nothing: every read is bounds-checked, nesting is
//! limited, instructions are rebuilt through `Op::from_parts` (which range-
//! checks every operand) and the result goes through the verifier like
//! compiled code, so a hostile chunk gets an error, never undefined
//! behaviour. `strip` drops the source name, the line information and
//! local variable and upvalue names, as PUC's does.

use std::sync::Arc;

use crate::func::{LocVar, Proto, ProtoDraft, UpvalDesc};
use crate::heap::Heap;
use crate::opcodes::Op;
use crate::value::Value;

/// The first bytes of every binary chunk (`LUA_SIGNATURE`).
pub(crate) const SIGNATURE: &[u8] = b"\x1bLua";
const VERSION: u8 = 0x54;
/// Not PUC's format 0: this VM's instruction encoding.
const FORMAT: u8 = 0x80;
/// Detects text-mode corruption of the chunk (`LUAC_DATA`).
const DATA: &[u8] = b"\x19\x93\r\n\x1a\n";
const INT_CHECK: i64 = 0x5678;
const NUM_CHECK: f64 = 370.5;
/// Deeper nesting than the compiler produces (its limit is 200 levels).
const MAX_NESTING: usize = 250;

const TAG_NIL: u8 = 0;
const TAG_FALSE: u8 = 1;
const TAG_TRUE: u8 = 2;
const TAG_INT: u8 = 3;
const TAG_NUM: u8 = 4;
const TAG_STR: u8 = 5;

/// Serialises `proto` (a function and the functions nested in it).
pub(crate) fn dump(proto: &Proto, heap: &Heap, strip: bool) -> Vec<u8> {
    let mut w = Writer {
        out: Vec::new(),
        heap,
        strip,
    };
    w.out.extend_from_slice(SIGNATURE);
    w.out.push(VERSION);
    w.out.push(FORMAT);
    w.out.extend_from_slice(DATA);
    w.out.push(std::mem::size_of::<Op>() as u8);
    w.out.extend_from_slice(&INT_CHECK.to_le_bytes());
    w.out.extend_from_slice(&NUM_CHECK.to_le_bytes());
    w.function(proto, None);
    w.out
}

struct Writer<'h> {
    out: Vec<u8>,
    heap: &'h Heap,
    strip: bool,
}

impl Writer<'_> {
    fn uint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.out.push(byte);
                return;
            }
            self.out.push(byte | 0x80);
        }
    }

    fn int(&mut self, v: i64) {
        self.uint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn bytes(&mut self, b: Option<&[u8]>) {
        match b {
            None => self.uint(0),
            Some(b) => {
                self.uint(b.len() as u64 + 1);
                self.out.extend_from_slice(b);
            }
        }
    }

    fn function(&mut self, p: &Proto, parent_source: Option<&str>) {
        let source = if self.strip || parent_source == Some(&*p.source) {
            None
        } else {
            Some(p.source.as_bytes())
        };
        self.bytes(source);
        self.uint(p.line_defined.into());
        self.uint(p.last_line_defined.into());
        self.out.push(p.num_params);
        self.out.push(p.is_vararg.into());
        self.out.push(p.max_stack);
        self.uint(p.code.len() as u64);
        for op in &p.code {
            self.out.push(op.code());
            for x in op.operands() {
                self.int(x);
            }
        }
        self.uint(p.consts.len() as u64);
        for &k in &p.consts {
            self.constant(k);
        }
        self.uint(p.upvalues.len() as u64);
        for u in &p.upvalues {
            self.out.push(u.in_stack.into());
            self.out.push(u.index);
        }
        self.uint(p.protos.len() as u64);
        for child in &p.protos {
            self.function(child, Some(&p.source));
        }
        let lines = if self.strip { &[][..] } else { &p.lines[..] };
        self.uint(lines.len() as u64);
        for &l in lines {
            self.uint(l.into());
        }
        let locvars = if self.strip { &[][..] } else { &p.locvars[..] };
        self.uint(locvars.len() as u64);
        for v in locvars {
            self.bytes(Some(v.name.as_bytes()));
            self.uint(v.start_pc.into());
            self.uint(v.end_pc.into());
        }
        let names = if self.strip { 0 } else { p.upvalues.len() };
        self.uint(names as u64);
        for u in &p.upvalues[..names] {
            self.bytes(Some(u.name.as_bytes()));
        }
    }

    fn constant(&mut self, k: Value) {
        match k {
            Value::Bool(false) => self.out.push(TAG_FALSE),
            Value::Bool(true) => self.out.push(TAG_TRUE),
            Value::Int(i) => {
                self.out.push(TAG_INT);
                self.int(i);
            }
            Value::Num(f) => {
                self.out.push(TAG_NUM);
                self.out.extend_from_slice(&f.to_le_bytes());
            }
            Value::Str(s) => {
                self.out.push(TAG_STR);
                let b = self.heap.str_bytes(s);
                self.uint(b.len() as u64);
                self.out.extend_from_slice(b);
            }
            // The compiler only makes nil, boolean, number and string
            // constants (`Proto`'s invariant).
            _ => self.out.push(TAG_NIL),
        }
    }
}

/// Reads a binary chunk back into a prototype (not yet verified), naming
/// `chunkname` in errors as `lundump.c` does: "NAME: bad binary format
/// (truncated chunk)".
pub(crate) fn undump(bytes: &[u8], chunkname: &str, heap: &mut Heap) -> Result<Proto, String> {
    let name = crate::debug::chunk_id(chunkname);
    let mut r = Reader {
        bytes,
        pos: 0,
        heap,
    };
    // Bytes after the main function are ignored, as `luaU_undump` does.
    r.header()
        .and_then(|()| r.function(Arc::from(chunkname), 0))
        .map_err(|why| format!("{name}: bad binary format ({why})"))
}

struct Reader<'a, 'h> {
    bytes: &'a [u8],
    pos: usize,
    heap: &'h mut Heap,
}

type Read<T> = Result<T, &'static str>;

impl Reader<'_, '_> {
    fn take(&mut self, n: usize) -> Read<&[u8]> {
        let end = self.pos.checked_add(n).ok_or("truncated chunk")?;
        let s = self.bytes.get(self.pos..end).ok_or("truncated chunk")?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Read<u8> {
        Ok(self.take(1)?[0])
    }

    fn uint(&mut self) -> Read<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("corrupted chunk")
    }

    fn int(&mut self) -> Read<i64> {
        let z = self.uint()?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }

    fn u32(&mut self) -> Read<u32> {
        u32::try_from(self.uint()?).map_err(|_| "corrupted chunk")
    }

    /// A count of items each at least one byte long: never more than the
    /// bytes left, so a forged count cannot make us allocate.
    fn count(&mut self) -> Read<usize> {
        let n = self.uint()?;
        if n > (self.bytes.len() - self.pos) as u64 {
            return Err("truncated chunk");
        }
        Ok(n as usize)
    }

    fn bytes(&mut self) -> Read<Option<&[u8]>> {
        match self.uint()? {
            0 => Ok(None),
            n => {
                let len = usize::try_from(n - 1).map_err(|_| "truncated chunk")?;
                self.take(len).map(Some)
            }
        }
    }

    fn string(&mut self) -> Read<String> {
        let b = self.bytes()?.ok_or("corrupted chunk")?;
        Ok(String::from_utf8_lossy(b).into_owned())
    }

    fn header(&mut self) -> Read<()> {
        if self.take(SIGNATURE.len())? != SIGNATURE {
            return Err("not a binary chunk");
        }
        if self.byte()? != VERSION {
            return Err("version mismatch");
        }
        if self.byte()? != FORMAT {
            return Err("format mismatch");
        }
        if self.take(DATA.len())? != DATA {
            return Err("corrupted chunk");
        }
        if usize::from(self.byte()?) != std::mem::size_of::<Op>() {
            return Err("Instruction size mismatch");
        }
        if self.take(8)? != INT_CHECK.to_le_bytes() {
            return Err("integer format mismatch");
        }
        if self.take(8)? != NUM_CHECK.to_le_bytes() {
            return Err("float format mismatch");
        }
        Ok(())
    }

    fn function(&mut self, parent_source: Arc<str>, depth: usize) -> Read<Proto> {
        if depth > MAX_NESTING {
            return Err("corrupted chunk");
        }
        let source = match self.bytes()? {
            Some(s) => Arc::from(String::from_utf8_lossy(s).as_ref()),
            None if depth == 0 => Arc::from("=?"),
            None => parent_source,
        };
        let line_defined = self.u32()?;
        let last_line_defined = self.u32()?;
        let num_params = self.byte()?;
        let is_vararg = match self.byte()? {
            0 => false,
            1 => true,
            _ => return Err("corrupted chunk"),
        };
        let max_stack = self.byte()?;
        let n = self.count()?;
        let mut code = Vec::with_capacity(n);
        for _ in 0..n {
            code.push(self.instruction()?);
        }
        let n = self.count()?;
        let mut consts = Vec::with_capacity(n);
        for _ in 0..n {
            consts.push(self.constant()?);
        }
        let n = self.count()?;
        let mut upvalues = Vec::with_capacity(n);
        for _ in 0..n {
            let in_stack = match self.byte()? {
                0 => false,
                1 => true,
                _ => return Err("corrupted chunk"),
            };
            let index = self.byte()?;
            upvalues.push(UpvalDesc {
                name: String::new(),
                in_stack,
                index,
            });
        }
        let n = self.count()?;
        let mut protos = Vec::with_capacity(n);
        for _ in 0..n {
            protos.push(Arc::new(self.function(source.clone(), depth + 1)?));
        }
        let n = self.count()?;
        let mut lines = Vec::with_capacity(n);
        for _ in 0..n {
            lines.push(self.u32()?);
        }
        if !lines.is_empty() && lines.len() != code.len() {
            return Err("corrupted chunk");
        }
        let n = self.count()?;
        let mut locvars = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.string()?;
            let (start_pc, end_pc) = (self.u32()?, self.u32()?);
            locvars.push(LocVar {
                name,
                start_pc,
                end_pc,
            });
        }
        let n = self.count()?;
        if n > upvalues.len() {
            return Err("corrupted chunk");
        }
        for u in &mut upvalues[..n] {
            u.name = self.string()?;
        }
        Ok(ProtoDraft {
            source,
            line_defined,
            last_line_defined,
            num_params,
            is_vararg,
            max_stack,
            code,
            lines,
            consts,
            protos,
            upvalues,
            locvars,
        }
        .into())
    }

    fn instruction(&mut self) -> Read<Op> {
        let code = self.byte()?;
        let mut operands = [0i64; 4];
        let n = Op::operand_count(code)
            .filter(|&n| n <= operands.len())
            .ok_or("corrupted chunk")?;
        for x in &mut operands[..n] {
            *x = self.int()?;
        }
        Op::from_parts(code, &operands[..n]).ok_or("corrupted chunk")
    }

    fn constant(&mut self) -> Read<Value> {
        Ok(match self.byte()? {
            TAG_NIL => Value::Nil,
            TAG_FALSE => Value::Bool(false),
            TAG_TRUE => Value::Bool(true),
            TAG_INT => Value::Int(self.int()?),
            TAG_NUM => {
                let b = self.take(8)?;
                Value::Num(f64::from_le_bytes(
                    b.try_into().map_err(|_| "truncated chunk")?,
                ))
            }
            TAG_STR => {
                let n = self.count()?;
                let b = self.take(n)?.to_vec();
                Value::Str(self.heap.intern(&b))
            }
            _ => return Err("corrupted chunk"),
        })
    }
}
