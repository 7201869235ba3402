//! The embedding example (`examples/embedding.rs`) runs to its end.

#[path = "../examples/embedding.rs"]
#[allow(unreachable_pub)]
mod example;

#[test]
fn the_embedding_example_runs() {
    example::main().expect("the example succeeds");
}
