//! Small constructors for syntax trees in tests. Everything is on line 1
//! unless placed with `at`/`stat_at`.

use crate::compiler::ast::{
    Attrib, BinOp, Block, Chunk, Expr, ExprKind, Field, FuncBody, Return, Stat, StatKind, UnOp,
};

pub(crate) fn e(kind: ExprKind) -> Expr {
    Expr { kind, line: 1 }
}

/// `expr` on line `line`.
pub(crate) fn at(line: u32, mut expr: Expr) -> Expr {
    expr.line = line;
    expr
}

pub(crate) fn name(n: &str) -> Expr {
    e(ExprKind::Name(n.to_string()))
}

pub(crate) fn int(i: i64) -> Expr {
    e(ExprKind::Int(i))
}

pub(crate) fn flt(f: f64) -> Expr {
    e(ExprKind::Float(f))
}

pub(crate) fn str(s: &str) -> Expr {
    e(ExprKind::Str(s.as_bytes().to_vec()))
}

pub(crate) fn nil() -> Expr {
    e(ExprKind::Nil)
}

pub(crate) fn tru() -> Expr {
    e(ExprKind::True)
}

pub(crate) fn fal() -> Expr {
    e(ExprKind::False)
}

pub(crate) fn vararg() -> Expr {
    e(ExprKind::Vararg)
}

pub(crate) fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    e(ExprKind::Binary(op, Box::new(a), Box::new(b)))
}

pub(crate) fn un(op: UnOp, a: Expr) -> Expr {
    e(ExprKind::Unary(op, Box::new(a)))
}

pub(crate) fn paren(a: Expr) -> Expr {
    e(ExprKind::Paren(Box::new(a)))
}

/// `obj[key]`
pub(crate) fn index(obj: Expr, key: Expr) -> Expr {
    e(ExprKind::Index(Box::new(obj), Box::new(key)))
}

/// `obj.field`
pub(crate) fn field(obj: Expr, f: &str) -> Expr {
    index(obj, str(f))
}

pub(crate) fn call(f: Expr, args: Vec<Expr>) -> Expr {
    e(ExprKind::Call(Box::new(f), args))
}

/// `obj:m(args)`
pub(crate) fn method(obj: Expr, m: &str, args: Vec<Expr>) -> Expr {
    e(ExprKind::Method(Box::new(obj), m.to_string(), args))
}

pub(crate) fn table(fields: Vec<Field>) -> Expr {
    e(ExprKind::Table(fields, 1))
}

pub(crate) fn pos(v: Expr) -> Field {
    Field::Positional(v)
}

pub(crate) fn named(n: &str, v: Expr) -> Field {
    Field::Named(n.to_string(), v)
}

pub(crate) fn keyed(k: Expr, v: Expr) -> Field {
    Field::Keyed(k, v)
}

/// A function body on lines `line..=end_line`.
pub(crate) fn body(
    params: &[&str],
    is_vararg: bool,
    block: Block,
    line: u32,
    end_line: u32,
) -> FuncBody {
    FuncBody {
        params: params.iter().map(|p| p.to_string()).collect(),
        is_vararg,
        body: block,
        line,
        end_line,
    }
}

/// `function (params) block end` on line 1.
pub(crate) fn func(params: &[&str], is_vararg: bool, block: Block) -> Expr {
    e(ExprKind::Function(Box::new(body(
        params, is_vararg, block, 1, 1,
    ))))
}

pub(crate) fn s(kind: StatKind) -> Stat {
    Stat {
        kind,
        line: 1,
        end_line: 1,
    }
}

pub(crate) fn local(names: &[&str], exprs: Vec<Expr>) -> Stat {
    let names = names
        .iter()
        .map(|n| (n.to_string(), Attrib::None))
        .collect();
    s(StatKind::Local { names, exprs })
}

pub(crate) fn local_attr(names: &[(&str, Attrib)], exprs: Vec<Expr>) -> Stat {
    let names = names.iter().map(|&(n, a)| (n.to_string(), a)).collect();
    s(StatKind::Local { names, exprs })
}

pub(crate) fn assign(targets: Vec<Expr>, exprs: Vec<Expr>) -> Stat {
    s(StatKind::Assign { targets, exprs })
}

pub(crate) fn call_stat(c: Expr) -> Stat {
    s(StatKind::Call(c))
}

pub(crate) fn do_(b: Block) -> Stat {
    s(StatKind::Do(b))
}

pub(crate) fn while_(cond: Expr, b: Block) -> Stat {
    s(StatKind::While { cond, body: b })
}

pub(crate) fn repeat(b: Block, cond: Expr) -> Stat {
    s(StatKind::Repeat { body: b, cond })
}

pub(crate) fn if_(arms: Vec<(Expr, Block)>, else_block: Option<Block>) -> Stat {
    s(StatKind::If { arms, else_block })
}

pub(crate) fn num_for(var: &str, start: Expr, limit: Expr, step: Option<Expr>, b: Block) -> Stat {
    s(StatKind::NumFor {
        var: var.to_string(),
        start,
        limit,
        step,
        body: b,
    })
}

pub(crate) fn gen_for(names: &[&str], exprs: Vec<Expr>, b: Block) -> Stat {
    s(StatKind::GenFor {
        names: names.iter().map(|n| n.to_string()).collect(),
        exprs,
        body: b,
    })
}

pub(crate) fn function(path: &[&str], method: Option<&str>, f: FuncBody) -> Stat {
    s(StatKind::Function {
        path: path.iter().map(|p| p.to_string()).collect(),
        method: method.map(str::to_string),
        func: f,
    })
}

pub(crate) fn local_function(n: &str, f: FuncBody) -> Stat {
    s(StatKind::LocalFunction {
        name: n.to_string(),
        func: f,
    })
}

pub(crate) fn brk() -> Stat {
    s(StatKind::Break)
}

pub(crate) fn goto(label: &str) -> Stat {
    s(StatKind::Goto(label.to_string()))
}

pub(crate) fn label(l: &str) -> Stat {
    s(StatKind::Label(l.to_string()))
}

pub(crate) fn block(stats: Vec<Stat>) -> Block {
    Block { stats, ret: None }
}

pub(crate) fn block_ret(stats: Vec<Stat>, exprs: Vec<Expr>) -> Block {
    Block {
        stats,
        ret: Some(Return { exprs, line: 1 }),
    }
}

pub(crate) fn chunk(stats: Vec<Stat>) -> Chunk {
    Chunk {
        block: block(stats),
        end_line: 1,
    }
}

pub(crate) fn chunk_ret(stats: Vec<Stat>, exprs: Vec<Expr>) -> Chunk {
    Chunk {
        block: block_ret(stats, exprs),
        end_line: 1,
    }
}

/// Puts `stat` and the expressions it contains (not its nested blocks or
/// function bodies) on line `line`.
pub(crate) fn on(line: u32, mut stat: Stat) -> Stat {
    stat.line = line;
    stat.end_line = line;
    let exprs: Vec<&mut Expr> = match &mut stat.kind {
        StatKind::Local { exprs, .. } => exprs.iter_mut().collect(),
        StatKind::Assign { targets, exprs } => targets.iter_mut().chain(exprs.iter_mut()).collect(),
        StatKind::Call(c) => vec![c],
        StatKind::While { cond, .. } | StatKind::Repeat { cond, .. } => vec![cond],
        StatKind::If { arms, .. } => arms.iter_mut().map(|(c, _)| c).collect(),
        StatKind::NumFor {
            start, limit, step, ..
        } => {
            let mut v = vec![start, limit];
            v.extend(step.as_mut());
            v
        }
        StatKind::GenFor { exprs, .. } => exprs.iter_mut().collect(),
        _ => vec![],
    };
    for e in exprs {
        set_line(line, e);
    }
    stat
}

fn set_line(line: u32, e: &mut Expr) {
    e.line = line;
    match &mut e.kind {
        ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
            set_line(line, a);
            set_line(line, b);
        }
        ExprKind::Unary(_, a) | ExprKind::Paren(a) => set_line(line, a),
        ExprKind::Call(f, args) | ExprKind::Method(f, _, args) => {
            set_line(line, f);
            args.iter_mut().for_each(|a| set_line(line, a));
        }
        ExprKind::Table(fields, end_line) => {
            *end_line = line;
            for field in fields {
                match field {
                    Field::Positional(v) | Field::Named(_, v) => set_line(line, v),
                    Field::Keyed(k, v) => {
                        set_line(line, k);
                        set_line(line, v);
                    }
                }
            }
        }
        _ => {}
    }
}
