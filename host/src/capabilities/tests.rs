//! The capability layer through its host functions, on a real data
//! directory.

use std::sync::Arc;

use super::*;
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::{
    identity::Host as _, payment, payment::Host as _,
};
use crate::identity::keys::HostKeys;
use crate::manifest::Manifest;
use crate::services::Services;

async fn state(permissions: &str, dir: &std::path::Path) -> (RequestState, Arc<Services>, String) {
    let db =
        cityhost_store::Db::new(cityhost_store_sled::SledBackend::open(&dir.join("db")).unwrap());
    let keys = HostKeys::load_or_create(dir).unwrap();
    let services = Arc::new(Services::open(db, &keys).unwrap());
    let citizen = services
        .accounts
        .register("13800000077", "a good password")
        .await
        .unwrap();
    let manifest = Manifest::parse(&format!(
        "id = \"test-app\"\nname = \"t\"\nversion = \"1.0.0\"\ncategory = \"utilities\"\n\
         permissions = {permissions}\n[department]\nuscc = \"12330100470104496C\"\n\
         name = \"d\"\ndivision = \"3301\"\n\
         [consent]\nauth_user = \"test\"\n"
    ))
    .unwrap();
    let context = CallContext {
        request_id: "req".into(),
        manifest: Arc::new(manifest),
        citizen_id: Some(citizen.id.clone()),
        openid: Some(
            services
                .openids
                .openid("test-app", &citizen.id)
                .await
                .unwrap(),
        ),
        event: None,
    };
    (
        RequestState::new(
            context,
            services.clone(),
            Arc::new(crate::outbound::Outbound::new(&Default::default()).unwrap()),
            1 << 20,
        ),
        services,
        citizen.id,
    )
}

fn order() -> payment::OrderRequest {
    payment::OrderRequest {
        out_trade_no: "t-1".into(),
        amount_fen: 100,
        subject: "s".into(),
        return_path: "/".into(),
        expires_in_ms: None,
    }
}

#[tokio::test]
async fn undeclared_capability_is_refused_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, services, _) = state("[\"identity\"]", dir.path()).await;
    assert!(matches!(
        s.create_order(order()).await,
        Err(CapabilityError::NotPermitted(_))
    ));
    let records = services
        .audit
        .list("test-app", 0, u64::MAX / 2_000_000, 10)
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].capability, "payment.create-order");
    assert_eq!(records[0].outcome, "not-permitted");
    assert_eq!(records[0].openid, s.context.openid);
}

#[tokio::test]
async fn a_call_dropped_while_it_awaits_is_audited_as_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, services, _) = state("[\"identity\"]", dir.path()).await;
    let call = s.call(Permission::Identity, "identity.openid", |_| {
        Box::pin(std::future::pending::<Result<(), CapabilityError>>())
    });
    let waited = tokio::time::timeout(std::time::Duration::from_millis(10), call).await;
    assert!(waited.is_err());
    let records = services
        .audit
        .list("test-app", 0, u64::MAX / 2_000_000, 10)
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].capability, "identity.openid");
    assert_eq!(records[0].outcome, crate::audit::ABANDONED);
    assert_eq!(records[0].openid, s.context.openid);
    assert!(records[0].duration_us >= 10_000);
}

#[tokio::test]
async fn profile_needs_consent_then_real_name() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, services, citizen) = state("[\"identity\"]", dir.path()).await;
    assert_eq!(
        s.profile().await.unwrap_err(),
        CapabilityError::ConsentRequired("auth_user".into())
    );
    services
        .consents
        .grant(
            &citizen,
            "test-app",
            crate::identity::consent::Scope::AuthUser,
            "test",
        )
        .await
        .unwrap();
    assert!(matches!(
        s.profile().await,
        Err(CapabilityError::Unavailable(_))
    ));
    services
        .accounts
        .set_real_name(&citizen, "王五", "11010519491231002X")
        .await
        .unwrap();
    let profile = s.profile().await.unwrap();
    assert_eq!(profile.id_number_masked, "1****************X");
    assert_eq!(profile.name_masked, "*五");
    assert_eq!(profile.gender, None);
    assert_eq!(profile.assurance_level, 2);
}

#[tokio::test]
async fn orders_need_a_citizen_and_valid_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _, _) = state("[\"payment\"]", dir.path()).await;
    let mut bad = order();
    bad.amount_fen = 0;
    assert!(
        matches!(s.create_order(bad).await, Err(CapabilityError::InvalidArgument(f)) if f == "amount-fen")
    );
    let created = s.create_order(order()).await.unwrap();
    assert_eq!(created.state, payment::OrderState::Created);
    assert_eq!(created.pay_url, format!("/#/pay/{}", created.order_id));
    s.context.citizen_id = None;
    assert!(matches!(
        s.create_order(order()).await,
        Err(CapabilityError::NotPermitted(_))
    ));
}

#[tokio::test]
async fn citizen_storage_needs_its_permission_and_a_citizen() {
    use crate::capabilities::bindings::cityhost::miniapp::citizen_storage::Host as _;
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _, _) = state("[\"storage\"]", dir.path()).await;
    assert!(matches!(
        s.put("k".into(), b"v".to_vec(), None).await,
        Err(CapabilityError::NotPermitted(_))
    ));
    let (mut s, services, citizen_id) =
        state("[\"citizen-storage\"]", dir.path().join("2").as_path()).await;
    assert!(
        s.insert("k".into(), b"v".to_vec(), None)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        s.insert("k".into(), b"w".to_vec(), None).await.unwrap(),
        None
    );
    let entries = services.storage.citizen_entries(&citizen_id).await.unwrap();
    assert_eq!(
        (entries[0].app_id.as_str(), entries[0].value.as_slice()),
        ("test-app", &b"v"[..])
    );
    s.context.citizen_id = None;
    assert!(matches!(
        s.get("k".into()).await,
        Err(CapabilityError::NotPermitted(why)) if why.contains("no citizen")
    ));
}
