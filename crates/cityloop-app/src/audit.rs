use cityloop_domain::{Action, Target};
use cityloop_store::{AuditEntry, AuditQuery};
use serde_json::json;

use crate::{Actor, App, AppResult, Ctx, Obj};

impl App {
    /// Reads the audit log, newest first. Reading it is itself audited.
    pub async fn list_audit(
        &self,
        actor: &Actor,
        query: AuditQuery,
        ctx: &Ctx,
    ) -> AppResult<Vec<AuditEntry>> {
        self.authorize(
            actor,
            Action::AuditRead,
            &Target::Collection,
            Obj::kind("audit_log"),
            ctx,
        )
        .await?;
        let query = AuditQuery {
            limit: query.limit.clamp(1, 1000),
            ..query
        };
        let entries = {
            let mut tx = self.store.read().await?;
            tx.list_audit(&query).await?
        };
        let mut tx = self.store.write().await?;
        self.audit(
            tx.as_mut(),
            actor,
            "audit.read",
            Obj::kind("audit_log"),
            "ok",
            ctx,
            json!({
                "actor_id": query.actor_id, "action": query.action, "result": query.result,
                "since": query.since, "until": query.until, "before_id": query.before_id,
                "rows": entries.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(entries)
    }
}
