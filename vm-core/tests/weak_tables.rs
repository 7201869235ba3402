//! Weak tables against a shadow model across collections.
//!
//! Random weak tables (`__mode` "", "k", "v", "kv") get random entries whose
//! keys and values are integers, short and long strings, and tables that
//! are either anchored (reachable from a global) or loose (reachable only
//! through the weak tables). After each full collection every table must
//! hold exactly the entries the model says survive: strings and numbers are
//! values, never collected from a weak table; a loose table survives only
//! if a strong reference reaches it (a strong table's entry, a "v" table's
//! key, a "k" table's value whose key survives: ephemerons).

mod support;

use std::collections::HashMap;

use proptest::prelude::*;
use support::scale;
use vm_core::Value;
use vm_core::Vm;

const MODES: [&str; 4] = ["", "k", "v", "kv"];

/// A key or value of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Item {
    Int(i64),
    /// A string of `len` copies of `byte` (long ones are not interned by
    /// PUC Lua; here every string is a value all the same).
    Str(u8, usize),
    /// Object number `n` of the pool.
    Obj(usize),
}

#[derive(Clone, Debug)]
enum Op {
    /// Sets `key = value` in weak table `t` (a nil value removes).
    Set {
        t: usize,
        key: Item,
        value: Option<Item>,
    },
    /// Creates a new object, anchored or loose.
    NewObj { anchored: bool },
    /// Drops the anchor of object `n` (it becomes loose).
    Unanchor(usize),
    /// A full collection, then the comparison with the model.
    Collect,
}

fn arb_item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (-3i64..3).prop_map(Item::Int),
        (b'a'..b'e', prop_oneof![1usize..8, 40usize..100]).prop_map(|(b, n)| Item::Str(b, n)),
        (0usize..12).prop_map(Item::Obj),
    ]
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..4, arb_item(), proptest::option::weighted(0.85, arb_item()))
            .prop_map(|(t, key, value)| Op::Set { t, key, value }),
        2 => any::<bool>().prop_map(|anchored| Op::NewObj { anchored }),
        1 => (0usize..12).prop_map(Op::Unanchor),
        1 => Just(Op::Collect),
    ]
}

struct World {
    vm: Box<Vm>,
    /// The weak tables (anchored through the global `weak`), by mode.
    tables: Vec<Value>,
    /// Pool of objects: handle, whether anchored, whether still alive in
    /// the model.
    objs: Vec<(Value, bool, bool)>,
    /// Index of object `n` in the global `anchors` table.
    anchors: Value,
    /// The model: each table's entries.
    model: Vec<HashMap<Item, Item>>,
}

impl World {
    fn new() -> World {
        let mut vm = Vm::new();
        let holder = vm.new_table();
        vm.set_global("weak", holder).unwrap();
        let anchors = Value::Table(vm.new_table());
        vm.set_global("anchors", anchors).unwrap();
        let mut tables = Vec::new();
        for (i, mode) in MODES.iter().enumerate() {
            let t = Value::Table(vm.new_table());
            let mtr = vm.new_table();
            let mode = vm.new_str(mode.as_bytes());
            let k = vm.new_str(b"__mode");
            vm.raw_set(mtr, k, mode).unwrap();
            vm.set_metatable(t, Some(mtr)).unwrap();
            vm.raw_set(holder, Value::Int(i as i64 + 1), t).unwrap();
            tables.push(t);
        }
        World {
            vm,
            tables,
            objs: Vec::new(),
            anchors,
            model: vec![HashMap::new(); MODES.len()],
        }
    }

    fn string(&mut self, b: u8, n: usize) -> Value {
        self.vm.new_str(&vec![b; n])
    }

    /// The VM value of a model item, or `None` for an object not (or no
    /// longer) in the pool.
    fn value(&mut self, it: &Item) -> Option<Value> {
        match *it {
            Item::Int(i) => Some(Value::Int(i)),
            Item::Str(b, n) => Some(self.string(b, n)),
            Item::Obj(n) => self.objs.get(n).filter(|o| o.2).map(|o| o.0),
        }
    }

    fn anchor_slot(&self, n: usize) -> Value {
        Value::Int(n as i64 + 1)
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let Value::Table(anchors) = self.anchors else {
            unreachable!()
        };
        match op {
            Op::Set { t, key, value } => {
                let (Some(k), v) = (self.value(key), value.as_ref().map(|v| self.value(v))) else {
                    return Ok(());
                };
                let v = match v {
                    None => Value::Nil,
                    Some(None) => return Ok(()),
                    Some(Some(v)) => v,
                };
                let Value::Table(tr) = self.tables[*t] else {
                    unreachable!()
                };
                self.vm.raw_set(tr, k, v).unwrap();
                match value {
                    Some(v) => self.model[*t].insert(key.clone(), v.clone()),
                    None => self.model[*t].remove(key),
                };
            }
            Op::NewObj { anchored } => {
                let o = Value::Table(self.vm.new_table());
                let n = self.objs.len();
                if *anchored {
                    let slot = self.anchor_slot(n);
                    self.vm.raw_set(anchors, slot, o).unwrap();
                }
                self.objs.push((o, *anchored, true));
            }
            Op::Unanchor(n) => {
                if let Some(o) = self.objs.get_mut(*n) {
                    o.1 = false;
                    let slot = Value::Int(*n as i64 + 1);
                    self.vm.raw_set(anchors, slot, Value::Nil).unwrap();
                }
            }
            Op::Collect => {
                self.vm.full_gc();
                self.collect_model();
                self.compare()?;
            }
        }
        Ok(())
    }

    /// What a collection keeps, computed on the model to a fixed point.
    fn collect_model(&mut self) {
        let mut live: Vec<bool> = self.objs.iter().map(|o| o.2 && o.1).collect();
        let is_live = |live: &[bool], it: &Item| match it {
            Item::Obj(n) => live[*n],
            _ => true,
        };
        loop {
            let mut changed = false;
            for (t, entries) in self.model.iter().enumerate() {
                let (weak_k, weak_v) = match MODES[t] {
                    "" => (false, false),
                    "k" => (true, false),
                    "v" => (false, true),
                    _ => (true, true),
                };
                for (k, v) in entries {
                    let mut mark = |it: &Item, live: &mut Vec<bool>| {
                        if let Item::Obj(n) = it {
                            if !live[*n] {
                                live[*n] = true;
                                changed = true;
                            }
                        }
                    };
                    if !weak_k {
                        mark(k, &mut live);
                    }
                    // An ephemeron's value is strong once its key lives.
                    if !weak_v && is_live(&live, k) {
                        mark(v, &mut live);
                    }
                }
            }
            if !changed {
                break;
            }
        }
        for entries in &mut self.model {
            entries.retain(|k, v| is_live(&live, k) && is_live(&live, v));
        }
        for (o, l) in self.objs.iter_mut().zip(&live) {
            o.2 = *l;
        }
    }

    fn compare(&mut self) -> Result<(), TestCaseError> {
        for (t, mode) in MODES.iter().enumerate() {
            let Value::Table(tr) = self.tables[t] else {
                unreachable!()
            };
            let mut count = 0;
            let mut k = Value::Nil;
            while let Some((nk, _)) = self.vm.next(tr, k).unwrap() {
                count += 1;
                k = nk;
            }
            prop_assert_eq!(count, self.model[t].len(), "entries of table {:?}", mode);
            let entries: Vec<_> = self.model[t].clone().into_iter().collect();
            for (mk, mv) in entries {
                let key = self.value(&mk).expect("a live key");
                let want = self.value(&mv).expect("a live value");
                let got = self.vm.raw_get(tr, key);
                prop_assert!(
                    got.raw_eq(want),
                    "{:?}[{:?}] in mode {:?}: {:?}",
                    t,
                    mk,
                    mode,
                    got
                );
                if let Item::Str(b, n) = mv {
                    prop_assert_eq!(self.vm.str_bytes(got), Some(&vec![b; n][..]));
                }
            }
        }
        self.vm
            .check_invariants()
            .map_err(|e| TestCaseError::fail(format!("invariants: {e}")))?;
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(scale::cases(500)))]

    #[test]
    fn weak_tables_match_their_model_across_collections(
        ops in proptest::collection::vec(arb_op(), 1..120)
    ) {
        let mut w = World::new();
        for op in &ops {
            w.apply(op)?;
        }
        w.apply(&Op::Collect)?;
        // Strings were freed and reallocated meanwhile: allocate over them
        // and check again.
        for i in 0..50 {
            let _ = w.vm.new_str(format!("filler {i} {}", "z".repeat(i)).as_bytes());
        }
        w.apply(&Op::Collect)?;
    }
}

#[test]
fn a_string_in_a_weak_valued_table_survives_a_collection() {
    let mut vm = support::vm();
    let r = vm
        .exec(
            br#"local t = setmetatable({}, {__mode = "v"})
            t[1] = string.rep("x", 50)
            local u = setmetatable({}, {__mode = "kv"})
            u[string.rep("k", 40)] = string.rep("y", 60)
            collectgarbage()
            collectgarbage()
            return #t[1], #next(u), #u[string.rep("k", 40)]"#,
            "=weak",
        )
        .unwrap();
    assert_eq!(r.len(), 3);
    for (v, want) in r.iter().zip([50, 40, 60]) {
        assert!(v.raw_eq(Value::Int(want)), "{v:?} != {want}");
    }
}
