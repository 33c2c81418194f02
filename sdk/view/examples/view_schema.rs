//! Prints the JSON Schema of views, generated from this crate's types.
//!
//! Run with: `cargo run -p cityhost-view --features schema --example view_schema > docs/view.schema.json`

fn main() {
    let schema = cityhost_view::schema();
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).expect("a schema is JSON")
    );
}
