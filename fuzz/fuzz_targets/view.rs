//! A view a guest answers (`application/vnd.cityhost.view+json`), read as
//! the host reads it (host/src/views.rs): the document as JSON, each block
//! as a `cityhost_view::Block`, then `Block::check`; and the whole
//! document as a `View` with `View::problems`. Property: a block or view
//! that parses re-serialises to one that parses to the same value, with
//! the same check result.
#![no_main]

use cityhost_view::{Block, View, is_view_content_type};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = is_view_content_type(text);
    }
    if let Ok(document) = serde_json::from_slice::<Value>(data)
        && let Some(blocks) = document.get("blocks").and_then(Value::as_array)
    {
        for raw in blocks {
            let Ok(block) = Block::deserialize(raw) else {
                continue;
            };
            let checked = block.check();
            let value = serde_json::to_value(&block).expect("a block serialises");
            let again = Block::deserialize(&value).expect("a serialised block parses");
            assert_eq!(block, again, "block round trip");
            assert_eq!(checked, again.check(), "check differs after a round trip");
        }
    }
    if let Ok(view) = serde_json::from_slice::<View>(data) {
        let problems = view.problems();
        let bytes = serde_json::to_vec(&view).expect("a view serialises");
        let again: View = serde_json::from_slice(&bytes).expect("a serialised view parses");
        assert_eq!(view, again, "view round trip");
        assert_eq!(
            problems,
            again.problems(),
            "problems differ after a round trip"
        );
    }
});
