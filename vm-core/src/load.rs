//! Loading chunks (`lua_load`, `f_parser` in `ldo.c`): source text or a
//! binary chunk, whole or piece by piece as a reader gives it, into a
//! function whose first upvalue is its `_ENV`.
//!
//! Compiling takes memory the heap does not see until the prototype
//! exists (the syntax tree, the code being generated), so it has a budget
//! of its own: what the memory limit leaves, or without a limit
//! `COMPILE_CAP`. The parser estimates its memory from the tokens it reads
//! (`compiler::parse::TOKEN_BYTES`) and fails with "not enough memory"
//! past the budget; when that happens under a limit the loader collects
//! and tries once more. A loaded prototype is counted in the heap for as
//! long as a closure or a prototype refers to it (the sweep counts each
//! prototype once).
//!
//! A chunk loaded in pieces ([`Vm::load_start`], [`Vm::load_piece`],
//! [`Vm::load_finish`]) is held by a userdata, so that a native can keep it
//! on its stack across calls to the reader; its text is parsed and its
//! code generated as it arrives (`compiler::stream`), each function
//! finished is verified at once, and the userdata's size in the heap's
//! accounting follows what it holds. The code generated so far holds heap
//! strings that no closure refers to yet: the collector marks them
//! through the loader ([`generating`]).

use std::any::Any;
use std::sync::Arc;

use crate::compiler::code::MainGen;
use crate::compiler::{self, stream::ChunkStream};
use crate::debug::chunk_id;
use crate::error::{LuaError, LuaResult};
use crate::func::{LuaClosure, Proto};
use crate::heap::{Heap, Upval};
use crate::limit::{COMPILE_CAP, MEMORY_MESSAGE};
use crate::state::Vm;
use crate::value::{StrRef, Value};

/// The compiler interns its strings in the heap (the compiler declares
/// the trait so that it needs no heap; the heap, a declaration, knows no
/// compiler).
impl compiler::Interner for Heap {
    fn intern(&mut self, bytes: &[u8]) -> StrRef {
        Heap::intern(self, bytes)
    }
}

impl Vm {
    /// Compiles a chunk into a function whose `_ENV` is the globals table
    /// (`luaL_loadbuffer`): source text, or a binary chunk made by
    /// [`Vm::dump`]. `chunkname` follows Lua's convention: `@file`, `=name`,
    /// or the source itself.
    ///
    /// A first line starting with `#` is a syntax error here, as in PUC
    /// Lua: loading a file skips it first (`vm_stdlib::base::skip_file_header`).
    ///
    /// # Errors
    /// A syntax error, as a Lua string value `chunk:line: message`, a
    /// malformed binary chunk, or "not enough memory" (a chunk whose
    /// compilation would take the heap past its memory limit).
    pub fn load(&mut self, chunk: &[u8], chunkname: &str) -> LuaResult<Value> {
        self.load_chunk(chunk, chunkname, "bt", None)
    }

    /// `lua_load` with a mode and an environment: loads text and/or binary
    /// chunks as `mode` allows (`"t"`, `"b"`, `"bt"`: the letters it
    /// contains), and makes the function's first upvalue (its `_ENV`)
    /// `env`, or the globals table; a binary chunk's other upvalues start
    /// as nil.
    ///
    /// # Errors
    /// As [`Vm::load`], plus "attempt to load a binary chunk (mode is 't')"
    /// and its converse, quoting `mode` (`checkmode`).
    pub fn load_chunk(
        &mut self,
        chunk: &[u8],
        chunkname: &str,
        mode: &str,
        env: Option<Value>,
    ) -> LuaResult<Value> {
        if let Some(env) = env {
            self.check_owned("Vm::load_chunk", env)?;
        }
        let binary = chunk.first() == Some(&crate::dump::SIGNATURE[0]);
        check_mode(mode, binary).map_err(|e| self.compile_error(&e))?;
        let compiled = if binary {
            undump(chunk, chunkname, &mut self.heap)
        } else {
            let display = chunk_id(chunkname);
            let compile = |vm: &mut Vm| {
                let budget = vm.compile_budget(0);
                if !crate::alloc::can_allocate(chunkname.len()) {
                    return Err(MEMORY_MESSAGE.to_owned());
                }
                let source: Arc<str> = Arc::from(chunkname);
                compiler::compile_within(chunk, source, &display, &mut vm.heap, budget)
                    .map_err(|e| e.0)
            };
            let mut compiled = compile(self);
            if self.retry_compile(&compiled) {
                compiled = compile(self);
            }
            compiled.and_then(|proto| crate::verify::verify_main(&proto, 0).map(|()| proto))
        };
        match compiled {
            Ok(proto) => Ok(self.instantiate(proto, env)),
            Err(e) => Err(self.compile_error(&e)),
        }
    }

    /// Starts loading a chunk given in pieces (`lua_load` with a reader):
    /// returns the loader, a userdata to pass to [`Vm::load_piece`] for each
    /// piece and then to [`Vm::load_finish`]. Keep it reachable (on the
    /// stack) meanwhile. `chunkname` and `mode` are as for
    /// [`Vm::load_chunk`]. Source text is parsed as it arrives: only the
    /// statement being read is buffered.
    pub fn load_start(&mut self, chunkname: &str, mode: &str) -> Value {
        let loader = Loader {
            chunkname: Arc::from(chunkname),
            mode: mode.to_owned(),
            state: Loading::Start,
            verified: 0,
        };
        let bytes = loader.bytes();
        let loader = self.make_userdata(Box::new(loader), None);
        self.set_userdata_size(loader, bytes);
        loader
    }

    /// Adds the next piece of the chunk that `loader` loads.
    ///
    /// # Errors
    /// A syntax error found in the complete statements received, the mode
    /// refusing the chunk's kind, "not enough memory", or an error for a
    /// `loader` that is not one or has failed or finished already. After an
    /// error the loader is spent: stop reading.
    pub fn load_piece(&mut self, loader: Value, piece: &[u8]) -> LuaResult<()> {
        let push = |vm: &mut Vm| {
            let budget = vm.compile_budget(vm.userdata_size(loader));
            vm.with_loader(loader, |l, heap| l.push(piece, budget, heap))
        };
        let Some(mut r) = push(self) else {
            return Err(self.compile_error("not a chunk loader"));
        };
        // A failed push changed nothing: after a collection it may fit.
        if self.retry_compile(&r) {
            r = push(self).unwrap_or(r);
        }
        let bytes = self.with_loader(loader, |l, _| {
            if r.is_err() {
                l.spend();
            }
            l.bytes()
        });
        self.set_userdata_size(loader, bytes.unwrap_or(0));
        r.map_err(|e| self.compile_error(&e))
    }

    /// Ends the chunk that `loader` loads (the reader returned nothing
    /// more) and returns its function, with `env` as for
    /// [`Vm::load_chunk`].
    ///
    /// # Errors
    /// As [`Vm::load_piece`], for the whole chunk.
    pub fn load_finish(&mut self, loader: Value, env: Option<Value>) -> LuaResult<Value> {
        if let Some(env) = env {
            self.check_owned("Vm::load_finish", env)?;
        }
        let finish = |vm: &mut Vm| {
            let budget = vm.compile_budget(vm.userdata_size(loader));
            vm.with_loader(loader, |l, heap| l.finish(budget, heap))
        };
        let Some(mut compiled) = finish(self) else {
            return Err(self.compile_error("not a chunk loader"));
        };
        // A failed parse of the rest changed nothing.
        if self.retry_compile(&compiled) {
            compiled = finish(self).unwrap_or(compiled);
        }
        self.with_loader(loader, |l, _| l.spend());
        self.set_userdata_size(loader, 0);
        match compiled {
            Ok(proto) => Ok(self.instantiate(proto, env)),
            Err(e) => Err(self.compile_error(&e)),
        }
    }

    /// Runs `f` on the chunk loader `loader` taken out of its userdata
    /// (so that it may intern strings in the heap), and puts it back:
    /// a collection must find the code it holds.
    fn with_loader<T>(
        &mut self,
        loader: Value,
        f: impl FnOnce(&mut Loader, &mut Heap) -> T,
    ) -> Option<T> {
        let mut taken = std::mem::take(self.userdata_mut::<Loader>(loader)?);
        let r = f(&mut taken, &mut self.heap);
        if let Some(l) = self.userdata_mut::<Loader>(loader) {
            *l = taken;
        }
        Some(r)
    }

    /// The main closure of a loaded prototype, with `env` (or the globals)
    /// as its first upvalue; the prototype is counted in the heap.
    fn instantiate(&mut self, proto: Proto, env: Option<Value>) -> Value {
        self.heap.debt += proto.tree_bytes();
        let env = env.unwrap_or(Value::Table(self.globals));
        let upvals: Box<[_]> = (0..proto.upvalues.len())
            .map(|i| {
                let v = if i == 0 { env } else { Value::Nil };
                self.heap.new_upval(Upval::Closed(v))
            })
            .collect();
        let cl = self.heap.new_lua_closure(LuaClosure {
            proto: Arc::new(proto),
            upvals,
        });
        Value::LuaFn(cl)
    }

    /// The bytes a compilation may take: what the memory limit leaves
    /// (plus `held`, what the chunk's loader holds already and the heap
    /// counts), or `COMPILE_CAP` without a limit.
    fn compile_budget(&self, held: usize) -> usize {
        match self.heap.limit() {
            Some(limit) => limit
                .saturating_sub(self.heap.approx_bytes())
                .saturating_add(held),
            None => COMPILE_CAP,
        }
    }

    /// After a compilation that ran out of memory under a limit: collects,
    /// and says whether that freed enough for another try to be worth it.
    fn retry_compile<T>(&mut self, compiled: &Result<T, String>) -> bool {
        if self.heap.limit().is_none() || !matches!(compiled, Err(e) if e == MEMORY_MESSAGE) {
            return false;
        }
        let before = self.heap.approx_bytes();
        self.full_gc();
        // Paid as `collection_failed` is: a compilation that fails for
        // want of room (and is caught) is asked for again.
        self.spend(self.heap.live as u64 / 32);
        self.heap.approx_bytes() < before
    }

    /// A loading error as a Lua string.
    fn compile_error(&mut self, msg: &str) -> LuaError {
        let s = self.heap.intern(msg.as_bytes());
        let mut e = LuaError::new(Value::Str(s));
        e.0.message = Some(msg.to_owned());
        e
    }
}

/// `checkmode`: whether `mode` allows a binary (or text) chunk.
fn check_mode(mode: &str, binary: bool) -> Result<(), String> {
    let (kind, letter) = if binary {
        ("binary", 'b')
    } else {
        ("text", 't')
    };
    if mode.contains(letter) {
        Ok(())
    } else {
        Err(format!("attempt to load a {kind} chunk (mode is '{mode}')"))
    }
}

/// A binary chunk's prototype, verified.
pub(crate) fn undump(chunk: &[u8], chunkname: &str, heap: &mut Heap) -> Result<Proto, String> {
    let proto = crate::dump::undump(chunk, chunkname, heap)?;
    crate::verify::verify(&proto)?;
    Ok(proto)
}

impl Loader {
    /// Takes the next piece; the first decides the chunk's kind.
    fn push(&mut self, piece: &[u8], budget: usize, heap: &mut Heap) -> Result<(), String> {
        if let Loading::Start = self.state {
            if piece.is_empty() {
                return Ok(());
            }
            let binary = piece[0] == crate::dump::SIGNATURE[0];
            check_mode(&self.mode, binary)?;
            self.state = if binary {
                Loading::Binary(Vec::new())
            } else {
                Loading::Text(Box::new(self.text_stream()))
            };
        }
        match &mut self.state {
            Loading::Text(stream) => {
                stream.push(piece, budget, heap).map_err(|e| e.0)?;
                // The functions finished in this piece are checked now,
                // which leaves only the main function for the end.
                let functions = stream.generator().functions();
                let fresh = functions.get(self.verified..).unwrap_or_default();
                fresh.iter().try_for_each(|p| crate::verify::verify(p))?;
                self.verified = functions.len();
                Ok(())
            }
            Loading::Binary(bytes) => {
                if bytes.len().saturating_add(piece.len()) > budget
                    || bytes.try_reserve(piece.len()).is_err()
                {
                    return Err(MEMORY_MESSAGE.to_owned());
                }
                bytes.extend_from_slice(piece);
                Ok(())
            }
            Loading::Start => Ok(()),
            Loading::Done => Err(USED_UP.to_owned()),
        }
    }

    /// The chunk's prototype, verified, once the text has ended. A parse
    /// that ran out of memory leaves the loader as it was.
    fn finish(&mut self, budget: usize, heap: &mut Heap) -> Result<Proto, String> {
        let proto = match &mut self.state {
            // No piece at all: an empty text chunk (`zgetc` gives `EOZ`).
            Loading::Start => {
                check_mode(&self.mode, false)?;
                self.text_stream().finish(budget, heap)
            }
            Loading::Text(stream) => stream.finish(budget, heap),
            Loading::Binary(bytes) => return undump(bytes, &self.chunkname, heap),
            Loading::Done => return Err(USED_UP.to_owned()),
        };
        let proto = proto.map_err(|e| e.0)?;
        crate::verify::verify_main(&proto, self.verified)?;
        Ok(proto)
    }

    /// A stream for the chunk's text; its prototypes share the chunk name,
    /// which can be as long as the source (a string chunk's).
    fn text_stream(&self) -> ChunkStream {
        ChunkStream::new(chunk_id(&self.chunkname), self.chunkname.clone())
    }

    /// Bytes held (the chunk name can be the whole source).
    fn bytes(&self) -> usize {
        let name = self.chunkname.len() + self.mode.capacity();
        name + match &self.state {
            Loading::Text(stream) => stream.bytes(),
            Loading::Binary(bytes) => bytes.capacity(),
            Loading::Start | Loading::Done => 0,
        }
    }

    /// Ends the loading (failed or finished): what it holds is freed now
    /// rather than when the collector frees the loader.
    fn spend(&mut self) {
        self.state = Loading::Done;
        self.chunkname = Arc::from("");
        self.mode = String::new();
    }
}

/// What the code generated so far by the loader `data` (a userdata's
/// payload) refers to, for the collector.
pub(crate) fn generating(data: &(dyn Any + Send)) -> Option<&MainGen> {
    match &data.downcast_ref::<Loader>()?.state {
        Loading::Text(stream) => Some(stream.generator()),
        _ => None,
    }
}

const USED_UP: &str = "the chunk loader was used up";

/// The state of a chunk loaded in pieces (the payload of a loader).
#[derive(Default)]
struct Loader {
    /// Raw chunk name (`@file`, `=name`, or the source).
    chunkname: Arc<str>,
    mode: String,
    state: Loading,
    /// How many of the main function's nested functions are verified.
    verified: usize,
}

#[derive(Default)]
enum Loading {
    /// No piece yet.
    Start,
    /// Source text, parsed as it comes (boxed: the generator's state is
    /// large, and a loader is moved in and out of its userdata).
    Text(Box<ChunkStream>),
    /// A binary chunk, gathered whole.
    Binary(Vec<u8>),
    /// Finished, or failed.
    #[default]
    Done,
}
