//! Declarative views (`application/vnd.cityhost.view+json`): the page a
//! mini-app shows, rendered by the host's shell in the platform's one look.
//!
//! [`View`] is a builder over the blocks and actions of `docs/views.md`;
//! every type here serialises with serde to exactly that wire format.
//!
//! ```
//! use cityhost_sdk::view::{Action, AlertLevel, Field, Form, Table, View};
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
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The content type of a view response.
pub const VIEW_CONTENT_TYPE: &str = "application/vnd.cityhost.view+json";

/// A page: a title for the shell's top bar and blocks rendered top to bottom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// One block of a [`View`], tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// A label/value list (balances, account details).
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
}

/// One row of a `kv` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvItem {
    /// The label, e.g. `账户余额`.
    pub label: String,
    /// The value, e.g. `¥12,345.67`.
    pub value: String,
}

/// A table: column headings and rows of one cell per column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[serde(rename_all = "lowercase")]
pub enum FormMethod {
    /// Fields go into the query string of a GET.
    Get,
    /// Fields are POSTed form-encoded (`application/x-www-form-urlencoded`).
    Post,
}

/// A form block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// One input of a [`Form`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Input kind.
    pub kind: FieldKind,
    /// The parameter name sent to the app.
    pub name: String,
    /// Shown beside the input.
    pub label: String,
    /// Initial value.
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
pub struct SelectOption {
    /// The value sent to the app.
    pub value: String,
    /// What the citizen sees.
    pub label: String,
}

/// How a button is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// [`Order::pay_action`](crate::payment::Order::pay_action)).
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
