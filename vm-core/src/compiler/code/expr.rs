//! Expressions of the tree (`lparser.c`'s `expr`, `simpleexp`,
//! `suffixedexp`, `funcargs`, `constructor`, `explist`).
//!
//! Chains (`a + b * c == d`, `a.b[c]:m()()`) are as long as the source
//! makes them (the parser limits nesting, not chains), and their trees
//! lean left: each binary operator or suffix holds the chain before it as
//! its first operand. `chain` walks that left spine with a loop, as the
//! parser reads it, then compiles the links bottom up, so a chain's length
//! never deepens the Rust stack; only the other operands (right operands,
//! keys, arguments), which are nested, recurse, as deep as the parser
//! allows. The loop follows binary operators and suffixes alike, so a tree
//! built by hand that mixes them without parentheses is walked the same
//! way.

use smallvec::SmallVec;

use super::exp::{ExpDesc, ExpKind};
use super::{CResult, Compiler};
use crate::compiler::ast::{Expr, ExprKind, Field};
use crate::opcodes::Op;

/// Positional items stored by one `SETLIST` (`LFIELDS_PER_FLUSH`).
const FIELDS_PER_FLUSH: usize = 50;

/// Progress through a table constructor (`ConsControl`).
struct Constructor {
    /// Register of the table.
    table: u8,
    /// The last positional item, not yet stored in a register.
    pending: ExpDesc,
    /// Positional items already stored with `SETLIST`.
    stored: usize,
    /// Positional items in registers waiting for a `SETLIST`.
    to_store: usize,
    /// Keyed items.
    hashed: usize,
}

impl Compiler<'_> {
    /// Compiles an expression, leaving its value described, not
    /// necessarily in a register (`expr`).
    pub(super) fn expr(&mut self, e: &Expr) -> CResult<ExpDesc> {
        self.fs.line = e.line;
        match &e.kind {
            ExprKind::Binary(..)
            | ExprKind::Index(..)
            | ExprKind::Call(..)
            | ExprKind::Method(..) => self.chain(e),
            ExprKind::Name(_) | ExprKind::Paren(_) => self.primary_exp(e),
            ExprKind::Unary(op, operand) => {
                let mut v = self.expr(operand)?;
                self.prefix(*op, &mut v, e.line)?;
                Ok(v)
            }
            ExprKind::Nil => Ok(ExpDesc::new(ExpKind::Nil)),
            ExprKind::True => Ok(ExpDesc::new(ExpKind::True)),
            ExprKind::False => Ok(ExpDesc::new(ExpKind::False)),
            ExprKind::Int(i) => Ok(ExpDesc::new(ExpKind::Int(*i))),
            ExprKind::Float(f) => Ok(ExpDesc::new(ExpKind::Float(*f))),
            ExprKind::Str(bytes) => Ok(ExpDesc::new(ExpKind::Str(self.intern(bytes)))),
            ExprKind::Vararg => {
                if !self.fs.proto.is_vararg {
                    return Err(self.error("cannot use '...' outside a vararg function near '...'"));
                }
                let pc = self.fs.emit(Op::VarArg { a: 0, c: 1 });
                Ok(ExpDesc::new(ExpKind::Vararg(pc)))
            }
            ExprKind::Function(body) => self.body(body),
            ExprKind::Table(fields, end_line) => self.constructor(fields, *end_line),
        }
    }

    /// A chain: the expression at the bottom of its left spine, then the
    /// binary operators (`subexpr`'s loop) and the field accesses, method
    /// calls and calls (`suffixedexp`'s loop) above it, in evaluation
    /// order. Also a single name, as an assignment's target.
    #[inline(never)]
    pub(super) fn chain(&mut self, e: &Expr) -> CResult<ExpDesc> {
        let mut links: SmallVec<[&Expr; 8]> = SmallVec::new();
        let mut bottom = e;
        while let ExprKind::Binary(_, first, _)
        | ExprKind::Index(first, _)
        | ExprKind::Call(first, _)
        | ExprKind::Method(first, ..) = &bottom.kind
        {
            links.push(bottom);
            bottom = first;
        }
        let mut v = self.primary_exp(bottom)?;
        for link in links.iter().rev() {
            self.fs.line = link.line;
            match &link.kind {
                ExprKind::Binary(op, _, rhs) => {
                    self.infix(*op, &mut v)?;
                    let v2 = self.expr(rhs)?;
                    self.posfix(*op, &mut v, v2, link.line)?;
                }
                ExprKind::Index(_, key) => {
                    self.exp_to_any_reg_up(&mut v)?;
                    let mut k = self.expr(key)?;
                    self.exp_to_val(&mut k)?;
                    self.indexed(&mut v, k)?;
                }
                ExprKind::Method(_, name, args) => {
                    let key = self.intern(name.as_bytes());
                    self.self_op(&mut v, key)?;
                    self.func_args(&mut v, args, link.line)?;
                }
                ExprKind::Call(_, args) => {
                    self.exp_to_next_reg(&mut v)?;
                    self.func_args(&mut v, args, link.line)?;
                }
                _ => {}
            }
        }
        Ok(v)
    }

    /// A name or a parenthesised expression (`primaryexp`). Parentheses
    /// reduce calls and `...` to one value and make variables values.
    fn primary_exp(&mut self, e: &Expr) -> CResult<ExpDesc> {
        self.fs.line = e.line;
        match &e.kind {
            ExprKind::Name(name) => self.single_var(name),
            ExprKind::Paren(inner) => {
                let mut v = self.expr(inner)?;
                self.discharge_vars(&mut v);
                Ok(v)
            }
            // The bottom of a chain of binary operators may be anything
            // else (the parser puts suffixes only on names and
            // parentheses): compiled as the value it is.
            _ => self.expr(e),
        }
    }

    /// The arguments of a call whose function is in register `f`, and the
    /// `CALL` itself, at `line` (`funcargs`).
    #[inline(never)]
    fn func_args(&mut self, f: &mut ExpDesc, args: &[Expr], line: u32) -> CResult<()> {
        let Some(base) = f.reg() else {
            return Err(self.error("syntax error"));
        };
        let (_, mut last) = self.exp_list(args)?;
        let b = if last.has_multret() {
            self.set_mult_ret(&mut last)?;
            0
        } else {
            if !matches!(last.k, ExpKind::Void) {
                self.exp_to_next_reg(&mut last)?;
            }
            // Arguments sit between `base` and the first free register.
            self.fs.free_reg_u8() - base
        };
        let pc = self.fs.emit(Op::Call { a: base, b, c: 2 });
        self.fs.fix_line(line);
        f.k = ExpKind::Call(pc);
        // The call leaves one result in `base` unless changed later.
        self.fs.free_reg = usize::from(base) + 1;
        Ok(())
    }

    /// Compiles a list of expressions, all but the last into consecutive
    /// registers; returns how many there are and the last one, still open
    /// (`explist`).
    pub(super) fn exp_list(&mut self, exprs: &[Expr]) -> CResult<(usize, ExpDesc)> {
        let Some((last, init)) = exprs.split_last() else {
            return Ok((0, ExpDesc::void()));
        };
        for e in init {
            let mut v = self.expr(e)?;
            self.exp_to_next_reg(&mut v)?;
        }
        Ok((exprs.len(), self.expr(last)?))
    }

    /// A table constructor (`constructor`): `NEWTABLE` with size hints,
    /// keyed fields stored as they come, positional ones gathered in
    /// registers and stored by `SETLIST` every `FIELDS_PER_FLUSH` items (a
    /// final call or `...` adds all its values).
    #[inline(never)]
    fn constructor(&mut self, fields: &[Field], end_line: u32) -> CResult<ExpDesc> {
        let pc = self.fs.emit(Op::NewTable {
            a: 0,
            hash: 0,
            array: 0,
        });
        let table = self.fs.free_reg_u8();
        self.fs.reserve_regs(1)?;
        let mut cc = Constructor {
            table,
            pending: ExpDesc::void(),
            stored: 0,
            to_store: 0,
            hashed: 0,
        };
        for field in fields {
            self.close_list_field(&mut cc)?;
            match field {
                Field::Positional(value) => {
                    cc.pending = self.expr(value)?;
                    cc.to_store += 1;
                }
                Field::Named(name, value) => {
                    let reg = self.fs.free_reg;
                    let key = ExpDesc::new(ExpKind::Str(self.intern(name.as_bytes())));
                    self.keyed_field(&mut cc, key, value, reg)?;
                }
                Field::Keyed(key, value) => {
                    let reg = self.fs.free_reg;
                    let mut k = self.expr(key)?;
                    self.exp_to_val(&mut k)?;
                    self.keyed_field(&mut cc, k, value, reg)?;
                }
            }
        }
        // The last positional fields are stored at the `}`.
        self.fs.line = end_line;
        self.last_list_field(&mut cc)?;
        let hash = u16::try_from(cc.hashed).unwrap_or(u16::MAX);
        let array = u32::try_from(cc.stored).unwrap_or(u32::MAX);
        if let Some(op) = self.fs.proto.code.get_mut(pc) {
            *op = Op::NewTable {
                a: table,
                hash,
                array,
            };
        }
        Ok(ExpDesc::new(ExpKind::NonReloc(table)))
    }

    /// `[key] = value` or `name = value` in a constructor (`recfield`);
    /// `reg` is the first free register before the key was compiled.
    #[inline(never)]
    fn keyed_field(
        &mut self,
        cc: &mut Constructor,
        key: ExpDesc,
        value: &Expr,
        reg: usize,
    ) -> CResult<()> {
        cc.hashed += 1;
        let mut table = ExpDesc::new(ExpKind::NonReloc(cc.table));
        self.indexed(&mut table, key)?;
        let v = self.expr(value)?;
        self.store_var(&table, v)?;
        self.fs.free_reg = reg;
        Ok(())
    }

    /// Puts the pending positional item in its register, flushing a full
    /// batch (`closelistfield`).
    fn close_list_field(&mut self, cc: &mut Constructor) -> CResult<()> {
        if matches!(cc.pending.k, ExpKind::Void) {
            return Ok(());
        }
        self.exp_to_next_reg(&mut cc.pending)?;
        cc.pending = ExpDesc::void();
        if cc.to_store == FIELDS_PER_FLUSH {
            self.set_list(cc.table, cc.stored, Some(cc.to_store));
            cc.stored += cc.to_store;
            cc.to_store = 0;
        }
        Ok(())
    }

    /// Stores the remaining positional items (`lastlistfield`).
    fn last_list_field(&mut self, cc: &mut Constructor) -> CResult<()> {
        if cc.to_store == 0 {
            return Ok(());
        }
        if cc.pending.has_multret() {
            self.set_mult_ret(&mut cc.pending)?;
            self.set_list(cc.table, cc.stored, None);
            // The open item's values are not counted in the size hint.
            cc.stored += cc.to_store - 1;
        } else {
            if !matches!(cc.pending.k, ExpKind::Void) {
                self.exp_to_next_reg(&mut cc.pending)?;
            }
            self.set_list(cc.table, cc.stored, Some(cc.to_store));
            cc.stored += cc.to_store;
        }
        Ok(())
    }

    /// `SETLIST` of `count` items (`None`: up to the top) after `stored`
    /// items (`luaK_setlist`).
    fn set_list(&mut self, table: u8, stored: usize, count: Option<usize>) {
        // `count` is at most `FIELDS_PER_FLUSH`.
        let b = count.map_or(0, |n| n as u8);
        let c = self.fs.index_u32(stored);
        self.fs.emit(Op::SetList { a: table, b, c });
        self.fs.free_reg = usize::from(table) + 1;
    }
}
