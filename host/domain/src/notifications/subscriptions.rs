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
//! Stored in `tables::SUBSCRIPTIONS`; only live subscriptions are kept.

use cityhost_store::{Db, Scan, StoreError, Tx, now_ms};
use serde::{Deserialize, Serialize};

use super::tables::SUBSCRIPTIONS;
use crate::error::{ServiceError, ServiceResult};
use crate::manifest::notify::TemplateKind;

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
    db: Db,
}

impl Subscriptions {
    /// The subscriptions in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records the citizen's acceptance of `template` of `kind`. `receipt`
    /// templates cannot be subscribed to (`invalid-argument("template")`).
    pub async fn accept(
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
        let now = now_ms();
        // Read and write in one transaction: a send using up the one-time
        // subscription meanwhile cannot make this acceptance vanish.
        self.db
            .transact(|tx| async move {
                let key = (citizen_id, app_id, template);
                if let Some(existing) = tx.get(&SUBSCRIPTIONS, key).await?
                    && existing.kind == kind
                {
                    return Ok(existing);
                }
                let subscription = Subscription {
                    app_id: app_id.to_string(),
                    template: template.to_string(),
                    kind,
                    accepted_at: now,
                };
                tx.put(&SUBSCRIPTIONS, key, &subscription).await?;
                Ok::<_, ServiceError>(subscription)
            })
            .await
    }

    /// The live subscription, if any.
    pub async fn get(
        &self,
        citizen_id: &str,
        app_id: &str,
        template: &str,
    ) -> ServiceResult<Option<Subscription>> {
        Ok(self
            .db
            .get(&SUBSCRIPTIONS, (citizen_id, app_id, template))
            .await?)
    }

    /// Cancels a subscription; `NotFound` when there is none.
    pub async fn cancel(
        &self,
        citizen_id: &str,
        app_id: &str,
        template: &str,
    ) -> ServiceResult<()> {
        self.db
            .transact(|tx| async move {
                let key = (citizen_id, app_id, template);
                if !tx.contains(&SUBSCRIPTIONS, key).await? {
                    return Err(ServiceError::NotFound("subscription"));
                }
                tx.delete(&SUBSCRIPTIONS, key).await?;
                Ok(())
            })
            .await
    }

    /// The citizen's live subscriptions, by app and template.
    pub async fn list(&self, citizen_id: &str) -> ServiceResult<Vec<Subscription>> {
        let rows = self
            .db
            .scan(&SUBSCRIPTIONS, Scan::prefix((citizen_id,)))
            .await?;
        Ok(rows.into_iter().map(|(_, s)| s).collect())
    }
}

/// Inside a send's transaction: whether the citizen has a live
/// subscription to the template, using a one-time one up. `false` changes
/// nothing; an undecodable record grants nothing.
pub(super) async fn take(
    tx: &Tx,
    citizen_id: &str,
    app_id: &str,
    template: &str,
) -> Result<bool, StoreError> {
    let key = (citizen_id, app_id, template);
    match tx.get(&SUBSCRIPTIONS, key).await {
        Ok(Some(s)) if s.kind == TemplateKind::OneTime => {
            tx.delete(&SUBSCRIPTIONS, key).await?;
            Ok(true)
        }
        Ok(Some(_)) => Ok(true),
        Ok(None) | Err(StoreError::Undecodable { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
