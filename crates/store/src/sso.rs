//! The single sign-on tables: identity providers, the subjects linked to accounts, sign-ins
//! under way, and the sessions a provider opened. `SsoStore` is implemented here on `SqlTx`
//! directly (not through `tx.rs`).

use crate::convert::{get, get_bool, get_opt_time, get_time, get_uuid, ms, opt_ms};
use crate::db_err;
use crate::tx::SqlTx;
use async_trait::async_trait;
use keyward_core::sso::{GroupMapping, SsoIdentity, SsoLogin, SsoProvider, SsoSession};
use keyward_core::store::SsoStore;
use keyward_core::types::{Role, SessionId, UserId};
use keyward_core::{Error, Result};
use sqlx::any::{AnyArguments, AnyRow};

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, AnyArguments>;
use time::OffsetDateTime;

const PROVIDER_COLUMNS: &str = "id, slug, name, issuer, client_id, client_secret, scopes, groups_claim, enabled, jit, default_role, \
     trust_mfa, link_by_email, mappings, required_domains, created_at, updated_at";

fn strings(row: &AnyRow, col: &str) -> Result<Vec<String>> {
    serde_json::from_str(&get::<String>(row, col)?).map_err(Error::internal)
}

fn mappings(row: &AnyRow) -> Result<Vec<GroupMapping>> {
    serde_json::from_str(&get::<String>(row, "mappings")?).map_err(Error::internal)
}

fn provider_from_row(row: &AnyRow) -> Result<SsoProvider> {
    Ok(SsoProvider {
        id: get_uuid(row, "id")?,
        slug: get(row, "slug")?,
        name: get(row, "name")?,
        issuer: get(row, "issuer")?,
        client_id: get(row, "client_id")?,
        client_secret_sealed: get(row, "client_secret")?,
        scopes: strings(row, "scopes")?,
        groups_claim: get(row, "groups_claim")?,
        enabled: get_bool(row, "enabled")?,
        jit: get_bool(row, "jit")?,
        default_role: Role::parse(&get::<String>(row, "default_role")?).map_err(Error::internal_msg)?,
        trust_mfa: get_bool(row, "trust_mfa")?,
        link_by_email: get_bool(row, "link_by_email")?,
        mappings: mappings(row)?,
        required_domains: strings(row, "required_domains")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn identity_from_row(row: &AnyRow) -> Result<SsoIdentity> {
    Ok(SsoIdentity {
        provider_id: get_uuid(row, "provider_id")?,
        subject: get(row, "subject")?,
        user_id: UserId(get_uuid(row, "user_id")?),
        created_at: get_time(row, "created_at")?,
        last_login_at: get_opt_time(row, "last_login_at")?,
    })
}

fn text(v: impl Into<serde_json::Value>) -> Result<String> {
    serde_json::to_string(&v.into()).map_err(Error::internal)
}

fn mappings_text(v: &[GroupMapping]) -> Result<String> {
    serde_json::to_string(v).map_err(Error::internal)
}

/// Binds a provider's settings, slug to required domains, in `PROVIDER_COLUMNS` order after the
/// id: the one list both the insert and the update write.
fn bind_settings<'q>(q: AnyQuery<'q>, p: &'q SsoProvider) -> Result<AnyQuery<'q>> {
    Ok(q.bind(&p.slug)
        .bind(&p.name)
        .bind(&p.issuer)
        .bind(&p.client_id)
        .bind(&p.client_secret_sealed)
        .bind(text(p.scopes.clone())?)
        .bind(&p.groups_claim)
        .bind(i64::from(p.enabled))
        .bind(i64::from(p.jit))
        .bind(p.default_role.as_str())
        .bind(i64::from(p.trust_mfa))
        .bind(i64::from(p.link_by_email))
        .bind(mappings_text(&p.mappings)?)
        .bind(text(p.required_domains.clone())?))
}

#[async_trait]
impl SsoStore for SqlTx {
    async fn insert_sso_provider(&mut self, p: &SsoProvider) -> Result<()> {
        let sql = format!(
            "INSERT INTO sso_providers ({PROVIDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        );
        bind_settings(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(p.id.to_string()), p)?
            .bind(ms(p.created_at))
            .bind(ms(p.updated_at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn update_sso_provider(&mut self, p: &SsoProvider) -> Result<()> {
        let q = sqlx::query(
            "UPDATE sso_providers SET slug = $2, name = $3, issuer = $4, client_id = $5, client_secret = $6, scopes = $7, \
             groups_claim = $8, enabled = $9, jit = $10, default_role = $11, trust_mfa = $12, link_by_email = $13, mappings = $14, \
             required_domains = $15, updated_at = $16 WHERE id = $1",
        );
        bind_settings(q.bind(p.id.to_string()), p)?.bind(ms(p.updated_at)).execute(self.c()).await.map_err(db_err)?;
        Ok(())
    }

    async fn delete_sso_provider(&mut self, id: uuid::Uuid) -> Result<bool> {
        let id = id.to_string();
        // Why each child table by hand: SQLite enforces the cascades only with foreign keys on,
        // and the order keeps PostgreSQL's checks happy either way.
        for sql in [
            "DELETE FROM sso_sessions WHERE provider_id = $1",
            "DELETE FROM sso_logins WHERE provider_id = $1",
            "DELETE FROM sso_identities WHERE provider_id = $1",
        ] {
            sqlx::query(sql).bind(&id).execute(self.c()).await.map_err(db_err)?;
        }
        let done = sqlx::query("DELETE FROM sso_providers WHERE id = $1").bind(&id).execute(self.c()).await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn sso_providers(&mut self) -> Result<Vec<SsoProvider>> {
        let sql = format!("SELECT {PROVIDER_COLUMNS} FROM sso_providers ORDER BY name, id");
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.c()).await.map_err(db_err)?.iter().map(provider_from_row).collect()
    }

    async fn sso_provider(&mut self, id: uuid::Uuid) -> Result<Option<SsoProvider>> {
        let sql = format!("SELECT {PROVIDER_COLUMNS} FROM sso_providers WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(provider_from_row)
            .transpose()
    }

    async fn sso_provider_by_slug(&mut self, slug: &str) -> Result<Option<SsoProvider>> {
        let sql = format!("SELECT {PROVIDER_COLUMNS} FROM sso_providers WHERE slug = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(slug)
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(provider_from_row)
            .transpose()
    }

    async fn sso_identity(&mut self, provider: uuid::Uuid, subject: &str) -> Result<Option<SsoIdentity>> {
        sqlx::query(
            "SELECT provider_id, subject, user_id, created_at, last_login_at FROM sso_identities WHERE provider_id = $1 AND subject = $2",
        )
        .bind(provider.to_string())
        .bind(subject)
        .fetch_optional(self.c())
        .await
        .map_err(db_err)?
        .as_ref()
        .map(identity_from_row)
        .transpose()
    }

    async fn insert_sso_identity(&mut self, i: &SsoIdentity) -> Result<()> {
        sqlx::query("INSERT INTO sso_identities (provider_id, subject, user_id, created_at, last_login_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(i.provider_id.to_string())
            .bind(&i.subject)
            .bind(i.user_id.to_string())
            .bind(ms(i.created_at))
            .bind(opt_ms(i.last_login_at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn touch_sso_identity(&mut self, provider: uuid::Uuid, subject: &str, at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE sso_identities SET last_login_at = $3 WHERE provider_id = $1 AND subject = $2")
            .bind(provider.to_string())
            .bind(subject)
            .bind(ms(at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn sso_identities_of(&mut self, user: UserId) -> Result<Vec<SsoIdentity>> {
        sqlx::query(
            "SELECT provider_id, subject, user_id, created_at, last_login_at FROM sso_identities WHERE user_id = $1 ORDER BY created_at",
        )
        .bind(user.to_string())
        .fetch_all(self.c())
        .await
        .map_err(db_err)?
        .iter()
        .map(identity_from_row)
        .collect()
    }

    async fn insert_sso_login(&mut self, l: &SsoLogin) -> Result<()> {
        sqlx::query(
            "INSERT INTO sso_logins (state_hash, provider_id, nonce, pkce_verifier, next_url, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&l.state_hash)
        .bind(l.provider_id.to_string())
        .bind(&l.nonce)
        .bind(&l.pkce_verifier)
        .bind(&l.next_url)
        .bind(ms(l.created_at))
        .bind(ms(l.expires_at))
        .bind(opt_ms(l.used_at))
        .execute(self.c())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn use_sso_login(&mut self, state_hash: &str, at: OffsetDateTime) -> Result<Option<SsoLogin>> {
        // One statement: of two callbacks with the same state, one wins.
        let row = sqlx::query(
            "UPDATE sso_logins SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL \
             RETURNING state_hash, provider_id, nonce, pkce_verifier, next_url, created_at, expires_at, used_at",
        )
        .bind(state_hash)
        .bind(ms(at))
        .fetch_optional(self.c())
        .await
        .map_err(db_err)?;
        row.map(|r| {
            Ok(SsoLogin {
                state_hash: get(&r, "state_hash")?,
                provider_id: get_uuid(&r, "provider_id")?,
                nonce: get(&r, "nonce")?,
                pkce_verifier: get(&r, "pkce_verifier")?,
                next_url: get(&r, "next_url")?,
                created_at: get_time(&r, "created_at")?,
                expires_at: get_time(&r, "expires_at")?,
                used_at: get_opt_time(&r, "used_at")?,
            })
        })
        .transpose()
    }

    async fn prune_sso_logins(&mut self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sso_logins WHERE expires_at < $1").bind(ms(before)).execute(self.c()).await.map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn insert_sso_session(&mut self, s: &SsoSession) -> Result<()> {
        sqlx::query("INSERT INTO sso_sessions (session_id, provider_id, mfa_satisfied, created_at) VALUES ($1, $2, $3, $4)")
            .bind(s.session_id.to_string())
            .bind(s.provider_id.to_string())
            .bind(i64::from(s.mfa_satisfied))
            .bind(ms(s.created_at))
            .execute(self.c())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn sso_session(&mut self, session: SessionId) -> Result<Option<SsoSession>> {
        let row = sqlx::query("SELECT session_id, provider_id, mfa_satisfied, created_at FROM sso_sessions WHERE session_id = $1")
            .bind(session.to_string())
            .fetch_optional(self.c())
            .await
            .map_err(db_err)?;
        row.map(|r| {
            Ok(SsoSession {
                session_id: SessionId(get_uuid(&r, "session_id")?),
                provider_id: get_uuid(&r, "provider_id")?,
                mfa_satisfied: get_bool(&r, "mfa_satisfied")?,
                created_at: get_time(&r, "created_at")?,
            })
        })
        .transpose()
    }
}
