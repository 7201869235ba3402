//! The abstract syntax tree the parser builds and the code generator reads.
//!
//! It mirrors the Lua 5.4 grammar closely enough that a pretty-printer can
//! write any tree back as source that parses to the same tree. Every
//! statement and expression carries the line where it starts, which becomes
//! the line information of the code generated for it.
//!
//! A chain of binary operators or suffixes (`a + b + c`, `t.x[k]:m()()`)
//! is a tree leaning left: each link holds the chain before it as its
//! first operand. Its depth is the chain's length, which the parser does
//! not limit (only nesting is limited, see `parse`), so code that walks a
//! tree must follow that left spine with a loop, never recursion; the
//! other operands are nested and as shallow as the parser's limit.
//! Dropping does so (`Drop for Expr`). The derived `Clone`, `PartialEq`
//! and `Debug` recurse, and are meant for the small trees of tests.

/// A whole chunk: the body of an implicit variadic main function.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    /// The chunk's statements.
    pub block: Block,
    /// Line of the end of the source (the `<eof>` token).
    pub end_line: u32,
}

/// A sequence of statements with an optional final `return`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Block {
    /// Statements in order.
    pub stats: Vec<Stat>,
    /// `return explist` ending the block, if any.
    pub ret: Option<Return>,
}

/// A `return` statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Return {
    /// Returned expressions (possibly empty).
    pub exprs: Vec<Expr>,
    /// Line of the `return` keyword.
    pub line: u32,
}

/// Attribute of a local variable (`<const>` / `<close>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attrib {
    /// A plain local.
    None,
    /// `<const>`: may not be assigned after initialisation.
    Const,
    /// `<close>`: its `__close` metamethod runs when it goes out of scope.
    Close,
}

/// A statement with its line.
#[derive(Clone, Debug, PartialEq)]
pub struct Stat {
    /// What the statement is.
    pub kind: StatKind,
    /// Line where the statement starts.
    pub line: u32,
    /// Line of its last token (`ls->lastline` once it is parsed), where
    /// PUC Lua puts the code that ends a block or loop.
    pub end_line: u32,
}

/// The kinds of statement.
#[derive(Clone, Debug, PartialEq)]
pub enum StatKind {
    /// `local n1 <attr>, n2 = e1, e2`
    Local {
        /// Names with attributes.
        names: Vec<(String, Attrib)>,
        /// Initialisers (possibly empty).
        exprs: Vec<Expr>,
    },
    /// `t1, t2 = e1, e2`; each target is an `ExprKind::Name` or `ExprKind::Index`.
    Assign {
        /// Assignment targets.
        targets: Vec<Expr>,
        /// Values.
        exprs: Vec<Expr>,
    },
    /// A function call used as a statement (an `ExprKind::Call` or `ExprKind::Method`).
    Call(Expr),
    /// `do ... end`
    Do(Block),
    /// `while cond do body end`
    While {
        /// Loop condition.
        cond: Expr,
        /// Loop body.
        body: Block,
    },
    /// `repeat body until cond` (the condition sees the body's locals)
    Repeat {
        /// Loop body.
        body: Block,
        /// Exit condition.
        cond: Expr,
    },
    /// `if c1 then b1 elseif c2 then b2 else b3 end`
    If {
        /// Each condition with its block, in order (at least one).
        arms: Vec<(Expr, Block)>,
        /// The `else` block.
        else_block: Option<Block>,
    },
    /// `for var = start, limit, step do body end`
    NumFor {
        /// Control variable.
        var: String,
        /// Initial value.
        start: Expr,
        /// Limit.
        limit: Expr,
        /// Step (absent means 1).
        step: Option<Expr>,
        /// Loop body.
        body: Block,
    },
    /// `for n1, n2 in e1, e2 do body end`
    GenFor {
        /// Loop variables (at least one).
        names: Vec<String>,
        /// Iterator expressions.
        exprs: Vec<Expr>,
        /// Loop body.
        body: Block,
    },
    /// `function a.b.c:m(params) body end`
    Function {
        /// The dotted path `a.b.c` (at least one name).
        path: Vec<String>,
        /// The method name after `:`, which adds an implicit `self` parameter.
        method: Option<String>,
        /// The function.
        func: FuncBody,
    },
    /// `local function name(params) body end`
    LocalFunction {
        /// The local's name (in scope inside the body, for recursion).
        name: String,
        /// The function.
        func: FuncBody,
    },
    /// `break`
    Break,
    /// `goto label`
    Goto(String),
    /// `::label::`
    Label(String),
}

/// A function body: parameters and block.
#[derive(Clone, Debug, PartialEq)]
pub struct FuncBody {
    /// Named parameters (a method's implicit `self` is included first).
    pub params: Vec<String>,
    /// Whether the parameter list ends with `...`.
    pub is_vararg: bool,
    /// The body.
    pub body: Block,
    /// Line of the `function` keyword.
    pub line: u32,
    /// Line of the closing `end`.
    pub end_line: u32,
}

/// An expression with its line.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Line where the expression (for operators: the operator) appears.
    pub line: u32,
}

impl Expr {
    /// The operand that a link of a chain leans on (the left operand of a
    /// binary operator, what a suffix applies to), or the operand of a
    /// unary operator or parentheses.
    pub(crate) fn first_operand(&self) -> Option<&Expr> {
        match &self.kind {
            ExprKind::Binary(_, first, _)
            | ExprKind::Index(first, _)
            | ExprKind::Call(first, _)
            | ExprKind::Method(first, ..)
            | ExprKind::Unary(_, first)
            | ExprKind::Paren(first) => Some(first),
            _ => None,
        }
    }
}

/// Takes the first operand (see [`Expr::first_operand`]) out of `kind`,
/// dropping the rest of it (the other operands, which are nested) and
/// leaving `Nil` in its place.
fn take_first_operand(kind: &mut ExprKind) -> Option<Box<Expr>> {
    match std::mem::replace(kind, ExprKind::Nil) {
        ExprKind::Binary(_, first, _)
        | ExprKind::Index(first, _)
        | ExprKind::Call(first, _)
        | ExprKind::Method(first, ..)
        | ExprKind::Unary(_, first)
        | ExprKind::Paren(first) => Some(first),
        other => {
            *kind = other;
            None
        }
    }
}

/// Dismantles a chain link by link, so that dropping a tree recurses only
/// as deep as it nests, not as long as its chains are (the default drop
/// would recurse down the left spine).
impl Drop for Expr {
    fn drop(&mut self) {
        // Most first operands are leaves: the default drop is enough.
        if self.first_operand().and_then(Expr::first_operand).is_none() {
            return;
        }
        let mut link = take_first_operand(&mut self.kind);
        while let Some(mut e) = link {
            // `e` is dropped at the end of the iteration, its first operand
            // taken out, so that its drop goes no deeper.
            link = take_first_operand(&mut e.kind);
        }
    }
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `nil`
    Nil,
    /// `true`
    True,
    /// `false`
    False,
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal (bytes, escapes already decoded).
    Str(Vec<u8>),
    /// `...`
    Vararg,
    /// `function (params) body end`
    Function(Box<FuncBody>),
    /// `{ fields }`, with the line of its `}` (where PUC Lua stores the
    /// last positional fields).
    Table(Vec<Field>, u32),
    /// `lhs op rhs`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `op operand`
    Unary(UnOp, Box<Expr>),
    /// A variable name (local, upvalue or global).
    Name(String),
    /// `obj[key]`; `obj.name` is `Index` with a `Str` key.
    Index(Box<Expr>, Box<Expr>),
    /// `f(args)`, `f"str"`, `f{table}`
    Call(Box<Expr>, Vec<Expr>),
    /// `obj:name(args)`
    Method(Box<Expr>, String, Vec<Expr>),
    /// `(expr)`: truncates a multi-valued expression to one value.
    Paren(Box<Expr>),
}

/// A table constructor field.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// `expr` (positional; the last one may be multi-valued)
    Positional(Expr),
    /// `name = expr` (the key is a string constant)
    Named(String, Expr),
    /// `[key] = expr`
    Keyed(Expr, Expr),
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `//`
    IDiv,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `..`
    Concat,
    /// `==`
    Eq,
    /// `~=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `and`
    And,
    /// `or`
    Or,
    /// `&`
    BAnd,
    /// `|`
    BOr,
    /// `~`
    BXor,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `-`
    Neg,
    /// `not`
    Not,
    /// `#`
    Len,
    /// `~`
    BNot,
}

impl BinOp {
    /// Left and right binding priorities (`lparser.c`'s `priority` table).
    pub fn priority(self) -> (u8, u8) {
        match self {
            BinOp::Add | BinOp::Sub => (10, 10),
            BinOp::Mul | BinOp::Div | BinOp::IDiv | BinOp::Mod => (11, 11),
            BinOp::Pow => (14, 13),
            BinOp::Concat => (9, 8),
            BinOp::Shl | BinOp::Shr => (7, 7),
            BinOp::BAnd => (6, 6),
            BinOp::BXor => (5, 5),
            BinOp::BOr => (4, 4),
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => (3, 3),
            BinOp::And => (2, 2),
            BinOp::Or => (1, 1),
        }
    }
}

/// Priority of unary operators (`UNARY_PRIORITY`).
pub const UNARY_PRIORITY: u8 = 12;
