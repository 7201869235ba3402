//! Values sent from one VM to another (agents' messages): a value graph
//! copied out of a VM into a [`Packet`], a "linearized heap" that names
//! nothing of the VM it came from, and rebuilt in another VM.
//!
//! Data flow: [`Vm::pack`] numbers every object reachable from the values
//! it is given (tables, Lua functions, native closures, upvalue cells,
//! prototypes, strings) in the order it meets them, and describes each by
//! the numbers of what it refers to, so sharing and cycles survive.
//! [`Vm::unpack`] makes every object of the packet first, empty, then
//! fills them in, so a reference to an object not filled yet is just its
//! handle. Both walk work lists: no Rust recursion per nesting level.
//!
//! What travels: nil, booleans, numbers, strings, tables (raw contents;
//! metatables stay behind), Lua functions (the prototype's code shared,
//! not copied: `func::Code` names nothing of a VM; its constants and
//! nested prototypes rebuilt in the receiver; and copies of their
//! upvalues, a cell shared by several closures shared again), and natives that have an identity
//! ([`NativeFunction::id`](crate::NativeFunction)), by that identity, with
//! copies of their upvalues. A coroutine, a userdata or a Rust closure
//! ([`Vm::create_function`]) is refused. The sender's globals table does
//! not travel: the receiver's own arrives in its place, so a function's
//! `_ENV` is the receiver's globals, as for a function `load`ed there.
//! Every object arrives as a new
//! one; a native without upvalues is a value, not an object (`light.rs`),
//! so a `math.floor` sent over is the receiver's `math.floor`.

use std::sync::Arc;

use hashbrown::HashMap;
use smallvec::SmallVec;

use crate::error::LuaResult;
use crate::func::{LuaClosure, Proto};
use crate::heap::{NativeClosure, Upval};
use crate::native::NativeFunction;
use crate::state::Vm;
use crate::table::Table;
use crate::value::{LuaFnRef, NativeRef, StrRef, TableRef, UpvalRef, Value};

impl Vm {
    /// Copies `values`, and everything they refer to, into a packet that
    /// another VM (or this one) can [`unpack`](Vm::unpack): tables keep
    /// their sharing and cycles but not their metatables; Lua functions
    /// travel as their prototype with copies of their upvalues; natives
    /// by their identity.
    ///
    /// The copy counts against the VM's memory limit while it is made.
    ///
    /// # Errors
    /// A Lua error naming the first value that cannot travel (a
    /// coroutine, a userdata, a native without identity such as a Rust
    /// closure), "not enough memory" when the copy would take the VM past
    /// its memory limit, or a bad handle; nothing is sent then.
    pub fn pack(&mut self, values: &[Value]) -> LuaResult<Packet> {
        self.check_all_owned("Vm::pack", values)?;
        loop {
            let mut packer = Packer::default();
            let roots: Result<SmallVec<[Slot; ROOTS]>, Refused> =
                values.iter().map(|&v| packer.slot(self, v)).collect();
            return match roots.and_then(|roots| packer.drain(self).map(|()| roots)) {
                Ok(roots) => Ok(packer.finish(roots)),
                Err(Refused::Memory) => Err(self.memory_error()),
                Err(Refused::Value(what)) => Err(self.api_error(&format!("cannot send {what}"))),
                // A table owed lazy globals (`package.loaded`, the
                // metatable of strings): made whole, then the copy again
                // (there are at most three such tables).
                Err(Refused::Lazy(t)) => {
                    self.materialize_all(t)?;
                    continue;
                }
            };
        }
    }

    /// Rebuilds the values of `packet` in this VM, as new objects (one per
    /// object of the packet).
    ///
    /// # Errors
    /// "not enough memory" when the copy would pass the memory limit
    /// (after a collection: call it where the values still needed are
    /// reachable), or a native identity this VM has not registered.
    pub fn unpack(&mut self, packet: &Packet) -> LuaResult<Vec<Value>> {
        self.make_room(packet.bytes)?;
        let Some(objects) = packet.objects.as_deref() else {
            // Plain values: nothing to make.
            let globals = self.globals_ref();
            return Ok(packet
                .roots
                .iter()
                .map(|&s| plain_value(s, globals))
                .collect());
        };
        let natives = objects
            .natives
            .iter()
            .map(|n| {
                self.find_native(n.id).ok_or_else(|| {
                    let msg = format!("cannot receive native '{}': not registered here", n.id);
                    self.api_error(&msg)
                })
            })
            .collect::<LuaResult<Few<&'static NativeFunction>>>()?;
        // A native whose library is still owed (lazy) gets its library
        // first: it may need its state.
        if self.lazy.is_some() {
            for &f in &natives {
                self.make_owner_of(f)?;
            }
        }
        let strings: Few<StrRef> = objects.strings().map(|s| self.heap.intern(s)).collect();
        let protos = rebuild_protos(&objects.protos, &strings);
        // Counted as `load` counts what it compiles (the shared code too:
        // the collector counts it live in every VM that has it).
        self.heap.debt += protos.iter().map(|p| p.own_bytes()).sum::<usize>();
        let globals = self.globals_ref();
        // Every object first, empty: a reference to one is its handle.
        self.heap.tables.reserve_batch(objects.tables.len());
        self.heap.upvals.reserve_batch(objects.cells.len());
        self.heap.lfns.reserve_batch(objects.lfns.len());
        let tables: Few<TableRef> = objects
            .tables
            .iter()
            .map(|t| {
                self.heap.new_table(Table::with_capacity(
                    t.array_len,
                    t.entries.len() - t.array_len,
                ))
            })
            .collect();
        let cells: Few<UpvalRef> = objects
            .cells
            .iter()
            .map(|_| self.heap.new_upval(Upval::Closed(Value::Nil)))
            .collect();
        let lfns: Few<LuaFnRef> = objects
            .lfns
            .iter()
            .map(|f| {
                let upvals = f.cells.iter().map(|&c| cells[c as usize]).collect();
                let proto = Arc::clone(&protos[f.proto as usize]);
                self.heap.new_lua_closure(LuaClosure { proto, upvals })
            })
            .collect();
        let native_refs: Few<NativeRef> = natives
            .iter()
            .zip(&objects.natives)
            .map(|(&func, n)| {
                if n.upvals.is_empty() {
                    return self.heap.new_light(func);
                }
                self.heap.new_native(NativeClosure {
                    func,
                    upvals: vec![Value::Nil; n.upvals.len()],
                    closure: None,
                })
            })
            .collect();
        let value = |s: Slot| match s {
            Slot::Nil => Value::Nil,
            Slot::Bool(b) => Value::Bool(b),
            Slot::Int(i) => Value::Int(i),
            Slot::Num(n) => Value::Num(n),
            Slot::Str(i) => Value::Str(strings[i as usize]),
            Slot::Static(s) => Value::Str(s),
            Slot::Table(i) => Value::Table(tables[i as usize]),
            Slot::LuaFn(i) => Value::LuaFn(lfns[i as usize]),
            Slot::Native(i) => Value::Native(native_refs[i as usize]),
            Slot::Globals => Value::Table(globals),
        };
        // Then their contents.
        for (t, node) in tables.iter().zip(&objects.tables) {
            let table = &mut self.heap.tables[*t];
            for &(k, v) in &node.entries {
                // The keys were keys of a table already (no nil, no NaN).
                let _ = table.set(value(k), value(v));
            }
            // Filled to its size: no growth to account for.
            let _ = table.take_growth();
        }
        for (c, &v) in cells.iter().zip(&objects.cells) {
            self.heap.upvals[*c] = Upval::Closed(value(v));
        }
        for (n, node) in native_refs.iter().zip(&objects.natives) {
            if !node.upvals.is_empty() {
                let upvals = node.upvals.iter().map(|&s| value(s)).collect();
                self.heap.natives[*n].upvals = upvals;
            }
        }
        Ok(packet.roots.iter().map(|&s| value(s)).collect())
    }
}

/// The value of a slot that names no object (all a packet without
/// objects holds; nil for one that would).
fn plain_value(s: Slot, globals: TableRef) -> Value {
    match s {
        Slot::Bool(b) => Value::Bool(b),
        Slot::Int(i) => Value::Int(i),
        Slot::Num(n) => Value::Num(n),
        Slot::Static(s) => Value::Str(s),
        Slot::Globals => Value::Table(globals),
        Slot::Nil | Slot::Str(_) | Slot::Table(_) | Slot::LuaFn(_) | Slot::Native(_) => Value::Nil,
    }
}

/// Values copied out of a VM ([`Vm::pack`]), to rebuild in another one
/// ([`Vm::unpack`]): it names nothing of the VM it came from, and can go
/// to another thread.
#[derive(Clone, Debug, Default)]
pub struct Packet {
    /// The values sent.
    roots: SmallVec<[Slot; ROOTS]>,
    /// What they refer to, if anything: a message of numbers and static
    /// names carries no box at all.
    objects: Option<Box<Objects>>,
    /// About what unpacking allocates, for the memory limit.
    bytes: usize,
}

/// Values a packet holds without a box: a spawn of a function with three
/// arguments (skynet's), or any message of up to four values.
const ROOTS: usize = 4;

/// The objects of a packet, numbered by kind in the order met. Most
/// packets hold a few (one function, its cells and prototype, a string
/// or two): they sit in the box itself, one allocation for all.
#[derive(Clone, Debug, Default)]
struct Objects {
    /// Every string's bytes, back to back; `ends[i]` ends string `i`
    /// (a `usize`: a message may carry more than 4 GB of strings).
    text: Vec<u8>,
    ends: SmallVec<[usize; 2]>,
    tables: SmallVec<[TableNode; 1]>,
    lfns: SmallVec<[FnNode; 1]>,
    natives: Vec<NativeNode>,
    /// Upvalue cells' values.
    cells: SmallVec<[Slot; 2]>,
    /// Prototypes: code shared, constants copied.
    protos: SmallVec<[ProtoNode; 1]>,
}

impl Objects {
    /// The strings, in order.
    fn strings(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(a, b)| &self.text[a..b])
    }

    /// Adds a string; its number.
    fn push_string(&mut self, bytes: &[u8]) -> u32 {
        self.text.extend_from_slice(bytes);
        self.ends.push(self.text.len());
        self.ends.len() as u32 - 1
    }
}

impl Packet {
    /// A packet of plain values, made without a VM (what a scheduler
    /// sends on a task's behalf, such as a monitor's notice).
    pub fn from_values(values: impl IntoIterator<Item = crate::JobValue>) -> Packet {
        use crate::JobValue;
        let mut p = Packet::default();
        for v in values {
            let slot = match v {
                JobValue::Nil => Slot::Nil,
                JobValue::Bool(b) => Slot::Bool(b),
                JobValue::Int(i) => Slot::Int(i),
                JobValue::Num(n) => Slot::Num(n),
                JobValue::Str(bytes) => match crate::names::find(&bytes) {
                    Some(s) => Slot::Static(s),
                    None => {
                        p.bytes += OBJECT_BYTES + bytes.len();
                        Slot::Str(
                            p.objects
                                .get_or_insert_with(Default::default)
                                .push_string(&bytes),
                        )
                    }
                },
            };
            p.roots.push(slot);
        }
        p.bytes += held_bytes(p.roots.len());
        p
    }

    /// About how many bytes it holds, itself and its values included
    /// (what a mailbox charges for it; what unpacking allocates, as
    /// [`Vm::unpack`] counts it against the memory limit). Never zero.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many values it carries.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// Whether it carries no value.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}

/// A value in a packet: immediate, or the number of an object.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Nil,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(u32),
    /// A static name (`names.rs`), valid in every VM of the process.
    Static(StrRef),
    Table(u32),
    LuaFn(u32),
    Native(u32),
    /// The sender's globals table: the receiver's arrives in its place.
    Globals,
}

#[derive(Clone, Debug, Default)]
struct TableNode {
    /// The entries of keys `1..=array_len` first, in order, then the rest.
    entries: Vec<(Slot, Slot)>,
    array_len: usize,
}

#[derive(Clone, Debug)]
struct FnNode {
    proto: u32,
    cells: SmallVec<[u32; 4]>,
}

/// A prototype: its code travels shared, its constants as slots (their
/// strings the receiver's own), its nested prototypes by number.
#[derive(Clone, Debug)]
struct ProtoNode {
    /// The sender's prototype, for its code (only `shared` is used on
    /// the other side: its constants are the sender's).
    proto: Arc<Proto>,
    consts: Vec<Slot>,
    protos: Vec<u32>,
}

#[derive(Clone, Debug)]
struct NativeNode {
    id: &'static str,
    upvals: Vec<Slot>,
}

/// Why a value cannot be packed.
enum Refused {
    /// What it is (it cannot travel).
    Value(String),
    /// The copy would pass the sender's memory limit.
    Memory,
    /// A table owed lazy globals, to make before it is copied.
    Lazy(TableRef),
}

/// An object met but not described yet.
#[derive(Clone, Copy)]
enum Pending {
    Table(TableRef, u32),
    LuaFn(LuaFnRef, u32),
    Native(NativeRef, u32),
    Cell(UpvalRef, u32),
    Proto(u32),
}

/// The numbers given so far, and the packet being filled.
#[derive(Default)]
struct Packer {
    packet: Packet,
    objects: Objects,
    strings: Numbers<StrRef>,
    tables: Numbers<TableRef>,
    lfns: Numbers<LuaFnRef>,
    natives: Numbers<NativeRef>,
    cells: Numbers<UpvalRef>,
    /// Prototypes by address (kept alive by their closures meanwhile).
    protos: Numbers<*const Proto>,
    work: SmallVec<[Pending; 8]>,
}

/// Objects of one kind numbered in the order met: most messages hold a
/// few, searched in line without allocating; a hash map takes over past
/// `FEW`, so a large graph is numbered in linear time.
struct Numbers<K> {
    few: SmallVec<[K; FEW]>,
    /// Made when `few` overflows (most packets never need it, and a
    /// hash map's hasher costs something to set up even empty).
    many: Option<Box<HashMap<K, u32>>>,
}

const FEW: usize = 8;

impl<K> Default for Numbers<K> {
    fn default() -> Self {
        Numbers {
            few: SmallVec::new(),
            many: None,
        }
    }
}

/// Numbers `k` if it is new: its number, and whether it is new.
fn number<K: std::hash::Hash + Eq + Copy>(map: &mut Numbers<K>, k: K) -> (u32, bool) {
    let many = match &mut map.many {
        Some(many) => many,
        None => {
            if let Some(i) = map.few.iter().position(|&x| x == k) {
                return (i as u32, false);
            }
            let n = map.few.len() as u32;
            if map.few.len() < FEW {
                map.few.push(k);
                return (n, true);
            }
            let few = map.few.iter().enumerate().map(|(i, &k)| (k, i as u32));
            map.many.insert(Box::new(few.collect()))
        }
    };
    let n = many.len() as u32;
    match many.entry(k) {
        hashbrown::hash_map::Entry::Occupied(e) => (*e.get(), false),
        hashbrown::hash_map::Entry::Vacant(e) => {
            e.insert(n);
            (n, true)
        }
    }
}

/// What a packet of `n` values holds beside its objects: itself (in a
/// mailbox) and a slot a value. Never zero, so that a flood of messages
/// without objects (numbers, static names) still fills a bounded mailbox.
fn held_bytes(n: usize) -> usize {
    std::mem::size_of::<Packet>() + n * SLOT_BYTES
}

/// Per-object estimates of what unpacking allocates (the heap's own
/// accounting is finer; this only decides whether to collect first).
const OBJECT_BYTES: usize = 64;
const SLOT_BYTES: usize = 32;

impl Packer {
    /// The slot of `v`, numbering it (and queueing its description) when
    /// it is an object met for the first time; `Err` names what cannot
    /// travel.
    fn slot(&mut self, vm: &Vm, v: Value) -> Result<Slot, Refused> {
        Ok(match v {
            Value::Nil => Slot::Nil,
            Value::Bool(b) => Slot::Bool(b),
            Value::Int(i) => Slot::Int(i),
            Value::Num(n) => Slot::Num(n),
            // A static name is the same handle in every VM: it travels
            // as its index, with no copy and no interning at the other end.
            Value::Str(s) if crate::names::index(s).is_some() => Slot::Static(s),
            Value::Str(s) => {
                let (n, fresh) = number(&mut self.strings, s);
                if fresh {
                    let len = vm.heap.str_bytes(s).len();
                    if vm.heap.over_limit(self.packet.bytes.saturating_add(len)) {
                        return Err(Refused::Memory);
                    }
                    self.packet.bytes += OBJECT_BYTES + len;
                    self.objects.push_string(vm.heap.str_bytes(s));
                }
                Slot::Str(n)
            }
            Value::Table(t) if t == vm.globals_ref() => Slot::Globals,
            Value::Table(t) => {
                let (n, fresh) = number(&mut self.tables, t);
                if fresh {
                    self.objects.tables.push(TableNode::default());
                    self.work.push(Pending::Table(t, n));
                }
                Slot::Table(n)
            }
            Value::LuaFn(f) => {
                let (n, fresh) = number(&mut self.lfns, f);
                if fresh {
                    self.objects.lfns.push(FnNode {
                        proto: 0,
                        cells: SmallVec::new(),
                    });
                    self.work.push(Pending::LuaFn(f, n));
                }
                Slot::LuaFn(n)
            }
            Value::Native(f) => {
                let Some(func) = vm.native_function(v) else {
                    return Err(Refused::Value(
                        "a Rust closure (a native function without identity)".into(),
                    ));
                };
                let (n, fresh) = number(&mut self.natives, f);
                if fresh {
                    self.objects.natives.push(NativeNode {
                        id: func.id,
                        upvals: Vec::new(),
                    });
                    self.work.push(Pending::Native(f, n));
                }
                Slot::Native(n)
            }
            Value::Thread(_) => return Err(Refused::Value("a thread (coroutine)".into())),
            Value::UserData(_) => return Err(Refused::Value("a userdata".into())),
        })
    }

    /// Describes every object queued, and the ones they lead to.
    fn drain(&mut self, vm: &Vm) -> Result<(), Refused> {
        while let Some(p) = self.work.pop() {
            // The copy so far, and what the next object may add, must fit
            // under the limit (checked before allocating for it).
            let next = match p {
                Pending::Table(t, _) => vm.heap.tables[t].positions() * SLOT_BYTES,
                _ => OBJECT_BYTES,
            };
            if vm.heap.over_limit(self.packet.bytes.saturating_add(next)) {
                return Err(Refused::Memory);
            }
            match p {
                Pending::Table(t, _) if vm.is_lazy(t) => return Err(Refused::Lazy(t)),
                Pending::Table(t, n) => {
                    let table = &vm.heap.tables[t];
                    let mut entries = Vec::with_capacity(table.positions());
                    for (k, v) in table.iter() {
                        entries.push((self.slot(vm, k)?, self.slot(vm, v)?));
                    }
                    // The keys 1, 2, ... that come first (the array part
                    // without holes) make the copy's array part.
                    let dense = entries
                        .iter()
                        .enumerate()
                        .take_while(|&(i, &(k, _))| k == Slot::Int(i as i64 + 1))
                        .count();
                    self.packet.bytes += OBJECT_BYTES + entries.len() * SLOT_BYTES;
                    self.objects.tables[n as usize] = TableNode {
                        entries,
                        array_len: dense,
                    };
                }
                Pending::LuaFn(f, n) => {
                    let closure = &vm.heap.lfns[f];
                    let proto = self.proto(&closure.proto);
                    let mut cells = SmallVec::with_capacity(closure.upvals.len());
                    for &uv in closure.upvals.iter() {
                        let (c, fresh) = number(&mut self.cells, uv);
                        if fresh {
                            self.objects.cells.push(Slot::Nil);
                            self.work.push(Pending::Cell(uv, c));
                        }
                        cells.push(c);
                    }
                    self.packet.bytes += OBJECT_BYTES + cells.len() * SLOT_BYTES;
                    self.objects.lfns[n as usize] = FnNode { proto, cells };
                }
                Pending::Native(f, n) => {
                    let upvals = vm.heap.native_upvals(f).to_vec();
                    let slots = upvals
                        .into_iter()
                        .map(|v| self.slot(vm, v))
                        .collect::<Result<Vec<Slot>, Refused>>()?;
                    self.packet.bytes += OBJECT_BYTES + slots.len() * SLOT_BYTES;
                    self.objects.natives[n as usize].upvals = slots;
                }
                Pending::Cell(uv, c) => {
                    // SAFETY: `uv` is a cell of a live closure of this VM
                    // (it was just read from one), so it is live.
                    let v = unsafe { vm.upval_get(uv) };
                    self.packet.bytes += SLOT_BYTES;
                    self.objects.cells[c as usize] = self.slot(vm, v)?;
                }
                Pending::Proto(n) => {
                    let proto = Arc::clone(&self.objects.protos[n as usize].proto);
                    let consts = proto
                        .consts
                        .iter()
                        .map(|&k| self.slot(vm, k))
                        .collect::<Result<Vec<Slot>, Refused>>()?;
                    let children = proto.protos.iter().map(|c| self.proto(c)).collect();
                    let node = &mut self.objects.protos[n as usize];
                    self.packet.bytes += proto.own_bytes();
                    node.consts = consts;
                    node.protos = children;
                }
            }
        }
        Ok(())
    }

    /// The number of prototype `p`, numbering it (and queueing its
    /// constants and nested prototypes) the first time.
    fn proto(&mut self, p: &Arc<Proto>) -> u32 {
        let (n, fresh) = number(&mut self.protos, Arc::as_ptr(p));
        if fresh {
            self.objects.protos.push(ProtoNode {
                proto: Arc::clone(p),
                consts: Vec::new(),
                protos: Vec::new(),
            });
            self.work.push(Pending::Proto(n));
        }
        n
    }

    fn finish(mut self, roots: SmallVec<[Slot; ROOTS]>) -> Packet {
        self.packet.bytes += held_bytes(roots.len());
        self.packet.roots = roots;
        let none = self.objects.ends.is_empty()
            && self.objects.tables.is_empty()
            && self.objects.lfns.is_empty()
            && self.objects.natives.is_empty();
        if !none {
            self.packet.objects = Some(Box::new(self.objects));
        }
        self.packet
    }
}

/// The packet's prototypes in the receiver: each one's code shared with
/// the sender's, with constants of the receiver (`strings`, already
/// interned there) and nested prototypes rebuilt the same way, children
/// before their parents (a work list, no recursion per nesting level).
/// The objects of a kind a packet holds, while it is unpacked: most
/// messages hold a few, which need no allocation.
type Few<T> = SmallVec<[T; 4]>;

fn rebuild_protos(nodes: &[ProtoNode], strings: &[StrRef]) -> Few<Arc<Proto>> {
    let konst = |s: Slot| match s {
        Slot::Bool(b) => Value::Bool(b),
        Slot::Int(i) => Value::Int(i),
        Slot::Num(n) => Value::Num(n),
        Slot::Str(i) => Value::Str(strings[i as usize]),
        Slot::Static(s) => Value::Str(s),
        // A constant is nil, a boolean, a number or a string.
        _ => Value::Nil,
    };
    let mut built: Few<Option<Arc<Proto>>> = smallvec::smallvec![None; nodes.len()];
    let mut todo: Few<usize> = SmallVec::new();
    for root in 0..nodes.len() {
        todo.push(root);
        while let Some(&n) = todo.last() {
            if built[n].is_some() {
                todo.pop();
                continue;
            }
            let node = &nodes[n];
            let before = todo.len();
            todo.extend(
                node.protos
                    .iter()
                    .map(|&c| c as usize)
                    .filter(|&c| built[c].is_none()),
            );
            if todo.len() > before {
                continue;
            }
            todo.pop();
            // Constants that name nothing of the sender's heap (numbers,
            // static names) and shared children: the sender's prototype
            // serves every VM as it is, as its code does.
            let own = node.consts.iter().any(|s| matches!(s, Slot::Str(_)))
                || node.protos.iter().any(|&c| {
                    let (child, theirs) = (&built[c as usize], &nodes[c as usize].proto);
                    !child.as_ref().is_some_and(|p| Arc::ptr_eq(p, theirs))
                });
            if !own {
                built[n] = Some(Arc::clone(&node.proto));
                continue;
            }
            built[n] = Some(Arc::new(Proto::new(
                Arc::clone(&node.proto.shared),
                node.consts.iter().map(|&s| konst(s)).collect(),
                node.protos
                    .iter()
                    .filter_map(|&c| built[c as usize].clone())
                    .collect(),
            )));
        }
    }
    built.into_iter().flatten().collect()
}
