//! The limits of the wire format that serde cannot express: what makes a
//! well-typed block still malformed.

use std::fmt;

use base64::Engine as _;

use crate::{Action, Block, Button, Image, VIEW_CONTENT_TYPE};

/// Largest image of an `image` block, decoded: 256 KiB, enough for a
/// photo of a certificate at phone resolution while keeping a view (and
/// the host's check of it) small.
pub const MAX_IMAGE_BYTES: usize = 256 * 1024;

/// Longest `data` of a `qr` block, in bytes of UTF-8: what a QR code of
/// the largest version (40) holds in byte mode at error correction level M
/// (2,331 bytes), enough for a signed ticket (a JWS of 1-2 KB).
pub const MAX_QR_DATA_BYTES: usize = 2331;

/// Why a block is not shown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// It does not parse as a block: an unknown `type`, a missing field, a
    /// field of the wrong type (serde's message, with the path in the block).
    Malformed(String),
    /// A `qr` block's data is empty.
    QrEmpty,
    /// A `qr` block's data is longer than [`MAX_QR_DATA_BYTES`].
    QrTooLong {
        /// Its length in bytes.
        bytes: usize,
    },
    /// The host could not encode a `qr` block's data.
    QrUnencodable(String),
    /// An `image` block's `src` is not a base64 `data:` URL of a PNG, JPEG
    /// or WebP image.
    ImageSource,
    /// An `image` block's bytes are not of the type its `src` declares.
    ImageType {
        /// The declared media type.
        declared: &'static str,
    },
    /// An `image` block's image is larger than [`MAX_IMAGE_BYTES`].
    ImageTooLarge {
        /// Its size in bytes (at least; decoding stops early).
        bytes: usize,
    },
    /// An `image` block has an empty `alt`.
    ImageAlt,
    /// A path that should be one of the app's (or the host's payment page)
    /// is not: it must start with one `/` (no scheme, no `//host`, no `\`).
    NotAppPath {
        /// Where in the block, e.g. `items[0].actions[1].action.path`.
        at: String,
        /// The path as given.
        path: String,
    },
    /// A `table` row does not have one cell per column.
    RowWidth {
        /// The row's index.
        row: usize,
        /// Its cells.
        cells: usize,
        /// The table's columns.
        columns: usize,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Malformed(why) => write!(f, "malformed block: {why}"),
            Problem::QrEmpty => f.write_str("qr: `data` is empty"),
            Problem::QrTooLong { bytes } => write!(
                f,
                "qr: `data` is {bytes} bytes, a QR code holds at most {MAX_QR_DATA_BYTES}"
            ),
            Problem::QrUnencodable(why) => write!(f, "qr: `data` cannot be encoded: {why}"),
            Problem::ImageSource => f.write_str(
                "image: `src` must be a data:image/png, data:image/jpeg or data:image/webp \
                 URL in base64 (no SVG, no remote URL)",
            ),
            Problem::ImageType { declared } => {
                write!(f, "image: the bytes are not {declared} as `src` declares")
            }
            Problem::ImageTooLarge { bytes } => write!(
                f,
                "image: {bytes} bytes or more, at most {MAX_IMAGE_BYTES} (256 KiB) decoded"
            ),
            Problem::ImageAlt => f.write_str("image: `alt` (the text alternative) is empty"),
            Problem::NotAppPath { at, path } => write!(
                f,
                "{at}: `{path}` is not an app path; write one starting with `/`"
            ),
            Problem::RowWidth {
                row,
                cells,
                columns,
            } => write!(
                f,
                "table: rows[{row}] has {cells} cells for {columns} columns; give one per column"
            ),
        }
    }
}

impl std::error::Error for Problem {}

impl Block {
    /// Whether the block keeps the limits of `docs/views.md` that its type
    /// does not carry: a `qr` block's data fits a QR code, an `image`
    /// block's `src` is a PNG, JPEG or WebP of at most [`MAX_IMAGE_BYTES`]
    /// whose bytes match the declared type and its `alt` is not empty;
    /// every path a link, form or action leads to is an app path (starting
    /// with one `/`); a table has one cell per column in every row.
    /// Cheap: an image is decoded once, and not at all when its text is
    /// already too long.
    pub fn check(&self) -> Result<(), Problem> {
        match self {
            Block::Qr(qr) if qr.data.is_empty() => Err(Problem::QrEmpty),
            Block::Qr(qr) if qr.data.len() > MAX_QR_DATA_BYTES => Err(Problem::QrTooLong {
                bytes: qr.data.len(),
            }),
            Block::Image(image) => check_image(image),
            Block::Link { path, .. } => check_path("path", path),
            Block::Form(form) => check_path("action", &form.action),
            Block::Button(button) => check_action("action", &button.action),
            Block::List { items } => items.iter().enumerate().try_for_each(|(i, item)| {
                check_buttons(&format!("items[{i}].actions"), &item.actions)
            }),
            Block::Card(card) => check_buttons("actions", &card.actions),
            Block::Table(table) => {
                let columns = table.columns.len();
                match table.rows.iter().position(|row| row.len() != columns) {
                    Some(row) => Err(Problem::RowWidth {
                        row,
                        cells: table.rows[row].len(),
                        columns,
                    }),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

/// Whether `path` is an app path: starts with one `/`, and has no `\`
/// (which browsers read as `/`) and no control character.
fn is_app_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.chars().any(|c| c == '\\' || c.is_control())
}

fn check_path(at: &str, path: &str) -> Result<(), Problem> {
    if is_app_path(path) {
        Ok(())
    } else {
        Err(Problem::NotAppPath {
            at: at.to_string(),
            path: path.to_string(),
        })
    }
}

fn check_action(at: &str, action: &Action) -> Result<(), Problem> {
    match action {
        Action::Open { path } | Action::Post { path, .. } => {
            check_path(&format!("{at}.path"), path)
        }
        Action::Pay { pay_url, .. } => check_path(&format!("{at}.pay_url"), pay_url),
        _ => Ok(()),
    }
}

fn check_buttons(at: &str, buttons: &[Button]) -> Result<(), Problem> {
    buttons
        .iter()
        .enumerate()
        .try_for_each(|(j, button)| check_action(&format!("{at}[{j}].action"), &button.action))
}

fn check_image(image: &Image) -> Result<(), Problem> {
    if image.alt.trim().is_empty() {
        return Err(Problem::ImageAlt);
    }
    let rest = image
        .src
        .strip_prefix("data:")
        .ok_or(Problem::ImageSource)?;
    let (declared, data) = [
        ("image/png;base64,", "image/png"),
        ("image/jpeg;base64,", "image/jpeg"),
        ("image/webp;base64,", "image/webp"),
    ]
    .into_iter()
    .find_map(|(prefix, media_type)| rest.strip_prefix(prefix).map(|data| (media_type, data)))
    .ok_or(Problem::ImageSource)?;
    // Four characters of base64 hold three bytes: refuse before decoding.
    let at_least = data.len() / 4 * 3;
    if at_least > MAX_IMAGE_BYTES + 2 {
        return Err(Problem::ImageTooLarge { bytes: at_least });
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| Problem::ImageSource)?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(Problem::ImageTooLarge { bytes: bytes.len() });
    }
    let matches = match declared {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        _ => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
    };
    if matches {
        Ok(())
    } else {
        Err(Problem::ImageType { declared })
    }
}

/// Whether a `content-type` header value names a view (parameters such as
/// `charset` allowed, case-insensitive).
pub fn is_view_content_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(VIEW_CONTENT_TYPE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Qr, View};

    fn image(src: String) -> Block {
        Block::Image(Image {
            src,
            alt: "证件照".into(),
        })
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn images_are_checked_by_type_size_and_magic_bytes() {
        let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0; 32]].concat();
        let jpeg = [[0xFF, 0xD8, 0xFF, 0xE0].as_slice(), &[0; 32]].concat();
        let webp = [b"RIFF\0\0\0\0WEBPVP8 ".as_slice(), &[0; 32]].concat();
        assert_eq!(Block::Image(Image::png(&png, "x")).check(), Ok(()));
        assert_eq!(Block::Image(Image::jpeg(&jpeg, "x")).check(), Ok(()));
        assert_eq!(Block::Image(Image::webp(&webp, "x")).check(), Ok(()));
        // Declared PNG, JPEG bytes.
        assert_eq!(
            image(format!("data:image/png;base64,{}", b64(&jpeg))).check(),
            Err(Problem::ImageType {
                declared: "image/png"
            })
        );
        for src in [
            format!(
                "data:image/svg+xml;base64,{}",
                b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
            ),
            "https://example.com/a.png".into(),
            "data:image/png,rawbytes".into(),
            "data:image/png;base64,@@@@".into(),
            "DATA:image/png;base64,".into(),
        ] {
            assert_eq!(
                image(src.clone()).check(),
                Err(Problem::ImageSource),
                "{src}"
            );
        }
        let big = [png.as_slice(), &vec![0; MAX_IMAGE_BYTES]].concat();
        assert!(matches!(
            Block::Image(Image::png(&big, "x")).check(),
            Err(Problem::ImageTooLarge { .. })
        ));
        let just = [png.as_slice(), &vec![0; MAX_IMAGE_BYTES - png.len()]].concat();
        assert_eq!(Block::Image(Image::png(&just, "x")).check(), Ok(()));
        assert_eq!(
            Block::Image(Image::png(&png, " ")).check(),
            Err(Problem::ImageAlt)
        );
    }

    #[test]
    fn qr_data_must_fit_a_qr_code() {
        let ok = "a".repeat(MAX_QR_DATA_BYTES);
        assert!(View::new("t").qr(ok, "票").problems().is_empty());
        let long = "a".repeat(MAX_QR_DATA_BYTES + 1);
        assert_eq!(
            View::new("t").text("x").qr(long, "票").problems(),
            vec![(
                1,
                Problem::QrTooLong {
                    bytes: MAX_QR_DATA_BYTES + 1
                }
            )]
        );
        assert_eq!(
            Block::Qr(Qr {
                data: String::new(),
                label: "票".into()
            })
            .check(),
            Err(Problem::QrEmpty)
        );
    }

    #[test]
    fn the_view_content_type_is_recognised_with_parameters() {
        assert!(is_view_content_type("application/vnd.cityhost.view+json"));
        assert!(is_view_content_type(
            "Application/Vnd.Cityhost.View+JSON; charset=utf-8"
        ));
        assert!(!is_view_content_type("application/json"));
        assert!(!is_view_content_type("application/vnd.cityhost.view+jsonx"));
    }

    #[test]
    fn paths_lead_into_the_app_and_tables_have_one_cell_per_column() {
        use serde_json::json;
        let block = |value: serde_json::Value| serde_json::from_value::<Block>(value).unwrap();
        let open = |path: &str| json!({"kind": "open", "path": path});
        for path in ["/", "/bookings?id=1", "/a/b#c"] {
            assert_eq!(
                block(json!({"type": "link", "label": "x", "path": path})).check(),
                Ok(())
            );
        }
        for (value, at) in [
            (
                json!({"type": "link", "label": "x", "path": "javascript:alert(1)"}),
                "path",
            ),
            (
                json!({"type": "link", "label": "x", "path": "//evil.example"}),
                "path",
            ),
            (
                json!({"type": "link", "label": "x", "path": "/\\evil.example"}),
                "path",
            ),
            (
                json!({"type": "form", "action": "https://evil.example", "method": "post", "submit": "s", "fields": []}),
                "action",
            ),
            (
                json!({"type": "button", "label": "x", "action": open("evil")}),
                "action.path",
            ),
            (
                json!({"type": "button", "label": "x", "action": {"kind": "pay", "order_id": "o", "pay_url": "https://evil.example/pay"}}),
                "action.pay_url",
            ),
            (
                json!({"type": "list", "items": [{"title": "t", "actions": [{"label": "ok", "action": open("/")}, {"label": "x", "action": open("http://x")}]}]}),
                "items[0].actions[1].action.path",
            ),
            (
                json!({"type": "card", "title": "t", "items": [], "actions": [{"label": "x", "action": open("x")}]}),
                "actions[0].action.path",
            ),
        ] {
            match block(value.clone()).check() {
                Err(Problem::NotAppPath { at: found, .. }) => assert_eq!(found, at, "{value}"),
                other => panic!("{value}: {other:?}"),
            }
        }
        let table = json!({"type": "table", "columns": ["a", "b"], "rows": [["1", "2"], ["1"]]});
        assert_eq!(
            block(table).check(),
            Err(Problem::RowWidth {
                row: 1,
                cells: 1,
                columns: 2
            })
        );
    }
}
