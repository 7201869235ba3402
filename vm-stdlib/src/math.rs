//! The math library (`lmathlib.c`): elementary functions, integer/float
//! conversions, and the `xoshiro256**` pseudo-random generator.
//!
//! Results follow PUC Lua 5.4 exactly, subtypes included: `floor`, `ceil`
//! and `modf` give integers when the result fits, `abs`, `fmod`, `max` and
//! `min` keep integer arguments integers, and the generator produces the
//! same sequence as PUC Lua for the same seed. The deprecated functions
//! that PUC Lua's default build still offers (`LUA_COMPAT_MATHLIB`:
//! `atan2`, `cosh`, `sinh`, `tanh`, `pow`, `frexp`, `ldexp`, `log10`) are
//! included, as the reference `lua5.4` has them.

use vm_core::number::float_to_int_exact;
use vm_core::TableRef;
use vm_core::{Args, LuaResult, Status, Step, Value, Vm};

use crate::resumable::{int_at, pause, set_int, PhaseLog};

natives! {
    natives {
        ABS = "math.abs" as "abs" => abs;
        CEIL = "math.ceil" as "ceil" => ceil;
        FLOOR = "math.floor" as "floor" => floor;
        FMOD = "math.fmod" as "fmod" => fmod;
        MODF = "math.modf" as "modf" => modf;
        SQRT = "math.sqrt" as "sqrt" => sqrt;
        EXP = "math.exp" as "exp" => exp;
        LOG = "math.log" as "log" => log;
        SIN = "math.sin" as "sin" => sin;
        COS = "math.cos" as "cos" => cos;
        TAN = "math.tan" as "tan" => tan;
        ASIN = "math.asin" as "asin" => asin;
        ACOS = "math.acos" as "acos" => acos;
        ATAN = "math.atan" as "atan" => atan;
        DEG = "math.deg" as "deg" => deg;
        RAD = "math.rad" as "rad" => rad;
        TOINTEGER = "math.tointeger" as "tointeger" => tointeger;
        TYPE = "math.type" as "type" => type_;
        ULT = "math.ult" as "ult" => ult;
        MAX = "math.max" as "max" => max;
        MIN = "math.min" as "min" => min;
        RANDOM = "math.random" as "random" => random;
        RANDOMSEED = "math.randomseed" as "randomseed" => randomseed;
        // Deprecated (LUA_COMPAT_MATHLIB), present in PUC Lua's default build.
        COSH = "math.cosh" as "cosh" => cosh;
        SINH = "math.sinh" as "sinh" => sinh;
        TANH = "math.tanh" as "tanh" => tanh;
        POW = "math.pow" as "pow" => pow;
        FREXP = "math.frexp" as "frexp" => frexp;
        LDEXP = "math.ldexp" as "ldexp" => ldexp;
        LOG10 = "math.log10" as "log10" => log10;
    }
    continuations {
        MAX_K = "math.max_k" => max_k;
        MIN_K = "math.min_k" => min_k;
    }
}

/// Installs the `math` table into the globals.
pub fn open_math(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    let t = vm.new_table();
    vm.register(
        t,
        &[
            &ABS, &CEIL, &FLOOR, &FMOD, &MODF, &SQRT, &EXP, &LOG, &SIN, &COS, &TAN, &ASIN, &ACOS,
            &DEG, &RAD, &TOINTEGER, &TYPE, &ULT, &MAX, &MIN, &COSH, &SINH, &TANH, &POW, &FREXP,
            &LDEXP, &LOG10,
        ],
    )?;
    // `atan2` is `atan` itself, as in lmathlib (`math.atan == math.atan2`).
    // Messages that name the function from the loaded table say
    // 'math.atan' (PUC Lua says either, as its string hashes are seeded
    // per run).
    let atan = vm.new_native(&ATAN);
    vm.raw_set_str(t, "atan", atan)?;
    vm.raw_set_str(t, "atan2", atan)?;
    vm.raw_set_str(t, "pi", Value::Num(std::f64::consts::PI))?;
    vm.raw_set_str(t, "huge", Value::Num(f64::INFINITY))?;
    vm.raw_set_str(t, "maxinteger", Value::Int(i64::MAX))?;
    vm.raw_set_str(t, "mininteger", Value::Int(i64::MIN))?;
    // `random` and `randomseed` share the generator's state, a table of four
    // integers held as their upvalue (PUC Lua's userdata upvalue).
    let state = vm.new_table();
    let (seed1, seed2) = time_and_address_seed(vm);
    Xoshiro::seeded(seed1, seed2).store(vm, state);
    for f in [&RANDOM, &RANDOMSEED] {
        let c = vm.new_native_closure(f, vec![Value::Table(state)])?;
        vm.raw_set_str(t, f.name, c)?;
    }
    vm.register_library("math", t)?;
    Ok(())
}

/// Returns the single result `v`.
fn ret(vm: &mut Vm, v: Value) -> LuaResult<Step> {
    vm.push(v);
    Ok(Step::Return(1))
}

/// An integral float as an integer when it fits, else the float itself
/// (`pushnumint`).
fn num_or_int(d: f64) -> Value {
    float_to_int_exact(d).map_or(Value::Num(d), Value::Int)
}

/// Natives applying a float function to their first argument.
macro_rules! float_fns {
    ($($name:ident => $op:expr;)*) => {
        $(fn $name(vm: &mut Vm, args: Args) -> LuaResult<Step> {
            let x = vm.check_float(args, 1)?;
            ret(vm, Value::Num($op(x)))
        })*
    };
}

float_fns! {
    sqrt => f64::sqrt;
    exp => f64::exp;
    sin => f64::sin;
    cos => f64::cos;
    tan => f64::tan;
    asin => f64::asin;
    acos => f64::acos;
    cosh => f64::cosh;
    sinh => f64::sinh;
    tanh => f64::tanh;
    log10 => f64::log10;
    deg => to_degrees;
    rad => to_radians;
}

/// Radians to degrees as lmathlib computes it (one multiplication, unlike
/// `f64::to_degrees`).
fn to_degrees(x: f64) -> f64 {
    x * (180.0 / std::f64::consts::PI)
}

/// Degrees to radians as lmathlib computes it.
fn to_radians(x: f64) -> f64 {
    x * (std::f64::consts::PI / 180.0)
}

fn abs(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    // Only a true integer stays one: `math.abs("-3")` is 3.0, as in PUC.
    let r = match vm.arg(args, 1) {
        Value::Int(n) => Value::Int(n.wrapping_abs()),
        _ => Value::Num(vm.check_float(args, 1)?.abs()),
    };
    ret(vm, r)
}

fn floor(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let r = match vm.arg(args, 1) {
        v @ Value::Int(_) => v,
        _ => num_or_int(vm.check_float(args, 1)?.floor()),
    };
    ret(vm, r)
}

fn ceil(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let r = match vm.arg(args, 1) {
        v @ Value::Int(_) => v,
        _ => num_or_int(vm.check_float(args, 1)?.ceil()),
    };
    ret(vm, r)
}

fn fmod(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let r = match (vm.arg(args, 1), vm.arg(args, 2)) {
        (Value::Int(_), Value::Int(0)) => return Err(vm.arg_error(2, "zero")),
        // C's `%` truncates; -1 is special only to avoid the overflow of
        // `mininteger % -1`.
        (Value::Int(a), Value::Int(d)) => Value::Int(a.checked_rem(d).unwrap_or(0)),
        _ => {
            // The second argument is checked first: PUC's C compiler
            // evaluates `fmod(luaL_checknumber(L, 1), luaL_checknumber(L, 2))`
            // right to left.
            let b = vm.check_float(args, 2)?;
            let a = vm.check_float(args, 1)?;
            // Rust's float `%` is C's `fmod`.
            Value::Num(a % b)
        }
    };
    ret(vm, r)
}

fn modf(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    if let v @ Value::Int(_) = vm.arg(args, 1) {
        vm.push(v);
        vm.push(Value::Num(0.0));
        return Ok(Step::Return(2));
    }
    let n = vm.check_float(args, 1)?;
    let ip = n.trunc();
    vm.push(num_or_int(ip));
    // The test keeps infinities' fractional part 0.0 rather than NaN.
    vm.push(Value::Num(if n == ip { 0.0 } else { n - ip }));
    Ok(Step::Return(2))
}

fn log(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let x = vm.check_float(args, 1)?;
    let r = if vm.is_none_or_nil(args, 2) {
        x.ln()
    } else {
        // Bases 2 and 10 use the exact C functions, as lmathlib does.
        let base = vm.check_float(args, 2)?;
        if base == 2.0 {
            x.log2()
        } else if base == 10.0 {
            x.log10()
        } else {
            x.ln() / base.ln()
        }
    };
    ret(vm, Value::Num(r))
}

fn atan(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let y = vm.check_float(args, 1)?;
    let x = vm.opt_float(args, 2, 1.0)?;
    ret(vm, Value::Num(y.atan2(x)))
}

fn pow(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let x = vm.check_float(args, 1)?;
    let y = vm.check_float(args, 2)?;
    ret(vm, Value::Num(x.powf(y)))
}

fn frexp(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (m, e) = frexp_f64(vm.check_float(args, 1)?);
    vm.push(Value::Num(m));
    vm.push(Value::Int(e.into()));
    Ok(Step::Return(2))
}

fn ldexp(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let x = vm.check_float(args, 1)?;
    // `(int)luaL_checkinteger(...)`: the exponent is cut to C's `int`.
    let e = vm.check_integer(args, 2)? as i32;
    ret(vm, Value::Num(ldexp_f64(x, e)))
}

/// C's `frexp`: `x = m * 2^e` with `0.5 <= |m| < 1`; zero, infinities and
/// NaN come back unchanged with exponent 0.
fn frexp_f64(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp_f64(x * 2f64.powi(64));
        return (m, e - 64);
    }
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, biased - 1022)
}

/// C's `ldexp`: `x * 2^e`, rounded once.
fn ldexp_f64(x: f64, e: i32) -> f64 {
    // 2^e for an exponent in the normal range.
    let pow2 = |e: i32| f64::from_bits(((1023 + e) as u64) << 52);
    let (mut y, mut e) = (x, e);
    if e > 1023 {
        // Two steps reach any finite result; past them the result is inf.
        for _ in 0..2 {
            if e > 1023 {
                y *= pow2(1023);
                e -= 1023;
            }
        }
        e = e.min(1023);
    } else if e < -1022 {
        // Stay above the subnormal range until the last multiplication, so
        // that a subnormal result is rounded only once (as musl's scalbn).
        let step = pow2(-1022) * pow2(53);
        for _ in 0..2 {
            if e < -1022 {
                y *= step;
                e += 1022 - 53;
            }
        }
        e = e.max(-1022);
    }
    y * pow2(e)
}

fn tointeger(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    // `lua_tointegerx`: numeric strings are converted too (5.4.4).
    let v = vm.arg(args, 1);
    vm.charge_scan(v)?;
    let r = vm.to_number_value(v).and_then(vm_core::number::tointeger);
    match r {
        Some(n) => ret(vm, Value::Int(n)),
        None => {
            vm.check_any(args, 1)?;
            ret(vm, Value::Nil)
        }
    }
}

fn type_(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let r = match vm.check_any(args, 1)? {
        Value::Int(_) => vm.new_str(b"integer"),
        Value::Num(_) => vm.new_str(b"float"),
        _ => Value::Nil,
    };
    ret(vm, r)
}

fn ult(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let a = vm.check_integer(args, 1)?;
    let b = vm.check_integer(args, 2)?;
    ret(vm, Value::Bool((a as u64) < (b as u64)))
}

/// `max`/`min`: the argument that wins under `<` (with `__lt`), returned
/// as given; arguments are not otherwise checked, as in PUC Lua.
///
/// Numbers only, or strings only, compare without metamethods, in one go.
/// Otherwise `__lt` may run Lua, so the comparisons are phases of a state
/// machine (`resumable`) that the budget can suspend: its frame holds the
/// arguments, then the index of the next one to compare and the index of
/// the best so far (`extreme_run`).
fn extreme(vm: &mut Vm, args: Args, want_max: bool) -> LuaResult<Step> {
    let mut best = vm.check_any(args, 1)?;
    let raw = |v: Value| match best {
        Value::Int(_) | Value::Num(_) => matches!(v, Value::Int(_) | Value::Num(_)),
        Value::Str(_) => matches!(v, Value::Str(_)),
        _ => false,
    };
    if !(2..=args.len()).all(|i| raw(vm.arg(args, i))) {
        vm.push(Value::Int(2));
        vm.push(Value::Int(1));
        return extreme_run(vm, args, want_max);
    }
    for i in 2..=args.len() {
        let v = vm.arg(args, i);
        let better = if want_max {
            vm.less_than(best, v)?
        } else {
            vm.less_than(v, best)?
        };
        if better {
            best = v;
        }
    }
    ret(vm, best)
}

/// The comparisons of `extreme` from the state in its frame, one phase
/// each.
fn extreme_run(vm: &mut Vm, args: Args, want_max: bool) -> LuaResult<Step> {
    let (n, k) = (args.len(), if want_max { &MAX_K } else { &MIN_K });
    loop {
        let i = int_at(vm, args, n) as usize;
        let best = vm.arg(args, int_at(vm, args, n + 1) as usize);
        if i > n {
            return ret(vm, best);
        }
        let v = vm.arg(args, i);
        let (a, b) = if want_max { (best, v) } else { (v, best) };
        let mut log = PhaseLog::open(args, n + 2);
        let Some(better) = log.less_than(vm, a, b)? else {
            return Ok(log.request(vm, k));
        };
        if better {
            set_int(vm, args, n + 1, i as i64);
        }
        set_int(vm, args, n, i as i64 + 1);
        if log.commit(vm)? {
            return Ok(pause(vm, k));
        }
    }
}

fn max(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    extreme(vm, args, true)
}

fn min(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    extreme(vm, args, false)
}

fn max_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    PhaseLog::settle(vm, args, args.len() + 2, ctx);
    extreme_run(vm, args, true)
}

fn min_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    PhaseLog::settle(vm, args, args.len() + 2, ctx);
    extreme_run(vm, args, false)
}

// ---------------------------------------------------------------------------
// Pseudo-random numbers: `xoshiro256**`, as lmathlib
// ---------------------------------------------------------------------------

/// The generator's state (`RanState`).
struct Xoshiro {
    s: [u64; 4],
}

impl Xoshiro {
    /// The state `setseed` makes from two seeds: `0xff` keeps it from
    /// being all zeros, and 16 discarded values spread the seed.
    fn seeded(n1: u64, n2: u64) -> Self {
        let mut g = Xoshiro {
            s: [n1, 0xff, n2, 0],
        };
        for _ in 0..16 {
            g.next();
        }
        g
    }

    /// The next 64 random bits (`nextrand`).
    fn next(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.s;
        let s2 = s2 ^ s0;
        let s3 = s3 ^ s1;
        let res = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        self.s = [s0 ^ s3, s1 ^ s2, s2 ^ (s1 << 17), s3.rotate_left(45)];
        res
    }

    /// Projects `ran` into `[0, n]` (`project`): masks it to the smallest
    /// `2^b - 1` not below `n` and draws again until it lands inside, so
    /// every value is equally likely.
    fn project(&mut self, mut ran: u64, n: u64) -> u64 {
        let lim = u64::MAX.checked_shr(n.leading_zeros()).unwrap_or(0);
        loop {
            ran &= lim;
            if ran <= n {
                return ran;
            }
            ran = self.next();
        }
    }

    /// The state kept in `t[1..=4]`.
    fn load(vm: &mut Vm, t: TableRef) -> Self {
        let mut s = [0u64; 4];
        for (i, w) in (1..).zip(s.iter_mut()) {
            if let Value::Int(x) = vm.raw_get(t, Value::Int(i)) {
                *w = x as u64;
            }
        }
        Xoshiro { s }
    }

    /// Writes the state back to `t[1..=4]`.
    fn store(&self, vm: &mut Vm, t: TableRef) {
        for (i, &w) in (1..).zip(self.s.iter()) {
            // Integer keys are never nil or NaN: this cannot fail.
            let _ = vm.raw_set(t, Value::Int(i), Value::Int(w as i64));
        }
    }
}

/// The generator's state table, upvalue 1 of `random` and `randomseed`.
fn state_table(vm: &mut Vm, args: Args) -> LuaResult<TableRef> {
    match vm.upvalue(args, 1) {
        Value::Table(t) => Ok(t),
        _ => Err(vm.error("random state lost")),
    }
}

/// A float in `[0, 1)` from the high 53 bits (`I2d`): a float's mantissa
/// holds 53 bits, so every such value is exact.
fn to_unit_float(x: u64) -> f64 {
    const TWO_POW_MINUS_53: f64 = 1.0 / (1u64 << 53) as f64;
    (x >> 11) as f64 * TWO_POW_MINUS_53
}

fn random(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = state_table(vm, args)?;
    let mut g = Xoshiro::load(vm, t);
    let rv = g.next();
    // The state advances even when the arguments turn out to be bad.
    g.store(vm, t);
    let (low, up) = match args.len() {
        0 => return ret(vm, Value::Num(to_unit_float(rv))),
        1 => {
            let up = vm.check_integer(args, 1)?;
            if up == 0 {
                // `random(0)`: all 64 bits as an integer.
                return ret(vm, Value::Int(rv as i64));
            }
            (1, up)
        }
        2 => (vm.check_integer(args, 1)?, vm.check_integer(args, 2)?),
        _ => return Err(vm.error("wrong number of arguments")),
    };
    if low > up {
        return Err(vm.arg_error(1, "interval is empty"));
    }
    let p = g.project(rv, (up as u64).wrapping_sub(low as u64));
    g.store(vm, t);
    ret(vm, Value::Int(p.wrapping_add(low as u64) as i64))
}

fn randomseed(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = state_table(vm, args)?;
    let (n1, n2) = if args.is_empty() {
        time_and_address_seed(vm)
    } else {
        let n1 = vm.check_integer(args, 1)?;
        let n2 = vm.opt_integer(args, 2, 0)?;
        (n1 as u64, n2 as u64)
    };
    Xoshiro::seeded(n1, n2).store(vm, t);
    // 5.4.4 returns the two seeds, so a run can be reproduced.
    vm.push(Value::Int(n1 as i64));
    vm.push(Value::Int(n2 as i64));
    Ok(Step::Return(2))
}

/// A seed for `randomseed()` (`randseed`): the time in seconds and an
/// address, which varies between runs when addresses are randomised.
fn time_and_address_seed(vm: &Vm) -> (u64, u64) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (secs, std::ptr::from_ref(vm).cast::<u8>() as usize as u64)
}

#[cfg(test)]
mod tests {
    use super::{frexp_f64, ldexp_f64};

    /// `ldexp` undoes `frexp` for every finite float, subnormals included,
    /// and the mantissa is in `[0.5, 1)`.
    #[test]
    fn frexp_and_ldexp_are_inverse() {
        let mut bits: u64 = 0x9E37_79B9_7F4A_7C15;
        let specials = [
            0.0,
            -0.0,
            1.0,
            -3.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            -f64::MAX,
        ];
        for _ in 0..2000 {
            bits = bits
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = f64::from_bits(bits);
            for x in specials.iter().copied().chain([x, x / 1e300]) {
                if !x.is_finite() {
                    continue;
                }
                let (m, e) = frexp_f64(x);
                assert!(x == 0.0 || (0.5..1.0).contains(&m.abs()), "{x}: {m}");
                assert_eq!(ldexp_f64(m, e).to_bits(), x.to_bits(), "{x}");
            }
        }
    }

    /// Results past the range overflow or round once into the subnormals.
    #[test]
    fn ldexp_rounds_once() {
        assert_eq!(ldexp_f64(1.0, 1024), f64::INFINITY);
        assert_eq!(ldexp_f64(-1.0, i32::MAX), f64::NEG_INFINITY);
        assert_eq!(ldexp_f64(1.0, i32::MIN), 0.0);
        assert_eq!(ldexp_f64(5e-324, 2097), 2f64.powi(1023));
        // 1.5 and 3 * 2^-1 ulps of the smallest subnormal: ties to even.
        assert_eq!(ldexp_f64(1.5, -1074), 2.0 * 5e-324);
        assert_eq!(ldexp_f64(2.5, -1074), 2.0 * 5e-324);
        assert_eq!(frexp_f64(f64::INFINITY), (f64::INFINITY, 0));
    }
}
