//! Notification templates: the manifest's `[notify]` section, its checks at
//! app load, and filling a template's placeholders when a message is sent.
//!
//! ```toml
//! [notify]
//! per-citizen-per-day = 5            # optional; may only lower the operator's cap
//! per-app-per-minute = 600           # optional; may only lower the operator's cap
//!
//! [[notify.templates]]
//! id = "move-request"                # 1-32 of a-z 0-9 -, starting with a letter
//! title = "请挪车"                    # 1-64 characters, one line, no placeholders
//! kind = "long-term"                 # one-time | long-term | receipt
//! body = "您的车辆 {{plate}} 需要挪车。\n位置：{{location}}"
//! params.plate = { type = "text", max-len = 10 }
//! params.location = { type = "text", max-len = 64 }
//! ```
//!
//! A template is checked once, when the app loads: every `{{name}}` is
//! declared under `params` and every declared parameter is used, and the
//! longest possible rendering fits the inbox's 1,024-character body. Sending
//! then only checks the values: a missing, unknown, repeated, empty,
//! over-long or mistyped one is an error naming `params.{name}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Longest message title, in characters (one line).
pub const MAX_TITLE_CHARS: usize = 64;
/// Longest rendered message body, in characters.
pub const MAX_BODY_CHARS: usize = 1024;
/// Longest declared parameter value, in characters.
pub const MAX_PARAM_CHARS: u32 = 512;
/// Most templates one app may declare.
pub const MAX_TEMPLATES: usize = 32;

/// The manifest's `[notify]` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NotifySection {
    /// Messages this app may send one citizen per UTC day (all templates
    /// together); at most the operator's cap, which is also the default.
    pub per_citizen_per_day: Option<u32>,
    /// Messages this app may send per minute in all; at most the operator's
    /// cap, which is also the default.
    pub per_app_per_minute: Option<u32>,
    /// The app's templates.
    #[serde(default)]
    pub templates: Vec<Template>,
}

/// How a citizen agrees to a template's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TemplateKind {
    /// Each subscription allows one message, then it is used up.
    OneTime,
    /// The subscription lasts until the citizen cancels it (government
    /// services: reminders, case progress, requests from other citizens).
    LongTerm,
    /// Not subscribable: sent only to the current citizen while the app
    /// handles that citizen's own `payment.succeeded` or `refund.succeeded`
    /// event, at most once per event (a payment or refund receipt).
    Receipt,
}

impl TemplateKind {
    /// The kind's name as written in manifests (`one-time`).
    pub fn name(self) -> &'static str {
        match self {
            TemplateKind::OneTime => "one-time",
            TemplateKind::LongTerm => "long-term",
            TemplateKind::Receipt => "receipt",
        }
    }
}

/// The type of a placeholder's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamType {
    /// One line of text.
    Text,
    /// Text that may hold line breaks (`\n`).
    Multiline,
    /// A decimal number: ASCII digits with an optional leading `-` and at
    /// most one `.` (amounts are formatted by the app, e.g. `45.60`).
    Number,
}

/// A placeholder's declaration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Param {
    /// The value's type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// Longest value, in characters (1-512).
    pub max_len: u32,
}

/// A template as declared.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Template {
    /// Id the app sends by: 1-32 of `a-z`, `0-9`, `-`, starting with a letter.
    pub id: String,
    /// Title shown in the inbox and on the subscription sheet: 1-64
    /// characters, one line, fixed.
    pub title: String,
    /// Body text with `{{name}}` placeholders; line breaks are kept.
    pub body: String,
    /// How citizens agree to it.
    pub kind: TemplateKind,
    /// Each placeholder's type and maximum length, by name.
    #[serde(default)]
    pub params: BTreeMap<String, Param>,
}

/// A template or section that cannot be used, naming the field (e.g.
/// `notify.templates[receipt].params.amount`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("manifest field `{field}`: {reason}")]
pub struct TemplateError {
    /// The manifest field at fault.
    pub field: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

/// A parameter value that cannot be used, naming it (`params.amount`) or
/// the template (`template`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ParamError {
    /// `template` or `params.{name}`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// A part of a template body.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment<'a> {
    Literal(&'a str),
    Placeholder(&'a str),
}

impl NotifySection {
    /// The template with this id.
    pub fn template(&self, id: &str) -> Option<&Template> {
        self.templates.iter().find(|t| t.id == id)
    }

    /// Checks the section (see the module docs); the error names the field.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let bad = |field: String, reason: &str| {
            Err(TemplateError {
                field,
                reason: reason.to_string(),
            })
        };
        if self.per_citizen_per_day == Some(0) {
            return bad("notify.per-citizen-per-day".into(), "use at least 1");
        }
        if self.per_app_per_minute == Some(0) {
            return bad("notify.per-app-per-minute".into(), "use at least 1");
        }
        if self.templates.len() > MAX_TEMPLATES {
            return bad(
                "notify.templates".into(),
                &format!("declare at most {MAX_TEMPLATES} templates"),
            );
        }
        let mut ids = std::collections::BTreeSet::new();
        for t in &self.templates {
            if !is_template_id(&t.id) {
                return bad(
                    format!("notify.templates[{}].id", t.id),
                    "use 1-32 characters of a-z, 0-9 and '-', starting with a letter",
                );
            }
            if !ids.insert(t.id.as_str()) {
                return bad(
                    format!("notify.templates[{}].id", t.id),
                    "this id is declared twice",
                );
            }
            t.validate()?;
        }
        Ok(())
    }
}

impl Template {
    fn field(&self, rest: &str) -> String {
        format!("notify.templates[{}].{rest}", self.id)
    }

    fn validate(&self) -> Result<(), TemplateError> {
        let bad = |field: String, reason: String| Err(TemplateError { field, reason });
        if let Err(reason) = check_text(&self.title, MAX_TITLE_CHARS, false) {
            return bad(self.field("title"), reason);
        }
        if self.title.contains("{{") {
            return bad(
                self.field("title"),
                "a title is fixed; put placeholders in the body".into(),
            );
        }
        let segments = match parse(&self.body) {
            Ok(s) => s,
            Err(reason) => return bad(self.field("body"), reason),
        };
        let mut longest = 0usize;
        for segment in &segments {
            match segment {
                Segment::Literal(text) => {
                    // Literals are never empty (see `parse`).
                    if let Err(reason) = check_text(text, MAX_BODY_CHARS, true) {
                        return bad(self.field("body"), reason);
                    }
                    longest += text.chars().count();
                }
                Segment::Placeholder(name) => match self.params.get(*name) {
                    Some(param) => longest += param.max_len as usize,
                    None => {
                        return bad(
                            self.field(&format!("params.{name}")),
                            format!(
                                "the body uses {{{{{name}}}}}; declare it, e.g. params.{name} = {{ type = \"text\", max-len = 32 }}"
                            ),
                        );
                    }
                },
            }
        }
        if segments.is_empty() {
            return bad(self.field("body"), "use 1-1024 characters".into());
        }
        for (name, param) in &self.params {
            if !segments.contains(&Segment::Placeholder(name)) {
                return bad(
                    self.field(&format!("params.{name}")),
                    format!("declared but not used in the body; add {{{{{name}}}}} or remove it"),
                );
            }
            if param.max_len == 0 || param.max_len > MAX_PARAM_CHARS {
                return bad(
                    self.field(&format!("params.{name}.max-len")),
                    format!("use 1-{MAX_PARAM_CHARS}"),
                );
            }
        }
        if longest > MAX_BODY_CHARS {
            return bad(
                self.field("body"),
                format!(
                    "with every parameter at its max-len the body has {longest} characters; \
                     the inbox holds {MAX_BODY_CHARS}: shorten the text or lower a max-len"
                ),
            );
        }
        Ok(())
    }

    /// The body with each `{{name}}` replaced by its value from `params`.
    /// Errors name `params.{name}`: a missing, unknown, repeated, empty,
    /// over-long or mistyped value, or one with control or bidirectional
    /// characters. The template must have passed validation.
    pub fn render(&self, params: &[(String, String)]) -> Result<String, ParamError> {
        let bad = |name: &str, reason: &str| {
            Err(ParamError {
                field: format!("params.{name}"),
                reason: reason.to_string(),
            })
        };
        let mut values: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, value) in params {
            let Some(param) = self.params.get(name) else {
                return bad(name, "the template has no such placeholder");
            };
            if values.insert(name, value).is_some() {
                return bad(name, "given twice");
            }
            let len = value.chars().count();
            if len == 0 || len > param.max_len as usize {
                return bad(name, &format!("use 1-{} characters", param.max_len));
            }
            if let Err(reason) = check_text(value, usize::MAX, param.kind == ParamType::Multiline) {
                return bad(name, &reason);
            }
            if param.kind == ParamType::Number && !is_number(value) {
                return bad(name, "use a decimal number such as 45.60");
            }
        }
        if let Some(missing) = self
            .params
            .keys()
            .find(|k| !values.contains_key(k.as_str()))
        {
            return bad(missing, "missing");
        }
        let segments = parse(&self.body).map_err(|reason| ParamError {
            field: "template".into(),
            reason,
        })?;
        Ok(segments
            .iter()
            .map(|s| match s {
                Segment::Literal(text) => *text,
                Segment::Placeholder(name) => values[name],
            })
            .collect())
    }
}

/// Splits a body into literal text and `{{name}}` placeholders. A stray
/// `{{` or `}}` or a malformed name is an error.
fn parse(body: &str) -> Result<Vec<Segment<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        let literal = &rest[..open];
        if literal.contains("}}") {
            return Err("a `}}` without its `{{`".into());
        }
        if !literal.is_empty() {
            out.push(Segment::Literal(literal));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "a `{{` without its `}}`".to_string())?;
        let name = &after[..close];
        if !is_param_name(name) {
            return Err(format!(
                "placeholder `{{{{{name}}}}}`: use a name of 1-32 characters of a-z, 0-9 and _, starting with a letter"
            ));
        }
        out.push(Segment::Placeholder(name));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err("a `}}` without its `{{`".into());
    }
    if !rest.is_empty() {
        out.push(Segment::Literal(rest));
    }
    Ok(out)
}

/// Whether `id` is a well-formed template id.
pub fn is_template_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_param_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_number(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let mut parts = digits.split('.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    parts.next().is_none()
        && !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks a text: 1 to `max` characters, no control characters (line
/// breaks allowed when `multiline`) and no Unicode bidirectional controls
/// (UAX #9), which could make a message read differently from what was
/// sent. The error says what is wrong.
pub fn check_text(text: &str, max: usize, multiline: bool) -> Result<(), String> {
    let len = text.chars().count();
    if len == 0 || len > max {
        return Err(format!("use 1-{max} characters"));
    }
    if let Some(c) = text
        .chars()
        .find(|&c| (c.is_control() && !(multiline && c == '\n')) || is_bidi_control(c))
    {
        return Err(format!("character U+{:04X} is not allowed", u32::from(c)));
    }
    Ok(())
}

/// Unicode bidirectional formatting characters (UAX #9).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml_text: &str) -> Result<NotifySection, TemplateError> {
        let section: NotifySection = toml::from_str(toml_text).expect("shape");
        section.validate().map(|()| section)
    }

    const RECEIPT: &str = r#"
[[templates]]
id = "receipt"
title = "缴费成功"
kind = "receipt"
body = "您已缴纳户号 {{account}} 的费用，金额 ¥{{amount}}。"
params.account = { type = "text", max-len = 16 }
params.amount = { type = "number", max-len = 12 }
"#;

    fn field_of(text: &str) -> String {
        section(text).unwrap_err().field
    }

    #[test]
    fn a_good_template_renders_its_parameters() {
        let s = section(RECEIPT).unwrap();
        let t = s.template("receipt").unwrap();
        let params = [
            ("account".to_string(), "3301001".to_string()),
            ("amount".to_string(), "45.60".to_string()),
        ];
        assert_eq!(
            t.render(&params).unwrap(),
            "您已缴纳户号 3301001 的费用，金额 ¥45.60。"
        );
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(
            field_of(&RECEIPT.replace("{{amount}}", "{{amount}} {{extra}}")),
            "notify.templates[receipt].params.extra"
        );
        assert_eq!(
            field_of(&RECEIPT.replace("¥{{amount}}", "")),
            "notify.templates[receipt].params.amount"
        );
        assert_eq!(
            field_of(&RECEIPT.replace("{{account}}", "{{account")),
            "notify.templates[receipt].body"
        );
        assert_eq!(
            field_of(&RECEIPT.replace("{{account}}", "{{Account}}")),
            "notify.templates[receipt].body"
        );
        assert_eq!(
            field_of(&RECEIPT.replace("max-len = 16", "max-len = 0")),
            "notify.templates[receipt].params.account.max-len"
        );
        assert_eq!(
            field_of(
                &RECEIPT
                    .replace("max-len = 16", "max-len = 512")
                    .replace("费用", &"长".repeat(520))
            ),
            "notify.templates[receipt].body"
        );
        assert_eq!(
            field_of(&RECEIPT.replace("缴费成功", "缴费{{x}}")),
            "notify.templates[receipt].title"
        );
        assert_eq!(
            field_of(&RECEIPT.replace("\"receipt\"\ntitle", "\"Receipt\"\ntitle")),
            "notify.templates[Receipt].id"
        );
        let twice = format!("{RECEIPT}{RECEIPT}");
        assert_eq!(field_of(&twice), "notify.templates[receipt].id");
        assert!(
            toml::from_str::<NotifySection>(&RECEIPT.replace("receipt\"\nbody", "weekly\"\nbody"))
                .is_err()
        );
    }

    #[test]
    fn sending_names_the_bad_parameter() {
        let s = section(RECEIPT).unwrap();
        let t = s.template("receipt").unwrap();
        let render = |pairs: &[(&str, &str)]| {
            let params: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            t.render(&params).map_err(|e| e.field)
        };
        assert_eq!(render(&[("account", "1")]), Err("params.amount".into()));
        assert_eq!(
            render(&[("account", "1"), ("amount", "1"), ("extra", "x")]),
            Err("params.extra".into())
        );
        assert_eq!(
            render(&[("account", &"1".repeat(17)), ("amount", "1")]),
            Err("params.account".into())
        );
        assert_eq!(
            render(&[("account", "1"), ("amount", "12元")]),
            Err("params.amount".into())
        );
        assert_eq!(
            render(&[("account", "1\n2"), ("amount", "1")]),
            Err("params.account".into())
        );
        assert_eq!(
            render(&[("account", "a\u{202E}b"), ("amount", "1")]),
            Err("params.account".into())
        );
        assert_eq!(
            render(&[("account", ""), ("amount", "1")]),
            Err("params.account".into())
        );
        assert_eq!(
            render(&[("account", "1"), ("account", "2"), ("amount", "1")]),
            Err("params.account".into())
        );
    }

    #[test]
    fn refuses_control_and_bidi_characters() {
        assert!(check_text("第一行\n第二行", 10, true).is_ok());
        assert!(check_text("第一行\n第二行", 10, false).is_err());
        for bad in [
            "a\u{7}b",
            "a\u{1b}[31m",
            "a\rb",
            "line\u{202E}live",
            "\u{2066}x",
        ] {
            assert!(check_text(bad, 100, true).is_err(), "{bad:?}");
        }
        assert!(check_text("", 10, true).is_err());
    }
}
