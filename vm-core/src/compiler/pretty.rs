//! AST pretty-printer: writes a syntax tree back as Lua source. PUC Lua has
//! no counterpart (it never keeps a tree); this is the inverse of `parse`
//! (`lparser.c`), used to test it.
//!
//! For every tree the parser can produce, parsing the printed text gives
//! the same tree again (line numbers aside). The printer adds no
//! parentheses of its own: the tree's `Paren` nodes are the only ones, so a
//! tree whose shape disagrees with operator precedence (say `Neg` applied
//! to an unparenthesised `Add`) prints as source with another shape.
//! Floats are written in the shortest form that reads back exactly, `inf`
//! as `1e9999`, integers below zero in hexadecimal (the parser produces
//! them only from hex numerals that wrap), and strings with escapes for
//! every byte that is not printable ASCII.

use std::fmt::Write as _;

use super::ast::{
    Attrib, BinOp, Block, Chunk, Expr, ExprKind, Field, FuncBody, Stat, StatKind, UnOp,
};
use super::lex::{is_alnum, is_alpha, is_reserved};

/// Writes `chunk` as Lua source, one statement per line.
pub(crate) fn print_chunk(chunk: &Chunk) -> String {
    let mut printer = Printer::default();
    printer.block(&chunk.block);
    printer.out.push('\n');
    printer.out
}

#[derive(Default)]
struct Printer {
    out: String,
    indent: usize,
}

impl Printer {
    fn put(&mut self, text: &str) {
        self.out.push_str(text);
    }

    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    fn block(&mut self, block: &Block) {
        for stat in &block.stats {
            self.newline();
            self.stat(stat);
        }
        if let Some(ret) = &block.ret {
            self.newline();
            self.put("return");
            if !ret.exprs.is_empty() {
                self.put(" ");
                self.expr_list(&ret.exprs);
            }
        }
    }

    /// An indented block followed by the keyword that closes it.
    fn nested(&mut self, block: &Block, closer: &str) {
        self.indent += 1;
        self.block(block);
        self.indent -= 1;
        self.newline();
        self.put(closer);
    }

    fn stat(&mut self, stat: &Stat) {
        match &stat.kind {
            StatKind::Local { names, exprs } => {
                self.put("local ");
                for (i, (name, attrib)) in names.iter().enumerate() {
                    self.separator(i);
                    self.put(name);
                    self.put(match attrib {
                        Attrib::None => "",
                        Attrib::Const => " <const>",
                        Attrib::Close => " <close>",
                    });
                }
                if !exprs.is_empty() {
                    self.put(" = ");
                    self.expr_list(exprs);
                }
            }
            StatKind::Assign { targets, exprs } => {
                self.statement_start(targets.first());
                self.expr_list(targets);
                self.put(" = ");
                self.expr_list(exprs);
            }
            StatKind::Call(call) => {
                self.statement_start(Some(call));
                self.expr(call);
            }
            StatKind::Do(body) => {
                self.put("do");
                self.nested(body, "end");
            }
            StatKind::While { cond, body } => {
                self.put("while ");
                self.expr(cond);
                self.put(" do");
                self.nested(body, "end");
            }
            StatKind::Repeat { body, cond } => {
                self.put("repeat");
                self.nested(body, "until ");
                self.expr(cond);
            }
            StatKind::If { arms, else_block } => self.if_stat(arms, else_block.as_ref()),
            StatKind::NumFor {
                var,
                start,
                limit,
                step,
                body,
            } => {
                let _ = write!(self.out, "for {var} = ");
                self.expr(start);
                self.put(", ");
                self.expr(limit);
                if let Some(step) = step {
                    self.put(", ");
                    self.expr(step);
                }
                self.put(" do");
                self.nested(body, "end");
            }
            StatKind::GenFor { names, exprs, body } => {
                let _ = write!(self.out, "for {} in ", names.join(", "));
                self.expr_list(exprs);
                self.put(" do");
                self.nested(body, "end");
            }
            StatKind::Function { path, method, func } => {
                let _ = write!(self.out, "function {}", path.join("."));
                let implicit = usize::from(method.is_some());
                if let Some(method) = method {
                    let _ = write!(self.out, ":{method}");
                }
                self.func_body(func, implicit);
            }
            StatKind::LocalFunction { name, func } => {
                let _ = write!(self.out, "local function {name}");
                self.func_body(func, 0);
            }
            StatKind::Break => self.put("break"),
            StatKind::Goto(label) => {
                let _ = write!(self.out, "goto {label}");
            }
            StatKind::Label(label) => {
                let _ = write!(self.out, "::{label}::");
            }
        }
    }

    /// A statement starting with `(` would continue the previous one as a
    /// call: an empty statement `;` before it keeps them apart.
    fn statement_start(&mut self, first: Option<&Expr>) {
        if first.is_some_and(starts_with_paren) {
            self.put(";");
        }
    }

    fn if_stat(&mut self, arms: &[(Expr, Block)], else_block: Option<&Block>) {
        for (i, (cond, block)) in arms.iter().enumerate() {
            self.put(if i == 0 { "if " } else { "elseif " });
            self.expr(cond);
            self.put(" then");
            self.indent += 1;
            self.block(block);
            self.indent -= 1;
            self.newline();
        }
        if let Some(block) = else_block {
            self.put("else");
            self.indent += 1;
            self.block(block);
            self.indent -= 1;
            self.newline();
        }
        self.put("end");
    }

    /// `(params) body end`, leaving out the first `implicit` parameters
    /// (a method's `self`).
    fn func_body(&mut self, func: &FuncBody, implicit: usize) {
        self.put("(");
        let params = func.params.get(implicit..).unwrap_or_default();
        for (i, param) in params.iter().enumerate() {
            self.separator(i);
            self.put(param);
        }
        if func.is_vararg {
            self.separator(params.len());
            self.put("...");
        }
        self.put(")");
        self.nested(&func.body, "end");
    }

    fn separator(&mut self, index: usize) {
        if index > 0 {
            self.put(", ");
        }
    }

    fn expr_list(&mut self, exprs: &[Expr]) {
        for (i, expr) in exprs.iter().enumerate() {
            self.separator(i);
            self.expr(expr);
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Nil => self.put("nil"),
            ExprKind::True => self.put("true"),
            ExprKind::False => self.put("false"),
            ExprKind::Int(i) => int_literal(*i, &mut self.out),
            ExprKind::Float(f) => float_literal(*f, &mut self.out),
            ExprKind::Str(bytes) => string_literal(bytes, &mut self.out),
            ExprKind::Vararg => self.put("..."),
            ExprKind::Function(func) => {
                self.put("function");
                self.func_body(func, 0);
            }
            ExprKind::Table(fields, _) => self.table(fields),
            ExprKind::Binary(op, lhs, rhs) => {
                self.expr(lhs);
                let _ = write!(self.out, " {} ", binary_spelling(*op));
                self.expr(rhs);
            }
            ExprKind::Unary(op, operand) => {
                self.put(match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "not ",
                    UnOp::Len => "#",
                    UnOp::BNot => "~",
                });
                // `- -x`, not the comment `--x`.
                if *op == UnOp::Neg && starts_with_minus(operand) {
                    self.put(" ");
                }
                self.expr(operand);
            }
            ExprKind::Name(name) => self.put(name),
            ExprKind::Index(obj, key) => {
                self.expr(obj);
                match &key.kind {
                    ExprKind::Str(name) if is_name(name) => {
                        self.put(".");
                        self.out.extend(name.iter().map(|&b| char::from(b)));
                    }
                    _ => {
                        self.put("[");
                        self.expr(key);
                        self.put("]");
                    }
                }
            }
            ExprKind::Call(callee, args) => {
                self.expr(callee);
                self.args(args);
            }
            ExprKind::Method(obj, name, args) => {
                self.expr(obj);
                let _ = write!(self.out, ":{name}");
                self.args(args);
            }
            ExprKind::Paren(inner) => {
                self.put("(");
                self.expr(inner);
                self.put(")");
            }
        }
    }

    fn args(&mut self, args: &[Expr]) {
        self.put("(");
        self.expr_list(args);
        self.put(")");
    }

    fn table(&mut self, fields: &[Field]) {
        self.put("{");
        for (i, field) in fields.iter().enumerate() {
            self.separator(i);
            match field {
                Field::Positional(value) => self.expr(value),
                Field::Named(name, value) => {
                    let _ = write!(self.out, "{name} = ");
                    self.expr(value);
                }
                Field::Keyed(key, value) => {
                    self.put("[");
                    self.expr(key);
                    self.put("] = ");
                    self.expr(value);
                }
            }
        }
        self.put("}");
    }
}

/// The expression that is written first when `expr` is printed.
fn leftmost(expr: &Expr) -> &Expr {
    match &expr.kind {
        ExprKind::Binary(_, inner, _)
        | ExprKind::Index(inner, _)
        | ExprKind::Call(inner, _)
        | ExprKind::Method(inner, _, _) => leftmost(inner),
        _ => expr,
    }
}

fn starts_with_paren(expr: &Expr) -> bool {
    matches!(leftmost(expr).kind, ExprKind::Paren(_))
}

fn starts_with_minus(expr: &Expr) -> bool {
    matches!(leftmost(expr).kind, ExprKind::Unary(UnOp::Neg, _))
}

/// Whether `bytes` can be written as a name (`a.name` rather than
/// `a["name"]`).
fn is_name(bytes: &[u8]) -> bool {
    match bytes.split_first() {
        Some((&first, rest)) => {
            is_alpha(first) && rest.iter().all(|&c| is_alnum(c)) && !is_reserved(bytes)
        }
        None => false,
    }
}

fn binary_spelling(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::IDiv => "//",
        BinOp::Mod => "%",
        BinOp::Pow => "^",
        BinOp::Concat => "..",
        BinOp::Eq => "==",
        BinOp::Ne => "~=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::And => "and",
        BinOp::Or => "or",
        BinOp::BAnd => "&",
        BinOp::BOr => "|",
        BinOp::BXor => "~",
        BinOp::Shl => "<<",
        BinOp::Shr => ">>",
    }
}

/// Non-negative integers in decimal; negative ones (which only a wrapping
/// hex numeral produces) in hex, which reads back as the same integer.
fn int_literal(i: i64, out: &mut String) {
    if i >= 0 {
        let _ = write!(out, "{i}");
    } else {
        let _ = write!(out, "0x{:x}", i as u64);
    }
}

/// Rust's `{:?}` is the shortest decimal that reads back exactly and always
/// has a `.` or an exponent, so Lua reads it as a float. Values the parser
/// never produces (negative, NaN) are written as expressions of that value.
fn float_literal(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("(0/0)");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "1e9999" } else { "(-1e9999)" });
    } else if f.is_sign_negative() {
        let _ = write!(out, "(-{:?})", -f);
    } else {
        let _ = write!(out, "{f:?}");
    }
}

/// A double-quoted string: printable ASCII as is, other bytes escaped
/// (`\ddd` always with three digits, so a following digit is not absorbed).
fn string_literal(bytes: &[u8], out: &mut String) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;
    use crate::compiler::ast::{Return, UNARY_PRIORITY};
    use crate::compiler::parse;

    // -----------------------------------------------------------------
    // Tree walking

    /// Hooks called while walking a tree; expressions are visited after
    /// their children, statements before theirs.
    trait Visitor {
        fn expr(&mut self, _expr: &mut Expr, _vararg: bool) {}
        fn stat(&mut self, _stat: &mut Stat) {}
        fn func(&mut self, _func: &mut FuncBody) {}
        fn ret(&mut self, _ret: &mut Return) {}
    }

    fn walk_chunk(chunk: &mut Chunk, v: &mut impl Visitor) {
        walk_block(&mut chunk.block, true, v);
    }

    fn walk_block(block: &mut Block, vararg: bool, v: &mut impl Visitor) {
        for stat in &mut block.stats {
            walk_stat(stat, vararg, v);
        }
        if let Some(ret) = &mut block.ret {
            v.ret(ret);
            walk_exprs(&mut ret.exprs, vararg, v);
        }
    }

    fn walk_stat(stat: &mut Stat, vararg: bool, v: &mut impl Visitor) {
        v.stat(stat);
        match &mut stat.kind {
            StatKind::Local { exprs, .. } => walk_exprs(exprs, vararg, v),
            StatKind::Assign { targets, exprs } => {
                walk_exprs(targets, vararg, v);
                walk_exprs(exprs, vararg, v);
            }
            StatKind::Call(call) => walk_expr(call, vararg, v),
            StatKind::Do(body) => walk_block(body, vararg, v),
            StatKind::While { cond, body } | StatKind::Repeat { body, cond } => {
                walk_expr(cond, vararg, v);
                walk_block(body, vararg, v);
            }
            StatKind::If { arms, else_block } => {
                for (cond, block) in arms {
                    walk_expr(cond, vararg, v);
                    walk_block(block, vararg, v);
                }
                if let Some(block) = else_block {
                    walk_block(block, vararg, v);
                }
            }
            StatKind::NumFor {
                start,
                limit,
                step,
                body,
                ..
            } => {
                walk_expr(start, vararg, v);
                walk_expr(limit, vararg, v);
                if let Some(step) = step {
                    walk_expr(step, vararg, v);
                }
                walk_block(body, vararg, v);
            }
            StatKind::GenFor { exprs, body, .. } => {
                walk_exprs(exprs, vararg, v);
                walk_block(body, vararg, v);
            }
            StatKind::Function { func, .. } | StatKind::LocalFunction { func, .. } => {
                walk_func(func, v);
            }
            StatKind::Break | StatKind::Goto(_) | StatKind::Label(_) => {}
        }
    }

    fn walk_func(func: &mut FuncBody, v: &mut impl Visitor) {
        v.func(func);
        walk_block(&mut func.body, func.is_vararg, v);
    }

    fn walk_exprs(exprs: &mut [Expr], vararg: bool, v: &mut impl Visitor) {
        for expr in exprs {
            walk_expr(expr, vararg, v);
        }
    }

    fn walk_expr(expr: &mut Expr, vararg: bool, v: &mut impl Visitor) {
        match &mut expr.kind {
            ExprKind::Function(func) => walk_func(func, v),
            ExprKind::Table(fields, _) => {
                for field in fields {
                    match field {
                        Field::Positional(value) | Field::Named(_, value) => {
                            walk_expr(value, vararg, v);
                        }
                        Field::Keyed(key, value) => {
                            walk_expr(key, vararg, v);
                            walk_expr(value, vararg, v);
                        }
                    }
                }
            }
            ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
                walk_expr(a, vararg, v);
                walk_expr(b, vararg, v);
            }
            ExprKind::Unary(_, a) | ExprKind::Paren(a) => walk_expr(a, vararg, v),
            ExprKind::Call(callee, args) | ExprKind::Method(callee, _, args) => {
                walk_expr(callee, vararg, v);
                walk_exprs(args, vararg, v);
            }
            _ => {}
        }
        v.expr(expr, vararg);
    }

    /// Sets every line number to 0, to compare trees modulo lines.
    struct EraseLines;

    impl Visitor for EraseLines {
        fn expr(&mut self, expr: &mut Expr, _: bool) {
            expr.line = 0;
            if let ExprKind::Table(_, end_line) = &mut expr.kind {
                *end_line = 0;
            }
        }
        fn stat(&mut self, stat: &mut Stat) {
            stat.line = 0;
            stat.end_line = 0;
        }
        fn func(&mut self, func: &mut FuncBody) {
            func.line = 0;
            func.end_line = 0;
        }
        fn ret(&mut self, ret: &mut Return) {
            ret.line = 0;
        }
    }

    fn without_lines(mut chunk: Chunk) -> Chunk {
        walk_chunk(&mut chunk, &mut EraseLines);
        chunk.end_line = 0;
        chunk
    }

    /// Parses `src`, prints the tree, parses the print: the two trees must
    /// be equal (modulo lines). Returns the printed text.
    fn assert_round_trip(src: &[u8]) -> Option<String> {
        let first = parse(src, "src").ok()?;
        let printed = print_chunk(&first);
        let second = parse(printed.as_bytes(), "printed").unwrap_or_else(|e| {
            panic!(
                "{e}\nsource: {:?}\nprinted:\n{printed}",
                String::from_utf8_lossy(src)
            )
        });
        assert_eq!(
            without_lines(first),
            without_lines(second),
            "source: {:?}\nprinted:\n{printed}",
            String::from_utf8_lossy(src)
        );
        Some(printed)
    }

    fn print_source(src: &str) -> String {
        assert_round_trip(src.as_bytes()).unwrap_or_else(|| panic!("{src} does not parse"))
    }

    // -----------------------------------------------------------------
    // Printing

    #[test]
    fn prints_every_construct_back() {
        let src = "local a <const>, b <close> = 1, 2.5\n\
                   a, t.x, t[\"not a name\"], t[1] = ..., {1, x = 2, [3] = 4, f()}\n\
                   f(a)(b):m(c, d) (f).x = -(-1) ^ 2\n\
                   do goto l ::l:: end\n\
                   while not a do break end\n\
                   repeat local r = #t until r ~= nil\n\
                   if a then elseif b then else return end\n\
                   for i = 1, 10, -1 do end for k, v in next, t do end\n\
                   function a.b.c:m(x, ...) return self, ... end\n\
                   local function g() end\n\
                   return function(...) return a and b or c, a .. b .. c, 1 // 2 % 3 end";
        let printed = print_source(src);
        assert!(
            printed.contains("local a <const>, b <close> = 1, 2.5"),
            "{printed}"
        );
        assert!(printed.contains("function a.b.c:m(x, ...)"), "{printed}");
        assert!(printed.contains("t[\"not a name\"]"), "{printed}");
    }

    #[test]
    fn adds_no_parentheses_and_keeps_the_tree_s() {
        assert_eq!(print_source("x = (1 + 2) * 3"), "\nx = (1 + 2) * 3\n");
        assert_eq!(print_source("x = 2 ^ -3 ^ 2"), "\nx = 2 ^ -3 ^ 2\n");
        assert_eq!(print_source("x = - - -1"), "\nx = - - -1\n");
        assert_eq!(print_source("x = a .. (b .. c)"), "\nx = a .. (b .. c)\n");
    }

    #[test]
    fn separates_a_statement_that_starts_with_a_parenthesis() {
        let printed = print_source("local x = f\n;(g)()\n;(t).k = 1");
        assert_eq!(printed, "\nlocal x = f\n;(g)()\n;(t).k = 1\n");
    }

    #[test]
    fn numbers_read_back_exactly() {
        for src in [
            "x = 0.1",
            "x = 1e300",
            "x = 5e-324",
            "x = 2.2250738585072014e-308",
            "x = 9007199254740993.0",
            "x = 1e9999",
            "x = 0x1p-1074",
            "x = 0xffffffffffffffff",
            "x = 0x8000000000000000",
            "x = 9223372036854775807",
            "x = 9223372036854775808",
            "x = 123.0",
        ] {
            print_source(src);
        }
        assert_eq!(print_source("x = 1e9999"), "\nx = 1e9999\n");
        assert_eq!(print_source("x = 0xff"), "\nx = 255\n");
        assert_eq!(
            print_source("x = 0x8000000000000000"),
            "\nx = 0x8000000000000000\n"
        );
        assert_eq!(print_source("x = 3."), "\nx = 3.0\n");
    }

    #[test]
    fn numbers_the_parser_never_produces_print_as_expressions() {
        let mut out = String::new();
        float_literal(-1.5, &mut out);
        float_literal(f64::NEG_INFINITY, &mut out);
        float_literal(f64::NAN, &mut out);
        assert_eq!(out, "(-1.5)(-1e9999)(0/0)");
    }

    #[test]
    fn strings_escape_every_unprintable_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let mut src = b"x = ".to_vec();
        let mut literal = String::new();
        string_literal(&all, &mut literal);
        assert!(literal.is_ascii());
        src.extend_from_slice(literal.as_bytes());
        let chunk = parse(&src, "src").unwrap();
        let StatKind::Assign { exprs, .. } = &chunk.block.stats[0].kind else {
            panic!()
        };
        assert_eq!(exprs[0].kind, ExprKind::Str(all));
        // Three-digit escapes, so that a digit after them stays a digit.
        assert_eq!(print_source("x = '\\0011'"), "\nx = \"\\0011\"\n");
    }

    // -----------------------------------------------------------------
    // Random trees

    fn scale() -> u32 {
        std::env::var("VM_TEST_SCALE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
    }

    fn config(cases: u32) -> ProptestConfig {
        ProptestConfig {
            cases: cases * scale(),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    fn e(kind: ExprKind) -> Expr {
        Expr { kind, line: 0 }
    }

    fn name() -> BoxedStrategy<String> {
        let fixed = select(&["a", "b", "x", "self", "_", "Nil", "end_", "goto1"][..]);
        prop_oneof![
            3 => fixed.prop_map(String::from),
            1 => "[a-zA-Z_][a-zA-Z0-9_]{0,5}".prop_filter("reserved", |s| !is_reserved(s.as_bytes())),
        ]
        .boxed()
    }

    fn float() -> BoxedStrategy<f64> {
        prop_oneof![
            // Every finite float >= 0, by bit pattern.
            (0u64..0x7ff0_0000_0000_0000).prop_map(f64::from_bits),
            (0u32..4096).prop_map(|n| f64::from(n) / 16.0),
            Just(f64::INFINITY),
        ]
        .boxed()
    }

    fn leaf() -> BoxedStrategy<Expr> {
        prop_oneof![
            Just(ExprKind::Nil),
            Just(ExprKind::True),
            Just(ExprKind::False),
            Just(ExprKind::Vararg),
            prop_oneof![0..=i64::MAX, 0..1000i64].prop_map(ExprKind::Int),
            float().prop_map(ExprKind::Float),
            vec(any::<u8>(), 0..8).prop_map(ExprKind::Str),
            name().prop_map(ExprKind::Name),
            name().prop_map(ExprKind::Name),
        ]
        .prop_map(e)
        .boxed()
    }

    fn binary_op() -> impl Strategy<Value = BinOp> {
        use BinOp::*;
        select(
            &[
                Add, Sub, Mul, Div, IDiv, Mod, Pow, Concat, Eq, Ne, Lt, Le, Gt, Ge, And, Or, BAnd,
                BOr, BXor, Shl, Shr,
            ][..],
        )
    }

    fn unary_op() -> impl Strategy<Value = UnOp> {
        select(&[UnOp::Neg, UnOp::Not, UnOp::Len, UnOp::BNot][..])
    }

    fn field(ex: BoxedStrategy<Expr>) -> impl Strategy<Value = Field> {
        prop_oneof![
            ex.clone().prop_map(Field::Positional),
            (name(), ex.clone()).prop_map(|(n, v)| Field::Named(n, v)),
            (ex.clone(), ex).prop_map(|(k, v)| Field::Keyed(k, v)),
        ]
    }

    fn func_body(block: BoxedStrategy<Block>) -> impl Strategy<Value = FuncBody> {
        (vec(name(), 0..3), any::<bool>(), block).prop_map(|(params, is_vararg, body)| FuncBody {
            params,
            is_vararg,
            body,
            line: 0,
            end_line: 0,
        })
    }

    fn block(stat: BoxedStrategy<Stat>, ex: BoxedStrategy<Expr>) -> BoxedStrategy<Block> {
        let ret = prop::option::weighted(0.3, vec(ex, 0..3));
        (vec(stat, 0..4), ret)
            .prop_map(|(stats, ret)| Block {
                stats,
                ret: ret.map(|exprs| Return { exprs, line: 0 }),
            })
            .boxed()
    }

    fn call(ex: BoxedStrategy<Expr>) -> impl Strategy<Value = ExprKind> {
        let args = vec(ex.clone(), 0..3);
        prop_oneof![
            (ex.clone(), args.clone()).prop_map(|(f, a)| ExprKind::Call(Box::new(f), a)),
            (ex, name(), args).prop_map(|(o, m, a)| ExprKind::Method(Box::new(o), m, a)),
        ]
    }

    /// Statements without nested blocks.
    fn simple_stat(ex: BoxedStrategy<Expr>) -> BoxedStrategy<Stat> {
        let attrib = select(&[Attrib::None, Attrib::None, Attrib::Const, Attrib::Close][..]);
        let target = prop_oneof![
            name().prop_map(|n| e(ExprKind::Name(n))),
            (ex.clone(), ex.clone())
                .prop_map(|(o, k)| e(ExprKind::Index(Box::new(o), Box::new(k)))),
        ];
        prop_oneof![
            (vec((name(), attrib), 1..3), vec(ex.clone(), 0..3))
                .prop_map(|(names, exprs)| StatKind::Local { names, exprs }),
            (vec(target, 1..3), vec(ex.clone(), 1..3))
                .prop_map(|(targets, exprs)| StatKind::Assign { targets, exprs }),
            call(ex).prop_map(|call| StatKind::Call(e(call))),
            Just(StatKind::Break),
            name().prop_map(StatKind::Goto),
            name().prop_map(StatKind::Label),
        ]
        .prop_map(|kind| Stat {
            kind,
            line: 0,
            end_line: 0,
        })
        .boxed()
    }

    /// Any expression; functions hold blocks of simple statements.
    fn expr() -> BoxedStrategy<Expr> {
        leaf()
            .prop_recursive(4, 40, 4, |inner| {
                let body = block(simple_stat(inner.clone()), inner.clone());
                prop_oneof![
                    4 => (binary_op(), inner.clone(), inner.clone())
                        .prop_map(|(op, a, b)| ExprKind::Binary(op, Box::new(a), Box::new(b))),
                    3 => (unary_op(), inner.clone())
                        .prop_map(|(op, a)| ExprKind::Unary(op, Box::new(a))),
                    2 => (inner.clone(), inner.clone())
                        .prop_map(|(o, k)| ExprKind::Index(Box::new(o), Box::new(k))),
                    1 => inner.clone().prop_map(|a| ExprKind::Paren(Box::new(a))),
                    1 => vec(field(inner.clone()), 0..4).prop_map(|f| ExprKind::Table(f, 0)),
                    1 => func_body(body).prop_map(|f| ExprKind::Function(Box::new(f))),
                    2 => call(inner),
                ]
                .prop_map(e)
            })
            .boxed()
    }

    fn stat() -> BoxedStrategy<Stat> {
        let ex = expr();
        simple_stat(ex.clone())
            .prop_recursive(3, 16, 3, move |inner| {
                let body = block(inner, ex.clone());
                let ex = ex.clone();
                prop_oneof![
                    body.clone().prop_map(StatKind::Do),
                    (ex.clone(), body.clone())
                        .prop_map(|(cond, body)| StatKind::While { cond, body }),
                    (body.clone(), ex.clone())
                        .prop_map(|(body, cond)| StatKind::Repeat { body, cond }),
                    (
                        vec((ex.clone(), body.clone()), 1..3),
                        prop::option::of(body.clone())
                    )
                        .prop_map(|(arms, else_block)| StatKind::If { arms, else_block }),
                    (
                        name(),
                        ex.clone(),
                        ex.clone(),
                        prop::option::of(ex.clone()),
                        body.clone()
                    )
                        .prop_map(|(var, start, limit, step, body)| {
                            StatKind::NumFor {
                                var,
                                start,
                                limit,
                                step,
                                body,
                            }
                        }),
                    (vec(name(), 1..3), vec(ex, 1..3), body.clone())
                        .prop_map(|(names, exprs, body)| StatKind::GenFor { names, exprs, body }),
                    (
                        vec(name(), 1..3),
                        prop::option::of(name()),
                        func_body(body.clone())
                    )
                        .prop_map(|(path, method, func)| StatKind::Function {
                            path,
                            method,
                            func
                        }),
                    (name(), func_body(body))
                        .prop_map(|(name, func)| StatKind::LocalFunction { name, func }),
                ]
                .prop_map(|kind| Stat {
                    kind,
                    line: 0,
                    end_line: 0,
                })
            })
            .boxed()
    }

    /// A random tree, made valid by [`MakeValid`].
    fn chunk() -> impl Strategy<Value = Chunk> {
        block(stat(), expr()).prop_map(|block| {
            let mut chunk = Chunk { block, end_line: 0 };
            walk_chunk(&mut chunk, &mut MakeValid);
            chunk
        })
    }

    /// Turns a random tree into one the parser can produce: parentheses
    /// where precedence would otherwise reshape it, prefix expressions
    /// where the grammar wants them, `...` only in variadic functions, at
    /// most one `<close>` per `local`, and `self` first in methods.
    struct MakeValid;

    fn paren(expr: &mut Expr) {
        let inner = std::mem::replace(expr, e(ExprKind::Nil));
        *expr = e(ExprKind::Paren(Box::new(inner)));
    }

    fn is_prefix(expr: &Expr) -> bool {
        matches!(
            expr.kind,
            ExprKind::Name(_)
                | ExprKind::Index(..)
                | ExprKind::Call(..)
                | ExprKind::Method(..)
                | ExprKind::Paren(_)
        )
    }

    /// Whether `lhs`, printed left of `op`, would lose `op`'s left operand
    /// to its own rightmost operator (`a + b` left of `*`).
    fn lhs_needs_paren(op: BinOp, lhs: &Expr) -> bool {
        let left = op.priority().0;
        match &lhs.kind {
            ExprKind::Binary(inner, ..) => left > inner.priority().1,
            ExprKind::Unary(..) => left > UNARY_PRIORITY,
            _ => false,
        }
    }

    /// Whether `rhs`, printed right of `op`, would be split by it
    /// (`a - b` right of `-`).
    fn rhs_needs_paren(op: BinOp, rhs: &Expr) -> bool {
        matches!(&rhs.kind, ExprKind::Binary(inner, ..) if inner.priority().0 <= op.priority().1)
    }

    /// Whether a unary operator would take only part of `operand`.
    fn operand_needs_paren(operand: &Expr) -> bool {
        matches!(&operand.kind, ExprKind::Binary(op, ..) if op.priority().0 <= UNARY_PRIORITY)
    }

    impl Visitor for MakeValid {
        fn expr(&mut self, expr: &mut Expr, vararg: bool) {
            match &mut expr.kind {
                ExprKind::Vararg if !vararg => expr.kind = ExprKind::Nil,
                ExprKind::Binary(op, lhs, rhs) => {
                    if lhs_needs_paren(*op, lhs) {
                        paren(lhs);
                    }
                    if rhs_needs_paren(*op, rhs) {
                        paren(rhs);
                    }
                }
                ExprKind::Unary(_, operand) if operand_needs_paren(operand) => paren(operand),
                ExprKind::Index(obj, _) | ExprKind::Call(obj, _) | ExprKind::Method(obj, _, _)
                    if !is_prefix(obj) =>
                {
                    paren(obj);
                }
                _ => {}
            }
        }

        fn stat(&mut self, stat: &mut Stat) {
            match &mut stat.kind {
                StatKind::Local { names, .. } => {
                    let mut closes = names.iter_mut().filter(|(_, a)| *a == Attrib::Close);
                    closes.next();
                    for (_, attrib) in closes {
                        *attrib = Attrib::Const;
                    }
                }
                StatKind::Function {
                    method: Some(_),
                    func,
                    ..
                } => func.params.insert(0, "self".to_owned()),
                _ => {}
            }
        }
    }

    proptest! {
        #![proptest_config(config(2_000))]

        /// Printing then parsing a valid tree gives the same tree.
        #[test]
        fn random_trees_round_trip(chunk in chunk()) {
            let printed = print_chunk(&chunk);
            let parsed = parse(printed.as_bytes(), "printed")
                .map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
            prop_assert_eq!(without_lines(parsed), chunk, "printed:\n{}", printed);
        }
    }

    // -----------------------------------------------------------------
    // Malformed input

    /// Valid snippets that mutations start from.
    const CORPUS: &[&str] = &[
        "local a, b <const>, c <close> = 1, 2.5, 'x'\nreturn a",
        "x = 0x10 + 1e3 - .5 * 3 // 2 % 1 ^ -2 .. 'a' .. \"b\" | 1 & 2 ~ 3 << 4 >> 5",
        "if a then b() elseif c then d = 1 else return end",
        "while x < 10 do x = x + 1 if x == 5 then break end end",
        "repeat local y = f(x) until y >= 3 or not z and #t ~= -1",
        "for i = 1, 10, 2 do t[i] = i end for k, v in pairs(t) do print(k, v) end",
        "function a.b.c:m(x, ...) return self, ... end",
        "local function f(a, b) return a and b or nil end",
        "goto done ::done:: do ::inner:: end",
        "t = {1, 2; x = 3, ['y'] = 4, [5] = {}, f(), ...}",
        "s = [[\nlong\nstring]] .. [==[ with ]] inside ]==]",
        "--[[ long\ncomment ]] x = 1 -- short comment\ny = 2",
        "a.b[c]:d(e)(f){g}'h'\"i\"[[j]]",
        "print(\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\\'\\z  \n \\x41\\65\\u{48}\\u{7FFFFFFF}\")",
        "f(\n  a,\n  b\n)\n(g)()",
        "x = function(...) local a, b = ... return {...} end",
        "x = - - - 1 y = not not true z = ~~1",
        "return f(x), (g(y))",
    ];

    /// Byte strings that mutations insert.
    const INSERTS: &[&[u8]] = &[
        b"(",
        b")",
        b"{",
        b"}",
        b"[",
        b"]",
        b"[[",
        b"]]",
        b"[=[",
        b"=",
        b"==",
        b",",
        b";",
        b":",
        b"::",
        b".",
        b"..",
        b"...",
        b"'",
        b"\"",
        b"\\",
        b"\n",
        b"\r",
        b" ",
        b"--",
        b"-",
        b"~",
        b"end",
        b"do",
        b"then",
        b"local",
        b"function",
        b"return",
        b"if",
        b"for",
        b"in",
        b"goto",
        b"break",
        b"<close>",
        b"<",
        b">",
        b"0x",
        b"1e",
        b"9",
        b"x",
        b"\\z",
        b"\\u{",
        b"\\x",
        b"\0",
        b"\x80",
        b"@",
        b"#",
        b"^",
        b"not",
        b"and",
        b"or",
    ];

    #[derive(Clone, Debug)]
    enum Mutation {
        Insert(usize, &'static [u8]),
        Delete(usize),
        Replace(usize, u8),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), select(INSERTS)).prop_map(|(at, s)| Mutation::Insert(at, s)),
            any::<usize>().prop_map(Mutation::Delete),
            (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Replace(at, b)),
        ]
    }

    fn mutate(src: &str, mutations: &[Mutation]) -> Vec<u8> {
        let mut out = src.as_bytes().to_vec();
        for mutation in mutations {
            match *mutation {
                Mutation::Insert(at, s) => {
                    let at = at % (out.len() + 1);
                    out.splice(at..at, s.iter().copied());
                }
                Mutation::Delete(at) if !out.is_empty() => {
                    out.remove(at % out.len());
                }
                Mutation::Replace(at, b) if !out.is_empty() => {
                    let at = at % out.len();
                    out[at] = b;
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn corpus_round_trips() {
        for src in CORPUS {
            print_source(src);
        }
    }

    proptest! {
        #![proptest_config(config(20_000))]

        /// Mutated programs give a tree or an error, never a panic; a tree
        /// prints back to source giving the same tree.
        #[test]
        fn mutated_programs(src in select(CORPUS), mutations in vec(mutation(), 1..4)) {
            let _ = assert_round_trip(&mutate(src, &mutations));
        }

        /// Sequences of tokens and token starts, which reach parser states
        /// that mutations of valid code rarely do.
        #[test]
        fn token_soup(parts in vec(select(INSERTS), 0..24)) {
            let _ = assert_round_trip(&parts.join(&b' '));
        }
    }

    proptest! {
        #![proptest_config(config(10_000))]

        #[test]
        fn random_bytes(src in vec(any::<u8>(), 0..200)) {
            let _ = assert_round_trip(&src);
        }
    }
}
