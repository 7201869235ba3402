//! The auxiliary layer (`lauxlib.c`'s part for natives): raising errors
//! with a position (`luaL_error`, `luaL_argerror`, `luaL_typeerror`) and
//! reading arguments with their checks and defaults (`luaL_check*`,
//! `luaL_opt*`, `luaL_checkoption`), on top of the frame access of
//! `api.rs` as `lauxlib.h` is on top of `lua.h`.

use crate::error::{LuaError, LuaResult};
use crate::native::Args;
use crate::number;
use crate::state::Vm;
use crate::value::{TableRef, ThreadRef, Value};

impl Vm {
    /// An error value `msg` with the position of level `level` prefixed,
    /// as `luaL_error` (level 1) and `error(msg, level)` do.
    pub fn error_at(&mut self, level: usize, msg: &str) -> LuaError {
        self.error_bytes_at(level, msg.as_bytes())
    }

    /// `error_at` with a message of any bytes (one quoting a byte of a
    /// format string, or a Lua string that is not UTF-8).
    pub fn error_bytes_at(&mut self, level: usize, msg: &[u8]) -> LuaError {
        let w = self.where_(level);
        let s = self.heap.intern(&[w.as_bytes(), msg].concat());
        LuaError::new(Value::Str(s))
    }

    /// `luaL_error`: an error with the position of the native's caller.
    pub fn error(&mut self, msg: &str) -> LuaError {
        self.error_at(1, msg)
    }

    /// `error` with a message of any bytes.
    pub fn error_bytes(&mut self, msg: &[u8]) -> LuaError {
        self.error_bytes_at(1, msg)
    }

    /// `bad argument #i to 'name' (msg)` (`luaL_argerror`). In a method
    /// call (`obj:name(...)`) the receiver is not counted, and a bad
    /// receiver is reported as `calling 'name' on bad self (msg)`.
    pub fn arg_error(&mut self, i: usize, msg: &str) -> LuaError {
        self.arg_error_bytes(i, msg.as_bytes())
    }

    /// `arg_error` with a detail of any bytes (one quoting the argument).
    pub fn arg_error_bytes(&mut self, i: usize, msg: &[u8]) -> LuaError {
        let n = self.th.frames.len();
        let method = n > 0
            && self
                .calling_name(n - 1)
                .is_some_and(|(kind, _)| kind == "method");
        let name = self.native_name();
        let head = match (method, i) {
            (true, 1) => format!("calling '{name}' on bad self ("),
            (true, _) => format!("bad argument #{} to '{name}' (", i.saturating_sub(1)),
            (false, _) => format!("bad argument #{i} to '{name}' ("),
        };
        self.error_bytes(&[head.as_bytes(), msg, b")"].concat())
    }

    /// Whether `n` more values fit on the running thread's stack, above its
    /// top and the margin every frame keeps (`lua_checkstack`). Natives that
    /// push a number of results chosen by their arguments ask first, and
    /// raise their own "stack overflow (...)" or "too many results" error.
    pub fn has_stack_room(&self, n: usize) -> bool {
        self.th
            .top
            .checked_add(n)
            .and_then(|t| t.checked_add(crate::state::EXTRA_STACK))
            .is_some_and(|t| t <= crate::state::MAX_STACK)
    }

    /// Whether argument `i` is absent or nil (`lua_isnoneornil`): where an
    /// optional argument takes its default.
    pub fn is_none_or_nil(&self, args: Args, i: usize) -> bool {
        self.arg(args, i).is_nil()
    }

    /// Argument `i` as a number, integer or float as given (strings are
    /// converted, `luaL_checknumber` keeping the subtype).
    ///
    /// # Errors
    /// An argument error when it is not a number (or convertible).
    pub fn check_number(&mut self, args: Args, i: usize) -> LuaResult<Value> {
        let v = self.arg(args, i);
        self.charge_scan(v)?;
        match self.to_number(v) {
            Some(n) => Ok(n),
            None => Err(self.type_error_arg(args, i, "number")),
        }
    }

    /// Argument `i` as a float (`luaL_checknumber`).
    ///
    /// # Errors
    /// An argument error when it is not a number (or convertible).
    pub fn check_float(&mut self, args: Args, i: usize) -> LuaResult<f64> {
        Ok(match self.check_number(args, i)? {
            Value::Int(n) => n as f64,
            Value::Num(f) => f,
            _ => unreachable!("to_number gives numbers"),
        })
    }

    /// Argument `i` as a string value (`luaL_checklstring`): a number is
    /// converted, and the converted string replaces it in the argument
    /// slot, as `lua_tolstring` does.
    ///
    /// # Errors
    /// An argument error when it is neither a string nor a number.
    pub fn check_string(&mut self, args: Args, i: usize) -> LuaResult<Value> {
        match self.arg(args, i) {
            v @ Value::Str(_) => Ok(v),
            // `lua_tolstring`: the number's own text, never `__tostring`
            // (a metatable of numbers does not change what a library
            // function reads).
            v @ (Value::Int(_) | Value::Num(_)) => {
                let s = self.to_display(v);
                let s = self.new_str(s.as_bytes());
                self.set_arg(args, i, s);
                Ok(s)
            }
            _ => Err(self.type_error_arg(args, i, "string")),
        }
    }

    /// Argument `i` as an integer, or `default` when absent or nil
    /// (`luaL_optinteger`).
    ///
    /// # Errors
    /// As `check_integer`.
    pub fn opt_integer(&mut self, args: Args, i: usize, default: i64) -> LuaResult<i64> {
        if self.is_none_or_nil(args, i) {
            Ok(default)
        } else {
            self.check_integer(args, i)
        }
    }

    /// Argument `i` as a float, or `default` when absent or nil
    /// (`luaL_optnumber`).
    ///
    /// # Errors
    /// As `check_float`.
    pub fn opt_float(&mut self, args: Args, i: usize, default: f64) -> LuaResult<f64> {
        if self.is_none_or_nil(args, i) {
            Ok(default)
        } else {
            self.check_float(args, i)
        }
    }

    /// Argument `i` as a string value, or `None` when absent or nil
    /// (`luaL_optlstring` without a default).
    ///
    /// # Errors
    /// As `check_string`.
    pub fn opt_string(&mut self, args: Args, i: usize) -> LuaResult<Option<Value>> {
        if self.is_none_or_nil(args, i) {
            Ok(None)
        } else {
            self.check_string(args, i).map(Some)
        }
    }

    /// Argument `i` as the index of one of `options`, or of `default` when
    /// absent or nil (`luaL_checkoption`).
    ///
    /// # Errors
    /// "invalid option 'x'" for a string not in the list; an argument error
    /// for a non-string.
    pub fn check_option(
        &mut self,
        args: Args,
        i: usize,
        default: Option<&str>,
        options: &[&str],
    ) -> LuaResult<usize> {
        let name = match (self.is_none_or_nil(args, i), default) {
            (true, Some(_)) => None,
            _ => Some(self.check_string(args, i)?),
        };
        // Compared in place (a long name differs in length at once).
        fn bytes<'a>(vm: &'a Vm, name: Option<Value>, default: Option<&'a str>) -> &'a [u8] {
            match name {
                Some(s) => vm.str_bytes(s).unwrap_or_default(),
                None => default.unwrap_or_default().as_bytes(),
            }
        }
        let given = bytes(self, name, default);
        if let Some(k) = options.iter().position(|o| o.as_bytes() == given) {
            return Ok(k);
        }
        // The refusal quotes the name: a copy paid for.
        if let Some(s) = name {
            self.charge_scan(s)?;
        }
        let shown = String::from_utf8_lossy(bytes(self, name, default)).into_owned();
        Err(self.arg_error(i, &format!("invalid option '{shown}'")))
    }

    /// `bad argument #i to 'name' (T expected, got U)` (`luaL_typeerror`).
    pub fn type_error_arg(&mut self, args: Args, i: usize, expected: &str) -> LuaError {
        let v = self.arg(args, i);
        // The message quotes the value's `__name`, which may be long: its
        // copy is paid for (seen at the next instruction or native start).
        let n = self.type_name_len(v).unwrap_or(0);
        self.spend((n / 32) as u64);
        self.type_error_for(args, i, expected, v)
    }

    /// `type_error_arg` for a value `got` found in argument `i` (a field of
    /// it, say): "no value" when the argument is absent.
    pub(crate) fn type_error_for(
        &mut self,
        args: Args,
        i: usize,
        expected: &str,
        got: Value,
    ) -> LuaError {
        let got = if i > args.count {
            "no value".to_string()
        } else {
            self.type_name_of(got)
        };
        self.arg_error(i, &format!("{expected} expected, got {got}"))
    }

    /// Argument `i` as a table (`luaL_checktype(L, i, LUA_TTABLE)`).
    ///
    /// # Errors
    /// An argument error when it is not a table.
    pub fn check_table(&mut self, args: Args, i: usize) -> LuaResult<TableRef> {
        match self.arg(args, i) {
            Value::Table(t) => Ok(t),
            _ => Err(self.type_error_arg(args, i, "table")),
        }
    }

    /// Argument `i` as a thread (`getco` in `lcorolib.c`).
    ///
    /// # Errors
    /// An argument error when it is not a thread.
    pub fn check_thread(&mut self, args: Args, i: usize) -> LuaResult<ThreadRef> {
        match self.arg(args, i) {
            Value::Thread(t) => Ok(t),
            _ => Err(self.type_error_arg(args, i, "thread")),
        }
    }

    /// Argument `i` as a function, Lua or native
    /// (`luaL_checktype(L, i, LUA_TFUNCTION)`).
    ///
    /// # Errors
    /// An argument error when it is not a function.
    pub fn check_function(&mut self, args: Args, i: usize) -> LuaResult<Value> {
        match self.arg(args, i) {
            f @ (Value::LuaFn(_) | Value::Native(_)) => Ok(f),
            _ => Err(self.type_error_arg(args, i, "function")),
        }
    }

    /// Argument `i` as an integer (`luaL_checkinteger`).
    ///
    /// # Errors
    /// An argument error when it is not an integer (or convertible).
    pub fn check_integer(&mut self, args: Args, i: usize) -> LuaResult<i64> {
        let v = self.arg(args, i);
        self.charge_scan(v)?;
        match self.to_integer(v) {
            Ok(n) => Ok(n),
            Err(true) => Err(self.arg_error(i, "number has no integer representation")),
            Err(false) => Err(self.type_error_arg(args, i, "number")),
        }
    }

    /// `lua_tointegerx`: an integer, a float with an exact integer value or
    /// a string convertible to one; otherwise `Err(true)` for a number
    /// without an integer representation, `Err(false)` for a non-number.
    pub(crate) fn to_integer(&self, v: Value) -> Result<i64, bool> {
        match self.to_number(v) {
            Some(Value::Int(n)) => Ok(n),
            Some(Value::Num(f)) => number::float_to_int_exact(f).ok_or(true),
            _ => Err(false),
        }
    }

    /// Argument `i` must be present (`luaL_checkany`).
    ///
    /// # Errors
    /// "bad argument #i to 'f' (value expected)".
    pub fn check_any(&mut self, args: Args, i: usize) -> LuaResult<Value> {
        if i > args.count {
            Err(self.arg_error(i, "value expected"))
        } else {
            Ok(self.arg(args, i))
        }
    }
}
