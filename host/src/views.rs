//! The views the host relays from mini-apps to the shell
//! (`application/vnd.cityhost.view+json`, `docs/views.md`).
//!
//! Every view answer is parsed into the view model the SDK writes
//! ([`cityhost_view`], one model for both) before it reaches the shell,
//! block by block: a block of an unknown `type`, with a missing or
//! mistyped field, or over a limit of [`Block::check`] (an oversize image,
//! QR data too long) is replaced by an `{"type": "unavailable"}` block,
//! which the shell shows as a neutral placeholder ("此部分暂时无法显示"),
//! and reported: a `warn` log line with the app, path, block index and
//! reason, and a [`ViewReport`] to whoever listens (`cityhost dev` prints
//! them on the developer's terminal). A document that is not a view at all
//! (not JSON, no `title` or `blocks`, larger than [`MAX_VIEW_BYTES`]) is
//! replaced whole by a view of one such placeholder.
//!
//! What the shell gets is the model re-serialised, never the app's bytes:
//! fields the model does not know do not pass. The host also draws each
//! `qr` block here, as an SVG it generates from the block's data, and adds
//! it to the block as `svg`, a `data:image/svg+xml;base64,` URL the shell
//! shows in an `<img>`; no markup of the app reaches the page.

use base64::Engine as _;
use cityhost_view::{Block, Problem};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub use cityhost_view::is_view_content_type;

/// Largest view the host parses: 2 MiB, room for several images of
/// [`cityhost_view::MAX_IMAGE_BYTES`] in base64 while keeping the check
/// cheap. A larger view is replaced whole by a placeholder.
pub const MAX_VIEW_BYTES: usize = 2 * 1024 * 1024;

/// The block that stands for one the host does not show.
pub const UNAVAILABLE_TYPE: &str = "unavailable";

/// A problem found in a view an app answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewReport {
    /// The app that answered.
    pub app_id: String,
    /// The app path that was asked for.
    pub path: String,
    /// Index of the block in `blocks`; `None` when the document as a whole
    /// was refused.
    pub block: Option<usize>,
    /// Why, for the developer.
    pub reason: String,
}

/// Where reports of malformed views go besides the log: a broadcast
/// channel that `cityhost dev` (and tests) subscribe to.
pub struct ViewReports {
    sender: broadcast::Sender<ViewReport>,
}

impl Default for ViewReports {
    fn default() -> Self {
        // Reports are for a developer watching; a slow listener loses the
        // oldest rather than holding up requests.
        let (sender, _) = broadcast::channel(64);
        ViewReports { sender }
    }
}

impl ViewReports {
    /// Receives every report from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ViewReport> {
        self.sender.subscribe()
    }

    fn report(&self, report: ViewReport) {
        tracing::warn!(
            app = %report.app_id,
            path = %report.path,
            block = ?report.block,
            reason = %report.reason,
            "view block not shown: replaced by a placeholder"
        );
        // No listener is the normal case outside `cityhost dev`.
        let _ = self.sender.send(report);
    }
}

/// The view the shell gets for `body`, the answer of `app_id` at `path`
/// with the view content type: checked, with malformed blocks replaced and
/// reported, and `qr` blocks drawn.
pub fn relay(reports: &ViewReports, app_id: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let (view, problems) = check(body);
    for (block, problem) in problems {
        reports.report(ViewReport {
            app_id: app_id.to_string(),
            path: path.to_string(),
            block,
            reason: problem,
        });
    }
    serde_json::to_vec(&view).unwrap_or_default()
}

/// A view document before its blocks are parsed one by one, so that one
/// malformed block does not cost the others.
#[derive(Deserialize)]
struct Document {
    title: String,
    blocks: Vec<Value>,
}

/// The view to serve and the problems found, each with its block index
/// (`None`: the whole document).
fn check(body: &[u8]) -> (Value, Vec<(Option<usize>, String)>) {
    if body.len() > MAX_VIEW_BYTES {
        let reason = format!(
            "the view is {} bytes, at most {MAX_VIEW_BYTES} (2 MiB)",
            body.len()
        );
        return (unavailable_view(), vec![(None, reason)]);
    }
    let document: Document =
        match serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(body)) {
            Ok(document) => document,
            Err(e) => {
                let reason = format!("not a view document: {}", with_path(&e));
                return (unavailable_view(), vec![(None, reason)]);
            }
        };
    let mut problems = Vec::new();
    let blocks: Vec<Value> = document
        .blocks
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            block(raw).unwrap_or_else(|problem| {
                problems.push((Some(i), problem.to_string()));
                unavailable()
            })
        })
        .collect();
    (json!({"title": document.title, "blocks": blocks}), problems)
}

/// One block as the shell gets it, or why it is not shown.
fn block(raw: Value) -> Result<Value, Problem> {
    let block = match Block::deserialize(&raw) {
        Ok(block) => block,
        Err(e) => return Err(Problem::Malformed(locate(&raw).unwrap_or(e.to_string()))),
    };
    block.check()?;
    let mut value = serde_json::to_value(&block).map_err(|e| Problem::Malformed(e.to_string()))?;
    if let (Block::Qr(qr), Some(object)) = (&block, value.as_object_mut()) {
        object.insert("svg".into(), qr_svg(&qr.data)?.into());
    }
    Ok(value)
}

/// Where in a block that did not parse the error is, as
/// `items[0].actions[1].action: missing field `path``: serde loses the
/// path inside an enum tagged by a field, so the block's content is parsed
/// again as its own type (only for a malformed block, so only then paid).
fn locate(raw: &Value) -> Option<String> {
    use cityhost_view::{Button, Card, Form, Image, KvItem, ListItem, Qr, Table};
    fn at<T: serde::de::DeserializeOwned>(prefix: &str, value: &Value) -> Option<String> {
        let e = serde_path_to_error::deserialize::<_, T>(value).err()?;
        let path = e.path().to_string();
        Some(match (prefix, path.as_str()) {
            ("", ".") => e.inner().to_string(),
            ("", path) => format!("{path}: {}", e.inner()),
            (prefix, ".") => format!("{prefix}: {}", e.inner()),
            (prefix, path) if path.starts_with('[') => format!("{prefix}{path}: {}", e.inner()),
            (prefix, path) => format!("{prefix}.{path}: {}", e.inner()),
        })
    }
    match raw.get("type")?.as_str()? {
        "table" => at::<Table>("", raw),
        "form" => at::<Form>("", raw),
        "button" => at::<Button>("", raw),
        "qr" => at::<Qr>("", raw),
        "image" => at::<Image>("", raw),
        "card" => at::<Card>("", raw),
        "list" => at::<Vec<ListItem>>("items", raw.get("items")?),
        "kv" => at::<Vec<KvItem>>("items", raw.get("items")?),
        _ => None,
    }
}

fn with_path(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    if path == "." {
        e.inner().to_string()
    } else {
        format!("{path}: {}", e.inner())
    }
}

fn unavailable() -> Value {
    json!({"type": UNAVAILABLE_TYPE})
}

fn unavailable_view() -> Value {
    json!({"title": "", "blocks": [unavailable()]})
}

/// `data` as a QR code (error correction M, the standard 4-module quiet
/// zone, one unit per module: the shell scales it), an SVG in a
/// `data:image/svg+xml;base64,` URL.
fn qr_svg(data: &str) -> Result<String, Problem> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Problem::QrUnencodable(e.to_string()))?;
    let svg = code
        .render::<svg::Color<'_>>()
        .module_dimensions(1, 1)
        .quiet_zone(true)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    let data = base64::engine::general_purpose::STANDARD.encode(svg);
    Ok(format!("data:image/svg+xml;base64,{data}"))
}

#[cfg(test)]
mod tests {
    use cityhost_view::{Action, Image, ListItem, MAX_QR_DATA_BYTES, View};

    use super::*;

    fn checked(view: Value) -> (Value, Vec<(Option<usize>, String)>) {
        check(&serde_json::to_vec(&view).unwrap())
    }

    #[test]
    fn a_good_view_passes_as_the_model_writes_it() {
        let view = View::new("t")
            .heading("h")
            .list([ListItem::new("a").action("x", Action::open("/a"))])
            .image(Image::jpeg(&[0xFF, 0xD8, 0xFF, 0xE0], "图"));
        let (out, problems) = checked(serde_json::to_value(&view).unwrap());
        assert_eq!(problems, vec![]);
        assert_eq!(out, serde_json::to_value(&view).unwrap());
    }

    #[test]
    fn malformed_blocks_are_replaced_and_the_rest_kept() {
        let (out, problems) = checked(json!({"title": "t", "blocks": [
            {"type": "heading", "text": "ok"},
            {"type": "marquee", "text": "x"},
            {"type": "image", "src": "data:image/svg+xml;base64,PHN2Zy8+", "alt": "x"},
            {"type": "list", "items": [{"title": "a", "actions": [{"label": "x", "action": {"kind": "open"}}]}]},
            {"type": "qr", "data": "a".repeat(MAX_QR_DATA_BYTES + 1), "label": "票"},
            {"type": "text", "text": "kept", "extra": "<b>dropped</b>"},
        ]}));
        assert_eq!(
            out["blocks"],
            json!([
                {"type": "heading", "text": "ok"},
                {"type": "unavailable"},
                {"type": "unavailable"},
                {"type": "unavailable"},
                {"type": "unavailable"},
                {"type": "text", "text": "kept"},
            ])
        );
        let indices: Vec<_> = problems.iter().map(|(i, _)| *i).collect();
        assert_eq!(indices, vec![Some(1), Some(2), Some(3), Some(4)]);
        assert!(
            problems[0].1.contains("unknown variant `marquee`"),
            "{problems:?}"
        );
        assert!(problems[1].1.contains("no SVG"), "{problems:?}");
        assert!(
            problems[2].1.contains("items[0].actions[0]"),
            "{problems:?}"
        );
        assert!(
            problems[2].1.contains("missing field `path`"),
            "{problems:?}"
        );
        assert!(problems[3].1.contains("at most 2331"), "{problems:?}");
    }

    #[test]
    fn a_document_that_is_not_a_view_is_replaced_whole() {
        for body in [
            b"not json".to_vec(),
            br#"{"blocks": []}"#.to_vec(),
            br#"{"title": "t", "blocks": {}}"#.to_vec(),
            vec![b' '; MAX_VIEW_BYTES + 1],
        ] {
            let (out, problems) = check(&body);
            assert_eq!(out, unavailable_view());
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].0, None);
        }
    }

    #[test]
    fn qr_blocks_get_an_svg_the_host_drew() {
        let ticket = "eyJhbGciOiJFZERTQSJ9.".repeat(80);
        let (out, problems) = checked(json!({"title": "t", "blocks": [
            {"type": "qr", "data": ticket, "label": "入场码", "svg": "data:image/svg+xml;base64,APP"},
        ]}));
        assert_eq!(problems, vec![]);
        let svg = out["blocks"][0]["svg"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(svg.strip_prefix("data:image/svg+xml;base64,").unwrap())
            .unwrap();
        let svg = String::from_utf8(bytes).unwrap();
        assert!(
            svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(!svg.contains("script"));
    }

    #[test]
    fn reports_reach_subscribers() {
        let reports = ViewReports::default();
        let mut rx = reports.subscribe();
        let body = relay(
            &reports,
            "probe",
            "/v",
            br#"{"title": "t", "blocks": [{"type": "nope"}]}"#,
        );
        let out: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(out["blocks"][0]["type"], "unavailable");
        let report = rx.try_recv().unwrap();
        assert_eq!((report.app_id.as_str(), report.block), ("probe", Some(0)));
    }
}
