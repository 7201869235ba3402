//! `table.sort` against a model: random integer arrays (duplicates likely)
//! sorted with random consistent comparators, on plain tables and on
//! proxies that reach their elements through `__index`/`__newindex`/`__len`,
//! come out ordered and as a permutation of the input. Plus the cases a Lua
//! script cannot build: a non-table value standing in for a table, and a
//! sort under collector stress whose elements live only on the stack.

#[path = "support/progen.rs"]
mod progen;
mod support;

use proptest::prelude::*;
use support::vm;
use vm_core::Value;

/// A consistent (strict weak) order, as a Lua comparator and as a Rust
/// key that the sorted output must be non-decreasing in.
#[derive(Clone, Copy, Debug)]
enum Order {
    /// No comparator: `<` (through `less_than`).
    Default,
    /// `a < b` written in Lua.
    Ascending,
    /// `a > b`.
    Descending,
    /// `key[a] < key[b]` for a random mapping `key` (ties between distinct
    /// values are allowed: a weak order).
    ByKey,
    /// By absolute value, then by value.
    AbsThenValue,
}

impl Order {
    /// The Lua expression passed as `table.sort`'s second argument (`key`
    /// is a global table mapping each value to its sort key).
    fn comparator(self) -> &'static str {
        match self {
            Order::Default => "nil",
            Order::Ascending => "function(a, b) return a < b end",
            Order::Descending => "function(a, b) return a > b end",
            Order::ByKey => "function(a, b) return key[a] < key[b] end",
            Order::AbsThenValue => {
                "function(a, b)
                   local x, y = a < 0 and -a or a, b < 0 and -b or b
                   if x ~= y then return x < y end
                   return a < b
                 end"
            }
        }
    }

    /// Whether `a` may come before `b` in the output.
    fn in_order(self, a: i64, b: i64, key: &impl Fn(i64) -> i64) -> bool {
        match self {
            Order::Default | Order::Ascending => a <= b,
            Order::Descending => a >= b,
            Order::ByKey => key(a) <= key(b),
            Order::AbsThenValue => (a.abs(), a) <= (b.abs(), b),
        }
    }
}

fn order() -> impl Strategy<Value = Order> {
    prop_oneof![
        Just(Order::Default),
        Just(Order::Ascending),
        Just(Order::Descending),
        Just(Order::ByKey),
        Just(Order::AbsThenValue),
    ]
}

/// Arrays of up to 300 elements from a narrow or a wide range (narrow
/// ranges make long runs of duplicates).
fn array() -> impl Strategy<Value = Vec<i64>> {
    prop_oneof![
        prop::collection::vec(-5i64..5, 0..300),
        prop::collection::vec(-1000i64..1000, 0..300),
        prop::collection::vec(-(1i64 << 40)..(1i64 << 40), 0..120),
    ]
}

/// Sorts `input` in a fresh VM and returns the result.
fn lua_sort(input: &[i64], order: Order, keys: &[(i64, i64)], proxy: bool) -> Vec<i64> {
    let mut vm = vm();
    let arr = vm.new_table();
    let key = vm.new_table();
    for (i, &x) in input.iter().enumerate() {
        vm.raw_set(arr, Value::Int(i as i64 + 1), Value::Int(x))
            .expect("set element");
    }
    for &(x, k) in keys {
        vm.raw_set(key, Value::Int(x), Value::Int(k))
            .expect("set key");
    }
    vm.set_global("store", arr).unwrap();
    vm.set_global("key", key).unwrap();
    let target = if proxy {
        "setmetatable({}, {
           __index = function(_, i) return store[i] end,
           __newindex = function(_, i, v) store[i] = v end,
           __len = function() return #store end,
         })"
    } else {
        "store"
    };
    let src = format!("table.sort({target}, {})", order.comparator());
    if let Err(e) = vm.exec(src.as_bytes(), "=sort") {
        panic!("{src}: {}", vm.error_to_string(&e));
    }
    (1..=input.len())
        .map(|i| match vm.raw_get(arr, Value::Int(i as i64)) {
            Value::Int(x) => x,
            other => panic!("element {i} is {other:?}"),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: progen::cases(64), ..ProptestConfig::default() })]

    #[test]
    fn sort_orders_a_permutation_of_its_input(
        input in array(),
        order in order(),
        key_seed in any::<u64>(),
        proxy in any::<bool>(),
    ) {
        // A random mapping with few distinct keys, so that ties are common.
        let key = |x: i64| ((x as u64).wrapping_mul(key_seed | 1) >> 59) as i64;
        let keys: Vec<(i64, i64)> = input.iter().map(|&x| (x, key(x))).collect();
        let out = lua_sort(&input, order, &keys, proxy);

        let mut expected = input.clone();
        expected.sort_unstable();
        let mut got = out.clone();
        got.sort_unstable();
        prop_assert_eq!(got, expected, "not a permutation of the input");
        for w in out.windows(2) {
            prop_assert!(order.in_order(w[0], w[1], &key), "{:?} out of order: {:?}", order, out);
        }
    }
}

/// A value that is not a table but whose metatable has `__index`,
/// `__newindex` and `__len` is accepted by every function (`checktab`);
/// one lacking a needed metamethod is refused.
#[test]
fn non_tables_with_the_metamethods_stand_in_for_tables() {
    let mut vm = vm();
    let mt = vm
        .exec(
            b"store = {5, 3, 9, 1}
              return {
                __index = function(_, i) return store[i] end,
                __newindex = function(_, i, v) store[i] = v end,
                __len = function() return #store end,
              }",
            "=mt",
        )
        .expect("metatable")[0];
    let Value::Table(mt) = mt else {
        panic!("expected a table, got {mt:?}")
    };
    vm.set_metatable(Value::Bool(true), Some(mt)).unwrap();
    let r = vm
        .exec(
            b"table.sort(true)
              table.insert(true, 1, 0)
              local removed = table.remove(true)
              local copy = table.move(true, 1, 4, 1, {})
              return table.concat(true, ','), removed, #copy, table.unpack(true, 2, 3)",
            "=use",
        )
        .expect("table functions on a proxy");
    let shown: Vec<String> = r.iter().map(|v| vm.to_display(*v)).collect();
    assert_eq!(shown, ["0,1,3,5", "9", "4", "1", "3"]);

    // Without `__len`, functions that need a length refuse the value; move
    // needs only `__index` on its source.
    vm.exec(b"getmetatable(true).__len = nil", "=drop")
        .expect("drop __len");
    let err = vm
        .exec(b"table.sort(true)", "=sort")
        .expect_err("sort needs __len");
    assert_eq!(
        vm.error_to_string(&err),
        "sort:1: bad argument #1 to 'sort' (table expected, got boolean)"
    );
    let r = vm
        .exec(b"return table.move(true, 1, 2, 1, {})[2]", "=move")
        .expect("move reads through __index");
    assert_eq!(vm.to_display(r[0]), "1");
}

/// With a collection at every safe point, elements that exist only while
/// the sort holds them (each read makes a fresh table) survive comparator
/// calls that allocate.
#[test]
fn sort_keeps_its_elements_alive_under_collector_stress() {
    let mut vm = vm();
    vm.gc_set_stress(true);
    let r = vm
        .exec(
            b"local store = {}
              for i = 1, 150 do store[i] = (i * 37) % 150 end
              local boxes = setmetatable({}, {
                __index = function(_, i) return {v = store[i]} end,
                __newindex = function(_, i, box) store[i] = box.v end,
                __len = function() return #store end,
              })
              table.sort(boxes, function(a, b) local _ = {} return a.v < b.v end)
              for i = 1, 150 do assert(store[i] == i - 1) end
              return true",
            "=stress",
        )
        .unwrap_or_else(|e| panic!("{}", vm.error_to_string(&e)));
    assert!(matches!(r[0], Value::Bool(true)));
    vm.check_invariants().expect("heap invariants");
}
