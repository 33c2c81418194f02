//! Citizens' subscriptions to apps' notification templates.
//!
//! A citizen accepts a template on the host's subscription sheet (at most
//! [`MAX_PER_SHEET`] templates at once, each accepted or rejected on its
//! own). A `one-time` subscription allows one message and is used up by
//! it; a `long-term` one lasts until the citizen cancels it. Accepting a
//! one-time template that is still unused leaves it at one message (they do
//! not add up). A rejection records nothing: the app may ask again at the
//! citizen's next action, and must keep working without the messages.
//!
//! Key layout (`subscriptions` tree): `citizen_id \0 app_id \0 template_id`
//! → [`Subscription`] (JSON); only live subscriptions are kept.

use serde::{Deserialize, Serialize};
use sled::transaction::{TransactionalTree, UnabortableTransactionError};

use super::templates::TemplateKind;
use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, StoreError, key, now_ms, trees};

/// Most templates one subscription sheet asks for (as Alipay's
/// subscription messages do).
pub const MAX_PER_SHEET: usize = 3;

/// A live subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The app.
    pub app_id: String,
    /// The template id.
    pub template: String,
    /// The kind the citizen agreed to (kept even if a later release changes
    /// the template's kind).
    pub kind: TemplateKind,
    /// When the citizen accepted, UTC ms.
    pub accepted_at: u64,
}

/// The subscriptions.
#[derive(Clone)]
pub struct Subscriptions {
    tree: sled::Tree,
}

fn sub_key(citizen_id: &str, app_id: &str, template: &str) -> Vec<u8> {
    key(&[
        citizen_id.as_bytes(),
        app_id.as_bytes(),
        template.as_bytes(),
    ])
}

impl Subscriptions {
    /// Opens the `subscriptions` tree.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            tree: store.tree(trees::SUBSCRIPTIONS)?,
        })
    }

    /// The tree, for sends that use up a subscription in their transaction.
    pub(super) fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// Records the citizen's acceptance of `template` of `kind`. `receipt`
    /// templates cannot be subscribed to (`invalid-argument("template")`).
    pub fn accept(
        &self,
        citizen_id: &str,
        app_id: &str,
        template: &str,
        kind: TemplateKind,
    ) -> ServiceResult<Subscription> {
        if kind == TemplateKind::Receipt {
            return Err(ServiceError::invalid(
                "template",
                "receipts need no subscription",
            ));
        }
        let k = sub_key(citizen_id, app_id, template);
        if let Some(existing) = store::get_json::<Subscription>(&self.tree, &k)?
            && existing.kind == kind
        {
            return Ok(existing);
        }
        let subscription = Subscription {
            app_id: app_id.to_string(),
            template: template.to_string(),
            kind,
            accepted_at: now_ms(),
        };
        store::put_json(&self.tree, &k, &subscription)?;
        Ok(subscription)
    }

    /// The live subscription, if any.
    pub fn get(
        &self,
        citizen_id: &str,
        app_id: &str,
        template: &str,
    ) -> ServiceResult<Option<Subscription>> {
        Ok(store::get_json(
            &self.tree,
            sub_key(citizen_id, app_id, template),
        )?)
    }

    /// Cancels a subscription; `NotFound` when there is none.
    pub fn cancel(&self, citizen_id: &str, app_id: &str, template: &str) -> ServiceResult<()> {
        match self.tree.remove(sub_key(citizen_id, app_id, template))? {
            Some(_) => Ok(()),
            None => Err(ServiceError::NotFound("subscription")),
        }
    }

    /// The citizen's live subscriptions, by app and template.
    pub fn list(&self, citizen_id: &str) -> ServiceResult<Vec<Subscription>> {
        self.tree
            .scan_prefix(key(&[citizen_id.as_bytes(), b""]))
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?).map_err(StoreError::from)?))
            .collect()
    }
}

/// Inside a send's transaction: whether the citizen has a live
/// subscription to the template, using a one-time one up. `false` changes
/// nothing.
pub(super) fn take(
    tree: &TransactionalTree,
    citizen_id: &str,
    app_id: &str,
    template: &str,
) -> Result<bool, UnabortableTransactionError> {
    let k = sub_key(citizen_id, app_id, template);
    let Some(bytes) = tree.get(&k)? else {
        return Ok(false);
    };
    match serde_json::from_slice::<Subscription>(&bytes) {
        Ok(s) if s.kind == TemplateKind::OneTime => {
            tree.remove(k)?;
            Ok(true)
        }
        Ok(_) => Ok(true),
        // An undecodable record grants nothing.
        Err(_) => Ok(false),
    }
}
