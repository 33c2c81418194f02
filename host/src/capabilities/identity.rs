//! `cityhost:miniapp/identity`: openid (silent) and profile (scope
//! `auth_user`, after consent).

use super::RequestState;
use crate::identity::consent::Scope;
use crate::identity::idcard;
use crate::manifest::Permission;
use crate::runtime::bindings::WitError;
use crate::runtime::bindings::cityhost::miniapp::identity::{CitizenProfile, Host};

impl Host for RequestState {
    fn openid(&mut self) -> Result<String, WitError> {
        self.call(Permission::Identity, "identity.openid", |s| {
            s.ctx
                .openid
                .clone()
                .ok_or_else(|| WitError::NotPermitted("no citizen is signed in".into()))
        })
    }

    fn profile(&mut self) -> Result<CitizenProfile, WitError> {
        self.call(Permission::Identity, "identity.profile", |s| {
            let citizen_id = s.citizen()?;
            if s.ctx.manifest.purpose(Scope::AuthUser.name()).is_none() {
                return Err(WitError::NotPermitted(
                    "the manifest declares no purpose for auth_user ([consent] table)".into(),
                ));
            }
            let services = &s.services;
            if !services
                .consents
                .is_granted(&citizen_id, &s.ctx.manifest.id, Scope::AuthUser)?
            {
                return Err(WitError::ConsentRequired(Scope::AuthUser.name().into()));
            }
            let citizen = services
                .accounts
                .get(&citizen_id)?
                .ok_or_else(|| WitError::NotPermitted("no citizen is signed in".into()))?;
            match (&citizen.name, &citizen.id_number) {
                (Some(name), Some(number)) => Ok(CitizenProfile {
                    name: name.clone(),
                    id_number_masked: idcard::mask(number),
                    assurance_level: citizen.assurance_level,
                }),
                _ => Err(WitError::Unavailable(
                    "the citizen has not completed real-name verification".into(),
                )),
            }
        })
    }
}
