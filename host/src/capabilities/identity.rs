//! `cityhost:miniapp/identity`: openid and unionid (scope `auth_base`,
//! silent), the masked profile (`auth_user`) and the full identity
//! (`auth_id_number`) after consent, and ID tokens carrying the granted
//! scopes' claims. The audit record names the function, never the data.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::identity::accounts::Citizen;
use crate::identity::assurance::acr;
use crate::identity::consent::{Scope, UserField};
use crate::identity::id_tokens::IdClaims;
use crate::identity::idcard::{self, Gender};
use crate::manifest::Permission;
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::identity::{
    self as wit, CitizenProfile, Error, Host, VerifiedIdentity,
};

/// The `identity` capability: the citizen's identity, by consent.
pub(crate) struct Identity;

impl Capability for Identity {
    const PERMISSION: Permission = Permission::Identity;
    type State = ();

    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
        crate::capabilities::bindings::cityhost::miniapp::identity::add_to_linker::<_, HasSelf<_>>(
            linker,
            |state| state,
        )
    }
}


impl RequestState {
    /// Whether the citizen granted `scope` to this app, after checking that
    /// the manifest declares a purpose for it (no purpose: the app may not
    /// ask, `not-permitted`).
    async fn granted(&mut self, citizen_id: &str, scope: Scope) -> Result<bool, CapabilityError> {
        if scope.needs_consent() && self.context.manifest.purpose(scope.name()).is_none() {
            return Err(CapabilityError::NotPermitted(format!(
                "the manifest declares no purpose for {} ([consent] table)",
                scope.name()
            )));
        }
        Ok(self
            .services
            .consents
            .is_granted(citizen_id, &self.context.manifest.id, scope)
            .await?)
    }

    /// The citizen's `scope` data, or `consent-required(scope)`.
    async fn require(&mut self, citizen_id: &str, scope: Scope) -> Result<(), CapabilityError> {
        if self.granted(citizen_id, scope).await? {
            Ok(())
        } else {
            Err(CapabilityError::ConsentRequired(scope.name().into()))
        }
    }

    /// The signed-in citizen's record.
    async fn citizen_record(&mut self, citizen_id: &str) -> Result<Citizen, CapabilityError> {
        self.services
            .accounts
            .get(citizen_id)
            .await?
            .ok_or_else(|| CapabilityError::NotPermitted("no citizen is signed in".into()))
    }

    /// Verified name and number, or `unavailable` before verification.
    fn verified(&self, citizen: &Citizen) -> Result<(String, String), CapabilityError> {
        match (&citizen.name, self.services.accounts.id_number(citizen)?) {
            (Some(name), Some(number)) => Ok((name.clone(), number)),
            _ => Err(CapabilityError::Unavailable(
                "the citizen has not completed real-name verification".into(),
            )),
        }
    }

    /// The citizen's unionid for the app's department, keyed by the
    /// manifest's `[department] uscc` (every published manifest has one:
    /// the upload requires it).
    fn unionid_of(&self, citizen_id: &str) -> Result<String, CapabilityError> {
        let uscc = self.context.manifest.department_key().map_err(|_| {
            CapabilityError::Unavailable("the app's manifest names no department (department.uscc)".into())
        })?;
        Ok(self.services.openids.unionid(uscc, citizen_id))
    }
}

fn asks(state: &RequestState, field: UserField) -> bool {
    state.context.manifest.identity.user_fields.contains(&field)
}

impl Host for RequestState {
    /// This interface's WIT error for a [`CapabilityError`]: the case of
    /// the same name.
    fn convert_error(&mut self, err: CapabilityError) -> wasmtime::Result<Error> {
        Ok(match err {
            CapabilityError::NotPermitted(s) => Error::NotPermitted(s),
            CapabilityError::ConsentRequired(s) => Error::ConsentRequired(s),
            CapabilityError::Unavailable(s) => Error::Unavailable(s),
            other => Error::Unavailable(other.not_in("identity")),
        })
    }

    async fn openid(&mut self) -> Result<String, CapabilityError> {
        self.call(Permission::Identity, "identity.openid", |s| {
            Box::pin(async move {
                s.context
                    .openid
                    .clone()
                    .ok_or_else(|| CapabilityError::NotPermitted("no citizen is signed in".into()))
            })
        })
        .await
    }

    async fn unionid(&mut self) -> Result<String, CapabilityError> {
        self.call(Permission::Identity, "identity.unionid", |s| {
            Box::pin(async move {
                let citizen_id = s.citizen()?;
                s.unionid_of(&citizen_id)
            })
        })
        .await
    }

    async fn profile(&mut self) -> Result<CitizenProfile, CapabilityError> {
        self.call(Permission::Identity, "identity.profile", |s| {
            Box::pin(async move {
                let citizen_id = s.citizen()?;
                s.require(&citizen_id, Scope::AuthUser).await?;
                let citizen = s.citizen_record(&citizen_id).await?;
                let (_, number) = s.verified(&citizen)?;
                Ok(CitizenProfile {
                    name_masked: citizen.masked_name().unwrap_or_default(),
                    id_number_masked: idcard::mask(&number),
                    assurance_level: citizen.assurance_level,
                    gender: asks(s, UserField::Gender).then(|| match idcard::gender(&number) {
                        Gender::Male => wit::Gender::Male,
                        Gender::Female => wit::Gender::Female,
                    }),
                    birth_year: asks(s, UserField::BirthYear).then(|| idcard::birth_year(&number)),
                })
            })
        })
        .await
    }

    async fn real_identity(&mut self) -> Result<VerifiedIdentity, CapabilityError> {
        self.call(Permission::Identity, "identity.real-identity", |s| {
            Box::pin(async move {
                let citizen_id = s.citizen()?;
                s.require(&citizen_id, Scope::AuthIdNumber).await?;
                let citizen = s.citizen_record(&citizen_id).await?;
                let (name, id_number) = s.verified(&citizen)?;
                Ok(VerifiedIdentity { name, id_number })
            })
        })
        .await
    }

    async fn id_token(&mut self) -> Result<String, CapabilityError> {
        self.call(Permission::Identity, "identity.id-token", |s| {
            Box::pin(async move {
                let citizen_id = s.citizen()?;
                let openid = s
                    .context
                    .openid
                    .clone()
                    .ok_or_else(|| CapabilityError::NotPermitted("no citizen is signed in".into()))?;
                let citizen = s.citizen_record(&citizen_id).await?;
                let claims = id_claims(s, &citizen, openid).await?;
                Ok(s.services.id_tokens.mint(claims)?)
            })
        })
        .await
    }
}

/// The claims of the scopes the citizen has granted this app (a scope
/// without a declared purpose counts as not granted).
async fn id_claims(
    s: &mut RequestState,
    citizen: &Citizen,
    openid: String,
) -> Result<IdClaims, CapabilityError> {
    let mut scopes = vec![Scope::AuthBase.name()];
    let mut claims = IdClaims {
        iss: String::new(),
        aud: s.context.manifest.id.clone(),
        sub: openid,
        iat: 0,
        nbf: 0,
        exp: 0,
        jti: String::new(),
        acr: acr(citizen.assurance_level),
        scope: String::new(),
        unionid: Some(s.unionid_of(&citizen.id)?),
        name: None,
        id_number_masked: None,
        id_number: None,
        gender: None,
        birth_year: None,
    };
    let verified = s.verified(citizen).ok();
    if let Some((name, number)) = &verified {
        if s.granted(&citizen.id, Scope::AuthUser)
            .await
            .unwrap_or(false)
        {
            scopes.push(Scope::AuthUser.name());
            claims.name = citizen.masked_name();
            claims.id_number_masked = Some(idcard::mask(number));
            if asks(s, UserField::Gender) {
                claims.gender = serde_json::to_value(idcard::gender(number))
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string));
            }
            if asks(s, UserField::BirthYear) {
                claims.birth_year = Some(idcard::birth_year(number));
            }
        }
        if s.granted(&citizen.id, Scope::AuthIdNumber)
            .await
            .unwrap_or(false)
        {
            scopes.push(Scope::AuthIdNumber.name());
            claims.name = Some(name.clone());
            claims.id_number = Some(number.clone());
        }
    }
    claims.scope = scopes.join(" ");
    Ok(claims)
}
