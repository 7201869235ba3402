//! Property test: random expression trees compiled and run by the VM give
//! the value a tree-walking reference evaluator computes with Lua 5.4's
//! rules written independently here (i128 and f64 arithmetic, exact
//! integer/float comparison).

mod support;

use proptest::prelude::*;
use support::{lua54, scale};
use vm_core::{Value, Vm};

#[derive(Clone, Debug)]
enum E {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A local variable holding the leaf (defeats constant folding).
    Local(Box<E>),
    Un(&'static str, Box<E>),
    Bin(&'static str, Box<E>, Box<E>),
}

#[derive(Clone, Copy, Debug)]
enum R {
    Int(i64),
    Float(f64),
    Bool(bool),
}

const BINOPS: &[&str] = &[
    "+", "-", "*", "/", "//", "%", "^", "==", "~=", "<", "<=", ">", ">=", "and", "or", "&", "|",
    "~", "<<", ">>",
];

fn leaf() -> impl Strategy<Value = E> {
    prop_oneof![
        (-20i64..20).prop_map(E::Int),
        any::<i64>().prop_map(E::Int),
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(0.5),
            Just(2.0),
            Just(1e300),
            -1e6f64..1e6
        ]
        .prop_map(E::Float),
        any::<bool>().prop_map(E::Bool),
    ]
}

fn expr() -> impl Strategy<Value = E> {
    let l = prop_oneof![3 => leaf(), 2 => leaf().prop_map(|e| E::Local(Box::new(e)))];
    l.prop_recursive(5, 40, 2, |inner| {
        prop_oneof![
            (prop::sample::select(vec!["-", "not", "~"]), inner.clone())
                .prop_map(|(o, e)| E::Un(o, Box::new(e))),
            (prop::sample::select(BINOPS.to_vec()), inner.clone(), inner)
                .prop_map(|(o, a, b)| E::Bin(o, Box::new(a), Box::new(b))),
        ]
    })
}

fn lit(e: &E) -> String {
    match e {
        E::Int(i) if *i == i64::MIN => "math_mininteger".to_string(),
        E::Int(i) => format!("({i})"),
        E::Float(f) if f.is_sign_negative() => format!("(-{:?})", -f),
        E::Float(f) => format!("{f:?}"),
        E::Bool(b) => b.to_string(),
        _ => unreachable!(),
    }
}

/// Lua source for the expression; locals are declared into `decls`.
fn source(e: &E, decls: &mut Vec<String>) -> String {
    match e {
        E::Int(_) | E::Float(_) | E::Bool(_) => lit(e),
        E::Local(inner) => {
            let name = format!("v{}", decls.len());
            decls.push(format!("local {name} = {}", lit(inner)));
            name
        }
        E::Un(op, a) => format!("({op} {})", source(a, decls)),
        E::Bin(op, a, b) => format!("({} {op} {})", source(a, decls), source(b, decls)),
    }
}

fn to_int(r: R) -> Option<i64> {
    match r {
        R::Int(i) => Some(i),
        R::Float(f)
            if f.fract() == 0.0 && (-9.223372036854776e18..9.223372036854776e18).contains(&f) =>
        {
            Some(f as i64)
        }
        _ => None,
    }
}

fn to_f(r: R) -> Option<f64> {
    match r {
        R::Int(i) => Some(i as f64),
        R::Float(f) => Some(f),
        R::Bool(_) => None,
    }
}

/// Exact comparison of an integer with a float: -1, 0, 1, or None (NaN).
fn cmp_int_float(i: i64, f: f64) -> Option<std::cmp::Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= 9.3e18 {
        return Some(std::cmp::Ordering::Less);
    }
    if f <= -9.3e18 {
        return Some(std::cmp::Ordering::Greater);
    }
    let fl = f.floor();
    let fi = fl as i128;
    let ii = i as i128;
    Some(if ii < fi {
        std::cmp::Ordering::Less
    } else if ii > fi {
        std::cmp::Ordering::Greater
    } else if f > fl {
        std::cmp::Ordering::Less
    } else {
        std::cmp::Ordering::Equal
    })
}

fn cmp(a: R, b: R) -> Result<Option<std::cmp::Ordering>, ()> {
    Ok(match (a, b) {
        (R::Int(x), R::Int(y)) => Some(x.cmp(&y)),
        (R::Float(x), R::Float(y)) => x.partial_cmp(&y),
        (R::Int(x), R::Float(y)) => cmp_int_float(x, y),
        (R::Float(x), R::Int(y)) => cmp_int_float(y, x).map(|o| o.reverse()),
        _ => return Err(()),
    })
}

fn eq(a: R, b: R) -> bool {
    match (a, b) {
        (R::Bool(x), R::Bool(y)) => x == y,
        (R::Bool(_), _) | (_, R::Bool(_)) => false,
        _ => cmp(a, b) == Ok(Some(std::cmp::Ordering::Equal)),
    }
}

fn truthy(r: R) -> bool {
    !matches!(r, R::Bool(false))
}

fn floor_div_int(a: i64, b: i64) -> i64 {
    let (a, b) = (a as i128, b as i128);
    let q = a.div_euclid(b);
    // Euclidean and floor division differ when b < 0 and there is a remainder.
    let q = if b < 0 && a.rem_euclid(b) != 0 {
        q - 1
    } else {
        q
    };
    q as i64
}

fn floor_mod_int(a: i64, b: i64) -> i64 {
    let (a, b) = (a as i128, b as i128);
    (a - b * (floor_div_int(a as i64, b as i64) as i128)).rem_euclid(1 << 64) as u64 as i64
}

fn eval(e: &E) -> Result<R, ()> {
    Ok(match e {
        E::Int(i) => R::Int(*i),
        E::Float(f) => R::Float(*f),
        E::Bool(b) => R::Bool(*b),
        E::Local(inner) => eval(inner)?,
        E::Un(op, a) => {
            let a = eval(a)?;
            match *op {
                "not" => R::Bool(!truthy(a)),
                "-" => match a {
                    R::Int(i) => R::Int(i.wrapping_neg()),
                    R::Float(f) => R::Float(-f),
                    R::Bool(_) => return Err(()),
                },
                _ => R::Int(!to_int(a).ok_or(())?),
            }
        }
        E::Bin(op, a, b) => {
            let x = eval(a)?;
            match *op {
                "and" => return if truthy(x) { eval(b) } else { Ok(x) },
                "or" => return if truthy(x) { Ok(x) } else { eval(b) },
                _ => {}
            }
            let y = eval(b)?;
            match *op {
                "==" => R::Bool(eq(x, y)),
                "~=" => R::Bool(!eq(x, y)),
                "<" => R::Bool(cmp(x, y)? == Some(std::cmp::Ordering::Less)),
                "<=" => R::Bool(matches!(
                    cmp(x, y)?,
                    Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                )),
                ">" => R::Bool(cmp(y, x)? == Some(std::cmp::Ordering::Less)),
                ">=" => R::Bool(matches!(
                    cmp(y, x)?,
                    Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                )),
                "&" | "|" | "~" | "<<" | ">>" => {
                    let (p, q) = (to_int(x).ok_or(())?, to_int(y).ok_or(())?);
                    R::Int(match *op {
                        "&" => p & q,
                        "|" => p | q,
                        "~" => p ^ q,
                        "<<" => shl(p, q),
                        _ => shl(p, q.wrapping_neg()),
                    })
                }
                _ => arith(op, x, y)?,
            }
        }
    })
}

fn shl(x: i64, n: i64) -> i64 {
    if n <= -64 || n >= 64 {
        0
    } else if n >= 0 {
        ((x as u64) << n) as i64
    } else {
        ((x as u64) >> -n) as i64
    }
}

fn arith(op: &str, x: R, y: R) -> Result<R, ()> {
    if let (R::Int(p), R::Int(q)) = (x, y) {
        match op {
            "+" => return Ok(R::Int(p.wrapping_add(q))),
            "-" => return Ok(R::Int(p.wrapping_sub(q))),
            "*" => return Ok(R::Int(p.wrapping_mul(q))),
            "//" if q == 0 => return Err(()),
            "//" => return Ok(R::Int(floor_div_int(p, q))),
            "%" if q == 0 => return Err(()),
            "%" => return Ok(R::Int(floor_mod_int(p, q))),
            _ => {}
        }
    }
    let (p, q) = (to_f(x).ok_or(())?, to_f(y).ok_or(())?);
    Ok(R::Float(match op {
        "+" => p + q,
        "-" => p - q,
        "*" => p * q,
        "/" => p / q,
        "^" => p.powf(q),
        "//" => (p / q).floor(),
        _ => {
            // Lua's float modulo: fmod, then adjust toward the divisor's sign.
            let m = p % q;
            if m != 0.0 && (m < 0.0) != (q < 0.0) {
                m + q
            } else {
                m
            }
        }
    }))
}

fn same(vm: &Vm, got: Value, want: R) -> bool {
    let _ = vm;
    match (got, want) {
        (Value::Int(a), R::Int(b)) => a == b,
        (Value::Num(a), R::Float(b)) => {
            a == b && a.is_sign_negative() == b.is_sign_negative() || a.is_nan() && b.is_nan()
        }
        (Value::Bool(a), R::Bool(b)) => a == b,
        _ => false,
    }
}

/// Whether `got` and `want` are zeros of opposite signs and `lua5.4` gives
/// `got`'s. PUC Lua compiles `x - k`, for a small integer constant `k`
/// (folded from literals too), as `x + -k`, so `-0.0 - 0` is `0.0` there:
/// a rule of its code generator that the reference does not model.
/// Without `lua5.4` on the `PATH` this check is skipped (with a message)
/// and the sign accepted.
fn zero_sign_as_lua(src: &str, got: Value, want: R) -> bool {
    let (Value::Num(g), R::Float(w)) = (got, want) else {
        return false;
    };
    if g != 0.0 || w != 0.0 || g.is_sign_negative() == w.is_sign_negative() {
        return false;
    }
    let what = format!("expressions_match_reference's lua5.4 check of a zero's sign (taken as agreeing) for {src:?}");
    if !lua54::lua_available(&what) {
        return true;
    }
    let lua = lua54::each_source("return tostring(1 / load(src)())", &[src]);
    lua[0] == if g.is_sign_negative() { "-inf" } else { "inf" }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: scale::cases(2000), ..ProptestConfig::default() })]

    #[test]
    fn expressions_match_reference(e in expr()) {
        let mut decls = Vec::new();
        let body = source(&e, &mut decls);
        let src = format!("local math_mininteger = -9223372036854775807 - 1\n{}\nreturn {body}", decls.join("\n"));
        let mut vm = Vm::new();
        let got = vm.exec(src.as_bytes(), "=expr");
        match (eval(&e), got) {
            (Ok(want), Ok(vals)) => {
                prop_assert_eq!(vals.len(), 1);
                let agree = same(&vm, vals[0], want) || zero_sign_as_lua(&src, vals[0], want);
                prop_assert!(agree, "{src}\nVM gave {:?}, reference {:?}", vals[0], want);
            }
            (Err(()), Err(_)) => {}
            (want, got) => prop_assert!(false, "{src}\nreference {want:?}, VM {got:?}"),
        }
    }
}
