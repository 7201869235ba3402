//! `string.pack`, `string.unpack`, `string.packsize` (`lstrlib.c`'s
//! `str_pack`, `str_unpack`, `str_packsize`).
//!
//! The "native" sizes, alignment and endianness are those of PUC Lua on
//! x86-64 Linux, so that packed data is interchangeable with `lua5.4`'s.
//! A format string ends at its first NUL, as the C code reads it.
//!
//! Both pay for their work (`cost`): `pack` for the format and the bytes
//! it produces, `unpack` for the format and the bytes it reads. `pack`
//! makes its output in steps and pauses between them past the budget
//! (`pack_run`): a short format may ask for gigabytes (`c2000000000`).

use vm_core::{Args, LuaError, LuaResult, Status, Step, Value, Vm};

use super::cost::{charge_bytes, STEP_BYTES};
use super::PACK_K;

/// Largest integer size an option may ask for (`MAXINTSIZE`).
const MAX_INT_SIZE: usize = 16;
/// Size of a Lua integer (`SZINT`).
const SZINT: usize = 8;
/// `MAXSIZE`: sizes are kept within a C `int`.
const MAX_SIZE: usize = i32::MAX as usize;
/// Default maximum alignment for `!` (`offsetof(struct cD, u)`).
const NATIVE_ALIGN: usize = 8;

/// What an option packs (`KOption`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Signed integer of `size` bytes.
    Int,
    /// Unsigned integer of `size` bytes.
    Uint,
    /// C `float`.
    Float,
    /// Lua float (`n`) or C `double` (`d`): the same on this platform.
    Double,
    /// Fixed-size string (`cN`).
    Char,
    /// String preceded by its length (`sN`).
    String,
    /// Zero-terminated string (`z`).
    Zstr,
    /// One byte of padding (`x`).
    Padding,
    /// Alignment padding (`Xop`).
    PadAlign,
    /// Endianness, alignment settings and spaces.
    Nop,
}

/// The state of a format being read (`Header` plus the read position).
struct Format<'a> {
    fmt: &'a [u8],
    pos: usize,
    little: bool,
    max_align: usize,
}

impl<'a> Format<'a> {
    fn new(fmt: &'a [u8]) -> Self {
        let end = fmt.iter().position(|&c| c == 0).unwrap_or(fmt.len());
        Format {
            fmt: &fmt[..end],
            pos: 0,
            little: cfg!(target_endian = "little"),
            max_align: 1,
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.fmt.len()
    }

    /// `getnum`: a decimal numeral, or `default` when none follows. Digits
    /// stop being read once the value passes `(MAXSIZE - 9) / 10`, so it
    /// never overflows (the next digit then reads as an option).
    fn number(&mut self, default: usize) -> usize {
        let mut n = match self.fmt.get(self.pos) {
            Some(c) if c.is_ascii_digit() => 0,
            _ => return default,
        };
        while let Some(&c) = self.fmt.get(self.pos) {
            if !c.is_ascii_digit() || n > (MAX_SIZE - 9) / 10 {
                break;
            }
            n = n * 10 + usize::from(c - b'0');
            self.pos += 1;
        }
        n
    }

    /// `getnumlimit`: an integer size in `[1, 16]`.
    fn int_size(&mut self, vm: &mut Vm, default: usize) -> LuaResult<usize> {
        let n = self.number(default);
        if !(1..=MAX_INT_SIZE).contains(&n) {
            let msg = format!("integral size ({n}) out of limits [1,{MAX_INT_SIZE}]");
            return Err(vm.error(&msg));
        }
        Ok(n)
    }

    /// `getoption`: the next option and its size.
    fn option(&mut self, vm: &mut Vm) -> LuaResult<(Kind, usize)> {
        let c = self.fmt[self.pos];
        self.pos += 1;
        Ok(match c {
            b'b' => (Kind::Int, 1),
            b'B' => (Kind::Uint, 1),
            b'h' => (Kind::Int, 2),
            b'H' => (Kind::Uint, 2),
            b'l' | b'j' => (Kind::Int, 8),
            b'L' | b'J' | b'T' => (Kind::Uint, 8),
            b'f' => (Kind::Float, 4),
            b'n' | b'd' => (Kind::Double, 8),
            b'i' => (Kind::Int, self.int_size(vm, 4)?),
            b'I' => (Kind::Uint, self.int_size(vm, 4)?),
            b's' => (Kind::String, self.int_size(vm, 8)?),
            b'c' => match self.number(usize::MAX) {
                usize::MAX => return Err(vm.error("missing size for format option 'c'")),
                n => (Kind::Char, n),
            },
            b'z' => (Kind::Zstr, 0),
            b'x' => (Kind::Padding, 1),
            b'X' => (Kind::PadAlign, 0),
            b' ' => (Kind::Nop, 0),
            b'<' => {
                self.little = true;
                (Kind::Nop, 0)
            }
            b'>' => {
                self.little = false;
                (Kind::Nop, 0)
            }
            b'=' => {
                self.little = cfg!(target_endian = "little");
                (Kind::Nop, 0)
            }
            b'!' => {
                self.max_align = self.int_size(vm, NATIVE_ALIGN)?;
                (Kind::Nop, 0)
            }
            _ => {
                // The option may be any byte: build the message as bytes.
                let msg = [&b"invalid format option '"[..], &[c], b"'"].concat();
                return Err(vm.error_bytes(&msg));
            }
        })
    }

    /// `getdetails`: the next option, its size, and the padding that
    /// aligns it at offset `total`. An option aligns to its size, capped
    /// by `!`; `X` aligns to the size of the option after it (which is
    /// consumed), uncapped only in that it must not be zero.
    fn details(&mut self, vm: &mut Vm, total: usize) -> LuaResult<(Kind, usize, usize)> {
        let (kind, size) = self.option(vm)?;
        let mut align = size;
        if kind == Kind::PadAlign {
            let next = if self.done() {
                None
            } else {
                Some(self.option(vm)?)
            };
            match next {
                Some((next, size)) if next != Kind::Char && size != 0 => align = size,
                _ => return Err(vm.arg_error(1, "invalid next option for option 'X'")),
            }
        }
        if align <= 1 || kind == Kind::Char {
            return Ok((kind, size, 0));
        }
        let align = align.min(self.max_align);
        if !align.is_power_of_two() {
            return Err(vm.arg_error(1, "format asks for alignment not power of 2"));
        }
        let pad = (align - (total & (align - 1))) & (align - 1);
        Ok((kind, size, pad))
    }
}

/// Appends the low `size` bytes of `n` in the given byte order; bytes past
/// the eighth are sign extension (`packint`).
fn pack_int(out: &mut Vec<u8>, n: u64, little: bool, size: usize, negative: bool) {
    let start = out.len();
    out.extend((0..size).map(|i| match i {
        _ if i < SZINT => (n >> (8 * i)) as u8,
        _ if negative => 0xff,
        _ => 0,
    }));
    if !little {
        out[start..].reverse();
    }
}

/// Reads a `size`-byte integer (`unpackint`): sign-extended when shorter
/// than a Lua integer and `signed`; when longer, the extra bytes must be
/// the sign extension of the value read.
fn unpack_int(vm: &mut Vm, bytes: &[u8], little: bool, signed: bool) -> LuaResult<i64> {
    let size = bytes.len();
    let byte = |i: usize| {
        if little {
            bytes[i]
        } else {
            bytes[size - 1 - i]
        }
    };
    let mut res = (0..size.min(SZINT))
        .rev()
        .fold(0u64, |acc, i| (acc << 8) | u64::from(byte(i)));
    if size < SZINT {
        if signed {
            let mask = 1u64 << (size * 8 - 1);
            res = (res ^ mask).wrapping_sub(mask);
        }
    } else if size > SZINT {
        let fill = if signed && (res as i64) < 0 { 0xff } else { 0 };
        if (SZINT..size).any(|i| byte(i) != fill) {
            let msg = format!("{size}-byte integer does not fit into Lua Integer");
            return Err(vm.error(&msg));
        }
    }
    Ok(res as i64)
}

/// Reserves room for `n` more bytes, failing as a memory error rather
/// than aborting: a `cN` option may ask for up to 2 GiB of padding.
fn reserve(vm: &mut Vm, out: &mut Vec<u8>, n: usize) -> LuaResult<()> {
    crate::auxlib::reserve_bytes(vm, out, n)
}

/// The error of a missing value to pack. PUC pushes a nil below its
/// buffer, so the first missing argument reads as nil, not as "no value".
fn missing(vm: &mut Vm, arg: usize, expected: &str) -> LuaError {
    vm.arg_error(arg, &format!("{expected} expected, got nil"))
}

pub(super) fn pack(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let fmt = vm.check_string(args, 1)?;
    // The format is scanned and copied first, whatever fails later.
    vm.charge_scan(fmt)?;
    let fmt = vm.str_bytes(fmt).unwrap_or_default();
    let f = Format::new(fmt);
    let st = Packing {
        fmt: f.fmt.to_vec(),
        little: f.little,
        max_align: f.max_align,
        arg: 1,
        // The format is paid for as the output is.
        owed: fmt.len(),
        ..Packing::default()
    };
    pack_run(vm, args, st, None)
}

pub(super) fn pack_k(vm: &mut Vm, args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    let ud = vm.frame_get(args, args.len());
    let st = vm
        .userdata_mut::<Packing>(ud)
        .map(std::mem::take)
        .unwrap_or_default();
    pack_run(vm, args, st, Some(ud))
}

/// Packs the options left in `st`, an item at a time; past the budget,
/// pauses with its state in a userdata after the arguments (`ud`, once
/// made). A `cN` option's zero fill goes in steps of `STEP_BYTES`, as
/// `rep` does, so that a short format cannot make one long step.
fn pack_run(vm: &mut Vm, args: Args, mut st: Packing, ud: Option<Value>) -> LuaResult<Step> {
    loop {
        // Long fields fill the step under way, no more.
        let room = STEP_BYTES.saturating_sub(st.owed).max(1);
        if st.copy.start < st.copy.end {
            let n = (st.copy.end - st.copy.start).min(room);
            let from = st.copy.start;
            // (`check_string` left the argument a string.)
            let text = vm.arg(args, st.arg);
            let text = vm.str_bytes(text).unwrap_or_default();
            st.out
                .extend_from_slice(text.get(from..from + n).unwrap_or_default());
            st.copy.start += n;
            st.owed += n;
        } else if st.zeros > 0 {
            let n = st.zeros.min(room);
            st.out.resize(st.out.len() + n, 0);
            st.zeros -= n;
            st.owed += n;
        } else if st.pos >= st.fmt.len() {
            break;
        } else {
            let before = st.out.len();
            pack_item(vm, args, &mut st)?;
            st.owed += st.out.len() - before;
        }
        if st.owed >= STEP_BYTES {
            charge_bytes(vm, std::mem::take(&mut st.owed))?;
            if vm.budget_spent() {
                let size = st.out.capacity();
                let ud = match ud {
                    Some(ud) => ud,
                    None => {
                        let ud = vm.new_userdata(Box::new(Packing::default()));
                        vm.push(ud);
                        ud
                    }
                };
                if let Some(held) = vm.userdata_mut::<Packing>(ud) {
                    *held = st;
                }
                vm.set_userdata_size(ud, size);
                return Ok(vm.pausek(&PACK_K, 0));
            }
        }
    }
    charge_bytes(vm, st.owed)?;
    crate::auxlib::return_string(vm, st.out)
}

/// Packs the next option of `st` and its argument.
fn pack_item(vm: &mut Vm, args: Args, st: &mut Packing) -> LuaResult<()> {
    let mut f = Format {
        fmt: &st.fmt,
        pos: st.pos,
        little: st.little,
        max_align: st.max_align,
    };
    let details = f.details(vm, st.total);
    (st.pos, st.little, st.max_align) = (f.pos, f.little, f.max_align);
    let (kind, size, pad) = details?;
    let little = st.little;
    let out = &mut st.out;
    st.total = st.total.saturating_add(pad + size);
    out.resize(out.len() + pad, 0);
    st.arg += 1;
    let arg = st.arg;
    match kind {
        Kind::Int | Kind::Uint => {
            if arg > args.len() {
                return Err(missing(vm, arg, "number"));
            }
            let n = vm.check_integer(args, arg)?;
            if size < SZINT {
                let bits = size * 8;
                let fits = if kind == Kind::Int {
                    let limit = 1i64 << (bits - 1);
                    (-limit..limit).contains(&n)
                } else {
                    (n as u64) < 1u64 << bits
                };
                if !fits {
                    let msg = if kind == Kind::Int {
                        "integer overflow"
                    } else {
                        "unsigned overflow"
                    };
                    return Err(vm.arg_error(arg, msg));
                }
            }
            let negative = kind == Kind::Int && n < 0;
            pack_int(out, n as u64, little, size, negative);
        }
        Kind::Float | Kind::Double => {
            if arg > args.len() {
                return Err(missing(vm, arg, "number"));
            }
            let x = vm.check_float(args, arg)?;
            match (kind, little) {
                (Kind::Float, true) => out.extend_from_slice(&(x as f32).to_le_bytes()),
                (Kind::Float, false) => out.extend_from_slice(&(x as f32).to_be_bytes()),
                (_, true) => out.extend_from_slice(&x.to_le_bytes()),
                (_, false) => out.extend_from_slice(&x.to_be_bytes()),
            }
        }
        Kind::Char | Kind::String | Kind::Zstr => {
            if arg > args.len() {
                return Err(missing(vm, arg, "string"));
            }
            let s = vm.check_string(args, arg)?;
            let len = vm.str_bytes(s).unwrap_or_default().len();
            match kind {
                Kind::Char if len > size => {
                    return Err(vm.arg_error(arg, "string longer than given size"));
                }
                Kind::Char => reserve(vm, out, size)?,
                Kind::String => {
                    if size < SZINT && len as u64 >= 1u64 << (size * 8) {
                        let msg = "string length does not fit in given size";
                        return Err(vm.arg_error(arg, msg));
                    }
                    pack_int(out, len as u64, little, size, false);
                    st.total = st.total.saturating_add(len);
                }
                _ => {
                    if vm.str_bytes(s).unwrap_or_default().contains(&0) {
                        return Err(vm.arg_error(arg, "string contains zeros"));
                    }
                    st.total = st.total.saturating_add(len + 1);
                }
            }
            reserve(vm, out, len + 1)?;
            // The string, then the rest of the field (zeros), come in
            // steps.
            st.copy = 0..len;
            st.zeros = match kind {
                Kind::Char => size - len,
                Kind::Zstr => 1,
                _ => 0,
            };
        }
        Kind::Padding => {
            out.push(0);
            st.arg -= 1;
        }
        Kind::PadAlign | Kind::Nop => st.arg -= 1,
    }
    Ok(())
}

/// `pack`'s state between steps: the format (to its first NUL) and where
/// it is read, with the endianness and maximum alignment it set; the last
/// argument used; the size packed so far (`totalsize`); the output, the
/// part of the last argument's string still to copy and the zeros due
/// after it, and output bytes not paid for yet.
#[derive(Default)]
struct Packing {
    fmt: Vec<u8>,
    pos: usize,
    little: bool,
    max_align: usize,
    arg: usize,
    total: usize,
    out: Vec<u8>,
    copy: std::ops::Range<usize>,
    zeros: usize,
    owed: usize,
}

pub(super) fn packsize(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let fmt = vm.check_string(args, 1)?;
    vm.charge_scan(fmt)?;
    let fmt = vm.str_bytes(fmt).unwrap_or_default().to_vec();
    let mut f = Format::new(&fmt);
    let mut total = 0usize;
    while !f.done() {
        let (kind, size, pad) = f.details(vm, total)?;
        if matches!(kind, Kind::String | Kind::Zstr) {
            return Err(vm.arg_error(1, "variable-length format"));
        }
        let size = size + pad;
        if total > MAX_SIZE.saturating_sub(size) {
            return Err(vm.arg_error(1, "format result too large"));
        }
        total += size;
    }
    vm.push(Value::Int(total as i64));
    Ok(Step::Return(1))
}

/// `posrelatI`: a 1-based position, negative counting from the end,
/// clipped to 1 below the start.
fn start_position(pos: i64, len: usize) -> usize {
    if pos > 0 {
        pos as usize
    } else if pos == 0 || pos.unsigned_abs() > len as u64 {
        1
    } else {
        len - pos.unsigned_abs() as usize + 1
    }
}

/// One value read by `unpack`, decoded while the data is borrowed.
enum Item {
    Int(i64),
    Num(f64),
    /// A string: a range of the data.
    Bytes(usize, usize),
}

pub(super) fn unpack(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let fmt = vm.check_string(args, 1)?;
    // Paid first, so that a format failing late has paid for its items.
    vm.charge_scan(fmt)?;
    let fmt = vm.str_bytes(fmt).unwrap_or_default().to_vec();
    // The data stays in its argument slot (rooted); it is read in place.
    let data = vm.check_string(args, 2)?;
    let ld = vm.str_bytes(data).unwrap_or_default().len();
    let mut pos = start_position(vm.opt_integer(args, 3, 1)?, ld) - 1;
    if pos > ld {
        return Err(vm.arg_error(3, "initial position out of string"));
    }
    let init = pos;
    let mut f = Format::new(&fmt);
    let mut n = 0;
    while !f.done() {
        let (kind, size, pad) = f.details(vm, pos)?;
        if pad + size > ld - pos {
            return Err(vm.arg_error(2, "data string too short"));
        }
        pos += pad;
        if !vm.has_stack_room(2) {
            return Err(vm.error("stack overflow (too many results)"));
        }
        let bytes = vm.str_bytes(data).unwrap_or_default();
        let item = match kind {
            Kind::Int | Kind::Uint => {
                let field = bytes[pos..pos + size].to_vec();
                Item::Int(unpack_int(vm, &field, f.little, kind == Kind::Int)?)
            }
            Kind::Float => {
                let b: [u8; 4] = bytes[pos..pos + 4].try_into().unwrap_or_default();
                let x = if f.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                Item::Num(f64::from(x))
            }
            Kind::Double => {
                let b: [u8; 8] = bytes[pos..pos + 8].try_into().unwrap_or_default();
                Item::Num(if f.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                })
            }
            Kind::Char => Item::Bytes(pos, pos + size),
            Kind::String => {
                let field = bytes[pos..pos + size].to_vec();
                let len = unpack_int(vm, &field, f.little, false)? as u64;
                if len > (ld - pos - size) as u64 {
                    return Err(vm.arg_error(2, "data string too short"));
                }
                let start = pos + size;
                pos += len as usize;
                Item::Bytes(start, start + len as usize)
            }
            Kind::Zstr => {
                let len = bytes[pos..].iter().position(|&c| c == 0);
                let Some(len) = len else {
                    // The scan to the end is paid for, as a found
                    // string's is when it is copied.
                    crate::string::cost::charge_bytes(vm, ld - pos)?;
                    return Err(vm.arg_error(2, "unfinished string for format 'z'"));
                };
                let start = pos;
                pos += len + 1;
                Item::Bytes(start, start + len)
            }
            Kind::Padding | Kind::PadAlign | Kind::Nop => {
                pos += size;
                continue;
            }
        };
        let v = match item {
            Item::Int(i) => Value::Int(i),
            Item::Num(x) => Value::Num(x),
            Item::Bytes(a, b) => {
                let piece = vm.str_bytes(data).unwrap_or_default()[a..b].to_vec();
                vm.new_str(&piece)
            }
        };
        vm.push(v);
        n += 1;
        pos += size;
    }
    charge_bytes(vm, fmt.len() + (pos - init))?;
    vm.push(Value::Int(pos as i64 + 1));
    Ok(Step::Return(n + 1))
}
