//! Declarative views (`application/vnd.cityhost.view+json`): the page a
//! mini-app shows, rendered by the host's shell in the platform's one look.
//!
//! [`View`] is a builder over the blocks and actions of `docs/views.md`;
//! every type here serialises with serde to exactly that wire format. The
//! SDK (`cityhost_sdk::view`) re-exports this crate, and the host parses
//! every view it relays into these same types, so what an app writes and
//! what the host accepts are one model: [`Block::check`] holds the limits
//! that serde cannot express (image size and type, QR payload length).
//! With the `schema` feature every type is a `schemars::JsonSchema` and
//! [`schema`] gives the JSON Schema committed as `docs/view.schema.json`.
//!
//! ```
//! use cityhost_view::{Action, AlertLevel, Field, Form, Table, View};
//!
//! let view = View::new("水电煤缴费")
//!     .heading("我的账单")
//!     .table(Table::new(["类型", "账期", "金额"]).row(["水费", "2026-10", "¥45.60"]))
//!     .form(
//!         Form::get("/bills", "查询")
//!             .field(Field::text("account", "户号").required().placeholder("3301001")),
//!     )
//!     .button("去缴费", Action::post("/pay", [("account", "3301001")]))
//!     .alert(AlertLevel::Info, "缴费后约 1 分钟到账")
//!     .link("返回首页", "/");
//! let json = serde_json::to_value(&view).unwrap();
//! assert_eq!(json["blocks"][0], serde_json::json!({"type": "heading", "text": "我的账单"}));
//! assert!(view.problems().is_empty());
//! ```

#![deny(missing_docs)]

mod check;

pub use check::{MAX_IMAGE_BYTES, MAX_QR_DATA_BYTES, Problem, is_view_content_type};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The content type of a view response.
pub const VIEW_CONTENT_TYPE: &str = "application/vnd.cityhost.view+json";

/// A page: a title for the shell's top bar and blocks rendered top to bottom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct View {
    /// Shown in the shell's top bar.
    pub title: String,
    /// Rendered top to bottom.
    pub blocks: Vec<Block>,
}

impl View {
    /// An empty view with `title`.
    pub fn new(title: impl Into<String>) -> Self {
        View {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    /// Appends any block.
    pub fn block(mut self, block: Block) -> Self {
        self.blocks.push(block);
        self
    }

    /// Appends a section heading.
    pub fn heading(self, text: impl Into<String>) -> Self {
        self.block(Block::Heading { text: text.into() })
    }

    /// Appends a paragraph of plain text (never HTML).
    pub fn text(self, text: impl Into<String>) -> Self {
        self.block(Block::Text { text: text.into() })
    }

    /// Appends a label/value list, e.g. `[("余额", "¥1,234.00")]`.
    pub fn kv<L, V>(self, items: impl IntoIterator<Item = (L, V)>) -> Self
    where
        L: Into<String>,
        V: Into<String>,
    {
        let items = items
            .into_iter()
            .map(|(label, value)| KvItem {
                label: label.into(),
                value: value.into(),
            })
            .collect();
        self.block(Block::Kv { items })
    }

    /// Appends a table.
    pub fn table(self, table: Table) -> Self {
        self.block(Block::Table(table))
    }

    /// Appends a form.
    pub fn form(self, form: Form) -> Self {
        self.block(Block::Form(form))
    }

    /// Appends a primary button; use [`View::block`] with a [`Button`] for a
    /// secondary one.
    pub fn button(self, label: impl Into<String>, action: Action) -> Self {
        self.block(Block::Button(Button::new(label, action)))
    }

    /// Appends a coloured notice.
    pub fn alert(self, level: AlertLevel, text: impl Into<String>) -> Self {
        self.block(Block::Alert {
            level,
            text: text.into(),
        })
    }

    /// Appends a link to another page of the same app (`path` starts with `/`).
    pub fn link(self, label: impl Into<String>, path: impl Into<String>) -> Self {
        self.block(Block::Link {
            label: label.into(),
            path: path.into(),
        })
    }

    /// Appends a QR code of `data` (a ticket, a signed token...), drawn by
    /// the host, with `label` under it. At most [`MAX_QR_DATA_BYTES`] of
    /// UTF-8; longer data is reported as malformed and not shown.
    ///
    /// ```
    /// # use cityhost_view::View;
    /// let view = View::new("入场券").qr("eyJhbGciOiJFZERTQSJ9.e30.c2ln", "入场时出示");
    /// assert!(view.problems().is_empty());
    /// ```
    pub fn qr(self, data: impl Into<String>, label: impl Into<String>) -> Self {
        self.block(Block::Qr(Qr {
            data: data.into(),
            label: label.into(),
        }))
    }

    /// Appends an image the app provides (see [`Image::png`]).
    pub fn image(self, image: Image) -> Self {
        self.block(Block::Image(image))
    }

    /// Appends a list of rows, each with its own actions.
    ///
    /// ```
    /// # use cityhost_view::{Action, ListItem, View};
    /// let view = View::new("我的预约").list([
    ///     ListItem::new("市一医院 心内科")
    ///         .subtitle("2026-12-08 09:30")
    ///         .meta("已预约")
    ///         .action("详情", Action::open("/bookings/1"))
    ///         .action("取消", Action::post("/bookings/1/cancel", [("confirm", "1")])),
    /// ]);
    /// # assert!(view.problems().is_empty());
    /// ```
    pub fn list(self, items: impl IntoIterator<Item = ListItem>) -> Self {
        self.block(Block::List {
            items: items.into_iter().collect(),
        })
    }

    /// Appends a card (see [`Card`]).
    pub fn card(self, card: Card) -> Self {
        self.block(Block::Card(card))
    }

    /// Every block that breaks a limit of the wire format, with its index
    /// (see [`Block::check`]); the host replaces such a block with a
    /// placeholder and reports it.
    pub fn problems(&self) -> Vec<(usize, Problem)> {
        self.blocks
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.check().err().map(|p| (i, p)))
            .collect()
    }
}

/// One block of a [`View`], tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Block {
    /// A section heading.
    Heading {
        /// The heading text.
        text: String,
    },
    /// A paragraph of plain text.
    Text {
        /// The paragraph.
        text: String,
    },
    /// A label/value list (balances, account details): the description
    /// list of a view, rendered as `<dl>`.
    Kv {
        /// The rows, in order.
        items: Vec<KvItem>,
    },
    /// A table.
    Table(Table),
    /// A form.
    Form(Form),
    /// A button.
    Button(Button),
    /// A coloured notice.
    Alert {
        /// How it is coloured.
        level: AlertLevel,
        /// The notice.
        text: String,
    },
    /// A link to another page of the same app.
    Link {
        /// The link text.
        label: String,
        /// App path, starting with `/`.
        path: String,
    },
    /// A QR code the host draws from a string.
    Qr(Qr),
    /// An image the app provides, as a `data:` URL.
    Image(Image),
    /// Rows, each with a title and its own actions.
    List {
        /// The rows, in order.
        items: Vec<ListItem>,
    },
    /// A titled group of label/value rows with actions.
    Card(Card),
}

/// A `qr` block: the host encodes `data` (error correction level M) and
/// the shell shows it as an image the host drew, with `label` under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Qr {
    /// What the code holds: 1 to 2,331 bytes of UTF-8 ([`MAX_QR_DATA_BYTES`]).
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub data: String,
    /// Shown under the code, e.g. `入场时出示此码`.
    pub label: String,
}

/// An `image` block: a PNG, JPEG or WebP image as a base64 `data:` URL of
/// at most 256 KiB decoded ([`MAX_IMAGE_BYTES`]), with its text alternative. No SVG
/// and no remote URLs: the host checks the bytes against the declared type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Image {
    /// `data:image/png;base64,...`, `data:image/jpeg;base64,...` or
    /// `data:image/webp;base64,...`.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = r"^data:image/(png|jpeg|webp);base64,[A-Za-z0-9+/]*={0,2}$"))
    )]
    pub src: String,
    /// What the image shows, for those who cannot see it (required).
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub alt: String,
}

impl Image {
    /// A PNG image from its bytes.
    ///
    /// ```
    /// # use cityhost_view::{Image, View};
    /// let png = b"\x89PNG\r\n\x1a\n...";
    /// let view = View::new("证照").image(Image::png(png, "居住证正面"));
    /// assert!(view.blocks[0].check().is_ok());
    /// ```
    pub fn png(bytes: &[u8], alt: impl Into<String>) -> Self {
        Image::from_bytes("image/png", bytes, alt)
    }

    /// A JPEG image from its bytes.
    pub fn jpeg(bytes: &[u8], alt: impl Into<String>) -> Self {
        Image::from_bytes("image/jpeg", bytes, alt)
    }

    /// A WebP image from its bytes.
    pub fn webp(bytes: &[u8], alt: impl Into<String>) -> Self {
        Image::from_bytes("image/webp", bytes, alt)
    }

    fn from_bytes(media_type: &str, bytes: &[u8], alt: impl Into<String>) -> Self {
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        Image {
            src: format!("data:{media_type};base64,{data}"),
            alt: alt.into(),
        }
    }
}

/// One row of a `list` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ListItem {
    /// The row's main line.
    pub title: String,
    /// A second line under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// A short note at the side (a status, a date, an amount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
    /// Buttons of this row, same shape as a `button` block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Button>,
}

impl ListItem {
    /// A row with this title.
    pub fn new(title: impl Into<String>) -> Self {
        ListItem {
            title: title.into(),
            subtitle: None,
            meta: None,
            actions: Vec::new(),
        }
    }

    /// Sets the second line.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Sets the note at the side.
    pub fn meta(mut self, meta: impl Into<String>) -> Self {
        self.meta = Some(meta.into());
        self
    }

    /// Appends a secondary button (rows rarely hold the page's main action;
    /// use [`ListItem::button`] for a primary one).
    pub fn action(self, label: impl Into<String>, action: Action) -> Self {
        self.button(Button::new(label, action).secondary())
    }

    /// Appends a button.
    pub fn button(mut self, button: Button) -> Self {
        self.actions.push(button);
        self
    }
}

/// A `card` block: a title, label/value rows and buttons, e.g. one
/// appointment or one certificate.
///
/// ```
/// # use cityhost_view::{Action, Card, View};
/// let view = View::new("公积金").card(
///     Card::new("账户信息")
///         .item("账户余额", "¥12,345.67")
///         .item("缴存状态", "正常")
///         .action("提取", Action::open("/withdraw")),
/// );
/// # assert!(view.problems().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Card {
    /// The card's heading.
    pub title: String,
    /// Label/value rows, as in a `kv` block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KvItem>,
    /// Buttons under the rows, same shape as a `button` block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Button>,
}

impl Card {
    /// A card with this title and nothing in it.
    pub fn new(title: impl Into<String>) -> Self {
        Card {
            title: title.into(),
            items: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Appends a label/value row.
    pub fn item(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.items.push(KvItem {
            label: label.into(),
            value: value.into(),
        });
        self
    }

    /// Appends a primary button.
    pub fn action(self, label: impl Into<String>, action: Action) -> Self {
        self.button(Button::new(label, action))
    }

    /// Appends a button.
    pub fn button(mut self, button: Button) -> Self {
        self.actions.push(button);
        self
    }
}

/// One row of a `kv` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct KvItem {
    /// The label, e.g. `账户余额`.
    pub label: String,
    /// The value, e.g. `¥12,345.67`.
    pub value: String,
}

/// A table: column headings and rows of one cell per column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Table {
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows; each has one cell per column.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings and no rows.
    pub fn new<C: Into<String>>(columns: impl IntoIterator<Item = C>) -> Self {
        Table {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row. Missing cells are filled with `""` and surplus cells
    /// dropped, so every row has one cell per column as renderers expect.
    pub fn row<C: Into<String>>(mut self, cells: impl IntoIterator<Item = C>) -> Self {
        let width = self.columns.len();
        let mut row: Vec<String> = cells.into_iter().take(width).map(Into::into).collect();
        row.resize(width, String::new());
        self.rows.push(row);
        self
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// How a form sends its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum FormMethod {
    /// Fields go into the query string of a GET.
    Get,
    /// Fields are POSTed form-encoded (`application/x-www-form-urlencoded`).
    Post,
}

/// A form block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Form {
    /// App path the form is sent to.
    pub action: String,
    /// GET (query string) or POST (form-encoded body).
    pub method: FormMethod,
    /// The submit button's label.
    pub submit: String,
    /// The inputs, in order.
    pub fields: Vec<Field>,
}

impl Form {
    /// A form that GETs `action` with its fields in the query string.
    pub fn get(action: impl Into<String>, submit: impl Into<String>) -> Self {
        Form::new(action, FormMethod::Get, submit)
    }

    /// A form that POSTs its fields form-encoded to `action`.
    pub fn post(action: impl Into<String>, submit: impl Into<String>) -> Self {
        Form::new(action, FormMethod::Post, submit)
    }

    fn new(action: impl Into<String>, method: FormMethod, submit: impl Into<String>) -> Self {
        Form {
            action: action.into(),
            method,
            submit: submit.into(),
            fields: Vec::new(),
        }
    }

    /// Appends an input.
    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }
}

/// The kind of a form input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// A line of text.
    Text,
    /// A number, optionally within `min`..=`max`.
    Number,
    /// A date, sent as `YYYY-MM-DD`.
    Date,
    /// One of [`Field::options`].
    Select,
    /// Not shown; its `value` is sent with the form (an id, a step).
    Hidden,
}

/// One input of a [`Form`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Field {
    /// Input kind.
    pub kind: FieldKind,
    /// The parameter name sent to the app.
    pub name: String,
    /// Shown beside the input (not needed for `hidden`; the shell shows the
    /// name when a visible input has none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// Initial value (the value sent, for `hidden`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Whether the citizen must fill it in.
    #[serde(default)]
    pub required: bool,
    /// Hint shown in the empty input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Smallest value, for `number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Largest value, for `number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// The choices, for `select`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<SelectOption>,
}

impl Field {
    fn new(kind: FieldKind, name: impl Into<String>, label: impl Into<String>) -> Self {
        Field {
            kind,
            name: name.into(),
            label: label.into(),
            value: None,
            required: false,
            placeholder: None,
            min: None,
            max: None,
            options: Vec::new(),
        }
    }

    /// A text input.
    pub fn text(name: impl Into<String>, label: impl Into<String>) -> Self {
        Field::new(FieldKind::Text, name, label)
    }

    /// A number input.
    pub fn number(name: impl Into<String>, label: impl Into<String>) -> Self {
        Field::new(FieldKind::Number, name, label)
    }

    /// A date input (`YYYY-MM-DD`).
    pub fn date(name: impl Into<String>, label: impl Into<String>) -> Self {
        Field::new(FieldKind::Date, name, label)
    }

    /// A select input with `(value, label)` choices.
    pub fn select<V, L>(
        name: impl Into<String>,
        label: impl Into<String>,
        options: impl IntoIterator<Item = (V, L)>,
    ) -> Self
    where
        V: Into<String>,
        L: Into<String>,
    {
        let mut field = Field::new(FieldKind::Select, name, label);
        field.options = options
            .into_iter()
            .map(|(value, label)| SelectOption {
                value: value.into(),
                label: label.into(),
            })
            .collect();
        field
    }

    /// A hidden input: not shown, `value` is sent with the form.
    ///
    /// ```
    /// # use cityhost_view::{Field, Form};
    /// let form = Form::post("/renew", "续办").field(Field::hidden("permit", "P-2026-0042"));
    /// # assert_eq!(form.fields[0].value.as_deref(), Some("P-2026-0042"));
    /// ```
    pub fn hidden(name: impl Into<String>, value: impl Into<String>) -> Self {
        Field::new(FieldKind::Hidden, name, "").value(value)
    }

    /// Sets the initial value.
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Marks the input as required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Sets the hint shown in the empty input.
    pub fn placeholder(mut self, placeholder: impl Into<String>) -> Self {
        self.placeholder = Some(placeholder.into());
        self
    }

    /// Sets the smallest value of a number input.
    pub fn min(mut self, min: i64) -> Self {
        self.min = Some(min);
        self
    }

    /// Sets the largest value of a number input.
    pub fn max(mut self, max: i64) -> Self {
        self.max = Some(max);
        self
    }
}

/// One choice of a `select` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SelectOption {
    /// The value sent to the app.
    pub value: String,
    /// What the citizen sees.
    pub label: String,
}

/// How a button is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ButtonStyle {
    /// The main action of the page (the default).
    #[default]
    Primary,
    /// A less prominent action.
    Secondary,
}

/// A button block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Button {
    /// The button's text.
    pub label: String,
    /// What the shell does when it is pressed.
    pub action: Action,
    /// Primary (default) or secondary.
    #[serde(default)]
    pub style: ButtonStyle,
}

impl Button {
    /// A primary button.
    pub fn new(label: impl Into<String>, action: Action) -> Self {
        Button {
            label: label.into(),
            action,
            style: ButtonStyle::Primary,
        }
    }

    /// Makes the button secondary.
    pub fn secondary(mut self) -> Self {
        self.style = ButtonStyle::Secondary;
        self
    }
}

/// What the shell does when a button is pressed, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Action {
    /// GET that app path and show the view.
    Open {
        /// App path, starting with `/`.
        path: String,
    },
    /// POST `body` form-encoded to that app path and show the answer.
    Post {
        /// App path, starting with `/`.
        path: String,
        /// Form fields.
        body: BTreeMap<String, String>,
    },
    /// Open the host's payment confirmation sheet for the order; afterwards
    /// the shell returns to the order's `return-path`.
    Pay {
        /// The host's order id.
        order_id: String,
        /// The host's payment page for the order.
        pay_url: String,
    },
    /// Open the host's consent sheet for `scope`; afterwards the shell
    /// reloads the current app path.
    Consent {
        /// The scope to ask for, e.g. `auth_user`.
        scope: String,
    },
    /// Open the host's subscription sheet for 1-3 notification templates
    /// of this app (the citizen accepts or rejects each); afterwards the
    /// shell reloads the current app path.
    Subscribe {
        /// Template ids from the manifest.
        templates: Vec<String>,
    },
}

impl Action {
    /// Opens an app path.
    pub fn open(path: impl Into<String>) -> Self {
        Action::Open { path: path.into() }
    }

    /// POSTs form fields to an app path.
    pub fn post<K, V>(path: impl Into<String>, body: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Action::Post {
            path: path.into(),
            body: body
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Opens the payment sheet for an order (see also
    /// `cityhost_sdk::payment::Order::pay_action`).
    pub fn pay(order_id: impl Into<String>, pay_url: impl Into<String>) -> Self {
        Action::Pay {
            order_id: order_id.into(),
            pay_url: pay_url.into(),
        }
    }

    /// Asks the citizen to subscribe to up to three notification templates.
    pub fn subscribe<T: Into<String>>(templates: impl IntoIterator<Item = T>) -> Self {
        Action::Subscribe {
            templates: templates.into_iter().map(Into::into).collect(),
        }
    }

    /// Asks the citizen for consent to `scope`.
    pub fn consent(scope: impl Into<String>) -> Self {
        Action::Consent {
            scope: scope.into(),
        }
    }
}

/// The colour of an `alert` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertLevel {
    /// Neutral information.
    Info,
    /// Something went well.
    Success,
    /// Needs the citizen's attention.
    Warning,
    /// Something failed.
    Error,
}

/// The JSON Schema of a view document (`docs/view.schema.json`),
/// generated from these types.
#[cfg(feature = "schema")]
pub fn schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(View)).expect("a schema is JSON");
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "description".into(),
            "A CityHost view (application/vnd.cityhost.view+json), see docs/views.md. \
             Generated from the cityhost-view crate's types; do not edit by hand."
                .into(),
        );
    }
    schema
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_block_serialises_to_the_documented_json() {
        let view = View::new("标题")
            .heading("小标题")
            .text("正文")
            .kv([("余额", "¥1.00")])
            .table(Table::new(["a", "b"]).row(["1", "2"]))
            .form(
                Form::post("/pay", "提交")
                    .field(Field::text("name", "姓名").required().placeholder("张三"))
                    .field(Field::number("n", "数量").min(1).max(9).value("2"))
                    .field(Field::date("d", "日期"))
                    .field(Field::select("k", "类型", [("water", "水费")])),
            )
            .button("打开", Action::open("/x"))
            .block(Block::Button(
                Button::new("提交", Action::post("/y", [("a", "1")])).secondary(),
            ))
            .button("支付", Action::pay("o1", "/pay/o1"))
            .button("授权", Action::consent("auth_user"))
            .alert(AlertLevel::Warning, "注意")
            .link("返回", "/");
        let expected = json!({
            "title": "标题",
            "blocks": [
                {"type": "heading", "text": "小标题"},
                {"type": "text", "text": "正文"},
                {"type": "kv", "items": [{"label": "余额", "value": "¥1.00"}]},
                {"type": "table", "columns": ["a", "b"], "rows": [["1", "2"]]},
                {"type": "form", "action": "/pay", "method": "post", "submit": "提交", "fields": [
                    {"kind": "text", "name": "name", "label": "姓名", "required": true, "placeholder": "张三"},
                    {"kind": "number", "name": "n", "label": "数量", "value": "2", "required": false, "min": 1, "max": 9},
                    {"kind": "date", "name": "d", "label": "日期", "required": false},
                    {"kind": "select", "name": "k", "label": "类型", "required": false,
                     "options": [{"value": "water", "label": "水费"}]},
                ]},
                {"type": "button", "label": "打开", "action": {"kind": "open", "path": "/x"}, "style": "primary"},
                {"type": "button", "label": "提交", "action": {"kind": "post", "path": "/y", "body": {"a": "1"}}, "style": "secondary"},
                {"type": "button", "label": "支付", "action": {"kind": "pay", "order_id": "o1", "pay_url": "/pay/o1"}, "style": "primary"},
                {"type": "button", "label": "授权", "action": {"kind": "consent", "scope": "auth_user"}, "style": "primary"},
                {"type": "alert", "level": "warning", "text": "注意"},
                {"type": "link", "label": "返回", "path": "/"},
            ]
        });
        assert_eq!(serde_json::to_value(&view).unwrap(), expected);
        let back: View = serde_json::from_value(expected).unwrap();
        assert_eq!(back, view);
    }

    #[test]
    fn the_new_blocks_serialise_to_the_documented_json() {
        let view = View::new("t")
            .qr("TICKET", "入场码")
            .image(Image::png(b"\x89PNG\r\n\x1a\n", "图"))
            .list([
                ListItem::new("a")
                    .subtitle("b")
                    .meta("c")
                    .action("详情", Action::open("/a")),
                ListItem::new("d"),
            ])
            .card(
                Card::new("卡")
                    .item("k", "v")
                    .action("去", Action::open("/x")),
            )
            .form(Form::post("/f", "提交").field(Field::hidden("id", "7")));
        let expected = json!({"title": "t", "blocks": [
            {"type": "qr", "data": "TICKET", "label": "入场码"},
            {"type": "image", "src": "data:image/png;base64,iVBORw0KGgo=", "alt": "图"},
            {"type": "list", "items": [
                {"title": "a", "subtitle": "b", "meta": "c", "actions": [
                    {"label": "详情", "action": {"kind": "open", "path": "/a"}, "style": "secondary"}]},
                {"title": "d"},
            ]},
            {"type": "card", "title": "卡", "items": [{"label": "k", "value": "v"}], "actions": [
                {"label": "去", "action": {"kind": "open", "path": "/x"}, "style": "primary"}]},
            {"type": "form", "action": "/f", "method": "post", "submit": "提交", "fields": [
                {"kind": "hidden", "name": "id", "value": "7", "required": false}]},
        ]});
        assert_eq!(serde_json::to_value(&view).unwrap(), expected);
        assert_eq!(serde_json::from_value::<View>(expected).unwrap(), view);
        assert!(view.problems().is_empty());
    }

    #[test]
    fn unknown_types_and_missing_fields_do_not_parse() {
        for bad in [
            json!({"type": "marquee", "text": "x"}),
            json!({"type": "image", "src": "data:image/png;base64,"}),
            json!({"type": "qr", "label": "x"}),
            json!({"type": "list", "items": [{"subtitle": "no title"}]}),
        ] {
            assert!(
                serde_json::from_value::<Block>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn table_rows_have_one_cell_per_column() {
        let table = Table::new(["a", "b"]).row(["1"]).row(["1", "2", "3"]);
        assert_eq!(table.rows, vec![vec!["1", ""], vec!["1", "2"]]);
    }

    #[test]
    fn button_style_defaults_to_primary_when_absent() {
        let button: Button =
            serde_json::from_value(json!({"label": "x", "action": {"kind": "open", "path": "/"}}))
                .unwrap();
        assert_eq!(button.style, ButtonStyle::Primary);
    }
}
